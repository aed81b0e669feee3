"""Exceptions the institution approved in writing: a failing subject covered by one in force on the
collection date is marked with its id; a check whose every failing subject is covered is ``excepted``."""
from __future__ import annotations

from datetime import date
from typing import Any

from reportgen.results import CheckResult
from reportgen.vocab import Status, verb


ALL_COVERED = "Every affected subject is covered by an approved written exception."
SOME_COVERED = "{covered} of {total} affected subjects {are} covered by an approved written exception."


def apply_exceptions(results: list[CheckResult], exceptions: list[Any], on: date, *, all_covered: str = ALL_COVERED,
                     some_covered: str = SOME_COVERED) -> dict[str, bool]:
    """Mark failing subjects covered by an exception in force on ``on``; returns exception id -> applied.
    The sentences added to a reason name the approver as the client's institution type does
    (``institution-wording.yaml``); the defaults name no regulator."""
    applied = {e.id: False for e in exceptions}
    for r in results:
        if r.status != Status.FAIL or not r.affected:
            continue
        for a in r.affected:
            for e in exceptions:
                if e.check == r.id and e.state_on(on) == "in_force" and \
                        e.subject.lower() in (a.upn.lower(), a.object_id.lower()):
                    a.exception = e.id
                    applied[e.id] = True
                    break
        covered = sum(1 for a in r.affected if a.exception)
        if covered == len(r.affected):
            r.status = Status.EXCEPTED
            r.reason += " " + all_covered
        elif covered:
            r.reason += " " + some_covered.format(covered=f"{covered:,}", total=f"{len(r.affected):,}",
                                                  are=verb(covered, "is", "are"))
    return applied
