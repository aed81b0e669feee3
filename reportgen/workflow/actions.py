"""The action plan: one action per root cause, with the client's answers carried month to month.

Findings that one change would close are one action (say so once, with the checks it closes);
every other open finding is an action of its own, keyed by its check id. A ``finding_key`` never
depends on the period, so next month's report finds this month's answer: owner, target date,
management response and status stay beside the finding until it is resolved, when it drops out.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from reportgen.checks.rootcause import RootCause
from reportgen.results import CheckResult, Results
from reportgen.vocab import OPEN_STATUSES, Severity

STATUSES = ("open", "in_progress", "done", "risk_accepted")
STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "done": "Done", "risk_accepted": "Risk accepted"}
CLOSED_BY_CLIENT = ("done", "risk_accepted")       # answers that stop the overdue clock
KEY_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")
_SEV_RANK = {s: i for i, s in enumerate(Severity)}


@dataclass(frozen=True)
class Answer:
    """What the client said about one finding (all optional)."""
    owner: str = ""
    target_date: str | None = None     # YYYY-MM-DD
    response: str = ""
    status: str = "open"
    open_since: str | None = None      # YYYY-MM: carried from the report the answer was given on

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "target_date": self.target_date, "response": self.response,
                "status": self.status, "open_since": self.open_since}

    @classmethod
    def from_json(cls, doc: Any) -> Answer | None:
        if not isinstance(doc, dict):
            return None
        text = lambda k, n: doc[k][:n] if isinstance(doc.get(k), str) else ""  # noqa: E731
        target = doc.get("target_date")
        since = doc.get("open_since")
        return cls(owner=text("owner", 200), response=text("response", 2000),
                   target_date=target if isinstance(target, str) and _is_date(target) else None,
                   status=doc["status"] if doc.get("status") in STATUSES else "open",
                   open_since=since if isinstance(since, str) and re.fullmatch(r"\d{4}-\d{2}", since) else None)


@dataclass(frozen=True)
class Closes:
    check: str
    title: str
    full: bool
    resolved: int            # for a partial closure: subjects it resolves, of ``total``
    total: int


@dataclass
class Action:
    key: str
    title: str                       # the change to make, or the check's title
    why: str                         # one sentence: what it closes, or what was found
    severity: Severity               # the most severe finding it closes (after the consultant's overrides)
    closes: list[Closes]
    subjects: list[str]
    remediation: str = ""            # first step from the catalog (per-check actions)
    answer: Answer = field(default_factory=Answer)
    open_since: str = ""
    overdue: bool = False
    flag: str = ""                   # e.g. reported done but still open

    @property
    def checks(self) -> list[str]:
        return [c.check for c in self.closes]

    def to_json(self) -> dict[str, Any]:
        return {"finding_key": self.key, "title": self.title, "why": self.why, "severity": self.severity,
                "checks": [{"id": c.check, "full": c.full, "resolved": c.resolved, "total": c.total}
                           for c in self.closes],
                **self.answer.to_json(), "open_since": self.open_since, "overdue": self.overdue,
                "flag": self.flag or None}


def _is_date(s: str) -> bool:
    try:
        date.fromisoformat(s)
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", s))
    except ValueError:
        return False


def _closes_text(closes: list[Closes]) -> str:
    full = [c.check for c in closes if c.full]
    part = [f"part of {c.check} ({c.resolved:,} of {c.total:,})" for c in closes if not c.full]
    words = full + part
    if len(words) > 1:
        return ", ".join(words[:-1]) + " and " + words[-1]
    return words[0] if words else ""


def build_plan(results: Results, causes: Iterable[RootCause], remediation: dict[str, str],
               carried: dict[str, Answer], history: list[dict[str, Any]]) -> list[Action]:
    """The open findings of ``results`` as actions, most severe first, each with its carried answer.

    ``causes`` come from ``checks.rootcause``; a cause becomes one action when it touches two or more
    open findings. ``remediation`` is each check's first remediation step; ``history`` the earlier
    periods' summaries (for "open since" where no answer carries it)."""
    by_id = {c.id: c for c in results.checks if c.status in OPEN_STATUSES}
    actions: list[Action] = []
    seen: set[frozenset[tuple[str, bool]]] = set()
    fully_closed: set[str] = set()
    for cause in causes:
        closes = [Closes(x.check, by_id[x.check].title, x.full, x.resolved, x.total)
                  for x in cause.closes if x.check in by_id]
        shape = frozenset((c.check, c.full) for c in closes)
        if len(closes) < 2 or shape in seen:
            continue
        seen.add(shape)
        fully_closed |= {c.check for c in closes if c.full}
        actions.append(Action(key=cause.key, title=cause.title,
                              why=f"Because {cause.detail}: this one change closes {_closes_text(closes)}.",
                              severity=_worst(by_id[c.check] for c in closes), closes=closes,
                              subjects=list(cause.subjects)))
    for check in by_id.values():
        if check.id in fully_closed:
            continue
        partly = [a.key for a in actions if check.id in a.checks]
        why = check.reason + (f" Action {', '.join(partly)} closes part of it." if partly else "")
        actions.append(Action(key=check.id, title=check.title, why=why, severity=check.effective_severity,
                              closes=[Closes(check.id, check.title, True, len(check.affected), len(check.affected))],
                              subjects=[a.upn for a in check.affected], remediation=remediation.get(check.id, "")))
    actions.sort(key=lambda a: (_SEV_RANK[a.severity], -len(a.closes), a.key))
    as_of = results.collected_at[:10]
    return [_answered(a, carried.get(a.key), history, results.period, as_of) for a in actions]


