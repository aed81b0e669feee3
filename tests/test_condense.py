"""Long lists stay out of the printed report: identical details collapse into one counted row, and
no list prints more than ten rows (the rest are counted and left to the workbook)."""
from __future__ import annotations

from dataclasses import dataclass

from reportgen.render.condense import PRINT_ROWS, group_affected, link_text


@dataclass
class A:
    upn: str
    display_name: str
    detail: str
    exception: str | None = None


def test_identical_details_collapse_into_one_counted_row():
    rows = [A(f"u{i}@x.example", f"U {i}", "CA03 is switched off") for i in range(25)]
    g = group_affected(rows, str)
    assert len(g["rows"]) == 1 and g["rows"][0]["count"] == 25 and g["collapsed"]
    assert [n["upn"] for n in g["rows"][0]["names"]] == ["u0@x.example", "u1@x.example", "u2@x.example"]
    assert g["rows"][0]["names_more"] == 22 and g["more"] == 0


def test_a_role_prefix_is_kept_per_name_when_the_rest_is_shared():
    rows = [A("a@x", "A", "Global Administrator: not required to use MFA for all apps"),
            A("b@x", "B", "Helpdesk Administrator: not required to use MFA for all apps"),
            A("c@x", "C", "methods: none")]
    g = group_affected(rows, str)
    assert [r["count"] for r in g["rows"]] == [2, 1]
    assert g["rows"][0]["detail"] == "not required to use MFA for all apps"
    assert [n["note"] for n in g["rows"][0]["names"]] == ["Global Administrator", "Helpdesk Administrator"]
    assert g["rows"][1]["detail"] == "methods: none"


def test_an_exception_keeps_its_subjects_apart():
    rows = [A("a@x", "A", "same"), A("b@x", "B", "same", exception="EXC-1"), A("c@x", "C", "same")]
    g = group_affected(rows, str)
    assert [(r["count"], r["exception"]) for r in g["rows"]] == [(2, None), (1, "EXC-1")]


def test_no_more_than_ten_rows_print_and_the_rest_are_counted():
    rows = [A(f"u{i}@x", "U", f"detail {i}") for i in range(14)] + [A("v@x", "V", "detail 13")]
    g = group_affected(rows, str)
    assert len(g["rows"]) == PRINT_ROWS == 10
    assert g["more"] == 5          # four single rows and the two-subject row beyond the tenth


def test_a_bare_url_reads_as_site_and_page():
    assert link_text("https://learn.microsoft.com/entra/identity/policy-block-legacy-authentication") == \
        "learn.microsoft.com: policy-block-legacy-authentication"
    assert link_text("CIS 5.2.2.1") == "CIS 5.2.2.1"
