"""Emergency access ("break glass") accounts: enough of them, strong enough, never excluded from MFA.

Emergency-grade methods (EA-02) are a FIDO2 security key, a device-bound passkey on a key, or
certificate-based authentication; a passkey in Microsoft Authenticator and Windows Hello for
Business resist phishing but live on one person's phone or one device.
"""
from __future__ import annotations

from reportgen import model as m
from reportgen.checks.common import (
    METHODS_POLICY,
    POLICY_DATA,
    REGISTRATION_DATA,
    ROLE_DATA,
    ROLE_SCHEDULES,
    affected,
    methods_text,
)
from reportgen.checks.context import Context, gap_cause
from reportgen.checks.registry import NotEvaluated, Outcome, check
from reportgen.evidence import permission_for, source_of
from reportgen.facts import FACTS
from reportgen.model import User
from reportgen.results import Affected
from reportgen.vocab import Cause, Status, count, verb

PASS, FAIL, WARN, NOT_EVALUATED = Status.PASS, Status.FAIL, Status.WARN, Status.NOT_EVALUATED
X509 = "x509certificate"


def _ea_existing(ctx: Context) -> list[User]:
    _ = ctx.users   # not evaluated without them
    existing = [u for _, u in ctx.emergency() if u is not None]
    if not existing:
        raise NotEvaluated("no designated emergency access account exists in the tenant (see EA-01)", Cause.NO_SUBJECTS)
    return existing


def _ga_problems(ctx: Context, u: User, holdings: dict[str, list[m.RoleAssignment]],
                 eligible: dict[str, list[m.RoleAssignment]] | None) -> tuple[list[str], bool]:
    """(what keeps the account's Global Administrator from being permanent and active, permanence unknown)."""
    ga = [r for r in holdings.get(u.id, []) if r.role_id == m.GLOBAL_ADMIN]
    if not ga:
        if eligible is not None and any(r.role_id == m.GLOBAL_ADMIN for r in eligible.get(u.id, [])):
            return ["holds Global Administrator only as eligible (PIM), not as a permanent active assignment"], False
        return ["has no active Global Administrator assignment"], False
    if any(r.permanent is True for r in ga):
        return [], False
    if all(r.permanent is False for r in ga):
        return ["holds Global Administrator only through a time-bound or activated assignment"], False
    return [], True


def _schedules_gap(ctx: Context) -> str:
    """Why permanence is unknown, in words: the schedules were refused (permission) or not collected."""
    gap = ctx.p.gap_for(source_of(ROLE_SCHEDULES))
    if gap is not None and gap_cause(gap) == Cause.MISSING_PERMISSION:
        return (f"the role assignment schedules could not be read: the app lacks the permission "
                f"{permission_for(ROLE_SCHEDULES)}")
    if gap is not None:
        return f"the role assignment schedules could not be read: {gap.reason}"
    return "the role assignment schedules were not collected"


@check("EA-01", reads=ROLE_DATA + (ROLE_SCHEDULES,))
def two_permanent_cloud_only_global_admins(ctx: Context) -> Outcome:
    accounts = ctx.emergency()
    if not accounts:
        return Outcome(FAIL, "No emergency access accounts are designated in the configuration.", [], {"designated": 0, "qualified": 0})
    _ = ctx.users   # not evaluated without them
    holdings = ctx.holdings(("active",))
    try:
        eligible = ctx.holdings(("eligible",))
    except NotEvaluated:
        eligible = None
    bad, ok, unsure = [], 0, []
    for name, u in accounts:
        problems, unknown = [], False
        if u is None:
            problems.append("does not exist in the tenant")
        else:
            if not u.enabled:
                problems.append("is disabled")
            if u.is_guest or u.user_type.lower() != "member":
                problems.append(f"is a {u.user_type.lower() or 'non-member'} account, not a member of the tenant")
            if u.synced:
                problems.append("is synchronised from on-premises, not cloud-only")
            ga, unknown = _ga_problems(ctx, u, holdings, eligible)
            problems += ga
        if problems:
            bad.append(affected(u, "; ".join(problems), name))
        elif unknown:
            unsure.append(affected(u, f"whether its Global Administrator assignment is permanent could not be read "
                                      f"({_schedules_gap(ctx)})", name))
        else:
            ok += 1
    metrics = {"designated": len(accounts), "qualified": ok, "permanence_unknown": len(unsure)}
    rule = "exist, are enabled members, are cloud-only and hold Global Administrator as a permanent active assignment"
    if ok + len(unsure) < 2:
        n = ok + len(unsure)
        one = "exists, is an enabled member, is cloud-only and holds Global Administrator as a permanent active assignment"
        return Outcome(FAIL, f"{n:,} of {count(len(accounts), 'designated emergency access account')} {verb(n, one, rule)}; "
                             "at least two are needed.", bad + unsure, metrics)
    if unsure:
        return Outcome(WARN, f"{ok + len(unsure):,} emergency access accounts {rule.replace('permanent active', 'active')}, "
                             f"but for {len(unsure):,} of them it could not be confirmed that the assignment is permanent: "
                             f"{_schedules_gap(ctx)}.", unsure + bad, metrics)
    if bad:
        return Outcome(WARN, f"{ok:,} emergency access accounts qualify, but {count(len(bad), 'designated account')} "
                             f"{verb(len(bad), 'does', 'do')} not.", bad, metrics)
    return Outcome(PASS, f"{ok:,} emergency access accounts {rule}.", [], metrics)


