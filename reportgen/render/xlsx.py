"""ReportData -> the client's Excel workbook (<slug>-<period>-mfa-compliance.xlsx).

The workbook is the full-detail companion of the PDF: every user, every affected subject.
It is written in openpyxl's write-only mode so that large tenants stream to disk; see
``xlsxutil`` for how tenant text is kept from ever becoming a formula and how the file is
made byte-identical for identical input. Values are what a reader expects of a spreadsheet:
labels (not raw enums), Excel dates, % formats; every printed page is marked Confidential.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font

from reportgen.report import ReportData
from reportgen.view import ReportView, view_of
from reportgen.vocab import (
    ASSIGNMENT_LABELS,
    BINDING_LABELS,
    CAUSE_LABELS,
    COLLECTION_LABELS,
    CONTROL_LABELS,
    DEFAULT_PRIMARY,
    EXCEPTION_STATE_LABELS,
    FRAMEWORK_STATUS_LABELS,
    INSTITUTION_LABELS,
    MET_FOR_WHAT_IS_TESTED,
    METHOD_LABELS,
    OPEN_SEVERITIES,
    POLICY_STATE_LABELS,
    READINESS_LABELS,
    REGULATORY_CONTROL_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Status,
    label,
    labels,
)

from . import RenderOptions
from .xlsx_actions import write_action_plan
from .xlsxutil import (
    BOLD,
    GREY,
    HEADING_FONT,
    NONE_TEXT,
    PERCENT_FORMAT,
    SEVERITY_COLOURS,
    STATUS_COLOURS,
    TITLE_FONT,
    UNKNOWN_TEXT,
    WRAP,
    YES_GOOD,
    Col,
    by_label,
    excel_date,
    excel_time,
    fill,
    fraction,
    header_footer,
    parse_timestamp,
    save_deterministic,
    set_properties,
    status_style,
    text_cell,
    value_cell,
    write_table_sheet,
    yes_no,
)

SHEETS = ("Summary", "Action plan", "Controls", "Checks", "Findings", "Users", "Privileged users", "Emergency access",
          "Conditional Access policies", "Phase 2 sign-ins", "Exceptions")
CHECK_STATUSES = (Status.FAIL, Status.WARN, Status.EXCEPTED, Status.PASS, Status.NOT_EVALUATED, Status.MANUAL)

_STATUS_COL = dict(width=15, palette=by_label(STATUS_LABELS, STATUS_COLOURS))
_SEVERITY_COL = dict(width=11, palette=by_label(SEVERITY_LABELS, SEVERITY_COLOURS))
_CONTROL_COL = dict(width=15, palette={**by_label(CONTROL_LABELS, STATUS_COLOURS),
                                       **by_label(REGULATORY_CONTROL_LABELS, STATUS_COLOURS),
                                       MET_FOR_WHAT_IS_TESTED: STATUS_COLOURS["partially_met"]})
_APPS_HELP = ("MFA required for all cloud apps: Yes when an enabled Conditional Access policy that requires MFA "
              "(or security defaults) covers the user for every cloud app. MFA required by policy for: the apps "
              "for which such a policy covers the user; 'None' means a password alone signs them in everywhere, "
              "'Unknown' that the policies could not be read.")


def render(data: ReportData, path: Path, options: RenderOptions) -> None:
    render_xlsx(data, path)


def review_words(data: ReportData) -> tuple[str, str]:
    """(state, "version 2, reviewed by X"): a draft workbook and the final one never read the same."""
    review = data.results.review
    if review is None:
        return "Draft for review", "version 1"
    state = "Final" if review.final else "Draft for review"
    return state, f"version {review.version}" + (f", reviewed by {review.reviewer}" if review.reviewer else "")


def _sheet(data: ReportData) -> tuple[str, str]:
    """What each printed page's header and footer say: the document, its review state and the firm."""
    r = data.results
    state, version = review_words(data)
    return f"{r.client.name} \u2014 MFA compliance {r.period} \u2014 {state}, {version}", data.firm.name


