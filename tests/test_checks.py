"""Every check on crafted postures: pass, fail, warn, not_evaluated (with a reason), excepted, and the
readiness roll-up (docs/checks.md describes each check)."""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from postures import (  # noqa: E402
    AUTHENTICATOR,
    FIDO2,
    NOW,
    TODAY,
    PostureBuilder,
    block_legacy_policy,
    ca_policy,
    exception,
    mfa_policy,
    phishing_resistant_admin_policy,
    register_info_policy,
    run,
    uid,
)

from reportgen import model as m  # noqa: E402
from reportgen.checks import Inputs, apply_exceptions, check_ids, run_checks  # noqa: E402
from reportgen.checks import readiness as _readiness_pair
from reportgen.results import CheckResult  # noqa: E402

CHECK_IDS = check_ids()


def readiness(results, p):
    phase1, phase2 = _readiness_pair(results, p)
    return {"mandatory_mfa_phase1": phase1, "mandatory_mfa_phase2": phase2}

EA1, EA2 = "bg-01@bank.onmicrosoft.com", "bg-02@bank.onmicrosoft.com"
ADMIN = "admin@bank.com"
ALICE, BOB = "alice@bank.com", "bob@bank.com"
GUEST = "partner_ext#EXT#@bank.onmicrosoft.com"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
INPUTS = dict(emergency_accounts=[EA1, EA2], phase2_postponed=False)


def good(**kw) -> PostureBuilder:
    """A well-run tenant on which every check passes."""
    b = PostureBuilder(**kw)
    b.user(EA1, methods=[FIDO2]).ga(EA1).user(EA2, methods=[FIDO2]).ga(EA2)
    b.user(ADMIN, methods=[FIDO2, "windowsHelloForBusiness"]).ga(ADMIN)
    b.user(ALICE).user(BOB).user(GUEST, guest=True)
    b.policy(mfa_policy(), block_legacy_policy(), register_info_policy(), phishing_resistant_admin_policy())
    b.sign_in(ADMIN, m.APP_AZURE_PORTAL).sign_in(ALICE, m.APP_AZURE_CLI).sign_in(BOB, m.APP_AZURE_POWERSHELL)
    return b


def check(b: PostureBuilder | m.Posture, cid: str, **inputs) -> CheckResult:
    p = b.build() if isinstance(b, PostureBuilder) else b
    return run(p, **{**INPUTS, **inputs})[cid]


def upns(r: CheckResult) -> list[str]:
    return sorted(a.upn for a in r.affected)


def assert_not_evaluated(r: CheckResult, *words: str) -> None:
    assert r.status == "not_evaluated", (r.id, r.status, r.reason)
    assert r.reason.strip(), r.id
    for w in words:
        assert w.lower() in r.reason.lower(), (r.id, r.reason)


# =========================================================================== the baseline

def test_well_run_tenant_passes_every_check():
    results = run(good().build(), **INPUTS)
    assert list(results) == list(CHECK_IDS)
    bad = {cid: (r.status, r.reason) for cid, r in results.items() if r.status != "pass"}
    assert bad == {}
    for r in results.values():
        assert r.reason.strip() and r.affected == []


def test_run_checks_uses_catalog_titles_severities_and_order():
    from dataclasses import replace

    from reportgen.checks import load_meta
    meta = dict(reversed(list(load_meta().checks.items())))
    meta["MFA-02"] = replace(meta["MFA-02"], pass_title="Every enabled member is registered",
                             title="Members are not registered", severity="critical")
    results = run_checks(good().build(), Inputs(**INPUTS), meta)
    r = {x.id: x for x in results}
    assert (r["MFA-02"].title, r["MFA-02"].severity) == ("Every enabled member is registered", "critical")
    results = run_checks(good().user("new@bank.com", registered=False).build(), Inputs(**INPUTS), meta)
    assert {x.id: x for x in results}["MFA-02"].title == "Members are not registered"   # the problem title
    assert [x.id for x in results] == list(meta)     # the metadata's order is the report order


def test_run_checks_refuses_metadata_that_does_not_match_the_checks():
    from reportgen.checks import load_meta
    meta = dict(load_meta().checks)
    meta.pop("MFA-03")
    with pytest.raises(ValueError, match="MFA-03"):
        run_checks(good().build(), Inputs(**INPUTS), meta)


# =========================================================================== MMFA-01 phase 1

class TestMMFA01:
    def test_pass_policy_on_all_apps(self):
        assert check(good(), "MMFA-01").status == "pass"

    def test_pass_policy_on_admin_portals(self):
        b = good()
        b._policies = [mfa_policy("MFA admin portals", apps=["MicrosoftAdminPortals"])]
        assert check(b, "MMFA-01").status == "pass"

    @pytest.mark.parametrize("app", [m.APP_AZURE_PORTAL, m.APP_AZURE_PORTAL.upper()])
    def test_warn_policy_on_the_azure_portal_app_alone(self, app):
        # v3: the Azure portal app does not reach the Microsoft 365 admin center
        b = good()
        b._policies = [mfa_policy("MFA Azure portal", apps=[app])]
        r = check(b, "MMFA-01")
        assert r.status == "warn" and "Microsoft 365 admin center" in r.reason, r.reason
        assert r.affected and all("Microsoft 365 admin center" in a.detail for a in r.affected)

    def test_pass_security_defaults_without_policies(self):
        b = good().security_defaults(True)
        b._policies = []
        assert check(b, "MMFA-01").status == "pass"

    def test_fail_no_policy(self):
        b = good()
        b._policies = [block_legacy_policy()]
        r = check(b, "MMFA-01")
        assert r.status == "fail"
        assert upns(r) == sorted([EA1, EA2, ADMIN, ALICE, BOB, GUEST])

    def test_report_only_policy_is_not_enforcement(self):
        b = good()
        b._policies = [mfa_policy(state="enabledForReportingButNotEnforced")]
        assert check(b, "MMFA-01").status == "fail"

    def test_policy_on_office365_only_does_not_cover_portals(self):
        b = good()
        b._policies = [mfa_policy(apps=["Office365"])]
        assert check(b, "MMFA-01").status == "fail"

    def test_user_excluded_from_policy_fails(self):
        b = good()
        b._policies = [mfa_policy(exclude_users=[BOB])]
        r = check(b, "MMFA-01")
        assert r.status == "fail" and upns(r) == [BOB]

    def test_fail_single_factor_sign_in_to_portal(self):
        b = good().sign_in(ALICE, m.APP_AZURE_PORTAL, mfa=False).sign_in(ALICE, m.APP_M365_ADMIN, mfa=False)
        r = check(b, "MMFA-01")
        assert r.status == "fail" and upns(r) == [ALICE]
        assert r.metrics["single_factor_sign_ins"] == 2

    def test_failed_single_factor_attempt_does_not_count(self):
        b = good().sign_in(ALICE, m.APP_AZURE_PORTAL, mfa=False, success=False)
        assert check(b, "MMFA-01").status == "pass"

    def test_single_factor_sign_in_fails_even_under_security_defaults(self):
        b = good().security_defaults(True).sign_in(ALICE, m.APP_AZURE_PORTAL, mfa=False)
        assert check(b, "MMFA-01").status == "fail"

    def test_not_evaluated_without_sign_ins(self):
        b = good().missing("sign_ins").gap("auditLogs/signIns", "tenant has no Entra ID P1 licence")
        assert_not_evaluated(check(b, "MMFA-01"), "P1")

    def test_not_evaluated_without_sign_ins_under_security_defaults(self):
        assert_not_evaluated(check(good().security_defaults(True).missing("sign_ins"), "MMFA-01"))

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "MMFA-01"))

    def test_not_evaluated_without_policies_or_security_defaults(self):
        assert_not_evaluated(check(good().missing("ca_policies", "security_defaults"), "MMFA-01"))


# =========================================================================== MMFA-02 phase 2 coverage

class TestMMFA02:
    def test_pass_all_apps(self):
        r = check(good(), "MMFA-02")
        assert r.status == "pass" and r.metrics["uncovered_users"] == 0

    def test_pass_arm_app(self):
        b = good()
        b._policies = [mfa_policy("MFA for Azure management", apps=[m.APP_ARM])]
        assert check(b, "MMFA-02").status == "pass"

    def test_pass_security_defaults(self):
        b = good().security_defaults(True)
        b._policies = []
        assert check(b, "MMFA-02").status == "pass"

    def test_fail_policy_not_covering_arm(self):
        b = good()
        b._policies = [mfa_policy(apps=["Office365"])]
        r = check(b, "MMFA-02")
        assert r.status == "fail" and len(r.affected) == 6

    def test_fail_policy_only_for_browser(self):
        b = good()
        b._policies = [mfa_policy(client_types=["browser"])]
        assert check(b, "MMFA-02").status == "fail"

    def test_fail_arm_excluded(self):
        b = good()
        b._policies = [mfa_policy(exclude_apps=[m.APP_ARM])]
        assert check(b, "MMFA-02").status == "fail"

    def test_report_only_is_not_coverage(self):
        b = good()
        b._policies = [mfa_policy(state="enabledForReportingButNotEnforced")]
        assert check(b, "MMFA-02").status == "fail"

    def test_policy_with_narrowing_conditions_is_not_coverage(self):
        b = good()
        b._policies = [mfa_policy(conditions=True)]
        assert check(b, "MMFA-02").status == "fail"

    def test_fail_user_excluded(self):
        b = good()
        b._policies = [mfa_policy(exclude_users=[ALICE])]
        r = check(b, "MMFA-02")
        assert r.status == "fail" and upns(r) == [ALICE]

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "MMFA-02"))

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "MMFA-02"))

    def test_not_evaluated_when_excluded_role_membership_unknown(self):
        b = good().missing("role_assignments")
        b._policies = [mfa_policy(exclude_roles=[HELPDESK_ADMIN])]
        assert_not_evaluated(check(b, "MMFA-02"))


# =========================================================================== MMFA-03 phase 2 impact

class TestMMFA03:
    def test_pass_all_mfa(self):
        r = check(good(), "MMFA-03")
        assert r.status == "pass" and r.metrics["phase2_sign_ins"] == 2

    def test_pass_with_no_phase2_sign_ins(self):
        b = good()
        b._sign_ins = []
        assert check(b, "MMFA-03").status == "pass"

    def test_fail_single_factor(self):
        b = good()
        for _ in range(3):
            b.sign_in(ALICE, m.APP_AZURE_POWERSHELL, mfa=False)
        b.sign_in(BOB, m.APP_AZURE_MOBILE, mfa=False, days_ago=2)
        r = check(b, "MMFA-03")
        assert r.status == "fail" and upns(r) == [ALICE, BOB]
        alice = next(a for a in r.affected if a.upn == ALICE)
        assert "Azure PowerShell" in alice.detail and "3" in alice.detail
        assert r.metrics["single_factor_users"] == 2 and r.metrics["single_factor_sign_ins"] == 4

    def test_failed_attempts_and_other_apps_do_not_count(self):
        b = good().sign_in(ALICE, m.APP_AZURE_CLI, mfa=False, success=False)
        b.sign_in(ALICE, m.APP_AZURE_PORTAL, mfa=False)  # phase 1, not phase 2
        assert check(b, "MMFA-03").status == "pass"

    def test_warn_when_requirement_unknown(self):
        b = good().sign_in(ALICE, m.APP_AZURE_CLI, mfa=None)
        assert check(b, "MMFA-03").status == "warn"

    def test_not_evaluated_without_sign_ins(self):
        b = good().missing("sign_ins").gap("auditLogs/signIns", "tenant has no Entra ID P1 licence")
        assert_not_evaluated(check(b, "MMFA-03"), "P1")


# =========================================================================== MMFA-04 automation on user accounts

class TestMMFA04:
    def test_pass(self):
        assert check(good(), "MMFA-04").status == "pass"

    def test_fail_only_non_interactive_cli(self):
        b = good().user("carol@bank.com").sign_in("carol@bank.com", m.APP_AZURE_CLI, interactive=False)
        r = check(b, "MMFA-04")
        assert r.status == "fail" and upns(r) == ["carol@bank.com"]
        assert "non-interactive" in r.affected[0].detail

    def test_token_refreshes_beside_interactive_sign_ins_are_a_person(self):
        b = good().sign_in(ALICE, m.APP_AZURE_CLI, interactive=False)   # ALICE also signs in interactively
        assert check(b, "MMFA-04").status == "pass"

    def test_fail_ropc(self):
        b = good()
        b.sign_in(BOB, m.APP_AZURE_POWERSHELL)
        b._sign_ins[-1] = replace(b._sign_ins[-1], protocol="ropc")
        r = check(b, "MMFA-04")
        assert r.status == "fail" and upns(r) == [BOB] and "resource-owner" in r.affected[0].detail

    def test_fail_service_account_name(self):
        b = good().user("svc-deploy@bank.com")
        r = check(b, "MMFA-04")
        assert r.status == "fail" and upns(r) == ["svc-deploy@bank.com"]

    def test_custom_pattern(self):
        b = good().user("robot01@bank.com")
        assert check(b, "MMFA-04").status == "pass"
        assert check(b, "MMFA-04", service_account_pattern=r"^robot\d+").status == "fail"

    def test_fail_on_name_even_without_sign_ins(self):
        b = good().user("svc-deploy@bank.com").missing("sign_ins")
        assert check(b, "MMFA-04").status == "fail"

    def test_not_evaluated_without_sign_ins(self):
        assert_not_evaluated(check(good().missing("sign_ins"), "MMFA-04"))

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "MMFA-04"))

    def test_not_evaluated_when_non_interactive_sign_ins_were_not_collected(self):
        # The interactive log arrived, the non-interactive one did not: scripted use is invisible.
        b = good().gap("auditLogs/signIns (non-interactive)", "the app lacks the permission AuditLog.Read.All")
        assert_not_evaluated(check(b, "MMFA-04"), "non-interactive")


# =========================================================================== MMFA-05 GA notification email

class TestMMFA05:
    def test_pass(self):
        r = check(good(), "MMFA-05")
        assert r.status == "pass" and r.metrics["global_admins"] == 3

    def test_pass_other_mails_only(self):
        b = good().user("ga2@bank.com", mail=None, other_mails=["ga2@gmail.com"]).ga("ga2@bank.com")
        assert check(b, "MMFA-05").status == "pass"

    def test_fail_ga_without_email(self):
        b = good().user("ga2@bank.com", mail=None).ga("ga2@bank.com")
        r = check(b, "MMFA-05")
        assert r.status == "fail" and upns(r) == ["ga2@bank.com"]

    def test_eligible_ga_is_not_notified(self):
        b = good().user("ga2@bank.com", mail=None).ga("ga2@bank.com", kind="eligible")
        assert check(b, "MMFA-05").status == "pass"

    def test_ga_through_group(self):
        b = good().user("ga2@bank.com", mail=None).group("g-admins", "ga2@bank.com").ga("g-admins")
        r = check(b, "MMFA-05")
        assert r.status == "fail" and upns(r) == ["ga2@bank.com"]

    def test_not_evaluated_without_role_assignments(self):
        assert_not_evaluated(check(good().missing("role_assignments"), "MMFA-05"))

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "MMFA-05"))

    def test_not_evaluated_when_group_members_missing(self):
        b = good().user("ga2@bank.com", mail=None).group("g-admins", "ga2@bank.com").ga("g-admins")
        assert_not_evaluated(check(b.missing("group_members"), "MMFA-05"))

    def test_no_ga_is_not_a_pass(self):
        b = good()
        b._roles = []
        assert_not_evaluated(check(b, "MMFA-05"))


# =========================================================================== MMFA-06 postponement

BEFORE_DEADLINE = NOW.replace(year=2026, month=6, day=1)


@pytest.mark.parametrize("value, status", [(True, "fail"), (False, "pass"), ("unknown", "manual"), (None, "manual")])
def test_mmfa06_postponement_before_the_deadline(value, status):
    r = check(good(collected_at=BEFORE_DEADLINE), "MMFA-06", phase2_postponed=value)
    assert r.status == status and r.reason.strip()


@pytest.mark.parametrize("value", [True, False, "unknown", None])
def test_mmfa06_after_the_deadline_enforcement_applies(value):
    r = check(good(), "MMFA-06", phase2_postponed=value)   # NOW is after 1 July 2026
    assert r.status == "pass" and "closed on 1 July 2026" in r.reason
    assert ("out of date" in r.reason) == (value is True)
    assert r.title == "Phase 2 postponement no longer applies: the postponement window has closed"
    assert "no longer applies" in r.reason


