"""A fake Microsoft identity platform + Graph over real HTTPS, serving a ``reportgen.collect.demo.Tenant``.

    with FakeGraph(tenant, client_secret="s3cret") as fg:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fg.ca_bundle_path)
        ... authority_host=fg.url, graph_endpoint=fg.url ...

Serves on 127.0.0.1 (TLS with a throwaway CA; SAN 127.0.0.1 and localhost):
- ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and ``POST /{tenant}/oauth2/v2.0/token``
  (client_credentials with client_secret, or client_assertion signed by a registered certificate);
  tokens are unsigned JWTs whose payload carries ``roles`` (or opaque strings with ``opaque_tokens``).
  A client assertion may also be a federated token signed by ``federation`` (workload identity
  federation), and ``GET /msi/token`` is a managed identity endpoint (see ``testing/federation.py``).
- Graph v1.0 and beta: the datasets of ``Tenant.objects``, ``Tenant.groups`` (transitiveMembers),
  ``Tenant.methods`` (per user, also through ``POST /v1.0/$batch``), ``Tenant.errors`` as Graph error
  JSON; real paging ($top, $skiptoken, absolute nextLink), ``$select``, the sign-in ``$filter``.
- Application permissions are enforced from the token's roles (403 Authorization_RequestDenied).

Fault injection: ``script(path, *faults)`` queues answers for the next requests to a path (see the
helpers ``throttle``, ``unavailable``, ``unauthorized``, ``html``, ``truncated``, ``redirect``,
``stall``, ``foreign_next_link``, ``error``); ``batch_item_faults`` for items inside ``$batch``;
``counts`` per path and ``log`` of every request.

Latency and pacing, the way Graph behaves: ``latency`` is the round trip added to each request, half
before the request *arrives* (is counted) and half before the answer leaves; ``latency=(mean, jitter)``
or ``latency_jitter=j`` draws each half at random so that round trips spread over mean ± jitter.
``pacing=(limit, window)`` limits report-API requests (sign-ins, registration details, users with
signInActivity) per app (the token's client id) per tenant to ``limit`` arrivals in any ``window``
seconds, sliding, decided in arrival order; beyond it: 429 + Retry-After (counted in
``pacing_violations``; scripted faults stand in for the service and are not counted).
"""
from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import ipaddress
import json
import math
import random
import re
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from reportgen.testing.federation import FakeManagedIdentity, FederatedIssuer, managed_identity_answer

ALL_ROLES = ["Organization.Read.All", "User.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.Read.All",
             "Policy.Read.All", "RoleManagement.Read.Directory", "GroupMember.Read.All"]
NO_P1 = ("Authentication_RequestFromNonPremiumTenantOrB2CTenant",
         "Tenant does not have a SKU required for this feature.")

