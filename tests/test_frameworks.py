"""Frameworks per client (contracts v3): ``regulator:`` names a bank's one CFR appendix, ``frameworks:``
adds opt-in catalogs such as NYDFS 23 NYCRR 500.12; catalog fields the report shows are read."""
from __future__ import annotations

import dataclasses
import sys
import textwrap
from pathlib import Path

import pytest

from reportgen.cli.common import config_vocabulary
from reportgen.config import ConfigError, load_config
from reportgen.controls import CatalogError, evaluate_controls, frameworks_for, load_catalogs
from reportgen.paths import CATALOG_DIR
from reportgen.render.pdf import render_html
from reportgen.view import build_view

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample_report import sample_report_data  # noqa: E402


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs()


def _config(tmp_path: Path, client: str) -> Path:
    cfg = tmp_path / "reportgen.yaml"
    cfg.write_text("firm:\n  name: Test Partners\nclients:\n" + textwrap.indent(textwrap.dedent(client), "  "))
    return cfg


DEMO_BANK = """\
- slug: ny-bank
  name: NY Bank
  institution_type: {itype}
  source: demo
  demo_profile: ready
"""


def test_a_client_names_its_regulator_and_an_opt_in_framework(tmp_path):
    cfg = _config(tmp_path, DEMO_BANK.format(itype="bank") + "  regulator: occ\n  frameworks: [nydfs-500]\n")
    client = load_config(cfg, **config_vocabulary()).clients[0]
    assert (client.regulator, client.frameworks) == ("occ", ["nydfs-500"])


@pytest.mark.parametrize("extra, words", [
    ("  regulator: ncua\n", "regulator ncua does not regulate a bank"),
    ("  regulator: sec\n", "regulator"),
    ("  frameworks: [nydfs-501]\n", "unknown framework 'nydfs-501'"),
    ("  frameworks: [nydfs-500, nydfs-500]\n", "named twice"),
])
def test_a_wrong_framework_choice_is_a_one_line_error_naming_the_file(tmp_path, extra, words):
    cfg = _config(tmp_path, DEMO_BANK.format(itype="bank") + extra)
    with pytest.raises(ConfigError) as e:
        load_config(cfg, **config_vocabulary())
    assert any(words in p and str(cfg) in p for p in e.value.problems), e.value.problems


def test_the_institution_type_gives_the_default_and_opt_in_catalogs_need_naming(catalogs):
    for itype in ("bank", "credit_union", "nonbank"):
        default = [f.id for f in frameworks_for(catalogs, itype)]
        assert "nydfs-500" not in default
        chosen = [f.id for f in frameworks_for(catalogs, itype, ["nydfs-500"])]
        assert chosen == [f.id for f in catalogs.frameworks if f.id in set(default) | {"nydfs-500"}]
    with pytest.raises(ValueError, match="unknown framework 'zzz-99'"):
        frameworks_for(catalogs, "bank", ["zzz-99"])


def test_nydfs_500_12_has_its_own_citation_and_the_ciso_approves_exceptions(catalogs):
    fw = next(f for f in catalogs.frameworks if f.id == "nydfs-500")
    assert fw.opt_in and fw.binding == "regulation" and "23 NYCRR" in fw.name
    controls = {c.id: c for c in fw.controls}
    assert set(controls) == {"500.12(a)", "500.12(b)"}
    basis = controls["500.12(a)"].exception_basis
    assert "CISO" in basis and "Qualified Individual" not in basis
    assert controls["500.12(b)"].manual and controls["500.12(b)"].manual_evidence


def test_citations_live_in_the_catalogs_one_per_regulator(catalogs):
    cited = {(r, f.id) for f in catalogs.frameworks for r in f.citations}
    assert {("occ", "glba-interagency"), ("fdic", "glba-interagency"), ("frb", "glba-interagency"),
            ("ncua", "ncua-748"), ("ftc", "glba-ftc")} <= cited
    interagency = next(f for f in catalogs.frameworks if f.id == "glba-interagency")
    assert "Part 30, Appendix B" in interagency.citations["occ"]
    assert "Part 364, Appendix B" in interagency.citations["fdic"]
    assert "Part 208, Appendix D-2" in interagency.citations["frb"]


def test_a_citation_for_a_regulator_of_other_institutions_is_refused(tmp_path):
    folder = tmp_path / "catalogs"
    folder.mkdir()
    for f in CATALOG_DIR.glob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        if f.name == "ncua-748.yaml":
            text = text.replace("    ncua: ", "    occ: ")
        (folder / f.name).write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="citations.occ"):
        load_catalogs(folder)


def _report(catalogs, regulator, chosen=(), itype="bank"):
    data = sample_report_data(hostile=False)
    data.results.client = dataclasses.replace(data.results.client, institution_type=itype, regulator=regulator)
    data.frameworks = frameworks_for(catalogs, itype, chosen)
    data.results.controls = evaluate_controls(data.frameworks, data.results.checks)
    data.wording = None
    return data


def test_the_report_names_the_one_appendix_and_shows_what_it_does_not_test(catalogs):
    data = _report(catalogs, "fdic", ["nydfs-500"])
    view = build_view(data)
    by_id = {f.id: f for f in view.frameworks}
    assert "Part 364, Appendix B" in by_id["glba-interagency"].citation
    assert by_id["nydfs-500"].citation == ""
    nydfs = {c.id: c for c in by_id["nydfs-500"].controls}
    assert "CISO" in nydfs["500.12(a)"].exception_basis and nydfs["500.12(b)"].manual_evidence
    html = render_html(data)
    assert "Binds this institution:" in html and "12 CFR Part 364, Appendix B" in html
    assert "12 CFR Part 30, Appendix B" not in html
    assert "Evidence this report does not test:" in html and "The CISO&#39;s written approval" in html


def test_without_a_regulator_no_appendix_is_claimed(catalogs):
    html = render_html(_report(catalogs, None))
    assert "Binds this institution:" not in html
