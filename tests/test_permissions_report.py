"""The report flags a missing required permission and any write permission the app holds."""
from __future__ import annotations

import sys
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample_report import sample_report_data  # noqa: E402

from reportgen.render.pdf import render_pdf  # noqa: E402
from reportgen.render.xlsx import render_xlsx  # noqa: E402


def test_missing_and_write_permissions_are_visible(tmp_path: Path):
    data = sample_report_data(n_users=10, hostile=False)
    c = data.results.collection
    c.granted_permissions = ["User.Read.All", "Policy.ReadWrite.ConditionalAccess"]
    c.missing_permissions = ["AuditLog.Read.All"]
    c.write_permissions = ["Policy.ReadWrite.ConditionalAccess"]
    render_pdf(data, tmp_path / "r.pdf")
    text = " ".join((p.extract_text() or "") for p in PdfReader(tmp_path / "r.pdf").pages)
    text = " ".join(text.split())
    assert "Missing permissions" in text and "AuditLog.Read.All" in text
    assert "Write permissions held" in text and "Policy.ReadWrite.ConditionalAccess" in text
    render_xlsx(data, tmp_path / "r.xlsx")
    cells = {str(r[0]): r[1] for r in load_workbook(tmp_path / "r.xlsx")["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert cells["Missing permissions"] == "AuditLog.Read.All"
    assert cells["Write permissions held (remove)"] == "Policy.ReadWrite.ConditionalAccess"
