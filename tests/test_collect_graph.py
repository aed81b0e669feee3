"""The live Graph collector against a fake identity platform + Graph over real HTTPS.

Real msal and requests; nothing of theirs is mocked. Backoff and pacing constants are lowered.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # running without an installed package
    sys.path.insert(0, str(ROOT))

from reportgen.checks import Inputs, run_checks  # noqa: E402
from reportgen.collect import demo  # noqa: E402
from reportgen.collect import http as H  # noqa: E402
from reportgen.collect.errors import CollectionError  # noqa: E402
from reportgen.collect.graph import collect_graph  # noqa: E402
from reportgen.config import Client  # noqa: E402
from reportgen.evidence import GAP_NO_P1, GAP_PERMISSION, EvidenceReader, EvidenceWriter  # noqa: E402
from reportgen.posture import build_posture  # noqa: E402
from reportgen.testing.fakegraph import (  # noqa: E402
    ALL_ROLES,
    error,
    foreign_next_link,
    html,
    make_client_certificate,
    redirect,
    stall,
    throttle,
    truncated,
    unauthorized,
    unavailable,
)

PERIOD = "2026-11"
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)   # a fixed collection time, after PERIOD
SECRET = "s3cret-value-do-not-log"
SECRET_ENV = "CLIENT_SECRET_TESTBANK"
NO_P1_CODE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    monkeypatch.setattr(H, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(H, "REPORT_API_LIMIT", 1000)
    monkeypatch.setattr(H, "REPORT_API_WINDOW", 1.0)
    monkeypatch.setenv(SECRET_ENV, SECRET)


@pytest.fixture
def start(fake_graph):
    """Start the fake for a tenant; it accepts this module's client secret unless told otherwise."""
    return lambda t, **kw: fake_graph(t, **{"client_secret": SECRET, **kw})


_TENANTS: dict[tuple, demo.Tenant] = {}


def tenant(profile: str = "ready", users: int | None = None) -> demo.Tenant:
    """A fresh copy (tests may not share mutations) of a deterministic demo tenant."""
    key = (profile, users)
    if key not in _TENANTS:
        _TENANTS[key] = demo.build_tenant(profile, "First Example Bank", PERIOD, users=users, now=NOW)
    t = _TENANTS[key]
    return demo.Tenant(tenant_id=t.tenant_id, domain=t.domain, objects=json.loads(json.dumps(t.objects)),
                       groups=json.loads(json.dumps(t.groups)), methods=json.loads(json.dumps(t.methods)),
                       errors=dict(t.errors))


def client_for(fg, t, **graph) -> Client:
    g = {"client_id": "11111111-2222-3333-4444-555555555555", "client_secret_env": SECRET_ENV,
         "authority_host": fg.url, "graph_endpoint": fg.url, "timeout_seconds": 5}
    g.update(graph)
    return Client.model_validate({"slug": "test-bank", "name": "Test Bank", "institution_type": "bank",
                                  "tenant_id": t.tenant_id, "source": "graph", "graph": g})


def collect(fg, t, out: Path, **graph):
    c = client_for(fg, t, **graph)
    msgs: list[str] = []
    doc = collect_graph(c, EvidenceWriter(out), lookback_days=30, now=NOW, progress=msgs.append)
    return doc, msgs


def log_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def gap_for(doc, source: str) -> dict | None:
    return next((g for g in doc["gaps"] if g["source"] == source), None)


