"""The consultant's portfolio.xlsx: one row per client of the batch.

Rows come from the batch (see ``render_portfolio``); client names and error messages are
untrusted text and go through the same safe-cell helpers as the client workbook.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from openpyxl import Workbook

from .xlsxutil import (BOLD, GREY, STATUS_COLOURS, TITLE_FONT, WRAP, Col, parse_timestamp,
                       save_deterministic, set_properties, status_style, text_cell, value_cell,
                       write_table_sheet)

DIRECTIONS = {"improving": "\u25b2 improving", "worsening": "\u25bc worsening",
              "steady": "\u25b6 steady", "new": "\u25cf new"}
LEVELS = ("critical", "high", "medium", "low")
_READINESS = {k: STATUS_COLOURS[k] for k in ("ready", "at_risk", "not_ready", "unknown")}
_DIRECTION_COLOURS = {DIRECTIONS["improving"]: STATUS_COLOURS["pass"],
                      DIRECTIONS["worsening"]: STATUS_COLOURS["fail"],
                      DIRECTIONS["steady"]: GREY, DIRECTIONS["new"]: STATUS_COLOURS["excepted"]}
_COLLECTION = {k: STATUS_COLOURS[k] for k in ("complete", "partial", "failed")}

COLUMNS = [Col("Client", 36, wrap=True), Col("Slug", 24), Col("Type", 13),
           Col("Status", 10, palette={"ok": STATUS_COLOURS["ok"], "failed": STATUS_COLOURS["failed"]}),
           Col("Error", 50, wrap=True),
           Col("Phase 1", 12, palette=_READINESS), Col("Phase 2", 12, palette=_READINESS),
           Col("MFA registered %", 17, number_format="0.0"),
           Col("Open critical", 13), Col("Open high", 11), Col("Open medium", 13), Col("Open low", 10),
           Col("Direction", 15, palette=_DIRECTION_COLOURS), Col("Collection status", 18, palette=_COLLECTION)]


def direction_text(direction: str | None) -> str | None:
    if direction is None:
        return None
    return DIRECTIONS.get(direction, str(direction))


def _rows(rows: list[dict[str, Any]]) -> Iterator[list[Any]]:
    for r in rows:
        op = r.get("open") or {}
        pct = r.get("mfa_registered_pct")
        yield [r.get("name") or r.get("slug", ""), r.get("slug", ""), r.get("institution_type", ""), r.get("status", ""),
               r.get("error"), r.get("phase1"), r.get("phase2"),
               float(pct) if isinstance(pct, (int, float)) and not isinstance(pct, bool) else None,
               *[_count(op.get(k)) if r.get("open") is not None else None for k in LEVELS],
               direction_text(r.get("direction")), r.get("collection_status")]


def _count(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def render_portfolio(rows: list[dict], out_path: Path, period: str, generated_at: str) -> None:
    """Write portfolio.xlsx (atomically, mode 0600, byte-identical for identical input)."""
    when = parse_timestamp(generated_at)
    wb = Workbook(write_only=True)
    set_properties(wb, when=when, creator="reportgen", title=f"MFA compliance portfolio {period}",
                   subject="Microsoft Entra ID MFA compliance, all clients")
    used: set[str] = set()
    write_table_sheet(wb, "Portfolio", "Portfolio", COLUMNS, _rows(rows), used,
                      row_rules=[('$D2="failed"', STATUS_COLOURS["failed"])])

    ws = wb.create_sheet("About")
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 40
    failed = sum(1 for r in rows if r.get("status") != "ok")
    ws.append([text_cell(ws, "MFA compliance portfolio", font=TITLE_FONT)])
    ws.append([])
    for label, value, style in (
            ("Period", period, {}),
            ("Generated at (UTC)", generated_at, {}),
            ("Clients", len(rows), {}),
            ("Produced", len(rows) - failed, {}),
            ("Failed", failed, status_style("failed") if failed else {}),
    ):
        ws.append([text_cell(ws, label, font=BOLD), value_cell(ws, value, **style)])
    ws.append([])
    ws.append([text_cell(ws, "Direction compares open findings with the previous period.", alignment=WRAP)])
    ws.append([text_cell(ws, "Failed clients are highlighted; their error says why.", alignment=WRAP)])
    save_deterministic(wb, Path(out_path), when)
