"""Posture -> check results. Pure functions: no network, no disk.

Each check returns (status, reason, affected, metrics). ``not_evaluated`` is returned whenever the
data a check needs was not collected — a check never passes on missing data. Titles and
severities come from the YAML catalog (config/catalogs/checks.yaml), not from here.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

from reportgen import model as m
from reportgen.evidence import DATASETS
from reportgen.model import Affected, CAPolicy, CheckResult, Posture, User

CHECK_IDS = ("MMFA-01", "MMFA-02", "MMFA-03", "MMFA-04", "MMFA-05", "MMFA-06",
             "EA-01", "EA-02", "EA-03", "EA-04",
             "MFA-01", "MFA-02", "MFA-03", "MFA-04", "MFA-05", "MFA-06", "MFA-07", "MFA-08", "MFA-09", "MFA-10",
             "LOG-01")

PASS, FAIL, WARN, EXCEPTED, NOT_EVALUATED, MANUAL = "pass", "fail", "warn", "excepted", "not_evaluated", "manual"
Outcome = tuple[str, str, list[Affected], dict[str, Any]]


@dataclass
class Inputs:
    """What a check may read besides the posture: the client's own statements."""
    emergency_accounts: list[str] = field(default_factory=list)
    phase2_postponed: bool | str | None = None
    service_account_pattern: str = r"(?i)^(svc|sa|service|automation|deploy|build|ci|terraform|pipeline|app)[-_.]"
    dormant_days: int = 90
    lookback_days: int = 30


class _Missing(Exception):
    """Raised inside a check when the data it needs was not collected."""


class Facts:
    """Derived views of a posture that several checks share, computed once."""

    def __init__(self, p: Posture, inp: Inputs):
        self.p, self.inp = p, inp
        self.users_by_id = {u.id: u for u in p.users} if p.users is not None else {}
        self.by_upn = {u.upn.lower(): u for u in p.users or []}
        self._groups_of: dict[str, set[str]] | None = None
        self._user_roles: dict[str, set[str]] | None = None   # computed once; every check asks

    # --- data presence -------------------------------------------------------------------
    def need(self, value: Any, *sources: str) -> Any:
        if value is None:
            reason = self.p.gap_reason(*sources) if sources else None
            what = ", ".join(sources) if sources else "required data"
            raise _Missing(f"{what} not collected" + (f": {reason}" if reason else ""))
        return value

    @property
    def users(self) -> list[User]:
        return self.need(self.p.users, "users")

    @property
    def enabled(self) -> list[User]:
        return [u for u in self.users if u.enabled]

    def groups_of(self, uid: str) -> set[str]:
        if self._groups_of is None:
            members = self.p.group_members
            groups_used = {g for pl in self.p.ca_policies or [] for g in pl.include_groups | pl.exclude_groups}
            if members is None:
                if groups_used or any(r.principal_type == "group" for r in self.p.role_assignments or []):
                    self.need(None, "groups/{id}/transitiveMembers")
                members = {}
            elif groups_used - members.keys():
                self.need(None, "groups/{id}/transitiveMembers")  # a policy's group whose members were not read
            inv: dict[str, set[str]] = {}
            for gid, mem in members.items():
                for x in mem:
                    inv.setdefault(x, set()).add(gid)
            self._groups_of = inv
        return self._groups_of.get(uid, set())

    def role_holders(self, kinds=("active",)) -> dict[str, set[str]]:
        """user id -> role template ids, through direct and group assignments."""
        out: dict[str, set[str]] = {}
        sources = {"active": (self.p.role_assignments, "roleManagement/directory/roleAssignments"),
                   "eligible": (self.p.eligible_assignments, "roleManagement/directory/roleEligibilitySchedules")}
        for kind in kinds:
            items, src = sources[kind]
            if kind == "eligible" and items is None and self.p.has_p2 is False:
                continue  # eligible schedules need PIM (P2); without P2 there are none to miss
            for r in self.need(items, src):
                if r.principal_type == "group":
                    mem = self.need(self.p.group_members, "groups/{id}/transitiveMembers").get(r.principal_id)
                    if mem is None:
                        self.need(None, "groups/{id}/transitiveMembers")
                    for x in mem:
                        if x in self.users_by_id:
                            out.setdefault(x, set()).add(r.role_id)
                elif r.principal_id in self.users_by_id:
                    out.setdefault(r.principal_id, set()).add(r.role_id)
        return out

    def privileged(self) -> dict[str, set[str]]:
        holders = self.role_holders(("active", "eligible"))
        return {uid: {r for r in roles if r in m.PRIVILEGED_ROLES} for uid, roles in holders.items()
                if roles & m.PRIVILEGED_ROLES.keys()}

    @property
    def policies(self) -> list[CAPolicy]:
        return self.need(self.p.ca_policies, "identity/conditionalAccess/policies")

    # --- policy applicability -------------------------------------------------------------
    def applies(self, pol: CAPolicy, u: User, roles: set[str]) -> bool:
        guest = u.user_type.lower() == "guest"
        groups = self.groups_of(u.id) if (pol.include_groups or pol.exclude_groups) else set()
        included = ("All" in pol.include_users or u.id in pol.include_users or bool(groups & pol.include_groups)
                    or bool(roles & pol.include_roles) or (guest and pol.include_guests))
        excluded = (u.id in pol.exclude_users or bool(groups & pol.exclude_groups)
                    or bool(roles & pol.exclude_roles) or (guest and pol.exclude_guests))
        return included and not excluded

    def exclusion_paths(self, pol: CAPolicy, u: User, roles: set[str]) -> list[str]:
        out = []
        if u.id in pol.exclude_users:
            out.append("directly")
        for g in sorted(self.groups_of(u.id) & pol.exclude_groups):
            name = self.p.group_names.get(g)
            out.append(f"through group '{name}' ({g})" if name else f"through group {g}")
        for r in sorted(roles & pol.exclude_roles):
            out.append(f"through role {m.PRIVILEGED_ROLES.get(r, r)}")
        if u.user_type.lower() == "guest" and pol.exclude_guests:
            out.append("as a guest")
        return out

    def user_roles(self) -> dict[str, set[str]]:
        """Roles for policy applicability. Unknown roles only narrow inclusions (never a pass), but they
        would hide an exclusion by role: then the data is needed."""
        if self._user_roles is None:
            try:
                self._user_roles = self.role_holders(("active", "eligible"))
            except _Missing:
                if any(pl.exclude_roles for pl in self.p.ca_policies or []):
                    raise
                self._user_roles = {}
        return self._user_roles

    def covered(self, u: User, roles: set[str], apps: set[str], client_type: str | None = None,
                policies: list[CAPolicy] | None = None) -> bool:
        """Some enabled MFA policy applies to the user for one of ``apps``."""
        for pol in policies if policies is not None else self.policies:
            if not pol.is_mfa_policy or pol.has_conditions:
                continue
            if not covers_app(pol, apps):
                continue
            if client_type and not ({"all", client_type} & pol.client_app_types):
                continue
            if self.applies(pol, u, roles):
                return True
        return False

    def emergency(self) -> list[tuple[str, User | None]]:
        out, seen = [], set()
        for name in self.inp.emergency_accounts:
            u = self.by_upn.get(name.lower()) or self.users_by_id.get(name)
            key = u.id if u is not None else name.lower()
            if key not in seen:  # the same account listed twice (UPN and object id, or another case) is one
                seen.add(key)
                out.append((name, u))
        return out

    def registration(self, uid: str) -> m.Registration | None:
        return self.need(self.p.registrations, "reports/authenticationMethods/userRegistrationDetails",
                         "users/{id}/authentication/methods").get(uid)


