"""The consultant's ``<period>/portfolio.html``: every client of the period in one sortable,
filterable table, with links to each client's HTML report, PDF and workbook.

One file, no network: the stylesheet and the script are inline, and a Content-Security-Policy
meta tag allows exactly that script (by its SHA-256) and nothing else. Client names and error
messages are untrusted: the template escapes them, and the script reads cells as text only
(``textContent``, never ``innerHTML``). Links are relative to the period folder, like those of
portfolio.xlsx. The same batch document gives the same bytes.
"""
from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from reportgen.display import readable
from reportgen.package import write_bytes
from reportgen.paths import TEMPLATE_DIR
from reportgen.vocab import COLLECTION_LABELS, INSTITUTION_LABELS, READINESS_LABELS, label

from . import output
from .portfolio import DIRECTIONS, LEVELS, OVERDUE_KEY, REVIEW_STATE_KEY, REVIEW_STATE_LABELS, RUN_LABELS

TEMPLATE = "portfolio.html.j2"
ASSETS = TEMPLATE_DIR / "assets"
READINESS_ORDER = {"not_ready": 0, "at_risk": 1, "unknown": 2, "ready": 3}


def _count(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _links(entry: dict[str, Any], period: str) -> list[dict[str, str]]:
    slug = entry.get("slug")
    if entry.get("status") != "ok" or not isinstance(slug, str) or not slug:
        return []
    return [{"text": text, "href": quote(f"{slug}/{output(name).filename(slug, period)}")}
            for text, name in (("HTML", "html"), ("PDF", "pdf"), ("Workbook", "xlsx"))]


def client_row(entry: dict[str, Any], period: str) -> dict[str, Any]:
    """The adapter to the batch's per-client entry (batch.json): what one table row shows."""
    opened = entry.get("open") if isinstance(entry.get("open"), dict) else {}
    unknown = entry.get("not_evaluated") if isinstance(entry.get("not_evaluated"), dict) else {}
    counts = {k: _count(opened.get(k)) for k in LEVELS}
    pct = entry.get("mfa_registered_pct")
    state = entry.get(REVIEW_STATE_KEY)
    phase = {k: entry.get(k) if isinstance(entry.get(k), str) else None for k in ("phase1", "phase2")}
    ne = [_count(unknown.get(k)) for k in LEVELS]
    return {
        "name": readable(entry.get("name") or entry.get("slug") or ""),
        "slug": readable(entry.get("slug") or ""),
        "type": label(INSTITUTION_LABELS, entry["institution_type"]) if entry.get("institution_type") else "",
        "ok": entry.get("status") == "ok",
        "status": label(RUN_LABELS, entry.get("status")) if entry.get("status") else "",
        "error": readable(entry.get("error") or ""),
        "review": label(REVIEW_STATE_LABELS, state) if state else "",
        **{k: {"value": v or "", "label": label(READINESS_LABELS, v) if v else "—",
               "rank": READINESS_ORDER.get(v or "", 4)} for k, v in phase.items()},
        "pct": pct if isinstance(pct, (int, float)) and not isinstance(pct, bool) else None,
        "open": counts,
        "open_total": None if all(v is None for v in counts.values()) else sum(v or 0 for v in counts.values()),
        "not_evaluated": None if all(v is None for v in ne) else sum(v or 0 for v in ne),
        "direction": entry.get("direction") if entry.get("direction") in DIRECTIONS else "",
        "direction_label": DIRECTIONS.get(entry.get("direction"), "—"),
        "overdue": _count(entry.get(OVERDUE_KEY)),
        "collection": label(COLLECTION_LABELS, entry["collection_status"]) if entry.get("collection_status") else "",
        "links": _links(entry, period),
    }


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@functools.lru_cache(maxsize=2)
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def portfolio_html(rows: list[dict[str, Any]], period: str, generated_at: str) -> str:
    clients = [client_row(r, period) for r in rows if isinstance(r, dict)]
    clients.sort(key=lambda c: (c["phase2"]["rank"], -(c["open"]["critical"] or 0), c["name"].lower()))
    script = _asset("portfolio.js")
    return _environment().get_template(TEMPLATE).render(
        period=period, generated_at=generated_at, clients=clients, levels=LEVELS, csp=csp(script),
        script=script, style=_asset("portfolio.css"),
        produced=sum(1 for c in clients if c["ok"]), failed=sum(1 for c in clients if not c["ok"]),
        overdue=sum(c["overdue"] or 0 for c in clients), readiness=READINESS_LABELS)


def render_portfolio_html(rows: list[dict[str, Any]], out_path: Path, period: str, generated_at: str) -> None:
    """Write portfolio.html (atomically, mode 0600, byte-identical for identical input)."""
    write_bytes(Path(out_path), portfolio_html(rows, period, generated_at).encode("utf-8"))
