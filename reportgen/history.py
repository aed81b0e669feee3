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


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """One period in a line: open findings (and checks not evaluated) by severity."""
    open_by_sev = {s: 0 for s in LEVELS}
    unknown_by_sev = {s: 0 for s in LEVELS}
    open_ids = []
    for c in doc.get("checks", []):
        if c.get("status") in OPEN:
            open_ids.append(c["id"])
            if c.get("severity") in open_by_sev:
                open_by_sev[c["severity"]] += 1
        elif c.get("status") == NOT_EVALUATED and c.get("severity") in unknown_by_sev:
            unknown_by_sev[c["severity"]] += 1
    return {"period": doc["period"], "mfa_registered_pct": (doc.get("summary") or {}).get("mfa_registered_pct"),
            "open": open_by_sev, "not_evaluated": unknown_by_sev, "open_checks": sorted(open_ids),
            "readiness": doc.get("readiness", {})}


def load(out_root: Path, slug: str, period: str, stored_folder: Path | None = None,
         seed_file: Path | None = None) -> list[dict[str, Any]]:
    """Earlier periods' summaries, oldest first, at most MAX_PERIODS - 1 of them."""
    if stored_folder is not None:
        try:
            return json.loads((stored_folder / "history.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return []
    found: dict[str, dict[str, Any]] = {}
    if seed_file is not None and seed_file.is_file():
        for s in json.loads(seed_file.read_text(encoding="utf-8")):
            if isinstance(s, dict) and PERIOD_RE.match(str(s.get("period", ""))) and s["period"] < period:
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
