"""Every check of every demo report is shown exactly once with its result: as a finding, beside
Microsoft's announcements in the walkthrough, or in the table of the other checks; the table never
repeats what the walkthrough already says."""
from __future__ import annotations

import json
import re
import subprocess

import lxml.html
import pytest

DEMO_CLIENTS = ["first-example-bank", "harbor-federal-cu", "lakeshore-community-bank", "prairie-home-lending",
                "summit-auto-finance"]
FINDING_STATUSES = {"fail", "warn", "excepted"}


def _shown(html_path) -> dict[str, list[str]]:
    doc = lxml.html.fromstring(html_path.read_bytes())
    walk = doc.xpath("//table[contains(@class, 'walk')]")[0]
    return {
        "findings": [d.get("id") for d in doc.xpath("//div[contains(concat(' ', @class, ' '), ' finding ')]")],
        "walkthrough": [b.text_content().strip() for b in walk.xpath(".//td[@class='you']/p/b")],
        "table": [r.xpath("./td")[0].text_content().strip() for r in doc.xpath("//table[contains(@class, 'checks')]/tbody/tr")],
    }


@pytest.mark.parametrize("slug", DEMO_CLIENTS)
def test_each_check_is_shown_once_with_its_result(demo_run, slug):
    folder = demo_run / slug
    checks = json.loads((folder / "results.json").read_text())["checks"]
    shown = _shown(next(folder.glob("*-mfa-compliance.html")))
    findings = {c["id"] for c in checks if c["status"] in FINDING_STATUSES}
    walked = set(shown["walkthrough"])
    assert walked, "the walkthrough shows Microsoft's checks"
    table = shown["table"]
    assert len(table) == len(set(table))
    assert not set(table) & walked, "a check the walkthrough shows is not repeated in the table"
    assert not set(table) & findings, "a finding is not repeated in the table"
    # nothing is left out: every check is a finding, in the walkthrough or in the table
    assert {c["id"] for c in checks} == findings | walked | set(table)
    # the finding anchors name the findings
    assert len(shown["findings"]) == len(findings)


@pytest.mark.parametrize("slug", DEMO_CLIENTS)
def test_the_pdf_lists_the_same_other_checks_as_the_html(demo_run, slug):
    folder = demo_run / slug
    table = _shown(next(folder.glob("*-mfa-compliance.html")))["table"]
    text = subprocess.run(["pdftotext", "-layout", str(next(folder.glob("*-mfa-compliance.pdf"))), "-"],
                          capture_output=True, text=True, check=True).stdout
    heading = re.search(r"^(Checks without a finding|All checks)\s*$", text, re.M)
    assert heading, "the table of other checks has its heading"
    section = text[heading.end():text.index("\nControl matrix", heading.end())]
    assert re.findall(r"^\s{0,3}([A-Z]+-\d{2})\s", section, re.M) == table
