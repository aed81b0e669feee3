"""What the PDF template shows of the workflow: DRAFT marking, sign-off block, commentary,
the action plan and the consultant's adjustments. Plain values only; the template escapes them."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from reportgen.dates import long_day, parse_iso
from reportgen.vocab import SEVERITY_LABELS
from reportgen.workflow.actions import STATUS_LABELS
from reportgen.workflow.commentary import render_markdown

TOP_ACTIONS = 3
ACTION_ROWS = 60          # actions listed in the PDF (the workbook lists all)
SUBJECTS_SHOWN = 8


def _day(value: str | None) -> str:
    moment = parse_iso(value) if value else None
    if moment is None:
        return value or ""
    return long_day(moment)


def _month(period: str) -> str:
    moment = parse_iso(f"{period}-01T00:00:00Z") if period else None
    return moment.strftime("%B %Y") if moment else period


def _action(a, n: int) -> dict[str, Any]:
    ans = a.answer
    subjects = a.subjects[:SUBJECTS_SHOWN]
    return {
        "n": n, "key": a.key, "title": a.title, "why": a.why, "severity": a.severity,
        "severity_label": SEVERITY_LABELS[a.severity], "remediation": a.remediation,
        "closes": [{"check": c.check, "title": c.title, "full": c.full, "resolved": c.resolved, "total": c.total,
                    "anchor": "check-" + c.check} for c in a.closes],
        "grouped": len(a.closes) > 1,
        "subjects": subjects, "subjects_more": max(0, len(a.subjects) - len(subjects)),
        "owner": ans.owner, "target_date": ans.target_date or "", "response": ans.response,
        "status": ans.status, "status_label": STATUS_LABELS.get(ans.status, ans.status),
        "answered": bool(ans.owner or ans.target_date or ans.response or ans.status != "open"),
        "open_since": a.open_since, "open_since_label": _month(a.open_since),
        "overdue": a.overdue, "flag": a.flag,
    }


def pdf_context(data: Any, logo_url) -> dict[str, Any]:
    """Template values for the workflow partials; ``logo_url`` turns a local file into a URL."""
    wf = data.workflow
    r = data.results
    if wf is None:   # a ReportData built without the workflow (unit tests of the renderer)
        return {"draft": False, "review": None, "signoff": None, "commentary": None, "actions": [],
                "top_actions": [], "actions_more": 0, "adjustments": {}, "client_logo_url": "",
                "actions_overdue": 0, "answers_from": None}
    review = wf.review
    actions = [_action(a, i) for i, a in enumerate(wf.actions, 1)]
    history = [{"version": h.get("version"), "state": "Final" if h.get("state") == "final" else "Draft for review",
                "reviewer": h.get("reviewer") or "", "date": _day(h.get("issued_on"))} for h in review.history]
    history.append({"version": review.version, "state": "Final" if review.final else "Draft for review",
                    "reviewer": review.reviewer or "", "date": _day(review.issued_on)})
    signoff = {
        "state": "Final" if review.final else "Draft for review",
        "final": review.final,
        "version": review.version,
        "prepared_by": wf.prepared_by,
        "firm": data.firm.name,
        "reviewed_by": review.reviewer,
        "review_date": _day(review.finalized_at) if review.finalized_at else "",
        "issued_on": _day(review.issued_on),
        "signed_by": review.signed_by,
        "distribution": wf.distribution,
        "history": history,
        "without_review": review.final and not review.reviewer,
    }
    adjustments = {c.id: {"from": SEVERITY_LABELS[c.severity], "from_value": c.severity,
                          "to": SEVERITY_LABELS[c.adjustment.severity] if c.adjustment.severity else "",
                          "to_value": c.adjustment.severity or "", "note": c.adjustment.note, "by": c.adjustment.by}
                   for c in r.checks if c.adjustment is not None}
    logo = wf.client_logo if wf.client_logo is not None and Path(wf.client_logo).is_file() else None
    return {
        "draft": not review.final,
        "review": review,
        "signoff": signoff,
        "commentary": render_markdown(wf.commentary),
        "actions": actions[:ACTION_ROWS],
        "actions_more": max(0, len(actions) - ACTION_ROWS),
        "actions_overdue": sum(1 for a in actions if a["overdue"]),
        "top_actions": actions[:TOP_ACTIONS],
        "adjustments": adjustments,
        "client_logo_url": logo_url(logo) if logo else "",
        "answers_from": wf.answers_from,
    }
