"""The workbook a client files beside the PDF: it says which version it is (draft or final, by whom),
its dates are dates, and every data sheet filters and keeps its header in view."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reportgen.render.xlsx import render_xlsx  # noqa: E402
from reportgen.results import Review  # noqa: E402
from tests.sample_report import sample_report_data  # noqa: E402

PERIOD = "2026-11"


def _render(tmp_path: Path, name: str, review: Review) -> Path:
    data = sample_report_data(hostile=False)
    data.results.review = review
    out = tmp_path / name
    render_xlsx(data, out)
    return out


def test_draft_and_final_workbooks_say_which_they_are(tmp_path: Path):
    draft = _render(tmp_path, "draft.xlsx", Review(state="draft", version=1))
    final = _render(tmp_path, "final.xlsx", Review(state="final", version=2, reviewer="Alex Morgan, Senior Consultant",
                                                  finalized_at="2026-12-02T10:00:00Z", issued_on="2026-12-02"))
    assert draft.read_bytes() != final.read_bytes()
    d, f = load_workbook(draft), load_workbook(final)
    assert (d.properties.contentStatus, d.properties.version) == ("Draft for review", "1")
    assert (f.properties.contentStatus, f.properties.version) == ("Final", "2")
    assert "Alex Morgan" in (f.properties.keywords or "") and f.properties.lastModifiedBy.startswith("Alex Morgan")
    for wb, words in ((d, "Draft for review, version 1"), (f, "Final, version 2, reviewed by Alex Morgan")):
        for ws in wb.worksheets:
            assert words in ws.oddHeader.left.text, (ws.title, ws.oddHeader.left.text)
        summary = [c for row in wb["Summary"].iter_rows(max_row=8, values_only=True) for c in row if c]
        assert any(words in str(c) for c in summary), summary


def test_every_data_sheet_filters_and_freezes_its_header(tmp_path: Path):
    wb = load_workbook(_render(tmp_path, "w.xlsx", Review()))
    for ws in wb.worksheets[1:]:
        assert ws.freeze_panes == "A2", ws.title
        tables = list(ws.tables.values())
        assert len(tables) == 1, ws.title
        ref = tables[0].autoFilter.ref if tables[0].autoFilter is not None else ""
        assert ref and ref.startswith("A1:") and ref == tables[0].ref, (ws.title, ref)
        assert ws.max_row >= 2


def test_action_plan_dates_are_dates(demo_run: Path):
    path = demo_run / "harbor-federal-cu" / f"harbor-federal-cu-{PERIOD}-mfa-compliance.xlsx"
    ws = load_workbook(path)["Action plan"]
    header = [c.value for c in ws[1]]
    target, since = header.index("Target date"), header.index("Open since")
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    targets = [r[target] for r in rows if r[target] is not None]
    assert targets and all(isinstance(t, datetime) for t in targets), targets
    assert all(isinstance(r[since], datetime) for r in rows), [r[since] for r in rows]
