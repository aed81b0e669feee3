"""Readiness for Microsoft's mandatory MFA, rolled up from the phase checks."""
from __future__ import annotations

from reportgen.checks.mandatory_mfa import is_phase2
from reportgen.model import Posture
from reportgen.results import CheckResult
from reportgen.vocab import Readiness, Status

PASS, FAIL, WARN, EXCEPTED, NOT_EVALUATED = Status.PASS, Status.FAIL, Status.WARN, Status.EXCEPTED, Status.NOT_EVALUATED


def readiness(results: list[CheckResult], p: Posture) -> tuple[Readiness, Readiness]:
    """(phase 1, phase 2)."""
    st = {r.id: r.status for r in results}
    phase1 = {PASS: Readiness.READY, FAIL: Readiness.NOT_READY, WARN: Readiness.AT_RISK,
              EXCEPTED: Readiness.AT_RISK}.get(st["MMFA-01"], Readiness.UNKNOWN)
    if st["MMFA-02"] == PASS:
        phase2 = Readiness.READY
    elif p.sign_ins is None or st["MMFA-03"] == NOT_EVALUATED:
        phase2 = Readiness.UNKNOWN
    elif st["MMFA-03"] in (FAIL, EXCEPTED):
        phase2 = Readiness.NOT_READY
    elif st["MMFA-03"] == PASS and st["MMFA-04"] == PASS and _phase2_users_capable(p):
        phase2 = Readiness.READY
    else:
        phase2 = Readiness.AT_RISK
    return phase1, phase2


def _phase2_users_capable(p: Posture) -> bool:
    if p.registrations is None or p.sign_ins is None:
        return False
    ids = {s.user_id for s in p.sign_ins if is_phase2(s)}
    return all(p.registrations.get(i) is not None and p.registrations[i].mfa_capable for i in ids)
