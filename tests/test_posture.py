"""Evidence -> posture on hostile Graph data: unknown values, missing and mistyped fields, duplicates,
broken pages, odd timestamps, OR grants and $batch items that failed. Unknown must never read as
"good": a degraded value may make a check fail or not_evaluated, never pass."""
from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from postures import run  # noqa: E402

from reportgen import model as m  # noqa: E402
from reportgen.dates import parse_iso as parse_time
from reportgen.evidence import EvidenceError, EvidenceReader, EvidenceWriter  # noqa: E402
from reportgen.posture import PostureError, build_posture  # noqa: E402

COLLECTED = "2026-12-01T06:00:00Z"
U1, U2, U3 = ("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222",
              "33333333-3333-3333-3333-333333333333")


def write(root: Path, datasets: dict[str, list], *, gaps=(), **meta) -> Path:
    """Evidence folder: dataset -> list of pages (a dict/list is JSON-encoded, bytes are written as is)."""
    w = EvidenceWriter(root)
    for ds, pages in datasets.items():
        if not pages:
            w.mark_collected(ds)
        for body in pages:
            w.add_page(ds, body if isinstance(body, bytes) else json.dumps(body).encode())
    for source, reason in gaps:
        w.add_gap(source, reason)
    w.close("partial" if gaps else "complete", **{"source": "graph", "tenant_id": "t", "collected_at": COLLECTED,
                                                  "window": {"start": "2026-11-01T06:00:00Z", "end": COLLECTED},
                                                  **meta})
    return root


def posture(root: Path, datasets: dict[str, list], **kw) -> m.Posture:
    return build_posture(EvidenceReader(write(root, datasets, **kw)))


def page(*items) -> dict:
    return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x", "value": list(items)}


def user(uid=U1, upn="alice@bank.com", **kw) -> dict:
    return {"id": uid, "userPrincipalName": upn, "displayName": str(upn).split("@")[0], "mail": upn, "otherMails": [],
            "accountEnabled": True, "userType": "Member",
            "signInActivity": {"lastSignInDateTime": "2026-11-30T10:00:00Z",
                               "lastSuccessfulSignInDateTime": "2026-11-30T10:00:00Z"}, **kw}


def policy(pid="p1", *, controls=("mfa",), operator="OR", strength=None, state="enabled", **cond) -> dict:
    conditions = {"users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [],
                            "includeRoles": [], "excludeRoles": []},
                  "applications": {"includeApplications": ["All"], "excludeApplications": []},
                  "clientAppTypes": ["all"], "platforms": None, "locations": None, **cond}
    return {"id": pid, "displayName": f"policy {pid}", "state": state, "conditions": conditions,
            "grantControls": {"operator": operator, "builtInControls": list(controls),
                              "authenticationStrength": {"id": strength} if strength else None}}


def batch(*items) -> dict:
    return {"responses": list(items)}


def methods_item(uid, *types, status=200) -> dict:
    body = ({"value": [{"@odata.type": f"#microsoft.graph.{t}", "id": f"m{i}"} for i, t in enumerate(types)]}
            if status == 200 else {"error": {"code": "TooManyRequests", "message": "throttled"}})
    return {"id": uid, "status": status, "headers": {}, "body": body}


# =========================================================================== users

def test_well_formed_users(tmp_path):
    p = posture(tmp_path, {"users": [page(user(), user(U2, "bob@bank.com", userType="Guest"))]})
    assert [(u.upn, u.user_type, u.enabled) for u in p.users] == [("alice@bank.com", "Member", True),
                                                                  ("bob@bank.com", "Guest", True)]
    assert p.users[0].last_sign_in == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert p.registrations is None and p.ca_policies is None and p.sign_ins is None   # not collected


def test_empty_collected_dataset_is_not_missing(tmp_path):
    p = posture(tmp_path, {"users": [], "conditionalAccessPolicies": [page()]})
    assert p.users == [] and p.ca_policies == []


@pytest.mark.parametrize("value", [None, "yes", "false", 1, 0, [], {}])
def test_account_enabled_not_a_boolean_keeps_the_user_examined(tmp_path, value):
    p = posture(tmp_path, {"users": [page(user(accountEnabled=value))]})
    assert p.users[0].enabled is True   # examined by every check, never silently dropped


