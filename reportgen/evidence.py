"""Raw evidence on disk: the one format both the demo generator and the Graph collector write.

Layout of an ``evidence/`` folder::

    collection.json          what was collected, when, by which app, and the gaps
    log.jsonl                one line per HTTP request (URL without secrets, status, request-id, timing)
    pages/<dataset>-<n>.json every response body exactly as received (bytes untouched)

Datasets are named in ``DATASETS``; group members use ``groupMembers.<group id>``. A dataset
that is absent from ``collection.json["datasets"]`` was not collected; its gap says why.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

FORMAT = 1

# dataset name -> Graph path it comes from (also the `source` of a gap)
DATASETS: dict[str, str] = {
    "organization": "organization",
    "subscribedSkus": "subscribedSkus",
    "users": "users",
    "userRegistrationDetails": "reports/authenticationMethods/userRegistrationDetails",
    "userMethods": "users/{id}/authentication/methods",
    "conditionalAccessPolicies": "identity/conditionalAccess/policies",
    "namedLocations": "identity/conditionalAccess/namedLocations",
    "securityDefaults": "policies/identitySecurityDefaultsEnforcementPolicy",
    "authenticationMethodsPolicy": "policies/authenticationMethodsPolicy",
    "roleAssignments": "roleManagement/directory/roleAssignments",
    "roleEligibilitySchedules": "roleManagement/directory/roleEligibilitySchedules",
    "roleAssignmentScheduleInstances": "roleManagement/directory/roleAssignmentScheduleInstances",
    "groupMembers": "groups/{id}/transitiveMembers",
    "groups": "groups",
    "signIns": "auditLogs/signIns",
    "signInsNonInteractive": "auditLogs/signIns (non-interactive)",
}

# dataset -> the application permission Graph requires for it (docs/graph.md)
PERMISSION_FOR: dict[str, str] = {
    "organization": "Organization.Read.All", "subscribedSkus": "Organization.Read.All",
    "users": "User.Read.All", "users.signInActivity": "AuditLog.Read.All",
    "userRegistrationDetails": "AuditLog.Read.All", "userMethods": "UserAuthenticationMethod.Read.All",
    "conditionalAccessPolicies": "Policy.Read.All", "namedLocations": "Policy.Read.All",
    "securityDefaults": "Policy.Read.All", "authenticationMethodsPolicy": "Policy.Read.All",
    "roleAssignments": "RoleManagement.Read.Directory", "roleEligibilitySchedules": "RoleManagement.Read.Directory",
    "roleAssignmentScheduleInstances": "RoleManagement.Read.Directory",
    "groupMembers": "GroupMember.Read.All", "groups": "GroupMember.Read.All", "signIns": "AuditLog.Read.All", "signInsNonInteractive": "AuditLog.Read.All",
}


def permission_for(dataset: str) -> str:
    return PERMISSION_FOR.get(dataset) or PERMISSION_FOR.get(dataset.split(".", 1)[0], "?")


_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def source_of(dataset: str) -> str:
    base = dataset.split(".", 1)[0]
    return DATASETS.get(base, dataset)


def _file_stem(dataset: str) -> str:
    return _SAFE.sub("_", dataset)


class EvidenceError(Exception):
    """Evidence on disk is missing or unreadable."""


@dataclass
class EvidenceWriter:
    """Streams pages to disk as they arrive, so a large tenant is never held in memory twice."""
    root: Path
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        (self.root / "pages").mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root.chmod(0o700)
        self._datasets: dict[str, dict[str, Any]] = {}
        self._gaps: list[dict[str, str]] = []
        self._log = open(self.root / "log.jsonl", "a", encoding="utf-8")

    def add_page(self, dataset: str, body: bytes, url: str | None = None) -> str:
        entry = self._datasets.setdefault(dataset, {"pages": [], "url": url})
        rel = f"pages/{_file_stem(dataset)}-{len(entry['pages']) + 1:04d}.json"
        _write_bytes(self.root / rel, body)
        entry["pages"].append(rel)
        return rel

    def mark_collected(self, dataset: str, url: str | None = None) -> None:
        """A dataset that was read and is legitimately empty (no pages needed)."""
        self._datasets.setdefault(dataset, {"pages": [], "url": url})

    def drop(self, dataset: str) -> None:
        """Forget a dataset whose collection failed half-way (its pages stay on disk, unreferenced)."""
        self._datasets.pop(dataset, None)

    def add_gap(self, source: str, reason: str, **extra: Any) -> None:
        gap = {"source": source, "reason": reason}
        gap.update({k: v for k, v in extra.items() if v is not None})
        if gap not in self._gaps:
            self._gaps.append(gap)

    @property
    def gaps(self) -> list[dict[str, str]]:
        return list(self._gaps)

    def has(self, dataset: str) -> bool:
        return dataset in self._datasets

    def log(self, **entry: Any) -> None:
        self._log.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        self._log.flush()

    def close(self, status: str, **meta: Any) -> dict[str, Any]:
        self._log.close()
        doc = {"format": FORMAT, **self.meta, **meta, "status": status,
               "gaps": self._gaps, "datasets": dict(sorted(self._datasets.items()))}
        _write_bytes(self.root / "collection.json",
                     json.dumps(doc, indent=2, sort_keys=True, default=str).encode())
        return doc


def _write_bytes(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class EvidenceReader:
    def __init__(self, root: Path | str):
        self.root = Path(root)
        try:
            self.meta = json.loads((self.root / "collection.json").read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise EvidenceError(f"no collection.json in {self.root}") from e
        except (ValueError, UnicodeDecodeError) as e:
            raise EvidenceError(f"collection.json in {self.root} is not valid JSON: {e}") from e
        if not isinstance(self.meta, dict) or not isinstance(self.meta.get("datasets"), dict):
            raise EvidenceError(f"collection.json in {self.root} has no datasets")

    @property
    def gaps(self) -> list[dict[str, str]]:
        return [g for g in self.meta.get("gaps", []) if isinstance(g, dict)]

    def has(self, dataset: str) -> bool:
        return dataset in self.meta["datasets"]

    def page_index(self) -> dict[str, tuple[str, ...]]:
        """dataset -> its stored pages, as paths relative to the client folder (``evidence/pages/...``)."""
        out = {}
        for name, entry in self.meta["datasets"].items():
            pages = entry.get("pages") if isinstance(entry, dict) else None
            out[name] = tuple(f"evidence/{p}" for p in pages if isinstance(p, str)) if isinstance(pages, list) else ()
        return out

    def datasets(self, prefix: str) -> list[str]:
        return sorted(d for d in self.meta["datasets"] if d == prefix or d.startswith(prefix + "."))

    def pages(self, dataset: str) -> Iterator[Any]:
        """Parsed pages of a dataset. Raises EvidenceError on a page that is not JSON."""
        entry = self.meta["datasets"].get(dataset)
        if entry is None:
            return
        for rel in entry.get("pages", []):
            path = (self.root / rel).resolve()
            if self.root.resolve() not in path.parents:
                raise EvidenceError(f"{dataset}: page path {rel!r} leaves the evidence folder")
            try:
                yield json.loads(path.read_bytes())
            except FileNotFoundError as e:
                raise EvidenceError(f"{dataset}: page {rel} is missing") from e
            except (ValueError, UnicodeDecodeError) as e:
                raise EvidenceError(f"{dataset}: page {rel} is not valid JSON ({e})") from e

    def values(self, dataset: str) -> Iterator[dict[str, Any]]:
        """The items of a paged collection, across all its pages."""
        for page in self.pages(dataset):
            items = page.get("value") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise EvidenceError(f"{dataset}: a page has no 'value' list")
            for item in items:
                if isinstance(item, dict):
                    yield item

    def single(self, dataset: str) -> dict[str, Any] | None:
        for page in self.pages(dataset):
            if isinstance(page, dict):
                return page
            raise EvidenceError(f"{dataset}: expected a JSON object")
        return None


# Gap reasons shared by the demo generator and the Graph collector, so that a demo tenant and
# the same tenant served by Graph read the same.
GAP_NO_P1 = "tenant has no Entra ID P1 licence"
GAP_PERMISSION = "the app lacks the permission {perm} (403 Authorization_RequestDenied)"
