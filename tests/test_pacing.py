"""Report-API pacing: the pacer counts requests the way Graph does (by arrival at the server).

The first tests drive the pacer with an injected clock through a simulated server (no sleeping):
whatever the latencies, no window of arrival times holds more than the limit, and the pacer loses
at most a round trip per window. The last ones run the real collector (msal + requests over HTTPS)
against the fake Graph, which counts arrivals per app per tenant with jittered latency.
"""
from __future__ import annotations

import bisect
import heapq
import itertools
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.collect import http as H
from reportgen.collect.graph import collect_graph
from reportgen.evidence import EvidenceWriter
from reportgen.testing.fakegraph import throttle
from tests.test_collect_graph import NOW, client_for, collect, log_of, tenant

REPORT_PATHS = ("/beta/auditLogs/signIns", "/v1.0/auditLogs/signIns",
                "/v1.0/reports/authenticationMethods/userRegistrationDetails")


def busiest_window(arrivals: list[float], window: float) -> int:
    """The most arrivals any server window (t - window, t] holds (a nanosecond shorter: two arrivals
    exactly a window apart are in different windows, whatever float rounding says)."""
    arr = sorted(arrivals)
    return max((bisect.bisect_right(arr, a) - bisect.bisect_right(arr, a - window + 1e-9) for a in arr), default=0)


def simulate(pacer: H.Pacer, clock: list[float], workers: int,
             requests: list[tuple[float, float, float | None]]) -> tuple[list[float], list[float]]:
    """Workers take the next request (inbound delay, outbound delay, 429 hold or None) and send it
    when the pacer allows. Returns (start times, arrival times at the server)."""
    todo = list(requests)
    heap: list = []
    order = itertools.count()
    waiting: list[int] = []
    starts: list[float] = []
    arrivals: list[float] = []

    def push(t, kind, w, data=None):
        heapq.heappush(heap, (t, next(order), kind, w, data))

    for w in range(workers):
        push(0.0, "ready", w)
    for _ in range(200_000):
        if not heap:
            break
        t, _, kind, w, data = heapq.heappop(heap)
        clock[0] = t
        if kind == "answer":
            slot, hold = data
            pacer.finish(slot)
            if hold is not None:
                pacer.hold(hold)
            for other in [w, *waiting]:
                push(t, "ready", other)
            waiting.clear()
            continue
        if not todo:
            continue
        slot, wait = pacer.try_acquire()
        if slot is None:
            if wait is None:
                waiting.append(w)       # every counted request is in flight: wait for an answer
            else:
                assert wait > 0
                push(t + wait, "ready", w)
            continue
        inbound, outbound, hold = todo.pop(0)
        starts.append(t)
        arrivals.append(t + inbound)
        push(t + inbound + outbound, "answer", w, (slot, hold))
    else:
        raise AssertionError("simulation did not end")
    assert not todo
    return starts, arrivals


def fake_clock() -> tuple[list[float], object]:
    clock = [0.0]
    return clock, (lambda: clock[0])


delays = st.one_of(st.just(0.0), st.floats(0, 0.3), st.floats(0, 3.0), st.floats(0, 40.0))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limit=st.integers(1, 6), window=st.sampled_from([0.5, 1.0, 10.0]), workers=st.integers(1, 8),
       margin=st.sampled_from([0.0, 0.1]),
       requests=st.lists(st.tuples(delays, delays, st.one_of(st.none(), st.floats(0, 5))), min_size=1, max_size=60))
def test_no_server_window_ever_holds_more_than_the_limit(limit, window, workers, margin, requests):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(H, "PACING_MARGIN", margin)
        clock, now = fake_clock()
        starts, arrivals = simulate(H.Pacer(limit=limit, window=window, clock=now), clock, workers, requests)
    assert len(arrivals) == len(requests)
    assert busiest_window(arrivals, window) <= limit


@pytest.mark.parametrize("rtt", [0.0, 0.08, 0.5])
def test_a_window_costs_at_most_one_round_trip_more_than_the_limit(monkeypatch, rtt):
    """One worker, 23 sequential requests at 5 per 10 s: bursts of 5 start a window + a round trip
    (+ the margin) after the previous burst's first answer. No time is lost beyond that."""
    monkeypatch.setattr(H, "PACING_MARGIN", 0.1)
    clock, now = fake_clock()
    starts, arrivals = simulate(H.Pacer(limit=5, window=10.0, clock=now), clock, 1, [(rtt / 2, rtt / 2, None)] * 23)
    cycle = 10.0 + rtt + 0.1
    want = [k * cycle + i * rtt for k in range(5) for i in range(5)][:23]
    assert starts == pytest.approx(want)
    assert busiest_window(arrivals, 10.0) == 5


def test_in_flight_requests_count_until_answered():
    clock, now = fake_clock()
    p = H.Pacer(limit=2, window=1.0, clock=now)
    a, _ = p.try_acquire()
    b, _ = p.try_acquire()
    assert a and b
    clock[0] = 60.0                      # long after a window: both still in flight, so both count
    assert p.try_acquire() == (None, None)
    p.finish(a)
    assert p.try_acquire() == (None, pytest.approx(1.0 + H.PACING_MARGIN))
    p.finish(b)
    clock[0] = 61.0 + H.PACING_MARGIN    # a window (+ margin) after both answers
    assert p.try_acquire()[0] is not None


def test_a_429_holds_every_paced_request_until_retry_after():
    clock, now = fake_clock()
    p = H.Pacer(limit=5, window=10.0, clock=now)
    first, _ = p.try_acquire()
    clock[0] = 0.2
    p.finish(first)
    p.hold(7.0)                          # the service answered 429, Retry-After 7
    for t in (0.2, 3.0, 7.1):
        clock[0] = t
        assert p.try_acquire() == (None, pytest.approx(7.2 - t))
    clock[0] = 7.2
    assert p.try_acquire()[0] is not None


def test_pacer_is_thread_safe(monkeypatch):
    """Eight threads share one pacer (real clock, short window). From the slots' own start and answer
    times: when each request started, fewer than the limit of earlier requests could still arrive in
    the window ending then."""
    monkeypatch.setattr(H, "PACING_MARGIN", 0.005)
    limit, window = 3, 0.02
    p = H.Pacer(limit=limit, window=window)
    slots: list[H.Slot] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(8):
            s = p.acquire(time.monotonic() + 30)
            with lock:
                slots.append(s)
            time.sleep(0.001 * ((n + i) % 4))
            p.finish(s)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slots) == 64
    span = window + H.PACING_MARGIN
    for j, s in enumerate(slots):
        counted = [o for o in slots if o.started < s.started and o.answered + span > s.started]
        assert len(counted) < limit, (j, s.started, [(o.started, o.answered) for o in counted])


def test_acquire_gives_up_at_the_deadline_and_on_abort():
    abort = threading.Event()
    p = H.Pacer(abort, limit=1, window=60.0)
    p.acquire(time.monotonic() + 5)
    with pytest.raises(H.BudgetExhausted):
        p.acquire(time.monotonic() + 0.05)          # the slot is in flight; the deadline comes first
    threading.Timer(0.05, abort.set).start()
    with pytest.raises(H.Aborted):
        p.acquire(time.monotonic() + 30)


