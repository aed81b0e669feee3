"""MFA hygiene: weak methods in use (MFA-06) and enabled (MFA-11), MFA policies left unenforced
(MFA-08), dormant accounts without MFA (MFA-09)."""
from __future__ import annotations

from datetime import timedelta

from reportgen.checks import applicability as scope
from reportgen.checks.common import (
    CA_POLICIES_DS,
    METHODS_POLICY,
    REGISTRATION_DATA,
    ROLE_DATA,
    SECURITY_DEFAULTS,
    affected,
    methods_text,
    when,
)
from reportgen.checks.context import Context
from reportgen.checks.registry import Outcome, check
from reportgen.model import WEAK_METHODS, CAPolicy, User
from reportgen.results import Affected
from reportgen.vocab import Cause, Status, count, verb

PASS, FAIL, WARN, NOT_EVALUATED = Status.PASS, Status.FAIL, Status.WARN, Status.NOT_EVALUATED
WEAK_CONFIGS = (("sms", "SMS"), ("voice", "voice call"), ("email", "email one-time passcode"))


@check("MFA-06", reads=REGISTRATION_DATA)
def no_user_relies_on_weak_methods(ctx: Context) -> Outcome:
    regs = ctx.registrations()
    aff, unknown = [], []
    for u in ctx.enabled:
        r = regs.get(u.id)
        if r is None:
            unknown.append(affected(u, ctx.unknown_registration(u)))
            continue
        mfa = set(r.methods) - {"temporaryAccessPass", "securityQuestion", "password"}
        if mfa and mfa <= WEAK_METHODS | {"sms", "voiceMobile", "voiceAlternateMobile", "voiceOffice"}:
            aff.append(affected(u, f"only {methods_text(sorted(mfa))}"))
    metrics = {"weak_only_users": len(aff), "unknown_users": len(unknown)}
    if aff:
        return Outcome(FAIL, f"{count(len(aff), 'user')} {verb(len(aff), 'relies', 'rely')} only on SMS, voice or email "
                             "for MFA.", aff + unknown, metrics)
    if unknown:
        return Outcome(NOT_EVALUATED, f"The authentication methods of {count(len(unknown), 'enabled user')} are unknown.",
                       unknown, metrics, Cause.NOT_COLLECTED)
    return Outcome(PASS, "No enabled user relies only on SMS, voice or email for MFA.", [], metrics)


@check("MFA-11", reads=(METHODS_POLICY,))
def weak_methods_disabled(ctx: Context) -> Outcome:
    policy = ctx.need(ctx.p.methods_policy, "policies/authenticationMethodsPolicy")
    on, unknown, missing, notes = [], [], [], []
    for key, label in WEAK_CONFIGS:
        c = policy.get(key)
        if c is None:
            missing.append(label)
        elif c.state not in ("enabled", "disabled"):
            unknown.append(f"{label} (state '{c.state}' not recognised)")
        elif c.enabled_for_unknown_targets:
            unknown.append(f"{label} (enabled for unknown targets: the targets were not returned)")
        elif c.enabled_for_someone:
            on.append(f"{label} (for {ctx.target_words(key) or 'unnamed targets'})")
        elif key == "email" and c.external_only:
            notes.append("email one-time passcode is offered to external users only, through "
                         "allowExternalIdToUseEmailOtp, which this check does not fail")
    tail = f" ({'; '.join(notes)})" if notes else ""
    metrics = {"weak_methods_enabled": len(on), "unknown": len(unknown)}
    if on:
        return Outcome(FAIL, f"The authentication methods policy enables {'; '.join(on)}{tail}.", [], metrics)
    if unknown:
        return Outcome(WARN, f"Whether weak methods are enabled for members cannot be confirmed: {'; '.join(unknown)}"
                             f"{tail}.", [], metrics)
    if missing:
        return Outcome(NOT_EVALUATED, f"The authentication methods policy as read does not list {', '.join(missing)}, so "
                                      "whether they are enabled is unknown.", [], metrics, Cause.NOT_COLLECTED)
    return Outcome(PASS, f"The authentication methods policy enables none of SMS, voice call and email one-time passcode "
                         f"for members{tail}.", [], metrics)


def _targets_something(p: CAPolicy) -> bool:
    """A policy that names no user or no app covers nothing there is to leave unenforced."""
    return p.targets_people and bool(p.include_apps - {"None"} or p.include_user_actions or p.include_auth_contexts)


