"""Word boxes of a rendered PDF (poppler's `pdftotext -bbox-layout`), for the test that no printed
text runs over other text: a badge wider than its column, a label drawn on a chart line, a table cell
that spills into the next one. The DRAFT watermark (letters over 40 pt tall) is behind the text by
design and left out."""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

WATERMARK_PT = 40.0       # a word box this tall is the rotated DRAFT mark
MIN_OVERLAP_PT = 1.0      # boxes touching by less than this (kerning, tight lines) do not count

_PAGE_RE = re.compile(r"<page\b[^>]*>(.*?)</page>", re.S)
_WORD_RE = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')


@dataclass(frozen=True)
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


def words_by_page(pdf: Path) -> list[list[Word]]:
    out = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    pages = []
    for body in _PAGE_RE.findall(out):
        words = [Word(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in _WORD_RE.findall(body)]
        pages.append([w for w in words if w.y1 - w.y0 < WATERMARK_PT])
    return pages


def overlaps(words: list[Word]) -> list[tuple[Word, Word]]:
    """Pairs of words whose boxes intersect by more than MIN_OVERLAP_PT each way."""
    found = []
    ordered = sorted(words, key=lambda w: w.y0)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.y0 >= a.y1 - MIN_OVERLAP_PT:
                break
            dx = min(a.x1, b.x1) - max(a.x0, b.x0)
            dy = min(a.y1, b.y1) - max(a.y0, b.y0)
            if dx > MIN_OVERLAP_PT and dy > MIN_OVERLAP_PT:
                found.append((a, b))
    return found
