"""Microsoft's mandatory MFA for Azure: phase 1 (admin portals), phase 2 (Azure Resource Manager),
automation on user accounts, enforcement notices and postponement.

A check that passes because no bad sign-in was seen needs logs for the whole lookback window
(``Context.full_window``); with less it is at best ``warn``. A sign-in whose factor cannot be read
is never counted as MFA, and one whose outcome cannot be read counts as a possible success.
"""
from __future__ import annotations

import functools
import re

from reportgen import model as m
from reportgen.checks import applicability as scope
from reportgen.checks.applicability import ALL_APPS, ARM_APPS, PORTAL_APPS
from reportgen.checks.common import LICENCES, POLICY_DATA, ROLE_DATA, SIGN_IN_DATA, SIGN_INS_DS, affected, sentence, when
from reportgen.checks.context import NON_INTERACTIVE_SIGN_INS, Context
from reportgen.checks.exclusions import describe as describe_exclusions
from reportgen.checks.registry import Outcome, check
from reportgen.facts import FACTS
from reportgen.model import SignIn, User
from reportgen.results import Affected
from reportgen.vocab import LAPSED_METRIC, Cause, Status, count, verb

PASS, FAIL, WARN, NOT_EVALUATED, MANUAL = Status.PASS, Status.FAIL, Status.WARN, Status.NOT_EVALUATED, Status.MANUAL
SD_ON = "Security defaults are on"
AUTOMATION_APPS = (m.APP_AZURE_CLI, m.APP_AZURE_POWERSHELL)
ADMIN_PORTALS = frozenset({"MicrosoftAdminPortals"})   # the Azure portal app alone misses the M365 admin center
CLOUD_WORDS = {"usgov": "the US Government cloud", "usgov-dod": "the US Government (DoD) cloud",
               "china": "Azure operated by 21Vianet in China"}
NOT_ENFORCED = ("Microsoft does not currently enforce mandatory MFA in Azure in {cloud}, the client's cloud: not "
                "enforced in this cloud, so this check is judged as good practice only.")


def _enforced(ctx: Context) -> bool:
    return ctx.inp.cloud in ctx.timeline.enforced_clouds


def _cloud_note(fn):
    """In a cloud where Microsoft does not enforce mandatory MFA, the check is still judged (good
    practice) and its reason says that enforcement does not apply there."""
    @functools.wraps(fn)
    def wrapper(ctx: Context) -> Outcome:
        o = fn(ctx)
        if not _enforced(ctx):
            o.reason = f"{o.reason} {NOT_ENFORCED.format(cloud=CLOUD_WORDS.get(ctx.inp.cloud, ctx.inp.cloud))}"
        return o
    return wrapper


def is_phase2(s: SignIn) -> bool:
    """A sign-in that phase 2 reaches: to Azure Resource Manager from any client, or to the Azure
    CLI, Azure PowerShell or the Azure mobile app. The admin portals also sign in to Azure Resource
    Manager; phase 1 covers them (MMFA-01), so they are not counted twice."""
    return s.app_id in m.PHASE2_APPS or (s.resource_id == m.APP_ARM and s.app_id not in m.PHASE1_APPS)


def phase2_label(s: SignIn) -> str:
    return m.PHASE2_APPS.get(s.app_id) or f"{s.app_name or s.app_id} (Azure Resource Manager)"


def _uncovered(ctx: Context, apps: frozenset[str], what: str, guard: frozenset[str] = frozenset()) -> list[Affected]:
    roles = ctx.user_roles()
    out = []
    for u in ctx.enabled:
        ok, why = ctx.coverage(u, roles.get(u.id, set()), apps, guard=guard)
        if not ok:
            out.append(affected(u, f"not required to use MFA for {what}: {why}"))
    return out


def _exclusion_notes(ctx: Context, apps: frozenset[str], guard: frozenset[str] = frozenset()) -> str:
    """The exclusions that do not narrow the MFA policies covering ``apps`` (emergency access accounts,
    the service exclusion, exclusions that reach no one), named as MFA-01 names them: a pass must not
    read as "no exclusion"."""
    notes: dict[str, None] = {}   # persona designs repeat the same exclusion in each policy: once
    for p in ctx.policies:
        if p.is_mfa_policy and not p.workload and not p.conditions and scope.covers_app(p, apps, guard):
            notes.update(dict.fromkeys(describe_exclusions(ctx, p).notes()))
    return f" ({'; '.join(notes)})" if notes else ""