def test_mmfa06_does_not_depend_on_collected_data():
    p = good().missing("users", "ca_policies", "sign_ins", "security_defaults").build()
    assert run(p, phase2_postponed=False)["MMFA-06"].status == "pass"


# =========================================================================== EA-01 designated, enabled, GA

class TestEA01:
    def test_pass(self):
        r = check(good(), "EA-01")
        assert r.status == "pass" and r.metrics == {"designated": 2, "qualified": 2, "permanence_unknown": 0}

    def test_fail_none_designated(self):
        assert check(good(), "EA-01", emergency_accounts=[]).status == "fail"

    def test_fail_only_one(self):
        assert check(good(), "EA-01", emergency_accounts=[EA1]).status == "fail"

    def test_fail_nonexistent_account(self):
        r = check(good(), "EA-01", emergency_accounts=[EA1, "bg-99@bank.onmicrosoft.com"])
        assert r.status == "fail" and upns(r) == ["bg-99@bank.onmicrosoft.com"]
        assert "does not exist" in r.affected[0].detail

    def test_fail_disabled(self):
        b = good()
        b._users = [u for u in b._users if u.upn != EA2]
        b.user(EA2, methods=[FIDO2], enabled=False)
        r = check(b, "EA-01")
        assert r.status == "fail" and upns(r) == [EA2] and "disabled" in r.affected[0].detail

    def test_fail_eligible_only_global_admin(self):
        b = good()
        b._roles = [r for r in b._roles if r.principal_id != uid(EA2)]
        b.ga(EA2, kind="eligible")
        r = check(b, "EA-01")
        assert r.status == "fail" and upns(r) == [EA2]

    def test_ga_through_role_assignable_group(self):
        b = good()
        b._roles = [r for r in b._roles if r.principal_id != uid(EA2)]
        b.group("g-breakglass", EA2).ga("g-breakglass")
        assert check(b, "EA-01").status == "pass"

    def test_designated_by_object_id_and_any_case(self):
        assert check(good(), "EA-01", emergency_accounts=[EA1.upper(), uid(EA2)]).status == "pass"

    def test_the_same_account_twice_is_one_account(self):
        r = check(good(), "EA-01", emergency_accounts=[EA1, EA1.upper()])
        assert r.status == "fail", r.reason
        r = check(good(), "EA-01", emergency_accounts=[EA1, uid(EA1)])
        assert r.status == "fail", r.reason

    def test_warn_two_qualify_one_does_not(self):
        r = check(good(), "EA-01", emergency_accounts=[EA1, EA2, ALICE])
        assert r.status == "warn" and upns(r) == [ALICE]

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "EA-01"))

    def test_not_evaluated_without_role_assignments(self):
        assert_not_evaluated(check(good().missing("role_assignments"), "EA-01"))


# =========================================================================== EA-02 phishing-resistant method

def _ea2_methods(methods, registered=True) -> PostureBuilder:
    b = good()
    b._regs.pop(uid(EA2))
    b.registration(EA2, registered=registered, methods=methods)
    return b


class TestEA02:
    @pytest.mark.parametrize("method", ["fido2SecurityKey", "passKeyDeviceBound", "x509Certificate"])
    def test_pass(self, method):
        assert check(_ea2_methods([method, AUTHENTICATOR]), "EA-02").status == "pass"

    @pytest.mark.parametrize("method", ["passKeyDeviceBoundAuthenticator", "windowsHelloForBusiness"])
    def test_phishing_resistant_on_one_device_is_not_emergency_grade(self, method):
        r = check(_ea2_methods([method]), "EA-02")
        assert r.status == "fail" and upns(r) == [EA2]

    @pytest.mark.parametrize("methods", [[AUTHENTICATOR], ["passKeySynced"], ["mobilePhone"], ["softwareOneTimePasscode"],
                                         ["hardwareOneTimePasscode"], []])
    def test_fail(self, methods):
        r = check(_ea2_methods(methods, registered=bool(methods)), "EA-02")
        assert r.status == "fail" and upns(r) == [EA2]

    def test_not_evaluated_without_registration(self):
        b = good().missing("registrations").gap("reports/authenticationMethods/userRegistrationDetails",
                                               "tenant has no Entra ID P1 licence")
        assert_not_evaluated(check(b, "EA-02"))

    def test_not_evaluated_when_account_has_no_record(self):
        b = good()
        b._regs.pop(uid(EA2))
        assert_not_evaluated(check(b, "EA-02"))

    def test_fail_wins_over_unknown(self):
        b = _ea2_methods([AUTHENTICATOR])
        b._regs.pop(uid(EA1))
        r = check(b, "EA-02")
        assert r.status == "fail"

    def test_not_evaluated_when_no_account_exists(self):
        assert_not_evaluated(check(good(), "EA-02", emergency_accounts=["nobody@bank.onmicrosoft.com"]))
        assert_not_evaluated(check(good(), "EA-02", emergency_accounts=[]))

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "EA-02"))


# =========================================================================== EA-03 no soft token / phone

class TestEA03:
    def test_pass(self):
        assert check(good(), "EA-03").status == "pass"

    @pytest.mark.parametrize("methods", [[AUTHENTICATOR], ["mobilePhone"], ["officePhone"], ["softwareOneTimePasscode"],
                                         ["microsoftAuthenticatorPasswordless"]])
    def test_fail_only_soft_or_phone(self, methods):
        r = check(_ea2_methods(methods), "EA-03")
        assert r.status == "fail" and upns(r) == [EA2]

    @pytest.mark.parametrize("soft", [AUTHENTICATOR, "mobilePhone", "softwareOneTimePasscode"])
    def test_warn_beside_phishing_resistant(self, soft):
        r = check(_ea2_methods([FIDO2, soft]), "EA-03")
        assert r.status == "warn" and upns(r) == [EA2]

    def test_not_evaluated_without_registration(self):
        assert_not_evaluated(check(good().missing("registrations"), "EA-03"))

    def test_not_evaluated_when_account_has_no_record(self):
        b = good()
        b._regs.pop(uid(EA1))
        assert_not_evaluated(check(b, "EA-03"))


# =========================================================================== EA-04 not excluded from MFA policies

class TestEA04:
    def test_pass(self):
        assert check(good(), "EA-04").status == "pass"

    # v3: Microsoft advises excluding emergency access accounts; EA-04 checks the exclusion is exact
    # and that each excluded account can complete the MFA Microsoft still requires of it.
    def test_pass_direct_exclusion_of_accounts_with_keys(self):
        b = good()
        b._policies[0] = mfa_policy(exclude_users=[EA1])
        r = check(b, "EA-04")
        assert r.status == "pass" and "as Microsoft advises" in r.reason and r.metrics["excluded_accounts"] == 1

    def test_fail_direct_exclusion_of_account_without_emergency_method(self):
        b = PostureBuilder()
        b.user(EA1, methods=[AUTHENTICATOR]).ga(EA1).user(EA2, methods=[FIDO2]).ga(EA2).user(ALICE)
        b.policy(mfa_policy(exclude_users=[EA1]))
        r = check(b, "EA-04")
        assert r.status == "fail" and upns(r) == [EA1] and "no FIDO2 security key" in r.affected[0].detail

    def test_fail_transitive_group_exclusion_that_also_reaches_another_user(self):
        # EA2 sits in g-inner, which is a member of g-outer; the policy excludes g-outer, which holds Bob too.
        b = good().group("g-inner", EA2).group("g-outer", "g-inner", BOB)
        b._policies[0] = mfa_policy(exclude_groups=["g-outer"])
        r = check(b, "EA-04")
        assert r.status == "fail" and upns(r) == [BOB]
        assert "through group 'g-outer'" in r.affected[0].detail or "through group g-outer" in r.affected[0].detail

    def test_pass_group_of_only_emergency_accounts(self):
        b = good().group("g-inner", EA2).group("g-bg", "g-inner", EA1)
        b._policies[0] = mfa_policy(exclude_groups=["g-bg"])
        assert check(b, "EA-04").status == "pass"

    def test_fail_role_exclusion_that_others_hold(self):
        b = good()
        b._policies[0] = mfa_policy(exclude_roles=[m.GLOBAL_ADMIN])
        r = check(b, "EA-04")
        assert r.status == "fail" and upns(r) == [ADMIN]
        assert "through role Global Administrator" in r.affected[0].detail

    def test_fail_exclusion_from_authentication_strength_policy(self):
        b = PostureBuilder()
        b.user(EA1, methods=["windowsHelloForBusiness"]).ga(EA1).user(EA2, methods=[FIDO2]).ga(EA2)
        b.policy(mfa_policy(), phishing_resistant_admin_policy(exclude_users=[EA1]))
        assert check(b, "EA-04").status == "fail"

    def test_exclusion_from_report_only_policy_is_not_an_ea04_failure(self):
        # an MFA policy is an *enabled* one; idle policies are MFA-08's business
        b = good().policy(ca_policy("Pilot MFA", state="enabledForReportingButNotEnforced", controls=["mfa"],
                                    exclude_users=[EA1]))
        assert check(b, "EA-04").status == "pass"

    def test_exclusion_from_block_policy_is_allowed(self):
        b = good().policy(ca_policy("Block outside US", controls=["block"], conditions=True, exclude_users=[EA1, EA2]))
        b._policies[1] = block_legacy_policy(exclude_users=[EA1])
        assert check(b, "EA-04").status == "pass"

    def test_exclusion_from_unrelated_group_is_fine(self):
        b = good().group("g-kiosk", BOB)
        b._policies[0] = mfa_policy(exclude_groups=["g-kiosk"])
        assert check(b, "EA-04").status == "pass"

    def test_pass_security_defaults_without_policies(self):
        b = good().security_defaults(True).missing("ca_policies")
        assert check(b, "EA-04").status == "pass"

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "EA-04"))

    def test_not_evaluated_without_group_members(self):
        b = good().group("g-kiosk", BOB).missing("group_members")
        b._policies[0] = mfa_policy(exclude_groups=["g-kiosk"])
        assert_not_evaluated(check(b, "EA-04"))

    def test_not_evaluated_when_group_missing_from_members(self):
        b = good()
        b._policies[0] = mfa_policy(exclude_groups=["g-never-read"])
        assert_not_evaluated(check(b, "EA-04"))

    def test_not_evaluated_when_excluded_role_membership_unknown(self):
        b = good().missing("role_assignments")
        b._policies[0] = mfa_policy(exclude_roles=[m.GLOBAL_ADMIN])
        assert_not_evaluated(check(b, "EA-04"))

    def test_not_evaluated_when_role_assignable_group_members_unknown(self):
        b = good().group("g-breakglass", EA1, BOB).role("g-breakglass", SECURITY_ADMIN)
        b._policies[0] = mfa_policy(exclude_roles=[SECURITY_ADMIN])
        assert check(b, "EA-04").status == "fail"
        b._groups.pop("g-breakglass")
        assert check(b, "EA-04").status != "pass"

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "EA-04"))


# =========================================================================== MFA-01 everyone

class TestMFA01:
    def test_pass(self):
        assert check(good(), "MFA-01").status == "pass"

    def test_pass_security_defaults(self):
        b = good().security_defaults(True).missing("ca_policies")
        assert check(b, "MFA-01").status == "pass"

    def test_excluded_emergency_accounts_narrow_nothing(self):
        # v3: Microsoft advises the exclusion; the reason names it (EA-04 checks it is exact)
        b = good()
        b._policies[0] = mfa_policy(exclude_users=[EA1, EA2])
        r = check(b, "MFA-01")
        assert r.status == "pass" and "excludes the 2 emergency access accounts, as Microsoft advises" in r.reason

    def test_pass_modern_clients_only_is_not_narrowed(self):
        b = good()
        b._policies[0] = mfa_policy(client_types=["browser", "mobileAppsAndDesktopClients"])
        assert check(b, "MFA-01").status == "pass"

    def test_fail_no_policy(self):
        b = good()
        b._policies = [block_legacy_policy()]
        r = check(b, "MFA-01")
        assert r.status == "fail" and r.affected == []

    @pytest.mark.parametrize("pol", [
        mfa_policy(state="enabledForReportingButNotEnforced"), mfa_policy(state="disabled"),
        mfa_policy(users=[ALICE, BOB]), mfa_policy(apps=["Office365"]), mfa_policy(exclude_apps=[m.APP_ARM]),
        mfa_policy(client_types=["browser"]), mfa_policy(conditions=True),
        mfa_policy(controls=["compliantDevice"]), mfa_policy(controls=["block"]),
        mfa_policy(controls=["mfa", "compliantDevice"]), mfa_policy(controls=["mfa"], terms_of_use=["tou-1"]),
    ], ids=["report-only", "disabled", "some-users", "office365", "excludes-app", "browser-only",
            "narrowed", "no-mfa-grant", "block", "mfa-or-device", "mfa-or-terms-of-use"])
    def test_fail_not_a_policy_for_everyone(self, pol):
        b = good()
        b._policies = [pol]
        assert check(b, "MFA-01").status == "fail"

    def test_authentication_strength_counts_as_mfa(self):
        b = good()
        b._policies[0] = mfa_policy(controls=[], strength=m.STRENGTH_MFA)
        assert check(b, "MFA-01").status == "pass"

    def test_fail_excluded_user(self):
        b = good()
        b._policies[0] = mfa_policy(exclude_users=[ALICE])
        r = check(b, "MFA-01")
        assert r.status == "fail" and upns(r) == [ALICE] and "directly" in r.affected[0].detail

    def test_fail_excluded_through_nested_group(self):
        b = good().group("g-inner", ALICE).group("g-outer", "g-inner")
        b._policies[0] = mfa_policy(exclude_groups=["g-outer"])
        r = check(b, "MFA-01")
        assert r.status == "fail" and upns(r) == [ALICE] and "g-outer" in r.affected[0].detail

    def test_fail_excluded_through_role(self):
        b = good().role(BOB, HELPDESK_ADMIN)
        b._policies = b._policies[:3]   # without the phishing-resistant admin policy
        b._policies[0] = mfa_policy(exclude_roles=[HELPDESK_ADMIN])
        r = check(b, "MFA-01")
        assert r.status == "fail" and upns(r) == [BOB] and "Helpdesk Administrator" in r.affected[0].detail

    def test_warn_where_only_a_union_of_policies_covers_everyone(self):
        # v3: persona designs: the all-users policy excludes the helpdesk role, whose holders the
        # phishing-resistant admin policy covers; a new account outside the groups would not be
        b = good().role(BOB, HELPDESK_ADMIN)
        b._policies[0] = mfa_policy(exclude_roles=[HELPDESK_ADMIN])
        r = check(b, "MFA-01")
        assert r.status == "warn" and "Phishing-resistant MFA for admins" in r.reason and "new account" in r.reason

    def test_fail_excluded_through_eligible_role(self):
        b = good().role(BOB, HELPDESK_ADMIN, kind="eligible")
        b._policies = b._policies[:3]   # without the phishing-resistant admin policy
        b._policies[0] = mfa_policy(exclude_roles=[HELPDESK_ADMIN])
        assert check(b, "MFA-01").status == "fail"

    def test_fail_guests_excluded(self):
        b = good()
        b._policies[0] = mfa_policy(exclude_guests=True)
        r = check(b, "MFA-01")
        assert r.status == "fail" and upns(r) == [GUEST]

    def test_disabled_excluded_user_is_not_affected(self):
        b = good().user("left@bank.com", enabled=False)
        b._policies[0] = mfa_policy(exclude_users=["left@bank.com"])
        assert check(b, "MFA-01").status == "pass"

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "MFA-01"))

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "MFA-01"))

    def test_not_evaluated_when_excluded_role_membership_unknown(self):
        b = good().role(BOB, HELPDESK_ADMIN).missing("role_assignments")
        b._policies[0] = mfa_policy(exclude_roles=[HELPDESK_ADMIN])
        assert_not_evaluated(check(b, "MFA-01"))

    def test_not_evaluated_when_excluded_group_members_unknown(self):
        b = good().group("g-kiosk", BOB).missing("group_members")
        b._policies[0] = mfa_policy(exclude_groups=["g-kiosk"])
        assert_not_evaluated(check(b, "MFA-01"))


# =========================================================================== MFA-02 registration

