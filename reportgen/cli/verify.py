"""``reportgen verify``: re-hash one client's output folder against its manifest."""
from __future__ import annotations

import sys
from pathlib import Path

from reportgen.cli.common import EXIT_FAILED, EXIT_OK, UsageError


def add(sub) -> None:
    ver = sub.add_parser("verify", help="re-hash one client's output folder against its manifest")
    ver.add_argument("dir")
    ver.set_defaults(handler=handle)


def handle(args) -> int:
    from reportgen.package import verify
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    problems = verify(folder)
    for prob in problems:
        print(f"{folder}/{prob}")
    if problems:
        print(f"FAILED: {len(problems)} problem(s) in {folder}", file=sys.stderr)
        return EXIT_FAILED
    print(f"OK: every file of {folder} matches its manifest")
    return EXIT_OK
