"""Plain typed objects passed between pipeline stages.

A field that is ``None`` means "not collected" (the reason is in ``Posture.gaps``);
an empty collection means "collected, and there was nothing". Checks rely on this
distinction to never pass on data that did not arrive.

Microsoft's ids (roles, apps, licences, authentication strengths) are data: they are read from
``microsoft-facts.yaml`` (``reportgen.facts``) and only named here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from reportgen.facts import FACTS

# Role template ids, most powerful first.
GLOBAL_ADMIN = FACTS.global_admin
DIRECTORY_SYNC = FACTS.directory_sync   # Directory Synchronization Accounts: a service exclusion
PRIVILEGED_ROLES: dict[str, str] = dict(FACTS.privileged_roles)

# Application ids
APP_AZURE_PORTAL = FACTS.apps["azure_portal"][0]
APP_M365_ADMIN = FACTS.apps["m365_admin"][0]
APP_AZURE_CLI = FACTS.apps["azure_cli"][0]
APP_AZURE_POWERSHELL = FACTS.apps["azure_powershell"][0]
APP_AZURE_MOBILE = FACTS.apps["azure_mobile"][0]
APP_ARM = FACTS.apps["azure_resource_manager"][0]
PHASE1_APPS = {APP_AZURE_PORTAL: FACTS.apps["azure_portal"][1], APP_M365_ADMIN: FACTS.apps["m365_admin"][1]}
PHASE2_APPS = {a: FACTS.apps[k][1] for k in ("azure_cli", "azure_powershell", "azure_mobile")
               for a in (FACTS.apps[k][0],)}
SIGNIN_APPS = {**PHASE1_APPS, **PHASE2_APPS}
APP_NAMES = {app_id: name for app_id, name in FACTS.apps.values()}

# Licence service plans
PLAN_P1 = FACTS.plan_p1
PLAN_P2 = FACTS.plan_p2

# Built-in authentication strengths
STRENGTH_MFA = FACTS.strength_id("mfa")
STRENGTH_PASSWORDLESS = FACTS.strength_id("passwordless")
STRENGTH_PHISHING_RESISTANT = FACTS.strength_id("phishing_resistant")

# Normalised method names (userRegistrationDetails vocabulary).
# Phishing-resistant for MFA-04 (every method here resists phishing).
PHISHING_RESISTANT_METHODS = frozenset({
    "fido2SecurityKey", "passKeyDeviceBound", "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello", "windowsHelloForBusiness", "x509Certificate",
    "macOsSecureEnclaveKey",
})
# Emergency-grade (EA-02): not tied to one person's phone or one device. A passkey in Microsoft
# Authenticator and Windows Hello for Business resist phishing but live on a single device.
EMERGENCY_METHODS = frozenset({"fido2SecurityKey", "passKeyDeviceBound", "x509Certificate"})
# Soft tokens, phones and single devices (EA-03).
SOFT_OR_PHONE_METHODS = frozenset({
    "microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless", "passKeyDeviceBoundAuthenticator",
    "softwareOneTimePasscode", "mobilePhone", "alternateMobilePhone", "officePhone", "windowsHelloForBusiness",
    "passKeyDeviceBoundWindowsHello",
})
WEAK_METHODS = frozenset({"mobilePhone", "alternateMobilePhone", "officePhone", "email"})
# Methods that are not a second factor on their own.
NON_MFA_METHODS = frozenset({"email", "securityQuestion", "temporaryAccessPass", "password"})
# Every value of methodsRegistered this code understands (others are noted and count as nothing).
KNOWN_METHODS = (PHISHING_RESISTANT_METHODS | EMERGENCY_METHODS | SOFT_OR_PHONE_METHODS | WEAK_METHODS
                 | NON_MFA_METHODS | {"passKeySynced", "hardwareOneTimePasscode", "voiceMobile", "voiceAlternateMobile",
                                      "voiceOffice", "sms", "appPassword"})

# Guest and external user types a Conditional Access policy can name.
GUEST_TYPES = ("internalGuest", "b2bCollaborationGuest", "b2bCollaborationMember", "b2bDirectConnectUser",
               "otherExternalUser", "serviceProvider")
GUEST_TYPE_WORDS = {"internalGuest": "local guest users", "b2bCollaborationGuest": "B2B collaboration guests",
                    "b2bCollaborationMember": "B2B collaboration members", "b2bDirectConnectUser": "B2B direct connect users",
                    "otherExternalUser": "other external users", "serviceProvider": "service provider users"}


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
    last_sign_in: datetime | None  # last successful sign-in where Graph gives it, else newest attempt
    sign_in_activity_known: bool    # False where signInActivity was not collected
    certificate_user_ids: tuple[str, ...] = ()    # authorizationInfo.certificateUserIds (CBA bindings)
    has_mailbox: bool | None = None               # holds a licence with an Exchange mailbox; None: unknown

    @property
    def is_guest(self) -> bool:
        return self.user_type.lower() == "guest"


@dataclass(frozen=True)
class Registration:
    user_id: str
    mfa_registered: bool
    mfa_capable: bool
    methods: tuple[str, ...]
    # AAGUIDs of the FIDO2 methods read from per-user methods (EA-02 tells keys from passkeys by
    # them); None where the source does not give them (the registration report)
    fido2_aaguids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class GuestScope:
    """The guests and external users a policy names: which types, from which tenants."""
    types: frozenset[str]
    tenants: frozenset[str] | None = None   # None: every external tenant

    @property
    def everyone(self) -> bool:
        return set(GUEST_TYPES) <= self.types and self.tenants is None


ALL_GUESTS = GuestScope(frozenset(GUEST_TYPES))


@dataclass(frozen=True)
class Condition:
    """A condition that narrows where a policy applies (kind: locations, platforms, clientAppTypes,
    userRisk, signInRisk, insiderRisk, servicePrincipalRisk, devices, authenticationFlows,
    applicationFilter (mode, rule), times, or ``unrecognised`` with (Graph path, value)), with the
    values it includes and excludes."""
    kind: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Strength:
    id: str
    name: str
    mfa: bool                 # every allowed combination is multifactor
    phishing_resistant: bool  # every allowed combination is phishing-resistant


@dataclass(frozen=True)
class Grant:
    operator: str                        # AND | OR
    controls: frozenset[str] = frozenset()   # builtInControls
    terms_of_use: tuple[str, ...] = ()
    custom_factors: tuple[str, ...] = ()
    strength: Strength | None = None
    unknown: tuple[str, ...] = ()            # grant properties this report does not know: not MFA

    def _mfa_parts(self) -> list[bool]:
        """One flag per control of the grant: does it require MFA."""
        parts = [c == "mfa" for c in sorted(self.controls - {"block"})]
        parts += [False] * (len(self.terms_of_use) + len(self.custom_factors) + len(self.unknown))
        if self.strength is not None:
            parts.append(self.strength.mfa)
        return parts

    @property
    def requires_mfa(self) -> bool:
        parts = self._mfa_parts()
        if not parts:
            return False
        return any(parts) if self.operator == "AND" else all(parts)

    @property
    def offers_mfa(self) -> bool:
        """MFA is one way through, perhaps beside a non-MFA one (a conditional MFA policy)."""
        return any(self._mfa_parts())

    @property
    def blocks(self) -> bool:
        return "block" in self.controls

    @property
    def phishing_resistant(self) -> bool:
        return self.strength is not None and self.strength.phishing_resistant and (
            self.operator == "AND" or not (self.controls - {"block"} or self.terms_of_use or self.custom_factors
                                           or self.unknown))


NO_GRANT = Grant(operator="OR")


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
    include_guests: GuestScope | None
    exclude_guests: GuestScope | None
    include_apps: frozenset[str]
    exclude_apps: frozenset[str]
    include_user_actions: frozenset[str]
    client_app_types: frozenset[str]
    grant: Grant = NO_GRANT
    conditions: tuple[Condition, ...] = ()   # the narrowing conditions
    workload: bool = False                   # targets workload identities (clientApplications), not people
    include_auth_contexts: frozenset[str] = frozenset()

    @property
    def requires_mfa(self) -> bool:
        return self.grant.requires_mfa

    @property
    def conditional_mfa(self) -> bool:
        """An OR grant that offers MFA beside a way through without it."""
        return self.grant.offers_mfa and not self.grant.requires_mfa

    @property
    def blocks(self) -> bool:
        return self.grant.blocks

    @property
    def targets_people(self) -> bool:
        return not self.workload and bool(
            self.include_users - {"None"} or self.include_groups or self.include_roles or self.include_guests)

    @property
    def is_mfa_policy(self) -> bool:
        return self.state == "enabled" and self.requires_mfa and not self.workload

    @property
    def has_conditions(self) -> bool:
        return bool(self.conditions)

    @property
    def auth_strength_id(self) -> str | None:
        return self.grant.strength.id if self.grant.strength else None


@dataclass(frozen=True)
class RoleAssignment:
    role_id: str          # role template id
    role_name: str
    principal_id: str
    principal_type: str   # user | group | servicePrincipal | unknown
    kind: str             # active | eligible
    permanent: bool | None = None   # active: no end date and not an activation; None: not known


@dataclass(frozen=True)
class SignIn:
    id: str
    user_id: str
    upn: str
    app_id: str
    app_name: str
    resource_id: str
    created: datetime
    requirement: str | None   # multiFactorAuthentication | singleFactorAuthentication | None (unknown)
    interactive: bool
    success: bool | None      # None: the outcome could not be read
    protocol: str = ""        # authenticationProtocol (ropc, deviceCode, ...), "" when not given
    error_code: int | None = None   # status.errorCode (0: success); None where not given


@dataclass(frozen=True)
class MethodTarget:
    kind: str   # group | user | all_users
    id: str


@dataclass(frozen=True)
class MethodConfig:
    """One entry of the authentication methods policy: who the method is enabled for."""
    id: str                                   # lower case: sms, voice, email, fido2, x509certificate, ...
    state: str
    include: tuple[MethodTarget, ...] = ()
    exclude: tuple[MethodTarget, ...] = ()
    multifactor_default: bool | None = None   # X.509: default binding mode is multifactor
    multifactor_rules: bool = False           # X.509: some binding rule gives multifactor
    targets_known: bool = True                # False: Graph did not return includeTargets
    external_only: bool = False               # email OTP: offered to external users only

    @property
    def enabled_for_someone(self) -> bool:
        return self.state == "enabled" and (bool(self.include) or not self.targets_known)

    @property
    def enabled_for_unknown_targets(self) -> bool:
        return self.state == "enabled" and not self.targets_known

    @property
    def for_all_users(self) -> bool:
        return self.state == "enabled" and any(t.kind == "all_users" for t in self.include)


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
    methods_policy: dict[str, MethodConfig] | None  # method config id (lower case) -> who it is enabled for
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
    named_locations: dict[str, str] | None = None     # id -> display name; None: not collected
    unresolved_roles: list[RoleAssignment] = field(default_factory=list)  # principal type unreadable

    def gap_for(self, *sources: str) -> Gap | None:
        for g in self.gaps:
            if any(g.source.startswith(s) for s in sources):
                return g
        return None

    def gap_reason(self, *sources: str) -> str | None:
        g = self.gap_for(*sources)
        return g.reason if g is not None else None
