"""MFA coverage and hygiene: who must use MFA, who can, and what weakens it."""
from __future__ import annotations

from datetime import timedelta

from reportgen import model as m
from reportgen.checks import applicability as scope
from reportgen.checks.applicability import ALL_APPS, PORTAL_APPS
from reportgen.checks.common import (CA_POLICIES_DS, METHODS_POLICY, NAMED_LOCATIONS, POLICY_DATA, REGISTRATION_DATA,
                                     SECURITY_DEFAULTS, affected, methods_text, when)
from reportgen.checks.context import Context
from reportgen.checks.registry import Outcome, check
from reportgen.model import CAPolicy
from reportgen.results import Affected
from reportgen.vocab import Cause, Status

PASS, FAIL, WARN, NOT_EVALUATED = Status.PASS, Status.FAIL, Status.WARN, Status.NOT_EVALUATED


def _everyone_policies(ctx: Context) -> list[CAPolicy]:
    return [p for p in ctx.policies if p.is_mfa_policy and not p.has_conditions and "All" in p.include_users
            and "All" in p.include_apps and not p.exclude_apps and "all" in p.client_app_types]


@check("MFA-01", reads=POLICY_DATA + (NAMED_LOCATIONS,))
def mfa_required_for_everyone(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(PASS, "Security defaults require MFA for every user.", [], {})
    everyone = _everyone_policies(ctx)
    if not everyone:
        return Outcome(FAIL, "No enabled Conditional Access policy requires MFA for all users and all cloud apps, and "
                      "security defaults are off.", [], {"policies": 0})
    ea = {u.id for _, u in ctx.emergency() if u}
    roles = ctx.user_roles()
    aff = []
    for u in ctx.enabled:
        if u.id in ea or ctx.covered(u, roles.get(u.id, set()), ALL_APPS, policies=everyone):
            continue
        paths = sorted({f"'{p.name}' {h}" for p in everyone for h in ctx.exclusion_paths(p, u, roles.get(u.id, set()))})
        aff.append(affected(u, "excluded from " + "; ".join(paths) if paths else "not covered"))
    metrics = {"policies": len(everyone), "excluded_users": len(aff)}
    if aff:
        return Outcome(FAIL, f"{len(aff)} user(s) other than emergency access accounts are excluded from the MFA policy "
                      "for all users.", aff, metrics)
    return Outcome(PASS, f"MFA is required for all users and all cloud apps ({', '.join(p.name for p in everyone)}); only "
                  "emergency access accounts are excluded, if any.", [], metrics)


@check("MFA-02", reads=REGISTRATION_DATA)
def members_registered_for_mfa(ctx: Context) -> Outcome:
    members = [u for u in ctx.enabled if u.user_type.lower() == "member"]
    regs = ctx.need(ctx.p.registrations, "reports/authenticationMethods/userRegistrationDetails")
    if not members:
        return Outcome(NOT_EVALUATED, "The tenant reported no enabled member users.", [], {}, Cause.NO_SUBJECTS)
    aff = []
    for u in members:
        r = regs.get(u.id)
        if r is None:
            aff.append(affected(u, "no registration record"))
        elif not r.mfa_registered:
            aff.append(affected(u, f"not MFA-registered (methods: {methods_text(r.methods)})"))
    reg = len(members) - len(aff)
    pct = round(100.0 * reg / len(members), 1)
    metrics = {"registered": reg, "enabled": len(members), "pct": pct}
    if aff:
        return Outcome(FAIL, f"{reg} of {len(members)} enabled member users ({pct}%) are registered for MFA; {len(aff)} are not.",
                aff, metrics)
    return Outcome(PASS, f"All {len(members)} enabled member users are registered for MFA.", [], metrics)


@check("MFA-03", reads=POLICY_DATA + REGISTRATION_DATA)
def privileged_users_registered_and_covered(ctx: Context) -> Outcome:
    priv = ctx.privileged()
    if not priv:
        return Outcome(NOT_EVALUATED, "No privileged role holder was found among the collected role assignments.", [], {},
                       Cause.NO_SUBJECTS)
    sd = ctx.p.security_defaults is True
    if not sd:
        ctx.policies
    ctx.need(ctx.p.registrations, "reports/authenticationMethods/userRegistrationDetails")  # needed even if all holders are disabled
    aff = []
    for uid, roles in sorted(priv.items(), key=lambda kv: ctx.users_by_id[kv[0]].upn):
        u = ctx.users_by_id[uid]
        if not u.enabled:
            continue
        problems = []
        r = ctx.registration(uid)
        if r is None or not r.mfa_registered:
            problems.append("not MFA-registered")
        all_roles = ctx.user_roles().get(uid, roles)
        if not sd and not ctx.covered(u, all_roles, ALL_APPS | PORTAL_APPS):
            problems.append("not covered by an MFA policy")
        if problems:
            aff.append(affected(u, f"{', '.join(sorted(m.PRIVILEGED_ROLES[x] for x in roles))}: {'; '.join(problems)}"))
    metrics = {"privileged_users": len(priv)}
    if aff:
        return Outcome(FAIL, f"{len(aff)} of {len(priv)} privileged users are not both MFA-registered and required to use MFA.",
                aff, metrics)
    return Outcome(PASS, f"All {len(priv)} privileged users are MFA-registered and required to use MFA.", [], metrics)


@check("MFA-04", reads=POLICY_DATA + REGISTRATION_DATA)
def privileged_users_use_phishing_resistant_mfa(ctx: Context) -> Outcome:
    priv = ctx.privileged()
    if not priv:
        return Outcome(NOT_EVALUATED, "No privileged role holder was found among the collected role assignments.", [], {},
                       Cause.NO_SUBJECTS)
    pr_policies = [p for p in (ctx.p.ca_policies or []) if p.state == "enabled" and not p.has_conditions
                   and p.auth_strength_id == m.STRENGTH_PHISHING_RESISTANT and "All" in p.include_apps]
    if ctx.p.ca_policies is None and ctx.p.registrations is None:
        ctx.need(None, "identity/conditionalAccess/policies")
    aff = []
    for uid, roles in priv.items():
        u = ctx.users_by_id[uid]
        if not u.enabled:
            continue
        if pr_policies and any(ctx.applies(p, u, ctx.user_roles().get(uid, roles)) for p in pr_policies):
            continue
        r = ctx.registration(uid) if ctx.p.registrations is not None else None
        mfa_methods = set(r.methods) - m.NON_MFA_METHODS if r else set()
        if r is not None and mfa_methods and mfa_methods <= m.PHISHING_RESISTANT_METHODS:
            continue
        aff.append(affected(u, f"{', '.join(sorted(m.PRIVILEGED_ROLES[x] for x in roles))}; methods: "
                           f"{methods_text(sorted(mfa_methods)) if r else 'unknown'}"))
    if aff:
        if ctx.p.registrations is None:
            ctx.need(None, "reports/authenticationMethods/userRegistrationDetails")
        return Outcome(WARN, f"{len(aff)} privileged user(s) can still sign in with MFA that is not phishing-resistant.",
                sorted(aff, key=lambda a: a.upn), {"privileged_users": len(priv)})
    return Outcome(PASS, "Privileged users are held to phishing-resistant MFA.", [], {"privileged_users": len(priv)})


@check("MFA-05", reads=POLICY_DATA)
def legacy_authentication_blocked(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(PASS, "Security defaults block legacy authentication.", [], {})
    legacy = {"exchangeActiveSync", "other"}
    blocks = [p for p in ctx.policies if p.blocks and p.state == "enabled" and not p.has_conditions
              and (legacy <= p.client_app_types or "all" in p.client_app_types) and "All" in p.include_apps]
    report_only = [p.name for p in ctx.policies if p.blocks and p.state != "enabled" and legacy & p.client_app_types]
    if not blocks:
        extra = f" ({', '.join(report_only)} is not enforced)" if report_only else ""
        return Outcome(FAIL, f"No enabled policy blocks legacy authentication (Exchange ActiveSync, other clients){extra}; "
                      "legacy protocols cannot do MFA.", [], {})
    ea = {u.id for _, u in ctx.emergency() if u}
    roles = ctx.user_roles()
    aff = []
    for u in ctx.enabled:
        if u.id in ea:
            continue
        if not any(ctx.applies(p, u, roles.get(u.id, set())) for p in blocks):
            aff.append(affected(u, "excluded from the legacy-authentication block"))
    if aff:
        return Outcome(FAIL, f"Legacy authentication is blocked, but {len(aff)} user(s) are excluded from the block.", aff, {})
    return Outcome(PASS, f"Legacy authentication is blocked for all users ({', '.join(p.name for p in blocks)}).", [], {})


@check("MFA-06", reads=REGISTRATION_DATA + (METHODS_POLICY,))
def no_user_relies_on_weak_methods(ctx: Context) -> Outcome:
    regs = ctx.need(ctx.p.registrations, "reports/authenticationMethods/userRegistrationDetails")
    aff, unknown = [], []
    for u in ctx.enabled:
        r = regs.get(u.id)
        if r is None:
            unknown.append(affected(u, "authentication methods not reported"))
            continue
        mfa = set(r.methods) - {"temporaryAccessPass", "securityQuestion", "password"}
        if mfa and mfa <= m.WEAK_METHODS:
            aff.append(affected(u, f"only {', '.join(sorted(mfa))}"))
    if aff:
        return Outcome(FAIL, f"{len(aff)} user(s) rely only on SMS, voice or email for MFA.", aff, {"weak_only_users": len(aff)})
    if unknown:
        return Outcome(NOT_EVALUATED, f"The authentication methods of {len(unknown)} enabled user(s) were not reported.",
                unknown, {"unknown_users": len(unknown)}, Cause.NOT_COLLECTED)
    policy = ctx.need(ctx.p.methods_policy, "policies/authenticationMethodsPolicy")
    weak_on = [k for k in ("sms", "voice") if policy.get(k) == "enabled"]
    if weak_on:
        return Outcome(WARN, f"No user relies only on weak methods, but the authentication methods policy still enables "
                      f"{' and '.join(x.upper() if x == 'sms' else x for x in weak_on)}.", [], {"weak_only_users": 0})
    return Outcome(PASS, "No user relies only on SMS, voice or email, and SMS and voice are disabled.", [], {"weak_only_users": 0})


@check("MFA-07", reads=POLICY_DATA)
def guests_covered_by_mfa(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(PASS, "Security defaults require MFA for guests as for everyone.", [], {})
    guest_policies = [p for p in ctx.policies if p.is_mfa_policy and not p.has_conditions and not p.exclude_guests
                      and ("All" in p.include_users or p.include_guests) and scope.covers_app(p, ALL_APPS | {"Office365"})]
    guests = [u for u in ctx.enabled if u.user_type.lower() == "guest"]
    if not guest_policies:
        return Outcome(FAIL, "No enabled MFA policy covers guests and external users.",
                [affected(u, "guest not covered by an MFA policy") for u in guests], {"guests": len(guests)})
    roles = ctx.user_roles()
    aff = [affected(u, "guest excluded from MFA policies") for u in guests
           if not any(ctx.applies(p, u, roles.get(u.id, set())) for p in guest_policies)]
    if aff:
        return Outcome(FAIL, f"{len(aff)} of {len(guests)} guests are excluded from the MFA policies that cover guests.", aff,
                {"guests": len(guests)})
    return Outcome(PASS, f"Guests and external users are covered by an MFA policy ({len(guests)} guest account(s)).", [],
            {"guests": len(guests)})


@check("MFA-08", reads=(CA_POLICIES_DS, SECURITY_DEFAULTS))
def no_idle_mfa_policies(ctx: Context) -> Outcome:
    if ctx.p.ca_policies is None and ctx.p.security_defaults is True:
        return Outcome(PASS, "Security defaults are on; there are no Conditional Access policies to leave unenforced.", [], {})
    pols = ctx.policies
    enabled = [p for p in pols if p.is_mfa_policy and not p.has_conditions]
    idle = [p for p in pols if p.requires_mfa and p.state in ("disabled", "enabledForReportingButNotEnforced")]

    def covered_by_enabled(p: CAPolicy) -> bool:
        for e in enabled:
            users_ok = "All" in e.include_users or (p.include_users <= e.include_users and p.include_groups <= e.include_groups
                                                    and p.include_roles <= e.include_roles)
            apps_ok = "All" in e.include_apps or p.include_apps <= e.include_apps
            if users_ok and apps_ok and not (e.exclude_users | e.exclude_groups | e.exclude_roles) - (
                    p.exclude_users | p.exclude_groups | p.exclude_roles):
                return True
        return False
    lone = [p for p in idle if not covered_by_enabled(p)]
    if lone:
        return Outcome(WARN, f"{len(lone)} MFA polic{'y is' if len(lone) == 1 else 'ies are'} not enforced and no enabled "
                      f"policy covers the same users and apps: {', '.join(repr(p.name) for p in lone)}.",
                [Affected(upn=p.name, display_name=p.name, detail=f"policy state {p.state}") for p in lone], {"policies": len(lone)})
    return Outcome(PASS, "Every MFA policy is enforced, or an enabled policy covers the same users and apps.", [], {"policies": 0})


@check("MFA-09", reads=REGISTRATION_DATA)
def no_dormant_unregistered_accounts(ctx: Context) -> Outcome:
    users = ctx.enabled
    if any(not u.sign_in_activity_known for u in ctx.users):
        ctx.need(None, "users.signInActivity")
    regs = ctx.need(ctx.p.registrations, "reports/authenticationMethods/userRegistrationDetails")
    cutoff = ctx.p.collected_at - timedelta(days=ctx.inp.dormant_days)
    aff = []
    for u in users:
        r = regs.get(u.id)
        if r is not None and r.mfa_registered:
            continue
        if u.last_sign_in is None or u.last_sign_in < cutoff:
            aff.append(affected(u, f"not MFA-registered; last sign-in {when(u.last_sign_in)}"))
    if aff:
        return Outcome(FAIL, f"{len(aff)} enabled account(s) have no MFA registered and no sign-in for {ctx.inp.dormant_days} "
                      "days or more: anyone holding the password could register their own MFA.", aff, {"accounts": len(aff)})
    return Outcome(PASS, f"No enabled account is both unregistered for MFA and dormant for {ctx.inp.dormant_days} days.", [],
            {"accounts": 0})


@check("MFA-10", reads=(CA_POLICIES_DS, SECURITY_DEFAULTS))
def security_info_registration_protected(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(PASS, "Security defaults protect security-information registration.", [], {})
    pols = [p for p in ctx.policies if p.state == "enabled" and "urn:user:registersecurityinfo" in p.include_user_actions]
    if pols:
        return Outcome(PASS, f"Registering security information is protected by {', '.join(repr(p.name) for p in pols)}.", [], {})
    return Outcome(WARN, "No enabled policy protects the registration of security information; an attacker holding a "
                  "password could register their own MFA method.", [], {})
