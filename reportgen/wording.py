"""The words a report uses that depend on the client's institution type or on the collection date:
which rules govern the client, how its exceptions are approved, what each readiness verdict means,
and Microsoft's timeline as of the collection date.

Per-type text is in ``institution-wording.yaml``; the readiness meanings and the timeline are in the
mandatory-MFA catalog. ``report_wording`` resolves all of it for one report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from reportgen.paths import CATALOG_DIR
from reportgen.timeline import Text, Timeline, bundled_timeline, parse_text
from reportgen.vocab import InstitutionType, Readiness
from reportgen.yamlsrc import ValidatedFile

WORDING_FILE = "institution-wording.yaml"
_TYPE_FIELDS = {"governing_rule": True, "exceptions_heading": True, "exception_all": True, "exception_some": True,
                "exception_definition": True, "excepted_meaning": True, "glossary": True, "never_show": True}


@dataclass(frozen=True)
class InstitutionText:
    governing_rule: str
    exceptions_heading: str
    exception_all: str
    exception_some: str          # with {covered} and {total}; {are} is the verb that agrees with {covered}
    exception_definition: str    # the glossary's "Exception"
    excepted_meaning: str        # what the "Excepted" status means, for the reading guide
    glossary: tuple[tuple[str, str], ...]   # (term, definition) only this type's report explains
    never_show: tuple[str, ...]  # words a report for this type must not contain


@dataclass(frozen=True)
class InstitutionWording:
    by_type: dict[str, InstitutionText]
    version: str
    path: Path | None = None
    sha256: str = ""

    def for_type(self, institution_type: str) -> InstitutionText:
        return self.by_type[institution_type]

    def forbidden(self, institution_types) -> list[tuple[str, str]]:
        """(word, type) pairs that text shown to any of these types must not contain."""
        return [(w, t) for t in institution_types for w in self.by_type[t].never_show]


def load_institution_wording(path: Path | str | None = None) -> InstitutionWording:
    path = Path(path) if path is not None else CATALOG_DIR / WORDING_FILE
    f = ValidatedFile(path)
    doc = f.mapping(f.data, (), WORDING_FILE, {"version": True, "types": True})
    types = f.mapping(doc["types"], ("types",), "types", {t.value: True for t in InstitutionType})
    out = {}
    for t in InstitutionType:
        at = ("types", t.value)
        d = f.mapping(types[t.value], at, t.value, _TYPE_FIELDS)
        some = f.text(d["exception_some"], at + ("exception_some",), "exception_some")
        if "{covered}" not in some or "{total}" not in some:
            raise f.err(at + ("exception_some",), "exception_some must say {covered} of {total}")
        out[t.value] = InstitutionText(
            governing_rule=f.text(d["governing_rule"], at + ("governing_rule",), "governing_rule"),
            exceptions_heading=f.text(d["exceptions_heading"], at + ("exceptions_heading",), "exceptions_heading"),
            exception_all=f.text(d["exception_all"], at + ("exception_all",), "exception_all"), exception_some=some,
            exception_definition=f.text(d["exception_definition"], at + ("exception_definition",), "exception_definition"),
            excepted_meaning=f.text(d["excepted_meaning"], at + ("excepted_meaning",), "excepted_meaning"),
            glossary=_glossary(f, d["glossary"], at + ("glossary",)),
            never_show=tuple(f.text_list(d["never_show"], at + ("never_show",), "never_show")))
    for t, text in out.items():
        own = " ".join((text.governing_rule, text.exceptions_heading, text.exception_all, text.exception_some,
                        text.exception_definition, text.excepted_meaning, *(" ".join(g) for g in text.glossary)))
        for w in text.never_show:
            if w in own:
                raise f.err(("types", t), f"{t}: its own text uses {w!r}, which it lists under never_show")
    version = doc["version"]
    return InstitutionWording(out, f.text(str(version) if isinstance(version, (int, float)) else version,
                                          ("version",), "version"), path, f.sha256)


def _glossary(f: ValidatedFile, value: Any, at: tuple) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise f.err(at, "glossary must be a list of {term, definition} (or [])")
    out = []
    for i, g in enumerate(value):
        g = f.mapping(g, at + (i,), f"glossary[{i}]", {"term": True, "definition": True})
        out.append((f.text(g["term"], at + (i, "term"), "term"), f.text(g["definition"], at + (i, "definition"), "definition")))
    return tuple(out)


# --------------------------------------------------------------------------- readiness meanings

PHASE1_KEYS = ("ready", "at_risk", "not_ready_coverage", "not_ready_sign_ins", "not_ready_both", "unknown")
PHASE2_KEYS = ("ready", "at_risk", "not_ready", "unknown")


@dataclass(frozen=True)
class ReadinessWording:
    phase1: dict[str, Text]
    phase2: dict[str, Text]


def parse_readiness(f: ValidatedFile, value: Any, at: tuple = ("readiness",)) -> ReadinessWording:
    doc = f.mapping(value, at, "readiness", {"phase1": True, "phase2": True})
    p1 = f.mapping(doc["phase1"], at + ("phase1",), "readiness.phase1", {k: True for k in PHASE1_KEYS})
    p2 = f.mapping(doc["phase2"], at + ("phase2",), "readiness.phase2", {k: True for k in PHASE2_KEYS})
    return ReadinessWording(
        phase1={k: parse_text(f, p1[k], at + ("phase1", k), f"readiness.phase1.{k}") for k in PHASE1_KEYS},
        phase2={k: parse_text(f, p2[k], at + ("phase2", k), f"readiness.phase2.{k}") for k in PHASE2_KEYS})


_BUNDLED_READINESS: ReadinessWording | None = None


def bundled_readiness() -> ReadinessWording:
    global _BUNDLED_READINESS
    if _BUNDLED_READINESS is None:
        from reportgen.timeline import TIMELINE_FILE
        f = ValidatedFile(CATALOG_DIR / TIMELINE_FILE)
        _BUNDLED_READINESS = parse_readiness(f, f.data["readiness"])
    return _BUNDLED_READINESS


# --------------------------------------------------------------------------- one report's words

@dataclass(frozen=True)
class ReportWording:
    """Every date- and type-dependent sentence of one report, resolved."""
    institution_type: str
    governing_rule: str
    exceptions_heading: str
    exception_definition: str
    excepted_meaning: str
    glossary: tuple[tuple[str, str], ...]
    phase1_meaning: str
    phase2_meaning: str
    timeline: list[str] = field(default_factory=list)   # Microsoft's dates, relative to the collection date
    clouds_note: str = ""


def phase1_meaning(value: Readiness, metrics: dict[str, Any], words: ReadinessWording, timeline: Timeline,
                   on: date) -> str:
    if value == Readiness.NOT_READY:
        gap, seen = bool(metrics.get("uncovered_users")), int(metrics.get("single_factor_sign_ins") or 0)
        key = "not_ready_both" if gap and seen else "not_ready_sign_ins" if seen else "not_ready_coverage"
        return timeline.text(words.phase1[key], on).replace("{count}", f"{seen:,}")
    return timeline.text(words.phase1[value.value], on)


def phase2_meaning(value: Readiness, words: ReadinessWording, timeline: Timeline, on: date) -> str:
    return timeline.text(words.phase2[value.value], on)


def report_wording(institution_type: str, on: date, phase1: Readiness, phase2: Readiness,
                   phase1_metrics: dict[str, Any], *, institution: InstitutionWording | None = None,
                   readiness: ReadinessWording | None = None, timeline: Timeline | None = None) -> ReportWording:
    institution = institution or bundled_institution_wording()
    readiness = readiness or bundled_readiness()
    timeline = timeline or bundled_timeline()
    t = institution.for_type(institution_type)
    return ReportWording(
        institution_type=institution_type, governing_rule=t.governing_rule, exceptions_heading=t.exceptions_heading,
        exception_definition=t.exception_definition, excepted_meaning=t.excepted_meaning, glossary=t.glossary,
        phase1_meaning=phase1_meaning(phase1, phase1_metrics, readiness, timeline, on),
        phase2_meaning=phase2_meaning(phase2, readiness, timeline, on),
        timeline=timeline.sentences(on), clouds_note=timeline.clouds_note)


_BUNDLED_INSTITUTION: InstitutionWording | None = None


def bundled_institution_wording() -> InstitutionWording:
    global _BUNDLED_INSTITUTION
    if _BUNDLED_INSTITUTION is None:
        _BUNDLED_INSTITUTION = load_institution_wording()
    return _BUNDLED_INSTITUTION