class TestMFA02:
    def test_pass(self):
        r = check(good(), "MFA-02")
        assert r.status == "pass"
        assert r.metrics == {"registered": 5, "enabled": 5, "pct": 100.0, "unknown": 0}

    def test_fail_with_metrics(self):
        b = good().user("carol@bank.com", registered=False).user("dave@bank.com", registered=None)
        r = check(b, "MFA-02")
        assert r.status == "fail" and upns(r) == ["carol@bank.com", "dave@bank.com"]
        assert r.metrics == {"registered": 5, "enabled": 7, "pct": 71.4, "unknown": 1}
        assert "registration unknown: no registration record for this enabled account" in next(
            a for a in r.affected if a.upn == "dave@bank.com").detail

    def test_a_missing_record_alone_is_unknown_never_absent(self):
        r = check(good().user("dave@bank.com", registered=None), "MFA-02")
        assert_not_evaluated(r, "unknown")
        assert upns(r) == ["dave@bank.com"]

    def test_guests_and_disabled_users_are_not_counted(self):
        b = good().user("ext#EXT#@bank.com", guest=True, registered=False).user("gone@bank.com", enabled=False,
                                                                                registered=False)
        assert check(b, "MFA-02").status == "pass"

    def test_not_evaluated_without_registrations(self):
        b = good().missing("registrations").gap("reports/authenticationMethods/userRegistrationDetails",
                                               "tenant has no Entra ID P1 licence")
        assert_not_evaluated(check(b, "MFA-02"), "P1")

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "MFA-02"))

    def test_not_evaluated_without_members(self):
        b = PostureBuilder().user(GUEST, guest=True)
        assert_not_evaluated(check(b, "MFA-02"))


# =========================================================================== MFA-03 privileged users

class TestMFA03:
    def test_pass(self):
        r = check(good(), "MFA-03")
        assert r.status == "pass" and r.metrics["privileged_users"] == 3

    def test_pass_security_defaults(self):
        b = good().security_defaults(True).missing("ca_policies")
        assert check(b, "MFA-03").status == "pass"

    def test_fail_unregistered_admin(self):
        b = good().user("helpdesk@bank.com", registered=False).role("helpdesk@bank.com", HELPDESK_ADMIN)
        r = check(b, "MFA-03")
        assert r.status == "fail" and upns(r) == ["helpdesk@bank.com"]
        assert "Helpdesk Administrator" in r.affected[0].detail and "not MFA-registered" in r.affected[0].detail

    def test_admin_without_registration_record_is_unknown(self):
        b = good().user("helpdesk@bank.com", registered=None).role("helpdesk@bank.com", HELPDESK_ADMIN)
        r = check(b, "MFA-03")
        assert_not_evaluated(r, "unknown")
        assert upns(r) == ["helpdesk@bank.com"]

    def test_fail_eligible_admin_unregistered(self):
        b = good().user("secadm@bank.com", registered=False).role("secadm@bank.com", SECURITY_ADMIN, kind="eligible")
        assert check(b, "MFA-03").status == "fail"

    def test_fail_admin_role_excluded_from_policy(self):
        b = good()
        b._policies = b._policies[:3]   # without the phishing-resistant admin policy
        b._policies[0] = mfa_policy(exclude_roles=[m.GLOBAL_ADMIN])
        r = check(b, "MFA-03")
        assert r.status == "fail" and upns(r) == [ADMIN]   # v3: the emergency access accounts are excused
        assert all("through role Global Administrator" in a.detail for a in r.affected)

    def test_fail_admin_portals_policy_does_not_cover_admins(self):
        b = good()
        b._policies = b._policies[:3]   # without the phishing-resistant admin policy
        b._policies[0] = mfa_policy(apps=["MicrosoftAdminPortals"])
        r = check(b, "MFA-03")
        assert r.status == "fail" and upns(r) == [ADMIN, EA1, EA2]
        assert "covers only the Microsoft admin portals" in r.affected[0].detail

    def test_admin_through_group(self):
        b = good().user("helpdesk@bank.com", registered=False).group("g-help", "helpdesk@bank.com")
        b.role("g-help", HELPDESK_ADMIN)
        r = check(b, "MFA-03")
        assert r.status == "fail" and upns(r) == ["helpdesk@bank.com"]

    def test_non_privileged_role_is_ignored(self):
        b = good().user("reader@bank.com", registered=False).role("reader@bank.com", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b")
        assert check(b, "MFA-03").status == "pass"

    def test_not_evaluated_without_registrations(self):
        assert_not_evaluated(check(good().missing("registrations"), "MFA-03"))

    def test_not_evaluated_without_role_assignments(self):
        assert_not_evaluated(check(good().missing("role_assignments"), "MFA-03"))

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "MFA-03"))

    def test_not_evaluated_when_eligible_roles_unknown_in_a_p2_tenant(self):
        # A P2 tenant may hold privileged roles only as PIM eligibility; without them the roster is partial.
        b = good().licences(p1=True, p2=True).missing("eligible_assignments")
        assert_not_evaluated(check(b, "MFA-03"))

    def test_eligible_roles_not_needed_without_p2(self):
        b = good().licences(p1=True, p2=False).missing("eligible_assignments")
        assert check(b, "MFA-03").status == "pass"


# =========================================================================== MFA-04 phishing-resistant admins

class TestMFA04:
    # v3: judged by policy; holders without a phishing-resistant method are named (lock-out)
    def test_pass(self):
        assert check(good(), "MFA-04").status == "pass"

    def test_warn_without_policy_even_where_every_admin_holds_phishing_resistant_methods(self):
        b = good()
        b._policies = b._policies[:3]
        r = check(b, "MFA-04")
        assert r.status == "warn" and "nothing holds them to it" in r.reason

    def test_warn_holder_without_phishing_resistant_method(self):
        b = good().user("helpdesk@bank.com").role("helpdesk@bank.com", HELPDESK_ADMIN)
        r = check(b, "MFA-04")   # the policy applies, but helpdesk has no phishing-resistant method
        assert r.status == "warn" and upns(r) == ["helpdesk@bank.com"] and "locked out" in r.reason
        b.registration("helpdesk@bank.com", registered=True, methods=[FIDO2])
        assert check(b, "MFA-04").status == "pass"

    def test_not_evaluated_without_registrations(self):
        assert_not_evaluated(check(good().missing("registrations"), "MFA-04"))

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "MFA-04"))

    def test_pass_soft_methods_beside_a_key_under_the_policy(self):
        b = good().user("helpdesk@bank.com", methods=[FIDO2, AUTHENTICATOR]).role("helpdesk@bank.com", HELPDESK_ADMIN)
        assert check(b, "MFA-04").status == "pass"

    def test_warn_names_roles_left_out_and_excluded_apps(self):
        b = good()
        b._policies[3] = phishing_resistant_admin_policy(roles=(m.GLOBAL_ADMIN,), exclude_apps=[m.APP_AZURE_PORTAL])
        r = check(b, "MFA-04")
        assert r.status == "warn" and "Helpdesk Administrator" in r.reason and "Azure portal" in r.reason, r.reason

    def test_warn_policy_that_is_report_only_or_mfa_strength(self):
        b = good().user("helpdesk@bank.com", methods=[FIDO2]).role("helpdesk@bank.com", HELPDESK_ADMIN)
        b._policies = b._policies[:3]
        b.policy(phishing_resistant_admin_policy(state="enabledForReportingButNotEnforced"),
                 phishing_resistant_admin_policy("MFA strength", strength=m.STRENGTH_MFA))
        assert check(b, "MFA-04").status == "warn"

    def test_warn_policy_excluding_the_admin(self):
        b = good().user("helpdesk@bank.com", methods=[FIDO2]).role("helpdesk@bank.com", HELPDESK_ADMIN)
        b._policies[3] = phishing_resistant_admin_policy(exclude_users=["helpdesk@bank.com"])
        assert check(b, "MFA-04").status == "warn"

    def test_warn_is_never_excepted(self):
        b = good().user("helpdesk@bank.com").role("helpdesk@bank.com", HELPDESK_ADMIN)
        results = run_checks(b.build(), Inputs(**INPUTS))
        apply_exceptions(results, [exception("MFA-04", "helpdesk@bank.com")], TODAY)
        assert {r.id: r.status for r in results}["MFA-04"] == "warn"

    def test_not_evaluated_without_registrations_or_policies(self):
        assert_not_evaluated(check(good().missing("registrations", "ca_policies"), "MFA-04"))

    def test_not_evaluated_without_role_assignments(self):
        assert_not_evaluated(check(good().missing("role_assignments"), "MFA-04"))


