"""Exceptions the institution approved in writing: an affected subject of a failing check
that an exception in force on the collection date names (by ``check``, ``checks`` or ``checks: all``)
is marked with its id; a check whose every affected subject is covered is ``excepted``."""
from __future__ import annotations

from datetime import date
from typing import Any

from reportgen.results import CheckResult
from reportgen.vocab import Status, verb

ALL_COVERED = "Every affected subject is covered by an approved written exception."
SOME_COVERED = "{covered} of {total} affected subjects {are} covered by an approved written exception."
# An exception is the institution's decision; Microsoft's mandatory MFA does not read it.
MMFA_STILL_APPLIES = ("Microsoft's mandatory MFA still applies to {the_subjects} at the Azure portals and Azure "
                      "Resource Manager, whatever the exception says.")
# Only a failure is excepted: a warning is not a breach that needs an approved exception (v2 kept).
JUDGED = (Status.FAIL,)


def _applies(e: Any, check_id: str) -> bool:
    if hasattr(e, "applies_to"):
        return e.applies_to(check_id)
    return getattr(e, "check", None) == check_id


def apply_exceptions(results: list[CheckResult], exceptions: list[Any], on: date, *, all_covered: str = ALL_COVERED,
                     some_covered: str = SOME_COVERED) -> dict[str, bool]:
    """Mark affected subjects covered by an exception in force on ``on``; returns exception id -> applied.
    The sentences added to a reason name the approver as the client's institution type does
    (``institution-wording.yaml``); the defaults name no regulator."""
    applied = {e.id: False for e in exceptions}
    for r in results:
        if r.status not in JUDGED or not r.affected:
            continue
        for a in r.affected:
            for e in exceptions:
                if _applies(e, r.id) and e.state_on(on) == "in_force" and \
                        e.subject.lower() in (a.upn.lower(), a.object_id.lower()):
                    a.exception = e.id
                    applied[e.id] = True
                    break
        covered = sum(1 for a in r.affected if a.exception)
        if not covered:
            continue
        if covered == len(r.affected):
            r.status = Status.EXCEPTED
            r.reason += " " + all_covered
        else:
            r.reason += " " + some_covered.format(covered=f"{covered:,}", total=f"{len(r.affected):,}",
                                                  are=verb(covered, "is", "are"))
        if r.id.startswith("MMFA-"):
            r.reason += " " + MMFA_STILL_APPLIES.format(the_subjects=verb(covered, "the excepted subject",
                                                                         "the excepted subjects"))
    return applied
