"""How a check is declared, found and run.

A check is a function ``f(ctx) -> Outcome`` decorated with ``@check("ID", reads=(...))``, in the
module of its family. ``reads`` names the evidence datasets it is judged from (``reportgen.datasets``), so every result can
point an examiner to the Graph pages behind it. Its words (title, severity, rationale, remediation)
are in checks.yaml, which also gives the report order.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reportgen import datasets
from reportgen.results import Affected
from reportgen.vocab import Cause, Status

# The modules that hold checks, imported once so that their decorators run.
FAMILIES = ("mandatory_mfa", "emergency_access", "coverage", "hygiene", "monitoring")


@dataclass
class Outcome:
    status: Status
    reason: str
    affected: list[Affected] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    cause: Cause | None = None


class NotEvaluated(Exception):
    """Raised inside a check when the data it needs is missing; the message says what and why."""

    def __init__(self, message: str, cause: Cause = Cause.NOT_COLLECTED):
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class CheckDef:
    id: str
    func: Callable[..., Outcome]
    reads: tuple[str, ...]


_REGISTRY: dict[str, CheckDef] = {}


def check(cid: str, *, reads: tuple[str, ...]) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
    unknown = [name for name in reads if name not in datasets.BY_NAME]
    if unknown:   # a typo here would send the examiner to pages that were never stored
        raise RuntimeError(f"check {cid} reads datasets reportgen.datasets does not define: {', '.join(unknown)}")

    def register(func: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if cid in _REGISTRY and _REGISTRY[cid].func is not func:
            raise RuntimeError(f"check {cid} is defined twice ({_REGISTRY[cid].func.__module__}, {func.__module__})")
        _REGISTRY[cid] = CheckDef(id=cid, func=func, reads=tuple(reads))
        return func
    return register


def registered() -> dict[str, CheckDef]:
    """Every implemented check, by id (in no particular order: checks.yaml orders them)."""
    for family in FAMILIES:
        importlib.import_module(f"reportgen.checks.{family}")
    return dict(_REGISTRY)
