"""``reportgen merge``: join the shard files of one period folder into batch.json and portfolio.xlsx."""
from __future__ import annotations

import sys
from pathlib import Path

from reportgen.cli.common import EXIT_FAILED, EXIT_OK, UsageError
from reportgen.display import terminal
from reportgen.vocab import count


def add(sub) -> None:
    mer = sub.add_parser(
        "merge", help="join the shards of a period (batch.I-of-N.json) into batch.json and portfolio.xlsx",
        description="Join the shard files batch.<I>-of-<N>.json of one period folder, written by "
                    "'reportgen run --shard I/N', into batch.json and portfolio.xlsx. The shards' client "
                    "folders must be gathered in that folder first. Exit status: 0 every shard is there and "
                    "complete; 1 a shard is missing or failed (each named; batch.json is still written); "
                    "2 usage error.")
    mer.add_argument("period_dir", metavar="PERIOD_DIR", help="the period folder, e.g. out/2026-11")
    mer.set_defaults(handler=handle)


def handle(args) -> int:
    from reportgen.batch import batch_doc, publish_batch
    from reportgen.lock import period_lock
    from reportgen.shard import MergeError, merge
    period_dir = Path(args.period_dir)
    if not period_dir.is_dir():
        raise UsageError(f"{period_dir} is not a folder: give the period folder that holds batch.<I>-of-<N>.json")
    with period_lock(period_dir):
        try:
            merged = merge(period_dir)
        except MergeError as e:
            raise UsageError(terminal(str(e))) from None
        doc = batch_doc(merged.period, merged.clients, merged.duration,
                        shards={"count": merged.count, "complete": not merged.problems, "parts": merged.shards})
        publish_batch(period_dir, doc)
    for prob in merged.problems:
        print(terminal(f"merge: {prob}"), file=sys.stderr)
    state = "incomplete" if merged.problems else "complete"
    print(f"merged {len(merged.shards):,} of {count(merged.count, 'shard')}, {doc['ok']:,} ok, {doc['failed']:,} failed "
          f"({state}) -> {period_dir / 'batch.json'}, {period_dir / 'portfolio.xlsx'}", file=sys.stderr)
    return EXIT_FAILED if merged.problems else EXIT_OK