# ---------------------------------------------------------------------------------------------
def test_paging_many_users_all_pages_stored_raw(start, tmp_path):
    t = tenant("ready", users=2500)
    fg = start(t, record_bodies=True)
    doc, msgs = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "complete", doc["gaps"]
    assert doc["source"] == "graph" and doc["tenant_id"] == t.tenant_id
    assert doc["window"] == {"start": "2026-11-01T06:00:00Z", "end": "2026-12-01T06:00:00Z"}
    assert doc["collected_at"] == "2026-12-01T06:00:00Z" and doc["lookback_days"] == 30
    assert doc["app"]["granted_permissions"] == sorted(ALL_ROLES)
    assert doc["app"]["missing_permissions"] == [] and doc["app"]["write_permissions"] == []
    assert doc["requests"] >= 13 and doc["retries"] == 0
    pages = doc["datasets"]["users"]["pages"]
    assert len(pages) == 5                      # 2,500 users at 500 a page (signInActivity)
    ev = EvidenceReader(tmp_path / "ev")
    assert [u["id"] for u in ev.values("users")] == [u["id"] for u in t.objects["users"]]
    assert all("signInActivity" in u for u in ev.values("users"))
    assert len(doc["datasets"]["userRegistrationDetails"]["pages"]) == 3   # 999 a page
    recorded = set(fg.bodies)
    for ds in ("users", "userRegistrationDetails", "signIns"):
        for rel in doc["datasets"][ds]["pages"]:
            assert (tmp_path / "ev" / rel).read_bytes() in recorded   # byte for byte as received
    # the requests asked for $select and the largest $top
    users_q = [e["query"] for e in fg.log if e["path"] == "/v1.0/users"]
    assert "%24select" not in users_q[0] and "$select=id,userPrincipalName" in users_q[0] and "$top=500" in users_q[0]
    si = [e["query"] for e in fg.log if e["path"] == "/beta/auditLogs/signIns"]
    assert all("$top=1000" in q and "createdDateTime%20ge%202026-11-01T06:00:00Z" in q for q in si)
    assert any("users: page 5" in m for m in msgs)
    # log: one line per request, URLs only
    entries = [e for e in log_of(tmp_path / "ev") if "status" in e]
    assert len(entries) == doc["requests"]
    assert all(e["url"].startswith(fg.url) and e.get("request_id") for e in entries)


def test_throttling_with_and_without_retry_after(start, tmp_path):
    t = tenant()
    fg = start(t)
    fg.script("/v1.0/identity/conditionalAccess/policies", throttle(), throttle())   # CA: no Retry-After
    fg.script("/v1.0/subscribedSkus", throttle(retry_after=0.3))
    t0 = time.monotonic()
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "complete", doc["gaps"]
    assert time.monotonic() - t0 >= 0.3
    assert doc["retries"] == 3
    retries = [e for e in log_of(tmp_path / "ev") if e.get("event") == "retry"]
    assert sum("429 without Retry-After" in e["reason"] for e in retries) == 2
    ra = [e for e in retries if "Retry-After 0.3" in e["reason"]]
    assert len(ra) == 1 and ra[0]["wait"] == 0.3 and ra[0]["dataset"] == "subscribedSkus"
    assert fg.counts["/v1.0/identity/conditionalAccess/policies"] == 3


def test_503_retried_then_persistent_503_is_a_gap(start, tmp_path, monkeypatch):
    monkeypatch.setattr(H, "MAX_ATTEMPTS", 3)
    t = tenant()
    fg = start(t)
    fg.script("/v1.0/roleManagement/directory/roleAssignments", unavailable(503))
    fg.script("/v1.0/identity/conditionalAccess/namedLocations", unavailable(503), unavailable(502), unavailable(504))
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "partial"
    assert "roleAssignments" in doc["datasets"]
    assert "namedLocations" not in doc["datasets"]
    gap = gap_for(doc, "identity/conditionalAccess/namedLocations")
    assert gap["reason"] == "Graph kept failing (504 ServiceUnavailable) after 3 attempts" and gap["status"] == 504
    assert fg.counts["/v1.0/identity/conditionalAccess/namedLocations"] == 3


