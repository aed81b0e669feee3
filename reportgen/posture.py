"""Evidence on disk -> normalised tenant posture.

Graph data is hostile input: fields may be missing, null, of the wrong type, or carry values
this code has never seen. Each accessor here degrades to "unknown" rather than to a guess
that could make a check pass.
"""
from __future__ import annotations

from typing import Any, Iterable

from reportgen import model as m
from reportgen.dates import parse_iso
from reportgen.evidence import EvidenceReader, source_of
from reportgen.model import CAPolicy, Gap, Posture, Registration, RoleAssignment, SignIn, User

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


KNOWN_MFA_METHODS = frozenset(METHOD_NAMES.values()) - m.NON_MFA_METHODS


class PostureError(Exception):
    pass


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ("" if v is None else str(v))


def _strs(v: Any) -> frozenset[str]:
    return frozenset(x for x in v if isinstance(x, str)) if isinstance(v, list) else frozenset()


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _user(o: dict[str, Any]) -> User | None:
    uid = o.get("id")
    if not isinstance(uid, str) or not uid:
        return None
    sia = o.get("signInActivity")
    last = None
    if isinstance(sia, dict):
        times = [parse_iso(sia.get(k)) for k in ("lastSignInDateTime", "lastNonInteractiveSignInDateTime",
                                                 "lastSuccessfulSignInDateTime")]
        times = [t for t in times if t]
        last = max(times) if times else None
    other = o.get("otherMails")
    return User(
        id=uid, upn=_s(o.get("userPrincipalName")) or uid, display_name=_s(o.get("displayName")),
        mail=o.get("mail") if isinstance(o.get("mail"), str) and o.get("mail").strip() else None,
        other_mails=tuple(x for x in other if isinstance(x, str) and x.strip()) if isinstance(other, list) else (),
        # accountEnabled missing/null: treat as enabled, so the user is still examined
        enabled=o.get("accountEnabled") is not False,
        user_type=_s(o.get("userType")) or "Member",
        synced=o.get("onPremisesSyncEnabled") is True,
        created=parse_iso(o.get("createdDateTime")),
        last_sign_in=last, sign_in_activity_known="signInActivity" in o,
    )


def _policy(o: dict[str, Any]) -> CAPolicy | None:
    pid = o.get("id")
    if not isinstance(pid, str):
        return None
    cond = o.get("conditions") if isinstance(o.get("conditions"), dict) else {}
    users = cond.get("users") if isinstance(cond.get("users"), dict) else {}
    apps = cond.get("applications") if isinstance(cond.get("applications"), dict) else {}
    grant = o.get("grantControls") if isinstance(o.get("grantControls"), dict) else {}
    strength = grant.get("authenticationStrength")
    strength_id = strength.get("id") if isinstance(strength, dict) and isinstance(strength.get("id"), str) else None
    inc_users = _strs(users.get("includeUsers"))
    exc_users = _strs(users.get("excludeUsers"))
    # Narrowing conditions make a policy not "for everyone everywhere".
    narrowing = any(cond.get(k) for k in ("platforms", "locations", "devices", "userRiskLevels",
                                          "signInRiskLevels", "servicePrincipalRiskLevels", "insiderRiskLevels"))
    client_types = _strs(cond.get("clientAppTypes")) or frozenset({"all"})
    builtin = _strs(grant.get("builtInControls"))
    # With OR, another control (compliant device, ...) can satisfy the grant instead of MFA; an operator
    # that is not plainly AND is read as OR.
    if grant.get("operator") != "AND" and builtin - {"mfa", "block"}:
        builtin = builtin - {"mfa"}
        strength_id = None
    return CAPolicy(
        id=pid, name=_s(o.get("displayName")) or pid, state=_s(o.get("state")),
        include_users=inc_users - {"GuestsOrExternalUsers"}, exclude_users=exc_users - {"GuestsOrExternalUsers"},
        include_groups=_strs(users.get("includeGroups")), exclude_groups=_strs(users.get("excludeGroups")),
        include_roles=_strs(users.get("includeRoles")), exclude_roles=_strs(users.get("excludeRoles")),
        include_guests="GuestsOrExternalUsers" in inc_users or bool(users.get("includeGuestsOrExternalUsers")),
        exclude_guests="GuestsOrExternalUsers" in exc_users or bool(users.get("excludeGuestsOrExternalUsers")),
        include_apps=_strs(apps.get("includeApplications")), exclude_apps=_strs(apps.get("excludeApplications")),
        include_user_actions=_strs(apps.get("includeUserActions")),
        client_app_types=client_types, builtin_controls=builtin, auth_strength_id=strength_id,
        has_conditions=narrowing,
    )


