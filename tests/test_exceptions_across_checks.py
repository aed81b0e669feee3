"""Exceptions across checks (contracts.md, version 3 additions): ``check: X``, ``checks: [..]`` or
``checks: all``; each applies to every named check where its subject is affected, and an MMFA reason
says that Microsoft's enforcement still applies to the subject."""
from __future__ import annotations

from datetime import date

import pytest

from reportgen.checks import apply_exceptions
from reportgen.cli import main
from reportgen.config import ExceptionEntry
from reportgen.results import Affected, CheckResult
from tests.test_cli import DEMO, write_config

DAY = date(2026, 11, 30)
KIOSK = "kiosk-01@bank.example"


def _exc(**names) -> ExceptionEntry:
    return ExceptionEntry(id="EXC-2026-001", subject=KIOSK, approved_by="CISO", approved_on=date(2026, 1, 1),
                          compensating_control="isolated network", **names)


def _results(*pairs) -> list[CheckResult]:
    return [CheckResult(id=cid, title=cid, severity="high", status=status, reason="Reason.",
                        affected=[Affected(KIOSK, "Kiosk", "not covered")]) for cid, status in pairs]


def test_a_list_of_checks_applies_to_each_named_check_only():
    rs = _results(("MFA-01", "fail"), ("MMFA-01", "fail"), ("MFA-02", "fail"))
    applied = apply_exceptions(rs, [_exc(checks=["MFA-01", "MMFA-01"])], DAY)
    assert [r.status for r in rs] == ["excepted", "excepted", "fail"] and applied == {"EXC-2026-001": True}
    assert rs[2].affected[0].exception is None


def test_all_applies_to_every_failing_check_where_the_subject_is_affected():
    rs = _results(("MFA-07", "fail"), ("EA-04", "fail"), ("MFA-02", "pass"), ("MFA-04", "warn"))
    apply_exceptions(rs, [_exc(checks="all")], DAY)
    assert [r.status for r in rs] == ["excepted", "excepted", "pass", "warn"]   # a warning is not excepted


def test_one_check_still_works_as_before():
    rs = _results(("MFA-01", "fail"), ("MFA-03", "fail"))
    apply_exceptions(rs, [_exc(check="MFA-01")], DAY)
    assert [r.status for r in rs] == ["excepted", "fail"]


def test_an_mmfa_reason_says_microsoft_still_enforces_mfa_for_the_subject():
    rs = _results(("MMFA-01", "fail"), ("MFA-01", "fail"))
    apply_exceptions(rs, [_exc(checks="all")], DAY)
    assert "Microsoft's mandatory MFA still applies to the excepted subject" in rs[0].reason
    assert "mandatory MFA" not in rs[1].reason
    assert _exc(checks=["MFA-01", "MMFA-01"]).checks_text == "MFA-01, MMFA-01"
    assert _exc(checks="all").checks_text == "all checks"


@pytest.mark.parametrize("names,expect", [
    ("check: MFA-01, checks: [MFA-02]", "give either check: <id> or checks: [<id>, ...]"),
    ("checks: [MFA-01, MFA-99]", "unknown check 'MFA-99'"),
    ("checks: []", "checks must name at least one check"),
    ("checks: some", "clients.0.exceptions.0.checks"),
    ("subject: x", "give either check: <id> or checks"),
])
def test_config_errors_name_file_and_line(tmp_path, capsys, names, expect):
    subject = "" if "subject" in names else "subject: a@b, "
    cfg = write_config(tmp_path, DEMO + f"  exceptions:\n    - {{id: E1, {names}, {subject}approved_by: Q, "
                                        "approved_on: 2026-01-01, compensating_control: c}\n")
    assert main(["check", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:14:" in err and expect in err, err


def test_the_register_names_one_check_several_or_all_in_words():
    assert _exc(check="MFA-01").checks_phrase == "check MFA-01"
    assert _exc(checks=["MFA-01", "MMFA-01"]).checks_phrase == "checks MFA-01, MMFA-01"
    assert _exc(checks="all").checks_phrase == "all checks"   # not "checks all checks"
