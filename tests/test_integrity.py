"""One trust boundary (issue 21): each attack of the hostile review, through the CLI where it was
seen through the CLI. One draft run and one signed finalize are shared by the module."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from reportgen.package import MANIFEST, MANIFEST_SIG, write_manifest
from tests.test_workflow_e2e import BANK, PASSWORD, PERIOD, REVIEWER, SLUG, cli, pdf_of, write_config

ROOT = Path(__file__).resolve().parent.parent
ENV = {"WF_SIGNING_PASSWORD": PASSWORD}


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("integrity")
    cfg = write_config(work, [BANK])
    out = work / "out"
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--out", str(out), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    folder = out / PERIOD / SLUG
    draft = work / "draft" / SLUG
    shutil.copytree(folder, draft)
    fin = cli("finalize", str(folder), "--reviewer", REVIEWER, env=ENV)
    assert fin.returncode == 0, fin.stderr
    return {"cfg": cfg, "out": out, "folder": folder, "draft": draft, "work": work}


def copy(folder: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "c" / PERIOD / SLUG
    shutil.copytree(folder, dst)
    return dst


def rehash(folder: Path) -> None:
    """What an attacker does after editing: write the manifest again from the files."""
    meta = {k: v for k, v in json.loads((folder / MANIFEST).read_text()).items() if k != "files"}
    write_manifest(folder, meta)


def test_a_signed_final_folder_carries_a_manifest_signature_and_verifies(signed):
    assert (signed["folder"] / MANIFEST_SIG).is_file()
    r = cli("verify", str(signed["folder"]))
    assert r.returncode == 0, r.stdout
    assert "signed by" in r.stdout


def _incremental_update(data: bytes, drop_signature: bool) -> bytes:
    """An incremental update after signing: a new page content ("phase 1 READY"), optionally with
    the signature field taken out of the form."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    page_ref = w.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (phase 1 READY) Tj ET")
    page["/Contents"] = w.add_object(stream)
    w.update_container(page)
    if drop_signature:
        form = w.root["/AcroForm"]
        form["/Fields"] = generic.ArrayObject()
        w.update_container(form)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


@pytest.mark.parametrize("drop_signature", [False, True], ids=["page-redrawn", "signature-field-removed"])
def test_an_incremental_update_after_signing_fails_verify_naming_the_pdf(signed, tmp_path, drop_signature):
    folder = copy(signed["folder"], tmp_path)
    pdf = pdf_of(folder)
    pdf.write_bytes(_incremental_update(pdf.read_bytes(), drop_signature))
    rehash(folder)
    r = cli("verify", str(folder))
    assert r.returncode == 1, r.stdout
    assert pdf.name in r.stdout
    # the re-hashed manifest no longer matches its signature either
    assert f"{MANIFEST_SIG}: manifest.json was changed after signing" in r.stdout


def test_results_and_workbook_changed_with_the_manifest_fail_verify(signed, tmp_path):
    folder = copy(signed["folder"], tmp_path)
    doc = json.loads((folder / "results.json").read_text())
    doc["readiness"]["mandatory_mfa_phase1"] = "ready"
    (folder / "results.json").write_text(json.dumps(doc))
    rehash(folder)
    r = cli("verify", str(folder))
    assert r.returncode == 1 and f"{MANIFEST_SIG}: manifest.json was changed after signing" in r.stdout


def test_a_signed_final_folder_without_its_manifest_signature_fails(signed, tmp_path):
    folder = copy(signed["folder"], tmp_path)
    (folder / MANIFEST_SIG).unlink()
    r = cli("verify", str(folder))
    assert r.returncode == 1 and f"{MANIFEST_SIG}: missing" in r.stdout