def render_xlsx(data: ReportData, out_path: Path) -> None:
    """Write the client workbook to ``out_path`` (atomically, mode 0600, deterministic bytes)."""
    r = data.results
    when = parse_timestamp(data.generated_at)

    wb = Workbook(write_only=True)
    set_properties(wb, when=when, creator=data.firm.name,
                   title=f"MFA compliance report: {r.client.name} {r.period}",
                   subject="Microsoft Entra ID MFA compliance"
                           + (" (sample data from a synthetic demo tenant)" if r.collection.demo else ""),
                   description=f"Prepared by {data.firm.name}. Confidential. {data.firm.disclaimer}",
                   review=r.review)
    used: set[str] = set()
    _summary(wb, data)
    write_action_plan(wb, data, used)
    header_footer(wb.worksheets[-1], *_sheet(data))     # Confidential like every other sheet
    for sheet in (_controls, _checks, _findings, _users, _privileged, _emergency, _policies, _sign_ins, _exceptions):
        sheet(wb, data, used)
    save_deterministic(wb, Path(out_path), when)


def _apps(apps: list[str] | None) -> str:
    return UNKNOWN_TEXT if apps is None else ", ".join(apps) or "None"


# ---------------------------------------------------------------- Summary

class _Sheet:
    """Row-by-row writer for the key/value Summary sheet (write-only: rows go out in order)."""

    def __init__(self, ws, firm_colour: str):
        self.ws = ws
        self.row = 0
        self.header_fill = fill(firm_colour.lstrip("#").upper() or "0B3D91")
        self.header_font = Font(bold=True, color="FFFFFF")

    def put(self, cells: list[Any]) -> int:
        self.ws.append(cells)
        self.row += 1
        return self.row

    def blank(self) -> None:
        self.put([])

    def heading(self, text: str) -> None:
        self.put([text_cell(self.ws, text, font=HEADING_FONT)])

    def kv(self, name: str, value: Any, **style: Any) -> None:
        cell = value_cell(self.ws, value, **style) if value is not None else text_cell(self.ws, UNKNOWN_TEXT, **style)
        self.put([text_cell(self.ws, name, font=BOLD), cell])

    def status(self, name: str, value: str, labels_: dict) -> None:
        """A status in words, coloured by its value."""
        self.kv(name, label(labels_, value), **status_style(value))

    def grid_header(self, headers: list[str]) -> int:
        return self.put([text_cell(self.ws, h, font=self.header_font, fill=self.header_fill) for h in headers])


