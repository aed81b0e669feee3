"""Deterministic demo institutions, written as Graph would return them.

``build_tenant`` makes a tenant (Graph JSON objects per dataset); ``write_evidence`` pages it into
an evidence folder exactly as the live collector stores it; the test fake Graph serves the same
``Tenant`` over HTTPS. Downstream stages read demo evidence exactly as live evidence; only
``collection.json`` (source "demo", and a log that says no request was sent) tells them apart, so
that a report made from it is marked as sample data.
"""
from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reportgen import datasets
from reportgen import model as m
from reportgen.dates import iso_z
from reportgen.dates import now as clock
from reportgen.evidence import GAP_NO_P1, GAP_PERMISSION, EvidenceWriter, permission_for, source_of

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
                             description="the seed article's problems: excluded break-glass on Authenticator, single-factor "
                                         "CLI/PowerShell, automation on a user account, GA without email, phase 2 postponed"),
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
    profile: str = ""             # the demo profile it was made from (recorded in the evidence)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


_iso = iso_z


def collection_time(period: str, now: datetime | None = None) -> datetime:
    """When demo data is 'collected': now (``clock()``; SOURCE_DATE_EPOCH pins it for reproducible
    runs), whatever the period. The period only names the month reported on: capping the time at
    the period's end made a November report produced on 7 December claim it was prepared on
    30 November while its signature said 7 December."""
    del period   # kept in the signature: callers name the month they report on
    return now or clock()


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
ROLE_SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
ROLE_HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
ROLE_CA_ADMIN = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"
ROLE_BACKUP_CONNECTOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
NO_SKU = (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
          "Tenant does not have a SKU required for this feature.")
# (name, id, state) of each method configuration in the authentication methods policy;
# None: enabled where the tenant still allows SMS (problem and security-defaults tenants)
METHOD_CONFIGS = [("fido2", "Fido2", "enabled"), ("microsoftAuthenticator", "MicrosoftAuthenticator", "enabled"),
                  ("sms", "Sms", None), ("voice", "Voice", "disabled"), ("email", "Email", None),
                  ("softwareOath", "SoftwareOath", "enabled"), ("x509Certificate", "X509Certificate", "enabled"),
                  ("temporaryAccessPass", "TemporaryAccessPass", "enabled")]


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


# --------------------------------------------------------------------------- building a tenant
# One function per part of the tenant, called in a fixed order: every random draw happens in the
# same sequence, so the same seed, profile, size and collection time give the same tenant.

@dataclass
class _Build:
    """What the parts of one tenant share while it is built."""
    p: Profile
    rng: random.Random
    now: datetime
    t: Tenant
    domain: str
    onms: str                                                    # the initial onmicrosoft.com domain
    people: list[dict[str, Any]] = field(default_factory=list)   # user objects
    methods: dict[str, list[str]] = field(default_factory=dict)  # user id -> registered method names
    ids: dict[str, str | None] = field(default_factory=dict)     # role in the story -> user id
    sku: str = ""                                                # the tenant's licence SKU, assigned to everyone

    def recent(self) -> datetime:
        return self.now - timedelta(days=self.rng.randint(0, 20), minutes=self.rng.randint(0, 1440))

    def add_user(self, upn, name, *, enabled=True, guest=False, mail="default", meths=None, last=None,
                 created=None, noninteractive=None, other_mails=(), cloud_only=False) -> str:
        rng, now = self.rng, self.now
        uid = _uuid(rng)
        if mail == "default":
            mail = None if upn.endswith(".onmicrosoft.com") or guest else upn
        self.people.append({
            "id": uid, "userPrincipalName": upn, "displayName": name, "mail": mail, "otherMails": list(other_mails),
            "accountEnabled": enabled, "userType": "Guest" if guest else "Member",
            "onPremisesSyncEnabled": None if guest else (rng.random() < 0.3 and not cloud_only),
            "createdDateTime": _iso(created or now - timedelta(days=rng.randint(60, 2000))),
            "signInActivity": {"lastSignInDateTime": None if last is None else _iso(last),
                               "lastNonInteractiveSignInDateTime": None if noninteractive is None else _iso(noninteractive),
                               "lastSuccessfulSignInDateTime": _iso(max(x for x in (last, noninteractive) if x))
                               if last or noninteractive else None},
            "assignedLicenses": [{"disabledPlans": [], "skuId": self.sku}]})
        self.methods[uid] = list(meths if meths is not None else ["microsoftAuthenticatorPush"])
        return uid

    @property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {u["id"]: u for u in self.people}


