"""The worker side of the batch: a process forked from the warm batch process that takes one
client after another over its pipe, runs it through the pipeline and sends back its batch entry.

It ignores the terminal's Ctrl-C (the batch process decides) and unwinds on SIGTERM
(:class:`Interrupted`); it dies with the batch process (Linux: PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from reportgen.workflow.portfolio import entry_figures

MAX_ERROR = 500


class Interrupted(BaseException):
    """Raised in a worker told to stop; not an Exception, so no client-level handler takes it."""


_warm: dict[str, Any] = {}


def warm() -> Any:
    """Load what every client needs, once per process: the output modules (WeasyPrint, openpyxl),
    whatever each output keeps warm (its ``warm()``: fonts, stylesheet, templates), and the
    catalogs. Returns the catalogs."""
    if "catalogs" not in _warm:
        from reportgen import pipeline  # noqa: F401  (the pipeline's own imports)
        from reportgen.controls import load_catalogs
        from reportgen.render import OUTPUTS
        for out in OUTPUTS:
            module = importlib.import_module(out.module)
            if callable(getattr(module, "warm", None)):
                module.warm()
        _warm["catalogs"] = load_catalogs()
    return _warm["catalogs"]


WORKER_NAME = b"reportgen-work"   # what ps and top show for a worker (Linux: at most 15 bytes)


def _die_with_parent(parent: int) -> None:
    """When the batch process dies (SIGKILL, out of memory), its workers die too, instead of living
    on as orphans that keep collecting and publishing clients behind the back of the re-run (Linux
    only: PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            libc.prctl(15, ctypes.c_char_p(WORKER_NAME))  # PR_SET_NAME
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _stop_worker(signum: int, frame: Any) -> None:
    # once: the unwinding (collection abort, staging removal) must not be cut by a repeat
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # unwinding through C callbacks (lxml, cairo) would print "Exception ignored" noise
    sys.unraisablehook = lambda unraisable: None
    raise Interrupted()


class _Channel:
    """The worker's end of its pipe; collection threads report progress through it too."""

    def __init__(self, conn) -> None:
        self.conn, self.lock = conn, threading.Lock()

    def send(self, *msg: Any) -> None:
        with self.lock:
            self.conn.send(msg)


class _PipeGate:
    """pipeline.CPU_GATE in a worker: ask the batch process for one of the --jobs CPU slots. The
    batch process keeps the count, so a worker that dies holding a slot gives it back."""

    def __init__(self, channel: _Channel) -> None:
        self.channel = channel

    def __enter__(self) -> None:
        self.channel.send("cpu")
        self.channel.conn.recv()   # the grant

    def __exit__(self, *exc: Any) -> None:
        self.channel.send("cpu-done")


def worker_main(conn, parent: int, gated: bool) -> None:
    try:
        _die_with_parent(parent)
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a terminal's Ctrl-C reaches the whole group: the batch decides
        signal.signal(signal.SIGTERM, _stop_worker)
        channel = _Channel(conn)
        from reportgen import pipeline
        if gated:
            pipeline.CPU_GATE = _PipeGate(channel)
        catalogs = warm()
        while True:
            try:
                job = conn.recv()
            except EOFError:
                return
            if job is None:
                return
            channel.send("result", _run_one(job, channel, catalogs))
    except (Interrupted, BrokenPipeError):
        pass


def _run_one(job, channel: _Channel, catalogs) -> dict[str, Any]:
    from reportgen.pipeline import ClientError, run_client
    slug = job.client.slug

    def progress(msg: str) -> None:
        try:
            channel.send("progress", slug, msg)
        except (OSError, ValueError):  # progress is best-effort; never fail a client over it
            pass
    try:
        out = run_client(job, progress, catalogs=catalogs)
    except ClientError as e:
        return {"slug": slug, "status": "failed", "error": str(e)[:MAX_ERROR]}
    except Exception as e:  # isolate: any bug or bad data fails this client only
        tb = traceback.extract_tb(e.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        return {"slug": slug, "status": "failed", "error": f"{type(e).__name__}: {e}{where}"[:MAX_ERROR]}
    doc = out["doc"]
    return {"slug": slug, "status": "ok", "error": None, "timings": out["timings"],
            **entry_figures(doc), "direction": out["direction"], "note": out.get("note"),
            "warnings": out.get("warnings") or []}
