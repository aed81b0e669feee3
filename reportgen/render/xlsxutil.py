"""Shared helpers for the Excel renderers: safe cell values, tables, deterministic save.

Everything written here goes through a write-only openpyxl workbook
(``Workbook(write_only=True)``), so a 50,000-user tenant streams to disk instead of
being held as a cell grid.

Tenant text is untrusted. Every string becomes a cell with ``data_type = "s"`` (never a
formula), with control characters and bidi overrides replaced by a visible marker, truncated to Excel's
32,767-character limit, and given a quote prefix when it starts with a character that
Excel would read as the start of a formula (= + - @ tab CR) if the user edits the cell.

What a reader sees is words and real Excel values: statuses as their labels (``reportgen.vocab``),
timestamps as Excel date-times (UTC), percentages as fractions in a % format.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.xml.functions import tostring

from reportgen.dates import parse_iso
from reportgen.display import readable
from reportgen.package import write_bytes

MAX_CELL_CHARS = 32_767
TRUNCATED = " [truncated]"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SPECIAL_FIRST = frozenset("=+-@\t\r#")
NONE_TEXT = "(none)"
UNKNOWN_TEXT = "Unknown"
TABLE_STYLE = "TableStyleMedium2"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"      # UTC; ISO order sorts and reads the same everywhere
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"

# Conditional-formatting palette: (fill, font colour)
GREEN = ("C6EFCE", "006100")
RED = ("FFC7CE", "9C0006")
AMBER = ("FFEB9C", "9C5700")
BLUE = ("DDEBF7", "1F4E78")
GREY = ("E7E6E6", "404040")

STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "pass": GREEN, "met": GREEN, "ready": GREEN, "ok": GREEN, "complete": GREEN,
    "fail": RED, "not_met": RED, "not_ready": RED, "failed": RED,
    "warn": AMBER, "partially_met": AMBER, "at_risk": AMBER, "partial": AMBER,
    "excepted": BLUE,
    "not_evaluated": GREY, "not_assessed": GREY, "manual": GREY, "unknown": GREY,
}
# Yes/No columns where "Yes" is the good answer (MFA registered, covered by a policy, ...)
YES_GOOD: dict[str, tuple[str, str]] = {"Yes": GREEN, "No": RED, UNKNOWN_TEXT: GREY}
# Yes/No columns where "Yes" is the bad answer (soft methods present, excluded, ...)
YES_BAD: dict[str, tuple[str, str]] = {"Yes": RED, "No": GREEN, UNKNOWN_TEXT: GREY}
SEVERITY_COLOURS: dict[str, tuple[str, str]] = {
    "critical": ("C00000", "FFFFFF"), "high": RED, "medium": AMBER, "low": BLUE, "info": GREY,
}

BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
HEADING_FONT = Font(bold=True, size=12)
WRAP = Alignment(wrap_text=True, vertical="top")

_TABLE_NAME_BAD = re.compile(r"[^A-Za-z0-9_.]")
_CELL_REF_LIKE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*|[RrCc])$")


# ---------------------------------------------------------------- values

def clean_text(value: Any) -> str:
    """Text as it will be stored: control characters marked as removed, at most 32,767 characters."""
    # Controls, bidi overrides and non-characters (which XML cannot carry either) become a visible
    # marker, by the rule the PDF uses too.
    s = readable(value)
    # Excel counts UTF-16 code units.
    if len(s) > MAX_CELL_CHARS // 2 and len(s.encode("utf-16-le")) // 2 > MAX_CELL_CHARS:
        room = MAX_CELL_CHARS - len(TRUNCATED)
        out, units = [], 0
        for ch in s:
            u = 2 if ord(ch) > 0xFFFF else 1
            if units + u > room:
                break
            out.append(ch)
            units += u
        s = "".join(out) + TRUNCATED
    return s


def yes_no(value: bool | None) -> str:
    if value is None:
        return UNKNOWN_TEXT
    return "Yes" if value else "No"


def by_label(labels: dict, palette: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """A palette keyed by raw values, re-keyed by the labels the cells show."""
    return {labels[k]: v for k, v in palette.items() if k in labels}


def excel_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as the naive UTC datetime Excel stores (it has no time zones)."""
    moment = parse_iso(value) if not isinstance(value, datetime) else value
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def excel_date(value: Any) -> date | None:
    """'2027-01-15' (or a date) as a date cell value; None when it is not one."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def fraction(pct: Any) -> float | None:
    """90.9 (percent) as 0.909, shown by Excel's % format as 90.9%."""
    if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not math.isfinite(pct):
        return None
    return round(pct / 100, 6)


def header_footer(ws, title: str, firm: str) -> None:
    """'Confidential' on every printed page, with what the document is and the page number."""
    def esc(text: str) -> str:     # '&' starts a header/footer code
        return clean_text(text).replace("&", "&&")[:120]
    ws.oddHeader.left.text = esc(title)
    ws.oddHeader.right.text = "Confidential"
    ws.oddFooter.left.text = esc(firm) + " — Confidential"
    ws.oddFooter.right.text = "Page &P of &N"


def join(items: Iterable[Any] | None, sep: str = "; ") -> str:
    return sep.join(str(i) for i in items) if items else ""


def text_cell(ws, value: Any, *, font: Font | None = None, fill: PatternFill | None = None,
              alignment: Alignment | None = None, number_format: str | None = None) -> Cell:
    """A cell that Excel shows as text, whatever the text says (empty text: an empty cell)."""
    s = clean_text(value)
    c = WriteOnlyCell(ws)
    if s:
        c.value = s
        c.data_type = "s"     # "=..." would have been inferred as a formula, "#N/A" as an error
        if s.startswith(FORMULA_START):
            c.quotePrefix = True
    if font is not None:
        c.font = font
    if fill is not None:
        c.fill = fill
    if alignment is not None:
        c.alignment = alignment
    if number_format is not None:
        c.number_format = number_format
    return c


def fast_value(ws, value: Any) -> Any:
    """``value_cell`` for unstyled cells, cheaper for large sheets.

    A cleaned string that openpyxl would store as plain text anyway (no formula or error
    inference possible, no quote prefix needed) is passed as ``str``; openpyxl then sets
    ``data_type = "s"`` itself. Everything else goes through ``value_cell``.
    """
    if type(value) is str:
        s = clean_text(value)
        if not s:
            return None
        if s[0] in _SPECIAL_FIRST or s in ERROR_CODES:
            return text_cell(ws, s)
        return s
    return value_cell(ws, value)


def value_cell(ws, value: Any, **style: Any) -> Cell | None:
    """Any Python value as a safe cell: str -> text, bool -> Yes/No, None -> empty, list -> joined."""
    if value is None:
        if not style:
            return None
        c = WriteOnlyCell(ws)
        _apply(c, style)
        return c
    if isinstance(value, bool):
        return text_cell(ws, yes_no(value), **style)
    if isinstance(value, float) and not math.isfinite(value):
        return text_cell(ws, "n/a", **style)   # Excel has no NaN/inf: "nan" would corrupt the file
    if isinstance(value, (datetime, date)):
        c = WriteOnlyCell(ws, value)         # a real Excel date; naive UTC (see excel_time)
        _apply(c, style)
        c.number_format = style.get("number_format") or (DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT)
        return c
    if isinstance(value, (int, float)):
        if not style:
            return value
        c = WriteOnlyCell(ws, value)
        _apply(c, style)
        return c
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return text_cell(ws, join(items), **style)
    return text_cell(ws, value, **style)


def _apply(c: Cell, style: dict[str, Any]) -> None:
    for k, v in style.items():
        if v is not None:
            setattr(c, k, v)


def fill(colour: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour)


def status_style(value: str | None, palette: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """Static fill and font for a status shown in a key/value layout (Summary)."""
    colours = (palette or STATUS_COLOURS).get(value or "")
    if not colours:
        return {}
    return {"fill": fill(colours[0]), "font": Font(bold=True, color=colours[1])}


# ---------------------------------------------------------------- tables

def table_name(base: str, used: set[str]) -> str:
    """A valid, workbook-unique Excel table name derived from ``base``."""
    name = _TABLE_NAME_BAD.sub("_", base) or "Table"
    if not (name[0].isalpha() or name[0] == "_"):
        name = "_" + name
    if _CELL_REF_LIKE.match(name):
        name = "_" + name
    name = name[:200]
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate.lower())
    return candidate


@dataclass(frozen=True)
class Col:
    header: str
    width: float = 14
    number_format: str | None = None
    palette: dict[str, tuple[str, str]] | None = None   # conditional formatting on this column
    wrap: bool = False


def add_palette_rules(ws, ref: str, palette: dict[str, tuple[str, str]]) -> None:
    for value, (bg, fg) in palette.items():
        literal = '"' + value.replace('"', '""') + '"'
        ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=[literal],
                                                      fill=fill(bg), font=Font(color=fg)))


def add_row_rule(ws, ref: str, formula: str, colours: tuple[str, str]) -> None:
    bg, fg = colours
    ws.conditional_formatting.add(ref, FormulaRule(formula=[formula], fill=fill(bg),
                                                   font=Font(color=fg), stopIfTrue=False))


