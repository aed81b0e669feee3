"""What the batch and the portfolio show of each client: its figures as its results.json gives them,
and its workflow (draft or final, overdue actions)."""
from __future__ import annotations

from typing import Any

from reportgen.workflow.actions import overdue_count


def workflow_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """Batch-entry fields from a results.json: ``review_state`` and ``overdue`` (action count)."""
    review = doc.get("review") if isinstance(doc.get("review"), dict) else {}
    return {"review_state": review.get("state", "draft"), "overdue": overdue_count(doc)}


FIGURES = ("open", "not_evaluated", "open_findings", "open_affected")   # view.ReportView.figures()


def entry_figures(doc: dict[str, Any]) -> dict[str, Any]:
    """A client's batch entry figures, as its results.json's summary gives them (the view model's:
    ``view.ReportView.batch_entry``); a folder written before the summary carried them is counted
    the way its report was."""
    summary = doc["summary"]
    figures = {k: summary[k] for k in FIGURES if k in summary}
    if "open" not in figures or "not_evaluated" not in figures:
        from reportgen.history import summarize
        s = summarize(doc)
        figures = {"open": s["open"], "not_evaluated": s["not_evaluated"]}
    return {"phase1": doc["readiness"]["mandatory_mfa_phase1"], "phase2": doc["readiness"]["mandatory_mfa_phase2"],
            "mfa_registered_pct": summary["mfa_registered_pct"], **figures,
            "collection_status": doc["collection"]["status"], **workflow_fields(doc)}