def _cba(ctx: Context, u: User) -> tuple[bool | None, str]:
    """Whether certificate-based authentication is an emergency-grade method for ``u``: a certificate
    binding on the account, the X.509 method enabled for it, and a multifactor binding mode."""
    if not u.certificate_user_ids:
        return False, ""
    enabled = ctx.method_enabled_for(X509, u)
    if enabled is False:
        return False, "a certificate is bound, but the certificate method is not enabled for the account"
    config = (ctx.p.methods_policy or {}).get(X509)
    if enabled is None or config is None:
        return None, "a certificate is bound, but whether the certificate method is enabled for it could not be read"
    if config.multifactor_default:
        return True, ""
    if config.multifactor_rules:
        return None, "a certificate is bound, but only some binding rules make it multifactor"
    return False, "a certificate is bound, but the certificate method is single-factor by default"


# What a FIDO2 method is, by the kind its AAGUID has in microsoft-facts.yaml (unknown: kept apart)
FIDO2_AS = {"hardware": "fido2SecurityKey", "windows_hello": "passKeyDeviceBoundWindowsHello",
            "synced": "passKeySynced", "authenticator": "passKeyDeviceBoundAuthenticator"}
NOT_A_SECOND_FACTOR = m.NON_MFA_METHODS | {"appPassword"}


def methods_by_aaguid(reg: m.Registration) -> tuple[set[str], list[str], list[str]]:
    """(methods with each FIDO2 method named by what its AAGUID says it is, FIDO2 AAGUIDs no list
    knows, the providers named). Without AAGUIDs (the registration report) the methods stand as read."""
    methods = set(reg.methods)
    if reg.fido2_aaguids is None or "fido2SecurityKey" not in methods:
        return methods, [], []
    methods.discard("fido2SecurityKey")
    unknown, providers = [], []
    for aaguid in reg.fido2_aaguids:
        kind, name = FACTS.fido2_kind(aaguid)
        if kind == "unknown":
            unknown.append(aaguid or "(no AAGUID)")
            continue
        methods.add(FIDO2_AS[kind])
        if kind != "hardware":
            providers.append(name)
    return methods, unknown, sorted(set(providers))


def _emergency_methods(ctx: Context, u: User, reg: m.Registration) -> tuple[set[str], bool | None, str, list[str]]:
    """(emergency-grade methods, CBA verdict, notes, FIDO2 AAGUIDs that are not known)."""
    methods, unknown, providers = methods_by_aaguid(reg)
    grade = methods & m.EMERGENCY_METHODS
    cba, note = _cba(ctx, u)
    if cba:
        grade.add("x509Certificate")
    notes = [note] if note else []
    if providers:
        notes.append(f"its FIDO2 passkey is held by {', '.join(providers)}, not on a security key")
    return grade, cba, "; ".join(notes), unknown


def _ea_registrations(ctx: Context) -> tuple[list[tuple[User, m.Registration]], list[Affected]]:
    known, unknown = [], []
    for u in _ea_existing(ctx):
        reg = ctx.registration(u.id)
        if reg is None:
            unknown.append(affected(u, ctx.unknown_registration(u)))
        else:
            known.append((u, reg))
    return known, unknown


def _unknown_keys(aaguids: list[str]) -> str:
    return (f"a FIDO2 passkey whose AAGUID ({', '.join(aaguids)}) is on no list of known security keys or passkey "
            "providers, so whether it is a hardware key is unknown")