def test_account_enabled_missing(tmp_path):
    u = user()
    del u["accountEnabled"]
    assert posture(tmp_path, {"users": [page(u)]}).users[0].enabled is True


def test_account_disabled(tmp_path):
    assert posture(tmp_path, {"users": [page(user(accountEnabled=False))]}).users[0].enabled is False


def test_mistyped_and_missing_user_fields(tmp_path):
    items = [
        {"id": U1},                                                           # nothing but an id
        user(U2, upn=None, displayName=["x"], mail=5, otherMails="b@x.com", userType=None, signInActivity="yesterday"),
        user(U3, mail="  ", otherMails=[None, 7, "", "alt@x.com"], userType="ServiceAccount",
             createdDateTime="not a date", onPremisesSyncEnabled="true"),
        {"userPrincipalName": "noid@bank.com"}, {"id": 42}, {"id": ""}, "a string", None, 17,  # no usable id
    ]
    p = posture(tmp_path, {"users": [page(*items)]})
    by = {u.id: u for u in p.users}
    assert set(by) == {U1, U2, U3}
    assert by[U1].upn == U1 and by[U1].user_type == "Member" and by[U1].sign_in_activity_known is False
    assert by[U2].upn == U2 and by[U2].mail is None and by[U2].other_mails == ()
    assert by[U2].last_sign_in is None
    assert by[U3].mail is None and by[U3].other_mails == ("alt@x.com",) and by[U3].user_type == "ServiceAccount"
    assert by[U3].created is None and by[U3].synced is False


def test_duplicate_user_ids_across_pages(tmp_path):
    p = posture(tmp_path, {"users": [page(user(), user(U2, "bob@bank.com")), page(user(upn="alice2@bank.com"))]})
    assert sorted(u.id for u in p.users) == [U1, U2]
    assert next(u for u in p.users if u.id == U1).upn == "alice@bank.com"


def test_never_signed_in_sentinel_and_seven_digit_fractions(tmp_path):
    u1 = user(signInActivity={"lastSignInDateTime": "0001-01-01T00:00:00Z",
                              "lastNonInteractiveSignInDateTime": "0001-01-01T00:00:00Z",
                              "lastSuccessfulSignInDateTime": "0001-01-01T00:00:00Z"})
    u2 = user(U2, "bob@bank.com", signInActivity={"lastSignInDateTime": "2026-11-02T08:15:30.1234567Z",
                                                  "lastNonInteractiveSignInDateTime": "2026-11-20T01:02:03.9999999Z",
                                                  "lastSuccessfulSignInDateTime": "2026-11-20T01:02:03.9999999Z"})
    u3 = user(U3, "carol@bank.com", signInActivity=None)
    p = posture(tmp_path, {"users": [page(u1, u2, u3)]})
    by = {u.id: u for u in p.users}
    assert by[U1].last_sign_in is None and by[U1].sign_in_activity_known is True
    assert by[U2].last_sign_in == datetime(2026, 11, 20, 1, 2, 3, 999999, tzinfo=UTC)
    assert by[U3].last_sign_in is None


def test_failed_attempts_do_not_make_an_account_active(tmp_path):
    sprayed = user(signInActivity={"lastSignInDateTime": "2026-11-30T03:00:00Z",       # a failed attempt
                                   "lastSuccessfulSignInDateTime": "2025-01-10T09:00:00Z"})
    old_shape = user(U2, "bob@bank.com", signInActivity={"lastSignInDateTime": "2026-11-30T03:00:00Z"})
    p = posture(tmp_path, {"users": [page(sprayed, old_shape)]})
    by = {u.id: u for u in p.users}
    assert by[U1].last_sign_in == datetime(2025, 1, 10, 9, tzinfo=UTC)
    assert by[U2].last_sign_in is None and any("lastSuccessfulSignInDateTime" in n.message for n in p.notes)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-02T08:15:30.1234567Z", datetime(2026, 11, 2, 8, 15, 30, 123456, tzinfo=UTC)),
    ("2026-11-02T08:15:30Z", datetime(2026, 11, 2, 8, 15, 30, tzinfo=UTC)),
    ("2026-11-02T08:15:30.1234567+02:00", datetime(2026, 11, 2, 6, 15, 30, 123456, tzinfo=UTC)),
    ("2026-11-02T08:15:30", datetime(2026, 11, 2, 8, 15, 30, tzinfo=UTC)),
    ("0001-01-01T00:00:00Z", None), ("0001-01-01T00:00:00.0000000Z", None),
    ("", None), ("never", None), ("2026-13-45T99:00:00Z", None), (None, None), (20261102, None), ({}, None),
    ("9999-12-31T23:59:59-01:00", None), ("9999-12-31T23:59:59.9999999-12:00", None),
])
def test_parse_time(text, expected):
    got = parse_time(text)
    assert got == expected
    assert got is None or got.tzinfo is not None


