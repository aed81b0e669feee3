"""What the assessment hands to the outputs: typed results plus tables, never raw Graph JSON. The
figures and verdicts an output shows are read from the view model built on it (``reportgen.view``).

Tenant text in it is untrusted: renderers must escape it (PDF) and store it as strings (Excel).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen.checks import CheckMeta
from reportgen.controls import Framework
from reportgen.dates import parse_iso
from reportgen.results import Results
from reportgen.wording import ReportWording


@dataclass(frozen=True)
class Firm:
    name: str
    logo: Path | None          # absolute path to an SVG/PNG file, already validated
    primary_color: str         # "#RRGGBB", validated
    accent_color: str
    contact: str
    disclaimer: str


@dataclass
class UserRow:
    upn: str
    display_name: str
    enabled: bool
    user_type: str
    mfa_registered: bool | None      # None: registration data not collected
    methods: list[str]
    privileged_roles: list[str]
    last_sign_in: str | None         # ISO 8601 UTC, None: never / unknown
    covered_by_mfa_policy: bool | None   # an MFA policy (or security defaults) covers all cloud apps
    mfa_policy_apps: list[str] | None = None   # apps some enabled MFA policy covers the user for; None: unknown


@dataclass
class PrivilegedRow:
    upn: str
    display_name: str
    roles: list[str]
    assignment: str                  # active | eligible | active+eligible
    mfa_registered: bool | None
    methods: list[str]
    phishing_resistant_only: bool | None
    covered_by_mfa_policy: bool | None
    mfa_policy_apps: list[str] | None = None


@dataclass
class EmergencyRow:
    upn: str
    exists: bool
    enabled: bool | None
    global_admin_active: bool | None
    methods: list[str]
    phishing_resistant: bool | None
    soft_or_phone_methods: list[str]
    excluded_from: list[str]         # names of MFA policies that exclude it


@dataclass
class PolicyRow:
    name: str
    state: str
    users: str                       # human summary of include/exclude
    applications: str
    grant: str
    client_app_types: str
    is_mfa_policy: bool


@dataclass
class SignInRow:
    upn: str
    display_name: str
    app: str
    single_factor: int
    multi_factor: int
    non_interactive: int
    last: str                        # ISO 8601 UTC


@dataclass
class ExceptionRow:
    id: str
    check: str
    subject: str
    approved_by: str
    approved_on: str
    expires_on: str | None
    compensating_control: str
    reference: str
    state: str                       # in_force | expired | not_yet_valid
    applied: bool                    # covered at least one failing subject this period
    check_phrase: str = ""           # "check X", "checks X, Y" or "all checks", as the PDF prints it


@dataclass
class ReportData:
    results: Results
    firm: Firm
    check_meta: dict[str, CheckMeta]
    frameworks: list[Framework]             # those that govern this client, in listing order
    users: list[UserRow] = field(default_factory=list)
    privileged: list[PrivilegedRow] = field(default_factory=list)
    emergency: list[EmergencyRow] = field(default_factory=list)
    policies: list[PolicyRow] = field(default_factory=list)
    phase2_sign_ins: list[SignInRow] = field(default_factory=list)
    exceptions: list[ExceptionRow] = field(default_factory=list)
    # Month over month; None before a first earlier period exists
    trend: list[dict[str, Any]] | None = None     # [{period, mfa_registered_pct, open: {critical..low}}]
    changes: dict[str, Any] | None = None         # {"new": [ids], "resolved": [...], "still_open": [...], "since": period}
    evidence_index: list[dict[str, Any]] = field(default_factory=list)  # [{path, sha256, size}]
    root_causes: list[Any] = field(default_factory=list)    # checks.rootcause.RootCause, for the action plan
    workflow: Any = None          # workflow.prepare.WorkflowData: review state, commentary, action plan
    # the sentences that depend on the institution type and the collection date (None: worked out on render)
    wording: ReportWording | None = None
    # the view model every output reads (view.build_view); built once the workflow is attached
    view: Any = None

    def __post_init__(self) -> None:
        # check words still in catalog form (dated or per-type text) are resolved for this report
        day = parse_iso(self.results.collected_at)
        self.check_meta = {cid: m.resolved(self.results.client.institution_type, day.date() if day else None)
                           if m.unresolved else m for cid, m in self.check_meta.items()}

    @property
    def generated_at(self) -> str:
        """The document date: the collection time, so that the same evidence renders the same bytes."""
        return self.results.collected_at
