"""How the PDF prints values: identifiers that wrap, bounded text, dates, sizes, catalog prose.

Every value the report template prints passes through ``clip_text`` (the Jinja environment's
``finalize``); identifiers go through ``ident``.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from markupsafe import Markup

from reportgen.dates import day_text, long_day, parse_iso
from reportgen.display import readable
from reportgen.steps import is_list_item

MAX_RUN = 160            # longest unbroken run of characters printed (UPN max is 113)
MAX_VALUE = 3000         # longest single value printed
_COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")


def safe_color(value: Any, default: str) -> str:
    """The value when it is exactly ``#RRGGBB``, else ``default`` (nothing else reaches CSS)."""
    return value.upper() if isinstance(value, str) and _COLOR_RE.fullmatch(value) else default


def human_time(moment: datetime, seconds: bool = False) -> str:
    """'29 November 2026, 16:09 UTC': how a date-time is printed (never raw ISO 8601)."""
    return f"{long_day(moment)}, {moment.strftime('%H:%M:%S' if seconds else '%H:%M')} UTC"


def short_time(value: Any) -> str:
    """A stored ISO timestamp as '18 Nov 2026 13:57' (tables); text that is not one, unchanged."""
    moment = parse_iso(value)
    if moment is None:
        return text(value)
    return f"{day_text(moment)} {moment.strftime('%H:%M')}"


def short_date(value: Any) -> str:
    """'2027-01-15' (or a date-time) as '15 Jan 2027'; other text unchanged."""
    value = text(value)
    moment = parse_iso(value + "T00:00:00Z" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else value)
    return day_text(moment) if moment else value


def human_size(size: Any) -> str:
    if not isinstance(size, (int, float)) or isinstance(size, bool) or size < 0:
        return "?"
    size = int(size)
    if size < 1024:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size_f = size / 1024
        if size_f < 1024 or unit == "GB":
            return f"{size_f:.1f} {unit}"
        size = int(size_f)
    return f"{size} B"


def text(value: Any) -> str:
    return "" if value is None else str(value)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def paragraphs(value: Any) -> list[str]:
    """Catalog prose (str or list of str) as paragraphs: a blank line or a list marker ("1.", "-")
    starts a new one; other line breaks are YAML wrapping and join with a space."""
    out: list[str] = []
    for item in as_list(value):
        current: list[str] = []
        for line in text(item).splitlines():
            if not line.strip() or is_list_item(line):
                if current:
                    out.append(" ".join(current))
                current = [line.strip()] if line.strip() else []
            else:
                current.append(line.strip())
        if current:
            out.append(" ".join(current))
    return out


HTTPS_RE = re.compile(r"https://[^\s\"'<>\\]+")


def reference(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        label_ = text(value.get("title") or value.get("id") or value.get("url"))
        url = text(value.get("url"))
    else:
        label_ = url = text(value)
    return {"label": ident(label_) if HTTPS_RE.fullmatch(label_) else label_,
            "url": url if HTTPS_RE.fullmatch(url) else ""}


def cap(rows: list[Any], limit: int) -> tuple[list[Any], int]:
    limit = max(0, int(limit))
    return rows[:limit], max(0, len(rows) - limit)


def pct(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "n/a"
    return f"{value:.1f}%"


_BREAK_AFTER_RE = re.compile(r"([@./_-])(?=[^\s<\u200b])")


ZWSP = "\u200b"


def ident(value: Any) -> Markup:
    """An identifier (UPN, id, file path, URL) that may wrap only after '@', '.', '/', '_' or '-':
    escaped text with a zero-width space there. Without it, a narrow column breaks 'example.co|m'
    mid-word. The space has no glyph, so text extracted or copied from the PDF stays whole (a <wbr>
    would do the same at the cost of one generated box each)."""
    escaped = Markup.escape(clip_text(text(value)))
    return Markup(_BREAK_AFTER_RE.sub(r"\1" + ZWSP, str(escaped)))


_LONG_RUN_RE = re.compile(rf"\S{{{MAX_RUN + 1},}}")


def _clip_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return f"{run[:MAX_RUN]}… [+{len(run) - MAX_RUN:,} characters, full text in the workbook]"


def clip_text(value: Any) -> Any:
    """Bound what one printed value can cost: WeasyPrint breaks an unbroken run character by
    character, so a 5,000-character token in a table cell costs seconds. Runs longer than MAX_RUN and
    values longer than MAX_VALUE are shortened with a visible marker. Template markup (macro output,
    ``Markup``) passes unchanged; it is escaped tenant text already bounded by this function.
    Control characters and explicit bidi controls are replaced by a visible marker, by the rule the
    workbook uses too (``display.readable``); results.json keeps them."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    value = readable(value)
    if len(value) > MAX_RUN:
        value = _LONG_RUN_RE.sub(_clip_run, value)
    if len(value) > MAX_VALUE:
        value = f"{value[:MAX_VALUE]}… [+{len(value) - MAX_VALUE:,} characters, full text in the workbook]"
    return value
