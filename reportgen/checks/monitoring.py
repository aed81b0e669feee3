"""Monitoring: whether sign-in logs can be read for the whole lookback window. Readable logs are
part of the evidence for monitoring controls, never the whole of it (their catalog mappings are
``partial``)."""
from __future__ import annotations

from reportgen.checks.common import LICENCES, SIGN_IN_DATA
from reportgen.checks.context import Context
from reportgen.checks.registry import Outcome, check
from reportgen.vocab import Status, count

PASS, FAIL, WARN = Status.PASS, Status.FAIL, Status.WARN


@check("LOG-01", reads=SIGN_IN_DATA + (LICENCES,))
def sign_in_logs_cover_window(ctx: Context) -> Outcome:
    days = ctx.window_days()
    if ctx.p.sign_ins is not None and not ctx.full_window():
        return Outcome(WARN, f"Sign-in logs were read for {count(round(days), 'day')} only, less than the "
                             f"{ctx.inp.lookback_days}-day lookback window; checks that rely on the absence of single-factor "
                             "sign-ins cannot pass.",
                       [], {"window_days": round(days)})
    if ctx.p.sign_ins is not None:
        return Outcome(PASS, f"Sign-in logs were read for the {days:.0f}-day lookback window "
                             f"({count(len(ctx.p.sign_ins), 'sign-in')} to the admin portals and Azure management tools).",
                       [], {"window_days": round(days), "sign_ins": len(ctx.p.sign_ins)})
    if ctx.p.has_p1 is False:
        return Outcome(FAIL, "Without Entra ID P1 the sign-in logs cannot be read through Graph and are kept for 7 days only, "
                             "too short to evidence the monitoring of user sign-ins.", [], {"window_days": 0})
    ctx.need(None, "auditLogs/signIns")
    raise AssertionError("unreachable")
