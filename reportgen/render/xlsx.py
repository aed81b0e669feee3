"""ReportData -> the client's Excel workbook (<slug>-<period>-mfa-compliance.xlsx).

The workbook is the full-detail companion of the PDF: every user, every affected subject.
It is written in openpyxl's write-only mode so that large tenants stream to disk; see
``xlsxutil`` for how tenant text is kept from ever becoming a formula and how the file is
made byte-identical for identical input.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font

from reportgen.report import ReportData
from reportgen.vocab import DEFAULT_PRIMARY, OPEN_SEVERITIES, Severity, Status, control_label

from . import RenderOptions
from .xlsx_actions import write_action_plan
from .xlsxutil import (BOLD, GREY, HEADING_FONT, NONE_TEXT, SEVERITY_COLOURS, STATUS_COLOURS, TITLE_FONT,
                       WRAP, YES_GOOD, Col, fill, parse_timestamp, save_deterministic,
                       set_properties, status_style, text_cell, value_cell, write_table_sheet, yes_no)

SHEETS = ("Summary", "Action plan", "Controls", "Checks", "Findings", "Users", "Privileged users", "Emergency access",
          "Conditional Access policies", "Phase 2 sign-ins", "Exceptions")
CHECK_STATUSES = (Status.FAIL, Status.WARN, Status.EXCEPTED, Status.PASS, Status.NOT_EVALUATED, Status.MANUAL)

_STATUS_COL = dict(width=15, palette=STATUS_COLOURS)
_SEVERITY_COL = dict(width=11, palette=SEVERITY_COLOURS)


def render(data: ReportData, path: Path, options: RenderOptions) -> None:
    render_xlsx(data, path)


def render_xlsx(data: ReportData, out_path: Path) -> None:
    """Write the client workbook to ``out_path`` (atomically, mode 0600, deterministic bytes)."""
    r = data.results
    when = parse_timestamp(data.generated_at)

    wb = Workbook(write_only=True)
    set_properties(wb, when=when, creator=data.firm.name,
                   title=f"MFA compliance report: {r.client.name} {r.period}",
                   subject="Microsoft Entra ID MFA compliance",
                   description=f"Prepared by {data.firm.name}. {data.firm.disclaimer}")
    used: set[str] = set()
    _summary(wb, data)
    write_action_plan(wb, data, used)
    for sheet in (_controls, _checks, _findings, _users, _privileged, _emergency, _policies, _sign_ins, _exceptions):
        sheet(wb, data, used)
    save_deterministic(wb, Path(out_path), when)


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

    def kv(self, label: str, value: Any, **style: Any) -> None:
        cell = value_cell(self.ws, value, **style) if value is not None else text_cell(self.ws, "unknown", **style)
        self.put([text_cell(self.ws, label, font=BOLD), cell])

    def grid_header(self, headers: list[str]) -> int:
        return self.put([text_cell(self.ws, h, font=self.header_font, fill=self.header_fill) for h in headers])


def _summary(wb: Workbook, data: ReportData) -> None:
    r = data.results
    ws = wb.create_sheet("Summary")
    widths = {"A": 34, "B": 46, "C": 12, "D": 12, "E": 12, "F": 14, "G": 14, "H": 12}
    for letter, w in widths.items():
        ws.column_dimensions[letter].width = w
    ws.page_setup.orientation = "landscape"
    s = _Sheet(ws, data.firm.primary_color or DEFAULT_PRIMARY)

    s.put([text_cell(ws, "MFA compliance report", font=TITLE_FONT)])
    s.put([text_cell(ws, r.client.name, font=HEADING_FONT)])
    s.put([text_cell(ws, f"Period {r.period} \u2014 prepared by {data.firm.name}")])
    s.blank()
    _summary_collection(s, data)
    s.heading("Microsoft mandatory MFA readiness")
    s.kv("Phase 1 (admin portals)", r.phase1, **status_style(r.phase1))
    s.kv("Phase 2 (Azure Resource Manager)", r.phase2, **status_style(r.phase2))
    s.blank()
    s.heading("Users")
    s.kv("Enabled users", r.summary.enabled_users)
    s.kv("MFA registered %", r.summary.mfa_registered_pct, number_format="0.0")
    s.kv("Privileged users", r.summary.privileged_users)
    s.kv("Users listed in this workbook", len(data.users))
    s.blank()
    _summary_counts(s, data)
    if data.trend:
        _trend(s, data.trend)
    if data.changes:
        _changes(s, data)
    _summary_frameworks(s, data)
    s.heading("About this report")
    s.kv("Prepared by", data.firm.name)
    s.kv("Contact", data.firm.contact)
    s.kv("Disclaimer", data.firm.disclaimer, alignment=WRAP)
    s.kv("Tool", f"reportgen {r.tool_version}")
    s.kv("Document date (UTC)", data.generated_at)
    s.kv("Evidence files", len(data.evidence_index))


def _summary_collection(s: _Sheet, data: ReportData) -> None:
    ws, r = s.ws, data.results
    coll = r.collection
    s.heading("Client and collection")
    s.kv("Client", r.client.name)
    s.kv("Client slug", r.client.slug)
    s.kv("Institution type", r.client.institution_type)
    s.kv("Tenant ID", r.client.tenant_id)
    s.kv("Period", r.period)
    s.kv("Collected at (UTC)", r.collected_at)
    s.kv("Collection status", coll.status, **status_style(coll.status))
    if not coll.gaps:
        s.kv("Collection gaps", NONE_TEXT)
    for i, g in enumerate(coll.gaps):
        s.put([text_cell(ws, "Collection gaps" if i == 0 else "", font=BOLD),
               text_cell(ws, f"{g.source}: {g.reason}", alignment=WRAP)])
    for key, label in (("granted_permissions", "Permissions granted to the app"),
                       ("missing_permissions", "Missing permissions"),
                       ("write_permissions", "Write permissions held (remove)")):
        if getattr(coll, key) is not None:
            s.kv(label, ", ".join(getattr(coll, key)) or NONE_TEXT)
    s.blank()


def _summary_counts(s: _Sheet, data: ReportData) -> None:
    ws = s.ws
    s.heading("Checks by severity and status")
    s.grid_header(["Severity", *CHECK_STATUSES, "Total"])
    counts: dict[tuple[str, str], int] = {}
    for c in data.results.checks:
        counts[(c.severity, c.status)] = counts.get((c.severity, c.status), 0) + 1
    for sev in Severity:
        row = [counts.get((sev, st), 0) for st in CHECK_STATUSES]
        total = sum(v for (sv, _), v in counts.items() if sv == sev)
        s.put([text_cell(ws, sev, **status_style(sev, SEVERITY_COLOURS)),
               *[value_cell(ws, v) for v in row], value_cell(ws, total)])
    s.put([text_cell(ws, "Total", font=BOLD),
           *[value_cell(ws, sum(v for (_, st), v in counts.items() if st == status), font=BOLD)
             for status in CHECK_STATUSES],
           value_cell(ws, sum(counts.values()), font=BOLD)])
    s.blank()


def _summary_frameworks(s: _Sheet, data: ReportData) -> None:
    if not data.frameworks:
        return
    ws = s.ws
    s.heading("Frameworks assessed")
    s.grid_header(["Framework", "Identifier", "Version", "Binding", "Status"])
    for f in data.frameworks:
        s.put([text_cell(ws, f.name, alignment=WRAP), text_cell(ws, f.id), text_cell(ws, f.version),
               text_cell(ws, f.binding), text_cell(ws, f.status)])
    s.blank()


def _trend(s: _Sheet, trend: list[dict[str, Any]]) -> None:
    ws = s.ws
    s.heading("Month over month")
    hdr = s.grid_header(["Period", "MFA registered %", "Open critical", "Open high", "Open medium",
                         "Open low", "Open total"])
    first = hdr + 1
    for t in trend:
        op = t.get("open") or {}
        vals = [op.get(k) for k in OPEN_SEVERITIES]
        total = sum(v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool))
        s.put([text_cell(ws, t.get("period", "")),
               value_cell(ws, t.get("mfa_registered_pct"), number_format="0.0"),
               *[value_cell(ws, v) for v in vals], value_cell(ws, total)])
    last = s.row
    s.blank()
    if len(trend) < 2:
        return

    cats = Reference(ws, min_col=1, min_row=first, max_row=last)
    line = LineChart()
    line.title = "MFA registered %"
    line.y_axis.title = "%"
    line.y_axis.scaling.min = 0
    line.y_axis.scaling.max = 100
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
    for key, label in (("new", "New findings"), ("resolved", "Resolved"), ("still_open", "Still open")):
        ids = list((data.changes or {}).get(key) or [])
        if not ids:
            s.put([text_cell(ws, label, font=BOLD), text_cell(ws, NONE_TEXT)])
        for i, cid in enumerate(ids):
            title = titles.get(cid, "")
            s.put([text_cell(ws, label if i == 0 else "", font=BOLD),
                   text_cell(ws, f"{cid} \u2014 {title}" if title else cid)])
    if (data.changes or {}).get("since"):
        s.kv("Compared with period", str(data.changes["since"]))
    s.blank()


def _controls(wb: Workbook, data: ReportData, used: set[str]) -> None:
    fw_names = {f.id: f.name for f in data.frameworks}
    status_of = {c.id: c.status for c in data.results.checks}
    cols = [Col("Framework", 34, wrap=True), Col("Framework id", 22), Col("Control", 16),
            Col("Title", 44, wrap=True), Col("Status", **_STATUS_COL), Col("Coverage", 30, wrap=True),
            Col("Checks", 26), Col("Check statuses", 44, wrap=True)]
    rows = ([fw_names.get(c.framework, c.framework), c.framework, c.id, c.title, c.status,
             control_label(c.status, c.coverage) if c.coverage == "partial" else c.coverage, ", ".join(c.checks),
             "; ".join(f"{i}: {status_of.get(i, 'unknown')}" for i in c.checks)] for c in data.results.controls)
    write_table_sheet(wb, "Controls", "Controls", cols, rows, used)


def _checks(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("Check", 10), Col("Title", 40, wrap=True), Col("Severity", **_SEVERITY_COL),
            Col("Status", **_STATUS_COL), Col("Reason", 60, wrap=True), Col("Affected", 10),
            Col("Rationale", 50, wrap=True), Col("Remediation", 50, wrap=True),
            Col("References", 40, wrap=True), Col("Not evaluated because", 22),
            Col("Judged from (Graph pages in evidence/)", 60, wrap=True)]

    def rows() -> Iterator[list[Any]]:
        for c in data.results.checks:
            meta = data.check_meta.get(c.id)
            yield [c.id, c.title, c.severity, c.status, c.reason, len(c.affected),
                   meta.rationale if meta else "", meta.remediation if meta else "",
                   "\n".join(meta.references) if meta else "", c.cause,
                   "\n".join(f"{e.source}: {', '.join(e.pages) or 'no pages'}" for e in c.evidence)]
    write_table_sheet(wb, "Checks", "Checks", cols, rows(), used)


def _findings(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("Check", 10), Col("Title", 36), Col("Severity", **_SEVERITY_COL), Col("Status", **_STATUS_COL),
            Col("Reason", 50), Col("UPN", 36), Col("Display name", 28), Col("Detail", 50),
            Col("Exception", 16)]

    def rows() -> Iterator[list[Any]]:
        for c in data.results.checks:
            head = [c.id, c.title, c.severity, c.status, c.reason]
            if not c.affected:
                yield head + [None, None, None, None]
            for a in c.affected:
                yield head + [a.upn, a.display_name, a.detail, a.exception]
    write_table_sheet(wb, "Findings", "Findings", cols, rows(), used)


def _users(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("UPN", 38), Col("Display name", 28), Col("Enabled", 9), Col("Type", 10),
            Col("MFA registered", 15, palette=YES_GOOD), Col("Methods", 40), Col("Privileged roles", 30),
            Col("Last sign-in (UTC)", 21), Col("Covered by an MFA policy", 24, palette=YES_GOOD)]
    rows = ([u.upn, u.display_name, yes_no(u.enabled), u.user_type, yes_no(u.mfa_registered),
             u.methods, u.privileged_roles, u.last_sign_in or "never or unknown",
             yes_no(u.covered_by_mfa_policy)] for u in data.users)
    write_table_sheet(wb, "Users", "Users", cols, rows, used)


def _privileged(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("UPN", 38), Col("Display name", 28), Col("Roles", 40, wrap=True), Col("Assignment", 16),
            Col("MFA registered", 15, palette=YES_GOOD), Col("Methods", 40),
            Col("Phishing-resistant only", 22, palette=YES_GOOD),
            Col("Covered by an MFA policy", 24, palette=YES_GOOD)]
    rows = ([p.upn, p.display_name, p.roles, p.assignment, yes_no(p.mfa_registered), p.methods,
             yes_no(p.phishing_resistant_only), yes_no(p.covered_by_mfa_policy)] for p in data.privileged)
    write_table_sheet(wb, "Privileged users", "PrivilegedUsers", cols, rows, used)


def _emergency(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("UPN", 38), Col("Exists", 9, palette=YES_GOOD), Col("Enabled", 9, palette=YES_GOOD),
            Col("Global Administrator (active)", 28, palette=YES_GOOD), Col("Methods", 40),
            Col("Phishing-resistant method", 24, palette=YES_GOOD), Col("Soft token or phone methods", 34),
            Col("Excluded from MFA policies", 40, wrap=True)]
    rows = ([e.upn, yes_no(e.exists), yes_no(e.enabled), yes_no(e.global_admin_active), e.methods,
             yes_no(e.phishing_resistant), e.soft_or_phone_methods, e.excluded_from] for e in data.emergency)
    write_table_sheet(wb, "Emergency access", "EmergencyAccess", cols, rows, used)


def _policies(wb: Workbook, data: ReportData, used: set[str]) -> None:
    state_palette = {"enabled": STATUS_COLOURS["pass"], "enabledForReportingButNotEnforced": STATUS_COLOURS["warn"],
                     "disabled": GREY}
    cols = [Col("Policy", 40, wrap=True), Col("State", 30, palette=state_palette), Col("Users", 40, wrap=True),
            Col("Applications", 36, wrap=True), Col("Grant", 30, wrap=True), Col("Client app types", 22),
            Col("MFA policy", 12, palette=YES_GOOD)]
    rows = ([p.name, p.state, p.users, p.applications, p.grant, p.client_app_types, yes_no(p.is_mfa_policy)]
            for p in data.policies)
    write_table_sheet(wb, "Conditional Access policies", "ConditionalAccessPolicies", cols, rows, used)


def _sign_ins(wb: Workbook, data: ReportData, used: set[str]) -> None:
    cols = [Col("UPN", 38), Col("Display name", 28), Col("App", 22), Col("Single-factor sign-ins", 22),
            Col("Multi-factor sign-ins", 20), Col("Non-interactive sign-ins", 22), Col("Last sign-in (UTC)", 21)]
    rows = ([s.upn, s.display_name, s.app, s.single_factor, s.multi_factor, s.non_interactive, s.last]
            for s in data.phase2_sign_ins)
    write_table_sheet(wb, "Phase 2 sign-ins", "Phase2SignIns", cols, rows, used,
                      row_rules=[("$D2>0", STATUS_COLOURS["fail"])])


def _exceptions(wb: Workbook, data: ReportData, used: set[str]) -> None:
    state_palette = {"in_force": STATUS_COLOURS["pass"], "expired": STATUS_COLOURS["fail"],
                     "not_yet_valid": STATUS_COLOURS["warn"]}
    cols = [Col("Exception", 16), Col("Check", 10), Col("Subject", 36), Col("Approved by", 30),
            Col("Approved on", 12), Col("Expires on", 12), Col("Compensating control", 50, wrap=True),
            Col("Reference", 24), Col("State", 14, palette=state_palette), Col("Applied this period", 19)]
    rows = ([e.id, e.check, e.subject, e.approved_by, e.approved_on, e.expires_on or "no expiry",
             e.compensating_control, e.reference, e.state, yes_no(e.applied)] for e in data.exceptions)
    write_table_sheet(wb, "Exceptions", "Exceptions", cols, rows, used)
