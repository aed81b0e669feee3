"""What the batch shows while it runs: one live status line on a terminal, plain lines in a log."""
from __future__ import annotations

import time
from typing import Any, TextIO

from reportgen.display import terminal


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
        elif entry["status"] == "interrupted":
            line = f"[{self.done}/{self.total}] stopped {entry['slug']}"
        else:
            line = f"[{self.done}/{self.total}] FAILED  {entry['slug']}: {terminal(entry['error'])}"
        self.note(line)

    def note(self, line: str) -> None:
        self.stream.write(("\r\033[K" if self.tty else "") + line + "\n")
        self.stream.flush()
