"""The closed world: how the reader takes every property and enumeration member of what it judges.

Microsoft adds properties to Conditional Access and to the authentication methods policy without
notice. A reader that skips what it does not know turns each new property into a silent false pass,
so this table lists every property and member of Microsoft's Graph schema for the types reportgen
judges, and the reader consults it: a property or value not listed here narrows a policy, is not
MFA (grant controls, methods), or is unknown (registration values, method targets). A test compares
this table with the schema and names anything new that needs a decision.

Property classes:
- ``scope``: who or what the policy is for, read by the reader's own code;
- ``narrows_if_set``: any value other than absent, null or empty narrows the policy;
- ``read``: interpreted by the reader's own code (the rule is in its docstring);
- ``other_kind``: makes it another kind of policy (user action, authentication context, workload);
- ``not_read``: never changes who must use MFA (descriptions, dates, settings of a method).
"""
from __future__ import annotations

SCOPE, NARROWS_IF_SET, READ, OTHER_KIND, NOT_READ = "scope", "narrows_if_set", "read", "other_kind", "not_read"

# The complex types under conditionalAccessConditionSet and the grant controls.
POLICY_PROPERTIES: dict[str, dict[str, str]] = {
    "conditionalAccessConditionSet": {
        "applications": SCOPE, "users": SCOPE, "clientApplications": OTHER_KIND,
        "clientAppTypes": READ,            # narrows unless empty, all, or both modern client types
        "locations": READ, "platforms": READ, "devices": READ, "authenticationFlows": READ,
        "signInRiskLevels": NARROWS_IF_SET, "userRiskLevels": NARROWS_IF_SET,
        "servicePrincipalRiskLevels": NARROWS_IF_SET, "insiderRiskLevels": NARROWS_IF_SET,
    },
    "conditionalAccessApplications": {
        "includeApplications": SCOPE, "excludeApplications": SCOPE, "applicationFilter": NARROWS_IF_SET,
        "includeUserActions": OTHER_KIND, "includeAuthenticationContextClassReferences": OTHER_KIND,
    },
    "conditionalAccessUsers": {
        "includeUsers": SCOPE, "excludeUsers": SCOPE, "includeGroups": SCOPE, "excludeGroups": SCOPE,
        "includeRoles": SCOPE, "excludeRoles": SCOPE, "includeGuestsOrExternalUsers": SCOPE,
        "excludeGuestsOrExternalUsers": SCOPE,
    },
    "conditionalAccessGuestsOrExternalUsers": {"guestOrExternalUserTypes": SCOPE, "externalTenants": SCOPE},
    "conditionalAccessExternalTenants": {"membershipKind": SCOPE},
    "conditionalAccessLocations": {"includeLocations": READ, "excludeLocations": READ},
    "conditionalAccessPlatforms": {"includePlatforms": READ, "excludePlatforms": READ},
    "conditionalAccessDevices": {"deviceFilter": NARROWS_IF_SET},
    "conditionalAccessFilter": {"mode": READ, "rule": READ},
    "conditionalAccessClientApplications": {"includeServicePrincipals": OTHER_KIND,
                                            "excludeServicePrincipals": OTHER_KIND,
                                            "servicePrincipalFilter": OTHER_KIND},
    "conditionalAccessAuthenticationFlows": {"transferMethods": READ},
    "conditionalAccessGrantControls": {
        "operator": READ, "builtInControls": READ, "customAuthenticationFactors": READ, "termsOfUse": READ,
        "authenticationStrength": READ,
    },
}

# Properties the reader knows from beta or from older exports, beside the v1.0 schema.
BETA_PROPERTIES: dict[str, dict[str, str]] = {
    "conditionalAccessConditionSet": {"times": NARROWS_IF_SET, "deviceStates": READ},
    "conditionalAccessClientApplications": {"includeAgentIdServicePrincipals": OTHER_KIND,
                                            "excludeAgentIdServicePrincipals": OTHER_KIND},
    "conditionalAccessDevices": {"includeDevices": READ, "excludeDevices": READ,
                                 "includeDeviceStates": READ, "excludeDeviceStates": READ},
    "conditionalAccessExternalTenants": {"members": SCOPE},
    "conditionalAccessApplications": {"globalSecureAccess": NARROWS_IF_SET, "networkAccess": NARROWS_IF_SET},
}