def build_tenant(profile_name: str, seed: str, period: str, users: int | None = None,
                 now: datetime | None = None) -> Tenant:
    """The demo tenant of ``profile_name`` as Graph would return it at ``now`` (default: the
    period's collection time)."""
    p = PROFILES[profile_name]
    n = users if users is not None else p.users
    rng = random.Random(hashlib.sha256(f"{seed}|{profile_name}|{n}".encode()).hexdigest())
    slug = "".join(ch for ch in seed.lower() if ch.isalnum())[:20] or "demo"
    domain = f"{slug}.example"
    b = _Build(p=p, rng=rng, now=now or collection_time(period), domain=domain, onms=f"{slug}.onmicrosoft.com",
               t=Tenant(tenant_id=_uuid(rng), domain=domain, profile=profile_name))
    _organization(b, seed, n)
    _emergency_accounts(b)
    _administrators(b)
    _staff(b, n)
    b.t.objects["users"] = b.people
    _registration(b)
    _method_objects(b)
    groups = _groups_and_roles(b)
    _conditional_access(b, groups)
    _tenant_policies(b)
    _sign_ins(b, n)
    return b.t


def _organization(b: _Build, seed: str, n: int) -> None:
    t, p, rng = b.t, b.p, b.rng
    t.objects["organization"] = [{"id": t.tenant_id, "displayName": seed, "verifiedDomains": [
        {"name": b.domain, "isDefault": True, "isInitial": False, "type": "Managed"},
        {"name": b.onms, "isDefault": False, "isInitial": True, "type": "Managed"}]}]
    plans = ([{"servicePlanId": m.PLAN_P1, "servicePlanName": "AAD_PREMIUM", "provisioningStatus": "Success",
               "appliesTo": "User"}] if p.p1 else [])
    sku_id, sku = _uuid(rng), _uuid(rng)
    b.sku = sku
    exchange = {"servicePlanId": _uuid(rng), "servicePlanName": "EXCHANGE_S_STANDARD",
                "provisioningStatus": "Success", "appliesTo": "User"}
    t.objects["subscribedSkus"] = [{"id": sku_id, "skuId": sku, "capabilityStatus": "Enabled",
                                    "skuPartNumber": "SPE_E3" if p.p1 else "O365_BUSINESS_PREMIUM",
                                    "consumedUnits": n, "prepaidUnits": {"enabled": n + 10, "suspended": 0, "warning": 0},
                                    "servicePlans": plans + [exchange]}]


def _emergency_accounts(b: _Build) -> None:
    """Two break-glass accounts; how they are protected is what the profiles differ in."""
    p, now, onms = b.p, b.now, b.onms
    # a well-run tenant routes their notices to a monitored mailbox
    alerts = () if p.problems else (f"it-alerts@{b.domain}",)
    if p.problems:      # one on the Authenticator app, both excluded from MFA (below)
        b.ids["bg1"] = b.add_user(f"bg-01@{onms}", "Emergency Access 01", meths=["microsoftAuthenticatorPush"],
                                  last=now - timedelta(days=200), cloud_only=True)
        b.ids["bg2"] = b.add_user(f"bg-02@{onms}", "Emergency Access 02", meths=["fido2SecurityKey"],
                                  last=now - timedelta(days=150), cloud_only=True)
    elif p.security_defaults:   # a single one, with a key and a phone
        b.ids["bg1"] = b.add_user(f"bg-01@{onms}", "Emergency Access 01", meths=["fido2SecurityKey", "mobilePhone"],
                                  last=now - timedelta(days=100), other_mails=alerts, cloud_only=True)
        b.ids["bg2"] = None
    else:
        b.ids["bg1"] = b.add_user(f"bg-01@{onms}", "Emergency Access 01", meths=["fido2SecurityKey"],
                                  last=now - timedelta(days=95), other_mails=alerts, cloud_only=True)
        b.ids["bg2"] = b.add_user(f"bg-02@{onms}", "Emergency Access 02", meths=["x509Certificate", "fido2SecurityKey"],
                                  last=now - timedelta(days=95), other_mails=alerts, cloud_only=True)


