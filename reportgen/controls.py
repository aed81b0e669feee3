"""Control catalogs: which framework controls each check evidences, and how they roll up.

The catalogs are YAML files in ``config/catalogs`` (``paths.CATALOG_DIR``):

* ``checks.yaml`` — the words of every check (read by ``reportgen.checks``);
* ``microsoft-facts.yaml`` and ``institution-wording.yaml`` — not frameworks: Microsoft's ids
  (``reportgen.facts``) and the words that depend on the institution type (``reportgen.wording``);
* one file per framework — ``framework:`` (id, name, version, as_of, binding, status, source_url,
  applies_to, optional note) and ``controls:`` (id exactly as cited, title, requirement, checks,
  manual / manual_evidence, admits_exceptions). ``checks`` says how far each check evidences the
  control: ``{full: [...], partial: [...]}`` (``[]`` for a manual control). The mandatory-MFA
  catalog also holds Microsoft's ``timeline`` and what each ``readiness`` verdict means.

Everything is validated on load; a problem raises ``CatalogError("path:line: what is wrong")``.
Text shown to an institution type must not use the words ``institution-wording.yaml`` lists under
``never_show`` for it: a framework's text is checked against every type in its ``applies_to``.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from reportgen.checks import CHECKS_FILE, CheckMeta, load_check_meta, registered
from reportgen.facts import FACTS, FACTS_FILE, load_facts
from reportgen.paths import CATALOG_DIR
from reportgen.results import CheckResult, ControlResult
from reportgen.timeline import DatedText, Text, Timeline, check_references, parse_text, parse_timeline
from reportgen.vocab import REGULATOR_TYPES, REGULATORS, ControlStatus, Coverage, InstitutionType, Status
from reportgen.wording import WORDING_FILE, InstitutionWording, ReadinessWording, load_institution_wording, parse_readiness
from reportgen.yamlsrc import CatalogError, ValidatedFile

__all__ = ["BINDINGS", "STATUSES", "CatalogError", "Catalogs", "Control", "Framework",
           "load_catalogs", "frameworks_for", "evaluate_controls", "control_status"]

BINDINGS = ("vendor", "regulation", "guidelines", "guidance", "benchmark")   # also the order frameworks are listed in
STATUSES = ("active", "proposed_removal", "retired")
INSTITUTION_TYPES = tuple(InstitutionType)
# Stable listing order within a binding class; unknown (future) frameworks follow, by id.
_KNOWN_ORDER = ("ms-mandatory-mfa", "glba-ftc", "glba-interagency", "ncua-748", "ffiec-auth-2021",
                "nist-csf-2", "cis-controls-8.1", "cis-m365", "cisa-scuba-aad")

_FRAMEWORK_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_CHECK_FIELDS = {"title": True, "severity": True, "rationale": True, "remediation": True,
                 "references": True, "area": False}
_FRAMEWORK_FIELDS = {"id": True, "name": True, "version": True, "as_of": True, "binding": True,
                     "status": True, "source_url": True, "applies_to": True, "note": False, "citations": False,
                     "opt_in": False}
_CONTROL_FIELDS = {"id": True, "title": True, "requirement": True, "checks": True, "manual": False,
                   "manual_evidence": False, "admits_exceptions": False, "exception_basis": False,
                   "requires": False}
REQUIRES = ("conditional_access",)
# What a control that asks for Conditional Access reads when its checks passed on security defaults.
SECURITY_DEFAULTS_NOTE = "Security defaults are on; this control asks for a Conditional Access policy."
NOT_FRAMEWORKS = (CHECKS_FILE, FACTS_FILE, WORDING_FILE, "engagement.yaml")   # engagement: report prose, read by render


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    requirement: Text
    checks: tuple[str, ...]
    manual: bool = False
    manual_evidence: str = ""
    admits_exceptions: bool = False
    exception_basis: str = ""
    coverage: dict[str, str] = field(default_factory=dict)   # check id -> full | partial
    requires: str = ""   # conditional_access: the control's text asks for a Conditional Access policy

    @property
    def coverage_of_control(self) -> str:
        """``partial`` when every check evidences only part of the control: then the control is never
        shown as plainly met."""
        if self.checks and all(self.coverage.get(c) == Coverage.PARTIAL for c in self.checks):
            return Coverage.PARTIAL
        return Coverage.FULL


@dataclass
class Framework:
    id: str
    name: str
    version: str
    as_of: str            # ISO date the entry was last checked against its source
    binding: str          # vendor | regulation | guidance | benchmark
    status: str           # active | proposed_removal | retired
    source_url: str
    applies_to: tuple[str, ...]
    controls: list[Control]
    path: Path
    sha256: str           # of the file's bytes, for the manifest
    note: Text = ""
    citations: dict[str, str] = field(default_factory=dict)   # regulator -> the text that binds its institutions
    opt_in: bool = False       # governs only clients that name it in ``frameworks:`` (e.g. NYDFS Part 500)
    timeline: Timeline | None = None           # the mandatory-MFA catalog only
    readiness: ReadinessWording | None = None  # the mandatory-MFA catalog only

    def resolved(self, on: date | None, timeline: Timeline | None) -> Framework:
        """A copy whose texts read as a report collected ``on`` shows them."""
        if timeline is None:
            return self
        return replace(self, note=timeline.text(self.note, on) if self.note else "",
                       controls=[replace(c, requirement=timeline.text(c.requirement, on)) for c in self.controls])

    def as_dict(self) -> dict[str, Any]:
        """The framework header as plain data (what a renderer or manifest wants)."""
        return {"id": self.id, "name": self.name, "version": self.version, "as_of": self.as_of,
                "binding": self.binding, "status": self.status, "source_url": self.source_url,
                "applies_to": list(self.applies_to), "note": self.note}


@dataclass
class Catalogs:
    frameworks: list[Framework]
    check_meta: dict[str, CheckMeta]        # in report order (that of checks.yaml)
    checks_path: Path | None = None
    checks_version: str = ""
    checks_sha256: str = ""
    wording: InstitutionWording | None = None
    facts_version: str = ""
    facts_sha256: str = ""
    _by_id: dict[str, Framework] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {f.id: f for f in self.frameworks}

    @property
    def timeline(self) -> Timeline | None:
        return next((f.timeline for f in self.frameworks if f.timeline is not None), None)

    @property
    def readiness(self) -> ReadinessWording | None:
        return next((f.readiness for f in self.frameworks if f.readiness is not None), None)

    def check_words(self, institution_type: str, on: date) -> dict[str, CheckMeta]:
        """Every check's words as a report for ``institution_type`` collected ``on`` shows them."""
        return {cid: m.resolved(institution_type, on, self.timeline) for cid, m in self.check_meta.items()}

    def framework(self, framework_id: str) -> Framework:
        return self._by_id[framework_id]

    def versions(self) -> list[dict[str, str]]:
        """``{id, version, sha256}`` of every catalog file: the frameworks in listing order, then
        the check metadata (id ``checks``), for manifest.json."""
        out = [{"id": f.id, "version": f.version, "sha256": f.sha256} for f in self.frameworks]
        if self.checks_path is not None:
            out.append({"id": "checks", "version": self.checks_version, "sha256": self.checks_sha256})
        if self.facts_sha256:
            out.append({"id": "microsoft-facts", "version": self.facts_version, "sha256": self.facts_sha256})
        if self.wording is not None and self.wording.sha256:
            out.append({"id": "institution-wording", "version": self.wording.version, "sha256": self.wording.sha256})
        return out


# ---------------------------------------------------------------------------------------------
# Loading and validation


def _checks_mapping(f: ValidatedFile, value: Any, at: tuple, where: str, known: set[str]) -> dict[str, str]:
    """``{full: [...], partial: [...]}`` -> check id -> coverage; ``[]`` (a manual control) -> {}."""
    if isinstance(value, list) and not value:
        return {}
    if not isinstance(value, dict):
        raise f.err(at, f"{where}: checks must say how far each check evidences the control: "
                        "checks: {full: [...], partial: [...]} (or [] for a manual control)")
    doc = f.mapping(value, at, f"{where}: checks", {c.value: False for c in Coverage})
    out: dict[str, str] = {}
    for kind, ids in doc.items():
        for j, chk in enumerate(f.text_list(ids, at + (kind,), f"{where}: checks.{kind}")):
            if chk not in known:
                raise f.err(at + (kind, j), f"{where}: unknown check id {chk!r}")
            if chk in out:
                raise f.err(at + (kind, j), f"{where}: check {chk} is listed twice")
            out[chk] = Coverage(kind)
    return out


def _guard_words(f: ValidatedFile, texts: list[tuple[tuple, str]], applies_to: Sequence[str],
                 wording: InstitutionWording | None) -> None:
    """Refuse regulator words that an institution type this framework is shown to must never see."""
    if wording is None:
        return
    for word, itype in wording.forbidden(applies_to):
        for at, text in texts:
            if word in text:
                raise f.err(at, f"this text is shown to {itype} clients (applies_to) but uses {word!r}, which a "
                                f"{itype} report must never show")


def _flat(value: Text) -> str:
    return f"{value.before} {value.after}" if isinstance(value, DatedText) else value


def _load_framework(path: Path, known: set[str], wording: InstitutionWording | None = None) -> Framework:
    f = ValidatedFile(path)
    doc = f.mapping(f.data, (), "a framework catalog", {"framework": True, "controls": True, "timeline": False,
                                                        "readiness": False})
    timeline = parse_timeline(f, doc["timeline"]) if "timeline" in doc else None
    readiness = parse_readiness(f, doc["readiness"]) if "readiness" in doc else None
    if (timeline is None) != (readiness is None):
        raise f.err(("timeline",) if timeline is None else ("readiness",),
                    "a catalog with a timeline must also say what each readiness verdict means, and the reverse")
    at = ("framework",)
    hdr = f.mapping(doc["framework"], at, "framework", _FRAMEWORK_FIELDS)
    fid, version, as_of, binding, status, source_url, applies_to = _header(f, hdr)
    note = parse_text(f, hdr.get("note"), at + ("note",), "framework.note", required=False)
    citations = _citations(f, hdr.get("citations"), applies_to)
    opt_in = f.flag(hdr.get("opt_in"), at + ("opt_in",), "framework.opt_in")

    raw_controls = doc["controls"]
    if not isinstance(raw_controls, list) or not raw_controls:
        raise f.err(("controls",), "controls must be a non-empty list")
    seen: dict[str, int] = {}
    controls = [_control(f, rc, i, fid, known, seen) for i, rc in enumerate(raw_controls)]
    name = f.text(hdr["name"], at + ("name",), "framework.name")
    _check_words(f, name, note, controls, timeline, readiness, applies_to, wording)
    return Framework(id=fid, name=name, version=version, as_of=as_of, binding=binding, status=status,
                     source_url=source_url, applies_to=applies_to, controls=controls, path=path, sha256=f.sha256,
                     note=note, citations=citations, opt_in=opt_in, timeline=timeline, readiness=readiness)


def _citations(f: ValidatedFile, value: Any, applies_to: tuple[str, ...]) -> dict[str, str]:
    """``citations:``: for each regulator whose institutions this framework governs, the text that
    binds them (a bank's one CFR appendix). The one place a regulator's citation is written."""
    at = ("framework", "citations")
    if value is None:
        return {}
    doc = f.mapping(value, at, "framework.citations", {r: False for r in REGULATORS})
    out = {}
    for regulator, text in doc.items():
        if not set(REGULATOR_TYPES[regulator]) & set(applies_to):
            raise f.err(at + (regulator,), f"framework.citations.{regulator}: this framework does not apply to "
                                           f"the institutions {regulator} regulates")
        out[regulator] = f.text(text, at + (regulator,), f"framework.citations.{regulator}")
    return out


def _header(f: ValidatedFile, hdr: dict) -> tuple[str, str, str, str, str, str, tuple[str, ...]]:
    """The framework header's id, version, as_of, binding, status, source_url and applies_to."""
    at = ("framework",)
    fid = f.text(hdr["id"], at + ("id",), "framework.id")
    if not _FRAMEWORK_ID_RE.match(fid):
        raise f.err(at + ("id",), f"framework.id {fid!r} must be lower-case letters, digits, '.' and '-'")
    version = hdr["version"]
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)  # "version: 2.0" is a float to YAML; keep it as written in spirit
    version = f.text(version, at + ("version",), "framework.version")
    as_of = hdr["as_of"]
    if isinstance(as_of, _dt.datetime):
        as_of = as_of.date()
    if isinstance(as_of, _dt.date):
        as_of = as_of.isoformat()
    if not isinstance(as_of, str) or not _DATE_RE.match(as_of):
        raise f.err(at + ("as_of",), f"framework.as_of must be a date YYYY-MM-DD, not {as_of!r}")
    try:
        _dt.date.fromisoformat(as_of)
    except ValueError:
        raise f.err(at + ("as_of",), f"framework.as_of {as_of!r} is not a calendar date") from None
    binding = f.enum(hdr["binding"], at + ("binding",), "framework.binding", BINDINGS)
    status = f.enum(hdr["status"], at + ("status",), "framework.status", STATUSES)
    source_url = f.text(hdr["source_url"], at + ("source_url",), "framework.source_url")
    if not source_url.startswith("https://"):
        raise f.err(at + ("source_url",), f"framework.source_url must be an https:// address, not {source_url!r}")
    applies = hdr["applies_to"]
    if not isinstance(applies, list) or not applies:
        raise f.err(at + ("applies_to",), "framework.applies_to must be a non-empty list of "
                                          f"institution types ({', '.join(INSTITUTION_TYPES)})")
    applies_to = tuple(f.enum(v, at + ("applies_to", i), "framework.applies_to", INSTITUTION_TYPES)
                       for i, v in enumerate(applies))
    if len(set(applies_to)) != len(applies_to):
        raise f.err(at + ("applies_to",), "framework.applies_to lists an institution type twice")
    return fid, version, as_of, binding, status, source_url, applies_to


def _control(f: ValidatedFile, rc: Any, i: int, fid: str, known: set[str], seen: dict[str, int]) -> Control:
    """One entry of ``controls:``; ``seen`` maps the ids read so far to their lines."""
    cat = ("controls", i)
    label = f"control {rc['id']}" if isinstance(rc, dict) and isinstance(rc.get("id"), str) else f"controls[{i}]"
    rc = f.mapping(rc, cat, label, _CONTROL_FIELDS)
    cid = rc["id"]
    if isinstance(cid, (int, float)) and not isinstance(cid, bool):
        raise f.err(cat + ("id",), f"control id {cid!r} must be quoted text (YAML read it as a number)")
    cid = f.text(cid, cat + ("id",), f"controls[{i}].id")
    where = f"control {cid}"
    if cid in seen:
        raise f.err(cat + ("id",), f"duplicate control id {cid!r} in framework {fid} "
                                   f"(first on line {seen[cid]})")
    seen[cid] = f.lines.line_of(cat + ("id",))
    title = f.text(rc["title"], cat + ("title",), f"{where}: title")
    requirement = parse_text(f, rc["requirement"], cat + ("requirement",), f"{where}: requirement")
    coverage = _checks_mapping(f, rc["checks"], cat + ("checks",), where, known)
    checks = list(coverage)
    manual = f.flag(rc.get("manual"), cat + ("manual",), f"{where}: manual")
    manual_evidence = f.text(rc.get("manual_evidence"), cat + ("manual_evidence",),
                             f"{where}: manual_evidence", required=False)
    if manual and checks:
        raise f.err(cat + ("checks",), f"{where}: a manual control has no checks (checks: [])")
    if manual and not manual_evidence:
        raise f.err(cat, f"{where}: a manual control needs manual_evidence (what to provide)")
    if not manual and not checks:
        raise f.err(cat + ("checks",), f"{where}: no checks: list at least one, or mark it manual: true "
                                       "with manual_evidence")
    admits = f.flag(rc.get("admits_exceptions"), cat + ("admits_exceptions",), f"{where}: admits_exceptions")
    basis = f.text(rc.get("exception_basis"), cat + ("exception_basis",), f"{where}: exception_basis",
                   required=False)
    if basis and not admits:
        raise f.err(cat + ("exception_basis",), f"{where}: exception_basis given but admits_exceptions is not true")
    requires = f.enum(rc["requires"], cat + ("requires",), f"{where}: requires", REQUIRES) if "requires" in rc else ""
    return Control(id=cid, title=title, requirement=requirement, checks=tuple(checks), manual=manual,
                   manual_evidence=manual_evidence, admits_exceptions=admits, exception_basis=basis,
                   coverage=coverage, requires=requires)


def _check_words(f: ValidatedFile, name: str, note: Any, controls: list[Control], timeline: Any, readiness: Any,
                 applies_to: tuple[str, ...], wording: InstitutionWording | None) -> None:
    """Timeline references resolve, and no text uses words its institution types must not read."""
    at = ("framework",)
    ids = timeline.ids() if timeline is not None else set()
    texts: list[tuple[tuple, str]] = [(at + ("name",), name), (at + ("note",), _flat(note))]
    for i, c in enumerate(controls):
        cat = ("controls", i)
        check_references(f, c.requirement, cat + ("requirement",), ids)
        texts += [(cat + ("title",), c.title), (cat + ("requirement",), _flat(c.requirement)),
                  (cat + ("manual_evidence",), c.manual_evidence), (cat + ("exception_basis",), c.exception_basis)]
    check_references(f, note, at + ("note",), ids)
    if readiness is not None:
        for phase, words in (("phase1", readiness.phase1), ("phase2", readiness.phase2)):
            for key, text in words.items():
                check_references(f, text, ("readiness", phase, key), ids)
                texts.append((("readiness", phase, key), _flat(text)))
    if timeline is not None:
        texts += [(("timeline", "entries", i), f"{e.before} {e.after}") for i, e in enumerate(timeline.entries)]
    _guard_words(f, texts, applies_to, wording)


def _order(fw: Framework) -> tuple:
    known = _KNOWN_ORDER.index(fw.id) if fw.id in _KNOWN_ORDER else len(_KNOWN_ORDER)
    return (BINDINGS.index(fw.binding), known, fw.id)


_BUNDLED: list[Catalogs] = []


def framework_ids() -> list[str]:
    """The ids of the bundled framework catalogs: what a client's ``frameworks:`` may name."""
    if not _BUNDLED:
        _BUNDLED.append(load_catalogs())
    return sorted(fw.id for fw in _BUNDLED[0].frameworks)


def load_catalogs(directory: Path | str = CATALOG_DIR, implemented: Iterable[str] | None = None) -> Catalogs:
    """Load and validate ``checks.yaml``, the facts and wording files, and every other ``*.yaml`` in
    ``directory`` as a framework: the check metadata must describe exactly the implemented checks
    (``implemented``, default: the check registry), controls may map only to them, and text must
    not show an institution type a word it must never see."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CatalogError(directory, None, "catalog folder not found")
    checks_path = directory / CHECKS_FILE
    if not checks_path.is_file():
        raise CatalogError(checks_path, None, "check metadata file not found")
    known_ids = set(registered() if implemented is None else implemented)
    wording = load_institution_wording(directory / WORDING_FILE) if (directory / WORDING_FILE).is_file() else None
    facts = load_facts(directory / FACTS_FILE) if (directory / FACTS_FILE).is_file() else FACTS

    frameworks: list[Framework] = []
    by_id: dict[str, Framework] = {}
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        if path.name in NOT_FRAMEWORKS:
            continue
        fw = _load_framework(path, known_ids, wording)
        if fw.id in by_id:
            raise CatalogError(path, ValidatedFile(path).lines.line_of(("framework", "id")),
                               f"framework id {fw.id!r} is also used by {by_id[fw.id].path.name}")
        by_id[fw.id] = fw
        frameworks.append(fw)
    if not frameworks:
        raise CatalogError(directory, None, "no framework catalogs (*.yaml besides checks.yaml)")
    timelines = [fw for fw in frameworks if fw.timeline is not None]
    if len(timelines) > 1:
        raise CatalogError(timelines[1].path, ValidatedFile(timelines[1].path).lines.line_of(("timeline",)),
                           f"only one catalog may hold Microsoft's timeline (also in {timelines[0].path.name})")
    timeline_ids = timelines[0].timeline.ids() if timelines else set()
    forbidden = wording.forbidden(INSTITUTION_TYPES) if wording is not None else ()
    meta = load_check_meta(checks_path, known_ids, timeline_ids=timeline_ids, forbidden=forbidden)
    frameworks.sort(key=_order)
    return Catalogs(frameworks=frameworks, check_meta=meta.checks, checks_path=checks_path,
                    checks_version=meta.version, checks_sha256=meta.sha256, wording=wording,
                    facts_version=facts.version, facts_sha256=facts.sha256)


def frameworks_for(catalogs: Catalogs, institution_type: str, chosen: Sequence[str] = ()) -> list[Framework]:
    """The frameworks that govern a client, in listing order: those its institution type brings,
    plus the opt-in ones it names (``frameworks:``). Retired ones are left out; ones proposed for
    removal stay (they are in force until the removal is final). A named framework that is unknown
    or does not apply to the type is an error (ValueError, one line)."""
    if institution_type not in INSTITUTION_TYPES:
        raise ValueError(f"unknown institution type {institution_type!r} "
                         f"(expected one of {', '.join(INSTITUTION_TYPES)})")
    known = {fw.id: fw for fw in catalogs.frameworks}
    for fid in chosen:
        if fid not in known:
            raise ValueError(f"frameworks: unknown framework {fid!r} (known: {', '.join(sorted(known))})")
        if institution_type not in known[fid].applies_to:
            raise ValueError(f"frameworks: {fid} does not apply to institution type {institution_type}")
    return [fw for fw in catalogs.frameworks if institution_type in fw.applies_to and fw.status != "retired"
            and (not fw.opt_in or fw.id in chosen)]


# ---------------------------------------------------------------------------------------------
# Roll-up


def control_status(check_statuses: Sequence[str]) -> ControlStatus:
    """Roll the statuses of a control's checks up to the control's status.

    Precedence, first that applies:
      1. no checks at all (a manual control)                      -> not_assessed
      2. any check ``fail``                                        -> not_met
         (a failure is a finding in its own right: an unevaluated sibling cannot make it better,
         so it is shown even when the rest of the evidence is incomplete)
      3. any check ``not_evaluated`` or ``manual`` (or no result) -> not_assessed
         (never claim met / partially met on evidence that was not collected)
      4. any check ``warn``                                        -> partially_met
      5. every check ``pass`` or ``excepted``                      -> met
    """
    if not check_statuses:
        return ControlStatus.NOT_ASSESSED
    unknown = [s for s in check_statuses if s not in tuple(Status)]
    if unknown:
        raise ValueError(f"unknown check status {unknown[0]!r}")
    if Status.FAIL in check_statuses:
        return ControlStatus.NOT_MET
    if any(s in (Status.NOT_EVALUATED, Status.MANUAL) for s in check_statuses):
        return ControlStatus.NOT_ASSESSED
    if Status.WARN in check_statuses:
        return ControlStatus.PARTIALLY_MET
    return ControlStatus.MET


def evaluate_controls(frameworks: Sequence[Framework], results: Iterable[CheckResult], *,
                      security_defaults: bool = False) -> list[ControlResult]:
    """One result per control of each framework, in catalog order. A check with no result counts as
    ``not_evaluated`` (so the control is at best not_assessed). With ``security_defaults`` on (no
    Conditional Access policy can then be in force), a control that asks for a Conditional Access
    policy and would be met is only partly met, and says why."""
    by_id = {r.id: r.status for r in results}
    out: list[ControlResult] = []
    for fw in frameworks:
        for c in fw.controls:
            statuses = [by_id.get(chk, Status.NOT_EVALUATED) for chk in c.checks]
            status, note = control_status(statuses), ""
            if c.requires == "conditional_access" and security_defaults and status == ControlStatus.MET:
                status, note = ControlStatus.PARTIALLY_MET, SECURITY_DEFAULTS_NOTE
            out.append(ControlResult(framework=fw.id, id=c.id, title=c.title, status=status,
                                     checks=list(c.checks), coverage=c.coverage_of_control, note=note))
    return out
