"""OSCAL 1.1.3 assessment results and POA&M: valid against NIST's schemas, stable, honest."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from reportgen.render import RenderOptions, output
from reportgen.render.oscal import assessment_results, token
from reportgen.render.oscal_poam import poam
from reportgen.vocab import Severity
from reportgen.workflow.actions import Action, Answer, Closes
from tests.oscal_schema import errors, shared_dir
from tests.sample_report import HOSTILE, sample_report_data

pytestmark = pytest.mark.skipif(not (shared_dir() / "oscal").is_dir(), reason="shared/oscal (NIST's schemas) not found")

PLAN = [
    {"finding_key": "MFA-02", "title": "Enabled member users are not all MFA-capable", "why": "8 users\nare not.",
     "severity": "high", "checks": [{"id": "MFA-02", "full": True, "resolved": 8, "total": 8}],
     "owner": "Jane Roe, IT " + HOSTILE, "target_date": "2027-01-31", "response": "Registration campaign\nin January.",
     "status": "in_progress", "open_since": "2026-06", "overdue": False, "flag": None},
    {"finding_key": "ROOT-EA", "title": "Fix the break-glass accounts", "why": "Because one change closes two.",
     "severity": "critical", "checks": [{"id": "EA-02", "full": True}, {"id": "EA-04", "full": True}],
     "owner": "", "target_date": None, "response": "", "status": "done", "open_since": "2026-09",
     "overdue": True, "flag": "reported done but still open"},
]


def _action(p: dict) -> Action:
    return Action(key=p["finding_key"], title=p["title"], why=p["why"], severity=Severity(p["severity"]),
                  closes=[Closes(c["id"], "", c["full"], 0, 0) for c in p["checks"]], subjects=[],
                  answer=Answer(owner=p["owner"], target_date=p["target_date"], response=p["response"],
                                status=p["status"]),
                  open_since=p["open_since"], overdue=p["overdue"], flag=p["flag"] or "")


def _data(plan=PLAN):
    data = sample_report_data()
    # the view reads the review workflow's action plan; None: a report without the workflow
    data.workflow = SimpleNamespace(actions=[_action(p) for p in plan]) if plan is not None else None
    data.evidence_index = [{"path": "evidence/pages/users-0001.json", "sha256": "ab" * 32, "size": 10}]
    return data


def test_assessment_results_validate():
    doc = assessment_results(_data())
    assert errors("ar", doc) == []
    result = doc["assessment-results"]["results"][0]
    open_ids = {c.id for c in _data().results.checks if c.status in ("fail", "warn")}
    assert {f["target"]["target-id"] for f in result["findings"]} == open_ids
    assert len(result["observations"]) == len(open_ids)
    mfa01 = [f for f in result["findings"] if f["target"]["target-id"] == "MFA-01"]
    assert mfa01 == []      # excepted: closed by an approved exception, not an open finding
    warn = next(f for f in result["findings"] if f["target"]["target-id"] == "MMFA-04")
    assert warn["target"]["status"] == {"state": "not-satisfied", "reason": "other"}


def test_evidence_is_cited_with_its_hash():
    doc = assessment_results(_data())["assessment-results"]
    resources = {r["uuid"]: r for r in doc["back-matter"]["resources"]}
    obs = doc["results"][0]["observations"][0]
    ref = obs["relevant-evidence"][0]
    target = resources[ref["href"].lstrip("#")]
    assert target["rlinks"][0]["href"] == "evidence/pages/users-0001.json"
    assert target["rlinks"][0]["hashes"] == [{"algorithm": "SHA-256", "value": "ab" * 32}]
    assert doc["import-ap"]["href"].lstrip("#") in resources


def test_poam_validates_and_carries_the_answers():
    doc = poam(_data())
    assert errors("poam", doc) == []
    p = doc["plan-of-action-and-milestones"]
    items = {next(x["value"] for x in i["props"] if x["name"] == "finding-key"): i for i in p["poam-items"]}
    assert set(items) == {"MFA-02", "ROOT-EA"}
    risks = {r["uuid"]: r for r in p["risks"]}
    mfa02 = risks[items["MFA-02"]["related-risks"][0]["risk-uuid"]]
    assert mfa02["status"] == "remediating" and mfa02["deadline"] == "2027-01-31T23:59:59Z"
    response = mfa02["remediations"][0]
    assert response["description"] == "Registration campaign\nin January."
    owner = response["tasks"][0]["responsible-roles"][0]["party-uuids"][0]
    assert next(x for x in p["metadata"]["parties"] if x["uuid"] == owner)["name"] == "Jane Roe, IT " + HOSTILE
    done = risks[items["ROOT-EA"]["related-risks"][0]["risk-uuid"]]
    assert done["status"] == "open"          # the client's "done" does not close what the check still finds
    assert "still finds it open" in items["ROOT-EA"]["remarks"]
    # findings join the assessment results by UUID
    ar = assessment_results(_data())["assessment-results"]["results"][0]
    assert {f["finding-uuid"] for f in items["ROOT-EA"]["related-findings"]} <= {f["uuid"] for f in ar["findings"]}
    assert len(items["ROOT-EA"]["related-findings"]) == 2


def test_poam_without_a_workflow_and_without_findings():
    assert errors("poam", poam(_data(plan=None))) == []
    data = _data(plan=[])
    for c in data.results.checks:
        c.status = "pass"
    doc = poam(data)
    assert errors("poam", doc) == []
    assert [i["title"] for i in doc["plan-of-action-and-milestones"]["poam-items"]] == ["No open findings"]
    assert errors("ar", assessment_results(data)) == []


def test_validator_can_fail():
    doc = assessment_results(_data())
    doc["assessment-results"]["metadata"]["last-modified"] = "2026-13-01T00:00:00Z"
    doc["assessment-results"]["results"][0]["reviewed-controls"]["control-selections"][0]["include-controls"][0][
        "control-id"] = "314.4(c)(5)"
    doc["assessment-results"]["uuid"] = "not-a-uuid"
    found = " ".join(errors("ar", doc))
    assert "last-modified" in found and "control-id" in found and "uuid" in found


@pytest.mark.parametrize("raw", ["314.4(c)(5)", "III.C.1.a", "Layered Security", "5.2.2.1", "(", "ÉA-01"])
def test_tokens(raw):
    from tests.oscal_schema import regex
    assert regex.fullmatch(r"(\p{L}|_)(\p{L}|\p{N}|[.\-_])*", token(raw))


def test_same_evidence_same_bytes(tmp_path):
    for name in ("oscal-ar", "oscal-poam"):
        a, b = tmp_path / f"a-{name}.json", tmp_path / f"b-{name}.json"
        output(name).render(_data(), a, RenderOptions())
        output(name).render(_data(), b, RenderOptions())
        assert a.read_bytes() == b.read_bytes()
        json.loads(a.read_text(encoding="utf-8"))
    assert output("oscal-ar").filename("acme", "2026-11") == "acme-2026-11-oscal-ar.json"
    assert output("oscal-poam").filename("acme", "2026-11") == "acme-2026-11-oscal-poam.json"
    other = _data()
    other.results.period = "2026-12"
    assert assessment_results(other)["assessment-results"]["uuid"] != assessment_results(_data())["assessment-results"]["uuid"]


def test_the_consultants_severity_is_the_one_shown():
    from reportgen.results import Adjustment
    data = _data()
    data.results.check("MFA-02").adjustment = Adjustment(severity=Severity.LOW, note="compensated", by="A. Morgan")
    result = assessment_results(data)["assessment-results"]["results"][0]
    props = {p["name"]: p["value"] for p in next(f for f in result["findings"]
                                                  if f["target"]["target-id"] == "MFA-02")["props"]}
    assert props["severity"] == "low" and props["evaluated-severity"] == "high"
    assert errors("ar", assessment_results(data)) == []
