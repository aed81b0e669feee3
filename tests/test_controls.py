"""Control catalogs: shipped files load, mappings are complete, bad files are refused with
file:line, and check statuses roll up to control statuses as docs/checks.md says."""
from __future__ import annotations

import itertools
import shutil
import textwrap
from pathlib import Path

import pytest

from reportgen.checks import check_ids, registered
from reportgen.controls import (
    INSTITUTION_TYPES,
    NOT_FRAMEWORKS,
    CatalogError,
    Catalogs,
    control_status,
    evaluate_controls,
    frameworks_for,
    load_catalogs,
)
from reportgen.paths import CATALOG_DIR
from reportgen.results import CheckResult
from reportgen.yamlsrc import YamlError, load_yaml, load_yaml_text

CHECK_IDS = check_ids()
REGULATORS = {"bank": {"glba-interagency", "ffiec-auth-2021"},
              "credit_union": {"ncua-748", "ffiec-auth-2021"},
              "nonbank": {"glba-ftc"}}
FOR_ALL = {"ms-mandatory-mfa", "nist-csf-2", "cis-controls-8.1", "cis-m365", "cisa-scuba-aad"}
FILES = {"ms-mandatory-mfa": "microsoft-mandatory-mfa.yaml", "glba-ftc": "glba-ftc.yaml",
         "glba-interagency": "glba-interagency.yaml", "ncua-748": "ncua-748.yaml",
         "ffiec-auth-2021": "ffiec-2021.yaml", "nist-csf-2": "nist-csf-2.yaml",
         "cis-controls-8.1": "cis-controls-8.1.yaml", "cis-m365": "cis-m365.yaml",
         "cisa-scuba-aad": "cisa-scuba-aad.yaml"}


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return load_catalogs()


# --------------------------------------------------------------------------- shipped catalogs

def test_shipped_catalogs_load(catalogs):
    # every catalog file is a framework (a new one needs no entry here); the shipped ones keep their ids
    assert sorted(f.path.name for f in catalogs.frameworks) == sorted(
        p.name for p in CATALOG_DIR.glob("*.yaml") if p.name not in NOT_FRAMEWORKS)
    assert FILES.items() <= {f.id: f.path.name for f in catalogs.frameworks}.items()
    assert list(catalogs.check_meta) == list(CHECK_IDS)
    assert len(CHECK_IDS) == len(registered())
    for meta in catalogs.check_meta.values():
        assert meta.severity in {"critical", "high", "medium", "low", "info"}
        assert meta.title and meta.rationale and meta.remediation and meta.references


def test_check_ids_match_the_engine():
    # every implemented check is described in checks.yaml, and nothing else is
    assert set(registered()) == set(CHECK_IDS)


def test_examiner_severities(catalogs):
    sev = {cid: m.severity for cid, m in catalogs.check_meta.items()}
    for cid in ("EA-04", "MFA-01", "MMFA-02", "MFA-03"):
        assert sev[cid] == "critical", cid


def test_every_check_is_referenced_by_a_control(catalogs):
    referenced = {c for f in catalogs.frameworks for ctl in f.controls for c in ctl.checks}
    assert referenced == set(CHECK_IDS)


def test_framework_order_is_stable(catalogs):
    ids = [f.id for f in catalogs.frameworks]
    assert ids[0] == "ms-mandatory-mfa"
    bindings = [f.binding for f in catalogs.frameworks]
    assert bindings == sorted(bindings, key=["vendor", "regulation", "guidelines", "guidance", "benchmark"].index)
    assert ids == [f.id for f in load_catalogs().frameworks]


@pytest.mark.parametrize("itype", INSTITUTION_TYPES)
def test_each_institution_type_selects_its_regulator(catalogs, itype):
    chosen = {f.id for f in frameworks_for(catalogs, itype)}
    regulators = {"glba-interagency", "ffiec-auth-2021", "ncua-748", "glba-ftc"}
    assert chosen & regulators == REGULATORS[itype]
    assert FOR_ALL <= chosen
    assert chosen == REGULATORS[itype] | FOR_ALL


def test_unknown_institution_type(catalogs):
    with pytest.raises(ValueError):
        frameworks_for(catalogs, "thrift")


