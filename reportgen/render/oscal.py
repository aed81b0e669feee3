"""ReportData -> OSCAL 1.1.3 assessment results (``<slug>-<period>-oscal-ar.json``).

Plain dicts, checked in the tests against NIST's JSON schema (docs/outputs.md says why not
compliance-trestle's models). One observation and one finding per failing or warning check; the
Graph pages the check was judged from are back-matter resources (path and SHA-256, as in
manifest.json) that the observation cites as relevant evidence.

Every UUID is a version-5 UUID of a stable key (tenant, period, what it names), and every date comes
from the collection time, so the same evidence gives the same bytes.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reportgen.display import readable
from reportgen.package import dumps, write_bytes
from reportgen.view import view_of
from reportgen.vocab import Status

from . import RenderOptions

OSCAL_VERSION = "1.1.3"
NS = "urn:reportgen:oscal"          # namespace of reportgen's own prop names
_UUID_NS = uuid.UUID("4f0b7c1e-3d5a-5b8e-9c2f-6a1d8e0b7c43")
_TOKEN_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def stable_uuid(*key: Any) -> str:
    return str(uuid.uuid5(_UUID_NS, "\x1f".join(str(k) for k in key)))


def token(value: str) -> str:
    """An OSCAL token (a letter or _ first; letters, digits, . - _ after) made from an id such as
    '314.4(c)(5)'."""
    t = _TOKEN_BAD.sub("_", value).strip("_") or "_"
    return t if re.match(r"[A-Za-z_]", t) else "_" + t


def line(value: Any, limit: int = 2000) -> str:
    """A non-empty one-line string without leading or trailing space (OSCAL's StringDatatype)."""
    s = " ".join(readable(value).split())[:limit]
    return s or "(none)"


def text(value: Any) -> str:
    """Multi-line prose, control characters shown as removed."""
    s = readable(value).strip()
    return s or "(none)"


def prop(name: str, value: Any, ns: bool = True) -> dict[str, str]:
    p = {"name": name, "value": line(value)}
    if ns:
        p["ns"] = NS
    return p


def iso_day_end(day: str) -> str:
    return f"{day}T23:59:59Z"


def document_key(data: Any) -> tuple[str, str]:
    r = data.results
    return r.client.tenant_id or r.client.slug, r.period


def metadata(data: Any, title: str, kind: str) -> dict[str, Any]:
    r = data.results
    review = r.review
    firm_uuid, client_uuid = stable_uuid("party", data.firm.name), stable_uuid(*document_key(data), "party")
    client_name = view_of(data).client_name
    return {
        "title": line(title),
        "published": r.collected_at,
        "last-modified": r.collected_at,
        "version": f"{r.period}-v{review.version}{'' if review.final else '-draft'}",
        "oscal-version": OSCAL_VERSION,
        "props": [prop("review-state", "final" if review.final else "draft"),
                  prop("tool", f"reportgen {r.tool_version}"),
                  prop("data-source", "sample data from a synthetic demo tenant" if r.collection.demo
                       else r.collection.source or "graph"),
                  prop("collection-status", r.collection.status)],
        "roles": [{"id": "assessor", "title": "Assessor"}, {"id": "prepared-for", "title": "Prepared for"}],
        "parties": [{"uuid": firm_uuid, "type": "organization", "name": line(data.firm.name)},
                    {"uuid": client_uuid, "type": "organization", "name": line(client_name),
                     "props": [prop("entra-tenant-id", r.client.tenant_id or "unknown")]}],
        "responsible-parties": [{"role-id": "assessor", "party-uuids": [firm_uuid]},
                                {"role-id": "prepared-for", "party-uuids": [client_uuid]}],
        "remarks": text(f"{kind} for Microsoft Entra ID MFA posture, period {r.period}, collected {r.collected_at}."),
    }


# --------------------------------------------------------------------------- the adapter

def open_checks(data: Any) -> tuple[Any, ...]:
    """The findings in OSCAL terms (``view.Finding``, most severe first): failing or warning checks.
    Excepted ones are closed by an approved exception and are not listed."""
    return view_of(data).open_findings


def control_ids(data: Any) -> dict[str, list[str]]:
    """Each check's controls as OSCAL tokens, and every reviewed control under the key ''."""
    out: dict[str, list[str]] = {"": []}
    for fw in view_of(data).frameworks:
        for c in fw.controls:
            tok = token(f"{c.framework}-{c.id}")
            out[""].append(tok)
            for check in c.checks:
                out.setdefault(check.id, []).append(tok)
    return out


def evidence_hashes(data: Any) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in data.evidence_index}


# --------------------------------------------------------------------------- parts