def _norm_app_ids(ids) -> frozenset[str]:
    return frozenset(a.lower() if len(a) == 36 else a for a in ids)


_norm_app_ids_cached = functools.lru_cache(maxsize=1024)(_norm_app_ids)


def _app_ids(ids) -> frozenset[str]:
    """App ids as compared: GUIDs lower-cased, names (All, Office365, ...) as written. Cached, as it
    is asked per user x policy (a posture's app sets are frozensets; anything else is not cached)."""
    return _norm_app_ids_cached(ids) if isinstance(ids, frozenset) else _norm_app_ids(ids)


def covers_app(pol: CAPolicy, apps: set[str]) -> bool:
    inc = _app_ids(pol.include_apps)
    exc = _app_ids(pol.exclude_apps)
    if apps & exc:
        return False
    return "All" in inc or bool(apps & inc)


NON_INTERACTIVE_SIGN_INS = DATASETS["signInsNonInteractive"]
ALL_APPS = {"All"}
PORTAL_APPS = {m.APP_AZURE_PORTAL, "MicrosoftAdminPortals"}
ARM_APPS = {m.APP_ARM}


def _aff(u: User | None, detail: str, upn: str = "") -> Affected:
    if u is None:
        return Affected(upn=upn, display_name="", detail=detail, object_id="")
    return Affected(upn=u.upn, display_name=u.display_name, detail=detail, object_id=u.id)


def _iso(dt) -> str:
    return m.iso_z(dt) if dt else "never"


def _methods_text(methods) -> str:
    return ", ".join(methods) if methods else "none"


# ---------------------------------------------------------------------------------------------
# Microsoft mandatory MFA
# ---------------------------------------------------------------------------------------------

def mmfa_01(f: Facts) -> Outcome:
    p = f.p
    if p.security_defaults is True:
        how = "security defaults"
        uncovered: list[User] = []
    else:
        f.policies
        roles = f.user_roles()
        uncovered = [u for u in f.enabled if not f.covered(u, roles.get(u.id, set()), ALL_APPS | PORTAL_APPS)]
        how = "Conditional Access"
    if uncovered:
        return (FAIL, f"{len(uncovered)} enabled user(s) can reach the Azure, Entra and Intune admin portals "
                      "without a Conditional Access policy requiring MFA.",
                [_aff(u, "no MFA policy covers the admin portals") for u in uncovered], {"uncovered_users": len(uncovered)})
    sign_ins = f.need(p.sign_ins, "auditLogs/signIns")
    single = [s for s in sign_ins if s.app_id in m.PHASE1_APPS and s.success
              and s.requirement == "singleFactorAuthentication"]
    if single:
        by_user: dict[str, list] = {}
        for s in single:
            by_user.setdefault(s.upn, []).append(s)
        aff = [_aff(f.by_upn.get(upn.lower()), f"{len(v)} single-factor sign-in(s) to {v[0].app_name or v[0].app_id}, "
                    f"last {_iso(max(x.created for x in v))}", upn) for upn, v in sorted(by_user.items())]
        return (FAIL, f"MFA is required by {how}, yet {len(single)} successful single-factor sign-in(s) to the admin "
                      "portals occurred in the lookback window.", aff, {"single_factor_sign_ins": len(single)})
    return (PASS, f"Every user must complete MFA for the admin portals ({how}), and no single-factor admin-portal "
                  "sign-in occurred in the lookback window.", [], {"single_factor_sign_ins": 0})


def _arm_uncovered(f: Facts) -> list[User]:
    roles = f.user_roles()
    return [u for u in f.enabled
            if not f.covered(u, roles.get(u.id, set()), ALL_APPS | ARM_APPS, "mobileAppsAndDesktopClients")]


def mmfa_02(f: Facts) -> Outcome:
    if f.p.security_defaults is True:
        return (PASS, "Security defaults already require MFA for Azure management: the phase 2 roll-out changes nothing.", [], {})
    f.policies
    uncovered = _arm_uncovered(f)
    metrics = {"uncovered_users": len(uncovered), "enabled_users": len(f.enabled)}
    if not uncovered:
        return (PASS, "Conditional Access already requires MFA for Azure Resource Manager for every enabled user: "
                      "the phase 2 roll-out changes nothing.", [], metrics)
    return (FAIL, f"{len(uncovered)} of {len(f.enabled)} enabled users are not yet required to use MFA for Azure "
                  "Resource Manager (CLI, PowerShell, REST, IaC); phase 2 enforcement will change their experience.",
            [_aff(u, "no MFA policy covers Azure Resource Manager") for u in uncovered], metrics)


def _phase2_single(f: Facts) -> dict[str, list[m.SignIn]]:
    out: dict[str, list[m.SignIn]] = {}
    for s in f.need(f.p.sign_ins, "auditLogs/signIns"):
        if s.app_id in m.PHASE2_APPS and s.success and s.requirement == "singleFactorAuthentication":
            out.setdefault(s.upn, []).append(s)
    return out


def mmfa_03(f: Facts) -> Outcome:
    single = _phase2_single(f)
    phase2 = [s for s in f.p.sign_ins if s.app_id in m.PHASE2_APPS and s.success]
    unknown = [s for s in phase2 if s.requirement is None]
    metrics = {"phase2_sign_ins": len(phase2), "single_factor_users": len(single),
               "single_factor_sign_ins": sum(len(v) for v in single.values())}
    if single:
        aff = []
        for upn, items in sorted(single.items()):
            apps: dict[str, list] = {}
            for s in items:
                apps.setdefault(m.PHASE2_APPS[s.app_id], []).append(s)
            detail = "; ".join(f"{a}: {len(v)} single-factor sign-in(s), last {_iso(max(x.created for x in v))}"
                               for a, v in sorted(apps.items()))
            aff.append(_aff(f.by_upn.get(upn.lower()), detail, upn))
        return (FAIL, f"{len(single)} user(s) signed in to Azure CLI, Azure PowerShell or the Azure mobile app without "
                      "MFA; phase 2 enforcement will block them.", aff, metrics)
    if unknown:
        return (WARN, f"{len(unknown)} sign-in(s) to the phase 2 apps do not state whether MFA was used.", [], metrics)
    return (PASS, f"All {len(phase2)} successful sign-ins to Azure CLI, PowerShell and the mobile app in the lookback "
                  "window used MFA.", [], metrics)


