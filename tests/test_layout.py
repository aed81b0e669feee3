"""The printed report as a partner reads it: no text runs over other text on any page of any demo
report (read from poppler's word boxes), and each report stays within its page budget."""
from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.pdfboxes import Word, overlaps, words_by_page

PERIOD = "2026-11"
# A typical community bank reads its report in one sitting; the largest demo client (Harbor: 14
# findings, 137 affected accounts) still fits a board pack.
PAGE_BUDGET = {"first-example-bank": 14, "lakeshore-community-bank": 17, "prairie-home-lending": 20,
               "summit-auto-finance": 20, "harbor-federal-cu": 24}


def pdf(folder: Path, slug: str) -> Path:
    return folder / slug / f"{slug}-{PERIOD}-mfa-compliance.pdf"


@pytest.mark.parametrize("slug", sorted(PAGE_BUDGET))
def test_no_text_overlaps_other_text_on_any_page(demo_run: Path, slug: str):
    bad = []
    for number, words in enumerate(words_by_page(pdf(demo_run, slug)), 1):
        bad += [f"p{number}: {a.text!r} over {b.text!r}" for a, b in overlaps(words)]
    assert not bad, f"{slug}: {len(bad)} overlaps, e.g. {bad[:5]}"


@pytest.mark.parametrize("slug", sorted(PAGE_BUDGET))
def test_report_stays_within_its_page_budget(demo_run: Path, slug: str):
    pages = len(PdfReader(str(pdf(demo_run, slug))).pages)
    assert pages <= PAGE_BUDGET[slug], f"{slug}: {pages} pages, budget {PAGE_BUDGET[slug]}"


def test_overlap_reader_sees_a_badge_run_over_the_next_column():
    # two words side by side do not overlap; a badge that spills into the next cell does
    left, right = Word(10, 10, 60, 20, "Met"), Word(62, 10, 90, 20, "MFA-01")
    assert overlaps([left, right]) == []
    spill = Word(10, 10, 75, 20, "evidence")
    assert overlaps([spill, right]) == [(spill, right)]
    # lines that touch (tight leading) are not an overlap
    assert overlaps([Word(10, 10, 60, 20, "a"), Word(10, 19.5, 60, 29.5, "b")]) == []
