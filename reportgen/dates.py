"""The one way timestamps are read and written.

Graph sends ISO 8601 with up to seven fractional digits and a 'Z'; Python 3.11's ``fromisoformat``
takes at most six. Everything reportgen writes is UTC, whole seconds, with a 'Z'.
"""
from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any


def iso_z(dt: datetime) -> str:
    """UTC, whole seconds, 'Z': the format of evidence, results and reports."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def long_day(d: date) -> str:
    """'29 November 2026': a date written out in full (cover, sign-off, timeline)."""
    return f"{d.day} {d.strftime('%B %Y')}"


def day_text(dt: datetime) -> str:
    """'14 Nov 2026': a UTC date as a reader sees it."""
    dt = dt.astimezone(UTC)
    return f"{dt.day} {dt.strftime('%b %Y')}"


def time_text(dt: datetime) -> str:
    """'14 Nov 2026 09:12 UTC': a moment as a reader sees it in a sentence (never raw ISO 8601)."""
    return f"{day_text(dt)} {dt.astimezone(UTC).strftime('%H:%M')} UTC"


def parse_iso(value: Any) -> datetime | None:
    """An aware UTC datetime, or None for anything that is not a usable timestamp.

    Graph's "never" (0001-01-01) and dates that cannot be shown in UTC (year 9999 with a negative
    offset) read as None, as does a naive time that is not text."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        head, dot, rest = text.partition(".")
        if not dot:
            return None
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits):]
        try:
            dt = datetime.fromisoformat(f"{head}.{digits[:6]}{zone}")
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if dt.year < 1900:
        return None
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        return None


def now() -> datetime:
    """The current time in UTC, whole seconds; SOURCE_DATE_EPOCH (seconds since 1970, the
    reproducible-builds convention) replaces it when set, so that a demo run can be reproduced."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)