def mmfa_04(f: Facts) -> Outcome:
    pattern = re.compile(f.inp.service_account_pattern)
    found: dict[str, tuple[User | None, list[str]]] = {}
    for u in f.enabled:
        if u.user_type.lower() != "guest" and (pattern.search(u.upn.split("@")[0]) or pattern.search(u.display_name)):
            found.setdefault(u.upn, (u, []))[1].append("name matches the service-account pattern")
    # scripted use shows in the non-interactive log: without it, a clean result proves nothing
    missing = ("auditLogs/signIns" if f.p.sign_ins is None else
               NON_INTERACTIVE_SIGN_INS if f.p.gap_reason(NON_INTERACTIVE_SIGN_INS) is not None else None)
    if missing:
        if found:
            return (FAIL, f"{len(found)} user account(s) look like automation; sign-in logs were not collected, so "
                          "scripted CLI/PowerShell use could not be measured.",
                    [_aff(u, "; ".join(r), upn) for upn, (u, r) in sorted(found.items())], {"accounts": len(found)})
        f.need(None, missing)
    counts: dict[str, int] = {}
    for s in f.p.sign_ins:
        if s.app_id in (m.APP_AZURE_CLI, m.APP_AZURE_POWERSHELL) and not s.interactive:
            counts[s.upn] = counts.get(s.upn, 0) + 1
    for upn, n in counts.items():
        u = f.by_upn.get(upn.lower())
        found.setdefault(upn, (u, []))[1].append(f"{n} non-interactive Azure CLI/PowerShell sign-in(s)")
    if found:
        return (FAIL, f"{len(found)} user account(s) run Azure automation; move it to a service principal or managed "
                      "identity before phase 2 enforcement breaks it.",
                [_aff(u, "; ".join(r), upn) for upn, (u, r) in sorted(found.items())], {"accounts": len(found)})
    return (PASS, "No user account shows scripted Azure CLI or PowerShell use.", [], {"accounts": 0})


def mmfa_05(f: Facts) -> Outcome:
    holders = f.role_holders(("active",))
    gas = [f.users_by_id[uid] for uid, roles in holders.items() if m.GLOBAL_ADMIN in roles]
    if not gas:
        return (NOT_EVALUATED, "No Global Administrator was found among the collected role assignments.", [], {})
    without = [u for u in gas if not u.mail and not u.other_mails]
    metrics = {"global_admins": len(gas), "without_email": len(without)}
    if without:
        return (FAIL, f"{len(without)} of {len(gas)} Global Administrators have no email address; Microsoft sends "
                      "enforcement notices to Global Administrators by email.",
                [_aff(u, "no mail and no otherMails") for u in sorted(without, key=lambda u: u.upn)], metrics)
    return (PASS, f"All {len(gas)} Global Administrators have an email address for Microsoft's enforcement notices.", [], metrics)


def mmfa_06(f: Facts) -> Outcome:
    v = f.inp.phase2_postponed
    if v is True:
        return (FAIL, "The client attests that phase 2 enforcement was postponed; Microsoft strongly discourages it.", [], {})
    if v is False:
        return (PASS, "The client attests that phase 2 enforcement was not postponed.", [], {})
    return (MANUAL, "Postponement is an Azure Resource Manager setting that Graph cannot read; the client has not "
                    "attested whether phase 2 was postponed.", [], {})


# ---------------------------------------------------------------------------------------------
# Emergency access
# ---------------------------------------------------------------------------------------------

def ea_01(f: Facts) -> Outcome:
    accounts = f.emergency()
    if not accounts:
        return (FAIL, "No emergency access accounts are designated in the configuration.", [], {"designated": 0, "qualified": 0})
    f.users
    holders = f.role_holders(("active",))
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
            bad.append(_aff(u, "; ".join(problems), name))
        else:
            ok += 1
    metrics = {"designated": len(accounts), "qualified": ok}
    if ok < 2:
        return (FAIL, f"{ok} of {len(accounts)} designated emergency access accounts exist, are enabled and hold an "
                      "active Global Administrator assignment; at least two are needed.", bad, metrics)
    if bad:
        return (WARN, f"{ok} emergency access accounts qualify, but {len(bad)} designated account(s) do not.", bad, metrics)
    return (PASS, f"{ok} emergency access accounts exist, are enabled and hold an active Global Administrator assignment.",
            [], metrics)


def _ea_existing(f: Facts) -> list[User]:
    f.users
    existing = [u for _, u in f.emergency() if u is not None]
    if not existing:
        raise _Missing("no designated emergency access account exists in the tenant (see EA-01)")
    return existing


def _ea_methods(f: Facts, check: Callable[[User, tuple[str, ...]], str | None],
                warn_check: Callable[[User, tuple[str, ...]], str | None] | None = None):
    fails, warns, unknown = [], [], []
    for u in _ea_existing(f):
        reg = f.registration(u.id)
        if reg is None:
            unknown.append(_aff(u, "no registration record (disabled accounts are not reported)"))
            continue
        d = check(u, reg.methods)
        if d:
            fails.append(_aff(u, d))
        elif warn_check and (w := warn_check(u, reg.methods)):
            warns.append(_aff(u, w))
    return fails, warns, unknown


