"""The monthly batch: clients in warm worker processes, each failure isolated.

Worker processes live for the whole batch and load once what every client needs (WeasyPrint,
fonts, stylesheet, templates, catalogs); each runs one client at a time. A client that fails
(bad secret, 403, a bug in rendering) is recorded in batch.json and on screen; a worker that dies
(out of memory, native crash) or a client that runs past its time limit costs only that worker,
which is replaced, and the batch goes on. The workers' side is ``batch_worker``; the status
line, ``batch_progress``; batch.json and portfolio.xlsx, ``batch_outputs``.

Ctrl-C and SIGTERM stop the batch (see :class:`Stop`): no new client starts, running ones are told
to stop and killed if they do not within a few seconds, published clients stay as they are, and
the entries say which clients were interrupted.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import wait as wait_any
from pathlib import Path
from typing import Any, TextIO

from reportgen.batch_outputs import batch_doc, publish_batch, write_batch, write_shard
from reportgen.batch_progress import Progress
from reportgen.batch_worker import WORKER_NAME, warm, worker_main
from reportgen.display import terminal
from reportgen.package import clean_leftovers
from reportgen.resume import reusable
from reportgen.vocab import count
from reportgen.workflow.portfolio import entry_figures

# the commands' entry points; worker, progress display and batch files live in batch_worker,
# batch_progress and batch_outputs
__all__ = ["Stop", "run_batch", "default_workers", "time_limit", "batch_doc", "publish_batch", "write_batch",
           "write_shard", "warm", "WORKER_NAME", "Progress"]

# Live tenants collected at once beyond --jobs: collection mostly waits on Graph's pacing, so it
# overlaps well; evaluation and rendering stay limited to --jobs by pipeline.CPU_GATE.
COLLECT_CONCURRENCY = 8
# One client's time limit, beyond a live tenant's collection budget (graph.max_tenant_seconds):
# a client still running then is taken as hung, and its worker is killed and replaced.
CLIENT_TIME_LIMIT = 1800.0
# Seconds a stopped client gets to tidy up (close its collection, remove its staging folder)
# before its worker is killed.
STOP_GRACE = 3.0
POLL = 0.2
# Clients one worker produces before it is replaced by a fresh fork of the warm batch process: a
# worker grows by a few hundred KB per report (allocator and library caches), which a long batch
# would otherwise add up.
WORKER_CLIENTS = 100


# ------------------------------------------------------------------------------------------------
# Signals in the batch process

class Stop:
    """Ctrl-C (SIGINT) and SIGTERM while a batch runs.

    The handlers only count signals; the batch loop looks at the count. First signal: stop (no new
    client starts, running ones are told to stop). Second: kill running clients now. Third: leave at
    once. Nothing is raised in the middle of the batch's own bookkeeping, so there is no traceback
    and no half-written batch.json.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        self.signum = self.signum or signum
        if self.count >= 3:
            with contextlib.suppress(Exception):
                sys.stderr.write("\nreportgen: stopped at once; re-run with --resume to complete the period\n")
                sys.stderr.flush()
            os._exit(self.exit_status)

    @property
    def requested(self) -> bool:
        return self.count > 0

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    @property
    def words(self) -> str:
        return {"SIGINT": "Ctrl-C (SIGINT)"}.get(self.name, self.name)

    @property
    def exit_status(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    @contextlib.contextmanager
    def installed(self) -> Iterator[Stop]:
        """Route SIGINT and SIGTERM here for the ``with`` block (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            # once stopping, the command only says goodbye: a repeated Ctrl-C then must neither
            # raise KeyboardInterrupt nor kill it with another status (a Python handler would be
            # reset to the default action while the interpreter shuts down; "ignore" is not)
            for s, h in old.items():
                signal.signal(s, signal.SIG_IGN if self.requested else h)


# ------------------------------------------------------------------------------------------------
# Worker side

# ------------------------------------------------------------------------------------------------
# Batch side

class _Worker:
    def __init__(self, ctx, gated: bool) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=worker_main, args=(child, os.getpid(), gated), daemon=True,
                                name="reportgen-worker")
        self.proc.start()
        child.close()
        self.job = None
        self.deadline = 0.0
        self.cpu = False
        self.waiting_since: float | None = None
        self.killed_for: str | None = None
        self.told_to_stop = False
        self.served = 0
        self.retiring = False

    def give(self, job, limit: float) -> None:
        self.job, self.deadline, self.killed_for = job, time.monotonic() + limit, None
        self.conn.send(job)

    def kill(self, why: str) -> None:
        self.killed_for = self.killed_for or why
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(self.proc.pid, signal.SIGKILL)

    def terminate(self) -> None:
        if not self.told_to_stop:
            self.told_to_stop = True
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(self.proc.pid, signal.SIGTERM)


def _is_live(job) -> bool:
    return job.client.source == "graph" and job.evidence_from is None


def time_limit(job, override: float | None = None) -> float:
    """Seconds one client may run (not counting time queued for a CPU) before it is taken as hung."""
    if override is not None:
        return override
    budget = job.client.graph.max_tenant_seconds if _is_live(job) and job.client.graph else 0
    return CLIENT_TIME_LIMIT + budget


def _context():
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


class _Runner:
    """Runs jobs in warm workers: dispatch, CPU slots, deaths, time limits, stopping."""

    def __init__(self, todo: list, jobs: int, stop: Stop, progress: Progress, limit: float | None):
        self.ctx = _context()
        live = sum(1 for j in todo if _is_live(j))
        self.size = max(1, min(len(todo), jobs + min(live, COLLECT_CONCURRENCY)))
        self.gated = self.size > jobs
        self.free_cpu = jobs
        self.cpu_queue: deque[_Worker] = deque()
        # live tenants first: their collection waits on Graph while the others use the CPUs
        self.queue = deque(sorted(todo, key=lambda j: not _is_live(j)))
        self.retry: deque = deque()
        self.attempts: dict[str, int] = {}
        self.workers: list[_Worker] = []
        self.entries: dict[str, dict[str, Any]] = {}
        self.stop, self.progress, self.limit = stop, progress, limit
        self.stopping_at: float | None = None

    # -- the loop
    def run(self) -> dict[str, dict[str, Any]]:
        if self.ctx.get_start_method() == "fork":
            warm()   # once here; forked workers start warm and share these pages
        try:
            while True:
                self._check_stop()
                if self.stopping_at is None:
                    self._dispatch()
                busy = [w for w in self.workers if w.job is not None]
                if not busy and (self.stopping_at is not None or not (self.queue or self.retry)):
                    break
                self._wait()
                self._check_time()
        finally:
            self._shutdown()
        return self.entries

    def _dispatch(self) -> None:
        for w in [w for w in self.workers if w.job is None and not w.retiring]:
            self._give(w)
        while len(self.workers) < self.size and self._next(peek=True) is not None:
            w = _Worker(self.ctx, self.gated)
            self.workers.append(w)
            self._give(w)

    def _next(self, peek: bool = False):
        if self.queue:
            return self.queue[0] if peek else self.queue.popleft()
        # a client whose worker died is retried once, alone: the death may have been memory
        if self.retry and not any(w.job is not None for w in self.workers):
            return self.retry[0] if peek else self.retry.popleft()
        return None

    def _give(self, w: _Worker) -> None:
        job = self._next()
        if job is None:
            return
        try:
            w.give(job, time_limit(job, self.limit))
        except OSError:   # the worker died idle; its death is handled below, the job goes back
            w.job = None
            self.queue.appendleft(job)

    def _wait(self) -> None:
        by_conn = {w.conn: w for w in self.workers}
        by_sentinel = {w.proc.sentinel: w for w in self.workers}
        ready = wait_any(list(by_conn) + list(by_sentinel), timeout=POLL)
        for obj in ready:
            if obj in by_conn:
                self._read(by_conn[obj])
        for obj in ready:
            if obj in by_sentinel:
                self._died(by_sentinel[obj])

    def _read(self, w: _Worker) -> None:
        try:
            while w.conn.poll():
                self._message(w, w.conn.recv())
        except (EOFError, OSError):
            pass

    def _message(self, w: _Worker, msg: tuple) -> None:
        kind = msg[0]
        if kind == "progress":
            self.progress.step(msg[1], msg[2])
        elif kind == "cpu":
            w.waiting_since = time.monotonic()
            self.cpu_queue.append(w)
            self._grant()
        elif kind == "cpu-done":
            self._release_cpu(w)
        elif kind == "result" and w.job is not None:
            self._release_cpu(w)
            self._record(msg[1])
            w.job = None
            w.served += 1
            if w.served >= WORKER_CLIENTS:   # leaves; a fresh one takes its place once it is gone
                w.retiring = True
                with contextlib.suppress(OSError, ValueError):
                    w.conn.send(None)

    def _grant(self) -> None:
        while self.free_cpu > 0 and self.cpu_queue:
            w = self.cpu_queue.popleft()
            if w.job is None or not w.proc.is_alive():
                continue
            try:
                w.conn.send("go")
            except OSError:
                continue
            self.free_cpu -= 1
            w.cpu = True
            if w.waiting_since is not None:   # time queued for a CPU does not count against the limit
                w.deadline += time.monotonic() - w.waiting_since
                w.waiting_since = None

    def _release_cpu(self, w: _Worker) -> None:
        if w in self.cpu_queue:
            self.cpu_queue.remove(w)
        if w.cpu:
            w.cpu = False
            self.free_cpu += 1
            self._grant()

    def _died(self, w: _Worker) -> None:
        self._read(w)   # a result sent just before the end still counts
        w.proc.join()
        self.workers.remove(w)
        w.conn.close()
        self._release_cpu(w)
        job = w.job
        if job is None:
            return
        slug = job.client.slug
        clean_leftovers(job.final_dir.parent, job.final_dir.name)
        if self.stopping_at is not None and w.killed_for != "time":
            self._record(self._interrupted(slug, running=True))
        elif w.killed_for == "time":
            limit = time_limit(job, self.limit)
            self._record({"slug": slug, "status": "failed",
                          "error": f"stopped after {limit:.0f} s: the client did not finish within its time limit "
                                   f"(it may hang; see --client-timeout)"})
        else:
            self.attempts[slug] = self.attempts.get(slug, 0) + 1
            if self.attempts[slug] < 2:
                self.retry.append(job)
            else:
                self._record({"slug": slug, "status": "failed",
                              "error": "the worker process died while producing this client (out of memory or killed)"})

    def _record(self, entry: dict[str, Any]) -> None:
        self.entries[entry["slug"]] = entry
        self.progress.finish(entry)

    def _check_time(self) -> None:
        now = time.monotonic()
        for w in self.workers:
            if w.job is not None and w.waiting_since is None and now > w.deadline:
                w.kill("time")
        if self.stopping_at is not None and now > self.stopping_at + STOP_GRACE:
            for w in self.workers:
                w.kill("stop")

    def _check_stop(self) -> None:
        if not self.stop.requested:
            return
        if self.stopping_at is None:
            self.stopping_at = time.monotonic()
            running = [w for w in self.workers if w.job is not None]
            waiting = list(self.queue) + list(self.retry)
            self.queue.clear()
            self.retry.clear()
            self.progress.note(f"{self.stop.words}: stopping {count(len(running), 'running client')}; "
                               f"{len(waiting):,} not started")
            for job in waiting:
                slug = job.client.slug
                self.entries[slug] = self._interrupted(slug, running=False)
            for w in self.workers:
                w.terminate()
        if self.stop.count >= 2:
            for w in self.workers:
                w.kill("stop")

    def _interrupted(self, slug: str, *, running: bool) -> dict[str, Any]:
        what = "stopped while running" if running else "not started"
        return {"slug": slug, "status": "interrupted",
                "error": f"{what}: the batch was interrupted by {self.stop.words}; re-run with --resume"}

    def _shutdown(self) -> None:
        for w in self.workers:
            if w.job is None and w.proc.is_alive():
                with contextlib.suppress(OSError, ValueError):
                    w.conn.send(None)
            else:
                w.kill("stop")
        end = time.monotonic() + 5
        for w in self.workers:
            w.proc.join(max(0.0, end - time.monotonic()))
            if w.proc.is_alive():
                w.kill("stop")
                w.proc.join(5)
            with contextlib.suppress(OSError):
                w.conn.close()
        self.workers.clear()


def run_batch(jobs_list: list, period_dir: Path, *, workers: int, resume: bool = False,
              stream: TextIO | None = None, stop: Stop | None = None,
              client_timeout: float | None = None) -> list[dict[str, Any]]:
    """Produce every job; one entry per job (in the order given), whatever happened to it.

    ``stop``: the batch's signal state (a CLI command installs it for its whole run); without one,
    Ctrl-C and SIGTERM are routed to a fresh one for the duration of this call."""
    stream = stream if stream is not None else sys.stderr   # the current one, not the one at import
    with contextlib.ExitStack() as scope:
        if stop is None:
            stop = scope.enter_context(Stop().installed())
        entries: dict[str, dict[str, Any]] = {}
        todo = []
        for job in jobs_list:
            if stop.requested:
                entries[job.client.slug] = {"slug": job.client.slug, "status": "interrupted",
                                            "error": f"not started: the batch was interrupted by {stop.words}; "
                                                     f"re-run with --resume"}
                continue
            folder = job.final_dir
            if resume:
                # what a killed run left: a swap cut short is undone (the previous output comes back),
                # staging folders go, also for a client skipped below
                clean_leftovers(folder.parent, folder.name)
            from reportgen.pipeline import skip_reason
            if (skip := skip_reason(job)) is not None:   # a final report is never replaced silently
                entries[job.client.slug] = {"slug": job.client.slug, "status": "skipped", "error": None, "note": skip}
                stream.write(f"skipped {job.client.slug}: final report kept (use --force to replace it)\n")
                continue
            doc, why = reusable(folder, job) if resume else (None, None)
            if doc is not None:
                entries[job.client.slug] = {"slug": job.client.slug, "status": "ok", "error": None, "resumed": True,
                                            "timings": {}, **entry_figures(doc), "direction": None}
                stream.write(f"skipped {job.client.slug}: output verifies (--resume)\n")
            else:
                if why and folder.is_dir():
                    stream.write(f"producing {job.client.slug} again: {terminal(why)}\n")
                todo.append(job)
        if todo:
            live = frozenset(j.client.slug for j in todo if _is_live(j))
            progress = Progress(len(todo), stream, live)
            entries.update(_Runner(todo, max(1, workers), stop, progress, client_timeout).run())
    out = []
    for job in jobs_list:
        e = entries[job.client.slug]
        e.setdefault("timings", {})
        out.append({"slug": e["slug"], "name": job.client.name,
                    "institution_type": job.client.institution_type, **{k: v for k, v in e.items() if k != "slug"}})
    return out


# ------------------------------------------------------------------------------------------------
# batch.json, shard files, portfolio

def default_workers() -> int:
    return os.cpu_count() or 1
