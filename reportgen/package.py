"""Writing outputs safely, the manifest, and verification.

A client's folder is built under a hidden staging name and renamed into place only once it is
complete and its manifest is written, so a run killed at any moment leaves either the previous
complete output or a staging folder that is never mistaken for a report.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def _private_dirs(folder: Path) -> None:
    """``folder`` and any parent it needs, each created 0700 (mkdir(parents=True) would give the
    parents the umask's mode)."""
    if folder.is_dir():
        return
    _private_dirs(folder.parent)
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)


def write_bytes(path: Path, data: bytes) -> None:
    """Atomic write, private to the user (reports hold personal data)."""
    _private_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)   # a leftover temporary file keeps its mode otherwise
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def dumps(obj: Any) -> bytes:
    """Strict JSON (NaN and infinities raise ValueError) in valid UTF-8. Graph text reaches here
    repaired by the evidence reader; a lone surrogate from anywhere else becomes U+FFFD rather than
    costing the client its report."""
    text = json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False, default=str, allow_nan=False) + "\n"
    try:
        return text.encode()
    except UnicodeEncodeError:
        from reportgen.evidence import replace_lone_surrogates
        return replace_lone_surrogates(text)[0].encode()


def write_json(path: Path, obj: Any) -> None:
    write_bytes(path, dumps(obj))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_index(folder: Path) -> list[dict[str, Any]]:
    """Every file below ``folder`` except the manifest, with hash and size, in a stable order."""
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST:
            out.append({"path": p.relative_to(folder).as_posix(), "sha256": sha256_file(p), "size": p.stat().st_size})
    return out


def write_manifest(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    doc = {**meta, "files": file_index(folder)}
    write_json(folder / MANIFEST, doc)
    return doc


def verify(folder: Path) -> list[str]:
    """Problems found, each naming a file; empty when the folder matches its manifest."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        listed = {f["path"]: f for f in manifest["files"]}
    except FileNotFoundError:
        return [f"{MANIFEST}: missing"]
    except (ValueError, KeyError, TypeError) as e:
        return [f"{MANIFEST}: unreadable ({e})"]
    problems = []
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST}
    for path in sorted(set(listed) - present):
        problems.append(f"{path}: missing")
    for path in sorted(present - set(listed)):
        problems.append(f"{path}: added (not in the manifest)")
    for path in sorted(present & set(listed)):
        f = folder / path
        entry = listed[path]
        if f.stat().st_size != entry.get("size") or sha256_file(f) != entry.get("sha256"):
            problems.append(f"{path}: changed (SHA-256 differs from the manifest)")
    return problems + signature_problems(folder, sorted(p for p in present if p.endswith(".pdf")))


def signature_problems(folder: Path, pdfs: list[str]) -> list[str]:
    """Each broken PDF signature, named; and a missing one where the report says it was signed.
    A draft is simply unsigned."""
    try:
        review = json.loads((folder / "results.json").read_text(encoding="utf-8")).get("review") or {}
        signed_by = review.get("signed_by") if isinstance(review, dict) else None
    except (OSError, ValueError, AttributeError):
        signed_by = None
    problems = []
    for path in pdfs:
        with open(folder / path, "rb") as f:
            looks_signed = b"/ByteRange" in f.read()
        if not looks_signed:
            if signed_by:
                problems.append(f"{path}: not signed, though the report was finalized with a signature by {signed_by}")
            continue
        from reportgen.signing import check_signatures   # pyHanko is slow to import: only for signed PDFs
        problems.extend(f"{path}: {p}" for p in check_signatures(folder / path).problems)
    return problems


def publish(staging: Path, final: Path, keep: Path | None = None) -> None:
    """Swap a complete staging folder into place; the previous output survives until the swap, and
    afterwards too when ``keep`` names where it goes (a superseded final report)."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    if old.exists() and keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(old, keep)
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)


def clean_leftovers(period_dir: Path, slug: str) -> None:
    """Tidy what a killed run left for this client: restore the previous output if the swap was
    interrupted half-way, and remove staging folders."""
    final = period_dir / slug
    olds = sorted(period_dir.glob(f".{slug}.old-*"))
    if olds and not final.exists():
        os.replace(olds[-1], final)
    for p in period_dir.glob(f".{slug}.*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
