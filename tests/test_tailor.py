"""A finding's remediation fits the tenant: steps the evidence shows in place are left out, and every
output offers the same first step."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reportgen.checks.metadata import load_check_meta
from reportgen.checks.registry import registered
from reportgen.checks.tailor import tailor, without_steps
from reportgen.controls import load_catalogs
from reportgen.results import CheckResult
from reportgen.steps import first_step, is_list_item, split_steps
from reportgen.vocab import Severity, Status
from reportgen.yamlsrc import CatalogError
from tests.verdicts import evaluate

STEPS = "1. Register a key first.\n2. Remove the phone methods:\n   every one of them.\n3. Test sign-in."


def _words():
    return load_catalogs().check_words("bank", None)


def _result(cid: str, status: Status, metrics: dict | None = None) -> CheckResult:
    return CheckResult(id=cid, title=cid, severity=Severity.HIGH, status=status, reason="r", metrics=metrics or {})


def test_steps_are_split_at_their_numbers_and_renumbered_when_one_is_left_out():
    head, steps = split_steps(STEPS)
    assert head == "" and [n for n, _ in steps] == [1, 2, 3]
    assert without_steps(STEPS, {1}) == "1. Remove the phone methods:\n   every one of them.\n2. Test sign-in."
    assert without_steps(STEPS, {2}) == "1. Register a key first.\n2. Test sign-in."


def test_a_finding_never_loses_every_step_and_unnumbered_text_stays_whole():
    assert without_steps(STEPS, {1, 2, 3}) == STEPS
    assert without_steps("Do this and that.", {1}) == "Do this and that."


def test_ea04_with_exact_exclusions_opens_with_the_missing_key_not_with_the_exclusions():
    words = _words()
    ea04 = _result("EA-04", Status.FAIL, {"other_users_reached": 0, "excluded_without_emergency_method": 1})
    text = str(tailor(words, [ea04])["EA-04"].remediation)
    assert text.startswith("1. Give each excluded account a FIDO2 security key")
    assert "make each exclusion exact" not in text
    assert "make each exclusion exact" in str(words["EA-04"].remediation)   # the catalog keeps the whole fix


def test_ea04_with_a_group_that_holds_another_user_keeps_the_exclusion_step(tmp_path):
    _case, _posture, res, _phases, _controls = evaluate("emergency-access-group-also-holds-a-user", tmp_path)
    ea04 = res["EA-04"]
    assert ea04.status == Status.FAIL and ea04.metrics["other_users_reached"] == 1
    text = str(tailor(_words(), list(res.values()))["EA-04"].remediation)
    assert text.startswith("1. Keep the emergency access accounts excluded")
    assert "Give each excluded account" not in text   # both accounts already hold a key
    # the bank's own step (added under regulatory:) is renumbered with the others
    assert re.findall(r"^\d\.", text, re.M) == ["1.", "2.", "3."] and "\n3. Where an exception is unavoidable" in text


def test_ea03_where_the_account_already_holds_a_key_starts_with_removing_the_phone_methods():
    words = _words()
    warned = _result("EA-03", Status.WARN, {"without_emergency_method": 0})
    assert str(tailor(words, [warned])["EA-03"].remediation).startswith("1. Remove the Microsoft Authenticator")
    failed = _result("EA-03", Status.FAIL, {"without_emergency_method": 1})
    assert str(tailor(words, [failed])["EA-03"].remediation).startswith("1. Register a FIDO2 security key")


def test_a_step_is_left_out_only_on_positive_evidence():
    words = _words()
    no_metric = _result("EA-03", Status.FAIL, {})
    assert tailor(words, [no_metric])["EA-03"] == words["EA-03"]
    mfa11 = _result("MFA-11", Status.FAIL)
    for mfa06_status in (Status.NOT_EVALUATED, Status.FAIL, Status.MANUAL):
        assert tailor(words, [mfa11, _result("MFA-06", mfa06_status)])["MFA-11"] == words["MFA-11"]
    done = tailor(words, [mfa11, _result("MFA-06", Status.PASS)])["MFA-11"]
    assert str(done.remediation).startswith("1. Entra admin center > Protection > Authentication methods")


def test_a_passing_check_keeps_its_catalog_text():
    words = _words()
    ea04 = _result("EA-04", Status.PASS, {"other_users_reached": 0, "excluded_without_emergency_method": 0})
    assert tailor(words, [ea04])["EA-04"] is words["EA-04"]


@pytest.mark.parametrize("entry, problem", [
    ("{0: {metric_zero: x}}", "is not a step number"),
    ("{1: {check_passes: NOPE-1}}", "unknown check id"),
    ("{1: {metric_zero: x, check_passes: MFA-06}}", "exactly one of"),
    ("{1: {sometimes: x}}", "sometimes"),
    ("[1, 2]", "must map a step number"),
    ("{5: {check_passes: MFA-06}}", "has no step 5 (its steps are 1 to 3)"),
])
def test_a_malformed_steps_done_when_names_its_line(tmp_path, entry, problem):
    src = Path(load_catalogs().checks_path).read_text()
    bad = src.replace("    steps_done_when:\n      1: {check_passes: MFA-06}\n",
                      f"    steps_done_when: {entry}\n", 1)
    assert bad != src
    path = tmp_path / "checks.yaml"
    path.write_text(bad)
    with pytest.raises(CatalogError) as e:
        load_check_meta(path, registered())
    assert problem in str(e.value) and "checks.yaml:" in str(e.value)


def test_a_remediation_numbered_out_of_order_is_refused_where_steps_are_tailored(tmp_path):
    src = Path(load_catalogs().checks_path).read_text()
    bad = src.replace("      3. Complete the migration from the legacy per-user MFA", "      4. Complete the migration from "
                      "the legacy per-user MFA", 1)
    assert bad != src
    path = tmp_path / "checks.yaml"
    path.write_text(bad)
    with pytest.raises(CatalogError) as e:
        load_check_meta(path, registered())
    assert "MFA-11.remediation numbers its steps [1, 2, 4]" in str(e.value) and "checks.yaml:" in str(e.value)


def test_a_condition_must_hold_for_every_institution_types_remediation(tmp_path):
    """A step that only one institution type's own text adds would be tailored in that type's report
    and name a step that does not exist in the others'."""
    src = Path(load_catalogs().checks_path).read_text()
    at = src.index("  MFA-11:")
    mfa11 = src[at:src.index("  MFA-07:", at)]
    bad_mfa11 = (mfa11.replace("      1: {check_passes: MFA-06}\n", "      1: {check_passes: MFA-06}\n      4: {metric_zero: x}\n")
                 .replace("      bank:\n", "      bank:\n        remediation: \"4. Tell the board.\"\n"))
    assert bad_mfa11.count("4: {metric_zero: x}") == 1 and bad_mfa11.count("4. Tell the board.") == 1
    bad = src.replace(mfa11, bad_mfa11)
    path = tmp_path / "checks.yaml"
    path.write_text(bad)
    with pytest.raises(CatalogError) as e:
        load_check_meta(path, registered())
    assert "has no step 4 (its steps are 1 to 3)" in str(e.value) and "checks.yaml:" in str(e.value)


def test_steps_written_with_a_parenthesis_are_tailored_like_the_others():
    assert without_steps("1) Register a key.\n2) Test sign-in.", {1}) == "1) Test sign-in."
    assert split_steps("Intro line.\n\n1. First.\n2. Second.")[0] == "Intro line.\n\n"


@pytest.mark.parametrize("text, first", [
    ("1. Register a key first.\n   Then wait.\n2. Test.", "Register a key first. Then wait."),
    ("1) Register a key.\n2) Test.", "Register a key."),
    ("Start here,\nin the admin center.\n\n1. Then this.", "Start here, in the admin center."),
    ("• Give each account a key.\n• Test.", "Give each account a key."),
    ("\n\n  - Leading blank lines.\n", "Leading blank lines."),
    ("", ""),
])
def test_the_action_plan_and_the_pdf_read_the_same_first_step(text, first):
    assert first_step(text) == first


def test_a_list_item_starts_with_a_number_or_a_bullet_and_a_blank():
    for line in ("1. Step", "12) Step", "  - item", "* item", "• item"):
        assert is_list_item(line), line
    for line in ("2026. A year", "-5 degrees", "1.5 days", "Step 1. Later", "123. Three digits"):
        assert not is_list_item(line), line


def test_harbor_offers_the_same_fitting_first_step_in_the_pdf_workbook_and_csv(demo_run):
    folder = demo_run / "harbor-federal-cu"
    from pypdf import PdfReader
    pdf = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(next(folder.glob("*.pdf"))).pages)
    finding = pdf[pdf.index("Emergency access exclusions reach other users, or an excluded account lacks an emergency"):]
    remedy = finding[finding.index("Remediation"):][:400]
    assert "1. Give each excluded account a FIDO2 security key" in remedy and "exclusion exact" not in remedy
    with open(next(folder.glob("*-findings.csv")), newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["check_id"] == "EA-04"]
    assert rows and all(r["remediation"].startswith("1. Give each excluded account") for r in rows)
    wb = load_workbook(next(folder.glob("*.xlsx")), read_only=True)
    plan = [" ".join(str(c or "") for c in row) for row in wb["Action plan"].iter_rows(values_only=True)]
    line = next(r for r in plan if "EA-04" in r)
    assert "Give each excluded account a FIDO2 security key" in line and "exclusion exact" not in line
