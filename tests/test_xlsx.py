"""Excel renderers: read the workbooks back and check facts, not looks."""
from __future__ import annotations

import dataclasses
import os
import re
import stat
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # running without an installed package
    sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402

from reportgen.render.portfolio import render_portfolio  # noqa: E402
from reportgen.render.xlsx import render_xlsx  # noqa: E402
from reportgen.render.xlsxutil import MAX_CELL_CHARS, clean_text, table_name  # noqa: E402
from tests.sample_report import HOSTILE, sample_report_data  # noqa: E402

LIST_SHEETS = ["Controls", "Checks", "Findings", "Users", "Privileged users", "Emergency access",
               "Conditional Access policies", "Phase 2 sign-ins", "Exceptions"]
ALL_SHEETS = ["Summary", "Action plan", *LIST_SHEETS]
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
HOSTILE_NAMES = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "=1+1", "#N/A", "\tTAB", "\rCR"]


@pytest.fixture(scope="module")
def sample_xlsx(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("xlsx") / "client.xlsx"
    render_xlsx(sample_report_data(), out)
    return out


@pytest.fixture(scope="module")
def hostile_xlsx(tmp_path_factory) -> tuple[Path, list[str]]:
    data = sample_report_data(n_users=20)
    long_text = "A" * 40_000
    names = HOSTILE_NAMES + ["ctl\x00\x07\x1b\ufffe\uffff\ud800chars", long_text, "\U0001F600" * 20_000]
    for i, name in enumerate(names):
        data.users[i + 1].display_name = name
    data.users[0].upn = "=cmd|' /C calc'!A0"
    out = tmp_path_factory.mktemp("hostile") / "hostile.xlsx"
    render_xlsx(data, out)
    return out, names


def _sheet_parts(path: Path) -> dict[str, bytes]:
    """Sheet title -> raw worksheet XML."""
    with zipfile.ZipFile(path) as z:
        wb = etree.fromstring(z.read("xl/workbook.xml"))
        rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        out = {}
        for sh in wb.iter(f"{MAIN_NS}sheet"):
            rid = sh.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
            target = targets[rid].lstrip("/")
            out[sh.get("name")] = z.read(target if target.startswith("xl/") else "xl/" + target)
        return out


def _find_row(ws, col: int, value):
    for row in ws.iter_rows(min_row=2):
        if row[col - 1].value == value:
            return row
    raise AssertionError(f"{value!r} not found in {ws.title}")


# ---------------------------------------------------------------- structure

def test_sheet_names_and_order(sample_xlsx):
    wb = openpyxl.load_workbook(sample_xlsx)
    assert wb.sheetnames == ALL_SHEETS


def test_every_list_sheet_is_a_real_table(sample_xlsx):
    wb = openpyxl.load_workbook(sample_xlsx)
    names = []
    for title in LIST_SHEETS:
        ws = wb[title]
        assert ws.freeze_panes == "A2", title
        assert len(ws.tables) == 1, title
        table = next(iter(ws.tables.values()))
        names.append(table.displayName)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", table.displayName)
        assert table.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}", title
        assert table.autoFilter is not None and table.autoFilter.ref == table.ref
        assert table.tableStyleInfo is not None and table.tableStyleInfo.name
        headers = [c.value for c in ws[1]]
        assert [c.name for c in table.tableColumns] == headers, title
        assert all(isinstance(h, str) and h for h in headers)
        assert len(set(headers)) == len(headers)
        assert ws.max_row >= 2, f"{title}: a table needs a data row"
        assert ws.column_dimensions["A"].width and ws.column_dimensions["A"].width > 8
    assert len({n.lower() for n in names}) == len(names)


