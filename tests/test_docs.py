"""The documentation a maintainer reads is generated from the code and catalogs, and kept fresh."""
from __future__ import annotations

from reportgen import docgen


def test_checks_doc_is_current():
    assert docgen.main(["--check"]) == 0, "docs/checks.md is stale: run python -m reportgen.docgen"


def test_checks_doc_names_every_check_and_what_it_reads():
    from reportgen.checks import check_ids, registered
    text = docgen.DOC.read_text(encoding="utf-8")
    for cid in check_ids():
        assert f"## {cid}" in text
        assert registered()[cid].func.__name__ in text