def ea_02(f: Facts) -> Outcome:
    fails, _, unknown = _ea_methods(
        f, lambda u, ms: None if set(ms) & m.PHISHING_RESISTANT_METHODS else f"methods: {_methods_text(ms)}")
    if fails:
        return (FAIL, f"{len(fails)} emergency access account(s) have no FIDO2 key, passkey, Windows Hello or "
                      "certificate-based authentication registered.", fails + unknown, {})
    if unknown:
        return (NOT_EVALUATED, "Registration details were not reported for some emergency access accounts.", unknown, {})
    return (PASS, "Every emergency access account has a phishing-resistant method registered.", [], {})


def ea_03(f: Facts) -> Outcome:
    def only_soft(u, ms):
        soft = sorted(set(ms) & m.SOFT_OR_PHONE_METHODS)
        return f"relies on {', '.join(soft)} only" if soft and not set(ms) & m.PHISHING_RESISTANT_METHODS else None

    def beside(u, ms):
        soft = sorted(set(ms) & m.SOFT_OR_PHONE_METHODS)
        return f"{', '.join(soft)} registered beside a phishing-resistant method" if soft else None
    fails, warns, unknown = _ea_methods(f, only_soft, beside)
    if fails:
        return (FAIL, f"{len(fails)} emergency access account(s) rely on a phone or soft token that one person holds.",
                fails + warns + unknown, {})
    if unknown:
        return (NOT_EVALUATED, "Registration details were not reported for some emergency access accounts.", unknown, {})
    if warns:
        return (WARN, f"{len(warns)} emergency access account(s) also hold a phone or soft-token method.", warns, {})
    return (PASS, "No emergency access account holds a phone, SMS, voice or soft-token method.", [], {})


def ea_04(f: Facts) -> Outcome:
    existing = _ea_existing(f)
    if f.p.ca_policies is None and f.p.security_defaults is True:
        return (PASS, "Security defaults apply to every account and allow no exclusions.", [], {})
    policies = [p for p in f.policies if p.is_mfa_policy]  # "MFA policy" is an enabled one (checks.md)
    roles = f.user_roles()
    aff = []
    for u in existing:
        paths = []
        for pol in policies:
            for how in f.exclusion_paths(pol, u, roles.get(u.id, set())):
                paths.append(f"excluded from '{pol.name}' {how}")
        if paths:
            aff.append(_aff(u, "; ".join(paths)))
    if aff:
        return (FAIL, f"{len(aff)} emergency access account(s) are excluded from MFA policies; Microsoft now advises "
                      "against excluding them, and mandatory MFA applies to them anyway.", aff, {})
    return (PASS, "No emergency access account is excluded from an MFA policy.", [], {})


# ---------------------------------------------------------------------------------------------
# MFA coverage and hygiene
# ---------------------------------------------------------------------------------------------

def _everyone_policies(f: Facts) -> list[CAPolicy]:
    return [p for p in f.policies if p.is_mfa_policy and not p.has_conditions and "All" in p.include_users
            and "All" in p.include_apps and not p.exclude_apps and "all" in p.client_app_types]


def mfa_01(f: Facts) -> Outcome:
    if f.p.security_defaults is True:
        return (PASS, "Security defaults require MFA for every user.", [], {})
    everyone = _everyone_policies(f)
    if not everyone:
        return (FAIL, "No enabled Conditional Access policy requires MFA for all users and all cloud apps, and "
                      "security defaults are off.", [], {"policies": 0})
    ea = {u.id for _, u in f.emergency() if u}
    roles = f.user_roles()
    aff = []
    for u in f.enabled:
        if u.id in ea or f.covered(u, roles.get(u.id, set()), ALL_APPS, policies=everyone):
            continue
        paths = sorted({f"'{p.name}' {h}" for p in everyone for h in f.exclusion_paths(p, u, roles.get(u.id, set()))})
        aff.append(_aff(u, "excluded from " + "; ".join(paths) if paths else "not covered"))
    metrics = {"policies": len(everyone), "excluded_users": len(aff)}
    if aff:
        return (FAIL, f"{len(aff)} user(s) other than emergency access accounts are excluded from the MFA policy "
                      "for all users.", aff, metrics)
    return (PASS, f"MFA is required for all users and all cloud apps ({', '.join(p.name for p in everyone)}); only "
                  "emergency access accounts are excluded, if any.", [], metrics)


def mfa_02(f: Facts) -> Outcome:
    members = [u for u in f.enabled if u.user_type.lower() == "member"]
    regs = f.need(f.p.registrations, "reports/authenticationMethods/userRegistrationDetails")
    if not members:
        return (NOT_EVALUATED, "The tenant reported no enabled member users.", [], {})
    aff = []
    for u in members:
        r = regs.get(u.id)
        if r is None:
            aff.append(_aff(u, "no registration record"))
        elif not r.mfa_registered:
            aff.append(_aff(u, f"not MFA-registered (methods: {_methods_text(r.methods)})"))
    reg = len(members) - len(aff)
    pct = round(100.0 * reg / len(members), 1)
    metrics = {"registered": reg, "enabled": len(members), "pct": pct}
    if aff:
        return (FAIL, f"{reg} of {len(members)} enabled member users ({pct}%) are registered for MFA; {len(aff)} are not.",
                aff, metrics)
    return (PASS, f"All {len(members)} enabled member users are registered for MFA.", [], metrics)


