"""Conditional Access policies as Graph returns them -> ``model.CAPolicy``, read closed-world.

Every property and enumeration member is looked up in ``closedworld`` (one table): a condition is
*not narrowing* only when it is absent, null or empty, or holds a value that table names as not
narrowing. Anything else narrows the policy, including a property or value this code does not
know, and is named in the reason in words. A grant control this code does not know is not MFA.
"""
from __future__ import annotations

import re
from typing import Any

from reportgen import closedworld as cw
from reportgen import model as m
from reportgen.facts import FACTS, combination
from reportgen.model import CAPolicy, Condition, Grant, GuestScope, Strength

POLICY_STATES = frozenset({"enabled", "disabled", "enabledForReportingButNotEnforced"})
APP_NAMES = frozenset({"All", "None", "Office365", "MicrosoftAdminPortals"})
RISK_CONDITIONS = {"userRiskLevels": "userRisk", "signInRiskLevels": "signInRisk", "insiderRiskLevels": "insiderRisk",
                   "servicePrincipalRiskLevels": "servicePrincipalRisk"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DS = "conditionalAccessPolicies"


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ("" if v is None else str(v))


def _strs(v: Any) -> frozenset[str]:
    return frozenset(x for x in v if isinstance(x, str)) if isinstance(v, list) else frozenset()


def _multi(v: Any) -> tuple[str, ...]:
    """A Graph multi-valued enum: a list, or one string of comma-separated values."""
    if isinstance(v, str):
        return tuple(x.strip() for x in v.split(",") if x.strip())
    return tuple(sorted(_strs(v)))


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _type_name(o: dict[str, Any]) -> str:
    """The short @odata.type of an object (Microsoft's examples sometimes spell the key "odata.type")."""
    t = o.get("@odata.type", o.get("odata.type"))
    return _s(t).rsplit(".", 1)[-1]


def _narrowed(kind: str, section: dict[str, Any], name: str, everything: str) -> list[Condition]:
    """``include<name>``/``exclude<name>`` of one condition: a narrowing unless it includes everything
    and excludes nothing."""
    inc, exc = _multi(section.get(f"include{name}")), _multi(section.get(f"exclude{name}"))
    if exc or (inc and everything not in inc):
        return [Condition(kind, tuple(x for x in inc if x != everything), exc)]
    return []


def unrecognised(path: str, value: Any) -> Condition:
    """A condition this report does not recognise, named by its Graph path and value."""
    return Condition("unrecognised", (path, cw.value_words(value)))


def _unknown_in(type_name: str, obj: dict[str, Any], path: str) -> list[Condition]:
    return [unrecognised(f"{path}.{k}" if path else k, obj[k]) for k in cw.unknown_properties(type_name, obj)]


class PolicyReading:
    """Mixed into the posture reader (which gives ``have``, ``ev``, ``unknown`` and ``note``)."""

    def policies(self) -> list[CAPolicy] | None:
        if not self.have(_DS):
            return None
        seen, out = set(), []
        for o in self.ev.values(_DS):
            p = self._policy(o)
            if p is not None and p.id not in seen:
                seen.add(p.id)
                out.append(p)
        return out

    def _policy(self, o: dict[str, Any]) -> CAPolicy | None:
        pid = o.get("id")
        if not isinstance(pid, str):
            return None
        cond = _dict(o.get("conditions"))
        users = _dict(cond.get("users"))
        apps = _dict(cond.get("applications"))
        state = _s(o.get("state"))
        if state not in POLICY_STATES:
            self.unknown(_DS, "policy state", state, "such a policy is read as not enforced")
        inc_users, exc_users = _strs(users.get("includeUsers")), _strs(users.get("excludeUsers"))
        client_types = _strs(cond.get("clientAppTypes")) or frozenset({"all"})
        for t in client_types:
            if cw.member("conditionalAccessClientApp", t) is None:
                self.unknown(_DS, "client app type", t, "it is read as neither legacy nor modern authentication")
        name = _s(o.get("displayName")) or pid
        return CAPolicy(
            id=pid, name=name, state=state,
            include_users=inc_users - {"GuestsOrExternalUsers"}, exclude_users=exc_users - {"GuestsOrExternalUsers"},
            include_groups=_strs(users.get("includeGroups")), exclude_groups=_strs(users.get("excludeGroups")),
            include_roles=frozenset(r.lower() for r in _strs(users.get("includeRoles"))),
            exclude_roles=frozenset(r.lower() for r in _strs(users.get("excludeRoles"))),
            include_guests=self._guests(users.get("includeGuestsOrExternalUsers"), "GuestsOrExternalUsers" in inc_users,
                                        include=True),
            exclude_guests=self._guests(users.get("excludeGuestsOrExternalUsers"), "GuestsOrExternalUsers" in exc_users,
                                        include=False),
            include_apps=self._apps(apps.get("includeApplications")),
            exclude_apps=self._apps(apps.get("excludeApplications")),
            include_user_actions=_strs(apps.get("includeUserActions")),
            include_auth_contexts=_strs(apps.get("includeAuthenticationContextClassReferences")),
            client_app_types=client_types, grant=self._grant(o.get("grantControls"), name),
            conditions=self._conditions(cond, client_types),
            workload=self._workload(cond.get("clientApplications"), inc_users, users),
        )

    def _apps(self, v: Any) -> frozenset[str]:
        out = set()
        for a in _strs(v):
            if _GUID.match(a):
                out.add(a.lower())
            else:
                if a not in APP_NAMES:
                    self.unknown(_DS, "application", a,
                                 "it is read as one application that is neither all apps nor the admin portals")
                out.add(a)
        return frozenset(out)

    @staticmethod
    def _workload(client_apps: Any, inc_users: frozenset[str], users: dict[str, Any]) -> bool:
        """A policy for service principals (clientApplications) covers and excludes no person."""
        sps = _dict(client_apps)
        targets_sps = bool(_strs(sps.get("includeServicePrincipals")) or _strs(sps.get("includeAgentIdServicePrincipals"))
                           or _dict(sps.get("servicePrincipalFilter")))
        return targets_sps and (not inc_users or inc_users == {"None"}) and not (
            _strs(users.get("includeGroups")) or _strs(users.get("includeRoles")) or users.get("includeGuestsOrExternalUsers"))

    def _guests(self, v: Any, legacy: bool, *, include: bool) -> GuestScope | None:
        if legacy:
            return m.ALL_GUESTS
        if not isinstance(v, dict):
            return None
        types = set()
        for t in _multi(v.get("guestOrExternalUserTypes")):
            kind = cw.member("conditionalAccessGuestOrExternalUserTypes", t)
            if kind == "guest_type":
                types.add(t)
            elif kind is None:
                self.unknown(_DS, "guest or external user type", t, "it is not counted as covering any guest")
        if not types:
            return None
        tenants = _dict(v.get("externalTenants"))
        kind = _s(tenants.get("membershipKind"))
        if kind == "all" or ("AllExternalTenants" in _type_name(tenants) and kind != "enumerated"):
            scope = None
        elif kind == "enumerated" or "Enumerated" in _type_name(tenants):
            scope = frozenset(x.lower() for x in _strs(tenants.get("members")))
        else:
            # not readable: an inclusion then covers no named tenant, an exclusion excludes every one
            scope = frozenset() if include else None
        return GuestScope(frozenset(types), scope)

    def _grant(self, v: Any, policy: str) -> Grant:
        g = _dict(v)
        if not g:
            return m.NO_GRANT
        operator = _s(g.get("operator")).upper()
        if operator not in ("AND", "OR"):
            self.unknown(_DS, "grant operator", g.get("operator"), "it is read as OR (any one control is enough)")
            operator = "OR"
        controls = _strs(g.get("builtInControls"))
        for c in controls:
            if cw.member("conditionalAccessGrantControl", c) is None:
                self.unknown(_DS, "grant control", c, "it is read as a way through without MFA")
        unknown = tuple(f"{k} ({cw.value_words(g[k])})" for k in cw.unknown_properties("conditionalAccessGrantControls", g))
        for k in unknown:
            self.unknown(_DS, "grant control property", k, "it is read as a way through without MFA")
        return Grant(operator=operator, controls=controls,
                     terms_of_use=tuple(sorted(_strs(g.get("termsOfUse")))),
                     custom_factors=tuple(sorted(_strs(g.get("customAuthenticationFactors")))),
                     strength=self._strength(g.get("authenticationStrength"), policy), unknown=unknown)

    def _strength(self, v: Any, policy: str) -> Strength | None:
        s = _dict(v)
        sid = _s(s.get("id")).lower()
        if not sid:
            return None
        builtin = FACTS.strengths.get(sid)
        if builtin is not None:
            return Strength(sid, builtin.name, True, builtin.phishing_resistant)
        name = _s(s.get("displayName")) or sid
        combos = [combination(c) for c in _strs(s.get("allowedCombinations"))]
        if not combos:
            self.note(_DS, f"Policy '{policy}': the authentication strength '{name}' came "
                           "without its allowed combinations; it is not counted as MFA.")
            return Strength(sid, name, False, False)
        for c in combos:
            parts = c.split(",")
            if c not in FACTS.multifactor_combinations and any(
                    cw.member("authenticationMethodModes", x) is None for x in parts):
                self.unknown(_DS, "authentication strength combination", c, "it is read as single-factor")
        return Strength(sid, name, all(c in FACTS.multifactor_combinations for c in combos),
                        all(c in FACTS.phishing_resistant_combinations for c in combos))

    def _conditions(self, cond: dict[str, Any], client_types: frozenset[str]) -> tuple[Condition, ...]:
        out = _unknown_in("conditionalAccessConditionSet", cond, "")
        out += self._scope_unknowns(cond)
        out += _narrowed("locations", _dict(cond.get("locations")), "Locations", "All")
        plats = _dict(cond.get("platforms"))
        out += _narrowed("platforms", plats, "Platforms", "all")
        if "all" not in client_types and not {"browser", "mobileAppsAndDesktopClients"} <= client_types:
            out.append(Condition("clientAppTypes", tuple(sorted(client_types))))
        for key, kind in RISK_CONDITIONS.items():
            levels = _multi(cond.get(key))   # any value narrows, "none" included
            if levels:
                out.append(Condition(kind, levels))
        out += self._device_conditions(cond)
        flows = _multi(_dict(cond.get("authenticationFlows")).get("transferMethods"))
        flows = tuple(x for x in flows if cw.member("conditionalAccessTransferMethods", x) != "not_narrowing")
        for f in flows:
            if cw.member("conditionalAccessTransferMethods", f) is None:
                self.unknown(_DS, "authentication flow", f, "the policy is read as narrowed by it")
        if flows:
            out.append(Condition("authenticationFlows", flows))
        if cond.get("times"):
            out.append(Condition("times", ("a time-of-day condition",)))
        flt = _dict(_dict(cond.get("applications")).get("applicationFilter"))
        if flt or _dict(cond.get("applications")).get("applicationFilter") not in (None, {}, [], ""):
            out.append(Condition("applicationFilter", (_s(flt.get("mode")) or "unknown mode",
                                                       cw.value_words(_s(flt.get("rule"))))))
        for c in out:
            if c.kind == "unrecognised":
                self.unknown(_DS, "policy condition", c.include[0], "the policy is read as narrowed by it")
        return tuple(out)

    @staticmethod
    def _scope_unknowns(cond: dict[str, Any]) -> list[Condition]:
        """Properties this report does not know inside the scope and condition objects."""
        out = []
        for key, type_name in (("applications", "conditionalAccessApplications"), ("users", "conditionalAccessUsers"),
                               ("locations", "conditionalAccessLocations"), ("platforms", "conditionalAccessPlatforms"),
                               ("devices", "conditionalAccessDevices"),
                               ("clientApplications", "conditionalAccessClientApplications"),
                               ("authenticationFlows", "conditionalAccessAuthenticationFlows")):
            out += _unknown_in(type_name, _dict(cond.get(key)), key)
        users = _dict(cond.get("users"))
        for side in ("includeGuestsOrExternalUsers", "excludeGuestsOrExternalUsers"):
            guests = _dict(users.get(side))
            out += _unknown_in("conditionalAccessGuestsOrExternalUsers", guests, f"users.{side}")
            out += _unknown_in("conditionalAccessExternalTenants", _dict(guests.get("externalTenants")),
                               f"users.{side}.externalTenants")
        for path, obj in (("devices.deviceFilter", _dict(_dict(cond.get("devices")).get("deviceFilter"))),
                          ("applications.applicationFilter", _dict(_dict(cond.get("applications")).get("applicationFilter")))):
            out += _unknown_in("conditionalAccessFilter", obj, path)
        for p in _multi(_dict(cond.get("platforms")).get("includePlatforms")) + _multi(
                _dict(cond.get("platforms")).get("excludePlatforms")):
            if cw.member("conditionalAccessDevicePlatform", p) is None:
                out.append(unrecognised("platforms", p))
        return out

    @staticmethod
    def _device_conditions(cond: dict[str, Any]) -> list[Condition]:
        out = []
        dev = _dict(cond.get("devices"))
        raw = dev.get("deviceFilter")
        flt = _dict(raw)
        rule = _s(flt.get("rule")).strip()
        if rule:
            out.append(Condition("devices", (rule,), ()) if _s(flt.get("mode")) == "include"
                       else Condition("devices", (), (rule,)))
        elif raw not in (None, {}, [], "") and not (isinstance(raw, dict) and not rule and not flt.get("mode")):
            out.append(unrecognised("devices.deviceFilter", raw))
        out += _narrowed("devices", dev, "Devices", "All")
        out += _narrowed("devices", _dict(cond.get("deviceStates")), "States", "All")
        return out
