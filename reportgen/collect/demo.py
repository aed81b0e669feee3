"""Deterministic demo institutions, written as Graph would return them.

``build_tenant`` makes a tenant (Graph JSON objects per dataset); ``write_evidence`` pages it into
an evidence folder exactly as the live collector stores it; the test fake Graph serves the same
``Tenant`` over HTTPS. Nothing downstream can tell demo from live.
"""
from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from reportgen import model as m
from reportgen.dates import iso_z
from reportgen.evidence import GAP_NO_P1, GAP_PERMISSION, DATASETS, EvidenceWriter, permission_for, source_of

GRAPH = "https://graph.microsoft.com"


@dataclass(frozen=True)
class Profile:
    users: int
    p1: bool = True
    problems: bool = False        # the seed article's credit union
    security_defaults: bool = False
    exceptions_case: bool = False
    guests_pct: float = 0.04
    unregistered_pct: float = 0.0
    description: str = ""


PROFILES: dict[str, Profile] = {
    "ready": Profile(users=60, description="well-run: MFA for everyone, phishing-resistant admins, two FIDO2 break-glass accounts"),
    "seed-problems": Profile(users=140, problems=True, unregistered_pct=0.08,
                             description="the seed article's problems: excluded break-glass on Authenticator, single-factor CLI/PowerShell, automation on a user account, GA without email, phase 2 postponed"),
    "no-p1": Profile(users=25, p1=False, security_defaults=True, unregistered_pct=0.08,
                     description="small lender without Entra ID P1, on security defaults"),
    "large": Profile(users=5000, unregistered_pct=0.03, description="5,000 users, mostly well configured"),
    "exceptions": Profile(users=80, exceptions_case=True,
                          description="exceptions approved by the Qualified Individual, one expired"),
    "typical": Profile(users=500, unregistered_pct=0.05, description="a typical 500-user institution (bench)"),
}

FIRST = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farah", "Gabe", "Hana", "Ian", "Jada", "Kofi", "Lena",
         "Marco", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Yara", "Zoe"]
LAST = ["Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones", "Kim",
        "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Reyes", "Singh", "Turner", "Vargas", "Walsh", "Young"]


@dataclass
class Tenant:
    """Graph JSON objects per dataset; a dataset missing from ``objects`` answers with ``errors``."""
    tenant_id: str
    domain: str
    objects: dict[str, Any] = field(default_factory=dict)       # dataset -> list | dict
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # group id -> transitive members
    methods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # user id -> auth methods
    errors: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # dataset -> (status, code, message)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


_iso = iso_z


def collection_time(period: str) -> datetime:
    """Demo data is 'collected' at 06:00 UTC on the first day after the period: reproducible."""
    y, mo = map(int, period.split("-"))
    y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
    return datetime(y, mo, 1, 6, 0, tzinfo=timezone.utc)


METHOD_TYPES = {
    "fido2SecurityKey": "#microsoft.graph.fido2AuthenticationMethod",
    "windowsHelloForBusiness": "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod",
    "microsoftAuthenticatorPush": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
    "softwareOneTimePasscode": "#microsoft.graph.softwareOathAuthenticationMethod",
    "mobilePhone": "#microsoft.graph.phoneAuthenticationMethod",
    "email": "#microsoft.graph.emailAuthenticationMethod",
    "x509Certificate": "#microsoft.graph.x509CertificateAuthenticationMethod",
    "temporaryAccessPass": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
}


def _policy(rng, name, state="enabled", users=None, apps=None, grant=None, strength=None, client_types=("all",),
            user_actions=None) -> dict[str, Any]:
    users = users or {}
    return {
        "id": _uuid(rng), "displayName": name, "state": state,
        "createdDateTime": "2024-03-01T10:00:00Z", "modifiedDateTime": "2026-06-01T10:00:00Z",
        "conditions": {
            "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": list(client_types),
            "platforms": None, "locations": None, "devices": None,
            "applications": {"includeApplications": list(apps or ([] if user_actions else ["All"])),
                             "excludeApplications": [], "includeUserActions": list(user_actions or []),
                             "includeAuthenticationContextClassReferences": []},
            "users": {"includeUsers": users.get("include_users", ["All"]),
                      "excludeUsers": users.get("exclude_users", []),
                      "includeGroups": users.get("include_groups", []),
                      "excludeGroups": users.get("exclude_groups", []),
                      "includeRoles": users.get("include_roles", []),
                      "excludeRoles": users.get("exclude_roles", []),
                      "includeGuestsOrExternalUsers": None, "excludeGuestsOrExternalUsers": None},
        },
        "grantControls": None if grant is None and strength is None else {
            "operator": "OR", "builtInControls": list(grant or []), "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength": None if strength is None else {
                "id": strength, "displayName": {m.STRENGTH_MFA: "Multifactor authentication",
                                                m.STRENGTH_PHISHING_RESISTANT: "Phishing-resistant MFA"}.get(strength, "Custom"),
                "policyType": "builtIn", "requirementsSatisfied": "mfa", "allowedCombinations": []}},
        "sessionControls": None,
    }