def test_a_byterange_comment_in_an_unsigned_pdf_is_no_signature(signed, tmp_path):
    folder = copy(signed["draft"], tmp_path)
    doc = json.loads((folder / "results.json").read_text())
    doc["review"].update(state="final", signed_by="Example Security Partners", reviewer=REVIEWER)
    (folder / "results.json").write_text(json.dumps(doc))
    pdf = pdf_of(folder)
    pdf.write_bytes(pdf.read_bytes() + b"\n% /ByteRange [0 10 20 30]\n")
    rehash(folder)
    r = cli("verify", str(folder))
    assert r.returncode == 1
    assert f"{pdf.name}: not signed" in r.stdout


def test_litter_is_named_and_does_not_fail_verify_but_other_files_do(signed, tmp_path):
    folder = copy(signed["folder"], tmp_path)
    (folder / ".DS_Store").write_bytes(b"\0\0")
    (folder / "~$first-example-bank-2026-11.xlsx").write_bytes(b"lock")
    (folder / "Thumbs.db").write_bytes(b"x")
    r = cli("verify", str(folder))
    assert r.returncode == 0, r.stdout
    assert ".DS_Store: litter" in r.stdout and "Thumbs.db: litter" in r.stdout
    (folder / "notes.txt").write_text("added")
    r = cli("verify", str(folder))
    assert r.returncode == 1 and "notes.txt: added" in r.stdout


@pytest.mark.parametrize("logo", ["/dev/zero", "../../../../etc/hostname", "branding/../../x.png"])
def test_finalize_refuses_a_client_json_naming_a_file_outside_the_folder(signed, tmp_path, logo):
    folder = copy(signed["draft"], tmp_path)
    record = json.loads((folder / "client.json").read_text())
    record["firm"]["logo"] = logo
    (folder / "client.json").write_text(json.dumps(record))
    rehash(folder)
    r = cli("finalize", str(folder), "--reviewer", REVIEWER, env=ENV)
    assert r.returncode == 1
    assert "client.json is not usable" in r.stderr and "Traceback" not in r.stderr
    assert json.loads((folder / "results.json").read_text())["review"]["state"] == "draft"


def test_render_out_never_follows_a_linked_client_logo(signed, tmp_path):
    folder = copy(signed["draft"], tmp_path)
    secret = tmp_path / "secret.png"
    shutil.copyfile(ROOT / "config" / "branding" / "logo.svg", secret)
    doc = json.loads((folder / "workflow.json").read_text())
    doc["client_logo"] = "branding/client-logo.png"
    (folder / "workflow.json").write_text(json.dumps(doc))
    (folder / "branding").mkdir(exist_ok=True)
    (folder / "branding" / "client-logo.png").symlink_to(secret)
    r = cli("render", "--evidence", str(folder), "--out", str(tmp_path / "o"))
    assert r.returncode == 1, r.stderr
    assert "symbolic link" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o" / PERIOD / SLUG).exists()


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_run_skips_a_final_folder_whose_state_cannot_be_read_and_force_keeps_it(signed, tmp_path, damage):
    out = tmp_path / "out"
    (out / PERIOD).mkdir(parents=True)
    folder = out / PERIOD / SLUG
    shutil.copytree(signed["folder"], folder)
    results = folder / "results.json"
    if damage == "truncated":
        results.write_bytes(results.read_bytes()[:100])
    else:
        results.unlink()
    before = pdf_of(folder).read_bytes()
    r = cli("run", "--config", str(signed["cfg"]), "--period", PERIOD, "--out", str(out), "--jobs", "1")
    assert "cannot be read" in r.stderr + r.stdout and "Traceback" not in r.stderr
    assert pdf_of(folder).read_bytes() == before
    r = cli("run", "--config", str(signed["cfg"]), "--period", PERIOD, "--out", str(out), "--jobs", "1", "--force")
    assert r.returncode == 0, r.stderr
    kept = list((out / PERIOD / ".superseded").iterdir())
    assert len(kept) == 1
    assert (kept[0] / pdf_of(folder).name).read_bytes() == before


