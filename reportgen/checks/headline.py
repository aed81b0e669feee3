"""The checks whose figures head the report, named here so that no renderer writes a check id."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reportgen.results import CheckResult

REGISTRATION = "MFA-02"       # MFA registration among enabled member users: the headline percentage
PHASE1_COVERAGE = "MMFA-01"   # phase 1 coverage: its metrics word the phase 1 readiness


def find(checks: Iterable[CheckResult], cid: str) -> CheckResult | None:
    return next((c for c in checks if c.id == cid), None)


def metrics(checks: Iterable[CheckResult], cid: str) -> dict[str, Any]:
    """The check's metrics, or an empty dict when it did not run."""
    found = find(checks, cid)
    return found.metrics if found else {}
