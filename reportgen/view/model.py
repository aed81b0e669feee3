"""The report's view model: the figures and words every output shows, typed, computed once.

``build_view`` (``view/build.py``) makes one ``ReportView`` per client from the results, the review
workflow and the action plan. The PDF, the workbook, results.json's ``summary``, the batch.json
entry and the portfolio row read it; none of them counts, ranks or words a figure itself, so two
outputs of one report cannot disagree.

Meanings fixed here, once:
- *effective severity*: the consultant's override where there is one (``Finding.adjusted`` marks
  it), else the catalog's. Tallies, ranking and the action plan use it.
- *open finding*: a check that failed or raised a warning (``vocab.OPEN_STATUSES``).
- ``SeverityTally.open`` is failed + warning; ``SeverityTally.checks`` is every check of that
  severity whatever its status. There is no field called "total".
- *affected*: subjects listed by a check (``Finding.affected_count``); ``Tallies.open_affected``
  adds them up over the open findings (one subject in two findings counts twice).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportgen.results import Affected, CheckResult, EvidenceRef
from reportgen.vocab import (
    FINDING_STATUSES,
    OPEN_SEVERITIES,
    OPEN_STATUSES,
    Cause,
    ControlStatus,
    Coverage,
    Readiness,
    Severity,
    Status,
)

SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}
STATUS_RANK = {Status.FAIL: 0, Status.WARN: 1, Status.EXCEPTED: 2, Status.MANUAL: 3, Status.NOT_EVALUATED: 4,
               Status.PASS: 5}


@dataclass(frozen=True)
class Finding:
    """One check as the report shows it (every check, also those that passed)."""
    id: str
    title: str
    status: Status
    status_label: str
    severity: Severity            # effective: the consultant's where adjusted
    severity_label: str
    evaluated_severity: Severity  # the catalog's, as the check was evaluated
    adjusted: bool                # the consultant changed the severity
    adjustment_note: str          # the consultant's note ("" without an override)
    adjustment_by: str
    reason: str
    affected: tuple[Affected, ...]
    cause: Cause | None
    evidence: tuple[EvidenceRef, ...]
    check: CheckResult = field(repr=False, compare=False)   # the typed result, for what is not summarised here
    lapsed: bool = False          # passes only because a date went by: "no longer applies"

    @property
    def affected_count(self) -> int:
        return len(self.affected)

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def shown_as_finding(self) -> bool:
        """Failed, warning or covered by an exception: listed in the Findings section."""
        return self.status in FINDING_STATUSES


@dataclass(frozen=True)
class SeverityTally:
    severity: Severity
    label: str
    fail: int
    warn: int
    excepted: int
    passed: int
    not_evaluated: int
    manual: int

    @property
    def open(self) -> int:
        """Open findings of this severity: failed + warning."""
        return self.fail + self.warn

    @property
    def checks(self) -> int:
        """Every check of this severity, whatever its status."""
        return self.fail + self.warn + self.excepted + self.passed + self.not_evaluated + self.manual

    def count(self, status: Status) -> int:
        return {Status.FAIL: self.fail, Status.WARN: self.warn, Status.EXCEPTED: self.excepted,
                Status.PASS: self.passed, Status.NOT_EVALUATED: self.not_evaluated, Status.MANUAL: self.manual}[status]


@dataclass(frozen=True)
class Tallies:
    """Checks counted by effective severity and status."""
    rows: tuple[SeverityTally, ...]       # one per severity, most severe first (info included)

    def row(self, severity: Severity) -> SeverityTally:
        return next(r for r in self.rows if r.severity == severity)

    @property
    def open_findings(self) -> int:
        return sum(r.open for r in self.rows)

    @property
    def checks(self) -> int:
        return sum(r.checks for r in self.rows)

    def by_status(self, status: Status) -> int:
        return sum(r.count(status) for r in self.rows)

    def open_by_severity(self) -> dict[str, int]:
        """Open findings per severity that trends and the portfolio count (critical..low)."""
        return {s.value: self.row(s).open for s in OPEN_SEVERITIES}

    def not_evaluated_by_severity(self) -> dict[str, int]:
        return {s.value: self.row(s).not_evaluated for s in OPEN_SEVERITIES}


@dataclass(frozen=True)
class Verdict:
    """A readiness of Microsoft's mandatory MFA, in words (the meaning depends on type and date)."""
    value: Readiness
    label: str
    meaning: str


