"""Month over month: summaries of earlier periods, the trend, and what changed.

The summaries a report was computed from are stored in the client's folder (history.json) and
covered by the manifest, so that folder alone re-renders the same report.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from reportgen.vocab import OPEN_SEVERITIES, OPEN_STATUSES, Status

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_PERIODS = 12
OPEN = tuple(s.value for s in OPEN_STATUSES)
NOT_EVALUATED = Status.NOT_EVALUATED.value
LEVELS = tuple(s.value for s in OPEN_SEVERITIES)   # severities counted in trends and the portfolio
# Eleven summaries take a few kilobytes; anything near this is not a history file.
MAX_HISTORY_BYTES = 1024 * 1024


class HistoryError(ValueError):
    """A history file that cannot be used; the message names it and says why."""


def read_history(path: Path) -> list[Any]:
    """A history file (a JSON list), read no further than MAX_HISTORY_BYTES."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_HISTORY_BYTES + 1)
    except OSError as e:
        raise HistoryError(f"cannot read {path}: {e.strerror or e}") from None
    if len(raw) > MAX_HISTORY_BYTES:
        raise HistoryError(f"{path} is larger than {MAX_HISTORY_BYTES:,} bytes; a history file holds "
                           f"at most {MAX_PERIODS - 1} monthly summaries")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise HistoryError(f"{path} is not a JSON file ({type(e).__name__})") from None
    if not isinstance(doc, list):
        raise HistoryError(f"{path} must hold a JSON list of monthly summaries")
    return doc


def history_problem(path: Path) -> str | None:
    """Why a configured history file cannot be used; None when it can."""
    if not path.is_file():
        return f"file {path} not found"
    try:
        read_history(path)
    except HistoryError as e:
        return str(e)
    return None


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """One period in a line: open findings (and checks not evaluated) by severity."""
    open_by_sev = {s: 0 for s in LEVELS}
    unknown_by_sev = {s: 0 for s in LEVELS}
    open_ids = []
    for c in doc.get("checks", []):
        override = c.get("override") if isinstance(c.get("override"), dict) else {}
        severity = override.get("severity") or c.get("severity")    # the consultant's, where adjusted
        if c.get("status") in OPEN:
            open_ids.append(c["id"])
            if severity in open_by_sev:
                open_by_sev[severity] += 1
        elif c.get("status") == NOT_EVALUATED and severity in unknown_by_sev:
            unknown_by_sev[severity] += 1
    summary = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    # the report's own figures (view model) where results.json carries them
    if _counts_like(summary.get("open")) and _counts_like(summary.get("not_evaluated")):
        open_by_sev, unknown_by_sev = dict(summary["open"]), dict(summary["not_evaluated"])
    return {"period": doc["period"], "mfa_registered_pct": summary.get("mfa_registered_pct"),
            "open": open_by_sev, "not_evaluated": unknown_by_sev, "open_checks": sorted(open_ids),
            "readiness": doc.get("readiness", {})}


def _counts_like(value: Any) -> bool:
    return (isinstance(value, dict) and set(value) == set(LEVELS)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()))


def load(out_root: Path, slug: str, period: str, stored_folder: Path | None = None,
         seed_file: Path | None = None) -> list[dict[str, Any]]:
    """Earlier periods' summaries, oldest first, at most MAX_PERIODS - 1 of them."""
    if stored_folder is not None:
        if not (stored_folder / "history.json").is_file():
            return []
        return [s for s in read_history(stored_folder / "history.json") if _usable(s)]
    found: dict[str, dict[str, Any]] = {}
    if seed_file is not None and seed_file.is_file():
        for s in read_history(seed_file):
            if _usable(s) and s["period"] < period:
                found[s["period"]] = s
    root = Path(out_root)
    if root.is_dir():
        for d in root.iterdir():
            if PERIOD_RE.match(d.name) and d.name < period:
                f = d / slug / "results.json"
                try:
                    found[d.name] = summarize(json.loads(f.read_text(encoding="utf-8")))
                except (FileNotFoundError, ValueError, KeyError, TypeError):
                    continue
    return [found[k] for k in sorted(found)][-(MAX_PERIODS - 1):]


def _usable(s: Any) -> bool:
    """A summary with the shape ``summarize`` gives (anything else in a file is skipped)."""
    return (isinstance(s, dict) and isinstance(s.get("period"), str) and bool(PERIOD_RE.match(s["period"]))
            and isinstance(s.get("open"), dict)
            and set(s["open"]) <= {"critical", "high", "medium", "low"}
            and all(isinstance(v, int) and not isinstance(v, bool) for v in s["open"].values())
            and isinstance(s.get("open_checks", []), list))


def trend(hist: list[dict[str, Any]], doc: dict[str, Any]) -> list[dict[str, Any]] | None:
    points = hist + [summarize(doc)]
    return points if len(points) >= 2 else None


def changes(hist: list[dict[str, Any]], doc: dict[str, Any]) -> dict[str, list[str]] | None:
    if not hist:
        return None
    before, now = set(hist[-1].get("open_checks", [])), set(summarize(doc)["open_checks"])
    return {"new": sorted(now - before), "resolved": sorted(before - now), "still_open": sorted(now & before),
            "since": hist[-1]["period"]}


def _count(counts: Any, level: str) -> int:
    v = counts.get(level) if isinstance(counts, dict) else None
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def direction(hist: list[dict[str, Any]], doc: dict[str, Any]) -> str:
    """Open findings by severity against the previous period: ``improving`` when some count fell and
    none rose, ``worsening`` when some rose and none fell, ``mixed`` when both, ``steady`` when none
    moved, ``new`` without a previous period. A weighted score could call a period with more open
    findings "improving"; this rule always agrees with the counts shown beside it."""
    if not hist:
        return "new"
    prev, cur = hist[-1].get("open"), summarize(doc)["open"]
    up = any(_count(cur, k) > _count(prev, k) for k in LEVELS)
    down = any(_count(cur, k) < _count(prev, k) for k in LEVELS)
    if up and down:
        return "mixed"
    return "worsening" if up else "improving" if down else "steady"
