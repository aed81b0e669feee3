"""A bank, a credit union and a nonbank lender, run through the real batch (demo tenants, catalogs,
renderer): each PDF, read back with pypdf, names its own regulator and never another's, and speaks
of Microsoft's timeline relative to its collection date."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
firm:
  name: Example Security Partners
  contact: security@example.com
  disclaimer: Point-in-time assessment.
defaults:
  lookback_days: 30
clients:
  - slug: bank
    name: Example Bank
    institution_type: bank
    source: demo
    demo_profile: seed-problems
    emergency_access_accounts: [bg-01@examplebank.onmicrosoft.com, bg-02@examplebank.onmicrosoft.com]
    attestations: {phase2_postponed: true}
    exceptions:
      - {id: EXC-1, check: MFA-02, subject: svc-deploy@examplebank.example, approved_by: "J. Roe, CISO",
         approved_on: 2025-01-15, expires_on: 2027-01-15, compensating_control: "network isolation", reference: "memo 1"}
  - slug: credit-union
    name: Example Federal Credit Union
    institution_type: credit_union
    source: demo
    demo_profile: seed-problems
    emergency_access_accounts: [bg-01@examplefederalcre.onmicrosoft.com, bg-02@examplefederalcre.onmicrosoft.com]
    attestations: {phase2_postponed: true}
  - slug: lender
    name: Example Lending LLC
    institution_type: nonbank
    source: demo
    demo_profile: exceptions
    emergency_access_accounts: [bg-01@examplelendingllc.onmicrosoft.com, bg-02@examplelendingllc.onmicrosoft.com]
    attestations: {phase2_postponed: unknown}
    exceptions:
      - {id: EXC-2, check: MFA-01, subject: kiosk-01@examplelendingllc.example, approved_by: "D. Whit",
         approved_on: 2025-01-15, expires_on: 2027-01-15, compensating_control: "kiosk network", reference: "memo 2"}
"""

# what each type's report must never show (institution-wording.yaml says the same)
NEVER = {"bank": ["Safeguards Rule", "314.", "Qualified Individual", "16 CFR", "FTC"],
         "credit-union": ["Safeguards Rule", "314.", "Qualified Individual", "16 CFR", "FTC", "Interagency Guidelines"],
         "lender": ["NCUA", "Part 748", "Interagency Guidelines", "FFIEC"]}
ALWAYS = {"bank": ["Interagency Guidelines", "III.C.1.a", "FFIEC"],
          "credit-union": ["NCUA", "Part 748", "FFIEC"],
          "lender": ["Safeguards Rule", "314.4(c)(5)", "Qualified Individual"]}


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _run(tmp_path: Path, period: str, config: str, epoch: str | None = None) -> dict[str, str]:
    cfg = tmp_path / "reportgen.yaml"
    cfg.write_text(config, encoding="utf-8")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "reportgen.cli", "run", "--config", str(cfg), "--period", period,
                        "--out", str(out), "--jobs", "2"], cwd=ROOT, capture_output=True, text=True, timeout=900,
                       env={**os.environ, "PYTHONPATH": str(ROOT), **({"SOURCE_DATE_EPOCH": epoch} if epoch else {})})
    assert r.returncode == 0, r.stdout + r.stderr
    texts = {}
    for pdf in (out / period).glob("*/*.pdf"):
        reader = pypdf.PdfReader(str(pdf))
        texts[pdf.parent.name] = "\n".join((p.extract_text() or "").replace("\x00", "") for p in reader.pages)
    return texts


@pytest.fixture(scope="module")
def after_july_2026(tmp_path_factory) -> dict[str, str]:
    return _run(tmp_path_factory.mktemp("after"), "2026-11", CONFIG)


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("slug", ["bank", "credit-union", "lender"])
def test_each_type_reads_its_own_regulator_and_never_another(after_july_2026, slug):
    words_text = _words(after_july_2026[slug])
    for words in NEVER[slug]:   # on word boundaries: the DRAFT marking beside "Confidential" is not "FTC"
        assert not re.search(r"(?<![A-Za-z0-9])" + re.escape(words), words_text), f"{slug} report shows {words!r}"
    text = _flat(after_july_2026[slug])
    for words in ALWAYS[slug]:
        assert _flat(words) in text, f"{slug} report lacks {words!r}"
    assert _flat("Microsoft mandatory") in text   # cited for every type


def test_exceptions_register_follows_the_type(after_july_2026):
    assert _flat("approved in writing under its information security program") in _flat(after_july_2026["bank"])
    assert _flat("Written approvals by the Qualified Individual") in _flat(after_july_2026["lender"])


def test_ncua_appendix_is_guidelines_and_its_proposed_removal_is_explained(after_july_2026):
    text = _flat(after_july_2026["credit-union"])
    assert _flat("NCUA Guidelines for Safeguarding Member Information") in text
    assert _flat("Supervisory guidance") in text and _flat("Proposed for removal") in text
    assert _flat("proposed moving these guidelines out of the Code of Federal Regulations") in text


@pytest.mark.parametrize("slug", ["bank", "credit-union", "lender"])
def test_after_july_2026_phase_2_is_enforced_and_postponement_is_never_offered(after_july_2026, slug):
    text = _flat(after_july_2026[slug])
    assert _flat("Postponement of phase 2 was possible until 1 July 2026; that window has closed.") in text
    assert _flat("no further extension") not in text and _flat("every tenant") not in text
    assert _flat("Since 9 February 2026, the Microsoft 365 admin center refuses every sign-in") in text
    for stale in ("can postpone", "end the postponement early", "once phase 2 reaches", "before phase 2 reaches",
                  "will be stopped"):
        assert _flat(stale) not in text, f"{slug}: {stale!r}"


def test_verdict_wording_claims_only_what_the_evidence_shows(after_july_2026):
    text = _flat(after_july_2026["credit-union"])   # seed problems: coverage gap, single-factor CLI sign-ins
    assert _flat("can block more than 99.2%") in text
    assert _flat("Not every user is required by your own policies to complete MFA for the admin portals") in text
    assert _flat("Phase 2 is enforced: their create, update and delete operations") in text
    for claim in ("with a password alone; Microsoft", "changed Azure resources", "MFA for every user",
                  "blocks 99.2%"):
        assert _flat(claim) not in text, claim


def test_partial_controls_are_never_plainly_met(after_july_2026):
    # LOG-01 passes for the lender only through its logs: the monitoring control needs other evidence too
    # v3: a regulation's control (the Interagency Guidelines' III.C.1.f) claims only what was tested
    text = _flat(after_july_2026["bank"])
    assert _flat("No gap found in what this report tests") in text
    assert _flat("Guidelines") in text and _flat("Regulation·") not in text


def test_before_the_deadline_the_timeline_speaks_of_the_future(tmp_path):
    cfg = CONFIG[:CONFIG.index("  - slug: credit-union")]
    # collected on 5 January 2026, before the postponement deadline (a collection happens when it
    # happens: the period only names the month reported on)
    text = _flat(_run(tmp_path, "2025-12", cfg, epoch=str(int(datetime(2026, 1, 5, 9, tzinfo=UTC).timestamp())))["bank"])
    assert _flat("A Global Administrator can postpone phase 2 for the tenant until 1 July 2026") in text
    assert _flat("From 9 February 2026, the Microsoft 365 admin center will refuse") in text
    assert _flat("Postponement of phase 2 ended") not in text