# =========================================================================== registration details

def test_registration_details_hostile_values(tmp_path):
    items = [
        {"id": U1, "isMfaRegistered": True, "isMfaCapable": True,
         "methodsRegistered": ["fido2SecurityKey", "someFutureMethod", 7, None]},
        {"id": U2, "isMfaRegistered": "true", "isMfaCapable": 1, "methodsRegistered": None},
        {"id": U3, "methodsRegistered": "fido2SecurityKey"},            # a string, not a list
        {"id": "44444444-4444-4444-4444-444444444444", "isMfaRegistered": True, "methodsRegistered": 5},
        {"id": "55555555-5555-5555-5555-555555555555", "methodsRegistered": {"fido2SecurityKey": True}},
        {"isMfaRegistered": True}, {"id": None},
    ]
    p = posture(tmp_path, {"userRegistrationDetails": [page(*items)]})
    r = p.registrations
    assert p.registration_source == "userRegistrationDetails"
    assert r[U1].mfa_registered and r[U1].methods == ("fido2SecurityKey", "someFutureMethod")
    assert r[U2].mfa_registered is False and r[U2].mfa_capable is False and r[U2].methods == ()
    assert r[U3].mfa_registered is False and r[U3].methods == ()   # not split into characters
    assert r["44444444-4444-4444-4444-444444444444"].methods == ()
    assert r["55555555-5555-5555-5555-555555555555"].methods == ()
    assert len(r) == 5


def test_unknown_registered_method_is_not_phishing_resistant(tmp_path):
    p = posture(tmp_path, {
        "users": [page(user(), user(U2, "bob@bank.com"))],
        "userRegistrationDetails": [page({"id": U1, "isMfaRegistered": True, "methodsRegistered": ["someFutureMethod"]},
                                         {"id": U2, "isMfaRegistered": True, "methodsRegistered": ["fido2SecurityKey"]})],
        "roleAssignments": [page({"roleDefinitionId": m.GLOBAL_ADMIN, "principalId": U1, "directoryScopeId": "/",
                                  "principal": {"@odata.type": "#microsoft.graph.user", "id": U1}},
                                 {"roleDefinitionId": m.GLOBAL_ADMIN, "principalId": U2, "directoryScopeId": "/",
                                  "principal": {"@odata.type": "#microsoft.graph.user", "id": U2}})],
        "roleEligibilitySchedules": [page()], "conditionalAccessPolicies": [page()]})
    r = run(p, emergency_accounts=["alice@bank.com", "bob@bank.com"])
    assert r["EA-02"].status == "fail" and [a.upn for a in r["EA-02"].affected] == ["alice@bank.com"]
    assert r["MFA-04"].status == "warn"


# =========================================================================== $batch methods (no-P1 fallback)

def test_batch_methods(tmp_path):
    p = posture(tmp_path, {"userMethods": [batch(
        methods_item(U1, "passwordAuthenticationMethod", "fido2AuthenticationMethod", "microsoftAuthenticatorAuthenticationMethod"),
        methods_item(U2, "passwordAuthenticationMethod", "emailAuthenticationMethod"),
        methods_item(U3, "passwordAuthenticationMethod", "phoneAuthenticationMethod"))]})
    r = p.registrations
    assert p.registration_source == "methods"
    assert r[U1].mfa_registered and set(r[U1].methods) == {"fido2SecurityKey", "microsoftAuthenticatorPush"}
    assert r[U2].mfa_registered is False and r[U2].methods == ("email",)     # email is not a second factor
    assert r[U3].mfa_registered and r[U3].methods == ("mobilePhone",)


