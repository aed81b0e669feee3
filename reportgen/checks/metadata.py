"""What each check is called and why it matters: the words live in ``checks.yaml`` beside the code.

The file's order is the report order. Every registered check must be described there and nothing
else may be; a problem is a ``CatalogError`` naming ``path:line``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from reportgen.vocab import Severity
from reportgen.yamlsrc import CatalogError, ValidatedFile

CHECKS_FILE = "checks.yaml"

_FIELDS = {"title": True, "severity": True, "rationale": True, "remediation": True, "references": True,
           "area": False}


@dataclass(frozen=True)
class CheckMeta:
    id: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    references: tuple[str, ...]
    area: str = ""


@dataclass(frozen=True)
class CheckMetaFile:
    checks: dict[str, CheckMeta]     # in report order
    version: str
    sha256: str
    path: Path


def load_check_meta(path: Path, registered: Iterable[str]) -> CheckMetaFile:
    """Read ``checks.yaml``; ``registered`` are the ids the check code implements."""
    known = set(registered)
    f = ValidatedFile(path)
    doc = f.mapping(f.data, (), CHECKS_FILE, {"version": True, "checks": True})
    version = doc["version"]
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)
    version = f.text(version, ("version",), "version")
    entries = doc["checks"]
    if not isinstance(entries, dict):
        raise f.err(("checks",), "checks must be a mapping of check id to metadata")
    meta: dict[str, CheckMeta] = {}
    for cid, entry in entries.items():
        at = ("checks", cid)
        if cid not in known:
            raise f.err(at, f"unknown check id {cid!r}: no check with this id is implemented "
                            f"({', '.join(sorted(known))})")
        entry = f.mapping(entry, at, cid, _FIELDS)
        meta[cid] = CheckMeta(
            id=cid,
            title=f.text(entry["title"], at + ("title",), f"{cid}.title"),
            severity=Severity(f.enum(entry["severity"], at + ("severity",), f"{cid}.severity", list(Severity))),
            rationale=f.text(entry["rationale"], at + ("rationale",), f"{cid}.rationale"),
            remediation=f.text(entry["remediation"], at + ("remediation",), f"{cid}.remediation"),
            references=tuple(f.text_list(entry["references"], at + ("references",), f"{cid}.references")),
            area=f.text(entry.get("area"), at + ("area",), f"{cid}.area", required=False),
        )
    missing = sorted(known - set(meta))
    if missing:
        raise f.err(("checks",), f"check id(s) missing from {CHECKS_FILE}: {', '.join(missing)}")
    return CheckMetaFile(checks=meta, version=version, sha256=f.sha256, path=path)


__all__ = ["CHECKS_FILE", "CatalogError", "CheckMeta", "CheckMetaFile", "load_check_meta"]
