"""What each check is called and why it matters: the words live in ``checks.yaml`` beside the code.

The file's order is the report order. Every registered check must be described there and nothing
else may be; a problem is a ``CatalogError`` naming ``path:line``.

Each check has a problem ``title`` (shown when it fails or warns) and a ``pass_title`` (shown when
it passes). Its ``rationale``, ``remediation`` and ``references`` are shown to every institution type
and so must not name one regulator; what only one type should read goes under ``regulatory:``
(``bank``, ``credit_union``, ``nonbank``) and is added for that type by ``CheckMeta.resolved``.
Any text may change on a date of Microsoft's timeline (``reportgen.timeline``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from reportgen.steps import step_numbers
from reportgen.timeline import DatedText, Text, Timeline, bundled_timeline, check_references, parse_text
from reportgen.vocab import InstitutionType, Severity, Status, verb
from reportgen.yamlsrc import CatalogError, ValidatedFile

CHECKS_FILE = "checks.yaml"

_FIELDS = {"title": True, "pass_title": True, "severity": True, "rationale": True, "remediation": True,
           "references": True, "area": False, "regulatory": False, "steps_done_when": False}
# How a remediation step is known to be in place already: a metric of the check that is exactly 0, or
# another check that passed. Anything else (a missing metric, a check not judged) leaves the step in.
_STEP_CONDITIONS = {"metric_zero": False, "check_passes": False}
_REGULATORY_FIELDS = {"rationale": False, "remediation": False, "references": False}


@dataclass(frozen=True)
class RegulatoryText:
    rationale: str = ""
    remediation: str = ""
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepDone:
    step: int                   # the remediation's numbered step
    metric_zero: str = ""       # in place when this metric of the check's result is exactly 0
    check_passes: str = ""      # in place when this other check passed


@dataclass(frozen=True)
class CheckMeta:
    id: str
    title: Text                 # the problem, used when the check fails or warns
    severity: Severity
    rationale: Text
    remediation: Text
    references: tuple[str, ...]
    area: str = ""
    pass_title: Text = ""       # the pass condition, used when the check passes
    regulatory: dict[str, RegulatoryText] = field(default_factory=dict)
    steps_done: tuple[StepDone, ...] = ()   # steps a tenant may already have taken (see checks.tailor)

    @property
    def unresolved(self) -> bool:
        """Still in catalog form: dated text or per-type additions not yet applied."""
        return bool(self.regulatory) or any(isinstance(t, DatedText) for t in
                                            (self.title, self.pass_title, self.rationale, self.remediation))

    def title_for(self, status: Status | str) -> Text:
        """The problem title for a finding; the pass title where the check passed (or was not judged)."""
        return self.title if status in (Status.FAIL, Status.WARN, Status.EXCEPTED) else (self.pass_title or self.title)

    def resolved(self, institution_type: str | None, on: date | None, timeline: Timeline | None = None) -> CheckMeta:
        """Plain text as a report for ``institution_type`` collected ``on`` shows it."""
        tl = timeline or bundled_timeline()
        reg = self.regulatory.get(institution_type or "", RegulatoryText())
        rationale = " ".join(x for x in (tl.text(self.rationale, on), reg.rationale) if x)
        remediation = "\n".join(x for x in (tl.text(self.remediation, on), reg.remediation) if x)
        return replace(self, title=tl.text(self.title, on), pass_title=tl.text(self.pass_title, on),
                       rationale=rationale, remediation=remediation,
                       references=tuple(self.references) + tuple(reg.references), regulatory={})


@dataclass(frozen=True)
class CheckMetaFile:
    checks: dict[str, CheckMeta]     # in report order
    version: str
    sha256: str
    path: Path


def _texts(meta: CheckMeta) -> list[tuple[str, Text]]:
    return [("title", meta.title), ("pass_title", meta.pass_title), ("rationale", meta.rationale),
            ("remediation", meta.remediation)] + [("references", r) for r in meta.references]


def _flat(value: Text) -> str:
    return f"{value.before} {value.after}" if isinstance(value, DatedText) else value


def load_check_meta(path: Path, registered: Iterable[str], *, timeline_ids: set[str] | None = None,
                    forbidden: Sequence[tuple[str, str]] = ()) -> CheckMetaFile:
    """Read ``checks.yaml``; ``registered`` are the ids the check code implements. With
    ``timeline_ids``, every timeline entry a text names must exist; ``forbidden`` lists
    (word, institution type) pairs that text shown to that type must not contain."""
    known = set(registered)
    f = ValidatedFile(path)
    doc = f.mapping(f.data, (), CHECKS_FILE, {"version": True, "checks": True})
    version = doc["version"]
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)
    version = f.text(version, ("version",), "version")
    entries = doc["checks"]
    if not isinstance(entries, dict):
        raise f.err(("checks",), "checks must be a mapping of check id to metadata")
    meta: dict[str, CheckMeta] = {}
    for cid, entry in entries.items():
        at = ("checks", cid)
        if cid not in known:
            raise f.err(at, f"unknown check id {cid!r}: no check with this id is implemented "
                            f"({', '.join(sorted(known))})")
        entry = f.mapping(entry, at, cid, _FIELDS)
        meta[cid] = CheckMeta(
            id=cid,
            title=parse_text(f, entry["title"], at + ("title",), f"{cid}.title"),
            pass_title=parse_text(f, entry["pass_title"], at + ("pass_title",), f"{cid}.pass_title"),
            severity=Severity(f.enum(entry["severity"], at + ("severity",), f"{cid}.severity", list(Severity))),
            rationale=parse_text(f, entry["rationale"], at + ("rationale",), f"{cid}.rationale"),
            remediation=parse_text(f, entry["remediation"], at + ("remediation",), f"{cid}.remediation"),
            references=tuple(f.text_list(entry["references"], at + ("references",), f"{cid}.references")),
            area=f.text(entry.get("area"), at + ("area",), f"{cid}.area", required=False),
            regulatory=_regulatory(f, entry.get("regulatory"), at + ("regulatory",), cid),
            steps_done=_steps_done(f, entry.get("steps_done_when"), at + ("steps_done_when",), cid, known),
        )
        _check_step_numbers(f, meta[cid], at + ("steps_done_when",))
        if timeline_ids is not None:
            for name, text in _texts(meta[cid]):
                check_references(f, text, at + (name,), timeline_ids)
        for name, text in _texts(meta[cid]):
            for word, itype in forbidden:
                if word in _flat(text):
                    raise f.err(at + (name,), f"{cid}.{name} is shown to every institution type but uses {word!r}, "
                                              f"which a {itype} report must never show: move it under regulatory:")
        for itype, reg in meta[cid].regulatory.items():
            for word, t in forbidden:
                if t == itype and word in " ".join((reg.rationale, reg.remediation, *reg.references)):
                    raise f.err(at + ("regulatory", itype), f"{cid}.regulatory.{itype} uses {word!r}, which a "
                                                            f"{itype} report must never show")
    missing = sorted(known - set(meta))
    if missing:
        raise f.err(("checks",), f"{verb(len(missing), 'check id', 'check ids')} missing from {CHECKS_FILE}: {', '.join(missing)}")
    return CheckMetaFile(checks=meta, version=version, sha256=f.sha256, path=path)


def _steps_done(f: ValidatedFile, value, at: tuple, cid: str, known: set[str]) -> tuple[StepDone, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise f.err(at, f"{cid}.steps_done_when must map a step number to metric_zero: or check_passes:")
    out = []
    for step, cond in value.items():
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 20:
            raise f.err(at, f"{cid}.steps_done_when: {step!r} is not a step number (1 to 20)")
        cond = f.mapping(cond, at + (step,), f"{cid}.steps_done_when.{step}", _STEP_CONDITIONS)
        if len(cond) != 1:
            raise f.err(at + (step,), f"{cid}.steps_done_when.{step} needs exactly one of metric_zero:, check_passes:")
        (kind, name), = cond.items()
        name = f.text(name, at + (step, kind), f"{cid}.steps_done_when.{step}.{kind}")
        if kind == "check_passes" and name not in known:
            raise f.err(at + (step, kind), f"{cid}.steps_done_when.{step}: unknown check id {name!r}")
        out.append(StepDone(step=step, **{kind: name}))
    return tuple(out)


def _remediations(meta: CheckMeta) -> list[tuple[str, str]]:
    """(for whom, text) of every remediation a report can show: before and after a timeline date, and
    with each institution type's own text appended as ``CheckMeta.resolved`` joins them ("" for whom:
    every type without its own text)."""
    def variants(t: Text) -> list[str]:
        return [t.before, t.after] if isinstance(t, DatedText) else [str(t)]
    mains = variants(meta.remediation)
    out = [("", main) for main in mains]
    for itype, reg in meta.regulatory.items():
        out += [(f" in a {itype} report", f"{main}\n{extra}") for main in mains for extra in variants(reg.remediation) if extra]
    return out


def _check_step_numbers(f: ValidatedFile, meta: CheckMeta, at: tuple) -> None:
    """A ``steps_done_when`` step must be a step of every text the report can show, numbered 1 to N:
    otherwise the condition would silently leave out nothing, or the wrong step."""
    if not meta.steps_done:
        return
    for where, text in _remediations(meta):
        numbers = step_numbers(text)
        if numbers != list(range(1, len(numbers) + 1)):
            raise f.err(at, f"{meta.id}.remediation{where} numbers its steps {numbers or 'not at all'}: "
                            "steps_done_when needs them numbered 1 to N in order")
        for cond in meta.steps_done:
            if cond.step not in numbers:
                raise f.err(at + (cond.step,), f"{meta.id}.steps_done_when.{cond.step}: the remediation{where} "
                                               f"has no step {cond.step} (its steps are 1 to {len(numbers)})")


def _regulatory(f: ValidatedFile, value, at: tuple, cid: str) -> dict[str, RegulatoryText]:
    if value is None:
        return {}
    doc = f.mapping(value, at, f"{cid}.regulatory", {t.value: False for t in InstitutionType})
    out = {}
    for itype, d in doc.items():
        d = f.mapping(d, at + (itype,), f"{cid}.regulatory.{itype}", _REGULATORY_FIELDS)
        refs = d.get("references")
        out[itype] = RegulatoryText(
            rationale=f.text(d.get("rationale"), at + (itype, "rationale"), "rationale", required=False),
            remediation=f.text(d.get("remediation"), at + (itype, "remediation"), "remediation", required=False),
            references=tuple(f.text_list(refs, at + (itype, "references"), "references")) if refs is not None else ())
    return out


__all__ = ["CHECKS_FILE", "CatalogError", "CheckMeta", "CheckMetaFile", "RegulatoryText", "StepDone", "load_check_meta"]
