"""Synthetic bench tenants and the request/time floors the Graph endpoints allow for them.

``bench_tenant(n)`` starts from ``demo.build_tenant("typical", ..., users=n)`` (users, registration
details and interactive admin sign-ins already scale with n) and adds, in proportion:
- department groups (one per 1,000 users, ~1,000 members each) referenced by the "all users"
  Conditional Access policy's includeGroups (coverage unchanged: the policy already includes All);
- non-interactive sign-ins (n/50) to the mandatory-MFA apps, all satisfied by MFA.
Sign-in timestamps are moved so they fall inside the collector's window (it collects "now").
"""
from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reportgen.collect import demo

PAGE = {"users": 500, "userRegistrationDetails": 999, "signIns": 1000, "signInsNonInteractive": 1000,
        "groupMembers": 999}
GROUP_NAME_CHUNK = 15          # ids per `id in (...)` filter when the collector reads group names
# single-page endpoints: organization, subscribedSkus, conditionalAccessPolicies, namedLocations,
# securityDefaults, authenticationMethodsPolicy, roleAssignments, roleEligibilitySchedules
SINGLES = 8


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def bench_tenant(n: int, period: str, now: datetime) -> demo.Tenant:
    t = demo.build_tenant("typical", f"Bench Bank {n}", period, users=n)
    rng = random.Random(f"bench|{n}")
    users = t.objects["users"]
    # groups in proportion: one department group per 1,000 users
    ngroups = max(1, n // 1000)
    members = [u for u in users if u["userType"] == "Member"]
    size = math.ceil(len(members) / ngroups)
    new_groups = []
    for i in range(ngroups):
        gid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        t.groups[gid] = [{"@odata.type": "#microsoft.graph.user", "id": u["id"],
                          "userPrincipalName": u["userPrincipalName"], "displayName": u["displayName"]}
                         for u in members[i * size:(i + 1) * size]]
        new_groups.append(gid)
        if isinstance(t.objects.get("groups"), list):
            t.objects["groups"].append({"id": gid, "displayName": f"Department {i + 1:03d}"})
    pol = t.objects["conditionalAccessPolicies"][0]
    pol["conditions"]["users"]["includeGroups"] = list(pol["conditions"]["users"]["includeGroups"]) + new_groups
    # non-interactive sign-ins in proportion (n/50), cloned from the interactive ones
    inter = t.objects["signIns"]
    nonint = []
    for i in range(max(2, n // 50)):
        s = dict(inter[i % len(inter)])
        s["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        s["isInteractive"] = False
        s["signInEventTypes"] = ["nonInteractiveUser"]
        nonint.append(s)
    t.objects["signInsNonInteractive"] = nonint
    # move sign-ins into the live collector's window (it collects at `now`, demo data is for `period`)
    shift = now - demo.collection_time(period)
    for ds in ("signIns", "signInsNonInteractive"):
        for s in t.objects[ds]:
            s["createdDateTime"] = _iso(_parse(s["createdDateTime"]) + shift)
        t.objects[ds].sort(key=lambda s: s["createdDateTime"], reverse=True)
    return t


@dataclass
class Floor:
    requests: int                 # Graph requests (auth excluded)
    paced: int                    # of which report-API (paced) requests
    chains: dict[str, int]        # dataset -> pages (sequential chain length)
    seconds: float                # time floor
    pacing_seconds: float         # the part the pacing alone imposes
    formula: str


def floor(t: demo.Tenant, *, latency: float, limit: int, window: float, lookback_days: int,
          now: datetime, group_names: bool, auth_requests: int = 2) -> Floor:
    """Fewest requests at maximum page sizes, and the least wall time they can take.

    Time floor = pre + max(pacing, longest chain):
      pre     = (auth_requests + 1) * latency  (token discovery + token, then organization alone)
      pacing  = (ceil(P / limit) - 1) * window + latency   P = report-API requests (users with
                signInActivity, registration details, both sign-in feeds); the first `limit` go at once
      chain   = the longest sequential nextLink chain * latency (group chains start after the CA
                policies page: + latency)
    """
    since = now - timedelta(days=lookback_days)
    pages = lambda k, size: max(1, math.ceil(k / size))  # noqa: E731
    sis = {ds: sum(1 for s in t.objects.get(ds, []) if _parse(s["createdDateTime"]) >= since)
           for ds in ("signIns", "signInsNonInteractive")}
    chains = {"users": pages(len(t.objects["users"]), PAGE["users"]),
              "userRegistrationDetails": pages(len(t.objects["userRegistrationDetails"]), PAGE["userRegistrationDetails"]),
              "signIns": pages(sis["signIns"], PAGE["signIns"]),
              "signInsNonInteractive": pages(sis["signInsNonInteractive"], PAGE["signInsNonInteractive"])}
    paced = sum(chains.values())
    referenced = set()
    for p in t.objects["conditionalAccessPolicies"]:
        u = p["conditions"]["users"]
        referenced.update(u.get("includeGroups") or [])
        referenced.update(u.get("excludeGroups") or [])
    for a in t.objects["roleAssignments"]:
        if str(a.get("principal", {}).get("@odata.type", "")).endswith(".group"):
            referenced.add(a["principal"]["id"])
    group_pages = {g: pages(len(t.groups.get(g, [])), PAGE["groupMembers"]) for g in referenced}
    names = math.ceil(len(referenced) / GROUP_NAME_CHUNK) if group_names else 0
    requests = paced + sum(group_pages.values()) + names + SINGLES
    pre = (auth_requests + 1) * latency
    pacing = (math.ceil(paced / limit) - 1) * window + latency
    longest = max(list(chains.values()) + [1 + max(group_pages.values(), default=0)])
    seconds = pre + max(pacing, longest * latency)
    formula = (f"pre {pre:.2f} s + max(pacing ({math.ceil(paced / limit)}-1)x{window:g}s+{latency:g}s = {pacing:.2f} s, "
               f"chain {longest}x{latency:g}s = {longest * latency:.2f} s)")
    return Floor(requests=requests, paced=paced, chains={**chains, "groups(max)": max(group_pages.values(), default=0),
                                                         "group pages": sum(group_pages.values()), "group names": names},
                 seconds=round(seconds, 2), pacing_seconds=round(pacing, 2), formula=formula)
