"""Posture -> check results. Pure: no network, no disk.

One module per family of checks (``mandatory_mfa``, ``emergency_access``, ``coverage``,
``monitoring``); each check is a small function registered with ``@check``, beside the YAML that
names it (``checks.yaml``). Adding a check touches its family module, checks.yaml and its tests.
A check returns ``not_evaluated`` (with a cause) whenever the data it needs was not collected.
"""
from __future__ import annotations

from pathlib import Path

from reportgen.checks import headline
from reportgen.checks.context import NON_INTERACTIVE_SIGN_INS, Context, Inputs
from reportgen.checks.exceptions import apply_exceptions
from reportgen.checks.metadata import CHECKS_FILE, CheckMeta, CheckMetaFile, load_check_meta
from reportgen.checks.readiness import readiness
from reportgen.checks.registry import NotEvaluated, Outcome, registered
from reportgen.model import Posture
from reportgen.paths import CATALOG_DIR
from reportgen.results import CheckResult, Summary
from reportgen.vocab import Status

__all__ = ["Context", "Inputs", "NON_INTERACTIVE_SIGN_INS", "NotEvaluated", "Outcome", "CheckMeta", "CheckMetaFile", "apply_exceptions",
           "check_ids", "load_check_meta", "readiness", "run_checks", "summarize", "registered"]


def load_meta(directory: Path = CATALOG_DIR) -> CheckMetaFile:
    return load_check_meta(Path(directory) / CHECKS_FILE, registered())


def check_ids(directory: Path = CATALOG_DIR) -> tuple[str, ...]:
    """Every check id, in report order (that of checks.yaml)."""
    return tuple(load_meta(directory).checks)


def run_checks(p: Posture, inp: Inputs, meta: dict[str, CheckMeta] | None = None,
               ctx: Context | None = None, only: set[str] | None = None) -> list[CheckResult]:
    """Every check (or those in ``only``), in the order of ``meta`` (checks.yaml; read from the bundled
    catalog when not given). Pass ``ctx`` when the report tables use the same Context, so role and
    group maps are built once."""
    meta = meta or load_meta().checks
    ctx = ctx or Context(p, inp)
    defs = registered()
    if set(meta) != set(defs):
        raise ValueError(f"check metadata and implemented checks differ: {sorted(set(meta) ^ set(defs))}")
    out = []
    for cid, md in meta.items():
        if only is not None and cid not in only:
            continue
        d = defs[cid]
        try:
            o = d.func(ctx)
        except NotEvaluated as e:
            o = Outcome(Status.NOT_EVALUATED, f"Not evaluated: {e}.", cause=e.cause)
        title = ctx.timeline.text(md.title_for(o.status), ctx.on)   # the problem, or the pass condition
        out.append(CheckResult(id=cid, title=title, severity=md.severity, status=o.status, reason=o.reason,
                               affected=o.affected, metrics=o.metrics, cause=o.cause,
                               evidence=ctx.evidence_for(d.reads)))
    return out


def summarize(ctx: Context, results: list[CheckResult]) -> Summary:
    """The headline numbers: enabled users, MFA registration among enabled members, privileged users."""
    p = ctx.p
    registration = headline.find(results, headline.REGISTRATION)
    try:
        privileged = len(ctx.privileged()) if p.role_assignments is not None else None
    except NotEvaluated:
        privileged = None
    return Summary(enabled_users=sum(1 for u in p.users if u.enabled) if p.users is not None else None,
                   mfa_registered_pct=registration.metrics.get("pct") if registration else None,
                   privileged_users=privileged)