def _reach_covered(ctx: Context, idle: CAPolicy, enabled: list[CAPolicy], u: User, roles: set[str]) -> bool:
    """Every app, user action and authentication context ``idle`` would require MFA for is required of
    ``u`` by some enabled, un-narrowed MFA policy."""
    apps = idle.include_apps - {"None"}
    if "All" in apps:
        if not ctx.covered(u, roles, frozenset({"All"}), policies=enabled, all_apps=True):
            return False
    elif not all(ctx.covered(u, roles, frozenset({a}), policies=enabled) for a in apps):
        return False
    for attr in ("include_user_actions", "include_auth_contexts"):
        wanted = getattr(idle, attr)
        if wanted and not any(wanted <= getattr(e, attr) and ctx.applies(e, u, roles) for e in enabled):
            return False
    return True


@check("MFA-08", reads=(CA_POLICIES_DS, SECURITY_DEFAULTS) + ROLE_DATA)
def no_idle_mfa_policies(ctx: Context) -> Outcome:
    if ctx.p.ca_policies is None and ctx.p.security_defaults is True:
        return Outcome(PASS, "Security defaults are on; there are no Conditional Access policies to leave unenforced.",
                       [], {})
    pols = ctx.policies
    enabled = [p for p in pols if p.is_mfa_policy and not p.conditions]
    idle = [p for p in pols if p.requires_mfa and not p.workload and _targets_something(p)
            and p.state in ("disabled", "enabledForReportingButNotEnforced")]
    roles = ctx.user_roles()
    lone: list[tuple[CAPolicy, int]] = []
    for p in idle:
        reached = [u for u in ctx.enabled if ctx.applies(p, u, roles.get(u.id, set()))]
        left = [u for u in reached if not _reach_covered(ctx, p, enabled, u, roles.get(u.id, set()))]
        if left:   # a policy that reaches no one today leaves no one unenforced
            lone.append((p, len(left)))
    if lone:
        names = ", ".join(f"'{p.name}' ({count(n, 'account')} not otherwise covered)" for p, n in lone)
        return Outcome(WARN, f"{count(len(lone), 'MFA policy', 'MFA policies')} {verb(len(lone), 'is', 'are')} not "
                             f"enforced and no enabled policy requires MFA of the same people for the same apps: {names}.",
                       [Affected(upn=p.name, display_name=p.name,
                                 detail=f"policy {scope.STATE_WORDS.get(p.state, p.state)}") for p, _ in lone],
                       {"policies": len(lone)})
    return Outcome(PASS, "Every MFA policy is enforced, or enabled policies require MFA of the same people for the same "
                         "apps.", [], {"policies": 0})


@check("MFA-09", reads=REGISTRATION_DATA)
def no_dormant_unregistered_accounts(ctx: Context) -> Outcome:
    users = ctx.enabled
    if any(not u.sign_in_activity_known for u in ctx.users):
        ctx.need(None, "users.signInActivity")
    regs = ctx.registrations()
    cutoff = ctx.p.collected_at - timedelta(days=ctx.inp.dormant_days)
    aff, unknown = [], []
    for u in users:
        if u.last_sign_in is not None and u.last_sign_in >= cutoff:
            continue
        r = regs.get(u.id)
        if r is None:
            unknown.append(affected(u, f"{ctx.unknown_registration(u)}; last successful sign-in {when(u.last_sign_in)}"))
        elif not r.mfa_registered:
            aff.append(affected(u, f"not MFA-registered; last successful sign-in {when(u.last_sign_in)}"))
    if aff:
        return Outcome(FAIL, f"{count(len(aff), 'enabled account')} {verb(len(aff), 'has', 'have')} no MFA registered and "
                             f"no successful sign-in for {ctx.inp.dormant_days} days or more: anyone holding the password "
                             "could register their own MFA.", aff + unknown, {"accounts": len(aff)})
    if unknown:
        n = len(unknown)
        return Outcome(NOT_EVALUATED, f"{count(n, 'dormant enabled account')} {verb(n, 'has', 'have')} no registration "
                                      f"record, so whether {verb(n, 'it is', 'they are')} protected by MFA is unknown.",
                       unknown, {"accounts": 0}, Cause.NOT_COLLECTED)
    return Outcome(PASS, f"No enabled account is both unregistered for MFA and dormant for {ctx.inp.dormant_days} days.", [],
                   {"accounts": 0})
