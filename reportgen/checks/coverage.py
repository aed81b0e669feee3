"""MFA coverage and hygiene: who must use MFA, who can, and what weakens it.

An *MFA policy* is an enabled Conditional Access policy whose grant requires MFA (see
``model.Grant``); one that also lets people through another way is a *conditional MFA policy*
and never makes a coverage check pass. A policy narrowed by a condition (location, platform,
client apps, risk, device filter, authentication flow, excluded apps) is named with each condition.
A missing registration record means "registration unknown", never "not registered".
"""
from __future__ import annotations

from reportgen import model as m
from reportgen.checks import applicability as scope
from reportgen.checks.applicability import (
    ALL_APPS,
    LEGACY_CLIENT_TYPES,
    REGISTER_SECURITY_INFO,
)
from reportgen.checks.common import (
    CA_POLICIES_DS,
    NAMED_LOCATIONS,
    POLICY_DATA,
    REGISTRATION_DATA,
    SECURITY_DEFAULTS,
    affected,
    methods_text,
)
from reportgen.checks.context import Context
from reportgen.checks.exclusions import describe as describe_exclusions
from reportgen.checks.registry import Outcome, check
from reportgen.model import CAPolicy, User
from reportgen.vocab import Cause, Status, count, verb

PASS, FAIL, WARN, NOT_EVALUATED = Status.PASS, Status.FAIL, Status.WARN, Status.NOT_EVALUATED
SD_ON = "Security defaults are on"
SD_NOTE = ("; Microsoft then prompts users for MFA when it judges it necessary, not at every sign-in, and no "
           "Conditional Access policy is in use")


def _roles_text(roles: set[str]) -> str:
    return ", ".join(sorted(m.PRIVILEGED_ROLES[x] for x in roles if x in m.PRIVILEGED_ROLES))


def _everyone_candidates(ctx: Context) -> list[CAPolicy]:
    """Enabled policies for all users and all apps that offer MFA (strict or conditional)."""
    return [p for p in ctx.policies if p.state == "enabled" and not p.workload and p.grant.offers_mfa
            and "All" in p.include_users and "All" in p.include_apps]


def _policy_faults(ctx: Context, p: CAPolicy) -> tuple[list[str], list[str]]:
    """(what keeps an all-users/all-apps policy from requiring MFA of everyone, the exclusions that do
    not narrow it), in words."""
    faults = []
    if p.conditional_mfa:
        faults.append(f"it {scope.grant_words(p)}, so it is a conditional MFA policy")
    faults += [f"it {w}" for w in ctx.narrowing(p)]
    ex = describe_exclusions(ctx, p)
    if ex.narrowing:
        faults.append("it excludes " + ", ".join(ex.narrowing))
    return faults, ex.notes()


def _union_policies(ctx: Context, roles: dict[str, set[str]]) -> tuple[list[CAPolicy], list]:
    """(the MFA policies that together cover every enabled account for all apps, the accounts none
    covers with why), judged per person."""
    strict = [p for p in ctx.policies if p.is_mfa_policy]
    used, uncovered = [], []
    for u in ctx.enabled:
        rs = roles.get(u.id, set())
        ok, why = ctx.coverage(u, rs, ALL_APPS, policies=strict, all_apps=True)
        if not ok:
            uncovered.append(affected(u, f"not required to use MFA for all apps: {why}"))
            continue
        first = next((p for p in strict if ctx.coverage(u, rs, ALL_APPS, policies=[p], all_apps=True)[0]), None)
        if first is not None and first not in used:
            used.append(first)
    return used, uncovered


