"""Is the firm's signing key fit to sign an exam document? Asked by ``check`` and by ``finalize``.

A certificate made for a web server (serverAuth only), a 1024-bit RSA key or an expired certificate
would still produce a PDF signature a reader shows, and an examiner would have to discover it is
worthless. ``check`` also says which font subsetter WeasyPrint will use (speed only: the output is
byte-identical either way).
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

MIN_RSA_BITS = 2048
# extended key usages that allow signing documents (any purpose, document signing, email protection)
_DOCUMENT_EKUS = {ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string, "1.3.6.1.5.5.7.3.36",
                  ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string, "1.3.6.1.4.1.311.10.3.12",
                  "1.2.840.113583.1.1.5"}


def key_problems(cert: x509.Certificate, now: dt.datetime) -> list[str]:
    """Why ``cert`` may not sign a final report at ``now``; empty when it may."""
    problems = []
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            problems.append(f"the signing key is RSA-{key.key_size}: at least RSA-{MIN_RSA_BITS} (or an EC key) is needed")
    elif not isinstance(key, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        problems.append(f"the signing key is {type(key).__name__}: an RSA ({MIN_RSA_BITS} bits or more) or EC key is needed")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.digital_signature or usage.content_commitment):
            problems.append("the signing certificate lacks the digitalSignature and nonRepudiation key usages")
    except x509.ExtensionNotFound:
        pass
    try:
        ekus = {o.dotted_string for o in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
        if not ekus & _DOCUMENT_EKUS:
            problems.append("the signing certificate is restricted to other purposes (extended key usage "
                            f"{', '.join(sorted(_eku_names(ekus)))}), not document signing")
    except x509.ExtensionNotFound:
        pass
    if now > cert.not_valid_after_utc:
        problems.append(f"the signing certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    elif now < cert.not_valid_before_utc:
        problems.append(f"the signing certificate is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    return problems


def _eku_names(ekus: set[str]) -> list[str]:
    names = {ExtendedKeyUsageOID.SERVER_AUTH.dotted_string: "serverAuth",
             ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string: "clientAuth",
             ExtendedKeyUsageOID.CODE_SIGNING.dotted_string: "codeSigning",
             ExtendedKeyUsageOID.TIME_STAMPING.dotted_string: "timeStamping"}
    return [names.get(e, e) for e in ekus]


def check_signing(signing, ok: Callable[[str], None], fail: Callable[[str], None],
                  now: dt.datetime | None = None) -> None:
    """``check``'s lines for ``firm.signing``: opens the PKCS#12 with its password, checks the key
    and certificate, and says how many days the certificate has left."""
    if signing is None:
        return
    from reportgen.signing import SigningError, load_signer
    now = now or dt.datetime.now(dt.UTC)
    env = getattr(signing, "password_env", None)
    password = os.environ.get(env) if env else None
    if env and password is None:
        fail(f"firm.signing: the signing password is not in the environment variable {env}")
        return
    try:
        signer = load_signer(signing.pkcs12, password, at=now)
    except SigningError as e:
        fail(f"firm.signing: {e}")
        return
    problems = key_problems(signer.certificate, now)
    for p in problems:
        fail(f"firm.signing: {p}")
    if not problems:
        days = (signer.not_after - now).days
        ok(f"firm.signing: {signer.common_name} may sign reports; the certificate expires in {days:,} days "
           f"({signer.not_after:%Y-%m-%d})")


def subsetter() -> str:
    """Which font subsetter WeasyPrint will use: harfbuzz (libharfbuzz-subset0) or fontTools."""
    try:
        from weasyprint.text.ffi import harfbuzz_subset
    except Exception:
        return "fontTools"
    return "fontTools" if harfbuzz_subset is None else "harfbuzz"


def signing_lines(signing) -> list[str]:
    """Print ``check``'s lines for the firm's signing key and the font subsetter; ["firm.signing"]
    when the key cannot sign final reports, else []."""
    from reportgen.display import terminal
    failed: list[str] = []
    check_signing(signing, ok=lambda t: print(terminal(f"  ok    {t}", 400)),
                  fail=lambda t: (print(terminal(f"  FAIL  {t}", 400)), failed.append("firm.signing")))
    which = subsetter()
    print(f"  ok    reports are byte-identical on this machine (fonts subset with {which}"
          f"{'' if which == 'harfbuzz' else '; install libharfbuzz-subset0 for speed only'})")
    return failed[:1]
