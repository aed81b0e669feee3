"""ReportData -> PDF/A-3b deliverable (WeasyPrint): the writer.

Safety model: every piece of tenant text goes through Jinja2 autoescaping (never ``|safe``), and
the only resources WeasyPrint may load are ``data:`` URLs, the files bundled under
``templates/assets/`` and the firm logo (``fetch.AssetOnlyFetcher``). Colours reach CSS only after a
strict ``#RRGGBB`` check. The document carries no clock reading and no random id: every date in it
comes from ``ReportData.generated_at``, so the same data renders to the same bytes.

The template's values come from ``pdfcontext`` (which reads the view model); how values print,
from ``pdftext``. Size is bounded: each long list is capped and the reader is pointed to the
workbook for the full list.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
from weasyprint import HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import path2url

from ..fontpin import pin_font_timestamps
from ..package import dumps, write_bytes
from ..paths import TEMPLATE_DIR
from ..report import ReportData
from . import RenderOptions
from .condense import link_text
from .fetch import ASSETS_DIR, AssetOnlyFetcher, FetchRefused
from .pdfcontext import context, document_time
from .pdftext import clip_text, ident, safe_color, short_date, short_time, text

__all__ = ["render", "render_pdf", "render_html", "render_pdf_bytes", "warm", "ASSETS_DIR", "AssetOnlyFetcher",
           "FetchRefused", "safe_color", "clip_text", "ident"]

pin_font_timestamps()   # byte-identical output with or without libharfbuzz-subset0

TEMPLATE_NAME = "report.html.j2"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # one per process: compiling the templates cost a few tenths of a second per report
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             finalize=clip_text)
    env.filters.update(ident=ident, when=short_time, day=short_date, link_text=link_text)
    return env


class _Headings(HTMLParser):
    """The <h1 id> and <h2 id> of the rendered report, in order: the table of contents."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("h1", "h2") and a.get("id") and "no-toc" not in (a.get("class") or "").split():
            self._open = {"level": int(tag[1]), "id": a["id"], "title": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["title"] += data

    def handle_endtag(self, tag):
        if self._open is not None and tag == f"h{self._open['level']}":
            self._open["title"] = " ".join(self._open["title"].split())
            self.found.append(self._open)
            self._open = None


def _headings(html: str) -> list[dict[str, Any]]:
    parser = _Headings()
    parser.feed(html)
    return parser.found


def warm() -> None:
    """Load once what every report needs (batch workers call this before their first client)."""
    _environment().get_template(TEMPLATE_NAME)


def _attachment_name(name: Any) -> str:
    return os.path.basename(text(name).replace("\\", "/")) or "attachment"


def render_html(data: ReportData, *, max_rows: int = 25,
                attachments: Iterable[tuple[str, bytes, str]] = ()) -> str:
    """The HTML handed to WeasyPrint (useful for debugging; all tenant text is escaped)."""
    attached = [(_attachment_name(n), text(d)) for n, _c, d in attachments]
    template = _environment().get_template(TEMPLATE_NAME)
    values = context(data, max_rows, document_time(data), attached)
    # Two passes: the sections' headings, read from the first, are the second's table of contents.
    values["toc"] = _headings(template.render(values))
    return template.render(values)


def render_pdf_bytes(data: ReportData, *, max_rows: int = 25,
                     attachments: Iterable[tuple[str, bytes, str]] = (),
                     fetcher: AssetOnlyFetcher | None = None) -> bytes:
    attachments = list(attachments)
    moment = document_time(data)
    html = render_html(data, max_rows=max_rows, attachments=attachments)
    if fetcher is None:
        logos = (data.firm.logo, getattr(data.workflow, "client_logo", None))
        fetcher = AssetOnlyFetcher(extra_files=[p for p in logos if p])
    stamp = moment  # UTC; WeasyPrint writes it as D:YYYYMMDDHHMMSSZ
    files = []
    for name, content, description in attachments:
        if isinstance(content, str):
            content = content.encode("utf-8")
        files.append(Attachment(string=bytes(content), url_fetcher=fetcher, base_url=None,
                                name=_attachment_name(name),
                                description=text(description), created=stamp, modified=stamp,
                                relationship="Data"))
    document = HTML(string=html, base_url=path2url(str(TEMPLATE_DIR) + os.sep), url_fetcher=fetcher)
    return document.write_pdf(font_config=FontConfiguration(), pdf_variant="pdf/a-3b",
                              attachments=files, uncompressed_pdf=False, pdf_tags=True)


def render(data: ReportData, path: Path, options: RenderOptions) -> None:
    """The registry's entry point: the PDF with results.json and the evidence index attached."""
    render_pdf(data, path, max_rows=options.max_rows, attachments=[
        ("results.json", dumps(data.results.to_json()), "Machine-readable results (schema_version 1)"),
        ("evidence-index.json", dumps({"files": data.evidence_index}), "Evidence files with SHA-256 hashes")])


def render_pdf(data: ReportData, out_path: Path, *, max_rows: int = 25,
               attachments: Iterable[tuple[str, bytes, str]] = ()) -> None:
    """Render ``data`` to ``out_path`` (PDF/A-3b), atomically and with mode 0600."""
    out_path = Path(out_path)
    pdf = render_pdf_bytes(data, max_rows=max_rows, attachments=attachments)
    write_bytes(Path(out_path), pdf)