def test_a_zip_bomb_workbook_is_refused_fast_and_small(tmp_path):
    """6 million empty rows in a few hundred KB: refused before any parser runs."""
    from reportgen.workflow.responses import read_responses
    path = tmp_path / "bomb.xlsx"
    rows = b"<row/>" * 6_000_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                   '<sheet name="Action plan" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/>'
                   '</Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                   b'main"><sheetData>' + HEADER.encode() + rows + b"</sheetData></worksheet>")
    del rows
    assert path.stat().st_size < 2 * 1024 * 1024
    # peak RSS of a fresh process (VmHWM: ru_maxrss would carry the parent's peak across exec)
    code = ("import sys, time, re; sys.path.insert(0, sys.argv[2]);"
            "from reportgen.workflow.responses import read_responses; t = time.monotonic();"
            "a, p = read_responses(sys.argv[1]); s = time.monotonic() - t;"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1);"
            "print(s, hwm, p[0])")
    r = subprocess.run([sys.executable, "-c", code, str(path), str(ROOT)], capture_output=True, text=True, timeout=60)
    seconds, rss_kb, problem = r.stdout.split(" ", 2)
    assert float(seconds) < 2.0
    assert int(rss_kb) < 200 * 1024, f"peak RSS {int(rss_kb) // 1024} MB"
    assert "refused" in problem and "bomb.xlsx" in problem
    assert read_responses(path)[0] == {}