# =========================================================================== MFA-05 legacy authentication

class TestMFA05:
    def test_pass(self):
        assert check(good(), "MFA-05").status == "pass"

    def test_pass_security_defaults(self):
        b = good().security_defaults(True).missing("ca_policies")
        assert check(b, "MFA-05").status == "pass"

    def test_emergency_accounts_may_be_excluded(self):
        b = good()
        b._policies[1] = block_legacy_policy(exclude_users=[EA1, EA2])
        assert check(b, "MFA-05").status == "pass"

    def test_fail_no_block(self):
        b = good()
        b._policies.pop(1)
        r = check(b, "MFA-05")
        assert r.status == "fail" and r.affected == []

    @pytest.mark.parametrize("pol", [
        block_legacy_policy(state="enabledForReportingButNotEnforced"), block_legacy_policy(state="disabled"),
        block_legacy_policy(client_types=["exchangeActiveSync"]), block_legacy_policy(apps=["Office365"]),
        block_legacy_policy(conditions=True), block_legacy_policy(controls=["mfa"]),
    ], ids=["report-only", "disabled", "eas-only", "office365", "narrowed", "mfa-not-block"])
    def test_fail_not_a_legacy_block(self, pol):
        b = good()
        b._policies[1] = pol
        assert check(b, "MFA-05").status == "fail"

    def test_fail_excluded_user(self):
        b = good()
        b._policies[1] = block_legacy_policy(exclude_users=[ALICE])
        r = check(b, "MFA-05")
        assert r.status == "fail" and upns(r) == [ALICE]

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "MFA-05"))

    def test_not_evaluated_when_excluded_role_membership_unknown(self):
        b = good().missing("role_assignments")
        b._policies[1] = block_legacy_policy(exclude_roles=[HELPDESK_ADMIN])
        assert_not_evaluated(check(b, "MFA-05"))


# =========================================================================== MFA-06 weak methods

class TestMFA06:
    def test_pass(self):
        assert check(good(), "MFA-06").status == "pass"

    @pytest.mark.parametrize("methods", [["mobilePhone"], ["officePhone", "alternateMobilePhone"], ["email"],
                                         ["mobilePhone", "email", "temporaryAccessPass"]])
    def test_fail_only_weak(self, methods):
        b = good().user("carol@bank.com", methods=methods)
        r = check(b, "MFA-06")
        assert r.status == "fail" and upns(r) == ["carol@bank.com"]

    def test_weak_beside_strong_is_fine(self):
        b = good().user("carol@bank.com", methods=["mobilePhone", AUTHENTICATOR])
        assert check(b, "MFA-06").status == "pass"

    def test_disabled_user_is_ignored(self):
        b = good().user("carol@bank.com", methods=["mobilePhone"], enabled=False)
        assert check(b, "MFA-06").status == "pass"

    # v3: the methods policy is MFA-11's business
    @pytest.mark.parametrize("method", ["sms", "voice"])
    def test_methods_policy_enabling_sms_or_voice_fails_mfa11_not_mfa06(self, method):
        b = good().methods_policy(**{method: "enabled"})
        assert check(b, "MFA-06").status == "pass" and check(b, "MFA-11").status == "fail"

    def test_not_evaluated_without_registrations(self):
        assert_not_evaluated(check(good().missing("registrations"), "MFA-06"))

    def test_mfa11_not_evaluated_without_methods_policy(self):
        assert check(good().missing("methods_policy"), "MFA-06").status == "pass"
        assert_not_evaluated(check(good().missing("methods_policy"), "MFA-11"))

    def test_fail_does_not_need_methods_policy(self):
        b = good().user("carol@bank.com", methods=["mobilePhone"]).missing("methods_policy")
        assert check(b, "MFA-06").status == "fail"

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "MFA-06"))

    def test_user_whose_methods_are_unknown_is_not_a_pass(self):
        # e.g. a $batch item that failed: nobody knows whether carol relies on SMS only
        b = good().user("carol@bank.com", registered=None)
        assert check(b, "MFA-06").status != "pass"


# =========================================================================== MFA-07 guests

class TestMFA07:
    def test_pass_all_users_policy(self):
        assert check(good(), "MFA-07").status == "pass"

    def test_pass_guest_policy(self):
        b = good()
        b._policies[0] = mfa_policy("MFA for guests", users=[], guests=True)
        assert check(b, "MFA-07").status == "pass"

    def test_pass_security_defaults(self):
        b = good().security_defaults(True).missing("ca_policies")
        assert check(b, "MFA-07").status == "pass"

    @pytest.mark.parametrize("pol", [
        mfa_policy(exclude_guests=True), mfa_policy(users=[ALICE]), mfa_policy(state="enabledForReportingButNotEnforced"),
        mfa_policy(apps=[m.APP_ARM]), mfa_policy(conditions=True),
    ], ids=["guests-excluded", "members-only", "report-only", "arm-only", "narrowed"])
    def test_fail_no_policy_covers_guests(self, pol):
        b = good()
        b._policies[0] = pol
        r = check(b, "MFA-07")
        assert r.status == "fail" and upns(r) == [GUEST]

    def test_warn_guest_excluded_by_id(self):
        # v3: partial scope warns (naming who is left out); only "no policy covers any guest type" fails
        b = good()
        b._policies[0] = mfa_policy(exclude_users=[GUEST])
        r = check(b, "MFA-07")
        assert r.status == "warn" and upns(r) == [GUEST]

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "MFA-07"))


# =========================================================================== MFA-08 unenforced policies

class TestMFA08:
    def test_pass(self):
        assert check(good(), "MFA-08").status == "pass"

    @pytest.mark.parametrize("state", ["enabledForReportingButNotEnforced", "disabled"])
    def test_warn_idle_policy_without_enabled_counterpart(self, state):
        b = good()
        b._policies[3] = phishing_resistant_admin_policy(state=state)
        b._policies[0] = mfa_policy(apps=["Office365"])
        r = check(b, "MFA-08")
        assert r.status == "warn" and upns(r) == ["Phishing-resistant MFA for admins"]

    def test_idle_policy_covered_by_enabled_one(self):
        b = good().policy(mfa_policy("old MFA pilot", users=[ALICE], apps=["Office365"], state="disabled"))
        assert check(b, "MFA-08").status == "pass"

    def test_idle_non_mfa_policy_is_ignored(self):
        b = good().policy(block_legacy_policy("old block", state="disabled"))
        assert check(b, "MFA-08").status == "pass"

    def test_enabled_policy_with_wider_exclusions_does_not_cover(self):
        b = good().policy(mfa_policy("strict", state="enabledForReportingButNotEnforced"))
        b._policies[0] = mfa_policy(exclude_users=[BOB])
        assert check(b, "MFA-08").status == "warn"

    def test_pass_security_defaults_without_policies(self):
        assert check(good().security_defaults(True).missing("ca_policies"), "MFA-08").status == "pass"

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "MFA-08"))

    def test_not_evaluated_without_policies_or_security_defaults(self):
        assert_not_evaluated(check(good().missing("ca_policies", "security_defaults"), "MFA-08"))


# =========================================================================== MFA-09 dormant and unregistered