def test_key_mappings(catalogs):
    ftc = {c.id: c for c in catalogs.framework("glba-ftc").controls}
    c5 = ftc["314.4(c)(5)"]
    assert {"MFA-01", "MFA-02", "MFA-03", "MMFA-02"} <= set(c5.checks)
    assert c5.admits_exceptions and c5.exception_basis
    assert ftc["314.4(c)(8)"].checks == ("LOG-01",)
    for manual in ("314.4(a)", "314.4(d)(1)-(2)", "314.4(i)", "314.6"):
        assert ftc[manual].manual and ftc[manual].checks == () and ftc[manual].manual_evidence
    assert {("glba-ftc", "314.4(c)(5)"), ("nydfs-500", "500.12(a)")} <= {
        (f.id, c.id) for f in catalogs.frameworks for c in f.controls if c.admits_exceptions}
    ids = {f.id: [c.id for c in f.controls] for f in catalogs.frameworks}
    assert ids["glba-interagency"] == ["III.C.1.a", "III.C.1.f", "III.C.3", "III.F"]
    assert {"III.C.1.a", "III.C.1.f", "III.F"} <= set(ids["ncua-748"])
    assert ids["nist-csf-2"] == ["PR.AA-01", "PR.AA-03", "PR.AA-05"]
    assert ids["cis-controls-8.1"] == ["6.3", "6.4", "6.5"]
    assert all(i.startswith("MS.AAD.") and "v" in i.rsplit(".", 1)[1] for i in ids["cisa-scuba-aad"])
    ncua = catalogs.framework("ncua-748")
    assert ncua.status == "proposed_removal" and "3133-AF76" in ncua.note and ncua.binding == "guidance"
    scuba = {c.id: c for c in catalogs.framework("cisa-scuba-aad").controls}
    assert scuba["MS.AAD.3.2v2"].requirement == "MFA SHALL be enforced for all users."
    assert "alternative" not in scuba["MS.AAD.3.2v2"].title.lower()
    assert catalogs.framework("cis-m365").version == "6.0.0"


def test_versions_for_manifest(catalogs):
    versions = catalogs.versions()
    assert [v["id"] for v in versions] == [f.id for f in catalogs.frameworks] + ["checks", "microsoft-facts",
                                                                                  "institution-wording"]
    for v in versions:
        assert set(v) == {"id", "version", "sha256"} and len(v["sha256"]) == 64 and v["version"]


# --------------------------------------------------------------------------- refused catalogs

@pytest.fixture
def catdir(tmp_path) -> Path:
    d = tmp_path / "catalogs"
    d.mkdir()
    for name in ("checks.yaml", "institution-wording.yaml", "microsoft-facts.yaml", "microsoft-mandatory-mfa.yaml"):
        shutil.copy(CATALOG_DIR / name, d / name)   # checks.yaml names timeline entries of the last one
    return d


GOOD = """\
framework:
  id: test-fw
  name: Test framework
  version: "1"
  as_of: 2026-01-01
  binding: regulation
  status: active
  source_url: https://example.com/
  applies_to: [bank]
controls:
  - id: A.1
    title: First
    requirement: Do the thing.
    checks:
      full: [MFA-01]
  - id: A.2
    title: Second
    requirement: Do the other thing.
    checks:
      full: [MFA-02]
      partial: [LOG-01]
"""


def _write(d: Path, text: str, name: str = "test.yaml") -> Path:
    p = d / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def _refused(d: Path, **kw) -> CatalogError:
    with pytest.raises(CatalogError) as ei:
        load_catalogs(d, **kw)
    return ei.value


def test_good_tmp_catalog_loads(catdir):
    _write(catdir, GOOD)
    cats = load_catalogs(catdir)
    fw = cats.framework("test-fw")
    assert fw.as_of == "2026-01-01" and fw.applies_to == ("bank",)
    assert [c.checks for c in fw.controls] == [("MFA-01",), ("MFA-02", "LOG-01")]
    assert [c.coverage for c in fw.controls] == [{"MFA-01": "full"}, {"MFA-02": "full", "LOG-01": "partial"}]


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[nth - 1]


@pytest.mark.parametrize("mutate, needle, nth, words", [
    # malformed YAML (unclosed flow sequence)
    (lambda t: t.replace("partial: [LOG-01]", "partial: [LOG-01\n    bad: x"), "bad: x", 1, "malformed"),
    # duplicate key
    (lambda t: t.replace("    title: Second\n", "    title: Second\n    title: Again\n"), "title: Again", 1, "duplicate key"),
    # unknown check id
    (lambda t: t.replace("[LOG-01]", "[ZZZ-99]"), "ZZZ-99", 1, "unknown check id 'ZZZ-99'"),
    (lambda t: t.replace("partial: [LOG-01]", "partial: [MFA-02]"), "partial: [MFA-02]", 1, "listed twice"),
    (lambda t: t.replace("partial: [LOG-01]", "most: [LOG-01]"), "most: [LOG-01]", 1, "unknown key 'most'"),
    # bad enums
    (lambda t: t.replace("binding: regulation", "binding: law"), "binding: law", 1, "framework.binding"),
    (lambda t: t.replace("status: active", "status: repealed"), "status: repealed", 1, "framework.status"),
    (lambda t: t.replace("applies_to: [bank]", "applies_to: [bank, thrift]"), "applies_to", 1, "thrift"),
    # duplicate control id
    (lambda t: t.replace("id: A.2", "id: A.1"), "id: A.1", 2, "duplicate control id"),
    # missing required field
    (lambda t: t.replace("    requirement: Do the other thing.\n", ""), "id: A.2", 1, "missing required key 'requirement'"),
    # wrong types
    (lambda t: t.replace("checks:\n      full: [MFA-01]", "checks: [MFA-01]"), "checks: [MFA-01]", 1,
     "how far each check evidences the control"),
    (lambda t: t.replace("full: [MFA-01]", "full: MFA-01"), "full: MFA-01", 1, "must be a list"),
    # a regulator's words in a framework shown to an institution type that must never see them
    (lambda t: t.replace("Do the thing.", "Approved by the Qualified Individual."), "Qualified Individual", 1,
     "'Qualified Individual'"),
    (lambda t: t.replace("title: First", "title: [First]"), "title: [First]", 1, "must be text"),
    (lambda t: t.replace("as_of: 2026-01-01", "as_of: soon"), "as_of", 1, "as_of"),
    (lambda t: t.replace("id: A.1", "id: 6.3"), "id: 6.3", 1, "quoted"),
    # unknown key (a typo must not be silently ignored)
    (lambda t: t.replace("      full: [MFA-01]\n", "      full: [MFA-01]\n    admit_exceptions: true\n"),
     "admit_exceptions", 1, "unknown key 'admit_exceptions'"),
    # manual control without evidence / with checks
    (lambda t: t.replace("    checks:\n      full: [MFA-01]\n", "    checks: []\n    manual: true\n"), "id: A.1", 1,
     "manual_evidence"),
    (lambda t: t.replace("    checks:\n      full: [MFA-01]\n", "    checks: []\n"), "checks: []", 1, "no checks"),
])
def test_bad_framework_is_refused_with_file_and_line(catdir, mutate, needle, nth, words):
    text = mutate(GOOD)
    path = _write(catdir, text)
    err = _refused(catdir)
    assert err.path == path
    assert err.line == _line_of(text, needle, nth), str(err)
    assert str(err).startswith(f"{path}:{err.line}: ")
    assert words in str(err)


def test_bad_severity_in_checks_yaml(catdir):
    p = catdir / "checks.yaml"
    text = p.read_text().replace("severity: critical", "severity: severe", 1)
    p.write_text(text)
    _write(catdir, GOOD)
    err = _refused(catdir)
    assert err.path == p and err.line == _line_of(text, "severity: severe")
    assert "severe" in str(err)


def test_checks_yaml_must_have_exactly_the_21_ids(catdir):
    p = catdir / "checks.yaml"
    original = p.read_text()
    _write(catdir, GOOD)
    # an extra id
    p.write_text(original.replace("  LOG-01:", "  ZZZ-98:\n    title: x\n    severity: low\n    rationale: x\n"
                                               "    remediation: x\n    references: [x]\n  LOG-01:"))
    err = _refused(catdir)
    assert err.path == p and "ZZZ-98" in str(err)
    assert err.line == _line_of(p.read_text(), "ZZZ-98:")
    # a missing id
    lines = original.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("  LOG-01:"))
    p.write_text("".join(lines[:start]))
    err = _refused(catdir)
    assert err.path == p and "missing from checks.yaml: LOG-01" in str(err)
    assert err.line == _line_of(original, "checks:")


def test_engine_check_missing_from_checks_yaml(catdir):
    _write(catdir, GOOD)
    err = _refused(catdir, implemented=set(CHECK_IDS) | {"ZZZ-99"})
    assert err.path == catdir / "checks.yaml" and "ZZZ-99" in str(err)


def test_control_must_map_to_a_check_the_engine_knows(catdir):
    _write(catdir, GOOD)
    checks_yaml = catdir / "checks.yaml"
    text = checks_yaml.read_text()
    start = text.index("  LOG-01:")
    checks_yaml.write_text(text[:start])
    (catdir / "microsoft-mandatory-mfa.yaml").unlink()
    cats_err = _refused(catdir, implemented=set(CHECK_IDS) - {"LOG-01"})
    assert cats_err.path == catdir / "test.yaml" and "LOG-01" in str(cats_err)
    assert cats_err.line == _line_of(GOOD, "partial: [LOG-01]")