def test_batch_item_that_failed_leaves_the_user_unknown(tmp_path):
    p = posture(tmp_path, {
        "users": [page(user(), user(U2, "bob@bank.com"))],
        "userMethods": [batch(methods_item(U1, "fido2AuthenticationMethod"), methods_item(U2, status=429))],
        "authenticationMethodsPolicy": [{"authenticationMethodConfigurations": [{"id": "Sms", "state": "disabled"}]}]},
        gaps=[("users/{id}/authentication/methods", "authentication methods of 1 of 2 users could not be read (429)")])
    assert U2 not in p.registrations          # unknown: neither registered nor "unregistered"
    assert p.registrations[U1].mfa_registered
    r = run(p, emergency_accounts=["bob@bank.com", "alice@bank.com"])
    assert r["MFA-02"].status == "not_evaluated"   # bob cannot count as registered, nor as unregistered
    assert "no registration record" in next(a.detail for a in r["MFA-02"].affected if a.upn == "bob@bank.com")
    assert r["MFA-06"].status == "not_evaluated" and r["MFA-06"].reason
    assert r["EA-02"].status == "not_evaluated" and r["EA-03"].status == "not_evaluated"


@pytest.mark.parametrize("item", [
    {"id": U2, "status": "200", "body": {"value": [{"@odata.type": "#microsoft.graph.fido2AuthenticationMethod"}]}},
    {"id": U2, "status": 200, "body": {"value": 5}},
    {"id": U2, "status": 200, "body": {"value": "fido2"}},
    {"id": U2, "status": 200, "body": "not an object"},
    {"id": 17, "status": 200, "body": {"value": []}},
    {"status": 200, "body": {"value": []}},
    "garbage", None,
], ids=["status-as-string", "value-int", "value-string", "body-string", "id-int", "no-id", "string", "null"])
def test_hostile_batch_items_never_make_a_user_registered(tmp_path, item):
    p = posture(tmp_path, {"userMethods": [batch(methods_item(U1, "fido2AuthenticationMethod"), item)]})
    assert p.registrations[U1].mfa_registered
    assert U2 not in p.registrations or not p.registrations[U2].mfa_registered


@pytest.mark.parametrize("responses", [5, "x", {"id": U1}, None])
def test_hostile_batch_pages(tmp_path, responses):
    p = posture(tmp_path, {"userMethods": [{"responses": responses}, [1, 2]]})
    assert p.registrations == {}


def test_unknown_method_type_makes_registration_unknown_and_is_noted(tmp_path):
    p = posture(tmp_path, {"userMethods": [batch(
        methods_item(U1, "passwordAuthenticationMethod", "someFutureAuthenticationMethod"),
        {"id": U2, "status": 200, "body": {"value": [{"id": "x"}, "junk", {"@odata.type": 5}]}},
        methods_item(U3, "passwordAuthenticationMethod", "someFutureAuthenticationMethod", "fido2AuthenticationMethod"))]})
    # a method that cannot be read may be a second factor: neither registered nor unregistered
    assert U1 not in p.registrations and U2 not in p.registrations
    assert p.registrations[U3].mfa_registered is True   # a known second factor beside it still counts
    assert any("someFutureAuthenticationMethod" in n.message for n in p.notes)


def test_registration_details_preferred_over_methods(tmp_path):
    p = posture(tmp_path, {"userRegistrationDetails": [page({"id": U1, "isMfaRegistered": False})],
                           "userMethods": [batch(methods_item(U1, "fido2AuthenticationMethod"))]})
    assert p.registration_source == "userRegistrationDetails" and not p.registrations[U1].mfa_registered


# =========================================================================== CA policies

