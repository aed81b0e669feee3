"""Stored evidence -> typed results and the report's view model: posture, checks, exceptions,
controls, readiness. No network, no writing."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from reportgen import __version__
from reportgen.checks import Context, Inputs, apply_exceptions, headline, readiness, run_checks, summarize
from reportgen.checks.rootcause import root_causes
from reportgen.checks.tailor import tailor
from reportgen.controls import Catalogs, evaluate_controls, frameworks_for
from reportgen.dates import iso_z
from reportgen.evidence import EvidenceReader
from reportgen.model import Note
from reportgen.posture import build_posture
from reportgen.report import ExceptionRow, Firm, ReportData
from reportgen.results import CheckResult, ClientInfo, Collection, GapResult, Results
from reportgen.tables import Tables
from reportgen.vocab import Cause, CollectionStatus, Status, count, verb
from reportgen.wording import report_wording


@dataclass(frozen=True)
class ClientFacts:
    """What the assessment needs to know about the client besides its evidence."""
    slug: str
    name: str
    tenant_id: str
    institution_type: str
    exceptions: tuple              # config.ExceptionEntry items
    regulator: str | None = None   # names a bank's one CFR appendix (contracts v3)
    frameworks: tuple[str, ...] = ()   # opt-in catalogs the client names, beside its type's


# Causes that mean the data a check needed did not arrive ("nothing to judge" and "only the client can
# say" are answers, not holes in the collection).
_DATA_MISSING = (Cause.NOT_COLLECTED, Cause.MISSING_PERMISSION, Cause.NO_LICENCE)
EVIDENCE_SOURCE = "stored evidence"


def _unexplained(posture, checks: list[CheckResult]) -> list[GapResult]:
    """A gap for checks that lacked their data when the collection recorded none (an evidence folder
    with no datasets said "complete"), naming the checks: the reader must see why they are unjudged."""
    ids = [c.id for c in checks if c.status == Status.NOT_EVALUATED and c.cause in _DATA_MISSING]
    if not ids or posture.gaps:
        return []
    shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
    return [GapResult(EVIDENCE_SOURCE, f"the collection recorded no gap, but {count(len(ids), 'check')} found the data "
                                       f"{verb(len(ids), 'it needs', 'they need')} missing ({shown}): the evidence is "
                                       "incomplete")]


def _collection(ev: EvidenceReader, posture, inp: Inputs, checks: list[CheckResult]) -> Collection:
    """Complete only when the evidence says so and every check had the data it needed: a collection
    that recorded no gaps but left checks without their datasets is partial, and says which."""
    status = ev.meta.get("status")
    status = CollectionStatus(status) if status in tuple(CollectionStatus) else CollectionStatus.FAILED
    unexplained = _unexplained(posture, checks)
    unjudged = any(c.status == Status.NOT_EVALUATED and c.cause in _DATA_MISSING for c in checks)
    if status == CollectionStatus.COMPLETE and (posture.gaps or unjudged):
        status = CollectionStatus.PARTIAL
    app = ev.meta.get("app") if isinstance(ev.meta.get("app"), dict) else {}
    perms = {k: app.get(k) for k in ("granted_permissions", "missing_permissions", "write_permissions")
             if isinstance(app.get(k), list)}
    return Collection(status=status, gaps=[GapResult(g.source, g.reason) for g in posture.gaps] + unexplained,
                      window_start=iso_z(posture.window_start), window_end=iso_z(posture.window_end),
                      lookback_days=inp.lookback_days, notes=[GapResult(n.source, n.message) for n in posture.notes],
                      source=posture.source, **perms)


def assess(evidence: Path, client: ClientFacts, inp: Inputs, catalogs: Catalogs, firm: Firm,
           period: str) -> ReportData:
    ev = EvidenceReader(evidence)
    posture = build_posture(ev)
    posture.notes.extend(Note(n.source, n.message) for n in ev.notes)   # what the reader repaired
    if inp.timeline is None:
        inp = replace(inp, timeline=catalogs.timeline)
    ctx = Context(posture, inp)   # shared by the checks and the report tables
    day = posture.collected_at.date()
    words = catalogs.check_words(client.institution_type, day)   # for this institution type, as of this date
    checks = run_checks(posture, inp, words, ctx)
    itext = catalogs.wording.for_type(client.institution_type) if catalogs.wording else None
    applied = apply_exceptions(checks, list(client.exceptions), day, **(
        {"all_covered": itext.exception_all, "some_covered": itext.exception_some} if itext else {}))
    words = tailor(words, checks)   # each finding's remediation without the steps this tenant has taken
    frameworks = [fw.resolved(day, catalogs.timeline)
                  for fw in frameworks_for(catalogs, client.institution_type, client.frameworks)]
    phase1, phase2 = readiness(checks, posture)
    results = Results(
        tool_version=__version__,
        client=ClientInfo(slug=client.slug, name=client.name, tenant_id=client.tenant_id or posture.tenant_id,
                          institution_type=client.institution_type, regulator=client.regulator),
        period=period, collected_at=iso_z(posture.collected_at), collection=_collection(ev, posture, inp, checks),
        phase1=phase1, phase2=phase2, summary=summarize(ctx, checks), checks=checks,
        controls=evaluate_controls(frameworks, checks, security_defaults=posture.security_defaults is True))
    tables = Tables(ctx)
    exceptions = [ExceptionRow(id=e.id, check=e.checks_text, subject=e.subject, approved_by=e.approved_by,
                               approved_on=e.approved_on.isoformat(),
                               expires_on=e.expires_on.isoformat() if e.expires_on else None,
                               compensating_control=e.compensating_control, reference=e.reference,
                               state=e.state_on(day), applied=applied.get(e.id, False),
                               check_phrase=e.checks_phrase) for e in client.exceptions]
    wording = report_wording(client.institution_type, day, phase1, phase2,
                             headline.metrics(checks, headline.PHASE1_COVERAGE),
                             institution=catalogs.wording, readiness=catalogs.readiness, timeline=catalogs.timeline)
    return ReportData(results=results, firm=firm, check_meta=words, frameworks=frameworks, wording=wording,
                      users=tables.users(), privileged=tables.privileged(), emergency=tables.emergency(),
                      policies=tables.policies(), phase2_sign_ins=tables.phase2_sign_ins(), exceptions=exceptions,
                      root_causes=root_causes(posture, inp, checks, words))
