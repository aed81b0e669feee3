"""Command line: ``reportgen run | verify | render | check | finalize | merge`` (one module per command).

Each command module has ``add(subparsers)``, which declares its arguments and sets ``handler``.
"""
from __future__ import annotations

import argparse
import sys

from reportgen import __version__
from reportgen.cli import finalize, merge, preflight, render, run, verify
from reportgen.cli.common import EXIT_STATUSES, EXIT_USAGE, HelpFormatter, UsageError
from reportgen.display import terminal

COMMANDS = (run, verify, render, preflight, finalize, merge)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reportgen", description="Monthly Entra ID MFA compliance reports. "
                                "'reportgen COMMAND --help' describes each command.",
                                epilog=EXIT_STATUSES, formatter_class=HelpFormatter)
    p.add_argument("--version", action="version", version=f"reportgen {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from reportgen.lock import PeriodLocked
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, PeriodLocked) as e:
        print("\n".join(f"reportgen: {terminal(line)}" if i == 0 else terminal(line)
                        for i, line in enumerate(str(e).splitlines())), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("reportgen: interrupted; completed clients are intact, re-run with --resume", file=sys.stderr)
        return 130