def _summary(wb: Workbook, data: ReportData) -> None:
    r = data.results
    ws = wb.create_sheet("Summary")
    widths = {"A": 34, "B": 46, "C": 12, "D": 12, "E": 12, "F": 14, "G": 14, "H": 12}
    for letter, w in widths.items():
        ws.column_dimensions[letter].width = w
    ws.page_setup.orientation = "landscape"
    header_footer(ws, *_sheet(data))
    s = _Sheet(ws, data.firm.primary_color or DEFAULT_PRIMARY)

    s.put([text_cell(ws, "MFA compliance report", font=TITLE_FONT)])
    s.put([text_cell(ws, r.client.name, font=HEADING_FONT)])
    state, version = review_words(data)
    s.put([text_cell(ws, f"Period {r.period} \u2014 prepared by {data.firm.name} \u2014 Confidential \u2014 "
                         f"{state}, {version}")])
    if r.collection.demo:
        s.put([text_cell(ws, "Sample data: produced from a synthetic demo tenant, not from a real institution's "
                             "Microsoft Entra ID.", font=Font(bold=True, color="9C0006"))])
    s.blank()
    _summary_collection(s, data)
    s.heading("Microsoft mandatory MFA readiness")
    s.status("Phase 1 (admin portals)", r.phase1, READINESS_LABELS)
    s.status("Phase 2 (Azure Resource Manager)", r.phase2, READINESS_LABELS)
    s.blank()
    s.heading("Users")
    s.kv("Enabled users (members and guests)", r.summary.enabled_users)
    s.kv("MFA registered (enabled member users)", fraction(r.summary.mfa_registered_pct), number_format=PERCENT_FORMAT)
    reg = view_of(data).registration
    if reg.registered is not None and reg.enabled is not None:
        s.kv("Member users registered / enabled", f"{reg.registered:,} of {reg.enabled:,}")
    s.kv("Privileged users (active or eligible)", r.summary.privileged_users)
    s.kv("Users listed in this workbook", len(data.users))
    s.blank()
    _summary_counts(s, data)
    if data.trend:
        _trend(s, data.trend)
    if data.changes:
        _changes(s, data)
    _summary_frameworks(s, data)
    s.heading("How to read the sheets")
    s.kv("Users, Privileged users", _APPS_HELP, alignment=WRAP)
    s.kv("Dates and times", "Excel dates in UTC; an empty last sign-in means never signed in, or not reported.",
         alignment=WRAP)
    s.blank()
    s.heading("About this report")
    s.kv("Prepared by", data.firm.name)
    s.kv("Contact", data.firm.contact)
    s.kv("Disclaimer", data.firm.disclaimer, alignment=WRAP)
    s.kv("Tool", f"reportgen {r.tool_version}")
    s.kv("Document date (UTC)", excel_time(data.generated_at))
    s.kv("Evidence files", len(data.evidence_index))


def _summary_collection(s: _Sheet, data: ReportData) -> None:
    ws, r = s.ws, data.results
    coll = r.collection
    s.heading("Client and collection")
    s.kv("Client", r.client.name)
    s.kv("Client slug", r.client.slug)
    s.kv("Institution type", label(INSTITUTION_LABELS, r.client.institution_type))
    s.kv("Tenant ID", r.client.tenant_id)
    s.kv("Period", r.period)
    s.kv("Collected at (UTC)", excel_time(r.collected_at))
    s.kv("Data source", "Sample data from a synthetic demo tenant (no request sent to Microsoft Graph)"
         if coll.demo else "Microsoft Graph (read-only application permissions)")
    s.status("Collection status", coll.status, COLLECTION_LABELS)
    if not coll.gaps:
        s.kv("Collection gaps", NONE_TEXT)
    for i, g in enumerate(coll.gaps):
        s.put([text_cell(ws, "Collection gaps" if i == 0 else "", font=BOLD),
               text_cell(ws, f"{g.source}: {g.reason}", alignment=WRAP)])
    for key, name in (("granted_permissions", "Permissions granted to the app"),
                      ("missing_permissions", "Missing permissions"),
                      ("write_permissions", "Write permissions held (remove)")):
        if getattr(coll, key) is not None:
            s.kv(name, ", ".join(getattr(coll, key)) or NONE_TEXT)
    s.blank()


def _summary_counts(s: _Sheet, data: ReportData) -> None:
    ws = s.ws
    tallies = view_of(data).tallies
    s.heading("Checks by severity and status")
    s.kv("Open findings (failed or warning)", tallies.open_findings)
    s.grid_header(["Severity", *[STATUS_LABELS[st] for st in CHECK_STATUSES], "All checks"])
    for t in tallies.rows:
        s.put([text_cell(ws, t.label, **status_style(t.severity, SEVERITY_COLOURS)),
               *[value_cell(ws, t.count(st)) for st in CHECK_STATUSES], value_cell(ws, t.checks)])
    s.put([text_cell(ws, "All severities", font=BOLD),
           *[value_cell(ws, tallies.by_status(st), font=BOLD) for st in CHECK_STATUSES],
           value_cell(ws, tallies.checks, font=BOLD)])
    s.blank()