def test_status_columns_have_conditional_formatting(sample_xlsx):
    wb = openpyxl.load_workbook(sample_xlsx)
    for title, col in (("Controls", "E"), ("Checks", "D"), ("Findings", "D")):
        rules = {}
        for cf in wb[title].conditional_formatting:
            if str(cf.sqref).startswith(f"{col}2:"):
                for rule in cf.rules:
                    rules[rule.formula[0]] = rule
        expected = ({'"Met"', '"Not met"', '"Partially met"', '"Not assessed"'} if title == "Controls" else
                    {'"Fail"', '"Pass"', '"Warning"', '"Excepted"', '"Not evaluated"', '"Manual review"'})
        assert expected <= set(rules), title
        bad, good = ('"Not met"', '"Met"') if title == "Controls" else ('"Fail"', '"Pass"')
        assert rules[bad].dxf.fill.fgColor.rgb != rules[good].dxf.fill.fgColor.rgb


def test_package_structure_is_consistent(sample_xlsx):
    """Every part is well-formed XML, every declared part and relationship target exists."""
    with zipfile.ZipFile(sample_xlsx) as z:
        assert z.testzip() is None
        names = set(z.namelist())
        for name in names:
            if name.endswith((".xml", ".rels")):
                etree.fromstring(z.read(name))
        ct = etree.fromstring(z.read("[Content_Types].xml"))
        for o in ct:
            if o.get("PartName"):
                assert o.get("PartName").lstrip("/") in names, o.get("PartName")
        for name in names:
            if not name.endswith(".rels"):
                continue
            base = name.replace("_rels/", "").removesuffix(".rels")
            folder = os.path.dirname(base)
            for rel in etree.fromstring(z.read(name)):
                if rel.get("TargetMode") == "External":
                    continue
                target = rel.get("Target")
                path = target.lstrip("/") if target.startswith("/") else os.path.normpath(os.path.join(folder, target))
                assert path in names, f"{name}: {target}"
        # each table part: ref matches the sheet's header row
        for name in sorted(n for n in names if n.startswith("xl/tables/")):
            t = etree.fromstring(z.read(name))
            cols = t.find(f"{MAIN_NS}tableColumns")
            assert int(cols.get("count")) == len(cols) > 0


def test_summary_content(sample_xlsx):
    data = sample_report_data()
    ws = openpyxl.load_workbook(sample_xlsx)["Summary"]
    kv: dict = {}
    for row in ws.iter_rows(values_only=True):
        if row[0]:
            kv.setdefault(row[0], row[1])
    client = data.results.client.to_json()
    assert kv["Client"] == client["name"]
    assert kv["Tenant ID"] == client["tenant_id"]
    assert kv["Period"] == "2026-11"
    assert kv["Collected at (UTC)"] == datetime(2026, 12, 1, 6, 0)
    assert kv["Collection status"] == "Partial"
    assert kv["Institution type"] == "Bank"
    assert "tenant has no Entra ID P1 licence" in kv["Collection gaps"]
    assert kv["Phase 1 (admin portals)"] == "Ready"
    assert kv["Phase 2 (Azure Resource Manager)"] == "Not ready"
    assert kv["Enabled users (members and guests)"] == 40
    assert kv["MFA registered (enabled member users)"] == 0.8
    assert kv["Member users registered / enabled"] == "32 of 40"
    assert kv["Privileged users (active or eligible)"] == 3
    assert kv["Prepared by"] == data.firm.name
    assert kv["Contact"] == data.firm.contact
    assert kv["Disclaimer"] == data.firm.disclaimer
    assert kv["New findings"].startswith("MMFA-05")
    rows = list(ws.iter_rows(values_only=True))
    sev = {r[0]: r for r in rows if r[0] in ("Critical", "High", "Medium", "Low")}
    assert sev["Critical"][1] == 3 and sev["Critical"][3] == 1  # fail, excepted
    assert [c for c in rows if c[0] == "Severity"][0][1:4] == ("Fail", "Warning", "Excepted")
    periods = [r[0] for r in rows if isinstance(r[0], str) and re.fullmatch(r"\d{4}-\d{2}", r[0])]
    assert periods == ["2026-09", "2026-10", "2026-11"]


