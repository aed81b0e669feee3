"""Posture -> the account and policy tables the reports list (ReportData rows).

Built from the same ``Context`` the checks used, so a table and a verdict never disagree on who is
covered or privileged. Where the data is missing a cell is ``None`` ("unknown"), never a guess.
"""
from __future__ import annotations

from typing import Any

from reportgen import model as m
from reportgen.checks import Context, NotEvaluated, applicability
from reportgen.checks.applicability import ALL_APPS
from reportgen.checks.emergency_access import methods_by_aaguid
from reportgen.checks.mandatory_mfa import is_phase2, phase2_label
from reportgen.dates import iso_z
from reportgen.model import CAPolicy, Posture
from reportgen.report import EmergencyRow, PolicyRow, PrivilegedRow, SignInRow, UserRow
from reportgen.vocab import CLIENT_APP_LABELS, GRANT_LABELS, USER_ACTION_LABELS, label, labels


def _iso(dt) -> str | None:
    return iso_z(dt) if dt else None


def _safe(fn, default):
    try:
        return fn()
    except NotEvaluated:
        return default


class Tables:
    def __init__(self, ctx: Context):
        self.p, self.f = ctx.p, ctx
        self.roles = _safe(lambda: self.f.role_holders(("active", "eligible")), None)
        self.active = _safe(lambda: self.f.role_holders(("active",)), {})

    def _covered(self, u, roles) -> bool | None:
        if self.p.security_defaults is True:
            return True
        if self.p.ca_policies is None:
            return None
        return _safe(lambda: self.f.covered(u, roles, ALL_APPS, all_apps=True), None)

    def _mfa_apps(self, u, roles) -> list[str] | None:
        """What the user must use MFA for: the apps of each enabled MFA policy that applies to them,
        in words ("All cloud apps", "Office 365", ...); [] when none; None when unknown."""
        if self.p.security_defaults is True:
            return [SECURITY_DEFAULTS]
        if self.p.ca_policies is None:
            return None
        pols = [pl for pl in self.p.ca_policies if pl.is_mfa_policy and not pl.has_conditions and pl.include_apps]
        hits = _safe(lambda: [pl for pl in pols if self.f.applies(pl, u, roles)], None)
        if hits is None:
            return None
        names = {name for pl in hits for name in _app_names(pl)}
        return [ALL_CLOUD_APPS] if ALL_CLOUD_APPS in names else sorted(names)

    def users(self) -> list[UserRow]:
        regs = self.p.registrations
        out = []
        for u in sorted(self.p.users or [], key=lambda u: u.upn.lower()):
            r = regs.get(u.id) if regs is not None else None
            roles = (self.roles or {}).get(u.id, set())
            out.append(UserRow(
                upn=u.upn, display_name=u.display_name, enabled=u.enabled, user_type=u.user_type,
                mfa_registered=None if regs is None or r is None else r.mfa_registered,
                methods=list(r.methods) if r else [],
                privileged_roles=sorted(m.PRIVILEGED_ROLES[x] for x in roles if x in m.PRIVILEGED_ROLES),
                last_sign_in=_iso(u.last_sign_in), covered_by_mfa_policy=self._covered(u, roles),
                mfa_policy_apps=self._mfa_apps(u, roles)))
        return out

    def privileged(self) -> list[PrivilegedRow]:
        if self.roles is None:
            return []
        regs = self.p.registrations
        out = []
        for uid, roles in self.roles.items():
            priv = {x for x in roles if x in m.PRIVILEGED_ROLES}
            if not priv:
                continue
            u = self.f.users_by_id[uid]
            r = regs.get(uid) if regs is not None else None
            active = self.active.get(uid, set()) & priv
            mfa = set(r.methods) - m.NON_MFA_METHODS if r else set()
            out.append(PrivilegedRow(
                upn=u.upn, display_name=u.display_name,
                roles=sorted(m.PRIVILEGED_ROLES[x] for x in priv),
                assignment="active" if active == priv else ("eligible" if not active else "active+eligible"),
                mfa_registered=None if r is None else r.mfa_registered, methods=list(r.methods) if r else [],
                phishing_resistant_only=None if r is None else bool(mfa) and mfa <= m.PHISHING_RESISTANT_METHODS,
                covered_by_mfa_policy=self._covered(u, roles), mfa_policy_apps=self._mfa_apps(u, roles)))
        return sorted(out, key=lambda r: r.upn.lower())

    def emergency(self) -> list[EmergencyRow]:
        out = []
        regs = self.p.registrations
        pols = [p for p in self.p.ca_policies or [] if p.requires_mfa and not p.workload and p.state != "disabled"]
        for name, u in self.f.emergency():
            if u is None:
                out.append(EmergencyRow(upn=name, exists=False, enabled=None,
                                        global_admin_active=None, methods=[], phishing_resistant=None,
                                        soft_or_phone_methods=[], excluded_from=[]))
                continue
            r = regs.get(u.id) if regs is not None else None
            # FIDO2 methods named by what their AAGUID says they are, as EA-02 judges them
            meths, strange, _ = methods_by_aaguid(r) if r else (set(), [], [])
            roles = (self.roles or {}).get(u.id, set())
            excluded = _safe(lambda u=u, roles=roles: [p.name for p in pols if self.f.exclusion_paths(p, u, roles)], [])
            out.append(EmergencyRow(
                upn=u.upn, exists=True, enabled=u.enabled,
                global_admin_active=None if self.p.role_assignments is None else m.GLOBAL_ADMIN in self.active.get(u.id, set()),
                methods=sorted(meths | ({"fido2SecurityKey"} if strange else set())),   # maker unknown
                phishing_resistant=None if r is None or (strange and not meths & m.EMERGENCY_METHODS)
                else bool(meths & m.EMERGENCY_METHODS),
                soft_or_phone_methods=sorted(meths & m.SOFT_OR_PHONE_METHODS),
                excluded_from=excluded))
        return out

    def policies(self) -> list[PolicyRow]:
        return [_policy_row(p, self.p) for p in sorted(self.p.ca_policies or [], key=lambda p: p.name.lower())]

    def phase2_sign_ins(self) -> list[SignInRow]:
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for s in self.p.sign_ins or []:
            if not is_phase2(s) or s.success is False:
                continue
            row = rows.setdefault((s.upn, phase2_label(s)), {"sf": 0, "mf": 0, "ni": 0, "last": s.created})
            row["sf" if s.requirement == "singleFactorAuthentication" else "mf"] += 1
            row["ni"] += 0 if s.interactive else 1
            row["last"] = max(row["last"], s.created)
        out = []
        for (upn, app), r in sorted(rows.items()):
            u = self.f.by_upn.get(upn.lower())
            out.append(SignInRow(upn=upn, display_name=u.display_name if u else "", app=app,
                                 single_factor=r["sf"], multi_factor=r["mf"], non_interactive=r["ni"],
                                 last=_iso(r["last"])))
        return out