@check("EA-02", reads=REGISTRATION_DATA + (METHODS_POLICY,))
def emergency_accounts_have_phishing_resistant_method(ctx: Context) -> Outcome:
    known, unknown = _ea_registrations(ctx)
    fails, unsure, keys = [], [], []
    fido2_off = 0   # failing accounts the FIDO2 method is not known to be enabled for (remediation step 1)
    for u, reg in known:
        grade, cba, note, strange = _emergency_methods(ctx, u, reg)
        if grade:
            continue
        methods = methods_by_aaguid(reg)[0]
        detail = f"methods: {methods_text(sorted(methods))}"
        if "passKeyDeviceBoundAuthenticator" in methods:
            detail += "; a passkey in Microsoft Authenticator lives on one person's phone"
        if methods & {"windowsHelloForBusiness", "passKeyDeviceBoundWindowsHello"}:
            detail += "; Windows Hello is bound to one device"
        if note:
            detail += f"; {note}"
        if strange:
            keys.append(affected(u, f"{detail}; {_unknown_keys(strange)}"))
        else:
            (unsure if cba is None else fails).append(affected(u, detail))
            fido2_off += cba is not None and ctx.method_enabled_for("fido2", u) is not True
    if fails:
        return Outcome(FAIL, f"{count(len(fails), 'emergency access account')} {verb(len(fails), 'has', 'have')} no FIDO2 "
                             "security key, device-bound passkey on a key, or certificate-based authentication.",
                       fails + keys + unsure + unknown, {"fido2_method_not_enabled": fido2_off})
    if unsure or unknown:
        n = len(unsure) + len(unknown)
        return Outcome(NOT_EVALUATED, f"Whether {count(n, 'emergency access account')} {verb(n, 'has', 'have')} an "
                                      "emergency-grade method could not be read.", unsure + unknown + keys, {},
                       Cause.NOT_COLLECTED)
    if keys:
        return Outcome(WARN, f"{count(len(keys), 'emergency access account')} {verb(len(keys), 'relies', 'rely')} on a "
                             "FIDO2 passkey whose maker is not on the list of known security keys; confirm that it is a "
                             "hardware security key, not a passkey synced to a phone or password manager.", keys, {})
    return Outcome(PASS, "Every emergency access account has a FIDO2 security key, device-bound passkey or certificate-based "
                         "authentication.", [], {})


@check("EA-03", reads=REGISTRATION_DATA + (METHODS_POLICY,))
def emergency_accounts_avoid_single_device_methods(ctx: Context) -> Outcome:
    known, unknown = _ea_registrations(ctx)
    fails, warns = [], []
    need_key = len(unknown)     # accounts that still need an emergency-grade method (remediation step 1)
    for u, reg in known:
        methods = methods_by_aaguid(reg)[0]
        soft = sorted(methods & m.SOFT_OR_PHONE_METHODS)
        if not soft:
            continue
        grade, _, _, strange = _emergency_methods(ctx, u, reg)
        need_key += not grade
        other = sorted(methods - m.SOFT_OR_PHONE_METHODS - NOT_A_SECOND_FACTOR - set(grade)
                       - {"sms", "voiceMobile", "voiceAlternateMobile", "voiceOffice"})
        if grade:
            warns.append(affected(u, f"{methods_text(soft)} registered beside {methods_text(sorted(grade))}"))
        elif other or strange:
            beside = methods_text(other) if other else "a FIDO2 passkey of unknown make"
            warns.append(affected(u, f"{methods_text(soft)} registered beside {beside}, which is not emergency-grade "
                                     "either (see EA-02)"))
        else:
            fails.append(affected(u, f"relies on {methods_text(soft)}, held on one person's phone or one device"))
    metrics = {"without_emergency_method": need_key}
    if fails:
        return Outcome(FAIL, f"{count(len(fails), 'emergency access account')} {verb(len(fails), 'relies', 'rely')} for MFA "
                             "on a phone, soft token or single device that one person holds.", fails + warns + unknown,
                       metrics)
    if unknown:
        return Outcome(NOT_EVALUATED, f"The methods of {count(len(unknown), 'emergency access account')} could not be "
                                      "read.",
                       unknown, {}, Cause.NOT_COLLECTED)
    if warns:
        return Outcome(WARN, f"{count(len(warns), 'emergency access account')} also {verb(len(warns), 'holds', 'hold')} a "
                             "phone, soft-token or single-device method beside another one.", warns, metrics)
    return Outcome(PASS, "No emergency access account holds a Microsoft Authenticator, software token, SMS, voice or "
                         "Windows Hello method.", [], {})


