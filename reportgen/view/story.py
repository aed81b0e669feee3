"""The bottom line: two sentences on where the institution stands and what to do first."""
from __future__ import annotations

from reportgen.vocab import SEVERITY_LABELS, Readiness, Severity, Status, count, verb

from .model import Finding, Tallies

_READINESS_WORDS = {Readiness.READY: "ready", Readiness.AT_RISK: "at risk", Readiness.NOT_READY: "not ready",
                    Readiness.UNKNOWN: "of unknown readiness"}


def _readiness_clause(name: str, phase1: Readiness, phase2: Readiness) -> str:
    p1, p2 = _READINESS_WORDS[phase1], _READINESS_WORDS[phase2]
    if p1 == p2:
        return f"{name} is {p1} for both phases of Microsoft's mandatory MFA (admin portals and Azure management tools)"
    return (f"{name} is {p1} for phase 1 of Microsoft's mandatory MFA (admin portals) and {p2} for phase 2 "
            "(Azure management tools)")


def bottom_line(name: str, phase1: Readiness, phase2: Readiness, findings: tuple[Finding, ...] | list[Finding],
                tallies: Tallies) -> list[str]:
    """Readiness with the open findings and unevaluated checks, then what to do first. ``findings``
    are ranked most severe first; severities are effective (the consultant's where adjusted)."""
    open_findings = [f for f in findings if f.open]
    unknown = tallies.by_status(Status.NOT_EVALUATED)
    first = _readiness_clause(name, phase1, phase2)
    if open_findings:
        severe = ", ".join(f"{tallies.row(s).open:,} {SEVERITY_LABELS[s].lower()}"
                           for s in (Severity.CRITICAL, Severity.HIGH) if tallies.row(s).open)
        first += f", with {count(len(open_findings), 'open finding')} of {count(len(findings), 'check')}"
        first += f" ({severe})" if severe else ""
    else:
        first += f", and none of the {count(len(findings), 'check')} is an open finding"
    if unknown:
        first += (f"; {count(unknown, 'check')} could not be evaluated for lack of data, so "
                  f"{verb(unknown, 'it is', 'they are')} neither passed nor failed")
    first += "."
    if open_findings:
        top = open_findings[0]
        level = SEVERITY_LABELS[top.severity].lower()
        same = tallies.row(top.severity).open
        rest = f" and the other {count(same - 1, level + ' finding')}" if same > 1 else ""
        second = (f"Act first on {top.id} (“{top.title}”, {level}){rest}: the Findings section names the "
                  "accounts concerned and the steps to fix each one.")
    elif unknown:
        second = ("Before relying on this result, close the collection gaps listed in the methodology so that "
                  "every check can be judged next period.")
    else:
        second = "No action is needed this period beyond keeping these controls in place; the next report will show any change."
    return [first, second]