def resources(data: Any) -> list[dict[str, Any]]:
    """One back-matter resource per evidence page a finding cites, with its SHA-256."""
    key = document_key(data)
    hashes = evidence_hashes(data)
    pages = sorted({p for c in open_checks(data) for e in c.evidence for p in e.pages})
    out = []
    for page in pages:
        rlink: dict[str, Any] = {"href": page, "media-type": "application/json"}
        known = hashes.get(page)
        if known:
            rlink["hashes"] = [{"algorithm": "SHA-256", "value": known["sha256"]}]
        out.append({"uuid": stable_uuid(*key, "evidence", page), "title": line(page),
                    "description": "Microsoft Graph response page as collected, stored in the report folder.",
                    "rlinks": [rlink]})
    return out


def _subjects(check: Any, key: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"subject-uuid": stable_uuid(*key, "user", a.upn), "type": "user", "title": line(a.upn)}
            for a in check.affected if a.upn]


def observation(check: Any, data: Any) -> dict[str, Any]:
    key = document_key(data)
    evidence = []
    for ref in check.evidence:
        for page in ref.pages:
            evidence.append({"href": "#" + stable_uuid(*key, "evidence", page),
                             "description": line(f"{ref.dataset} ({ref.source}): {page}")})
    obs: dict[str, Any] = {
        "uuid": stable_uuid(*key, "observation", check.id),
        "title": line(check.title),
        "description": text(check.reason),
        "props": [prop("check-id", check.id), prop("status", check.status),
                  prop("affected-subjects", len(check.affected))],
        "methods": ["TEST"],
        "types": ["finding"],
        "collected": data.results.collected_at,
    }
    subjects = _subjects(check, key)
    if subjects:
        obs["subjects"] = subjects
    if evidence:
        obs["relevant-evidence"] = evidence
    return obs


def finding(check: Any, data: Any) -> dict[str, Any]:
    key = document_key(data)
    props = [prop("check-id", check.id), prop("severity", check.severity), prop("status", check.status_label)]
    if check.adjusted:
        props.append(prop("evaluated-severity", check.evaluated_severity))
    props += [prop("control", c) for c in control_ids(data).get(check.id, [])]
    return {
        "uuid": stable_uuid(*key, "finding", check.id),
        "title": line(check.title),
        "description": text(check.reason),
        "props": props,
        "target": {"type": "objective-id", "target-id": token(check.id),
                   "title": line(check.title),
                   "status": {"state": "not-satisfied",
                              "reason": "fail" if check.status == Status.FAIL else "other"}},
        "related-observations": [{"observation-uuid": stable_uuid(*key, "observation", check.id)}],
    }


def reviewed_controls(data: Any) -> dict[str, Any]:
    ids = sorted(set(control_ids(data)[""]))
    selection: dict[str, Any] = ({"include-controls": [{"control-id": i} for i in ids]} if ids
                                 else {"include-all": {}})
    return {"description": "Controls of the frameworks that govern this client, as mapped to reportgen's "
                           "checks (control ids are the framework id and the control id).",
            "control-selections": [{"description": "Controls evidenced by the checks", **selection}]}


def _nonempty(doc: dict[str, Any], **parts: Iterable[Any]) -> dict[str, Any]:
    for name, items in parts.items():
        items = list(items)
        if items:
            doc[name.replace("_", "-")] = items
    return doc


def assessment_results(data: Any) -> dict[str, Any]:
    r = data.results
    view = view_of(data)
    key = document_key(data)
    checks = open_checks(data)
    method = stable_uuid(*key, "method")
    result = _nonempty({
        "uuid": stable_uuid(*key, "result"),
        "title": line(f"MFA compliance assessment {r.period}"),
        "description": text(f"Automated review of the Microsoft Entra ID tenant of {view.client_name} against "
                            f"Microsoft's mandatory MFA for Azure and the GLBA-family rules. Phase 1 readiness: "
                            f"{view.phase1.label}; phase 2 readiness: {view.phase2.label}."),
        "start": r.collection.window_start or r.collected_at,
        "end": r.collected_at,
        "props": [prop("mandatory-mfa-phase1", view.phase1.value), prop("mandatory-mfa-phase2", view.phase2.value)],
        "reviewed-controls": reviewed_controls(data),
    }, observations=[observation(c, data) for c in checks], findings=[finding(c, data) for c in checks])
    back = [{"uuid": method, "title": "reportgen check catalog",
             "description": "No separate assessment plan exists: the checks of reportgen's catalog "
                            "(docs/checks.md in the tool) are the method, run on every collection."},
            *resources(data)]
    return {"assessment-results": {
        "uuid": stable_uuid(*key, "assessment-results"),
        "metadata": metadata(data, f"{view.client_name}: MFA compliance assessment results {r.period}",
                             "Assessment results"),
        "import-ap": {"href": "#" + method,
                      "remarks": "The assessment plan is reportgen's check catalog, named in the back matter."},
        "results": [result],
        "back-matter": {"resources": back},
    }}


def render(data: Any, path: Path, options: RenderOptions) -> None:
    write_bytes(Path(path), dumps(assessment_results(data)))
