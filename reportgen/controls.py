"""Control catalogs: which framework controls each check evidences, and how they roll up.

The catalogs are YAML files in ``config/catalogs`` (``paths.CATALOG_DIR``):

* ``checks.yaml`` — the words of every check (read by ``reportgen.checks``);
* one file per framework — ``framework:`` (id, name, version, as_of, binding, status, source_url,
  applies_to, optional note) and ``controls:`` (id exactly as cited, title, requirement, checks,
  manual / manual_evidence, admits_exceptions).

Everything is validated on load; a problem raises ``CatalogError("path:line: what is wrong")``.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from reportgen.checks import CHECKS_FILE, CheckMeta, load_check_meta, registered
from reportgen.paths import CATALOG_DIR
from reportgen.results import CheckResult, ControlResult
from reportgen.vocab import ControlStatus, InstitutionType, Status
from reportgen.yamlsrc import CatalogError, ValidatedFile

__all__ = ["BINDINGS", "STATUSES", "CatalogError", "Catalogs", "Control", "Framework",
           "load_catalogs", "frameworks_for", "evaluate_controls", "control_status"]

BINDINGS = ("vendor", "regulation", "guidance", "benchmark")   # also the order frameworks are listed in
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
                     "status": True, "source_url": True, "applies_to": True, "note": False}
_CONTROL_FIELDS = {"id": True, "title": True, "requirement": True, "checks": True, "manual": False,
                   "manual_evidence": False, "admits_exceptions": False, "exception_basis": False}


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
    check_meta: dict[str, CheckMeta]        # in report order (that of checks.yaml)
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


def _load_framework(path: Path, known: set[str]) -> Framework:
    f = ValidatedFile(path)
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


def load_catalogs(directory: Path | str = CATALOG_DIR, implemented: Iterable[str] | None = None) -> Catalogs:
    """Load and validate ``checks.yaml`` and every other ``*.yaml`` in ``directory``: the check
    metadata must describe exactly the implemented checks (``implemented``, default: the check
    registry), and controls may map only to them."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CatalogError(directory, None, "catalog folder not found")
    checks_path = directory / CHECKS_FILE
    if not checks_path.is_file():
        raise CatalogError(checks_path, None, "check metadata file not found")
    meta = load_check_meta(checks_path, registered() if implemented is None else implemented)
    known = set(meta.checks)

    frameworks: list[Framework] = []
    by_id: dict[str, Framework] = {}
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        if path.name == CHECKS_FILE:
            continue
        fw = _load_framework(path, known)
        if fw.id in by_id:
            raise CatalogError(path, ValidatedFile(path).lines.line_of(("framework", "id")),
                               f"framework id {fw.id!r} is also used by {by_id[fw.id].path.name}")
        by_id[fw.id] = fw
        frameworks.append(fw)
    if not frameworks:
        raise CatalogError(directory, None, "no framework catalogs (*.yaml besides checks.yaml)")
    frameworks.sort(key=_order)
    return Catalogs(frameworks=frameworks, check_meta=meta.checks, checks_path=checks_path,
                    checks_version=meta.version, checks_sha256=meta.sha256)


def frameworks_for(catalogs: Catalogs, institution_type: str) -> list[Framework]:
    """The frameworks that govern an institution type, in listing order. Retired ones are left out;
    ones proposed for removal stay (they are in force until the removal is final)."""
    if institution_type not in INSTITUTION_TYPES:
        raise ValueError(f"unknown institution type {institution_type!r} "
                         f"(expected one of {', '.join(INSTITUTION_TYPES)})")
    return [fw for fw in catalogs.frameworks if institution_type in fw.applies_to and fw.status != "retired"]


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


def evaluate_controls(frameworks: Sequence[Framework], results: Iterable[CheckResult]) -> list[ControlResult]:
    """One result per control of each framework, in catalog order. A check with no result counts as
    ``not_evaluated`` (so the control is at best not_assessed)."""
    by_id = {r.id: r.status for r in results}
    out: list[ControlResult] = []
    for fw in frameworks:
        for c in fw.controls:
            statuses = [by_id.get(chk, Status.NOT_EVALUATED) for chk in c.checks]
            out.append(ControlResult(framework=fw.id, id=c.id, title=c.title, status=control_status(statuses),
                                     checks=list(c.checks)))
    return out