# path pattern -> (dataset, permission, also-accepted permissions)
_DIRECTORY = ("Directory.Read.All",)
ROUTES: list[tuple[re.Pattern[str], str, str, tuple[str, ...]]] = [
    (re.compile(r"^/(v1\.0|beta)/organization$"), "organization", "Organization.Read.All", _DIRECTORY),
    (re.compile(r"^/(v1\.0|beta)/subscribedSkus$"), "subscribedSkus", "Organization.Read.All", _DIRECTORY),
    (re.compile(r"^/(v1\.0|beta)/users$"), "users", "User.Read.All", _DIRECTORY),
    (re.compile(r"^/(v1\.0|beta)/reports/authenticationMethods/userRegistrationDetails$"), "userRegistrationDetails",
     "AuditLog.Read.All", ()),
    (re.compile(r"^/(v1\.0|beta)/users/([^/]+)/authentication/methods$"), "userMethods",
     "UserAuthenticationMethod.Read.All", ()),
    (re.compile(r"^/(v1\.0|beta)/identity/conditionalAccess/policies$"), "conditionalAccessPolicies", "Policy.Read.All", ()),
    (re.compile(r"^/(v1\.0|beta)/identity/conditionalAccess/namedLocations$"), "namedLocations", "Policy.Read.All", ()),
    (re.compile(r"^/(v1\.0|beta)/policies/identitySecurityDefaultsEnforcementPolicy$"), "securityDefaults",
     "Policy.Read.All", ()),
    (re.compile(r"^/(v1\.0|beta)/policies/authenticationMethodsPolicy$"), "authenticationMethodsPolicy",
     "Policy.Read.All", ()),
    (re.compile(r"^/(v1\.0|beta)/roleManagement/directory/roleAssignments$"), "roleAssignments",
     "RoleManagement.Read.Directory", ("RoleManagement.Read.All",)),
    (re.compile(r"^/(v1\.0|beta)/roleManagement/directory/roleEligibilitySchedules$"), "roleEligibilitySchedules",
     "RoleManagement.Read.Directory", ("RoleManagement.Read.All",)),
    (re.compile(r"^/(v1\.0|beta)/roleManagement/directory/roleAssignmentSchedules$"), "roleAssignmentSchedules",
     "RoleManagement.Read.Directory", ("RoleManagement.Read.All",)),
    (re.compile(r"^/(v1\.0|beta)/groups/([^/]+)/transitiveMembers$"), "groupMembers", "GroupMember.Read.All",
     _DIRECTORY + ("Group.Read.All",)),
    (re.compile(r"^/(v1\.0|beta)/groups$"), "groups", "GroupMember.Read.All", _DIRECTORY + ("Group.Read.All",)),
    (re.compile(r"^/(v1\.0|beta)/auditLogs/signIns$"), "signIns", "AuditLog.Read.All", ()),
]
SINGLE = {"securityDefaults", "authenticationMethodsPolicy"}
MAX_TOP = {"signIns": 1000}
DEFAULT_TOP = 100


# ---------------------------------------------------------------------------------------------
# Faults
@dataclass
class Fault:
    status: int = 200
    body: bytes | None = None           # None: the normal answer
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0                  # seconds to wait before answering
    foreign_next: str | None = None     # replace the nextLink origin of the normal answer
    truncate: bool = False              # cut the normal answer in half


def throttle(retry_after: float | None = None) -> Fault:
    h = {"Retry-After": _num(retry_after)} if retry_after is not None else {}
    return Fault(429, _err("TooManyRequests", "Too many requests"), h)


def unavailable(status: int = 503) -> Fault:
    return Fault(status, _err("ServiceUnavailable", "Service unavailable"))


def unauthorized() -> Fault:
    return Fault(401, _err("InvalidAuthenticationToken", "Access token has expired or is not yet valid."))


def error(status: int, code: str, message: str = "error") -> Fault:
    return Fault(status, _err(code, message))


def html(status: int = 200) -> Fault:
    return Fault(status, b"<!DOCTYPE html><html><body><h1>Web filter</h1>Access to this site is blocked.</body></html>",
                 {"Content-Type": "text/html; charset=utf-8"})


def truncated() -> Fault:
    return Fault(truncate=True)


def redirect(to: str, status: int = 302) -> Fault:
    return Fault(status, b"", {"Location": to})


def stall(seconds: float) -> Fault:
    return Fault(stall=seconds)


