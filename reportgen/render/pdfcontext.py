"""The report template's values, read from the view model (``reportgen.view``) and ``ReportData``.

Figures, rankings and verdicts come from the view; this module only shapes them for the template
(capped lists, identifiers that wrap, dates in words). Tenant text stays plain here: the template
escapes it.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from weasyprint.urls import path2url

from reportgen import __version__
from reportgen.dates import iso_z, long_day, parse_iso
from reportgen.report import ReportData
from reportgen.results import CheckResult
from reportgen.view import Finding, ReportView, view_of
from reportgen.view.build import words_for
from reportgen.vocab import (
    ASSIGNMENT_LABELS,
    COLLECTION_LABELS,
    CONTROL_LABELS,
    DEFAULT_ACCENT,
    DEFAULT_PRIMARY,
    EXCEPTION_STATE_LABELS,
    INSTITUTION_LABELS,
    METHOD_LABELS,
    POLICY_STATE_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Status,
    count,
    label,
    labels,
)
from reportgen.workflow.view import pdf_context

from .chart import trend_chart
from .condense import group_affected
from .engagement import context as engagement_context
from .pdftext import (
    HTTPS_RE,
    as_list,
    cap,
    human_size,
    human_time,
    ident,
    paragraphs,
    pct,
    reference,
    safe_color,
    short_time,
    text,
)
from .sources import GRAPH_SOURCES, SIGN_IN_APPS, source_name

POLICY_ROWS = 60          # Conditional Access policies listed
EMERGENCY_ROWS = 50
EXCEPTION_ROWS = 200
EVIDENCE_ROWS = 300
LIST_ITEMS = 10           # names inside a sentence (walkthrough)
HEADER_CHARS = 64         # client name in the running header

# The report, in reading order: one template each under templates/sections/. A section added here
# appears in the table of contents through its <h1 id> (a section may render nothing: sign-off and
# action plan appear only when the review workflow provides them).
SECTIONS = ("cover", "signoff", "contents", "board", "summary", "actions", "walkthrough", "findings", "controls",
            "tenant", "engagement", "methodology", "response", "glossary", "appendix")


def document_time(data: ReportData) -> datetime:
    moment = parse_iso(data.generated_at)
    if moment is None:
        raise ValueError("results.collected_at must be an ISO 8601 date-time: it is the document date and keeps "
                         "renders reproducible")
    return moment.replace(microsecond=0)


def _affected_view(a) -> dict[str, Any]:
    return {"upn": ident(a.upn), "upn_text": a.upn, "display_name": a.display_name, "detail": a.detail,
            "exception": a.exception}


def _check_view(f: Finding, data: ReportData, max_rows: int) -> dict[str, Any]:
    meta = data.check_meta.get(f.id)
    shown, more = cap(list(f.affected), max_rows)
    return {
        "id": f.id, "anchor": "check-" + re.sub(r"[^A-Za-z0-9_-]", "-", f.id), "title": f.title,
        "severity": f.severity, "severity_label": f.severity_label, "status": f.status,
        "status_label": f.status_label, "lapsed": f.lapsed, "reason": f.reason,
        "rationale": paragraphs(meta.rationale if meta else ""),
        "remediation": paragraphs(meta.remediation if meta else ""),
        "references": [reference(r) for r in (meta.references if meta else ())],
        "affected": [_affected_view(a) for a in shown], "affected_total": f.affected_count, "affected_more": more,
        "affected_groups": group_affected(f.affected, ident),
        "evidence": [{"dataset": e.dataset, "source": e.source, "pages": len(e.pages)} for e in f.evidence],
    }


def _walkthrough(data: ReportData, by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Microsoft's announcements (the vendor framework's controls), each beside what we found."""
    vendor = next((f for f in data.frameworks if f.binding == "vendor"), None)
    rows = []
    for control in vendor.controls if vendor else []:
        checks = []
        for cid in control.checks:
            view = by_id.get(cid)
            if view is None:
                continue
            names, more = cap([a["upn"] for a in view["affected"]], LIST_ITEMS)
            checks.append({**view, "names": names,
                           "names_more": more + max(0, view["affected_total"] - len(view["affected"]))})
        rows.append({"title": control.title, "requirement": paragraphs(control.requirement), "checks": checks})
    return rows


def _frameworks(view: ReportView) -> list[dict[str, Any]]:
    """The control matrix, grouped by framework in catalog order."""
    out = []
    for fw in view.frameworks:
        items = [{"id": ident(c.id), "title": c.title, "status": c.status, "label": c.label, "note": c.note,
                  "checks": [{"id": k.id, "status": k.status or "", "label": k.status_label} for k in c.checks],
                  "manual_evidence": c.manual_evidence, "exception_basis": c.exception_basis}
                 for c in fw.controls]
        counts = {k: sum(1 for c in fw.controls if c.status == k) for k in CONTROL_LABELS}
        out.append({"id": fw.id, "name": fw.name, "version": fw.version, "citation": fw.citation,
                    "binding": fw.binding_label, "binding_key": fw.binding,
                    "status": fw.status, "status_label": fw.status_label, "note": fw.note,
                    "source_url": fw.source_url if HTTPS_RE.fullmatch(fw.source_url) else "",
                    "controls": items, "counts": counts, "tally": fw.tally()})
    return out