def test_no_p1_licence_falls_back_to_batch_methods(start, tmp_path):
    t = tenant("no-p1")
    fg = start(t)
    fg.batch_item_faults.extend([throttle(retry_after=0.05)] * 3)   # 3 items throttled inside a $batch
    doc, msgs = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "partial"
    want = {("reports/authenticationMethods/userRegistrationDetails", GAP_NO_P1),
            ("auditLogs/signIns", GAP_NO_P1), ("auditLogs/signIns (non-interactive)", GAP_NO_P1),
            ("users.signInActivity", GAP_NO_P1)}
    assert {(g["source"], g["reason"]) for g in doc["gaps"]} == want
    assert all(g["status"] == 403 and g["code"] == NO_P1_CODE for g in doc["gaps"])
    assert "userRegistrationDetails" not in doc["datasets"] and "signIns" not in doc["datasets"]
    ev = EvidenceReader(tmp_path / "ev")
    statuses: dict[str, set[int]] = {}
    for page in ev.pages("userMethods"):           # raw $batch answers, id = user id
        for r in page["responses"]:
            statuses.setdefault(r["id"], set()).add(r["status"])
    assert set(statuses) == {u["id"] for u in t.objects["users"]}
    assert all(200 in s for s in statuses.values()) and sum(429 in s for s in statuses.values()) == 3
    assert len(doc["datasets"]["userMethods"]) and fg.counts["/v1.0/$batch"] == 3   # 25 users: 2 + 1 retry
    assert any("$batch items throttled" in e.get("reason", "") for e in log_of(tmp_path / "ev"))
    posture = build_posture(ev)
    assert posture.registration_source == "methods" and len(posture.registrations) == 25
    assert any(m == "userMethods: batch 2/2" for m in msgs)


def test_missing_permission_is_a_gap_and_reported(start, tmp_path):
    t = tenant()
    roles = [r for r in ALL_ROLES if r != "Policy.Read.All"] + ["Policy.ReadWrite.ConditionalAccess"]
    fg = start(t, roles=roles)
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "partial"
    reason = GAP_PERMISSION.format(perm="Policy.Read.All")
    for src in ("identity/conditionalAccess/policies", "identity/conditionalAccess/namedLocations",
                "policies/identitySecurityDefaultsEnforcementPolicy", "policies/authenticationMethodsPolicy"):
        g = gap_for(doc, src)
        assert g and g["reason"] == reason and g["code"] == "Authorization_RequestDenied", src
    assert "users" in doc["datasets"] and "conditionalAccessPolicies" not in doc["datasets"]
    assert doc["app"]["write_permissions"] == ["Policy.ReadWrite.ConditionalAccess"]
    assert doc["app"]["missing_permissions"] == []   # ReadWrite.ConditionalAccess counts; it is flagged as write


def test_missing_permission_listed(start, tmp_path):
    t = tenant()
    fg = start(t, roles=[r for r in ALL_ROLES if r not in ("AuditLog.Read.All", "User.Read.All")]
                    + ["Directory.Read.All"])
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["app"]["missing_permissions"] == ["AuditLog.Read.All"]
    perm = GAP_PERMISSION.format(perm="AuditLog.Read.All")
    assert gap_for(doc, "users.signInActivity")["reason"] == perm
    assert gap_for(doc, "auditLogs/signIns")["reason"] == perm
    assert "users" in doc["datasets"]              # Directory.Read.All reads users
    # registration details refused: falls back to methods
    assert "userMethods" in doc["datasets"]


def test_bad_secret_fails_with_aadsts_and_closes_failed(start, tmp_path, monkeypatch):
    t = tenant()
    fg = start(t)
    monkeypatch.setenv(SECRET_ENV, "wrong")
    with pytest.raises(CollectionError, match=r"authentication failed: AADSTS7000215 Invalid client secret"):
        collect(fg, t, tmp_path / "ev")
    meta = json.loads((tmp_path / "ev" / "collection.json").read_text())
    assert meta["status"] == "failed" and "AADSTS7000215" in meta["error"]
    assert not any(p.startswith("/v1.0") for p in fg.counts)


def test_missing_secret_variable(start, tmp_path, monkeypatch):
    t = tenant()
    fg = start(t)
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(CollectionError, match=f"environment variable {SECRET_ENV} is not set"):
        collect(fg, t, tmp_path / "ev")
    meta = json.loads((tmp_path / "ev" / "collection.json").read_text())
    assert meta["status"] == "failed" and meta["gaps"][0]["reason"].startswith("environment variable")
    assert fg.token_requests == []


