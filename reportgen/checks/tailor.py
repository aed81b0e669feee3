"""Remediation that fits the tenant: leave out the steps a tenant has already taken.

A check's remediation in ``checks.yaml`` is the whole standard fix ("1. Register a FIDO2 key ...
2. Remove the phone methods ..."). Where the evidence shows a step is in place (``steps_done_when``:
a metric of the check that is exactly 0, or another check that passed), the report would otherwise
open with advice the client has already followed. Such steps are dropped and the rest renumbered;
every output reads the tailored text from ``ReportData.check_meta``, so they all offer the same
first step. A step is only dropped on positive evidence: a missing metric or a check that was not
judged leaves it in.
"""
from __future__ import annotations

from dataclasses import replace

from reportgen.checks.metadata import CheckMeta, StepDone
from reportgen.results import CheckResult
from reportgen.steps import renumber, split_steps
from reportgen.vocab import Status

_SHOWN = (Status.FAIL, Status.WARN, Status.EXCEPTED)


def _done(cond: StepDone, check: CheckResult, by_id: dict[str, CheckResult]) -> bool:
    if cond.metric_zero:
        value = check.metrics.get(cond.metric_zero)
        return isinstance(value, int) and not isinstance(value, bool) and value == 0
    other = by_id.get(cond.check_passes)
    return other is not None and other.status == Status.PASS


def without_steps(text: str, done: set[int]) -> str:
    """``text`` without the numbered steps in ``done``, the others renumbered from 1."""
    head, steps = split_steps(text)
    kept = [body for n, body in steps if n not in done]
    if not steps or len(kept) == len(steps) or not kept:   # never leave a finding with no step at all
        return text
    out = [renumber(body, i) for i, body in enumerate(kept, 1)]
    return (head + "".join(out)).rstrip("\n")


def tailor(words: dict[str, CheckMeta], checks: list[CheckResult]) -> dict[str, CheckMeta]:
    """``words`` with each shown finding's remediation cut to the steps still to take."""
    by_id = {c.id: c for c in checks}
    out = dict(words)
    for c in checks:
        meta = words.get(c.id)
        if meta is None or not meta.steps_done or c.status not in _SHOWN:
            continue
        done = {cond.step for cond in meta.steps_done if _done(cond, c, by_id)}
        if done:
            out[c.id] = replace(meta, remediation=without_steps(str(meta.remediation), done))
    return out


__all__ = ["tailor", "without_steps"]
