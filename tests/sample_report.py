"""A hand-made ReportData for renderer tests, independent of the collection pipeline."""
from __future__ import annotations

from pathlib import Path

from reportgen.checks import CheckMeta
from reportgen.controls import Control, Framework, load_catalogs
from reportgen.report import EmergencyRow, ExceptionRow, Firm, PolicyRow, PrivilegedRow, ReportData, SignInRow, UserRow
from reportgen.results import (
    Affected,
    CheckResult,
    ClientInfo,
    Collection,
    ControlResult,
    EvidenceRef,
    GapResult,
    Results,
    Summary,
)
from reportgen.vocab import CollectionStatus, ControlStatus, Readiness, Severity, Status

HOSTILE = '<img src="file:///etc/passwd"><script>alert(1)</script>=HYPERLINK("http://x","y")'
ROOT = Path(__file__).resolve().parent.parent


def sample_firm() -> Firm:
    return Firm(name="Example Security Partners", logo=ROOT / "config" / "branding" / "logo.svg",
                primary_color="#0B3D91", accent_color="#F2A900", contact="security@example.com",
                disclaimer="Prepared for the client's board and examiners. Point-in-time assessment.")


def _check(cid, status, severity="high", affected=(), reason=None, metrics=None):
    return CheckResult(id=cid, title=f"Title of {cid}", severity=Severity(severity), status=Status(status),
                       reason=reason or f"{cid} is {status}.",
                       affected=[Affected(upn=u, display_name=d, detail=t, exception=e) for u, d, t, e in affected],
                       metrics=metrics or {},
                       evidence=(EvidenceRef("users", "users", ("evidence/pages/users-0001.json",)),))


def _framework(fid, name, version, binding, controls):
    return Framework(id=fid, name=name, version=version, as_of="2026-11-15", binding=binding, status="active",
                     source_url="", applies_to=("bank",), path=ROOT, sha256="0" * 64,
                     controls=[Control(id=c.id, title=c.title, requirement=f"Requirement of {c.id}.",
                                       checks=tuple(c.checks)) for c in controls])


