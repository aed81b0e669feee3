"""The FIDO2 AAGUID lists and the MFA-required sign-in errors are data in microsoft-facts.yaml, with
their sources; the loader refuses a list that contradicts itself, naming file and line."""
from __future__ import annotations

import shutil

import pytest

from reportgen.facts import FACTS, FACTS_FILE, load_facts
from reportgen.paths import CATALOG_DIR
from reportgen.yamlsrc import CatalogError


def test_kinds_by_aaguid():
    assert FACTS.fido2_kind("2FC0579F-8113-47EA-B116-BB5A8DB9202A") == ("hardware", "YubiKey 5 Series with NFC")
    assert FACTS.fido2_kind("fbfc3007-154e-4ecc-8c0b-6e020557d7bd")[0] == "synced"
    assert FACTS.fido2_kind("08987058-cadc-4b81-b6e1-30de50dcbe96")[0] == "windows_hello"
    assert FACTS.fido2_kind("90a3ccdf-635c-4729-a248-9b709135078f")[0] == "authenticator"
    assert FACTS.fido2_kind("00000000-0000-0000-0000-000000000000") == ("unknown", "")
    assert FACTS.fido2_kind(None) == ("unknown", "")
    assert FACTS.mfa_required_errors == frozenset({50074, 50076, 50079})


def test_each_list_names_its_source():
    text = (CATALOG_DIR / FACTS_FILE).read_text(encoding="utf-8")
    for section in ("providers:", "hardware_keys:", "sign_in_errors:"):
        after = text[text.index(section):]
        assert "source:" in after[:400] and "checked:" in after[:600], section


@pytest.mark.parametrize("edit,expect", [
    (("- {aaguid: fbfc3007-154e-4ecc-8c0b-6e020557d7bd, name: iCloud Keychain}",
      "- {aaguid: 2fc0579f-8113-47ea-b116-bb5a8db9202a, name: iCloud Keychain}"), "listed as hardware and as synced"),
    (("- {aaguid: d8522d9f-575b-4866-88a9-ba99fa02f35b, name: YubiKey Bio Series}",
      "- {aaguid: not-a-guid, name: YubiKey Bio Series}"), "must be a GUID"),
    (("- {code: 50079,", "- {code: fifty,"), "code must be a number"),
])
def test_a_contradictory_list_is_refused_with_file_and_line(tmp_path, edit, expect):
    p = tmp_path / FACTS_FILE
    shutil.copy(CATALOG_DIR / FACTS_FILE, p)
    text = p.read_text(encoding="utf-8")
    assert text.count(edit[0]) == 1
    p.write_text(text.replace(edit[0], edit[1]), encoding="utf-8")
    with pytest.raises(CatalogError) as ei:
        load_facts(p)
    line = next(i for i, t in enumerate(p.read_text().splitlines(), 1) if edit[1] in t)
    assert expect in str(ei.value) and ei.value.line == line, (str(ei.value), line)


@pytest.mark.parametrize("case,grade,shown", [
    ("break-glass-synced-passkey-icloud", False, "passKeySynced"),
    ("break-glass-windows-hello-passkey", False, "passKeyDeviceBoundWindowsHello"),
    ("break-glass-unknown-aaguid", None, "fido2SecurityKey"),
    ("break-glass-yubikey-by-aaguid", True, "fido2SecurityKey"),
])
def test_the_emergency_access_table_agrees_with_ea02(tmp_path, case, grade, shown):
    from reportgen.checks import Context, Inputs
    from reportgen.tables import Tables
    from tests.verdicts import evaluate
    c, posture, *_ = evaluate(case, tmp_path)
    rows = {r.upn: r for r in Tables(Context(posture, Inputs(**c["inputs"]))).emergency()}
    row = rows["bg-02@crafted.onmicrosoft.com"]
    assert row.phishing_resistant is grade and row.methods == [shown]
