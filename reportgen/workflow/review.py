"""Draft and final: what a client folder holds now, and what a new run or a finalize makes of it.

A report is a draft until a reviewer finalizes it. A run never silently replaces a final report:
it skips that client, or with ``--force`` keeps the final folder under ``<period>/.superseded/``.
Versions count every report of a period for a client, drafts and finals alike, so the sign-off
block can show the document's history as an engagement file would.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reportgen.results import Review

FINAL, DRAFT = "final", "draft"
SUPERSEDED = ".superseded"
# a folder whose state cannot be read: treated as a final report (compared by identity)
UNREADABLE = Review(state=FINAL)


def stored_review(folder: Path) -> Review | None:
    """The review state of a client folder; None when there is no report in it. A folder whose
    results.json is missing or unreadable while it holds files counts as final: nothing final is
    lost because its state could not be read."""
    from reportgen.readback import ReadBackError, holds_files, review_state
    try:
        review = review_state(Path(folder))
    except ReadBackError:
        return UNREADABLE
    if review is None:
        return UNREADABLE if holds_files(Path(folder)) else None
    return Review.from_json(review)


@dataclass(frozen=True)
class Decision:
    previous: Review | None
    skip: bool                 # a final report stays as it is
    supersede: bool            # a final report is replaced, kept under .superseded/
    message: str | None        # what the consultant is told

    @property
    def replaces_draft(self) -> bool:
        return self.previous is not None and not self.previous.final


def decide(folder: Path, *, force: bool) -> Decision:
    """What publishing a new report over ``folder`` does to the report already there."""
    prev = stored_review(folder)
    if prev is None:
        return Decision(None, False, False, None)
    if prev is UNREADABLE and not force:
        return Decision(prev, True, False, f"skipped: the state of the report in {folder} cannot be read (results.json "
                                           "missing or damaged), so it counts as final; use --force to replace it "
                                           "(it is kept under .superseded/)")
    if prev.final and not force:
        who = f", reviewed by {prev.reviewer}" if prev.reviewer else ""
        return Decision(prev, True, False, f"skipped: the report in {folder} is final (version {prev.version}{who}); "
                                           "use --force to replace it (it is kept under .superseded/)")
    if prev.final or force:
        # --force keeps whatever it replaces, whatever its state
        return Decision(prev, False, True, f"replaced {prev.state} version {prev.version}, kept under "
                                           f"{folder.parent / SUPERSEDED}/")
    return Decision(prev, False, False, f"replaced draft version {prev.version} of this period")


def next_review(previous: Review | None, *, final: bool, issued_on: str, by: str | None = None,
                finalized_at: str | None = None, signed_by: str | None = None) -> Review:
    """The review block of the report about to be written over ``previous`` (or first of its period)."""
    history = []
    if previous is not None:
        history = list(previous.history) + [_entry(previous)]
    version = previous.version + 1 if previous is not None else 1
    return Review(state=FINAL if final else DRAFT, version=version, reviewer=by if final else None,
                  finalized_at=finalized_at, signed_by=signed_by, issued_on=issued_on, history=history[-20:])


def _entry(r: Review) -> dict:
    return {"version": r.version, "state": r.state, "reviewer": r.reviewer, "issued_on": r.issued_on}


def superseded_path(folder: Path, review: Review, stamp: str) -> Path:
    """Where a replaced final folder is kept: ``<period>/.superseded/<slug>-v<version>-<stamp>``."""
    return folder.parent / SUPERSEDED / f"{folder.name}-v{review.version}-{stamp}"
