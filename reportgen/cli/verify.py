"""``reportgen verify``: re-hash one client's output folder against its manifest."""
from __future__ import annotations

import sys
from pathlib import Path

from reportgen.cli.common import EXIT_FAILED, EXIT_OK, HelpFormatter, UsageError
from reportgen.display import terminal
from reportgen.vocab import count

DESCRIPTION = ("Re-hash one client's output folder (OUT/<period>/<slug>/) against its manifest.json: every file the "
               "manifest lists must be present with the same SHA-256 and size, and no file may have been added. Give"
               " a client folder, not the period folder that holds them.")

EPILOG = """\
exit status:
  0  every file matches the manifest
  1  a file is missing, added or changed (each is named)
  2  usage error (not a folder, or a period folder)"""


def add(sub) -> None:
    ver = sub.add_parser("verify", help="re-hash one client's output folder against its manifest",
                         description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter)
    ver.add_argument("dir", metavar="DIR", help="a client's output folder, such as out/2026-11/first-example-bank")
    ver.set_defaults(handler=handle)


def _client_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "manifest.json").is_file())


def handle(args) -> int:
    from reportgen.package import MANIFEST, verify
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    if not (folder / MANIFEST).exists():
        clients = _client_folders(folder)
        if clients or (folder / "batch.json").is_file():
            listed = "".join(f"\n  reportgen verify {c}" for c in clients) or " (it holds no client folder)"
            raise UsageError(f"{folder} is a period folder; verify a client folder:{listed}")
    problems = verify(folder)
    for prob in problems:
        print(terminal(f"{folder}/{prob}"))
    if problems:
        print(f"FAILED: {count(len(problems), 'problem')} in {folder}", file=sys.stderr)
        return EXIT_FAILED
    print(f"OK: every file of {folder} matches its manifest")
    return EXIT_OK
