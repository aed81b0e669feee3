"""Evidence on disk -> normalised tenant posture.

Graph data is hostile input: fields may be missing, null, of the wrong type, or carry values
this code has never seen. Each accessor here degrades to "unknown" rather than to a guess
that could make a check pass, and every value it does not understand is written to
``Posture.notes`` (shown in the report's method section), never silently ignored.

``build_posture`` reads one dataset at a time through a ``_Reader`` (one small method each).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from reportgen import closedworld as cw
from reportgen import model as m
from reportgen.dates import parse_iso
from reportgen.evidence import EvidenceReader, source_of
from reportgen.facts import FACTS
from reportgen.model import (
    CAPolicy,
    Gap,
    MethodConfig,
    MethodTarget,
    Note,
    Posture,
    Registration,
    RoleAssignment,
    SignIn,
    User,
)
from reportgen.policyread import PolicyReading, _dict, _s, _strs, _type_name
from reportgen.vocab import count, verb

# @odata.type of an authentication method -> normalised (registration-details) name
METHOD_NAMES = {
    "fido2AuthenticationMethod": "fido2SecurityKey",
    "passkeyAuthenticationMethod": "passKeyDeviceBound",
    "windowsHelloForBusinessAuthenticationMethod": "windowsHelloForBusiness",
    "microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticatorPush",
    "softwareOathAuthenticationMethod": "softwareOneTimePasscode",
    "hardwareOathAuthenticationMethod": "hardwareOneTimePasscode",
    "phoneAuthenticationMethod": "mobilePhone",
    "emailAuthenticationMethod": "email",
    "x509CertificateAuthenticationMethod": "x509Certificate",
    "temporaryAccessPassAuthenticationMethod": "temporaryAccessPass",
    "passwordAuthenticationMethod": "password",
    "platformCredentialAuthenticationMethod": "macOsSecureEnclaveKey",
}
PHONE_TYPES = {"mobile": "mobilePhone", "alternateMobile": "alternateMobilePhone", "office": "officePhone"}
# methodsRegistered values documented under another spelling
METHOD_ALIASES = {"fido2": "fido2SecurityKey"}

KNOWN_MFA_METHODS = frozenset(METHOD_NAMES.values()) - m.NON_MFA_METHODS

REQUIREMENTS = ("multiFactorAuthentication", "singleFactorAuthentication")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class PostureError(Exception):
    pass


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _dedupe(items: Iterable[Any], key) -> list[Any]:
    seen, out = set(), []
    for it in items:
        if it is None:
            continue
        k = key(it)
        if k not in seen:
            seen.add(k)
            out.append(it)
    return out


class _Reader(PolicyReading):
    """Reads one evidence folder; collects the gaps and notes it finds on the way."""

    def __init__(self, ev: EvidenceReader):
        self.ev = ev
        meta = ev.meta
        self.collected = parse_iso(meta.get("collected_at"))
        if self.collected is None:
            raise PostureError("collection.json has no valid collected_at")
        window = _dict(meta.get("window"))
        self.window_start = parse_iso(window.get("start")) or self.collected
        self.window_end = parse_iso(window.get("end")) or self.collected
        self.gaps = [Gap(source=_s(g.get("source")), reason=_s(g.get("reason")),
                         code=g.get("code") if isinstance(g.get("code"), str) else None,
                         status=g.get("status") if isinstance(g.get("status"), int) else None) for g in ev.gaps]
        self.notes: list[Note] = []
        # (dataset, what) -> values not understood, with how often, and how they were read
        self._unknown: dict[tuple[str, str], tuple[Counter, str]] = {}
        self.sku_plans: dict[str, frozenset[str]] = {}   # active skuId -> service plans it provides
        self.mailbox_named: set[str] = set()              # plans named EXCHANGE_S_* (a mailbox)

    def have(self, ds: str) -> bool:
        return self.ev.has(ds)

    def note(self, dataset: str, message: str) -> None:
        n = Note(source_of(dataset), message)
        if n not in self.notes:
            self.notes.append(n)

    def unknown(self, dataset: str, what: str, value: Any, read_as: str) -> None:
        counter, _ = self._unknown.setdefault((dataset, what), (Counter(), read_as))
        counter[_s(value)[:80]] += 1

    def flush_unknown(self) -> None:
        for (ds, what), (counter, read_as) in self._unknown.items():
            values = ", ".join(f"'{v}'" + (f" ({n:,} times)" if n > 1 else "") for v, n in sorted(counter.items()))
            self.note(ds, f"{what}: {verb(len(counter), 'value', 'values')} not recognised: {values}; {read_as}.")

    # --- tenant and licences -----------------------------------------------------------------
    def organization(self) -> dict[str, Any]:
        return next(iter(self.ev.values("organization")), {}) if self.have("organization") else {}

    def licences(self) -> tuple[bool | None, bool | None]:
        if not self.have("subscribedSkus"):
            return None, None
        p1, p2, self.sku_plans, self.mailbox_named, odd = _read_skus(list(self.ev.values("subscribedSkus")))
        for state in odd:
            self.unknown("subscribedSkus", "capabilityStatus", state, "such a subscription is read as inactive")
        return p1, p2

    def _has_mailbox(self, o: dict[str, Any]) -> bool | None:
        lic = o.get("assignedLicenses")
        if not isinstance(lic, list) or not self.have("subscribedSkus"):
            return None
        mailbox_plans = FACTS.mailbox_plans | self.mailbox_named
        unknown = False
        for a in lic:
            if not isinstance(a, dict):
                continue
            plans = self.sku_plans.get(_s(a.get("skuId")).lower())
            if plans is None:
                unknown = True   # a SKU the tenant's subscriptions do not show (or an inactive one)
                continue
            if (plans - {_s(x).lower() for x in _list(a.get("disabledPlans"))}) & mailbox_plans:
                return True
        return None if unknown else False

    # --- users ---------------------------------------------------------------------------------
    def users(self) -> list[User] | None:
        if not self.have("users"):
            return None
        users = _dedupe((self._user(o) for o in self.ev.values("users")), lambda u: u.id)
        no_success = sum(1 for o in self.ev.values("users") if isinstance(o.get("signInActivity"), dict)
                         and "lastSuccessfulSignInDateTime" not in o["signInActivity"])
        if no_success:
            self.note("users", f"signInActivity gives no lastSuccessfulSignInDateTime for {count(no_success, 'user')}: "
                               "their last successful sign-in is unknown, so they are treated as not having signed in "
                               "(the other sign-in times count failed attempts too).")
        return users

    def _user(self, o: dict[str, Any]) -> User | None:
        uid = o.get("id")
        if not isinstance(uid, str) or not uid:
            return None
        other = o.get("otherMails")
        certs = _dict(o.get("authorizationInfo")).get("certificateUserIds")
        return User(
            id=uid, upn=_s(o.get("userPrincipalName")) or uid, display_name=_s(o.get("displayName")),
            mail=o.get("mail") if isinstance(o.get("mail"), str) and o.get("mail").strip() else None,
            other_mails=tuple(x for x in other if isinstance(x, str) and x.strip()) if isinstance(other, list) else (),
            # accountEnabled missing/null: treat as enabled, so the user is still examined
            enabled=o.get("accountEnabled") is not False,
            user_type=_s(o.get("userType")) or "Member",
            synced=o.get("onPremisesSyncEnabled") is True,
            created=parse_iso(o.get("createdDateTime")),
            last_sign_in=_last_sign_in(o.get("signInActivity")), sign_in_activity_known="signInActivity" in o,
            certificate_user_ids=tuple(x for x in _list(certs) if isinstance(x, str) and x.strip()),
            has_mailbox=self._has_mailbox(o),
        )

    # --- registration ------------------------------------------------------------------------
    def registrations(self) -> tuple[dict[str, Registration] | None, str | None]:
        if self.have("userRegistrationDetails"):
            return self._registration_details(), "userRegistrationDetails"
        if self.have("userMethods"):
            return self._user_methods(), "methods"
        return None, None

    def _registration_details(self) -> dict[str, Registration]:
        out = {}
        for o in self.ev.values("userRegistrationDetails"):
            if not isinstance(o.get("id"), str):
                continue
            meths = []
            for x in _list(o.get("methodsRegistered")):
                if not isinstance(x, str):
                    continue
                x = METHOD_ALIASES.get(x, x)
                if x not in m.KNOWN_METHODS:
                    self.unknown("userRegistrationDetails", "methodsRegistered", x,
                                 "such a method counts neither as phishing-resistant nor as emergency-grade")
                meths.append(x)
            out[o["id"]] = Registration(user_id=o["id"], mfa_registered=o.get("isMfaRegistered") is True,
                                        mfa_capable=o.get("isMfaCapable") is True, methods=tuple(meths))
        return out

    def _method_name(self, item: Any) -> str:
        if not isinstance(item, dict):
            return "unknown"
        t = _type_name(item)
        name = METHOD_NAMES.get(t)
        if name is None:
            self.unknown("userMethods", "authentication method type", t or "(none)",
                         "such a method is not counted as MFA; a user with only such methods has unknown registration")
            return "unknown"
        if name == "fido2SecurityKey" and _s(item.get("aaGuid")).lower() in FACTS.authenticator_aaguids:
            return "passKeyDeviceBoundAuthenticator"
        if name == "mobilePhone":
            return PHONE_TYPES.get(_s(item.get("phoneType")), "mobilePhone")
        return name

    def _user_methods(self) -> dict[str, Registration]:
        out = {}
        for page in self.ev.pages("userMethods"):
            for resp in _list(page.get("responses")) if isinstance(page, dict) else []:
                if not isinstance(resp, dict) or resp.get("status") != 200 or not isinstance(resp.get("id"), str):
                    continue  # a user whose methods did not arrive stays unknown
                body = _dict(resp.get("body"))
                if not isinstance(body.get("value"), list):
                    continue  # an answer without a method list is no answer: unknown, not "no methods"
                names = [self._method_name(item) for item in body["value"]]
                mfa = tuple(sorted({x for x in names if x in KNOWN_MFA_METHODS}))
                if not mfa and "unknown" in names:
                    continue  # a method we cannot read may be a second factor: registration unknown
                aaguids = tuple(sorted({_s(item.get("aaGuid")).lower() for item, n in zip(body["value"], names)
                                        if n == "fido2SecurityKey"}))
                out[resp["id"]] = Registration(user_id=resp["id"], mfa_registered=bool(mfa), mfa_capable=bool(mfa),
                                               methods=tuple(sorted(set(names) - {"password", "unknown"})),
                                               fido2_aaguids=aaguids)
        return out

    # --- Conditional Access ----------------------------------------------------------------
    def named_locations(self) -> dict[str, str] | None:
        if not self.have("namedLocations"):
            return None
        return {o["id"]: _s(o.get("displayName")) or o["id"] for o in self.ev.values("namedLocations")
                if isinstance(o.get("id"), str)}

    def security_defaults(self) -> bool | None:
        sd = self.ev.single("securityDefaults") if self.have("securityDefaults") else None
        return sd.get("isEnabled") if isinstance(sd, dict) and isinstance(sd.get("isEnabled"), bool) else None

    def methods_policy(self) -> dict[str, MethodConfig] | None:
        amp = self.ev.single("authenticationMethodsPolicy") if self.have("authenticationMethodsPolicy") else None
        if not isinstance(amp, dict) or not isinstance(amp.get("authenticationMethodConfigurations"), list):
            return None
        out = {}
        for c in amp["authenticationMethodConfigurations"]:
            if not isinstance(c, dict) or not _s(c.get("id")):
                continue
            state = _s(c.get("state"))
            if state not in ("enabled", "disabled"):
                self.unknown("authenticationMethodsPolicy", "method state", state, "such a method is read as disabled")
            mode = _dict(c.get("authenticationModeConfiguration"))
            default = _s(mode.get("x509CertificateAuthenticationDefaultMode"))
            rules = [r for r in _list(mode.get("rules")) if isinstance(r, dict)]
            kind = cw.METHOD_CONFIGS.get(_type_name(c))
            if _type_name(c) and kind is None:
                self.unknown("authenticationMethodsPolicy", "method configuration type", _type_name(c),
                             "such a method is not counted as MFA")
            otp = _s(c.get("allowExternalIdToUseEmailOtp"))
            out[_s(c["id"]).lower()] = MethodConfig(
                id=_s(c["id"]).lower(), state=state, include=self._targets(c.get("includeTargets")),
                # targets not returned: enabled for unknown targets, never "for nobody"
                targets_known=isinstance(c.get("includeTargets"), list),
                external_only=cw.member("externalEmailOtpState", otp) == "external" if otp else False,
                exclude=self._targets(c.get("excludeTargets")),
                multifactor_default=(default == "x509CertificateMultiFactor") if default else None,
                multifactor_rules=any(_s(r.get("x509CertificateAuthenticationMode")) == "x509CertificateMultiFactor"
                                      for r in rules))
        return out

    @staticmethod
    def _targets(v: Any) -> tuple[MethodTarget, ...]:
        out = []
        for t in _list(v):
            if isinstance(t, dict) and isinstance(t.get("id"), str):
                kind = "all_users" if t["id"] == "all_users" else (_s(t.get("targetType")) or "group")
                if kind not in ("all_users", "user", "group"):
                    kind = "unknown"   # a target type this report does not know: who it reaches is unknown
                out.append(MethodTarget(kind, t["id"]))
        return tuple(out)

    # --- roles ---------------------------------------------------------------------------------
    def roles(self, dataset: str, kind: str) -> list[RoleAssignment] | None:
        if not self.have(dataset):
            return None
        out, expired = [], 0
        for o in self.ev.values(dataset):
            rid, pid = o.get("roleDefinitionId"), o.get("principalId")
            template = _dict(o.get("roleDefinition")).get("templateId")
            rid = template if isinstance(template, str) and template else rid
            if not isinstance(rid, str) or not isinstance(pid, str):
                continue
            scope = o.get("directoryScopeId")
            if scope not in (None, "", "/") or (scope is None and _s(o.get("appScopeId")) not in ("", "/")):
                continue  # scoped to an administrative unit, an app or a catalog: not tenant-wide
            if kind == "eligible" and self._expired(o):
                expired += 1
                continue
            ptype = _type_name(_dict(o.get("principal"))) or "unknown"
            out.append(RoleAssignment(role_id=rid.lower(), role_name=m.PRIVILEGED_ROLES.get(rid.lower(), rid),
                                      principal_id=pid, principal_type=ptype, kind=kind))
        if expired:
            self.note(dataset, f"{count(expired, 'role eligibility', 'role eligibilities')} that had expired before the "
                               f"collection date {verb(expired, 'was', 'were')} left out.")
        return _dedupe(out, lambda r: (r.role_id, r.principal_id, r.kind))

    def _expired(self, o: dict[str, Any]) -> bool:
        end = parse_iso(_dict(_dict(o.get("scheduleInfo")).get("expiration")).get("endDateTime"))
        return end is not None and end < self.collected

    def permanence(self, roles: list[RoleAssignment] | None, has_p2: bool | None) -> list[RoleAssignment] | None:
        """Mark active assignments permanent or not, from the role assignment schedules (PIM): an
        assigned (not activated) schedule whose expiration is ``noExpiration``. Without PIM (no P2
        licence) every active assignment is permanent."""
        if roles is None:
            return None
        if has_p2 is not False and self.have("roleAssignmentSchedules"):
            kinds: dict[tuple[str, str], bool] = {}
            for o in self.ev.values("roleAssignmentSchedules"):
                key = (_s(o.get("roleDefinitionId")).lower(), _s(o.get("principalId")))
                expiration = _dict(_dict(o.get("scheduleInfo")).get("expiration"))
                permanent = _s(o.get("assignmentType")) == "Assigned" and _s(expiration.get("type")) == "noExpiration"
                kinds[key] = kinds.get(key, False) or permanent
            return [_replace_permanent(r, kinds.get((r.role_id, r.principal_id))) for r in roles]
        if has_p2 is False:
            return [_replace_permanent(r, True) for r in roles]
        return roles

    # --- sign-ins ------------------------------------------------------------------------------
    def sign_ins(self) -> list[SignIn] | None:
        if not self.have("signIns"):
            return None
        items = [s for s in (self._signin(o) for ds in ("signIns", "signInsNonInteractive") if self.have(ds)
                             for o in self.ev.values(ds)) if s]
        items = _dedupe(items, lambda s: s.id)
        inside = [s for s in items if self.window_start <= s.created <= self.window_end]
        if len(inside) < len(items):
            n = len(items) - len(inside)
            self.note("signIns", f"{count(n, 'sign-in')} dated outside the collection window {verb(n, 'was', 'were')} "
                                 "left out.")
        if not self.have("signInsNonInteractive") and not any(g.source == source_of("signInsNonInteractive")
                                                              for g in self.gaps):
            # scripted use shows in the non-interactive log only; say that it is missing
            self.gaps.append(Gap(source=source_of("signInsNonInteractive"),
                                 reason="the collection read interactive sign-ins only"))
        return inside

    def _signin(self, o: dict[str, Any]) -> SignIn | None:
        created = parse_iso(o.get("createdDateTime"))
        if created is None or not isinstance(o.get("id"), str):
            return None
        events = _strs(o.get("signInEventTypes"))
        interactive = o.get("isInteractive")
        if not isinstance(interactive, bool):
            interactive = not events or "interactiveUser" in events
        return SignIn(id=o["id"], user_id=_s(o.get("userId")), upn=_s(o.get("userPrincipalName")) or _s(o.get("userId")),
                      app_id=_s(o.get("appId")).lower(), app_name=_s(o.get("appDisplayName")),
                      resource_id=_s(o.get("resourceId")).lower(), created=created,
                      requirement=self._requirement(o), interactive=interactive, success=_outcome(o),
                      protocol=_s(o.get("authenticationProtocol")), error_code=_error_code(o))

    def _requirement(self, o: dict[str, Any]) -> str | None:
        """The factor of a sign-in: authenticationRequirement, else mfaDetail, else the steps of
        authenticationDetails; None where none of them says."""
        req = o.get("authenticationRequirement")
        if req in REQUIREMENTS:
            return req
        if isinstance(req, str) and req:
            self.unknown("signIns", "authenticationRequirement", req, "the factor of such a sign-in is unknown")
        mfa = _dict(o.get("mfaDetail"))
        if _s(mfa.get("authMethod") or mfa.get("mfaAuthMethod")).strip():
            return "multiFactorAuthentication"
        steps = [d for d in _list(o.get("authenticationDetails")) if isinstance(d, dict)]
        if steps:
            needs = " ".join(_s(d.get("authenticationStepRequirement")).lower() for d in steps)
            if "mfa" in needs or "multifactor" in needs or "multi-factor" in needs:
                return "multiFactorAuthentication"
            if "primary" in needs:
                return "singleFactorAuthentication"
        return None

    # --- groups ----------------------------------------------------------------------------------
    def members(self, policies: list[CAPolicy] | None,
                roles: list[list[RoleAssignment] | None]) -> dict[str, frozenset[str]] | None:
        groups = self.ev.datasets("groupMembers")
        if not groups and all(r is None for r in roles):
            return None
        direct: dict[str, set[str]] = {}
        for ds in groups:
            if "." not in ds:
                continue  # no group id: nothing to attribute the members to
            direct[ds.split(".", 1)[1]] = {o["id"] for o in self.ev.values(ds) if isinstance(o.get("id"), str)}
        members = _transitive(direct)
        # a group used in a policy or role whose members were not collected leaves membership unknown
        needed = set()
        for p in policies or []:
            needed |= p.include_groups | p.exclude_groups
        for rs in roles:
            needed |= {r.principal_id for r in rs or [] if r.principal_type == "group"}
        missing = needed - set(members)
        if missing:
            self.gaps.append(Gap(source=source_of("groupMembers"),
                                 reason=f"members of {count(len(missing), 'group')} used in policies or roles were not "
                                        "collected"))
            return None
        return members

    def resolve_principals(self, roles: list[RoleAssignment] | None, user_ids: set[str], group_ids: set[str],
                           dataset: str) -> tuple[list[RoleAssignment] | None, list[RoleAssignment]]:
        """Give an assignment whose principal was not expanded the type its id shows; the rest are
        unresolved, and a gap is declared where a privileged role is among them."""
        if roles is None:
            return None, []
        out, unresolved = [], []
        for r in roles:
            if r.principal_type == "unknown":
                ptype = "user" if r.principal_id in user_ids else "group" if r.principal_id in group_ids else "unknown"
                r = RoleAssignment(r.role_id, r.role_name, r.principal_id, ptype, r.kind, r.permanent)
                if ptype == "unknown":
                    unresolved.append(r)
            out.append(r)
        privileged = Counter(m.PRIVILEGED_ROLES[r.role_id] for r in unresolved if r.role_id in m.PRIVILEGED_ROLES)
        if privileged:
            what = ", ".join(count(n, name) for name, n in sorted(privileged.items()))
            kind = "eligibilities" if dataset == "roleEligibilitySchedules" else "assignments"
            self.gaps.append(Gap(source=source_of(dataset),
                                 reason=f"privileged role {kind} whose principal could not be identified as a user, a "
                                        f"group or a service principal ({what})"))
        return out, unresolved


def _read_skus(skus: list[Any]) -> tuple[bool, bool, dict[str, frozenset[str]], set[str], list[str]]:
    """(P1, P2, active skuId -> provisioned plans, plan ids named EXCHANGE_S_*, states not understood).
    A SKU that includes P1/P2 is recognised by its id as well as by its plans: a response may list
    only some plans."""
    p1 = p2 = False
    sku_plans: dict[str, frozenset[str]] = {}
    mailbox: set[str] = set()
    odd: list[str] = []
    for s in skus:
        if not isinstance(s, dict):
            continue
        state = _s(s.get("capabilityStatus")) or "Enabled"
        if state not in FACTS.active_states:
            if state not in FACTS.inactive_states:
                odd.append(state)
            continue
        sku = _s(s.get("skuId")).lower()
        items = [sp for sp in _list(s.get("servicePlans")) if isinstance(sp, dict)]
        plans = frozenset(_s(sp.get("servicePlanId")).lower() for sp in items
                          if _s(sp.get("provisioningStatus")) in ("Success", ""))
        mailbox |= {_s(sp.get("servicePlanId")).lower() for sp in items
                    if _s(sp.get("servicePlanName")).startswith("EXCHANGE_S_")
                    and _s(sp.get("servicePlanName")) != "EXCHANGE_S_FOUNDATION"}
        sku_plans[sku] = plans
        level = FACTS.skus.get(sku)
        p2 = p2 or m.PLAN_P2 in plans or level == "p2"
        p1 = p1 or m.PLAN_P1 in plans or level in ("p1", "p2")
    return p1 or p2, p2, sku_plans, mailbox, odd


def licences(skus: list[Any]) -> tuple[bool, bool]:
    """(Entra ID P1, P2) from subscribedSkus items, as the posture reads them."""
    p1, p2, *_ = _read_skus(skus)
    return p1, p2


def _replace_permanent(r: RoleAssignment, permanent: bool | None) -> RoleAssignment:
    return RoleAssignment(r.role_id, r.role_name, r.principal_id, r.principal_type, r.kind, permanent)


def _last_sign_in(sia: Any) -> datetime | None:
    """The last *successful* sign-in: lastSignInDateTime and lastNonInteractiveSignInDateTime count
    failed attempts too, so a password spray would make a dormant account look active. Without
    lastSuccessfulSignInDateTime the last success is unknown, read as none (noted by the caller)."""
    if not isinstance(sia, dict):
        return None
    return parse_iso(sia.get("lastSuccessfulSignInDateTime"))


def _error_code(o: dict[str, Any]) -> int | None:
    code = _dict(o.get("status")).get("errorCode")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _outcome(o: dict[str, Any]) -> bool | None:
    """Success, failure, or None where the sign-in's outcome cannot be read (``status: {}``).
    With no error code, the steps of authenticationDetails decide when every one says."""
    code = _dict(o.get("status")).get("errorCode")
    if isinstance(code, int) and not isinstance(code, bool):
        return code == 0
    steps = [d.get("succeeded") for d in _list(o.get("authenticationDetails")) if isinstance(d, dict)]
    if steps and all(s is True for s in steps):
        return True
    if any(s is False for s in steps):
        return False
    return None


def _transitive(direct: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for gid in direct:
        seen, stack = set(), [gid]
        while stack:
            for mbr in direct.get(stack.pop(), ()):
                if mbr not in seen:
                    seen.add(mbr)
                    if mbr in direct:
                        stack.append(mbr)
        out[gid] = frozenset(seen)
    return out


def build_posture(ev: EvidenceReader) -> Posture:
    r = _Reader(ev)
    org = r.organization()
    p1, p2 = r.licences()
    users = r.users()
    registrations, reg_source = r.registrations()
    policies = r.policies()
    user_ids = {u.id for u in users or []}
    group_names = {g["id"]: _s(g.get("displayName")) for ds in ev.datasets("groups") for g in ev.values(ds)
                   if isinstance(g.get("id"), str) and g.get("displayName")}
    group_ids = set(group_names) | {ds.split(".", 1)[1] for ds in ev.datasets("groupMembers") if "." in ds}
    roles, unresolved = r.resolve_principals(r.roles("roleAssignments", "active"), user_ids, group_ids, "roleAssignments")
    roles = r.permanence(roles, p2)
    eligible, unresolved_eligible = r.resolve_principals(r.roles("roleEligibilitySchedules", "eligible"), user_ids,
                                                         group_ids, "roleEligibilitySchedules")
    members = r.members(policies, [roles, eligible])
    sign_ins = r.sign_ins()
    posture = Posture(
        tenant_id=_s(ev.meta.get("tenant_id")) or _s(org.get("id")), tenant_name=_s(org.get("displayName")),
        collected_at=r.collected, window_start=r.window_start, window_end=r.window_end, source=_s(ev.meta.get("source")),
        has_p1=p1, has_p2=p2, users=users, registrations=registrations, registration_source=reg_source,
        ca_policies=policies, security_defaults=r.security_defaults(), methods_policy=r.methods_policy(),
        role_assignments=roles, eligible_assignments=eligible, group_members=members, sign_ins=sign_ins,
        granted_permissions=_granted(ev.meta), gaps=r.gaps, group_names=group_names,
        domains=tuple(_s(d.get("name")) for d in _list(org.get("verifiedDomains")) if isinstance(d, dict)),
        pages=ev.page_index(), named_locations=r.named_locations(), unresolved_roles=unresolved + unresolved_eligible)
    r.flush_unknown()
    posture.notes = r.notes
    return posture


def _granted(meta: dict[str, Any]) -> tuple[str, ...] | None:
    granted = _dict(meta.get("app")).get("granted_permissions")
    return tuple(granted) if isinstance(granted, list) else None
