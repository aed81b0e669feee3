"""Errors of the live collectors, and plain-words descriptions of network failures."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests


class CollectionError(Exception):
    """Collection of this client cannot go on; the message names the cause in plain words."""


def origin(url: str) -> str:
    """scheme://host[:port] of a URL, for messages (never a path or a query)."""
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "", "", ""))


def _chain(exc: BaseException) -> str:
    parts, seen = [], set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        parts.append(f"{type(cur).__name__}: {cur}")
        for a in getattr(cur, "args", ()):
            if isinstance(a, BaseException):
                parts.append(f"{type(a).__name__}: {a}")
        cur = cur.__cause__ or cur.__context__
    return " | ".join(parts)


def is_dns_failure(exc: BaseException) -> bool:
    text = _chain(exc)
    return any(s in text for s in ("NameResolutionError", "Name or service not known", "nodename nor servname",
                                   "Temporary failure in name resolution", "getaddrinfo failed",
                                   "No address associated with hostname"))


def describe_network_error(exc: BaseException, url: str) -> str:
    """One sentence for a requests exception: DNS, TLS, refused, timeout, reset."""
    host = urlsplit(url).hostname or url
    where = origin(url)
    if isinstance(exc, requests.exceptions.SSLError):
        text = _chain(exc)
        detail = "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify" in text \
            else "TLS handshake failed"
        return f"TLS certificate verification failed for {where} ({detail}; set REQUESTS_CA_BUNDLE if a proxy re-signs TLS)"
    if is_dns_failure(exc):
        return f"cannot resolve {host}: DNS failure"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"cannot connect to {where}: connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"{where} did not answer in time (read timeout)"
    text = _chain(exc)
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return f"cannot connect to {where}: connection refused"
    if "Connection reset" in text or "ConnectionResetError" in text or "RemoteDisconnected" in text:
        return f"connection to {where} was reset"
    return f"network error talking to {where}: {type(exc).__name__}"