def mfa_03(f: Facts) -> Outcome:
    priv = f.privileged()
    if not priv:
        return (NOT_EVALUATED, "No privileged role holder was found among the collected role assignments.", [], {})
    sd = f.p.security_defaults is True
    if not sd:
        f.policies
    f.need(f.p.registrations, "reports/authenticationMethods/userRegistrationDetails")  # needed even if all holders are disabled
    aff = []
    for uid, roles in sorted(priv.items(), key=lambda kv: f.users_by_id[kv[0]].upn):
        u = f.users_by_id[uid]
        if not u.enabled:
            continue
        problems = []
        r = f.registration(uid)
        if r is None or not r.mfa_registered:
            problems.append("not MFA-registered")
        all_roles = f.user_roles().get(uid, roles)
        if not sd and not f.covered(u, all_roles, ALL_APPS | PORTAL_APPS):
            problems.append("not covered by an MFA policy")
        if problems:
            aff.append(_aff(u, f"{', '.join(sorted(m.PRIVILEGED_ROLES[x] for x in roles))}: {'; '.join(problems)}"))
    metrics = {"privileged_users": len(priv)}
    if aff:
        return (FAIL, f"{len(aff)} of {len(priv)} privileged users are not both MFA-registered and required to use MFA.",
                aff, metrics)
    return (PASS, f"All {len(priv)} privileged users are MFA-registered and required to use MFA.", [], metrics)


def mfa_04(f: Facts) -> Outcome:
    priv = f.privileged()
    if not priv:
        return (NOT_EVALUATED, "No privileged role holder was found among the collected role assignments.", [], {})
    pr_policies = [p for p in (f.p.ca_policies or []) if p.state == "enabled" and not p.has_conditions
                   and p.auth_strength_id == m.STRENGTH_PHISHING_RESISTANT and "All" in p.include_apps]
    if f.p.ca_policies is None and f.p.registrations is None:
        f.need(None, "identity/conditionalAccess/policies")
    aff = []
    for uid, roles in priv.items():
        u = f.users_by_id[uid]
        if not u.enabled:
            continue
        if pr_policies and any(f.applies(p, u, f.user_roles().get(uid, roles)) for p in pr_policies):
            continue
        r = f.registration(uid) if f.p.registrations is not None else None
        mfa_methods = set(r.methods) - m.NON_MFA_METHODS if r else set()
        if r is not None and mfa_methods and mfa_methods <= m.PHISHING_RESISTANT_METHODS:
            continue
        aff.append(_aff(u, f"{', '.join(sorted(m.PRIVILEGED_ROLES[x] for x in roles))}; methods: "
                           f"{_methods_text(sorted(mfa_methods)) if r else 'unknown'}"))
    if aff:
        if f.p.registrations is None:
            f.need(None, "reports/authenticationMethods/userRegistrationDetails")
        return (WARN, f"{len(aff)} privileged user(s) can still sign in with MFA that is not phishing-resistant.",
                sorted(aff, key=lambda a: a.upn), {"privileged_users": len(priv)})
    return (PASS, "Privileged users are held to phishing-resistant MFA.", [], {"privileged_users": len(priv)})


def mfa_05(f: Facts) -> Outcome:
    if f.p.security_defaults is True:
        return (PASS, "Security defaults block legacy authentication.", [], {})
    legacy = {"exchangeActiveSync", "other"}
    blocks = [p for p in f.policies if p.blocks and p.state == "enabled" and not p.has_conditions
              and (legacy <= p.client_app_types or "all" in p.client_app_types) and "All" in p.include_apps]
    report_only = [p.name for p in f.policies if p.blocks and p.state != "enabled" and legacy & p.client_app_types]
    if not blocks:
        extra = f" ({', '.join(report_only)} is not enforced)" if report_only else ""
        return (FAIL, f"No enabled policy blocks legacy authentication (Exchange ActiveSync, other clients){extra}; "
                      "legacy protocols cannot do MFA.", [], {})
    ea = {u.id for _, u in f.emergency() if u}
    roles = f.user_roles()
    aff = []
    for u in f.enabled:
        if u.id in ea:
            continue
        if not any(f.applies(p, u, roles.get(u.id, set())) for p in blocks):
            aff.append(_aff(u, "excluded from the legacy-authentication block"))
    if aff:
        return (FAIL, f"Legacy authentication is blocked, but {len(aff)} user(s) are excluded from the block.", aff, {})
    return (PASS, f"Legacy authentication is blocked for all users ({', '.join(p.name for p in blocks)}).", [], {})