def _summary_frameworks(s: _Sheet, data: ReportData) -> None:
    if not data.frameworks:
        return
    ws = s.ws
    s.heading("Frameworks assessed")
    s.grid_header(["Framework", "Identifier", "Version", "Binding", "Status"])
    for f in data.frameworks:
        s.put([text_cell(ws, f.name, alignment=WRAP), text_cell(ws, f.id), text_cell(ws, f.version, alignment=WRAP),
               text_cell(ws, label(BINDING_LABELS, f.binding)), text_cell(ws, label(FRAMEWORK_STATUS_LABELS, f.status))])
    s.blank()


def _trend(s: _Sheet, trend: list[dict[str, Any]]) -> None:
    ws = s.ws
    s.heading("Month over month")
    hdr = s.grid_header(["Period", "MFA registered", "Open critical", "Open high", "Open medium",
                         "Open low", "Open total"])
    first = hdr + 1
    for t in trend:
        op = t.get("open") or {}
        vals = [op.get(k) for k in OPEN_SEVERITIES]
        total = sum(v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool))
        pct = t.get("mfa_registered_pct")
        s.put([text_cell(ws, t.get("period", "")),
               value_cell(ws, fraction(pct) if fraction(pct) is not None else ("n/a" if pct is not None else None),
                          number_format=PERCENT_FORMAT),
               *[value_cell(ws, v) for v in vals], value_cell(ws, total)])
    last = s.row
    s.blank()
    if len(trend) < 2:
        return

    cats = Reference(ws, min_col=1, min_row=first, max_row=last)
    line = LineChart()
    line.title = "MFA registered"
    line.y_axis.title = "Enabled member users"
    line.y_axis.scaling.min = 0
    line.y_axis.scaling.max = 1
    line.y_axis.number_format = "0%"
    line.x_axis.title = "Period"
    line.x_axis.delete = False
    line.y_axis.delete = False
    line.legend = None
    line.add_data(Reference(ws, min_col=2, min_row=hdr, max_row=last), titles_from_data=True)
    line.set_categories(cats)
    line.width, line.height = 16, 7.5
    ws.add_chart(line, "J2")

    bar = BarChart()
    bar.type = "col"
    bar.grouping = "stacked"
    bar.overlap = 100
    bar.title = "Open findings by severity"
    bar.y_axis.title = "Checks"
    bar.x_axis.title = "Period"
    bar.x_axis.delete = False
    bar.y_axis.delete = False
    bar.add_data(Reference(ws, min_col=3, max_col=6, min_row=hdr, max_row=last), titles_from_data=True)
    bar.set_categories(cats)
    for series, colour in zip(bar.series, ("C00000", "FF6A6A", "F2A900", "5B9BD5")):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    bar.width, bar.height = 16, 7.5
    ws.add_chart(bar, "J18")


def _changes(s: _Sheet, data: ReportData) -> None:
    ws = s.ws
    titles = {c.id: c.title for c in data.results.checks}
    s.heading("Changes since last period")
    for key, name in (("new", "New findings"), ("resolved", "Resolved"), ("still_open", "Still open")):
        ids = list((data.changes or {}).get(key) or [])
        if not ids:
            s.put([text_cell(ws, name, font=BOLD), text_cell(ws, NONE_TEXT)])
        for i, cid in enumerate(ids):
            title = titles.get(cid, "")
            s.put([text_cell(ws, name if i == 0 else "", font=BOLD),
                   text_cell(ws, f"{cid} \u2014 {title}" if title else cid)])
    if (data.changes or {}).get("since"):
        s.kv("Compared with period", str(data.changes["since"]))
    s.blank()


# ---------------------------------------------------------------- list sheets

def _findings_by_id(view: ReportView) -> dict[str, Any]:
    return {f.id: f for f in view.findings}


def _controls(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("Framework", 34, wrap=True), Col("Framework id", 22), Col("Control", 16),
            Col("Title", 44, wrap=True), Col("Status", **_CONTROL_COL), Col("Checks", 26, wrap=True),
            Col("Check statuses", 44, wrap=True)]
    rows = ([fw.name, c.framework, c.id, c.title, c.label, ", ".join(k.id for k in c.checks),
             "; ".join(f"{k.id}: {k.status_label or UNKNOWN_TEXT}" for k in c.checks) or "Manual evidence"]
            for fw in view_of(data).frameworks for c in fw.controls)
    write_table_sheet(wb, "Controls", "Controls", cols, rows, used, page=_sheet(data))


