"""Splitting one batch over several machines, and joining the parts.

``run --shard I/N`` keeps the clients whose slug falls in shard I (1..N): the first 8 bytes of the
slug's SHA-256, read as an unsigned big-endian integer, modulo N, plus 1. It depends on the slug
alone, so every machine computes the same split from the same configuration, whatever the order
of the clients or the Python version. Each shard writes ``batch.<I>-of-<N>.json`` and no
portfolio; ``merge`` joins the shard files of one period folder into ``batch.json`` and
``portfolio.xlsx``.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from reportgen import vocab

SHARD_FILE_RE = re.compile(r"batch\.([1-9][0-9]*)-of-([1-9][0-9]*)\.json")


def parse_shard(value: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N) with 1 <= I <= N; ValueError with a plain message otherwise."""
    m = re.fullmatch(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*", value or "")
    if not m:
        raise ValueError(f"--shard must be I/N (for example 2/4), got {value!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"--shard {value}: I must be between 1 and N (shards are numbered from 1)")
    return index, count


def shard_of(slug: str, count: int) -> int:
    """The shard (1..count) a client belongs to."""
    return int.from_bytes(hashlib.sha256(slug.encode("utf-8")).digest()[:8], "big") % count + 1


def shard_file_name(index: int, count: int) -> str:
    return f"batch.{index}-of-{count}.json"


def selection(slugs: Iterable[str]) -> dict[str, Any]:
    """What the whole batch (before the split) was: its size and a digest of its sorted slugs, so
    that ``merge`` can tell shards run from different configurations, and a shard that lost some."""
    ordered = sorted(set(slugs))
    return {"clients": len(ordered), "digest": hashlib.sha256("\n".join(ordered).encode("utf-8")).hexdigest()}


@dataclass
class Merged:
    """The joined batch and what is wrong with it (each problem names its shard or client)."""
    period: str
    count: int
    clients: list[dict[str, Any]]
    shards: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    duration: float = 0.0


class MergeError(Exception):
    """The folder cannot be merged at all (no shard files, or files of different splits)."""


def _read_shard(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path.name} is not readable JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("clients"), list) or not isinstance(doc.get("shard"), dict):
        raise ValueError(f"{path.name} is not a reportgen shard file")
    return doc


def merge(period_dir: Path) -> Merged:
    """Join ``batch.<I>-of-<N>.json`` of ``period_dir``. Raises MergeError when there is nothing to
    join or the files disagree on N or the period; everything else is a named problem."""
    found: dict[int, Path] = {}
    counts: set[int] = set()
    for p in sorted(period_dir.iterdir()):
        m = SHARD_FILE_RE.fullmatch(p.name)
        if m and p.is_file():
            found[int(m.group(1))] = p
            counts.add(int(m.group(2)))
    if not found:
        raise MergeError(f"no shard files (batch.<I>-of-<N>.json) in {period_dir}: gather the shards' output "
                         f"there first (a shared volume, or each shard's period folder copied in)")
    if len(counts) > 1:
        raise MergeError(f"{period_dir} holds shard files of different splits (of {', '.join(map(str, sorted(counts)))}); "
                         f"remove those of the split you do not want to merge")
    count = counts.pop()
    problems: list[str] = []
    docs: dict[int, dict[str, Any]] = {}
    for index, path in sorted(found.items()):
        if index > count:
            raise MergeError(f"{path.name}: shard {index} of {count} does not exist")
        try:
            docs[index] = _read_shard(path)
        except ValueError as e:
            problems.append(f"shard {index} of {count}: {e}")
    periods = {d.get("period") for d in docs.values()}
    if len(periods) > 1:
        raise MergeError(f"the shard files are of different periods ({', '.join(sorted(map(str, periods)))})")
    period = periods.pop() if periods else period_dir.name
    for index in range(1, count + 1):
        if index not in found:
            problems.append(f"shard {index} of {count}: missing (no {shard_file_name(index, count)}; "
                            f"run it with --shard {index}/{count} or copy its output here)")
    selections = {json.dumps(d.get("selection"), sort_keys=True) for d in docs.values()}
    if len(selections) > 1:
        problems.append("the shards were run with different client lists (configuration changed between "
                        "shards?); run every shard again from one configuration")
    by_slug: dict[str, dict[str, Any]] = {}
    shards = []
    duration = 0.0
    for index, doc in sorted(docs.items()):
        clients = [c for c in doc["clients"] if isinstance(c, dict) and isinstance(c.get("slug"), str)]
        bad = [c["slug"] for c in clients if c.get("status") not in ("ok", "skipped")]   # skipped: final kept
        if doc.get("interrupted"):
            problems.append(f"shard {index} of {count}: interrupted by {doc['interrupted']}")
        if bad:
            problems.append(f"shard {index} of {count}: {vocab.count(len(bad), 'client')} not produced: {', '.join(bad[:10])}"
                            + (" …" if len(bad) > 10 else ""))
        for c in clients:
            if c["slug"] in by_slug:
                problems.append(f"shard {index} of {count}: client {c['slug']} is also in another shard")
            c = dict(c)
            if c.get("status") in ("ok", "skipped") and not (period_dir / c["slug"] / "manifest.json").is_file():
                problems.append(f"shard {index} of {count}: the folder of client {c['slug']} is not in {period_dir}")
                c.update(status="failed", error="its folder was not gathered into the period folder before the merge")
            by_slug[c["slug"]] = c
        duration = max(duration, float(doc.get("duration_seconds") or 0))
        shards.append({"index": index, "count": count, "file": shard_file_name(index, count),
                       "finished_at": doc.get("finished_at"), "duration_seconds": doc.get("duration_seconds"),
                       "ok": sum(1 for c in clients if c.get("status") == "ok"), "failed": len(bad)})
    expected = next(iter(docs.values())).get("selection") if docs else None
    if len(selections) == 1 and len(docs) == count and isinstance(expected, dict) \
            and selection(by_slug) != expected:
        problems.append(f"the shards list {vocab.count(len(by_slug), 'client')} where the batch has "
                        f"{expected.get('clients')}: a shard did not record all of its clients")
    return Merged(period=str(period), count=count, clients=[by_slug[k] for k in sorted(by_slug)],
                  shards=shards, problems=problems, duration=duration)
