"""ReportData -> ``<slug>-<period>-findings.csv``: one row per finding and affected subject.

For the consultant's PSA or GRC tool and for a spreadsheet. Tenant text is untrusted: a cell that a
spreadsheet would read as a formula (it starts with = + - @, a tab or a carriage return, after any
leading spaces) gets a leading apostrophe, which Excel and LibreOffice show as text. The file is
UTF-8 with a byte-order mark (Excel guesses a legacy code page without one) and CRLF line ends
(RFC 4180); it carries no clock reading, so the same data gives the same bytes.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reportgen.package import write_bytes
from reportgen.render.xlsxutil import clean_text
from reportgen.view import view_of
from reportgen.vocab import SEVERITY_LABELS

from . import RenderOptions

HEADER = ("client", "tenant_id", "period", "check_id", "finding", "status", "severity", "evaluated_severity",
          "subject_upn", "subject_display_name", "detail", "exception", "reason", "remediation")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value: Any) -> str:
    """Text a spreadsheet shows as typed: never a formula, never a control character."""
    if value is None:
        return ""
    s = clean_text(value)
    if s.lstrip(" ").startswith(FORMULA_START):
        return "'" + s
    return s


def finding_rows(data: Any) -> Iterator[dict[str, Any]]:
    """One dict per finding and affected subject, from the view model, in report order (a finding
    without a listed subject, such as a tenant-wide setting, is one row)."""
    view = view_of(data)
    r = data.results
    for f in view.findings:
        if not f.shown_as_finding:
            continue
        meta = data.check_meta.get(f.id)
        base = {"client": view.client_name, "tenant_id": r.client.tenant_id, "period": view.period,
                "check_id": f.id, "finding": f.title, "status": f.status_label, "severity": f.severity_label,
                "evaluated_severity": SEVERITY_LABELS.get(f.evaluated_severity, f.evaluated_severity),
                "reason": f.reason, "remediation": str(meta.remediation) if meta else ""}
        for a in f.affected or [None]:
            yield {**base, "subject_upn": a.upn if a else "", "subject_display_name": a.display_name if a else "",
                   "detail": a.detail if a else "", "exception": (a.exception or "") if a else ""}


def csv_bytes(rows: Iterator[dict[str, Any]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, dialect="excel", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([safe_cell(row.get(k)) for k in HEADER])
    return (BOM + buf.getvalue()).encode("utf-8")


def render(data: Any, path: Path, options: RenderOptions) -> None:
    write_bytes(Path(path), csv_bytes(finding_rows(data)))
