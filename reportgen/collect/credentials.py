"""The ways a client's app signs in, as msal wants them: a secret, a certificate (PEM files or one
PKCS#12 file), a federated token file (workload identity federation), or a managed identity.

Secrets, keys, passwords and assertions stay in memory and are never logged or put in a message.
"""
from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msal

from reportgen.collect.errors import CollectionError

# The audience a managed identity's token must carry to be accepted as an app's federated credential.
EXCHANGE_AUDIENCE = {"global": "api://AzureADTokenExchange", "usgov": "api://AzureADTokenExchangeUSGov",
                     "usgov-dod": "api://AzureADTokenExchangeUSGov", "china": "api://AzureADTokenExchangeChina"}
MAX_ASSERTION_BYTES = 64_000   # a projected service-account token is a few KB


@dataclass(frozen=True)
class Pkcs12:
    key_pem: str
    cert_pem: str
    not_after: datetime
    not_before: datetime
    subject: str


def env_value(name: str, what: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise CollectionError(f"environment variable {name} is not set (it must hold {what})")
    if not value.strip():
        raise CollectionError(f"environment variable {name} is empty (it must hold {what})")
    return value


def load_pkcs12(path: Path, password_env: str | None) -> Pkcs12:
    """The key and certificate of a PKCS#12 (PFX) file; a CollectionError names the file and the cause
    (missing password variable, wrong password, no key or no certificate inside)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    password = env_value(password_env, f"the password of {path}").encode("utf-8") if password_env else None
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise CollectionError(f"cannot read the PKCS#12 file {path}: {e.strerror or e}") from e
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(data, password)
    except ValueError as e:
        # cryptography says "Invalid password or PKCS12 data" for both; an unreadable file says more below
        why = ("wrong password (or not a PKCS#12 file)" if password_env else
               "it is password-protected or not a PKCS#12 file: give graph.certificate.password_env")
        raise CollectionError(f"cannot open the PKCS#12 file {path}: {why}") from e
    except Exception as e:  # unsupported algorithms and the like
        raise CollectionError(f"cannot open the PKCS#12 file {path}: {type(e).__name__}") from e
    if key is None or cert is None:
        raise CollectionError(f"the PKCS#12 file {path} holds no {'private key' if key is None else 'certificate'}")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    return Pkcs12(key_pem=key_pem, cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                  not_after=cert.not_valid_after_utc, not_before=cert.not_valid_before_utc,
                  subject=cert.subject.rfc4514_string())


def read_assertion(path: Path) -> str:
    """The federated token in ``path`` as it is now: the platform replaces the file before the token
    expires, so it is read for every token request, never kept."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_ASSERTION_BYTES + 1)
    except OSError as e:
        raise CollectionError(f"cannot read the federated token file {path}: {e.strerror or e}") from e
    text = data.decode("ascii", "replace").strip()
    if len(data) > MAX_ASSERTION_BYTES or text.count(".") != 2:
        raise CollectionError(f"the federated token file {path} does not hold a JWT")
    return text


def assertion_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded but not verified (for expiry and issuer in messages); {} if none."""
    try:
        part = token.split(".")[1]
        doc = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, IndexError, TypeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def federated_expiry_problem(path: Path) -> str | None:
    """Why the token file cannot sign in now (unreadable, not a JWT, expired); None when it can."""
    try:
        claims = assertion_claims(read_assertion(path))
    except CollectionError as e:
        return str(e)
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        when = datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"the federated token in {path} expired at {when}; the platform no longer refreshes it"
    return None


class TimeoutSession:
    """A requests.Session for msal with a default timeout and no redirects."""

    def __init__(self, session, timeout: float):
        self._s, self._timeout = session, (timeout, timeout)

    def get(self, url, **kw):
        kw.setdefault("timeout", self._timeout)
        kw.setdefault("allow_redirects", False)
        return self._s.get(url, **kw)

    def post(self, url, **kw):
        kw.setdefault("timeout", self._timeout)
        kw.setdefault("allow_redirects", False)
        return self._s.post(url, **kw)

    def close(self):
        self._s.close()


class _LocalSession(TimeoutSession):
    """HTTP to the platform's identity endpoint (link-local or localhost): never through a proxy
    from HTTP(S)_PROXY; an HTTPS endpoint is still verified (REQUESTS_CA_BUNDLE as requests reads it)."""

    def __init__(self, timeout: float):
        import requests
        session = requests.Session()
        session.trust_env = False
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        super().__init__(session, timeout)


class ManagedIdentityApp:
    """msal's ManagedIdentityClient with the two calls TokenProvider makes of an msal app."""

    def __init__(self, client_id: str | None, timeout: float):
        self.http_client = _LocalSession(timeout)
        self._identity = (msal.UserAssignedManagedIdentity(client_id=client_id) if client_id
                          else msal.SystemAssignedManagedIdentity())
        self._new()

    def _new(self) -> None:
        self._mi = msal.ManagedIdentityClient(self._identity, http_client=self.http_client,
                                              token_cache=msal.TokenCache())

    def token(self, resource: str) -> dict[str, Any]:
        return self._mi.acquire_token_for_client(resource=resource)

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        return self.token(scopes[0].removesuffix("/.default"))

    def remove_tokens_for_client(self) -> None:
        self._new()


def mi_assertion(mi: ManagedIdentityApp, cloud: str) -> Callable[[], str]:
    """A client assertion from the managed identity: its token for the token-exchange audience."""
    def assertion() -> str:
        result = mi.token(EXCHANGE_AUDIENCE[cloud])
        if not isinstance(result, dict) or "access_token" not in result:
            desc = str((result or {}).get("error_description") or (result or {}).get("error") or "no token")
            raise CollectionError(f"the managed identity gave no token: {desc.splitlines()[0][:200]}")
        return result["access_token"]
    return assertion


def client_credential(graph, timeout: float) -> Any:
    """What msal's ConfidentialClientApplication takes as client_credential for this graph section."""
    kind = graph.credential
    if kind == "pkcs12":
        p = load_pkcs12(graph.certificate.pkcs12, graph.certificate.password_env)
        return {"private_key": p.key_pem, "public_certificate": p.cert_pem}
    if kind == "certificate":
        key = _read(graph.certificate.private_key, "private key")
        cert = _read(graph.certificate.public_certificate, "public certificate")
        if "PRIVATE KEY" not in key:
            raise CollectionError(f"the certificate private key {graph.certificate.private_key} "
                                  "is not a PEM private key")
        if "BEGIN CERTIFICATE" not in cert:
            raise CollectionError(f"the public certificate {graph.certificate.public_certificate} "
                                  "is not a PEM certificate")
        # msal >= 1.35 computes the SHA-256 thumbprint and x5c from public_certificate itself.
        return {"private_key": key, "public_certificate": cert}
    if kind == "federated":
        path = graph.federated_token_file
        read_assertion(path)   # fail now, with the file's name, rather than inside msal
        return {"client_assertion": lambda: read_assertion(path)}
    if kind == "managed_identity":
        mi = ManagedIdentityApp(graph.managed_identity.client_id, timeout)
        return {"client_assertion": mi_assertion(mi, graph.cloud)}
    if kind == "secret":
        return env_value(graph.client_secret_env, "the client secret")
    raise CollectionError("no credential configured (graph.client_secret_env, certificate, federated_token_file "
                          "or managed_identity)")


def _read(path: Any, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise CollectionError(f"cannot read the certificate {what} {path}: {e.strerror or e}") from e
