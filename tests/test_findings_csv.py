"""The findings CSV: one row per finding and subject, formula-safe, UTF-8 with a BOM."""
from __future__ import annotations

import csv
import io

from reportgen.render import RenderOptions, output
from reportgen.render.findings_csv import HEADER, safe_cell
from tests.sample_report import HOSTILE, sample_report_data


def _read(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


def test_rows_per_finding_and_subject(tmp_path):
    data = sample_report_data()
    path = tmp_path / output("csv").filename("first-example-bank", "2026-11")
    assert path.name == "first-example-bank-2026-11-findings.csv"
    output("csv").render(data, path, RenderOptions())
    rows = _read(path)
    assert tuple(rows[0]) == HEADER
    body = [dict(zip(HEADER, r)) for r in rows[1:]]
    mfa02 = [r for r in body if r["check_id"] == "MFA-02"]
    assert len(mfa02) == len(data.results.check("MFA-02").affected) == 8
    assert {r["check_id"] for r in body} == {c.id for c in data.results.checks
                                            if c.status in ("fail", "warn", "excepted")}
    assert not any(r["check_id"] in ("MMFA-01", "LOG-01", "MMFA-06") for r in body)   # pass, not judged, manual
    ea03 = [r for r in body if r["check_id"] == "EA-03"]
    assert len(ea03) == 1 and ea03[0]["subject_upn"] == ""        # a tenant-wide finding is still one row
    excepted = next(r for r in body if r["check_id"] == "MFA-01")
    assert excepted["status"] == "Excepted" and excepted["exception"] == "EXC-2026-001"


def test_hostile_display_name_is_text(tmp_path):
    data = sample_report_data()
    path = tmp_path / "f.csv"
    output("csv").render(data, path, RenderOptions())
    rows = [dict(zip(HEADER, r)) for r in _read(path)[1:]]
    ops = next(r for r in rows if r["subject_upn"] == "ops@bank.example")
    # HOSTILE starts with '<': text already; the client name ends with it; both survive unchanged
    assert ops["subject_display_name"] == HOSTILE
    for row in rows:
        for value in row.values():
            # what a spreadsheet would evaluate: a cell whose first non-space character starts a formula
            assert not value.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_formula_starts_are_neutralised():
    for hostile in ('=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =1"):
        cell = safe_cell(hostile)
        assert cell.startswith("'") and cell[1:] == hostile
    assert safe_cell("Ada = Lovelace") == "Ada = Lovelace"
    assert safe_cell("\u202eevil") == "\ufffdevil"       # a bidi override is shown as removed, as in the workbook
    assert safe_cell(None) == ""


def test_formula_in_subject_round_trips_as_text(tmp_path):
    data = sample_report_data(hostile=False)
    data.results.check("MMFA-03").affected[0].display_name = '=HYPERLINK("http://evil","click")'
    path = tmp_path / "f.csv"
    output("csv").render(data, path, RenderOptions())
    ops = next(dict(zip(HEADER, r)) for r in _read(path)[1:] if r[HEADER.index("subject_upn")] == "ops@bank.example")
    assert ops["subject_display_name"] == "'=HYPERLINK(\"http://evil\",\"click\")"


def test_same_data_same_bytes(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    output("csv").render(sample_report_data(), a, RenderOptions())
    output("csv").render(sample_report_data(), b, RenderOptions())
    assert a.read_bytes() == b.read_bytes()
    assert b"\r\n" in a.read_bytes()


def test_the_consultants_severity_is_the_one_shown(tmp_path):
    from reportgen.results import Adjustment
    data = sample_report_data()
    data.results.check("MFA-02").adjustment = Adjustment(severity="low", note="compensated", by="A. Morgan")
    path = tmp_path / "f.csv"
    output("csv").render(data, path, RenderOptions())
    row = next(dict(zip(HEADER, r)) for r in _read(path)[1:] if r[HEADER.index("check_id")] == "MFA-02")
    assert (row["severity"], row["evaluated_severity"]) == ("Low", "High")