def _sheet(rows_xml: str, shared: list[str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                   '<sheet name="Action plan" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/>'
                   '</Relationships>')
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                       + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>")
        z.writestr("xl/worksheets/sheet1.xml", '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                   f'main"><sheetData>{rows_xml}</sheetData></worksheet>')
    return buf.getvalue()


HEADER = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Finding key</t></is></c><c r="B1" t="inlineStr"><is><t>Owner'
          '</t></is></c><c r="C1" t="inlineStr"><is><t>Open since</t></is></c><c r="D1" t="inlineStr"><is><t>Status'
          '</t></is></c></row>')


def _row(n: int, key: str, owner_cell: str, since: str = "2020-01") -> str:
    return (f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{key}</t></is></c>{owner_cell}'
            f'<c r="C{n}" t="inlineStr"><is><t>{since}</t></is></c><c r="D{n}" t="inlineStr"><is><t>Done</t></is></c></row>')


def test_malformed_cells_are_problems_on_their_row_and_open_since_is_never_read(tmp_path):
    from reportgen.workflow.actions import KEY_RE
    from reportgen.workflow.responses import read_responses
    keys = [k for k in ("MFA-01", "EA-02", "MMFA-01", "CA-03") if KEY_RE.fullmatch(k)]
    assert len(keys) >= 3, "finding keys look different now; update the test"
    rows = HEADER + _row(2, keys[0], '<c r="B2"><v>abc</v></c>') \
        + _row(3, keys[1], '<c r="B3" t="s"><v>99</v></c>') + _row(4, keys[2], '<c r="B4" t="inlineStr"><is><t>Pat</t></is></c>')
    path = tmp_path / "plan.xlsx"
    path.write_bytes(_sheet(rows, shared=["only one"]))
    answers, problems = read_responses(path)
    assert any("row 2: Owner" in p and "not a number" in p for p in problems), problems
    assert any("row 3: Owner" in p and "shared text" in p for p in problems), problems
    assert answers[keys[2]].owner == "Pat" and answers[keys[0]].status == "done"
    assert all(a.open_since is None for a in answers.values())


def test_a_csv_with_an_unbalanced_quote_names_the_line(tmp_path):
    from reportgen.workflow.responses import read_responses
    path = tmp_path / "plan.csv"
    path.write_text('Finding key,Owner,Status\nMFA-01,"Pat,Done\nMFA-02,Lee,Done\n', encoding="utf-8")
    answers, problems = read_responses(path)
    assert answers == {} and any("line 2" in p and "quote" in p for p in problems), problems


def test_a_huge_yaml_file_is_refused_before_parsing(tmp_path):
    from reportgen.readback import ReadBackError, yaml_bytes
    path = tmp_path / "big.yaml"
    with open(path, "wb") as f:
        f.truncate(100 * 1024 * 1024)
    t = time.monotonic()
    with pytest.raises(ReadBackError, match="refused"):
        yaml_bytes(path)
    assert time.monotonic() - t < 0.5


@pytest.mark.parametrize("kind", ["folder", "link"])
def test_a_lock_path_that_is_not_a_file_is_one_line(signed, tmp_path, kind):
    out = tmp_path / "out"
    (out / PERIOD).mkdir(parents=True)
    lock = out / f".reportgen-{PERIOD}.lock"
    lock.mkdir() if kind == "folder" else lock.symlink_to(tmp_path / "elsewhere")
    r = cli("run", "--config", str(signed["cfg"]), "--period", PERIOD, "--out", str(out), "--jobs", "1")
    assert r.returncode != 0 and "cannot be locked" in r.stderr and "Traceback" not in r.stderr


def test_commentary_entities_do_not_smuggle_bidi_controls():
    from reportgen.workflow.commentary import render_markdown
    html = str(render_markdown("Owner &#x202E;deen&#8238; and &#X2066;x &amp; y"))
    assert not any(ch in html for ch in "\u202e\u2066") and "&amp;" in html


def test_merge_refuses_a_forged_shard(signed, tmp_path):
    out = tmp_path / "out"
    period = out / PERIOD
    period.mkdir(parents=True)
    shutil.copytree(signed["folder"], period / SLUG)
    from reportgen.shard import shard_of
    doc = {"period": PERIOD, "shard": {"index": 1, "count": 1}, "clients": [
        {"slug": SLUG, "status": "ok", "phase1": "ready", "mfa_registered_pct": 100.0},
        {"slug": "../../etc", "status": "ok"}]}
    (period / "batch.1-of-1.json").write_text(json.dumps(doc))
    r = cli("merge", str(period))
    assert r.returncode == 2 and "not a safe name" in r.stderr and "Traceback" not in r.stderr
    # without the forged entry: the figures come from the folder, not from the shard file
    doc["clients"] = doc["clients"][:1]
    doc["clients"][0]["mfa_registered_pct"] = 100.0
    (period / "batch.1-of-1.json").write_text(json.dumps(doc))
    r = cli("merge", str(period))
    batch = json.loads((period / "batch.json").read_text())
    truth = json.loads((period / SLUG / "results.json").read_text())["summary"]["mfa_registered_pct"]
    assert batch["clients"][0]["mfa_registered_pct"] == truth
    assert shard_of(SLUG, 1) == 1


@pytest.mark.parametrize("shard", ["1/99999999999999999999999", "1/10001"])
def test_an_absurd_shard_count_is_a_usage_error(signed, tmp_path, shard):
    r = cli("run", "--config", str(signed["cfg"]), "--period", PERIOD, "--out", str(tmp_path), "--shard", shard)
    assert r.returncode == 2 and "--shard" in r.stderr and "Traceback" not in r.stderr


def test_merge_names_a_malformed_field_without_a_traceback(tmp_path):
    period = tmp_path / PERIOD
    period.mkdir()
    (period / "batch.1-of-2.json").write_text(json.dumps({"period": PERIOD, "shard": {"index": "1", "count": 2},
                                                          "clients": []}))
    r = cli("merge", str(period))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "shard" in r.stderr
    (period / "batch.1-of-2.json").write_text(json.dumps({"period": "\x1b[2J2026-11", "shard": {"index": 1, "count": 2},
                                                          "clients": []}))
    r = cli("merge", str(period))
    assert r.returncode == 2 and "\x1b" not in r.stderr


def test_byte_identical_without_libharfbuzz_subset(tmp_path):
    """Two renders a second apart, with WeasyPrint's HarfBuzz subsetter hidden (the fontTools path,
    as on a machine without libharfbuzz-subset0) and with it: identical bytes both ways."""
    code = r"""
import hashlib, sys, time
sys.path.insert(0, sys.argv[2])
import weasyprint.text.ffi as ffi, weasyprint.pdf.fonts as fonts
if sys.argv[1] == "hide":
    ffi.harfbuzz_subset = None
    fonts.harfbuzz_subset = None
import reportgen.render.pdf  # noqa: F401  (installs the pin, as every render does)
from reportgen.signcheck import subsetter
from weasyprint import HTML
import logging; logging.getLogger("weasyprint").setLevel(logging.ERROR)
out = []
for _ in range(2):
    out.append(hashlib.sha256(HTML(string="<p style='font-family:DejaVu Sans'>Phase 1 ÀÉ 123</p>").write_pdf(
        pdf_variant="pdf/a-3b")).hexdigest())
    time.sleep(1.1)
print(subsetter() if sys.argv[1] != "hide" else "fontTools", out[0] == out[1])
"""
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    for mode in ("hide", "show"):
        r = subprocess.run([sys.executable, "-c", code, mode, str(ROOT)], capture_output=True, text=True,
                           timeout=120, env=env)
        assert r.stdout.split()[-1] == "True", (mode, r.stdout, r.stderr[-2000:])


def test_fonttools_path_differs_without_the_pin():
    """The test above can fail: without the pin the fontTools path writes the clock into the font."""
    from fontTools.ttLib import TTFont

    from reportgen.fontpin import PinnedTTFont
    font = next(Path("/usr/share/fonts").rglob("DejaVuSans.ttf"), None)
    if font is None:
        pytest.skip("DejaVu Sans is not installed")
    stamps = []
    for cls in (TTFont, PinnedTTFont):
        t = cls(str(font))
        buf = io.BytesIO()
        t.save(buf)
        stamps.append(TTFont(io.BytesIO(buf.getvalue()))["head"].modified)
    assert stamps[1] == TTFont(str(font))["head"].modified


@pytest.mark.parametrize("kind", ["rsa-1024", "server-auth-only"])
def test_a_certificate_unfit_for_signing_is_refused_at_check_and_at_finalize(signed, tmp_path, kind):
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from reportgen.testing.certs import make_test_pkcs12
    p12 = signed["cfg"].parent / "firm.p12"
    saved = p12.read_bytes()
    opts = {"key_size": 1024} if kind == "rsa-1024" else {"ekus": [ExtendedKeyUsageOID.SERVER_AUTH]}
    try:
        make_test_pkcs12(p12, PASSWORD, common_name="Example Security Partners", **opts)
        r = cli("check", "--config", str(signed["cfg"]), env=ENV)
        assert r.returncode == 1 and "FAIL  firm.signing" in r.stdout
        assert ("RSA-1024" if kind == "rsa-1024" else "serverAuth") in r.stdout
        folder = copy(signed["draft"], tmp_path)
        fin = cli("finalize", str(folder), "--reviewer", REVIEWER, env=ENV)
        assert fin.returncode == 1 and "cannot finalize" in fin.stderr
        assert json.loads((folder / "results.json").read_text())["review"]["state"] == "draft"
    finally:
        p12.write_bytes(saved)


def test_check_shows_days_to_expiry_and_the_font_subsetter(signed):
    r = cli("check", "--config", str(signed["cfg"]), env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "may sign reports; the certificate expires in 29 days" in r.stdout or "expires in 30 days" in r.stdout
    assert "byte-identical on this machine (fonts subset with" in r.stdout


def test_a_signed_pdf_whose_report_was_made_to_look_unsigned_fails(signed, tmp_path):
    """results.json changed, its signed_by and manifest.json.sig removed, manifest re-hashed: the PDF's
    intact signature is not enough, the other files are no longer covered."""
    folder = copy(signed["folder"], tmp_path)
    doc = json.loads((folder / "results.json").read_text())
    doc["review"]["signed_by"] = None
    doc["readiness"]["mandatory_mfa_phase1"] = "ready"
    (folder / "results.json").write_text(json.dumps(doc))
    (folder / MANIFEST_SIG).unlink()
    rehash(folder)
    r = cli("verify", str(folder))
    assert r.returncode == 1 and f"{MANIFEST_SIG}: missing, though the PDF is signed" in r.stdout
