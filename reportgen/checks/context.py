"""What a check reads: the posture, the client's own statements, and views of them computed once.

``Context.need(value, source)`` is how a check says "I cannot judge without this": a ``None``
(not collected) raises ``NotEvaluated`` with the collection gap's reason and cause, so no check can
pass on data that did not arrive.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from reportgen import model as m
from reportgen.checks import applicability as scope
from reportgen.checks.registry import NotEvaluated
from reportgen.evidence import DATASETS, source_of
from reportgen.model import CAPolicy, Gap, Posture, User
from reportgen.results import EvidenceRef
from reportgen.timeline import Timeline, bundled_timeline
from reportgen.vocab import DEFAULT_SERVICE_ACCOUNT_PATTERN, Cause, count

GROUP_MEMBERS = DATASETS["groupMembers"]
ROLE_ASSIGNMENTS = DATASETS["roleAssignments"]
ROLE_ELIGIBILITY = DATASETS["roleEligibilitySchedules"]
CA_POLICIES = DATASETS["conditionalAccessPolicies"]
REGISTRATION = DATASETS["userRegistrationDetails"]
USER_METHODS = DATASETS["userMethods"]
SIGN_INS = DATASETS["signIns"]
NON_INTERACTIVE_SIGN_INS = DATASETS["signInsNonInteractive"]
METHODS_POLICY = DATASETS["authenticationMethodsPolicy"]


@dataclass
class Inputs:
    """What a check may read besides the posture: the client's own statements and thresholds."""
    emergency_accounts: list[str] = field(default_factory=list)
    phase2_postponed: bool | str | None = None
    service_account_pattern: str = DEFAULT_SERVICE_ACCOUNT_PATTERN
    dormant_days: int = 90
    lookback_days: int = 30
    timeline: Timeline | None = None     # Microsoft's dates; the bundled catalog's when not given
    cloud: str = "global"                # the client's Microsoft cloud (config graph.cloud)


def gap_cause(gap: Gap | None) -> Cause:
    if gap is None:
        return Cause.NOT_COLLECTED
    code = gap.code or ""
    if code.startswith("Authentication_RequestFromNonPremium"):
        return Cause.NO_LICENCE
    if code == "Authorization_RequestDenied" or gap.status == 403:
        return Cause.MISSING_PERMISSION
    return Cause.NOT_COLLECTED


def _unknown_registration(u: User) -> str:
    """Why a user has no registration record, honestly: the report omits disabled accounts and
    lists new ones after a delay; anything else is unexplained."""
    if not u.enabled:
        return "registration unknown: the registration report does not list disabled accounts"
    return "registration unknown: no registration record for this enabled account (new accounts appear after a delay)"


class Context:
    """Derived views of a posture that several checks share, computed once per evaluation."""

    def __init__(self, p: Posture, inp: Inputs):
        self.p, self.inp = p, inp
        self.users_by_id = {u.id: u for u in p.users} if p.users is not None else {}
        self.by_upn = {u.upn.lower(): u for u in p.users or []}
        self._groups_of: dict[str, set[str]] | None = None
        self._user_roles: dict[str, set[str]] | None = None
        self._ea_ids: set[str] | None = None

    @property
    def timeline(self) -> Timeline:
        return self.inp.timeline or bundled_timeline()

    @property
    def on(self) -> date:
        return self.p.collected_at.date()

    # --- data presence -------------------------------------------------------------------
    def need(self, value: Any, *sources: str) -> Any:
        if value is None:
            gap = self.p.gap_for(*sources) if sources else None
            what = ", ".join(sources) if sources else "required data"
            reason = gap.reason if gap is not None else ""
            if "not collected" in reason or not reason.strip():
                raise NotEvaluated(f"{what} not collected", gap_cause(gap))
            raise NotEvaluated(f"{what} not collected: {reason}", gap_cause(gap))
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

    def registrations(self) -> dict[str, m.Registration]:
        return self.need(self.p.registrations, REGISTRATION, USER_METHODS)

    def registration(self, uid: str) -> m.Registration | None:
        return self.registrations().get(uid)

    @staticmethod
    def unknown_registration(u: User) -> str:
        return _unknown_registration(u)

    # --- sign-in evidence ----------------------------------------------------------------
    def window_days(self) -> float:
        return (self.p.window_end - self.p.window_start) / timedelta(days=1)

    def full_window(self) -> bool:
        """Sign-in logs were read for the whole lookback window (what LOG-01 passes on)."""
        return self.p.sign_ins is not None and self.window_days() >= self.inp.lookback_days - 1 / 24

    def window_shortfall(self) -> str:
        return (f"the sign-in logs cover {count(round(self.window_days()), 'day')}, not the whole "
                f"{self.inp.lookback_days}-day lookback window, so the absence of such sign-ins is not proven")

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

    def _assignments(self, kinds: tuple[str, ...]) -> list[m.RoleAssignment]:
        out = []
        sources = {"active": (self.p.role_assignments, ROLE_ASSIGNMENTS),
                   "eligible": (self.p.eligible_assignments, ROLE_ELIGIBILITY)}
        for kind in kinds:
            items, src = sources[kind]
            if kind == "eligible" and items is None and self.p.has_p2 is False:
                continue  # eligible schedules need PIM (P2); without P2 there are none to miss
            out += self.need(items, src)
        return out

    def holdings(self, kinds: tuple[str, ...] = ("active",)) -> dict[str, list[m.RoleAssignment]]:
        """user id -> the role assignments that reach them, directly or through a group."""
        out: dict[str, list[m.RoleAssignment]] = {}
        for r in self._assignments(kinds):
            if r.principal_type == "group":
                mem = self.need(self.p.group_members, GROUP_MEMBERS).get(r.principal_id)
                if mem is None:
                    self.need(None, GROUP_MEMBERS)
                for x in mem:
                    if x in self.users_by_id:
                        out.setdefault(x, []).append(r)
            elif r.principal_id in self.users_by_id:
                out.setdefault(r.principal_id, []).append(r)
        return out

    def role_holders(self, kinds: tuple[str, ...] = ("active",)) -> dict[str, set[str]]:
        """user id -> role template ids, through direct and group assignments."""
        return {uid: {r.role_id for r in rs} for uid, rs in self.holdings(kinds).items()}

    def unresolved(self, roles: set[str] | dict[str, str], kinds: tuple[str, ...] = ("active", "eligible")) -> list[str]:
        """Assignments of these roles whose principal could not be identified, in words."""
        out = []
        for r in self.p.unresolved_roles:
            if r.role_id in roles and r.kind in kinds:
                out.append(f"{m.PRIVILEGED_ROLES.get(r.role_id, r.role_id)} ({r.kind}) for principal {r.principal_id}")
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

    def roles_of(self, uid: str) -> set[str]:
        return self.user_roles().get(uid, set())

    # --- policy applicability (see applicability.py) ----------------------------------------
    def _groups_for(self, pol: CAPolicy, u: User) -> set[str]:
        return self.groups_of(u.id) if (pol.include_groups or pol.exclude_groups) else set()

    def applies(self, pol: CAPolicy, u: User, roles: set[str]) -> bool:
        return scope.applies(pol, u, self._groups_for(pol, u), roles)

    def included(self, pol: CAPolicy, u: User, roles: set[str]) -> bool:
        return scope.included(pol, u, self._groups_for(pol, u), roles)

    def exclusion_paths(self, pol: CAPolicy, u: User, roles: set[str]) -> list[str]:
        return scope.exclusion_paths(pol, u, self.groups_of(u.id) if (pol.exclude_groups or pol.include_groups)
                                     else set(), roles, self.p.group_names)

    def narrowing(self, pol: CAPolicy, **kw) -> list[str]:
        return scope.narrowing_words(pol, self.p.named_locations, **kw)

    def covered(self, u: User, roles: set[str], apps: frozenset[str] | set[str],
                policies: list[CAPolicy] | None = None, all_apps: bool = False) -> bool:
        """Some enabled, un-narrowed MFA policy applies to the user for one of ``apps`` (for every
        app, with ``all_apps``)."""
        return self.coverage(u, roles, apps, policies=policies, all_apps=all_apps)[0]

    def coverage(self, u: User, roles: set[str], apps: frozenset[str] | set[str], *,
                 policies: list[CAPolicy] | None = None, all_apps: bool = False,
                 guard: frozenset[str] = frozenset()) -> tuple[bool, str]:
        """(covered, why not in words). Covered means an enabled MFA policy with no narrowing
        condition applies to ``u`` for ``apps``; otherwise the words name each policy that comes
        close and what keeps it from counting."""
        why = []
        for pol in policies if policies is not None else self.policies:
            if pol.workload or not pol.grant.offers_mfa:
                continue
            if not (scope.covers_all_apps(pol) if all_apps else scope.covers_app(pol, apps, guard)):
                if not self.included(pol, u, roles) or not pol.include_apps - {"None"}:
                    continue
                if pol.exclude_apps and ("All" in pol.include_apps
                                         or scope.app_ids(apps | guard) & scope.app_ids(pol.exclude_apps)):
                    why.append(f"'{pol.name}' excludes {', '.join(scope.app_words(a) for a in sorted(pol.exclude_apps))}")
                elif all_apps:
                    why.append(f"'{pol.name}' covers only {', '.join(scope.app_words(a) for a in sorted(pol.include_apps))}")
                continue
            if not self.included(pol, u, roles):
                if pol.include_guests and scope.guest_kinds(u):
                    why.append(f"'{pol.name}' takes in only {scope.guest_scope_words(pol.include_guests)}")
                continue
            paths = self.exclusion_paths(pol, u, roles)
            if paths and not self.excused(u):
                why.append(f"excluded from '{pol.name}' {' and '.join(paths)}")
                continue
            if pol.state != "enabled":
                why.append(f"'{pol.name}' is {scope.STATE_WORDS.get(pol.state, 'not enforced')}")
                continue
            if pol.conditional_mfa:
                why.append(f"'{pol.name}' {scope.grant_words(pol)}")
                continue
            if pol.conditions:
                why.append(f"'{pol.name}' {' and '.join(self.narrowing(pol))}")
                continue
            return True, ""
        return False, "; ".join(why) or "no MFA policy applies"

    def ea_ids(self) -> set[str]:
        """Object ids of the designated emergency access accounts that exist."""
        if self._ea_ids is None:
            self._ea_ids = {u.id for _, u in self.emergency() if u is not None}
        return self._ea_ids

    def is_service_account(self, uid: str) -> bool:
        """The account's only role is Directory Synchronization Accounts (a service exclusion)."""
        roles = self.user_roles().get(uid, set())
        return bool(roles) and roles <= {m.DIRECTORY_SYNC}

    def excused(self, u: User) -> bool:
        """An exclusion of this account narrows no coverage check: a designated emergency access
        account (Microsoft advises excluding them) or a directory synchronization service account."""
        return u.id in self.ea_ids() or self.is_service_account(u.id)

    def emergency(self) -> list[tuple[str, User | None]]:
        out, seen = [], set()
        for name in self.inp.emergency_accounts:
            u = self.by_upn.get(name.lower()) or self.users_by_id.get(name)
            key = u.id if u is not None else name.lower()
            if key not in seen:  # the same account listed twice (UPN and object id, or another case) is one
                seen.add(key)
                out.append((name, u))
        return out

    # --- authentication methods policy --------------------------------------------------------
    def method_enabled_for(self, config_id: str, u: User) -> bool | None:
        """Whether the methods policy enables a method for ``u``; None where it cannot tell (policy
        or entry not collected, or a target group whose members were not read)."""
        policy = self.p.methods_policy
        if policy is None or config_id not in policy:
            return None
        c = policy[config_id]
        if c.state != "enabled":
            return False
        if not c.targets_known:
            return None

        def hits(targets) -> bool | None:
            unknown = False
            for t in targets:
                if t.kind == "all_users" or t.id == u.id:
                    return True
                if t.kind == "unknown":
                    unknown = True
                if t.kind == "group":
                    members = (self.p.group_members or {}).get(t.id)
                    if members is None:
                        unknown = True
                    elif u.id in members:
                        return True
            return None if unknown else False
        inc, exc = hits(c.include), hits(c.exclude)
        if exc is True or inc is False:
            return False
        return True if inc is True and exc is False else None

    def target_words(self, config_id: str) -> str:
        c = (self.p.methods_policy or {}).get(config_id)
        if c is None:
            return ""
        names = []
        for t in c.include:
            if t.kind == "all_users":
                names.append("all users")
            elif t.kind == "group":
                names.append(f"group '{self.p.group_names[t.id]}'" if t.id in self.p.group_names else f"group {t.id}")
            else:
                u = self.users_by_id.get(t.id)
                names.append(u.upn if u else f"{t.kind} {t.id}")
        return ", ".join(names)