def test_trend_charts(sample_xlsx, tmp_path):
    with zipfile.ZipFile(sample_xlsx) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        kinds = b"".join(z.read(n) for n in charts)
    assert len(charts) == 2
    assert b"lineChart" in kinds and b"barChart" in kinds
    assert b"'Summary'!$B$" in kinds

    # one period: table but no charts; no trend: neither
    data = sample_report_data()
    data.trend = data.trend[-1:]
    out = tmp_path / "one.xlsx"
    render_xlsx(data, out)
    with zipfile.ZipFile(out) as z:
        assert not [n for n in z.namelist() if n.startswith("xl/charts/")]
    data.trend, data.changes = None, None
    render_xlsx(data, tmp_path / "none.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "none.xlsx")["Summary"]
    labels = [r[0] for r in ws.iter_rows(values_only=True)]
    assert "Month over month" not in labels and "Changes since last period" not in labels


# ---------------------------------------------------------------- content

def test_findings_one_row_per_subject_or_check(sample_xlsx):
    data = sample_report_data()
    ws = openpyxl.load_workbook(sample_xlsx)["Findings"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    expected = sum(max(1, len(c.affected)) for c in data.results.checks)
    assert len(rows) == expected
    assert [c.value for c in ws[1]] == ["Check", "Title", "Severity", "Status", "Reason", "UPN",
                                       "Display name", "Detail", "Exception"]
    excepted = [r for r in rows if r[0] == "MFA-01"]
    assert excepted == [("MFA-01", "Title of MFA-01", "Critical", "Excepted", "MFA-01 is excepted.",
                         "kiosk@bank.example", "Kiosk", "excluded from 'Require MFA'", "EXC-2026-001")]
    log = [r for r in rows if r[0] == "LOG-01"]
    assert log[0][3] == "Not evaluated" and log[0][5] is None and "P1" in log[0][4]
    assert {r[0] for r in rows} == {c.id for c in data.results.checks}


def test_users_sheet_lists_every_user(tmp_path):
    data = sample_report_data(n_users=5000)
    out = tmp_path / "big.xlsx"
    render_xlsx(data, out)
    wb = openpyxl.load_workbook(out, read_only=True)
    ws = wb["Users"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("UPN", "Display name", "Enabled", "Type", "MFA registered", "Methods",
                       "Privileged roles", "Last sign-in (UTC)", "MFA required for all cloud apps",
                       "MFA required by policy for")
    assert len(rows) - 1 == len(data.users) == 5000
    assert [r[0] for r in rows[1:]] == [u.upn for u in data.users]
    by_upn = {r[0]: r for r in rows[1:]}
    u3 = by_upn["user00003@bank.example"]
    assert u3[4] == "Unknown"                         # mfa_registered None
    assert by_upn["user00000@bank.example"][2] == "No"   # disabled
    assert by_upn["user00000@bank.example"][7] is None   # never signed in (or not reported): empty
    assert by_upn["user00001@bank.example"][6] == "Global Administrator"
    assert by_upn["user00001@bank.example"][7] == datetime(2026, 11, 20, 10, 0)
    assert by_upn["user00001@bank.example"][5] == "Authenticator push"
    findings = list(wb["Findings"].iter_rows(values_only=True))
    assert len(findings) - 1 == sum(max(1, len(c.affected)) for c in data.results.checks)
    wb.close()


def test_other_list_sheets(sample_xlsx):
    wb = openpyxl.load_workbook(sample_xlsx)
    ea = _find_row(wb["Emergency access"], 1, "bg-02@bank.onmicrosoft.com")
    assert [c.value for c in ea[1:4]] == ["No", "Unknown", "Unknown"]
    ex = _find_row(wb["Exceptions"], 1, "EXC-2025-009")
    assert ex[8].value == "Expired" and ex[9].value == "No"
    assert ex[4].value == datetime(2025, 1, 1) and ex[4].is_date and ex[5].value == datetime(2025, 12, 31)
    si = _find_row(wb["Phase 2 sign-ins"], 1, "ops@bank.example")
    assert [c.value for c in si[2:6]] == ["Azure CLI", 14, 0, 12]
    ctl = _find_row(wb["Controls"], 3, "III.F")
    assert ctl[4].value == "Not assessed"
    assert wb["Privileged users"].max_row == 4
    pol = wb["Conditional Access policies"]
    assert pol["A2"].value == "Require MFA " + HOSTILE and pol["A2"].data_type == "s"


def test_empty_lists_give_placeholder_rows(tmp_path):
    data = sample_report_data(n_users=0)
    data = dataclasses.replace(data, privileged=[], emergency=[], policies=[], phase2_sign_ins=[],
                               exceptions=[], trend=None, changes=None, frameworks=[],
                               check_meta={})
    data.results.checks = []
    data.results.controls = []
    out = tmp_path / "empty.xlsx"
    render_xlsx(data, out)
    wb = openpyxl.load_workbook(out)
    for title in LIST_SHEETS:
        ws = wb[title]
        assert ws.max_row == 2 and ws["A2"].value == "(none)", title
        assert next(iter(ws.tables.values())).ref.endswith("2")


# ---------------------------------------------------------------- safety

def test_hostile_strings_are_stored_as_text(hostile_xlsx):
    path, names = hostile_xlsx
    wb = openpyxl.load_workbook(path)
    ws = wb["Users"]
    for i, name in enumerate(names):
        cell = ws.cell(row=i + 3, column=2)
        assert cell.data_type == "s", name
        assert cell.value == clean_text(name)
        if name[:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert cell.quotePrefix, name
    assert ws["A2"].value == "=cmd|' /C calc'!A0" and ws["A2"].data_type == "s" and ws["A2"].quotePrefix
    assert ws["B5"].value == "-1" and not isinstance(ws["B5"].value, (int, float))
    assert ws.cell(row=len(HOSTILE_NAMES) + 3, column=2).value == "ctl\ufffdchars"   # removed, visibly
    long_cell = ws.cell(row=len(HOSTILE_NAMES) + 4, column=2).value
    assert len(long_cell) <= MAX_CELL_CHARS and long_cell.endswith("[truncated]")
    astral = ws.cell(row=len(HOSTILE_NAMES) + 5, column=2).value
    assert len(astral.encode("utf-16-le")) // 2 <= MAX_CELL_CHARS
    # Findings and Summary carry the hostile client/display names too
    assert wb["Summary"]["B6"].data_type == "s"
    for sheet, xml in _sheet_parts(path).items():
        root = etree.fromstring(xml)
        assert root.find(f".//{MAIN_NS}f") is None, sheet
        assert not [c for c in root.iter(f"{MAIN_NS}c") if c.get("t") in ("str", "e")], sheet


def test_table_name_helper():
    used: set[str] = set()
    assert table_name("Users", used) == "Users"
    assert table_name("users", used) == "users_2"
    assert table_name("A1", used) == "_A1"
    assert table_name("R1C1", used) == "_R1C1"
    assert table_name("1st sheet", used) == "_1st_sheet"
    assert table_name("", used) == "Table"


# ---------------------------------------------------------------- determinism and writing

def test_byte_identical_and_atomic(tmp_path, sample_xlsx):
    a, b = tmp_path / "a" / "r.xlsx", tmp_path / "b" / "r.xlsx"
    render_xlsx(sample_report_data(), a)
    render_xlsx(sample_report_data(), b)
    assert a.read_bytes() == b.read_bytes() == sample_xlsx.read_bytes()
    assert stat.S_IMODE(a.stat().st_mode) == 0o600
    render_xlsx(sample_report_data(), a)  # overwrite in place
    assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in a.parent.iterdir()) == ["r.xlsx"]  # no temp files left
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 12, 1, 6, 0, 0)}
    wb = openpyxl.load_workbook(a)
    props = wb.properties
    assert props.creator == "Example Security Partners"
    assert props.created.isoformat().startswith("2026-12-01T06:00:00")
    assert props.modified.isoformat().startswith("2026-12-01T06:00:00")
    assert "MFA compliance report" in props.title

    other = sample_report_data()
    other.users[5].display_name = "Changed"
    render_xlsx(other, b)
    assert a.read_bytes() != b.read_bytes()


# ---------------------------------------------------------------- portfolio

PORTFOLIO_ROWS = [
    {"slug": "first-example-bank", "name": "First Example Bank, N.A.", "institution_type": "bank",
     "status": "ok", "error": None, "phase1": "ready", "phase2": "not_ready", "mfa_registered_pct": 80.0,
     "open": {"critical": 2, "high": 3, "medium": 2, "low": 0}, "direction": "improving",
     "collection_status": "partial"},
    {"slug": "hostile-cu", "name": '=HYPERLINK("http://x","y")', "institution_type": "credit_union",
     "status": "ok", "error": None, "phase1": "at_risk", "phase2": "unknown", "mfa_registered_pct": 99.5,
     "open": {"critical": 0, "high": 0, "medium": 1, "low": 0}, "direction": "worsening",
     "collection_status": "complete"},
    {"slug": "broken-lender", "name": "Broken Lender LLC", "institution_type": "nonbank", "status": "failed",
     "error": "+authentication failed\x07: AADSTS7000215", "phase1": None, "phase2": None,
     "mfa_registered_pct": None, "open": None, "direction": None, "collection_status": None},
    {"slug": "new-cu", "name": "New CU", "institution_type": "credit_union", "status": "ok", "error": None,
     "phase1": "ready", "phase2": "ready", "mfa_registered_pct": 100, "open": {"critical": 0, "high": 0,
     "medium": 0, "low": 0}, "direction": "new", "collection_status": "complete"},
]


def test_portfolio(tmp_path):
    out = tmp_path / "portfolio.xlsx"
    render_portfolio(PORTFOLIO_ROWS, out, "2026-11", "2026-12-01T06:00:00Z")
    wb = openpyxl.load_workbook(out)
    ws = wb["Portfolio"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Client", "Slug", "Type", "Status", "Review state", "Overdue actions", "Error", "Phase 1", "Phase 2",
                       "MFA registered", "Open critical", "Open high", "Open medium", "Open low", "Open total",
                       "Not evaluated", "Not evaluated critical", "Direction", "Collection", "PDF", "Workbook")
    assert len(rows) == 1 + len(PORTFOLIO_ROWS)
    assert rows[1] == ("First Example Bank, N.A.", "first-example-bank", "Bank", "Produced", None, None, None, "Ready",
                       "Not ready", 0.8, 2, 3, 2, 0, 7, None, None, "\u25b2 improving", "Partial", "PDF", "Workbook")
    assert ws["J2"].number_format == "0.0%"
    assert rows[2][0] == '=HYPERLINK("http://x","y")' and ws["A3"].data_type == "s" and ws["A3"].quotePrefix
    assert rows[2][17] == "\u25bc worsening"
    assert rows[3][3] == "Failed" and rows[3][6] == "+authentication failed\ufffd: AADSTS7000215"
    assert ws["G4"].data_type == "s" and ws["G4"].quotePrefix
    assert rows[3][9:21] == (None,) * 12            # nothing known, no links for a failed client
    assert rows[4][17] == "\u25cf new"
    assert ws.freeze_panes == "A2"
    table = next(iter(ws.tables.values()))
    assert table.ref == "A1:U5" and [c.name for c in table.tableColumns] == list(rows[0])
    formulas = [r.formula[0] for cf in ws.conditional_formatting for r in cf.rules]
    assert '$D2="Failed"' in formulas          # failed clients highlighted, whole row
    assert '$Q2>0' in formulas                 # a critical check not evaluated is highlighted too
    assert '$F2>0' in formulas                 # and overdue actions
    assert '"Not ready"' in formulas and '"\u25bc worsening"' in formulas
    about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True) if r[0]}
    assert about["Period"] == "2026-11" and about["Failed"] == 1 and about["Clients"] == 4
    assert about["Generated at (UTC)"] == datetime(2026, 12, 1, 6, 0)
    for xml in _sheet_parts(out).values():
        assert etree.fromstring(xml).find(f".//{MAIN_NS}f") is None

    again = tmp_path / "again.xlsx"
    render_portfolio(PORTFOLIO_ROWS, again, "2026-11", "2026-12-01T06:00:00Z")
    assert out.read_bytes() == again.read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_portfolio_links_review_state_and_not_evaluated(tmp_path):
    """Relative links that still resolve when the period folder moves; the review state and the
    not-evaluated counts from the batch entry."""
    period = tmp_path / "2026-11"
    rows = [dict(PORTFOLIO_ROWS[0], not_evaluated={"critical": 1, "high": 2, "medium": 0, "low": 0},
                 review_state="draft", direction="mixed", overdue=2),
            dict(PORTFOLIO_ROWS[3], review_state="final")]
    for r in rows:
        (period / r["slug"]).mkdir(parents=True)
        for suffix in ("pdf", "xlsx"):
            (period / r["slug"] / f"{r['slug']}-2026-11-mfa-compliance.{suffix}").write_bytes(b"x")
    render_portfolio(rows, period / "portfolio.xlsx", "2026-11", "2026-12-01T06:00:00Z")
    moved = tmp_path / "elsewhere" / "2026-11"
    moved.parent.mkdir()
    period.rename(moved)
    ws = openpyxl.load_workbook(moved / "portfolio.xlsx")["Portfolio"]
    header = [c.value for c in ws[1]]
    first = {h: c for h, c in zip(header, ws[2])}
    assert first["Review state"].value == "Draft" and ws.cell(3, header.index("Review state") + 1).value == "Final"
    assert first["Overdue actions"].value == 2
    assert first["Not evaluated"].value == 3 and first["Not evaluated critical"].value == 1
    assert first["Direction"].value == "\u25c6 mixed"
    for name in ("PDF", "Workbook"):
        target = first[name].hyperlink.target
        assert not Path(target).is_absolute() and ".." not in target
        assert (moved / target).is_file(), target


