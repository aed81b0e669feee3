"""The monthly batch: clients in parallel worker processes, each failure isolated.

A client that fails (bad secret, 403, a crash in rendering, even a worker process that dies)
is recorded in batch.json and on screen; the others are still produced.
"""
from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any, TextIO

from reportgen import __version__
from reportgen.dates import iso_z
from reportgen.dates import now as clock
from reportgen.display import terminal
from reportgen.package import clean_leftovers, write_json
from reportgen.resume import reusable
from reportgen.workflow.portfolio import workflow_fields

MAX_ERROR = 500
# Live tenants collected at once beyond --jobs: collection mostly waits on Graph's pacing, so it
# overlaps well; evaluation and rendering stay limited to --jobs by pipeline.CPU_GATE.
COLLECT_CONCURRENCY = 8


def _init_worker(parent: int, gate) -> None:
    _die_with_parent(parent)
    if gate is not None:
        from reportgen import pipeline
        pipeline.CPU_GATE = gate


def _die_with_parent(parent: int) -> None:
    """Initializer of the worker and manager processes: when the batch process dies (SIGKILL, out of
    memory), they die too, instead of living on as orphans that keep collecting and publishing
    clients behind the back of the re-run (Linux only: PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _worker(job, queue) -> dict[str, Any]:
    from reportgen.pipeline import ClientError, run_client
    slug = job.client.slug

    def progress(msg: str) -> None:
        if queue is not None:
            try:
                queue.put_nowait((slug, msg))
            except Exception:  # progress is best-effort; never fail a client over it
                pass
    try:
        out = run_client(job, progress)
    except ClientError as e:
        return {"slug": slug, "status": "failed", "error": str(e)[:MAX_ERROR]}
    except Exception as e:  # isolate: any bug or bad data fails this client only
        tb = traceback.extract_tb(e.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        return {"slug": slug, "status": "failed", "error": f"{type(e).__name__}: {e}{where}"[:MAX_ERROR]}
    doc = out["doc"]
    return {"slug": slug, "status": "ok", "error": None, "timings": out["timings"],
            **_portfolio_fields(doc), "direction": out["direction"], "note": out.get("note"),
            "warnings": out.get("warnings") or []}


def _portfolio_fields(doc: dict[str, Any]) -> dict[str, Any]:
    from reportgen.history import summarize
    s = summarize(doc)
    return {"phase1": doc["readiness"]["mandatory_mfa_phase1"], "phase2": doc["readiness"]["mandatory_mfa_phase2"],
            "mfa_registered_pct": doc["summary"]["mfa_registered_pct"], "open": s["open"],
            "not_evaluated": s["not_evaluated"], "collection_status": doc["collection"]["status"],
            **workflow_fields(doc)}


class Progress:
    """One live status line on a terminal; plain lines otherwise: one per client, and one per
    collection step of a live tenant (``live``), so that a log shows a slow tenant moving.
    Every message is passed through ``display.terminal``: it may quote Graph or a proxy."""

    PAGE_EVERY = 30.0   # seconds between two "page n" lines of one dataset, off a terminal

    def __init__(self, total: int, stream: TextIO, live: frozenset[str] = frozenset()):
        self.total, self.done, self.stream = total, 0, stream
        self.tty = stream.isatty()
        self.live = live
        self.current: dict[str, str] = {}
        self._paged: dict[tuple[str, str], float] = {}

    def step(self, slug: str, msg: str) -> None:
        msg = terminal(msg, 160)
        self.current[slug] = msg
        if self.tty:
            active = " | ".join(f"{s}: {m}" for s, m in list(self.current.items())[-3:])
            self.stream.write(f"\r\033[K[{self.done}/{self.total}] {active}"[:200])
            self.stream.flush()
        elif slug in self.live and self._worth_a_line(slug, msg):
            self.stream.write(f"[{self.done}/{self.total}] {slug}: {msg}\n")
            self.stream.flush()

    def _worth_a_line(self, slug: str, msg: str) -> bool:
        dataset, sep, rest = msg.partition(": ")
        if not (sep and rest.startswith(("page ", "batch "))):
            return True
        now, last = time.monotonic(), self._paged.get((slug, dataset))
        if last is not None and now - last < self.PAGE_EVERY:
            return False
        self._paged[(slug, dataset)] = now
        return True

    def finish(self, entry: dict[str, Any]) -> None:
        self.done += 1
        self.current.pop(entry["slug"], None)
        if entry["status"] == "ok":
            line = f"[{self.done}/{self.total}] ok      {entry['slug']}  ({entry.get('timings', {}).get('total', 0):.1f}s)"
        else:
            line = f"[{self.done}/{self.total}] FAILED  {entry['slug']}: {terminal(entry['error'])}"
        self.stream.write(("\r\033[K" if self.tty else "") + line + "\n")
        self.stream.flush()


def run_batch(jobs_list: list, period_dir: Path, *, workers: int, resume: bool = False,
              stream: TextIO | None = None) -> list[dict[str, Any]]:
    stream = stream if stream is not None else sys.stderr   # the current one, not the one at import
    entries: dict[str, dict[str, Any]] = {}
    todo = []
    for job in jobs_list:
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
                                        "timings": {}, **_portfolio_fields(doc), "direction": None}
            stream.write(f"skipped {job.client.slug}: output verifies (--resume)\n")
        else:
            if why and folder.is_dir():
                stream.write(f"producing {job.client.slug} again: {terminal(why)}\n")
            todo.append(job)
    live = frozenset(j.client.slug for j in todo if j.client.source == "graph" and j.evidence_from is None)
    progress = Progress(len(todo), stream, live)
    attempts: dict[str, int] = {}
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    # the progress queue is needed on a terminal, or for live tenants; no manager process otherwise
    manager = SyncManager(ctx=ctx) if progress.tty or live else None
    if manager is not None:
        manager.start(_die_with_parent, (os.getpid(),))
    with manager if manager is not None else contextlib.nullcontext():
        queue = manager.Queue() if manager is not None else None
        pending = list(todo)
        while pending:
            batch, pending = pending, []
            live = sum(1 for j in batch if j.client.source == "graph" and j.evidence_from is None)
            size = max(1, min(len(batch), workers + min(live, COLLECT_CONCURRENCY)))
            gate = ctx.BoundedSemaphore(workers) if size > workers else None
            with ProcessPoolExecutor(max_workers=size, mp_context=ctx, initializer=_init_worker,
                                     initargs=(os.getpid(), gate)) as pool:
                futures = {pool.submit(_worker, job, queue): job for job in batch}
                not_done = set(futures)
                while not_done:
                    done, not_done = wait(not_done, timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(queue, progress)
                    for fut in done:
                        job = futures[fut]
                        slug = job.client.slug
                        try:
                            entry = fut.result()
                        except BrokenProcessPool:
                            # A worker died (killed, out of memory, native crash). Retry once alone.
                            attempts[slug] = attempts.get(slug, 0) + 1
                            if attempts[slug] < 2:
                                pending.append(job)
                                continue
                            entry = {"slug": slug, "status": "failed",
                                     "error": "the worker process died while producing this client (out of memory or killed)"}
                        except Exception as e:
                            entry = {"slug": slug, "status": "failed", "error": f"{type(e).__name__}: {e}"[:MAX_ERROR]}
                        entries[slug] = entry
                        progress.finish(entry)
            if pending:
                workers = 1
    out = []
    for job in jobs_list:
        e = entries[job.client.slug]
        e.setdefault("timings", {})
        out.append({"slug": e["slug"], "name": job.client.name,
                    "institution_type": job.client.institution_type, **{k: v for k, v in e.items() if k != "slug"}})
    return out


def _drain(queue, progress: Progress) -> None:
    if queue is None:
        return
    while True:
        try:
            slug, msg = queue.get_nowait()
        except Exception:
            return
        progress.step(slug, msg)


def write_batch(period_dir: Path, period: str, entries: list[dict[str, Any]], started: float) -> list[dict[str, Any]]:
    """batch.json and portfolio.xlsx. Entries of clients not in this run are kept from the last run."""
    path = period_dir / "batch.json"
    merged: dict[str, dict[str, Any]] = {}
    try:
        for e in json.loads(path.read_text(encoding="utf-8")).get("clients", []):
            if isinstance(e, dict) and isinstance(e.get("slug"), str) and (period_dir / e["slug"]).is_dir():
                merged[e["slug"]] = e
    except (FileNotFoundError, ValueError, AttributeError):
        pass
    for e in entries:
        merged[e["slug"]] = e
    clients = [merged[k] for k in sorted(merged)]
    now = iso_z(clock())   # SOURCE_DATE_EPOCH when set, as the demo collection time
    write_json(path, {"tool": {"name": "reportgen", "version": __version__}, "period": period, "finished_at": now,
                      "duration_seconds": round(time.monotonic() - started, 3),
                      "ok": sum(1 for c in clients if c["status"] == "ok"),
                      "failed": sum(1 for c in clients if c["status"] == "failed"), "clients": clients})
    from reportgen.render.portfolio import render_portfolio
    render_portfolio(clients, period_dir / "portfolio.xlsx", period, now)
    return clients


def default_workers() -> int:
    return os.cpu_count() or 1
