"""PAdES signatures on the final PDF: load the firm's PKCS#12, sign, and check signatures.

Signing is an incremental update (the rendered PDF/A-3b bytes stay as they are, the signature is
appended) with a PAdES B-B signature (ETSI.CAdES.detached): no timestamp server and no revocation
fetching, so finalizing needs no network. See docs/signing.md.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

__all__ = ["SigningError", "Signer", "SignatureInfo", "SignatureReport", "load_signer", "sign_pdf",
           "check_signatures"]

NOT_CHECKED = "signer's certificate not checked against a trust list"


class SigningError(Exception):
    """A signing problem explained for a consultant (never carries a password or a traceback)."""


@dataclass(frozen=True)
class Signer:
    """The firm's signing identity: certificate facts for messages plus pyHanko's signer."""

    common_name: str
    not_before: dt.datetime
    not_after: dt.datetime
    certificate: x509.Certificate = field(repr=False)
    source: str = ""
    _signer: signers.SimpleSigner = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def check_valid_at(self, at: dt.datetime) -> None:
        at = _aware(at, "at")
        if at < self.not_before:
            raise SigningError(f"the signing certificate ({self.common_name}) is not valid before "
                               f"{_minute(self.not_before)}")
        if at > self.not_after:
            raise SigningError(f"the signing certificate ({self.common_name}) expired on "
                               f"{_day(self.not_after)}: the firm needs a renewed certificate")


@dataclass(frozen=True)
class SignatureInfo:
    index: int                      # 1-based, in file order
    field_name: str
    signer: str                     # certificate common name, else the signature's /Name
    signed_at: dt.datetime | None   # as claimed by the signer (no timestamp authority in B-B)
    intact: bool                    # the signed bytes still match the signature
    covers_whole_file: bool         # nothing was appended after this signature
    trusted: bool | None            # chains to the given trust roots; None when none were given
    trust: str                      # that verdict in words
    cert_sha256: str = ""           # the signer's certificate, to match the manifest's signature


@dataclass(frozen=True)
class SignatureReport:
    signed: bool
    signatures: list[SignatureInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signed and not self.problems


# --------------------------------------------------------------------------- loading

def load_signer(pkcs12_path: Path, password: str | None, *, at: dt.datetime | None = None) -> Signer:
    """Open the firm's PKCS#12 file and check its certificate may sign at ``at`` (default: now)."""
    path = Path(pkcs12_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningError(f"the PKCS#12 file {path} does not exist") from None
    except OSError as exc:
        raise SigningError(f"the PKCS#12 file {path} cannot be read: {exc.strerror or exc}") from None
    secret = None if password is None else password.encode("utf-8")
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except (ValueError, TypeError):
        hint = ""
        if data.lstrip().startswith(b"-----BEGIN"):
            hint = " (it is a PEM text file; export the key and certificate together as .p12)"
        elif password is None:
            hint = " (no password was given)"
        raise SigningError(f"the PKCS#12 file {path} cannot be opened: wrong password or not a "
                           f"PKCS#12 file{hint}") from None
    except Exception as exc:  # an unsupported algorithm inside the file, for instance
        raise SigningError(f"the PKCS#12 file {path} cannot be opened: "
                           f"{type(exc).__name__}") from None
    if key is None:
        # a certificate without its key is filed among the "additional" certificates
        known = cert or next(iter(extra or ()), None)
        name = f" ({_common_name(known)})" if known is not None else ""
        raise SigningError(f"the PKCS#12 file {path}{name} has no private key: export it again "
                           f"with the private key included")
    if cert is None:
        raise SigningError(f"the PKCS#12 file {path} has no certificate for its private key")
    name = _common_name(cert)
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise SigningError(f"the PKCS#12 file {path} ({name}): the private key does not belong to "
                           f"the certificate")
    _check_key_usage(cert, name)
    try:
        asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        asn1_key = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                 for c in extra or ()]
        registry = SimpleCertificateStore()
        registry.register_multiple(chain)
        inner = signers.SimpleSigner(signing_cert=asn1_cert, signing_key=asn1_key,
                                     cert_registry=registry)
    except Exception as exc:
        raise SigningError(f"the PKCS#12 file {path} ({name}) holds a key this tool cannot sign "
                           f"with: {type(exc).__name__}") from None
    signer = Signer(common_name=name, not_before=cert.not_valid_before_utc,
                    not_after=cert.not_valid_after_utc, certificate=cert, source=str(path),
                    _signer=inner)
    signer.check_valid_at(at or dt.datetime.now(dt.UTC))
    return signer


