"""``--verbose`` and ``--log-file``: the standard logging module, configured once per command.

Loggers are named after modules (``reportgen.batch``, ``reportgen.collect.auth``, ...). --verbose
shows INFO and above on stderr; --log-file appends DEBUG and above, with UTC times and the process
id (batch workers are forked after this runs and write to the same file), plus urllib3's request
lines. msal's own log is left out: its debug output is not written for a shared file. Every message
goes through ``display.terminal``: it may quote a tenant, Graph or a proxy. Secrets, keys and tokens
are never passed to a logger.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from reportgen.display import terminal

ROOT_LOGGER = "reportgen"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("logging")
    group.add_argument("-v", "--verbose", action="store_true",
                       help="also show what reportgen does, step by step, on stderr")
    group.add_argument("--log-file", metavar="FILE",
                       help="append a detailed log (UTC times, each Graph request line, no secrets) to FILE")


class _Clean(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = terminal(record.getMessage(), 2000), None
        return True


class _TerminalHandler(logging.StreamHandler):
    """On a terminal, first clears the batch's status line, which is redrawn at its next update."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.stream.isatty():
                self.stream.write("\r\033[K")
        except (ValueError, AttributeError):
            pass
        super().emit(record)


class _UTC(logging.Formatter):
    converter = time.gmtime


def configure(verbose: bool, log_file: str | None, stream=None) -> None:
    """Install the handlers; a log file that cannot be opened raises OSError (a usage error)."""
    log, http = logging.getLogger(ROOT_LOGGER), logging.getLogger("urllib3.connectionpool")
    for logger in (log, http):   # back to the defaults first: a command may run twice in one process
        for h in list(logger.handlers):
            logger.removeHandler(h)
            h.close()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    if not verbose and not log_file:
        return
    log.setLevel(logging.DEBUG if log_file else logging.INFO)
    log.propagate = False
    if verbose:
        h = _TerminalHandler(stream or sys.stderr)
        h.setLevel(logging.INFO)
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        h.addFilter(_Clean())
        log.addHandler(h)
    if log_file:
        path = Path(log_file)
        if path.is_dir():
            raise IsADirectoryError(21, "is a folder, not a file", str(path))
        fh = logging.FileHandler(path, mode="a", encoding="utf-8")
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(_UTC("%(asctime)s.%(msecs)03dZ %(process)d %(levelname)s %(name)s: %(message)s",
                             "%Y-%m-%dT%H:%M:%S"))
        fh.addFilter(_Clean())
        log.addHandler(fh)
        http.setLevel(logging.DEBUG)
        http.propagate = False
        http.addHandler(fh)