def test_duplicate_framework_id_across_files(catdir):
    _write(catdir, GOOD, "a.yaml")
    _write(catdir, GOOD, "b.yaml")
    err = _refused(catdir)
    assert err.path.name == "b.yaml" and err.line == _line_of(GOOD, "id: test-fw") and "a.yaml" in str(err)


def test_malformed_checks_yaml(catdir):
    p = catdir / "checks.yaml"
    p.write_text("version: '1'\nchecks:\n  MMFA-01: {title: x\n")
    err = _refused(catdir)
    assert err.path == p and err.line in (3, 4) and "malformed" in str(err)


def test_missing_directory_and_files(tmp_path, catdir):
    assert "not found" in str(_refused(tmp_path / "nope"))
    (catdir / "checks.yaml").unlink()
    assert "checks.yaml" in str(_refused(catdir))


# --------------------------------------------------------------------------- yamlsrc

def test_yamlsrc_lines_and_duplicates(tmp_path):
    data, lines = load_yaml_text("a: 1\nb:\n  - x: 2\n    y: [1, 2]\n  - z\n", "f.yaml")
    assert data == {"a": 1, "b": [{"x": 2, "y": [1, 2]}, "z"]}
    assert lines.line_of(("b", 0, "y")) == 4 and lines.line_of(("b", 1)) == 5
    assert lines.line_of(("b", 0, "missing")) == 3   # nearest ancestor
    assert lines.line_of(()) == 1
    with pytest.raises(YamlError) as ei:
        load_yaml_text("a:\n  b: 1\n  c: 2\n  b: 3\n", "f.yaml")
    assert str(ei.value).startswith("f.yaml:4: duplicate key 'b'")
    with pytest.raises(YamlError) as ei:
        load_yaml(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(ei.value)


# --------------------------------------------------------------------------- roll-up

def _r(cid: str, status: str) -> CheckResult:
    return CheckResult(id=cid, title=cid, severity="high", status=status, reason="r")


@pytest.mark.parametrize("statuses, expected", [
    (["pass"], "met"),
    (["excepted"], "met"),
    (["pass", "excepted"], "met"),
    (["pass", "warn"], "partially_met"),
    (["warn", "excepted"], "partially_met"),
    (["pass", "fail"], "not_met"),
    (["warn", "fail"], "not_met"),
    (["excepted", "fail"], "not_met"),
    (["fail", "not_evaluated"], "not_met"),      # a failure stays visible despite missing evidence
    (["fail", "manual"], "not_met"),
    (["pass", "not_evaluated"], "not_assessed"),
    (["pass", "manual"], "not_assessed"),
    (["warn", "not_evaluated"], "not_assessed"),  # never 'partially met' on evidence not collected
    (["excepted", "manual"], "not_assessed"),
    ([], "not_assessed"),                         # manual control
])
def test_roll_up(statuses, expected):
    assert control_status(statuses) == expected


def test_roll_up_every_combination_is_consistent():
    all_st = ["pass", "fail", "warn", "excepted", "not_evaluated", "manual"]
    for n in (1, 2, 3):
        for combo in itertools.product(all_st, repeat=n):
            got = control_status(list(combo))
            s = set(combo)
            if "fail" in s:
                assert got == "not_met"
            elif s & {"not_evaluated", "manual"}:
                assert got == "not_assessed"
            elif "warn" in s:
                assert got == "partially_met"
            else:
                assert got == "met"


def test_roll_up_rejects_unknown_status():
    with pytest.raises(ValueError):
        control_status(["passed"])


def test_evaluate_controls_output_shape(catdir):
    _write(catdir, GOOD)
    _write(catdir, GOOD.replace("id: test-fw", "id: other-fw").replace("binding: regulation", "binding: benchmark")
           .replace("  - id: A.2", "  - id: M.1\n    title: Board\n    requirement: Report.\n    checks: []\n"
                    "    manual: true\n    manual_evidence: The report.\n  - id: A.2"), "other.yaml")
    cats = load_catalogs(catdir)
    frameworks = [f for f in cats.frameworks if f.id != "ms-mandatory-mfa"]
    results = [_r("MFA-01", "pass"), _r("MFA-02", "warn"), _r("LOG-01", "pass")]
    out = [c.to_json() for c in evaluate_controls(frameworks, results)]
    assert out == [
        {"framework": "test-fw", "id": "A.1", "title": "First", "status": "met", "coverage": "full",
         "checks": ["MFA-01"]},
        {"framework": "test-fw", "id": "A.2", "title": "Second", "status": "partially_met", "coverage": "full",
         "checks": ["MFA-02", "LOG-01"]},
        {"framework": "other-fw", "id": "A.1", "title": "First", "status": "met", "coverage": "full",
         "checks": ["MFA-01"]},
        {"framework": "other-fw", "id": "M.1", "title": "Board", "status": "not_assessed", "coverage": "full",
         "checks": []},
        {"framework": "other-fw", "id": "A.2", "title": "Second", "status": "partially_met", "coverage": "full",
         "checks": ["MFA-02", "LOG-01"]},
    ]
    # a check with no result is treated as not evaluated, never as passing
    out = [c.to_json() for c in evaluate_controls(frameworks, [_r("MFA-02", "pass")])]
    assert [c["status"] for c in out if c["framework"] == "test-fw"] == ["not_assessed", "not_assessed"]
    out = [c.to_json() for c in evaluate_controls(frameworks, [_r("MFA-02", "fail")])]
    assert [c["status"] for c in out if c["framework"] == "test-fw"] == ["not_assessed", "not_met"]


def test_evaluate_shipped_catalogs_all_pass(catalogs):
    results = [_r(c, "pass") for c in CHECK_IDS]
    for itype in INSTITUTION_TYPES:
        out = [c.to_json() for c in evaluate_controls(frameworks_for(catalogs, itype), results)]
        for entry in out:
            assert set(entry) == {"framework", "id", "title", "status", "coverage", "checks"}
            assert entry["status"] == ("not_assessed" if not entry["checks"] else "met")
    ftc = [e.to_json() for e in evaluate_controls(frameworks_for(catalogs, "nonbank"),
                                                  [_r(c, "excepted" if c == "MFA-02" else "pass") for c in CHECK_IDS])
           if e.framework == "glba-ftc" and e.id == "314.4(c)(5)"]
    assert ftc[0]["status"] == "met"


# --------------------------------------------------------------------------- facts and wording files

def test_role_template_ids_follow_microsofts_reference():
    from reportgen import model as m
    assert "e8cef6f1-e4bd-4ea8-bc07-4b8d950f4477" not in m.PRIVILEGED_ROLES          # Printer Technician
    assert m.PRIVILEGED_ROLES["0526716b-113d-4c15-b2c8-68e3c22b9f80"] == "Authentication Policy Administrator"
    assert m.PRIVILEGED_ROLES[m.GLOBAL_ADMIN] == "Global Administrator"


def test_bad_facts_file_is_refused_with_file_and_line(catdir):
    from reportgen.facts import load_facts
    p = catdir / "microsoft-facts.yaml"
    text = p.read_text().replace("id: 0526716b-113d-4c15-b2c8-68e3c22b9f80", "id: not-a-guid")
    p.write_text(text)
    with pytest.raises(CatalogError) as ei:
        load_facts(p)
    assert ei.value.path == p and ei.value.line == _line_of(text, "id: not-a-guid") and "GUID" in str(ei.value)
    _write(catdir, GOOD)
    assert _refused(catdir).path == p   # load_catalogs reads it too


def test_wording_file_refuses_a_type_using_its_own_forbidden_words(catdir):
    p = catdir / "institution-wording.yaml"
    p.write_text(p.read_text().replace('governing_rule: "Interagency Guidelines',
                                       'governing_rule: "FTC Safeguards Rule and Interagency Guidelines'))
    _write(catdir, GOOD)
    err = _refused(catdir)
    assert err.path == p and "never_show" in str(err)


def test_checks_yaml_refuses_regulator_words_shown_to_every_type(catdir):
    p = catdir / "checks.yaml"
    text = p.read_text().replace("is the foundation. Every exclusion", "is the foundation under 16 CFR 314.4(c)(5). Every exclusion")
    p.write_text(text)
    _write(catdir, GOOD)
    err = _refused(catdir)
    assert err.path == p and "regulatory:" in str(err) and "'314.'" in str(err)
    assert err.line == _line_of(text, "  MFA-01:") + 5   # the rationale key of MFA-01


def test_unknown_timeline_entry_is_refused(catdir):
    p = catdir / "checks.yaml"
    text = p.read_text().replace("{date:postponement-deadline} at the\n", "{date:phase-3} at the\n", 1)
    p.write_text(text)
    _write(catdir, GOOD)
    err = _refused(catdir)
    assert err.path == p and "unknown timeline entry 'phase-3'" in str(err)
