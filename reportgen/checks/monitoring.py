"""Monitoring: whether sign-in logs can be read for the whole lookback window."""
from __future__ import annotations

from datetime import timedelta

from reportgen.checks.common import LICENCES, SIGN_IN_DATA
from reportgen.checks.context import Context
from reportgen.checks.registry import Outcome, check
from reportgen.vocab import Cause, Status

PASS, FAIL, NOT_EVALUATED = Status.PASS, Status.FAIL, Status.NOT_EVALUATED


@check("LOG-01", reads=SIGN_IN_DATA + (LICENCES,))
def sign_in_logs_cover_window(ctx: Context) -> Outcome:
    days = (ctx.p.window_end - ctx.p.window_start).days
    if ctx.p.sign_ins is not None and ctx.p.window_end - ctx.p.window_start < timedelta(days=ctx.inp.lookback_days, hours=-1):
        return Outcome(NOT_EVALUATED, f"Sign-in logs were collected for {days} day(s) only, less than the {ctx.inp.lookback_days}-day "
                               "lookback window.", [], {"window_days": days}, Cause.NOT_COLLECTED)
    if ctx.p.sign_ins is not None:
        return Outcome(PASS, f"Sign-in logs were read for the {days}-day lookback window ({len(ctx.p.sign_ins)} relevant sign-ins).",
                [], {"window_days": days, "sign_ins": len(ctx.p.sign_ins)})
    if ctx.p.has_p1 is False:
        return Outcome(FAIL, "Without Entra ID P1 the sign-in logs cannot be read through Graph and are kept for 7 days only, "
                      "too short to evidence monitoring under 16 CFR 314.4(c)(8).", [], {"window_days": 0})
    ctx.need(None, "auditLogs/signIns")
    raise AssertionError("unreachable")
