"""Month over month: three synthetic periods of one client, then the trend and changes it shows."""
from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from reportgen import history
from tests.test_cli import write_config
from tests.test_e2e import cli

PROFILES = {"2026-09": "seed-problems", "2026-10": "exceptions", "2026-11": "ready"}


def client(profile: str) -> str:
    return f"""\
- slug: trend-bank
  name: Trend Bank
  institution_type: bank
  source: demo
  demo_profile: {profile}
  emergency_access_accounts: [bg-01@trendbank.onmicrosoft.com, bg-02@trendbank.onmicrosoft.com]
"""


def open_checks(doc: dict) -> set[str]:
    return {c["id"] for c in doc["checks"] if c["status"] in ("fail", "warn")}


def test_three_periods_give_the_right_trend_and_changes(tmp_path: Path):
    docs = {}
    for period, profile in PROFILES.items():
        cfg = write_config(tmp_path, client(profile))
        r = cli("run", "--config", str(cfg), "--period", period, "--jobs", "1")
        assert r.returncode == 0, r.stderr
        docs[period] = json.loads((tmp_path / "out" / period / "trend-bank" / "results.json").read_text())
    folder = tmp_path / "out" / "2026-11" / "trend-bank"
    stored = json.loads((folder / "history.json").read_text())
    assert [s["period"] for s in stored] == ["2026-09", "2026-10"]
    assert stored[0]["open"] == history.summarize(docs["2026-09"])["open"]

    before, now = open_checks(docs["2026-10"]), open_checks(docs["2026-11"])
    changes = history.changes(stored, docs["2026-11"])
    assert set(changes["resolved"]) == before - now and set(changes["new"]) == now - before
    assert set(changes["still_open"]) == before & now
    assert changes["resolved"], "the synthetic periods must differ"

    text = "\n".join(p.extract_text() or "" for p in PdfReader(folder / "trend-bank-2026-11-mfa-compliance.pdf").pages)
    for period in PROFILES:
        assert period in text
    for cid in changes["resolved"][:3]:
        assert cid in text
    wb = load_workbook(folder / "trend-bank-2026-11-mfa-compliance.xlsx")
    assert wb["Summary"]._charts, "the workbook carries a native trend chart"
    batch = json.loads((tmp_path / "out" / "2026-11" / "batch.json").read_text())
    assert batch["clients"][0]["direction"] == "improving"
    # the folder alone re-renders the same report, trend included
    assert cli("verify", str(folder)).returncode == 0
    out2 = tmp_path / "again"
    assert cli("render", "--evidence", str(folder), "--out", str(out2)).returncode == 0
    assert (out2 / "2026-11" / "trend-bank" / "trend-bank-2026-11-mfa-compliance.pdf").read_bytes() == \
        (folder / "trend-bank-2026-11-mfa-compliance.pdf").read_bytes()
