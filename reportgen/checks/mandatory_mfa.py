"""Microsoft's mandatory MFA for Azure: phase 1 (admin portals), phase 2 (Azure Resource Manager),
automation on user accounts, enforcement notices and postponement."""
from __future__ import annotations

import re

from reportgen import model as m
from reportgen.checks.applicability import ALL_APPS, ARM_APPS, PORTAL_APPS
from reportgen.checks.common import (POLICY_DATA, ROLE_DATA, SIGN_IN_DATA, SIGN_INS_DS, affected, when)
from reportgen.checks.context import NON_INTERACTIVE_SIGN_INS, Context
from reportgen.checks.registry import NotEvaluated, Outcome, check
from reportgen.model import User
from reportgen.vocab import Cause, Status

PASS, FAIL, WARN, NOT_EVALUATED, MANUAL = Status.PASS, Status.FAIL, Status.WARN, Status.NOT_EVALUATED, Status.MANUAL


def _arm_uncovered(ctx: Context) -> list[User]:
    roles = ctx.user_roles()
    return [u for u in ctx.enabled
            if not ctx.covered(u, roles.get(u.id, set()), ALL_APPS | ARM_APPS, "mobileAppsAndDesktopClients")]


def _phase2_single(ctx: Context) -> dict[str, list[m.SignIn]]:
    out: dict[str, list[m.SignIn]] = {}
    for s in ctx.need(ctx.p.sign_ins, "auditLogs/signIns"):
        if s.app_id in m.PHASE2_APPS and s.success and s.requirement == "singleFactorAuthentication":
            out.setdefault(s.upn, []).append(s)
    return out


@check("MMFA-01", reads=POLICY_DATA + (SIGN_INS_DS,))
def phase1_admin_portals_require_mfa(ctx: Context) -> Outcome:
    p = ctx.p
    if p.security_defaults is True:
        how = "security defaults"
        uncovered: list[User] = []
    else:
        ctx.policies
        roles = ctx.user_roles()
        uncovered = [u for u in ctx.enabled if not ctx.covered(u, roles.get(u.id, set()), ALL_APPS | PORTAL_APPS)]
        how = "Conditional Access"
    if uncovered:
        return Outcome(FAIL, f"{len(uncovered)} enabled user(s) can reach the Azure, Entra and Intune admin portals "
                      "without a Conditional Access policy requiring MFA.",
                [affected(u, "no MFA policy covers the admin portals") for u in uncovered], {"uncovered_users": len(uncovered)})
    sign_ins = ctx.need(p.sign_ins, "auditLogs/signIns")
    single = [s for s in sign_ins if s.app_id in m.PHASE1_APPS and s.success
              and s.requirement == "singleFactorAuthentication"]
    if single:
        by_user: dict[str, list] = {}
        for s in single:
            by_user.setdefault(s.upn, []).append(s)
        aff = [affected(ctx.by_upn.get(upn.lower()), f"{len(v)} single-factor sign-in(s) to {v[0].app_name or v[0].app_id}, "
                    f"last {when(max(x.created for x in v))}", upn) for upn, v in sorted(by_user.items())]
        return Outcome(FAIL, f"MFA is required by {how}, yet {len(single)} successful single-factor sign-in(s) to the admin "
                      "portals occurred in the lookback window.", aff, {"single_factor_sign_ins": len(single)})
    return Outcome(PASS, f"Every user must complete MFA for the admin portals ({how}), and no single-factor admin-portal "
                  "sign-in occurred in the lookback window.", [], {"single_factor_sign_ins": 0})


