"""PAdES signing of the final PDF: a real PDF/A-3b from WeasyPrint, a throwaway certificate."""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from reportgen.signing import NOT_CHECKED, SigningError, check_signatures, load_signer, sign_pdf
from reportgen.testing.certs import make_test_pkcs12

FIRM = "Example Security Partners"
PASSWORD = "correct horse battery staple"
RESULTS = b'{"schema_version": 1, "client": "first-example-bank"}'
RENDERED = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
# a moment clearly apart from "now", so a signer that ignored it would be caught
WHEN = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).replace(microsecond=0)
SIGN_ARGS = dict(signer_name=FIRM, reason="Final report after review", location="Boston, MA",
                 contact="security@example.com")


def _render_pdfa() -> bytes:
    from weasyprint import HTML, Attachment

    html = ("<html><head><title>MFA compliance report</title>"
            "<meta name=dcterms.created content='2026-09-01T00:00:00Z'>"
            "<meta name=dcterms.modified content='2026-09-01T00:00:00Z'></head>"
            "<body><h1>First Example Bank</h1><p>Findings and evidence.</p></body></html>")
    results = Attachment(string=RESULTS, name="results.json", description="Results",
                         created=RENDERED, modified=RENDERED, relationship="Data")
    return HTML(string=html).write_pdf(pdf_variant="pdf/a-3b", attachments=[results])


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("signing")


@pytest.fixture(scope="module")
def original(work) -> bytes:
    return _render_pdfa()


@pytest.fixture(scope="module")
def p12(work) -> Path:
    return make_test_pkcs12(work / "firm-signing.p12", PASSWORD, common_name=FIRM,
                            organization=FIRM)


@pytest.fixture(scope="module")
def signer(p12):
    return load_signer(p12, PASSWORD)


@pytest.fixture(scope="module")
def signed(original, signer) -> bytes:
    return sign_pdf(original, signer, when=WHEN, **SIGN_ARGS)


@pytest.fixture
def signed_file(tmp_path, signed) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(signed)
    return path


def _trusted_validation(data: bytes, signer):
    root = signer._signer.signing_cert  # the throwaway certificate is its own root
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    return sig, validate_pdf_signature(sig, signer_validation_context=context)


def _xmp(data: bytes) -> bytes:
    return pypdf.PdfReader(io.BytesIO(data)).xmp_metadata.stream.get_data()


# --------------------------------------------------------------------------- signing

def test_signature_validates_with_pyhankos_own_validator(signed, signer):
    sig, status = _trusted_validation(signed, signer)
    assert status.bottom_line, status.pretty_print_details()
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.sig_object["/Name"] == FIRM
    assert sig.sig_object["/Reason"] == SIGN_ARGS["reason"]
    assert sig.sig_object["/Location"] == SIGN_ARGS["location"]
    assert sig.sig_object["/ContactInfo"] == SIGN_ARGS["contact"]
    assert sig.self_reported_timestamp == WHEN


def test_signing_appends_an_incremental_update(original, signed):
    assert signed.startswith(original)
    assert len(signed) > len(original)


def test_signing_is_deterministic_for_a_given_time(original, signer, signed):
    assert sign_pdf(original, signer, when=WHEN, **SIGN_ARGS) == signed
    later = sign_pdf(original, signer, when=WHEN + dt.timedelta(minutes=1), **SIGN_ARGS)
    assert later != signed


def test_xmp_and_info_are_kept_and_still_declare_pdfa3(original, signed):
    xmp = _xmp(signed)
    assert xmp == _xmp(original)  # the rendered packet is not rewritten
    assert re.search(rb'pdfaid:part="3"|<pdfaid:part>3</pdfaid:part>', xmp)
    assert re.search(rb'pdfaid:conformance="B"|<pdfaid:conformance>B</pdfaid:conformance>', xmp)
    before = pypdf.PdfReader(io.BytesIO(original)).metadata
    after = pypdf.PdfReader(io.BytesIO(signed)).metadata
    assert dict(after) == dict(before)  # Info still agrees with XMP (PDF/A)


