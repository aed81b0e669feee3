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

import mimetypes
import os
import re
from datetime import datetime, timezone
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
from ..paths import TEMPLATE_DIR
from ..package import write_bytes
from ..report import ReportData

__all__ = ["render_pdf", "render_html", "AssetOnlyFetcher", "safe_color", "FetchRefused"]

ASSETS_DIR = TEMPLATE_DIR / "assets"
TEMPLATE_NAME = "report.html.j2"

DEFAULT_PRIMARY = "#0B3D91"
DEFAULT_ACCENT = "#F2A900"
_COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")

POLICY_ROWS = 60          # Conditional Access policies listed
EMERGENCY_ROWS = 50
EXCEPTION_ROWS = 200
EVIDENCE_ROWS = 300
LIST_ITEMS = 25           # names inside a sentence (automation accounts, admins without email)
HEADER_CHARS = 64         # client name in the running header
TREND_PERIODS = 12
MAX_RUN = 160            # longest unbroken run of characters printed (UPN max is 113)
MAX_VALUE = 3000         # longest single value printed

SEVERITIES = ["critical", "high", "medium", "low", "info"]
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}
OPEN_STATUSES = ("fail", "warn")
FINDING_STATUSES = ("fail", "warn", "excepted")
_STATUS_RANK = {"fail": 0, "warn": 1, "excepted": 2, "manual": 3, "not_evaluated": 4, "pass": 5}

STATUS_LABELS = {"pass": "Pass", "fail": "Fail", "warn": "Warning", "excepted": "Excepted",
                 "not_evaluated": "Not evaluated", "manual": "Manual review"}
CONTROL_LABELS = {"met": "Met", "partially_met": "Partially met", "not_met": "Not met",
                  "not_assessed": "Not assessed"}
READINESS_LABELS = {"ready": "Ready", "at_risk": "At risk", "not_ready": "Not ready", "unknown": "Unknown"}
INSTITUTION_LABELS = {"bank": "Bank", "credit_union": "Credit union",
                      "nonbank": "Non-bank financial institution"}
GOVERNING_RULES = {
    "bank": "Interagency Guidelines Establishing Information Security Standards (GLBA), with FFIEC guidance",
    "credit_union": "NCUA 12 CFR Part 748, Appendix A (GLBA), with FFIEC guidance",
    "nonbank": "FTC Safeguards Rule, 16 CFR Part 314 (GLBA)",
}
BINDING_LABELS = {"regulation": "Regulation", "guidance": "Supervisory guidance", "benchmark": "Benchmark",
                  "vendor": "Vendor requirement"}
FRAMEWORK_STATUS_LABELS = {"active": "Active", "proposed_removal": "Proposed for removal", "retired": "Retired"}
EXCEPTION_STATE_LABELS = {"in_force": "In force", "expired": "Expired", "not_yet_valid": "Not yet valid"}

PHASE1_MEANING = {
    "ready": "Sign-ins to the Azure, Entra, Intune and Microsoft 365 admin portals already require MFA: "
             "Microsoft's phase 1 enforcement changes nothing for you.",
    "at_risk": "Admin-portal sign-ins mostly use MFA, but gaps remain that Microsoft's enforcement will "
               "close for you, with friction for the accounts named in this report.",
    "not_ready": "Some people still sign in to the admin portals with a password alone; Microsoft's "
                 "enforcement blocks them until they complete MFA.",
    "unknown": "The data needed to judge this was not collected (see the collection gaps), so readiness "
               "cannot be confirmed.",
}
PHASE2_MEANING = {
    "ready": "MFA is already required for Azure management (CLI, PowerShell, APIs, infrastructure-as-code), "
             "or every Azure management sign-in used MFA: the phase 2 roll-out should not interrupt your work.",
    "at_risk": "No single-factor Azure management sign-in was seen, but MFA for Azure management is not "
               "confirmed for every user; close the gaps listed in this report before enforcement does.",
    "not_ready": "People or scripts changed Azure resources through the CLI, PowerShell or the mobile app "
                 "without MFA; once phase 2 reaches your tenant these operations will fail.",
    "unknown": "The sign-in data needed to judge phase 2 impact was not collected, and it could not be "
               "confirmed that your policies already require MFA for Azure management.",
}

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
    ("Sign-in logs", "GET /beta/auditLogs/signIns (admin portals, Azure CLI, Azure PowerShell, Azure mobile app)"),
]


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


