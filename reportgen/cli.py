"""Command line: reportgen run | verify | render (contracts.md)."""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from reportgen import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def previous_month(today: date | None = None) -> str:
    today = today or date.today()
    y, m = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{y:04d}-{m:02d}"


def _period(value: str | None) -> str:
    if value is None:
        return previous_month()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise UsageError(f"--period must be YYYY-MM, got {value!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reportgen", description="Monthly Entra ID MFA compliance reports.")
    p.add_argument("--version", action="version", version=f"reportgen {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the monthly batch: collect, evaluate and render every client")
    run.add_argument("--config", default="config/reportgen.yaml")
    run.add_argument("--period", help="YYYY-MM (default: the month that has just ended)")
    run.add_argument("--client", action="append", default=[], metavar="SLUG", help="only this client (repeatable)")
    run.add_argument("--out", help="output folder (default: defaults.output_dir of the config)")
    run.add_argument("--jobs", type=int, default=None, help="clients in parallel (default: CPU count)")
    run.add_argument("--resume", action="store_true", help="skip clients whose output already verifies")
    ver = sub.add_parser("verify", help="re-hash one client's output folder against its manifest")
    ver.add_argument("dir")
    ren = sub.add_parser("render", help="evaluate and render again from stored evidence, no network")
    ren.add_argument("--evidence", required=True, help="a client's output folder (or its evidence/ folder)")
    ren.add_argument("--out", help="output root; the client lands in OUT/<period>/<slug> (default: in place)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"run": cmd_run, "verify": cmd_verify, "render": cmd_render}[args.command](args)
    except UsageError as e:
        print(f"reportgen: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("reportgen: interrupted; completed clients are intact, re-run with --resume", file=sys.stderr)
        return 130


def cmd_run(args) -> int:
    from reportgen.batch import default_workers, run_batch, write_batch
    from reportgen.config import ConfigError, load_config, output_root
    from reportgen.controls import CatalogError, load_catalogs
    from reportgen.pipeline import job_for
    started = time.monotonic()
    period = _period(args.period)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    cfg_path = Path(args.config)
    if not cfg_path.is_file():
        raise UsageError(f"configuration file {cfg_path} not found")
    try:
        cfg = load_config(cfg_path)
        load_catalogs()  # refuse a broken catalog before anything is written
    except ConfigError as e:
        for prob in e.problems:
            print(f"config error: {prob}", file=sys.stderr)
        return EXIT_USAGE
    except CatalogError as e:
        print(f"catalog error: {e}", file=sys.stderr)
        return EXIT_USAGE
    slugs = [c.slug for c in cfg.clients]
    unknown = [s for s in args.client if s not in slugs]
    if unknown:
        raise UsageError(f"unknown client {unknown[0]!r}; configured: {', '.join(slugs)}")
    chosen = [c for c in cfg.clients if not args.client or c.slug in args.client]
    out_root = output_root(cfg, args.out)
    period_dir = out_root / period
    period_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    jobs = [job_for(cfg, c, period, out_root) for c in chosen]
    workers = args.jobs or default_workers()
    print(f"reportgen {__version__}: {len(jobs)} client(s), period {period}, {workers} worker(s) -> {period_dir}",
          file=sys.stderr)
    entries = run_batch(jobs, period_dir, workers=workers, resume=args.resume)
    write_batch(period_dir, period, entries, started)
    failed = [e for e in entries if e["status"] != "ok"]
    print(f"done: {len(entries) - len(failed)} ok, {len(failed)} failed in {time.monotonic() - started:.1f}s; "
          f"see {period_dir / 'batch.json'}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_verify(args) -> int:
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


def cmd_render(args) -> int:
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
        client = Client.model_validate(record["client"])
        period = _period(record["period"])
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


if __name__ == "__main__":
    sys.exit(main())