def test_every_sheet_is_marked_confidential(sample_xlsx, tmp_path):
    render_portfolio(PORTFOLIO_ROWS, tmp_path / "p.xlsx", "2026-11", "2026-12-01T06:00:00Z")
    for path in (sample_xlsx, tmp_path / "p.xlsx"):
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            assert ws.oddHeader.right.text == "Confidential", (path.name, ws.title)
            assert "Confidential" in ws.oddFooter.left.text and "&P" in ws.oddFooter.right.text
    assert "Confidential" in openpyxl.load_workbook(sample_xlsx).properties.description


def test_dates_percentages_and_wrapping(sample_xlsx):
    wb = openpyxl.load_workbook(sample_xlsx)
    users = wb["Users"]
    col = [c.value for c in users[1]].index("Last sign-in (UTC)") + 1
    cell = users.cell(3, col)
    assert cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm"
    si = _find_row(wb["Phase 2 sign-ins"], 1, "ops@bank.example")
    assert si[6].is_date and si[6].value == datetime(2026, 11, 29, 8, 0)
    summary = {r[0].value: r[1] for r in wb["Summary"].iter_rows() if r[0].value}
    assert summary["Collected at (UTC)"].is_date and summary["Document date (UTC)"].is_date
    assert summary["MFA registered (enabled member users)"].number_format == "0.0%"
    trend = [r for r in wb["Summary"].iter_rows() if r[0].value == "2026-10"][0]
    assert trend[1].value == 0.755 and trend[1].number_format == "0.0%"
    findings = wb["Findings"]
    header = [c.value for c in findings[1]]
    for name in ("Title", "Reason", "Detail"):
        assert findings.cell(2, header.index(name) + 1).alignment.wrap_text, name


