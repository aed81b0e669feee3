"""The words every stage shares: statuses, severities, institution types, readiness and their labels.

Values are ``StrEnum`` members, so they compare equal to (and serialise as) the plain strings of
results.json; labels are what a reader sees. Nothing else in the code spells these values out.
"""
from __future__ import annotations

import re
from enum import StrEnum


class Status(StrEnum):
    """A check's outcome."""
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    EXCEPTED = "excepted"
    NOT_EVALUATED = "not_evaluated"
    MANUAL = "manual"


STATUS_LABELS = {Status.PASS: "Pass", Status.FAIL: "Fail", Status.WARN: "Warning", Status.EXCEPTED: "Excepted",
                 Status.NOT_EVALUATED: "Not evaluated", Status.MANUAL: "Manual review"}
# A pass that holds only because a date of Microsoft's timeline went by (the check sets this metric to 1):
# the report says it "no longer applies", never that the client resolved it.
LAPSED_METRIC = "no_longer_applies"
LAPSED_LABEL = "No longer applies"
OPEN_STATUSES = (Status.FAIL, Status.WARN)                       # an open finding
FINDING_STATUSES = (Status.FAIL, Status.WARN, Status.EXCEPTED)   # shown as a finding in the report
UNKNOWN_STATUSES = (Status.NOT_EVALUATED, Status.MANUAL)         # no verdict from the data


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


SEVERITY_LABELS = {s: s.value.capitalize() for s in Severity}
OPEN_SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)   # counted in trends


class InstitutionType(StrEnum):
    BANK = "bank"
    CREDIT_UNION = "credit_union"
    NONBANK = "nonbank"


INSTITUTION_LABELS = {InstitutionType.BANK: "Bank", InstitutionType.CREDIT_UNION: "Credit union",
                      InstitutionType.NONBANK: "Non-bank financial institution"}

# A client's primary regulator (``regulator:``): for a bank it names the one CFR appendix of the
# Interagency Guidelines that binds it (the citation text is in the catalog, ``citations:``).
REGULATORS = ("occ", "fdic", "frb", "ncua", "ftc", "state")
REGULATOR_TYPES = {"occ": ("bank",), "fdic": ("bank",), "frb": ("bank",), "ncua": ("credit_union",),
                   "ftc": ("nonbank",), "state": ("bank", "credit_union", "nonbank")}


class Readiness(StrEnum):
    READY = "ready"
    AT_RISK = "at_risk"
    NOT_READY = "not_ready"
    UNKNOWN = "unknown"


READINESS_LABELS = {Readiness.READY: "Ready", Readiness.AT_RISK: "At risk", Readiness.NOT_READY: "Not ready",
                    Readiness.UNKNOWN: "Unknown"}


class ControlStatus(StrEnum):
    MET = "met"
    PARTIALLY_MET = "partially_met"
    NOT_MET = "not_met"
    NOT_ASSESSED = "not_assessed"


CONTROL_LABELS = {ControlStatus.MET: "Met", ControlStatus.PARTIALLY_MET: "Partially met",
                  ControlStatus.NOT_MET: "Not met", ControlStatus.NOT_ASSESSED: "Not assessed"}
# A regulation is not pass/fail: its controls claim only what this report tested (checks.md v3).
REGULATORY_CONTROL_LABELS = {ControlStatus.MET: "No gap found in what this report tests",
                             ControlStatus.PARTIALLY_MET: "Partly", ControlStatus.NOT_MET: "Gap found",
                             ControlStatus.NOT_ASSESSED: "Not assessed"}
REGULATORY_BINDINGS = ("regulation", "guidelines", "guidance")


class Coverage(StrEnum):
    """How far a check evidences a control; a control whose checks are all partial is never plainly met."""
    FULL = "full"
    PARTIAL = "partial"


MET_FOR_WHAT_IS_TESTED = "Met for what this report tests; other evidence needed"


def control_label(status: str, coverage: str = Coverage.FULL, binding: str = "") -> str:
    """The reader's word for a control's status: a regulation's control in words that claim only what
    was tested; a met control of partial coverage says so."""
    if binding in REGULATORY_BINDINGS:
        return label(REGULATORY_CONTROL_LABELS, status)
    if status == ControlStatus.MET and coverage == Coverage.PARTIAL:
        return MET_FOR_WHAT_IS_TESTED
    return label(CONTROL_LABELS, status)


class Cause(StrEnum):
    """Why a check could not be judged (beside the sentence that says it in words)."""
    NO_LICENCE = "no_licence"                  # the tenant lacks Entra ID P1/P2 for this data
    MISSING_PERMISSION = "missing_permission"  # the collecting app lacks a Graph permission
    NOT_COLLECTED = "not_collected"            # collection failed or was cut short
    NO_SUBJECTS = "no_subjects"                # nothing to judge (e.g. no privileged role holder found)
    NOT_ATTESTED = "not_attested"              # only the client can say (manual review)


