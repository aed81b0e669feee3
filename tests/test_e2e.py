"""The monthly batch end to end on the bundled demo institutions, through the real CLI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from reportgen.checks import check_ids

CHECK_IDS = check_ids()

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026-11"
SLUGS = ["first-example-bank", "harbor-federal-cu", "lakeshore-community-bank", "prairie-home-lending",
         "summit-auto-finance"]


def cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reportgen.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=600)


def results(period_dir: Path, slug: str) -> dict:
    return json.loads((period_dir / slug / "results.json").read_text())


def pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(path).pages)


def test_every_client_produced_with_the_contract_layout(demo_run: Path):
    batch = json.loads((demo_run / "batch.json").read_text())
    assert [c["slug"] for c in batch["clients"]] == sorted(SLUGS)
    assert all(c["status"] == "ok" and c["error"] is None and "total" in c["timings"] for c in batch["clients"])
    assert (demo_run / "portfolio.xlsx").is_file()
    for slug in SLUGS:
        d = demo_run / slug
        for name in ("results.json", f"{slug}-{PERIOD}-mfa-compliance.pdf", f"{slug}-{PERIOD}-mfa-compliance.xlsx",
                     "manifest.json", "evidence/collection.json"):
            assert (d / name).is_file(), f"{slug}: {name}"
        assert oct(d.stat().st_mode & 0o777) == "0o700"
        assert oct((d / "results.json").stat().st_mode & 0o777) == "0o600"
        doc = results(demo_run, slug)
        assert doc["schema_version"] == 1 and doc["period"] == PERIOD and doc["client"]["slug"] == slug
        assert [c["id"] for c in doc["checks"]] == list(CHECK_IDS)
        for c in doc["checks"]:
            assert c["status"] in ("pass", "fail", "warn", "excepted", "not_evaluated", "manual")
            assert c["severity"] in ("critical", "high", "medium", "low", "info")
            assert c["reason"]
            assert all(set(a) == {"upn", "display_name", "detail", "exception"} for a in c["affected"])
        assert doc["controls"] and all(c["status"] in ("met", "partially_met", "not_met", "not_assessed")
                                       for c in doc["controls"])
    assert not [p for p in demo_run.iterdir() if p.name.startswith(".")], "staging folders left behind"


def test_seed_problems_are_found_for_the_credit_union(demo_run: Path):
    doc = results(demo_run, "harbor-federal-cu")
    st = {c["id"]: c for c in doc["checks"]}
    assert doc["readiness"]["mandatory_mfa_phase2"] == "not_ready"
    assert st["EA-04"]["status"] == "fail" and "through group" in st["EA-04"]["affected"][0]["detail"]
    assert st["EA-03"]["status"] == "fail"
    assert st["MMFA-03"]["status"] == "fail"
    assert {a["upn"].split("@")[0] for a in st["MMFA-04"]["affected"]} == {"svc-deploy"}
    assert st["MMFA-05"]["status"] == "fail"
    # collected after 1 July 2026: the postponement window has closed, the attestation is out of date
    assert st["MMFA-06"]["status"] == "pass" and "out of date" in st["MMFA-06"]["reason"]
    frameworks = {c["framework"] for c in doc["controls"]}
    assert "ncua-748" in frameworks and "glba-ftc" not in frameworks


def test_lender_without_p1_degrades_honestly(demo_run: Path):
    doc = results(demo_run, "prairie-home-lending")
    st = {c["id"]: c["status"] for c in doc["checks"]}
    assert doc["collection"]["status"] == "partial"
    assert any(g["source"] == "auditLogs/signIns" for g in doc["collection"]["gaps"])
    assert st["MMFA-03"] == "not_evaluated" and st["MFA-09"] == "not_evaluated"
    assert st["MMFA-02"] == "pass"  # security defaults already enforce MFA for Azure management
    assert st["MMFA-06"] == "pass"   # after 1 July 2026 no attestation is needed: enforcement applies
    assert "glba-ftc" in {c["framework"] for c in doc["controls"]}
    assert "Incomplete assessment" in pdf_text(demo_run / "prairie-home-lending" /
                                               f"prairie-home-lending-{PERIOD}-mfa-compliance.pdf")


def test_exceptions_apply_only_while_in_force(demo_run: Path):
    doc = results(demo_run, "summit-auto-finance")
    st = {c["id"]: c for c in doc["checks"]}
    assert st["MFA-01"]["status"] == "excepted"
    assert [a["exception"] for a in st["MFA-01"]["affected"]] == ["EXC-2026-001"]
    mfa02 = {a["upn"].split("@")[0]: a["exception"] for a in st["MFA-02"]["affected"]}
    assert st["MFA-02"]["status"] == "fail"           # the scanner's exception expired
    assert mfa02["kiosk-01"] == "EXC-2026-002" and mfa02["shared.scanner"] is None
    wb = load_workbook(demo_run / "summit-auto-finance" / f"summit-auto-finance-{PERIOD}-mfa-compliance.xlsx",
                       read_only=True)
    rows = [[c for c in r] for r in wb["Exceptions"].iter_rows(values_only=True)]
    text = json.dumps(rows, default=str)
    assert "EXC-2025-014" in text and "expired" in text.lower()


def test_pdf_and_workbook_carry_the_facts(demo_run: Path):
    d = demo_run / "harbor-federal-cu"
    text = pdf_text(d / f"harbor-federal-cu-{PERIOD}-mfa-compliance.pdf")
    for fact in ("Harbor Federal Credit Union", "Page 1 of", "Executive summary", "EA-04", "MMFA-03",
                 "Global Administrator", "MC862873", "FIDO2", "postpone", "Exceptions"):
        assert fact.lower() in text.lower(), fact
    wb = load_workbook(d / f"harbor-federal-cu-{PERIOD}-mfa-compliance.xlsx", read_only=True)
    for sheet in ("Summary", "Controls", "Findings", "Users", "Privileged users", "Emergency access",
                  "Conditional Access policies", "Phase 2 sign-ins", "Exceptions"):
        assert sheet in wb.sheetnames
    signins = [r for r in wb["Phase 2 sign-ins"].iter_rows(values_only=True)]
    assert any(r and any(isinstance(v, str) and v.startswith("svc-deploy@") for v in r) for r in signins)


def test_large_client_lists_every_user_but_keeps_the_pdf_short(demo_run: Path):
    d = demo_run / "lakeshore-community-bank"
    wb = load_workbook(d / f"lakeshore-community-bank-{PERIOD}-mfa-compliance.xlsx", read_only=True)
    upns = [r[0] for r in wb["Users"].iter_rows(min_row=2, values_only=True)]
    assert len(upns) == 5000 and len(set(upns)) == 5000
    assert len(PdfReader(d / f"lakeshore-community-bank-{PERIOD}-mfa-compliance.pdf").pages) < 40


def test_trend_from_shipped_history(demo_run: Path):
    text = pdf_text(demo_run / "harbor-federal-cu" / f"harbor-federal-cu-{PERIOD}-mfa-compliance.pdf")
    assert "2026-10" in text and "2026-08" in text
    batch = json.loads((demo_run / "batch.json").read_text())
    assert {c["slug"]: c["direction"] for c in batch["clients"]}["prairie-home-lending"] == "new"


def test_verify_catches_one_changed_byte(demo_run: Path, tmp_path: Path):
    src = tmp_path / "copy"
    shutil.copytree(demo_run / "first-example-bank", src)
    assert cli("verify", str(src)).returncode == 0
    f = src / "evidence" / "collection.json"
    data = bytearray(f.read_bytes())
    data[10] ^= 1
    f.write_bytes(bytes(data))
    (src / "extra.txt").write_text("x")
    (src / "results.json").unlink()
    r = cli("verify", str(src))
    assert r.returncode == 1
    assert "evidence/collection.json: changed" in r.stdout
    assert "extra.txt: added" in r.stdout and "results.json: missing" in r.stdout


def test_render_from_evidence_is_byte_identical(demo_run: Path, tmp_path: Path):
    slug = "summit-auto-finance"
    r = cli("render", "--evidence", str(demo_run / slug), "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    again = tmp_path / PERIOD / slug
    for name in ("results.json", f"{slug}-{PERIOD}-mfa-compliance.pdf", f"{slug}-{PERIOD}-mfa-compliance.xlsx"):
        assert (again / name).read_bytes() == (demo_run / slug / name).read_bytes(), name
    assert cli("verify", str(again)).returncode == 0


def test_results_carry_no_demo_or_live_difference_in_shape(demo_run: Path):
    meta = json.loads((demo_run / "first-example-bank" / "evidence" / "collection.json").read_text())
    first_users = json.loads((demo_run / "first-example-bank" / "evidence" / meta["datasets"]["users"]["pages"][0]).read_text())
    assert "@odata.context" in first_users and isinstance(first_users["value"], list)
    assert {"id", "userPrincipalName", "accountEnabled", "signInActivity"} <= set(first_users["value"][0])


def test_render_in_place_replaces_the_folder_with_identical_bytes(demo_run: Path, tmp_path: Path):
    slug = "first-example-bank"
    folder = tmp_path / PERIOD / slug
    shutil.copytree(demo_run / slug, folder)
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    r = cli("render", "--evidence", str(folder / "evidence"))
    assert r.returncode == 0, r.stderr
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
