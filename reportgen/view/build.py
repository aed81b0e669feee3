"""ReportData -> ReportView: the one place where the report's figures are counted and ranked."""
from __future__ import annotations

from typing import Any

from reportgen.checks import headline
from reportgen.dates import parse_iso
from reportgen.report import ReportData
from reportgen.results import CheckResult, ControlResult
from reportgen.vocab import (
    BINDING_LABELS,
    FRAMEWORK_STATUS_LABELS,
    LAPSED_LABEL,
    LAPSED_METRIC,
    READINESS_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Readiness,
    Severity,
    Status,
    control_label,
    label,
)
from reportgen.wording import ReportWording, report_wording

from .model import (
    SEVERITY_RANK,
    STATUS_RANK,
    ControlCheck,
    ControlView,
    Finding,
    FrameworkView,
    Registration,
    ReportView,
    SeverityTally,
    Tallies,
    Verdict,
)
from .story import bottom_line


def finding(check: CheckResult) -> Finding:
    adj = check.adjustment
    adjusted = bool(adj and adj.severity and adj.severity != check.severity)
    severity = check.effective_severity
    lapsed = check.status == Status.PASS and check.metrics.get(LAPSED_METRIC) == 1
    return Finding(id=check.id, title=check.title, status=check.status,
                   status_label=LAPSED_LABEL if lapsed else STATUS_LABELS[check.status], lapsed=lapsed,
                   severity=severity, severity_label=SEVERITY_LABELS[severity], evaluated_severity=check.severity,
                   adjusted=adjusted, adjustment_note=adj.note if adj else "", adjustment_by=adj.by if adj else "",
                   reason=check.reason, affected=tuple(check.affected), cause=check.cause,
                   evidence=tuple(check.evidence), check=check)


def rank(findings: list[Finding]) -> tuple[Finding, ...]:
    """Most severe (effective) first, then failed before warning before the rest, then by id."""
    return tuple(sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], STATUS_RANK[f.status], f.id)))


def tallies(findings: tuple[Finding, ...] | list[Finding]) -> Tallies:
    def n(sev: Severity, status: Status) -> int:
        return sum(1 for f in findings if f.severity == sev and f.status == status)
    return Tallies(rows=tuple(SeverityTally(
        severity=s, label=SEVERITY_LABELS[s], fail=n(s, Status.FAIL), warn=n(s, Status.WARN),
        excepted=n(s, Status.EXCEPTED), passed=n(s, Status.PASS), not_evaluated=n(s, Status.NOT_EVALUATED),
        manual=n(s, Status.MANUAL)) for s in Severity))


def words_for(data: ReportData) -> ReportWording:
    """The type- and date-dependent sentences (catalog YAML), worked out here when assess did not."""
    if data.wording is not None:
        return data.wording
    r = data.results
    moment = parse_iso(data.generated_at)
    if moment is None:
        raise ValueError("results.collected_at must be an ISO 8601 date-time: it is the document date and keeps "
                         "renders reproducible")
    return report_wording(r.client.institution_type, moment.date(), r.phase1, r.phase2,
                          headline.metrics(r.checks, headline.PHASE1_COVERAGE))


def registration(data: ReportData) -> Registration:
    metrics = headline.metrics(data.results.checks, headline.REGISTRATION)

    def whole(key: str) -> int | None:
        v = metrics.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) else None
    return Registration(pct=data.results.summary.mfa_registered_pct, registered=whole("registered"),
                        enabled=whole("enabled"))


def _control(c: ControlResult, by_id: dict[str, Finding], defined: Any, binding: str) -> ControlView:
    checks = tuple(ControlCheck(id=k, status=by_id[k].status if k in by_id else None,
                                status_label=by_id[k].status_label if k in by_id else "") for k in c.checks)
    return ControlView(framework=c.framework, id=c.id, title=c.title, status=c.status, coverage=c.coverage,
                       label=control_label(c.status, c.coverage, binding), checks=checks, note=c.note,
                       manual_evidence=getattr(defined, "manual_evidence", "") or "",
                       exception_basis=getattr(defined, "exception_basis", "") or "")


def frameworks(data: ReportData, by_id: dict[str, Finding]) -> tuple[FrameworkView, ...]:
    """The control matrix, grouped by framework in catalog order (frameworks without a row left out)."""
    out = []
    regulator = data.results.client.regulator
    for fw in data.frameworks:
        defined = {c.id: c for c in fw.controls}
        rows = tuple(_control(c, by_id, defined.get(c.id), fw.binding) for c in data.results.controls if c.framework == fw.id)
        if not rows:
            continue
        out.append(FrameworkView(id=fw.id, name=fw.name, version=fw.version, binding=fw.binding,
                                 binding_label=label(BINDING_LABELS, fw.binding), status=fw.status,
                                 status_label=label(FRAMEWORK_STATUS_LABELS, fw.status),
                                 note=fw.note if fw.status != "active" else "", source_url=fw.source_url,
                                 controls=rows, citation=fw.citations.get(regulator, "") if regulator else ""))
    return tuple(out)


def _verdict(value: Readiness, meaning: str) -> Verdict:
    return Verdict(value=value, label=READINESS_LABELS[value], meaning=meaning)


def build_view(data: ReportData) -> ReportView:
    """The view of one client's report. Call it once the workflow is attached (``data.workflow``);
    ``view_of`` keeps the result on ``data.view``."""
    r = data.results
    ranked = rank([finding(c) for c in r.checks])
    counted = tallies(ranked)
    words = words_for(data)
    name = r.client.name or r.client.slug or "Client"
    wf = data.workflow
    actions = tuple(wf.actions) if wf is not None else ()
    return ReportView(
        client_name=name, slug=r.client.slug, period=r.period, institution_type=r.client.institution_type,
        collection_status=r.collection.status,
        phase1=_verdict(r.phase1, words.phase1_meaning), phase2=_verdict(r.phase2, words.phase2_meaning),
        story=tuple(bottom_line(name, r.phase1, r.phase2, ranked, counted)),
        registration=registration(data), enabled_users=r.summary.enabled_users,
        privileged_users=r.summary.privileged_users, findings=ranked, tallies=counted,
        frameworks=frameworks(data, {f.id: f for f in ranked}), actions=actions, exceptions=tuple(data.exceptions),
        review_state=r.review.state, overdue_actions=sum(1 for a in actions if getattr(a, "overdue", False)))


def view_of(data: ReportData) -> ReportView:
    """The view built for ``data`` (built now, and kept, when the pipeline has not built it yet)."""
    if data.view is None:
        data.view = build_view(data)
    return data.view