# Enumeration members. Each is named by its effect on the check that reads it.
ENUMS: dict[str, dict[str, str]] = {
    # any value narrows, "none" included: a policy for no-risk sign-ins only is narrowed
    "riskLevel": {x: "narrows" for x in ("low", "medium", "high", "hidden", "none", "unknownFutureValue")},
    "conditionalAccessInsiderRiskLevels": {x: "narrows" for x in ("minor", "moderate", "elevated", "unknownFutureValue")},
    "conditionalAccessClientApp": {
        "all": "everything", "browser": "modern", "mobileAppsAndDesktopClients": "modern",
        "exchangeActiveSync": "legacy", "easSupported": "legacy", "easUnsupported": "legacy", "other": "legacy",
        "unknownFutureValue": "narrows"},
    "conditionalAccessDevicePlatform": {
        "all": "everything", **{x: "narrows" for x in ("android", "iOS", "windows", "windowsPhone", "macOS", "linux",
                                                      "unknownFutureValue")}},
    "conditionalAccessGrantControl": {
        "mfa": "mfa", "block": "block",
        **{x: "not_mfa" for x in ("compliantDevice", "domainJoinedDevice", "approvedApplication", "compliantApplication",
                                  "passwordChange", "riskRemediation", "unknownFutureValue")}},
    "conditionalAccessGuestOrExternalUserTypes": {
        "none": "nobody", "unknownFutureValue": "nobody",
        **{x: "guest_type" for x in ("internalGuest", "b2bCollaborationGuest", "b2bCollaborationMember",
                                     "b2bDirectConnectUser", "otherExternalUser", "serviceProvider")}},
    "conditionalAccessTransferMethods": {"none": "not_narrowing", "deviceCodeFlow": "narrows",
                                         "authenticationTransfer": "narrows", "unknownFutureValue": "narrows"},
    "conditionalAccessExternalTenantsMembershipKind": {"all": "every_tenant", "enumerated": "named_tenants",
                                                       "unknownFutureValue": "no_tenant"},
    "filterMode": {"include": "include", "exclude": "exclude"},
    # authentication strength parts: "single" parts make a combination single-factor on their own
    "authenticationMethodModes": {
        "password": "single", "voice": "single", "sms": "single", "email": "single",
        "x509CertificateSingleFactor": "single", "federatedSingleFactor": "single",
        "temporaryAccessPassOneTime": "multifactor", "temporaryAccessPassMultiUse": "multifactor",
        "hardwareOath": "second_factor", "softwareOath": "second_factor", "microsoftAuthenticatorPush": "multifactor",
        "deviceBasedPush": "multifactor", "fido2": "phishing_resistant", "windowsHelloForBusiness": "phishing_resistant",
        "x509CertificateMultiFactor": "phishing_resistant", "federatedMultiFactor": "multifactor",
        "qrCodePin": "single", "unknownFutureValue": "single"},
    "authenticationMethodState": {"enabled": "enabled", "disabled": "disabled"},
    "authenticationMethodTargetType": {"user": "user", "group": "group", "unknownFutureValue": "unknown"},
    "externalEmailOtpState": {"default": "external", "enabled": "external", "disabled": "off",
                              "unknownFutureValue": "external"},
}