def _checks(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("Check", 10), Col("Title", 40, wrap=True), Col("Severity", **_SEVERITY_COL),
            Col("Status", **_STATUS_COL), Col("Reason", 60, wrap=True), Col("Affected", 10),
            Col("Rationale", 50, wrap=True), Col("Remediation", 50, wrap=True),
            Col("References", 40, wrap=True), Col("Not evaluated because", 24, wrap=True),
            Col("Judged from (Graph pages in evidence/)", 60, wrap=True)]

    found = _findings_by_id(view_of(data))

    def rows() -> Iterator[list[Any]]:
        for c in data.results.checks:
            meta = data.check_meta.get(c.id)
            f = found[c.id]
            yield [c.id, c.title, f.severity_label, f.status_label, c.reason, f.affected_count,
                   meta.rationale if meta else "", meta.remediation if meta else "",
                   "\n".join(meta.references) if meta else "", label(CAUSE_LABELS, c.cause) if c.cause else None,
                   "\n".join(f"{e.source}: {', '.join(e.pages) or 'no pages'}" for e in c.evidence)]
    write_table_sheet(wb, "Checks", "Checks", cols, rows(), used, page=_sheet(data))


def _findings(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("Check", 10), Col("Title", 36, wrap=True), Col("Severity", **_SEVERITY_COL),
            Col("Status", **_STATUS_COL), Col("Reason", 50, wrap=True), Col("UPN", 36), Col("Display name", 28),
            Col("Detail", 50, wrap=True), Col("Exception", 16)]

    found = _findings_by_id(view_of(data))

    def rows() -> Iterator[list[Any]]:
        for c in data.results.checks:
            f = found[c.id]
            head = [c.id, c.title, f.severity_label, f.status_label, c.reason]
            if not c.affected:
                yield head + [None, None, None, None]
            for a in c.affected:
                yield head + [a.upn, a.display_name, a.detail, a.exception]
    write_table_sheet(wb, "Findings", "Findings", cols, rows(), used, page=_sheet(data))


_MFA_ALL = "MFA required for all cloud apps"
_MFA_FOR = "MFA required by policy for"


def _users(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("UPN", 38), Col("Display name", 28), Col("Enabled", 9), Col("Type", 10),
            Col("MFA registered", 15, palette=YES_GOOD), Col("Methods", 40), Col("Privileged roles", 30),
            Col("Last sign-in (UTC)", 19), Col(_MFA_ALL, 20, palette=YES_GOOD), Col(_MFA_FOR, 36)]
    rows = ([u.upn, u.display_name, yes_no(u.enabled), u.user_type, yes_no(u.mfa_registered),
             labels(METHOD_LABELS, u.methods), u.privileged_roles, excel_time(u.last_sign_in),
             yes_no(u.covered_by_mfa_policy), _apps(u.mfa_policy_apps)] for u in data.users)
    write_table_sheet(wb, "Users", "Users", cols, rows, used, page=_sheet(data))


def _privileged(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("UPN", 38), Col("Display name", 28), Col("Roles", 40, wrap=True), Col("Assignment", 18),
            Col("MFA registered", 15, palette=YES_GOOD), Col("Methods", 40, wrap=True),
            Col("Phishing-resistant only", 22, palette=YES_GOOD),
            Col(_MFA_ALL, 20, palette=YES_GOOD), Col(_MFA_FOR, 36, wrap=True)]
    rows = ([p.upn, p.display_name, p.roles, label(ASSIGNMENT_LABELS, p.assignment), yes_no(p.mfa_registered),
             labels(METHOD_LABELS, p.methods), yes_no(p.phishing_resistant_only), yes_no(p.covered_by_mfa_policy),
             _apps(p.mfa_policy_apps)] for p in data.privileged)
    write_table_sheet(wb, "Privileged users", "PrivilegedUsers", cols, rows, used, page=_sheet(data))


