"""From scan to signed deliverable, through the real CLI: draft marking, finalize with a signature
that pyHanko's own validator accepts, verify catching a change after signing, final folders kept
byte-identical by run, and the action plan answered in the workbook carried into the next period."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from reportgen.testing.certs import make_test_pkcs12

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026-11"
SLUG = "first-example-bank"
FIRM = "Example Security Partners"
PASSWORD = "workflow test password"
REVIEWER = "Jordan Lee, Engagement Partner"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reportgen.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=600)


def write_config(folder: Path, clients: list[str], *, signing: bool = True, review_required: bool = True) -> Path:
    firm = [f"  name: {FIRM}", f"  logo: {ROOT / 'config' / 'branding' / 'logo.svg'}",
            '  contact: "security@example.com"', f"  review_required: {str(review_required).lower()}"]
    if signing:
        make_test_pkcs12(folder / "firm.p12", PASSWORD, common_name=FIRM, organization=FIRM)
        firm.append('  signing: {pkcs12: firm.p12, password_env: WF_SIGNING_PASSWORD, location: "Boston, MA"}')
    path = folder / "reportgen.yaml"
    path.write_text("firm:\n" + "\n".join(firm) + "\nclients:\n" + "".join(clients), encoding="utf-8")
    return path


BANK = f"""  - slug: {SLUG}
    name: "First Example Bank, N.A."
    institution_type: bank
    source: demo
    demo_profile: ready
    emergency_access_accounts: [bg-01@firstexamplebank.onmicrosoft.com, bg-02@firstexamplebank.onmicrosoft.com]