@dataclass(frozen=True)
class Registration:
    """The MFA registration headline: among enabled member users, guests not counted."""
    pct: float | None
    registered: int | None
    enabled: int | None


@dataclass(frozen=True)
class ControlCheck:
    id: str
    status: Status | None         # None: the control names a check that did not run
    status_label: str


@dataclass(frozen=True)
class ControlView:
    framework: str
    id: str
    title: str
    status: ControlStatus
    coverage: Coverage
    label: str                    # the status in the words this framework's reader sees
    checks: tuple[ControlCheck, ...]
    note: str = ""                # why a control reads other than its checks alone say (security defaults)
    manual_evidence: str = ""     # what the client must show that this report does not test
    exception_basis: str = ""     # who may approve an exception to it, and how it is recorded


@dataclass(frozen=True)
class FrameworkView:
    id: str
    name: str
    version: str
    binding: str                  # the catalog's value (vendor, regulation, ...)
    binding_label: str
    status: str
    status_label: str
    note: Any                     # the catalog's note, shown while the framework is not active
    source_url: str
    controls: tuple[ControlView, ...]
    citation: str = ""            # the text that binds this client, by its regulator ("" when not named)

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for c in self.controls if c.status == s) for s in ControlStatus}

    def tally(self) -> list[tuple[int, str]]:
        """(count, word) by the words shown, so a partly evidenced control is never counted as met."""
        words = dict.fromkeys(c.label for c in self.controls)
        return [(n, w) for w in words if (n := sum(1 for c in self.controls if c.label == w))]


@dataclass(frozen=True)
class ReportView:
    """Everything an output may show as a figure or a verdict. Build it with ``build_view``."""
    client_name: str
    slug: str
    period: str
    institution_type: str
    collection_status: str
    phase1: Verdict
    phase2: Verdict
    story: tuple[str, ...]                  # the bottom line: readiness, open findings, what to do first
    registration: Registration
    enabled_users: int | None
    privileged_users: int | None
    findings: tuple[Finding, ...]           # every check, most severe (effective) first
    tallies: Tallies
    frameworks: tuple[FrameworkView, ...]
    actions: tuple[Any, ...]                # workflow.actions.Action, in the plan's order
    exceptions: tuple[Any, ...]             # report.ExceptionRow
    review_state: str                       # draft | final
    overdue_actions: int

    def finding(self, cid: str) -> Finding | None:
        return next((f for f in self.findings if f.id == cid), None)

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.open)

    def top_findings(self, n: int = 5) -> tuple[Finding, ...]:
        """The open findings to read first: failed before warning, then most severe, then by id."""
        return tuple(sorted(self.open_findings,
                            key=lambda f: (STATUS_RANK[f.status], SEVERITY_RANK[f.severity], f.id))[:n])

    @property
    def open_affected(self) -> int:
        """Affected subjects summed over the open findings."""
        return sum(f.affected_count for f in self.open_findings)

    @property
    def adjusted(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.adjusted)

    def figures(self) -> dict[str, Any]:
        """The headline figures as plain JSON: results.json's summary additions and the batch entry."""
        return {"open": self.tallies.open_by_severity(), "not_evaluated": self.tallies.not_evaluated_by_severity(),
                "open_findings": self.tallies.open_findings, "open_affected": self.open_affected}

    def batch_entry(self) -> dict[str, Any]:
        """The figures of this client's batch.json entry and portfolio row."""
        return {"phase1": self.phase1.value, "phase2": self.phase2.value,
                "mfa_registered_pct": self.registration.pct, **self.figures(),
                "collection_status": self.collection_status, "review_state": self.review_state,
                "overdue": self.overdue_actions}