def _parse_when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _document_time(data: ReportData) -> datetime:
    moment = _parse_when(data.generated_at) or _parse_when(data.results.get("collected_at"))
    if moment is None:
        raise ValueError("ReportData.generated_at (or results.collected_at) must be an ISO 8601 "
                         "date-time: it is the document date and keeps renders reproducible")
    return moment


def _w3c(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _human_date(moment: datetime) -> str:
    return f"{moment.day} {moment.strftime('%B %Y')}"


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
        label = _text(value.get("title") or value.get("id") or value.get("url"))
        url = _text(value.get("url"))
    else:
        label = url = _text(value)
    return {"label": label, "url": url if _HTTPS_RE.fullmatch(url) else ""}


def _yes_no(value: Any, yes: str = "Yes", no: str = "No", unknown: str = "Unknown") -> str:
    return unknown if value is None else (yes if value else no)


def _cap(rows: list[Any], limit: int) -> tuple[list[Any], int]:
    limit = max(0, int(limit))
    return rows[:limit], max(0, len(rows) - limit)


def _pct(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "n/a"
    return f"{value:.1f}%"


# --------------------------------------------------------------------------- view context

def _check_view(check: dict[str, Any], meta: dict[str, Any], max_rows: int) -> dict[str, Any]:
    cid = _text(check.get("id"))
    status = _text(check.get("status")) or "not_evaluated"
    severity = _text(meta.get("severity") or check.get("severity") or "info").lower()
    if severity not in _SEV_RANK:
        severity = "info"
    affected = [a for a in _as_list(check.get("affected")) if isinstance(a, dict)]
    shown, more = _cap(affected, max_rows)
    return {
        "id": cid,
        "anchor": "check-" + re.sub(r"[^A-Za-z0-9_-]", "-", cid),
        "title": _text(meta.get("title") or check.get("title") or cid),
        "severity": severity,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status.replace("_", " ").capitalize()),
        "reason": _text(check.get("reason")),
        "rationale": _paragraphs(meta.get("rationale")),
        "remediation": _paragraphs(meta.get("remediation")),
        "references": [_reference(r) for r in _as_list(meta.get("references"))],
        "affected": [{"upn": _text(a.get("upn")), "display_name": _text(a.get("display_name")),
                      "detail": _text(a.get("detail")), "exception": _text(a.get("exception"))}
                     for a in shown],
        "affected_total": len(affected),
        "affected_more": more,
    }


def _sort_key(view: dict[str, Any]) -> tuple[int, int, str]:
    return (_SEV_RANK.get(view["severity"], 9), _STATUS_RANK.get(view["status"], 9), view["id"])


def _trend_chart(trend: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    points = [t for t in (trend or []) if isinstance(t, dict)][-TREND_PERIODS:]
    if len(points) < 2:
        return None
    width, height = 400.0, 148.0
    left, right, top, bottom = 36.0, 30.0, 16.0, 24.0
    plot_w, plot_h = width - left - right, height - top - bottom
    opens = []
    for t in points:
        counts = t.get("open") if isinstance(t.get("open"), dict) else {}
        opens.append(sum(int(v) for v in counts.values() if isinstance(v, (int, float)) and not isinstance(v, bool)))
    max_open = max(max(opens), 1)
    step = max_open / 4
    nice = next(n for n in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10 ** 9) if n >= step)
    axis_open = nice * 4
    slot = plot_w / len(points)
    bar_w = min(24.0, slot * 0.5)
    bars, line, labels = [], [], []
    for i, (t, n) in enumerate(zip(points, opens)):
        cx = left + slot * (i + 0.5)
        bh = plot_h * n / axis_open
        bars.append({"x": round(cx - bar_w / 2, 2), "y": round(top + plot_h - bh, 2), "w": round(bar_w, 2),
                     "h": round(bh, 2), "label": str(n), "ly": round(top + plot_h - bh - 3, 2), "cx": round(cx, 2)})
        pct = t.get("mfa_registered_pct")
        if isinstance(pct, (int, float)) and not isinstance(pct, bool):
            pct = max(0.0, min(100.0, float(pct)))
            line.append({"x": round(cx, 2), "y": round(top + plot_h * (1 - pct / 100), 2), "label": f"{pct:.0f}%"})
        labels.append({"x": round(cx, 2), "y": round(height - bottom + 16, 2), "text": _text(t.get("period"))[:10]})
    grid = [{"y": round(top + plot_h * (1 - k / 4), 2), "pct": f"{25 * k}%", "open": str(nice * k)} for k in range(5)]
    return {"width": int(width), "height": int(height), "left": left, "right": width - right,
            "top": top, "bottom": top + plot_h, "bars": bars, "line": line,
            "polyline": " ".join(f"{p['x']},{p['y']}" for p in line), "labels": labels, "grid": grid,
            "periods": len(points)}


def _phase2_view(data: ReportData, by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    facts = data.phase2 if isinstance(data.phase2, dict) else {}

    def status(cid: str) -> dict[str, str]:
        view = by_id.get(cid)
        if view is None:
            return {"id": cid, "status": "not_evaluated", "label": "Not in this report", "reason": "",
                    "title": cid, "anchor": ""}
        return {"id": cid, "status": view["status"], "label": view["status_label"], "reason": view["reason"],
                "title": view["title"], "anchor": view["anchor"] if view["status"] in FINDING_STATUSES else ""}

    def count(key: str) -> int | None:
        value = facts.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def names(key: str) -> tuple[list[str], int]:
        return _cap([_text(v) for v in _as_list(facts.get(key))], LIST_ITEMS)

    postponed = facts.get("postponed")
    word = postponed.strip().lower() if isinstance(postponed, str) else None
    if postponed is True or word in ("yes", "true"):
        postponed_state = "yes"
    elif postponed is False or word in ("no", "false"):
        postponed_state = "no"
    else:
        postponed_state = "unknown"
    automation, automation_more = names("automation_accounts")
    no_mail, no_mail_more = names("global_admins_without_email")
    single, single_more = names("single_factor_users")

    def known(key: str, cid: str) -> bool:
        view = by_id.get(cid)
        evaluated = view is not None and view["status"] not in ("not_evaluated", "manual")
        return facts.get(key) is not None and evaluated
    sd = facts.get("security_defaults")
    return {
        "postponed": postponed_state,
        "cli_users": count("cli_users"),
        "powershell_users": count("powershell_users"),
        "mobile_users": count("mobile_users"),
        "automation": automation, "automation_more": automation_more,
        "automation_known": known("automation_accounts", "MMFA-04"),
        "no_mail": no_mail, "no_mail_more": no_mail_more,
        "no_mail_known": known("global_admins_without_email", "MMFA-05"),
        "single": single, "single_more": single_more,
        "sign_ins_collected": facts.get("sign_ins_collected"),
        "arm_covered_by": _text(facts.get("arm_covered_by")) if facts.get("arm_covered_by") else "",
        "security_defaults": None if sd is None else bool(sd),
        "ea_count": len(data.emergency),
        **{cid.replace("-", "_").lower(): status(cid) for cid in
           ("MMFA-01", "MMFA-02", "MMFA-03", "MMFA-04", "MMFA-05", "MMFA-06", "EA-01", "EA-02", "EA-03", "EA-04")},
    }


def _context(data: ReportData, max_rows: int, moment: datetime,
             attached: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    results = data.results if isinstance(data.results, dict) else {}
    client = results.get("client") if isinstance(results.get("client"), dict) else {}
    period = _text(results.get("period"))
    client_name = _text(client.get("name")) or _text(client.get("slug")) or "Client"
    institution = _text(client.get("institution_type"))
    firm = data.firm

    checks = [c for c in _as_list(results.get("checks")) if isinstance(c, dict)]
    views = [_check_view(c, data.check_meta.get(_text(c.get("id"))) or {}, max_rows) for c in checks]
    views.sort(key=_sort_key)
    by_id = {v["id"]: v for v in views}
    findings = [v for v in views if v["status"] in FINDING_STATUSES]
    open_findings = [v for v in views if v["status"] in OPEN_STATUSES]

    severity_rows = []
    for sev in SEVERITIES:
        fail = sum(1 for v in views if v["severity"] == sev and v["status"] == "fail")
        warn = sum(1 for v in views if v["severity"] == sev and v["status"] == "warn")
        severity_rows.append({"severity": sev, "fail": fail, "warn": warn, "total": fail + warn})
    status_counts = {s: sum(1 for v in views if v["status"] == s) for s in STATUS_LABELS}

    collection = results.get("collection") if isinstance(results.get("collection"), dict) else {}
    gaps = [{"source": _text(g.get("source")), "reason": _text(g.get("reason"))}
            for g in _as_list(collection.get("gaps")) if isinstance(g, dict)]
    collection_status = _text(collection.get("status")) or "unknown"
    permissions = {k: [_text(p) for p in _as_list(collection.get(k))]
                   for k in ("granted_permissions", "missing_permissions", "write_permissions")
                   if isinstance(collection.get(k), list)}

    readiness = results.get("readiness") if isinstance(results.get("readiness"), dict) else {}

    def verdict(key: str, meanings: dict[str, str]) -> dict[str, str]:
        value = _text(readiness.get(key)) or "unknown"
        value = value if value in READINESS_LABELS else "unknown"
        return {"value": value, "label": READINESS_LABELS[value], "meaning": meanings[value]}

    summary = results.get("summary") if isinstance(results.get("summary"), dict) else {}
    pct = summary.get("mfa_registered_pct")
    pct_num = float(pct) if isinstance(pct, (int, float)) and not isinstance(pct, bool) else None

    changes = None
    if isinstance(data.changes, dict):
        def change_list(key: str) -> list[dict[str, str]]:
            return [{"id": _text(i), "title": by_id[_text(i)]["title"] if _text(i) in by_id else
                     _text((data.check_meta.get(_text(i)) or {}).get("title"))}
                    for i in _as_list(data.changes.get(key))]
        changes = {k: change_list(k) for k in ("new", "resolved", "still_open")}

    # Control matrix, grouped by framework in catalog order.
    controls = [c for c in _as_list(results.get("controls")) if isinstance(c, dict)]
    fw_meta = {_text(f.get("id")): f for f in data.frameworks if isinstance(f, dict)}
    order = [_text(f.get("id")) for f in data.frameworks if isinstance(f, dict)]
    for c in controls:
        fid = _text(c.get("framework"))
        if fid not in order:
            order.append(fid)
    frameworks = []
    for fid in order:
        rows = [c for c in controls if _text(c.get("framework")) == fid]
        if not rows:
            continue
        meta = fw_meta.get(fid, {})
        items = []
        for c in rows:
            st = _text(c.get("status")) or "not_assessed"
            items.append({"id": _text(c.get("id")), "title": _text(c.get("title")), "status": st,
                          "label": CONTROL_LABELS.get(st, st),
                          "checks": [{"id": _text(k), "status": by_id[_text(k)]["status"] if _text(k) in by_id else "",
                                      "label": by_id[_text(k)]["status_label"] if _text(k) in by_id else ""}
                                     for k in _as_list(c.get("checks"))]})
        counts = {k: sum(1 for i in items if i["status"] == k) for k in CONTROL_LABELS}
        binding = _text(meta.get("binding"))
        fstatus = _text(meta.get("status"))
        frameworks.append({"id": fid, "name": _text(meta.get("name")) or fid, "version": _text(meta.get("version")),
                           "binding": BINDING_LABELS.get(binding, binding.capitalize()),
                           "status": fstatus, "status_label": FRAMEWORK_STATUS_LABELS.get(fstatus, fstatus),
                           "source_url": _text(meta.get("source_url")) if _HTTPS_RE.fullmatch(_text(meta.get("source_url"))) else "",
                           "controls": items, "counts": counts})

    privileged, privileged_more = _cap(list(data.privileged), max_rows)
    policies, policies_more = _cap(list(data.policies), POLICY_ROWS)
    sign_ins, sign_ins_more = _cap(list(data.phase2_sign_ins), max_rows)
    emergency, emergency_more = _cap(list(data.emergency), EMERGENCY_ROWS)
    exceptions, exceptions_more = _cap(list(data.exceptions), EXCEPTION_ROWS)
    evidence, evidence_more = _cap([e for e in data.evidence_index if isinstance(e, dict)], EVIDENCE_ROWS)

    slug = _text(client.get("slug"))
    workbook = f"{slug}-{period}-mfa-compliance.xlsx" if slug and period else "the Excel workbook"
    header_client = client_name if len(client_name) <= HEADER_CHARS else client_name[:HEADER_CHARS - 1] + "…"
    logo = firm.logo if firm.logo is not None and Path(firm.logo).is_file() else None
    tool = results.get("tool") if isinstance(results.get("tool"), dict) else {}
    lookback = collection.get("lookback_days", results.get("lookback_days"))

    return {
        "title": f"{client_name} — MFA compliance report {period}".strip(),
        "description": f"Monthly Microsoft Entra ID MFA compliance report for {client_name}, period {period}: "
                       "Microsoft mandatory MFA for Azure readiness and GLBA access-control findings.",
        "generator": f"reportgen {_text(tool.get('version')) or __version__}",
        "created": _w3c(moment),
        "prepared_on": _human_date(moment),
        "period": period,
        "client_name": client_name,
        "header_client": header_client,
        "tenant_id": _text(client.get("tenant_id")),
        "institution": INSTITUTION_LABELS.get(institution, institution or "Not stated"),
        "governing_rule": GOVERNING_RULES.get(institution, ""),
        "firm": {"name": _text(firm.name), "contact": _text(firm.contact), "disclaimer": _paragraphs(firm.disclaimer),
                 "logo_url": path2url(str(Path(logo).resolve())) if logo else ""},
        "primary": safe_color(firm.primary_color, DEFAULT_PRIMARY),
        "accent": safe_color(firm.accent_color, DEFAULT_ACCENT),
        "collected_at": _text(results.get("collected_at")),
        "collection_status": collection_status,
        "collection_complete": collection_status == "complete",
        "gaps": gaps,
        "permissions": permissions,
        "lookback_days": lookback if isinstance(lookback, int) and not isinstance(lookback, bool) else None,
        "phase1": verdict("mandatory_mfa_phase1", PHASE1_MEANING),
        "phase2_verdict": verdict("mandatory_mfa_phase2", PHASE2_MEANING),
        "summary": {"enabled_users": summary.get("enabled_users"), "privileged_users": summary.get("privileged_users"),
                    "pct": pct_num, "pct_text": _pct(pct_num)},
        "severity_rows": severity_rows,
        "open_total": sum(r["total"] for r in severity_rows),
        "status_counts": status_counts,
        "top_findings": sorted(open_findings, key=lambda v: (_STATUS_RANK[v["status"]], _SEV_RANK.get(v["severity"], 9), v["id"]))[:5],
        "changes": changes,
        "chart": _trend_chart(data.trend),
        "p2": _phase2_view(data, by_id),
        "findings": findings,
        "all_checks": views,
        "frameworks": frameworks,
        "emergency": emergency, "emergency_more": emergency_more,
        "privileged": privileged, "privileged_more": privileged_more,
        "policies": policies, "policies_more": policies_more,
        "sign_ins": sign_ins, "sign_ins_more": sign_ins_more,
        "exceptions": exceptions, "exceptions_more": exceptions_more,
        "evidence": [{"path": _text(e.get("path")), "sha256": _text(e.get("sha256")),
                      "size": _human_size(e.get("size"))} for e in evidence],
        "evidence_more": evidence_more,
        "graph_sources": GRAPH_SOURCES,
        "workbook": workbook,
        "max_rows": max_rows,
        "attached": [{"name": n, "description": d} for n, d in attached],
        "exception_states": EXCEPTION_STATE_LABELS,
        "yes_no": _yes_no,
        "join": lambda items: ", ".join(_text(i) for i in _as_list(items)),
    }


# --------------------------------------------------------------------------- rendering

_LONG_RUN_RE = re.compile(r"\S{%d,}" % (MAX_RUN + 1))
# Not printable: C0/C1 control characters (they print as missing glyphs), and explicit bidi
# embeddings, overrides and isolates, with which a name could reverse the rest of a sentence.
# Right-to-left letters themselves are kept; the bidi algorithm orders them without these.
_UNPRINTABLE_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _clip_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return f"{run[:MAX_RUN]}… [+{len(run) - MAX_RUN:,} characters, full text in the workbook]"


def clip_text(value: Any) -> Any:
    """Bound what one printed value can cost: WeasyPrint breaks an unbroken run character by
    character, so a 5,000-character token in a table cell costs seconds. Runs longer than MAX_RUN and
    values longer than MAX_VALUE are shortened with a visible marker. Template markup (macro output,
    ``Markup``) passes unchanged; it is escaped tenant text already bounded by this function.
    Control characters and explicit bidi controls are dropped (results.json keeps them)."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    value = _UNPRINTABLE_RE.sub("", value)
    if len(value) > MAX_RUN:
        value = _LONG_RUN_RE.sub(_clip_run, value)
    if len(value) > MAX_VALUE:
        value = f"{value[:MAX_VALUE]}… [+{len(value) - MAX_VALUE:,} characters, full text in the workbook]"
    return value


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              finalize=clip_text)


def _attachment_name(name: Any) -> str:
    return os.path.basename(_text(name).replace("\\", "/")) or "attachment"


def render_html(data: ReportData, *, max_rows: int = 25,
                attachments: Iterable[tuple[str, bytes, str]] = ()) -> str:
    """The HTML handed to WeasyPrint (useful for debugging; all tenant text is escaped)."""
    attached = [(_attachment_name(n), _text(d)) for n, _c, d in attachments]
    return _environment().get_template(TEMPLATE_NAME).render(
        _context(data, max_rows, _document_time(data), attached))


def render_pdf_bytes(data: ReportData, *, max_rows: int = 25,
                     attachments: Iterable[tuple[str, bytes, str]] = (),
                     fetcher: AssetOnlyFetcher | None = None) -> bytes:
    attachments = list(attachments)
    moment = _document_time(data)
    html = render_html(data, max_rows=max_rows, attachments=attachments)
    if fetcher is None:
        fetcher = AssetOnlyFetcher(extra_files=[data.firm.logo] if data.firm.logo else [])
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


def render_pdf(data: ReportData, out_path: Path, *, max_rows: int = 25,
               attachments: Iterable[tuple[str, bytes, str]] = ()) -> None:
    """Render ``data`` to ``out_path`` (PDF/A-3b), atomically and with mode 0600."""
    out_path = Path(out_path)
    pdf = render_pdf_bytes(data, max_rows=max_rows, attachments=attachments)
    write_bytes(Path(out_path), pdf)