def _signin(o: dict[str, Any]) -> SignIn | None:
    created = parse_iso(o.get("createdDateTime"))
    if created is None or not isinstance(o.get("id"), str):
        return None
    status = o.get("status") if isinstance(o.get("status"), dict) else {}
    events = _strs(o.get("signInEventTypes"))
    interactive = o.get("isInteractive")
    if not isinstance(interactive, bool):
        interactive = not events or "interactiveUser" in events
    req = o.get("authenticationRequirement")
    return SignIn(id=o["id"], user_id=_s(o.get("userId")), upn=_s(o.get("userPrincipalName")) or _s(o.get("userId")),
                  app_id=_s(o.get("appId")).lower(), app_name=_s(o.get("appDisplayName")),
                  resource_id=_s(o.get("resourceId")).lower(), created=created,
                  requirement=req if req in ("multiFactorAuthentication", "singleFactorAuthentication") else None,
                  interactive=interactive, success=status.get("errorCode") == 0)


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


def _collect_members(ev: EvidenceReader) -> dict[str, frozenset[str]]:
    direct: dict[str, set[str]] = {}
    for ds in ev.datasets("groupMembers"):
        if "." not in ds:
            continue  # no group id: nothing to attribute the members to
        gid = ds.split(".", 1)[1]
        direct[gid] = {o["id"] for o in ev.values(ds) if isinstance(o.get("id"), str)}
    # transitiveMembers already flattens; close over nested groups anyway (demo, or odd servers)
    out: dict[str, frozenset[str]] = {}
    for gid in direct:
        seen, stack = set(), [gid]
        while stack:
            g = stack.pop()
            for mbr in direct.get(g, ()):
                if mbr not in seen:
                    seen.add(mbr)
                    if mbr in direct:
                        stack.append(mbr)
        out[gid] = frozenset(seen)
    return out


def _roles(items: Iterable[dict[str, Any]], kind: str) -> list[RoleAssignment]:
    out = []
    for o in items:
        rid, pid = o.get("roleDefinitionId"), o.get("principalId")
        if not isinstance(rid, str) or not isinstance(pid, str):
            continue
        if _s(o.get("directoryScopeId")) not in ("", "/"):
            continue  # scoped to an administrative unit / app: not tenant-wide
        principal = o.get("principal") if isinstance(o.get("principal"), dict) else {}
        ptype = _s(principal.get("@odata.type")).rsplit(".", 1)[-1] or "unknown"
        if ptype == "unknown" and isinstance(o.get("memberType"), str):
            ptype = "user"  # eligibility schedules do not expand the principal; resolved against users later
        out.append(RoleAssignment(role_id=rid.lower(), role_name=m.PRIVILEGED_ROLES.get(rid.lower(), rid),
                                  principal_id=pid, principal_type=ptype, kind=kind))
    return _dedupe(out, lambda r: (r.role_id, r.principal_id, r.kind))


def licences(skus: list[Any]) -> tuple[bool, bool]:
    """(Entra ID P1, P2) from subscribedSkus items: a service plan provisioned in an enabled SKU."""
    plans = {(_s(sp.get("servicePlanId")).lower(), _s(sp.get("provisioningStatus")))
             for s in skus if isinstance(s, dict) and s.get("capabilityStatus", "Enabled") == "Enabled"
             for sp in _list(s.get("servicePlans")) if isinstance(sp, dict)}
    active = {pid for pid, st in plans if st in ("Success", "")}
    p2 = m.PLAN_P2 in active
    return p2 or m.PLAN_P1 in active, p2