def _emergency(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("UPN", 38), Col("Exists", 9, palette=YES_GOOD), Col("Enabled", 9, palette=YES_GOOD),
            Col("Global Administrator (active)", 28, palette=YES_GOOD), Col("Methods", 40, wrap=True),
            Col("Phishing-resistant method", 24, palette=YES_GOOD), Col("Soft token or phone methods", 34, wrap=True),
            Col("Excluded from MFA policies", 40, wrap=True)]
    rows = ([e.upn, yes_no(e.exists), yes_no(e.enabled), yes_no(e.global_admin_active),
             labels(METHOD_LABELS, e.methods), yes_no(e.phishing_resistant),
             labels(METHOD_LABELS, e.soft_or_phone_methods), e.excluded_from] for e in data.emergency)
    write_table_sheet(wb, "Emergency access", "EmergencyAccess", cols, rows, used, page=_sheet(data))


def _policies(wb: Workbook, data: ReportData, used: set[str]) -> None:
    state_palette = by_label(POLICY_STATE_LABELS, {"enabled": STATUS_COLOURS["pass"], "disabled": GREY,
                                                   "enabledForReportingButNotEnforced": STATUS_COLOURS["warn"]})
    cols = [Col("Policy", 40, wrap=True), Col("State", 14, palette=state_palette), Col("Users", 40, wrap=True),
            Col("Applications", 36, wrap=True), Col("Grant", 30, wrap=True), Col("Client app types", 26, wrap=True),
            Col("MFA policy", 12, palette=YES_GOOD)]
    rows = ([p.name, label(POLICY_STATE_LABELS, p.state), p.users, p.applications, p.grant, p.client_app_types,
             yes_no(p.is_mfa_policy)] for p in data.policies)
    write_table_sheet(wb, "Conditional Access policies", "ConditionalAccessPolicies", cols, rows, used,
                      page=_sheet(data))


def _sign_ins(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("UPN", 38), Col("Display name", 28), Col("App", 22), Col("Single-factor sign-ins", 22),
            Col("Multi-factor sign-ins", 20), Col("Non-interactive sign-ins", 22), Col("Last sign-in (UTC)", 19)]
    rows = ([s.upn, s.display_name, s.app, s.single_factor, s.multi_factor, s.non_interactive, excel_time(s.last)]
            for s in data.phase2_sign_ins)
    write_table_sheet(wb, "Phase 2 sign-ins", "Phase2SignIns", cols, rows, used,
                      row_rules=[("$D2>0", STATUS_COLOURS["fail"])], page=_sheet(data))


def _exceptions(wb: Workbook, data: ReportData, used: set[str]) -> None:
    state_palette = by_label(EXCEPTION_STATE_LABELS, {"in_force": STATUS_COLOURS["pass"],
                                                      "expired": STATUS_COLOURS["fail"],
                                                      "not_yet_valid": STATUS_COLOURS["warn"]})
    cols = [Col("Exception", 16), Col("Check", 10), Col("Subject", 36), Col("Approved by", 30, wrap=True),
            Col("Approved on", 12), Col("Expires on (empty: no expiry)", 16), Col("Compensating control", 50, wrap=True),
            Col("Reference", 24, wrap=True), Col("State", 14, palette=state_palette), Col("Applied this period", 19)]
    rows = ([e.id, e.check, e.subject, e.approved_by, excel_date(e.approved_on) or e.approved_on,
             excel_date(e.expires_on) or e.expires_on, e.compensating_control, e.reference,
             label(EXCEPTION_STATE_LABELS, e.state), yes_no(e.applied)] for e in data.exceptions)
    write_table_sheet(wb, "Exceptions", "Exceptions", cols, rows, used, page=_sheet(data))
