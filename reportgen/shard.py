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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen import vocab
from reportgen.display import terminal
from reportgen.readback import MAX_SHARDS, ReadBackError, safe_slug, shard_file

SHARD_FILE_RE = re.compile(r"batch\.([1-9][0-9]{0,4})-of-([1-9][0-9]{0,4})\.json")


def parse_shard(value: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N) with 1 <= I <= N; ValueError with a plain message otherwise."""
    m = re.fullmatch(r"\s*([0-9]{1,6})\s*/\s*([0-9]{1,6})\s*", value or "")
    if not m:
        raise ValueError(f"--shard must be I/N (for example 2/4, N at most {MAX_SHARDS:,}), got {terminal(value, 40)!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if count > MAX_SHARDS:
        raise ValueError(f"--shard {value}: N is at most {MAX_SHARDS:,}")
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
        return shard_file(path)
    except ReadBackError as e:
        raise ValueError(str(e)) from None


def merge(period_dir: Path) -> Merged:
    """Join ``batch.<I>-of-<N>.json`` of ``period_dir``. Raises MergeError when there is nothing to
    join, or the files are malformed or disagree on N or the period; each client's figures are
    then taken from its own folder, which must verify (a shard file is only a list of names)."""
    found, count = _shard_files(period_dir)
    problems: list[str] = []
    docs: dict[int, dict[str, Any]] = {}
    for index, path in sorted(found.items()):
        if index > count:
            raise MergeError(f"{path.name}: shard {index} of {count} does not exist")
        try:
            docs[index] = _read_shard(path)
        except ValueError as e:
            raise MergeError(f"shard {index} of {count}: {e}") from None
        if (docs[index]["shard"]["index"], docs[index]["shard"]["count"]) != (index, count):
            raise MergeError(f"{path.name} says it is shard {docs[index]['shard']['index']} of "
                             f"{docs[index]['shard']['count']}: renamed or forged")
    periods = {d["period"] for d in docs.values()}
    if len(periods) > 1 or (periods and PERIOD_DIR_RE.fullmatch(period_dir.name) and periods != {period_dir.name}):
        raise MergeError(f"the shard files are of different periods ({', '.join(sorted(periods | {period_dir.name}))})")
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
        where = f"shard {index} of {count}"
        clients = _shard_clients(doc, where, count, index)
        bad = [c["slug"] for c in clients if c["status"] not in ("ok", "skipped")]   # skipped: final kept
        if doc.get("interrupted"):
            problems.append(f"{where}: interrupted by {terminal(doc['interrupted'], 40)}")
        if bad:
            problems.append(f"{where}: {vocab.count(len(bad), 'client')} not produced: {', '.join(bad[:10])}"
                            + (" …" if len(bad) > 10 else ""))
        for c in clients:
            if c["slug"] in by_slug:
                problems.append(f"{where}: client {c['slug']} is also in another shard")
            if c["status"] in ("ok", "skipped"):
                c = _from_folder(period_dir, c, where, problems)
            by_slug[c["slug"]] = c
        secs = doc.get("duration_seconds")
        secs = float(secs) if isinstance(secs, (int, float)) and not isinstance(secs, bool) and 0 <= secs < 1e7 else 0.0
        duration = max(duration, secs)
        shards.append({"index": index, "count": count, "file": shard_file_name(index, count),
                       "finished_at": terminal(doc.get("finished_at"), 40) if doc.get("finished_at") else None,
                       "duration_seconds": secs,
                       "ok": sum(1 for c in clients if c["status"] == "ok"), "failed": len(bad)})
    expected = next(iter(docs.values())).get("selection") if docs else None
    if len(selections) == 1 and len(docs) == count and isinstance(expected, dict) \
            and selection(by_slug) != expected:
        problems.append(f"the shards list {vocab.count(len(by_slug), 'client')} where the batch has "
                        f"{terminal(expected.get('clients'), 12)}: a shard did not record all of its clients")
    return Merged(period=str(period), count=count, clients=[by_slug[k] for k in sorted(by_slug)],
                  shards=shards, problems=problems, duration=duration)


PERIOD_DIR_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_STATUSES = ("ok", "skipped", "failed", "interrupted", "timed out", "not run")


def _shard_files(period_dir: Path) -> tuple[dict[int, Path], int]:
    found: dict[int, Path] = {}
    counts: set[int] = set()
    for p in sorted(period_dir.iterdir()):
        m = SHARD_FILE_RE.fullmatch(p.name)
        if m and (p.is_file() or p.is_symlink()):
            found[int(m.group(1))] = p
            counts.add(int(m.group(2)))
    if not found:
        raise MergeError(f"no shard files (batch.<I>-of-<N>.json) in {period_dir}: gather the shards' output "
                         f"there first (a shared volume, or each shard's period folder copied in)")
    if len(counts) > 1:
        raise MergeError(f"{period_dir} holds shard files of different splits (of {', '.join(map(str, sorted(counts)))}); "
                         f"remove those of the split you do not want to merge")
    count = counts.pop()
    if count > MAX_SHARDS:
        raise MergeError(f"shard files of {count:,} shards: N is at most {MAX_SHARDS:,}")
    return found, count


def _shard_clients(doc: dict[str, Any], where: str, count: int, index: int) -> list[dict[str, Any]]:
    """The shard's client names and statuses, checked: a safe slug of this shard, a known status."""
    out = []
    for n, c in enumerate(doc["clients"], 1):
        if not isinstance(c, dict) or not safe_slug(c.get("slug")):
            slug = c.get("slug") if isinstance(c, dict) else c
            raise MergeError(f"{where}: client entry {n} has slug {terminal(slug, 40)!r}, not a safe name; "
                             f"the shard file was edited")
        if shard_of(c["slug"], count) != index:
            raise MergeError(f"{where}: client {c['slug']} does not belong to this shard; the shard file was edited")
        status = c.get("status")
        if status not in _STATUSES:
            raise MergeError(f"{where}: client {c['slug']} has status {terminal(status, 20)!r}, not one reportgen writes")
        entry = {"slug": c["slug"], "status": status,
                 "error": terminal(c["error"], 300) if isinstance(c.get("error"), str) else None}
        # words the shard recorded about the run (not figures: those come from the folder)
        for key in ("name", "institution_type", "direction", "note"):
            if key in c:
                entry[key] = terminal(c[key], 300) if isinstance(c[key], str) else None
        if isinstance(c.get("warnings"), list):
            entry["warnings"] = [terminal(w, 300) for w in c["warnings"][:50] if isinstance(w, str)]
        if c.get("resumed") is True:
            entry["resumed"] = True
        out.append(entry)
    return out