def _administrators(b: _Build) -> None:
    """Named administrators, the DevOps engineer, and the accounts some profiles add."""
    p, d = b.p, b.domain
    strong = not (p.problems or p.security_defaults)
    admin_meths = ["fido2SecurityKey", "windowsHelloForBusiness"] if strong else ["microsoftAuthenticatorPush", "mobilePhone"]
    b.ids["ga1"] = b.add_user(f"it.director@{d}", "IT Director", meths=admin_meths, last=b.recent())
    b.ids["ga2"] = b.add_user(f"ga-admin@{d}", "Cloud Administrator", meths=admin_meths, last=b.recent(),
                              mail=None if p.problems else "default")
    b.ids["secadm"] = b.add_user(f"security.officer@{d}", "Information Security Officer", meths=admin_meths,
                                 last=b.recent())
    b.ids["helpdesk"] = b.add_user(f"helpdesk.lead@{d}", "Helpdesk Lead", meths=admin_meths, last=b.recent())
    # eligible Conditional Access Administrator: the phishing-resistant policy will ask them for a key
    b.ids["devops"] = b.add_user(f"cloud.engineer@{d}", "Cloud Engineer",
                                 meths=["microsoftAuthenticatorPush"] + (["fido2SecurityKey"] if strong else []),
                                 last=b.recent())
    b.ids["svc"] = b.ids["kiosk"] = None
    if p.problems:      # automation on a user account, signing in to the Azure CLI without MFA
        b.ids["svc"] = b.add_user(f"svc-deploy@{d}", "Deployment Automation", meths=[], last=None,
                                  noninteractive=b.now - timedelta(hours=5))
    if p.exceptions_case:   # accounts the client has approved exceptions for
        b.ids["kiosk"] = b.add_user(f"kiosk-01@{d}", "Branch Lobby Kiosk", meths=[], last=b.recent())
        b.add_user(f"shared.scanner@{d}", "Shared Scanner Mailbox", meths=[], last=None)


def _staff_methods(p: Profile, unregistered: bool, r: float) -> list[str]:
    if unregistered:
        return []
    if r < 0.55:
        return ["microsoftAuthenticatorPush", "softwareOneTimePasscode"]
    if r < 0.8:
        return ["microsoftAuthenticatorPush"]
    if r < 0.92:
        return ["windowsHelloForBusiness", "microsoftAuthenticatorPush"]
    return ["mobilePhone"] if (p.problems or p.security_defaults) else ["fido2SecurityKey"]


def _staff(b: _Build, n: int) -> None:
    """Everyone else: random names, a few guests, disabled, unregistered and dormant accounts."""
    p, rng = b.p, b.rng
    for i in range(max(0, n - len(b.people))):
        guest = rng.random() < p.guests_pct
        fn, ln = rng.choice(FIRST), rng.choice(LAST)
        upn = (f"{fn.lower()}.{ln.lower()}{i}_partner.example#EXT#@{b.onms}" if guest
               else f"{fn.lower()}.{ln.lower()}{i}@{b.domain}")
        enabled = rng.random() > 0.04
        unregistered = rng.random() < p.unregistered_pct
        meths = _staff_methods(p, unregistered, rng.random())
        dormant = rng.random() < 0.06
        if dormant:
            last = None if rng.random() < 0.5 else b.now - timedelta(days=rng.randint(120, 400))
        else:
            last = b.recent()
        b.add_user(upn, f"{fn} {ln}", enabled=enabled, guest=guest, meths=meths, last=last)


