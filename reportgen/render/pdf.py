"""ReportData -> PDF/A-3b deliverable (WeasyPrint).

Safety model: every piece of tenant text goes through Jinja2 autoescaping (never ``|safe``), and
the only resources WeasyPrint may load are ``data:`` URLs, the files bundled under
``templates/assets/`` and the firm logo (:class:`AssetOnlyFetcher`). Colours reach CSS only after a
strict ``#RRGGBB`` check. The document carries no clock reading and no random id: every date in it
comes from ``ReportData.generated_at``, so the same data renders to the same bytes.

Size is bounded: each long list is capped (``max_rows`` and fixed bounds below) and the reader is
pointed to the workbook for the full list.
"""
from __future__ import annotations

import functools
import mimetypes
import os
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2
from markupsafe import Markup
from weasyprint import HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

from .. import __version__
from ..dates import day_text, iso_z, long_day, parse_iso
from ..display import readable
from ..package import dumps, write_bytes
from ..paths import TEMPLATE_DIR
from ..report import ReportData
from ..results import CheckResult
from ..model import SIGNIN_APPS
from ..workflow.view import pdf_context as workflow_context
from ..vocab import (ASSIGNMENT_LABELS, BINDING_LABELS, COLLECTION_LABELS, CONTROL_LABELS, DEFAULT_ACCENT,
                     DEFAULT_PRIMARY, EXCEPTION_STATE_LABELS, FINDING_STATUSES, FRAMEWORK_STATUS_LABELS,
                     INSTITUTION_LABELS, METHOD_LABELS, OPEN_STATUSES, POLICY_STATE_LABELS, READINESS_LABELS,
                     SEVERITY_LABELS, STATUS_LABELS, Readiness, Severity, Status, control_label, count, label,
                     labels, verb)
from ..wording import ReportWording, report_wording
from . import RenderOptions
from .chart import trend_chart
from .condense import group_affected, link_text
from .engagement import context as engagement_context

__all__ = ["render", "render_pdf", "render_html", "AssetOnlyFetcher", "safe_color", "FetchRefused"]

ASSETS_DIR = TEMPLATE_DIR / "assets"
TEMPLATE_NAME = "report.html.j2"

POLICY_ROWS = 60          # Conditional Access policies listed
EMERGENCY_ROWS = 50
EXCEPTION_ROWS = 200
EVIDENCE_ROWS = 300
LIST_ITEMS = 10           # names inside a sentence (walkthrough)
HEADER_CHARS = 64         # client name in the running header
MAX_RUN = 160            # longest unbroken run of characters printed (UPN max is 113)
MAX_VALUE = 3000         # longest single value printed

_SEV_RANK = {s: i for i, s in enumerate(Severity)}
_STATUS_RANK = {Status.FAIL: 0, Status.WARN: 1, Status.EXCEPTED: 2, Status.MANUAL: 3, Status.NOT_EVALUATED: 4,
                Status.PASS: 5}
_COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")

# The report, in reading order: one template each under templates/sections/. A section added here
# appears in the table of contents through its <h1 id> (a section may render nothing: sign-off and
# action plan appear only when the review workflow provides them).
SECTIONS = ("cover", "signoff", "contents", "board", "summary", "actions", "walkthrough", "findings", "controls",
            "tenant", "engagement", "methodology", "response", "glossary", "appendix")

