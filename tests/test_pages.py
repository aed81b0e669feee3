"""Every page a client would accept: the bundled demo reports read back page by page (pypdf) and
cell by cell (openpyxl), for the defects a reviewer found in 1.0 (near-empty pages, half-empty
pages in the middle of a section, identifiers broken mid-word, dates that do not reconcile,
unmarked sample data, an empty demo log)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import DEMO_EPOCH
from tests.pdfpages import read_pages, section_titles

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026-11"
SLUGS = ["first-example-bank", "harbor-federal-cu", "lakeshore-community-bank", "prairie-home-lending",
         "summit-auto-finance"]
MIN_WORDS = 40          # fewer on a page (besides its running header and footer) is a page wasted
MIN_FILL = 0.5          # a page less than half full must be the end of a section


def pdf(folder: Path, slug: str) -> Path:
    return folder / slug / f"{slug}-{PERIOD}-mfa-compliance.pdf"


def xlsx(folder: Path, slug: str) -> Path:
    return folder / slug / f"{slug}-{PERIOD}-mfa-compliance.xlsx"


def text_of(path: Path) -> str:
    return "\n".join((p.extract_text() or "").replace("\x00", "") for p in PdfReader(str(path)).pages)


@pytest.mark.parametrize("slug", SLUGS)
def test_no_page_is_nearly_empty_or_left_half_empty_mid_section(demo_run: Path, slug: str):
    path = pdf(demo_run, slug)
    pages = read_pages(path)
    titles = section_titles(path)
    for page in pages:
        assert page.words >= MIN_WORDS, f"{slug} page {page.number}: {page.words} words: {page.text[:200]!r}"
    for page, following in zip(pages[1:-1], pages[2:]):
        if page.fill < MIN_FILL:
            assert any(following.first_line.startswith(t[:25]) for t in titles), \
                f"{slug} page {page.number} is {page.fill:.0%} full but page {following.number} opens no section"


@pytest.mark.parametrize("slug", ["harbor-federal-cu", "summit-auto-finance", "lakeshore-community-bank"])
def test_user_names_wrap_only_after_at_dot_or_hyphen(demo_run: Path, slug: str):
    upns = {a["upn"] for c in json.loads((demo_run / slug / "results.json").read_text())["checks"]
            for a in c["affected"]}
    upns |= {r[0] for r in load_workbook(xlsx(demo_run, slug), read_only=True)["Users"].iter_rows(min_row=2,
                                                                                                  values_only=True)}
    by_start: dict[str, list[str]] = {}
    for u in upns:
        by_start.setdefault(u.split("@")[0], []).append(u)
    broken = []
    for token in text_of(pdf(demo_run, slug)).split():
        head = token.split("@")[0]
        if "@" in token and token not in upns:
            for u in by_start.get(head, []):
                if u.startswith(token) and token[-1] not in "@.-_":
                    broken.append((token, u))
    assert not broken, broken[:5]


def test_exception_register_keeps_ids_and_dates_whole(demo_run: Path):
    text = text_of(pdf(demo_run, "summit-auto-finance"))
    for whole in ("EXC-2026-001", "EXC-2026-002", "EXC-2025-014", "15 Jan 2027", "30 Jun 2026", "15 Jan 2026"):
        assert whole in text, whole
    assert not re.search(r"EXC-20\d\d-\d{0,2}\n", text) and not re.search(r"20\d\d-\d\d-\d\n", text)
    for header in ("Exception", "Subject", "Approved", "Expires", "Compensating control", "State"):
        assert header in text


def test_every_date_reconciles_and_none_is_in_the_future(demo_run: Path):
    slug = "harbor-federal-cu"
    doc = json.loads((demo_run / slug / "results.json").read_text())
    collected = datetime.fromisoformat(doc["collected_at"].replace("Z", "+00:00"))
    batch = json.loads((demo_run / "batch.json").read_text())
    finished = datetime.fromisoformat(batch["finished_at"].replace("Z", "+00:00"))
    now = datetime.now(UTC)
    assert collected <= finished <= now + timedelta(seconds=1)
    assert finished - collected < timedelta(hours=1)          # produced the day it says
    # collected when it was run (the session's pinned clock), whatever month the report is about
    assert collected == datetime.fromtimestamp(int(DEMO_EPOCH), UTC)
    reader = PdfReader(str(pdf(demo_run, slug)))
    cover = reader.pages[0].extract_text()
    day = f"{collected.day} {collected.strftime('%B %Y')}"
    assert f"{day}, {collected.strftime('%H:%M')} UTC" in cover and f"Prepared on {day}" in " ".join(cover.split())
    assert str(reader.metadata["/CreationDate"]).startswith("D:" + collected.strftime("%Y%m%d%H%M%S"))
    props = load_workbook(xlsx(demo_run, slug)).properties
    assert props.created == collected.replace(tzinfo=None)
    about = {r[0]: r[1] for r in load_workbook(demo_run / "portfolio.xlsx")["About"].iter_rows(values_only=True) if r[0]}
    assert about["Generated at (UTC)"] == finished.replace(tzinfo=None)


def test_demo_reports_say_they_are_sample_data_and_what_the_demo_did(demo_run: Path):
    slug = "prairie-home-lending"
    reader = PdfReader(str(pdf(demo_run, slug)))
    assert "Sample report." in reader.pages[0].extract_text()
    assert all("Sample data (synthetic demo tenant)" in p.extract_text() for p in reader.pages)
    meta = json.loads((demo_run / slug / "evidence" / "collection.json").read_text())
    assert meta["source"] == "demo" and "no request was sent" in meta["note"]
    assert all(d["url"] for d in meta["datasets"].values()) and meta["app"]["note"]
    log = (demo_run / slug / "evidence" / "log.jsonl").read_text().splitlines()
    assert len(log) >= len(meta["datasets"])
    text = " ".join(text_of(pdf(demo_run, slug)).split())
    assert "evidence/log.jsonl 0 B" not in text and re.search(r"evidence/log\.jsonl [\d.]+ KB", text)
    assert json.loads((demo_run / slug / "results.json").read_text())["collection"]["source"] == "demo"


def test_headline_numbers_say_what_they_count_and_read_alike(demo_run: Path):
    harbor = " ".join(text_of(pdf(demo_run, "harbor-federal-cu")).split())
    assert "120 of 132 enabled member users (guests not counted) have registered MFA" in harbor
    lake = " ".join(text_of(pdf(demo_run, "lakeshore-community-bank")).split())
    assert "4,799" in lake and "4,480 of 4,618 enabled member users" in lake


def test_workbook_shows_which_apps_harbor_users_must_use_mfa_for(demo_run: Path):
    ws = load_workbook(xlsx(demo_run, "harbor-federal-cu"), read_only=True)["Users"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    apps = header.index("MFA required by policy for")
    everywhere = header.index("MFA required for all cloud apps")
    by_upn = {r[0]: r for r in rows[1:]}
    staff = [r for upn, r in by_upn.items() if not upn.startswith("bg-")]
    assert {r[apps] for r in staff} == {"Microsoft admin portals, Office 365"}
    assert {r[everywhere] for r in staff} == {"No"}
    assert by_upn["bg-01@harborfederalcu.onmicrosoft.com"][apps] == "None"   # excluded through its group


def test_portfolio_direction_counts_and_links(demo_run: Path, tmp_path: Path):
    batch = {c["slug"]: c for c in json.loads((demo_run / "batch.json").read_text())["clients"]}
    # Harbor: 17 open findings last period, 18 now (one critical fewer, one more high and medium)
    assert batch["harbor-federal-cu"]["direction"] == "mixed"
    assert batch["prairie-home-lending"]["not_evaluated"]["critical"] >= 1
    ws = load_workbook(demo_run / "portfolio.xlsx")["Portfolio"]
    header = [c.value for c in ws[1]]
    rows = {r[header.index("Slug")].value: {h: c for h, c in zip(header, r)} for r in ws.iter_rows(min_row=2)}
    assert rows["harbor-federal-cu"]["Direction"].value == "\u25c6 mixed"
    assert rows["harbor-federal-cu"]["Open total"].value == 18
    assert rows["prairie-home-lending"]["Not evaluated critical"].value >= 1
    for row in rows.values():
        for name in ("PDF", "Workbook"):
            assert (demo_run / row[name].hyperlink.target).is_file()


def test_source_date_epoch_makes_a_demo_run_reproducible(tmp_path: Path, demo_run: Path):
    """A run with the SOURCE_DATE_EPOCH of the session's demo run gives the same bytes, dated that
    moment, although that run made five clients on two workers and this one makes one alone."""
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "reportgen.cli", "run", "--period", PERIOD, "--out", str(out),
                        "--client", "prairie-home-lending", "--jobs", "1"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": DEMO_EPOCH})
    assert r.returncode == 0, r.stderr
    for name in ("results.json", "prairie-home-lending-2026-11-mfa-compliance.pdf",
                 "prairie-home-lending-2026-11-mfa-compliance.xlsx"):
        assert (out / PERIOD / "prairie-home-lending" / name).read_bytes() == \
            (demo_run / "prairie-home-lending" / name).read_bytes(), name
    moment = datetime.fromtimestamp(int(DEMO_EPOCH), UTC)   # collected when run, about November
    doc = json.loads((out / PERIOD / "prairie-home-lending" / "results.json").read_text())
    assert doc["collected_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert json.loads((out / PERIOD / "batch.json").read_text())["finished_at"] == \
        datetime.fromtimestamp(int(DEMO_EPOCH), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