def test_no_raw_enum_values_and_the_changes_period(tmp_path):
    """Every status, severity, state and method a reader sees is a label; 'Compared with period'
    is the period, not its characters."""
    data = sample_report_data(hostile=False)
    data.changes["since"] = "2026-10"
    data.policies[0] = dataclasses.replace(data.policies[0], state="enabledForReportingButNotEnforced")
    out = tmp_path / "labels.xlsx"
    render_xlsx(data, out)
    wb = openpyxl.load_workbook(out)
    raw = {"pass", "fail", "warn", "excepted", "not_evaluated", "manual", "critical", "high", "medium", "low",
           "info", "ready", "at_risk", "not_ready", "unknown", "met", "partially_met", "not_met", "not_assessed",
           "complete", "partial", "failed", "bank", "credit_union", "nonbank", "in_force", "expired",
           "not_yet_valid", "active+eligible", "enabledForReportingButNotEnforced", "enabled", "disabled",
           "microsoftAuthenticatorPush", "fido2SecurityKey", "proposed_removal", "regulation", "benchmark",
           "vendor", "guidance", "no_licence"}
    # ids and paths, and the checks' own sentences (their wording belongs to the checks)
    skip = {("Controls", "Framework id"), ("Checks", "Judged from (Graph pages in evidence/)"),
            ("Findings", "Detail"), ("Findings", "Reason"), ("Checks", "Reason")}
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=1):
            for i, cell in enumerate(row):
                name = header[i] if i < len(header) else None
                if (ws.title, name) in skip or not isinstance(cell.value, str):
                    continue
                compound = [t for t in raw if re.search(r"[_+]|[a-z][A-Z]", t) and t in cell.value]
                assert cell.value not in raw and not compound, (ws.title, cell.coordinate, cell.value)
    kv = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert kv["Compared with period"] == "2026-10"
    assert not [r for r in wb["Summary"].iter_rows(values_only=True) if r[0] == "Since"]


