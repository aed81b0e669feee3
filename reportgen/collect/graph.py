"""Live collection of one tenant from Microsoft Graph into an evidence folder.

Read-only: app-only token (client credentials), GET requests, POST only to ``$batch``.
Every response that parses as JSON is stored byte for byte (``evidence.EvidenceWriter``); a dataset
that cannot be read completely is dropped and becomes a gap with a plain reason, so that a check
never passes on data that was not collected. Gap sources and reasons are those of
``demo.write_evidence`` for the same situation.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from reportgen import datasets
from reportgen import model as m
from reportgen.collect import http as H
from reportgen.collect.auth import TokenProvider, analyse_permissions
from reportgen.collect.errors import CollectionError, origin
from reportgen.collect.http import BudgetExhausted, GraphHttp, TransportFailure, safe_url, same_origin
from reportgen.dates import iso_z
from reportgen.evidence import GAP_NO_P1, GAP_PERMISSION, EvidenceWriter, permission_for, source_of
from reportgen.vocab import count

__all__ = ["CollectionError", "collect_graph"]

WORKERS = 12           # datasets fetched concurrently within a tenant (all first-wave datasets at once)
BATCH_WORKERS = 4      # $batch calls in flight for the per-user methods fallback
BATCH_SIZE = 20        # Graph's limit per $batch
MAX_PAGES = 100_000    # a runaway nextLink chain is a fault
_QSAFE = "$,:'()/"     # kept literal in query values (OData syntax); spaces become %20

USERS_SELECT = ("id,userPrincipalName,displayName,mail,otherMails,accountEnabled,userType,"
                "onPremisesSyncEnabled,createdDateTime,assignedLicenses,authorizationInfo")
MFA_APPS = (m.APP_AZURE_PORTAL, m.APP_M365_ADMIN, m.APP_AZURE_CLI, m.APP_AZURE_POWERSHELL, m.APP_AZURE_MOBILE)
MFA_RESOURCES = (m.APP_ARM,)
NO_P1_CODE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
DENIED_CODE = "Authorization_RequestDenied"

# dataset (base name) -> the application permission that reads it


_iso = iso_z


_perm = permission_for
GROUP_NAME_CHUNK = 15  # Graph accepts at most 15 values in an `id in (...)` filter


class DatasetGap(Exception):
    def __init__(self, reason: str, status: int | None = None, code: str | None = None):
        super().__init__(reason)
        self.reason, self.status, self.code = reason, status, code


def _error_of(body: bytes) -> tuple[str | None, str]:
    try:
        doc = json.loads(body)
        err = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(err, dict):
            return (str(err.get("code")) if err.get("code") else None), str(err.get("message") or "")[:200]
        if isinstance(err, str):  # identity-platform style
            return err, str(doc.get("error_description") or "")[:200]
    except (ValueError, AttributeError):
        pass
    return None, ""


def _looks_html(resp, body: bytes) -> bool:
    ctype = resp.headers.get("Content-Type", "").lower()
    return "html" in ctype or body.lstrip()[:1] == b"<"


class _Run:
    def __init__(self, client, writer: EvidenceWriter, *, lookback_days: int, now: datetime,
                 progress: Callable[[str], None] | None):
        self.client = client
        self.g = client.graph
        self.endpoint = self.g.endpoint
        self.writer = writer
        self.now = now.astimezone(UTC)
        self.lookback_days = lookback_days
        self.window_start = self.now - timedelta(days=lookback_days)
        self._wlock = threading.RLock()
        self._plock = threading.Lock()
        self._progress = progress
        self.abort = threading.Event()
        self.user_ids: list[str] | None = None
        self.need_methods = False
        self.groups: set[str] = set()
        self.org_id: str | None = None
        self.http: GraphHttp | None = None

    # ---- thread-safe writer access --------------------------------------------------------
    def log(self, **entry: Any) -> None:
        with self._wlock:
            self.writer.log(**entry)

    def add_page(self, dataset: str, body: bytes, url: str) -> None:
        with self._wlock:
            self.writer.add_page(dataset, body, url=safe_url(url))

    def drop(self, dataset: str) -> None:
        with self._wlock:
            self.writer.drop(dataset)

    def gap(self, source: str, reason: str, status: int | None = None, code: str | None = None) -> None:
        with self._wlock:
            self.writer.add_gap(source, reason, status=status, code=code)
        self.progress(f"gap: {source}: {reason}")

    def progress(self, msg: str) -> None:
        if self._progress is None:
            return
        with self._plock:
            try:
                self._progress(msg)
            except Exception:
                pass

    # ---- URLs and requests ------------------------------------------------------------------
    def url(self, version: str, path: str, params: dict[str, str] | None = None) -> str:
        u = f"{self.endpoint}/{version}/{path}"
        if params:
            u += "?" + "&".join(f"{k}={quote(v, safe=_QSAFE)}" for k, v in params.items())
        return u

    def _send(self, method: str, url: str, dataset: str, *, paced: bool = False, json_body: Any = None):
        if self.abort.is_set():
            raise H.Aborted()
        return self.http.send(method, url, dataset=dataset, paced=paced, json_body=json_body)

    def failure(self, dataset: str, resp, body: bytes) -> DatasetGap:
        status = resp.status_code
        if 300 <= status < 400:
            loc = resp.headers.get("Location", "")
            where = origin(loc) if loc else "no location"
            return DatasetGap(f"answered with a redirect ({status}) to {where}; not followed", status)
        if _looks_html(resp, body):
            return DatasetGap(f"answered with HTML, not JSON (status {status}) — a proxy?", status)
        code, msg = _error_of(body)
        if status == 403 and code and code.startswith("Authentication_RequestFromNonPremium"):
            return DatasetGap(GAP_NO_P1, status, code)
        if status == 403 and code == DENIED_CODE:
            return DatasetGap(GAP_PERMISSION.format(perm=_perm(dataset)), status, code)
        if status == 401:
            return DatasetGap(f"Graph rejected the access token twice (401 {code or 'Unauthorized'})", status, code)
        if status == 429:
            return DatasetGap(f"still throttled (429) after {H.MAX_ATTEMPTS} attempts", status, code)
        if status >= 500:
            return DatasetGap(f"Graph kept failing ({status}{' ' + code if code else ''}) after "
                              f"{H.MAX_ATTEMPTS} attempts", status, code)
        return DatasetGap(f"Graph answered {status}{' ' + code if code else ''}" + (f": {msg}" if msg else ""),
                          status, code)

    def get_json(self, dataset: str, url: str, *, paced: bool = False) -> tuple[bytes, dict[str, Any]]:
        resp = self._send("GET", url, dataset, paced=paced)
        body = resp.content
        if resp.status_code != 200:
            raise self.failure(dataset, resp, body)
        return body, self.parse(resp, body)

    @staticmethod
    def parse(resp, body: bytes) -> dict[str, Any]:
        status = resp.status_code
        if _looks_html(resp, body):
            raise DatasetGap(f"answered with HTML, not JSON (status {status}) — a proxy?", status)
        try:
            doc = json.loads(body)
        except ValueError as e:
            where = f" at byte {e.pos}" if isinstance(getattr(e, "pos", None), int) else ""
            raise DatasetGap(f"answered with invalid or truncated JSON (status {status}, {len(body)} bytes{where})",
                             status) from e
        if not isinstance(doc, dict):
            raise DatasetGap(f"answered with JSON that is not an object (status {status})", status)
        return doc

    # ---- dataset shapes ---------------------------------------------------------------------
    def paged(self, dataset: str, url: str, *, paced: bool = False,
              on_items: Callable[[list[Any]], None] | None = None) -> int:
        """Every page of a collection, stored raw. A failure part-way drops the dataset (then raises)."""
        seen: set[str] = set()
        n = items = 0
        try:
            while url:
                n += 1
                if n > MAX_PAGES or url in seen:
                    raise DatasetGap(f"paging did not end (page {n}, repeated or endless @odata.nextLink)")
                seen.add(url)
                body, doc = self.get_json(dataset, url, paced=paced)
                value = doc.get("value")
                if not isinstance(value, list):
                    raise DatasetGap("answered without a 'value' list (status 200)", 200)
                self.add_page(dataset, body, url)
                items += len(value)
                if on_items:
                    on_items(value)
                self.progress(f"{dataset}: page {n} ({items} items)")
                nxt = doc.get("@odata.nextLink")
                if nxt is None:
                    break
                if not isinstance(nxt, str) or not same_origin(nxt, self.endpoint):
                    shown = origin(nxt) if isinstance(nxt, str) else repr(type(nxt).__name__)
                    raise DatasetGap(f"@odata.nextLink points to {shown}, not {origin(self.endpoint)}; "
                                     "not followed (the token is sent to the Graph endpoint only)")
                url = nxt
        except BaseException:
            self.drop(dataset)
            raise
        return items

    def single(self, dataset: str, url: str) -> None:
        body, _ = self.get_json(dataset, url)
        self.add_page(dataset, body, url)
        self.progress(f"{dataset}: read")

    # ---- datasets -----------------------------------------------------------------------------
    def run(self, dataset: str, fn: Callable[[], Any], source: str | None = None) -> bool:
        """Run one dataset; turn its failure into a gap. Fatal errors propagate."""
        src = source or source_of(dataset)
        try:
            fn()
            return True
        except DatasetGap as g:
            reason = f"group {dataset.split('.', 1)[1]}: {g.reason}" if dataset.startswith("groupMembers.") else g.reason
            self.gap(src, reason, g.status, g.code)
        except BudgetExhausted:
            self.gap(src, f"time budget for this tenant ({self.g.max_tenant_seconds:g} s) ran out")
        except TransportFailure as e:
            self.gap(src, str(e))
        return False

    def organization(self) -> None:
        def ids(items):
            for o in items:
                if isinstance(o, dict) and isinstance(o.get("id"), str):
                    self.org_id = o["id"]
        self.paged(datasets.ORGANIZATION, self.url("v1.0", "organization"), on_items=ids)

    def users(self) -> None:
        ids: list[str] = []

        def keep(items):
            ids.extend(o["id"] for o in items if isinstance(o, dict) and isinstance(o.get("id"), str))
        try:
            self.paged(datasets.USERS,
                       self.url("v1.0", "users", {"$select": USERS_SELECT + ",signInActivity", "$top": "500"}),
                       paced=True, on_items=keep)
        except DatasetGap as g:
            if g.status != 403 or g.code not in (NO_P1_CODE, DENIED_CODE):
                raise
            ids.clear()
            self.progress("users: signInActivity refused; reading users without it")
            self.paged(datasets.USERS, self.url("v1.0", "users", {"$select": USERS_SELECT, "$top": "999"}), on_items=keep)
            reason = (GAP_NO_P1 if g.code == NO_P1_CODE
                      else GAP_PERMISSION.format(perm=_perm(datasets.USERS_SIGN_IN_ACTIVITY)))
            self.gap(datasets.USERS_SIGN_IN_ACTIVITY, reason, g.status, g.code)
        self.user_ids = ids

    def registration(self) -> None:
        try:
            self.paged(datasets.REGISTRATION,
                       self.url("v1.0", "reports/authenticationMethods/userRegistrationDetails", {"$top": "999"}),
                       paced=True)
        except DatasetGap as g:
            if g.status == 403:
                self.need_methods = True  # fall back to per-user methods through $batch
            raise

    def conditional_access(self) -> None:
        def refs(items):
            for p in items:
                users = ((p.get("conditions") or {}).get("users") or {}) if isinstance(p, dict) else {}
                if not isinstance(users, dict):
                    continue
                for key in ("includeGroups", "excludeGroups"):
                    for gid in users.get(key) or []:
                        if isinstance(gid, str) and gid:
                            self.groups.add(gid)
        self.paged(datasets.CA_POLICIES, self.url("v1.0", "identity/conditionalAccess/policies"), on_items=refs)

    def role_assignments(self) -> None:
        def refs(items):
            for a in items:
                pr = a.get("principal") if isinstance(a, dict) else None
                if isinstance(pr, dict) and str(pr.get("@odata.type", "")).endswith(".group") \
                        and isinstance(pr.get("id"), str):
                    self.groups.add(pr["id"])
        self.paged(datasets.ROLE_ASSIGNMENTS, self.url("v1.0", "roleManagement/directory/roleAssignments",
                                               {"$expand": "principal"}), on_items=refs)

    def group_members(self, gid: str) -> None:
        self.paged(f"{datasets.GROUP_MEMBERS}.{gid}", self.url("v1.0", f"groups/{quote(gid, safe='')}/transitiveMembers",
                                                   {"$select": "id,userPrincipalName,displayName", "$top": "999"}))

    def group_names(self, n: int, ids: list[str]) -> None:
        """Display names for the report. Cosmetic: a failure is logged, never a gap."""
        flt = "id in (" + ",".join(f"'{g}'" for g in ids) + ")"
        try:
            self.paged(f"{datasets.GROUPS}.{n}", self.url("v1.0", "groups", {"$filter": flt, "$select": "id,displayName"}))
        except (DatasetGap, TransportFailure) as e:
            self.log(note=f"group names not read ({getattr(e, 'reason', e)}); ids are shown instead")

    def sign_ins(self, dataset: str) -> None:
        # by app, and by resource: an Azure Resource Manager sign-in from any client (VS Code, Terraform,
        # an SDK under a user) counts for phase 2, whatever app it came through
        apps = " or ".join([f"appId eq '{a}'" for a in MFA_APPS] + [f"resourceId eq '{r}'" for r in MFA_RESOURCES])
        kind = "nonInteractiveUser" if dataset == datasets.SIGN_INS_NON_INTERACTIVE else "interactiveUser"
        since = f"createdDateTime ge {_iso(self.window_start)} and ({apps})"
        try:
            self.paged(dataset, self.url("beta", "auditLogs/signIns", {
                "$filter": f"{since} and signInEventTypes/any(t: t eq '{kind}')", "$top": "1000"}), paced=True)
        except DatasetGap as g:
            # An endpoint without beta (or without the event-type filter) still serves v1.0's
            # interactive sign-ins; non-interactive ones have no v1.0 equivalent.
            if dataset != datasets.SIGN_INS or g.status not in (400, 404, 501):
                raise
            self.log(note=f"beta sign-ins refused ({g.reason}); falling back to v1.0 interactive sign-ins")
            self.paged(dataset, self.url("v1.0", "auditLogs/signIns", {"$filter": since, "$top": "1000"}), paced=True)

    def methods(self) -> None:
        """No-P1 fallback: /users/{id}/authentication/methods, 20 per $batch; each batch answer stored raw."""
        ids = list(self.user_ids or [])
        url = f"{self.endpoint}/v1.0/$batch"
        chunks = [ids[i:i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE)]
        lock = threading.Lock()
        ok: set[str] = set()
        failed: dict[str, tuple[int, str | None]] = {}
        done = [0]

        def one(chunk: list[str]) -> None:
            pending, attempt = list(chunk), 0
            while pending:
                attempt += 1
                req = {"requests": [{"id": uid, "method": "GET",
                                     "url": f"/users/{quote(uid, safe='')}/authentication/methods"} for uid in pending]}
                resp = self._send("POST", url, datasets.USER_METHODS, json_body=req)
                body = resp.content
                if resp.status_code != 200:
                    raise self.failure(datasets.USER_METHODS, resp, body)
                doc = self.parse(resp, body)
                responses = doc.get("responses")
                if not isinstance(responses, list):
                    raise DatasetGap("$batch answered without a 'responses' list (status 200)", 200)
                self.add_page(datasets.USER_METHODS, body, url)
                with lock:
                    retry, waits = _sort_answers(responses, pending, ok, failed)
                if not retry or attempt >= H.MAX_ATTEMPTS:
                    with lock:
                        for u in retry:
                            failed.setdefault(u, (0, "no answer"))
                    break
                wait = max(waits) if waits else H.backoff(attempt)
                self.http._wait(wait, dataset=datasets.USER_METHODS, url=url, attempt=attempt,
                                why=f"{len(retry):,} of {len(pending):,} $batch items throttled or failed")
                pending = retry
            with lock:
                done[0] += 1
                n = done[0]
            self.progress(f"userMethods: batch {n}/{len(chunks)}")

        try:
            with ThreadPoolExecutor(max_workers=max(1, BATCH_WORKERS), thread_name_prefix="batch") as pool:
                futs = [pool.submit(one, c) for c in chunks]
                try:
                    for f in futs:
                        f.result()
                except BaseException:
                    for f in futs:
                        f.cancel()
                    raise
        except BaseException:
            self.drop(datasets.USER_METHODS)
            raise
        if not chunks:
            with self._wlock:
                self.writer.mark_collected(datasets.USER_METHODS, url=safe_url(url))
            return
        if failed and not ok and all(c == DENIED_CODE or s == 403 for s, c in failed.values()):
            self.drop(datasets.USER_METHODS)
            code = next((c for _, c in failed.values() if c), None)
            raise DatasetGap(GAP_PERMISSION.format(perm=_perm(datasets.USER_METHODS)), 403, code)
        if failed:
            kinds = sorted({f"{s} {c}".strip() if c else str(s) for s, c in failed.values()})
            self.gap(source_of(datasets.USER_METHODS),
                     f"authentication methods of {len(failed):,} of {count(len(ids), 'user')} could not be read "
                     f"({', '.join(kinds[:3])})")


def _sort_answers(responses: list, pending: list[str], ok: set[str],
                  failed: dict[str, tuple[int, str | None]]) -> tuple[list[str], list[float]]:
    """One $batch answer sorted into ``ok`` and ``failed`` (the caller holds their lock): the ids to
    ask again (throttled, failed for now, or not answered) and the waits the answers asked for."""
    retry, waits, answered = [], [], set()
    for r in responses:
        if not isinstance(r, dict) or r.get("id") not in pending:
            continue
        uid, st = r["id"], r.get("status")
        answered.add(uid)
        if st == 200:
            ok.add(uid)
            failed.pop(uid, None)
        elif st in H.RETRY_STATUSES:
            retry.append(uid)
            hdrs = r.get("headers") if isinstance(r.get("headers"), dict) else {}
            ra = {k.lower(): v for k, v in hdrs.items()}.get("retry-after")
            try:
                waits.append(min(float(ra), H.RETRY_AFTER_CAP))
            except (TypeError, ValueError):
                pass
            failed[uid] = (st, None)
        else:
            rb = r.get("body") if isinstance(r.get("body"), dict) else {}
            err = rb.get("error") if isinstance(rb.get("error"), dict) else {}
            failed[uid] = (st if isinstance(st, int) else 0, err.get("code"))
    return retry + [u for u in pending if u not in answered], waits


def collect_graph(client, writer: EvidenceWriter, *, lookback_days: int, now: datetime,
                  progress: Callable[[str], None] | None = None) -> dict:
    """Collect one tenant into ``writer``; returns the ``writer.close`` document.

    Closes the writer "complete" or "partial" (any gap). On a fatal error closes it "failed"
    (gaps and log kept) and raises ``CollectionError``.
    """
    g = client.graph
    if g is None:
        raise CollectionError("client has no graph section")
    run = _Run(client, writer, lookback_days=lookback_days, now=now, progress=progress)
    t0 = time.monotonic()
    deadline = t0 + g.max_tenant_seconds
    tokens: TokenProvider | None = None
    closed = [False]

    def meta() -> dict[str, Any]:
        granted = tokens.granted if tokens else None
        missing, write = analyse_permissions(granted)
        return dict(source="graph", tenant_id=run.org_id or client.tenant_id, collected_at=_iso(run.now),
                    window={"start": _iso(run.window_start), "end": _iso(run.now)}, lookback_days=lookback_days,
                    cloud=g.cloud, graph_endpoint=g.endpoint, authority=g.authority,
                    scope=f"{g.endpoint}/.default",
                    app={"client_id": g.client_id, "granted_permissions": granted,
                         "missing_permissions": missing, "write_permissions": write},
                    requests=run.http.requests if run.http else 0,
                    retries=run.http.retries if run.http else 0,
                    duration=round(time.monotonic() - t0, 3))

    def fail(e: CollectionError) -> None:
        run.abort.set()
        if not closed[0]:
            closed[0] = True
            with run._wlock:
                writer.add_gap("collection", str(e))
                writer.log(event="fatal", error=str(e))
                writer.close("failed", **meta(), error=str(e))

    try:
        run.progress("authenticating")
        tokens = TokenProvider(client, timeout=g.timeout_seconds, log=run.log)
        run.http = GraphHttp(g.endpoint, tokens, timeout=g.timeout_seconds, deadline=deadline, log=run.log,
                             abort=run.abort)
        _collect(run, tokens)
        status = "partial" if writer.gaps else "complete"
        closed[0] = True
        doc = writer.close(status, **meta())
        run.progress(f"collection {status}: {run.http.requests} requests, {run.http.retries} retries")
        return doc
    except CollectionError as e:
        fail(e)
        raise
    except Exception as e:  # a bug must still leave a closed, honest evidence folder
        err = CollectionError(f"internal error during collection: {type(e).__name__}: {e}")
        fail(err)
        raise err from e
    finally:
        run.abort.set()
        if run.http:
            run.http.close()
        if tokens:
            tokens.close()


def _collect(run: _Run, tokens: TokenProvider) -> None:
    # Organization first, alone: it proves the token works before anything runs in parallel.
    tokens.token()
    run.progress(datasets.ORGANIZATION)
    try:
        run.organization()
    except DatasetGap as gap:
        if gap.status == 401:
            raise CollectionError(f"Graph rejected the access token (401 {gap.code or 'Unauthorized'}) — "
                                  "is the app registered in this tenant and the scope right?") from None
        if gap.status == 403 and tokens.granted == []:
            raise CollectionError("admin consent missing: the access token carries no application permissions "
                                  "(empty roles claim); grant admin consent to the app's Graph permissions") from None
        run.gap(source_of(datasets.ORGANIZATION), gap.reason, gap.status, gap.code)
    except (BudgetExhausted, TransportFailure) as e:
        run.gap(source_of(datasets.ORGANIZATION), "time budget ran out" if isinstance(e, BudgetExhausted) else str(e))

    tasks: dict[str, tuple[Callable[[], Any], str | None]] = {
        # paced report APIs first: they set the wall-time floor
        datasets.SIGN_INS: (lambda: run.sign_ins(datasets.SIGN_INS), None),
        datasets.SIGN_INS_NON_INTERACTIVE: (lambda: run.sign_ins(datasets.SIGN_INS_NON_INTERACTIVE), None),
        datasets.USERS: (run.users, None),
        datasets.REGISTRATION: (run.registration, None),
        datasets.CA_POLICIES: (run.conditional_access, None),
        datasets.ROLE_ASSIGNMENTS: (run.role_assignments, None),
        datasets.SUBSCRIBED_SKUS: (lambda: run.paged(datasets.SUBSCRIBED_SKUS, run.url("v1.0", "subscribedSkus")), None),
        datasets.NAMED_LOCATIONS: (lambda: run.paged(datasets.NAMED_LOCATIONS,
                                             run.url("v1.0", "identity/conditionalAccess/namedLocations")), None),
        datasets.SECURITY_DEFAULTS: (lambda: run.single(datasets.SECURITY_DEFAULTS,
                                                run.url("v1.0", "policies/identitySecurityDefaultsEnforcementPolicy")), None),
        datasets.METHODS_POLICY: (lambda: run.single(datasets.METHODS_POLICY,
                                                           run.url("v1.0", "policies/authenticationMethodsPolicy")), None),
        datasets.ROLE_ELIGIBILITY: (lambda: run.paged(datasets.ROLE_ELIGIBILITY,
                                                       run.url("v1.0", "roleManagement/directory/roleEligibilitySchedules")), None),
        # whether an active assignment is permanent (EA-01) where the tenant has PIM
        datasets.ROLE_SCHEDULES: (lambda: run.paged(datasets.ROLE_SCHEDULES,
                                                    run.url("v1.0", "roleManagement/directory/roleAssignmentSchedules")), None),
    }
    results: dict[str, bool] = {}
    with ThreadPoolExecutor(max_workers=max(1, WORKERS), thread_name_prefix="graph") as pool:
        futs: dict[Future, str] = {pool.submit(run.run, name, fn, src): name for name, (fn, src) in tasks.items()}
        groups_started = methods_started = False
        try:
            while futs:
                done, _ = wait(list(futs), return_when=FIRST_COMPLETED)
                for f in done:
                    name = futs.pop(f)
                    try:
                        results[name] = f.result()
                    except H.Aborted:
                        results[name] = False
                if not groups_started and datasets.CA_POLICIES in results and datasets.ROLE_ASSIGNMENTS in results:
                    groups_started = True
                    for gid in sorted(run.groups):
                        ds = f"{datasets.GROUP_MEMBERS}.{gid}"
                        futs[pool.submit(run.run, ds, lambda gid=gid: run.group_members(gid))] = ds
                    wanted = sorted(run.groups)
                    for n, start in enumerate(range(0, len(wanted), GROUP_NAME_CHUNK), 1):
                        chunk = wanted[start:start + GROUP_NAME_CHUNK]
                        ds = f"{datasets.GROUPS}.{n}"
                        futs[pool.submit(run.run, ds, lambda n=n, c=chunk: run.group_names(n, c))] = ds
                if not methods_started and datasets.USERS in results and datasets.REGISTRATION in results:
                    methods_started = True
                    if run.need_methods:
                        if run.user_ids is None:
                            run.gap(source_of(datasets.USER_METHODS), "not read: the user list could not be collected")
                        else:
                            futs[pool.submit(run.run, datasets.USER_METHODS, run.methods)] = datasets.USER_METHODS
        except BaseException:
            run.abort.set()
            for f in futs:
                f.cancel()
            raise
    if not any(results.values()) and not run.writer.has(datasets.ORGANIZATION):
        raise CollectionError("nothing could be read from Graph (every dataset was refused or failed) — "
                              "admin consent missing, or the wrong tenant?")
