"""The parts every engagement report carries besides its findings: scope and limitations, procedures
performed, the rating method, the client's regulator, the management response and acknowledgement,
and the reviewer's statement in the final. The prose lives in ``config/catalogs/engagement.yaml``."""
from __future__ import annotations

import functools
from typing import Any

import yaml

from ..paths import CATALOG_DIR
from ..report import ReportData
from ..vocab import SEVERITY_LABELS, Severity

ENGAGEMENT_FILE = "engagement.yaml"
RESPONSE_LINES = 4        # ruled lines left for a management response written by hand


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    return yaml.safe_load((CATALOG_DIR / ENGAGEMENT_FILE).read_text(encoding="utf-8"))


def _regulator_key(data: ReportData) -> str:
    """The regulator the client named (`regulator:`), else the one its institution type implies, else ""."""
    client = data.results.client
    return str(getattr(client, "regulator", None) or getattr(data, "regulator", None)
               or catalog().get("default_regulator", {}).get(client.institution_type or "", "") or "")


def regulator_name(data: ReportData) -> str:
    return catalog().get("regulators", {}).get(_regulator_key(data), "")


def records_for(data: ReportData) -> str:
    """Who may see the program's records, in the board summary's words ("for examination by the NCUA");
    "" where no regulator is known."""
    key = _regulator_key(data)
    name = catalog().get("regulators", {}).get(key, "")
    if not name:
        return ""
    phrases = catalog().get("records_for") or {}
    phrase = str(phrases.get(key) or phrases.get("default") or "for examination by {regulator}")
    return phrase.format(regulator=name if name.startswith("the ") else "the " + name)


def ready_notes(data: ReportData) -> dict[str, str]:
    """For a phase that reads "ready" while a check of the same phase is an open finding: why both hold."""
    r, out = data.results, {}
    values = {"mandatory_mfa_phase1": r.phase1, "mandatory_mfa_phase2": r.phase2}
    for phase, rule in (catalog().get("ready_despite") or {}).items():
        check = r.check(rule.get("check", ""))
        if values.get(phase) == "ready" and check is not None and check.status in ("fail", "warn"):
            out[phase] = " ".join(str(rule.get("text", "")).split())
    return out


def context(data: ReportData, workflow: dict[str, Any]) -> dict[str, Any]:
    """Template values for the engagement sections."""
    text = catalog()
    actions = workflow.get("actions") or []
    answered = [a for a in actions if a.get("response")]
    signoff = workflow.get("signoff") or {}
    return {"engagement": {
        "regulator": regulator_name(data), "records_for": records_for(data),
        "scope_in": text["scope"]["in"], "scope_out": text["scope"]["out"],
        "limitations": text["scope"]["limitations"], "procedures": text["procedures"],
        "severity": [{"value": s, "label": SEVERITY_LABELS[s], "meaning": text["severity"].get(str(s), "")}
                     for s in Severity],
        "rating_notes": text["rating_notes"],
        "responses": len(answered), "actions": len(actions),
        "response_lines": RESPONSE_LINES,
        "reviewer_statement": bool(signoff.get("final") and signoff.get("reviewed_by")),
        "ready_notes": ready_notes(data),
    }}