GRAPH_SOURCES = [
    ("Tenant and licences", "GET /v1.0/organization, /v1.0/subscribedSkus"),
    ("Users and last sign-in", "GET /v1.0/users (signInActivity)"),
    ("MFA registration", "GET /v1.0/reports/authenticationMethods/userRegistrationDetails "
                         "(or /v1.0/users/{id}/authentication/methods without Entra ID P1)"),
    ("Conditional Access policies", "GET /v1.0/identity/conditionalAccess/policies"),
    ("Security defaults", "GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy"),
    ("Authentication methods policy", "GET /v1.0/policies/authenticationMethodsPolicy"),
    ("Directory roles", "GET /v1.0/roleManagement/directory/roleAssignments, roleEligibilitySchedules"),
    ("Group membership", "GET /v1.0/groups/{id}/transitiveMembers"),
    ("Sign-in logs", "GET /beta/auditLogs/signIns for the apps below, interactive and non-interactive"),
    *((f"Sign-ins read as {name}", app_id) for app_id, name in SIGNIN_APPS.items()),
]
# A collection gap's source in a board member's words (the cover); the methodology lists the requests.
SOURCE_NAMES = {
    "organization": "tenant details", "subscribedSkus": "licences", "users": "the user list",
    "users.signInActivity": "users' last sign-in times",
    "reports/authenticationMethods/userRegistrationDetails": "MFA registration details",
    "users/{id}/authentication/methods": "users' authentication methods",
    "identity/conditionalAccess/policies": "Conditional Access policies",
    "identity/conditionalAccess/namedLocations": "named locations",
    "policies/identitySecurityDefaultsEnforcementPolicy": "the security defaults setting",
    "policies/authenticationMethodsPolicy": "the authentication methods policy",
    "roleManagement/directory/roleAssignments": "administrator role assignments",
    "roleManagement/directory/roleEligibilitySchedules": "eligible (PIM) role assignments",
    "groups/{id}/transitiveMembers": "group memberships", "groups": "group names",
    "auditLogs/signIns": "sign-in logs", "auditLogs/signIns (non-interactive)": "non-interactive sign-in logs",
}


# --------------------------------------------------------------------------- resource fetching

class FetchRefused(ValueError):
    """Raised (and recorded) for every URL outside the allow-list."""


class AssetOnlyFetcher(URLFetcher):
    """Serve ``data:`` URLs and regular files inside the bundled assets folder (plus a few named
    files such as the firm logo); refuse everything else: other files, http(s), ftp, redirects.

    ``refused`` lists every refused URL and ``served`` every URL answered, for tests and logs.
    """

    def __init__(self, assets_dir: Path = ASSETS_DIR, extra_files: Iterable[Path] = ()):
        super().__init__(timeout=1, allowed_protocols=("data", "file"), allow_redirects=False,
                         fail_on_errors=False)
        self._assets = Path(os.path.realpath(assets_dir))
        self._files = {Path(os.path.realpath(p)) for p in extra_files if p is not None}
        self.refused: list[str] = []
        self.served: list[str] = []

    def _refuse(self, url: str, why: str) -> FetchRefused:
        self.refused.append(url)
        return FetchRefused(f"refused ({why}): {url[:200]}")

    def _allowed_path(self, path: Path) -> bool:
        return path in self._files or path.is_relative_to(self._assets)

    def fetch(self, url, headers=None):  # noqa: D401 - WeasyPrint's signature
        if not isinstance(url, str):
            raise self._refuse(repr(url), "not a string")
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            response = super().fetch(url, headers)   # urllib DataHandler: decodes in memory
            self.served.append(url[:60])
            return response
        if scheme != "file":
            raise self._refuse(url, "scheme not allowed")
        try:
            parts = urlsplit(url)
        except ValueError:
            raise self._refuse(url, "malformed") from None
        if parts.netloc not in ("", "localhost"):
            raise self._refuse(url, "remote file host")
        real = Path(os.path.realpath(url2pathname(unquote(parts.path))))
        if not self._allowed_path(real) or not real.is_file():
            raise self._refuse(url, "outside the bundled assets")
        body = real.read_bytes()
        mime = mimetypes.guess_type(real.name)[0] or "application/octet-stream"
        if real.suffix.lower() == ".svg":
            mime = "image/svg+xml"
        self.served.append(url)
        return URLFetcherResponse(url, body, {"Content-Type": mime})

    def open(self, url, data=None, timeout=None):
        # Called by urllib machinery only; never follow anything through it.
        target = getattr(url, "full_url", url)
        raise self._refuse(str(target), "direct open")


# --------------------------------------------------------------------------- helpers

