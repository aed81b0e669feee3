"""Findings that share one root cause, found by asking the checks themselves.

A consultant fixes causes, not check ids: lifting one exclusion from one Conditional Access policy
can close an emergency-access finding, a privileged-user finding and part of an admin-portal finding
at once. Each candidate change (an exclusion lifted, a baseline MFA policy added) is applied to a
copy of the posture and the checks that read Conditional Access policies are run again; the findings
it resolves, fully or in part, are the ones that share that cause. No check id is named here, so a
new check joins in by declaring what it reads.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from reportgen import model as m
from reportgen.checks.common import CA_POLICIES_DS
from reportgen.checks.context import Context, Inputs
from reportgen.checks.registry import registered
from reportgen.model import CAPolicy, Posture
from reportgen.results import CheckResult
from reportgen.vocab import OPEN_STATUSES, Status, count, verb

MAX_CANDIDATES = 24          # each costs one re-run of the policy checks
BASELINE_ID = "reportgen-baseline-mfa-policy"


@dataclass(frozen=True)
class Closure:
    check: str
    resolved: int            # affected subjects that would no longer be affected
    total: int               # affected subjects now
    full: bool               # the check would pass


@dataclass(frozen=True)
class RootCause:
    key: str                 # stable across periods: derived from the policy and the excluded object
    kind: str                # policy_exclusion | baseline_policy
    title: str               # the one change, as an instruction
    detail: str              # what it concerns, in words
    subjects: tuple[str, ...]        # accounts (or policies) it takes out of a finding
    closes: tuple[Closure, ...]


@dataclass(frozen=True)
class _Candidate:
    key: str
    kind: str
    title: str
    detail: str
    subjects: frozenset[str]           # user ids the change concerns
    policies: tuple[CAPolicy, ...]     # the posture's policies after the change


def root_causes(posture: Posture, inp: Inputs, results: list[CheckResult], meta: dict) -> list[RootCause]:
    """Candidate changes that would resolve at least one open finding, most findings first."""
    if not posture.ca_policies or posture.users is None:
        return []
    defs = registered()
    policy_checks = [cid for cid in meta if CA_POLICIES_DS in defs[cid].reads]
    open_now = {r.id: r for r in results if r.id in policy_checks and r.status in OPEN_STATUSES}
    if not open_now:
        return []
    before = _run(posture, inp, meta, open_now)
    if before is None:
        return []
    ctx = Context(posture, inp)
    affected_ids = {ctx.by_upn[a.upn.lower()].id for r in open_now.values() for a in r.affected
                    if a.upn.lower() in ctx.by_upn}
    out = []
    for cand in _candidates(ctx, affected_ids)[:MAX_CANDIDATES]:
        after = _run(replace(posture, ca_policies=list(cand.policies)), inp, meta, open_now)
        if after is None:
            continue
        closes, resolved = [], {}
        for cid in open_now:
            was, now = before[cid], after[cid]
            if was.status not in OPEN_STATUSES:
                continue
            gone = _subjects(was) - _subjects(now)
            resolved.update({(a.upn or a.display_name).lower(): a.upn or a.display_name for a in was.affected
                             if (a.upn or a.display_name).lower() in gone})
            full = now.status == Status.PASS
            if full or (gone and now.status in OPEN_STATUSES):
                closes.append(Closure(cid, len(gone), len(_subjects(was)), full))
        if closes:   # the subjects it concerns: those it would take out of a finding
            out.append(RootCause(cand.key, cand.kind, cand.title, cand.detail, tuple(sorted(resolved.values())),
                                 tuple(closes)))
    out.sort(key=lambda c: (-sum(1 for x in c.closes if x.full), -len(c.closes), c.key))
    return out


def _run(posture: Posture, inp: Inputs, meta: dict, ids) -> dict[str, CheckResult] | None:
    from reportgen.checks import run_checks
    try:
        return {r.id: r for r in run_checks(posture, inp, meta, only=set(ids))}
    except Exception:  # a counterfactual must never cost the report
        return None


def _subjects(r: CheckResult) -> set[str]:
    return {(a.upn or a.display_name).lower() for a in r.affected}


def _key(*parts: str) -> str:
    return "EXCL-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:8].upper()


def _candidates(ctx: Context, affected_ids: set[str]) -> list[_Candidate]:
    p = ctx.p
    policies = list(p.ca_policies or [])
    members = p.group_members or {}
    roles = _role_members(ctx)
    guests = frozenset(u.id for u in p.users or [] if u.user_type.lower() == "guest")
    out: list[tuple[int, _Candidate]] = []

    def changed(pol: CAPolicy, new: CAPolicy) -> tuple[CAPolicy, ...]:
        return tuple(new if x is pol else x for x in policies)

    for pol in policies:
        if not pol.is_mfa_policy:
            continue
        name = f"'{pol.name}'"
        options = []
        for g in sorted(pol.exclude_groups):
            label = f"group '{p.group_names[g]}'" if p.group_names.get(g) else f"group {g}"
            options.append((_key(pol.id, "group", g), f"Remove {label} from the exclusions of {name}",
                            f"{label} is excluded from {name}", frozenset(members.get(g, ())),
                            replace(pol, exclude_groups=pol.exclude_groups - {g})))
        for r in sorted(pol.exclude_roles):
            label = f"the {m.PRIVILEGED_ROLES.get(r, r)} role"
            options.append((_key(pol.id, "role", r), f"Remove {label} from the exclusions of {name}",
                            f"{label} is excluded from {name}", roles.get(r, frozenset()),
                            replace(pol, exclude_roles=pol.exclude_roles - {r})))
        if pol.exclude_users:
            n = len(pol.exclude_users)
            options.append((_key(pol.id, "users"), f"Remove the {count(n, 'directly excluded account')} from {name}",
                            f"{count(n, 'account')} {verb(n, 'is', 'are')} excluded from {name} by name",
                            frozenset(pol.exclude_users), replace(pol, exclude_users=frozenset())))
        if pol.exclude_guests:
            options.append((_key(pol.id, "guests"), f"Stop excluding guests and external users from {name}",
                            f"guests and external users are excluded from {name}", guests,
                            replace(pol, exclude_guests=None)))
        for key, title, detail, subjects, new in options:
            score = len(subjects & affected_ids)
            if score:
                out.append((score, _Candidate(key, "policy_exclusion", title, detail, subjects, changed(pol, new))))
    if not any(x.is_mfa_policy and not x.has_conditions and "All" in x.include_users and "All" in x.include_apps
               for x in policies):
        baseline = CAPolicy(id=BASELINE_ID, name="Require MFA for all users", state="enabled",
                            include_users=frozenset({"All"}), exclude_users=frozenset(), include_groups=frozenset(),
                            exclude_groups=frozenset(), include_roles=frozenset(), exclude_roles=frozenset(),
                            include_guests=None, exclude_guests=None, include_apps=frozenset({"All"}),
                            exclude_apps=frozenset(), include_user_actions=frozenset(),
                            client_app_types=frozenset({"all"}), grant=m.Grant(operator="OR", controls=frozenset({"mfa"})))
        out.append((len(affected_ids) + 1, _Candidate(
            "BASELINE-MFA", "baseline_policy",
            "Require MFA for all users and all cloud apps in one enabled Conditional Access policy",
            "no enabled Conditional Access policy requires MFA for all users and all cloud apps",
            frozenset(), tuple(policies) + (baseline,))))
    out.sort(key=lambda sc: (-sc[0], sc[1].key))
    return [c for _, c in out]


def _role_members(ctx: Context) -> dict[str, frozenset[str]]:
    try:
        holders = ctx.user_roles()
    except Exception:
        return {}
    out: dict[str, set[str]] = {}
    for uid, rs in holders.items():
        for r in rs:
            out.setdefault(r, set()).add(uid)
    return {r: frozenset(v) for r, v in out.items()}