def test_users_sheet_says_which_apps_each_user_is_covered_for(tmp_path):
    data = sample_report_data(n_users=4, hostile=False)
    data.users[1].mfa_policy_apps = ["Microsoft admin portals", "Office 365"]
    data.users[1].covered_by_mfa_policy = False
    data.users[2].mfa_policy_apps = []
    data.users[3].mfa_policy_apps = None
    render_xlsx(data, tmp_path / "u.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "u.xlsx")
    rows = {r[0]: r for r in wb["Users"].iter_rows(min_row=2, values_only=True)}
    assert rows["user00001@bank.example"][8:10] == ("No", "Microsoft admin portals, Office 365")
    assert rows["user00002@bank.example"][9] == "None" and rows["user00003@bank.example"][9] == "Unknown"
    help_text = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}["Users, Privileged users"]
    assert "MFA required for all cloud apps" in help_text and "password alone" in help_text


def test_portfolio_empty(tmp_path):
    out = tmp_path / "portfolio.xlsx"
    render_portfolio([], out, "2026-11", "2026-12-01T06:00:00Z")
    ws = openpyxl.load_workbook(out)["Portfolio"]
    assert ws.max_row == 2 and ws["A2"].value == "(none)"


def test_non_finite_numbers_do_not_corrupt_the_file(tmp_path):
    data = sample_report_data(n_users=3)
    data.results.summary = dataclasses.replace(data.results.summary, mfa_registered_pct=float("nan"))
    data.trend[0]["mfa_registered_pct"] = float("inf")
    out = tmp_path / "nan.xlsx"
    render_xlsx(data, out)
    ws = openpyxl.load_workbook(out)["Summary"]
    values = {r[0]: r[1] for r in ws.iter_rows(values_only=True)
              if r[0] in ("MFA registered (enabled member users)", "2026-09")}
    assert values == {"MFA registered (enabled member users)": "Unknown", "2026-09": "n/a"}
    for xml in _sheet_parts(out).values():
        assert b"<v>nan</v>" not in xml.lower() and b"<v>inf</v>" not in xml.lower()