"""


def pdf_of(folder: Path) -> Path:
    return folder / f"{folder.name}-{folder.parent.name}-mfa-compliance.pdf"


def page_texts(pdf: Path) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(pdf).pages]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def engagement(tmp_path_factory) -> dict:
    """One draft run, a copy of the draft, then finalize with a signature."""
    work = tmp_path_factory.mktemp("engagement")
    cfg = write_config(work, [BANK])
    out = work / "out"
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--out", str(out), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    folder = out / PERIOD / SLUG
    draft_copy = work / "draft" / PERIOD / SLUG
    shutil.copytree(folder, draft_copy)
    pristine = work / "pristine" / PERIOD / SLUG
    shutil.copytree(folder, pristine)
    draft_texts, draft_title = page_texts(pdf_of(folder)), PdfReader(pdf_of(folder)).metadata.title
    fin = cli("finalize", str(folder), "--reviewer", REVIEWER, env={"WF_SIGNING_PASSWORD": PASSWORD})
    return {"cfg": cfg, "out": out, "folder": folder, "draft": draft_copy, "pristine": pristine,
            "draft_texts": draft_texts,
            "draft_title": draft_title, "finalize": fin}


def test_a_draft_is_marked_on_every_page_and_in_its_title(engagement):
    assert all("DRAFT" in t for t in engagement["draft_texts"]), "a page without the DRAFT mark"
    assert engagement["draft_title"].startswith("DRAFT")
    review = json.loads((engagement["draft"] / "results.json").read_text())["review"]
    assert (review["state"], review["version"], review["reviewer"], review["finalized_at"]) == ("draft", 1, None, None)
    assert "Pending review" in "".join(engagement["draft_texts"])


def test_finalize_issues_a_signed_final_report_that_verifies(engagement):
    fin, folder = engagement["finalize"], engagement["folder"]
    assert fin.returncode == 0, fin.stderr
    assert "version 2" in fin.stdout and f"signed by {FIRM}" in fin.stdout
    texts = page_texts(pdf_of(folder))
    assert not any("DRAFT" in t for t in texts)
    assert not PdfReader(pdf_of(folder)).metadata.title.startswith("DRAFT")
    signoff = next(t for t in texts if "Document control and sign-off" in t)
    assert REVIEWER in signoff and "Final" in signoff and f"Signed by {FIRM}" in signoff
    review = json.loads((folder / "results.json").read_text())["review"]
    assert (review["state"], review["version"], review["reviewer"], review["signed_by"]) == ("final", 2, REVIEWER, FIRM)
    assert review["history"][0]["state"] == "draft" and review["finalized_at"]
    assert cli("verify", str(folder)).returncode == 0


def test_the_signature_validates_with_pyhanko_and_the_pdf_stays_pdfa3(engagement):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from reportgen.signing import load_signer
    root = load_signer(engagement["cfg"].parent / "firm.p12", PASSWORD)._signer.signing_cert  # its own root
    data = pdf_of(engagement["folder"]).read_bytes()
    sigs = PdfFileReader(io.BytesIO(data)).embedded_signatures
    assert len(sigs) == 1
    status = validate_pdf_signature(sigs[0], ValidationContext(trust_roots=[root], allow_fetching=False))
    assert status.bottom_line, status.pretty_print_details()
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert sigs[0].sig_object["/Reason"] == f"Final report, reviewed by {REVIEWER}"
    xmp = PdfReader(io.BytesIO(data)).xmp_metadata.stream.get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp or b'pdfaid:part="3"' in xmp


def test_verify_names_a_byte_changed_after_signing(engagement, tmp_path):
    copy = tmp_path / SLUG
    shutil.copytree(engagement["folder"], copy)
    pdf = pdf_of(engagement["folder"]).name
    data = bytearray((copy / pdf).read_bytes())
    data[len(data) // 3] ^= 0x01
    (copy / pdf).write_bytes(bytes(data))
    r = cli("verify", str(copy))
    assert r.returncode == 1
    assert f"{pdf}: changed" in r.stdout
    assert "changed after signing" in r.stdout or "signature value does not verify" in r.stdout


def test_finalize_refuses_a_tampered_folder(engagement):
    folder = engagement["draft"]
    results = folder / "results.json"
    results.write_text(results.read_text().replace('"draft"', '"final"', 1))
    before = snapshot(folder)
    r = cli("finalize", str(folder), "--reviewer", REVIEWER, env={"WF_SIGNING_PASSWORD": PASSWORD})
    assert r.returncode == 1 and "results.json: changed" in r.stdout and "does not verify" in r.stderr
    assert snapshot(folder) == before


def test_finalize_needs_a_reviewer_and_the_signing_password(engagement, tmp_path):
    fresh = tmp_path / PERIOD / SLUG
    shutil.copytree(engagement["pristine"], fresh)
    assert cli("finalize", str(fresh)).returncode == 2
    assert cli("finalize", str(fresh), "--reviewer", " \x07 ").returncode == 2
    before = snapshot(fresh)
    env = {k: v for k, v in os.environ.items() if k != "WF_SIGNING_PASSWORD"}
    r = subprocess.run([sys.executable, "-m", "reportgen.cli", "finalize", str(fresh), "--reviewer", REVIEWER],
                       cwd=ROOT, capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert r.returncode == 1 and "WF_SIGNING_PASSWORD" in r.stderr
    r = cli("finalize", str(fresh), "--reviewer", REVIEWER, env={"WF_SIGNING_PASSWORD": "wrong"})
    assert r.returncode == 1 and "wrong password" in r.stderr and "wrong" not in r.stderr.replace("wrong password", "")
    assert snapshot(fresh) == before


def test_run_never_silently_replaces_a_final_report(engagement):
    folder, cfg, out = engagement["folder"], engagement["cfg"], engagement["out"]
    assert engagement["finalize"].returncode == 0
    before = snapshot(folder)
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--out", str(out), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stderr and "final" in r.stderr
    assert snapshot(folder) == before                                  # byte-identical
    batch = json.loads((out / PERIOD / "batch.json").read_text())
    assert batch["clients"][0]["status"] == "skipped" and batch["failed"] == 0
    r = cli("render", "--evidence", str(folder))          # render has no --force: it says what would
    assert r.returncode == 1 and "is a final report, which render never replaces" in r.stderr, r.stderr
    assert "--force" in r.stderr and "FAILED" not in r.stderr and "Traceback" not in r.stderr
    assert snapshot(folder) == before

    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--out", str(out), "--jobs", "1", "--force")
    assert r.returncode == 0, r.stderr
    assert "replaced final version 2" in r.stderr
    kept = list((out / PERIOD / ".superseded").iterdir())
    assert len(kept) == 1 and kept[0].name.startswith(f"{SLUG}-v2-")
    assert snapshot(kept[0]) == before and cli("verify", str(kept[0])).returncode == 0
    review = json.loads((folder / "results.json").read_text())["review"]
    assert (review["state"], review["version"]) == ("draft", 3)
    assert [h["version"] for h in review["history"]] == [1, 2]

    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--out", str(out), "--jobs", "1")
    assert r.returncode == 0 and "replaced draft version 3" in r.stderr
    assert json.loads((folder / "results.json").read_text())["review"]["version"] == 4


def test_a_firm_without_a_review_step_issues_final_reports(tmp_path):
    cfg = write_config(tmp_path, [BANK], signing=False, review_required=False)
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--out", str(tmp_path / "out"), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "out" / PERIOD / SLUG
    assert not any("DRAFT" in t for t in page_texts(pdf_of(folder)))
    review = json.loads((folder / "results.json").read_text())["review"]
    assert (review["state"], review["version"], review["reviewer"]) == ("final", 1, None)
    entry = json.loads((tmp_path / "out" / PERIOD / "batch.json").read_text())["clients"][0]
    assert entry["review_state"] == "final"


# --------------------------------------------------------------------------- the action plan, two periods

CU = """  - slug: harbor-federal-cu
    name: "Harbor Federal Credit Union"
    institution_type: credit_union
    source: demo
    demo_profile: seed-problems
    emergency_access_accounts: [bg-01@harborfederalcu.onmicrosoft.com, bg-02@harborfederalcu.onmicrosoft.com]
    attestations: {phase2_postponed: true}
    logo: %(logo)s
    commentary: notes.md
    overrides:
      - {check: MFA-04, severity: medium, note: "Number matching on managed devices", by: "A. Consultant"}
