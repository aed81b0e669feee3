"""A new check needs its function, its checks.yaml entry and its tests, and nothing else: the
registry finds it, checks.yaml names and orders it, and every output shows it."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from reportgen.checks import registry
from reportgen.checks.registry import Outcome, check
from reportgen.controls import load_catalogs
from reportgen.paths import CATALOG_DIR
from reportgen.vocab import Status
from reportgen.yamlsrc import CatalogError

NEW_ENTRY = """
  TEST-99:
    area: Test
    title: "A check added by a test has failed"
    pass_title: "A check added by a test"
    severity: low
    rationale: Proves that a new check needs no edit outside its module, its YAML and its tests.
    remediation: Nothing to do.
    references: ["none"]
"""


@pytest.fixture
def new_check():
    @check("TEST-99", reads=("users",))
    def every_user_has_a_name(ctx):
        nameless = [u for u in ctx.enabled if not u.display_name]
        return Outcome(Status.FAIL if nameless else Status.PASS, f"{len(nameless)} enabled users have no name.")
    yield every_user_has_a_name
    registry._REGISTRY.pop("TEST-99")


def _catalog_dir(tmp_path, with_entry: bool):
    d = tmp_path / "catalogs"
    shutil.copytree(CATALOG_DIR, d)
    if with_entry:
        text = (d / "checks.yaml").read_text(encoding="utf-8")
        (d / "checks.yaml").write_text(text.rstrip("\n") + "\n" + NEW_ENTRY, encoding="utf-8")
    return d


def test_a_registered_check_without_metadata_is_refused(tmp_path, new_check):
    with pytest.raises(CatalogError, match="TEST-99"):
        load_catalogs(_catalog_dir(tmp_path, with_entry=False))


def test_a_new_check_reaches_results_pdf_and_workbook(tmp_path, new_check):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    from reportgen.assess import ClientFacts, assess
    from reportgen.checks import Inputs
    from reportgen.collect import demo
    from reportgen.evidence import EvidenceWriter
    from reportgen.render import OUTPUTS, RenderOptions
    from reportgen.report import Firm

    catalogs = load_catalogs(_catalog_dir(tmp_path, with_entry=True))
    assert list(catalogs.check_meta)[-1] == "TEST-99"          # its place in checks.yaml is its place in the report
    when = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    tenant = demo.build_tenant("ready", "test-bank", "2026-11")
    demo.write_evidence(tenant, EvidenceWriter(tmp_path / "c" / "evidence"), lookback_days=30, collected_at=when)
    data = assess(tmp_path / "c" / "evidence",
                  ClientFacts(slug="test-bank", name="Test Bank", tenant_id="", institution_type="bank", exceptions=()),
                  Inputs(), catalogs, Firm("Firm", None, "#0B3D91", "#F2A900", "", ""), "2026-11")
    result = data.results.check("TEST-99")
    assert result is not None and result.status == "pass" and result.title == "A check added by a test"
    assert [e.dataset for e in result.evidence] == ["users"] and result.evidence[0].pages
    assert data.results.to_json()["checks"][-1]["id"] == "TEST-99"
    for out in OUTPUTS:
        out.render(data, tmp_path / out.filename("test-bank", "2026-11"), RenderOptions())
    text = " ".join(p.extract_text() or "" for p in PdfReader(tmp_path / "test-bank-2026-11-mfa-compliance.pdf").pages)
    assert "TEST-99" in text and "A check added by a test" in " ".join(text.split())
    checks = load_workbook(tmp_path / "test-bank-2026-11-mfa-compliance.xlsx")["Checks"]
    assert "TEST-99" in [row[0] for row in checks.iter_rows(values_only=True)]


def test_every_check_declares_what_it_reads():
    from reportgen.evidence import DATASETS
    for cid, d in registry.registered().items():
        assert set(d.reads) <= set(DATASETS), cid
        assert d.func.__name__ not in ("check", "run") and "_" in d.func.__name__, cid   # named for what it verifies