def test_certificate_auth(start, tmp_path):
    key, cert = make_client_certificate(tmp_path / "cert")
    t = tenant()
    fg = start(t, client_secret=None, certificate_pem=cert.read_bytes())
    doc, _ = collect(fg, t, tmp_path / "ev", client_secret_env=None,
                     certificate={"private_key": str(key), "public_certificate": str(cert)})
    assert doc["status"] == "complete", doc["gaps"]
    assert [r["auth"] for r in fg.token_requests] == ["assertion"]
    # another certificate is refused by the identity platform
    _, other = make_client_certificate(tmp_path / "other")
    fg2 = start(t, client_secret=None, certificate_pem=other.read_bytes())
    with pytest.raises(CollectionError, match="authentication failed: AADSTS700027"):
        collect(fg2, t, tmp_path / "ev2", client_secret_env=None,
                certificate={"private_key": str(key), "public_certificate": str(cert)})


def test_national_cloud_overrides_and_scope(start, tmp_path):
    t = tenant()
    fg = start(t)
    doc, _ = collect(fg, t, tmp_path / "ev", cloud="usgov")
    assert doc["status"] == "complete"
    assert doc["cloud"] == "usgov" and doc["graph_endpoint"] == fg.url and doc["authority"] == fg.url
    assert {r["scope"] for r in fg.token_requests} == {f"{fg.url}/.default"}
    assert all(r["tenant"] == t.tenant_id for r in fg.token_requests)
    # without overrides, the usgov cloud points at the US Government hosts
    c = Client.model_validate({"slug": "x", "name": "x", "institution_type": "bank", "tenant_id": t.tenant_id,
                               "source": "graph", "graph": {"cloud": "usgov", "client_id": "a",
                                                            "client_secret_env": SECRET_ENV}})
    assert (c.graph.authority, c.graph.endpoint) == ("https://login.microsoftonline.us", "https://graph.microsoft.us")


def test_next_link_to_another_host_is_refused(start, tmp_path):
    t = tenant("ready", users=1200)
    fg = start(t)
    fg.script("/v1.0/users", foreign_next_link("https://graph.evil.example"))
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "partial"
    g = gap_for(doc, "users")
    assert "https://graph.evil.example" in g["reason"] and "not followed" in g["reason"]
    assert "users" not in doc["datasets"]           # an incomplete user list is not evidence
    assert fg.counts["/v1.0/users"] == 1


def test_eligibility_schedules_400_is_a_gap_not_fatal(start, tmp_path):
    t = tenant()
    fg = start(t)
    fg.script("/v1.0/roleManagement/directory/roleEligibilitySchedules",
              error(400, "BadRequest", "PIM is not available for this tenant"))
    doc, _ = collect(fg, t, tmp_path / "ev")
    g = gap_for(doc, "roleManagement/directory/roleEligibilitySchedules")
    assert g["reason"] == "Graph answered 400 BadRequest: PIM is not available for this tenant" and g["status"] == 400
    assert doc["status"] == "partial" and "roleAssignments" in doc["datasets"]


def test_redirect_is_not_followed(start, tmp_path):
    t = tenant()
    fg = start(t)
    fg.script("/v1.0/subscribedSkus", redirect("https://login.evil.example/steal"))
    doc, _ = collect(fg, t, tmp_path / "ev")
    g = gap_for(doc, "subscribedSkus")
    assert g["reason"] == "answered with a redirect (302) to https://login.evil.example; not followed"
    assert doc["status"] == "partial"


