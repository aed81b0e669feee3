"""A small builder of crafted tenant postures for check-engine tests.

    p = (PostureBuilder()
         .user("a@x", registered=True, methods=["fido2SecurityKey"]).ga("a@x")
         .policy(mfa_policy("MFA for everyone"))
         .build())

Users are named by UPN; their object id is ``uid(upn)`` (deterministic), so policies and
exceptions can refer to either. Everything defaults to "collected, and nothing there": a
dataset becomes "not collected" (``None``) only through ``missing(...)``.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from reportgen import model as m
from reportgen.checks import Inputs, run_checks
from reportgen.config import ExceptionEntry
from reportgen.model import CAPolicy, Gap, Posture, Registration, RoleAssignment, SignIn, User
from reportgen.results import CheckResult

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
TODAY = NOW.date()

# Posture fields that a builder can leave "not collected".
DATA_FIELDS = ("has_p1", "has_p2", "users", "registrations", "ca_policies", "security_defaults", "methods_policy",
               "role_assignments", "eligible_assignments", "group_members", "sign_ins")

AUTHENTICATOR = "microsoftAuthenticatorPush"
FIDO2 = "fido2SecurityKey"


def uid(name: str) -> str:
    """Deterministic object id for a UPN (or a group / policy name)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name.lower()))


# --------------------------------------------------------------------------- CA policy helpers

def strength(sid: str | None) -> m.Strength | None:
    """A built-in authentication strength by id (as Graph returns it in a policy)."""
    if sid is None:
        return None
    from reportgen.facts import FACTS
    b = FACTS.strengths[sid]
    return m.Strength(sid, b.name, True, b.phishing_resistant)


NARROWED = (m.Condition("locations", (), ("branch-office",)),)


def ca_policy(name: str = "policy", *, state: str = "enabled", users: Iterable[str] = ("All",),
              exclude_users: Iterable[str] = (), groups: Iterable[str] = (), exclude_groups: Iterable[str] = (),
              roles: Iterable[str] = (), exclude_roles: Iterable[str] = (), guests: bool | m.GuestScope = False,
              exclude_guests: bool | m.GuestScope = False, apps: Iterable[str] = ("All",), exclude_apps: Iterable[str] = (),
              user_actions: Iterable[str] = (), client_types: Iterable[str] = ("all",),
              controls: Iterable[str] = ("mfa",), strength: str | m.Strength | None = None, operator: str = "OR",
              terms_of_use: Iterable[str] = (), conditions: bool | Iterable[m.Condition] = False,
              workload: bool = False) -> CAPolicy:
    """A CA policy. Users in ``users``/``exclude_users`` may be UPNs (mapped to ``uid``) or 'All'/'None'.
    ``conditions=True`` narrows it by an excluded location; ``guests=True`` takes in every guest type."""
    def ids(xs: Iterable[str]) -> frozenset[str]:
        return frozenset(x if x in ("All", "None") or "@" not in x else uid(x) for x in xs)

    def scope(v) -> m.GuestScope | None:
        return m.ALL_GUESTS if v is True else (v or None)
    conds = NARROWED if conditions is True else tuple(conditions or ())
    client = frozenset(client_types)
    if "all" not in client and not {"browser", "mobileAppsAndDesktopClients"} <= client:
        conds += (m.Condition("clientAppTypes", tuple(sorted(client))),)
    return CAPolicy(
        id=uid("policy:" + name), name=name, state=state,
        include_users=ids(users), exclude_users=ids(exclude_users),
        include_groups=frozenset(groups), exclude_groups=frozenset(exclude_groups),
        include_roles=frozenset(roles), exclude_roles=frozenset(exclude_roles),
        include_guests=scope(guests), exclude_guests=scope(exclude_guests),
        include_apps=frozenset(apps), exclude_apps=frozenset(exclude_apps),
        include_user_actions=frozenset(user_actions), client_app_types=client,
        grant=m.Grant(operator=operator, controls=frozenset(controls), terms_of_use=tuple(terms_of_use),
                      strength=strength if isinstance(strength, m.Strength) else globals()["strength"](strength)),
        conditions=conds, workload=workload)


def mfa_policy(name: str = "Require MFA for all users", **kw) -> CAPolicy:
    """An MFA policy: by default enabled, All users, All apps, all client types, grant mfa."""
    return ca_policy(name, **kw)


def block_legacy_policy(name: str = "Block legacy authentication", **kw) -> CAPolicy:
    kw.setdefault("client_types", ("exchangeActiveSync", "other"))
    kw.setdefault("controls", ("block",))
    return ca_policy(name, **kw)