class TestMFA09:
    def test_pass(self):
        assert check(good(), "MFA-09").status == "pass"

    def test_fail_dormant_unregistered(self):
        b = good().user("carol@bank.com", registered=False, last_sign_in=NOW - timedelta(days=91))
        r = check(b, "MFA-09")
        assert r.status == "fail" and upns(r) == ["carol@bank.com"]

    def test_fail_never_signed_in_unregistered(self):
        b = good().user("carol@bank.com", registered=False, last_sign_in=None)
        r = check(b, "MFA-09")
        assert r.status == "fail" and "never" in r.affected[0].detail

    def test_dormant_without_registration_record_is_unknown(self):
        b = good().user("carol@bank.com", registered=None, last_sign_in=None)
        r = check(b, "MFA-09")
        assert_not_evaluated(r, "no registration record")
        assert upns(r) == ["carol@bank.com"]

    def test_recent_unregistered_and_dormant_registered_pass(self):
        b = good().user("carol@bank.com", registered=False, last_sign_in=NOW - timedelta(days=5))
        b.user("dan@bank.com", registered=True, last_sign_in=None)
        b.user("erin@bank.com", registered=False, last_sign_in=None, enabled=False)
        assert check(b, "MFA-09").status == "pass"

    def test_dormant_days_is_configurable(self):
        b = good().user("carol@bank.com", registered=False, last_sign_in=NOW - timedelta(days=40))
        assert check(b, "MFA-09").status == "pass"
        assert check(b, "MFA-09", dormant_days=30).status == "fail"

    def test_not_evaluated_without_sign_in_activity(self):
        b = good().user("carol@bank.com", registered=False, last_sign_in=None, sign_in_activity_known=False)
        b.gap("users.signInActivity", "tenant has no Entra ID P1 licence")
        assert_not_evaluated(check(b, "MFA-09"), "P1")

    def test_not_evaluated_without_registrations(self):
        assert_not_evaluated(check(good().missing("registrations"), "MFA-09"))

    def test_not_evaluated_without_users(self):
        assert_not_evaluated(check(good().missing("users"), "MFA-09"))


# =========================================================================== MFA-10 security-info registration

class TestMFA10:
    def test_pass(self):
        assert check(good(), "MFA-10").status == "pass"

    def test_security_defaults_alone_warn(self):
        r = check(good().security_defaults(True).missing("ca_policies"), "MFA-10")
        assert r.status == "warn" and "only where Microsoft decides" in r.reason

    def test_warn_policy_for_one_user(self):
        b = good()
        b._policies[0] = mfa_policy(apps=["Office365"])   # v3: an all-apps MFA policy would protect it
        b._policies[2] = register_info_policy(users=[ALICE])
        r = check(b, "MFA-10")
        assert r.status == "warn" and "only for some users" in r.reason

    def test_pass_all_apps_mfa_policy_protects_registration(self):
        b = good()
        b._policies.pop(2)
        assert check(b, "MFA-10").status == "pass"

    def test_warn_no_policy(self):
        b = good()
        b._policies[0] = mfa_policy(apps=["Office365"])   # v3: an all-apps MFA policy would protect it
        b._policies.pop(2)
        assert check(b, "MFA-10").status == "warn"

    def test_warn_report_only(self):
        b = good()
        b._policies[0] = mfa_policy(apps=["Office365"])   # v3: an all-apps MFA policy would protect it
        b._policies[2] = register_info_policy(state="enabledForReportingButNotEnforced")
        assert check(b, "MFA-10").status == "warn"

    def test_not_evaluated_without_policies(self):
        assert_not_evaluated(check(good().missing("ca_policies"), "MFA-10"))


# =========================================================================== LOG-01 sign-in logs

class TestLOG01:
    def test_pass(self):
        r = check(good(), "LOG-01")
        assert r.status == "pass" and r.metrics["window_days"] == 30

    def test_fail_without_p1(self):
        b = good().licences(p1=False).missing("sign_ins")
        assert check(b, "LOG-01").status == "fail"

    def test_not_evaluated_when_licence_unknown(self):
        b = good().licences(p1=None).missing("sign_ins").gap("auditLogs/signIns",
                                                             "the app lacks the permission AuditLog.Read.All")
        assert_not_evaluated(check(b, "LOG-01"), "AuditLog.Read.All")

    def test_not_evaluated_when_p1_but_logs_missing(self):
        assert_not_evaluated(check(good().missing("sign_ins"), "LOG-01"))

    def test_window_shorter_than_lookback_is_not_a_pass(self):
        b = good(lookback_days=7)
        assert check(b, "LOG-01", lookback_days=30).status != "pass"
        assert check(b, "LOG-01", lookback_days=7).status == "pass"


# =========================================================================== exceptions

def _failing(cid: str) -> tuple[PostureBuilder, list[str]]:
    """A posture on which ``cid`` fails for exactly ALICE and BOB (or two emergency accounts)."""
    b = good()
    if cid == "MMFA-01":
        b.sign_in(ALICE, m.APP_AZURE_PORTAL, mfa=False).sign_in(BOB, m.APP_M365_ADMIN, mfa=False)
    elif cid in ("MMFA-02", "MFA-01"):
        b._policies[0] = mfa_policy(exclude_users=[ALICE, BOB])
    elif cid == "MMFA-03":
        b.sign_in(ALICE, m.APP_AZURE_CLI, mfa=False).sign_in(BOB, m.APP_AZURE_MOBILE, mfa=False)
    elif cid == "MMFA-04":
        b._sign_ins = [x for x in b._sign_ins if x.upn not in (ALICE, BOB)]
        b.sign_in(ALICE, m.APP_AZURE_CLI, interactive=False).sign_in(BOB, m.APP_AZURE_POWERSHELL, interactive=False)
    elif cid == "MMFA-05":
        b._users = [u for u in b._users if u.upn not in (ALICE, BOB)]
        b.user(ALICE, mail=None).user(BOB, mail=None).ga(ALICE).ga(BOB)
    elif cid == "EA-01":
        b._users = [u for u in b._users if u.upn not in (EA1, EA2)]
        b.user(EA1, methods=[FIDO2], enabled=False).user(EA2, methods=[FIDO2], enabled=False)
        return b, [EA1, EA2]
    elif cid in ("EA-02", "EA-03"):
        b.registration(EA1, registered=True, methods=[AUTHENTICATOR]).registration(EA2, registered=True,
                                                                                   methods=["mobilePhone"])
        return b, [EA1, EA2]
    elif cid == "EA-04":   # v3: an exclusion meant for an emergency access account that reaches others
        b.group("g-bg", EA1, ALICE, BOB)
        b._policies[0] = mfa_policy(exclude_groups=["g-bg"])
    elif cid == "MFA-02":
        b.registration(ALICE, registered=False).registration(BOB, registered=False)
    elif cid == "MFA-03":
        b.registration(ALICE, registered=False).registration(BOB, registered=False).role(ALICE, HELPDESK_ADMIN)
        b.role(BOB, SECURITY_ADMIN)
    elif cid == "MFA-05":
        b._policies[1] = block_legacy_policy(exclude_users=[ALICE, BOB])
    elif cid == "MFA-06":
        b.registration(ALICE, registered=True, methods=["mobilePhone"]).registration(BOB, registered=True,
                                                                                     methods=["email"])
    elif cid == "MFA-07":
        b._users = [u for u in b._users if u.upn not in (ALICE, BOB)]
        b.user(ALICE, guest=True).user(BOB, guest=True)
        b._policies[0] = mfa_policy(exclude_guests=True, exclude_users=[GUEST])
        b._users = [u for u in b._users if u.upn != GUEST]
    elif cid == "MFA-09":
        b._users = [u for u in b._users if u.upn not in (ALICE, BOB)]
        b.user(ALICE, registered=False, last_sign_in=None).user(BOB, registered=False,
                                                                last_sign_in=NOW - timedelta(days=200))
    else:
        raise AssertionError(cid)
    return b, [ALICE, BOB]


EXCEPTABLE = ["MMFA-01", "MMFA-02", "MMFA-03", "MMFA-04", "MMFA-05", "EA-01", "EA-02", "EA-03", "EA-04",
              "MFA-01", "MFA-02", "MFA-03", "MFA-05", "MFA-06", "MFA-07", "MFA-09"]


def _apply(cid: str, exceptions, on=TODAY):
    b, subjects = _failing(cid)
    results = run_checks(b.build(), Inputs(**INPUTS))
    r = {x.id: x for x in results}[cid]
    assert r.status == "fail" and upns(r) == sorted(subjects), (cid, r.status, r.reason, upns(r))
    applied = apply_exceptions(results, exceptions, on)
    return r, subjects, applied, results


