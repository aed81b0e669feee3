"""The consultant's portfolio.xlsx: one row per client of the batch.

Rows come from the batch (see ``render_portfolio``); client names and error messages are
untrusted text and go through the same safe-cell helpers as the client workbook. Each produced
client links to its PDF and workbook by a path relative to the period folder, so the links keep
working when that folder is moved or copied as a whole.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from reportgen.vocab import COLLECTION_LABELS, INSTITUTION_LABELS, READINESS_LABELS, label

from . import output
from .xlsxutil import (
    AMBER,
    BOLD,
    GREY,
    PERCENT_FORMAT,
    STATUS_COLOURS,
    TITLE_FONT,
    WRAP,
    Col,
    by_label,
    clean_text,
    excel_time,
    fraction,
    header_footer,
    parse_timestamp,
    save_deterministic,
    set_properties,
    status_style,
    text_cell,
    value_cell,
    write_table_sheet,
)

# Where the review workflow records a client's draft/final state in its batch entry; the column
# stays empty until it does.
REVIEW_STATE_KEY = "review_state"
OVERDUE_KEY = "overdue"          # actions past their target date, from the same workflow
REVIEW_STATE_LABELS = {"draft": "Draft", "final": "Final"}
RUN_LABELS = {"ok": "Produced", "failed": "Failed"}
DIRECTIONS = {"improving": "\u25b2 improving", "worsening": "\u25bc worsening", "mixed": "\u25c6 mixed",
              "steady": "\u25b6 steady", "new": "\u25cf new"}
LEVELS = ("critical", "high", "medium", "low")
LINK_FONT = Font(color="0563C1", underline="single")
_DIRECTION_COLOURS = {DIRECTIONS["improving"]: STATUS_COLOURS["pass"], DIRECTIONS["worsening"]: STATUS_COLOURS["fail"],
                      DIRECTIONS["mixed"]: AMBER, DIRECTIONS["steady"]: GREY,
                      DIRECTIONS["new"]: STATUS_COLOURS["excepted"]}

COLUMNS = [Col("Client", 36, wrap=True), Col("Slug", 24), Col("Type", 16),
           Col("Status", 11, palette=by_label(RUN_LABELS, STATUS_COLOURS | {"ok": STATUS_COLOURS["pass"]})),
           Col("Review state", 13, palette={"Draft": AMBER, "Final": STATUS_COLOURS["pass"]}),
           Col("Overdue actions", 16),
           Col("Error", 50, wrap=True),
           Col("Phase 1", 12, palette=by_label(READINESS_LABELS, STATUS_COLOURS)),
           Col("Phase 2", 12, palette=by_label(READINESS_LABELS, STATUS_COLOURS)),
           Col("MFA registered", 15, number_format=PERCENT_FORMAT),
           Col("Open critical", 13), Col("Open high", 11), Col("Open medium", 13), Col("Open low", 10),
           Col("Open total", 11), Col("Not evaluated", 14), Col("Not evaluated critical", 21),
           Col("Direction", 15, palette=_DIRECTION_COLOURS),
           Col("Collection", 13, palette=by_label(COLLECTION_LABELS, STATUS_COLOURS)),
           Col("PDF", 8), Col("Workbook", 11)]
_COLUMN = {c.header: get_column_letter(i) for i, c in enumerate(COLUMNS, 1)}


def direction_text(direction: str | None) -> str | None:
    if direction is None:
        return None
    return DIRECTIONS.get(direction, str(direction))


def _count(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _counts(entry: dict[str, Any], key: str) -> list[int | None]:
    counts = entry.get(key)
    return [_count(counts.get(k)) for k in LEVELS] if isinstance(counts, dict) else [None] * len(LEVELS)


def _total(values: list[int | None]) -> int | None:
    return None if all(v is None for v in values) else sum(v or 0 for v in values)


def _open_total(entry: dict[str, Any], opened: list[int | None]) -> int | None:
    """The report's own count of open findings (view model), else the columns' sum (older entries)."""
    given = _count(entry.get("open_findings"))
    return given if given is not None else _total(opened)


def _link(ws, text: str, target: str) -> WriteOnlyCell:
    c = text_cell(ws, text, font=LINK_FONT)
    c.hyperlink = target          # relative to portfolio.xlsx: the period folder
    return c


def _links(ws, entry: dict[str, Any], period: str) -> list[Any]:
    slug = entry.get("slug")
    if entry.get("status") != "ok" or not isinstance(slug, str) or not slug:
        return [None, None]
    return [_link(ws, "PDF", f"{slug}/{output('pdf').filename(slug, period)}"),
            _link(ws, "Workbook", f"{slug}/{output('xlsx').filename(slug, period)}")]


def _rows(ws, rows: list[dict[str, Any]], period: str) -> Iterator[list[Any]]:
    for r in rows:
        opened, unknown = _counts(r, "open"), _counts(r, "not_evaluated")
        state = r.get(REVIEW_STATE_KEY)
        yield [r.get("name") or r.get("slug", ""), r.get("slug", ""),
               label(INSTITUTION_LABELS, r.get("institution_type")) if r.get("institution_type") else None,
               label(RUN_LABELS, r.get("status")) if r.get("status") else None,
               label(REVIEW_STATE_LABELS, state) if state else None, _count(r.get(OVERDUE_KEY)),
               r.get("error"),
               label(READINESS_LABELS, r.get("phase1")) if r.get("phase1") else None,
               label(READINESS_LABELS, r.get("phase2")) if r.get("phase2") else None,
               fraction(r.get("mfa_registered_pct")),
               *opened, _open_total(r, opened), _total(unknown), unknown[0],
               direction_text(r.get("direction")),
               label(COLLECTION_LABELS, r.get("collection_status")) if r.get("collection_status") else None,
               *_links(ws, r, period)]


def render_portfolio(rows: list[dict], out_path: Path, period: str, generated_at: str) -> None:
    """Write portfolio.xlsx (atomically, mode 0600, byte-identical for identical input)."""
    when = parse_timestamp(generated_at)
    wb = Workbook(write_only=True)
    set_properties(wb, when=when, creator="reportgen", title=f"MFA compliance portfolio {period}",
                   subject="Microsoft Entra ID MFA compliance, all clients")
    used: set[str] = set()
    page = (f"MFA compliance portfolio {period}", "reportgen")
    write_table_sheet(wb, "Portfolio", "Portfolio", COLUMNS, lambda ws: _rows(ws, rows, period), used, page=page,
                      row_rules=[(f'${_COLUMN["Status"]}2="{RUN_LABELS["failed"]}"', STATUS_COLOURS["failed"]),
                                 (f'${_COLUMN["Not evaluated critical"]}2>0', AMBER),
                                 (f'${_COLUMN["Overdue actions"]}2>0', AMBER)])
    _about(wb, rows, period, generated_at, page)
    save_deterministic(wb, Path(out_path), when)


def _about(wb: Workbook, rows: list[dict], period: str, generated_at: str, page: tuple[str, str]) -> None:
    ws = wb.create_sheet("About")
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90
    header_footer(ws, *page)
    failed = sum(1 for r in rows if r.get("status") != "ok")
    ws.append([text_cell(ws, "MFA compliance portfolio", font=TITLE_FONT)])
    ws.append([])
    for name, value, style in (
            ("Period", period, {}),
            ("Generated at (UTC)", excel_time(generated_at) or clean_text(generated_at), {}),
            ("Clients", len(rows), {}),
            ("Produced", len(rows) - failed, {}),
            ("Failed", failed, status_style("failed") if failed else {}),
    ):
        ws.append([text_cell(ws, name, font=BOLD), value_cell(ws, value, **style)])
    ws.append([])
    for name, text in (
            ("Direction", "Open findings by severity against the previous period: improving when some count fell "
                          "and none rose, worsening when some rose and none fell, mixed when both, steady when "
                          "none moved, new without an earlier period."),
            ("Not evaluated", "Checks that could not be judged for lack of data (never counted as passed). A row "
                              "with a critical check not evaluated is highlighted: it is not a clean result."),
            ("PDF, Workbook", "Links relative to this file: keep the period folder together when moving it."),
            ("Review state", "Draft or final, as the review workflow records it; empty otherwise."),
            ("Overdue actions", "Actions of the client's action plan past their target date."),
            ("Highlighted rows", "Failed clients (their error says why), clients with a critical check not "
                                 "evaluated, and clients with overdue actions."),
    ):
        ws.append([text_cell(ws, name, font=BOLD), text_cell(ws, text, alignment=WRAP)])
