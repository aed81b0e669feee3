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
  0  every file matches the manifest (and, for a signed final report, the PDF's signature covers
     the whole file and manifest.json.sig verifies with the same certificate)
  1  a file is missing, added or changed, or a signature does not hold (each is named);
     operating-system litter (~$*.xlsx, .DS_Store, Thumbs.db) is named but does not fail
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
    from reportgen.package import MANIFEST, verify_report
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    if not (folder / MANIFEST).exists():
        clients = _client_folders(folder)
        if clients or (folder / "batch.json").is_file():
            listed = "".join(f"\n  reportgen verify {c}" for c in clients) or " (it holds no client folder)"
            raise UsageError(f"{folder} is a period folder; verify a client folder:{listed}")
    problems, litter = verify_report(folder)
    for note in litter:
        print(terminal(f"{folder}/{note}"))
    for prob in problems:
        print(terminal(f"{folder}/{prob}"))
    if problems:
        print(f"FAILED: {count(len(problems), 'problem')} in {folder}", file=sys.stderr)
        return EXIT_FAILED
    print(terminal(f"OK: every file of {folder} matches its manifest{_signed(folder)}"))
    return EXIT_OK


def _signed(folder: Path) -> str:
    from reportgen.package import MANIFEST_SIG, _claimed_signer
    signer = _claimed_signer(folder)
    if signer and (folder / MANIFEST_SIG).is_file():
        return f"; the PDF and the manifest are signed by {signer}"
    return ""