def test_signature_field_meets_pdfa_annotation_rules(original, signed):
    reader = pypdf.PdfReader(io.BytesIO(signed))
    form = reader.trailer["/Root"]["/AcroForm"]
    assert "/NeedAppearances" not in form or not form["/NeedAppearances"]
    widgets = [a.get_object() for page in reader.pages for a in page.get("/Annots", [])]
    sig_widgets = [w for w in widgets if w.get("/FT") == "/Sig"]
    assert len(sig_widgets) == 1
    flags = int(sig_widgets[0]["/F"])
    assert flags & 4  # Print
    assert not flags & (1 | 2 | 32)  # Invisible, Hidden, NoView
    x1, y1, x2, y2 = (float(v) for v in sig_widgets[0]["/Rect"])
    assert x1 == x2 and y1 == y2  # zero-size, so PDF/A needs no appearance stream and no font
    assert reader.trailer["/Root"]["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"


def test_pypdf_reads_signed_file_and_its_attachment(signed):
    reader = pypdf.PdfReader(io.BytesIO(signed))
    assert "First Example Bank" in reader.pages[0].extract_text()
    assert reader.attachments["results.json"] == [RESULTS]


def test_a_second_signature_gets_its_own_field(signed, signer, tmp_path):
    twice = sign_pdf(signed, signer, when=WHEN, **SIGN_ARGS)
    sigs = PdfFileReader(io.BytesIO(twice)).embedded_signatures
    assert [s.field_name for s in sigs] == ["Signature1", "Signature2"]
    path = tmp_path / "twice.pdf"
    path.write_bytes(twice)
    report = check_signatures(path)
    # the first one no longer covers the file: reportgen signs once, so that is worth naming
    assert report.problems == [f"signature 1 ({FIRM}): the document was changed after signing "
                               f"({len(twice) - len(signed)} bytes were added after the "
                               f"signature)"]


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler's pdfsig is not installed")
def test_a_pdf_reader_lists_the_signature(signed_file):
    out = subprocess.run(["pdfsig", str(signed_file)], capture_output=True, text=True,
                         check=False).stdout
    assert "Signature #1" in out
    assert f"Signer Certificate Common Name: {FIRM}" in out
    assert "Signature is Valid" in out
    assert "Total document signed" in out


# --------------------------------------------------------------------------- checking

def test_check_signatures_reports_an_intact_signature(signed_file):
    report = check_signatures(signed_file)
    assert report.signed and report.ok
    assert report.problems == []
    [info] = report.signatures
    assert info.signer == FIRM
    assert info.signed_at == WHEN
    assert info.intact and info.covers_whole_file
    assert info.trusted is None and info.trust == NOT_CHECKED


def test_check_signatures_against_trust_roots(signed_file, signer, p12, tmp_path):
    report = check_signatures(signed_file, trust_roots=[signer.certificate])
    assert report.problems == [] and report.signatures[0].trusted is True
    pem = tmp_path / "root.pem"
    pem.write_bytes(signer.certificate.public_bytes(serialization.Encoding.PEM))
    assert check_signatures(signed_file, trust_roots=[pem]).signatures[0].trusted is True

    stranger = load_signer(make_test_pkcs12(tmp_path / "other.p12", "x", common_name="Someone Else"),
                           "x")
    report = check_signatures(signed_file, trust_roots=[stranger.certificate])
    assert report.signatures[0].trusted is False
    assert report.problems == [f"signature 1 ({FIRM}): the signer's certificate does not chain "
                               f"to a trusted root"]


def _signed_range(data: bytes) -> tuple[int, int, int, int]:
    found = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    return tuple(int(v) for v in found.groups())  # type: ignore[return-value]


def _flip_in_first_range(data: bytes) -> bytes:
    _s, len1, _s2, _l2 = _signed_range(data)
    at = data.index(b"stream\n", 0, len1) + 40  # inside a compressed stream: still parses
    assert at < len1
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def _flip_in_second_range(data: bytes) -> bytes:
    _s, _l1, start2, _l2 = _signed_range(data)
    date = re.compile(rb"/M \(D(?::|\\072)(\d{4})").search(data, start2)
    at = date.start(1) + 3  # the year's last digit in the signing time
    return data[:at] + (b"8" if data[at:at + 1] != b"8" else b"7") + data[at + 1:]


@pytest.mark.parametrize("tamper", [_flip_in_first_range, _flip_in_second_range])
def test_a_byte_changed_inside_the_signed_range_is_named(signed, tmp_path, tamper):
    path = tmp_path / "tampered.pdf"
    path.write_bytes(tamper(signed))
    report = check_signatures(path)
    assert report.signed and not report.ok
    assert report.problems == [f"signature 1 ({FIRM}): the document was changed after signing "
                               f"(the signed bytes no longer match the signature)"]


def test_bytes_appended_after_signing_are_named(signed, tmp_path):
    path = tmp_path / "appended.pdf"
    path.write_bytes(signed + b"\n% one more line\n")
    report = check_signatures(path)
    assert report.signatures[0].intact and not report.signatures[0].covers_whole_file
    assert report.problems == [f"signature 1 ({FIRM}): the document was changed after signing "
                               f"(17 bytes were added after the signature)"]


def test_an_incremental_update_after_signing_is_named(signed, tmp_path):
    # what an editor does when someone "just fixes a typo" in the signed report
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / "edited.pdf"
    path.write_bytes(out.getvalue())
    report = check_signatures(path)
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"signature 1 ({FIRM}): the document was changed after "
                                         f"signing (")