def safe_color(value: Any, default: str) -> str:
    """The value when it is exactly ``#RRGGBB``, else ``default`` (nothing else reaches CSS)."""
    return value.upper() if isinstance(value, str) and _COLOR_RE.fullmatch(value) else default


def _document_time(data: ReportData) -> datetime:
    moment = parse_iso(data.generated_at)
    if moment is None:
        raise ValueError("results.collected_at must be an ISO 8601 date-time: it is the document date and keeps "
                         "renders reproducible")
    return moment.replace(microsecond=0)


def _human_time(moment: datetime, seconds: bool = False) -> str:
    """'29 November 2026, 16:09 UTC': how a date-time is printed (never raw ISO 8601)."""
    return f"{long_day(moment)}, {moment.strftime('%H:%M:%S' if seconds else '%H:%M')} UTC"


def short_time(value: Any) -> str:
    """A stored ISO timestamp as '18 Nov 2026 13:57' (tables); text that is not one, unchanged."""
    moment = parse_iso(value)
    if moment is None:
        return _text(value)
    return f"{day_text(moment)} {moment.strftime('%H:%M')}"


def short_date(value: Any) -> str:
    """'2027-01-15' (or a date-time) as '15 Jan 2027'; other text unchanged."""
    text = _text(value)
    moment = parse_iso(text + "T00:00:00Z" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else text)
    return day_text(moment) if moment else text


def _human_size(size: Any) -> str:
    if not isinstance(size, (int, float)) or isinstance(size, bool) or size < 0:
        return "?"
    size = int(size)
    if size < 1024:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size_f = size / 1024
        if size_f < 1024 or unit == "GB":
            return f"{size_f:.1f} {unit}"
        size = int(size_f)
    return f"{size} B"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


_LIST_ITEM_RE = re.compile(r"\s*(\d{1,2}[.)]|[-*•])\s")


def _paragraphs(value: Any) -> list[str]:
    """Catalog prose (str or list of str) as paragraphs: a blank line or a list marker ("1.", "-")
    starts a new one; other line breaks are YAML wrapping and join with a space."""
    out: list[str] = []
    for item in _as_list(value):
        current: list[str] = []
        for line in _text(item).splitlines():
            if not line.strip() or _LIST_ITEM_RE.match(line):
                if current:
                    out.append(" ".join(current))
                current = [line.strip()] if line.strip() else []
            else:
                current.append(line.strip())
        if current:
            out.append(" ".join(current))
    return out


_HTTPS_RE = re.compile(r"https://[^\s\"'<>\\]+")


