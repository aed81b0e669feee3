"""Every output of every demo client shows the same figures: severity tallies, open findings,
affected counts and readiness, read back from the files (PDF text via pdftotext, workbooks via
openpyxl, results.json and batch.json). The expected figures are counted here from results.json's
checks with the consultant's overrides applied, independently of the view model that wrote them."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reportgen.vocab import READINESS_LABELS, SEVERITY_LABELS, Readiness

LEVELS = ("critical", "high", "medium", "low")
OPEN = ("fail", "warn")


def _expected(doc: dict) -> dict:
    """Figures counted from results.json's checks (effective severity: the override where given)."""
    by_sev = {s: {"fail": 0, "warn": 0, "not_evaluated": 0} for s in (*LEVELS, "info")}
    affected = {}
    for c in doc["checks"]:
        severity = (c.get("override") or {}).get("severity") or c["severity"]
        if c["status"] in by_sev[severity]:
            by_sev[severity][c["status"]] += 1
        affected[c["id"]] = len(c["affected"])
    return {"by_sev": by_sev, "open": {s: by_sev[s]["fail"] + by_sev[s]["warn"] for s in LEVELS},
            "not_evaluated": {s: by_sev[s]["not_evaluated"] for s in LEVELS},
            "open_findings": sum(v["fail"] + v["warn"] for v in by_sev.values()),
            "open_affected": sum(affected[c["id"]] for c in doc["checks"] if c["status"] in OPEN),
            "affected": affected,
            "phase1": doc["readiness"]["mandatory_mfa_phase1"], "phase2": doc["readiness"]["mandatory_mfa_phase2"]}


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _pdf_figures(text: str) -> dict:
    summary = text[text.index("Findings by severity"):]
    rows = {}
    for sev in (*LEVELS, "info"):
        m = re.search(rf"^\s*{SEVERITY_LABELS[sev]}\s+(\d+)\s+(\d+)\s+(\d+)", summary, re.M)
        assert m, sev
        rows[sev] = {"fail": int(m[1]), "warn": int(m[2]), "not_evaluated": int(m[3])}
    after = text[text.index("OPEN FINDINGS"):].splitlines()[1:]
    kpi = next(line for line in after if len(line.split()) >= 3)   # the KPI row (the draft mark's letters aside)
    # the summary's readiness table: the verdict stands alone in its column, within a few lines of the
    # row's label (the draft mark's letters can push it down a line)
    labels = "|".join(READINESS_LABELS.values())
    readiness = {}
    for p, row in (("phase1", r"^\s*Mandatory MFA phase 1\b"), ("phase2", r"^\s*Phase 2 — ")):
        start = re.search(row, text, re.M).end()
        readiness[p] = re.search(rf"\s{{2,}}({labels})(?:\s{{2,}}|\n)", text[start:start + 1500])[1]
    affected = {}
    for m in re.finditer(r"^\s*Affected \(([\d,]+)\)", text, re.M):
        before = text[:m.start()]
        cid = re.findall(r"\b([A-Z]{2,5}-\d{2})\b", before[-3000:])
        affected.setdefault(cid[-1] if cid else "?", []).append(int(m[1].replace(",", "")))
    return {"rows": rows, "open_findings": int(re.findall(r"\d+", kpi)[-1]), **readiness, "affected": affected}


def _summary_sheet(path: Path) -> dict:
    ws = load_workbook(path, read_only=True)["Summary"]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    kv = {r[0]: r[1] if len(r) > 1 else None for r in values if r and isinstance(r[0], str)}
    head = next(i for i, r in enumerate(values) if r and r[0] == "Severity")
    cols = values[head]
    rows = {}
    for r in values[head + 1:head + 6]:
        sev = next(s for s in (*LEVELS, "info") if SEVERITY_LABELS[s] == r[0])
        rows[sev] = {"fail": r[cols.index("Fail")], "warn": r[cols.index("Warning")],
                     "not_evaluated": r[cols.index("Not evaluated")]}
    return {"kv": kv, "rows": rows}