def mfa_06(f: Facts) -> Outcome:
    regs = f.need(f.p.registrations, "reports/authenticationMethods/userRegistrationDetails")
    aff, unknown = [], []
    for u in f.enabled:
        r = regs.get(u.id)
        if r is None:
            unknown.append(_aff(u, "authentication methods not reported"))
            continue
        mfa = set(r.methods) - {"temporaryAccessPass", "securityQuestion", "password"}
        if mfa and mfa <= m.WEAK_METHODS:
            aff.append(_aff(u, f"only {', '.join(sorted(mfa))}"))
    if aff:
        return (FAIL, f"{len(aff)} user(s) rely only on SMS, voice or email for MFA.", aff, {"weak_only_users": len(aff)})
    if unknown:
        return (NOT_EVALUATED, f"The authentication methods of {len(unknown)} enabled user(s) were not reported.",
                unknown, {"unknown_users": len(unknown)})
    policy = f.need(f.p.methods_policy, "policies/authenticationMethodsPolicy")
    weak_on = [k for k in ("sms", "voice") if policy.get(k) == "enabled"]
    if weak_on:
        return (WARN, f"No user relies only on weak methods, but the authentication methods policy still enables "
                      f"{' and '.join(x.upper() if x == 'sms' else x for x in weak_on)}.", [], {"weak_only_users": 0})
    return (PASS, "No user relies only on SMS, voice or email, and SMS and voice are disabled.", [], {"weak_only_users": 0})


def mfa_07(f: Facts) -> Outcome:
    if f.p.security_defaults is True:
        return (PASS, "Security defaults require MFA for guests as for everyone.", [], {})
    guest_policies = [p for p in f.policies if p.is_mfa_policy and not p.has_conditions and not p.exclude_guests
                      and ("All" in p.include_users or p.include_guests) and covers_app(p, ALL_APPS | {"Office365"})]
    guests = [u for u in f.enabled if u.user_type.lower() == "guest"]
    if not guest_policies:
        return (FAIL, "No enabled MFA policy covers guests and external users.",
                [_aff(u, "guest not covered by an MFA policy") for u in guests], {"guests": len(guests)})
    roles = f.user_roles()
    aff = [_aff(u, "guest excluded from MFA policies") for u in guests
           if not any(f.applies(p, u, roles.get(u.id, set())) for p in guest_policies)]
    if aff:
        return (FAIL, f"{len(aff)} of {len(guests)} guests are excluded from the MFA policies that cover guests.", aff,
                {"guests": len(guests)})
    return (PASS, f"Guests and external users are covered by an MFA policy ({len(guests)} guest account(s)).", [],
            {"guests": len(guests)})


def mfa_08(f: Facts) -> Outcome:
    if f.p.ca_policies is None and f.p.security_defaults is True:
        return (PASS, "Security defaults are on; there are no Conditional Access policies to leave unenforced.", [], {})
    pols = f.policies
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
        return (WARN, f"{len(lone)} MFA polic{'y is' if len(lone) == 1 else 'ies are'} not enforced and no enabled "
                      f"policy covers the same users and apps: {', '.join(repr(p.name) for p in lone)}.",
                [Affected(upn=p.name, display_name=p.name, detail=f"policy state {p.state}") for p in lone], {"policies": len(lone)})
    return (PASS, "Every MFA policy is enforced, or an enabled policy covers the same users and apps.", [], {"policies": 0})


def mfa_09(f: Facts) -> Outcome:
    users = f.enabled
    if any(not u.sign_in_activity_known for u in f.users):
        f.need(None, "users.signInActivity")
    regs = f.need(f.p.registrations, "reports/authenticationMethods/userRegistrationDetails")
    cutoff = f.p.collected_at - timedelta(days=f.inp.dormant_days)
    aff = []
    for u in users:
        r = regs.get(u.id)
        if r is not None and r.mfa_registered:
            continue
        if u.last_sign_in is None or u.last_sign_in < cutoff:
            aff.append(_aff(u, f"not MFA-registered; last sign-in {_iso(u.last_sign_in)}"))
    if aff:
        return (FAIL, f"{len(aff)} enabled account(s) have no MFA registered and no sign-in for {f.inp.dormant_days} "
                      "days or more: anyone holding the password could register their own MFA.", aff, {"accounts": len(aff)})
    return (PASS, f"No enabled account is both unregistered for MFA and dormant for {f.inp.dormant_days} days.", [],
            {"accounts": 0})


def mfa_10(f: Facts) -> Outcome:
    if f.p.security_defaults is True:
        return (PASS, "Security defaults protect security-information registration.", [], {})
    pols = [p for p in f.policies if p.state == "enabled" and "urn:user:registersecurityinfo" in p.include_user_actions]
    if pols:
        return (PASS, f"Registering security information is protected by {', '.join(repr(p.name) for p in pols)}.", [], {})
    return (WARN, "No enabled policy protects the registration of security information; an attacker holding a "
                  "password could register their own MFA method.", [], {})


