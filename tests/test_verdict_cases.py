"""The verdict cases (tests/fixtures/verdicts/): each small tenant, written as Graph returns it, run
through the real evidence reader, posture, checks, readiness and controls, must give the statuses,
affected subjects and words its file expects (tests/verdicts.py describes the format)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.verdicts import case_names, evaluate  # noqa: E402


def test_the_base_tenant_passes_every_check(tmp_path):
    _, _, results, phases, _ = evaluate("base", tmp_path)
    assert {cid: (r.status, r.reason) for cid, r in results.items() if r.status != "pass"} == {}
    assert [str(p) for p in phases] == ["ready", "ready"]


@pytest.mark.parametrize("name", case_names())
def test_case(name, tmp_path):
    case, _, results, phases, controls = evaluate(name, tmp_path)
    expect = case["expect"]
    for cid, want in expect.get("checks", {}).items():
        r = results[cid]
        got = f"{cid}: {r.status}: {r.reason} {[a.upn for a in r.affected]}"
        assert r.status == want["status"], got
        if "affected" in want:
            assert sorted(a.upn for a in r.affected) == sorted(want["affected"]), got
        for words in want.get("reason_has", []):
            assert words in r.reason, f"{got} lacks {words!r}"
        for words in want.get("reason_lacks", []):
            assert words not in r.reason, f"{got} has {words!r}"
        for upn, words in want.get("detail_has", {}).items():
            detail = next(a.detail for a in r.affected if a.upn == upn)
            assert words in detail, (cid, upn, detail)
        if "title" in want:
            assert r.title == want["title"], (cid, r.title)
    if "readiness" in expect:
        assert {"phase1": str(phases[0]), "phase2": str(phases[1])} == expect["readiness"]
    for key, want in expect.get("controls", {}).items():
        c = controls[key]
        assert c.status == want["status"], (key, c.status)
        if "coverage" in want:
            assert getattr(c, "coverage", None) == want["coverage"], key
        if "note_has" in want:
            assert want["note_has"] in c.note, (key, c.note)
