"""``reportgen check``, the preflight: is the configuration usable, and can each client be collected as configured?

Writes nothing: no output folder, no evidence, no token cache (msal keeps tokens in memory).
Secrets are checked for presence only and never printed.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from reportgen.cli import signin
from reportgen.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    HelpFormatter,
    add_config_argument,
    choose_clients,
    config_path,
    load_or_report,
    parse_period,
)
from reportgen.display import terminal
from reportgen.signcheck import signing_lines
from reportgen.vocab import count

DESCRIPTION = ("Validate the configuration without writing anything: the YAML and every client file, the catalogs, "
               "the firm logo, certificate files, history files, and that each live client's secret variable is set "
               "(its value is never printed). With --connect, also acquire each live client's token from its "
               "authority and report the Graph permissions the token grants against those required, and the tenant's"
               " Entra ID licences (P1/P2), still writing nothing.")

EPILOG = """\
exit status:
  0  all good
  1  a client cannot be collected as configured (each is named, with the cause)
  2  configuration error (each problem is named with file, line and field)"""

CERT_WARN_DAYS = 30
CONNECT_SECONDS = 60.0   # per client, for the token and the licence request together


def add(sub) -> None:
    chk = sub.add_parser("check", help="validate the configuration (and with --connect, each tenant's consent)",
                         description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter)
    add_config_argument(chk)
    chk.add_argument("--client", action="append", default=[], metavar="SLUG", help="only this client (repeatable)")
    chk.add_argument("--connect", action="store_true",
                     help="also sign in to each live tenant: token, granted vs required permissions, licences")
    chk.add_argument("--period", metavar="YYYY-MM", help="the month to be run: warns where a live client would be "
                     "run for a past month (live collection reads the tenant as it is now)")
    chk.set_defaults(handler=handle)


@dataclass
class Report:
    """What was found for one client: lines to show, and the problems that stop its collection."""
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self.lines.append(f"  ok    {text}")

    def warn(self, text: str) -> None:
        self.lines.append(f"  note  {text}")

    def info(self, text: str) -> None:
        self.lines.append(f"  info  {text}")

    def fail(self, text: str) -> None:
        self.lines.append(f"  FAIL  {text}")
        self.problems.append(text)


def handle(args) -> int:
    path = config_path(args.config)
    cfg = load_or_report(path)
    if cfg is None:
        return EXIT_USAGE
    chosen = choose_clients(cfg, args.client)
    period = parse_period(args.period) if args.period else None
    print(f"configuration {path}: valid ({count(len(cfg.clients), 'client')}); catalogs valid")
    if cfg.firm.logo is not None:
        print(f"  ok    firm logo {cfg.firm.logo}")
    failed_signing = signing_lines(cfg.firm.signing)   # key fit to sign, days to expiry, font subsetter
    failed: list[str] = []
    for client in chosen:
        rep = Report()
        _offline(client, rep)
        if client.source == "graph":
            signin.placeholders(client, rep)
            if signin.past_period(period):
                rep.warn(signin.past_period(period))
        if args.connect and client.source == "graph" and not rep.problems:
            _connect(client, rep)
        elif client.source == "graph" and not args.connect:
            rep.warn("sign-in not tried (add --connect to test the token, permissions and licences)")
        verdict = "cannot be collected as configured" if rep.problems else "ok"
        print(f"{client.slug} ({_describe(client)}): {verdict}")
        for line in rep.lines:
            print(terminal(line, 400))
        if rep.problems:
            failed.append(client.slug)
    failed += failed_signing
    if failed:
        print(f"check: {count(len(chosen) - len(failed), 'client')} ok; {len(failed):,} cannot be collected as "
              f"configured: {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"check: {count(len(chosen), 'client')} ok", file=sys.stderr)
    return EXIT_OK


def _describe(c) -> str:
    if c.source == "demo":
        return f"demo tenant, profile {c.demo_profile}"
    if c.source == "evidence":
        return f"stored evidence in {c.evidence_dir}"
    return f"live tenant {c.tenant_id}, {c.graph.cloud} cloud"


def _offline(c, rep: Report) -> None:
    if c.history is not None:
        rep.ok(f"history {c.history}")
    if c.source == "evidence":
        rep.ok(f"evidence folder {c.evidence_dir} has collection.json")
    if c.source != "graph":
        return
    g = c.graph
    rep.ok(f"authority {g.authority}, Graph {g.endpoint}")
    if g.credential == "certificate":
        _certificate(g.certificate, rep)
    elif g.credential == "secret":
        _secret(g.client_secret_env, rep)
    else:
        signin.offline(c, rep)
    if signin.consent_url(c):
        rep.info(f"admin consent (the client's Global Administrator opens it once): {signin.consent_url(c)}")


def _secret(name: str, rep: Report) -> None:
    import os
    value = os.environ.get(name)
    if value is None:
        rep.fail(f"environment variable {name} is not set (it must hold the client secret)")
    elif not value.strip():
        rep.fail(f"environment variable {name} is empty (it must hold the client secret)")
    else:
        rep.ok(f"client secret: environment variable {name} is set (value not shown)")


def _certificate(cert, rep: Report) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    try:
        key = serialization.load_pem_private_key(cert.private_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        rep.fail(f"certificate private key {cert.private_key}: not an unencrypted PEM private key "
                 f"({type(e).__name__})")
        return
    try:
        pub = x509.load_pem_x509_certificate(cert.public_certificate.read_bytes())
    except (OSError, ValueError) as e:
        rep.fail(f"public certificate {cert.public_certificate}: not a PEM certificate ({type(e).__name__})")
        return
    pem = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.PEM, pem) != \
            pub.public_key().public_bytes(serialization.Encoding.PEM, pem):
        rep.fail(f"the private key {cert.private_key} does not belong to the certificate {cert.public_certificate}")
        return
    now = datetime.now(UTC)
    ends = pub.not_valid_after_utc
    if ends < now:
        rep.fail(f"certificate {cert.public_certificate} expired on {ends:%Y-%m-%d}")
    elif pub.not_valid_before_utc > now:
        rep.fail(f"certificate {cert.public_certificate} is not valid before {pub.not_valid_before_utc:%Y-%m-%d}")
    elif ends - now < timedelta(days=CERT_WARN_DAYS):
        rep.warn(f"certificate {cert.public_certificate} expires on {ends:%Y-%m-%d}: upload a new one to the app")
        rep.ok("certificate and private key match")
    else:
        rep.ok(f"certificate and private key match; valid until {ends:%Y-%m-%d}")


def _connect(c, rep: Report) -> None:
    from reportgen.collect.auth import REQUIRED_PERMISSIONS, TokenProvider, analyse_permissions
    from reportgen.collect.errors import CollectionError
    g = c.graph
    timeout = min(g.timeout_seconds, CONNECT_SECONDS)
    try:
        tokens = TokenProvider(c, timeout=timeout)
    except CollectionError as e:
        rep.fail(f"sign-in: {e}")
        return
    try:
        try:
            tokens.token()
        except CollectionError as e:
            rep.fail(f"sign-in: {e}")
            return
        rep.ok(f"token acquired for {g.endpoint} from {tokens.authority}")
        granted = tokens.granted
        missing, write = analyse_permissions(granted)
        if granted is None:
            rep.warn("the token does not list its permissions (not a JWT); a run will show what Graph refuses")
        else:
            rep.ok(f"granted: {', '.join(granted) or '(none)'}")
            if missing:
                have = len(REQUIRED_PERMISSIONS) - len(missing)
                consent = " - admin consent missing?" if not granted else ""
                rep.fail(f"missing permissions ({have} of {len(REQUIRED_PERMISSIONS)} granted{consent}): "
                         f"{', '.join(missing)}; add them to the app and grant admin consent in the tenant again")
            else:
                rep.ok(f"every required permission is granted ({len(REQUIRED_PERMISSIONS)})")
            if write:
                rep.warn(f"the token can write ({', '.join(write)}): reportgen needs none of these; remove them")
        _licences(c, tokens, timeout, rep)
    finally:
        tokens.close()


def _licences(c, tokens, timeout: float, rep: Report) -> None:
    """Entra ID P1/P2 from subscribedSkus, read with the same token (a GET, nothing stored)."""
    import json

    from reportgen.collect.errors import CollectionError
    from reportgen.collect.http import Aborted, BudgetExhausted, GraphHttp, TransportFailure
    from reportgen.posture import licences
    http = GraphHttp(c.graph.endpoint, tokens, timeout=timeout, deadline=time.monotonic() + CONNECT_SECONDS,
                     log=lambda **_: None)
    try:
        resp = http.send("GET", f"{c.graph.endpoint}/v1.0/subscribedSkus", dataset="subscribedSkus")
        body = resp.content
    except (CollectionError, BudgetExhausted, TransportFailure, Aborted) as e:
        rep.warn(f"licences: subscribedSkus could not be read ({e or type(e).__name__})")
        return
    finally:
        http.close()
    if resp.status_code != 200:
        code = _error_code(body)
        rep.warn(f"licences: Graph answered {resp.status_code}{' ' + code if code else ''} for subscribedSkus")
        return
    try:
        skus = json.loads(body).get("value")
    except (ValueError, AttributeError):
        skus = None
    if not isinstance(skus, list):
        rep.warn("licences: subscribedSkus answered without a 'value' list")
        return
    p1, p2 = licences(skus)
    if p2:
        rep.ok("licences: Entra ID P1 and P2")
    elif p1:
        rep.ok("licences: Entra ID P1 (no P2: there are no PIM eligible assignments to read)")
    else:
        rep.warn("licences: no Entra ID P1: sign-in logs and registration details cannot be read, so the checks "
                 "that need them will be not evaluated (the run falls back to per-user methods)")


def _error_code(body: bytes) -> str:
    import json
    try:
        err = json.loads(body).get("error")
        return str(err.get("code") or "") if isinstance(err, dict) else ""
    except (ValueError, AttributeError):
        return ""
