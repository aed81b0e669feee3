"""Emergency access ("break glass") accounts: enough of them, strong enough, never excluded from MFA."""
from __future__ import annotations

from typing import Callable

from reportgen import model as m
from reportgen.checks.common import POLICY_DATA, REGISTRATION_DATA, ROLE_DATA, affected, methods_text
from reportgen.checks.context import Context
from reportgen.checks.registry import NotEvaluated, Outcome, check
from reportgen.model import User
from reportgen.vocab import Cause, Status

PASS, FAIL, WARN, NOT_EVALUATED = Status.PASS, Status.FAIL, Status.WARN, Status.NOT_EVALUATED


def _ea_existing(ctx: Context) -> list[User]:
    ctx.users
    existing = [u for _, u in ctx.emergency() if u is not None]
    if not existing:
        raise NotEvaluated("no designated emergency access account exists in the tenant (see EA-01)", Cause.NO_SUBJECTS)
    return existing


def _ea_methods(ctx: Context, check: Callable[[User, tuple[str, ...]], str | None],
                warn_check: Callable[[User, tuple[str, ...]], str | None] | None = None):
    fails, warns, unknown = [], [], []
    for u in _ea_existing(ctx):
        reg = ctx.registration(u.id)
        if reg is None:
            unknown.append(affected(u, "no registration record (disabled accounts are not reported)"))
            continue
        d = check(u, reg.methods)
        if d:
            fails.append(affected(u, d))
        elif warn_check and (w := warn_check(u, reg.methods)):
            warns.append(affected(u, w))
    return fails, warns, unknown


@check("EA-01", reads=ROLE_DATA)
def two_permanent_cloud_only_global_admins(ctx: Context) -> Outcome:
    accounts = ctx.emergency()
    if not accounts:
        return Outcome(FAIL, "No emergency access accounts are designated in the configuration.", [], {"designated": 0, "qualified": 0})
    ctx.users
    holders = ctx.role_holders(("active",))
    bad, ok = [], 0
    for name, u in accounts:
        problems = []
        if u is None:
            problems.append("does not exist in the tenant")
        else:
            if not u.enabled:
                problems.append("is disabled")
            if m.GLOBAL_ADMIN not in holders.get(u.id, set()):
                problems.append("has no active Global Administrator assignment")
        if problems:
            bad.append(affected(u, "; ".join(problems), name))
        else:
            ok += 1
    metrics = {"designated": len(accounts), "qualified": ok}
    if ok < 2:
        return Outcome(FAIL, f"{ok} of {len(accounts)} designated emergency access accounts exist, are enabled and hold an "
                      "active Global Administrator assignment; at least two are needed.", bad, metrics)
    if bad:
        return Outcome(WARN, f"{ok} emergency access accounts qualify, but {len(bad)} designated account(s) do not.", bad, metrics)
    return Outcome(PASS, f"{ok} emergency access accounts exist, are enabled and hold an active Global Administrator assignment.",
            [], metrics)


@check("EA-02", reads=REGISTRATION_DATA)
def emergency_accounts_have_phishing_resistant_method(ctx: Context) -> Outcome:
    fails, _, unknown = _ea_methods(ctx, lambda u, ms: None if set(ms) & m.PHISHING_RESISTANT_METHODS else f"methods: {methods_text(ms)}")
    if fails:
        return Outcome(FAIL, f"{len(fails)} emergency access account(s) have no FIDO2 key, passkey, Windows Hello or "
                      "certificate-based authentication registered.", fails + unknown, {})
    if unknown:
        return Outcome(NOT_EVALUATED, "Registration details were not reported for some emergency access accounts.",
                       unknown, {}, Cause.NOT_COLLECTED)
    return Outcome(PASS, "Every emergency access account has a phishing-resistant method registered.", [], {})


@check("EA-03", reads=REGISTRATION_DATA)
def emergency_accounts_avoid_single_device_methods(ctx: Context) -> Outcome:
    def only_soft(u, ms):
        soft = sorted(set(ms) & m.SOFT_OR_PHONE_METHODS)
        return f"relies on {', '.join(soft)} only" if soft and not set(ms) & m.PHISHING_RESISTANT_METHODS else None

    def beside(u, ms):
        soft = sorted(set(ms) & m.SOFT_OR_PHONE_METHODS)
        return f"{', '.join(soft)} registered beside a phishing-resistant method" if soft else None
    fails, warns, unknown = _ea_methods(ctx, only_soft, beside)
    if fails:
        return Outcome(FAIL, f"{len(fails)} emergency access account(s) rely on a phone or soft token that one person holds.",
                fails + warns + unknown, {})
    if unknown:
        return Outcome(NOT_EVALUATED, "Registration details were not reported for some emergency access accounts.",
                       unknown, {}, Cause.NOT_COLLECTED)
    if warns:
        return Outcome(WARN, f"{len(warns)} emergency access account(s) also hold a phone or soft-token method.", warns, {})
    return Outcome(PASS, "No emergency access account holds a phone, SMS, voice or soft-token method.", [], {})


@check("EA-04", reads=POLICY_DATA)
def emergency_accounts_not_excluded_from_mfa(ctx: Context) -> Outcome:
    existing = _ea_existing(ctx)
    if ctx.p.ca_policies is None and ctx.p.security_defaults is True:
        return Outcome(PASS, "Security defaults apply to every account and allow no exclusions.", [], {})
    policies = [p for p in ctx.policies if p.is_mfa_policy]  # an "MFA policy" is an enabled one
    roles = ctx.user_roles()
    aff = []
    for u in existing:
        paths = []
        for pol in policies:
            for how in ctx.exclusion_paths(pol, u, roles.get(u.id, set())):
                paths.append(f"excluded from '{pol.name}' {how}")
        if paths:
            aff.append(affected(u, "; ".join(paths)))
    if aff:
        return Outcome(FAIL, f"{len(aff)} emergency access account(s) are excluded from MFA policies; Microsoft now advises "
                      "against excluding them, and mandatory MFA applies to them anyway.", aff, {})
    return Outcome(PASS, "No emergency access account is excluded from an MFA policy.", [], {})
