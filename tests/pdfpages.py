"""What a reader sees on each page of a rendered PDF, read back with pypdf: the text lines with
their position, without the running header and footer or a rotated watermark. For tests that judge layout (near-empty
pages, pages left half-empty before the next section), which text alone cannot show."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader

HEADER_BOTTOM = 62.0      # pt from the top: the running header sits above (page margin 24 mm)
FOOTER_TOP = 740.0        # pt from the top: the running footer sits below (page margin 20 mm)
BODY_TOP, BODY_BOTTOM = 68.0, 735.0


@dataclass
class Page:
    number: int
    lines: list[tuple[float, float, str]]      # (y from the top, x, text), body only, top to bottom

    @property
    def text(self) -> str:
        return "\n".join(t for _, _, t in self.lines)

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def fill(self) -> float:
        """How far down the body text reaches, 0 (empty) to 1 (full)."""
        if not self.lines:
            return 0.0
        return max(0.0, min(1.0, (self.lines[-1][0] - BODY_TOP) / (BODY_BOTTOM - BODY_TOP)))

    @property
    def first_line(self) -> str:
        if not self.lines:
            return ""
        top = self.lines[0][0]
        return " ".join(t for y, _, t in self.lines if abs(y - top) < 2)


def read_pages(path: Path) -> list[Page]:
    reader = PdfReader(str(path))
    out = []
    for n, page in enumerate(reader.pages, 1):
        height = float(page.mediabox.height)
        items: list[tuple[float, float, str]] = []

        def visit(text, cm, tm, _font, _size, height=height, n=n, items=items):
            # rotated text is a watermark (the DRAFT mark), not content
            if abs(tm[0] * cm[1] + tm[1] * cm[3]) > 0.01 or abs(tm[2] * cm[0] + tm[3] * cm[2]) > 0.01:
                return
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = height - (tm[4] * cm[1] + tm[5] * cm[3] + cm[5])
                if n == 1 or HEADER_BOTTOM < y < FOOTER_TOP:
                    items.append((round(y, 1), round(x, 1), text.replace("\x00", "").strip()))
        page.extract_text(visitor_text=visit)
        out.append(Page(n, sorted(items)))
    return out


def section_titles(path: Path) -> list[str]:
    """The top-level bookmarks: the titles of the report's sections (its <h1>)."""
    return [item.title for item in PdfReader(str(path)).outline if not isinstance(item, list)]