def log_01(f: Facts) -> Outcome:
    days = (f.p.window_end - f.p.window_start).days
    if f.p.sign_ins is not None and f.p.window_end - f.p.window_start < timedelta(days=f.inp.lookback_days, hours=-1):
        return (NOT_EVALUATED, f"Sign-in logs were collected for {days} day(s) only, less than the {f.inp.lookback_days}-day "
                               "lookback window.", [], {"window_days": days})
    if f.p.sign_ins is not None:
        return (PASS, f"Sign-in logs were read for the {days}-day lookback window ({len(f.p.sign_ins)} relevant sign-ins).",
                [], {"window_days": days, "sign_ins": len(f.p.sign_ins)})
    if f.p.has_p1 is False:
        return (FAIL, "Without Entra ID P1 the sign-in logs cannot be read through Graph and are kept for 7 days only, "
                      "too short to evidence monitoring under 16 CFR 314.4(c)(8).", [], {"window_days": 0})
    f.need(None, "auditLogs/signIns")
    raise AssertionError("unreachable")


CHECKS: dict[str, Callable[[Facts], Outcome]] = {
    "MMFA-01": mmfa_01, "MMFA-02": mmfa_02, "MMFA-03": mmfa_03, "MMFA-04": mmfa_04, "MMFA-05": mmfa_05,
    "MMFA-06": mmfa_06, "EA-01": ea_01, "EA-02": ea_02, "EA-03": ea_03, "EA-04": ea_04,
    "MFA-01": mfa_01, "MFA-02": mfa_02, "MFA-03": mfa_03, "MFA-04": mfa_04, "MFA-05": mfa_05, "MFA-06": mfa_06,
    "MFA-07": mfa_07, "MFA-08": mfa_08, "MFA-09": mfa_09, "MFA-10": mfa_10, "LOG-01": log_01,
}
assert tuple(CHECKS) == CHECK_IDS


def run_checks(p: Posture, inp: Inputs, meta: dict[str, dict[str, Any]],
               facts: Facts | None = None) -> list[CheckResult]:
    """``facts``: pass the Facts the report tables will use, so role and group maps are built once."""
    facts = facts or Facts(p, inp)
    out = []
    for cid, fn in CHECKS.items():
        try:
            status, reason, affected, metrics = fn(facts)
        except _Missing as e:
            status, reason, affected, metrics = NOT_EVALUATED, f"Not evaluated: {e}.", [], {}
        md = meta.get(cid, {})
        out.append(CheckResult(id=cid, title=md.get("title", cid), severity=md.get("severity", "medium"),
                               status=status, reason=reason, affected=affected, metrics=metrics))
    return out


def apply_exceptions(results: list[CheckResult], exceptions: list[Any], on: date) -> dict[str, bool]:
    """Mark failing subjects covered by an exception in force on ``on``; returns exception id -> applied."""
    applied = {e.id: False for e in exceptions}
    for r in results:
        if r.status != FAIL or not r.affected:
            continue
        for a in r.affected:
            for e in exceptions:
                if e.check == r.id and e.state_on(on) == "in_force" and \
                        e.subject.lower() in (a.upn.lower(), a.object_id.lower()):
                    a.exception = e.id
                    applied[e.id] = True
                    break
        covered = sum(1 for a in r.affected if a.exception)
        if covered == len(r.affected):
            r.status = EXCEPTED
            r.reason += " Every affected subject is covered by an exception approved by the Qualified Individual."
        elif covered:
            r.reason += f" {covered} of {len(r.affected)} affected subjects are covered by an approved exception."
    return applied


def readiness(results: list[CheckResult], p: Posture) -> dict[str, str]:
    st = {r.id: r.status for r in results}
    phase1 = {PASS: "ready", FAIL: "not_ready", WARN: "at_risk", EXCEPTED: "at_risk"}.get(st["MMFA-01"], "unknown")
    if st["MMFA-02"] == PASS:
        phase2 = "ready"
    elif p.sign_ins is None or st["MMFA-03"] == NOT_EVALUATED:
        phase2 = "unknown"
    elif st["MMFA-03"] in (FAIL, EXCEPTED):
        phase2 = "not_ready"
    elif st["MMFA-03"] == PASS and st["MMFA-04"] == PASS and _phase2_users_capable(p):
        phase2 = "ready"
    else:
        phase2 = "at_risk"
    return {"mandatory_mfa_phase1": phase1, "mandatory_mfa_phase2": phase2}


def _phase2_users_capable(p: Posture) -> bool:
    if p.registrations is None or p.sign_ins is None:
        return False
    ids = {s.user_id for s in p.sign_ins if s.app_id in m.PHASE2_APPS}
    return all(p.registrations.get(i) is not None and p.registrations[i].mfa_capable for i in ids)
