"""The workbook's Action plan sheet: what the client fills in and returns.

One row per action with its stable ``Finding key``; the last four columns (owner, target date,
management response, status) are the client's. ``workflow.responses`` reads the returned sheet by
these same headers, so they are defined there, once.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openpyxl.worksheet.datavalidation import DataValidation

from reportgen.report import ReportData
from reportgen.vocab import SEVERITY_LABELS, label
from reportgen.workflow.actions import STATUS_LABELS, STATUSES
from reportgen.workflow.responses import COLUMNS, SHEET

from .xlsxutil import DATE_FORMAT, SEVERITY_COLOURS, STATUS_COLOURS, Col, by_label, excel_date, write_table_sheet, yes_no

_WIDTHS = {"finding_key": 16, "severity": 11, "action": 60, "closes": 30, "affected": 10, "open_since": 11,
           "overdue": 10, "owner": 26, "target_date": 13, "response": 50, "status": 15}
# The client reads and chooses words ("In progress"); workflow.responses reads them back as values.
_PALETTES = {"severity": by_label(SEVERITY_LABELS, SEVERITY_COLOURS), "overdue": {"Yes": STATUS_COLOURS["fail"]},
             "status": by_label(STATUS_LABELS, {"done": STATUS_COLOURS["pass"], "in_progress": STATUS_COLOURS["warn"],
                                                "open": STATUS_COLOURS["fail"],
                                                "risk_accepted": STATUS_COLOURS["excepted"]})}
_WRAP = {"action", "closes", "response"}
# Dates a reader sorts and filters: real Excel dates (the month an action opened is its first day).
_FORMATS = {"target_date": DATE_FORMAT, "open_since": "mmm yyyy"}
MAX_ROWS = 1000


def write_action_plan(wb, data: ReportData, used: set[str]) -> None:
    fields = list(COLUMNS.values())
    cols = [Col(header, _WIDTHS[f], number_format=_FORMATS.get(f), palette=_PALETTES.get(f), wrap=f in _WRAP)
            for header, f in COLUMNS.items()]
    actions = list(data.workflow.actions) if data.workflow is not None else []
    n = write_table_sheet(wb, SHEET, "ActionPlan", cols, _rows(actions[:MAX_ROWS], fields), used)
    ws = wb.worksheets[-1]
    if n == 0 or not actions:
        return
    last = n + 1
    words = [STATUS_LABELS[s] for s in STATUSES]
    status = DataValidation(type="list", formula1='"' + ",".join(words) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle="Status",
                            error=f"Choose {', '.join(words[:-1])} or {words[-1]}.")
    status.add(f"{_letter(fields, 'status')}2:{_letter(fields, 'status')}{last}")
    target = DataValidation(type="custom", allow_blank=True, showInputMessage=True, promptTitle="Target date",
                            prompt="A date, YYYY-MM-DD (for example 2027-01-31).",
                            formula1=f'ISNUMBER(IFERROR(DATEVALUE({_letter(fields, "target_date")}2),'
                                     f'{_letter(fields, "target_date")}2))')
    target.add(f"{_letter(fields, 'target_date')}2:{_letter(fields, 'target_date')}{last}")
    ws.data_validations.append(status)
    ws.data_validations.append(target)


def _letter(fields: list[str], name: str) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(fields.index(name) + 1)


def _rows(actions: list[Any], fields: list[str]) -> Iterator[list[Any]]:
    for a in actions:
        closes = ", ".join(c.check if c.full else f"{c.check} (in part: {c.resolved:,} of {c.total:,})" for c in a.closes)
        what = a.title + (f"\n{a.remediation}" if a.remediation else "")
        values = {"finding_key": a.key, "severity": label(SEVERITY_LABELS, a.severity), "action": what, "closes": closes,
                  "affected": len(a.subjects),
                  "open_since": excel_date(f"{a.open_since}-01") if a.open_since else None, "overdue": yes_no(a.overdue),
                  "owner": a.answer.owner,
                  "target_date": excel_date(a.answer.target_date) or a.answer.target_date, "response": a.answer.response,
                  "status": STATUS_LABELS.get(a.answer.status, a.answer.status)}
        yield [values[f] for f in fields]