def _checks_sheet(path: Path) -> dict:
    ws = load_workbook(path, read_only=True)["Checks"]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    cols = values[0]
    return {r[0]: {"affected": r[cols.index("Affected")], "severity": r[cols.index("Severity")]}
            for r in values[1:] if r and r[0]}


def _portfolio(period_dir: Path) -> dict:
    ws = load_workbook(period_dir / "portfolio.xlsx", read_only=True)["Portfolio"]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    cols = values[0]
    return {r[cols.index("Slug")]: dict(zip(cols, r)) for r in values[1:] if r and r[cols.index("Slug")]}


def _label(value: str) -> str:
    return READINESS_LABELS[Readiness(value)]


@pytest.fixture(scope="module")
def period(demo_run):
    return demo_run


def _clients(period_dir: Path) -> list[str]:
    return [e["slug"] for e in json.loads((period_dir / "batch.json").read_text())["clients"]]


def test_every_output_of_every_demo_client_shows_the_same_figures(period):
    batch = {e["slug"]: e for e in json.loads((period / "batch.json").read_text())["clients"]}
    portfolio = _portfolio(period)
    assert len(batch) == 5
    for slug, entry in batch.items():
        folder = period / slug
        doc = json.loads((folder / "results.json").read_text())
        want = _expected(doc)
        # results.json's summary and the batch.json entry
        for source in (doc["summary"], entry):
            assert source["open"] == want["open"], slug
            assert source["not_evaluated"] == want["not_evaluated"], slug
            assert source["open_findings"] == want["open_findings"], slug
            assert source["open_affected"] == want["open_affected"], slug
        assert (entry["phase1"], entry["phase2"]) == (want["phase1"], want["phase2"])
        # the portfolio row
        row = portfolio[slug]
        assert [row[f"Open {s}"] for s in LEVELS] == [want["open"][s] for s in LEVELS], slug
        assert row["Open total"] == want["open_findings"], slug
        assert row["Not evaluated"] == sum(want["not_evaluated"].values()), slug
        assert (row["Phase 1"], row["Phase 2"]) == (_label(want["phase1"]), _label(want["phase2"])), slug
        # the workbook
        book = folder / f"{slug}-2026-11-mfa-compliance.xlsx"
        summary = _summary_sheet(book)
        assert summary["rows"] == want["by_sev"], slug
        assert summary["kv"]["Open findings (failed or warning)"] == want["open_findings"], slug
        assert summary["kv"]["Phase 1 (admin portals)"] == _label(want["phase1"]), slug
        assert summary["kv"]["Phase 2 (Azure Resource Manager)"] == _label(want["phase2"]), slug
        checks = _checks_sheet(book)
        assert {k: v["affected"] for k, v in checks.items()} == want["affected"], slug
        # the PDF
        pdf = _pdf_figures(_pdf_text(folder / f"{slug}-2026-11-mfa-compliance.pdf"))
        assert pdf["rows"] == want["by_sev"], slug
        assert pdf["open_findings"] == want["open_findings"], slug
        assert (pdf["phase1"], pdf["phase2"]) == (_label(want["phase1"]), _label(want["phase2"])), slug
        for cid, counts in pdf["affected"].items():
            assert counts == [want["affected"][cid]], (slug, cid)


def test_an_override_moves_the_finding_in_every_tally(period):
    """Harbor's consultant lowered one finding's severity: every output counts it at the new one."""
    doc = json.loads((period / "harbor-federal-cu" / "results.json").read_text())
    adjusted = [c for c in doc["checks"] if (c.get("override") or {}).get("severity") not in (None, c["severity"])]
    assert adjusted, "the demo configuration names an override"
    book = period / "harbor-federal-cu" / "harbor-federal-cu-2026-11-mfa-compliance.xlsx"
    severities = _checks_sheet(book)
    for c in adjusted:
        assert severities[c["id"]]["severity"] == SEVERITY_LABELS[c["override"]["severity"]]