def test_an_unsigned_pdf_is_reported_as_unsigned(original, tmp_path):
    path = tmp_path / "draft.pdf"
    path.write_bytes(original)
    report = check_signatures(path)
    assert not report.signed and report.problems == [] and not report.ok


def test_a_file_that_is_not_a_pdf_is_named(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"<html>not a pdf</html>")
    report = check_signatures(path)
    assert not report.signed
    assert len(report.problems) == 1 and report.problems[0].startswith(
        "report.pdf cannot be read as a PDF (")


def test_a_signed_file_cut_short_is_named(signed, tmp_path):
    path = tmp_path / "cut.pdf"
    path.write_bytes(signed[:-200])
    report = check_signatures(path)
    assert report.signed and not report.ok
    assert "the document was changed after signing" in report.problems[0]


# --------------------------------------------------------------------------- certificate errors

def test_wrong_password_is_a_clear_error(p12):
    with pytest.raises(SigningError) as err:
        load_signer(p12, "not the password")
    assert str(err.value) == (f"the PKCS#12 file {p12} cannot be opened: wrong password or not a "
                              f"PKCS#12 file")
    assert "not the password" not in str(err.value)
    with pytest.raises(SigningError, match=r"wrong password .*\(no password was given\)"):
        load_signer(p12, None)


def test_expired_certificate_is_a_clear_error(tmp_path):
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    path = make_test_pkcs12(tmp_path / "old.p12", PASSWORD, common_name=FIRM, days=30,
                            not_before=start)
    with pytest.raises(SigningError) as err:
        load_signer(path, PASSWORD)
    assert str(err.value).startswith(f"the signing certificate ({FIRM}) expired on 2025-01-31")
    assert PASSWORD not in str(err.value)
    # the same file was fine while it was valid
    assert load_signer(path, PASSWORD, at=start + dt.timedelta(days=1)).common_name == FIRM


def test_signing_time_outside_the_certificate_is_refused(original, signer):
    with pytest.raises(SigningError, match="expired on"):
        sign_pdf(original, signer, when=signer.not_after + dt.timedelta(days=1), **SIGN_ARGS)
    with pytest.raises(SigningError, match="is not valid before"):
        sign_pdf(original, signer, when=signer.not_before - dt.timedelta(days=1), **SIGN_ARGS)


@pytest.mark.parametrize("content", [b"", b"\x00" * 64, b"%PDF-1.7\n%%EOF\n"])
def test_a_file_that_is_not_pkcs12_is_a_clear_error(tmp_path, content):
    path = tmp_path / "firm-signing.p12"
    path.write_bytes(content)
    with pytest.raises(SigningError, match=r"cannot be opened: wrong password or not a PKCS#12 "
                                           r"file$"):
        load_signer(path, PASSWORD)


def test_a_pem_file_gets_a_hint(signer, tmp_path):
    path = tmp_path / "firm-signing.pem"
    path.write_bytes(signer.certificate.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(SigningError, match=r"not a PKCS#12 file \(it is a PEM text file"):
        load_signer(path, PASSWORD)


def test_a_pkcs12_without_private_key_is_a_clear_error(signer, tmp_path):
    path = tmp_path / "cert-only.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"cert only", None, signer.certificate, None,
        serialization.BestAvailableEncryption(PASSWORD.encode())))
    with pytest.raises(SigningError, match=r"\(Example Security Partners\) has no private key"):
        load_signer(path, PASSWORD)


def test_a_missing_pkcs12_file_is_a_clear_error(tmp_path):
    with pytest.raises(SigningError, match=r"the PKCS#12 file .*missing\.p12 does not exist"):
        load_signer(tmp_path / "missing.p12", PASSWORD)


def test_a_pdf_that_cannot_be_read_is_not_signed(signer):
    with pytest.raises(SigningError, match="the PDF cannot be signed: it cannot be read"):
        sign_pdf(b"%PDF-1.7\nnot really\n", signer, when=WHEN, **SIGN_ARGS)


def test_signer_repr_holds_no_key_material(signer):
    text = repr(signer)
    assert FIRM in text and "PRIVATE" not in text and "_signer" not in text
