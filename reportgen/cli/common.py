"""What the commands share: exit statuses, usage errors, periods, loading the configuration,
checking the output folder."""
from __future__ import annotations

import argparse
import difflib
import errno
import os
import re
import sys
import tempfile
from datetime import date
from pathlib import Path

from reportgen.display import terminal

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_CONFIG = "config/reportgen.yaml"

RUN_STATUSES = """\
exit status:
  0  every client produced
  1  at least one client failed; the others are still produced
  2  usage or configuration error: nothing was written
  130, 143  interrupted by Ctrl-C or SIGTERM: completed clients are intact"""
EXIT_STATUSES = """\
exit status:
  0  success: every client produced (run, render), intact (verify), all good (check)
  1  run, render: at least one client failed (the others are still produced);
     verify: a file is missing, added or changed; check: a client cannot be collected as configured
  2  usage or configuration error: nothing was written
  130, 143  run interrupted by Ctrl-C or SIGTERM: completed clients are intact"""


class UsageError(Exception):
    pass


class HelpFormatter(argparse.HelpFormatter):
    """Wraps a one-paragraph text as usual; keeps the lines of a text that has line breaks (the exit
    statuses)."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=DEFAULT_CONFIG, metavar="FILE",
                        help="the configuration file: firm, defaults and clients (default: %(default)s, "
                             "relative to the current folder; the bundled demo institutions)")


def previous_month(today: date | None = None) -> str:
    today = today or date.today()
    y, m = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{y:04d}-{m:02d}"


def period_format_problem(value: str) -> str | None:
    """What is wrong with a YYYY-MM period, in words; None when it is one."""
    if not re.fullmatch(r"\d{4}-\d{2}", value):
        return f"{value!r} is not a period: write YYYY-MM, such as {previous_month()}"
    month = int(value[5:])
    if not 1 <= month <= 12:
        return f"{value!r}: there is no month {month:02d} (months are 01 to 12)"
    if int(value[:4]) < 2000:
        return f"{value!r}: the year is too early for Entra ID data"
    return None


def parse_period(value: str | None, today: date | None = None) -> str:
    """The ``--period`` to run: the month that has just ended by default; the impossible (a bad
    month, a future month) is a usage error. See ``period_warning`` for the unfinished month."""
    if value is None:
        return previous_month(today)
    problem = period_format_problem(value)
    if problem:
        raise UsageError(f"--period {problem}")
    today = today or date.today()
    current = f"{today.year:04d}-{today.month:02d}"
    if value > current:
        raise UsageError(f"--period {value} is in the future: there is no data for it yet (this month is "
                         f"{current}; the last complete month is {previous_month(today)})")
    return value


def period_warning(period: str, today: date | None = None) -> str | None:
    today = today or date.today()
    if period == f"{today.year:04d}-{today.month:02d}":
        return (f"warning: period {period} is the current month and not finished: the report covers the "
                f"data up to now, and a run after the month ends will replace it")
    return None


def config_vocabulary() -> dict[str, list[str]]:
    """What a configuration may name: the implemented check ids and the demo profiles."""
    from reportgen.checks import registered
    from reportgen.collect.demo import PROFILES
    from reportgen.controls import framework_ids
    return {"check_ids": sorted(registered()), "demo_profiles": sorted(PROFILES), "framework_ids": framework_ids()}


def config_path(value: str) -> Path:
    """The configuration file named by ``--config``, or a UsageError that says where it was looked for."""
    path = Path(value)
    if path.is_file():
        return path
    if path.is_dir():
        raise UsageError(f"--config {value} is a folder; give the configuration file (a .yaml file)")
    where = "" if path.is_absolute() else f" (looked for relative to {Path.cwd()}, the folder reportgen runs in)"
    hint = ("; run reportgen from the folder that holds config/, or name the file with --config FILE"
            if value == DEFAULT_CONFIG else "; name an existing file with --config FILE")
    raise UsageError(f"configuration file {value} not found{where}{hint}")


def load_config(path: Path):
    from reportgen.config import load_config as load
    return load(path, **config_vocabulary())


def load_or_report(path: Path):
    """The configuration and catalogs, or None after printing each problem (exit status 2)."""
    from reportgen.config import ConfigError
    from reportgen.controls import CatalogError, load_catalogs
    try:
        cfg = load_config(path)
        load_catalogs()  # refuse a broken catalog before anything is written
    except ConfigError as e:
        for prob in e.problems:   # they quote the YAML, which may hold anything
            print(f"config error: {terminal(prob)}", file=sys.stderr)
        return None
    except CatalogError as e:
        print(f"catalog error: {terminal(e)}", file=sys.stderr)
        return None
    return cfg


def choose_clients(cfg, wanted: list[str]) -> list:
    """The clients named by ``--client`` (all when none is named); a typo is a usage error with a
    did-you-mean."""
    slugs = [c.slug for c in cfg.clients]
    for slug in wanted:
        if slug not in slugs:
            close = difflib.get_close_matches(slug, slugs, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"--client {slug!r} is not configured{hint}; configured: {', '.join(slugs)}")
    return [c for c in cfg.clients if not wanted or c.slug in wanted]


def _cause(e: OSError) -> str:
    if e.errno == errno.EROFS:
        return "the file system is read-only"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (the folder is read-only for this user)"
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    if e.errno == errno.ENOTDIR:
        return "part of the path is a file, not a folder"
    return e.strerror or str(e)


def writable_folder(folder: Path, what: str = "output folder") -> Path:
    """Make sure ``folder`` exists (created 0700) and that this process can write in it, before any
    client starts; a UsageError names the folder and the cause otherwise."""
    folder = Path(folder)
    for parent in [folder, *folder.parents]:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                kind = "" if parent == folder else "its parent "
                raise UsageError(f"cannot use {folder} as the {what}: {kind}{parent} is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".reportgen-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"cannot write to the {what} {folder}: {_cause(e)}") from None
    return folder


def describe_os_error(e: OSError) -> str:
    """An OSError as words, naming its file."""
    name = f" ({e.filename})" if getattr(e, "filename", None) else ""
    return f"{_cause(e)}{name}"
