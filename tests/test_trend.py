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


# ---------------------------------------------------------------------------------------------
# The chart's label placement and the portfolio's direction, as rules

from reportgen.render import chart  # noqa: E402


def _boxes(cx, point_y, pct, bar_h, count):
    base = chart.HEIGHT - chart.BOTTOM
    pct_y, count_y = chart.place_labels(cx, point_y, pct, base - bar_h, base, count)
    marker = chart.Box(cx - chart.MARKER_R, point_y - chart.MARKER_R, cx + chart.MARKER_R, point_y + chart.MARKER_R)
    return chart.label_box(cx, pct_y, pct), chart.label_box(cx, count_y, count), marker


def test_chart_labels_never_collide_whatever_the_values():
    """Every percentage against every bar height (and counts of every width): the two labels keep
    apart, clear of the point's marker, inside the drawing and above the axis. This is the case the
    issue showed: '86%' drawn over '18'."""
    base = chart.HEIGHT - chart.BOTTOM
    plot_h = base - chart.TOP
    for pct in range(0, 101):
        point_y = chart.TOP + plot_h * (1 - pct / 100)
        for k in range(0, 101):
            for count in ("0", "7", "18", "250", "1,000"):
                p, c, m = _boxes(200.0, point_y, f"{pct}%", plot_h * k / 100, count)
                assert not p.overlaps(c) and not p.overlaps(m, 0) and not c.overlaps(m), (pct, k, count)
                assert min(p.y0, c.y0) >= 0 and max(p.y1, c.y1) <= base, (pct, k, count)


def test_chart_labels_of_neighbouring_periods_and_axis_labels_fit_their_slots():
    trend = [{"period": f"2026-{m:02d}" if m <= 12 else f"2027-{m - 12:02d}", "mfa_registered_pct": 100.0,
              "open": {"critical": 1000, "high": 0, "medium": 0, "low": 0}} for m in range(2, 14)]
    c = chart.trend_chart(trend)
    slot = (c["right"] - c["left"]) / c["periods"]
    for text in ("100%", "1,000", "Jan", "2027"):
        assert chart.text_width(text, chart.FONT) < slot - chart.GAP, text
    assert [label["year"] for label in c["labels"]] == ["2026"] + [""] * 10 + ["2027"]
    assert [label["text"] for label in c["labels"]][:2] == ["Feb", "Mar"]


def test_harbor_chart_from_the_issue():
    """Harbor's four periods: every label has a place of its own."""
    c = chart.trend_chart([{"period": p, "mfa_registered_pct": pct, "open": {"critical": n}}
                           for p, pct, n in (("2026-08", 82.5, 19), ("2026-09", 86.0, 18), ("2026-10", 88.7, 17),
                                             ("2026-11", 90.9, 18))])
    for bar, point in zip(c["bars"], c["line"]):
        p = chart.label_box(point["x"], point["ly"], point["label"])
        b = chart.label_box(bar["cx"], bar["ly"], bar["label"])
        assert not p.overlaps(b)
    assert chart.trend_chart([{"period": "2026-11", "open": {}}]) is None


def _doc(**open_counts):
    checks = []
    for sev, n in open_counts.items():
        checks += [{"id": f"{sev}-{i}", "status": "fail", "severity": sev} for i in range(n)]
    return {"period": "2026-11", "checks": checks}


def test_direction_agrees_with_the_counts():
    prev = [{"period": "2026-10", "open": {"critical": 6, "high": 6, "medium": 4, "low": 1}}]
    # Harbor: one critical fewer, one more high and medium: 17 -> 18 open is not "improving"
    assert history.direction(prev, _doc(critical=5, high=7, medium=5, low=1)) == "mixed"
    assert history.direction(prev, _doc(critical=5, high=6, medium=4, low=1)) == "improving"
    assert history.direction(prev, _doc(critical=6, high=7, medium=4, low=1)) == "worsening"
    assert history.direction(prev, _doc(critical=6, high=6, medium=4, low=1)) == "steady"
    assert history.direction([], _doc(critical=1)) == "new"
    assert history.direction([{"open": None}], _doc(low=1)) == "worsening"   # unreadable history counts as 0


def test_summary_counts_checks_not_evaluated():
    doc = {"period": "2026-11", "checks": [{"id": "A", "status": "not_evaluated", "severity": "critical"},
                                           {"id": "B", "status": "fail", "severity": "high"},
                                           {"id": "C", "status": "manual", "severity": "medium"}]}
    s = history.summarize(doc)
    assert s["not_evaluated"] == {"critical": 1, "high": 0, "medium": 0, "low": 0}
    assert s["open"] == {"critical": 0, "high": 1, "medium": 0, "low": 0} and s["open_checks"] == ["B"]
