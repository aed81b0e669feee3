"""Validating against NIST's OSCAL JSON schemas, which are written for an ECMA-style regex engine.

Their token pattern uses ``\\p{L}`` and ``\\p{N}``, which Python's ``re`` cannot compile: ``pattern``
is checked with the ``regex`` package instead. jsonschema checks ``format`` only through optional
packages; the four formats the schemas use are checked here, so a malformed date fails the test.
"""
from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import regex
from jsonschema import Draft7Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = {"ar": "oscal_assessment-results_schema.json", "poam": "oscal_poam_schema.json"}


def shared_dir() -> Path:
    near = ROOT.parent / "shared"
    return near if near.is_dir() else Path("/work/shared")


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not regex.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value):
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        raise ValueError("not an RFC 3339 date-time")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri")
def _uri(value):
    return not isinstance(value, str) or (bool(urlsplit(value).scheme) and not re.search(r"[\s<>\"{}|\\^`]", value))


@FORMATS.checks("uri-reference")
def _uri_reference(value):
    return not isinstance(value, str) or not re.search(r"[\s<>\"{}|\\^`]", value)


@FORMATS.checks("email")
def _email(value):
    return not isinstance(value, str) or "@" in value


OscalValidator = extend(Draft7Validator, {"pattern": _pattern})


@functools.cache
def validator(kind: str) -> jsonschema.protocols.Validator:
    schema = json.loads((shared_dir() / "oscal" / SCHEMAS[kind]).read_text(encoding="utf-8"))
    return OscalValidator(schema, format_checker=FORMATS)


def errors(kind: str, doc) -> list[str]:
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}"
            for e in sorted(validator(kind).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]