def _registration(b: _Build) -> None:
    """userRegistrationDetails (Entra ID P1 only; disabled users are not listed)."""
    t, methods = b.t, b.methods
    if not b.p.p1:
        t.errors["userRegistrationDetails"] = NO_SKU
        return
    admins = {b.ids[k] for k in ("ga1", "ga2", "secadm", "helpdesk", "bg1", "bg2")}
    t.objects["userRegistrationDetails"] = [{
        "id": u["id"], "userPrincipalName": u["userPrincipalName"], "userDisplayName": u["displayName"],
        "userType": u["userType"].lower(), "isAdmin": u["id"] in admins,
        "isSsprRegistered": bool(methods[u["id"]]), "isSsprEnabled": True, "isSsprCapable": bool(methods[u["id"]]),
        "isMfaRegistered": any(x not in m.NON_MFA_METHODS for x in methods[u["id"]]),
        "isMfaCapable": any(x not in m.NON_MFA_METHODS for x in methods[u["id"]]),
        "isPasswordlessCapable": any(x in m.PHISHING_RESISTANT_METHODS for x in methods[u["id"]]),
        "methodsRegistered": methods[u["id"]], "isSystemPreferredAuthenticationMethodEnabled": True,
        "systemPreferredAuthenticationMethods": methods[u["id"]][:1], "userPreferredMethodForSecondaryAuthentication": "push",
        "lastUpdatedDateTime": _iso(b.now - timedelta(hours=30)), "defaultMfaMethod": "none"}
        for u in b.people if u["accountEnabled"]]


def _method_objects(b: _Build) -> None:
    """/users/{id}/authentication/methods: the password first, then each registered method."""
    b.t.methods = {uid: [{"@odata.type": METHOD_TYPES.get(x, "#microsoft.graph.authenticationMethod"), "id": _uuid(b.rng)}
                         for x in ["password"] + ms]
                   for uid, ms in b.methods.items()}
    for items in b.t.methods.values():
        items[0]["@odata.type"] = "#microsoft.graph.passwordAuthenticationMethod"


def _groups_and_roles(b: _Build) -> dict[str, str]:
    """Groups (break-glass, administrators, kiosks) and directory role assignments; returns the
    group ids by purpose."""
    t, rng, ids, by_id = b.t, b.rng, b.ids, b.by_id
    groups = {"bg": _uuid(rng), "admins": _uuid(rng), "kiosk": _uuid(rng)}
    names = {groups["bg"]: "Emergency Access Accounts", groups["admins"]: "IT Administrators",
             groups["kiosk"]: "Lobby Kiosks"}
    t.groups[groups["bg"]] = [_member(by_id[x]) for x in (ids["bg1"], ids["bg2"]) if x]
    t.groups[groups["admins"]] = [_member(by_id[ids[k]]) for k in ("ga1", "ga2", "secadm")]
    if ids["kiosk"]:   # the kiosk sits in a nested group too
        nested = _uuid(rng)
        t.groups[nested] = [_member(by_id[ids["kiosk"]])]
        names[nested] = "Lobby devices"
        t.groups[groups["kiosk"]] = [{"@odata.type": "#microsoft.graph.group", "id": nested,
                                      "displayName": "Lobby devices"}, _member(by_id[ids["kiosk"]])]
    t.objects["groups"] = [{"id": gid, "displayName": names[gid]} for gid in t.groups]

    ga = m.GLOBAL_ADMIN
    active = [(ga, "bg1"), (ga, "ga1"), (ga, "ga2"), (ROLE_SECURITY_ADMIN, "secadm"), (ROLE_HELPDESK_ADMIN, "helpdesk")]
    if ids["bg2"]:
        active.append((ga, "bg2"))
    t.objects["roleAssignments"] = [{"id": _uuid(rng), "roleDefinitionId": rid, "principalId": ids[who],
                                     "directoryScopeId": "/", "principal": _member(by_id[ids[who]])}
                                    for rid, who in active]
    t.objects["roleAssignments"].append({"id": _uuid(rng), "roleDefinitionId": ROLE_BACKUP_CONNECTOR,
                                         "principalId": _uuid(rng), "directoryScopeId": "/",
                                         "principal": {"@odata.type": "#microsoft.graph.servicePrincipal",
                                                       "id": _uuid(rng), "displayName": "Backup connector"}})
    # every active assignment is permanent (as Graph lists them where the tenant has PIM)
    t.objects["roleAssignmentSchedules"] = [
        {"id": a["id"], "roleDefinitionId": a["roleDefinitionId"], "principalId": a["principalId"],
         "directoryScopeId": "/", "memberType": "Direct", "assignmentType": "Assigned", "status": "Provisioned",
         "scheduleInfo": {"startDateTime": "2024-01-15T00:00:00Z", "expiration": {"type": "noExpiration"}}}
        for a in t.objects["roleAssignments"]]
    t.objects["roleEligibilitySchedules"] = [{"id": _uuid(rng), "roleDefinitionId": ROLE_CA_ADMIN,
                                              "principalId": ids["devops"], "directoryScopeId": "/",
                                              "memberType": "Direct", "status": "Provisioned"}]
    return groups


