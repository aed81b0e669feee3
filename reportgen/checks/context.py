"""What a check reads: the posture, the client's own statements, and views of them computed once.

``Context.need(value, source)`` is how a check says "I cannot judge without this": a ``None``
(not collected) raises ``NotEvaluated`` with the collection gap's reason and cause, so no check can
pass on data that did not arrive.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportgen import model as m
from reportgen.checks import applicability as scope
from reportgen.checks.registry import NotEvaluated
from reportgen.evidence import DATASETS, source_of
from reportgen.model import CAPolicy, Gap, Posture, User
from reportgen.results import EvidenceRef
from reportgen.vocab import DEFAULT_SERVICE_ACCOUNT_PATTERN, Cause

GROUP_MEMBERS = DATASETS["groupMembers"]
ROLE_ASSIGNMENTS = DATASETS["roleAssignments"]
ROLE_ELIGIBILITY = DATASETS["roleEligibilitySchedules"]
CA_POLICIES = DATASETS["conditionalAccessPolicies"]
REGISTRATION = DATASETS["userRegistrationDetails"]
USER_METHODS = DATASETS["userMethods"]
SIGN_INS = DATASETS["signIns"]
NON_INTERACTIVE_SIGN_INS = DATASETS["signInsNonInteractive"]


@dataclass
class Inputs:
    """What a check may read besides the posture: the client's own statements and thresholds."""
    emergency_accounts: list[str] = field(default_factory=list)
    phase2_postponed: bool | str | None = None
    service_account_pattern: str = DEFAULT_SERVICE_ACCOUNT_PATTERN
    dormant_days: int = 90
    lookback_days: int = 30


def gap_cause(gap: Gap | None) -> Cause:
    if gap is None:
        return Cause.NOT_COLLECTED
    code = gap.code or ""
    if code.startswith("Authentication_RequestFromNonPremium"):
        return Cause.NO_LICENCE
    if code == "Authorization_RequestDenied" or gap.status == 403:
        return Cause.MISSING_PERMISSION
    return Cause.NOT_COLLECTED


class Context:
    """Derived views of a posture that several checks share, computed once per evaluation."""

    def __init__(self, p: Posture, inp: Inputs):
        self.p, self.inp = p, inp
        self.users_by_id = {u.id: u for u in p.users} if p.users is not None else {}
        self.by_upn = {u.upn.lower(): u for u in p.users or []}
        self._groups_of: dict[str, set[str]] | None = None
        self._user_roles: dict[str, set[str]] | None = None

    # --- data presence -------------------------------------------------------------------
    def need(self, value: Any, *sources: str) -> Any:
        if value is None:
            gap = self.p.gap_for(*sources) if sources else None
            what = ", ".join(sources) if sources else "required data"
            reason = gap.reason if gap is not None and gap.reason not in ("", "not collected") else ""
            raise NotEvaluated(f"{what} not collected" + (f": {reason}" if reason else ""), gap_cause(gap))
        return value

    def evidence_for(self, datasets: tuple[str, ...]) -> tuple[EvidenceRef, ...]:
        """The stored pages of each dataset a check reads (datasets not collected are left out)."""
        out = []
        for ds in datasets:
            for name in sorted(n for n in self.p.pages if n == ds or n.startswith(ds + ".")):
                out.append(EvidenceRef(dataset=name, source=source_of(name), pages=self.p.pages[name]))
        return tuple(out)

    @property
    def users(self) -> list[User]:
        return self.need(self.p.users, "users")

    @property
    def enabled(self) -> list[User]:
        return [u for u in self.users if u.enabled]

    @property
    def policies(self) -> list[CAPolicy]:
        return self.need(self.p.ca_policies, CA_POLICIES)

    def registration(self, uid: str) -> m.Registration | None:
        return self.need(self.p.registrations, REGISTRATION, USER_METHODS).get(uid)

    # --- groups and roles ----------------------------------------------------------------
    def groups_of(self, uid: str) -> set[str]:
        if self._groups_of is None:
            members = self.p.group_members
            groups_used = {g for pl in self.p.ca_policies or [] for g in pl.include_groups | pl.exclude_groups}
            if members is None:
                if groups_used or any(r.principal_type == "group" for r in self.p.role_assignments or []):
                    self.need(None, GROUP_MEMBERS)
                members = {}
            elif groups_used - members.keys():
                self.need(None, GROUP_MEMBERS)  # a policy's group whose members were not read
            inv: dict[str, set[str]] = {}
            for gid, mem in members.items():
                for x in mem:
                    inv.setdefault(x, set()).add(gid)
            self._groups_of = inv
        return self._groups_of.get(uid, set())

    def role_holders(self, kinds: tuple[str, ...] = ("active",)) -> dict[str, set[str]]:
        """user id -> role template ids, through direct and group assignments."""
        out: dict[str, set[str]] = {}
        sources = {"active": (self.p.role_assignments, ROLE_ASSIGNMENTS),
                   "eligible": (self.p.eligible_assignments, ROLE_ELIGIBILITY)}
        for kind in kinds:
            items, src = sources[kind]
            if kind == "eligible" and items is None and self.p.has_p2 is False:
                continue  # eligible schedules need PIM (P2); without P2 there are none to miss
            for r in self.need(items, src):
                if r.principal_type == "group":
                    mem = self.need(self.p.group_members, GROUP_MEMBERS).get(r.principal_id)
                    if mem is None:
                        self.need(None, GROUP_MEMBERS)
                    for x in mem:
                        if x in self.users_by_id:
                            out.setdefault(x, set()).add(r.role_id)
                elif r.principal_id in self.users_by_id:
                    out.setdefault(r.principal_id, set()).add(r.role_id)
        return out

    def privileged(self) -> dict[str, set[str]]:
        holders = self.role_holders(("active", "eligible"))
        return {uid: {r for r in roles if r in m.PRIVILEGED_ROLES} for uid, roles in holders.items()
                if roles & m.PRIVILEGED_ROLES.keys()}

    def user_roles(self) -> dict[str, set[str]]:
        """Roles for policy applicability. Unknown roles only narrow inclusions (never a pass), but they
        would hide an exclusion by role: then the data is needed."""
        if self._user_roles is None:
            try:
                self._user_roles = self.role_holders(("active", "eligible"))
            except NotEvaluated:
                if any(pl.exclude_roles for pl in self.p.ca_policies or []):
                    raise
                self._user_roles = {}
        return self._user_roles

    # --- policy applicability (see applicability.py) ----------------------------------------
    def _groups_for(self, pol: CAPolicy, u: User) -> set[str]:
        return self.groups_of(u.id) if (pol.include_groups or pol.exclude_groups) else set()

    def applies(self, pol: CAPolicy, u: User, roles: set[str]) -> bool:
        return scope.applies(pol, u, self._groups_for(pol, u), roles)

    def exclusion_paths(self, pol: CAPolicy, u: User, roles: set[str]) -> list[str]:
        return scope.exclusion_paths(pol, u, self.groups_of(u.id), roles, self.p.group_names)

    def covered(self, u: User, roles: set[str], apps: frozenset[str] | set[str], client_type: str | None = None,
                policies: list[CAPolicy] | None = None) -> bool:
        """Some enabled, un-narrowed MFA policy applies to the user for one of ``apps``."""
        for pol in policies if policies is not None else self.policies:
            if not pol.is_mfa_policy or pol.has_conditions:
                continue
            if not scope.covers_app(pol, apps):
                continue
            if client_type and not ({"all", client_type} & pol.client_app_types):
                continue
            if self.applies(pol, u, roles):
                return True
        return False

    def emergency(self) -> list[tuple[str, User | None]]:
        out, seen = [], set()
        for name in self.inp.emergency_accounts:
            u = self.by_upn.get(name.lower()) or self.users_by_id.get(name)
            key = u.id if u is not None else name.lower()
            if key not in seen:  # the same account listed twice (UPN and object id, or another case) is one
                seen.add(key)
                out.append((name, u))
        return out