CAUSE_LABELS = {Cause.NO_LICENCE: "No Entra ID P1 licence", Cause.MISSING_PERMISSION: "Missing Graph permission",
                Cause.NOT_COLLECTED: "Data not collected", Cause.NO_SUBJECTS: "Nothing to judge",
                Cause.NOT_ATTESTED: "Needs the client's statement"}


class CollectionStatus(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"


COLLECTION_LABELS = {CollectionStatus.COMPLETE: "Complete", CollectionStatus.PARTIAL: "Partial",
                     CollectionStatus.FAILED: "Failed"}

EXCEPTION_STATE_LABELS = {"in_force": "In force", "expired": "Expired", "not_yet_valid": "Not yet valid"}

# Catalog and Graph vocabularies, as a reader sees them (the Entra admin center's words where it has some)
BINDING_LABELS = {"regulation": "Regulation", "guidelines": "Guidelines", "guidance": "Supervisory guidance",
                  "benchmark": "Benchmark",
                  "vendor": "Vendor requirement"}
FRAMEWORK_STATUS_LABELS = {"active": "Active", "proposed_removal": "Proposed for removal", "retired": "Retired"}
POLICY_STATE_LABELS = {"enabled": "On", "disabled": "Off", "enabledForReportingButNotEnforced": "Report-only"}
ASSIGNMENT_LABELS = {"active": "Active", "eligible": "Eligible (PIM)", "active+eligible": "Active and eligible"}
CLIENT_APP_LABELS = {"all": "All client apps", "browser": "Browser",
                     "mobileAppsAndDesktopClients": "Mobile apps and desktop clients",
                     "exchangeActiveSync": "Exchange ActiveSync", "other": "Other (legacy) clients"}
GRANT_LABELS = {"mfa": "Require MFA", "block": "Block access", "compliantDevice": "Require a compliant device",
                "domainJoinedDevice": "Require a hybrid-joined device",
                "approvedApplication": "Require an approved client app",
                "compliantApplication": "Require an app protection policy",
                "passwordChange": "Require a password change"}
USER_ACTION_LABELS = {"urn:user:registersecurityinfo": "Register security information (user action)",
                      "urn:user:registerdevice": "Register or join devices (user action)"}
METHOD_LABELS = {
    "password": "Password", "email": "Email code", "securityQuestion": "Security questions",
    "mobilePhone": "Phone (SMS/call)", "alternateMobilePhone": "Alternate phone", "officePhone": "Office phone",
    "microsoftAuthenticatorPush": "Authenticator push", "microsoftAuthenticatorPasswordless": "Authenticator passwordless",
    "softwareOneTimePasscode": "Software code (OTP)", "hardwareOneTimePasscode": "Hardware token code",
    "fido2SecurityKey": "FIDO2 key", "passKeyDeviceBound": "Passkey", "passKeyDeviceBoundAuthenticator":
    "Passkey (Authenticator)", "passKeyDeviceBoundWindowsHello": "Passkey (Windows Hello)",
    "windowsHelloForBusiness": "Windows Hello", "x509Certificate": "Certificate (CBA)",
    "macOsSecureEnclaveKey": "macOS Secure Enclave key", "temporaryAccessPass": "Temporary Access Pass",
    "passKeySynced": "Synced passkey", "sms": "SMS", "voiceMobile": "Voice call (mobile)",
    "voiceAlternateMobile": "Voice call (alternate phone)", "voiceOffice": "Voice call (office phone)",
    "appPassword": "App password",
}

# Branding defaults, used by the configuration and by renderers handed no colour.
DEFAULT_PRIMARY = "#0B3D91"
DEFAULT_ACCENT = "#F2A900"

# User names that look like automation on a user account; each client may override it.
DEFAULT_SERVICE_ACCOUNT_PATTERN = r"(?i)^(svc|sa|service|automation|deploy|build|ci|terraform|pipeline|app)[-_.]"


def labels(mapping: dict, values, sep: str = ", ") -> str:
    """Several values in the reader's words, joined (their order kept)."""
    return sep.join(label(mapping, v) for v in values or ())


def count(n: int, noun: str, plural: str | None = None) -> str:
    """"1 user", "4,480 users": every count printed the same way, never "user(s)"."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def verb(n: int, one: str, many: str) -> str:
    """The word that agrees with a count: ``verb(1, "is", "are")`` is "is"; 0 and 2 take "are"."""
    return one if n == 1 else many


def label(labels: dict, value: object) -> str:
    """The reader's word for ``value``; an unknown value is shown as words, never as a raw enum."""
    if value in labels:
        return labels[value]
    # Graph's camelCase ids ("someNewMethod") and our snake_case both become words: "Some new method".
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(value or "")).replace("_", " ")
    return words[:1].upper() + words[1:].lower()