def _reference(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        label_ = _text(value.get("title") or value.get("id") or value.get("url"))
        url = _text(value.get("url"))
    else:
        label_ = url = _text(value)
    return {"label": ident(label_) if _HTTPS_RE.fullmatch(label_) else label_,
            "url": url if _HTTPS_RE.fullmatch(url) else ""}


def _cap(rows: list[Any], limit: int) -> tuple[list[Any], int]:
    limit = max(0, int(limit))
    return rows[:limit], max(0, len(rows) - limit)


def _pct(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "n/a"
    return f"{value:.1f}%"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_BREAK_AFTER_RE = re.compile(r"([@./_-])(?=[^\s<\u200b])")


ZWSP = "\u200b"


def ident(value: Any) -> Markup:
    """An identifier (UPN, id, file path, URL) that may wrap only after '@', '.', '/', '_' or '-':
    escaped text with a zero-width space there. Without it, a narrow column breaks 'example.co|m'
    mid-word. The space has no glyph, so text extracted or copied from the PDF stays whole (a <wbr>
    would do the same at the cost of one generated box each)."""
    text = Markup.escape(clip_text(_text(value)))
    return Markup(_BREAK_AFTER_RE.sub(r"\1" + ZWSP, str(text)))


# --------------------------------------------------------------------------- view context

def _affected_view(a) -> dict[str, Any]:
    return {"upn": ident(a.upn), "upn_text": a.upn, "display_name": a.display_name, "detail": a.detail,
            "exception": a.exception}


def _check_view(check: CheckResult, data: ReportData, max_rows: int) -> dict[str, Any]:
    meta = data.check_meta.get(check.id)
    shown, more = _cap(check.affected, max_rows)
    return {
        "id": check.id,
        "anchor": "check-" + re.sub(r"[^A-Za-z0-9_-]", "-", check.id),
        "title": check.title,
        "severity": check.severity,
        "severity_label": SEVERITY_LABELS[check.severity],
        "status": check.status,
        "status_label": STATUS_LABELS[check.status],
        "reason": check.reason,
        "rationale": _paragraphs(meta.rationale if meta else ""),
        "remediation": _paragraphs(meta.remediation if meta else ""),
        "references": [_reference(r) for r in (meta.references if meta else ())],
        "affected": [_affected_view(a) for a in shown],
        "affected_total": len(check.affected),
        "affected_more": more,
        "affected_groups": group_affected(check.affected, ident),
        "evidence": [{"dataset": e.dataset, "source": e.source, "pages": len(e.pages)} for e in check.evidence],
    }


def _sort_key(view: dict[str, Any]) -> tuple[int, int, str]:
    return (_SEV_RANK[view["severity"]], _STATUS_RANK[view["status"]], view["id"])


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
            names, more = _cap([a["upn"] for a in view["affected"]], LIST_ITEMS)
            checks.append({**view, "names": names,
                           "names_more": more + max(0, view["affected_total"] - len(view["affected"]))})
        rows.append({"title": control.title, "requirement": _paragraphs(control.requirement), "checks": checks})
    return rows


def _verdict(value: Readiness, meaning: str) -> dict[str, str]:
    return {"value": value, "label": READINESS_LABELS[value], "meaning": meaning}


def _wording(data: ReportData, moment: datetime) -> ReportWording:
    """The type- and date-dependent sentences (catalog YAML), worked out here when assess did not."""
    if data.wording is not None:
        return data.wording
    r = data.results
    mmfa01 = r.check("MMFA-01")
    return report_wording(r.client.institution_type, moment.date(), r.phase1, r.phase2,
                          mmfa01.metrics if mmfa01 else {})


def _frameworks(data: ReportData, by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The control matrix, grouped by framework in catalog order."""
    out = []
    for fw in data.frameworks:
        rows = [c for c in data.results.controls if c.framework == fw.id]
        if not rows:
            continue
        items = [{"id": ident(c.id), "title": c.title, "status": c.status, "label": control_label(c.status, c.coverage),
                  "checks": [{"id": k, "status": by_id[k]["status"] if k in by_id else "",
                              "label": by_id[k]["status_label"] if k in by_id else ""} for k in c.checks]}
                 for c in rows]
        counts = {k: sum(1 for i in items if i["status"] == k) for k in CONTROL_LABELS}
        out.append({"id": fw.id, "name": fw.name, "version": fw.version,
                    "binding": label(BINDING_LABELS, fw.binding), "binding_key": fw.binding,
                    "status": fw.status, "status_label": label(FRAMEWORK_STATUS_LABELS, fw.status),
                    "note": fw.note if fw.status != "active" else "",
                    "source_url": fw.source_url if _HTTPS_RE.fullmatch(fw.source_url) else "",
                    "controls": items, "counts": counts})
    return out


def _changes(data: ReportData, by_id: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if not isinstance(data.changes, dict):
        return None

    def title(cid: str) -> str:
        if cid in by_id:
            return by_id[cid]["title"]
        meta = data.check_meta.get(cid)
        return meta.title if meta else ""
    out: dict[str, Any] = {k: [{"id": _text(i), "title": title(_text(i)),
                                "anchor": by_id[_text(i)]["anchor"] if _text(i) in by_id else ""}
                               for i in _as_list(data.changes.get(k))]
                           for k in ("new", "resolved", "still_open")}
    out["since"] = _text(data.changes.get("since"))
    return out


def _evidence_rows(files: list[dict[str, Any]], checks: list[CheckResult]) -> list[dict[str, Any]]:
    judged: dict[str, dict[str, None]] = {}     # page -> check ids, each once, in check order
    for c in checks:
        for e in c.evidence:
            for page in e.pages:
                judged.setdefault(page, {})[c.id] = None
    return [{"path": ident(f.get("path")), "sha256": _text(f.get("sha256")), "size": _human_size(f.get("size")),
             "checks": list(judged.get(_text(f.get("path")), ()))} for f in files]


def _gap_groups(gaps) -> list[dict[str, Any]]:
    """Collection gaps grouped by reason, sources in plain words (the cover's short list)."""
    groups: dict[str, list[str]] = {}
    for g in gaps:
        groups.setdefault(g.reason or "no reason recorded", []).append(SOURCE_NAMES.get(g.source, g.source))
    out = []
    for reason, names in groups.items():
        text = ", ".join(dict.fromkeys(names))
        out.append({"reason": reason, "sources": text[:1].upper() + text[1:]})
    return out


_READINESS_WORDS = {Readiness.READY: "ready", Readiness.AT_RISK: "at risk", Readiness.NOT_READY: "not ready",
                    Readiness.UNKNOWN: "of unknown readiness"}


def bottom_line(name: str, phase1: Readiness, phase2: Readiness, views: list[dict[str, Any]]) -> list[str]:
    """Two sentences on where the institution stands: its mandatory-MFA readiness with the open
    findings and unevaluated checks, then what to do first."""
    open_views = [v for v in views if v["status"] in OPEN_STATUSES]
    by_sev = {s: sum(1 for v in open_views if v["severity"] == s) for s in Severity}
    unknown = sum(1 for v in views if v["status"] == Status.NOT_EVALUATED)
    p1, p2 = _READINESS_WORDS[phase1], _READINESS_WORDS[phase2]
    if p1 == p2:
        first = f"{name} is {p1} for both phases of Microsoft's mandatory MFA (admin portals and Azure management tools)"
    else:
        first = (f"{name} is {p1} for phase 1 of Microsoft's mandatory MFA (admin portals) and {p2} for phase 2 "
                 "(Azure management tools)")
    if open_views:
        severe = ", ".join(f"{by_sev[s]:,} {SEVERITY_LABELS[s].lower()}" for s in (Severity.CRITICAL, Severity.HIGH)
                           if by_sev[s])
        first += f", with {count(len(open_views), 'open finding')} of {count(len(views), 'check')}"
        first += f" ({severe})" if severe else ""
    else:
        first += f", and none of the {count(len(views), 'check')} is an open finding"
    if unknown:
        first += (f"; {count(unknown, 'check')} could not be evaluated for lack of data, so "
                  f"{verb(unknown, 'it is', 'they are')} neither passed nor failed")
    first += "."
    ranked = sorted(open_views, key=lambda v: (_SEV_RANK[v["severity"]], _STATUS_RANK[v["status"]], v["id"]))
    if ranked:
        top = ranked[0]
        level = SEVERITY_LABELS[top["severity"]].lower()
        same = by_sev[top["severity"]]
        rest = f" and the other {count(same - 1, level + ' finding')}" if same > 1 else ""
        second = (f"Act first on {top['id']} (“{top['title']}”, {level}){rest}: the Findings section names the "
                  "accounts concerned and the steps to fix each one.")
    elif unknown:
        second = ("Before relying on this result, close the collection gaps listed in the methodology so that "
                  "every check can be judged next period.")
    else:
        second = "No action is needed this period beyond keeping these controls in place; the next report will show any change."
    return [first, second]


def _kpi_registration(data: ReportData) -> dict[str, Any]:
    """The MFA registration headline, with what it counts (enabled member users, not guests)."""
    pct = data.results.summary.mfa_registered_pct
    check = data.results.check("MFA-02")
    metrics = check.metrics if check else {}
    registered, enabled = _int(metrics.get("registered")), _int(metrics.get("enabled"))
    if registered is not None and enabled is not None:
        what = f"{registered:,} of {enabled:,} enabled member users (guests not counted)"
    else:
        what = "of enabled member users (guests not counted)"
    return {"pct": pct, "pct_text": _pct(pct), "what": what}


def _sign_in_rows(data: ReportData, limit: int) -> tuple[list[dict[str, Any]], int]:
    rows, more = _cap(list(data.phase2_sign_ins), limit)
    return [{"upn": ident(s.upn), "display_name": s.display_name, "app": s.app, "single_factor": s.single_factor,
             "multi_factor": s.multi_factor, "non_interactive": s.non_interactive, "last": short_time(s.last)}
            for s in rows], more


def _apps_text(apps: Any) -> str:
    if apps is None:
        return "Unknown"
    return ", ".join(_text(a) for a in apps) or "None"


def _context(data: ReportData, max_rows: int, moment: datetime,
             attached: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    r = data.results
    client_name = r.client.name or r.client.slug or "Client"
    firm = data.firm
    views = sorted((_check_view(c, data, max_rows) for c in r.checks), key=_sort_key)
    by_id = {v["id"]: v for v in views}
    severity_rows = []
    for sev in Severity:
        fail = sum(1 for v in views if v["severity"] == sev and v["status"] == Status.FAIL)
        warn = sum(1 for v in views if v["severity"] == sev and v["status"] == Status.WARN)
        unknown = sum(1 for v in views if v["severity"] == sev and v["status"] == Status.NOT_EVALUATED)
        severity_rows.append({"severity": sev, "label": SEVERITY_LABELS[sev], "fail": fail, "warn": warn,
                              "unknown": unknown, "total": fail + warn})
    collection = r.collection
    permissions = {k: list(getattr(collection, k)) for k in
                   ("granted_permissions", "missing_permissions", "write_permissions")
                   if getattr(collection, k) is not None}
    logo = firm.logo if firm.logo is not None and Path(firm.logo).is_file() else None
    slug, period = r.client.slug, r.period
    wording = _wording(data, moment)
    workflow = workflow_context(data, lambda p: path2url(str(Path(p).resolve())))
    capped = {name: _cap(list(rows), limit) for name, rows, limit in (
        ("privileged", data.privileged, max_rows), ("policies", data.policies, POLICY_ROWS),
        ("emergency", data.emergency, EMERGENCY_ROWS),
        ("exceptions", data.exceptions, EXCEPTION_ROWS), ("evidence", data.evidence_index, EVIDENCE_ROWS))}
    sign_ins, sign_ins_more = _sign_in_rows(data, max_rows)
    window_start, window_end = parse_iso(collection.window_start), parse_iso(collection.window_end)
    return {
        **workflow,
        **engagement_context(data, workflow),
        "title": f"{'DRAFT — ' if workflow['draft'] else ''}{client_name} — MFA compliance report {period}".strip(),
        "description": f"Monthly Microsoft Entra ID MFA compliance report for {client_name}, period {period}: "
                       "Microsoft mandatory MFA for Azure readiness and GLBA access-control findings."
                       + (" Sample data from a synthetic demo tenant." if collection.demo else ""),
        "generator": f"reportgen {r.tool_version or __version__}",
        "created": iso_z(moment),
        "prepared_on": long_day(moment),
        "period": period,
        "client_name": client_name,
        "header_client": client_name if len(client_name) <= HEADER_CHARS else client_name[:HEADER_CHARS - 1] + "…",
        "tenant_id": r.client.tenant_id,
        "institution": label(INSTITUTION_LABELS, r.client.institution_type),
        "governing_rule": wording.governing_rule,
        "exceptions_heading": wording.exceptions_heading,
        "exception_definition": wording.exception_definition,
        "excepted_meaning": wording.excepted_meaning,
        "type_glossary": wording.glossary,
        "timeline": wording.timeline,
        "clouds_note": wording.clouds_note,
        "firm": {"name": firm.name, "contact": firm.contact, "disclaimer": _paragraphs(firm.disclaimer),
                 "logo_url": path2url(str(Path(logo).resolve())) if logo else ""},
        "primary": safe_color(firm.primary_color, DEFAULT_PRIMARY),
        "accent": safe_color(firm.accent_color, DEFAULT_ACCENT),
        "sample": collection.demo,
        "sections": SECTIONS,
        "toc": [],
        "collected_at": _human_time(moment),
        "collected_at_exact": _human_time(moment, seconds=True),
        "window": (f"{long_day(window_start)} to {long_day(window_end)}"
                   if window_start and window_end else ""),
        "collection_status": collection.status,
        "collection_label": COLLECTION_LABELS[collection.status],
        "collection_complete": collection.complete,
        "gaps": collection.gaps,
        "gap_groups": _gap_groups(collection.gaps),
        "notes": collection.notes,
        "permissions": permissions,
        "lookback_days": collection.lookback_days,
        "phase1": _verdict(r.phase1, wording.phase1_meaning),
        "phase2_verdict": _verdict(r.phase2, wording.phase2_meaning),
        "bottom_line": bottom_line(client_name, r.phase1, r.phase2, views),
        "summary": {"enabled_users": r.summary.enabled_users, "privileged_users": r.summary.privileged_users,
                    **_kpi_registration(data)},
        "severity_rows": severity_rows,
        "open_total": sum(row["total"] for row in severity_rows),
        "status_counts": {s: sum(1 for v in views if v["status"] == s) for s in Status},
        "top_findings": sorted((v for v in views if v["status"] in OPEN_STATUSES),
                               key=lambda v: (_STATUS_RANK[v["status"]], _SEV_RANK[v["severity"]], v["id"]))[:5],
        "changes": _changes(data, by_id),
        "chart": trend_chart(data.trend),
        "walkthrough": _walkthrough(data, by_id),
        "findings": [v for v in views if v["status"] in FINDING_STATUSES],
        "all_checks": views,
        "frameworks": _frameworks(data, by_id),
        **{name: rows for name, (rows, _more) in capped.items()},
        **{f"{name}_more": more for name, (_rows, more) in capped.items()},
        "sign_ins": sign_ins,
        "sign_ins_more": sign_ins_more,
        "evidence": _evidence_rows(capped["evidence"][0], r.checks),
        "graph_sources": GRAPH_SOURCES,
        "workbook": f"{slug}-{period}-mfa-compliance.xlsx" if slug and period else "the Excel workbook",
        "max_rows": max_rows,
        "attached": [{"name": n, "description": d} for n, d in attached],
        "exception_states": EXCEPTION_STATE_LABELS,
        "status_labels": STATUS_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "join": lambda items: ", ".join(_text(i) for i in _as_list(items)),
        "methods": lambda items: labels(METHOD_LABELS, items) or "—",
        "policy_state": lambda value: label(POLICY_STATE_LABELS, value),
        "assignment": lambda value: label(ASSIGNMENT_LABELS, value),
        "apps": _apps_text,
        "count": count,
    }


# --------------------------------------------------------------------------- rendering

_LONG_RUN_RE = re.compile(r"\S{%d,}" % (MAX_RUN + 1))


def _clip_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return f"{run[:MAX_RUN]}… [+{len(run) - MAX_RUN:,} characters, full text in the workbook]"


def clip_text(value: Any) -> Any:
    """Bound what one printed value can cost: WeasyPrint breaks an unbroken run character by
    character, so a 5,000-character token in a table cell costs seconds. Runs longer than MAX_RUN and
    values longer than MAX_VALUE are shortened with a visible marker. Template markup (macro output,
    ``Markup``) passes unchanged; it is escaped tenant text already bounded by this function.
    Control characters and explicit bidi controls are replaced by a visible marker, by the rule the
    workbook uses too (``display.readable``); results.json keeps them."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    value = readable(value)
    if len(value) > MAX_RUN:
        value = _LONG_RUN_RE.sub(_clip_run, value)
    if len(value) > MAX_VALUE:
        value = f"{value[:MAX_VALUE]}… [+{len(value) - MAX_VALUE:,} characters, full text in the workbook]"
    return value


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # one per process: compiling the templates cost a few tenths of a second per report
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             finalize=clip_text)
    env.filters.update(ident=ident, when=short_time, day=short_date, link_text=link_text)
    return env


class _Headings(HTMLParser):
    """The <h1 id> and <h2 id> of the rendered report, in order: the table of contents."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("h1", "h2") and a.get("id") and "no-toc" not in (a.get("class") or "").split():
            self._open = {"level": int(tag[1]), "id": a["id"], "title": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["title"] += data

    def handle_endtag(self, tag):
        if self._open is not None and tag == f"h{self._open['level']}":
            self._open["title"] = " ".join(self._open["title"].split())
            self.found.append(self._open)
            self._open = None


def _headings(html: str) -> list[dict[str, Any]]:
    parser = _Headings()
    parser.feed(html)
    return parser.found


def warm() -> None:
    """Load once what every report needs (batch workers call this before their first client)."""
    _environment().get_template(TEMPLATE_NAME)


def _attachment_name(name: Any) -> str:
    return os.path.basename(_text(name).replace("\\", "/")) or "attachment"


def render_html(data: ReportData, *, max_rows: int = 25,
                attachments: Iterable[tuple[str, bytes, str]] = ()) -> str:
    """The HTML handed to WeasyPrint (useful for debugging; all tenant text is escaped)."""
    attached = [(_attachment_name(n), _text(d)) for n, _c, d in attachments]
    template = _environment().get_template(TEMPLATE_NAME)
    context = _context(data, max_rows, _document_time(data), attached)
    # Two passes: the sections' headings, read from the first, are the second's table of contents.
    context["toc"] = _headings(template.render(context))
    return template.render(context)


def render_pdf_bytes(data: ReportData, *, max_rows: int = 25,
                     attachments: Iterable[tuple[str, bytes, str]] = (),
                     fetcher: AssetOnlyFetcher | None = None) -> bytes:
    attachments = list(attachments)
    moment = _document_time(data)
    html = render_html(data, max_rows=max_rows, attachments=attachments)
    if fetcher is None:
        logos = (data.firm.logo, getattr(data.workflow, "client_logo", None))
        fetcher = AssetOnlyFetcher(extra_files=[p for p in logos if p])
    stamp = moment  # UTC; WeasyPrint writes it as D:YYYYMMDDHHMMSSZ
    files = []
    for name, content, description in attachments:
        if isinstance(content, str):
            content = content.encode("utf-8")
        files.append(Attachment(string=bytes(content), url_fetcher=fetcher, base_url=None,
                                name=_attachment_name(name),
                                description=_text(description), created=stamp, modified=stamp,
                                relationship="Data"))
    document = HTML(string=html, base_url=path2url(str(TEMPLATE_DIR) + os.sep), url_fetcher=fetcher)
    return document.write_pdf(font_config=FontConfiguration(), pdf_variant="pdf/a-3b",
                              attachments=files, uncompressed_pdf=False, pdf_tags=True)


def render(data: ReportData, path: Path, options: RenderOptions) -> None:
    """The registry's entry point: the PDF with results.json and the evidence index attached."""
    render_pdf(data, path, max_rows=options.max_rows, attachments=[
        ("results.json", dumps(data.results.to_json()), "Machine-readable results (schema_version 1)"),
        ("evidence-index.json", dumps({"files": data.evidence_index}), "Evidence files with SHA-256 hashes")])


def render_pdf(data: ReportData, out_path: Path, *, max_rows: int = 25,
               attachments: Iterable[tuple[str, bytes, str]] = ()) -> None:
    """Render ``data`` to ``out_path`` (PDF/A-3b), atomically and with mode 0600."""
    out_path = Path(out_path)
    pdf = render_pdf_bytes(data, max_rows=max_rows, attachments=attachments)
    write_bytes(Path(out_path), pdf)