class TestExceptions:
    @pytest.mark.parametrize("cid", EXCEPTABLE)
    def test_excepted_when_every_subject_is_covered(self, cid):
        _, subjects = _failing(cid)
        exc = [exception(cid, subjects[0], id="EXC-1"), exception(cid, uid(subjects[1]), id="EXC-2")]  # UPN / object id
        r, _, applied, _ = _apply(cid, exc)
        assert r.status == "excepted", r.reason
        assert {a.upn: a.exception for a in r.affected} == {subjects[0]: "EXC-1", subjects[1]: "EXC-2"}
        assert applied == {"EXC-1": True, "EXC-2": True}
        assert "exception" in r.reason

    @pytest.mark.parametrize("cid", EXCEPTABLE)
    def test_partially_covered_stays_fail(self, cid):
        _, subjects = _failing(cid)
        r, _, applied, _ = _apply(cid, [exception(cid, subjects[1].upper(), id="EXC-1")])
        assert r.status == "fail"
        assert {a.upn: a.exception for a in r.affected} == {subjects[0]: None, subjects[1]: "EXC-1"}
        assert applied == {"EXC-1": True}

    @pytest.mark.parametrize("cid", ["MFA-02", "EA-02", "MMFA-03"])
    @pytest.mark.parametrize("approved, expires", [
        (TODAY - timedelta(days=400), TODAY - timedelta(days=1)),   # expired yesterday
        (TODAY + timedelta(days=1), TODAY + timedelta(days=365)),   # approved tomorrow: not yet valid
    ], ids=["expired", "not-yet-valid"])
    def test_exception_not_in_force_does_not_apply(self, cid, approved, expires):
        _, subjects = _failing(cid)
        exc = [exception(cid, s, id=f"EXC-{i}", approved_on=approved, expires_on=expires) for i, s in enumerate(subjects)]
        r, _, applied, _ = _apply(cid, exc)
        assert r.status == "fail"
        assert all(a.exception is None for a in r.affected)
        assert applied == {"EXC-0": False, "EXC-1": False}

    @pytest.mark.parametrize("approved, expires", [(TODAY, TODAY + timedelta(days=30)), (TODAY - timedelta(days=9), TODAY),
                                                   (TODAY - timedelta(days=9), None)],
                             ids=["approved-today", "expires-today", "no-expiry"])
    def test_in_force_boundaries(self, approved, expires):
        _, subjects = _failing("MFA-02")
        exc = [exception("MFA-02", s, id=f"EXC-{i}", approved_on=approved, expires_on=expires)
               for i, s in enumerate(subjects)]
        r, *_ = _apply("MFA-02", exc)
        assert r.status == "excepted"

    def test_exception_for_another_check_does_not_apply(self):
        _, subjects = _failing("MFA-02")
        r, _, applied, results = _apply("MFA-02", [exception("MFA-09", s, id=f"EXC-{i}") for i, s in enumerate(subjects)])
        assert r.status == "fail" and applied == {"EXC-0": False, "EXC-1": False}
        assert "excepted" not in {x.status for x in results}

    def test_fail_without_subjects_is_never_excepted(self):
        b = good()
        b._policies = [block_legacy_policy()]
        results = run_checks(b.build(), Inputs(**INPUTS))
        apply_exceptions(results, [exception("MFA-01", ALICE)], TODAY)
        assert {r.id: r.status for r in results}["MFA-01"] == "fail"

    def test_passing_and_not_evaluated_checks_are_untouched(self):
        results = run_checks(good().missing("registrations").build(), Inputs(**INPUTS))
        before = [(r.id, r.status, r.reason) for r in results]
        apply_exceptions(results, [exception(cid, ALICE, id=f"E{i}") for i, cid in enumerate(CHECK_IDS)], TODAY)
        assert [(r.id, r.status, r.reason) for r in results] == before

    def test_exception_on_the_collection_date(self):
        # An exception that expired before the collection date does not apply even if the report is rendered earlier.
        _, subjects = _failing("MFA-02")
        exc = [exception("MFA-02", s, id=f"EXC-{i}", expires_on=TODAY - timedelta(days=1)) for i, s in enumerate(subjects)]
        r, *_ = _apply("MFA-02", exc, on=TODAY - timedelta(days=2))
        assert r.status == "excepted"   # in force on the day given
        r, *_ = _apply("MFA-02", exc, on=TODAY)
        assert r.status == "fail"


# =========================================================================== readiness roll-up

def _readiness(b: PostureBuilder, **inputs) -> dict[str, str]:
    p = b.build()
    results = run_checks(p, Inputs(**{**INPUTS, **inputs}))
    return readiness(results, p)


def _no_arm_coverage(b: PostureBuilder) -> PostureBuilder:
    b._policies[0] = mfa_policy(apps=["Office365", m.APP_AZURE_PORTAL, m.APP_M365_ADMIN])
    return b


class TestReadiness:
    def test_ready_via_mmfa02(self):
        assert _readiness(good()) == {"mandatory_mfa_phase1": "ready", "mandatory_mfa_phase2": "ready"}

    def test_ready_via_mmfa02_even_without_sign_ins(self):
        r = _readiness(good().missing("sign_ins"))
        assert r["mandatory_mfa_phase2"] == "ready"
        assert r["mandatory_mfa_phase1"] == "unknown"   # MMFA-01 needs sign-ins

    def test_ready_via_security_defaults(self):
        b = good().security_defaults(True)
        b._policies = []
        assert _readiness(b)["mandatory_mfa_phase2"] == "ready"

    def test_ready_via_mmfa03_mmfa04_and_capable_users(self):
        b = _no_arm_coverage(good())
        assert check(b, "MMFA-02").status == "fail"
        assert _readiness(b)["mandatory_mfa_phase2"] == "ready"

    def test_not_ready_when_mmfa03_fails(self):
        b = _no_arm_coverage(good()).sign_in(ALICE, m.APP_AZURE_CLI, mfa=False)
        assert _readiness(b)["mandatory_mfa_phase2"] == "not_ready"

    def test_not_ready_when_mmfa03_fails_but_is_excepted(self):
        b = _no_arm_coverage(good()).sign_in(ALICE, m.APP_AZURE_CLI, mfa=False)
        p = b.build()
        results = run_checks(p, Inputs(**INPUTS))
        apply_exceptions(results, [exception("MMFA-03", ALICE)], TODAY)
        assert {r.id: r.status for r in results}["MMFA-03"] == "excepted"
        assert readiness(results, p)["mandatory_mfa_phase2"] == "not_ready"

    def test_unknown_when_sign_ins_missing_and_mmfa02_fails(self):
        b = _no_arm_coverage(good()).missing("sign_ins")
        assert _readiness(b)["mandatory_mfa_phase2"] == "unknown"

    def test_unknown_when_sign_ins_and_policies_missing(self):
        assert _readiness(good().missing("sign_ins", "ca_policies"))["mandatory_mfa_phase2"] == "unknown"

    def test_at_risk_when_automation_found(self):
        b = _no_arm_coverage(good()).user("svc-ci@bank.com").sign_in("svc-ci@bank.com", m.APP_AZURE_CLI, interactive=False)
        assert _readiness(b)["mandatory_mfa_phase2"] == "at_risk"

    def test_at_risk_when_mfa_use_is_unknown(self):
        b = _no_arm_coverage(good()).sign_in(BOB, m.APP_AZURE_CLI, mfa=None)
        assert _readiness(b)["mandatory_mfa_phase2"] == "at_risk"

    def test_at_risk_when_a_phase2_user_is_not_mfa_capable(self):
        b = _no_arm_coverage(good()).user("carol@bank.com", registered=False).sign_in("carol@bank.com", m.APP_AZURE_CLI)
        assert _readiness(b)["mandatory_mfa_phase2"] == "at_risk"

    def test_at_risk_when_registrations_missing(self):
        b = _no_arm_coverage(good()).missing("registrations")
        assert _readiness(b)["mandatory_mfa_phase2"] == "at_risk"

    def test_phase1_not_ready(self):
        b = good().sign_in(ALICE, m.APP_AZURE_PORTAL, mfa=False)
        assert _readiness(b)["mandatory_mfa_phase1"] == "not_ready"

    def test_phase1_unknown_without_policies(self):
        assert _readiness(good().missing("ca_policies"))["mandatory_mfa_phase1"] == "unknown"

    def test_phase1_excepted_is_not_ready_made_ready(self):
        b = good().sign_in(ALICE, m.APP_AZURE_PORTAL, mfa=False)
        p = b.build()
        results = run_checks(p, Inputs(**INPUTS))
        apply_exceptions(results, [exception("MMFA-01", ALICE)], TODAY)
        assert readiness(results, p)["mandatory_mfa_phase1"] != "ready"
