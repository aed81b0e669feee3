"""What ``reportgen check`` says about a live client's sign-in besides a secret or PEM pair: the
PKCS#12 file (opened with its password: expiry), the federated token file, the managed identity;
the admin-consent URL; placeholder ids copied from the example; a past period.

``rep`` is check's report for one client (``ok``, ``warn``, ``fail``, ``info``).
"""
from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

CERT_WARN_DAYS = 30

# Ids that stand for "fill in yours": one hex digit repeated (the example configuration's), or an
# example domain.
_ONE_DIGIT = re.compile(r"([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}", re.IGNORECASE)
_EXAMPLE_DOMAIN = re.compile(r"(^|\.)example(bank)?\.(com|org|net|onmicrosoft\.com)$|\.example$", re.IGNORECASE)


def is_placeholder(value: str | None) -> bool:
    v = (value or "").strip()
    return bool(v) and (bool(_ONE_DIGIT.fullmatch(v)) or bool(_EXAMPLE_DOMAIN.search(v)))


def consent_url(client) -> str | None:
    """The page where the client's Global Administrator grants the firm's app its permissions in their
    tenant; None for a managed identity's own token (its permissions are assigned, not consented)."""
    g = client.graph
    if g is None or not g.client_id:
        return None
    return f"{g.authority}/{quote(client.tenant_id, safe='')}/adminconsent?client_id={quote(g.client_id, safe='')}"


def placeholders(client, rep) -> None:
    g = client.graph
    found = [(what, value) for what, value in (
        ("tenant_id", client.tenant_id), ("graph.client_id", g.client_id if g else None),
        ("graph.managed_identity.client_id", g.managed_identity.client_id if g and g.managed_identity else None))
        if is_placeholder(value)]
    for what, value in found:
        rep.fail(f"{what} {value} is a placeholder from the example configuration: give the real id")


def past_period(period: str | None, today: date | None = None) -> str | None:
    """The warning for a live client run for a month before the one that has just ended."""
    from reportgen.cli.common import previous_month
    today = today or date.today()
    if period is None or period >= previous_month(today):
        return None
    return (f"period {period} is in the past: live collection reads the tenant as it is now "
            f"({today.isoformat()}), not as it was in {period}; the report would show today's settings under "
            f"that month (stored evidence, source: evidence, reproduces a past month)")


def offline(client, rep) -> None:
    """The ways to sign in that check.py does not open itself: PKCS#12, federated token, managed identity."""
    g = client.graph
    kind = g.credential
    if kind == "pkcs12":
        pkcs12(g.certificate, rep)
    elif kind == "federated":
        federated(g.federated_token_file, rep)
    elif kind == "managed_identity":
        managed_identity(g, rep)


def pkcs12(cert, rep, now: datetime | None = None) -> None:
    from reportgen.collect.credentials import load_pkcs12
    from reportgen.collect.errors import CollectionError
    try:
        p = load_pkcs12(cert.pkcs12, cert.password_env)
    except CollectionError as e:
        rep.fail(str(e))
        return
    now = now or datetime.now(UTC)
    days = (p.not_after - now).days
    where = f"PKCS#12 {cert.pkcs12} ({p.subject})"
    if p.not_after < now:
        rep.fail(f"{where}: the certificate expired on {p.not_after:%Y-%m-%d}")
    elif p.not_before > now:
        rep.fail(f"{where}: the certificate is not valid before {p.not_before:%Y-%m-%d}")
    elif p.not_after - now < timedelta(days=CERT_WARN_DAYS):
        rep.warn(f"{where}: expires on {p.not_after:%Y-%m-%d} ({days} days): upload a new certificate to the app")
    else:
        rep.ok(f"{where}: opened with its password; certificate valid until {p.not_after:%Y-%m-%d} ({days} days)")


def federated(path, rep) -> None:
    from reportgen.collect.credentials import assertion_claims, federated_expiry_problem, read_assertion
    problem = federated_expiry_problem(path)
    if problem:
        rep.fail(problem)
        return
    claims = assertion_claims(read_assertion(path))
    until = claims.get("exp")
    when = (f", valid until {datetime.fromtimestamp(until, UTC):%Y-%m-%d %H:%M} UTC"
            if isinstance(until, (int, float)) else "")
    rep.ok(f"federated token file {path}: issuer {claims.get('iss', '?')}, subject {claims.get('sub', '?')}{when} "
           "(read again for every token request)")


def managed_identity(g, rep) -> None:
    which = (f"user-assigned managed identity {g.managed_identity.client_id}" if g.managed_identity.client_id
             else "system-assigned managed identity")
    if "IDENTITY_ENDPOINT" in os.environ and "IDENTITY_HEADER" in os.environ:
        source = f"the platform's identity endpoint {os.environ['IDENTITY_ENDPOINT']}"
    elif "IDENTITY_ENDPOINT" in os.environ and "IMDS_ENDPOINT" in os.environ:
        source = "Azure Arc's identity endpoint"
    else:
        source = "the Azure instance metadata service (an Azure VM or AKS node)"
    use = (f"as the federated credential of app {g.client_id} (the app must trust this identity)" if g.client_id
           else "its own token: only for the tenant the identity lives in")
    rep.ok(f"{which} from {source}, {use}; tried only with --connect")
