"""``reportgen run``: the monthly batch."""
from __future__ import annotations

import sys
import time

from reportgen import __version__
from reportgen.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    RUN_STATUSES,
    HelpFormatter,
    UsageError,
    add_config_argument,
    choose_clients,
    config_path,
    describe_os_error,
    load_or_report,
    parse_period,
    period_warning,
    writable_folder,
)
from reportgen.cli.signin import past_period
from reportgen.display import terminal
from reportgen.vocab import count


def add(sub) -> None:
    run = sub.add_parser("run", help="the monthly batch: collect, evaluate and render every client",
                         description="The monthly batch: for every configured client (or those named with "
                                     "--client) collect the tenant's data, evaluate the checks and write the PDF, "
                                     "workbook and results.json into OUT/<period>/<slug>/, then batch.json and "
                                     "portfolio.xlsx for the period.",
                         epilog=RUN_STATUSES, formatter_class=HelpFormatter)
    add_config_argument(run)
    run.add_argument("--period", help="YYYY-MM (default: the month that has just ended)")
    run.add_argument("--client", action="append", default=[], metavar="SLUG", help="only this client (repeatable)")
    run.add_argument("--out", metavar="DIR", help="output folder (default: defaults.output_dir of the config)")
    run.add_argument("--jobs", type=int, default=None, help="clients in parallel (default: CPU count)")
    run.add_argument("--resume", action="store_true",
                     help="keep clients whose output verifies and was made from the same configuration, "
                          "catalogs and tool version")
    run.add_argument("--force", action="store_true",
                     help="replace final reports too (each is kept under <period>/.superseded/)")
    run.add_argument("--shard", metavar="I/N",
                     help="only the clients of shard I of N (a stable hash of the slug); writes batch.I-of-N.json "
                          "and no portfolio: join the shards with 'reportgen merge' (see docs/sharding.md)")
    run.add_argument("--client-timeout", type=float, metavar="SECONDS",
                     help="stop a client still running after this long and go on with the others "
                          "(default: 30 minutes, plus a live tenant's collection budget)")
    run.set_defaults(handler=handle)


def handle(args) -> int:
    from reportgen.batch import Stop, default_workers, run_batch, write_batch, write_shard
    from reportgen.config import output_root
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
    cfg = load_or_report(config_path(args.config))
    if cfg is None:
        return EXIT_USAGE
    chosen = choose_clients(cfg, args.client)
    whole = selection(c.slug for c in chosen)
    if shard is not None:
        chosen = [c for c in chosen if shard_of(c.slug, shard[1]) == shard[0]]
    out_root = output_root(cfg, args.out)
    period_dir = writable_folder(out_root / period)
    warning = period_warning(period)
    if warning:
        print(warning, file=sys.stderr)
    past = past_period(period) if any(c.source == "graph" for c in chosen) else None
    if past:
        print(f"warning: {past}", file=sys.stderr)
    jobs = [job_for(cfg, c, period, out_root, force=args.force) for c in chosen]
    workers = args.jobs or default_workers()
    with Stop().installed() as stop, period_lock(period_dir, shard=shard):
        part = f" (shard {shard[0]} of {shard[1]})" if shard else ""
        print(f"reportgen {__version__}: {count(len(jobs), 'client')}{part}, period {period}, {count(workers, 'worker')} -> "
              f"{period_dir}", file=sys.stderr)
        entries = run_batch(jobs, period_dir, workers=workers, resume=args.resume, stop=stop,
                            client_timeout=args.client_timeout)
        for e in entries:
            for line in ([e["note"]] if e.get("note") else []) + list(e.get("warnings") or []):
                print(terminal(f"{e['slug']}: {line}", 500), file=sys.stderr)
        failed = [e for e in entries if e["status"] in ("failed", "interrupted")]
        stopped = sum(1 for e in entries if e["status"] == "interrupted")
        skipped = sum(1 for e in entries if e["status"] == "skipped")
        summary = (f"done: {len(entries) - len(failed) - skipped:,} ok, {len(failed) - stopped:,} failed"
                   + (f", {stopped:,} stopped or not started" if stopped else "")
                   + (f", {skipped:,} skipped (final report kept)" if skipped else "")
                   + f" in {time.monotonic() - started:.1f}s")
        extra = {"interrupted": stop.name} if stop.requested else {}
        try:
            if shard is not None:
                written = write_shard(period_dir, period, entries, started, shard, whole, **extra)
            else:
                write_batch(period_dir, period, entries, started, **extra)
                written = period_dir / "batch.json"
        except OSError as e:
            # the clients' folders are complete and verify; only the period's summary files are missing
            print(f"{summary}; the period summary could not be written in {period_dir}: "
                  f"{describe_os_error(e)}", file=sys.stderr)
            return stop.exit_status if stop.requested else EXIT_FAILED
    if stop.requested:
        print(f"interrupted by {stop.words}: {summary}; completed clients are intact. See {written}; "
              f"re-run with --resume to complete the period", file=sys.stderr)
        return stop.exit_status
    print(f"{summary}; see {written}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK
