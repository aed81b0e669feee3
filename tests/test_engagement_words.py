"""The board summary says who may see the records in words true of that regulator: a supervisor
examines them; the FTC, which holds no routine examinations, may request them."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from reportgen.render.engagement import records_for, regulator_name


def _data(itype: str, regulator: str | None = None):
    return SimpleNamespace(results=SimpleNamespace(client=SimpleNamespace(institution_type=itype, regulator=regulator)))


@pytest.mark.parametrize("itype, regulator, expected", [
    ("credit_union", None, "for examination by the National Credit Union Administration (NCUA)"),
    ("bank", "occ", "for examination by the Office of the Comptroller of the Currency (OCC)"),
    ("bank", "state", "for examination by the state financial regulator"),
    ("nonbank", None, "which the Federal Trade Commission (FTC) may request"),
])
def test_records_are_for_the_regulator_in_its_own_terms(itype, regulator, expected):
    assert records_for(_data(itype, regulator)) == expected


def test_a_bank_that_names_no_regulator_names_none():
    assert regulator_name(_data("bank")) == "" and records_for(_data("bank")) == ""


def test_the_demo_reports_say_so(demo_run):
    from pypdf import PdfReader

    def text(slug: str) -> str:
        pdf = next((demo_run / slug).glob("*.pdf"))
        return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(pdf).pages[:4])
    assert "which the Federal Trade Commission (FTC) may request" in text("summit-auto-finance")
    assert "examination by the Federal Trade Commission" not in text("summit-auto-finance")
    assert "for examination by the National Credit Union Administration (NCUA)" in text("harbor-federal-cu")
