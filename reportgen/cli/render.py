"""``reportgen render``: evaluate and render again from a client's stored folder, without network."""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from reportgen.cli.common import EXIT_FAILED, EXIT_OK, UsageError, config_vocabulary, parse_period


def add(sub) -> None:
    ren = sub.add_parser("render", help="evaluate and render again from stored evidence, no network")
    ren.add_argument("--evidence", required=True, help="a client's output folder (or its evidence/ folder)")
    ren.add_argument("--out", help="output root; the client lands in OUT/<period>/<slug> (default: in place)")
    ren.set_defaults(handler=handle)


def handle(args) -> int:
    from reportgen.batch import run_batch, write_batch
    from reportgen.config import Client
    from reportgen.evidence import EvidenceError, copy_plain_folder
    from reportgen.pipeline import Job
    started = time.monotonic()
    folder = Path(args.evidence).resolve()
    if (folder / "collection.json").is_file() and folder.name == "evidence":
        folder = folder.parent
    try:
        record = json.loads((folder / "client.json").read_text(encoding="utf-8"))
        client = Client.model_validate(record["client"], context=config_vocabulary())
        period = parse_period(record["period"])
    except FileNotFoundError:
        raise UsageError(f"{folder} has no client.json: point --evidence at a client's output folder")
    except (ValueError, KeyError, TypeError) as e:
        raise UsageError(f"{folder}/client.json is not usable: {e}")
    if not (folder / "evidence" / "collection.json").is_file():
        raise UsageError(f"{folder} has no evidence/collection.json")
    firm = dict(record["firm"])
    firm["logo"] = str(folder / firm["logo"]) if firm.get("logo") else None
    if args.out:
        out_root, target = Path(args.out), None
    else:
        out_root, target = folder.parent.parent, folder
    # the stored folder is read before anything is published over it
    job = Job(client=client, firm=firm, defaults=record["defaults"], period=period, out_root=out_root,
              evidence_from=folder, target=target)
    snap = None
    if target is not None:
        # in place: evaluate from a snapshot, since the folder is replaced when the new one is complete
        snap = Path(tempfile.mkdtemp(prefix="reportgen-render-"))
        try:
            copy_plain_folder(folder, snap / "src")   # no links, devices or fifos: nothing local comes along
        except EvidenceError as e:
            shutil.rmtree(snap, ignore_errors=True)
            print(f"FAILED  {client.slug}: {e}", file=sys.stderr)
            return EXIT_FAILED
        job.evidence_from = snap / "src"
        job.firm["logo"] = str(snap / "src" / record["firm"]["logo"]) if record["firm"].get("logo") else None
    try:
        entries = run_batch([job], job.final_dir.parent, workers=1)
    finally:
        if snap is not None:
            shutil.rmtree(snap, ignore_errors=True)
    if target is None:
        write_batch(job.final_dir.parent, period, entries, started)
    failed = [e for e in entries if e["status"] != "ok"]
    print(f"{'FAILED' if failed else 'rendered'}: {job.final_dir}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK
