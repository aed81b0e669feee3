"""The verdict cases of tests/fixtures/verdicts/: small tenants written as Graph returns them, each
with the statuses, affected subjects and words a careful examiner expects.

``base.json`` is a well-run small bank on which every check passes; each ``<case>.json`` says which
finding it reproduces (``issue``, ``item``), replaces some of the base's datasets (``null``: not
collected), and states what it expects::

    {"issue": 10, "item": "...", "datasets": {"conditionalAccessPolicies": {"value": [...]}},
     "collected_at": "...", "window_days": 2, "inputs": {"emergency_accounts": [...]},
     "expect": {"checks": {"MFA-01": {"status": "fail", "affected": ["carol@crafted.example"],
                                      "reason_has": ["Branch office"], "reason_lacks": ["..."],
                                      "title": "..."}},
                "readiness": {"phase1": "at_risk", "phase2": "at_risk"},
                "controls": {"glba-ftc 314.4(c)(8)": {"status": "met", "coverage": "partial"}}}}

``evaluate`` runs a case through the real evidence writer and reader, posture, checks, readiness
and control roll-up, and uses nothing else, so the same cases can be run against any version.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reportgen.checks import Inputs, readiness, run_checks
from reportgen.controls import evaluate_controls, frameworks_for, load_catalogs
from reportgen.evidence import EvidenceReader, EvidenceWriter
from reportgen.posture import build_posture

FOLDER = Path(__file__).resolve().parent / "fixtures" / "verdicts"
SINGLE_OBJECT = {"securityDefaults", "authenticationMethodsPolicy"}


def case_names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.json") if p.stem != "base")


def load_case(name: str) -> dict[str, Any]:
    """A case merged over the base tenant."""
    base = json.loads((FOLDER / "base.json").read_text(encoding="utf-8"))
    case = json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))
    datasets = dict(base["datasets"])
    for ds, body in case.get("datasets", {}).items():
        if body is None:
            datasets.pop(ds, None)
        else:
            datasets[ds] = body
    return {**base, **{k: v for k, v in case.items() if k != "datasets"}, "datasets": datasets,
            "inputs": {**base["inputs"], **case.get("inputs", {})}}


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_evidence(case: dict[str, Any], root: Path) -> Path:
    """The case's datasets as an evidence folder, paged as the collector stores them."""
    end = datetime.fromisoformat(case["collected_at"].replace("Z", "+00:00")).astimezone(UTC)
    w = EvidenceWriter(root)
    for ds, body in case["datasets"].items():
        if ds == "userMethods":   # {user id: [methods]} -> $batch answers
            ids = list(body)
            for start in range(0, max(len(ids), 1), 20):
                page = {"responses": [{"id": uid, "status": 200, "headers": {}, "body": {"value": body[uid]}}
                                      for uid in ids[start:start + 20]]}
                w.add_page(ds, json.dumps(page).encode())
            continue
        w.add_page(ds, json.dumps(body).encode())
    for g in case.get("gaps", []):   # [source, reason] or {source, reason, status, code}
        w.add_gap(**g) if isinstance(g, dict) else w.add_gap(*g)
    w.close("partial" if w.gaps else "complete", source="graph", tenant_id="c0ffee00-0000-4000-8000-00000000cafe",
            collected_at=_iso(end), window={"start": _iso(end - timedelta(days=case["window_days"])), "end": _iso(end)},
            lookback_days=case["window_days"], app={"client_id": None, "granted_permissions": None})
    return root


def evaluate(name: str, tmp_path: Path, institution_type: str = "bank"):
    """(case, posture, results by check id, (phase 1, phase 2), controls by 'framework id')."""
    case = load_case(name)
    posture = build_posture(EvidenceReader(write_evidence(case, tmp_path / "evidence")))
    inputs = Inputs(**case["inputs"])
    results = run_checks(posture, inputs)
    phases = readiness(results, posture)
    catalogs = load_catalogs()
    types = case.get("institution_types", [institution_type])
    controls = {}
    for itype in types:
        for c in evaluate_controls(frameworks_for(catalogs, itype), results,
                                   security_defaults=posture.security_defaults is True):
            controls[f"{c.framework} {c.id}"] = c
    return case, posture, {r.id: r for r in results}, phases, controls
