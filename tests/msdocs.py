"""Microsoft's documented Graph responses as test fixtures, and evidence folders built from them.

The fixtures in ``tests/fixtures/msgraph-docs/`` are example response bodies copied from the
Microsoft Graph reference (each one's page, commit and edits are in ``SOURCES.yaml``; what each
shape means for a verdict is in ``CASES.md``). They let a test run the real posture and checks on
data shaped the way Microsoft says Graph answers, not the way we assume it does::

    from tests.msdocs import evidence_folder, items, load

    ev = evidence_folder(tmp_path, collected_at="2021-07-15T00:00:00Z", datasets={
        "signIns": load("signins/beta-list-2018-azure-portal-single-factor-status-empty"),
        "conditionalAccessPolicies": items("conditional-access/v1-get-policy-or-grant-narrowed"),
        "securityDefaults": load("policies/v1-get-securitydefaults"),
        "userMethods": {"some-user-id": items("methods/v1-list-methods-fido2-whfb")},
        "groupMembers.ba8e7ded-8b0f-4836-ba06-8ff1ecc5c8ba": items("groups/v1-list-transitivemembers-ex1"),
    })
    posture = build_posture(EvidenceReader(ev))

Names are paths under the fixture folder, with or without ``.json``; a bare file name works when
it is unique.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reportgen.evidence import DATASETS, EvidenceWriter, source_of

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "msgraph-docs"
GRAPH = "https://graph.microsoft.com"

# Datasets stored as one object rather than a page of {"value": [...]}.
SINGLE_OBJECT = frozenset({"securityDefaults", "authenticationMethodsPolicy"})


def fixture_path(name: str) -> Path:
    stem = name[:-5] if name.endswith(".json") else name
    path = FIXTURES / f"{stem}.json"
    if path.is_file():
        return path
    found = sorted(FIXTURES.rglob(f"{Path(stem).name}.json"))
    if len(found) == 1:
        return found[0]
    raise FileNotFoundError(f"no single msgraph-docs fixture named {name!r} (found {len(found)})")


def load(name: str) -> dict[str, Any]:
    """One fixture's JSON body, exactly as stored (a fresh copy on every call)."""
    return json.loads(fixture_path(name).read_text(encoding="utf-8"))


def items(name: str) -> list[dict[str, Any]]:
    """The objects of a fixture: its ``value`` list for a collection, else the object itself in a list.

    Handy to put single-object examples (a GET of one policy) into a collection dataset, or to join
    the examples of several pages into one tenant.
    """
    body = load(name)
    value = body.get("value")
    if isinstance(value, list):
        return value
    return [body]


def _page(dataset: str, body: list[dict[str, Any]] | dict[str, Any]) -> dict[str, Any]:
    base = dataset.split(".", 1)[0]
    if base in SINGLE_OBJECT:
        if not isinstance(body, dict):
            raise TypeError(f"{dataset} is one object, not a list")
        return body
    if isinstance(body, list):
        return {"value": body}
    if isinstance(body.get("value"), list):
        return body  # a documented page, kept whole (@odata.context, nextLink and all)
    return {"value": [body]}