def _ea04_excluded(ctx: Context, existing: list[User]) -> tuple[list[Affected], dict[str, list[str]]]:
    """(other users that an exclusion reaching an emergency access account also reaches, the emergency
    access accounts excluded from some MFA policy with how)."""
    ea = {u.id for u in existing}
    enabled = {u.id for u in ctx.enabled}
    roles = ctx.user_roles()
    members = ctx.p.group_members or {}
    others: dict[str, list[str]] = {}
    excluded: dict[str, list[str]] = {}
    for pol in (p for p in ctx.policies if p.is_mfa_policy):
        for u in existing:
            paths = ctx.exclusion_paths(pol, u, roles.get(u.id, set()))
            if not paths:
                continue
            excluded.setdefault(u.id, []).append(f"excluded from '{pol.name}' {' and '.join(paths)}")
            for g in sorted(ctx.groups_of(u.id) & pol.exclude_groups):
                name = ctx.p.group_names.get(g, g)
                for x in sorted((set(members.get(g, ())) & enabled) - ea):
                    others.setdefault(x, []).append(f"excluded from '{pol.name}' through group '{name}', which also "
                                                    "holds emergency access accounts")
            for r in sorted(roles.get(u.id, set()) & pol.exclude_roles):
                for x in sorted(uid for uid, rs in roles.items() if r in rs and uid in enabled and uid not in ea):
                    others.setdefault(x, []).append(f"excluded from '{pol.name}' through role "
                                                    f"{m.PRIVILEGED_ROLES.get(r, r)}, which emergency access accounts "
                                                    "also hold")
    aff = [affected(ctx.users_by_id[x], "; ".join(dict.fromkeys(v))) for x, v in sorted(others.items())]
    return aff, excluded


@check("EA-04", reads=POLICY_DATA + REGISTRATION_DATA + (METHODS_POLICY,))
def emergency_access_exclusions_are_exact(ctx: Context) -> Outcome:
    existing = _ea_existing(ctx)
    if ctx.p.ca_policies is None and ctx.p.security_defaults is True:
        return Outcome(PASS, "Security defaults are on; they apply to every account and allow no exclusions.", [], {})
    _ = ctx.policies   # not evaluated without them
    others, excluded = _ea04_excluded(ctx, existing)
    weak, unknown = [], []
    for u in existing:
        if u.id not in excluded:
            continue
        if ctx.p.registrations is None:
            unknown.append(affected(u, f"{'; '.join(excluded[u.id])}; its methods were not collected"))
            continue
        reg = ctx.p.registrations.get(u.id)
        if reg is None:
            unknown.append(affected(u, f"{'; '.join(excluded[u.id])}; {ctx.unknown_registration(u)}"))
            continue
        grade, cba, note, strange = _emergency_methods(ctx, u, reg)   # EA-02's test
        if not grade:
            how = "; ".join(excluded[u.id])
            (unknown if cba is None or strange else weak).append(affected(u, f"{how}, but has no FIDO2 security key, device-bound "
                                                                  "passkey or certificate-based authentication (methods: "
                                                                  f"{methods_text(reg.methods)})" + (f"; {note}" if note else "")))
    metrics = {"excluded_accounts": len(excluded), "other_users_reached": len(others),
               "excluded_without_emergency_method": len(weak) + len(unknown)}
    if others or weak:
        parts = []
        if others:
            parts.append(f"exclusions meant for emergency access accounts also reach {count(len(others), 'other user')}, "
                         "who are then not required to use MFA")
        if weak:
            parts.append(f"{count(len(weak), 'excluded emergency access account')} {verb(len(weak), 'has', 'have')} no "
                         "emergency-grade method, yet mandatory MFA applies to it at the Azure portals and Azure "
                         "Resource Manager")
        text = "; ".join(parts)
        return Outcome(FAIL, text[:1].upper() + text[1:] + ".", others + weak + unknown, metrics)
    if unknown:
        return Outcome(NOT_EVALUATED, f"Emergency access exclusions are exact, but whether {count(len(unknown), 'excluded account')} "
                                      "can complete phishing-resistant MFA could not be read.", unknown, metrics,
                       Cause.NOT_COLLECTED)
    if excluded:
        return Outcome(PASS, f"{count(len(excluded), 'emergency access account')} {verb(len(excluded), 'is', 'are')} "
                             "excluded from MFA policies, as Microsoft advises; the exclusions reach no one else, and each "
                             "excluded account has an emergency-grade method for the MFA Microsoft still requires.", [],
                       metrics)
    return Outcome(PASS, "No emergency access account is excluded from an MFA policy.", [], metrics)
