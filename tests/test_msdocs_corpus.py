"""The corpus of Microsoft's documented Graph responses: every file is cited, and the loader writes
evidence that the real reader and posture accept."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest

from reportgen.checks import Inputs, check_ids, run_checks
from reportgen.evidence import EvidenceReader
from reportgen.posture import build_posture
from reportgen.vocab import Status
from reportgen.yamlsrc import load_yaml
from tests.msdocs import DOCUMENTED_GROUP, FIXTURES, documented_datasets, evidence_folder, items, load

FIELDS = ("file", "page", "repo_path", "commit", "example", "edits", "shows")
FILES = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json"))
STATUSES = set(Status)


@functools.cache
def sources() -> list[dict]:
    data, _ = load_yaml(FIXTURES / "SOURCES.yaml")  # refuses a repeated key
    return data["fixtures"]


def test_the_corpus_is_not_empty():
    assert len(FILES) >= 40


@pytest.mark.parametrize("name", FILES)
def test_every_fixture_parses_and_is_cited(name):
    body = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert isinstance(body, dict) and body
    entries = [e for e in sources() if e["file"] == name]
    assert len(entries) == 1, f"{name} must have exactly one SOURCES.yaml entry"
    e = entries[0]
    for field in FIELDS:
        assert isinstance(e.get(field), str) and e[field].strip(), f"{name}: {field} is missing or empty"
    assert re.fullmatch(r"[0-9a-f]{40}", e["commit"]), e["commit"]
    # the page and the repository path name the same document and API version
    m = re.fullmatch(r"https://learn\.microsoft\.com/en-us/graph/api/([a-z0-9-]+)\?view=graph-rest-(1\.0|beta)", e["page"])
    assert m, e["page"]
    assert e["repo_path"] == f"api-reference/{'v1.0' if m[2] == '1.0' else 'beta'}/api/{m[1]}.md"
    # the file name says which version it came from
    assert Path(name).name.startswith("v1-" if m[2] == "1.0" else "beta-")


def test_every_cited_file_exists_once():
    listed = [e["file"] for e in sources()]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == FILES


def test_load_and_items():
    assert load("policies/v1-get-securitydefaults")["isEnabled"] is True
    assert load("v1-get-securitydefaults.json") == load("policies/v1-get-securitydefaults")
    assert [o["id"] for o in items("roles/v1-get-roleassignment-ex1-ga")] == ["lAPpYvVpN0KRkAEhdxReELhrmgjL6CxJqkHAeKoLUSA-1"]
    assert len(items("registration/v1-list-userregistrationdetails")) == 3
    with pytest.raises(FileNotFoundError):
        load("no-such-fixture")


def test_evidence_folder_layout(tmp_path):
    ev = evidence_folder(tmp_path, collected_at="2021-07-15T00:00:00Z", window_days=7,
                         gaps=[("users.signInActivity", "tenant has no Entra ID P1 licence")], datasets={
                             "signIns": load("signins/beta-list-2021-azure-portal-failed-password"),
                             "securityDefaults": load("policies/v1-get-securitydefaults"),
                             "organization": items("organization/v1-get-organization"),
                             "userMethods": {"u1": items("methods/v1-list-methods-fido2-whfb")},
                         })
    meta = json.loads((ev / "collection.json").read_text())
    assert meta["format"] == 1 and meta["status"] == "partial" and meta["source"] == "graph"
    assert meta["tenant_id"] == "84841066-274d-4ec0-a5c1-276be684bdd3"
    assert meta["window"] == {"start": "2021-07-08T00:00:00Z", "end": "2021-07-15T00:00:00Z"}
    assert meta["lookback_days"] == 7 and meta["collected_at"] == "2021-07-15T00:00:00Z"
    assert meta["gaps"] == [{"source": "users.signInActivity", "reason": "tenant has no Entra ID P1 licence"}]
    assert meta["datasets"]["securityDefaults"]["pages"] == ["pages/securityDefaults-0001.json"]
    reader = EvidenceReader(ev)
    assert reader.single("securityDefaults")["isEnabled"] is True
    assert [s["id"] for s in reader.values("signIns")] == ["1691d37b-8579-43a7-966a-0f35583c1300"]
    batch = next(reader.pages("userMethods"))
    assert batch["responses"][0]["id"] == "u1" and batch["responses"][0]["body"]["value"][0]["aaGuid"]
    with pytest.raises(ValueError):
        evidence_folder(tmp_path, collected_at="2021-07-15T00:00:00Z", datasets={"noSuchDataset": []})


def test_the_documented_tenant_reads_and_runs(tmp_path):
    d = documented_datasets()
    ev = evidence_folder(tmp_path, datasets=d, collected_at="2021-07-15T00:00:00Z")
    p = build_posture(EvidenceReader(ev))
    assert p.tenant_name == "Contoso" and p.domains == ("Contoso.com",)
    assert {u.id for u in p.users} >= {"1aecaf40-dc3a-461f-88a8-d06994e12898", "6f87972e-2e7e-4b49-9980-eb3888bdcfe1"}
    assert {pol.id for pol in p.ca_policies} >= {"c558e346-969d-40a7-a64e-2df6c2c88490", "4f1d2ff3-50db-4299-bbdd-0a114c98e97e"}
    assert len(p.ca_policies) == len({pol.id for pol in p.ca_policies})
    assert set(p.registrations) == {o["id"] for o in items("registration/v1-list-userregistrationdetails")}
    assert p.security_defaults is True and p.sign_ins is not None
    assert p.methods_policy is not None and p.role_assignments and p.eligible_assignments is not None
    assert DOCUMENTED_GROUP in ev.joinpath("collection.json").read_text()
    results = run_checks(p, Inputs(emergency_accounts=["ace08ec9-aa11-4ada-9145-addf0398233e"]))
    assert [r.id for r in results] == list(check_ids())
    assert {r.status for r in results} <= STATUSES


def test_the_documented_tenant_without_security_defaults_runs(tmp_path):
    d = documented_datasets()
    del d["securityDefaults"]
    d["userMethods"] = {"ace08ec9-aa11-4ada-9145-addf0398233e": items("methods/beta-list-methods-password-phones-odata-type-typo")}
    del d["userRegistrationDetails"]
    p = build_posture(EvidenceReader(evidence_folder(tmp_path, datasets=d, collected_at="2026-11-30T06:00:00Z")))
    assert p.security_defaults is None and p.registration_source == "methods"
    assert {r.status for r in run_checks(p, Inputs())} <= STATUSES