@check("MMFA-02", reads=POLICY_DATA)
def phase2_arm_already_requires_mfa(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(PASS, "Security defaults already require MFA for Azure management: the phase 2 roll-out changes nothing.", [], {})
    ctx.policies
    uncovered = _arm_uncovered(ctx)
    metrics = {"uncovered_users": len(uncovered), "enabled_users": len(ctx.enabled)}
    if not uncovered:
        return Outcome(PASS, "Conditional Access already requires MFA for Azure Resource Manager for every enabled user: "
                      "the phase 2 roll-out changes nothing.", [], metrics)
    return Outcome(FAIL, f"{len(uncovered)} of {len(ctx.enabled)} enabled users are not yet required to use MFA for Azure "
                  "Resource Manager (CLI, PowerShell, REST, IaC); phase 2 enforcement will change their experience.",
            [affected(u, "no MFA policy covers Azure Resource Manager") for u in uncovered], metrics)


@check("MMFA-03", reads=SIGN_IN_DATA)
def phase2_no_single_factor_azure_tool_sign_ins(ctx: Context) -> Outcome:
    single = _phase2_single(ctx)
    phase2 = [s for s in ctx.p.sign_ins if s.app_id in m.PHASE2_APPS and s.success]
    unknown = [s for s in phase2 if s.requirement is None]
    metrics = {"phase2_sign_ins": len(phase2), "single_factor_users": len(single),
               "single_factor_sign_ins": sum(len(v) for v in single.values())}
    if single:
        aff = []
        for upn, items in sorted(single.items()):
            apps: dict[str, list] = {}
            for s in items:
                apps.setdefault(m.PHASE2_APPS[s.app_id], []).append(s)
            detail = "; ".join(f"{a}: {len(v)} single-factor sign-in(s), last {when(max(x.created for x in v))}"
                               for a, v in sorted(apps.items()))
            aff.append(affected(ctx.by_upn.get(upn.lower()), detail, upn))
        return Outcome(FAIL, f"{len(single)} user(s) signed in to Azure CLI, Azure PowerShell or the Azure mobile app without "
                      "MFA; phase 2 enforcement will block them.", aff, metrics)
    if unknown:
        return Outcome(WARN, f"{len(unknown)} sign-in(s) to the phase 2 apps do not state whether MFA was used.", [], metrics)
    return Outcome(PASS, f"All {len(phase2)} successful sign-ins to Azure CLI, PowerShell and the mobile app in the lookback "
                  "window used MFA.", [], metrics)


@check("MMFA-04", reads=SIGN_IN_DATA)
def automation_uses_workload_identities(ctx: Context) -> Outcome:
    pattern = re.compile(ctx.inp.service_account_pattern)
    found: dict[str, tuple[User | None, list[str]]] = {}
    for u in ctx.enabled:
        if u.user_type.lower() != "guest" and (pattern.search(u.upn.split("@")[0]) or pattern.search(u.display_name)):
            found.setdefault(u.upn, (u, []))[1].append("name matches the service-account pattern")
    # scripted use shows in the non-interactive log: without it, a clean result proves nothing
    missing = ("auditLogs/signIns" if ctx.p.sign_ins is None else
               NON_INTERACTIVE_SIGN_INS if ctx.p.gap_reason(NON_INTERACTIVE_SIGN_INS) is not None else None)
    if missing:
        if found:
            return Outcome(FAIL, f"{len(found)} user account(s) look like automation; sign-in logs were not collected, so "
                          "scripted CLI/PowerShell use could not be measured.",
                    [affected(u, "; ".join(r), upn) for upn, (u, r) in sorted(found.items())], {"accounts": len(found)})
        ctx.need(None, missing)
    counts: dict[str, int] = {}
    for s in ctx.p.sign_ins:
        if s.app_id in (m.APP_AZURE_CLI, m.APP_AZURE_POWERSHELL) and not s.interactive:
            counts[s.upn] = counts.get(s.upn, 0) + 1
    for upn, n in counts.items():
        u = ctx.by_upn.get(upn.lower())
        found.setdefault(upn, (u, []))[1].append(f"{n} non-interactive Azure CLI/PowerShell sign-in(s)")
    if found:
        return Outcome(FAIL, f"{len(found)} user account(s) run Azure automation; move it to a service principal or managed "
                      "identity before phase 2 enforcement breaks it.",
                [affected(u, "; ".join(r), upn) for upn, (u, r) in sorted(found.items())], {"accounts": len(found)})
    return Outcome(PASS, "No user account shows scripted Azure CLI or PowerShell use.", [], {"accounts": 0})


@check("MMFA-05", reads=ROLE_DATA)
def global_admins_receive_notices(ctx: Context) -> Outcome:
    holders = ctx.role_holders(("active",))
    gas = [ctx.users_by_id[uid] for uid, roles in holders.items() if m.GLOBAL_ADMIN in roles]
    if not gas:
        return Outcome(NOT_EVALUATED, "No Global Administrator was found among the collected role assignments.", [], {},
                       Cause.NO_SUBJECTS)
    without = [u for u in gas if not u.mail and not u.other_mails]
    metrics = {"global_admins": len(gas), "without_email": len(without)}
    if without:
        return Outcome(FAIL, f"{len(without)} of {len(gas)} Global Administrators have no email address; Microsoft sends "
                      "enforcement notices to Global Administrators by email.",
                [affected(u, "no mail and no otherMails") for u in sorted(without, key=lambda u: u.upn)], metrics)
    return Outcome(PASS, f"All {len(gas)} Global Administrators have an email address for Microsoft's enforcement notices.", [], metrics)


@check("MMFA-06", reads=())
def phase2_not_postponed(ctx: Context) -> Outcome:
    v = ctx.inp.phase2_postponed
    if v is True:
        return Outcome(FAIL, "The client attests that phase 2 enforcement was postponed; Microsoft strongly discourages it.", [], {})
    if v is False:
        return Outcome(PASS, "The client attests that phase 2 enforcement was not postponed.", [], {})
    return Outcome(MANUAL, "Postponement is an Azure Resource Manager setting that Graph cannot read; the client has not "
                    "attested whether phase 2 was postponed.", [], {}, Cause.NOT_ATTESTED)
