"""One writer at a time on a period folder.

Two batches writing one period would each tidy the other's staging folders away (a run removes
what it finds of a killed run's leftovers). Every command that writes into a period folder holds
its lock for as long as it writes: an OS file lock (``flock``, through filelock) on
``.reportgen-<period>.lock`` beside the period folder (in the output root, so that the period
folder holds nothing but the deliverables). The kernel drops it when the holder exits, however it
exits (crash, SIGKILL, power cut), so a lock left by a killed process never blocks the next run.

Shards of one batch (``run --shard I/N``) may share a period folder (a shared volume): their clients
are disjoint. Each shard holds ``.reportgen-<period>.shard-I-of-N.lock`` instead, so two copies of
one shard exclude each other; a whole-period command also takes every shard lock it finds, and a
shard checks that no whole-period command holds the period, so the two kinds exclude each other.

Beside each lock file, ``<lock>.json`` says who holds it (pid, host, start time, command), so that
the process that finds the folder busy can say so. It is only a note: the lock decides, and a note
left by a killed process is overwritten by the next holder.
"""
from __future__ import annotations

import contextlib
import os
import shlex
import socket
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from reportgen.dates import iso_z
from reportgen.package import write_json

# locks this process holds (lock file -> depth): a command may take its lock again inside itself
_held: dict[Path, int] = {}


class PeriodLocked(Exception):
    """Another process holds the period folder; the message says who and what to do."""

    def __init__(self, period_dir: Path, holder: dict[str, Any] | None):
        self.period_dir, self.holder = period_dir, holder
        if holder:
            who = (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}, "
                   f"command: {holder.get('command', '?')}")
        else:
            who = "a process that has not recorded its details yet"
        super().__init__(
            f"{period_dir} is in use by another reportgen ({who}). Only one command may write a period at a "
            f"time: wait for that one to finish (or stop it with Ctrl-C), then run again. A lock left by a "
            f"process that was killed is released by the system: nothing needs deleting.")


class LockUnusable(PeriodLocked):
    """The lock file is a folder, a link, or cannot be opened: said in one line, never a traceback."""

    def __init__(self, period_dir: Path, path: Path, why: str):
        Exception.__init__(self, f"{period_dir} cannot be locked: its lock file {path} {why}. Remove it (it holds "
                                 f"no data) and run again.")
        self.period_dir, self.holder = period_dir, None


def _usable(path: Path, period_dir: Path) -> None:
    """A lock file is a plain file or absent; anything else is refused before flock follows it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise LockUnusable(period_dir, path, f"cannot be examined ({e.strerror or e})") from None
    if stat.S_ISLNK(st.st_mode):
        raise LockUnusable(period_dir, path, "is a symbolic link")
    if not stat.S_ISREG(st.st_mode):
        raise LockUnusable(period_dir, path, "is not a plain file")


def lock_file(period_dir: Path, shard: tuple[int, int] | None = None) -> Path:
    """The lock file of a period folder (or of one shard of it)."""
    period_dir = Path(period_dir).resolve()
    part = f".shard-{shard[0]}-of-{shard[1]}" if shard else ""
    return period_dir.parent / f".reportgen-{period_dir.name}{part}.lock"


def _shard_locks(period_dir: Path) -> list[Path]:
    period_dir = Path(period_dir).resolve()
    return sorted(period_dir.parent.glob(f".reportgen-{period_dir.name}.shard-*-of-*.lock"))


def holder(lock_file: Path) -> dict[str, Any] | None:
    """Who holds (or last held) ``lock_file``, as that process recorded it; None when unknown."""
    from reportgen.readback import lock_note
    return lock_note(_note(lock_file))   # each field a clean short line: the note may be anyone's


def _note(lock_file: Path) -> Path:
    return lock_file.with_name(lock_file.name + ".json")


class _Lock:
    """One lock file, taken without waiting."""

    def __init__(self, path: Path):
        self.path = path
        self.key = path.resolve()
        self.flock = FileLock(str(path), timeout=0, mode=0o600)
        self.mine = False   # acquired here (not merely re-entered)

    def _acquire(self, period_dir: Path) -> bool:
        _usable(self.path, period_dir)
        try:
            self.flock.acquire()
        except Timeout:
            return False
        except OSError as e:
            raise LockUnusable(period_dir, self.path, f"cannot be opened ({e.strerror or e})") from None
        return True

    def take(self, command: str, period_dir: Path) -> bool:
        if _held.get(self.key):
            _held[self.key] += 1
            return True
        if not self._acquire(period_dir):
            return False
        self.mine = True
        _held[self.key] = 1
        try:
            write_json(_note(self.path), {"pid": os.getpid(), "host": socket.gethostname(),
                                          "started": iso_z(datetime.now(UTC)), "command": command})
        except BaseException:
            self.release()
            raise
        return True

    def probe(self, period_dir: Path) -> bool:
        """Free right now (taken and let go at once)?"""
        if _held.get(self.key):
            return True
        if not self._acquire(period_dir):
            return False
        self.flock.release()
        return True

    def release(self) -> None:
        _held[self.key] -= 1
        if _held[self.key]:
            return
        del _held[self.key]
        if self.mine:
            with contextlib.suppress(OSError):
                _note(self.path).unlink()
            self.flock.release()


def _command() -> str:
    return shlex.join(["reportgen", *sys.argv[1:]])[:500]


@contextlib.contextmanager
def period_lock(period_dir: Path, *, shard: tuple[int, int] | None = None,
                command: str | None = None) -> Iterator[Path]:
    """Hold ``period_dir`` (created if missing) for the ``with`` block, or raise
    :class:`PeriodLocked` at once when another process writes it. ``shard=(I, N)``: hold only
    that shard's part of it (see the module docstring). Re-entrant within one process."""
    period_dir = Path(period_dir)
    period_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    command = command or _command()
    taken: list[_Lock] = []
    try:
        main = _Lock(lock_file(period_dir, shard))
        if not main.take(command, period_dir):
            raise PeriodLocked(period_dir, holder(main.path))
        taken.append(main)
        # looked for only once our own lock is held, so that a process starting meanwhile sees ours
        others = [_Lock(p) for p in _shard_locks(period_dir)] if shard is None else [_Lock(lock_file(period_dir))]
        for other in others:
            # a whole-period command holds every shard; a shard only checks the period is not held
            if not (other.take(command, period_dir) if shard is None else other.probe(period_dir)):
                raise PeriodLocked(period_dir, holder(other.path))
            if shard is None:
                taken.append(other)
        yield period_dir
    finally:
        for lock in reversed(taken):
            lock.release()
