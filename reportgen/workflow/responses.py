"""Reading the client's answers back: the workbook's Action plan sheet, or the same columns as CSV.

The file comes from outside and is treated as hostile. Each row is checked on its own and every
problem is a sentence naming the row and the column; a bad row or cell is skipped, never a crash.
Formulas are refused (their cached result could say anything), values are plain text or dates,
and only the four columns the client fills are read.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from reportgen.readback import BadCell, ErrorCell, FormulaCell, ReadBackError, csv_rows, xlsx_rows
from reportgen.workflow.actions import KEY_RE, STATUS_LABELS, STATUSES, Answer

SHEET = "Action plan"
MAX_ROWS = 1000
MAX_PROBLEMS = 50
LIMITS = {"owner": 200, "response": 2000}
# header (as written in the sheet) -> field; headers are matched without case, spaces or underscores
COLUMNS = {"Finding key": "finding_key", "Severity": "severity", "Action": "action", "Closes checks": "closes",
           "Affected": "affected", "Open since": "open_since", "Overdue": "overdue", "Owner": "owner",
           "Target date": "target_date", "Management response": "response", "Status": "status"}
CLIENT_FIELDS = ("owner", "target_date", "response", "status")
_ALIASES = {"response": "response", "managementresponse": "response", "findingkey": "finding_key",
            "targetdate": "target_date", "duedate": "target_date"}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


class ResponsesError(Exception):
    """The file as a whole cannot be read (not per-row)."""


def _norm(header: Any) -> str:
    return re.sub(r"[\s_\-]+", "", str(header or "")).lower()


_KNOWN = {_norm(h): f for h, f in COLUMNS.items()} | _ALIASES


def read_responses(path: Path) -> tuple[dict[str, Answer], list[str]]:
    """The client's answers by finding key, and the problems found (each names row and column).
    The file is read through the read-back module: bounded before parsing, one line per problem."""
    path = Path(path)
    try:
        rows = xlsx_rows(path, SHEET) if path.suffix.lower() == ".xlsx" else csv_rows(path)
        return _parse(rows, path.name)
    except ResponsesError as e:
        return {}, [f"{path.name}: {e}"]
    except ReadBackError as e:
        return {}, [str(e)]


def _parse(rows: Iterator[tuple[int, list[Any]]], name: str) -> tuple[dict[str, Answer], list[str]]:
    problems: list[str] = []
    answers: dict[str, Answer] = {}
    columns: dict[int, str] | None = None
    used = 0
    for i, row in rows:
        if columns is None:
            columns = _header(row)
            if columns is None:
                if i >= 10:
                    raise ResponsesError("no header row with a 'Finding key' column in the first 10 rows")
                continue
            unknown = [str(h) for j, h in enumerate(row) if _clean(h) and j not in columns]
            for h in unknown[:10]:
                problems.append(f"{name}: column {_show(h)} is not one this tool reads; ignored")
            continue
        cells = {f: row[j] for j, f in columns.items() if j < len(row)}
        if all(_blank(v) for v in cells.values()):
            continue
        used += 1
        if used > MAX_ROWS:
            problems.append(f"{name}: more than {MAX_ROWS} rows; the rest are ignored")
            break
        key, answer, row_problems = _row(cells)
        problems.extend(f"{name}: row {i}: {p}" for p in row_problems)
        if key is None:
            continue
        if key in answers:
            problems.append(f"{name}: row {i}: finding key {key} appears twice; the first row is used")
            continue
        if answer is not None:
            answers[key] = answer
    if columns is None:
        raise ResponsesError("no header row with a 'Finding key' column")
    if len(problems) > MAX_PROBLEMS:
        problems = problems[:MAX_PROBLEMS] + [f"{name}: {len(problems) - MAX_PROBLEMS:,} more problems not listed"]
    return answers, problems


def _header(row: list[Any]) -> dict[int, str] | None:
    found = {j: _KNOWN[_norm(v)] for j, v in enumerate(row) if isinstance(v, str) and _norm(v) in _KNOWN}
    return found if "finding_key" in found.values() else None


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _clean(v: Any) -> str:
    return _CONTROL.sub("", v).strip() if isinstance(v, str) else ""


def _show(v: Any) -> str:
    s = _clean(str(v))
    return repr(s[:40] + ("…" if len(s) > 40 else ""))


def _row(cells: dict[str, Any]) -> tuple[str | None, Answer | None, list[str]]:
    problems = []
    for f, v in cells.items():
        if isinstance(v, FormulaCell) and (f in CLIENT_FIELDS or f == "finding_key"):
            problems.append(f"{_label(f)}: a formula is not accepted, type the value itself; cell ignored")
        elif isinstance(v, ErrorCell) and (f in CLIENT_FIELDS or f == "finding_key"):
            problems.append(f"{_label(f)}: the cell holds the error {_show(v)}; cell ignored")
        elif isinstance(v, BadCell) and (f in CLIENT_FIELDS or f == "finding_key"):
            problems.append(f"{_label(f)}: {v}; cell ignored")
    bad = {f for f, v in cells.items() if isinstance(v, (FormulaCell, ErrorCell, BadCell))}
    raw_key = cells.get("finding_key")
    key = _clean(raw_key).upper() if isinstance(raw_key, str) and "finding_key" not in bad else ""
    if not key:
        if "finding_key" not in bad:
            problems.append("Finding key is empty; row ignored")
        return None, None, problems
    if not KEY_RE.fullmatch(key) or len(key) > 40:
        problems.append(f"Finding key {_show(raw_key)} is not a key this tool wrote; row ignored")
        return None, None, problems
    values: dict[str, Any] = {}
    for f in ("owner", "response"):
        v = cells.get(f)
        if f in bad or _blank(v):
            continue
        if isinstance(v, (datetime, date)):
            v = v.isoformat()[:10]
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str):
            problems.append(f"{_label(f)}: expected text, got {type(v).__name__}; cell ignored")
            continue
        text = _clean(v)
        if len(text) > LIMITS[f]:
            problems.append(f"{_label(f)}: longer than {LIMITS[f]} characters; shortened")
            text = text[:LIMITS[f]]
        values[f] = text
    target = cells.get("target_date")
    if "target_date" not in bad and not _blank(target):
        parsed = _date(target)
        if parsed is None:
            problems.append(f"Target date: {_show(target)} is not a date (use YYYY-MM-DD); cell ignored")
        else:
            values["target_date"] = parsed
    status = cells.get("status")
    if "status" not in bad and not _blank(status):
        s = re.sub(r"[\s\-]+", "_", _clean(status).lower()) if isinstance(status, str) else None
        if s not in STATUSES:
            problems.append(f"Status: {_show(status)} is not one of {', '.join(STATUS_LABELS.values())}; cell ignored")
        else:
            values["status"] = s
    # Open since, severity and the other columns this tool wrote are never read back: the client
    # could otherwise rewrite how long a finding has been open
    if not any(k in values for k in CLIENT_FIELDS):
        return key, None, problems
    return key, Answer(**values), problems


def _date(v: Any) -> str | None:
    if isinstance(v, datetime):
        v = v.date()
    if isinstance(v, date):
        return v.isoformat() if 2000 <= v.year <= 2100 else None
    if isinstance(v, str):
        s = _clean(v)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
            try:
                d = date.fromisoformat(s)
            except ValueError:
                return None
            return d.isoformat() if 2000 <= d.year <= 2100 else None
    return None


def _label(f: str) -> str:
    return next((h for h, x in COLUMNS.items() if x == f), f)