def _batch_pages(methods: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-user methods as the collector stores them: $batch answers, 20 users per page."""
    ids = list(methods)
    pages = []
    for start in range(0, len(ids), 20):
        responses = []
        for uid in ids[start:start + 20]:
            body = methods[uid]
            body = {"value": body} if isinstance(body, list) else body
            responses.append({"id": uid, "status": 200, "headers": {"Content-Type": "application/json"},
                              "body": body})
        pages.append({"responses": responses})
    return pages


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _gap(g: Mapping[str, Any] | tuple[str, str]) -> dict[str, Any]:
    if isinstance(g, Mapping):
        return dict(g)
    source, reason = g
    return {"source": source, "reason": reason}


def evidence_folder(tmp_path: Path, *, datasets: Mapping[str, list[dict] | dict], collected_at: str,
                    window_days: int = 30, gaps: Iterable[Mapping[str, Any] | tuple[str, str]] = (),
                    tenant_id: str | None = None, source: str = "graph",
                    granted_permissions: list[str] | None = None) -> Path:
    """Write an evidence folder (the layout ``reportgen.evidence`` reads) and return its path.

    ``datasets`` maps a dataset name (a key of ``reportgen.evidence.DATASETS``, or ``groupMembers.<id>``
    / ``groups.<n>``) to its content:

    - a collection dataset takes a list of objects, or a whole documented page (a dict with a
      ``value`` list, kept as is), or one object (stored as a one-item page);
    - ``securityDefaults`` and ``authenticationMethodsPolicy`` take the object itself;
    - ``userMethods`` takes ``{user id: [method, ...] or {"value": [...]}}`` and is stored as the
      collector stores it, in ``$batch`` answers.

    A dataset left out was not collected; say why in ``gaps`` (``(source, reason)`` pairs or gap
    dicts), as the collector would. ``collected_at`` is an ISO time; the window ends there and
    starts ``window_days`` earlier.
    """
    for name in datasets:
        if name.split(".", 1)[0] not in DATASETS:
            raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    end = datetime.fromisoformat(collected_at.replace("Z", "+00:00"))
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    root = tmp_path / "evidence"
    n = 1
    while root.exists():
        n += 1
        root = tmp_path / f"evidence-{n}"
    writer = EvidenceWriter(root)
    for name, content in datasets.items():
        url = f"{GRAPH}/{'beta' if name.startswith('signIns') else 'v1.0'}/{source_of(name)}"
        pages = _batch_pages(content) if name == "userMethods" else [_page(name, content)]
        for page in pages:
            writer.add_page(name, json.dumps(page, ensure_ascii=False).encode("utf-8"), url=url)
    for g in gaps:
        writer.add_gap(**_gap(g))
    if tenant_id is None:
        org = datasets.get("organization")
        first = (items_of(org) or [{}])[0] if org is not None else {}
        tenant_id = first.get("id") if isinstance(first.get("id"), str) else "00000000-0000-0000-0000-000000000000"
    writer.close("partial" if writer.gaps else "complete", source=source, tenant_id=tenant_id,
                 collected_at=_iso(end), window={"start": _iso(end - timedelta(days=window_days)), "end": _iso(end)},
                 lookback_days=window_days,
                 app={"client_id": None, "granted_permissions": granted_permissions})
    return root


# The group whose transitive members the group-list-transitivemembers page lists (its request URL).
DOCUMENTED_GROUP = "02bd9fd6-8f93-4758-87c3-1fb73740a315"


def documented_datasets() -> dict[str, list[dict] | dict]:
    """A whole tenant assembled from the documented examples, for ``evidence_folder(datasets=...)``.

    Every object is as documented; nothing is invented. The pages were written independently, so
    the tenant is not consistent, and that is the point: policies name a group
    (ba8e7ded-...) whose members no page lists, registration records and users carry different ids,
    role assignments name principals that are not among the listed users (except the three
    expanded ones, which are added as users), sign-ins date from 2018 to 2021, and security
    defaults are on beside Conditional Access policies. Callers drop or replace what their test is
    not about, e.g. ``d = documented_datasets(); del d["securityDefaults"]``. Policies that appear
    on several pages are kept once (first seen). Left out: the entitlement-management role
    assignment (another provider than the collector reads) and per-user methods (the collector
    reads them only when registration details are unavailable).
    """
    def unique(objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        seen, out = set(), []
        for o in objs:
            if o.get("id") not in seen:
                seen.add(o.get("id"))
                out.append(o)
        return out

    def join(*names: str) -> list[dict[str, Any]]:
        return [o for n in names for o in items(n)]

    principals = [a["principal"] for a in items("roles/v1-list-roleassignments-ex1-ga-expand-principal")]
    return {
        "organization": items("organization/v1-get-organization"),
        "subscribedSkus": items("licences/v1-list-subscribedskus"),
        "users": unique(join("users/v1-list-users-ex1", "users/v1-list-users-ex11-signinactivity") + principals),
        "userRegistrationDetails": items("registration/v1-list-userregistrationdetails"),
        "conditionalAccessPolicies": unique(join(
            "conditional-access/v1-list-policies-none-targets", "conditional-access/v1-get-policy-or-grant-narrowed",
            "conditional-access/v1-post-policy-ex1-exo-mfa-outside-trusted",
            "conditional-access/v1-post-policy-ex2-block-exo-named-location",
            "conditional-access/v1-post-policy-ex4-exo-mfa-group",
            "conditional-access/beta-evaluate-ex1-user-app", "conditional-access/beta-evaluate-ex2-auth-context-strength",
            "conditional-access/beta-evaluate-ex3-user-action", "conditional-access/beta-evaluate-ex4-service-principal")),
        "namedLocations": join("conditional-access/v1-list-namedlocations-ex1",
                               "conditional-access/v1-get-namedlocation-untrusted-ip"),
        "securityDefaults": load("policies/v1-get-securitydefaults"),
        "authenticationMethodsPolicy": load("methods-policy/v1-get-authenticationmethodspolicy"),
        "roleAssignments": join("roles/v1-list-roleassignments-ex1-ga-expand-principal",
                                "roles/v1-list-roleassignments-ex2-not-expanded", "roles/v1-get-roleassignment-ex1-ga",
                                "roles/v1-get-roleassignment-ex2-expand-roledefinition"),
        "roleEligibilitySchedules": join("roles/v1-list-roleeligibilityschedules-expired",
                                         "roles/v1-get-roleeligibilityschedule-noexpiration",
                                         "roles/beta-list-roleeligibilityschedules-noexpiration"),
        f"groupMembers.{DOCUMENTED_GROUP}": items("groups/v1-list-transitivemembers-ex1"),
        "signIns": unique(join("signins/beta-list-2020-fido2-mfa",
                               "signins/beta-list-2018-azure-portal-single-factor-status-empty",
                               "signins/beta-list-2021-azure-portal-failed-password", "signins/v1-list-graph-explorer",
                               "signins/beta-get-2018-mfadetail-phone")),
    }


def items_of(content: list[dict] | dict) -> list[dict[str, Any]]:
    """The objects of dataset content given to ``evidence_folder`` (a list, a page, or one object)."""
    if isinstance(content, list):
        return content
    value = content.get("value")
    return value if isinstance(value, list) else [content]