# The authentication methods policy: each configuration type, what the method is (weak: SMS, voice,
# email; other: not judged as weak), and how each of its properties is read.
METHOD_CONFIGS: dict[str, str] = {
    "smsAuthenticationMethodConfiguration": "weak", "voiceAuthenticationMethodConfiguration": "weak",
    "emailAuthenticationMethodConfiguration": "weak",
    **{f"{x}AuthenticationMethodConfiguration": "other" for x in (
        "fido2", "microsoftAuthenticator", "softwareOath", "temporaryAccessPass", "x509Certificate", "external",
        "qrCodePin", "verifiableCredentials")},
}
_TARGETS = {"includeTargets": READ, "excludeTargets": READ, "state": READ}
METHOD_CONFIG_PROPERTIES: dict[str, dict[str, str]] = {
    "authenticationMethodConfiguration": dict(_TARGETS),
    "smsAuthenticationMethodConfiguration": dict(_TARGETS),
    "voiceAuthenticationMethodConfiguration": {**_TARGETS, "isOfficePhoneAllowed": NOT_READ},
    "emailAuthenticationMethodConfiguration": {**_TARGETS, "allowExternalIdToUseEmailOtp": READ},
    "fido2AuthenticationMethodConfiguration": {**_TARGETS, **{x: NOT_READ for x in (
        "defaultPasskeyProfile", "isAttestationEnforced", "isSelfServiceRegistrationAllowed", "keyRestrictions",
        "passkeyProfiles")}},
    "microsoftAuthenticatorAuthenticationMethodConfiguration": {**_TARGETS, "featureSettings": NOT_READ,
                                                                "isSoftwareOathEnabled": NOT_READ},
    "softwareOathAuthenticationMethodConfiguration": dict(_TARGETS),
    "temporaryAccessPassAuthenticationMethodConfiguration": {**_TARGETS, **{x: NOT_READ for x in (
        "defaultLength", "defaultLifetimeInMinutes", "isUsableOnce", "maximumLifetimeInMinutes",
        "minimumLifetimeInMinutes")}},
    "x509CertificateAuthenticationMethodConfiguration": {**_TARGETS, "authenticationModeConfiguration": READ,
                                                         **{x: NOT_READ for x in (
                                                             "certificateAuthorityScopes", "certificateUserBindings",
                                                             "crlValidationConfiguration", "issuerHintsConfiguration")}},
    "externalAuthenticationMethodConfiguration": {**_TARGETS, "appId": NOT_READ, "displayName": NOT_READ,
                                                  "openIdConnectSetting": NOT_READ},
    "qrCodePinAuthenticationMethodConfiguration": {**_TARGETS, "pinLength": NOT_READ,
                                                   "standardQRCodeLifetimeInDays": NOT_READ},
    "verifiableCredentialsAuthenticationMethodConfiguration": dict(_TARGETS),
}

# userRegistrationDetails: what each property is used for (method values: model.KNOWN_METHODS).
REGISTRATION_PROPERTIES: dict[str, str] = {
    "isMfaCapable": READ, "isMfaRegistered": READ, "methodsRegistered": READ, "userPrincipalName": READ,
    **{x: NOT_READ for x in ("isAdmin", "isPasswordlessCapable", "isSsprCapable", "isSsprEnabled", "isSsprRegistered",
                             "isSystemPreferredAuthenticationMethodEnabled", "lastUpdatedDateTime",
                             "systemPreferredAuthenticationMethods", "userDisplayName",
                             "userPreferredMethodForSecondaryAuthentication", "userType")},
}


def known_properties(type_name: str) -> dict[str, str]:
    """Every property of a policy type the reader classifies (v1.0 and the beta ones it reads)."""
    return {**POLICY_PROPERTIES.get(type_name, {}), **BETA_PROPERTIES.get(type_name, {})}


def member(enum: str, value: str) -> str | None:
    """The class of an enumeration member, or None where the reader does not know it."""
    return ENUMS.get(enum, {}).get(value)


def unknown_properties(type_name: str, obj: dict) -> list[str]:
    """Properties of ``obj`` (a ``type_name``) that carry a value and that this table does not list."""
    known = known_properties(type_name)
    return sorted(k for k, v in obj.items()
                  if not k.startswith("@") and "@odata" not in k and k != "odata.type" and k not in known
                  and v not in (None, [], {}, ""))


def value_words(value: object) -> str:
    """A short rendering of a value not understood, for a reason sentence."""
    if isinstance(value, dict):
        parts = [f"{k} {value_words(v)}" for k, v in value.items() if not str(k).startswith("@") and v not in (None, [], {})]
        text = ", ".join(parts)
    elif isinstance(value, list):
        text = ", ".join(value_words(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + " …"
