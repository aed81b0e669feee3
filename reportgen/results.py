"""Typed results, from the checks to the renderers. ``Results.to_json()`` is results.json.

A renderer reads these objects, never a dict it has to second-guess; results.json is only their
serialisation (schema_version 1, plus additive fields).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportgen.vocab import Cause, CollectionStatus, ControlStatus, Coverage, Readiness, Severity, Status

SCHEMA_VERSION = 1


@dataclass
class Affected:
    upn: str
    display_name: str = ""
    detail: str = ""
    exception: str | None = None
    object_id: str = ""   # matches exceptions given by object id; not part of results.json

    def to_json(self) -> dict[str, Any]:
        return {"upn": self.upn, "display_name": self.display_name, "detail": self.detail,
                "exception": self.exception}


@dataclass(frozen=True)
class EvidenceRef:
    """A dataset a check was judged from, and the stored Graph pages that hold it."""
    dataset: str
    source: str                  # the Graph path it was read from
    pages: tuple[str, ...]       # relative to the client folder's evidence/

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "source": self.source, "pages": list(self.pages)}


@dataclass(frozen=True)
class Adjustment:
    """A consultant's override of one finding. The check's own ``severity`` stays as evaluated."""
    severity: Severity | None      # the consultant's severity, None when only a note is added
    note: str
    by: str

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity, "note": self.note, "by": self.by}


@dataclass
class CheckResult:
    id: str
    title: str
    severity: Severity
    status: Status
    reason: str
    affected: list[Affected] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    cause: Cause | None = None                        # why not_evaluated / manual
    evidence: tuple[EvidenceRef, ...] = ()
    adjustment: Adjustment | None = None              # the consultant's override, if any

    @property
    def effective_severity(self) -> Severity:
        """The severity the report ranks by: the consultant's where adjusted."""
        return self.adjustment.severity if self.adjustment and self.adjustment.severity else self.severity

    def to_json(self) -> dict[str, Any]:
        doc = {"id": self.id, "title": self.title, "severity": self.severity, "status": self.status,
               "reason": self.reason, "affected": [a.to_json() for a in self.affected], "metrics": self.metrics,
               "cause": self.cause, "evidence": [e.to_json() for e in self.evidence]}
        if self.adjustment is not None:
            doc["override"] = self.adjustment.to_json()
        return doc


@dataclass
class ControlResult:
    framework: str
    id: str
    title: str
    status: ControlStatus
    checks: list[str]
    coverage: Coverage = Coverage.FULL   # partial: every check evidences only part of the control
    note: str = ""                       # why a control reads as it does (e.g. met only by security defaults)

    def to_json(self) -> dict[str, Any]:
        out = {"framework": self.framework, "id": self.id, "title": self.title, "status": self.status,
               "coverage": self.coverage, "checks": list(self.checks)}
        if self.note:   # additive: results.json stays schema_version 1
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class GapResult:
    source: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason}


@dataclass
class Collection:
    status: CollectionStatus
    gaps: list[GapResult]
    window_start: str
    window_end: str
    lookback_days: int
    granted_permissions: list[str] | None = None
    missing_permissions: list[str] | None = None
    write_permissions: list[str] | None = None
    notes: list[GapResult] = field(default_factory=list)   # data-quality notes: (dataset, what was done)
    source: str = ""             # demo | graph: a demo report is sample data from a synthetic tenant

    @property
    def complete(self) -> bool:
        return self.status == CollectionStatus.COMPLETE

    @property
    def demo(self) -> bool:
        return self.source == "demo"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"status": self.status, "gaps": [g.to_json() for g in self.gaps],
                               "window": {"start": self.window_start, "end": self.window_end},
                               "lookback_days": self.lookback_days}
        for key in ("granted_permissions", "missing_permissions", "write_permissions"):
            if getattr(self, key) is not None:
                doc[key] = getattr(self, key)
        if self.source:
            doc["source"] = self.source
        if self.notes:
            doc["notes"] = [{"source": n.source, "message": n.reason} for n in self.notes]
        return doc


@dataclass(frozen=True)
class ClientInfo:
    slug: str
    name: str
    tenant_id: str
    institution_type: str
    regulator: str | None = None   # the primary regulator, where the configuration names it

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "name": self.name, "tenant_id": self.tenant_id,
                "institution_type": self.institution_type, **({"regulator": self.regulator} if self.regulator else {})}


@dataclass(frozen=True)
class Summary:
    enabled_users: int | None
    mfa_registered_pct: float | None
    privileged_users: int | None
    # the view model's figures (view.ReportView.figures: open findings and not evaluated by effective
    # severity, open findings, affected subjects); None until the view is built
    figures: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"enabled_users": self.enabled_users, "mfa_registered_pct": self.mfa_registered_pct,
                "privileged_users": self.privileged_users, **(self.figures or {})}


@dataclass
class Review:
    """Where the report stands: a draft for review, or final (signed off by ``reviewer``)."""
    state: str = "draft"                  # draft | final
    version: int = 1
    reviewer: str | None = None
    finalized_at: str | None = None       # ISO 8601 UTC
    signed_by: str | None = None          # the signing certificate's name, when the PDF is signed
    issued_on: str | None = None          # YYYY-MM-DD: the document date (draft) or the sign-off date (final)
    history: list[dict[str, Any]] = field(default_factory=list)   # earlier versions of this period

    @property
    def final(self) -> bool:
        return self.state == "final"

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "version": self.version, "reviewer": self.reviewer,
                "finalized_at": self.finalized_at, "signed_by": self.signed_by, "issued_on": self.issued_on,
                "history": list(self.history)}

    @classmethod
    def from_json(cls, doc: Any) -> Review:
        """From results.json; a folder written before reviews existed is a first draft."""
        if not isinstance(doc, dict):
            return cls()
        version = doc.get("version")
        history = doc.get("history")
        text = lambda k: doc[k] if isinstance(doc.get(k), str) else None  # noqa: E731
        return cls(state="final" if doc.get("state") == "final" else "draft",
                   version=version if isinstance(version, int) and not isinstance(version, bool) and version > 0
                   else 1, reviewer=text("reviewer"), finalized_at=text("finalized_at"), signed_by=text("signed_by"),
                   issued_on=text("issued_on"),
                   history=[h for h in history if isinstance(h, dict)] if isinstance(history, list) else [])


@dataclass
class Results:
    tool_version: str
    client: ClientInfo
    period: str
    collected_at: str
    collection: Collection
    phase1: Readiness
    phase2: Readiness
    summary: Summary
    checks: list[CheckResult]
    controls: list[ControlResult]
    review: Review = field(default_factory=Review)
    action_plan: list[dict[str, Any]] | None = None   # the consultant's action plan (workflow.actions)

    def check(self, cid: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == cid), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "reportgen", "version": self.tool_version},
            "client": self.client.to_json(),
            "period": self.period,
            "collected_at": self.collected_at,
            "collection": self.collection.to_json(),
            "readiness": {"mandatory_mfa_phase1": self.phase1, "mandatory_mfa_phase2": self.phase2},
            "summary": self.summary.to_json(),
            "checks": [c.to_json() for c in self.checks],
            "controls": [c.to_json() for c in self.controls],
            "review": self.review.to_json(),
            **({"action_plan": self.action_plan} if self.action_plan is not None else {}),
        }
