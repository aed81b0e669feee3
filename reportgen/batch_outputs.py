"""What a batch leaves in the period folder: batch.json (or a shard's batch.I-of-N.json) and the
consultant's portfolio.xlsx, and each client's figures in them."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from reportgen import __version__
from reportgen.dates import iso_z
from reportgen.dates import now as clock
from reportgen.package import write_json


def batch_doc(period: str, clients: list[dict[str, Any]], duration: float, **extra: Any) -> dict[str, Any]:
    return {"tool": {"name": "reportgen", "version": __version__}, "period": period,
            "finished_at": iso_z(clock()), "duration_seconds": round(duration, 3),   # SOURCE_DATE_EPOCH when set
            "ok": sum(1 for c in clients if c["status"] == "ok"),
            "failed": sum(1 for c in clients if c["status"] in ("failed", "interrupted")), **extra, "clients": clients}


def publish_batch(period_dir: Path, doc: dict[str, Any]) -> None:
    """batch.json and the consultant's portfolio.xlsx and portfolio.html from one batch document."""
    write_json(period_dir / "batch.json", doc)
    from reportgen.render.portfolio import render_portfolio
    render_portfolio(doc["clients"], period_dir / "portfolio.xlsx", doc["period"], doc["finished_at"])
    from reportgen.render.portfolio_html import render_portfolio_html
    render_portfolio_html(doc["clients"], period_dir / "portfolio.html", doc["period"], doc["finished_at"])


def write_batch(period_dir: Path, period: str, entries: list[dict[str, Any]], started: float,
                **extra: Any) -> list[dict[str, Any]]:
    """batch.json and portfolio.xlsx. Entries of clients not in this run are kept from the last run."""
    merged: dict[str, dict[str, Any]] = {}
    try:
        for e in json.loads((period_dir / "batch.json").read_text(encoding="utf-8")).get("clients", []):
            if isinstance(e, dict) and isinstance(e.get("slug"), str) and (period_dir / e["slug"]).is_dir():
                merged[e["slug"]] = e
    except (FileNotFoundError, ValueError, AttributeError):
        pass
    for e in entries:
        merged[e["slug"]] = e
    clients = [merged[k] for k in sorted(merged)]
    publish_batch(period_dir, batch_doc(period, clients, time.monotonic() - started, **extra))
    return clients


def write_shard(period_dir: Path, period: str, entries: list[dict[str, Any]], started: float,
                shard: tuple[int, int], whole: dict[str, Any], **extra: Any) -> Path:
    """batch.<I>-of-<N>.json: this shard's entries (no portfolio: ``merge`` writes it for all shards).
    ``whole`` is the selection of the batch before the split (shard.selection)."""
    from reportgen.shard import shard_file_name
    path = period_dir / shard_file_name(*shard)
    clients = sorted(entries, key=lambda e: e["slug"])
    write_json(path, batch_doc(period, clients, time.monotonic() - started,
                               shard={"index": shard[0], "count": shard[1]}, selection=whole, **extra))
    return path
