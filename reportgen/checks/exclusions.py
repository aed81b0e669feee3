"""What a policy's exclusions reach today, sorted by what they mean for coverage.

Microsoft advises excluding emergency access accounts from Conditional Access (mandatory MFA still
applies to them), and its templates exclude the Directory Synchronization Accounts role. Neither
narrows a coverage check; both are named. An excluded group with no members or a role nobody holds
narrows nothing today and is named as such, never hidden behind "no exclusion".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from reportgen import model as m
from reportgen.checks import applicability as scope
from reportgen.checks.context import Context
from reportgen.model import CAPolicy
from reportgen.vocab import count, verb


@dataclass
class Exclusions:
    """A policy's exclusions: those that narrow it (in words), and those that do not."""
    narrowing: list[str] = field(default_factory=list)
    emergency: set[str] = field(default_factory=set)        # designated EA account ids excluded
    service: bool = False                                   # Directory Synchronization Accounts excluded
    idle_groups: int = 0
    idle_roles: int = 0
    idle_users: int = 0

    def notes(self) -> list[str]:
        """The exclusions that do not narrow, in words ("excludes the 2 emergency access accounts, ...")."""
        out = []
        if self.emergency:
            n = len(self.emergency)
            what = f"the {n:,} emergency access accounts" if n > 1 else "the emergency access account"
            out.append(f"excludes {what}, as Microsoft advises")
        if self.service:
            out.append("excludes the Directory Synchronization Accounts role (a service exclusion)")
        idle = [count(n, what) for n, what in ((self.idle_groups, "group"), (self.idle_roles, "role"),
                                               (self.idle_users, "user")) if n]
        if idle:
            n = self.idle_groups + self.idle_roles + self.idle_users
            out.append(f"excludes {' and '.join(idle)} that {verb(n, 'reaches', 'reach')} no one today")
        return out


def describe(ctx: Context, p: CAPolicy) -> Exclusions:
    """Sort every exclusion of ``p`` by what it reaches among enabled accounts."""
    ex = Exclusions()
    ea = ctx.ea_ids()
    enabled = {u.id for u in ctx.enabled}
    for uid in sorted(p.exclude_users):
        u = ctx.users_by_id.get(uid)
        if u is None or not u.enabled:
            ex.idle_users += 1                      # deleted or disabled: cannot sign in
        elif uid in ea:
            ex.emergency.add(uid)
        elif ctx.is_service_account(uid):
            ex.service = True
        else:
            ex.narrowing.append(f"user {u.upn}")
    members = ctx.need(ctx.p.group_members, "groups/{id}/transitiveMembers") if p.exclude_groups else {}
    for g in sorted(p.exclude_groups):
        reach = set(members.get(g, ())) & enabled
        others = reach - ea
        if not reach:
            ex.idle_groups += 1
        elif not others:
            ex.emergency |= reach
        else:
            name = f"'{ctx.p.group_names[g]}'" if g in ctx.p.group_names else g
            ex.narrowing.append(f"group {name} ({count(len(others), 'enabled account')}"
                                + (" beside emergency access accounts" if reach & ea else "") + ")")
    roles = ctx.user_roles() if p.exclude_roles else {}
    for r in sorted(p.exclude_roles):
        if r == m.DIRECTORY_SYNC:
            ex.service = True
            continue
        n = sum(1 for uid, rs in roles.items() if r in rs and uid in enabled)
        if n:
            ex.narrowing.append(f"role {m.PRIVILEGED_ROLES.get(r, r)} ({count(n, 'enabled holder')})")
        else:
            ex.idle_roles += 1
    if p.exclude_guests:
        ex.narrowing.append(scope.guest_scope_words(p.exclude_guests))
    return ex
