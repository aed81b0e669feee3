"""Plain typed objects passed between pipeline stages.

A field that is ``None`` means "not collected" (the reason is in ``Posture.gaps``);
an empty collection means "collected, and there was nothing". Checks rely on this
distinction to never pass on data that did not arrive.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


# Role template ids, most powerful first.
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLES: dict[str, str] = {
    GLOBAL_ADMIN: "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
    "b0f54661-2d74-4c50-afa3-1ec803f12efe": "Billing Administrator",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
    "e3973bdf-4987-49ae-837a-ba8e231c7286": "Azure DevOps Administrator",
    "9f06204d-73c1-4d4c-880a-6edb90606fd8": "Azure AD Joined Device Local Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
    "966707d0-3269-4727-9be2-8c3a10f19b9d": "Password Administrator",
    "e8cef6f1-e4bd-4ea8-bc07-4b8d950f4477": "Privileged Authentication Administrator (legacy)",
}

# Application ids
APP_AZURE_PORTAL = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
APP_M365_ADMIN = "618dd325-23f6-4b6f-8380-4df78026e39b"
APP_AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
APP_AZURE_POWERSHELL = "1950a258-227b-4e31-a9cf-717495945fc2"
APP_AZURE_MOBILE = "0c1307d4-29d6-4389-a11c-5cbe7f65d7fa"
APP_ARM = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
PHASE1_APPS = {APP_AZURE_PORTAL: "Azure portal / Entra / Intune admin center",
               APP_M365_ADMIN: "Microsoft 365 admin center"}
PHASE2_APPS = {APP_AZURE_CLI: "Azure CLI", APP_AZURE_POWERSHELL: "Azure PowerShell",
               APP_AZURE_MOBILE: "Azure mobile app"}
SIGNIN_APPS = {**PHASE1_APPS, **PHASE2_APPS}

# Licence service plans
PLAN_P1 = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
PLAN_P2 = "eec0eb4f-6444-4f95-aba0-50c24d67f998"

# Built-in authentication strengths
STRENGTH_MFA = "00000000-0000-0000-0000-000000000002"
STRENGTH_PASSWORDLESS = "00000000-0000-0000-0000-000000000003"
STRENGTH_PHISHING_RESISTANT = "00000000-0000-0000-0000-000000000004"

# Normalised method names (userRegistrationDetails vocabulary).
PHISHING_RESISTANT_METHODS = frozenset({
    "fido2SecurityKey", "passKeyDeviceBound", "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello", "windowsHelloForBusiness", "x509Certificate",
    "macOsSecureEnclaveKey",
})
SOFT_OR_PHONE_METHODS = frozenset({
    "microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless", "softwareOneTimePasscode",
    "mobilePhone", "alternateMobilePhone", "officePhone",
})
WEAK_METHODS = frozenset({"mobilePhone", "alternateMobilePhone", "officePhone", "email"})
# Methods that are not a second factor on their own.
NON_MFA_METHODS = frozenset({"email", "securityQuestion", "temporaryAccessPass", "password"})


@dataclass(frozen=True)
class User:
    id: str
    upn: str
    display_name: str
    mail: str | None
    other_mails: tuple[str, ...]
    enabled: bool
    user_type: str  # "Member" | "Guest" | other strings kept as given
    synced: bool
    created: datetime | None
    last_sign_in: datetime | None  # newest of interactive / non-interactive
    sign_in_activity_known: bool    # False where signInActivity was not collected


@dataclass(frozen=True)
class Registration:
    user_id: str
    mfa_registered: bool
    mfa_capable: bool
    methods: tuple[str, ...]


@dataclass(frozen=True)
class CAPolicy:
    id: str
    name: str
    state: str  # enabled | disabled | enabledForReportingButNotEnforced
    include_users: frozenset[str]
    exclude_users: frozenset[str]
    include_groups: frozenset[str]
    exclude_groups: frozenset[str]
    include_roles: frozenset[str]
    exclude_roles: frozenset[str]
    include_guests: bool            # includeGuestsOrExternalUsers / GuestsOrExternalUsers
    exclude_guests: bool
    include_apps: frozenset[str]
    exclude_apps: frozenset[str]
    include_user_actions: frozenset[str]
    client_app_types: frozenset[str]
    builtin_controls: frozenset[str]
    auth_strength_id: str | None
    has_conditions: bool  # platforms/locations/risk narrow the policy

    @property
    def requires_mfa(self) -> bool:
        return "mfa" in self.builtin_controls or self.auth_strength_id is not None

    @property
    def blocks(self) -> bool:
        return "block" in self.builtin_controls

    @property
    def is_mfa_policy(self) -> bool:
        return self.state == "enabled" and self.requires_mfa


@dataclass(frozen=True)
class RoleAssignment:
    role_id: str          # role template id
    role_name: str
    principal_id: str
    principal_type: str   # user | group | servicePrincipal | unknown
    kind: str             # active | eligible


@dataclass(frozen=True)
class SignIn:
    id: str
    user_id: str
    upn: str
    app_id: str
    app_name: str
    resource_id: str
    created: datetime
    requirement: str | None   # multiFactorAuthentication | singleFactorAuthentication | None
    interactive: bool
    success: bool


@dataclass(frozen=True)
class Gap:
    source: str
    reason: str
    code: str | None = None      # Graph's error code, when the gap came from an error answer
    status: int | None = None    # its HTTP status


@dataclass(frozen=True)
class Note:
    """Something about the data a reader of the report should know (text replaced, a value not
    understood, a record dropped), with the dataset it concerns."""
    source: str
    message: str


@dataclass
class Posture:
    tenant_id: str
    tenant_name: str
    collected_at: datetime
    window_start: datetime
    window_end: datetime
    source: str                           # demo | graph
    has_p1: bool | None
    has_p2: bool | None
    users: list[User] | None
    registrations: dict[str, Registration] | None   # by user id
    registration_source: str | None               # userRegistrationDetails | methods
    ca_policies: list[CAPolicy] | None
    security_defaults: bool | None
    methods_policy: dict[str, str] | None          # method config id -> state
    role_assignments: list[RoleAssignment] | None   # active
    eligible_assignments: list[RoleAssignment] | None
    group_members: dict[str, frozenset[str]] | None  # group id -> transitive member ids
    sign_ins: list[SignIn] | None
    granted_permissions: tuple[str, ...] | None
    gaps: list[Gap] = field(default_factory=list)
    domains: tuple[str, ...] = ()
    group_names: dict[str, str] = field(default_factory=dict)   # cosmetic: ids are shown where absent
    pages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # dataset -> stored pages (evidence/...)
    notes: list[Note] = field(default_factory=list)                  # data-quality notes, shown in the method section

    def gap_for(self, *sources: str) -> Gap | None:
        for g in self.gaps:
            if any(g.source.startswith(s) for s in sources):
                return g
        return None

    def gap_reason(self, *sources: str) -> str | None:
        g = self.gap_for(*sources)
        return g.reason if g is not None else None
