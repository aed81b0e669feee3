"""A check that passes only because a date of Microsoft's timeline went by reads "No longer applies",
never "Pass" or "Resolved"; one the client fixed before that date is a plain pass."""
from __future__ import annotations

from reportgen.view.build import finding
from reportgen.vocab import LAPSED_LABEL, Status
from tests.verdicts import evaluate


def test_postponement_after_the_deadline_no_longer_applies(tmp_path):
    _case, _posture, res, _phases, _controls = evaluate("mmfa06-after-the-deadline", tmp_path)
    view = finding(res["MMFA-06"])
    assert view.status == Status.PASS and view.lapsed and view.status_label == LAPSED_LABEL


def test_a_pass_before_the_deadline_is_a_plain_pass(tmp_path):
    _case, _posture, res, _phases, _controls = evaluate("mmfa06-before-the-deadline", tmp_path)
    view = finding(res["MMFA-06"])
    assert not view.lapsed and view.status_label != LAPSED_LABEL


def test_every_output_says_no_longer_applies_where_the_date_went_by(demo_run):
    import csv
    import json

    from openpyxl import load_workbook
    from pypdf import PdfReader
    folder = demo_run / "harbor-federal-cu"
    doc = json.loads((folder / "results.json").read_text())
    assert next(c for c in doc["checks"] if c["id"] == "MMFA-06")["metrics"] == {"no_longer_applies": 1}
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(next(folder.glob("*.pdf"))).pages)
    assert "No longer applies (1): MMFA-06" in text and "Resolved (1): MMFA-01" in text
    checks = list(load_workbook(next(folder.glob("*.xlsx")), read_only=True)["Checks"].iter_rows(values_only=True))
    assert any(r[0] == "MMFA-06" and LAPSED_LABEL in r for r in checks)
    html = next(folder.glob("*.html")).read_text()
    assert "pass lapsed\">No longer applies" in html
    with open(next(folder.glob("*-findings.csv")), newline="", encoding="utf-8") as fh:
        assert all(r["check_id"] != "MMFA-06" for r in csv.DictReader(fh))   # not a finding