def _conditional_access(b: _Build, groups: dict[str, str]) -> None:
    p, rng, ids = b.p, b.rng, b.ids
    if p.security_defaults:
        b.t.objects["conditionalAccessPolicies"] = []
        return
    if p.problems:      # MFA for Microsoft 365 and the portals only; legacy block report-only; ARM pilot off
        pol = [_policy(rng, "CA01 Require MFA for Microsoft 365 and admin portals", users={"exclude_groups": [groups["bg"]]},
                       apps=["Office365", "MicrosoftAdminPortals"], grant=["mfa"]),
               _policy(rng, "CA02 Block legacy authentication", state="enabledForReportingButNotEnforced",
                       users={"exclude_groups": [groups["bg"]]}, client_types=("exchangeActiveSync", "other"),
                       grant=["block"]),
               _policy(rng, "CA03 Require MFA for Azure management (pilot)", state="disabled", apps=[m.APP_ARM],
                       grant=["mfa"])]
    else:
        kiosk = ids["kiosk"]
        excl = {"exclude_users": [kiosk], "exclude_groups": [groups["kiosk"]]} if kiosk else {}
        pol = [_policy(rng, "CA01 Require MFA for all users and all apps", users=excl, grant=["mfa"]),
               _policy(rng, "CA02 Block legacy authentication",
                       users={"exclude_users": [x for x in (ids["bg1"], ids["bg2"]) if x]},
                       client_types=("exchangeActiveSync", "other"), grant=["block"]),
               _policy(rng, "CA03 Phishing-resistant MFA for administrators",
                       users={"include_users": [], "include_roles": list(m.PRIVILEGED_ROLES)},
                       strength=m.STRENGTH_PHISHING_RESISTANT),
               _policy(rng, "CA04 Secure security info registration", user_actions=["urn:user:registersecurityinfo"],
                       apps=[], grant=["mfa"])]
    b.t.objects["conditionalAccessPolicies"] = pol


def _tenant_policies(b: _Build) -> None:
    """Named locations, security defaults and the authentication methods policy."""
    t, p = b.t, b.p
    t.objects["namedLocations"] = [{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": _uuid(b.rng),
                                    "displayName": "Head office", "isTrusted": True,
                                    "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange",
                                                  "cidrAddress": "198.51.100.0/24"}]}]
    t.objects["securityDefaults"] = {
        "@odata.context": f"{GRAPH}/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
        "id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
        "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
        "isEnabled": p.security_defaults}
    sms = "enabled" if (p.problems or p.security_defaults) else "disabled"
    t.objects["authenticationMethodsPolicy"] = {
        "@odata.context": f"{GRAPH}/v1.0/$metadata#authenticationMethodsPolicy", "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy", "policyVersion": "1.5",
        "authenticationMethodConfigurations": [
            # Graph returns each method's targets; email OTP stays available to external users only
            {"@odata.type": f"#microsoft.graph.{k}AuthenticationMethodConfiguration", "id": cid, "state": st or sms,
             "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}],
             "excludeTargets": [], **({"allowExternalIdToUseEmailOtp": "enabled"} if k == "email" else {})}
            for k, cid, st in METHOD_CONFIGS]}