def _changes(data: ReportData, by_id: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if not isinstance(data.changes, dict):
        return None

    def title(cid: str) -> str:
        if cid in by_id:
            return by_id[cid]["title"]
        meta = data.check_meta.get(cid)
        return meta.title if meta else ""
    out: dict[str, Any] = {k: [{"id": text(i), "title": title(text(i)),
                                "anchor": by_id[text(i)]["anchor"] if text(i) in by_id else ""}
                               for i in as_list(data.changes.get(k))]
                           for k in ("new", "resolved", "still_open")}
    out["since"] = text(data.changes.get("since"))
    return out


def _evidence_rows(files: list[dict[str, Any]], checks: list[CheckResult]) -> list[dict[str, Any]]:
    judged: dict[str, dict[str, None]] = {}     # page -> check ids, each once, in check order
    for c in checks:
        for e in c.evidence:
            for page in e.pages:
                judged.setdefault(page, {})[c.id] = None
    return [{"path": ident(f.get("path")), "sha256": text(f.get("sha256")), "size": human_size(f.get("size")),
             "checks": list(judged.get(text(f.get("path")), ()))} for f in files]


def _gap_groups(gaps) -> list[dict[str, Any]]:
    """Collection gaps grouped by reason, sources in plain words (the cover's short list)."""
    groups: dict[str, list[str]] = {}
    for g in gaps:
        groups.setdefault(g.reason or "no reason recorded", []).append(source_name(g.source))
    out = []
    for reason, names in groups.items():
        joined = ", ".join(dict.fromkeys(names))
        out.append({"reason": reason, "sources": joined[:1].upper() + joined[1:]})
    return out


def _kpi_registration(view: ReportView) -> dict[str, Any]:
    """The MFA registration headline, with what it counts (enabled member users, not guests)."""
    reg = view.registration
    if reg.registered is not None and reg.enabled is not None:
        what = f"{reg.registered:,} of {reg.enabled:,} enabled member users (guests not counted)"
    else:
        what = "of enabled member users (guests not counted)"
    return {"pct": reg.pct, "pct_text": pct(reg.pct), "what": what}


def _sign_in_rows(data: ReportData, limit: int) -> tuple[list[dict[str, Any]], int]:
    rows, more = cap(list(data.phase2_sign_ins), limit)
    return [{"upn": ident(s.upn), "display_name": s.display_name, "app": s.app, "single_factor": s.single_factor,
             "multi_factor": s.multi_factor, "non_interactive": s.non_interactive, "last": short_time(s.last)}
            for s in rows], more


def _apps_text(apps: Any) -> str:
    if apps is None:
        return "Unknown"
    return ", ".join(text(a) for a in apps) or "None"


def _document(data: ReportData, view: ReportView, moment: datetime, draft: bool) -> dict[str, Any]:
    """Who the report is for and by whom, and when: the cover, the header and the PDF's metadata."""
    r, firm = data.results, data.firm
    name, period = view.client_name, r.period
    words = words_for(data)
    logo = firm.logo if firm.logo is not None and Path(firm.logo).is_file() else None
    return {
        "title": f"{'DRAFT — ' if draft else ''}{name} — MFA compliance report {period}".strip(),
        "description": f"Monthly Microsoft Entra ID MFA compliance report for {name}, period {period}: "
                       "Microsoft mandatory MFA for Azure readiness and GLBA access-control findings."
                       + (" Sample data from a synthetic demo tenant." if r.collection.demo else ""),
        "generator": f"reportgen {r.tool_version or __version__}", "created": iso_z(moment),
        "prepared_on": long_day(moment), "period": period, "client_name": name,
        "header_client": name if len(name) <= HEADER_CHARS else name[:HEADER_CHARS - 1] + "…",
        "tenant_id": r.client.tenant_id, "institution": label(INSTITUTION_LABELS, r.client.institution_type),
        "governing_rule": words.governing_rule, "exceptions_heading": words.exceptions_heading,
        "exception_definition": words.exception_definition, "excepted_meaning": words.excepted_meaning,
        "type_glossary": words.glossary, "timeline": words.timeline, "clouds_note": words.clouds_note,
        "firm": {"name": firm.name, "contact": firm.contact, "disclaimer": paragraphs(firm.disclaimer),
                 "logo_url": path2url(str(Path(logo).resolve())) if logo else ""},
        "primary": safe_color(firm.primary_color, DEFAULT_PRIMARY),
        "accent": safe_color(firm.accent_color, DEFAULT_ACCENT),
        "sample": r.collection.demo, "sections": SECTIONS, "toc": [],
        "workbook": (f"{r.client.slug}-{period}-mfa-compliance.xlsx" if r.client.slug and period
                     else "the Excel workbook"),
    }


def _collection(data: ReportData, moment: datetime) -> dict[str, Any]:
    collection = data.results.collection
    permissions = {k: list(getattr(collection, k)) for k in
                   ("granted_permissions", "missing_permissions", "write_permissions")
                   if getattr(collection, k) is not None}
    window_start, window_end = parse_iso(collection.window_start), parse_iso(collection.window_end)
    return {
        "collected_at": human_time(moment), "collected_at_exact": human_time(moment, seconds=True),
        "window": f"{long_day(window_start)} to {long_day(window_end)}" if window_start and window_end else "",
        "collection_status": collection.status, "collection_label": COLLECTION_LABELS[collection.status],
        "collection_complete": collection.complete, "gaps": collection.gaps,
        "gap_groups": _gap_groups(collection.gaps), "notes": collection.notes, "permissions": permissions,
        "lookback_days": collection.lookback_days, "graph_sources": GRAPH_SOURCES, "sign_in_apps": SIGN_IN_APPS,
    }


def _figures(data: ReportData, view: ReportView, views: list[dict[str, Any]]) -> dict[str, Any]:
    """What the view counted and ranked, shaped for the summary and the findings."""
    by_id = {v["id"]: v for v in views}
    walkthrough = _walkthrough(data, by_id)
    walked = {c["id"] for row in walkthrough for c in row["checks"]}
    severity_rows = [{"severity": t.severity, "label": t.label, "fail": t.fail, "warn": t.warn,
                      "unknown": t.not_evaluated, "open": t.open} for t in view.tallies.rows]
    return {
        "phase1": vars(view.phase1), "phase2_verdict": vars(view.phase2), "bottom_line": list(view.story),
        "summary": {"enabled_users": view.enabled_users, "privileged_users": view.privileged_users,
                    **_kpi_registration(view)},
        "severity_rows": severity_rows, "open_total": view.tallies.open_findings,
        "status_counts": {s: view.tallies.by_status(s) for s in Status},
        "top_findings": [by_id[f.id] for f in view.top_findings()],
        "changes": _changes(data, by_id), "chart": trend_chart(data.trend), "walkthrough": walkthrough,
        "findings": [v for v, f in zip(views, view.findings) if f.shown_as_finding],
        # the table of the other checks leaves out those the walkthrough already shows with their result
        "other_checks": [v for v, f in zip(views, view.findings) if not f.shown_as_finding and v["id"] not in walked],
        "lapsed_ids": [f.id for f in view.findings if f.lapsed],
        "all_checks": views, "frameworks": _frameworks(view),
    }


def _tables(data: ReportData, max_rows: int) -> dict[str, Any]:
    capped = {name: cap(list(rows), limit) for name, rows, limit in (
        ("privileged", data.privileged, max_rows), ("policies", data.policies, POLICY_ROWS),
        ("emergency", data.emergency, EMERGENCY_ROWS),
        ("exceptions", data.exceptions, EXCEPTION_ROWS), ("evidence", data.evidence_index, EVIDENCE_ROWS))}
    sign_ins, sign_ins_more = _sign_in_rows(data, max_rows)
    return {**{name: rows for name, (rows, _more) in capped.items()},
            **{f"{name}_more": more for name, (_rows, more) in capped.items()},
            "sign_ins": sign_ins, "sign_ins_more": sign_ins_more,
            "evidence": _evidence_rows(capped["evidence"][0], data.results.checks)}


def _helpers() -> dict[str, Callable[..., Any] | dict[str, str]]:
    """Labels and small formatters the templates call."""
    return {
        "exception_states": EXCEPTION_STATE_LABELS, "status_labels": STATUS_LABELS, "severity_labels": SEVERITY_LABELS,
        "join": lambda items: ", ".join(text(i) for i in as_list(items)),
        "methods": lambda items: labels(METHOD_LABELS, items) or "—",
        "policy_state": lambda value: label(POLICY_STATE_LABELS, value),
        "assignment": lambda value: label(ASSIGNMENT_LABELS, value),
        "apps": _apps_text, "count": count,
    }


def context(data: ReportData, max_rows: int, moment: datetime,
            attached: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    """Every value the report template reads."""
    view = view_of(data)
    views = [_check_view(f, data, max_rows) for f in view.findings]
    workflow = pdf_context(data, lambda p: path2url(str(Path(p).resolve())))
    return {
        **workflow, **engagement_context(data, workflow), **_document(data, view, moment, workflow["draft"]),
        **_collection(data, moment),
        **_figures(data, view, views), **_tables(data, max_rows), **_helpers(),
        "max_rows": max_rows, "attached": [{"name": n, "description": d} for n, d in attached],
    }
