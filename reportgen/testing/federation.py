"""Workload identity federation and managed identity for the fake identity platform (tests only).

``FederatedIssuer`` stands in for an external OpenID issuer (a Kubernetes cluster, a CI system, or
Azure's managed identity service): it signs short-lived JWTs, and the fake token endpoint accepts
one as a client assertion when its issuer, subject and audience are those of a federated credential
registered on the app, its signature is the issuer's and it has not expired.
``managed_identity_answer`` is the App Service identity endpoint (``IDENTITY_ENDPOINT``), which
msal's ManagedIdentityClient calls.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


def _b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _b64u_dec(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@dataclass
class FederatedIssuer:
    issuer: str = "https://oidc.fake.example/cluster-1"
    subjects: set[str] = field(default_factory=lambda: {"system:serviceaccount:reportgen:reportgen"})
    kid: str = field(default_factory=lambda: uuid.uuid4().hex)
    seen: list[dict[str, Any]] = field(default_factory=list)   # claims of every assertion accepted

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._lock = threading.Lock()

    def token(self, subject: str | None = None, *, lifetime: float = 600, audience: str = EXCHANGE_AUDIENCE) -> str:
        """A signed JWT as the platform would project it (negative lifetime: already expired)."""
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        claims = {"iss": self.issuer, "sub": subject or sorted(self.subjects)[0], "aud": [audience],
                  "iat": now, "nbf": now - 5, "exp": int(now + lifetime), "jti": uuid.uuid4().hex}
        signing_input = f"{_b64u(json.dumps(header).encode())}.{_b64u(json.dumps(claims).encode())}"
        sig = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64u(sig)}"

    def owns(self, assertion: str) -> bool:
        try:
            return json.loads(_b64u_dec(assertion.split(".")[0])).get("kid") == self.kid
        except (ValueError, IndexError, AttributeError):
            return False

    def check(self, assertion: str) -> str | None:
        """None when the assertion is acceptable; else the AADSTS message Entra ID would give."""
        try:
            h, p, s = assertion.split(".")
            claims = json.loads(_b64u_dec(p))
            self._key.public_key().verify(_b64u_dec(s), f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return "AADSTS700211: No matching federated identity record found for presented assertion issuer."
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if claims.get("iss") != self.issuer or claims.get("sub") not in self.subjects:
            return ("AADSTS70021: No matching federated identity record found for presented assertion. "
                    f"Assertion Issuer: '{claims.get('iss')}'. Assertion Subject: '{claims.get('sub')}'.")
        if EXCHANGE_AUDIENCE not in auds:
            return "AADSTS700212: No matching federated identity record found for presented assertion audience."
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < time.time():
            return "AADSTS700024: Client assertion is not within its valid time range."
        with self._lock:
            self.seen.append(claims)
        return None


@dataclass
class FakeManagedIdentity:
    """One managed identity on the fake Azure compute: its client id, the header secret msal must
    send, and the subject its federated tokens carry."""
    client_id: str = "9a0b1c2d-0000-4000-8000-00000000a11d"
    object_id: str = "5e6f7a8b-0000-4000-8000-00000000b0b0"
    header: str = field(default_factory=lambda: uuid.uuid4().hex)
    requests: list[dict[str, str]] = field(default_factory=list)


def managed_identity_answer(fake, mi: FakeManagedIdentity, params: dict[str, str],
                            headers) -> tuple[int, dict[str, str], bytes]:
    """The App Service identity endpoint: a federated token for the exchange audience, or (for the
    identity's own Graph access) an access token from the fake identity platform."""
    mi.requests.append(dict(params))
    if headers.get("X-IDENTITY-HEADER") != mi.header:
        return 401, {}, json.dumps({"statusCode": 401, "message": "Unauthorized request"}).encode()
    wanted = params.get("client_id")
    if wanted and wanted != mi.client_id:
        return 400, {}, json.dumps({"statusCode": 400, "message": "No User Assigned or Delegated Managed "
                                    "Identity found for specified ClientId/ResourceId/PrincipalId."}).encode()
    resource = params.get("resource", "")
    if resource.startswith(EXCHANGE_AUDIENCE):
        token = fake.federation.token(mi.object_id, audience=resource)
    else:
        token = fake.issue_token(resource, appid=mi.client_id)
    return 200, {}, json.dumps({"access_token": token, "expires_on": str(int(time.time()) + 3600),
                                "resource": resource, "token_type": "Bearer", "client_id": mi.client_id}).encode()