def test_or_grant_of_mfa_and_compliant_device_is_not_an_mfa_policy(tmp_path):
    p = posture(tmp_path, {"conditionalAccessPolicies": [page(
        policy("or", controls=["mfa", "compliantDevice"], operator="OR"),
        policy("and", controls=["mfa", "compliantDevice"], operator="AND"),
        policy("mfa-only", controls=["mfa"], operator="OR"),
        policy("strength-or-device", controls=["compliantDevice"], operator="OR", strength=m.STRENGTH_PHISHING_RESISTANT),
        policy("strength", controls=[], operator="OR", strength=m.STRENGTH_PHISHING_RESISTANT),
        policy("or-hybrid", controls=["mfa", "domainJoinedDevice"], operator="OR"),
    )]})
    by = {x.id: x for x in p.ca_policies}
    assert not by["or"].requires_mfa and not by["or"].is_mfa_policy
    assert by["and"].is_mfa_policy and by["mfa-only"].is_mfa_policy
    assert not by["strength-or-device"].requires_mfa
    assert by["strength"].is_mfa_policy and by["strength"].auth_strength_id == m.STRENGTH_PHISHING_RESISTANT
    assert not by["or-hybrid"].requires_mfa


@pytest.mark.parametrize("operator", [None, "or", "XOR", 1])
def test_grant_operator_unknown_with_alternatives_is_not_mfa(tmp_path, operator):
    p = posture(tmp_path, {"conditionalAccessPolicies": [page(policy(controls=["mfa", "compliantDevice"],
                                                                      operator=operator))]})
    assert not p.ca_policies[0].requires_mfa


def test_or_grant_policy_does_not_satisfy_checks(tmp_path):
    p = posture(tmp_path, {
        "users": [page(user())], "conditionalAccessPolicies": [page(policy(controls=["mfa", "compliantDevice"]))],
        "securityDefaults": [{"isEnabled": False}], "roleAssignments": [page()], "roleEligibilitySchedules": [page()]})
    r = run(p)
    assert r["MFA-01"].status == "fail" and r["MMFA-02"].status == "fail"


def test_unknown_policy_values(tmp_path):
    p = posture(tmp_path, {"conditionalAccessPolicies": [page(
        policy("state", state="enabledButBetter"),
        policy("clients", clientAppTypes=["quantumClients"]),
        policy("future-control", controls=["mfa", "futureControl"], operator="AND"),
        policy("users-not-list", users={"includeUsers": "All"}),
        policy("cond-not-dict", users="All", applications=5),
        policy("risk", signInRiskLevels=["high"]),
        policy("locations", locations={"includeLocations": ["All"], "excludeLocations": ["trusted"]}),
        {"id": "bare"}, {"displayName": "no id"}, {"id": 5},
        {"id": "junk", "conditions": "x", "grantControls": ["mfa"], "state": None},
    )]})
    by = {x.id: x for x in p.ca_policies}
    assert set(by) == {"state", "clients", "future-control", "users-not-list", "cond-not-dict", "risk", "locations",
                       "bare", "junk"}
    assert not by["state"].is_mfa_policy
    assert by["clients"].client_app_types == frozenset({"quantumClients"})
    assert by["future-control"].is_mfa_policy
    assert by["users-not-list"].include_users == frozenset()      # applies to nobody, rather than to all
    assert by["cond-not-dict"].include_users == frozenset() and by["cond-not-dict"].include_apps == frozenset()
    assert by["risk"].has_conditions and by["locations"].has_conditions
    assert not by["bare"].requires_mfa and not by["junk"].requires_mfa


def test_guests_condition(tmp_path):
    p = posture(tmp_path, {"conditionalAccessPolicies": [page(
        policy("g1", users={"includeUsers": ["GuestsOrExternalUsers"], "excludeUsers": []}),
        policy("g2", users={"includeUsers": ["All"], "excludeUsers": ["GuestsOrExternalUsers"]}),
        policy("g3", users={"includeUsers": [], "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest"}}),
    )]})
    by = {x.id: x for x in p.ca_policies}
    assert by["g1"].include_guests and by["g1"].include_users == frozenset()
    assert by["g2"].exclude_guests and by["g2"].exclude_users == frozenset()
    assert by["g3"].include_guests


def test_duplicate_policies(tmp_path):
    p = posture(tmp_path, {"conditionalAccessPolicies": [page(policy("p1"), policy("p1", state="disabled")),
                                                         page(policy("p1"))]})
    assert len(p.ca_policies) == 1 and p.ca_policies[0].state == "enabled"


# =========================================================================== broken pages

@pytest.mark.parametrize("body", [
    b'{"value": [{"id": "11111111-1111-1111-1111-111111111111", "userPrincipalName": "al',   # truncated
    b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>",               # HTML error page
    b"",
    b"\xff\xfe\x00garbage",
    b'{"error": {"code": "x"}}',                 # JSON without a value list
    b"[1, 2, 3]",
], ids=["truncated", "html", "empty", "binary", "no-value", "list"])
def test_broken_page_is_an_evidence_error_naming_the_dataset(tmp_path, body):
    write(tmp_path, {"users": [page(user()), body]})
    with pytest.raises(EvidenceError, match="users"):
        build_posture(EvidenceReader(tmp_path))


@pytest.mark.parametrize("ds", ["conditionalAccessPolicies", "signIns", "userRegistrationDetails", "roleAssignments",
                                "groupMembers.g1"])
def test_html_page_in_other_datasets(tmp_path, ds):
    write(tmp_path, {ds: [b"<html>502 Bad Gateway</html>"]})
    with pytest.raises(EvidenceError, match=ds.split(".")[0]):
        build_posture(EvidenceReader(tmp_path))


def test_single_object_dataset_that_is_html(tmp_path):
    write(tmp_path, {"securityDefaults": [b"<html>oops</html>"]})
    with pytest.raises(EvidenceError, match="securityDefaults"):
        build_posture(EvidenceReader(tmp_path))


def test_missing_page_file(tmp_path):
    write(tmp_path, {"users": [page(user())]})
    (tmp_path / "pages" / "users-0001.json").unlink()
    with pytest.raises(EvidenceError, match="users"):
        build_posture(EvidenceReader(tmp_path))


def test_no_collected_at(tmp_path):
    write(tmp_path, {"users": [page(user())]}, collected_at="yesterday")
    with pytest.raises((PostureError, EvidenceError)):   # the reader refuses it first
        build_posture(EvidenceReader(tmp_path))


# =========================================================================== settings

@pytest.mark.parametrize("doc, expected", [({"isEnabled": True}, True), ({"isEnabled": False}, False),
                                           ({"isEnabled": "true"}, None), ({"isEnabled": None}, None), ({}, None)])
def test_security_defaults(tmp_path, doc, expected):
    assert posture(tmp_path, {"securityDefaults": [doc]}).security_defaults is expected


def test_security_defaults_not_a_boolean_is_not_evaluated(tmp_path):
    p = posture(tmp_path, {"users": [page(user())], "securityDefaults": [{"isEnabled": "true"}],
                           "conditionalAccessPolicies": []})
    # With no policies, and security defaults unknown, nothing about enforcement may pass.
    r = run(p)
    for cid in ("MMFA-02", "MFA-01", "MFA-05", "MFA-07"):
        assert r[cid].status != "pass", cid


def test_methods_policy(tmp_path):
    p = posture(tmp_path, {"authenticationMethodsPolicy": [{"authenticationMethodConfigurations": [
        {"id": "Sms", "state": "enabled"}, {"id": "Voice", "state": "disabled"}, "junk", {"state": "enabled"}]}]})
    assert p.methods_policy["sms"].state == "enabled" and p.methods_policy["voice"].state == "disabled"
    # v3 closed world: targets not returned are unknown targets, never "enabled for nobody"
    assert p.methods_policy["sms"].enabled_for_unknown_targets and p.methods_policy["sms"].enabled_for_someone
    p2 = posture(tmp_path / "b", {"authenticationMethodsPolicy": [{"authenticationMethodConfigurations": "x"}]})
    assert p2.methods_policy is None


@pytest.mark.parametrize("plans, p1, p2", [
    ([{"servicePlanId": m.PLAN_P1, "provisioningStatus": "Success"}], True, False),
    ([{"servicePlanId": m.PLAN_P2.upper(), "provisioningStatus": "Success"}], True, True),
    ([{"servicePlanId": m.PLAN_P1, "provisioningStatus": "Disabled"}], False, False),
    ("not a list", False, False), (5, False, False), (None, False, False), ([None, 3, "x"], False, False),
])
def test_licences(tmp_path, plans, p1, p2):
    p = posture(tmp_path, {"subscribedSkus": [page({"capabilityStatus": "Enabled", "servicePlans": plans})]})
    assert (p.has_p1, p.has_p2) == (p1, p2)


