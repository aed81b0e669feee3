"""What the portfolio shows of each client's workflow: draft or final, and overdue actions."""
from __future__ import annotations

from typing import Any

from reportgen.workflow.actions import overdue_count


def workflow_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """Batch-entry fields from a results.json: ``review_state`` and ``overdue`` (action count)."""
    review = doc.get("review") if isinstance(doc.get("review"), dict) else {}
    return {"review_state": review.get("state", "draft"), "overdue": overdue_count(doc)}
