"""The Graph requests the report was read from, in the methodology's and the cover's words."""
from __future__ import annotations

from reportgen.model import SIGNIN_APPS

GRAPH_SOURCES = [
    ("Tenant and licences", "GET /v1.0/organization, /v1.0/subscribedSkus"),
    ("Users and last sign-in", "GET /v1.0/users (signInActivity)"),
    ("MFA registration", "GET /v1.0/reports/authenticationMethods/userRegistrationDetails "
                         "(or /v1.0/users/{id}/authentication/methods without Entra ID P1)"),
    ("Conditional Access policies", "GET /v1.0/identity/conditionalAccess/policies"),
    ("Security defaults", "GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy"),
    ("Authentication methods policy", "GET /v1.0/policies/authenticationMethodsPolicy"),
    ("Directory roles", "GET /v1.0/roleManagement/directory/roleAssignments, roleEligibilitySchedules"),
    ("Group membership", "GET /v1.0/groups/{id}/transitiveMembers"),
    ("Sign-in logs", "GET /beta/auditLogs/signIns for the apps below, interactive and non-interactive"),
    *((f"Sign-ins read as {name}", app_id) for app_id, name in SIGNIN_APPS.items()),
]
# A collection gap's source in a board member's words (the cover); the methodology lists the requests.
SOURCE_NAMES = {
    "organization": "tenant details", "subscribedSkus": "licences", "users": "the user list",
    "users.signInActivity": "users' last sign-in times",
    "reports/authenticationMethods/userRegistrationDetails": "MFA registration details",
    "users/{id}/authentication/methods": "users' authentication methods",
    "identity/conditionalAccess/policies": "Conditional Access policies",
    "identity/conditionalAccess/namedLocations": "named locations",
    "policies/identitySecurityDefaultsEnforcementPolicy": "the security defaults setting",
    "policies/authenticationMethodsPolicy": "the authentication methods policy",
    "roleManagement/directory/roleAssignments": "administrator role assignments",
    "roleManagement/directory/roleEligibilitySchedules": "eligible (PIM) role assignments",
    "groups/{id}/transitiveMembers": "group memberships", "groups": "group names",
    "auditLogs/signIns": "sign-in logs", "auditLogs/signIns (non-interactive)": "non-interactive sign-in logs",
}


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)
