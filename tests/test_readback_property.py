"""The read-back module never raises anything but a one-line problem: random bytes, and random
valid-looking workbooks, CSVs and shard files (issue 21)."""
from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.readback import ReadBackError, shard_file
from reportgen.shard import MergeError, merge
from reportgen.workflow.responses import read_responses

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _problems_or_clean(path: Path) -> None:
    answers, problems = read_responses(path)
    assert isinstance(answers, dict) and all(isinstance(p, str) and "\n" not in p.strip() for p in problems)
    assert "Traceback" not in "".join(problems)


@SETTINGS
@given(st.binary(max_size=4000), st.sampled_from([".xlsx", ".csv"]))
def test_random_bytes_are_a_problem_line_or_a_clean_result(data, suffix):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"plan{suffix}"
        path.write_bytes(data)
        _problems_or_clean(path)


_value = st.one_of(st.text(max_size=20), st.integers(-5, 10**7).map(str), st.sampled_from(
    ["abc", "1e999", "NaN", "-1", "2026-13-45", "99999999", "", "MFA-01", "2026-12-31T00:00:00"]))
_cell = st.tuples(st.sampled_from(["", "n", "s", "str", "b", "e", "d", "inlineStr", "bogus"]), _value,
                  st.sampled_from(["", "0", "1", "14", "x"]), st.booleans())


def _xml(text: str) -> str:
    return "".join(c for c in text if c.isprintable()).replace("&", "&amp;").replace("<", "&lt;")


def _workbook(rows: list[list[tuple]], shared: list[str]) -> bytes:
    body = ['<row r="1"><c r="A1" t="inlineStr"><is><t>Finding key</t></is></c><c r="B1" t="inlineStr"><is><t>'
            'Owner</t></is></c><c r="C1" t="inlineStr"><is><t>Target date</t></is></c></row>']
    for n, row in enumerate(rows, 2):
        cells = []
        for j, (kind, value, style, formula) in enumerate(row):
            attrs = f' r="{"ABCD"[j]}{n}"' + (f' t="{kind}"' if kind else "") + (f' s="{style}"' if style else "")
            inner = (f"<f>{_xml(value)}</f>" if formula else "") + (
                f"<is><t>{_xml(value)}</t></is>" if kind == "inlineStr" else f"<v>{_xml(value)}</v>")
            cells.append(f"<c{attrs}>{inner}</c>")
        body.append(f'<row r="{n}">{"".join(cells)}</row>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{NS}" xmlns:r="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships"><sheets><sheet name="Action plan" sheetId="1" r:id="rId1"/>'
                   '</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships><Relationship Id="rId1" '
                   'Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/sharedStrings.xml", f'<sst xmlns="{NS}">' + "".join(f"<si><t>{_xml(s)}</t></si>" for s in shared)
                   + "</sst>")
        z.writestr("xl/styles.xml", f'<styleSheet xmlns="{NS}"><cellXfs><xf numFmtId="0"/><xf numFmtId="14"/>'
                   "</cellXfs></styleSheet>")
        z.writestr("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{NS}"><sheetData>{"".join(body)}</sheetData></worksheet>')
    return buf.getvalue()


@SETTINGS
@given(st.lists(st.lists(_cell, min_size=1, max_size=3), max_size=8), st.lists(st.text(max_size=10), max_size=3))
def test_random_valid_looking_workbooks(rows, shared):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "plan.xlsx"
        path.write_bytes(_workbook(rows, shared))
        _problems_or_clean(path)


@SETTINGS
@given(st.lists(st.lists(st.one_of(_value, st.sampled_from(['"', '""', 'a"b', '\n', ','])), max_size=4), max_size=8))
def test_random_valid_looking_csvs(rows):
    text = "Finding key,Owner,Status\n" + "\n".join(",".join(r) for r in rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "plan.csv"
        path.write_text(text, encoding="utf-8")
        _problems_or_clean(path)


_json = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2, 10**25), st.text(max_size=12)),
                     lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=3)), max_leaves=8)
_client = st.fixed_dictionaries({"slug": st.one_of(st.sampled_from(["first-example-bank", "../x", "a/b", "", "ok-1"]),
                                                    _json),
                                 "status": st.one_of(st.sampled_from(["ok", "failed", "skipped"]), _json)},
                                optional={"error": _json, "warnings": _json, "note": _json, "mfa_registered_pct": _json})
_shard = st.fixed_dictionaries({"period": st.one_of(st.just("2026-11"), _json),
                                "shard": st.one_of(st.fixed_dictionaries({"index": st.one_of(st.just(1), _json),
                                                                          "count": st.one_of(st.just(2), _json)}), _json),
                                "clients": st.one_of(st.lists(_client, max_size=3), _json)},
                               optional={"duration_seconds": _json, "interrupted": _json, "selection": _json,
                                         "finished_at": _json})


@SETTINGS
@given(st.one_of(_shard, _json, st.binary(max_size=200)), st.one_of(_shard, _json))
def test_random_shard_files_are_a_message_or_a_merge(first, second):
    with tempfile.TemporaryDirectory() as d:
        period = Path(d) / "2026-11"
        period.mkdir()
        for i, doc in ((1, first), (2, second)):
            raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
            (period / f"batch.{i}-of-2.json").write_bytes(raw)
            try:
                shard_file(period / f"batch.{i}-of-2.json")
            except ReadBackError as e:
                assert "\n" not in str(e)
        try:
            merged = merge(period)
        except MergeError as e:
            assert "\n" not in str(e) and "\x1b" not in str(e)
            return
        assert all("\x1b" not in p for p in merged.problems)
