"""Throwaway signing certificates for tests and documentation examples (never for real reports)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


def make_test_pkcs12(path: Path, password: str | None, *, common_name: str, days: int = 30,
                     not_before: dt.datetime | None = None, organization: str | None = None,
                     key_size: int = 2048, ekus: list | None = None) -> Path:
    """Write a self-signed document-signing certificate and its key to ``path`` as PKCS#12.

    The certificate is valid from ``not_before`` (default: one hour ago) for ``days`` days and
    carries the digitalSignature and nonRepudiation key usages a PDF signature needs. Pass a
    ``not_before`` in the past with a small ``days`` to make an already expired certificate.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    name = x509.Name(attrs)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ekus:   # extended key usages (ExtendedKeyUsageOID values), e.g. a web server's serverAuth only
        cert = cert.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    cert = cert.sign(key, hashes.SHA256())
    encryption = (serialization.BestAvailableEncryption(password.encode("utf-8")) if password
                  else serialization.NoEncryption())
    data = pkcs12.serialize_key_and_certificates(common_name.encode("utf-8"), key, cert, None,
                                                 encryption)
    path = Path(path)
    path.write_bytes(data)
    return path