def _attempts(ctx: Context, apps) -> tuple[list[SignIn], list[SignIn]]:
    """(single-factor sign-ins that succeeded or whose outcome is unknown, sign-ins of unknown factor
    that did not fail) to ``apps`` (app ids, or a test of a sign-in)."""
    match = apps if callable(apps) else (lambda s: s.app_id in apps)
    single, unknown = [], []
    for s in ctx.need(ctx.p.sign_ins, "auditLogs/signIns"):
        if not match(s) or s.success is False:
            continue
        if s.requirement == "singleFactorAuthentication":
            single.append(s)
        elif s.requirement is None:
            unknown.append(s)
    return single, unknown


def _by_user(ctx: Context, sign_ins: list[SignIn], label) -> list[Affected]:
    groups: dict[str, list[SignIn]] = {}
    for s in sign_ins:
        groups.setdefault(s.upn, []).append(s)
    out = []
    for upn, items in sorted(groups.items()):
        apps: dict[str, list[SignIn]] = {}
        for s in items:
            apps.setdefault(label(s), []).append(s)
        detail = "; ".join(f"{a}: {count(len(v), 'single-factor sign-in')}"
                           + (f" ({sum(1 for x in v if x.success is None):,} with no recorded outcome)"
                              if any(x.success is None for x in v) else "")
                           + f", last {when(max(x.created for x in v))}" for a, v in sorted(apps.items()))
        out.append(affected(ctx.by_upn.get(upn.lower()), detail, upn))
    return out


def _merge(*lists: list[Affected]) -> list[Affected]:
    merged: dict[str, Affected] = {}
    for lst in lists:
        for a in lst:
            if a.upn in merged:
                merged[a.upn].detail += "; " + a.detail
            else:
                merged[a.upn] = Affected(a.upn, a.display_name, a.detail, object_id=a.object_id)
    return [merged[k] for k in sorted(merged)]


def _portal_gaps(ctx: Context) -> tuple[list[Affected], list[Affected]]:
    """(users no policy covers for the admin portals, users covered for the Azure portal app only).
    Only All apps or Microsoft Admin Portals reach the Microsoft 365 admin center as well."""
    guard = ADMIN_PORTALS | frozenset(m.PHASE1_APPS)   # excluding any admin portal app leaves it uncovered
    uncovered = _uncovered(ctx, ALL_APPS | ADMIN_PORTALS, "the admin portals", guard)
    if not uncovered:
        return [], []
    azure_gap = {a.upn for a in _uncovered(ctx, ALL_APPS | PORTAL_APPS, "the Azure portal", guard)}
    portal_only = [Affected(a.upn, a.display_name, "required to use MFA for the Azure portal app only, not for the "
                                                   "Microsoft 365 admin center", object_id=a.object_id)
                   for a in uncovered if a.upn not in azure_gap]
    return [a for a in uncovered if a.upn in azure_gap], portal_only


@check("MMFA-01", reads=POLICY_DATA + (SIGN_INS_DS, LICENCES))
@_cloud_note
def phase1_admin_portals_require_mfa(ctx: Context) -> Outcome:
    p = ctx.p
    if p.security_defaults is True:
        how, uncovered, portal_only = "security defaults are on", [], []
    else:
        _ = ctx.policies   # not evaluated without them
        uncovered, portal_only = _portal_gaps(ctx)
        notes = _exclusion_notes(ctx, ALL_APPS | ADMIN_PORTALS, ADMIN_PORTALS | frozenset(m.PHASE1_APPS))
        how = f"Conditional Access requires MFA for the admin portals{notes}"
    single, unknown = _attempts(ctx, m.PHASE1_APPS)
    single_aff = _by_user(ctx, single, lambda s: m.PHASE1_APPS.get(s.app_id, s.app_name or s.app_id))
    metrics = {"uncovered_users": len(uncovered), "single_factor_sign_ins": len(single),
               "unknown_factor_sign_ins": len(unknown), "azure_portal_only_users": len(portal_only)}
    if portal_only and not (uncovered or single):
        n = len(portal_only)
        return Outcome(WARN, f"{count(n, 'enabled user')} {verb(n, 'is', 'are')} required to use MFA for the Azure portal "
                             f"app only: the tenant's policies name that app rather than All apps or Microsoft Admin "
                             f"Portals, which leaves the {m.PHASE1_APPS[m.APP_M365_ADMIN]} uncovered.", portal_only, metrics)
    uncovered = uncovered + portal_only
    if uncovered or single:
        parts = []
        if uncovered:
            parts.append(f"{count(len(uncovered), 'enabled user')} {verb(len(uncovered), 'is', 'are')} not required by the "
                         "tenant's own policies to use MFA for the Azure, Entra, Intune and Microsoft 365 admin portals "
                         "(a coverage gap)")
        if single:
            parts.append(f"{count(len(single), 'sign-in')} to the admin portals completed without MFA in the lookback "
                         "window")
        return Outcome(FAIL, sentence("; ".join(parts)), _merge(uncovered, single_aff), metrics)
    if unknown:
        return Outcome(WARN, f"{sentence(how, end=False)}, but {count(len(unknown), 'sign-in')} to the admin portals "
                             f"{verb(len(unknown), 'does', 'do')} not show whether MFA was used (no authentication "
                             "requirement or MFA detail), so single-factor use cannot be ruled out.", [], metrics)
    if not ctx.full_window():
        return Outcome(WARN, f"{sentence(how, end=False)}, and no single-factor admin-portal sign-in was seen, but "
                             f"{ctx.window_shortfall()}.", [], {**metrics, "window_days": round(ctx.window_days())})
    return Outcome(PASS, f"{sentence(how, end=False)}, and no single-factor sign-in to the admin portals occurred in the lookback "
                         "window.", [], metrics)


@check("MMFA-02", reads=POLICY_DATA)
@_cloud_note
def phase2_arm_already_requires_mfa(ctx: Context) -> Outcome:
    if ctx.p.security_defaults is True:
        return Outcome(PASS, f"{SD_ON}; they require MFA for access to Azure Resource Manager (portal, PowerShell, CLI), so "
                             "the phase 2 roll-out changes nothing.", [], {})
    _ = ctx.policies   # not evaluated without them
    uncovered = _uncovered(ctx, ALL_APPS | ARM_APPS, "Azure Resource Manager")
    metrics = {"uncovered_users": len(uncovered), "enabled_users": len(ctx.enabled)}
    if not uncovered:
        notes = _exclusion_notes(ctx, ALL_APPS | ARM_APPS)
        return Outcome(PASS, f"Conditional Access already requires MFA for Azure Resource Manager for every enabled user"
                             f"{notes}: the phase 2 roll-out changes nothing.", [], metrics)
    return Outcome(FAIL, f"{len(uncovered):,} of {count(len(ctx.enabled), 'enabled user')} "
                         f"{verb(len(uncovered), 'is', 'are')} not required by the tenant's own policies to use MFA for "
                         "Azure Resource Manager (CLI, PowerShell, REST, IaC); phase 2 enforcement, not the tenant, "
                         "decides when their create, update and delete operations need MFA.",
                   uncovered, metrics)


@check("MMFA-03", reads=SIGN_IN_DATA)
@_cloud_note
def phase2_no_single_factor_azure_tool_sign_ins(ctx: Context) -> Outcome:
    single, unknown = _attempts(ctx, is_phase2)
    users = {s.upn for s in single}
    phase2 = [s for s in ctx.p.sign_ins if is_phase2(s) and s.success is not False]
    metrics = {"phase2_sign_ins": len(phase2), "single_factor_users": len(users),
               "single_factor_sign_ins": len(single), "unknown_factor_sign_ins": len(unknown)}
    what = "Azure Resource Manager (through Azure CLI, Azure PowerShell, the Azure mobile app or any other client)"
    if single:
        return Outcome(FAIL, f"{count(len(users), 'user')} signed in to {what} without MFA. Under phase 2 enforcement "
                             "their create, update and delete operations through Azure Resource Manager fail until they "
                             "complete MFA.",
                       _by_user(ctx, single, phase2_label), metrics)
    if unknown:
        return Outcome(WARN, f"{count(len(unknown), 'sign-in')} to {what} {verb(len(unknown), 'does', 'do')} not show "
                             "whether MFA was used, so single-factor use cannot be ruled out.", [], metrics)
    if not ctx.full_window():
        return Outcome(WARN, f"No single-factor sign-in to Azure Resource Manager was seen, but {ctx.window_shortfall()}.",
                       [], {**metrics, "window_days": round(ctx.window_days())})
    return Outcome(PASS, f"All {len(phase2):,} sign-ins to {what} in the lookback window used MFA.", [], metrics)


def _named_automation(ctx: Context) -> dict[str, tuple[User | None, list[str]]]:
    pattern = re.compile(ctx.inp.service_account_pattern)
    found: dict[str, tuple[User | None, list[str]]] = {}
    for u in ctx.enabled:
        if not u.is_guest and (pattern.search(u.upn.split("@")[0]) or pattern.search(u.display_name)):
            found.setdefault(u.upn, (u, []))[1].append("name matches the service-account pattern")
    return found


@check("MMFA-04", reads=SIGN_IN_DATA)
@_cloud_note
def automation_uses_workload_identities(ctx: Context) -> Outcome:
    found = _named_automation(ctx)
    # scripted use shows in the non-interactive log: without it, a clean result proves nothing
    missing = ("auditLogs/signIns" if ctx.p.sign_ins is None else
               NON_INTERACTIVE_SIGN_INS if ctx.p.gap_reason(NON_INTERACTIVE_SIGN_INS) is not None else None)
    if missing:
        if found:
            return Outcome(FAIL, f"{count(len(found), 'user account')} {verb(len(found), 'looks', 'look')} like automation; "
                                 "the sign-in logs needed to measure scripted CLI/PowerShell use were not collected.",
                           [affected(u, "; ".join(r), upn) for upn, (u, r) in sorted(found.items())], {"accounts": len(found)})
        ctx.need(None, missing)
    interactive: dict[str, int] = {}
    non_interactive: dict[str, int] = {}
    ropc: dict[str, int] = {}
    refused: dict[str, int] = {}
    for s in ctx.p.sign_ins:
        if s.app_id not in AUTOMATION_APPS:
            continue
        if s.success is False:
            if s.error_code in FACTS.mfa_required_errors:
                refused[s.upn] = refused.get(s.upn, 0) + 1
            continue
        if s.protocol.lower() == "ropc":
            ropc[s.upn] = ropc.get(s.upn, 0) + 1
        (interactive if s.interactive else non_interactive)[s.upn] = \
            (interactive if s.interactive else non_interactive).get(s.upn, 0) + 1
    for upn, n in ropc.items():
        found.setdefault(upn, (ctx.by_upn.get(upn.lower()), []))[1].append(
            f"{count(n, 'sign-in')} with a password sent by a script (resource-owner password credentials)")
    for upn, n in refused.items():
        if upn not in interactive:   # a person prompted for MFA completes it; a script only fails
            found.setdefault(upn, (ctx.by_upn.get(upn.lower()), []))[1].append(
                f"{count(n, 'failed Azure CLI/PowerShell sign-in')} refused because MFA was required "
                f"(errors {', '.join(str(c) for c in sorted(FACTS.mfa_required_errors))}) and no successful "
                "interactive one: a script that MFA already stops")
    for upn, n in non_interactive.items():
        if upn not in interactive:  # beside interactive ones, these are a person's token refreshes
            found.setdefault(upn, (ctx.by_upn.get(upn.lower()), []))[1].append(
                f"{count(n, 'non-interactive Azure CLI/PowerShell sign-in')} and no interactive one in the window")
    metrics = {"accounts": len(found)}
    if found:
        return Outcome(FAIL, f"{count(len(found), 'user account')} {verb(len(found), 'shows', 'show')} scripted use of "
                             "Azure CLI or PowerShell; such automation cannot answer an MFA prompt and must move to a "
                             "service principal or managed identity.",
                       [affected(u, "; ".join(r), upn) for upn, (u, r) in sorted(found.items())], metrics)
    if not ctx.full_window():
        return Outcome(WARN, f"No user account shows scripted Azure CLI or PowerShell use, but {ctx.window_shortfall()}.",
                       [], {**metrics, "window_days": round(ctx.window_days())})
    return Outcome(PASS, "No user account shows scripted Azure CLI or PowerShell use.", [], metrics)


@check("MMFA-05", reads=ROLE_DATA + (LICENCES,))
@_cloud_note
def global_admins_receive_notices(ctx: Context) -> Outcome:
    holders = ctx.role_holders(("active",))
    gas = sorted((ctx.users_by_id[uid] for uid, roles in holders.items() if m.GLOBAL_ADMIN in roles), key=lambda u: u.upn)
    unresolved = ctx.unresolved({m.GLOBAL_ADMIN}, ("active",))
    if not gas:
        if unresolved:
            ctx.need(None, "roleManagement/directory/roleAssignments")
        return Outcome(NOT_EVALUATED, "No Global Administrator was found among the collected role assignments.", [], {},
                       Cause.NO_SUBJECTS)
    without = [u for u in gas if not u.mail and not u.other_mails]
    metrics = {"global_admins": len(gas), "without_email": len(without), "unidentified_assignments": len(unresolved)}
    n = len(unresolved)
    extra = (f" {count(n, 'further Global Administrator assignment')} {verb(n, 'names', 'name')} a principal that could "
             f"not be identified, so {verb(n, 'it is', 'they are')} not counted.") if unresolved else ""
    if without:
        return Outcome(FAIL, f"{len(without):,} of {count(len(gas), 'Global Administrator')} "
                             f"{verb(len(without), 'has', 'have')} no email address; Microsoft sends "
                             f"enforcement notices to Global Administrators by email.{extra}",
                       [affected(u, "no primary or alternate email address") for u in without], metrics)
    if unresolved:
        return Outcome(NOT_EVALUATED, f"The {count(len(gas), 'Global Administrator')} found "
                                      f"{verb(len(gas), 'has', 'have')} an email address, but "
                                      f"{count(n, 'Global Administrator assignment')} {verb(n, 'names', 'name')} a "
                                      "principal that could not be identified, so not every Global Administrator was "
                                      "checked.",
                       [], metrics, Cause.NOT_COLLECTED)
    mailbox = [u.has_mailbox for u in gas]
    if True not in mailbox:
        why = ("none of them holds a licence with an Exchange Online mailbox" if None not in mailbox else
               "the data does not show that any of them holds a licence with an Exchange Online mailbox")
        return Outcome(WARN, f"All {len(gas):,} Global Administrators have an email address, but {why}; Microsoft sends its "
                             "notices to licensed administrators, so confirm the addresses are monitored.",
                       [affected(u, "no mailbox licence" if u.has_mailbox is False else "mailbox licence unknown")
                        for u in gas], metrics)
    return Outcome(PASS, f"All {len(gas):,} Global Administrators have an email address for Microsoft's enforcement notices, "
                         "and at least one holds a mailbox licence.", [], metrics)


@check("MMFA-06", reads=())
def phase2_not_postponed(ctx: Context) -> Outcome:
    v = ctx.inp.phase2_postponed
    tl = ctx.timeline
    deadline = tl.human("postponement-deadline")
    if not _enforced(ctx):
        return Outcome(MANUAL, NOT_ENFORCED.format(cloud=CLOUD_WORDS.get(ctx.inp.cloud, ctx.inp.cloud)).replace(
            "so this check is judged as good practice only", "so a postponement of phase 2 has nothing to postpone"),
            [], {}, Cause.NOT_ATTESTED)
    if tl.passed("postponement-deadline", ctx.on):
        stale = (" The client's attestation that phase 2 was postponed is out of date: no postponement runs past that "
                 "date.") if v is True else ""
        return Outcome(PASS, f"Postponement no longer applies: the window for postponing phase 2 closed on {deadline}, "
                             f"and Microsoft's roll-out reaches the tenant without it.{stale}", [], {LAPSED_METRIC: 1})
    if v is True:
        return Outcome(FAIL, f"The client attests that phase 2 enforcement was postponed (possible until {deadline}); "
                             "Microsoft strongly discourages it.", [], {})
    if v is False:
        return Outcome(PASS, "The client attests that phase 2 enforcement was not postponed.", [], {})
    return Outcome(MANUAL, "Postponement is an Azure Resource Manager setting that Graph cannot read; the client has not "
                           f"attested whether phase 2 was postponed (possible until {deadline}).", [], {},
                   Cause.NOT_ATTESTED)
