"""Who and what a Conditional Access policy applies to: the engine every coverage check shares.

Pure functions over one policy and one user's facts (object id, user type, transitive groups,
roles). Group membership and roles are resolved by the caller (``Context``), so that a check that
needs them and does not have them is ``not_evaluated`` rather than wrong.

Where the data cannot say (a guest's type, a guest's home tenant) inclusion is read narrowly and
exclusion broadly, so that doubt never makes a user look covered.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable

from reportgen import model as m
from reportgen.model import CAPolicy, Condition, GuestScope, User
from reportgen.vocab import count

ALL_APPS = frozenset({"All"})
PORTAL_APPS = frozenset({m.APP_AZURE_PORTAL, "MicrosoftAdminPortals"})
ARM_APPS = frozenset({m.APP_ARM})
LEGACY_CLIENT_TYPES = frozenset({"exchangeActiveSync", "easSupported", "easUnsupported", "other"})
REGISTER_SECURITY_INFO = "urn:user:registersecurityinfo"


def _norm_app_ids(ids: Iterable[str]) -> frozenset[str]:
    return frozenset(a.lower() if len(a) == 36 else a for a in ids)


_norm_cached = functools.lru_cache(maxsize=1024)(_norm_app_ids)


def app_ids(ids: Iterable[str]) -> frozenset[str]:
    """App ids as compared: GUIDs lower-cased, names (All, Office365, ...) as written. Cached, as it
    is asked per user x policy (a posture's app sets are frozensets; anything else is not cached)."""
    return _norm_cached(ids) if isinstance(ids, frozenset) else _norm_app_ids(ids)


def covers_app(pol: CAPolicy, apps: frozenset[str] | set[str], guard: frozenset[str] = frozenset()) -> bool:
    """The policy targets one of ``apps`` (a set of ways to name the same resource) and excludes none
    of them nor of ``guard`` (apps that are part of the resource, e.g. the Azure portal app of the
    admin portals: an All-apps policy that excludes it does not cover the admin portals)."""
    if app_ids(apps | guard) & app_ids(pol.exclude_apps):
        return False
    inc = app_ids(pol.include_apps)
    return "All" in inc or bool(app_ids(apps) & inc)


def covers_all_apps(pol: CAPolicy) -> bool:
    return "All" in pol.include_apps and not pol.exclude_apps


# --------------------------------------------------------------------------- guests

def guest_kinds(u: User) -> frozenset[str]:
    """The guest/external types a user may be: a Guest is a local or a B2B collaboration guest; a
    member whose name carries #EXT# is a B2B collaboration member; anyone else is internal."""
    if u.is_guest:
        return frozenset({"internalGuest", "b2bCollaborationGuest"})
    if "#ext#" in u.upn.lower():
        return frozenset({"b2bCollaborationMember"})
    return frozenset()


def guest_included(scope: GuestScope | None, u: User) -> bool:
    kinds = guest_kinds(u)
    if scope is None or not kinds or not kinds <= scope.types:
        return False
    # a guest's home tenant is not in the data: only a scope over every tenant surely includes them
    return scope.tenants is None or kinds == {"internalGuest"}


def guest_excluded(scope: GuestScope | None, u: User) -> bool:
    return scope is not None and bool(guest_kinds(u) & scope.types)


def guest_scope_words(scope: GuestScope) -> str:
    types = ", ".join(m.GUEST_TYPE_WORDS[t] for t in m.GUEST_TYPES if t in scope.types)
    tenants = "from every external tenant" if scope.tenants is None else (
        f"from {count(len(scope.tenants), 'named external tenant')} only" if scope.tenants else "from no readable tenant")
    return f"{types} {tenants}"


def guests_left_out(scope: GuestScope | None) -> str:
    """What an inclusion leaves out of 'every guest and external user of every tenant', in words."""
    if scope is None:
        return "every guest and external user type"
    missing = [m.GUEST_TYPE_WORDS[t] for t in m.GUEST_TYPES if t not in scope.types]
    parts = []
    if missing:
        parts.append(", ".join(missing))
    if scope.tenants is not None:
        parts.append("guests from external tenants other than the " + (f"{len(scope.tenants):,} named" if scope.tenants
                                                                       else "(unreadable) named ones"))
    return "; ".join(parts)


# --------------------------------------------------------------------------- users

def included(pol: CAPolicy, u: User, groups: set[str], roles: set[str]) -> bool:
    return not pol.workload and ("All" in pol.include_users or u.id in pol.include_users
                                 or bool(groups & pol.include_groups) or bool(roles & pol.include_roles)
                                 or guest_included(pol.include_guests, u))


def excluded(pol: CAPolicy, u: User, groups: set[str], roles: set[str]) -> bool:
    return (u.id in pol.exclude_users or bool(groups & pol.exclude_groups) or bool(roles & pol.exclude_roles)
            or guest_excluded(pol.exclude_guests, u))


def applies(pol: CAPolicy, u: User, groups: set[str], roles: set[str]) -> bool:
    """The policy's user scope takes in ``u`` (workload-identity policies never take in a person)."""
    return included(pol, u, groups, roles) and not excluded(pol, u, groups, roles)


def exclusion_paths(pol: CAPolicy, u: User, groups: set[str], roles: set[str],
                    group_names: dict[str, str]) -> list[str]:
    """How ``u`` is excluded from ``pol``, in words: directly, through a group, a role, as a guest."""
    if pol.workload:
        return []
    out = []
    if u.id in pol.exclude_users:
        out.append("directly")
    for g in sorted(groups & pol.exclude_groups):
        name = group_names.get(g)
        out.append(f"through group '{name}'" if name else f"through group {g}")
    for r in sorted(roles & pol.exclude_roles):
        out.append(f"through role {m.PRIVILEGED_ROLES.get(r, r)}")
    if guest_excluded(pol.exclude_guests, u):
        out.append("as a guest or external user")
    return out


def excludes_principals(pol: CAPolicy) -> bool:
    return bool(pol.exclude_users or pol.exclude_groups or pol.exclude_roles or pol.exclude_guests)


# --------------------------------------------------------------------------- words

_CLIENT_WORDS = {"browser": "browser", "mobileAppsAndDesktopClients": "mobile app and desktop",
                 "exchangeActiveSync": "Exchange ActiveSync", "easSupported": "Exchange ActiveSync",
                 "easUnsupported": "Exchange ActiveSync", "other": "other (legacy)"}
_RISK_WORDS = {"userRisk": "user risk", "signInRisk": "sign-in risk", "insiderRisk": "insider risk",
               "servicePrincipalRisk": "service principal risk"}
_RISK_KEYS = {"userRisk": "userRiskLevels", "signInRisk": "signInRiskLevels", "insiderRisk": "insiderRiskLevels",
              "servicePrincipalRisk": "servicePrincipalRiskLevels"}
_FLOW_WORDS = {"deviceCodeFlow": "device code flow", "authenticationTransfer": "authentication transfer"}
_ALT_WORDS = {"compliantDevice": "a compliant device", "domainJoinedDevice": "a hybrid-joined device",
              "approvedApplication": "an approved client app", "compliantApplication": "an app protection policy",
              "passwordChange": "a password change", "riskRemediation": "risk remediation"}
LEGACY_MFA_TRUSTED_IPS = "00000000-0000-0000-0000-000000000000"


def location_words(loc: str, names: dict[str, str] | None) -> str:
    if loc == "AllTrusted":
        return "all trusted locations"
    if names is None:
        return f"location {loc} (named locations were not collected)"
    if loc in names:
        return f"'{names[loc]}'"
    return f"location {loc} (not among the {count(len(names), 'named location')} collected)"


def condition_words(c: Condition, names: dict[str, str] | None) -> str:
    """One narrowing condition as what the policy does ("skips sign-ins from 'Branch office'"), with
    location names rather than ids."""
    def both(only: str, skip: str) -> str:
        return " and ".join(([only] if c.include else []) + ([skip] if c.exclude else []))
    if c.kind == "locations":
        return both("applies only to sign-ins from " + ", ".join(location_words(x, names) for x in c.include),
                    "skips sign-ins from " + ", ".join(location_words(x, names) for x in c.exclude))
    if c.kind == "platforms":
        return both(f"applies only on {', '.join(c.include)}", f"skips {', '.join(c.exclude)} devices")
    if c.kind == "clientAppTypes":
        return "applies only to " + ", ".join(sorted({_CLIENT_WORDS.get(x, x) for x in c.include})) + " clients"
    if c.kind in _RISK_WORDS:
        return f"applies only at {_RISK_WORDS[c.kind]} {', '.join(c.include)} (`{_RISK_KEYS[c.kind]}`)"
    if c.kind == "devices":
        return both(f"applies only to devices matching {', '.join(repr(x) for x in c.include)}",
                    f"skips devices matching {', '.join(repr(x) for x in c.exclude)}")
    if c.kind == "authenticationFlows":
        return "applies only to " + ", ".join(_FLOW_WORDS.get(x, x) for x in c.include) + " sign-ins"
    if c.kind == "times":
        return "applies only at certain times"
    if c.kind == "applicationFilter":
        mode, rule = (tuple(c.include) + ("", ""))[:2]
        how = "skips apps" if mode == "exclude" else "applies only to apps"
        return f"{how} matching an application filter (`applications.applicationFilter`: {mode}, rule {rule})"
    if c.kind == "unrecognised":
        path, value = (tuple(c.include) + ("", ""))[:2]
        return f"is narrowed by a condition this report does not recognise: `{path}` ({value})"
    return f"is narrowed by a condition this report does not recognise: `{c.kind}`"


def narrowing_words(pol: CAPolicy, names: dict[str, str] | None, *, except_kinds: Iterable[str] = ()) -> list[str]:
    """Every narrowing condition of ``pol`` in words, and the applications it excludes."""
    skip = set(except_kinds)
    out = [condition_words(c, names) for c in pol.conditions if c.kind not in skip]
    if pol.exclude_apps:
        out.append("skips " + ", ".join(app_words(a) for a in sorted(pol.exclude_apps)))
    return out


def app_words(app: str) -> str:
    named = {"All": "all cloud apps", "Office365": "Office 365", "MicrosoftAdminPortals": "the Microsoft admin portals",
             "None": "no app"}
    if app in named:
        return named[app]
    name = m.APP_NAMES.get(app.lower())
    return name if name else f"app {app}"


def alternatives_words(pol: CAPolicy) -> list[str]:
    """The ways through an OR grant other than MFA."""
    g = pol.grant
    out = [_ALT_WORDS.get(c, f"the control '{c}'") for c in sorted(g.controls - {"mfa", "block"})]
    if g.terms_of_use:
        out.append("accepting terms of use")
    if g.custom_factors:
        out.append("a custom control")
    if g.strength is not None and not g.strength.mfa:
        out.append(f"the authentication strength '{g.strength.name}'")
    out += [f"a grant control this report does not recognise: `{x}`" for x in g.unknown]
    return out


def grant_words(pol: CAPolicy) -> str:
    """'requires MFA', or 'requires MFA or a compliant device' for a conditional MFA policy."""
    if pol.conditional_mfa:
        return "requires MFA or " + " or ".join(alternatives_words(pol))
    return "requires MFA"


STATE_WORDS = {"enabledForReportingButNotEnforced": "in report-only mode", "disabled": "switched off"}
