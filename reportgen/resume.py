"""May ``run --resume`` keep a client's existing output, or must it be produced again?

An output is kept only when it verifies against its manifest *and* was made from what this run
would use: the same client configuration, firm branding and defaults, the same catalogs and the
same tool version. Otherwise a client changed from nonbank to bank, or a catalog that was
corrected, would be skipped while batch.json reports the new settings.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from reportgen import __version__
from reportgen.package import MANIFEST, sha256_file, verify
from reportgen.readback import MAX_JSON, ReadBackError, read_json

RESULTS = "results.json"
# Settings that do not change a report's content.
_IGNORED_DEFAULTS = ("output_dir",)


@functools.lru_cache(maxsize=1)
def _current_catalogs() -> str:
    from reportgen.controls import load_catalogs
    return json.dumps(load_catalogs().versions(), sort_keys=True)


def _plain(obj: Any) -> Any:
    """JSON round trip: what the manifest holds is compared with what this run would write."""
    return json.loads(json.dumps(obj, default=str))


def _changed(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted names of the fields that differ (first level of nesting kept readable)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            out += _changed(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]


def reusable(folder: Path, job, catalogs: str | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """``(results.json, None)`` when ``--resume`` may keep ``folder`` for ``job``;
    ``(None, why it is produced again)`` otherwise. ``catalogs`` is the JSON of
    ``Catalogs.versions()`` (default: the bundled catalogs, loaded once per process)."""
    from reportgen.pipeline import client_record
    folder = Path(folder)
    if not folder.is_dir():
        return None, "no earlier output"
    problems = verify(folder)
    if problems:
        return None, f"earlier output does not verify ({problems[0]}{'; ...' if len(problems) > 1 else ''})"
    try:
        manifest = read_json(folder / MANIFEST, MAX_JSON)
        listed = {f["path"]: f for f in manifest["files"]}
    except (ReadBackError, KeyError, TypeError):
        return None, "earlier output has an unreadable manifest"
    if RESULTS not in listed:
        return None, f"earlier output's manifest does not list {RESULTS}"
    tool = (manifest.get("tool") or {}).get("version") if isinstance(manifest.get("tool"), dict) else None
    if tool != __version__:
        return None, f"made by reportgen {tool or 'of unknown version'}, this is {__version__}"
    if json.dumps(manifest.get("catalogs"), sort_keys=True) != (catalogs or _current_catalogs()):
        return None, "the catalogs changed since it was made"
    old, new = manifest.get("config"), _plain(client_record(job))
    if not isinstance(old, dict):
        return None, "earlier output does not record its configuration"
    old, new = _comparable(old, folder, listed), _comparable(new, None, None, logo=job.firm.get("logo"))
    changed = _changed(old, new)
    if changed:
        shown = ", ".join(changed[:4]) + (", ..." if len(changed) > 4 else "")
        return None, f"configuration changed ({shown})"
    try:
        doc = read_json(folder / RESULTS, MAX_JSON)
    except ReadBackError:
        return None, f"earlier {RESULTS} is unreadable"
    if not _looks_like_results(doc):
        return None, f"earlier {RESULTS} is not a complete result"
    return doc, None


def _comparable(record: dict[str, Any], folder: Path | None, listed: dict[str, Any] | None,
                logo: str | None = None) -> dict[str, Any]:
    """The record with the firm logo as a content hash (the stored one names its copy in branding/),
    and without settings that do not change a report."""
    rec = json.loads(json.dumps(record))
    firm = rec.get("firm") if isinstance(rec.get("firm"), dict) else {}
    if folder is not None:
        stored = firm.get("logo")
        firm["logo"] = (listed or {}).get(stored, {}).get("sha256") if isinstance(stored, str) else None
    else:
        firm["logo"] = sha256_file(Path(logo)) if logo and Path(logo).is_file() else None
    rec["firm"] = firm
    if isinstance(rec.get("defaults"), dict):
        for k in _IGNORED_DEFAULTS:
            rec["defaults"].pop(k, None)
    return rec


def _looks_like_results(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("period"), str) and isinstance(doc.get("checks"), list)
            and isinstance(doc.get("readiness"), dict) and isinstance(doc.get("summary"), dict)
            and isinstance(doc.get("collection"), dict)
            and all(k in doc["readiness"] for k in ("mandatory_mfa_phase1", "mandatory_mfa_phase2"))
            and "mfa_registered_pct" in doc["summary"] and "status" in doc["collection"])
