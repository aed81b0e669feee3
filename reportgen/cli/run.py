"""``reportgen run``: the monthly batch."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from reportgen import __version__
from reportgen.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, load_config, parse_period


def add(sub) -> None:
    run = sub.add_parser("run", help="the monthly batch: collect, evaluate and render every client")
    run.add_argument("--config", default="config/reportgen.yaml")
    run.add_argument("--period", help="YYYY-MM (default: the month that has just ended)")
    run.add_argument("--client", action="append", default=[], metavar="SLUG", help="only this client (repeatable)")
    run.add_argument("--out", help="output folder (default: defaults.output_dir of the config)")
    run.add_argument("--jobs", type=int, default=None, help="clients in parallel (default: CPU count)")
    run.add_argument("--resume", action="store_true", help="skip clients whose output already verifies")
    run.add_argument("--force", action="store_true",
                     help="replace final reports too (each is kept under <period>/.superseded/)")
    run.set_defaults(handler=handle)


def handle(args) -> int:
    from reportgen.batch import default_workers, run_batch, write_batch
    from reportgen.config import ConfigError, output_root
    from reportgen.controls import CatalogError, load_catalogs
    from reportgen.pipeline import job_for
    started = time.monotonic()
    period = parse_period(args.period)
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
    jobs = [job_for(cfg, c, period, out_root, force=args.force) for c in chosen]
    workers = args.jobs or default_workers()
    print(f"reportgen {__version__}: {len(jobs)} client(s), period {period}, {workers} worker(s) -> {period_dir}",
          file=sys.stderr)
    entries = run_batch(jobs, period_dir, workers=workers, resume=args.resume)
    write_batch(period_dir, period, entries, started)
    for e in entries:
        for line in ([e["note"]] if e.get("note") else []) + list(e.get("warnings") or []):
            print(f"{e['slug']}: {line}", file=sys.stderr)
    failed = [e for e in entries if e["status"] == "failed"]
    skipped = sum(1 for e in entries if e["status"] == "skipped")
    print(f"done: {len(entries) - len(failed) - skipped} ok, {skipped} skipped (final), {len(failed)} failed in {time.monotonic() - started:.1f}s; "
          f"see {period_dir / 'batch.json'}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK
