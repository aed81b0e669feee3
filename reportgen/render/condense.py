"""Keep long lists out of the printed report: identical details collapse into one row ("137 accounts
like this"), and no printed list runs past ten rows; the workbook holds every row.

A board or an examiner reads one line per distinct fact; the same detail printed 25 times hides the
two rows that differ.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

PRINT_ROWS = 10          # rows of one list printed; the rest are counted and pointed to the workbook
NAMES_PER_ROW = 3        # account names printed in a collapsed row
_HEAD_CHARS = 60         # a "role: detail" prefix this short is kept per name when the rest is shared


def _split(detail: str) -> tuple[str, str]:
    head, sep, tail = detail.partition(": ")
    if sep and tail and len(head) <= _HEAD_CHARS:
        return head, tail
    return "", detail


def group_affected(affected: Iterable[Any], ident: Callable[[str], Any],
                   limit: int = PRINT_ROWS) -> dict[str, Any]:
    """Rows for a finding's affected table: subjects sharing a detail (and exception) are one row.

    Subjects whose details differ only by a short prefix ("Global Administrator: ...") share a row
    too, each name carrying its prefix. Returns the rows (at most ``limit``), the subjects counted in
    rows not printed, and whether any row stands for more than one subject."""
    items = list(affected)
    exact: dict[tuple[str, str], list[Any]] = {}
    for a in items:
        exact.setdefault((a.detail or "", a.exception or ""), []).append(a)
    groups: dict[tuple[str, str], list[tuple[Any, str]]] = {}
    for (detail, exc), members in exact.items():
        head, tail = _split(detail) if len(members) == 1 else ("", detail)
        key = (tail, exc)
        groups.setdefault(key, []).extend((m, head) for m in members)
    rows = []
    for (detail, exc), members in groups.items():
        heads = {h for _m, h in members}
        if len(heads) == 1 and next(iter(heads)):
            detail, members = f"{next(iter(heads))}: {detail}", [(m, "") for m, _h in members]
        shown = members[:NAMES_PER_ROW] if len(members) > 1 else members
        rows.append({
            "count": len(members),
            "names": [{"upn": ident(m.upn), "display_name": m.display_name, "note": h} for m, h in shown],
            "names_more": len(members) - len(shown),
            "detail": detail, "exception": exc or None,
        })
    printed = rows[:limit]
    return {"rows": printed, "more": sum(r["count"] for r in rows[limit:]),
            "collapsed": any(r["count"] > 1 for r in printed)}


def cap_names(names: list[Any], total: int, limit: int = NAMES_PER_ROW) -> tuple[list[Any], int]:
    """A few names inside a sentence, and how many of ``total`` were left out."""
    shown = names[:limit]
    return shown, max(0, total - len(shown))


def link_text(label: str) -> str:
    """A reference printed as a bare URL reads as its site and page name ("learn.microsoft.com:
    policy-block-legacy-authentication"); the link keeps the whole address."""
    text = str(label).replace("\u200b", "")
    if not text.startswith(("http://", "https://")):
        return text
    host, _, path = text.split("://", 1)[1].partition("/")
    last = [p for p in path.split("/") if p]
    return f"{host}: {last[-1].split('#')[0]}" if last else host
