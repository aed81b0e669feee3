"""One client, start to finish: collect -> posture -> checks -> controls -> render -> package.

Runs in a worker process. Everything is built in a staging folder and published only when
complete, so a failure or a kill never leaves a complete-looking partial report.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reportgen import __version__, history
from reportgen.assess import ClientFacts, assess
from reportgen.checks import Inputs
from reportgen.config import Client, Config
from reportgen.controls import Catalogs, frameworks_for, load_catalogs
from reportgen.evidence import EvidenceError, EvidenceWriter, copy_evidence
from reportgen.package import clean_leftovers, file_index, publish, write_json, write_manifest
from reportgen.posture import PostureError
from reportgen.render import OUTPUTS, RenderOptions
from reportgen.report import Firm, ReportData
from reportgen.results import Review
from reportgen.view import build_view
from reportgen.workflow import prepare as workflow
from reportgen.workflow.review import decide, next_review, stored_review, superseded_path

# Collection waits on Graph (pacing, latency); evaluation and rendering use a CPU. The batch runs
# more workers than CPUs when it collects live tenants and lets only --jobs of them past this gate
# at a time (a semaphore shared by the workers; a no-op outside a batch).
CPU_GATE: Any = contextlib.nullcontext()


class ClientError(Exception):
    """This client failed; the message says why in plain words."""


@dataclass
class Job:
    client: Client
    firm: dict[str, Any]           # FirmSettings as plain data (logo as absolute path)
    defaults: dict[str, Any]
    period: str
    out_root: Path                 # <out>; the client lands in <out>/<period>/<slug>
    evidence_from: Path | None = None   # re-render: a stored client folder
    target: Path | None = None          # re-render in place: publish here instead of <out>/<period>/<slug>
    force: bool = False                 # replace a final report (kept under <period>/.superseded/)
    review: Review | None = None        # set by finalize; else a draft (or the stored review on re-render)

    @property
    def final_dir(self) -> Path:
        return self.target or self.out_root / self.period / self.client.slug


def job_for(cfg: Config, client: Client, period: str, out_root: Path, force: bool = False) -> Job:
    return Job(client=client, firm=cfg.firm.model_dump(), defaults=cfg.defaults.model_dump(),
               period=period, out_root=out_root, force=force)


def skip_reason(job: Job) -> str | None:
    """Why the batch must leave this client's folder alone (a final report, without --force)."""
    decision = decide(job.final_dir, force=job.force)
    return decision.message if decision.skip else None


def _inputs(job: Job) -> Inputs:
    c, d = job.client, job.defaults
    return Inputs(emergency_accounts=list(c.emergency_access_accounts),
                  phase2_postponed=c.attestations.phase2_postponed,
                  service_account_pattern=c.service_account_pattern or d["service_account_pattern"],
                  dormant_days=c.dormant_days or d["dormant_days"],
                  lookback_days=c.lookback_days or d["lookback_days"],
                  cloud=c.graph.cloud if c.graph is not None else "global")


def _collect(job: Job, evidence: Path, progress: Callable[[str], None]) -> None:
    c = job.client
    lookback = c.lookback_days or job.defaults["lookback_days"]
    if job.evidence_from is not None:
        copy_evidence(job.evidence_from / "evidence", evidence)
        return
    if c.source == "demo":
        from reportgen.collect import demo
        at = demo.collection_time(job.period)
        tenant = demo.build_tenant(c.demo_profile, c.slug, job.period, now=at)
        progress("generating demo evidence")
        demo.write_evidence(tenant, EvidenceWriter(evidence), lookback_days=lookback, collected_at=at)
    elif c.source == "evidence":
        progress(f"copying evidence from {c.evidence_dir}")
        copy_evidence(c.evidence_dir, evidence)
    else:
        from reportgen.collect.graph import CollectionError, collect_graph
        writer = EvidenceWriter(evidence)
        try:
            collect_graph(c, writer, lookback_days=lookback, now=datetime.now(UTC), progress=progress)
        except CollectionError as e:
            raise ClientError(f"collection failed: {e}") from e


def _firm(job: Job, folder: Path) -> Firm:
    f = job.firm
    logo = Path(f["logo"]) if f.get("logo") else None
    return Firm(name=f["name"], logo=logo, primary_color=f["primary_color"], accent_color=f["accent_color"],
                contact=f.get("contact", ""), disclaimer=f.get("disclaimer", ""))


def evaluate(job: Job, folder: Path, catalogs: Catalogs) -> ReportData:
    """Evidence in ``folder/evidence`` -> the typed results and the report's view model."""
    c = job.client
    facts = ClientFacts(slug=c.slug, name=c.name, tenant_id=c.tenant_id, institution_type=c.institution_type,
                        exceptions=tuple(c.exceptions), regulator=c.regulator, frameworks=tuple(c.frameworks))
    try:
        frameworks_for(catalogs, c.institution_type, c.frameworks)
    except ValueError as e:    # a framework the catalogs no longer have, or not for this type
        raise ClientError(str(e)) from None
    return assess(folder / "evidence", facts, _inputs(job), catalogs, _firm(job, folder), job.period)


def client_record(job: Job) -> dict[str, Any]:
    """The client's configuration as stored beside its report: secrets are never in it (only the
    name of the variable that holds one)."""
    # the consultant's files are read at run time and stored in workflow.json, not named here
    exclude = {"history", "logo", "commentary", "action_plan"}
    # framework choices are stored only when made (folders written before they existed stay identical)
    exclude |= {k for k in ("regulator", "frameworks") if not getattr(job.client, k)}
    return {"client": job.client.model_dump(mode="json", exclude=exclude), "firm": {**job.firm, "logo": None},
            "defaults": job.defaults, "period": job.period}


def run_client(job: Job, progress: Callable[[str], None] = lambda s: None,
               catalogs: Catalogs | None = None,
               after_render: Callable[[Path, ReportData], None] | None = None,
               after_manifest: Callable[[Path], None] | None = None) -> dict[str, Any]:
    """Produce one client's folder. ``after_render`` runs on the staging folder once the outputs are
    rendered and before the manifest is written (finalize signs the PDF there); ``after_manifest``
    once the manifest is written (finalize signs the manifest)."""
    period_dir = job.final_dir.parent
    period_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    clean_leftovers(period_dir, job.final_dir.name)
    decision = decide(job.final_dir, force=job.force)
    if decision.skip:
        raise ClientError(decision.message)
    staging = period_dir / f".{job.final_dir.name}.partial-{int(time.time() * 1000)}"
    staging.mkdir(mode=0o700)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    try:
        catalogs = catalogs or load_catalogs()
        progress("collecting")
        try:
            _collect(job, staging / "evidence", progress)
            timings["collect"] = round(time.monotonic() - t0, 3)
            progress("waiting for a CPU")
            with CPU_GATE:
                doc, hist, warnings = _evaluate_and_render(job, staging, catalogs, progress, timings,
                                                           decision.previous, after_render)
            if after_manifest is not None:
                after_manifest(staging)
        except (EvidenceError, PostureError) as e:
            raise ClientError(f"the evidence cannot be used: {e}") from e
        again = decide(job.final_dir, force=job.force)   # finalized while this run was rendering?
        if again.skip:
            raise ClientError(again.message)
        keep = (superseded_path(job.final_dir, again.previous, str(int(time.time())))
                if again.supersede and again.previous is not None else None)
        publish(staging, job.final_dir, keep=keep)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    timings["total"] = round(time.monotonic() - t0, 3)
    note = None if job.evidence_from is not None else decision.message
    return {"doc": doc, "timings": timings, "direction": history.direction(hist, doc), "note": note,
            "warnings": warnings if job.evidence_from is None else []}


def _review(job: Job, data: ReportData, previous: Review | None) -> Review:
    """Finalize sets the review; a re-render keeps the stored one; a run makes the next draft (or,
    for a firm without a review step, issues it final)."""
    if job.review is not None:
        return job.review
    if job.evidence_from is not None:
        return stored_review(job.evidence_from) or Review(issued_on=data.generated_at[:10])
    final = not job.firm.get("review_required", True)
    return next_review(previous, final=final, issued_on=data.generated_at[:10])


def _evaluate_and_render(job: Job, staging: Path, catalogs: Catalogs, progress: Callable[[str], None],
                         timings: dict[str, float], previous: Review | None = None,
                         after_render: Callable[[Path, ReportData], None] | None = None,
                         ) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """Evidence in ``staging`` -> results, report files and manifest, all in ``staging``."""
    period = job.period
    t1 = time.monotonic()
    progress("evaluating")
    data = evaluate(job, staging, catalogs)
    try:
        hist = history.load(job.out_root, job.client.slug, period, job.evidence_from, seed_file=job.client.history)
    except history.HistoryError as e:
        raise ClientError(f"history: {e}") from e
    if job.evidence_from is not None:
        inputs = workflow.load(job.evidence_from)
        logo = job.evidence_from / inputs.client_logo if inputs.client_logo else None
    else:
        inputs = workflow.gather(job.client, job.out_root, period)
        logo = job.client.logo
    inputs.client_logo = workflow.store_logo(logo, staging)
    data.workflow = workflow.prepare(data.results, data.root_causes, data.check_meta, job.client, inputs, hist,
                                     _review(job, data, previous), job.firm["name"],
                                     staging / inputs.client_logo if inputs.client_logo else None)
    write_json(staging / workflow.WORKFLOW_FILE, inputs.to_json())
    data.view = build_view(data)     # every output's figures, results.json's summary among them
    data.results.summary = dataclasses.replace(data.results.summary, figures=data.view.figures())
    doc = data.results.to_json()
    data.trend, data.changes = history.trend(hist, doc), history.changes(hist, doc)
    timings["evaluate"] = round(time.monotonic() - t1, 3)
    if data.results.collection.status == "failed":
        raise ClientError("collection failed: " + "; ".join(g.reason for g in data.results.collection.gaps[:3]))
    write_json(staging / "results.json", doc)
    write_json(staging / "history.json", hist)
    record = client_record(job)
    if data.firm.logo is not None:
        logo = staging / "branding" / f"logo{data.firm.logo.suffix.lower()}"
        logo.parent.mkdir(mode=0o700, exist_ok=True)
        shutil.copyfile(data.firm.logo, logo)
        logo.chmod(0o600)
        record["firm"]["logo"] = logo.relative_to(staging).as_posix()
        data.firm = Firm(**{**data.firm.__dict__, "logo": logo})
    write_json(staging / "client.json", record)
    t2 = time.monotonic()
    progress("rendering")
    data.evidence_index = [f for f in file_index(staging) if f["path"].startswith("evidence/")]
    options = RenderOptions(max_rows=job.defaults.get("max_rows_in_pdf", 25))
    for out in OUTPUTS:
        out.render(data, staging / out.filename(job.client.slug, period), options)
    if after_render is not None:
        after_render(staging, data)
    timings["render"] = round(time.monotonic() - t2, 3)
    ev_meta = json.loads((staging / "evidence" / "collection.json").read_text())
    write_manifest(staging, {
        "tool": {"name": "reportgen", "version": __version__},
        "client": doc["client"], "period": period, "collected_at": doc["collected_at"],
        "collection_window": ev_meta.get("window"), "collection_status": doc["collection"]["status"],
        "app": ev_meta.get("app"), "catalogs": catalogs.versions(), "config": record,
    })
    return doc, hist, list(inputs.problems)