def _from_folder(period_dir: Path, c: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """The client's entry with its figures read from its own folder, which must verify."""
    from reportgen.package import verify
    from reportgen.readback import read_json
    from reportgen.workflow.portfolio import entry_figures
    folder = period_dir / c["slug"]
    if folder.is_symlink() or not (folder / "manifest.json").is_file():
        problems.append(f"{where}: the folder of client {c['slug']} is not in {period_dir}")
        return {**c, "status": "failed", "error": "its folder was not gathered into the period folder before the merge"}
    found = verify(folder)
    if found:
        problems.append(f"{where}: the folder of client {c['slug']} does not verify ({terminal(found[0], 200)})")
        return {**c, "status": "failed", "error": "its folder does not verify against its manifest"}
    try:
        doc = read_json(folder / "results.json", what=f"{c['slug']}/results.json")
        client = doc.get("client") if isinstance(doc.get("client"), dict) else {}
        if doc.get("period") != period_dir.name and PERIOD_DIR_RE.fullmatch(period_dir.name):
            raise ValueError(f"its results.json is of period {terminal(doc.get('period'), 20)}")
        return {**c, **entry_figures(doc), "name": client.get("name"),
                "institution_type": client.get("institution_type"), "timings": {}}
    except (ReadBackError, ValueError, KeyError, TypeError, AttributeError) as e:
        problems.append(f"{where}: client {c['slug']}: {terminal(str(e), 200)}")
        return {**c, "status": "failed", "error": "its results.json cannot be read"}
