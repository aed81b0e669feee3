"""What the shipped catalogs say, as an examiner reads it: benchmark wording as published, NCUA's
appendix as guidelines, remediation that agrees with itself, controls never plainly met on partial
evidence, and each institution type's words kept to that type."""
from __future__ import annotations

from reportgen.checks import check_ids
from reportgen.controls import evaluate_controls, frameworks_for, load_catalogs
from reportgen.results import CheckResult


def _text(value) -> str:
    return f"{value.before} {value.after}" if hasattr(value, "after") else str(value)


def test_scuba_3_2_carries_the_v2_wording():
    c = {x.id: x for x in load_catalogs().framework("cisa-scuba-aad").controls}["MS.AAD.3.2v2"]
    assert _text(c.requirement) == "MFA SHALL be enforced for all users."
    assert "alternative" not in (c.title + _text(c.requirement)).lower()


def test_ncua_appendix_a_is_guidelines_and_its_proposed_removal_is_explained():
    fw = load_catalogs().framework("ncua-748")
    assert fw.binding == "guidance" and fw.status == "proposed_removal"
    note = _text(fw.note)
    assert "proposed moving these guidelines" in note and note.count(". ") == 0   # one plain sentence


# What the v2 catalog said, against Microsoft's emergency-access guidance (checks.md v3): exclude them.
OLD_EMERGENCY_ADVICE = ("emergency access accounts included", "remove the account (or the group or role that carries it)",
                        "must not be excluded from mfa", "no longer recommends the exclusion",
                        "advises against excluding", "once common advice")


def _catalog_texts():
    """Every sentence a client can read from the shipped catalogs (all YAML files, as text)."""
    from reportgen.paths import CATALOG_DIR
    for path in sorted(CATALOG_DIR.glob("*.yaml")):
        yield path.name, " ".join(path.read_text(encoding="utf-8").lower().split())


def test_no_catalog_text_advises_removing_emergency_access_exclusions():
    for name, text in _catalog_texts():
        for old in OLD_EMERGENCY_ADVICE:
            assert old not in text, (name, old)
    meta = load_catalogs().check_meta
    mfa01 = " ".join(_text(meta["MFA-01"].remediation).split())
    assert "keep only the designated emergency access accounts" in mfa01 and "as Microsoft advises" in mfa01
    assert "Microsoft advises excluding emergency access accounts" in " ".join(_text(meta["EA-04"].rationale).split())


def test_ea04_describes_inexact_exclusions_and_keeps_the_accounts_excluded():
    meta = load_catalogs().check_meta["EA-04"]
    title, fix = meta.title.lower(), " ".join(_text(meta.remediation).split())
    assert "reach other users" in title and "emergency-grade method" in title
    assert "Keep the emergency access accounts excluded, as Microsoft advises" in fix
    assert "a group that holds only them" in fix and "FIDO2 security key" in fix
    for wrong in ("remove the emergency", "stop excluding", "include the emergency access accounts"):
        assert wrong not in fix.lower(), wrong


def test_mfa01_remediation_never_advises_keeping_other_exclusions():
    meta = load_catalogs().check_meta
    for cid in ("MFA-01", "MMFA-01", "MFA-05", "MFA-10"):
        text = _text(meta[cid].remediation).lower()
        assert "exclude nobody" not in text and "keep emergency access accounts excluded only" not in text, cid


def test_timeline_claims_no_more_than_microsoft_says():
    for name, text in _catalog_texts():
        for claim in ("no further extension", "enforced for every tenant", "applies to every tenant",
                      "reached every tenant", "enforces mfa there for every tenant"):
            assert claim not in text, (name, claim)


def test_a_control_evidenced_only_in_part_is_never_plainly_met():
    catalogs = load_catalogs()
    passed = [CheckResult(id=c, title=c, severity="high", status="pass", reason="r") for c in check_ids()]
    for itype in ("bank", "credit_union", "nonbank"):
        controls = {f"{c.framework} {c.id}": c for c in evaluate_controls(frameworks_for(catalogs, itype), passed)}
        monitoring = {"bank": "glba-interagency III.C.1.f", "credit_union": "ncua-748 III.C.1.f",
                      "nonbank": "glba-ftc 314.4(c)(8)"}[itype]
        assert getattr(controls[monitoring], "coverage", None) == "partial"
        assert controls[monitoring].to_json()["coverage"] == "partial"
        from reportgen.vocab import control_label
        assert control_label("met", "partial") == "Met for what this report tests; other evidence needed"


def test_no_check_text_shown_to_every_type_names_one_regulator():
    meta = load_catalogs().check_meta
    never = ["Safeguards Rule", "314.", "Qualified Individual", "16 CFR", "NCUA", "Interagency Guidelines", "Part 748"]
    for cid, m in meta.items():
        for text in (m.title, getattr(m, "pass_title", ""), m.rationale, m.remediation, *m.references):
            for word in never:
                assert word not in _text(text), (cid, word)


def test_regulations_show_status_in_words_that_claim_only_what_was_tested():
    from reportgen.vocab import control_label
    for binding in ("regulation", "guidelines", "guidance"):
        words = [control_label(s, cov, binding) for s in ("met", "partially_met", "not_met", "not_assessed")
                 for cov in ("full", "partial")]
        assert set(words) == {"No gap found in what this report tests", "Partly", "Gap found", "Not assessed"}
        assert not any(w in ("Met", "Not met") for w in words)
    assert control_label("met", "full", "benchmark") == "Met" and control_label("not_met", "full", "vendor") == "Not met"


def test_a_definition_is_cited_in_text_not_listed_as_a_control():
    catalogs = load_catalogs()
    ftc = catalogs.framework("glba-ftc")
    assert "314.2(k)" not in {c.id for c in ftc.controls}
    assert "314.2(k)" in _text({c.id: c for c in ftc.controls}["314.4(c)(5)"].requirement)
    assert catalogs.framework("glba-interagency").binding == "guidelines"
    from reportgen.vocab import BINDING_LABELS
    assert BINDING_LABELS["guidelines"] == "Guidelines"


def test_cis_controls_that_ask_for_conditional_access_say_so():
    cis = {c.id: c for c in load_catalogs().framework("cis-m365").controls}
    assert {cid for cid, c in cis.items() if c.requires == "conditional_access"} == {"5.2.2.1", "5.2.2.2", "5.2.2.3",
                                                                                      "5.2.2.5"}
    passed = [CheckResult(id=c, title=c, severity="high", status="pass", reason="r") for c in check_ids()]
    fw = [load_catalogs().framework("cis-m365")]
    on_sd = {c.id: c for c in evaluate_controls(fw, passed, security_defaults=True)}
    assert on_sd["5.2.2.2"].status == "partially_met" and "asks for a Conditional Access policy" in on_sd["5.2.2.2"].note
    assert on_sd["5.2.3.4"].status == "met"
    assert {c.id: c.status for c in evaluate_controls(fw, passed)}["5.2.2.2"] == "met"


def test_mmfa01_does_not_cite_a_cis_control_about_administrators():
    refs = " ".join(load_catalogs().check_meta["MMFA-01"].references)
    assert "5.2.2.1" not in refs
