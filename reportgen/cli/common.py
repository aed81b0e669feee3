"""What the commands share: exit statuses, usage errors, periods, loading the configuration."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def previous_month(today: date | None = None) -> str:
    today = today or date.today()
    y, m = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{y:04d}-{m:02d}"


def parse_period(value: str | None) -> str:
    if value is None:
        return previous_month()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise UsageError(f"--period must be YYYY-MM, got {value!r}")
    return value


def config_vocabulary() -> dict[str, list[str]]:
    """What a configuration may name: the implemented check ids and the demo profiles."""
    from reportgen.checks import registered
    from reportgen.collect.demo import PROFILES
    return {"check_ids": sorted(registered()), "demo_profiles": sorted(PROFILES)}


def load_config(path: Path):
    from reportgen.config import load_config as load
    return load(path, **config_vocabulary())
