"""Demo tenants: when they are 'collected', that they stay the same, and that their evidence says
what the demo collection did."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reportgen.collect import demo
from reportgen.dates import now as clock
from reportgen.evidence import EvidenceWriter

UTC = UTC


def test_a_past_period_is_collected_when_it_is_run():
    # a November report produced on 7 December was collected on 7 December, about November
    now = datetime(2026, 12, 7, 14, 43, tzinfo=UTC)
    assert demo.collection_time("2026-11", now=now) == now
    assert demo.collection_time("2026-10", now=now) == now


def test_current_period_is_collected_now_never_in_the_future():
    now = datetime(2026, 11, 28, 3, 30, 12, tzinfo=UTC)
    assert demo.collection_time("2026-11", now=now) == now
    real = demo.collection_time("2099-01")          # a period that has not ended: the clock
    assert real <= datetime.now(UTC) + timedelta(seconds=1)


def test_source_date_epoch_pins_the_clock(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")
    pinned = datetime.fromtimestamp(1795000000, UTC)
    assert clock() == pinned
    assert demo.collection_time("2099-01") == pinned
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "not a number")
    assert abs((clock() - datetime.now(UTC)).total_seconds()) < 5


@pytest.mark.parametrize("profile", sorted(demo.PROFILES))
def test_same_inputs_same_tenant(profile):
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    users = 120 if demo.PROFILES[profile].users > 500 else None
    a = demo.build_tenant(profile, "Same Bank", "2026-11", users=users, now=at)
    b = demo.build_tenant(profile, "Same Bank", "2026-11", users=users, now=at)
    assert json.dumps([a.objects, a.groups, a.methods, sorted(a.errors)], sort_keys=True) == \
        json.dumps([b.objects, b.groups, b.methods, sorted(b.errors)], sort_keys=True)
    assert len(a.objects["users"]) == (users or demo.PROFILES[profile].users)
    # nothing is dated after the collection time
    stamps = [u["createdDateTime"] for u in a.objects["users"]]
    stamps += [s["createdDateTime"] for ds in ("signIns", "signInsNonInteractive") for s in a.objects.get(ds, [])]
    assert max(stamps) <= "2026-11-20T09:00:00Z"


def test_the_seed_article_tenant_keeps_its_problems():
    t = demo.build_tenant("seed-problems", "harbor-federal-cu", "2026-11", now=datetime(2026, 11, 20, tzinfo=UTC))
    users = {u["userPrincipalName"].split("@")[0]: u for u in t.objects["users"]}
    assert len(users) == 140 and "svc-deploy" in users and users["ga-admin"]["mail"] is None
    states = {p["displayName"][:4]: p["state"] for p in t.objects["conditionalAccessPolicies"]}
    assert states == {"CA01": "enabled", "CA02": "enabledForReportingButNotEnforced", "CA03": "disabled"}
    assert any(s["authenticationRequirement"] == "singleFactorAuthentication" for s in t.objects["signInsNonInteractive"])


def _write(tmp_path: Path, profile: str) -> tuple[dict, list[dict]]:
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    t = demo.build_tenant(profile, "Log Bank", "2026-11", users=30, now=at)
    doc = demo.write_evidence(t, EvidenceWriter(tmp_path / "ev"), lookback_days=30, collected_at=at)
    log = [json.loads(line) for line in (tmp_path / "ev" / "log.jsonl").read_text().splitlines()]
    return doc, log


@pytest.mark.parametrize("profile", ["ready", "no-p1"])
def test_demo_evidence_says_what_the_demo_collection_did(tmp_path, profile):
    doc, log = _write(tmp_path, profile)
    assert doc["source"] == "demo" and doc["demo_profile"] == profile
    assert "synthetic tenant" in doc["note"] and "no request was sent" in doc["note"]
    assert doc["app"]["client_id"] is None and "without an app registration" in doc["app"]["note"]
    for name, entry in doc["datasets"].items():
        assert entry["url"] and entry["url"].startswith("https://graph.microsoft.com/"), name
    assert log[0]["event"] == "start" and "synthetic tenant" in log[0]["note"]
    assert log[-1] == {"ts": "2026-11-20T09:00:00Z", "event": "end", "status": doc["status"], "gaps": len(doc["gaps"])}
    pages = [e for e in log if e.get("page")]
    stored = sorted(p for entry in doc["datasets"].values() for p in entry["pages"])
    assert sorted(e["page"] for e in pages) == stored          # one line per stored page
    assert all(e["status"] == 200 and e["url"].startswith("https://graph.microsoft.com/") for e in pages)
    gaps = [e for e in log if e.get("gap")]
    assert len(gaps) == len(doc["gaps"])
    if profile == "no-p1":
        assert {e["status"] for e in gaps} == {403}
        assert any(e["method"] == "POST" and e["url"].endswith("/$batch") for e in pages)