def test_suspended_sku_does_not_count(tmp_path):
    p = posture(tmp_path, {"subscribedSkus": [page({"capabilityStatus": "Suspended", "servicePlans": [
        {"servicePlanId": m.PLAN_P1, "provisioningStatus": "Success"}]})]})
    assert p.has_p1 is False


@pytest.mark.parametrize("domains", [5, "x", [None, {"name": "bank.com"}]])
def test_organization_hostile_domains(tmp_path, domains):
    p = posture(tmp_path, {"organization": [page({"id": "t", "displayName": "Bank", "verifiedDomains": domains})]})
    assert p.tenant_name == "Bank"


# =========================================================================== roles and groups

def _ra(rid, pid, ptype="user", scope="/", **kw):
    return {"roleDefinitionId": rid, "principalId": pid, "directoryScopeId": scope,
            "principal": {"@odata.type": f"#microsoft.graph.{ptype}", "id": pid}, **kw}


def test_role_assignments(tmp_path):
    p = posture(tmp_path, {"roleAssignments": [page(
        _ra(m.GLOBAL_ADMIN.upper(), U1), _ra(m.GLOBAL_ADMIN, U1), _ra(m.GLOBAL_ADMIN, U2, scope="/administrativeUnits/au1"),
        _ra(m.GLOBAL_ADMIN, "g1", "group"), {"roleDefinitionId": 5, "principalId": U3}, {"principalId": U3}, "junk")],
        "groupMembers.g1": [page({"id": U3})]})
    got = sorted((r.role_id, r.principal_id, r.principal_type) for r in p.role_assignments)
    assert got == [(m.GLOBAL_ADMIN, U1, "user"), (m.GLOBAL_ADMIN, "g1", "group")]
    assert p.group_members == {"g1": frozenset({U3})}


def test_nested_group_members_are_flattened_and_ea04_sees_them(tmp_path):
    ea1, ea2 = "bg-01@bank.onmicrosoft.com", "bg-02@bank.onmicrosoft.com"
    pol = policy("mfa-all", users={"includeUsers": ["All"], "excludeGroups": ["outer"]})
    p = posture(tmp_path, {
        "users": [page(user(U1, ea1), user(U2, ea2))],
        "conditionalAccessPolicies": [page(pol)],
        # as an odd server might answer: direct members only, the nested group listed as a member
        "groupMembers.outer": [page({"@odata.type": "#microsoft.graph.group", "id": "inner"})],
        "groupMembers.inner": [page({"@odata.type": "#microsoft.graph.user", "id": U2})],
        "roleAssignments": [page(_ra(m.GLOBAL_ADMIN, U1), _ra(m.GLOBAL_ADMIN, U2))],
        "roleEligibilitySchedules": [page()]})
    assert U2 in p.group_members["outer"]
    r = run(p, emergency_accounts=[ea1, ea2])["EA-04"]
    # v3: the nested exclusion is seen; whether the excluded account has an emergency-grade method is
    # not known here (no registration data), so EA-04 cannot pass
    assert r.status == "not_evaluated" and [a.upn for a in r.affected] == [ea2]


def test_group_used_in_policy_without_members_is_not_collected(tmp_path):
    pol = policy("mfa-all", users={"includeUsers": ["All"], "excludeGroups": ["kiosk"]})
    p = posture(tmp_path, {"users": [page(user(U1, "bg-01@bank.onmicrosoft.com"), user(U2, "bob@bank.com"))],
                           "conditionalAccessPolicies": [page(pol)], "roleAssignments": [page()],
                           "roleEligibilitySchedules": [page()]})
    assert p.group_members is None
    assert any(g.source == "groups/{id}/transitiveMembers" for g in p.gaps)
    r = run(p, emergency_accounts=["bg-01@bank.onmicrosoft.com"])
    assert r["EA-04"].status == "not_evaluated" and r["MFA-01"].status == "not_evaluated"


def test_group_members_dataset_without_group_id(tmp_path):
    p = posture(tmp_path, {"groupMembers": [page({"id": U1})], "roleAssignments": [page()]})
    assert p.group_members == {}