def build_posture(ev: EvidenceReader) -> Posture:
    meta = ev.meta
    collected = parse_iso(meta.get("collected_at"))
    window = meta.get("window") if isinstance(meta.get("window"), dict) else {}
    if collected is None:
        raise PostureError("collection.json has no valid collected_at")
    gaps = [Gap(source=_s(g.get("source")), reason=_s(g.get("reason")),
                code=g.get("code") if isinstance(g.get("code"), str) else None,
                status=g.get("status") if isinstance(g.get("status"), int) else None) for g in ev.gaps]

    def have(ds: str) -> bool:
        return ev.has(ds)

    org = next(iter(ev.values("organization")), {}) if have("organization") else {}
    skus = list(ev.values("subscribedSkus")) if have("subscribedSkus") else None
    p1, p2 = licences(skus) if skus is not None else (None, None)

    users = _dedupe((_user(o) for o in ev.values("users")), lambda u: u.id) if have("users") else None

    registrations: dict[str, Registration] | None = None
    reg_source = None
    if have("userRegistrationDetails"):
        reg_source = "userRegistrationDetails"
        registrations = {}
        for o in ev.values("userRegistrationDetails"):
            if isinstance(o.get("id"), str):
                meths = tuple(x for x in _list(o.get("methodsRegistered")) if isinstance(x, str))
                registrations[o["id"]] = Registration(
                    user_id=o["id"], mfa_registered=o.get("isMfaRegistered") is True,
                    mfa_capable=o.get("isMfaCapable") is True, methods=meths)
    elif have("userMethods"):
        reg_source = "methods"
        registrations = {}
        for page in ev.pages("userMethods"):
            for resp in _list(page.get("responses")) if isinstance(page, dict) else []:
                if not isinstance(resp, dict) or resp.get("status") != 200 or not isinstance(resp.get("id"), str):
                    continue  # a user whose methods did not arrive stays unknown
                body = resp.get("body") if isinstance(resp.get("body"), dict) else {}
                if not isinstance(body.get("value"), list):
                    continue  # an answer without a method list is no answer: unknown, not "no methods"
                names = []
                for item in body["value"]:
                    t = _s(item.get("@odata.type") if isinstance(item, dict) else "").rsplit(".", 1)[-1]
                    names.append(METHOD_NAMES.get(t, t or "unknown"))
                # only method types we know to be a second factor count: an unknown type is not MFA
                mfa = tuple(sorted({x for x in names if x in KNOWN_MFA_METHODS}))
                registrations[resp["id"]] = Registration(user_id=resp["id"], mfa_registered=bool(mfa),
                                                         mfa_capable=bool(mfa),
                                                         methods=tuple(sorted(set(names) - {"password"})))

    policies = (_dedupe((_policy(o) for o in ev.values("conditionalAccessPolicies")), lambda p: p.id)
                if have("conditionalAccessPolicies") else None)
    sd = ev.single("securityDefaults") if have("securityDefaults") else None
    security_defaults = sd.get("isEnabled") if isinstance(sd, dict) and isinstance(sd.get("isEnabled"), bool) else None
    amp = ev.single("authenticationMethodsPolicy") if have("authenticationMethodsPolicy") else None
    methods_policy = None
    if isinstance(amp, dict) and isinstance(amp.get("authenticationMethodConfigurations"), list):
        methods_policy = {_s(c.get("id")).lower(): _s(c.get("state"))
                          for c in amp["authenticationMethodConfigurations"] if isinstance(c, dict)}

    roles = _roles(ev.values("roleAssignments"), "active") if have("roleAssignments") else None
    eligible = _roles(ev.values("roleEligibilitySchedules"), "eligible") if have("roleEligibilitySchedules") else None
    members = _collect_members(ev) if ev.datasets("groupMembers") or roles is not None else None
    if members is not None:
        # a group used in a policy or role whose members were not collected leaves membership unknown
        needed = set()
        for p in policies or []:
            needed |= p.include_groups | p.exclude_groups
        for r in roles or []:
            if r.principal_type == "group":
                needed.add(r.principal_id)
        if needed - set(members):
            missing = sorted(needed - set(members))
            gaps.append(Gap(source=source_of("groupMembers"),
                            reason=f"members of {len(missing)} group(s) used in policies or roles were not collected"))
            members = None

    sign_ins = None
    if have("signIns"):
        sign_ins = [s for s in (_signin(o) for ds in ("signIns", "signInsNonInteractive") if have(ds)
                                for o in ev.values(ds)) if s]
        sign_ins = _dedupe(sign_ins, lambda s: s.id)
        if not have("signInsNonInteractive") and not any(g.source == source_of("signInsNonInteractive") for g in gaps):
            # scripted use shows in the non-interactive log only; say that it is missing
            gaps.append(Gap(source=source_of("signInsNonInteractive"), reason="not collected"))

    app = meta.get("app") if isinstance(meta.get("app"), dict) else {}
    granted = app.get("granted_permissions")
    return Posture(
        tenant_id=_s(meta.get("tenant_id")) or _s(org.get("id")),
        tenant_name=_s(org.get("displayName")),
        collected_at=collected,
        window_start=parse_iso(window.get("start")) or collected,
        window_end=parse_iso(window.get("end")) or collected,
        source=_s(meta.get("source")),
        has_p1=p1, has_p2=p2, users=users, registrations=registrations, registration_source=reg_source,
        ca_policies=policies, security_defaults=security_defaults, methods_policy=methods_policy,
        role_assignments=roles, eligible_assignments=eligible, group_members=members, sign_ins=sign_ins,
        granted_permissions=tuple(granted) if isinstance(granted, list) else None,
        gaps=gaps,
        group_names={g["id"]: _s(g.get("displayName")) for ds in ev.datasets("groups") for g in ev.values(ds)
                     if isinstance(g.get("id"), str) and g.get("displayName")},
        domains=tuple(_s(d.get("name")) for d in _list(org.get("verifiedDomains")) if isinstance(d, dict)),
        pages=ev.page_index(),
    )
