"""Microsoft's mandatory-MFA timeline as dated entries, and text written relative to a date.

The entries live in the mandatory-MFA catalog (``timeline:`` in ``microsoft-mandatory-mfa.yaml``),
never in code or templates. Each entry has a date and two sentences: the one a report collected
*before* that date shows ("will be enforced from ..."), and the one a later report shows ("is
enforced since ..."). Any catalog text may also

* name an entry's date as ``{date:<entry id>}``, and
* be written as ``{until: <entry id>, before: ..., after: ...}``, so that it changes on that date.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from reportgen.dates import long_day
from reportgen.paths import CATALOG_DIR
from reportgen.yamlsrc import ValidatedFile

TIMELINE_FILE = "microsoft-mandatory-mfa.yaml"
PRECISIONS = ("day", "month")
CLOUDS = ("global", "usgov", "usgov-dod", "china")
_DATE_REF = re.compile(r"\{date:([a-z0-9-]+)\}")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class DatedText(str):
    """Text that reads ``before`` until the date of timeline entry ``until``, and ``after`` from it.
    As a plain string it is the ``before`` text, so code that does not know the date still reads
    words (``Timeline.text`` picks the right one)."""
    until: str
    before: str
    after: str

    def __new__(cls, until: str, before: str, after: str) -> DatedText:
        obj = super().__new__(cls, before)
        obj.until, obj.before, obj.after = until, before, after
        return obj

    def __repr__(self) -> str:
        return f"DatedText(until={self.until!r}, before={self.before!r}, after={self.after!r})"


Text = str | DatedText


@dataclass(frozen=True)
class Entry:
    id: str
    on: date
    precision: str     # day | month: how the date is written
    before: str
    after: str


def human_date(d: date, precision: str = "day") -> str:
    return d.strftime("%B %Y") if precision == "month" else long_day(d)


@dataclass(frozen=True)
class Timeline:
    entries: tuple[Entry, ...]
    enforced_clouds: tuple[str, ...]
    clouds_note: str

    def entry(self, entry_id: str) -> Entry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(entry_id)

    def ids(self) -> set[str]:
        return {e.id for e in self.entries}

    def date_of(self, entry_id: str) -> date:
        return self.entry(entry_id).on

    def human(self, entry_id: str) -> str:
        e = self.entry(entry_id)
        return human_date(e.on, e.precision)

    def passed(self, entry_id: str, on: date) -> bool:
        """Whether a report collected ``on`` that day is at or after the entry's date."""
        return on >= self.entry(entry_id).on

    def sentences(self, on: date) -> list[str]:
        """Every entry as one sentence, in catalog order, written relative to ``on``."""
        return [self._fill(e.after if on >= e.on else e.before, e) for e in self.entries]

    def text(self, value: Text, on: date | None) -> str:
        """``value`` as a report collected ``on`` shows it (``None``: undated, as before every date)."""
        if isinstance(value, DatedText):
            value = value.after if on is not None and self.passed(value.until, on) else value.before
        return _DATE_REF.sub(lambda mt: self.human(mt.group(1)), value)

    def _fill(self, sentence: str, e: Entry) -> str:
        return self.text(sentence.replace("{date}", human_date(e.on, e.precision)), None)


def references(value: Text) -> set[str]:
    """The timeline entry ids a text refers to."""
    if isinstance(value, DatedText):
        return {value.until} | references(value.before) | references(value.after)
    return set(_DATE_REF.findall(value))


def parse_text(f: ValidatedFile, value: Any, at: tuple, what: str, required: bool = True) -> Text:
    """A catalog text: plain text, or ``{until, before, after}``."""
    if isinstance(value, dict):
        v = f.mapping(value, at, what, {"until": True, "before": True, "after": True})
        until = f.text(v["until"], at + ("until",), f"{what}.until")
        return DatedText(until=until, before=f.text(v["before"], at + ("before",), f"{what}.before"),
                         after=f.text(v["after"], at + ("after",), f"{what}.after"))
    return f.text(value, at, what, required=required)


def parse_timeline(f: ValidatedFile, value: Any, at: tuple = ("timeline",)) -> Timeline:
    doc = f.mapping(value, at, "timeline", {"clouds": True, "entries": True})
    clouds = f.mapping(doc["clouds"], at + ("clouds",), "timeline.clouds", {"enforced": True, "note": True})
    enforced = tuple(f.enum(c, at + ("clouds", "enforced", i), "timeline.clouds.enforced", CLOUDS)
                     for i, c in enumerate(f.text_list(clouds["enforced"], at + ("clouds", "enforced"),
                                                       "timeline.clouds.enforced")))
    entries: list[Entry] = []
    raw = doc["entries"]
    if not isinstance(raw, list) or not raw:
        raise f.err(at + ("entries",), "timeline.entries must be a non-empty list")
    for i, e in enumerate(raw):
        eat = at + ("entries", i)
        e = f.mapping(e, eat, f"timeline.entries[{i}]", {"id": True, "date": True, "precision": False,
                                                         "before": True, "after": True})
        eid = f.text(e["id"], eat + ("id",), "entry id")
        if not _ID.match(eid):
            raise f.err(eat + ("id",), f"timeline entry id {eid!r} must be lower-case letters, digits and '-'")
        if any(x.id == eid for x in entries):
            raise f.err(eat + ("id",), f"timeline entry {eid!r} is listed twice")
        on = e["date"]
        if not isinstance(on, date):
            raise f.err(eat + ("date",), f"timeline entry {eid}: date must be a date YYYY-MM-DD, not {on!r}")
        precision = f.enum(e.get("precision", "day"), eat + ("precision",), "precision", PRECISIONS)
        entries.append(Entry(eid, on, precision, f.text(e["before"], eat + ("before",), "before"),
                             f.text(e["after"], eat + ("after",), "after")))
    timeline = Timeline(tuple(entries), enforced, f.text(clouds["note"], at + ("clouds", "note"), "timeline.clouds.note"))
    for i, e in enumerate(entries):
        for ref in references(e.before) | references(e.after):
            if ref not in timeline.ids():
                raise f.err(at + ("entries", i), f"timeline entry {e.id} names unknown entry {ref!r}")
    return timeline


def check_references(f: ValidatedFile, value: Text, at: tuple, known: set[str]) -> None:
    """Refuse a text that names a timeline entry the catalog does not have."""
    for ref in sorted(references(value)):
        if ref not in known:
            raise f.err(at, f"unknown timeline entry {ref!r} (known: {', '.join(sorted(known))})")


_BUNDLED: Timeline | None = None


def bundled_timeline(directory: Path | str = CATALOG_DIR) -> Timeline:
    """The timeline of the bundled mandatory-MFA catalog (read once)."""
    global _BUNDLED
    if _BUNDLED is None or Path(directory) != CATALOG_DIR:
        f = ValidatedFile(Path(directory) / TIMELINE_FILE)
        if not isinstance(f.data, dict) or "timeline" not in f.data:
            raise f.err((), "the mandatory-MFA catalog has no timeline")
        t = parse_timeline(f, f.data["timeline"])
        if Path(directory) != CATALOG_DIR:
            return t
        _BUNDLED = t
    return _BUNDLED
