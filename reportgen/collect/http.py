"""HTTP to Graph: one session per collect call, TLS verified, no redirects, our own retry loop.

Every attempt is written to the evidence log (URL without secrets, status, request-id, timing),
and so is every retry with its reason and wait. Report APIs share a per-tenant pacer that counts
requests the way Graph does (by arrival at the server, see Pacer).
Module constants are read at call time, so tests (and a benchmark) can change them.
"""
from __future__ import annotations

import collections
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from reportgen.collect.errors import CollectionError, describe_network_error, is_dns_failure

BACKOFF_BASE = float(os.environ.get("REPORTGEN_GRAPH_BACKOFF_BASE", "1.0"))   # seconds, doubled per attempt
BACKOFF_CAP = 60.0
MAX_ATTEMPTS = 6                 # attempts per request (first try included)
RETRY_AFTER_CAP = 300.0          # a longer Retry-After is treated as this (and usually exhausts the budget)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REPORT_API_LIMIT = 5             # requests ...
REPORT_API_WINDOW = 10.0         # ... per this many seconds, per tenant (sign-ins, registration, signInActivity)
PACING_MARGIN = 0.1              # seconds a request counts beyond a window after its answer (server clock, rounding)
POOL_SIZE = 16

_SECRETISH = re.compile(r"(secret|token|assertion|password|passwd|sig$|signature|key|code|auth)", re.I)


def safe_url(url: str) -> str:
    """The URL as it may be logged: no userinfo, no query parameter that could carry a secret.

    OData system options ($skiptoken, $filter, ...) are kept: they are paging cursors and filters.
    """
    try:
        p = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = p.hostname or ""
    if p.port:
        host = f"{host}:{p.port}"
    query = [(k, ("<redacted>" if (not k.startswith("$") and _SECRETISH.search(k)) else v))
             for k, v in parse_qsl(p.query, keep_blank_values=True)]
    return urlunsplit((p.scheme, host, p.path, urlencode(query, quote_via=quote, safe="$,:'()/ "), ""))


def same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)

    def norm(p):
        port = p.port or (443 if p.scheme == "https" else 80 if p.scheme == "http" else None)
        return (p.scheme.lower(), (p.hostname or "").lower(), port)
    return norm(pa) == norm(pb)


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class BudgetExhausted(Exception):
    """The tenant's time budget (graph.max_tenant_seconds) ran out."""


class Aborted(Exception):
    """The collect call is being abandoned (another request hit a fatal error)."""


class TransportFailure(Exception):
    """A request failed at the network level on every attempt."""


class Slot:
    """One paced request: counted by the pacer from its start until a window after its answer."""
    __slots__ = ("started", "answered")

    def __init__(self, started: float) -> None:
        self.started = started
        self.answered: float | None = None


class Pacer:
    """Paces report-API requests the way Graph counts them: by arrival, over a sliding window.

    Graph counts a request when it *arrives*, per app per tenant, over the last REPORT_API_WINDOW
    seconds. We never know the arrival time, only that it lies between our start and the moment we
    saw the answer (or the failure). So a request counts until REPORT_API_WINDOW + PACING_MARGIN
    after its answer, and a request still in flight counts without end. A new request may start only
    while fewer than REPORT_API_LIMIT requests count: then no window of arrivals the server can see
    holds more than the limit, whatever the latencies. A 429 makes the pacer treat the window as
    full until its Retry-After (or backoff) has passed. Thread-safe; ``clock`` is injectable.
    """

    POLL = 0.2   # seconds between checks of the abort flag while waiting

    def __init__(self, abort: threading.Event | None = None, *, limit: int | None = None,
                 window: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._abort = abort or threading.Event()
        self._limit, self._window, self._clock = limit, window, clock
        self._cond = threading.Condition()
        self._flying: set[Slot] = set()
        self._answered: collections.deque[float] = collections.deque()   # answer times, oldest first
        self._hold_until = float("-inf")

    def _span(self) -> tuple[int, float]:
        limit = REPORT_API_LIMIT if self._limit is None else self._limit
        window = REPORT_API_WINDOW if self._window is None else self._window
        return max(1, limit), window + PACING_MARGIN

    def try_acquire(self) -> tuple[Slot | None, float | None]:
        """Start a request now if the window allows: (slot, 0.0); else (None, seconds to wait), where
        None seconds means "until a request in flight is answered"."""
        with self._cond:
            now = self._clock()
            limit, span = self._span()
            if now < self._hold_until:
                return None, self._hold_until - now
            while self._answered and self._answered[0] + span <= now:
                self._answered.popleft()
            counted = len(self._flying) + len(self._answered)
            if counted < limit:
                slot = Slot(now)
                self._flying.add(slot)
                return slot, 0.0
            excess = counted - limit          # this many more must leave the window first
            if excess < len(self._answered):
                return None, self._answered[excess] + span - now
            return None, None

    def acquire(self, deadline: float) -> Slot:
        """Wait for room in the window. Raises BudgetExhausted when the wait would pass ``deadline``."""
        with self._cond:   # held while checking and waiting, so no answer slips by unnoticed
            while True:
                if self._abort.is_set():
                    raise Aborted()
                slot, wait = self.try_acquire()
                if slot is not None:
                    return slot
                now = self._clock()
                if now >= deadline or (wait is not None and now + wait > deadline):
                    raise BudgetExhausted()
                self._cond.wait(min(self.POLL, deadline - now, self.POLL if wait is None else wait))

    def finish(self, slot: Slot) -> None:
        """The request was answered (or failed): it counts for one more window from now."""
        with self._cond:
            if slot in self._flying:
                self._flying.discard(slot)
                slot.answered = self._clock()
                self._answered.append(slot.answered)
                self._cond.notify_all()

    def hold(self, seconds: float) -> None:
        """Graph said 429: start no paced request for ``seconds`` (the window is full on its side)."""
        with self._cond:
            self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))


def _retry_after(resp: requests.Response) -> float | None:
    v = resp.headers.get("Retry-After")
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        dt = parsedate_to_datetime(v)
        return max(0.0, (dt - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: attempt 1 -> up to base, 2 -> up to 2*base, ... capped."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


class GraphHttp:
    """The one HTTP client of a collect call. Thread-safe for concurrent requests."""

    def __init__(self, endpoint: str, tokens, *, timeout: float, deadline: float,
                 log: Callable[..., None], abort: threading.Event | None = None):
        self.endpoint = endpoint
        self.tokens = tokens
        self.timeout = (timeout, timeout)
        self.deadline = deadline
        self._log = log
        self.session = requests.Session()
        self.session.verify = True          # never False; REQUESTS_CA_BUNDLE is honoured by requests
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "reportgen-collector"})
        self.abort = abort or threading.Event()
        self.pacer = Pacer(self.abort)
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        self.session.close()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _count(self, retry: bool = False) -> None:
        with self._lock:
            if retry:
                self.retries += 1
            else:
                self.requests += 1

    def _wait(self, seconds: float, *, dataset: str, url: str, attempt: int, why: str) -> None:
        if time.monotonic() + seconds > self.deadline:
            raise BudgetExhausted()
        self._count(retry=True)
        self._log(event="retry", ts=iso_now(), dataset=dataset, url=safe_url(url), attempt=attempt,
                  reason=why, wait=round(seconds, 3))
        if self.abort.wait(seconds):
            raise Aborted()

    def send(self, method: str, url: str, *, dataset: str, json_body: Any = None,
             paced: bool = False) -> requests.Response:
        """One logical request with retries. Returns the final response (any status, 3xx included).

        Raises CollectionError (TLS, DNS: fatal for the client), BudgetExhausted, TransportFailure.
        """
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            if self.abort.is_set():
                raise Aborted()
            if time.monotonic() >= self.deadline:
                raise BudgetExhausted()
            token, gen = self.tokens.token()
            crid = str(uuid.uuid4())
            headers = {"Authorization": f"Bearer {token}", "client-request-id": crid,
                       "return-client-request-id": "true"}
            slot = self.pacer.acquire(self.deadline) if paced else None   # as late as can be: it counts from here
            t0 = time.monotonic()
            self._count()
            remaining = max(0.5, self.deadline - t0)
            timeout = (min(self.timeout[0], remaining), min(self.timeout[1], remaining))
            try:
                try:
                    resp = self.session.request(method, url, headers=headers, json=json_body, timeout=timeout,
                                                allow_redirects=False)
                    body = resp.content  # read now: a stalled body counts against the same timeout
                finally:
                    if slot is not None:
                        self.pacer.finish(slot)   # answered or failed: it has arrived, if ever, by now
            except requests.exceptions.SSLError as e:
                self._log(ts=iso_now(), dataset=dataset, method=method, url=safe_url(url), attempt=attempt,
                          error="tls", ms=round((time.monotonic() - t0) * 1000))
                raise CollectionError(describe_network_error(e, url)) from e
            except requests.exceptions.RequestException as e:
                ms = round((time.monotonic() - t0) * 1000)
                what = describe_network_error(e, url)
                self._log(ts=iso_now(), dataset=dataset, method=method, url=safe_url(url), attempt=attempt,
                          error=what, ms=ms)
                if is_dns_failure(e):
                    raise CollectionError(what) from e
                if attempt >= MAX_ATTEMPTS:
                    raise TransportFailure(f"{what} ({attempt} attempts)") from e
                self._wait(backoff(attempt), dataset=dataset, url=url, attempt=attempt, why=what)
                continue
            del token, headers
            ms = round((time.monotonic() - t0) * 1000)
            self._log(ts=iso_now(), dataset=dataset, method=method, url=safe_url(url), status=resp.status_code,
                      attempt=attempt, ms=ms, bytes=len(body),
                      request_id=resp.headers.get("request-id"), client_request_id=crid)
            status = resp.status_code
            if status == 401 and not refreshed:
                refreshed = True
                self._count(retry=True)
                self._log(event="retry", ts=iso_now(), dataset=dataset, url=safe_url(url), attempt=attempt,
                          reason="401 Unauthorized: token refreshed once", wait=0)
                self.tokens.refresh(gen)
                attempt -= 1  # a refresh is not a throttling attempt
                continue
            if status in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                ra = _retry_after(resp)
                if ra is not None:
                    wait, why = min(ra, RETRY_AFTER_CAP), f"{status} with Retry-After {resp.headers.get('Retry-After')}"
                else:
                    wait, why = backoff(attempt), f"{status} without Retry-After: exponential backoff"
                if paced and status == 429:
                    self.pacer.hold(wait)   # the service's window is full: no paced request until then
                self._wait(wait, dataset=dataset, url=url, attempt=attempt, why=why)
                continue
            return resp