# ---------------------------------------------------------------------------------------------
# The collector against the fake Graph (real msal + requests over HTTPS)
@pytest.fixture
def paced(monkeypatch):
    monkeypatch.setattr(H, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(H, "REPORT_API_LIMIT", 5)
    monkeypatch.setattr(H, "REPORT_API_WINDOW", 1.0)
    monkeypatch.setenv("CLIENT_SECRET_TESTBANK", "s3cret-value-do-not-log")


@pytest.fixture
def start(fake_graph):
    return lambda t, **kw: fake_graph(t, **{"client_secret": "s3cret-value-do-not-log", **kw})


def report_log(fg) -> list[dict]:
    return [e for e in fg.log if e["path"] in REPORT_PATHS
            or (e["path"] == "/v1.0/users" and "signInActivity" in e["query"])]


def test_jittered_latency_draws_no_429_over_several_windows(paced, start, tmp_path):
    t = tenant("ready", users=3000)    # 6 + 3 + 1 + 1 = 11 report requests: three windows at 5 per 1 s
    fg = start(t, pacing=(5, 1.0), latency=(0.4, 0.6), seed=15)
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "complete", doc["gaps"]
    assert fg.pacing_violations == 0 and fg.throttled == 0 and doc["retries"] == 0
    report = report_log(fg)
    assert len(report) == 11 and all(e["status"] == 200 for e in report)
    # Never more than the limit in any window as the server saw it. How fully each window is used is
    # a timing (a busy machine delays requests), measured in bench/ against the pacing floor.
    assert busiest_window([e["arrived"] for e in report], 1.0) <= 5


def test_a_scripted_429_with_retry_after_is_obeyed_and_logged(paced, start, tmp_path):
    t = tenant("ready", users=3000)
    fg = start(t, pacing=(5, 1.0), latency=0.05)
    fg.script("/v1.0/reports/authenticationMethods/userRegistrationDetails", throttle(retry_after=1.5))
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "complete", doc["gaps"]
    assert fg.throttled == 1 and fg.pacing_violations == 0 and doc["retries"] == 1
    retry = [e for e in log_of(tmp_path / "ev") if e.get("event") == "retry"]
    assert len(retry) == 1 and retry[0]["dataset"] == "userRegistrationDetails"
    assert retry[0]["reason"] == "429 with Retry-After 1.5" and retry[0]["wait"] == 1.5
    urd = [e for e in report_log(fg) if "userRegistrationDetails" in e["path"]]
    assert urd[0]["status"] == 429 and urd[1]["status"] == 200
    assert urd[1]["arrived"] - urd[0]["arrived"] >= 1.5


def test_a_stricter_service_is_obeyed(paced, start, tmp_path):
    """The service allows 3 per window, the collector thinks 5: it draws 429s, waits each
    Retry-After, and still completes."""
    t = tenant("ready", users=3000)
    fg = start(t, pacing=(3, 1.0), latency=0.05)
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "complete", doc["gaps"]
    assert fg.pacing_violations > 0 and fg.throttled == fg.pacing_violations
    retries = [e for e in log_of(tmp_path / "ev") if e.get("event") == "retry"]
    assert len(retries) == fg.pacing_violations == doc["retries"]
    assert all(e["reason"] == "429 with Retry-After 1" and e["wait"] == 1 for e in retries)
    report = report_log(fg)
    assert sum(e["status"] == 200 for e in report) == 11
    assert busiest_window([e["arrived"] for e in report if e["status"] == 200], 1.0) <= 3


def test_fake_counts_per_app(paced, start, tmp_path):
    """Two apps collect the same tenant side by side: each has its own window on the fake, so
    neither draws a 429."""
    t = tenant("ready", users=3000)
    fg = start(t, pacing=(5, 1.0))
    c1 = client_for(fg, t)
    c2 = client_for(fg, t, client_id="99999999-2222-3333-4444-555555555555")
    done = []

    def run(c, d):
        done.append(collect_graph(c, EvidenceWriter(d), lookback_days=30, now=NOW)["status"])
    threads = [threading.Thread(target=run, args=(c, tmp_path / str(i))) for i, c in enumerate((c1, c2))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert done == ["complete", "complete"]
    assert fg.pacing_violations == 0
    assert {e["client_id"] for e in fg.token_requests} == {c1.graph.client_id, c2.graph.client_id}
    assert len(report_log(fg)) == 22