"""


def test_the_action_plan_answered_in_the_workbook_comes_back_next_month(tmp_path):
    logo = ROOT / "config" / "branding" / "harbor-federal-cu.svg"
    (tmp_path / "notes.md").write_text("Progress is **steady**. <script>alert(1)</script>", encoding="utf-8")
    cfg = write_config(tmp_path, [CU % {"logo": logo}], signing=False)
    out = tmp_path / "out"
    r = cli("run", "--config", str(cfg), "--period", "2026-10", "--out", str(out), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    october = out / "2026-10" / "harbor-federal-cu"
    plan = json.loads((october / "results.json").read_text())["action_plan"]
    grouped = next(a for a in plan if len(a["checks"]) > 1)
    single = next(a for a in plan if len(a["checks"]) == 1)

    # the client fills the Action plan sheet of October's workbook and sends it back
    wb = load_workbook(october / "harbor-federal-cu-2026-10-mfa-compliance.xlsx")
    ws = wb["Action plan"]
    head = [c.value for c in ws[1]]
    col = {h: head.index(h) + 1 for h in head}
    rows = {ws.cell(i, col["Finding key"]).value: i for i in range(2, ws.max_row + 1)}
    g, s = rows[grouped["finding_key"]], rows[single["finding_key"]]
    ws.cell(g, col["Owner"]).value = "Dana Ortiz, IT Director"
    ws.cell(g, col["Target date"]).value = "2026-11-15"
    ws.cell(g, col["Management response"]).value = "Keys ordered; exclusion removed after delivery."
    # the client reads and picks words, as the sheet's list offers them
    assert ws.cell(g, col["Severity"]).value in ("Critical", "High", "Medium", "Low")
    assert ws.cell(g, col["Status"]).value in (None, "Open")
    assert "In progress" in ws.data_validations.dataValidation[0].formula1
    ws.cell(g, col["Status"]).value = "In progress"
    ws.cell(s, col["Owner"]).value = "=HYPERLINK(\"http://evil.example\",\"x\")"
    ws.cell(s, col["Management response"]).value = "=cmd|' /C calc'!A0"
    ws.cell(s, col["Management response"]).data_type = "s"
    returned = tmp_path / "returned.xlsx"
    wb.save(returned)
    with cfg.open("a", encoding="utf-8") as f:
        f.write(f"    action_plan: {returned}\n")

    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--out", str(out), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert f"row {s}: Owner: a formula is not accepted" in r.stderr
    november = out / PERIOD / "harbor-federal-cu"
    doc = json.loads((november / "results.json").read_text())
    now = {a["finding_key"]: a for a in doc["action_plan"]}
    carried = now[grouped["finding_key"]]
    assert carried["owner"] == "Dana Ortiz, IT Director" and carried["status"] == "in_progress"
    assert carried["target_date"] == "2026-11-15" and carried["overdue"] is True
    assert carried["open_since"] <= "2026-10"
    assert now[single["finding_key"]]["owner"] == "" and now[single["finding_key"]]["response"] == "=cmd|' /C calc'!A0"
    assert next(c for c in doc["checks"] if c["id"] == "MFA-04")["severity"] == "high"
    assert next(c for c in doc["checks"] if c["id"] == "MFA-04")["override"]["severity"] == "medium"

    # inert in the next workbook: text, never a formula
    ws = load_workbook(november / "harbor-federal-cu-2026-11-mfa-compliance.xlsx")["Action plan"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "=cmd|' /C calc'!A0")
    assert cell.data_type == "s" and cell.quotePrefix
    text = "\n".join(page_texts(pdf_of(november)))
    assert "Dana Ortiz, IT Director" in text and "Overdue" in text and "Consultant's adjustment" in text
    assert "<script>alert(1)</script>" in text and "Consultant's commentary" in text
    assert (november / "branding" / "client-logo.svg").read_bytes() == logo.read_bytes()
    entry = json.loads((out / PERIOD / "batch.json").read_text())["clients"][0]
    assert entry["overdue"] >= 1 and entry["review_state"] == "draft"
    # the folder alone re-renders the same report (the answers are stored in it)
    again = tmp_path / "again"
    assert cli("render", "--evidence", str(november), "--out", str(again)).returncode == 0
    for name in ("results.json", "workflow.json", "harbor-federal-cu-2026-11-mfa-compliance.xlsx",
                 "harbor-federal-cu-2026-11-mfa-compliance.pdf"):
        assert (again / PERIOD / "harbor-federal-cu" / name).read_bytes() == (november / name).read_bytes(), name
