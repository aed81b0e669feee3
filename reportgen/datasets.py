"""The Graph datasets reportgen reads: one definition each, used by the collector, the demo
generator, the evidence reader, the checks' ``reads=`` and the report's methodology.

A dataset's ``name`` is its key in ``collection.json`` and the stem of its page files
(``pages/<name>-0001.json``); datasets read per object add ``.<id>`` (``groupMembers.<group id>``).
``path`` is the Graph path it comes from and the ``source`` a collection gap names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

P1 = "Entra ID P1"


@dataclass(frozen=True)
class Dataset:
    name: str
    path: str                      # Graph path (relative to the API version)
    api: str                       # v1.0 | beta
    permission: str                # the application permission Graph requires
    label: str                     # what it is, in a board member's words
    licence: str | None = None     # the licence Graph needs to return it (docs' graph spec), None: any tenant

    @property
    def request(self) -> str:
        return f"GET /{self.api}/{self.path}"


ORGANIZATION = "organization"
SUBSCRIBED_SKUS = "subscribedSkus"
USERS = "users"
USERS_SIGN_IN_ACTIVITY = "users.signInActivity"     # users read with signInActivity (a gap of its own)
REGISTRATION = "userRegistrationDetails"
USER_METHODS = "userMethods"
CA_POLICIES = "conditionalAccessPolicies"
NAMED_LOCATIONS = "namedLocations"
SECURITY_DEFAULTS = "securityDefaults"
METHODS_POLICY = "authenticationMethodsPolicy"
ROLE_ASSIGNMENTS = "roleAssignments"
ROLE_ELIGIBILITY = "roleEligibilitySchedules"
ROLE_SCHEDULES = "roleAssignmentScheduleInstances"
GROUP_MEMBERS = "groupMembers"
GROUPS = "groups"
SIGN_INS = "signIns"
SIGN_INS_NON_INTERACTIVE = "signInsNonInteractive"

REGISTRY: tuple[Dataset, ...] = (
    Dataset(ORGANIZATION, "organization", "v1.0", "Organization.Read.All", "tenant details"),
    Dataset(SUBSCRIBED_SKUS, "subscribedSkus", "v1.0", "Organization.Read.All", "licences"),
    Dataset(USERS, "users", "v1.0", "User.Read.All", "the user list"),
    Dataset(USERS_SIGN_IN_ACTIVITY, "users?$select=signInActivity", "v1.0", "AuditLog.Read.All",
            "users' last sign-in times", licence=P1),
    Dataset(REGISTRATION, "reports/authenticationMethods/userRegistrationDetails", "v1.0", "AuditLog.Read.All",
            "MFA registration details", licence=P1),
    Dataset(USER_METHODS, "users/{id}/authentication/methods", "v1.0", "UserAuthenticationMethod.Read.All",
            "users' authentication methods"),
    Dataset(CA_POLICIES, "identity/conditionalAccess/policies", "v1.0", "Policy.Read.All",
            "Conditional Access policies"),
    Dataset(NAMED_LOCATIONS, "identity/conditionalAccess/namedLocations", "v1.0", "Policy.Read.All",
            "named locations"),
    Dataset(SECURITY_DEFAULTS, "policies/identitySecurityDefaultsEnforcementPolicy", "v1.0", "Policy.Read.All",
            "the security defaults setting"),
    Dataset(METHODS_POLICY, "policies/authenticationMethodsPolicy", "v1.0", "Policy.Read.All",
            "the authentication methods policy"),
    Dataset(ROLE_ASSIGNMENTS, "roleManagement/directory/roleAssignments", "v1.0", "RoleManagement.Read.Directory",
            "administrator role assignments"),
    Dataset(ROLE_ELIGIBILITY, "roleManagement/directory/roleEligibilitySchedules", "v1.0",
            "RoleManagement.Read.Directory", "eligible (PIM) role assignments"),
    Dataset(ROLE_SCHEDULES, "roleManagement/directory/roleAssignmentScheduleInstances", "v1.0",
            "RoleManagement.Read.Directory", "active (PIM) role assignment schedules",
            licence="Entra ID P2 or ID Governance"),
    Dataset(GROUP_MEMBERS, "groups/{id}/transitiveMembers", "v1.0", "GroupMember.Read.All", "group memberships"),
    Dataset(GROUPS, "groups", "v1.0", "GroupMember.Read.All", "group names"),
    Dataset(SIGN_INS, "auditLogs/signIns", "beta", "AuditLog.Read.All", "sign-in logs", licence=P1),
    Dataset(SIGN_INS_NON_INTERACTIVE, "auditLogs/signIns (non-interactive)", "beta", "AuditLog.Read.All",
            "non-interactive sign-in logs", licence=P1),
)
BY_NAME: dict[str, Dataset] = {d.name: d for d in REGISTRY}
_BY_PATH: dict[str, Dataset] = {d.path: d for d in REGISTRY}
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def dataset(name: str) -> Dataset | None:
    """The definition of a dataset name, also of a per-object one (``groupMembers.<id>``)."""
    return BY_NAME.get(name) or BY_NAME.get(name.split(".", 1)[0])


def source_of(name: str) -> str:
    """The Graph path a dataset comes from (the ``source`` of its gaps); the name when unknown."""
    found = BY_NAME.get(name.split(".", 1)[0])
    return found.path if found else name


def permission_for(name: str) -> str:
    found = dataset(name)
    return found.permission if found else "?"


def label_of(source: str) -> str:
    """A gap's source (a Graph path or a dataset name) in the reader's words; unknown ones unchanged."""
    found = _BY_PATH.get(source) or BY_NAME.get(source)
    return found.label if found else source


def file_stem(name: str) -> str:
    """The stem of a dataset's page files: its name, with anything but [A-Za-z0-9_.-] made '_'."""
    return _SAFE.sub("_", name)
