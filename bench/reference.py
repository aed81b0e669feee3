"""The fixed reference document every throughput figure is divided by.

A report's cost depends on the machine and on how busy it is; a warm WeasyPrint render of a document
that never changes, timed in the same run, cancels both. The reference is 12 Letter pages of plain
prose, lists and tables in the bundled DejaVu Sans, built here from fixed text (no randomness, no
reportgen code): changing reportgen's templates never changes it.

    python bench/reference.py            # time it: median of 5 warm renders
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
FONT = ROOT / "templates" / "assets" / "fonts" / "DejaVuSans.ttf"

_WORDS = ("account policy tenant access review control evidence administrator session factor device "
          "method register require enforce exclude member guest report period finding owner target date "
          "response examiner board program vendor risk audit log sign-in portal manage").split()
_CSS = """
@font-face { font-family: Ref; src: url(%s); }
@page { size: Letter; margin: 22mm 18mm; @bottom-right { content: counter(page); font: 8pt Ref; } }
html { font: 9pt/1.4 Ref; color: #222; }
h1 { font-size: 16pt; page-break-before: always; margin: 0 0 4mm 0; }
h1:first-child { page-break-before: auto; }
h2 { font-size: 11.5pt; margin: 5mm 0 2mm 0; }
table { width: 100%%; border-collapse: collapse; table-layout: fixed; font-size: 7.6pt; margin: 2mm 0 4mm 0; }
th { background: #0B3D91; color: #fff; text-align: left; padding: 1.2mm; }
td { border-bottom: 0.5pt solid #ddd; padding: 0.9mm 1.2mm; vertical-align: top; }
"""


def _sentence(i: int, n: int) -> str:
    words = [_WORDS[(i * 7 + k * 3) % len(_WORDS)] for k in range(n)]
    return " ".join(words).capitalize() + "."


def reference_html() -> str:
    """The reference document: identical on every call and every machine."""
    parts = [f"<html><head><meta charset='utf-8'><style>{_CSS % FONT.as_uri()}</style></head><body>"]
    for sec in range(3):
        parts.append(f"<h1>Section {sec + 1}</h1>")
        for sub in range(3):
            parts.append(f"<h2>Part {sec + 1}.{sub + 1}</h2>")
            for p in range(4):
                seed = sec * 100 + sub * 10 + p
                parts.append("<p>" + " ".join(_sentence(seed + k, 9 + (seed + k) % 8) for k in range(5)) + "</p>")
            parts.append("<ul>" + "".join(f"<li>{_sentence(sec + sub + k, 12)}</li>" for k in range(4)) + "</ul>")
        parts.append("<table><thead><tr><th>Id</th><th>Account</th><th>Status</th><th>Detail</th></tr></thead><tbody>")
        for r in range(28):
            parts.append(f"<tr><td>R-{sec:02d}{r:02d}</td><td>user{sec}{r:03d}@bank.example</td>"
                         f"<td>{_WORDS[r % len(_WORDS)]}</td><td>{_sentence(sec * 31 + r, 11)}</td></tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "".join(parts)


def time_reference(repeat: int = 5) -> dict:
    """Median seconds of ``repeat`` warm renders (one render first to warm fonts and caches)."""
    from weasyprint import HTML
    html = reference_html()
    doc = HTML(string=html).render()
    pages = len(doc.pages)
    doc.write_pdf()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        HTML(string=html).write_pdf()
        times.append(time.perf_counter() - t)
    return {"reference_s": round(statistics.median(times), 3), "pages": pages,
            "all_s": [round(t, 3) for t in times]}


if __name__ == "__main__":
    print(time_reference(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