def _names(ids, p: Posture, kind: str) -> str:
    by = ({u.id: u.upn for u in p.users or []} if kind == "users" else
          m.PRIVILEGED_ROLES if kind == "roles" else p.group_names)
    special = {"All": "All users", "None": "nobody", "GuestsOrExternalUsers": "guests"}
    return ", ".join(sorted(special.get(i, by.get(i, i)) for i in ids))


def _policy_row(pol: CAPolicy, p: Posture) -> PolicyRow:
    inc, exc = [], []
    for noun, ids, kind in (("users", pol.include_users, "users"), ("groups", pol.include_groups, "groups"),
                            ("roles", pol.include_roles, "roles")):
        if ids:
            inc.append(_names(ids, p, kind) if len(ids) <= 3 else f"{len(ids):,} {noun}")
    if pol.include_guests:
        inc.append("guests" if pol.include_guests.everyone else applicability.guest_scope_words(pol.include_guests))
    for noun, ids, kind in (("users", pol.exclude_users, "users"), ("groups", pol.exclude_groups, "groups"),
                            ("roles", pol.exclude_roles, "roles")):
        if ids:
            exc.append(_names(ids, p, kind) if len(ids) <= 3 else f"{len(ids):,} {noun}")
    if pol.exclude_guests:
        exc.append(applicability.guest_scope_words(pol.exclude_guests))
    users = "; ".join(inc) or "nobody"
    if exc:
        users += " — excludes " + ", ".join(exc)
    app_text = _app_scope(pol) or labels(USER_ACTION_LABELS, sorted(pol.include_user_actions)) or "none"
    if pol.conditions:
        app_text += "; " + "; ".join(applicability.condition_words(c, p.named_locations) for c in pol.conditions)
    g = pol.grant
    grant = [label(GRANT_LABELS, c) for c in sorted(g.controls)]
    grant += [f"Terms of use ({len(g.terms_of_use)})"] if g.terms_of_use else []
    grant += [f"Custom control ({len(g.custom_factors)})"] if g.custom_factors else []
    if g.strength is not None:   # worded like the other grant controls ("Require MFA")
        grant.append(f"Require authentication strength '{g.strength.name}'")
    if pol.workload:
        users = "workload identities (service principals) only"
    return PolicyRow(name=pol.name, state=pol.state, users=users, applications=app_text,
                     grant=(" and " if g.operator == "AND" else " or ").join(grant) or "none",
                     client_app_types=labels(CLIENT_APP_LABELS, sorted(pol.client_app_types)),
                     is_mfa_policy=pol.is_mfa_policy)


ALL_CLOUD_APPS = "All cloud apps"
SECURITY_DEFAULTS = "All apps (security defaults)"
APP_LABELS = {"All": ALL_CLOUD_APPS, "Office365": "Office 365", "MicrosoftAdminPortals": "Microsoft admin portals",
              m.APP_ARM: "Azure Resource Manager", m.APP_AZURE_PORTAL: "Azure portal"}


def _app_names(pol: CAPolicy) -> list[str]:
    """The applications a policy targets, in words; "All cloud apps except 2" when it excludes some."""
    if "All" in pol.include_apps:
        return [ALL_CLOUD_APPS + (f" except {len(pol.exclude_apps)}" if pol.exclude_apps else "")]
    return sorted(APP_LABELS.get(a, a) for a in pol.include_apps)


def _app_scope(pol: CAPolicy) -> str:
    return ", ".join(_app_names(pol))