def sample_report_data(n_users: int = 40, hostile: bool = True) -> ReportData:
    name = HOSTILE if hostile else "Ada Lovelace"
    users = [UserRow(upn=f"user{i:05d}@bank.example", display_name=(name if i == 0 else f"User {i}"),
                     enabled=i % 17 != 0, user_type="Member" if i % 9 else "Guest",
                     mfa_registered=None if i == 3 else i % 5 != 0,
                     methods=["microsoftAuthenticatorPush"] if i % 5 else [],
                     privileged_roles=["Global Administrator"] if i < 3 else [],
                     last_sign_in=None if i % 11 == 0 else "2026-11-20T10:00:00Z",
                     covered_by_mfa_policy=i % 13 != 0) for i in range(n_users)]
    many = [(f"user{i:05d}@bank.example", f"User {i}", "not MFA-registered", None) for i in range(0, n_users, 5)]
    checks = [
        _check("MMFA-01", "pass", "critical"),
        _check("MMFA-02", "fail", "critical"),
        _check("MMFA-03", "fail", "high",
               [("ops@bank.example", name, "Azure CLI: 14 single-factor sign-ins, last 2026-11-29T08:00:00Z", None)]),
        _check("MMFA-04", "warn", "high", [("svc-deploy@bank.example", "Deploy", "name matches the service-account pattern", None)]),
        _check("MMFA-05", "fail", "medium", [("ga2@bank.example", "GA Two", "no primary or alternate email address", None)]),
        _check("MMFA-06", "manual", "medium", reason="Postponement is not readable through Graph; no attestation given."),
        _check("EA-01", "pass", "critical"),
        _check("EA-02", "fail", "critical",
               [("bg-01@bank.onmicrosoft.com", "Break glass 1", "methods: microsoftAuthenticatorPush", None)]),
        _check("EA-03", "fail", "high"),
        _check("EA-04", "fail", "critical",
               [("bg-01@bank.onmicrosoft.com", "Break glass 1", "excluded from 'Require MFA' via group 'BG'", None)]),
        _check("MFA-01", "excepted", "critical", [("kiosk@bank.example", "Kiosk", "excluded from 'Require MFA'", "EXC-2026-001")]),
        _check("MFA-02", "fail", "high", many, metrics={"registered": n_users - len(many), "enabled": n_users, "pct": 80.0}),
        _check("MFA-03", "pass", "critical"),
        _check("MFA-04", "warn", "high"),
        _check("MFA-05", "pass", "high"),
        _check("MFA-06", "warn", "medium"),
        _check("MFA-07", "pass", "medium"),
        _check("MFA-08", "pass", "low"),
        _check("MFA-09", "fail", "medium"),
        _check("MFA-10", "warn", "medium"),
        _check("LOG-01", "not_evaluated", "medium", reason="Sign-in logs were not collected: tenant has no Entra ID P1 licence."),
    ]
    controls = [
        ControlResult("ms-mandatory-mfa", "phase-2-azure-resource-manager", "Phase 2: Azure Resource Manager",
                      ControlStatus.NOT_MET, ["MMFA-02", "MMFA-03"]),
        ControlResult("glba-interagency", "III.C.1.a", "Access controls", ControlStatus.NOT_MET, ["MFA-01", "MFA-02"]),
        ControlResult("glba-interagency", "III.F", "Report to the board", ControlStatus.NOT_ASSESSED, []),
        ControlResult("nist-csf-2.0", "PR.AA-03", "Users authenticated", ControlStatus.PARTIALLY_MET, ["MFA-04"]),
    ]
    results = Results(
        tool_version="1.0.0",
        client=ClientInfo(slug="first-example-bank", name="First Example Bank, N.A. " + (HOSTILE if hostile else ""),
                          tenant_id="00000000-0000-0000-0000-000000000001", institution_type="bank"),
        period="2026-11", collected_at="2026-12-01T06:00:00Z",
        collection=Collection(status=CollectionStatus.PARTIAL,
                              gaps=[GapResult("auditLogs/signIns", "tenant has no Entra ID P1 licence")],
                              window_start="2026-11-01T06:00:00Z", window_end="2026-12-01T06:00:00Z", lookback_days=30),
        phase1=Readiness.READY, phase2=Readiness.NOT_READY,
        summary=Summary(enabled_users=n_users, mfa_registered_pct=80.0, privileged_users=3),
        checks=checks, controls=controls)
    meta = {c.id: CheckMeta(id=c.id, title=c.title, severity=c.severity,
                            rationale="Why this matters, in two sentences for a board member.",
                            remediation="Step one. Step two.",
                            references=("16 CFR 314.4(c)(5)", "https://learn.microsoft.com/entra/identity/authentication/concept-mandatory-multifactor-authentication"))
            for c in checks}
    frameworks = [
        load_catalogs().framework("ms-mandatory-mfa"),
        _framework("glba-interagency", "Interagency Guidelines Establishing Information Security Standards", "2001",
                   "regulation", controls[1:3]),
        _framework("nist-csf-2.0", "NIST CSF 2.0", "2.0", "benchmark", controls[3:]),
    ]
    return ReportData(
        results=results, firm=sample_firm(), check_meta=meta, frameworks=frameworks,
        users=users,
        privileged=[PrivilegedRow(upn=f"user{i:05d}@bank.example", display_name=name, roles=["Global Administrator"],
                                  assignment="active", mfa_registered=True, methods=["fido2SecurityKey"],
                                  phishing_resistant_only=True, covered_by_mfa_policy=True) for i in range(3)],
        emergency=[EmergencyRow(upn="bg-01@bank.onmicrosoft.com", exists=True, enabled=True, global_admin_active=True,
                                methods=["microsoftAuthenticatorPush"], phishing_resistant=False,
                                soft_or_phone_methods=["microsoftAuthenticatorPush"], excluded_from=["Require MFA " + name]),
                   EmergencyRow(upn="bg-02@bank.onmicrosoft.com", exists=False, enabled=None, global_admin_active=None,
                                methods=[], phishing_resistant=None, soft_or_phone_methods=[], excluded_from=[])],
        policies=[PolicyRow(name="Require MFA " + name, state="enabled", users="All users; excludes 1 group",
                            applications="All cloud apps", grant="mfa", client_app_types="all", is_mfa_policy=True)],
        phase2_sign_ins=[SignInRow(upn="ops@bank.example", display_name=name, app="Azure CLI", single_factor=14,
                                   multi_factor=0, non_interactive=12, last="2026-11-29T08:00:00Z")],
        exceptions=[ExceptionRow(id="EXC-2026-001", check="MFA-01", subject="kiosk@bank.example",
                                 approved_by="Jane Roe, Qualified Individual", approved_on="2026-01-15",
                                 expires_on="2027-01-15", compensating_control="Kiosk locked to branch network " + name,
                                 reference="ISC memo 2026-04", state="in_force", applied=True),
                    ExceptionRow(id="EXC-2025-009", check="MFA-02", subject="old@bank.example",
                                 approved_by="Jane Roe", approved_on="2025-01-01", expires_on="2025-12-31",
                                 compensating_control="-", reference="-", state="expired", applied=False)],
        trend=[{"period": "2026-09", "mfa_registered_pct": 70.0, "open": {"critical": 3, "high": 4, "medium": 2, "low": 0}},
               {"period": "2026-10", "mfa_registered_pct": 75.5, "open": {"critical": 2, "high": 4, "medium": 3, "low": 0}},
               {"period": "2026-11", "mfa_registered_pct": 80.0, "open": {"critical": 2, "high": 3, "medium": 2, "low": 0}}],
        changes={"new": ["MMFA-05"], "resolved": ["MFA-05"], "still_open": ["MMFA-02", "EA-02"]},
        evidence_index=[{"path": "evidence/collection.json", "sha256": "0" * 64, "size": 1234}],
    )
