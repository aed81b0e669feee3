"""Issue 16: verdicts on the shapes Microsoft documents. Each test reads fixtures copied from
Microsoft's Graph reference (tests/fixtures/msgraph-docs, cited in SOURCES.yaml; CASES.md says what
each item is about), runs them through the real evidence reader, posture and checks, and asserts the
checks.md v2 verdict. Where a test changes a documented object it says which field and why."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportgen import model as m  # noqa: E402
from reportgen.checks import Inputs, readiness, run_checks  # noqa: E402
from reportgen.evidence import EvidenceReader  # noqa: E402
from reportgen.posture import build_posture  # noqa: E402
from tests.msdocs import DOCUMENTED_GROUP, documented_datasets, evidence_folder, items, load  # noqa: E402

SPE_E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"   # Microsoft 365 E3, which includes Entra ID P1


def posture(tmp_path, datasets, collected_at="2026-11-30T06:00:00Z", **kw):
    return build_posture(EvidenceReader(evidence_folder(tmp_path, datasets=datasets, collected_at=collected_at, **kw)))


def run(p, **inputs):
    results = run_checks(p, Inputs(**inputs))
    return {r.id: r for r in results}, readiness(results, p)


# --------------------------------------------------------------------------- 1. status {}

def test_1_single_factor_sign_in_with_empty_status_is_not_read_as_failed(tmp_path):
    p = posture(tmp_path, {
        "signIns": items("signins/beta-list-2018-azure-portal-single-factor-status-empty")
        + items("signins/beta-list-2021-azure-portal-failed-password") + items("signins/beta-list-2020-fido2-mfa"),
        "signInsNonInteractive": [], "securityDefaults": load("policies/v1-get-securitydefaults")},
        collected_at="2018-11-20T00:00:00Z")
    single = [s for s in p.sign_ins if s.requirement == "singleFactorAuthentication"]
    assert [s.success for s in single] == [True]   # every documented step succeeded: a success
    results, (phase1, _) = run(p)
    r = results["MMFA-01"]
    assert r.status == "fail" and "1 sign-in to the admin portals completed without MFA" in r.reason, r.reason
    assert phase1 == "not_ready"


def test_1_sign_in_whose_outcome_cannot_be_read_counts_as_a_possible_success(tmp_path):
    s = items("signins/beta-list-2018-azure-portal-single-factor-status-empty")[0]
    s.pop("authenticationDetails")   # edit: no step either, so nothing says how it ended
    p = posture(tmp_path, {"signIns": [s], "signInsNonInteractive": [],
                           "securityDefaults": load("policies/v1-get-securitydefaults")}, collected_at="2018-11-20T00:00:00Z")
    assert p.sign_ins[0].success is None
    r = run(p)[0]["MMFA-01"]
    assert r.status == "fail" and "no recorded outcome" in r.affected[0].detail


# --------------------------------------------------------------------------- 2. group / unexpanded principals

def test_2_unexpanded_global_administrator_assignments_are_a_declared_gap(tmp_path):
    p = posture(tmp_path, documented_datasets())
    gap = p.gap_for("roleManagement/directory/roleAssignments")
    assert gap is not None and "2 Global Administrator" in gap.reason, p.gaps
    results, _ = run(p)
    for cid in ("MMFA-05", "MFA-03"):
        assert results[cid].status != "pass", (cid, results[cid].reason)
    assert "could not be identified" in results["MMFA-05"].reason


def test_2_a_group_principal_gives_its_members_the_role(tmp_path):
    d = documented_datasets()
    ex1 = items("roles/v1-list-roleassignments-ex1-ga-expand-principal")
    # edit (CASES.md item 2): the first assignment's principal becomes the documented group
    ex1[0]["principalId"] = DOCUMENTED_GROUP
    ex1[0]["principal"] = {"@odata.type": "#microsoft.graph.group", "id": DOCUMENTED_GROUP}
    d["roleAssignments"] = ex1
    del d["conditionalAccessPolicies"]   # their group's members are not documented; not what this test is about
    d["users"] = d["users"] + [{"id": "11111111-2222-3333-4444-555555555555", "userPrincipalName": "member@contoso.com",
                                "displayName": "Group member", "accountEnabled": True, "userType": "Member"}]
    p = posture(tmp_path, d)
    from reportgen.checks import Context
    holders = Context(p, Inputs()).role_holders(("active",))
    assert m.GLOBAL_ADMIN in holders["11111111-2222-3333-4444-555555555555"]


# --------------------------------------------------------------------------- 3. eligibility

def _eligibility(principal_is_group: bool = False):
    e = items("roles/v1-list-roleeligibilityschedules-expired")
    # edit (CASES.md item 3): the documented role is not privileged; use Privileged Role Administrator
    e[0]["roleDefinitionId"] = "e8611ab8-c189-46e8-94e1-60213ab1f814"
    if principal_is_group:   # edit: eligible through the documented group (not expanded, as documented)
        e[0]["principalId"] = DOCUMENTED_GROUP
    return e


USER_071 = {"id": "071cc716-8147-4397-a5ba-b2105951cc0b", "userPrincipalName": "eligible@contoso.com",
            "displayName": "Eligible", "accountEnabled": True, "userType": "Member"}


@pytest.mark.parametrize("collected_at, privileged", [("2026-11-30T06:00:00Z", False), ("2023-01-01T00:00:00Z", True)])
def test_3_expired_eligibility_is_not_eligibility(tmp_path, collected_at, privileged):
    p = posture(tmp_path, {"users": [USER_071], "roleAssignments": [], "roleEligibilitySchedules": _eligibility()},
                collected_at=collected_at)
    from reportgen.checks import Context
    assert ("071cc716-8147-4397-a5ba-b2105951cc0b" in Context(p, Inputs()).privileged()) is privileged
    if not privileged:
        assert any("expired" in n.message for n in p.notes)


def test_3_eligibility_for_a_group_reaches_its_members(tmp_path):
    member = {"id": "11111111-2222-3333-4444-555555555555", "userPrincipalName": "member@contoso.com",
              "displayName": "Member", "accountEnabled": True, "userType": "Member"}
    p = posture(tmp_path, {"users": [member], "roleAssignments": [], "roleEligibilitySchedules": _eligibility(True),
                           f"groupMembers.{DOCUMENTED_GROUP}": items("groups/v1-list-transitivemembers-ex1")},
                collected_at="2023-01-01T00:00:00Z")
    from reportgen.checks import Context
    assert "11111111-2222-3333-4444-555555555555" in Context(p, Inputs()).privileged()


# --------------------------------------------------------------------------- 4. workload identities

def test_4_a_policy_for_service_principals_covers_and_excludes_no_person(tmp_path):
    d = documented_datasets()
    del d["securityDefaults"]
    pol = next(x for x in items("conditional-access/beta-evaluate-ex4-service-principal")
               if x["id"] == "4f1d2ff3-50db-4299-bbdd-0a114c98e97e")
    pol["state"] = "enabled"   # edit: documented as report-only; enabled to reach MFA-05
    d["conditionalAccessPolicies"] = [pol]
    d["securityDefaults"] = dict(load("policies/v1-get-securitydefaults"), isEnabled=False)
    p = posture(tmp_path, d)
    assert p.ca_policies[0].workload
    r = run(p)[0]["MFA-05"]
    assert r.status == "fail" and r.affected == [] and "No enabled, un-narrowed policy blocks" in r.reason


# --------------------------------------------------------------------------- 5. methods-policy targets

def test_5_a_method_enabled_for_no_one_is_not_enabled_and_sms_names_its_targets(tmp_path):
    p = posture(tmp_path, {"users": [], "userRegistrationDetails": [],
                           "authenticationMethodsPolicy": load("methods-policy/v1-get-authenticationmethodspolicy")})
    assert not p.methods_policy["email"].enabled_for_someone and p.methods_policy["sms"].for_all_users
    r = run(p)[0]["MFA-11"]   # v3: the methods policy is MFA-11
    assert r.status == "fail" and "SMS (for all users)" in r.reason and "email one-time passcode (for" not in r.reason, r.reason
    assert "external users only" in r.reason   # v3: email OTP offered to external users only is named


def test_5_sms_for_a_pilot_group_names_the_group(tmp_path):
    amp = load("methods-policy/v1-get-authenticationmethodspolicy")
    sms = next(c for c in amp["authenticationMethodConfigurations"] if c["id"] == "Sms")
    sms["includeTargets"][0]["id"] = DOCUMENTED_GROUP   # edit: no page shows SMS for a group
    p = posture(tmp_path, {"users": [], "userRegistrationDetails": [], "authenticationMethodsPolicy": amp,
                           "groups": [{"id": DOCUMENTED_GROUP, "displayName": "SMS pilot"}]})
    r = run(p)[0]["MFA-11"]   # v3: the methods policy is MFA-11
    assert r.status == "fail" and "SMS (for group 'SMS pilot')" in r.reason, r.reason


def test_5_methods_left_out_of_the_policy_are_unknown_not_disabled(tmp_path):
    amp = load("methods-policy/v1-get-authenticationmethodspolicy")
    for c in amp["authenticationMethodConfigurations"]:
        c["state"] = "disabled"   # edit: nothing enabled, so only the missing Voice entry is in doubt
    p = posture(tmp_path, {"users": [], "userRegistrationDetails": [], "authenticationMethodsPolicy": amp})
    r = run(p)[0]["MFA-11"]   # v3: the methods policy is MFA-11
    assert r.status == "not_evaluated" and "voice call" in r.reason, r.reason


# --------------------------------------------------------------------------- 6. unknown enum values

def test_6_fido2_in_methods_registered_is_a_security_key(tmp_path):
    regs = items("registration/v1-list-userregistrationdetails")
    regs[0]["methodsRegistered"] = ["fido2"]   # edit: value given on the v1.0 resource page (userregistrationdetails.md)
    users = [{"id": regs[0]["id"], "userPrincipalName": regs[0]["userPrincipalName"], "displayName": "Alex",
              "accountEnabled": True, "userType": "Member"}]
    p = posture(tmp_path, {"users": users, "userRegistrationDetails": regs, "conditionalAccessPolicies": [],
                           "authenticationMethodsPolicy": load("methods-policy/v1-get-authenticationmethodspolicy")})
    assert p.registrations[regs[0]["id"]].methods == ("fido2SecurityKey",)
    assert run(p, emergency_accounts=[regs[0]["userPrincipalName"]])[0]["EA-02"].status == "pass"


def test_6_eas_supported_is_legacy_authentication(tmp_path):
    pol = items("conditional-access/v1-post-policy-ex2-block-exo-named-location")[0]
    # edit: the documented block, for all users, all apps and the legacy clients, without its location
    pol.update(state="enabled", id="p-legacy", displayName="Block legacy")
    pol["conditions"]["users"] = {"includeUsers": ["All"]}
    pol["conditions"]["applications"] = {"includeApplications": ["All"]}
    pol["conditions"]["locations"] = None
    pol["conditions"]["clientAppTypes"] = ["easSupported", "other"]
    p = posture(tmp_path, {"users": [], "conditionalAccessPolicies": [pol],
                           "securityDefaults": dict(load("policies/v1-get-securitydefaults"), isEnabled=False)})
    assert run(p)[0]["MFA-05"].status == "pass"


def test_6_unknown_values_are_recorded_never_ignored(tmp_path):
    d = documented_datasets()
    p = posture(tmp_path, d)
    text = " ".join(n.message for n in p.notes)
    for value in ("passwordChange", "ServicePrincipalsInMyTenant", "Suspended", "AllTrusted", "Office365"):
        assert f"'{value}'" not in text, value   # documented values posture reads are not "unknown"
    pol = copy.deepcopy(d["conditionalAccessPolicies"][0])
    pol.update(id="odd", displayName="odd")
    pol["conditions"]["clientAppTypes"] = ["quantumClients"]
    pol["grantControls"]["builtInControls"] = ["mfa", "retinaScan"]
    regs = items("registration/v1-list-userregistrationdetails")
    regs[0]["methodsRegistered"] = ["telepathy"]
    p = posture(tmp_path / "b", {**d, "conditionalAccessPolicies": d["conditionalAccessPolicies"] + [pol],
                                 "userRegistrationDetails": regs})
    text = " ".join(n.message for n in p.notes)
    for value in ("quantumClients", "retinaScan", "telepathy"):
        assert value in text, text
    assert not next(x for x in p.ca_policies if x.id == "odd").requires_mfa   # an unknown OR alternative is a way round MFA


# --------------------------------------------------------------------------- 7. window

@pytest.mark.parametrize("collected_at, kept", [("2026-11-30T06:00:00Z", []),
                                                ("2021-07-15T00:00:00Z", ["1691d37b"])])
def test_7_sign_ins_outside_the_window_are_left_out(tmp_path, collected_at, kept):
    d = documented_datasets()
    p = posture(tmp_path, {"signIns": d["signIns"], "signInsNonInteractive": [], "users": []}, collected_at=collected_at)
    assert [s.id[:8] for s in p.sign_ins] == kept
    assert any("outside the collection window" in n.message for n in p.notes)
    r = run(p)[0]["LOG-01"]
    assert f"({len(kept)} sign-in{'' if len(kept) == 1 else 's'} to" in r.reason, r.reason


# --------------------------------------------------------------------------- 8. guest emergency account

def test_8_a_guest_is_not_an_emergency_access_account(tmp_path):
    d = documented_datasets()
    p = posture(tmp_path, d)
    r = run(p, emergency_accounts=["ace08ec9-aa11-4ada-9145-addf0398233e", "6f87972e-2e7e-4b49-9980-eb3888bdcfe1"])[0]["EA-01"]
    assert r.status == "fail", r.reason
    guest = next(a for a in r.affected if a.object_id == "6f87972e-2e7e-4b49-9980-eb3888bdcfe1")
    assert "guest" in guest.detail


# --------------------------------------------------------------------------- 9. idle policy that targets no one

def test_9_a_disabled_policy_for_no_one_is_not_named(tmp_path):
    p = posture(tmp_path, {"conditionalAccessPolicies": items("conditional-access/v1-list-policies-none-targets")})
    r = run(p)[0]["MFA-08"]
    assert "SimplePolicy2" not in r.reason and r.status == "pass", r.reason


# --------------------------------------------------------------------------- 10. missing registration record

def test_10_a_missing_registration_record_is_unknown_everywhere_with_an_honest_reason(tmp_path):
    d = documented_datasets()
    p = posture(tmp_path, d)
    users = [u for u in p.users if u.enabled and u.user_type.lower() == "member"]
    assert not any(u.id in p.registrations for u in users)
    results, _ = run(p, emergency_accounts=["ace08ec9-aa11-4ada-9145-addf0398233e"])
    for cid in ("MFA-02", "MFA-06", "EA-02", "EA-03"):
        r = results[cid]
        assert r.status == "not_evaluated", (cid, r.status, r.reason)
        details = " ".join(a.detail for a in r.affected)
        assert "registration unknown" in details and "disabled accounts are not reported" not in details, (cid, details)
    assert "0 of" not in results["MFA-02"].reason or "unknown" in results["MFA-02"].reason


# --------------------------------------------------------------------------- 11. licences by SKU id

def test_11_licences_recognised_by_sku_id(tmp_path):
    skus = items("licences/v1-list-subscribedskus")
    p = posture(tmp_path, {"subscribedSkus": skus})
    assert (p.has_p1, p.has_p2) == (False, False)   # Office 365 E5 does not include Entra ID P1
    skus[0]["skuId"], skus[0]["skuPartNumber"] = SPE_E3, "SPE_E3"   # edit: a SKU that includes P1, same one plan
    p = posture(tmp_path / "b", {"subscribedSkus": skus})
    assert (p.has_p1, p.has_p2) == (True, False)


# --------------------------------------------------------------------------- 12. named locations

def test_12_reasons_name_locations_not_ids(tmp_path):
    pol = items("conditional-access/v1-post-policy-ex1-exo-mfa-outside-trusted")[0]
    # edit (CASES.md item 12): all users, all apps, and a documented location in excludeLocations
    pol["conditions"]["users"] = {"includeUsers": ["All"]}
    pol["conditions"]["applications"] = {"includeApplications": ["All"]}
    pol["conditions"]["locations"] = {"includeLocations": ["All"],
                                      "excludeLocations": ["0854951d-5fc0-4eb1-b392-9b2c9d7949c2", "AllTrusted",
                                                           "d2136c9c-b049-47ae-b9cf-316e04ef7198"]}
    p = posture(tmp_path, {"users": [], "conditionalAccessPolicies": [pol],
                           "namedLocations": items("conditional-access/v1-list-namedlocations-ex1")
                           + items("conditional-access/v1-get-namedlocation-untrusted-ip"),
                           "securityDefaults": dict(load("policies/v1-get-securitydefaults"), isEnabled=False)})
    r = run(p)[0]["MFA-01"]
    assert r.status == "fail"
    assert "'Untrusted IP named location'" in r.reason and "all trusted locations" in r.reason, r.reason
    assert "d2136c9c-b049-47ae-b9cf-316e04ef7198 (not among the 4 named locations collected)" in r.reason
    assert "0854951d" not in r.reason


# --------------------------------------------------------------------------- 13. doubled words

def test_13_no_gap_or_reason_says_not_collected_twice(tmp_path):
    p = posture(tmp_path, documented_datasets())
    gap = p.gap_for("auditLogs/signIns (non-interactive)")
    assert gap is not None and gap.reason != "not collected"
    results, _ = run(p)
    for text in [g.reason for g in p.gaps] + [r.reason for r in results.values()]:
        assert "not collected: not collected" not in text and "collected: not" not in text, text
    assert "interactive sign-ins only" in results["MMFA-04"].reason, results["MMFA-04"].reason


# --------------------------------------------------------------------------- other documented shapes (CASES.md A-L)

def test_a_methods_keyed_odata_type_are_read(tmp_path):
    p = posture(tmp_path, {"userMethods": {"u1": items("methods/beta-list-methods-password-phones-odata-type-typo")}})
    assert p.registrations["u1"].mfa_registered and "mobilePhone" in p.registrations["u1"].methods


def test_b_fido2_method_is_a_key_unless_its_aaguid_is_authenticator(tmp_path):
    methods = items("methods/v1-list-methods-fido2-whfb")
    assert "fido2SecurityKey" in posture(tmp_path, {"userMethods": {"u1": methods}}).registrations["u1"].methods
    for x in methods:
        if x.get("@odata.type", "").endswith("fido2AuthenticationMethod"):
            x["aaGuid"] = "de1e552d-db1d-4423-a619-566b625cdc84"   # edit: Authenticator on Android
    regs = posture(tmp_path / "b", {"userMethods": {"u1": methods}}).registrations
    assert "passKeyDeviceBoundAuthenticator" in regs["u1"].methods and "fido2SecurityKey" not in regs["u1"].methods


def test_c_include_all_locations_narrows_nothing(tmp_path):
    pol = next(x for x in items("conditional-access/beta-evaluate-ex4-service-principal")
               if x["id"] == "461478d2-5896-4761-84ba-4d241c396a29")
    assert posture(tmp_path, {"conditionalAccessPolicies": [pol]}).ca_policies[0].conditions == ()


def test_e_authentication_strength_read_from_its_combinations(tmp_path):
    pols = items("conditional-access/beta-evaluate-ex2-auth-context-strength")
    p = posture(tmp_path, {"conditionalAccessPolicies": pols})
    strengths = [x.grant.strength for x in p.ca_policies if x.grant.strength is not None]
    assert strengths and all(s.mfa for s in strengths)


def test_i_failed_attempts_do_not_make_an_account_active(tmp_path):
    users = items("users/v1-list-users-ex11-signinactivity")   # lastSignInDateTime only: it counts failures too
    p = posture(tmp_path, {"users": users})
    assert p.users[0].last_sign_in is None
    assert any("lastSuccessfulSignInDateTime" in n.message for n in p.notes)


def test_j_an_assignment_scoped_to_a_catalog_is_not_tenant_wide(tmp_path):
    p = posture(tmp_path, {"roleAssignments": items("roles/v1-list-roleassignments-ex3-entitlement-catalog")})
    assert p.role_assignments == []
