"""Command line: ``reportgen run | verify | render | finalize`` (one module per command).

Each command module has ``add(subparsers)``, which declares its arguments and sets ``handler``.
"""
from __future__ import annotations

import argparse
import sys

from reportgen import __version__
from reportgen.cli import finalize, render, run, verify
from reportgen.cli.common import EXIT_USAGE, UsageError

COMMANDS = (run, verify, render, finalize)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reportgen", description="Monthly Entra ID MFA compliance reports.")
    p.add_argument("--version", action="version", version=f"reportgen {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as e:
        print(f"reportgen: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("reportgen: interrupted; completed clients are intact, re-run with --resume", file=sys.stderr)
        return 130