@check("MFA-01", reads=POLICY_DATA)
def mfa_required_for_everyone(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(PASS, f"{SD_ON}{SD_NOTE}.", [], {})
    _ = ctx.users   # not evaluated without them
    candidates = _everyone_candidates(ctx)
    judged = {p.id: _policy_faults(ctx, p) for p in candidates}
    clean = [p for p in candidates if not judged[p.id][0]]
    if clean:
        notes = sorted({n for p in clean for n in judged[p.id][1]})
        tail = f"; {'; '.join(notes)}" if notes else ", with no exclusion"
        return Outcome(PASS, f"MFA is required for all users and all cloud apps with no narrowing condition "
                             f"({', '.join(repr(p.name) for p in clean)}){tail}.", [], {"policies": len(clean)})
    roles = ctx.user_roles()
    used, uncovered = _union_policies(ctx, roles)
    described = "; ".join(f"'{p.name}': {'; '.join(judged[p.id][0])}" for p in candidates)
    if used and not uncovered:
        why = f" ({described})" if candidates else ""
        return Outcome(WARN, f"No single policy requires MFA for all users, but together "
                             f"{', '.join(repr(p.name) for p in used)} require it of every current user for all cloud "
                             f"apps{why}. A new account outside their groups would not be covered.", [],
                       {"policies": len(used), "excluded_users": 0})
    if not candidates:
        return Outcome(FAIL, "No enabled Conditional Access policy requires MFA for all users and all cloud apps, and "
                             "security defaults are off; per-user MFA (legacy), if used, is not read.",
                       uncovered if used else [], {"policies": 0})
    gaps = {a.object_id for a in uncovered}
    aff = []
    for u in ctx.enabled:
        if u.id not in gaps or ctx.excused(u):
            continue
        paths = sorted({f"'{p.name}' {h}" for p in candidates for h in ctx.exclusion_paths(p, u, roles.get(u.id, set()))})
        if paths:
            aff.append(affected(u, "excluded from " + "; ".join(paths)))
    return Outcome(FAIL, f"The policies that require MFA for all users and all cloud apps do not reach everyone: "
                         f"{described}.", aff, {"policies": len(candidates), "excluded_users": len(aff)})


def _member(u: User) -> bool:
    return u.user_type.lower() == "member"


@check("MFA-02", reads=REGISTRATION_DATA)
def members_registered_for_mfa(ctx: Context) -> Outcome:
    members = [u for u in ctx.enabled if _member(u)]
    regs = ctx.registrations()
    if not members:
        return Outcome(NOT_EVALUATED, "The tenant reported no enabled member users.", [], {}, Cause.NO_SUBJECTS)
    aff, unknown = [], []
    for u in members:
        r = regs.get(u.id)
        if r is None:
            unknown.append(affected(u, ctx.unknown_registration(u)))
        elif not (r.mfa_capable and r.mfa_registered):   # capable implies registered: either flag missing is doubt
            aff.append(affected(u, f"not MFA-capable (methods: {methods_text(r.methods)})"))
    capable = len(members) - len(aff) - len(unknown)
    pct = round(100.0 * capable / len(members), 1)
    metrics = {"registered": capable, "enabled": len(members), "pct": pct, "unknown": len(unknown)}
    tail = f"; the registration of {len(unknown):,} is unknown" if unknown else ""
    share = f"{capable:,} of {count(len(members), 'enabled member user')} ({pct}%) {verb(capable, 'is', 'are')} MFA-capable"
    if aff:
        return Outcome(FAIL, f"{share}; {len(aff):,} {verb(len(aff), 'is', 'are')} not{tail}.", aff + unknown, metrics)
    if unknown:
        return Outcome(NOT_EVALUATED, f"{share}{tail}.", unknown, metrics, Cause.NOT_COLLECTED)
    return Outcome(PASS, f"All {len(members):,} enabled member users are MFA-capable.", [], metrics)


def _unidentified(ctx: Context) -> list[str]:
    return ctx.unresolved(m.PRIVILEGED_ROLES)


@check("MFA-03", reads=POLICY_DATA + REGISTRATION_DATA)
def privileged_users_registered_and_covered(ctx: Context) -> Outcome:
    priv = ctx.privileged()
    unidentified = _unidentified(ctx)
    if not priv:
        if unidentified:
            ctx.need(None, "roleManagement/directory/roleAssignments")
        return Outcome(NOT_EVALUATED, "No privileged role holder was found among the collected role assignments.", [], {},
                       Cause.NO_SUBJECTS)
    sd = ctx.p.security_defaults is True
    if not sd:
        _ = ctx.policies   # not evaluated without them
    ctx.registrations()  # needed even if all holders are disabled
    aff, unknown = [], []
    for uid, roles in sorted(priv.items(), key=lambda kv: ctx.users_by_id[kv[0]].upn):
        u = ctx.users_by_id[uid]
        if not u.enabled:
            continue
        problems = []
        r = ctx.registration(uid)
        if r is not None and not r.mfa_registered:
            problems.append("not MFA-registered")
        all_roles = ctx.user_roles().get(uid, roles)
        if not sd:
            ok, why = ctx.coverage(u, all_roles, ALL_APPS, all_apps=True)
            if not ok:
                problems.append(f"not required to use MFA for all apps: {why}")
        if problems:
            aff.append(affected(u, f"{_roles_text(roles)}: {'; '.join(problems)}"))
        elif r is None:
            unknown.append(affected(u, f"{_roles_text(roles)}: {ctx.unknown_registration(u)}"))
    metrics = {"privileged_users": len(priv), "unidentified_assignments": len(unidentified)}
    n = len(unidentified)
    extra = (f" {count(n, 'privileged role assignment')} {verb(n, 'names', 'name')} a principal that could not be "
             f"identified and {verb(n, 'is', 'are')} not counted.") if unidentified else ""
    if aff:
        return Outcome(FAIL, f"{len(aff):,} of {count(len(priv), 'privileged user')} {verb(len(aff), 'is', 'are')} not both "
                             f"MFA-registered and required to use MFA for all apps.{extra}", aff + unknown, metrics)
    if unknown or unidentified:
        return Outcome(NOT_EVALUATED, f"No privileged user found lacks MFA, but the registration of {len(unknown):,} is "
                                      f"unknown.{extra}", unknown, metrics, Cause.NOT_COLLECTED)
    how = SD_ON if sd else "an MFA policy for all apps applies to each"
    return Outcome(PASS, f"All {len(priv):,} privileged users are MFA-registered, and {how}.", [], metrics)


def _policy_roles(p: CAPolicy) -> set[str]:
    """The privileged roles a policy takes in (every one, for an all-users policy)."""
    return set(m.PRIVILEGED_ROLES) if "All" in p.include_users else set(p.include_roles) & set(m.PRIVILEGED_ROLES)


def _pr_policy_faults(ctx: Context, p: CAPolicy) -> list[str]:
    """What keeps a phishing-resistant policy from holding its roles to it everywhere, in words."""
    faults = [w for w in ctx.narrowing(p) if not w.startswith("skips ")]
    if "All" not in p.include_apps:
        faults.append(f"covers only {', '.join(scope.app_words(a) for a in sorted(p.include_apps))}")
    if p.exclude_apps:
        faults.append("excludes " + ", ".join(scope.app_words(a) for a in sorted(p.exclude_apps)))
    ex = describe_exclusions(ctx, p)
    if ex.narrowing:
        faults.append("excludes " + ", ".join(ex.narrowing))
    return faults


def _pr_holders(ctx: Context) -> tuple[list, list]:
    """(privileged holders with no phishing-resistant method, holders whose methods are unknown)."""
    lockout, unknown = [], []
    regs = ctx.p.registrations
    for uid, roles in sorted(ctx.privileged().items(), key=lambda kv: ctx.users_by_id[kv[0]].upn):
        u = ctx.users_by_id[uid]
        if not u.enabled:
            continue
        r = regs.get(uid) if regs is not None else None
        if r is None:
            unknown.append(affected(u, f"{_roles_text(roles)}: " + (ctx.unknown_registration(u) if regs is not None
                                                                     else "registration not collected")))
        elif not set(r.methods) & m.PHISHING_RESISTANT_METHODS:
            mfa = sorted(set(r.methods) - m.NON_MFA_METHODS)
            lockout.append(affected(u, f"{_roles_text(roles)}: no phishing-resistant method registered (methods: "
                                       f"{methods_text(mfa)})"))
    return lockout, unknown


@check("MFA-04", reads=POLICY_DATA + REGISTRATION_DATA)
def privileged_users_use_phishing_resistant_mfa(ctx: Context) -> Outcome:
    pr = [p for p in ctx.policies if p.is_mfa_policy and p.grant.phishing_resistant and _policy_roles(p)]
    faults = {p.id: _pr_policy_faults(ctx, p) for p in pr}
    lockout, unknown = _pr_holders(ctx)
    metrics = {"policies": len(pr), "without_method": len(lockout), "unknown": len(unknown)}
    if not pr:
        return Outcome(WARN, "No enabled Conditional Access policy requires phishing-resistant MFA for privileged roles; "
                             "even where administrators hold phishing-resistant methods, nothing holds them to it.",
                       lockout, metrics)
    parts = []
    left = [m.PRIVILEGED_ROLES[r] for r in m.PRIVILEGED_ROLES if not any(r in _policy_roles(p) for p in pr)]
    if left:
        parts.append(f"no policy requires phishing-resistant MFA for {', '.join(left)}")
    parts += [f"'{p.name}' {'; '.join(faults[p.id])}" for p in pr if faults[p.id]]
    if lockout:
        n = len(lockout)
        parts.append(f"{count(n, 'privileged user')} {verb(n, 'has', 'have')} no phishing-resistant method registered "
                     "and will be locked out when they next sign in or activate the role")
    names = ", ".join(repr(p.name) for p in pr)
    if parts:
        text = "; ".join(parts)
        return Outcome(WARN, f"Phishing-resistant MFA is required by {names}, but {text}.", lockout + unknown, metrics)
    if unknown:
        return Outcome(NOT_EVALUATED, f"Phishing-resistant MFA is required for every privileged role by {names}, but "
                                      f"whether {count(len(unknown), 'privileged user')} can meet it is unknown.",
                       unknown, metrics, Cause.NOT_COLLECTED)
    notes = sorted({n for p in pr for n in describe_exclusions(ctx, p).notes()})
    tail = f"; {'; '.join(notes)}" if notes else ""
    return Outcome(PASS, f"Phishing-resistant MFA is required for every privileged role for all cloud apps ({names}), and "
                         f"every privileged user has such a method{tail}.", [], metrics)


LEGACY_KINDS = (("Exchange ActiveSync", frozenset({"exchangeActiveSync", "easSupported", "easUnsupported"})),
                ("other legacy clients", frozenset({"other"})))


def _legacy_blocks(ctx: Context, types: frozenset[str]) -> list[CAPolicy]:
    return [p for p in ctx.policies if p.blocks and p.state == "enabled" and not p.workload
            and not [c for c in p.conditions if c.kind != "clientAppTypes"] and not p.exclude_apps
            and "All" in p.include_apps and (types & p.client_app_types or "all" in p.client_app_types)]


@check("MFA-05", reads=POLICY_DATA)
def legacy_authentication_blocked(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(PASS, f"{SD_ON}; they block legacy authentication.", [], {})
    blocks = {label: _legacy_blocks(ctx, types) for label, types in LEGACY_KINDS}
    missing = [label for label, pols in blocks.items() if not pols]
    if missing:
        near = [f"'{p.name}' "
                f"{' and '.join(ctx.narrowing(p, except_kinds=('clientAppTypes',))) or scope.STATE_WORDS.get(p.state, 'is not enforced')}"
                for p in ctx.policies if p.blocks and not p.workload and LEGACY_CLIENT_TYPES & p.client_app_types
                and p not in [x for v in blocks.values() for x in v]]
        extra = f" ({'; '.join(near)})" if near else ""
        return Outcome(FAIL, f"No enabled, un-narrowed policy blocks {' or '.join(missing)} for all users and all apps"
                             f"{extra}; legacy protocols cannot do MFA.", [], {})
    roles = ctx.user_roles()
    aff = []
    for u in ctx.enabled:
        rs = roles.get(u.id, set())
        gaps = [label for label, pols in blocks.items() if not any(ctx.applies(p, u, rs) for p in pols)]
        if not gaps or (ctx.excused(u) and all(ctx.included(p, u, rs) for pols in blocks.values() for p in pols)):
            continue
        paths = sorted({f"'{p.name}' {h}" for pols in blocks.values() for p in pols for h in ctx.exclusion_paths(p, u, rs)})
        aff.append(affected(u, f"{' and '.join(gaps)} not blocked: " + ("excluded from " + "; ".join(paths) if paths
                                                                        else "not included in the block")))
    names = ", ".join(sorted({repr(p.name) for pols in blocks.values() for p in pols}))
    if aff:
        return Outcome(FAIL, f"Legacy authentication is blocked ({names}), but {count(len(aff), 'user')} "
                             f"{verb(len(aff), 'is', 'are')} left out of the block.", aff, {})
    notes = sorted({n for pols in blocks.values() for p in pols for n in describe_exclusions(ctx, p).notes()})
    tail = f"; {'; '.join(notes)}" if notes else ""
    return Outcome(PASS, f"Legacy authentication is blocked for all users ({names}){tail}.", [], {})


def _guest_scope(p: CAPolicy) -> m.GuestScope | None:
    """The guests a policy takes in: every guest for an all-users policy without a guest exclusion.
    An excluded guest type is left out, whichever tenants the exclusion names: a guest's home tenant
    is not in the data, so an exclusion from some tenants cannot be told apart from one from all."""
    if "All" in p.include_users:
        if p.exclude_guests is None:
            return m.ALL_GUESTS
        left = frozenset(t for t in m.GUEST_TYPES if t not in p.exclude_guests.types)
        return m.GuestScope(left, None) if p.exclude_guests.tenants is None and left else None
    inc, exc = p.include_guests, p.exclude_guests
    if inc is None or exc is None or not inc.types & exc.types:
        return inc
    left = inc.types - exc.types
    return m.GuestScope(left, inc.tenants) if left else None


@check("MFA-07", reads=POLICY_DATA)
def guests_covered_by_mfa(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(PASS, f"{SD_ON}; they apply to guests as to every account{SD_NOTE}.", [], {})
    guests = [u for u in ctx.enabled if scope.guest_kinds(u)]
    strict = [p for p in ctx.policies if p.is_mfa_policy and not p.conditions and scope.covers_all_apps(p)]
    full = [p for p in strict if (s := _guest_scope(p)) is not None and s.everyone]
    partial = [p for p in strict if (s := _guest_scope(p)) is not None and not s.everyone]
    metrics = {"guests": len(guests)}
    roles = ctx.user_roles()
    if not full and not partial:
        near = [f"'{p.name}' {' and '.join(ctx.narrowing(p)) if p.conditions or p.exclude_apps else scope.grant_words(p)}"
                for p in ctx.policies if p.state == "enabled" and not p.workload and p.grant.offers_mfa
                and _guest_scope(p) is not None and (p.conditions or p.conditional_mfa or p.exclude_apps)]
        extra = f" ({'; '.join(near)})" if near else ""
        return Outcome(FAIL, f"No enabled MFA policy without narrowing conditions covers any guest or external user type "
                             f"for all cloud apps{extra}.",
                       [affected(u, "not covered: " + ctx.coverage(u, roles.get(u.id, set()), ALL_APPS, all_apps=True)[1])
                        for u in guests], metrics)
    aff = []
    for u in guests:
        ok, why = ctx.coverage(u, roles.get(u.id, set()), ALL_APPS, policies=full + partial, all_apps=True)
        if not ok:
            aff.append(affected(u, f"possibly left out: {why}"))
    covering = ", ".join(repr(p.name) for p in full + partial)
    left = "; ".join(f"'{p.name}' leaves out {scope.guests_left_out(_guest_scope(p))}" for p in partial)
    if not full or aff:
        parts = [left] if left and not full else []
        if aff:
            n = len(aff)
            parts.append(f"{n:,} of {count(len(guests), 'guest and external user', 'guests and external users')} "
                         f"{verb(n, 'is', 'are')} not covered")
        return Outcome(WARN, f"MFA policies cover guests and external users only in part ({covering}): "
                             f"{'; '.join(parts)}.", aff, metrics)
    return Outcome(PASS, f"Guests and external users of every type and tenant are covered by an MFA policy "
                         f"({', '.join(repr(p.name) for p in full)}; {count(len(guests), 'guest account')}).", [], metrics)


def _protects_registration(p: CAPolicy) -> bool:
    """Requires MFA or a compliant device for registering security info, or blocks it outside
    trusted locations."""
    if p.state != "enabled" or p.workload or not (REGISTER_SECURITY_INFO in p.include_user_actions
                                                  or scope.covers_all_apps(p)):
        return False
    g = p.grant
    # Microsoft's template: all locations but trusted ones; nothing else may narrow it
    trusted_only = (len(p.conditions) == 1 and p.conditions[0].kind == "locations"
                    and p.conditions[0].exclude == ("AllTrusted",) and not p.conditions[0].include)
    if g.requires_mfa or (g.controls and g.controls <= {"mfa", "compliantDevice", "domainJoinedDevice"}
                          and not g.terms_of_use and not g.custom_factors and not g.unknown):
        return not p.conditions or trusted_only
    return g.blocks and trusted_only


@check("MFA-10", reads=(CA_POLICIES_DS, SECURITY_DEFAULTS, NAMED_LOCATIONS))
def security_info_registration_protected(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(WARN, f"{SD_ON}; they ask for MFA when registering security information only where Microsoft "
                             "decides, and no policy protects the registration itself.", [], {})
    pols = [p for p in ctx.policies if _protects_registration(p)]
    if not pols:
        return Outcome(WARN, "No enabled policy protects the registration of security information; an attacker holding a "
                             "password could register their own MFA method.", [], {})
    everyone = [p for p in pols if "All" in p.include_users]
    if not everyone:
        return Outcome(WARN, f"Registering security information is protected only for some users "
                             f"({', '.join(repr(p.name) for p in pols)} does not include all users).", [], {})
    roles = ctx.user_roles()
    aff = []
    for u in ctx.enabled:
        if ctx.excused(u) or any(ctx.applies(p, u, roles.get(u.id, set())) for p in everyone):
            continue
        paths = sorted({f"'{p.name}' {h}" for p in everyone for h in ctx.exclusion_paths(p, u, roles.get(u.id, set()))})
        aff.append(affected(u, "excluded from " + "; ".join(paths) if paths else "not covered"))
    if aff:
        return Outcome(WARN, f"Registering security information is protected for all users ({', '.join(repr(p.name) for p in everyone)}), "
                             f"but {count(len(aff), 'user')} {verb(len(aff), 'is', 'are')} excluded.", aff,
                       {"excluded_users": len(aff)})
    return Outcome(PASS, f"Registering security information is protected for all users by "
                         f"{', '.join(repr(p.name) for p in everyone)}.", [], {})