def _check_key_usage(cert: x509.Certificate, name: str) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return  # no restriction stated
    if not (usage.digital_signature or usage.content_commitment):
        raise SigningError(f"the signing certificate ({name}) is not allowed to sign documents: "
                           f"it lacks the digitalSignature and nonRepudiation key usages")


# --------------------------------------------------------------------------- signing

class _UntouchedMetadataWriter(IncrementalPdfFileWriter):
    """An incremental writer that leaves the rendered Info dictionary and XMP packet alone.

    pyHanko normally rewrites both on every update (its own Producer and the current time, XMP
    re-serialised and compressed), which breaks PDF/A's rule that Info and XMP agree and makes
    the output depend on the clock. Its maintainer's advice is to override ``_update_meta``.
    """

    def __init__(self, stream: io.BytesIO, *, second_id: bytes):
        super().__init__(stream)
        # the first /ID half must stay; the second marks this revision (derived, not random)
        self._document_id = generic.ArrayObject([self._document_id[0],
                                                 generic.ByteStringObject(second_id)])

    def _update_meta(self) -> None:
        return None


class _FixedTimeSigner(signers.PdfSigner):
    """A PdfSigner whose signing time is the given moment instead of the clock's."""

    def __init__(self, *args: Any, when: dt.datetime, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._when = when

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._when
        return session


def sign_pdf(pdf: bytes, signer: Signer, *, signer_name: str, reason: str, location: str,
             contact: str, when: dt.datetime) -> bytes:
    """Return ``pdf`` with an incremental PAdES B-B signature by ``signer`` dated ``when``.

    The signature field is invisible (no appearance, so no font to embed, which PDF/A would
    require); readers list it in their signature panel. Same inputs give the same bytes for RSA
    keys (ECDSA signatures carry a random nonce).
    """
    when = _aware(when, "when").astimezone(dt.UTC).replace(microsecond=0)
    signer.check_valid_at(when)
    try:
        seed = hashlib.sha256(pdf + when.isoformat().encode("ascii")).digest()[:16]
        writer = _UntouchedMetadataWriter(io.BytesIO(pdf), second_id=seed)
        field_name = f"Signature{_count_signature_fields(writer.prev) + 1}"
    except Exception as exc:
        raise SigningError(f"the PDF cannot be signed: it cannot be read ({_brief(exc)})") from None
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, name=signer_name, reason=reason, location=location,
        contact_info=contact, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256")
    pdf_signer = _FixedTimeSigner(meta, signer._signer, when=when)
    try:
        with _quiet_pyhanko():
            out = pdf_signer.sign_pdf(writer)
    except Exception as exc:
        raise SigningError(f"the PDF could not be signed: {_brief(exc)}") from None
    return out.getvalue()


def _count_signature_fields(reader: PdfFileReader) -> int:
    return sum(1 for _ in fields.enumerate_sig_fields(reader, filled_status=None))


# --------------------------------------------------------------------------- checking

def check_signatures(pdf_path: Path, trust_roots: list | None = None) -> SignatureReport:
    """Check every signature in a PDF: intact, covering the whole file, and (given roots) trusted.

    ``trust_roots`` are certificates (cryptography or asn1crypto objects, DER/PEM bytes, or paths
    to PEM/DER files). Without them, trust is not judged and that is not a problem.
    """
    path = Path(pdf_path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return SignatureReport(signed=False, problems=[
            f"{path.name} cannot be read: {exc.strerror or exc}"])
    try:
        roots = _load_roots(trust_roots) if trust_roots else []
    except SigningError as exc:
        return SignatureReport(signed=_looks_signed(data), problems=[str(exc)])
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except Exception as exc:
        if _looks_signed(data):
            return SignatureReport(signed=True, problems=[
                f"the document was changed after signing: it can no longer be read as a PDF "
                f"({_brief(exc)})"])
        return SignatureReport(signed=False, problems=[
            f"{path.name} cannot be read as a PDF ({_brief(exc)})"])
    if not embedded:
        return SignatureReport(signed=False)
    infos: list[SignatureInfo] = []
    problems: list[str] = []
    for index, sig in enumerate(embedded, start=1):
        with _quiet_pyhanko():
            info, found = _check_one(index, sig, roots, len(data))
        infos.append(info)
        problems.extend(found)
    return SignatureReport(signed=True, signatures=infos, problems=problems)


def _check_one(index: int, sig, roots: list, file_size: int) -> tuple[SignatureInfo, list[str]]:
    name = _signer_name(sig)
    label = f"signature {index} ({name})"
    try:
        signed_at = sig.self_reported_timestamp
    except Exception:
        signed_at = None
    problems: list[str] = []
    try:
        context = ValidationContext(trust_roots=roots, allow_fetching=False,
                                    revocation_mode="soft-fail",
                                    moment=signed_at or dt.datetime.now(dt.UTC))
        status = validate_pdf_signature(sig, signer_validation_context=context, skip_diff=True)
    except Exception as exc:
        problems.append(f"{label}: the signature cannot be checked ({_brief(exc)})")
        info = SignatureInfo(index=index, field_name=str(sig.field_name), signer=name,
                             signed_at=signed_at, intact=False, covers_whole_file=False,
                             trusted=False if roots else None, trust="not checked")
        return info, problems
    intact = bool(status.intact and status.valid)
    covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if not status.intact:
        problems.append(f"{label}: the document was changed after signing (the signed bytes no "
                        f"longer match the signature)")
    elif not status.valid:
        problems.append(f"{label}: the signature value does not verify with the signer's "
                        f"certificate")
    if not covers:
        problems.append(f"{label}: the document was changed after signing "
                        f"({_after_signing(sig, file_size)})")
    if roots:
        trusted = bool(status.trusted)
        if trusted:
            trust = "signer's certificate chains to a trusted root"
        else:
            trust = "signer's certificate does not chain to a trusted root"
            problems.append(f"{label}: the {trust}")
    else:
        trusted, trust = None, NOT_CHECKED
    try:
        cert_sha = sig.signer_cert.sha256.hex()
    except Exception:
        cert_sha = ""
    info = SignatureInfo(index=index, field_name=str(sig.field_name), signer=name,
                         signed_at=signed_at, intact=intact, covers_whole_file=covers,
                         trusted=trusted, trust=trust, cert_sha256=cert_sha)
    return info, problems


def _after_signing(sig, file_size: int) -> str:
    try:
        _start, len1, start2, len2 = (int(v) for v in sig.byte_range)
        extra = file_size - (start2 + len2)
    except Exception:
        return "the signed range does not cover the file"
    if len1 >= 0 and extra > 0:
        return f"{extra} bytes were added after the signature"
    return "the signed range does not cover the file"


def _signer_name(sig) -> str:
    try:
        names = sig.signer_cert.subject.native
        if names.get("common_name"):
            return _printable(str(names["common_name"]))
    except Exception:
        pass
    try:
        return _printable(str(sig.sig_object["/Name"]))
    except Exception:
        return "unknown signer"


def _load_roots(items: Iterable[Any]) -> list[asn1_x509.Certificate]:
    roots: list[asn1_x509.Certificate] = []
    for item in items:
        if isinstance(item, asn1_x509.Certificate):
            roots.append(item)
        elif isinstance(item, x509.Certificate):
            roots.append(asn1_x509.Certificate.load(item.public_bytes(serialization.Encoding.DER)))
        elif isinstance(item, (bytes, bytearray, str, Path)):
            roots.extend(_certs_from(item))
        else:
            raise SigningError(f"a trust root must be a certificate or a certificate file, not "
                               f"{type(item).__name__}")
    return roots


def _certs_from(item: bytes | bytearray | str | Path) -> list[asn1_x509.Certificate]:
    label = "a trust root"
    if isinstance(item, (str, Path)):
        label = f"the trust root file {item}"
        try:
            item = Path(item).read_bytes()
        except OSError as exc:
            raise SigningError(f"{label} cannot be read: {exc.strerror or exc}") from None
    data = bytes(item)
    try:
        if asn1_pem.detect(data):
            certs = [asn1_x509.Certificate.load(der)
                     for kind, _h, der in asn1_pem.unarmor(data, multiple=True)
                     if kind == "CERTIFICATE"]
        else:
            certs = [asn1_x509.Certificate.load(data)]
        for cert in certs:
            _ = cert.native  # parse now, so a broken file is named here
    except Exception:
        raise SigningError(f"{label} is not a PEM or DER certificate") from None
    if not certs:
        raise SigningError(f"{label} holds no certificate")
    return certs


# --------------------------------------------------------------------------- the manifest

def sign_detached(data: bytes, signer: Signer, when: dt.datetime) -> bytes:
    """A detached CMS signature (DER) of ``data`` by ``signer`` at ``when``: manifest.json.sig,
    which covers every file of the folder through the manifest's hashes."""
    import asyncio

    from asn1crypto import cms
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
    when = _aware(when, "when").astimezone(dt.UTC).replace(microsecond=0)
    signer.check_valid_at(when)
    content = cms.ContentInfo({"content_type": "data", "content": data})
    try:
        with _quiet_pyhanko():
            out = asyncio.run(signer._signer.async_sign_general_data(
                content, "sha256", detached=True,
                signed_attr_settings=PdfCMSSignedAttributes(signing_time=when)))
    except Exception as exc:
        raise SigningError(f"the manifest could not be signed: {_brief(exc)}") from None
    return out.dump()


def check_detached(data: bytes, signature: bytes) -> tuple[str, list[str]]:
    """(the signer certificate's SHA-256, problems) for a detached CMS signature of ``data``."""
    import asyncio

    from asn1crypto import cms
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
    try:
        info = cms.ContentInfo.load(signature)
        signed = info["content"]
        if info["content_type"].native != "signed_data":
            raise ValueError("not CMS signed data")
        cert = signed["signer_infos"][0]["sid"]   # parsed now, so a damaged file is named here
        del cert
    except Exception:
        return "", ["it is not a CMS signature"]
    try:
        context = ValidationContext(trust_roots=[], allow_fetching=False, revocation_mode="soft-fail")
        with _quiet_pyhanko():
            status = asyncio.run(async_validate_detached_cms(data, signed, signer_validation_context=context))
    except Exception as exc:
        return "", [f"the signature cannot be checked ({_brief(exc)})"]
    cert_sha = status.signing_cert.sha256.hex() if status.signing_cert is not None else ""
    if not status.intact:
        return cert_sha, ["manifest.json was changed after signing"]
    if not status.valid:
        return cert_sha, ["the signature value does not verify with the signer's certificate"]
    return cert_sha, []


# --------------------------------------------------------------------------- small helpers

@contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    # pyHanko logs expected outcomes (a self-signed certificate, an untrusted chain) as warnings
    # with tracebacks; this module reports them in words, so keep them off the console.
    loggers = [logging.getLogger(name) for name in ("pyhanko", "pyhanko_certvalidator")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


_SIGNATURE_MARK = re.compile(rb"/ByteRange\s*\[")


def _looks_signed(data: bytes) -> bool:
    return bool(_SIGNATURE_MARK.search(data))


def _aware(moment: dt.datetime, what: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must carry a time zone")
    return moment


def _day(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d")


def _minute(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else cert.subject.rfc4514_string()
    return _printable(value if isinstance(value, str) else value.decode("utf-8", "replace"))


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def _printable(text: str) -> str:
    # certificate text comes from outside: keep it to one plain line
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return cleaned[:200] or "unnamed"


def _brief(exc: BaseException) -> str:
    text = _printable(str(exc)) if str(exc) else type(exc).__name__
    return text[:300]
