"""ReportData -> ``<slug>-<period>-mfa-compliance.html``: the PDF's content for a browser.

The same templates render the same sections as the PDF; what differs is only what a browser needs:
the stylesheets are inlined with a screen stylesheet after them, the bundled fonts (cut down to the
characters the report uses) and the logos become ``data:`` URLs, and a Content-Security-Policy meta
tag forbids every other load. So the file opens anywhere, offline, and no request leaves it: an
examiner's browser never tells anyone that the report was opened.

Tenant text is escaped by the templates (autoescape, never ``|safe``); this module only replaces
resource references that the templates themselves wrote.
"""
from __future__ import annotations

import base64
import functools
import io
import mimetypes
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from reportgen.package import write_bytes
from reportgen.paths import TEMPLATE_DIR

from . import RenderOptions

ASSETS = TEMPLATE_DIR / "assets"
SCREEN_CSS = ASSETS / "screen.css"
STYLESHEETS = ("report.css", "workflow.css")
# The only loads allowed: inline styles and data: fonts and images. No script runs in the report.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
       "base-uri 'none'; form-action 'none'")
_LINK_RE = re.compile(r'<link rel="stylesheet" href="assets/([a-z]+\.css)">')
_FONT_URL_RE = re.compile(r"url\((fonts/[A-Za-z0-9_.-]+\.ttf)\)")
_FILE_SRC_RE = re.compile(r'src="(file:[^"]*)"')
_CHARSET = '<meta charset="utf-8">'


def source_html(data: Any, max_rows: int) -> str:
    """The adapter to the report templates: the PDF's HTML for the same data."""
    from reportgen.render.pdf import render_html
    return render_html(data, max_rows=max_rows)


def allowed_files(data: Any) -> list[Path]:
    """The files the report may show besides the bundled assets: the firm's and the client's logo."""
    return [Path(p) for p in (data.firm.logo, getattr(data.workflow, "client_logo", None)) if p]


def data_url(body: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(body).decode('ascii')}"


# Characters every report may print (Latin scripts, punctuation, arrows, the chart's symbols): a
# report that uses no other character reuses the process's subset (cutting a font costs ~0.4 s).
BASE_CHARS = "".join(chr(c) for c in (*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x2010, 0x2060),
                                      *range(0x2190, 0x21A0), *range(0x25A0, 0x25D0), 0x2713, 0x2717, 0xFFFD))


def subset_font(path: Path, text: str) -> bytes:
    """The font with only the glyphs of BASE_CHARS and ``text`` (fontTools ships with WeasyPrint);
    the same text gives the same bytes."""
    return _subset(path, "".join(sorted(set(text) - set(BASE_CHARS))))


@functools.lru_cache(maxsize=16)
def _subset(path: Path, extra: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]      # FontForge's timestamps: not needed to draw
    text = BASE_CHARS + extra
    font = TTFont(str(path), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


@functools.lru_cache(maxsize=4)
def _stylesheet(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def inline_styles(html: str) -> str:
    """Each linked stylesheet as a <style> element, its fonts as data: URLs, the screen sheet last."""
    chars = "".join(sorted(set(html)))

    def font(match: re.Match[str]) -> str:
        path = (ASSETS / match.group(1)).resolve()
        if not path.is_relative_to(ASSETS.resolve()):
            return "url()"
        return f"url({data_url(subset_font(path, chars), 'font/ttf')})"

    def link(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in STYLESHEETS:
            return ""
        css = _FONT_URL_RE.sub(font, _stylesheet(name))
        extra = f"\n<style>{_stylesheet(SCREEN_CSS.name)}</style>" if name == STYLESHEETS[-1] else ""
        return f"<style>{css}</style>{extra}"

    return _LINK_RE.sub(link, html)


def inline_images(html: str, allowed: Iterable[Path]) -> str:
    """file: image sources that name an allowed file become data: URLs; any other is dropped."""
    files = {Path(os.path.realpath(p)) for p in allowed}

    def image(match: re.Match[str]) -> str:
        parts = urlsplit(match.group(1).replace("&amp;", "&"))
        real = Path(os.path.realpath(url2pathname(unquote(parts.path))))
        if parts.netloc not in ("", "localhost") or real not in files or not real.is_file():
            return 'src=""'
        mime = "image/svg+xml" if real.suffix.lower() == ".svg" else (mimetypes.guess_type(real.name)[0] or "")
        if not mime.startswith("image/"):
            return 'src=""'
        return f'src="{data_url(real.read_bytes(), mime)}"'

    return _FILE_SRC_RE.sub(image, html)


def report_html(data: Any, max_rows: int = 25) -> str:
    html = source_html(data, max_rows)
    html = inline_images(html, allowed_files(data))
    html = inline_styles(html)
    csp = f'\n<meta http-equiv="Content-Security-Policy" content="{CSP}">\n' \
          '<meta name="viewport" content="width=device-width, initial-scale=1">'
    return html.replace(_CHARSET, _CHARSET + csp, 1)


def warm() -> None:
    for name in (*STYLESHEETS, SCREEN_CSS.name):
        for match in _FONT_URL_RE.finditer(_stylesheet(name)):
            subset_font((ASSETS / match.group(1)).resolve(), "")


def render(data: Any, path: Path, options: RenderOptions) -> None:
    write_bytes(Path(path), report_html(data, options.max_rows).encode("utf-8"))