def _sign_ins(b: _Build, n: int) -> None:
    """Sign-ins to the mandatory-MFA apps in the lookback window (Entra ID P1 only)."""
    t, p, rng, now, ids, by_id = b.t, b.p, b.rng, b.now, b.ids, b.by_id
    if not p.p1:
        for ds in ("signIns", "signInsNonInteractive"):
            t.errors[ds] = NO_SKU
        for u in b.people:
            u.pop("signInActivity", None)
        return
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

    def within_window() -> datetime:
        return now - timedelta(days=rng.randint(0, 29), minutes=rng.randint(0, 1400))

    admins = [ids[k] for k in ("ga1", "ga2", "secadm", "helpdesk")]
    for _ in range(max(6, n // 40)):
        who = rng.choice(admins)
        signin(who, m.APP_AZURE_PORTAL, within_window())
    for _ in range(max(3, n // 100)):
        signin(ids["devops"], m.APP_AZURE_CLI, within_window(), mfa=not p.problems)
    if p.problems:
        for _ in range(4):
            when = now - timedelta(days=rng.randint(0, 29), hours=rng.randint(0, 23))
            signin(ids["ga2"], m.APP_AZURE_POWERSHELL, when, mfa=False)
        for h in range(0, 24 * 28, 6):
            signin(ids["svc"], m.APP_AZURE_CLI, now - timedelta(hours=h + 2), mfa=False, interactive=False)
        signin(ids["ga1"], m.APP_AZURE_MOBILE, now - timedelta(days=3), mfa=True)
    sis.sort(key=lambda s: s["createdDateTime"], reverse=True)
    t.objects["signIns"] = [s for s in sis if s["isInteractive"]]
    t.objects["signInsNonInteractive"] = [s for s in sis if not s["isInteractive"]]


def _member(u: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.user", "id": u["id"], "userPrincipalName": u["userPrincipalName"],
            "displayName": u["displayName"]}


GROUP_NAME_CHUNK = 15   # Graph accepts at most 15 values in an `id in (...)` filter
PAGE_SIZE = {datasets.USERS: 999, datasets.REGISTRATION: 999, datasets.SIGN_INS: 1000,
             datasets.SIGN_INS_NON_INTERACTIVE: 1000, datasets.ROLE_ASSIGNMENTS: 999, datasets.GROUP_MEMBERS: 999}
DEMO_NOTE = ("Demo collection: a synthetic tenant generated offline by reportgen; no request was sent to "
             "Microsoft Graph and no app registration was used. Each stored page has the shape of the Graph "
             "response named by its URL.")


def request_url(dataset: str) -> str:
    """The Graph request a live collection makes for ``dataset`` (what a demo page stands for)."""
    base, _, key = dataset.partition(".")
    if base == datasets.GROUP_MEMBERS:
        return f"{GRAPH}/v1.0/groups/{key}/transitiveMembers"
    if base in (datasets.SIGN_INS, datasets.SIGN_INS_NON_INTERACTIVE):
        return f"{GRAPH}/beta/auditLogs/signIns"
    if base == datasets.USER_METHODS:
        return f"{GRAPH}/v1.0/$batch"
    return f"{GRAPH}/v1.0/{datasets.source_of(base)}"


def _pages(dataset: str, items: list[dict[str, Any]], size: int) -> list[tuple[str, bytes]]:
    """(URL, body) of each page, chained by @odata.nextLink as Graph pages them."""
    out = []
    url = request_url(dataset)
    for start in range(0, max(len(items), 1), size):
        page: dict[str, Any] = {"@odata.context": f"{GRAPH}/v1.0/$metadata#{dataset}", "value": items[start:start + size]}
        if start + size < len(items):
            page["@odata.nextLink"] = f"{request_url(dataset)}?$skiptoken=demo{start + size}"
        out.append((url, json.dumps(page, separators=(",", ":")).encode()))
        url = page.get("@odata.nextLink", url)
    return out


class _DemoLog:
    """Writes each synthetic page to the evidence folder and says so in log.jsonl, one line per page,
    with the fields of a live request's line (no request id or timing: nothing was sent)."""

    def __init__(self, writer: EvidenceWriter, when: str):
        self.writer, self.when = writer, when

    def page(self, dataset: str, url: str, body: bytes, method: str = "GET") -> None:
        rel = self.writer.add_page(dataset, body, url=request_url(dataset))
        self.writer.log(ts=self.when, event="demo", dataset=dataset, method=method, url=url, status=200,
                        bytes=len(body), page=rel)

    def gap(self, source: str, dataset: str, reason: str, status: int, code: str) -> None:
        self.writer.add_gap(source, reason, status=status, code=code)
        self.writer.log(ts=self.when, event="demo", dataset=dataset, method="GET", url=request_url(dataset),
                        status=status, code=code, gap=reason)


def write_evidence(t: Tenant, writer: EvidenceWriter, *, lookback_days: int, collected_at: datetime) -> dict[str, Any]:
    """Store a demo tenant exactly as the Graph collector would, gaps included, and log what was
    done: which synthetic page stands for which Graph request."""
    when = _iso(collected_at)
    log = _DemoLog(writer, when)
    writer.log(ts=when, event="start", source="demo", profile=t.profile or None, tenant_id=t.tenant_id, note=DEMO_NOTE)
    users_size = 500 if any("signInActivity" in u for u in t.objects.get(datasets.USERS, [])) else 999
    for ds in (datasets.ORGANIZATION, datasets.SUBSCRIBED_SKUS, datasets.USERS, datasets.REGISTRATION,
               datasets.CA_POLICIES, datasets.NAMED_LOCATIONS, datasets.ROLE_ASSIGNMENTS, datasets.ROLE_ELIGIBILITY,
               datasets.ROLE_SCHEDULES, datasets.SIGN_INS, datasets.SIGN_INS_NON_INTERACTIVE):
        if ds in t.errors:
            status, code, msg = t.errors[ds]
            reason = (GAP_NO_P1 if code.startswith("Authentication_RequestFromNonPremium") else
                      GAP_PERMISSION.format(perm=permission_for(ds)) if code == "Authorization_RequestDenied" else msg)
            log.gap(source_of(ds), ds, reason, status, code)
            continue
        size = users_size if ds == datasets.USERS else PAGE_SIZE.get(ds, 999)
        for url, body in _pages(ds, t.objects.get(ds, []), size):
            log.page(ds, url, body)
    if datasets.USERS in t.objects and not any("signInActivity" in u for u in t.objects[datasets.USERS]):
        log.gap(datasets.USERS_SIGN_IN_ACTIVITY, datasets.USERS, GAP_NO_P1, 403,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant")
    for ds in (datasets.SECURITY_DEFAULTS, datasets.METHODS_POLICY):
        log.page(ds, request_url(ds), json.dumps(t.objects[ds], separators=(",", ":")).encode())
    for gid in sorted(t.groups):
        for url, body in _pages(f"{datasets.GROUP_MEMBERS}.{gid}", t.groups[gid], PAGE_SIZE[datasets.GROUP_MEMBERS]):
            log.page(f"{datasets.GROUP_MEMBERS}.{gid}", url, body)
    wanted = sorted(t.groups)
    for n, start in enumerate(range(0, len(wanted), GROUP_NAME_CHUNK)):
        chunk = set(wanted[start:start + GROUP_NAME_CHUNK])
        named = [g for g in t.objects.get(datasets.GROUPS, []) if g["id"] in chunk]
        for url, body in _pages(datasets.GROUPS, named, 999):
            log.page(f"{datasets.GROUPS}.{n + 1}", url, body)
    if datasets.REGISTRATION in t.errors:
        # Fallback: per-user methods through $batch, 20 per call, answers as Graph returns them.
        ids = [u["id"] for u in t.objects[datasets.USERS]]
        for start in range(0, len(ids), 20):
            chunk = ids[start:start + 20]
            body = {"responses": [{"id": uid, "status": 200, "headers": {"Content-Type": "application/json"},
                                   "body": {"@odata.context": f"{GRAPH}/v1.0/$metadata#users('{uid}')/authentication/methods",
                                            "value": t.methods.get(uid, [])}} for uid in chunk]}
            log.page(datasets.USER_METHODS, request_url(datasets.USER_METHODS),
                     json.dumps(body, separators=(",", ":")).encode(), method="POST")
    status = "partial" if writer.gaps else "complete"
    writer.log(ts=when, event="end", status=status, gaps=len(writer.gaps))
    return writer.close(status, source="demo", tenant_id=t.tenant_id, collected_at=when,
                        window={"start": _iso(collected_at - timedelta(days=lookback_days)), "end": when},
                        lookback_days=lookback_days, note=DEMO_NOTE, demo_profile=t.profile or None,
                        app={"client_id": None, "granted_permissions": None,
                             "note": "none: demo data is generated offline, without an app registration"},
                        graph_endpoint=GRAPH)


assert set(PAGE_SIZE) <= set(datasets.BY_NAME)