# =========================================================================== sign-ins

def _si(sid="s1", **kw):
    return {"id": sid, "createdDateTime": "2026-11-30T10:00:00.1234567Z", "userId": U1,
            "userPrincipalName": "alice@bank.com", "appId": m.APP_AZURE_CLI, "appDisplayName": "Azure CLI",
            "resourceId": m.APP_ARM, "authenticationRequirement": "singleFactorAuthentication",
            "status": {"errorCode": 0}, "isInteractive": True, **kw}


def test_sign_ins(tmp_path):
    p = posture(tmp_path, {
        "signIns": [page(_si("a", appId=m.APP_AZURE_CLI.upper()), _si("a"), _si("b", authenticationRequirement="other"),
                         _si("c", status={"errorCode": 50126}), _si("d", status=None), _si("e", createdDateTime="0001-01-01T00:00:00Z"),
                         _si("f", createdDateTime=None), {"id": 5, "createdDateTime": "2026-11-30T10:00:00Z"}, "junk")],
        "signInsNonInteractive": [page(_si("g", isInteractive=None, signInEventTypes=["nonInteractiveUser"]))]})
    by = {s.id: s for s in p.sign_ins}
    assert set(by) == {"a", "b", "c", "d", "g"}
    assert by["a"].app_id == m.APP_AZURE_CLI and by["a"].created.microsecond == 123456
    assert by["b"].requirement is None
    assert not by["c"].success and not by["d"].success and by["a"].success
    assert by["g"].interactive is False


def test_non_interactive_log_missing_makes_automation_check_not_evaluated(tmp_path):
    p = posture(tmp_path, {"users": [page(user())], "signIns": [page(_si(authenticationRequirement="multiFactorAuthentication"))]})
    assert p.sign_ins is not None
    r = run(p)["MMFA-04"]
    assert r.status == "not_evaluated" and "non-interactive" in r.reason


def test_sign_ins_not_collected(tmp_path):
    p = posture(tmp_path, {"users": [page(user())], "signInsNonInteractive": [page()]},
                gaps=[("auditLogs/signIns", "tenant has no Entra ID P1 licence")])
    assert p.sign_ins is None
    r = run(p)
    for cid in ("MMFA-03", "MMFA-04", "LOG-01"):
        assert r[cid].status == "not_evaluated" and "P1" in r[cid].reason, cid


# =========================================================================== fuzz: any JSON in any dataset

_json = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(
    ["", "All", "mfa", "enabled", "Guest", "x", U1, m.GLOBAL_ADMIN, "0001-01-01T00:00:00Z", "2026-11-30T10:00:00.1234567Z",
     "#microsoft.graph.fido2AuthenticationMethod", "#microsoft.graph.group"]),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(
        ["id", "value", "userPrincipalName", "accountEnabled", "userType", "signInActivity", "otherMails", "mail",
         "methodsRegistered", "isMfaRegistered", "conditions", "users", "applications", "includeUsers", "excludeGroups",
         "grantControls", "builtInControls", "operator", "state", "responses", "status", "body", "@odata.type",
         "roleDefinitionId", "principalId", "principal", "createdDateTime", "servicePlans", "isEnabled",
         "authenticationMethodConfigurations", "verifiedDomains", "errorCode"]), kids, max_size=4),
    max_leaves=12)
_DATASETS = ["users", "userRegistrationDetails", "userMethods", "conditionalAccessPolicies", "roleAssignments",
             "roleEligibilitySchedules", "signIns", "signInsNonInteractive", "subscribedSkus", "organization",
             "groupMembers.g1", "securityDefaults", "authenticationMethodsPolicy"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_DATASETS),
                       st.lists(st.builds(lambda items: {"value": items}, st.lists(_json, max_size=4)) | _json,
                                max_size=2), max_size=6))
def test_any_json_yields_a_posture_or_an_evidence_error(tmp_path_factory, datasets):
    root = tmp_path_factory.mktemp("ev")
    write(root, datasets)
    try:
        p = build_posture(EvidenceReader(root))
    except EvidenceError:
        return
    results = run(p, emergency_accounts=["alice@bank.com", U1])
    from reportgen.checks import registered
    assert len(results) == len(registered())
