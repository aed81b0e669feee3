"""ReportData -> OSCAL 1.1.3 plan of action and milestones (``<slug>-<period>-oscal-poam.json``).

One POA&M item per action of the action plan, with a risk that carries the client's answer: the
owner (a party, responsible for the milestone), the target date (the risk's deadline and the
milestone's date), the management response (the planned remediation) and the status. The
observations and findings are those of the assessment results, with the same UUIDs, so a GRC tool
can join the two files.

A client's "done" does not close a risk: the action is in the plan because the check still finds it
open at collection, so the risk stays open and a remark says what the client reported.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from reportgen.package import dumps, write_bytes
from reportgen.view import view_of
from reportgen.vocab import SEVERITY_LABELS

from . import RenderOptions
from .oscal import (
    document_key,
    finding,
    iso_day_end,
    line,
    metadata,
    observation,
    open_checks,
    prop,
    resources,
    stable_uuid,
    text,
)

# the client's answer -> OSCAL risk status (open, investigating, remediating, deviation-requested, ...)
RISK_STATUS = {"open": "open", "in_progress": "remediating", "done": "open", "risk_accepted": "deviation-requested"}
ANSWER_WORDS = {"open": "Open", "in_progress": "In progress", "done": "Done", "risk_accepted": "Risk accepted"}


def plan_items(data: Any) -> list[dict[str, Any]]:
    """The adapter to the report's data: the view's action plan, as results.json stores it; without a
    review workflow, one unanswered action per open finding."""
    if data.workflow is not None:
        return [a.to_json() for a in view_of(data).actions]
    return [{"finding_key": c.id, "title": c.title, "why": c.reason, "severity": c.severity,
             "checks": [{"id": c.id, "full": True}], "owner": "", "target_date": None, "response": "",
             "status": "open", "overdue": False, "open_since": None, "flag": None} for c in open_checks(data)]


def _owner_uuid(key: tuple[str, str], owner: str) -> str:
    return stable_uuid(*key, "owner", owner)


def _remediation(item: dict[str, Any], key: tuple[str, str], risk: str) -> dict[str, Any]:
    owner, target = (item.get("owner") or "").strip(), item.get("target_date")
    response = (item.get("response") or "").strip()
    rem: dict[str, Any] = {"uuid": stable_uuid(risk, "response"), "lifecycle": "planned",
                           "title": line(item.get("title")),
                           "description": text(response or "No management response given yet.")}
    if target or owner:
        task: dict[str, Any] = {"uuid": stable_uuid(risk, "milestone"), "type": "milestone",
                                "title": "Target date" if target else "Owner assigned"}
        if target:
            task["timing"] = {"on-date": {"date": iso_day_end(target)}}
        if owner:
            task["responsible-roles"] = [{"role-id": "action-owner", "party-uuids": [_owner_uuid(key, owner)]}]
        rem["tasks"] = [task]
    return rem


def _risk(item: dict[str, Any], key: tuple[str, str]) -> dict[str, Any]:
    risk_uuid = stable_uuid(*key, "risk", item["finding_key"])
    status = item.get("status") or "open"
    risk: dict[str, Any] = {
        "uuid": risk_uuid, "title": line(item.get("title")), "description": text(item.get("why")),
        "statement": text(item.get("why")),
        "props": [prop("client-status", ANSWER_WORDS.get(status, status))],
        "status": RISK_STATUS.get(status, "open"),
        "remediations": [_remediation(item, key, risk_uuid)],
        "related-observations": [{"observation-uuid": stable_uuid(*key, "observation", c["id"])}
                                 for c in item.get("checks") or [] if isinstance(c, dict) and c.get("id")],
    }
    if item.get("target_date"):
        risk["deadline"] = iso_day_end(item["target_date"])
    if not risk["related-observations"]:
        del risk["related-observations"]
    return risk


def _item(item: dict[str, Any], key: tuple[str, str], findings: set[str]) -> dict[str, Any]:
    fkey = item["finding_key"]
    checks = [c["id"] for c in item.get("checks") or [] if isinstance(c, dict) and c.get("id")]
    props = [prop("finding-key", fkey),
             prop("severity", SEVERITY_LABELS.get(item.get("severity"), item.get("severity") or "unknown")),
             prop("client-status", ANSWER_WORDS.get(item.get("status"), item.get("status") or "Open")),
             prop("overdue", "yes" if item.get("overdue") else "no")]
    for name, field in (("owner", "owner"), ("target-date", "target_date"), ("open-since", "open_since")):
        if item.get(field):
            props.append(prop(name, item[field]))
    doc: dict[str, Any] = {
        "uuid": stable_uuid(*key, "poam-item", fkey), "title": line(item.get("title")),
        "description": text(item.get("why")), "props": props,
        "related-findings": [{"finding-uuid": stable_uuid(*key, "finding", c)} for c in checks if c in findings],
        "related-observations": [{"observation-uuid": stable_uuid(*key, "observation", c)}
                                 for c in checks if c in findings],
        "related-risks": [{"risk-uuid": stable_uuid(*key, "risk", fkey)}],
    }
    remarks = [s for s in (
        "The client reports this done; the check still finds it open at collection." if item.get("status") == "done"
        else "", item.get("flag") or "") if s]
    if remarks:
        doc["remarks"] = text(" ".join(remarks))
    for name in ("related-findings", "related-observations"):
        if not doc[name]:
            del doc[name]
    return doc


def _nothing_open(key: tuple[str, str]) -> dict[str, Any]:
    # OSCAL requires at least one item; this one says so rather than inventing work
    return {"uuid": stable_uuid(*key, "poam-item", "none"), "title": "No open findings",
            "description": "The assessment found no failing or warning check: there is nothing to remediate "
                           "for this period.", "props": [prop("finding-key", "none")]}


def poam(data: Any) -> dict[str, Any]:
    r = data.results
    key = document_key(data)
    items = plan_items(data)
    checks = open_checks(data)
    found = {c.id for c in checks}
    meta = metadata(data, f"{view_of(data).client_name}: MFA plan of action and milestones {r.period}",
                    "Plan of action and milestones")
    meta["roles"].append({"id": "action-owner", "title": "Action owner"})
    owners = sorted({(i.get("owner") or "").strip() for i in items} - {""})
    meta["parties"] += [{"uuid": _owner_uuid(key, o), "type": "person", "name": line(o)} for o in owners]
    doc: dict[str, Any] = {
        "uuid": stable_uuid(*key, "poam"),
        "metadata": meta,
        "system-id": {"identifier-type": "https://ietf.org/rfc/rfc4122", "id": line(r.client.tenant_id or r.client.slug)},
        "observations": [observation(c, data) for c in checks],
        "risks": [_risk(i, key) for i in items],
        "findings": [finding(c, data) for c in checks],
        "poam-items": [_item(i, key, found) for i in items] or [_nothing_open(key)],
    }
    back = resources(data)
    if back:
        doc["back-matter"] = {"resources": back}
    for name in ("observations", "risks", "findings"):
        if not doc[name]:
            del doc[name]
    return {"plan-of-action-and-milestones": doc}


def render(data: Any, path: Path, options: RenderOptions) -> None:
    write_bytes(Path(path), dumps(poam(data)))