def foreign_next_link(origin: str = "https://graph.evil.example") -> Fault:
    return Fault(foreign_next=origin)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _err(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "innerError": {
        "date": "2026-12-01T06:00:00", "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4())}}}).encode()


# ---------------------------------------------------------------------------------------------
# Certificates
def _b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _b64u_dec(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost: (ca.pem, server.pem, server.key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("reportgen test CA")).issuer_name(_name("reportgen test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


def make_client_certificate(directory: Path) -> tuple[Path, Path]:
    """An RSA key and self-signed certificate for certificate (client assertion) auth: (key.pem, cert.pem)."""
    now = dt.datetime.now(dt.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name("reportgen collector")).issuer_name(_name("reportgen collector"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    kp, cp = directory / "app.key", directory / "app.pem"
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return kp, cp


# ---------------------------------------------------------------------------------------------
class FakeGraph:
    def __init__(self, tenant, *, client_id: str | None = None, client_secret: str | None = "s3cret",
                 certificate_pem: bytes | None = None, roles: list[str] | None = None, opaque_tokens: bool = False,
                 enforce_roles: bool = True, latency: float | tuple[float, float] = 0.0,
                 latency_jitter: float = 0.0, pacing: tuple[int, float] | None = None,
                 report_retry_after: float | None = None, signin_activity_p1: bool | None = None,
                 shuffle_batch: bool = True, record_bodies: bool = False, seed: int | None = None):
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.certificate = x509.load_pem_x509_certificate(certificate_pem) if certificate_pem else None
        self.roles = list(ALL_ROLES if roles is None else roles)
        self.opaque_tokens = opaque_tokens
        self.enforce_roles = enforce_roles
        if isinstance(latency, tuple):
            latency, latency_jitter = latency
        self.latency = float(latency)            # mean round trip, seconds
        self.latency_jitter = float(latency_jitter)
        self._rng = random.Random(seed)
        self.pacing = pacing
        self.report_retry_after = report_retry_after
        users = tenant.objects.get("users", [])
        self.signin_activity_p1 = (any("signInActivity" in u for u in users)
                                   if signin_activity_p1 is None else signin_activity_p1)
        self.shuffle_batch = shuffle_batch
        self.record_bodies = record_bodies
        self.bodies: list[bytes] = []                  # every body sent (with record_bodies)
        self.issued: list[str] = []                    # every access token ever issued
        self._lock = threading.Lock()
        self._scripts: dict[str, collections.deque[Fault]] = collections.defaultdict(collections.deque)
        self.batch_item_faults: collections.deque[Fault] = collections.deque()
        self.counts: collections.Counter[str] = collections.Counter()
        self.log: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.tokens: dict[str, dict[str, Any]] = {}     # issued token -> claims
        self._arrivals: dict[tuple[str, str], collections.deque[float]] = {}   # (tenant, app) -> admitted
        self.pacing_violations = 0                      # 429s sent because the pacing limit was exceeded
        self.federation = FederatedIssuer()            # workload identity federation (tokens it signs)
        self.managed_identity = FakeManagedIdentity()   # served at /msi/token (App Service style)
        self.federation.subjects.add(self.managed_identity.object_id)
        self._tmp = tempfile.TemporaryDirectory(prefix="fakegraph-")
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.ca_bundle_path = ""

    # ---- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> FakeGraph:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        ca, cert, key = make_tls(Path(self._tmp.name))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        fake = self

        class Handler(_Handler):
            graph = fake

        server = _Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self.url = f"https://127.0.0.1:{server.server_address[1]}"
        self.ca_bundle_path = str(ca)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._tmp.cleanup()

    # ---- hooks --------------------------------------------------------------------------------
    def script(self, path: str, *faults: Fault) -> None:
        """Answer the next requests to ``path`` (no query; e.g. "/v1.0/users", "/token") with these faults."""
        with self._lock:
            self._scripts[path].extend(faults)

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def paths(self, prefix: str) -> int:
        return sum(n for p, n in self.counts.items() if p.startswith(prefix))

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            q = self._scripts.get(path)
            return q.popleft() if q else None

    def _count(self, method: str, path: str, query: str, status: int, arrived: float | None = None) -> None:
        with self._lock:
            self.counts[path] += 1
            self.log.append({"method": method, "path": path, "query": query, "status": status, "t": time.monotonic(),
                             "arrived": arrived})

    @property
    def throttled(self) -> int:
        """429 answers sent (scripted or for pacing; items inside $batch not included)."""
        with self._lock:
            return sum(1 for e in self.log if e["status"] == 429)

    def _legs(self) -> tuple[float, float]:
        """(inbound, outbound) delay of one request: half the round trip each, jittered independently."""
        half, spread = self.latency / 2, self.latency_jitter / 2
        if not spread:
            return half, half
        with self._lock:
            return (max(0.0, half + self._rng.uniform(-spread, spread)),
                    max(0.0, half + self._rng.uniform(-spread, spread)))

    def _arrive(self, method: str, path: str, query: str, headers, paced: bool = True) -> tuple[float, float | None]:
        """A request arrives: (arrival time, pacing verdict). The verdict is None when the request is
        within the limit (or not a paced one), else the seconds until the oldest counted arrival
        leaves the window. Time and verdict are taken under one lock, so decisions follow arrivals."""
        report = paced and bool(self.pacing) and method == "GET" and self._is_report(path, query)
        auth = headers.get("Authorization", "")
        with self._lock:
            now = time.monotonic()
            claims = self.tokens.get(auth[7:]) if report and auth.startswith("Bearer ") else None
            if claims is None:
                return now, None     # not paced, or answered 401: Graph throttles an app it has identified
            limit, window = self.pacing
            q = self._arrivals.setdefault((claims["tid"], claims["appid"]), collections.deque())
            while q and q[0] <= now - window:
                q.popleft()
            if len(q) < limit:
                q.append(now)
                return now, None
            self.pacing_violations += 1
            return now, q[0] + window - now

    def _is_report(self, path: str, query: str) -> bool:
        r = self._route(path)
        if r is None:
            return False
        ds = r[1]
        select = dict(parse_qsl(query, keep_blank_values=True)).get("$select", "")
        return ds in ("userRegistrationDetails", "signIns") or (
            ds == "users" and "signInActivity" in [s.strip() for s in select.split(",")])

    # ---- identity platform ---------------------------------------------------------------------
    def _tenant_ok(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant.tenant_id.lower(), self.tenant.domain.lower())

    def openid(self, tenant: str) -> tuple[int, dict[str, str], bytes]:
        if not self._tenant_ok(tenant):
            return 400, {}, json.dumps({"error": "invalid_tenant", "error_description":
                                        f"AADSTS90002: Tenant '{tenant}' not found."}).encode()
        base = f"{self.url}/{tenant}"
        doc = {"issuer": f"{base}/v2.0", "token_endpoint": f"{base}/oauth2/v2.0/token",
               "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
               "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
               "jwks_uri": f"{self.url}/{tenant}/discovery/v2.0/keys",
               "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
               "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"]}
        return 200, {}, json.dumps(doc).encode()

    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        def bad(status, err, desc):
            code = int(re.match(r"AADSTS(\d+)", desc).group(1)) if desc.startswith("AADSTS") else 0
            return status, {}, json.dumps({"error": err, "error_description": desc + "\r\nTrace ID: " + str(uuid.uuid4()),
                                           "error_codes": [code] if code else [],
                                           "timestamp": "2026-12-01 06:00:00Z"}).encode()
        rec = {"tenant": tenant, "grant_type": form.get("grant_type"), "scope": form.get("scope"),
               "client_id": form.get("client_id"), "auth": "secret" if "client_secret" in form else
               "assertion" if "client_assertion" in form else "none"}
        with self._lock:
            self.token_requests.append(rec)
        if not self._tenant_ok(tenant):
            return bad(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return bad(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
        if self.client_id and form.get("client_id") != self.client_id:
            return bad(400, "unauthorized_client", f"AADSTS700016: Application with identifier "
                                                   f"'{form.get('client_id')}' was not found in the directory.")
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return bad(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
        if "client_secret" in form:
            if self.client_secret is None or form["client_secret"] != self.client_secret:
                return bad(401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                                                  "being sent in the request is the client secret value.")
        elif "client_assertion" in form:
            problem = self._check_assertion(form["client_assertion"], tenant, form.get("client_id", ""))
            if problem:
                return bad(401, "invalid_client", problem)
        else:
            return bad(401, "invalid_client", "AADSTS7000218: The request body must contain client_assertion or client_secret.")
        tok = self.issue_token(scope[: -len("/.default")], appid=form.get("client_id", ""))
        return 200, {}, json.dumps({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                    "access_token": tok}).encode()

    def issue_token(self, audience: str, *, appid: str) -> str:
        """An access token for ``audience`` carrying the configured roles, recorded as issued."""
        if self.opaque_tokens:
            tok = "opaque-" + uuid.uuid4().hex
        else:
            payload = {"aud": audience, "iss": f"https://sts.fake/{self.tenant.tenant_id}/", "tid": self.tenant.tenant_id,
                       "appid": appid, "roles": self.roles, "exp": int(time.time()) + 3600, "jti": uuid.uuid4().hex}
            tok = f"{_b64u(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64u(json.dumps(payload).encode())}."
        with self._lock:
            self.tokens[tok] = {"aud": audience, "roles": list(self.roles), "tid": self.tenant.tenant_id, "appid": appid}
            self.issued.append(tok)
        return tok

    def _check_assertion(self, assertion: str, tenant: str, client_id: str) -> str | None:
        if self.federation.owns(assertion):
            return self.federation.check(assertion)
        if self.certificate is None:
            return "AADSTS700027: Client assertion contains an invalid signature (no certificate registered)."
        try:
            h, p, s = assertion.split(".")
            header, claims = json.loads(_b64u_dec(h)), json.loads(_b64u_dec(p))
            sig = _b64u_dec(s)
        except ValueError:
            return "AADSTS50027: Invalid JWT token. Token format not valid."
        pub = self.certificate.public_key()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        if header.get("x5t#S256") and header["x5t#S256"].rstrip("=") != _b64u(hashlib.sha256(der).digest()):
            return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered."
        if header.get("x5t") and not header.get("x5t#S256") and header["x5t"].rstrip("=") != _b64u(hashlib.sha1(der).digest()):
            return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered."
        alg = header.get("alg")
        data = f"{h}.{p}".encode()
        try:
            if alg == "PS256":
                pub.verify(sig, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size),
                           hashes.SHA256())
            elif alg == "RS256":
                pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                return f"AADSTS5002730: Invalid JWT token. Unsupported algorithm {alg}."
        except Exception:
            return "AADSTS700027: Client assertion contains an invalid signature."
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return "AADSTS700023: Client assertion issuer/subject does not match the client id."
        if not str(claims.get("aud", "")).startswith(f"{self.url}/{tenant}/"):
            return "AADSTS700024: Client assertion audience claim does not match the token endpoint."
        return None

    # ---- Graph ---------------------------------------------------------------------------------
    def graph(self, method: str, path: str, query: str, headers, body: bytes,
              throttled: float | None = None) -> tuple[int, dict[str, str], bytes]:
        """``throttled``: the pacing verdict taken when the request arrived (see ``_arrive``)."""
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return 401, {}, _err("InvalidAuthenticationToken", "Access token is empty.")
        with self._lock:
            claims = self.tokens.get(auth[7:])
        if claims is None:
            return 401, {}, _err("InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        if claims["aud"].rstrip("/") != self.url:
            return 401, {}, _err("InvalidAuthenticationToken", "Invalid audience.")
        if method == "POST" and re.fullmatch(r"/(v1\.0|beta)/\$batch", path):
            return self._batch(path.split("/")[1], body, claims)
        if method != "GET":
            return 405, {}, _err("Request_BadRequest", "Only GET is supported here.")
        return self._get(path, query, claims, throttled=throttled)

    def _route(self, path: str):
        for rx, ds, perm, alt in ROUTES:
            mt = rx.match(path)
            if mt:
                return mt, ds, perm, alt
        return None

    def _get(self, path: str, query: str, claims: dict[str, Any], batch: bool = False,
             throttled: float | None = None) -> tuple[int, dict[str, str], bytes]:
        r = self._route(path)
        if r is None:
            return 404, {}, _err("Request_ResourceNotFound", f"Resource not found for the segment '{path}'.")
        mt, ds, perm, alt = r
        if throttled is not None and not batch:   # throttling comes before anything else
            ra = self.report_retry_after if self.report_retry_after is not None else max(1, math.ceil(throttled))
            return 429, {"Retry-After": _num(ra)}, _err("TooManyRequests", "Too many requests to report APIs.")
        params = dict(parse_qsl(query, keep_blank_values=True))
        t = self.tenant
        roles = set(claims["roles"])
        if self.enforce_roles and not self.opaque_tokens and perm not in roles and not roles & set(alt):
            return 403, {}, _err("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        select = [s.strip() for s in params.get("$select", "").split(",") if s.strip()]
        if ds == "users" and "signInActivity" in select:
            if "AuditLog.Read.All" not in roles and self.enforce_roles and not self.opaque_tokens:
                return 403, {}, _err("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
            if not self.signin_activity_p1:
                return 403, {}, _err(*NO_P1)
        if ds == "signIns":
            kind, items = self._signins(params)
            err = t.errors.get(kind)
        elif ds == "groupMembers":
            gid = unquote(mt.group(2))
            if gid not in t.groups:
                return 404, {}, _err("Request_ResourceNotFound", f"Resource '{gid}' does not exist.")
            items, err = t.groups[gid], None
        elif ds == "groups":
            ids = set(re.findall(r"'([^']+)'", params.get("$filter", "")))
            items = [g for g in t.objects.get("groups", []) if not ids or g.get("id") in ids]
            err = t.errors.get("groups")
        elif ds == "userMethods":
            uid = unquote(mt.group(2))
            if uid not in t.methods:
                return 404, {}, _err("Request_ResourceNotFound", f"Resource '{uid}' does not exist.")
            items, err = t.methods[uid], None
        else:
            items, err = t.objects.get(ds), t.errors.get(ds)
        if err:
            status, code, msg = err
            return status, {}, _err(code, msg)
        if items is None:
            return 404, {}, _err("Request_ResourceNotFound", f"Resource not found for the segment '{path}'.")
        context = f"{self.url}{path.split('/')[0]}/{path.split('/')[1]}/$metadata#{ds}"
        if ds in SINGLE or isinstance(items, dict):
            return 200, {}, json.dumps({"@odata.context": context, **_select(items, select)}).encode()
        cap = MAX_TOP.get(ds, 999)
        if ds == "users" and "signInActivity" in select:
            cap = 500
        try:
            top = int(params.get("$top", DEFAULT_TOP))
        except ValueError:
            return 400, {}, _err("Request_BadRequest", "Invalid $top.")
        if top < 1 or top > cap:
            return 400, {}, _err("Request_UnsupportedQuery", f"$top must be between 1 and {cap}.")
        skip = params.get("$skiptoken", "")
        start = int(skip[1:]) if skip.startswith("X") and skip[1:].isdigit() else 0
        page = [_select(o, select) for o in items[start:start + top]]
        doc: dict[str, Any] = {"@odata.context": context, "value": page}
        if start + top < len(items):
            rest = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "$skiptoken"]
            q = "&".join(f"{k}={quote(v, safe=chr(36) + ',:()/' + chr(39))}" for k, v in rest + [("$skiptoken", f"X{start + top}")])
            doc["@odata.nextLink"] = f"{self.url}{path}?{q}"
        return 200, {}, json.dumps(doc, separators=(",", ":")).encode()

    def _signins(self, params: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
        flt = params.get("$filter", "")
        m_ge = re.search(r"createdDateTime ge (\S+)", flt)
        since = _parse_time(m_ge.group(1)) if m_ge else None
        apps = {a.lower() for a in re.findall(r"appId eq '([^']+)'", flt)}
        resources = {a.lower() for a in re.findall(r"resourceId eq '([^']+)'", flt)}
        m_ev = re.search(r"signInEventTypes/any\(\w+: \w+ (eq|ne) '(\w+)'\)", flt)
        want = "interactiveUser"
        if m_ev:
            want = m_ev.group(2) if m_ev.group(1) == "eq" else ("nonInteractiveUser" if m_ev.group(2) == "interactiveUser"
                                                               else "interactiveUser")
        kind = "signInsNonInteractive" if want == "nonInteractiveUser" else "signIns"
        items = []
        for s in self.tenant.objects.get(kind, []):
            if since and (_parse_time(s.get("createdDateTime")) or since) < since:
                continue
            if (apps or resources) and str(s.get("appId", "")).lower() not in apps and \
                    str(s.get("resourceId", "")).lower() not in resources:
                continue   # the filter is "(appId eq .. or resourceId eq ..)": either one selects
            items.append(s)
        return kind, items

    def _batch(self, version: str, body: bytes, claims: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        try:
            reqs = json.loads(body)["requests"]
        except (ValueError, KeyError, TypeError):
            return 400, {}, _err("BadRequest", "Invalid batch payload.")
        if not isinstance(reqs, list) or not 1 <= len(reqs) <= 20:
            return 400, {}, _err("BadRequest", "A batch holds 1 to 20 requests.")
        out = []
        for rq in reqs:
            rid, url = rq.get("id"), rq.get("url", "")
            with self._lock:
                fault = self.batch_item_faults.popleft() if self.batch_item_faults else None
            if fault is not None:
                hdrs = {"Content-Type": "application/json", **fault.headers}
                out.append({"id": rid, "status": fault.status, "headers": hdrs,
                            "body": json.loads(fault.body) if fault.body else {}})
                continue
            p = urlsplit(url if url.startswith("/") else "/" + url)
            status, hdrs, data = self._get(f"/{version}{p.path}", p.query, claims, batch=True)
            out.append({"id": rid, "status": status, "headers": {"Content-Type": "application/json", **hdrs},
                        "body": json.loads(data)})
        if self.shuffle_batch:
            out.reverse()   # answers come in any order
        return 200, {}, json.dumps({"responses": out}, separators=(",", ":")).encode()


def _select(o: dict[str, Any], select: list[str]) -> dict[str, Any]:
    if not select:
        return o
    return {k: v for k, v in o.items() if k in select or k == "@odata.type"}


def _parse_time(v: Any) -> dt.datetime | None:
    if not isinstance(v, str):
        return None
    try:
        return dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError, OSError)):
            return  # a client that refused our certificate, or went away: expected in tests
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    graph: FakeGraph
    protocol_version = "HTTP/1.1"
    server_version = "FakeGraph/1.0"

    def log_message(self, *a) -> None:  # quiet
        pass

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            hdrs = {"Content-Type": "application/json; charset=utf-8", "request-id": str(uuid.uuid4()), **headers}
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def _handle(self, method: str) -> None:
        fg = self.graph
        split = urlsplit(self.path)
        path, query = split.path, split.query
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        inbound, outbound = fg._legs()
        if inbound:
            time.sleep(inbound)
        m_tok = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", path)
        m_oid = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", path)
        key = "/token" if m_tok else path
        fault = fg._next_fault(key)
        arrived, throttled = fg._arrive(method, path, query, self.headers, paced=not (fault and fault.body is not None))
        if fault and fault.stall:
            time.sleep(fault.stall)
        if fault and fault.body is not None:
            fg._count(method, path, query, fault.status, arrived)
            if outbound:
                time.sleep(outbound)
            return self._answer(fault.status, fault.headers, fault.body)
        if m_tok and method == "POST":
            status, hdrs, data = fg.token(m_tok.group(1), dict(parse_qsl(body.decode("utf-8", "replace"))))
        elif path == "/msi/token" and method == "GET":
            status, hdrs, data = managed_identity_answer(fg, fg.managed_identity, dict(parse_qsl(query)), self.headers)
        elif m_oid and method == "GET":
            status, hdrs, data = fg.openid(m_oid.group(1))
        elif path.startswith(("/v1.0/", "/beta/")):
            status, hdrs, data = fg.graph(method, path, query, self.headers, body, throttled)
        else:
            status, hdrs, data = 404, {}, _err("NotFound", "No such endpoint.")
        if fault and status == 200:
            if fault.truncate:
                data = data[: max(1, len(data) // 2)]
            if fault.foreign_next:
                doc = json.loads(data)
                if "@odata.nextLink" in doc:
                    u = urlsplit(doc["@odata.nextLink"])
                    doc["@odata.nextLink"] = f"{fault.foreign_next}{u.path}?{u.query}"
                    data = json.dumps(doc).encode()
        fg._count(method, path, query, status, arrived)
        if fg.record_bodies:
            with fg._lock:
                fg.bodies.append(data)
        if outbound:
            time.sleep(outbound)
        self._answer(status, hdrs, data)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")