def register_info_policy(name: str = "Protect security info registration", **kw) -> CAPolicy:
    kw.setdefault("apps", ())
    kw.setdefault("user_actions", ("urn:user:registersecurityinfo",))
    return ca_policy(name, **kw)


def phishing_resistant_admin_policy(name: str = "Phishing-resistant MFA for admins", **kw) -> CAPolicy:
    kw.setdefault("users", ())
    kw.setdefault("roles", tuple(m.PRIVILEGED_ROLES))
    kw.setdefault("controls", ())
    kw.setdefault("strength", m.STRENGTH_PHISHING_RESISTANT)
    return ca_policy(name, **kw)


# --------------------------------------------------------------------------- posture builder

_DEFAULT = object()


class PostureBuilder:
    def __init__(self, collected_at: datetime = NOW, lookback_days: int = 30):
        self.collected_at = collected_at
        self.lookback_days = lookback_days
        self._users: list[User] = []
        self._regs: dict[str, Registration] = {}
        self._policies: list[CAPolicy] = []
        self._roles: list[RoleAssignment] = []
        self._eligible: list[RoleAssignment] = []
        self._groups: dict[str, set[str]] = {}     # group id -> direct member ids (users or groups)
        self._sign_ins: list[SignIn] = []
        self._security_defaults: bool | None = False
        self._methods_policy: dict[str, str] | None = {"sms": "disabled", "voice": "disabled", "email": "disabled",
                                                       "fido2": "enabled"}
        self._p1: bool | None = True
        self._p2: bool | None = True
        self._missing: set[str] = set()
        self._gaps: list[Gap] = []
        self._n = 0

    # users and registration --------------------------------------------------------------
    def user(self, upn: str, *, registered: bool | None = True, methods: Iterable[str] | None = None,
             capable: bool | None = None, enabled: bool = True, guest: bool = False, mail=_DEFAULT,
             other_mails: Iterable[str] = (), display_name: str | None = None,
             last_sign_in=_DEFAULT, sign_in_activity_known: bool = True, user_type: str | None = None,
             mailbox: bool | None = True, synced: bool = False,
             certificates: Iterable[str] = ()) -> PostureBuilder:
        """Add a user. ``registered=None`` leaves the user without a registration record.

        ``methods`` defaults to Authenticator for a registered user and none otherwise;
        ``last_sign_in`` defaults to yesterday (``None`` = never signed in)."""
        i = uid(upn)
        self._users.append(User(
            id=i, upn=upn, display_name=display_name or upn.split("@")[0],
            mail=upn if mail is _DEFAULT else mail, other_mails=tuple(other_mails), enabled=enabled,
            user_type=user_type or ("Guest" if guest else "Member"), synced=synced,
            created=self.collected_at - timedelta(days=400),
            last_sign_in=self.collected_at - timedelta(days=1) if last_sign_in is _DEFAULT else last_sign_in,
            sign_in_activity_known=sign_in_activity_known, certificate_user_ids=tuple(certificates),
            has_mailbox=mailbox))
        if registered is not None:
            ms = tuple(methods) if methods is not None else ((AUTHENTICATOR,) if registered else ())
            self._regs[i] = Registration(user_id=i, mfa_registered=registered,
                                         mfa_capable=registered if capable is None else capable, methods=ms)
        return self

    def registration(self, upn: str, *, registered: bool, methods: Iterable[str] = (), capable: bool | None = None):
        i = uid(upn)
        self._regs[i] = Registration(user_id=i, mfa_registered=registered,
                                     mfa_capable=registered if capable is None else capable, methods=tuple(methods))
        return self

    # roles and groups --------------------------------------------------------------------
    def role(self, principal: str, role_id: str, *, kind: str = "active", principal_type: str | None = None,
             permanent: bool | None = True):
        """Assign a role to a user (UPN) or to a group id (``principal_type='group'``); an active
        assignment is permanent unless ``permanent`` says otherwise (None: not known)."""
        ptype = principal_type or ("user" if "@" in principal else "group")
        pid = uid(principal) if ptype == "user" else principal
        ra = RoleAssignment(role_id=role_id, role_name=m.PRIVILEGED_ROLES.get(role_id, role_id),
                            principal_id=pid, principal_type=ptype, kind=kind,
                            permanent=permanent if kind == "active" else None)
        (self._roles if kind == "active" else self._eligible).append(ra)
        return self

    def ga(self, principal: str, *, kind: str = "active", permanent: bool | None = True):
        return self.role(principal, m.GLOBAL_ADMIN, kind=kind, permanent=permanent)

    def group(self, gid: str, *members: str):
        """A group with direct members: UPNs (users) or ids of other groups (nested)."""
        self._groups.setdefault(gid, set()).update(uid(x) if "@" in x else x for x in members)
        return self

    def _transitive(self) -> dict[str, frozenset[str]]:
        """What Graph's transitiveMembers returns: nested groups flattened (group ids included)."""
        out = {}
        for gid in self._groups:
            seen, stack = set(), [gid]
            while stack:
                for x in self._groups.get(stack.pop(), ()):
                    if x not in seen:
                        seen.add(x)
                        stack.append(x)
            out[gid] = frozenset(seen)
        return out

    # policies and settings ---------------------------------------------------------------
    def policy(self, *pols: CAPolicy):
        self._policies.extend(pols)
        return self

    def security_defaults(self, on: bool | None = True):
        self._security_defaults = on
        return self

    def methods_policy(self, **states: str | m.MethodConfig):
        self._methods_policy = dict(self._methods_policy or {}, **states)
        return self

    def licences(self, p1: bool | None = True, p2: bool | None = None):
        self._p1, self._p2 = p1, (p1 if p2 is None else p2)
        return self

    # sign-ins ------------------------------------------------------------------------------
    def sign_in(self, upn: str, app: str = m.APP_AZURE_CLI, *, mfa: bool | None = True, interactive: bool = True,
                success: bool = True, days_ago: float = 1, resource: str = m.APP_ARM):
        self._n += 1
        req = None if mfa is None else ("multiFactorAuthentication" if mfa else "singleFactorAuthentication")
        self._sign_ins.append(SignIn(
            id=f"signin-{self._n}", user_id=uid(upn), upn=upn, app_id=app, app_name=m.SIGNIN_APPS.get(app, app),
            resource_id=resource, created=self.collected_at - timedelta(days=days_ago), requirement=req,
            interactive=interactive, success=success))
        return self

    # gaps ----------------------------------------------------------------------------------
    def missing(self, *fields: str, reason: str | None = None):
        """Leave posture fields "not collected"; with ``reason``, also record a gap for each."""
        for f in fields:
            assert f in DATA_FIELDS, f
            self._missing.add(f)
        return self

    def gap(self, source: str, reason: str):
        self._gaps.append(Gap(source, reason))
        return self

    def build(self) -> Posture:
        p = Posture(
            tenant_id="00000000-0000-0000-0000-00000000cafe", tenant_name="Crafted Bank",
            collected_at=self.collected_at, window_start=self.collected_at - timedelta(days=self.lookback_days),
            window_end=self.collected_at, source="demo", has_p1=self._p1, has_p2=self._p2,
            users=list(self._users), registrations=dict(self._regs), registration_source="userRegistrationDetails",
            ca_policies=list(self._policies), security_defaults=self._security_defaults,
            methods_policy=None if self._methods_policy is None else {
                k: v if isinstance(v, m.MethodConfig) else
                m.MethodConfig(k, v, (m.MethodTarget("all_users", "all_users"),) if v == "enabled" else ())
                for k, v in self._methods_policy.items()},
            role_assignments=list(self._roles), eligible_assignments=list(self._eligible),
            group_members=self._transitive(), sign_ins=list(self._sign_ins), granted_permissions=None,
            gaps=list(self._gaps))
        for f in self._missing:
            setattr(p, f, None)
        return p


# --------------------------------------------------------------------------- running checks

def run(p: Posture, **inputs) -> dict[str, CheckResult]:
    """run_checks with ``Inputs(**inputs)``; results by check id."""
    results = run_checks(p, Inputs(**inputs))
    return {r.id: r for r in results}


def exception(check: str, subject: str, *, id: str | None = None, approved_on: date | None = None,
              expires_on: date | None = _DEFAULT) -> ExceptionEntry:  # type: ignore[assignment]
    """An exception approved 30 days before, expiring 335 days after, the collection date."""
    return ExceptionEntry(
        id=id or f"EXC-{check}-{subject.split('@')[0]}", check=check, subject=subject,
        approved_by="Jane Roe, Qualified Individual",
        approved_on=approved_on or TODAY - timedelta(days=30),
        expires_on=TODAY + timedelta(days=335) if expires_on is _DEFAULT else expires_on,
        compensating_control="kiosk on an isolated network")
