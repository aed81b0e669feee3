"""Who and what a Conditional Access policy applies to: the engine every coverage check shares.

Pure functions over one policy and one user's facts (object id, user type, transitive groups,
roles). Group membership and roles are resolved by the caller (``Context``), so that a check that
needs them and does not have them is ``not_evaluated`` rather than wrong.
"""
from __future__ import annotations

import functools
from typing import Iterable

from reportgen import model as m
from reportgen.model import CAPolicy, User

ALL_APPS = frozenset({"All"})
PORTAL_APPS = frozenset({m.APP_AZURE_PORTAL, "MicrosoftAdminPortals"})
ARM_APPS = frozenset({m.APP_ARM})


def _norm_app_ids(ids: Iterable[str]) -> frozenset[str]:
    return frozenset(a.lower() if len(a) == 36 else a for a in ids)


_norm_cached = functools.lru_cache(maxsize=1024)(_norm_app_ids)


def app_ids(ids: Iterable[str]) -> frozenset[str]:
    """App ids as compared: GUIDs lower-cased, names (All, Office365, ...) as written. Cached, as it
    is asked per user x policy (a posture's app sets are frozensets; anything else is not cached)."""
    return _norm_cached(ids) if isinstance(ids, frozenset) else _norm_app_ids(ids)


def covers_app(pol: CAPolicy, apps: frozenset[str] | set[str]) -> bool:
    if apps & app_ids(pol.exclude_apps):
        return False
    inc = app_ids(pol.include_apps)
    return "All" in inc or bool(apps & inc)


def _is_guest(u: User) -> bool:
    return u.user_type.lower() == "guest"


def applies(pol: CAPolicy, u: User, groups: set[str], roles: set[str]) -> bool:
    included = ("All" in pol.include_users or u.id in pol.include_users or bool(groups & pol.include_groups)
                or bool(roles & pol.include_roles) or (_is_guest(u) and pol.include_guests))
    excluded = (u.id in pol.exclude_users or bool(groups & pol.exclude_groups)
                or bool(roles & pol.exclude_roles) or (_is_guest(u) and pol.exclude_guests))
    return included and not excluded


def exclusion_paths(pol: CAPolicy, u: User, groups: set[str], roles: set[str],
                    group_names: dict[str, str]) -> list[str]:
    """How ``u`` is excluded from ``pol``, in words: directly, through a group, a role, as a guest."""
    out = []
    if u.id in pol.exclude_users:
        out.append("directly")
    for g in sorted(groups & pol.exclude_groups):
        name = group_names.get(g)
        out.append(f"through group '{name}' ({g})" if name else f"through group {g}")
    for r in sorted(roles & pol.exclude_roles):
        out.append(f"through role {m.PRIVILEGED_ROLES.get(r, r)}")
    if _is_guest(u) and pol.exclude_guests:
        out.append("as a guest")
    return out