def write_table_sheet(wb: Workbook, title: str, name: str, cols: Sequence[Col],
                      rows: Iterable[Sequence[Any]] | Callable[[Any], Iterable[Sequence[Any]]],
                      used_names: set[str], *,
                      row_rules: Sequence[tuple[str, tuple[str, str]]] = (),
                      page: tuple[str, str] | None = None) -> int:
    """One sheet holding one Excel table (header in row 1, frozen, autofiltered).

    An empty ``rows`` writes a single "(none)" row: Excel rejects a table without data rows.
    ``row_rules`` are (formula for the first data row, colours) applied to whole rows; they
    take priority over the column palettes. ``page`` is (title, firm) for the printed header and
    footer. ``rows`` may be a function of the new sheet, for cells that must be made on it
    (hyperlinks). Returns the number of data rows written.
    """
    ws = wb.create_sheet(title)
    # Must all be set before the first append() in write-only mode.
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    for i, col in enumerate(cols, 1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    if page is not None:
        header_footer(ws, *page)

    ws.append([text_cell(ws, c.header) for c in cols])
    if callable(rows):
        rows = rows(ws)
    styles = [({"number_format": c.number_format} if c.number_format else {}) |
              ({"alignment": WRAP} if c.wrap else {}) for c in cols]
    n = 0
    for row in rows:
        ws.append([v if isinstance(v, Cell) else value_cell(ws, v, **st) if st else fast_value(ws, v)
                   for v, st in zip(row, styles)])
        n += 1
    if n == 0:
        ws.append([text_cell(ws, NONE_TEXT)])
        n_rows = 1
    else:
        n_rows = n

    last_col = get_column_letter(len(cols))
    ref = f"A1:{last_col}{n_rows + 1}"
    table = Table(displayName=table_name(name, used_names), ref=ref,
                  autoFilter=AutoFilter(ref=ref),
                  tableStyleInfo=TableStyleInfo(name=TABLE_STYLE, showRowStripes=True,
                                                showColumnStripes=False, showFirstColumn=False,
                                                showLastColumn=False))
    for i, col in enumerate(cols, 1):
        table.tableColumns.append(TableColumn(id=i, name=clean_text(col.header)))
    # Not ws.add_table(): in write-only mode it always warns that columns must be given by
    # hand, which we do; table_name() has already made the name unique in the workbook.
    ws.tables.add(table)

    data_ref = f"A2:{last_col}{n_rows + 1}"
    for formula, colours in row_rules:
        add_row_rule(ws, data_ref, formula, colours)
    for i, col in enumerate(cols, 1):
        if col.palette:
            letter = get_column_letter(i)
            add_palette_rules(ws, f"{letter}2:{letter}{n_rows + 1}", col.palette)
    return n


# ---------------------------------------------------------------- deterministic save

def parse_timestamp(value: str | None) -> datetime:
    """``generated_at`` as a naive UTC datetime (1980-01-01 when missing or unreadable)."""
    fallback = datetime(1980, 1, 1)
    if not value:
        return fallback
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return fallback
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    dt = dt.replace(microsecond=0)
    return max(dt, fallback)


def set_properties(wb: Workbook, *, when: datetime, creator: str, title: str,
                   subject: str = "", description: str = "", review: Any = None) -> None:
    """Document properties; ``review`` (results.Review) puts the review state, version and reviewer
    where a file browser and Excel's Info pane show them."""
    p = wb.properties
    if review is not None:
        p.contentStatus = "Final" if review.final else "Draft for review"
        p.version = str(review.version)
        p.revision = str(review.version)
        if review.reviewer:
            p.keywords = clean_text(f"reviewed by {review.reviewer}")[:255]
    p.creator = clean_text(creator)[:255]
    p.lastModifiedBy = clean_text(review.reviewer)[:255] if review is not None and review.reviewer else p.creator
    p.title = clean_text(title)[:255]
    p.subject = clean_text(subject)[:255] or None
    p.description = clean_text(description)[:1000] or None
    p.created = when
    p.modified = when


def save_deterministic(wb: Workbook, out_path: Path, when: datetime) -> None:
    """Save so that the same content gives the same bytes; atomically, mode 0600."""
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps "modified" with the current time while saving: put ours back.
    wb.properties.created = when
    wb.properties.modified = when
    core = tostring(wb.properties.to_tree())
    date_time = (when.year, when.month, when.day, when.hour, when.minute, when.second)

    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zout:
        for info in zin.infolist():
            data = core if info.filename == "docProps/core.xml" else zin.read(info.filename)
            zi = zipfile.ZipInfo(info.filename, date_time=date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 3
            zi.external_attr = 0o600 << 16
            zout.writestr(zi, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    write_bytes(Path(out_path), out.getvalue())
