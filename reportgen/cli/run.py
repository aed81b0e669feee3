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
                     help="also replace finalized client folders (the replaced one is kept under <period>/.superseded/)")
    run.add_argument("--shard", metavar="I/N",
                     help="only the clients of shard I of N (a stable hash of the slug); writes batch.I-of-N.json "
                          "and no portfolio: join the shards with 'reportgen merge' (see docs/sharding.md)")
    run.add_argument("--client-timeout", type=float, metavar="SECONDS",
                     help="stop a client still running after this long and go on with the others "
                          "(default: 30 minutes, plus a live tenant's collection budget)")
    run.set_defaults(handler=handle)


def handle(args) -> int:
    from reportgen.batch import Stop, default_workers, run_batch, write_batch, write_shard
    from reportgen.config import ConfigError, output_root
    from reportgen.controls import CatalogError, load_catalogs
    from reportgen.lock import period_lock
    from reportgen.pipeline import job_for
    from reportgen.shard import parse_shard, selection, shard_of
    started = time.monotonic()
    period = parse_period(args.period)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.client_timeout is not None and not args.client_timeout > 0:
        raise UsageError("--client-timeout must be a positive number of seconds")
    try:
        shard = parse_shard(args.shard) if args.shard is not None else None
    except ValueError as e:
        raise UsageError(str(e)) from None
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
    whole = selection(c.slug for c in chosen)
    if shard is not None:
        chosen = [c for c in chosen if shard_of(c.slug, shard[1]) == shard[0]]
    out_root = output_root(cfg, args.out)
    period_dir = out_root / period
    jobs = [job_for(cfg, c, period, out_root) for c in chosen]
    for job in jobs:
        job.force = args.force
    workers = args.jobs or default_workers()
    with Stop().installed() as stop, period_lock(period_dir, shard=shard):
        part = f" (shard {shard[0]} of {shard[1]})" if shard else ""
        print(f"reportgen {__version__}: {len(jobs)} client(s){part}, period {period}, {workers} worker(s) -> {period_dir}",
              file=sys.stderr)
        entries = run_batch(jobs, period_dir, workers=workers, resume=args.resume, stop=stop,
                            client_timeout=args.client_timeout)
        extra = {"interrupted": stop.name} if stop.requested else {}
        if shard is not None:
            summary = write_shard(period_dir, period, entries, started, shard, whole, **extra)
        else:
            write_batch(period_dir, period, entries, started, **extra)
            summary = period_dir / "batch.json"
    failed = [e for e in entries if e["status"] != "ok"]
    if stop.requested:
        stopped = sum(1 for e in entries if e["status"] == "interrupted")
        print(f"interrupted by {stop.words}: {len(entries) - len(failed)} ok, {stopped} stopped or not started, "
              f"{len(failed) - stopped} failed; completed clients are intact. See {summary}; "
              f"re-run with --resume to complete the period", file=sys.stderr)
        return stop.exit_status
    print(f"done: {len(entries) - len(failed)} ok, {len(failed)} failed in {time.monotonic() - started:.1f}s; "
          f"see {summary}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK
