"""Control catalogs: which framework controls each check evidences, and how they roll up.

The catalogs are YAML files in ``config/catalogs`` (``paths.CATALOG_DIR``):

* ``checks.yaml`` — title, severity, rationale, remediation and references of every check id
  of checks.md (exactly ``CHECK_IDS``);
* one file per framework — ``framework:`` (id, name, version, as_of, binding, status, source_url,
  applies_to, optional note) and ``controls:`` (id exactly as cited, title, requirement, checks,
  manual / manual_evidence, admits_exceptions).

Everything is validated on load; a problem raises ``CatalogError("path:line: what is wrong")``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from reportgen.checks import CHECK_IDS  # the fixed ids of checks.md, in report order
from reportgen.model import CheckResult
from reportgen.paths import CATALOG_DIR
from reportgen.yamlsrc import YamlError, load_yaml

__all__ = [
    "CHECK_IDS", "SEVERITIES", "BINDINGS", "STATUSES", "INSTITUTION_TYPES", "CONTROL_STATUSES",
    "CatalogError", "Catalogs", "Control", "Framework",
    "load_catalogs", "frameworks_for", "evaluate_controls", "control_status",
]

SEVERITIES = ("critical", "high", "medium", "low", "info")
BINDINGS = ("vendor", "regulation", "guidance", "benchmark")   # also the order frameworks are listed in
STATUSES = ("active", "proposed_removal", "retired")
INSTITUTION_TYPES = ("bank", "credit_union", "nonbank")
CHECK_STATUSES = ("pass", "fail", "warn", "excepted", "not_evaluated", "manual")
CONTROL_STATUSES = ("met", "partially_met", "not_met", "not_assessed")

CHECKS_FILE = "checks.yaml"
# Stable listing order within a binding class; unknown (future) frameworks follow, by id.
_KNOWN_ORDER = ("ms-mandatory-mfa", "glba-ftc", "glba-interagency", "ncua-748", "ffiec-auth-2021",
                "nist-csf-2", "cis-controls-8.1", "cis-m365", "cisa-scuba-aad")

_FRAMEWORK_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_CHECK_FIELDS = {"title": True, "severity": True, "rationale": True, "remediation": True,
                 "references": True, "area": False}
_FRAMEWORK_FIELDS = {"id": True, "name": True, "version": True, "as_of": True, "binding": True,
                     "status": True, "source_url": True, "applies_to": True, "note": False}
_CONTROL_FIELDS = {"id": True, "title": True, "requirement": True, "checks": True, "manual": False,
                   "manual_evidence": False, "admits_exceptions": False, "exception_basis": False}


class CatalogError(Exception):
    """A catalog file that cannot be used. ``str()`` is ``path:line: what is wrong``."""

    def __init__(self, path: Path | str, line: int | None, problem: str):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{path}:{line}: {problem}" if line is not None else f"{path}: {problem}")


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    requirement: str
    checks: tuple[str, ...]
    manual: bool = False
    manual_evidence: str = ""
    admits_exceptions: bool = False
    exception_basis: str = ""


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
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The framework header as plain data (what a renderer or manifest wants)."""
        return {"id": self.id, "name": self.name, "version": self.version, "as_of": self.as_of,
                "binding": self.binding, "status": self.status, "source_url": self.source_url,
                "applies_to": list(self.applies_to), "note": self.note}


@dataclass
class Catalogs:
    frameworks: list[Framework]
    check_meta: dict[str, dict[str, Any]]   # check id -> title, severity, rationale, remediation, references, area
    checks_path: Path | None = None
    checks_version: str = ""
    checks_sha256: str = ""
    _by_id: dict[str, Framework] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {f.id: f for f in self.frameworks}

    def framework(self, framework_id: str) -> Framework:
        return self._by_id[framework_id]

    def versions(self) -> list[dict[str, str]]:
        """``{id, version, sha256}`` of every catalog file: the frameworks in listing order, then
        the check metadata (id ``checks``), for manifest.json."""
        out = [{"id": f.id, "version": f.version, "sha256": f.sha256} for f in self.frameworks]
        if self.checks_path is not None:
            out.append({"id": "checks", "version": self.checks_version, "sha256": self.checks_sha256})
        return out


# ---------------------------------------------------------------------------------------------
# Loading and validation


class _File:
    """One catalog file being validated: its data, line map, and error helper."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.raw = path.read_bytes()
        except OSError as e:
            raise CatalogError(path, None, f"cannot read catalog file: {e.strerror or e}") from None
        self.sha256 = hashlib.sha256(self.raw).hexdigest()
        try:
            self.data, self.lines = load_yaml(path)
        except YamlError as e:
            raise CatalogError(path, e.line, e.problem) from None

    def err(self, at: Sequence[Any], problem: str) -> CatalogError:
        return CatalogError(self.path, self.lines.line_of(tuple(at)), problem)

    def mapping(self, value: Any, at: tuple, what: str, fields: Mapping[str, bool]) -> dict:
        if not isinstance(value, dict):
            raise self.err(at, f"{what} must be a mapping, not {_kind(value)}")
        for k in value:
            if k not in fields:
                raise self.err(at + (k,), f"{what}: unknown key {k!r} (allowed: {', '.join(fields)})")
        for k, required in fields.items():
            if required and k not in value:
                raise self.err(at, f"{what}: missing required key {k!r}")
        return value

    def text(self, value: Any, at: tuple, what: str, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str):
            raise self.err(at, f"{what} must be text, not {_kind(value)}")
        value = value.strip()
        if required and not value:
            raise self.err(at, f"{what} must not be empty")
        return value

    def flag(self, value: Any, at: tuple, what: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.err(at, f"{what} must be true or false, not {value!r}")
        return value

    def enum(self, value: Any, at: tuple, what: str, allowed: Sequence[str]) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise self.err(at, f"{what}: unknown value {value!r} (allowed: {', '.join(allowed)})")
        return value

    def text_list(self, value: Any, at: tuple, what: str, allow_empty: bool = False) -> list[str]:
        if not isinstance(value, list):
            raise self.err(at, f"{what} must be a list, not {_kind(value)}")
        if not value and not allow_empty:
            raise self.err(at, f"{what} must not be empty")
        return [self.text(v, at + (i,), f"{what}[{i}]") for i, v in enumerate(value)]


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _load_checks(path: Path, required: Sequence[str]) -> tuple[dict[str, dict[str, Any]], str, str]:
    f = _File(path)
    doc = f.mapping(f.data, (), "checks.yaml", {"version": True, "checks": True})
    version = doc["version"]
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)
    version = f.text(version, ("version",), "version")
    checks = doc["checks"]
    if not isinstance(checks, dict):
        raise f.err(("checks",), f"checks must be a mapping of check id to metadata, not {_kind(checks)}")
    meta: dict[str, dict[str, Any]] = {}
    for cid, entry in checks.items():
        at = ("checks", cid)
        if cid not in required:
            raise f.err(at, f"unknown check id {cid!r}: checks.yaml describes exactly the ids of "
                            f"checks.md ({', '.join(required)})")
        entry = f.mapping(entry, at, cid, _CHECK_FIELDS)
        meta[cid] = {
            "title": f.text(entry["title"], at + ("title",), f"{cid}.title"),
            "severity": f.enum(entry["severity"], at + ("severity",), f"{cid}.severity", SEVERITIES),
            "rationale": f.text(entry["rationale"], at + ("rationale",), f"{cid}.rationale"),
            "remediation": f.text(entry["remediation"], at + ("remediation",), f"{cid}.remediation"),
            "references": f.text_list(entry["references"], at + ("references",), f"{cid}.references"),
            "area": f.text(entry.get("area"), at + ("area",), f"{cid}.area", required=False),
        }
    missing = [c for c in required if c not in meta]
    if missing:
        raise f.err(("checks",), f"check id(s) missing from checks.yaml: {', '.join(missing)}")
    ordered = {c: meta[c] for c in required}
    return ordered, version, f.sha256


def _load_framework(path: Path, known: set[str]) -> Framework:
    f = _File(path)
    doc = f.mapping(f.data, (), "a framework catalog", {"framework": True, "controls": True})
    at = ("framework",)
    hdr = f.mapping(doc["framework"], at, "framework", _FRAMEWORK_FIELDS)

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
    note = f.text(hdr.get("note"), at + ("note",), "framework.note", required=False)

    raw_controls = doc["controls"]
    if not isinstance(raw_controls, list) or not raw_controls:
        raise f.err(("controls",), "controls must be a non-empty list")
    controls: list[Control] = []
    seen: dict[str, int] = {}
    for i, rc in enumerate(raw_controls):
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
        requirement = f.text(rc["requirement"], cat + ("requirement",), f"{where}: requirement")
        checks = f.text_list(rc["checks"], cat + ("checks",), f"{where}: checks", allow_empty=True)
        for j, chk in enumerate(checks):
            if chk not in known:
                raise f.err(cat + ("checks", j), f"{where}: unknown check id {chk!r}")
        if len(set(checks)) != len(checks):
            raise f.err(cat + ("checks",), f"{where}: a check id is listed twice")
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
        controls.append(Control(id=cid, title=title, requirement=requirement, checks=tuple(checks), manual=manual,
                                manual_evidence=manual_evidence, admits_exceptions=admits, exception_basis=basis))
    return Framework(id=fid, name=f.text(hdr["name"], at + ("name",), "framework.name"), version=version,
                     as_of=as_of, binding=binding, status=status, source_url=source_url, applies_to=applies_to,
                     controls=controls, path=path, sha256=f.sha256, note=note)


def _order(fw: Framework) -> tuple:
    known = _KNOWN_ORDER.index(fw.id) if fw.id in _KNOWN_ORDER else len(_KNOWN_ORDER)
    return (BINDINGS.index(fw.binding), known, fw.id)


def load_catalogs(directory: Path | str = CATALOG_DIR, known_checks: Iterable[str] | None = None,
                  required_checks: Sequence[str] = CHECK_IDS) -> Catalogs:
    """Load and validate ``checks.yaml`` and every other ``*.yaml`` in ``directory``.

    ``required_checks``: the ids checks.yaml must describe, no more, no fewer (default ``CHECK_IDS``).
    ``known_checks``: the ids controls may map to (default: those of checks.yaml). Pass the check
    engine's registry here; an id it knows that checks.yaml does not describe is refused too.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CatalogError(directory, None, "catalog folder not found")
    checks_path = directory / CHECKS_FILE
    if not checks_path.is_file():
        raise CatalogError(checks_path, None, "check metadata file not found")
    check_meta, checks_version, checks_sha = _load_checks(checks_path, tuple(required_checks))
    if known_checks is None:
        known = set(check_meta)
    else:
        known = set(known_checks)
        undocumented = sorted(known - set(check_meta))
        if undocumented:
            raise CatalogError(checks_path, 1, f"check id(s) missing from checks.yaml: {', '.join(undocumented)}")

    frameworks: list[Framework] = []
    by_id: dict[str, Framework] = {}
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        if path.name == CHECKS_FILE:
            continue
        fw = _load_framework(path, known)
        if fw.id in by_id:
            raise CatalogError(path, _File(path).lines.line_of(("framework", "id")),
                               f"framework id {fw.id!r} is also used by {by_id[fw.id].path.name}")
        by_id[fw.id] = fw
        frameworks.append(fw)
    if not frameworks:
        raise CatalogError(directory, None, "no framework catalogs (*.yaml besides checks.yaml)")
    frameworks.sort(key=_order)
    return Catalogs(frameworks=frameworks, check_meta=check_meta, checks_path=checks_path,
                    checks_version=checks_version, checks_sha256=checks_sha)


def frameworks_for(catalogs: Catalogs, institution_type: str) -> list[Framework]:
    """The frameworks that govern an institution type, in listing order. Retired ones are left out;
    ones proposed for removal stay (they are in force until the removal is final)."""
    if institution_type not in INSTITUTION_TYPES:
        raise ValueError(f"unknown institution type {institution_type!r} "
                         f"(expected one of {', '.join(INSTITUTION_TYPES)})")
    return [fw for fw in catalogs.frameworks if institution_type in fw.applies_to and fw.status != "retired"]


# ---------------------------------------------------------------------------------------------
# Roll-up


def control_status(check_statuses: Sequence[str]) -> str:
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
        return "not_assessed"
    unknown = [s for s in check_statuses if s not in CHECK_STATUSES]
    if unknown:
        raise ValueError(f"unknown check status {unknown[0]!r}")
    if "fail" in check_statuses:
        return "not_met"
    if any(s in ("not_evaluated", "manual") for s in check_statuses):
        return "not_assessed"
    if "warn" in check_statuses:
        return "partially_met"
    return "met"


def _status_of(result: Any) -> tuple[str, str]:
    if isinstance(result, CheckResult):
        return result.id, result.status
    if isinstance(result, Mapping):
        return result["id"], result["status"]
    return result.id, result.status


def evaluate_controls(frameworks: Sequence[Framework], results: Iterable[CheckResult]) -> list[dict]:
    """results.json ``controls`` entries, one per control of each framework, in catalog order.
    A check with no result counts as ``not_evaluated`` (so the control is at best not_assessed)."""
    by_id = dict(_status_of(r) for r in results)
    out: list[dict] = []
    for fw in frameworks:
        for c in fw.controls:
            statuses = [by_id.get(chk, "not_evaluated") for chk in c.checks]
            out.append({"framework": fw.id, "id": c.id, "title": c.title,
                        "status": control_status(statuses), "checks": list(c.checks)})
    return out