def build_tenant(profile_name: str, seed: str, period: str, users: int | None = None) -> Tenant:
    p = PROFILES[profile_name]
    n = users if users is not None else p.users
    rng = random.Random(hashlib.sha256(f"{seed}|{profile_name}|{n}".encode()).hexdigest())
    now = collection_time(period)
    slug = "".join(ch for ch in seed.lower() if ch.isalnum())[:20] or "demo"
    domain = f"{slug}.example"
    onms = f"{slug}.onmicrosoft.com"
    t = Tenant(tenant_id=_uuid(rng), domain=domain)
    t.objects["organization"] = [{"id": t.tenant_id, "displayName": seed, "verifiedDomains": [
        {"name": domain, "isDefault": True, "isInitial": False, "type": "Managed"},
        {"name": onms, "isDefault": False, "isInitial": True, "type": "Managed"}]}]
    plans = [{"servicePlanId": m.PLAN_P1, "servicePlanName": "AAD_PREMIUM", "provisioningStatus": "Success", "appliesTo": "User"}] if p.p1 else []
    sku_id = _uuid(rng)
    t.objects["subscribedSkus"] = [{"id": _uuid(rng), "skuId": sku_id, "capabilityStatus": "Enabled",
                                    "skuPartNumber": "SPE_E3" if p.p1 else "O365_BUSINESS_PREMIUM",
                                    "consumedUnits": n, "prepaidUnits": {"enabled": n + 10, "suspended": 0, "warning": 0},
                                    "servicePlans": plans + [{"servicePlanId": _uuid(rng), "servicePlanName": "EXCHANGE_S_STANDARD",
                                                              "provisioningStatus": "Success", "appliesTo": "User"}]}]

    people: list[dict[str, Any]] = []   # user objects
    methods: dict[str, list[str]] = {}  # user id -> registered method names

    def add_user(upn, name, *, enabled=True, guest=False, mail="default", meths=None, last=None, created=None,
                 noninteractive=None, other_mails=(), cloud_only=False):
        uid = _uuid(rng)
        if mail == "default":
            mail = None if upn.endswith(".onmicrosoft.com") or guest else upn
        people.append({"id": uid, "userPrincipalName": upn, "displayName": name, "mail": mail, "otherMails": list(other_mails),
                       "accountEnabled": enabled, "userType": "Guest" if guest else "Member",
                       "onPremisesSyncEnabled": None if guest else (rng.random() < 0.3 and not cloud_only),
                       "createdDateTime": _iso(created or now - timedelta(days=rng.randint(60, 2000))),
                       "signInActivity": {"lastSignInDateTime": None if last is None else _iso(last),
                                          "lastNonInteractiveSignInDateTime": None if noninteractive is None else _iso(noninteractive),
                                          "lastSuccessfulSignInDateTime": _iso(max(t for t in (last, noninteractive) if t))
                                          if last or noninteractive else None},
                       "assignedLicenses": [{"disabledPlans": [], "skuId": sku_id}]})
        methods[uid] = list(meths if meths is not None else ["microsoftAuthenticatorPush"])
        return uid

    recent = lambda: now - timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 1440))  # noqa: E731
    # Emergency access accounts: a well-run tenant routes their notices to a monitored mailbox
    alerts = () if p.problems else (f"it-alerts@{domain}",)
    if p.problems:
        bg1 = add_user(f"bg-01@{onms}", "Emergency Access 01", meths=["microsoftAuthenticatorPush"], last=now - timedelta(days=200),
                       cloud_only=True)
        bg2 = add_user(f"bg-02@{onms}", "Emergency Access 02", meths=["fido2SecurityKey"], last=now - timedelta(days=150),
                       cloud_only=True)
    elif p.security_defaults:
        bg1 = add_user(f"bg-01@{onms}", "Emergency Access 01", meths=["fido2SecurityKey", "mobilePhone"],
                       last=now - timedelta(days=100), other_mails=alerts, cloud_only=True)
        bg2 = None
    else:
        bg1 = add_user(f"bg-01@{onms}", "Emergency Access 01", meths=["fido2SecurityKey"], last=now - timedelta(days=95),
                       other_mails=alerts, cloud_only=True)
        bg2 = add_user(f"bg-02@{onms}", "Emergency Access 02", meths=["x509Certificate", "fido2SecurityKey"],
                       last=now - timedelta(days=95), other_mails=alerts, cloud_only=True)

    # Administrators
    admin_meths = (["fido2SecurityKey", "windowsHelloForBusiness"] if not (p.problems or p.security_defaults)
                   else ["microsoftAuthenticatorPush", "mobilePhone"])
    ga1 = add_user(f"it.director@{domain}", "IT Director", meths=admin_meths, last=recent())
    ga2 = add_user(f"ga-admin@{domain}", "Cloud Administrator", meths=admin_meths, last=recent(),
                   mail=None if p.problems else "default")
    secadm = add_user(f"security.officer@{domain}", "Information Security Officer", meths=admin_meths, last=recent())
    helpdesk = add_user(f"helpdesk.lead@{domain}", "Helpdesk Lead", meths=admin_meths, last=recent())
    # Automation / devops
    svc = None
    devops = add_user(f"cloud.engineer@{domain}", "Cloud Engineer", last=recent(),   # eligible Conditional Access Admin
                      meths=["microsoftAuthenticatorPush"] + ([] if p.problems or p.security_defaults else ["fido2SecurityKey"]))
    if p.problems:
        svc = add_user(f"svc-deploy@{domain}", "Deployment Automation", meths=[], last=None, noninteractive=now - timedelta(hours=5))
    kiosk = None
    if p.exceptions_case:
        kiosk = add_user(f"kiosk-01@{domain}", "Branch Lobby Kiosk", meths=[], last=recent())
        add_user(f"shared.scanner@{domain}", "Shared Scanner Mailbox", meths=[], last=None)

    specials = len(people)
    for i in range(max(0, n - specials)):
        guest = rng.random() < p.guests_pct
        fn, ln = rng.choice(FIRST), rng.choice(LAST)
        upn = (f"{fn.lower()}.{ln.lower()}{i}_partner.example#EXT#@{onms}" if guest
               else f"{fn.lower()}.{ln.lower()}{i}@{domain}")
        enabled = rng.random() > 0.04
        unreg = rng.random() < p.unregistered_pct
        r = rng.random()
        meths = ([] if unreg else
                 ["microsoftAuthenticatorPush", "softwareOneTimePasscode"] if r < 0.55 else
                 ["microsoftAuthenticatorPush"] if r < 0.8 else
                 ["windowsHelloForBusiness", "microsoftAuthenticatorPush"] if r < 0.92 else
                 ["mobilePhone"] if (p.problems or p.security_defaults) else ["fido2SecurityKey"])
        dormant = rng.random() < 0.06
        last = None if (dormant and rng.random() < 0.5) else (now - timedelta(days=rng.randint(120, 400)) if dormant else recent())
        add_user(upn, f"{fn} {ln}", enabled=enabled, guest=guest, meths=meths, last=last)

    t.objects["users"] = people
    by_id = {u["id"]: u for u in people}
    # Registration details (P1) — disabled users are not listed
    if p.p1:
        t.objects["userRegistrationDetails"] = [{
            "id": u["id"], "userPrincipalName": u["userPrincipalName"], "userDisplayName": u["displayName"],
            "userType": u["userType"].lower(), "isAdmin": u["id"] in (ga1, ga2, secadm, helpdesk, bg1, bg2),
            "isSsprRegistered": bool(methods[u["id"]]), "isSsprEnabled": True, "isSsprCapable": bool(methods[u["id"]]),
            "isMfaRegistered": any(x not in m.NON_MFA_METHODS for x in methods[u["id"]]),
            "isMfaCapable": any(x not in m.NON_MFA_METHODS for x in methods[u["id"]]),
            "isPasswordlessCapable": any(x in m.PHISHING_RESISTANT_METHODS for x in methods[u["id"]]),
            "methodsRegistered": methods[u["id"]], "isSystemPreferredAuthenticationMethodEnabled": True,
            "systemPreferredAuthenticationMethods": methods[u["id"]][:1], "userPreferredMethodForSecondaryAuthentication": "push",
            "lastUpdatedDateTime": _iso(now - timedelta(hours=30)), "defaultMfaMethod": "none"}
            for u in people if u["accountEnabled"]]
    else:
        t.errors["userRegistrationDetails"] = (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                                               "Tenant does not have a SKU required for this feature.")
    t.methods = {uid: [{"@odata.type": METHOD_TYPES.get(x, "#microsoft.graph.authenticationMethod"), "id": _uuid(rng)}
                       for x in ["password"] + ms if x != "password" or True]
                 for uid, ms in methods.items()}
    for uid in t.methods:  # the password method is always there
        t.methods[uid][0]["@odata.type"] = "#microsoft.graph.passwordAuthenticationMethod"

    # Groups and roles
    g_bg, g_admins, g_kiosk = _uuid(rng), _uuid(rng), _uuid(rng)
    names = {g_bg: "Emergency Access Accounts", g_admins: "IT Administrators", g_kiosk: "Lobby Kiosks"}
    t.groups[g_bg] = [_member(by_id[x]) for x in (bg1, bg2) if x]
    t.groups[g_admins] = [_member(by_id[x]) for x in (ga1, ga2, secadm)]
    if kiosk:
        nested = _uuid(rng)
        t.groups[nested] = [_member(by_id[kiosk])]
        names[nested] = "Lobby devices"
        t.groups[g_kiosk] = [{"@odata.type": "#microsoft.graph.group", "id": nested, "displayName": "Lobby devices"},
                             _member(by_id[kiosk])]
    t.objects["groups"] = [{"id": gid, "displayName": names[gid]} for gid in t.groups]
    ga = m.GLOBAL_ADMIN
    assignments = [(ga, bg1), (ga, ga1), (ga, ga2), ("194ae4cb-b126-40b2-bd5b-6091b380977d", secadm),
                   ("729827e3-9c14-49f7-bb1b-9608f156bbb8", helpdesk)]
    if bg2:
        assignments.append((ga, bg2) if not p.problems else (ga, bg2))
    t.objects["roleAssignments"] = [{"id": _uuid(rng), "roleDefinitionId": rid, "principalId": pid,
                                     "directoryScopeId": "/", "principal": _member(by_id[pid])}
                                    for rid, pid in assignments]
    t.objects["roleAssignments"].append({"id": _uuid(rng), "roleDefinitionId": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
                                         "principalId": _uuid(rng), "directoryScopeId": "/",
                                         "principal": {"@odata.type": "#microsoft.graph.servicePrincipal",
                                                       "id": _uuid(rng), "displayName": "Backup connector"}})
    t.objects["roleEligibilitySchedules"] = [{"id": _uuid(rng), "roleDefinitionId": "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
                                              "principalId": devops, "directoryScopeId": "/", "memberType": "Direct",
                                              "status": "Provisioned"}]

    # Conditional Access
    pol: list[dict[str, Any]] = []
    if p.security_defaults:
        t.objects["conditionalAccessPolicies"] = []
    elif p.problems:
        pol.append(_policy(rng, "CA01 Require MFA for Microsoft 365 and admin portals",
                           users={"exclude_groups": [g_bg]}, apps=["Office365", "MicrosoftAdminPortals"], grant=["mfa"]))
        pol.append(_policy(rng, "CA02 Block legacy authentication", state="enabledForReportingButNotEnforced",
                           users={"exclude_groups": [g_bg]}, client_types=("exchangeActiveSync", "other"), grant=["block"]))
        pol.append(_policy(rng, "CA03 Require MFA for Azure management (pilot)", state="disabled",
                           apps=[m.APP_ARM], grant=["mfa"]))
    else:
        excl = {"exclude_users": [kiosk]} if kiosk else {}
        if kiosk:
            excl["exclude_groups"] = [g_kiosk]
        pol.append(_policy(rng, "CA01 Require MFA for all users and all apps", users=excl, grant=["mfa"]))
        pol.append(_policy(rng, "CA02 Block legacy authentication", users={"exclude_users": [x for x in (bg1, bg2) if x]},
                           client_types=("exchangeActiveSync", "other"), grant=["block"]))
        pol.append(_policy(rng, "CA03 Phishing-resistant MFA for administrators",
                           users={"include_users": [], "include_roles": list(m.PRIVILEGED_ROLES)[:14]},
                           strength=m.STRENGTH_PHISHING_RESISTANT))
        pol.append(_policy(rng, "CA04 Secure security info registration", user_actions=["urn:user:registersecurityinfo"],
                           apps=[], grant=["mfa"]))
    if pol:
        t.objects["conditionalAccessPolicies"] = pol
    t.objects["namedLocations"] = [{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": _uuid(rng),
                                    "displayName": "Head office", "isTrusted": True,
                                    "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}]}]
    t.objects["securityDefaults"] = {"@odata.context": f"{GRAPH}/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
                                     "id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
                                     "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
                                     "isEnabled": p.security_defaults}
    sms_state = "enabled" if (p.problems or p.security_defaults) else "disabled"
    t.objects["authenticationMethodsPolicy"] = {
        "@odata.context": f"{GRAPH}/v1.0/$metadata#authenticationMethodsPolicy", "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy", "policyVersion": "1.5",
        "authenticationMethodConfigurations": [
            {"@odata.type": f"#microsoft.graph.{k}AuthenticationMethodConfiguration", "id": cid, "state": st}
            for k, cid, st in [("fido2", "Fido2", "enabled"), ("microsoftAuthenticator", "MicrosoftAuthenticator", "enabled"),
                               ("sms", "Sms", sms_state), ("voice", "Voice", "disabled"), ("email", "Email", "enabled"),
                               ("softwareOath", "SoftwareOath", "enabled"), ("x509Certificate", "X509Certificate", "enabled"),
                               ("temporaryAccessPass", "TemporaryAccessPass", "enabled")]]}

    # Sign-ins to the mandatory-MFA apps (P1 only)
    if p.p1:
        sis: list[dict[str, Any]] = []

        def signin(uid, app, when, mfa=True, interactive=True, ok=True):
            u = by_id[uid]
            sis.append({"id": _uuid(rng), "createdDateTime": _iso(when), "userId": uid,
                        "userPrincipalName": u["userPrincipalName"], "userDisplayName": u["displayName"],
                        "appId": app, "appDisplayName": m.SIGNIN_APPS.get(app, "app"),
                        "resourceId": m.APP_ARM if app in m.PHASE2_APPS else app,
                        "resourceDisplayName": "Windows Azure Service Management API",
                        "clientAppUsed": "Mobile Apps and Desktop clients" if app in m.PHASE2_APPS else "Browser",
                        "isInteractive": interactive,
                        "signInEventTypes": ["interactiveUser" if interactive else "nonInteractiveUser"],
                        "authenticationRequirement": "multiFactorAuthentication" if mfa else "singleFactorAuthentication",
                        "conditionalAccessStatus": "success" if mfa else "notApplied",
                        "status": {"errorCode": 0 if ok else 50126, "failureReason": None if ok else "Invalid username or password"}})
        admins = [ga1, ga2, secadm, helpdesk]
        for _ in range(max(6, n // 40)):
            signin(rng.choice(admins), m.APP_AZURE_PORTAL, now - timedelta(days=rng.randint(0, 29), minutes=rng.randint(0, 1400)))
        for _ in range(max(3, n // 100)):
            signin(devops, m.APP_AZURE_CLI, now - timedelta(days=rng.randint(0, 29), minutes=rng.randint(0, 1400)),
                   mfa=not p.problems)
        if p.problems:
            for _ in range(4):
                signin(ga2, m.APP_AZURE_POWERSHELL, now - timedelta(days=rng.randint(0, 29), hours=rng.randint(0, 23)), mfa=False)
            for h in range(0, 24 * 28, 6):
                signin(svc, m.APP_AZURE_CLI, now - timedelta(hours=h + 2), mfa=False, interactive=False)
            signin(ga1, m.APP_AZURE_MOBILE, now - timedelta(days=3), mfa=True)
        sis.sort(key=lambda s: s["createdDateTime"], reverse=True)
        t.objects["signIns"] = [s for s in sis if s["isInteractive"]]
        t.objects["signInsNonInteractive"] = [s for s in sis if not s["isInteractive"]]
    else:
        for ds in ("signIns", "signInsNonInteractive"):
            t.errors[ds] = (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                            "Tenant does not have a SKU required for this feature.")
        for u in people:
            u.pop("signInActivity", None)
    return t


def _member(u: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.user", "id": u["id"], "userPrincipalName": u["userPrincipalName"],
            "displayName": u["displayName"]}


GROUP_NAME_CHUNK = 15   # Graph accepts at most 15 values in an `id in (...)` filter
PAGE_SIZE = {"users": 999, "userRegistrationDetails": 999, "signIns": 1000, "signInsNonInteractive": 1000,
             "roleAssignments": 999, "groupMembers": 999}


def _pages(dataset: str, items: list[dict[str, Any]], size: int) -> list[bytes]:
    out = []
    path = source_of(dataset)
    for start in range(0, max(len(items), 1), size):
        page: dict[str, Any] = {"@odata.context": f"{GRAPH}/v1.0/$metadata#{dataset}", "value": items[start:start + size]}
        if start + size < len(items):
            page["@odata.nextLink"] = f"{GRAPH}/v1.0/{path}?$skiptoken=demo{start + size}"
        out.append(json.dumps(page, separators=(",", ":")).encode())
    return out


def write_evidence(t: Tenant, writer: EvidenceWriter, *, lookback_days: int, collected_at: datetime) -> dict[str, Any]:
    """Store a demo tenant exactly as the Graph collector would, gaps included."""
    users_size = 500 if any("signInActivity" in u for u in t.objects.get("users", [])) else 999
    for ds in ("organization", "subscribedSkus", "users", "userRegistrationDetails", "conditionalAccessPolicies",
               "namedLocations", "roleAssignments", "roleEligibilitySchedules", "signIns", "signInsNonInteractive"):
        if ds in t.errors:
            status, code, msg = t.errors[ds]
            reason = (GAP_NO_P1 if code.startswith("Authentication_RequestFromNonPremium") else
                      GAP_PERMISSION.format(perm=permission_for(ds)) if code == "Authorization_RequestDenied" else msg)
            writer.add_gap(source_of(ds), reason, status=status, code=code)
            continue
        size = users_size if ds == "users" else PAGE_SIZE.get(ds, 999)
        for body in _pages(ds, t.objects.get(ds, []), size):
            writer.add_page(ds, body)
    if "users" in t.objects and not any("signInActivity" in u for u in t.objects["users"]):
        writer.add_gap("users.signInActivity", GAP_NO_P1, status=403,
                       code="Authentication_RequestFromNonPremiumTenantOrB2CTenant")
    for ds in ("securityDefaults", "authenticationMethodsPolicy"):
        writer.add_page(ds, json.dumps(t.objects[ds], separators=(",", ":")).encode())
    for gid in sorted(t.groups):
        for body in _pages(f"groupMembers.{gid}", t.groups[gid], PAGE_SIZE["groupMembers"]):
            writer.add_page(f"groupMembers.{gid}", body)
    wanted = sorted(t.groups)
    for n, start in enumerate(range(0, len(wanted), GROUP_NAME_CHUNK)):
        chunk = set(wanted[start:start + GROUP_NAME_CHUNK])
        for body in _pages("groups", [g for g in t.objects.get("groups", []) if g["id"] in chunk], 999):
            writer.add_page(f"groups.{n + 1}", body)
    if "userRegistrationDetails" in t.errors:
        # Fallback: per-user methods through $batch, 20 per call, answers as Graph returns them.
        ids = [u["id"] for u in t.objects["users"]]
        for start in range(0, len(ids), 20):
            chunk = ids[start:start + 20]
            body = {"responses": [{"id": uid, "status": 200, "headers": {"Content-Type": "application/json"},
                                   "body": {"@odata.context": f"{GRAPH}/v1.0/$metadata#users('{uid}')/authentication/methods",
                                            "value": t.methods.get(uid, [])}} for uid in chunk]}
            writer.add_page("userMethods", json.dumps(body, separators=(",", ":")).encode())
    status = "partial" if writer.gaps else "complete"
    return writer.close(status, source="demo", tenant_id=t.tenant_id, collected_at=_iso(collected_at),
                        window={"start": _iso(collected_at - timedelta(days=lookback_days)), "end": _iso(collected_at)},
                        lookback_days=lookback_days,
                        app={"client_id": None, "granted_permissions": None},
                        graph_endpoint=GRAPH)


assert set(PAGE_SIZE) <= set(DATASETS)