def test_html_and_truncated_bodies_are_gaps(start, tmp_path):
    t = tenant()
    fg = start(t)
    fg.script("/v1.0/identity/conditionalAccess/namedLocations", html())
    fg.script("/v1.0/policies/authenticationMethodsPolicy", truncated())
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert gap_for(doc, "identity/conditionalAccess/namedLocations")["reason"] == \
        "answered with HTML, not JSON (status 200) — a proxy?"
    assert gap_for(doc, "policies/authenticationMethodsPolicy")["reason"].startswith(
        "answered with invalid or truncated JSON (status 200")
    assert "namedLocations" not in doc["datasets"] and "authenticationMethodsPolicy" not in doc["datasets"]
    ev = EvidenceReader(tmp_path / "ev")
    for ds in doc["datasets"]:                       # every stored page parses
        list(ev.pages(ds))


def test_401_mid_run_refreshes_token_once(start, tmp_path):
    t = tenant()
    fg = start(t)
    fg.script("/v1.0/users", unauthorized())
    fg.script("/v1.0/roleManagement/directory/roleEligibilitySchedules", unauthorized(), unauthorized())
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert "users" in doc["datasets"]
    g = gap_for(doc, "roleManagement/directory/roleEligibilitySchedules")
    assert g["reason"].startswith("Graph rejected the access token twice (401")
    assert len(fg.token_requests) >= 2
    assert any("token refreshed" in e.get("reason", "") for e in log_of(tmp_path / "ev"))


def test_revoked_token_is_refreshed(start, tmp_path):
    t = tenant()
    fg = start(t)
    orig = fg.token

    def token_then_revoke_later(*a, **kw):
        res = orig(*a, **kw)
        if len(fg.token_requests) == 1:
            import threading
            threading.Timer(0.12, fg.revoke_tokens).start()
        return res
    fg.token = token_then_revoke_later
    fg.latency = 0.05
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "complete", doc["gaps"]
    assert len(fg.token_requests) == 2              # several 401s, one refresh between them


def test_stalled_answer_times_out_and_is_retried(start, tmp_path):
    t = tenant()
    fg = start(t)
    fg.script("/v1.0/subscribedSkus", stall(1.5))
    doc, _ = collect(fg, t, tmp_path / "ev", timeout_seconds=0.5)
    assert doc["status"] == "complete", doc["gaps"]
    retries = [e for e in log_of(tmp_path / "ev") if e.get("event") == "retry"]
    assert any("read timeout" in e["reason"] for e in retries)


def test_time_budget_exhausted_makes_gaps(start, tmp_path):
    t = tenant()
    fg = start(t)
    fg.script("/v1.0/subscribedSkus", throttle(retry_after=30))
    t0 = time.monotonic()
    doc, _ = collect(fg, t, tmp_path / "ev", max_tenant_seconds=2)
    assert time.monotonic() - t0 < 5
    assert doc["status"] == "partial"
    assert "time budget" in gap_for(doc, "subscribedSkus")["reason"]


def test_pacing_respects_report_api_limit(start, tmp_path, monkeypatch):
    monkeypatch.setattr(H, "REPORT_API_LIMIT", 4)
    monkeypatch.setattr(H, "REPORT_API_WINDOW", 0.4)
    t = tenant("ready", users=2500)
    fg = start(t, pacing=(4, 0.4))
    t0 = time.monotonic()
    doc, _ = collect(fg, t, tmp_path / "ev")
    took = time.monotonic() - t0
    assert doc["status"] == "complete"
    assert fg.pacing_violations == 0
    report = [e["t"] for e in fg.log if e["path"] in ("/beta/auditLogs/signIns",
                                                      "/v1.0/reports/authenticationMethods/userRegistrationDetails")
              or (e["path"] == "/v1.0/users" and "signInActivity" in e["query"])]
    assert len(report) == 10
    assert took >= 0.4 * 2   # 10 report requests at 4 per 0.4 s


def test_server_side_pacing_429_is_honoured(start, tmp_path):
    t = tenant("ready", users=2500)
    fg = start(t, pacing=(3, 0.3), report_retry_after=0.3)
    doc, _ = collect(fg, t, tmp_path / "ev")          # client pacing off (limit 1000)
    assert doc["status"] == "complete", doc["gaps"]
    assert fg.pacing_violations > 0 and doc["retries"] >= fg.pacing_violations


def test_tls_is_verified(start, tmp_path, monkeypatch):
    t = tenant()
    fg = start(t)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")        # the fake's CA is not trusted now
    with pytest.raises(CollectionError, match=r"TLS certificate verification failed for https://127\.0\.0\.1"):
        collect(fg, t, tmp_path / "ev")
    assert json.loads((tmp_path / "ev" / "collection.json").read_text())["status"] == "failed"


def test_dns_failure_names_the_host(tmp_path):
    t = tenant()

    class Nowhere:
        url = "https://login.nonexistent.invalid"
    with pytest.raises(CollectionError, match="cannot resolve login.nonexistent.invalid: DNS failure"):
        collect(Nowhere, t, tmp_path / "ev")


def test_no_consent_at_all_is_fatal(start, tmp_path):
    t = tenant()
    fg = start(t, roles=[])
    with pytest.raises(CollectionError, match="admin consent missing"):
        collect(fg, t, tmp_path / "ev")
    assert json.loads((tmp_path / "ev" / "collection.json").read_text())["status"] == "failed"


def test_opaque_token_means_unknown_permissions(start, tmp_path):
    t = tenant()
    fg = start(t, opaque_tokens=True)
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "complete"
    assert doc["app"]["granted_permissions"] is None and doc["app"]["missing_permissions"] is None


def test_no_secret_or_token_written(start, tmp_path):
    t = tenant("no-p1")
    fg = start(t)
    fg.script("/v1.0/users", unauthorized())
    collect(fg, t, tmp_path / "ev")
    blob = b"".join(p.read_bytes() for p in (tmp_path / "ev").rglob("*") if p.is_file())
    assert SECRET.encode() not in blob
    assert len(fg.issued) == 2
    for tok in fg.issued:
        assert tok.encode() not in blob and tok.split(".")[1].encode() not in blob
    assert b"Bearer" not in blob and b"Authorization" not in blob


@pytest.mark.parametrize("profile", ["ready", "seed-problems", "no-p1", "exceptions"])
def test_demo_tenant_via_fake_gives_same_checks_as_demo_evidence(start, tmp_path, profile):
    t = tenant(profile)
    demo_dir, live_dir = tmp_path / "demo", tmp_path / "live"
    demo.write_evidence(tenant(profile), EvidenceWriter(demo_dir), lookback_days=30, collected_at=NOW)
    fg = start(t)
    doc, _ = collect(fg, t, live_dir)
    onms = t.domain.split(".")[0] + ".onmicrosoft.com"
    inp = Inputs(emergency_accounts=[f"bg-01@{onms}", f"bg-02@{onms}"],
                 phase2_postponed=True if profile == "seed-problems" else False, lookback_days=30)
    results = {}
    for name, d in (("demo", demo_dir), ("live", live_dir)):
        ev = EvidenceReader(d)
        p = build_posture(ev)
        results[name] = ({r.id: r.status for r in run_checks(p, inp)},
                         sorted((g.source, g.reason) for g in p.gaps),
                         ev.meta["status"])
    assert results["live"] == results["demo"]
    assert doc["status"] == ("partial" if profile == "no-p1" else "complete")


def test_endpoint_without_beta_or_group_filter_still_collects(start, tmp_path):
    """A Graph-compatible endpoint that lacks beta sign-ins and `id in` filters loses nothing it can give."""
    t = tenant("seed-problems")
    fg = start(t)
    for _ in range(2):
        fg.script("/beta/auditLogs/signIns", error(400, "Request_BadRequest", "beta not supported"))
    t.errors["groups"] = (400, "Request_UnsupportedQuery", "Unsupported query.")
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert "signIns" in doc["datasets"], doc["gaps"]
    assert not any(g["source"] == "groups" for g in doc["gaps"])
    assert any(k.startswith("groupMembers.") for k in doc["datasets"])
    log = (tmp_path / "ev" / "log.jsonl").read_text()
    assert "falling back to v1.0" in log and "group names not read" in log
