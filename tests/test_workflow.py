"""The consultant workflow, without rendering: root causes, the action plan carried across periods,
the client's returned answers (hostile cells included), commentary, review state."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from reportgen import model as m
from reportgen.checks import Inputs, load_meta, run_checks
from reportgen.checks.rootcause import root_causes
from reportgen.results import ClientInfo, Collection, Results, Review, Summary
from reportgen.steps import first_step
from reportgen.vocab import CollectionStatus, Readiness, Severity, Status
from reportgen.workflow.actions import Answer, build_plan, carried_answers, plan_answers
from reportgen.workflow.commentary import render_markdown
from reportgen.workflow.prepare import WorkflowInputs, apply_overrides
from reportgen.workflow.responses import read_responses
from reportgen.workflow.review import decide, next_review
from tests.postures import (
    FIDO2,
    PostureBuilder,
    block_legacy_policy,
    mfa_policy,
    phishing_resistant_admin_policy,
    register_info_policy,
)

EA1, EA2 = "bg-01@bank.onmicrosoft.com", "bg-02@bank.onmicrosoft.com"
ADMIN, ALICE, BOB = "admin@bank.com", "alice@bank.com", "bob@bank.com"
INPUTS = Inputs(emergency_accounts=[EA1, EA2], phase2_postponed=False)
META = load_meta().checks


def tenant(*, exclude_groups=("g-breakglass",), exclude_users=(), pr_policy=False) -> m.Posture:
    """A well-run tenant, except that its one MFA policy excludes the break-glass group, which (v3: an
    inexact emergency access exclusion) also holds the administrator."""
    b = PostureBuilder()
    b.user(EA1, methods=[FIDO2]).ga(EA1).user(EA2, methods=[FIDO2]).ga(EA2)
    b.user(ADMIN, methods=[FIDO2, "windowsHelloForBusiness"]).ga(ADMIN)
    b.user(ALICE).user(BOB)
    b.group("g-breakglass", EA1, EA2, ADMIN)
    b.policy(mfa_policy(exclude_groups=list(exclude_groups), exclude_users=list(exclude_users)),
             block_legacy_policy(), register_info_policy())
    if pr_policy:   # v3: MFA-04 is judged by policy
        b.policy(phishing_resistant_admin_policy())
    b.sign_in(ADMIN, m.APP_AZURE_PORTAL).sign_in(ALICE, m.APP_AZURE_CLI)
    return b.build()


def results_of(posture: m.Posture, period: str = "2026-11") -> tuple[Results, list]:
    checks = run_checks(posture, INPUTS, META)
    res = Results(tool_version="t", client=ClientInfo("bank", "Bank", "t", "bank"), period=period,
                  collected_at=f"{period}-28T06:00:00Z",
                  collection=Collection(CollectionStatus.COMPLETE, [], "", "", 30),
                  phase1=Readiness.UNKNOWN, phase2=Readiness.UNKNOWN, summary=Summary(1, 100.0, 1), checks=checks,
                  controls=[])
    return res, root_causes(posture, INPUTS, checks, META)


REMEDIATION = {cid: first_step(meta.remediation) for cid, meta in META.items()}


# --------------------------------------------------------------------------- root causes

def test_one_exclusion_is_one_action_that_names_every_check_it_closes():
    res, causes = results_of(tenant())
    failing = {c.id for c in res.checks if c.status == Status.FAIL}
    assert {"EA-04", "MFA-03", "MMFA-01"} <= failing
    plan = build_plan(res, causes, REMEDIATION, {}, [])
    grouped = [a for a in plan if len(a.closes) > 1]
    assert len(grouped) == 1
    action = grouped[0]
    assert action.key.startswith("EXCL-") and "g-breakglass" in action.title
    assert {"EA-04", "MFA-03", "MMFA-01"} <= {c.check for c in action.closes if c.full}
    assert sorted(action.subjects) == [ADMIN]   # v3: the emergency access accounts' exclusion is advised
    # said once: no separate action for a check the grouped one closes fully
    assert not {a.key for a in plan} & {c.check for c in action.closes if c.full}
    assert action.severity == Severity.CRITICAL and plan[0] is action
    assert "EA-04" in action.why and "MFA-03" in action.why


def test_a_finding_the_change_only_partly_closes_keeps_its_own_action():
    res, causes = results_of(tenant(exclude_users=[BOB]))
    plan = build_plan(res, causes, REMEDIATION, {}, [])
    group = next(a for a in plan if "g-breakglass" in a.title)
    partial = {c.check: c for c in group.closes if not c.full}
    assert "MMFA-01" in partial and partial["MMFA-01"].resolved == 1 and partial["MMFA-01"].total == 2
    own = next(a for a in plan if a.key == "MMFA-01")
    assert group.key in own.why


def test_finding_keys_survive_a_rerun_and_do_not_depend_on_the_period():
    a = [x.key for x in build_plan(*results_of(tenant(), "2026-10")[:1], results_of(tenant(), "2026-10")[1],
                                   REMEDIATION, {}, [])]
    b = [x.key for x in build_plan(*results_of(tenant(), "2026-11")[:1], results_of(tenant(), "2026-11")[1],
                                   REMEDIATION, {}, [])]
    assert a == b and len(set(a)) == len(a)


def test_a_clean_tenant_has_no_root_causes_and_no_actions():
    res, causes = results_of(tenant(exclude_groups=(), pr_policy=True))
    assert causes == [] and build_plan(res, causes, REMEDIATION, {}, []) == []


# --------------------------------------------------------------------------- two periods

def test_action_plan_round_trip_across_two_periods(tmp_path):
    """October's plan is answered in the workbook; November's report carries owner and response,
    flags the overdue target, and drops what was resolved."""
    oct_res, oct_causes = results_of(tenant(exclude_users=[BOB]), "2026-10")
    october = build_plan(oct_res, oct_causes, REMEDIATION, {}, [])
    keys = [a.key for a in october]
    group = next(k for k in keys if k.startswith("EXCL-"))
    assert "MMFA-01" in keys
    oct_res.action_plan = [a.to_json() for a in october]

    path = tmp_path / "returned.xlsx"
    _sheet(path, [["Finding key", "Severity", "Owner", "Target date", "Management response", "Status"],
                  [group, "critical", "Dana Ortiz, IT Director", datetime(2026, 11, 15), "Keys ordered", "in progress"],
                  ["MMFA-01", "critical", "Sam Patel", "2027-01-31", "Bob's exclusion ends with the kiosk", "open"]])
    returned, problems = read_responses(path)
    assert problems == []

    # November: Bob's exclusion was removed (MMFA-01 partly resolved by that); the group exclusion stays
    nov_res, nov_causes = results_of(tenant(), "2026-11")
    history = [{"period": "2026-09", "open_checks": []}, {"period": "2026-10", "open_checks": ["EA-04", "MMFA-01"]}]
    carried = carried_answers(plan_answers(oct_res.to_json()["action_plan"]), returned)
    november = {a.key: a for a in build_plan(nov_res, nov_causes, REMEDIATION, carried, history)}
    assert "MMFA-01" not in november                       # resolved: drops out
    g = november[group]
    assert (g.answer.owner, g.answer.response, g.answer.status) == ("Dana Ortiz, IT Director", "Keys ordered",
                                                                  "in_progress")
    assert g.answer.target_date == "2026-11-15" and g.overdue is True
    assert g.open_since == "2026-10"
    doc = g.to_json()
    assert doc["finding_key"] == group and doc["overdue"] is True and doc["open_since"] == "2026-10"


def test_done_and_risk_accepted_stop_the_overdue_clock_but_done_is_flagged_while_still_open():
    res, causes = results_of(tenant())
    key = next(a.key for a in build_plan(res, causes, REMEDIATION, {}, []) if a.key.startswith("EXCL-"))
    for status, overdue, flagged in (("done", False, True), ("risk_accepted", False, False), ("open", True, False)):
        plan = build_plan(res, causes, REMEDIATION, {key: Answer(target_date="2026-01-01", status=status)}, [])
        action = next(a for a in plan if a.key == key)
        assert (action.overdue, bool(action.flag)) == (overdue, flagged), status


def test_override_keeps_the_original_severity_and_says_who_and_why():
    res, causes = results_of(tenant())

    @dataclasses.dataclass
    class Ovr:
        check: str
        severity: Severity | None
        note: str
        by: str
    apply_overrides(res, [Ovr("EA-04", Severity.MEDIUM, "Accounts sealed in the vault", "A. Consultant")])
    doc = res.to_json()
    ea4 = next(c for c in doc["checks"] if c["id"] == "EA-04")
    assert ea4["severity"] == "critical"
    assert ea4["override"] == {"severity": "medium", "note": "Accounts sealed in the vault", "by": "A. Consultant"}
    assert res.check("EA-04").effective_severity == Severity.MEDIUM


# --------------------------------------------------------------------------- returned answers, hostile

def _sheet(path: Path, rows: list[list], title: str = "Action plan") -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    wb.save(path)


def test_hostile_action_plan_cells_are_inert_and_named_per_row(tmp_path):
    path = tmp_path / "hostile.xlsx"
    _sheet(path, [
        ["Finding key", "Owner", "Target date", "Management response", "Status", "Hack"],
        ["MFA-02", '=HYPERLINK("http://evil","click")', "2027-01-31", "fine", "open", "x"],   # formula
        ["MFA-06", "Ann", 45000, "ok", "open"],                                                 # number as date
        ["MFA-09", "Ann", "next week", "ok", "soon"],                                          # not a date, bad status
        ["MFA-10", "Ann\u202e\u2066", "2027-02-30", "<script>alert(1)</script>", "DONE"],          # bidi, bad day
        ["'; DROP TABLE", "x", None, None, None],                                              # not a key
        ["MFA-02", "again", None, None, None],                                                  # duplicate
        [None, None, None, None, None],                                                         # blank: skipped
        ["MFA-05", 42, None, "=1+1", "in_progress"],                                            # number owner, formula
    ])
    answers, problems = read_responses(path)
    text = "\n".join(problems)
    assert "column 'Hack' is not one this tool reads" in text
    assert "row 2: Owner: a formula is not accepted" in text
    assert "row 3: Target date: '45000' is not a date" in text
    assert "row 4: Target date: 'next week' is not a date" in text and "row 4: Status: 'soon'" in text
    assert "row 5: Target date: '2027-02-30' is not a date" in text
    assert "row 6: Finding key" in text and "row 7: finding key MFA-02 appears twice" in text
    assert "row 9: Management response: a formula is not accepted" in text
    assert answers["MFA-02"] == Answer(target_date="2027-01-31", response="fine", status="open")
    assert answers["MFA-10"].owner == "Ann" and answers["MFA-10"].status == "done"
    assert answers["MFA-10"].response == "<script>alert(1)</script>"      # text: escaped where shown
    assert answers["MFA-05"].owner == "42" and answers["MFA-05"].response == ""
    assert not any(a.owner.startswith("=") for a in answers.values())


@pytest.mark.parametrize("content, expected", [
    (b"PK\x03\x04 not really a zip", "not a readable Excel workbook"),
    (b"", "not a readable Excel workbook"),
])
def test_a_broken_workbook_is_one_message_not_a_crash(tmp_path, content, expected):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    answers, problems = read_responses(path)
    assert answers == {} and len(problems) == 1 and expected in problems[0] and "broken.xlsx" in problems[0]


def test_a_workbook_without_the_action_plan_sheet_is_named(tmp_path):
    path = tmp_path / "other.xlsx"
    _sheet(path, [["Finding key"], ["MFA-02"]], title="Sheet1")
    answers, problems = read_responses(path)
    assert answers == {} and "no sheet named 'Action plan'" in problems[0]


def test_csv_answers_with_formula_looking_text_and_too_many_rows(tmp_path, monkeypatch):
    from reportgen.workflow import responses
    monkeypatch.setattr(responses, "MAX_ROWS", 3)
    path = tmp_path / "plan.csv"
    rows = ["Finding key,Owner,Target date,Status", "MFA-02,=cmd|' /C calc'!A0,2027-01-31,open",
            "MFA-06,Ann,2027-01-31,open", "MFA-09,Ann,2027-01-31,open", "MFA-10,Ann,2027-01-31,open"]
    path.write_text("\n".join(rows), encoding="utf-8")
    answers, problems = read_responses(path)
    assert answers["MFA-02"].owner == "=cmd|' /C calc'!A0"     # kept as text; never written as a formula
    assert "MFA-10" not in answers and any("more than 3 rows" in p for p in problems)
    path.write_bytes("Finding key,Owner\nMFA-02,J\xe9r\xf4me\n".encode("latin-1"))
    assert "is not UTF-8" in read_responses(path)[1][0]


def test_stored_inputs_round_trip_and_reject_odd_values():
    inp = WorkflowInputs(commentary="**Hi**", returned={"MFA-02": Answer(owner="Ann")}, problems=["p"],
                         previous={"EA-04": Answer(status="done", open_since="2026-08")}, previous_period="2026-10",
                         client_logo="branding/client-logo.png")
    again = WorkflowInputs.from_json(json.loads(json.dumps(inp.to_json())))
    assert again == inp
    odd = WorkflowInputs.from_json({"client_logo": "../../etc/passwd", "returned": {"X-1": {"status": "hacked"}},
                                    "previous": [1, 2], "commentary": 5})
    assert odd.client_logo is None and odd.returned["X-1"].status == "open" and odd.previous == {}
    assert odd.commentary is None


# --------------------------------------------------------------------------- commentary

def test_commentary_allows_no_raw_html_no_images_and_shows_link_addresses():
    html = render_markdown(
        "# Heading\n\nText <script>alert(1)</script> <img src=x onerror=alert(1)>\n\n"
        "![logo](https://evil.example/track.png) [portal](https://portal.example) [bad](javascript:alert(1)) "
        "[plain](http://insecure.example)")
    assert "<script" not in html and "&lt;script&gt;" in html and "<img" not in html
    assert "evil.example" not in html and "[image not shown: logo]" in html
    assert '<a href="https://portal.example">portal</a>' in html and "(https://portal.example)" in html
    assert 'href="http://insecure.example"' not in html and "(http://insecure.example)" in html
    assert "javascript:" not in html.replace("[bad](javascript:alert(1))", "")
    assert "<h1" not in html and "<h3>Heading</h3>" in html
    assert render_markdown("  \n") is None


# --------------------------------------------------------------------------- review state

def _folder(tmp_path: Path, review: dict | None) -> Path:
    folder = tmp_path / "2026-11" / "bank"
    folder.mkdir(parents=True)
    doc = {"schema_version": 1} if review is None else {"schema_version": 1, "review": review}
    (folder / "results.json").write_text(json.dumps(doc))
    return folder


def test_publishing_decisions(tmp_path):
    assert decide(tmp_path / "nothing", force=False).previous is None
    old = decide(_folder(tmp_path / "a", None), force=False)            # a 1.0 folder is a draft
    assert not old.skip and old.replaces_draft and "replaced draft version 1" in old.message
    final = {"state": "final", "version": 2, "reviewer": "Jo Lee, Partner"}
    kept = decide(_folder(tmp_path / "b", final), force=False)
    assert kept.skip and "final" in kept.message and "--force" in kept.message
    forced = decide(_folder(tmp_path / "c", final), force=True)
    assert forced.supersede and not forced.skip and ".superseded" in forced.message


def test_versions_count_every_report_of_the_period():
    first = next_review(None, final=False, issued_on="2026-12-01")
    assert (first.state, first.version, first.history) == ("draft", 1, [])
    final = next_review(first, final=True, issued_on="2026-12-04", by="Jo Lee, Partner",
                        finalized_at="2026-12-04T15:00:00Z")
    assert (final.state, final.version, final.reviewer) == ("final", 2, "Jo Lee, Partner")
    assert final.history == [{"version": 1, "state": "draft", "reviewer": None, "issued_on": "2026-12-01"}]
    again = next_review(final, final=False, issued_on="2026-12-09")
    assert again.version == 3 and again.reviewer is None and len(again.history) == 2
    assert Review.from_json(again.to_json()) == again


# --------------------------------------------------------------------------- configuration

def _load(tmp_path: Path, client_extra: str, firm_extra: str = ""):
    from reportgen.cli.common import load_config
    cfg = tmp_path / "reportgen.yaml"
    cfg.write_text(f"""firm:
  name: Firm
{firm_extra}clients:
  - slug: bank
    name: Bank
    institution_type: bank
    source: demo
    demo_profile: ready
{client_extra}""", encoding="utf-8")
    return load_config(cfg)


def _problems(tmp_path: Path, client_extra: str, firm_extra: str = "") -> str:
    from reportgen.config import ConfigError
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, client_extra, firm_extra)
    return "\n".join(e.value.problems)


def test_workflow_keys_are_validated_like_the_rest_of_the_configuration(tmp_path):
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + b"\0" * 6_000_000)
    (tmp_path / "plan.pdf").write_bytes(b"%PDF")
    text = _problems(tmp_path, "    logo: logo.gif\n    commentary: missing.md\n    action_plan: plan.pdf\n")
    assert "reportgen.yaml:9: bank: logo: must be an .svg, .png or .jpg file" in text
    assert "bank: commentary: file" in text and "missing.md not found" in text
    assert "bank: action_plan: must be a .xlsx or .csv file" in text
    assert "big.png is 6,000,004 bytes; a logo may be at most" in _problems(tmp_path, "    logo: big.png\n")
    (tmp_path / "fake.png").write_bytes(b"\x89PNG\r\n")
    assert "fake.png is not a readable PNG image" in _problems(tmp_path, "    logo: fake.png\n")
    text = _problems(tmp_path, "    overrides:\n      - {check: MFA-6, severity: medium, note: n, by: b}\n")
    assert "unknown check 'MFA-6'" in text and "did you mean 'MFA-06'" in text
    text = _problems(tmp_path, "    overrides:\n      - {check: MFA-06, severity: urgent, note: n, by: b}\n")
    assert "overrides.0.severity" in text
    twice = "    overrides:\n" + "      - {check: MFA-06, note: n, by: b}\n" * 2
    assert "two overrides for check 'MFA-06'" in _problems(tmp_path, twice)
    assert "note" in _problems(tmp_path, "    overrides:\n      - {check: MFA-06, by: b}\n")
    text = _problems(tmp_path, "", "  signing: {pkcs12: nope.p12, password_env: PW}\n")
    assert "firm.signing.pkcs12: file" in text and "nope.p12 not found" in text
    from PIL import Image
    Image.new("RGB", (40, 20), "navy").save(tmp_path / "logo.png")
    cfg = _load(tmp_path, "    logo: logo.png\n    prepared_by: \"Alex Morgan, Senior Consultant\"\n",
                "  review_required: false\n")
    assert cfg.clients[0].logo == (tmp_path / "logo.png").resolve() and cfg.firm.review_required is False
