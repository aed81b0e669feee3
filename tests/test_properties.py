"""Property tests of the check engine over generated postures.

For any posture — random users, registrations, CA policies, roles, groups, sign-ins, and any data
field left "not collected" (None) — run_checks never raises, reports each check once with a known
status and a reason, never passes a check whose data (each check's ``reads``) is missing, and
apply_exceptions marks `excepted` only with in-force exceptions of that check covering every subject.
"""
from __future__ import annotations

import sys
from datetime import timedelta
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from postures import DATA_FIELDS, NOW, TODAY, PostureBuilder, ca_policy, exception, uid  # noqa: E402

from reportgen import model as m  # noqa: E402
from reportgen.checks import NON_INTERACTIVE_SIGN_INS, Inputs, apply_exceptions, check_ids, registered, run_checks  # noqa: E402
from reportgen.checks import readiness as _readiness_pair

CHECK_IDS = check_ids()


def readiness(results, p):
    phase1, phase2 = _readiness_pair(results, p)
    return {"mandatory_mfa_phase1": phase1, "mandatory_mfa_phase2": phase2}
from reportgen.model import Posture  # noqa: E402

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UPNS = ["ann@x.com", "ben@x.com", "cat@x.com", "svc-build@x.com", "bg-01@x.onmicrosoft.com", "bg-02@x.onmicrosoft.com"]
GROUPS = ["g0", "g1", "g2"]
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
ROLES = [m.GLOBAL_ADMIN, HELPDESK, "194ae4cb-b126-40b2-bd5b-6091b380977d", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"]
METHODS = ["fido2SecurityKey", "windowsHelloForBusiness", "passKeySynced", "microsoftAuthenticatorPush",
           "softwareOneTimePasscode", "mobilePhone", "email", "temporaryAccessPass", "someFutureMethod"]
APPS = ["All", "Office365", "MicrosoftAdminPortals", m.APP_ARM, m.APP_AZURE_PORTAL]
SIGNIN_APPS = [m.APP_AZURE_PORTAL, m.APP_M365_ADMIN, m.APP_AZURE_CLI, m.APP_AZURE_POWERSHELL, m.APP_AZURE_MOBILE,
               "00000002-0000-0ff1-ce00-000000000000"]
STATUSES = {"pass", "fail", "warn", "not_evaluated", "manual"}


@cache
def _subset(pool: tuple, max_size: int):
    return st.lists(st.sampled_from(pool), max_size=max_size, unique=True)


def subset(pool, max_size=3):
    return _subset(tuple(pool), max_size)


# strategies built once: building them inside every draw is what makes generation slow
S_STATE = st.sampled_from(["enabled", "enabled", "disabled", "enabledForReportingButNotEnforced", "odd"])
S_INCLUDE_USERS = st.one_of(st.just(["All"]), subset(UPNS), st.just([]))
S_APPS = st.one_of(st.just(["All"]), subset(APPS, 2))
S_CLIENT_TYPES = st.one_of(st.just(["all"]), subset(["browser", "mobileAppsAndDesktopClients", "exchangeActiveSync",
                                                     "other"], 4).filter(bool))
S_STRENGTH = st.sampled_from([None, None, m.STRENGTH_MFA, m.STRENGTH_PHISHING_RESISTANT])
S_TRI = st.sampled_from([True, False, None])
S_LAST = st.sampled_from([None, NOW - timedelta(days=2), NOW - timedelta(days=200)])
S_KNOWN = st.sampled_from([True, True, True, False])
S_KIND = st.sampled_from(["active", "active", "eligible"])
S_ONOFF = st.sampled_from(["enabled", "disabled"])


@st.composite
def policies(draw):
    return ca_policy(
        f"policy-{draw(st.integers(0, 10**6))}", state=draw(S_STATE),
        users=draw(S_INCLUDE_USERS), exclude_users=draw(subset(UPNS, 2)), groups=draw(subset(GROUPS, 1)),
        exclude_groups=draw(subset(GROUPS, 2)), roles=draw(subset(ROLES, 2)), exclude_roles=draw(subset(ROLES, 1)),
        guests=draw(st.booleans()), exclude_guests=draw(st.booleans()),
        apps=draw(S_APPS), exclude_apps=draw(subset([m.APP_ARM, "Office365"], 1)),
        user_actions=draw(subset(["urn:user:registersecurityinfo"], 1)), client_types=draw(S_CLIENT_TYPES),
        controls=draw(subset(["mfa", "block", "compliantDevice"], 2)), strength=draw(S_STRENGTH),
        conditions=draw(st.booleans()))


S_POLICIES = st.lists(policies(), max_size=4)
S_UPNS = st.lists(st.sampled_from(UPNS), unique=True, max_size=len(UPNS))


@st.composite
def scenarios(draw):
    b = PostureBuilder()
    for upn in draw(S_UPNS):
        registered = draw(S_TRI)
        b.user(upn, registered=registered, methods=draw(subset(METHODS)) if registered is not None else None,
               capable=draw(st.booleans()), enabled=draw(st.booleans()), guest=draw(st.booleans()),
               mail=draw(st.sampled_from([upn, None])), other_mails=draw(subset(["alt@y.com"], 1)),
               last_sign_in=draw(S_LAST), sign_in_activity_known=draw(S_KNOWN))
    for gid in GROUPS:
        b.group(gid, *draw(subset(UPNS + [g for g in GROUPS if g != gid])))
    for _ in range(draw(st.integers(0, 4))):
        b.role(draw(st.sampled_from(UPNS + GROUPS)), draw(st.sampled_from(ROLES)), kind=draw(S_KIND))
    b.policy(*draw(S_POLICIES))
    for _ in range(draw(st.integers(0, 5))):
        b.sign_in(draw(st.sampled_from(UPNS)), draw(st.sampled_from(SIGNIN_APPS)), mfa=draw(S_TRI),
                  interactive=draw(st.booleans()), success=draw(st.booleans()), days_ago=draw(st.integers(0, 29)))
    b.security_defaults(draw(S_TRI))
    b.methods_policy(sms=draw(S_ONOFF), voice=draw(S_ONOFF))
    b.licences(p1=draw(S_TRI), p2=draw(S_TRI))
    if draw(st.booleans()):
        b.gap(NON_INTERACTIVE_SIGN_INS, "the app lacks the permission AuditLog.Read.All")
    b.missing(*draw(st.sets(st.sampled_from(DATA_FIELDS))))
    p = b.build()
    if p.group_members is not None and draw(st.booleans()):
        p.group_members.pop(draw(st.sampled_from(GROUPS)))          # one group's members did not arrive
    if draw(st.integers(0, 9)) == 0:
        p.window_start = p.window_end - timedelta(days=7)            # logs shorter than the lookback window
    inp = Inputs(emergency_accounts=draw(subset(UPNS + ["ghost@x.onmicrosoft.com", uid(UPNS[4])], 3)),
                 phase2_postponed=draw(st.sampled_from([True, False, "unknown", None])),
                 dormant_days=draw(st.sampled_from([30, 90])))
    return p, inp


# --------------------------------------------------------------------------- what each check needs

def _keys(p: Posture) -> set[str]:
    return set(p.group_members) if p.group_members is not None else set()


def roles_ok(p: Posture, eligible: bool) -> bool:
    """Role holders can be computed: assignments (and, in a P2 tenant, eligibility) and role groups' members."""
    if p.role_assignments is None:
        return False
    items = list(p.role_assignments)
    if eligible:
        if p.eligible_assignments is None and p.has_p2 is not False:
            return False
        items += p.eligible_assignments or []
    return {r.principal_id for r in items if r.principal_type == "group"} <= _keys(p)


def membership_ok(p: Posture, subjects, pols) -> bool:
    """Applicability of ``pols`` to ``subjects`` can be computed: members of the policies' groups, and roles where
    a policy excludes one. With nobody to apply policies to, or no policy, membership is not needed."""
    if not list(subjects) or not pols:
        return True
    if {g for pl in pols for g in pl.include_groups | pl.exclude_groups} - _keys(p):
        return False
    return not any(pl.exclude_roles for pl in pols) or roles_ok(p, eligible=True)


def data_ok(cid: str, p: Posture, inp: Inputs) -> bool:
    """Whether the data check ``cid`` needs was collected (security defaults stand in for CA where
    the spec says so)."""
    return data_needed(p, inp)[cid]


def data_needed(p: Posture, inp: Inputs) -> dict[str, bool]:
    """Per check: whether the data it needs was collected. A new check adds its line here
    (test_data_needed_names_every_registered_check says so)."""
    sd = p.security_defaults is True
    users, regs, ca, sis = p.users is not None, p.registrations is not None, p.ca_policies is not None, p.sign_ins is not None
    enabled = [u for u in p.users or [] if u.enabled]
    by_upn = {u.upn.lower(): u for u in p.users or []}
    by_id = {u.id: u for u in p.users or []}
    ea = {x.id for x in (by_upn.get(n.lower()) or by_id.get(n) for n in inp.emergency_accounts) if x}
    holders = set()
    for r in (p.role_assignments or []) + (p.eligible_assignments or []):
        if r.role_id in m.PRIVILEGED_ROLES:
            holders |= {r.principal_id} | set((p.group_members or {}).get(r.principal_id, ()))
    privileged = [u for u in enabled if u.id in holders]
    pols = p.ca_policies or []
    mfa_pols = [pl for pl in pols if pl.is_mfa_policy and not pl.has_conditions]
    ea_pols = [pl for pl in pols if pl.is_mfa_policy]  # an "MFA policy" is an enabled one
    block_pols = [pl for pl in pols if pl.blocks and pl.state == "enabled" and not pl.has_conditions]
    not_ea = [u for u in enabled if u.id not in ea]
    ca_users = ca and users and membership_ok(p, enabled, mfa_pols)
    return {
        "MMFA-01": sis and (sd or ca_users),
        "MMFA-02": sd or ca_users,
        "MMFA-03": sis,
        "MMFA-04": sis and users and p.gap_reason(NON_INTERACTIVE_SIGN_INS) is None,
        "MMFA-05": users and roles_ok(p, eligible=False),
        "MMFA-06": True,                     # an attestation in the configuration
        "EA-01": users and roles_ok(p, eligible=False),
        "EA-02": users and regs,
        "EA-03": users and regs,
        "EA-04": users and ((sd and not ca) or (ca and membership_ok(p, ea, ea_pols))),
        "MFA-01": sd or (ca and users and membership_ok(p, not_ea, mfa_pols)),
        "MFA-02": users and regs,
        "MFA-03": users and regs and roles_ok(p, eligible=True) and (sd or (ca and membership_ok(p, privileged, mfa_pols))),
        "MFA-04": users and roles_ok(p, eligible=True) and ca and regs,   # v3: by policy, and holders can meet it
        "MFA-05": sd or (ca and users and membership_ok(p, not_ea, block_pols)),
        "MFA-06": users and regs and all(u.id in p.registrations for u in p.users if u.enabled),
        "MFA-11": p.methods_policy is not None,   # v3: the methods policy is judged on its own
        "MFA-07": sd or (ca and users and membership_ok(p, [u for u in enabled if u.user_type == "Guest"], mfa_pols)),
        "MFA-08": sd or ca,
        "MFA-09": users and regs and all(u.sign_in_activity_known for u in p.users),
        "MFA-10": sd or ca,
        "LOG-01": sis and p.window_end - p.window_start >= timedelta(days=inp.lookback_days, hours=-1),
    }


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_data_needed_names_every_registered_check(scenario):
    """The table above is per check: a check added to the registry must say what data it needs."""
    p, inp = scenario
    assert set(data_needed(p, inp)) == set(registered()), "add the new check's line to data_needed()"


# --------------------------------------------------------------------------- properties

@SETTINGS
@given(scenarios())
def test_results_well_formed_never_pass_on_missing_data_and_roll_up(scenario):
    p, inp = scenario
    results = run_checks(p, inp)                       # never raises
    assert [r.id for r in results] == list(CHECK_IDS)      # each check exactly once, in catalog order
    for r in results:
        assert r.status in STATUSES, (r.id, r.status)
        assert isinstance(r.reason, str) and r.reason.strip(), r.id
        assert r.status != "manual" or r.id == "MMFA-06"
        for a in r.affected:
            assert a.exception is None
    rd = readiness(results, p)
    assert set(rd.values()) <= {"ready", "at_risk", "not_ready", "unknown"}

    # no check passes on missing data
    for r in results:
        if r.status == "pass":
            assert data_ok(r.id, p, inp), (r.id, r.reason)

    # the readiness roll-up
    st_ = {r.id: r.status for r in results}
    if st_["MMFA-02"] == "pass":
        assert rd["mandatory_mfa_phase2"] == "ready"
    elif p.sign_ins is None:
        assert rd["mandatory_mfa_phase2"] == "unknown"
    elif st_["MMFA-03"] == "fail":
        assert rd["mandatory_mfa_phase2"] == "not_ready"
    if rd["mandatory_mfa_phase2"] == "ready" and st_["MMFA-02"] != "pass":
        assert st_["MMFA-03"] == "pass" and st_["MMFA-04"] == "pass"
    assert (rd["mandatory_mfa_phase1"] == "ready") == (st_["MMFA-01"] == "pass")


@st.composite
def exceptions(draw):
    out = []
    for i in range(draw(st.integers(0, 6))):
        upn = draw(st.sampled_from(UPNS))
        start = TODAY + timedelta(days=draw(st.integers(-400, 5)))
        end = draw(st.one_of(st.none(), st.integers(-5, 400).map(lambda d: TODAY + timedelta(days=d))))
        if end is not None and end < start:
            start, end = end, start
        out.append(exception(draw(st.sampled_from(CHECK_IDS)), draw(st.sampled_from([upn, upn.upper(), uid(upn)])),
                             id=f"EXC-{i}", approved_on=start, expires_on=end))
    return out


@SETTINGS
@given(scenarios(), exceptions())
def test_excepted_only_with_in_force_exceptions_for_that_check(scenario, excs):
    p, inp = scenario
    results = run_checks(p, inp)
    before = {r.id: r.status for r in results}
    applied = apply_exceptions(results, excs, TODAY)
    by_id = {e.id: e for e in excs}
    assert set(applied) == set(by_id)
    for r in results:
        if before[r.id] != "fail":
            assert r.status == before[r.id], r.id
            assert all(a.exception is None for a in r.affected)
            continue
        assert r.status in ("fail", "excepted")
        for a in r.affected:
            if a.exception is not None:
                e = by_id[a.exception]
                assert e.check == r.id and e.state_on(TODAY) == "in_force"
                assert e.subject.lower() in (a.upn.lower(), a.object_id.lower())
                assert applied[e.id]
        if r.status == "excepted":
            assert r.affected and all(a.exception for a in r.affected)
        else:
            assert not r.affected or any(a.exception is None for a in r.affected)
    for eid, used in applied.items():
        if used:
            assert by_id[eid].state_on(TODAY) == "in_force"