def _worst(checks: Iterable[CheckResult]) -> Severity:
    return min((c.effective_severity for c in checks), key=lambda s: _SEV_RANK[s])


def _answered(a: Action, ans: Answer | None, history: list[dict[str, Any]], period: str, as_of: str) -> Action:
    ans = ans or Answer()
    since = ans.open_since or _open_since(a.checks, history) or period
    overdue = bool(ans.target_date and ans.target_date < as_of and ans.status not in CLOSED_BY_CLIENT)
    flag = "reported done, but still open in this period's data" if ans.status == "done" else ""
    return replace(a, answer=replace(ans, open_since=None), open_since=min(since, period), overdue=overdue, flag=flag)


def _open_since(checks: list[str], history: list[dict[str, Any]]) -> str | None:
    """The first period of the unbroken run of earlier periods in which one of ``checks`` was open."""
    since = None
    for summary in sorted((h for h in history if isinstance(h, dict)), key=lambda h: str(h.get("period")),
                          reverse=True):
        if not set(checks) & set(summary.get("open_checks") or ()):
            break
        since = str(summary.get("period"))
    return since


def carried_answers(previous: dict[str, Answer], returned: dict[str, Answer]) -> dict[str, Answer]:
    """Last period's answers, updated by the client's returned sheet (its answers win; "open since"
    stays the earliest known)."""
    out = dict(previous)
    for key, ans in returned.items():
        before = out.get(key)
        since = min(filter(None, (ans.open_since, before.open_since if before else None)), default=None)
        out[key] = replace(ans, open_since=since)
    return out


def plan_answers(plan: Any) -> dict[str, Answer]:
    """The answers stored in an earlier results.json ``action_plan``, by finding key."""
    out = {}
    for item in plan if isinstance(plan, list) else []:
        if isinstance(item, dict) and isinstance(item.get("finding_key"), str):
            ans = Answer.from_json(item)
            if ans is not None:
                out[item["finding_key"]] = ans
    return out


def overdue_count(doc: dict[str, Any]) -> int:
    """Overdue actions in a results.json (for the portfolio)."""
    plan = doc.get("action_plan")
    return sum(1 for a in plan if isinstance(a, dict) and a.get("overdue") is True) if isinstance(plan, list) else 0
