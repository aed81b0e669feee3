"""Writing outputs safely, the manifest, and verification.

A client's folder is built under a hidden staging name and renamed into place only once it is
complete and its manifest is written, so a run killed at any moment leaves either the previous
complete output or a staging folder that is never mistaken for a report.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
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
    return verify_report(folder)[0]


def verify_report(folder: Path) -> tuple[list[str], list[str]]:
    """(problems, litter): problems make verify fail; operating-system litter (``~$*.xlsx``,
    ``.DS_Store``, ``Thumbs.db``) is named but is no problem."""
    from reportgen.readback import MAX_JSON, ReadBackError, read_json
    folder = Path(folder)
    if not (folder / MANIFEST).exists() and not (folder / MANIFEST).is_symlink():
        return [f"{MANIFEST}: missing"], []
    try:
        manifest = read_json(folder / MANIFEST, MAX_JSON, MANIFEST)
        listed = {f["path"]: f for f in manifest["files"] if isinstance(f, dict) and isinstance(f["path"], str)}
    except ReadBackError as e:
        return [f"{MANIFEST}: unreadable ({str(e).split(': ', 1)[-1]})"], []
    except (KeyError, TypeError) as e:
        return [f"{MANIFEST}: unreadable ({type(e).__name__})"], []
    problems: list[str] = []
    present = set()
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            problems.append(f"{rel}: a symbolic link (not in any report); refused")
        elif p.is_file() and rel not in (MANIFEST, MANIFEST_SIG):
            present.add(rel)
    litter = sorted(p for p in present - set(listed) if LITTER.search(p))
    for path in sorted(set(listed) - present):
        problems.append(f"{path}: missing")
    for path in sorted(present - set(listed) - set(litter)):
        problems.append(f"{path}: added (not in the manifest)")
    for path in sorted(present & set(listed)):
        f = folder / path
        entry = listed[path]
        if f.stat().st_size != entry.get("size") or sha256_file(f) != entry.get("sha256"):
            problems.append(f"{path}: changed (SHA-256 differs from the manifest)")
    pdfs = sorted(p for p in present & set(listed) if p.endswith(".pdf") and "/" not in p)
    return problems + signature_problems(folder, pdfs), [f"{p}: litter (ignored)" for p in litter]


MANIFEST_SIG = "manifest.json.sig"
LITTER = re.compile(r"(?:^|/)(?:~\$[^/]*\.xlsx|\.DS_Store|Thumbs\.db|desktop\.ini)$", re.IGNORECASE)


def _claimed_signer(folder: Path) -> str | None:
    """Who results.json says signed the final report; None for a draft or an unsigned final."""
    from reportgen.readback import ReadBackError, review_state
    try:
        review = review_state(folder) or {}
    except ReadBackError:
        return None   # results.json is covered by the manifest: a change there is named already
    if review.get("state") != "final":
        return None
    signer = review.get("signed_by")
    return signer if isinstance(signer, str) and signer else None


def signature_problems(folder: Path, pdfs: list[str]) -> list[str]:
    """Strict: where results.json says the report is final and signed, each PDF holds a signature
    that covers the whole file, and manifest.json.sig verifies with the same certificate. A signed
    PDF is checked whatever results.json says; text that merely looks like a signature is none."""
    signed_by = _claimed_signer(folder)
    has_sig = (folder / MANIFEST_SIG).is_file()
    problems: list[str] = []
    certs: set[str] = set()
    for path in pdfs:
        with open(folder / path, "rb") as f:
            looks_signed = b"/ByteRange" in f.read()
        if not (looks_signed or signed_by or has_sig):
            continue   # a draft, plainly unsigned: pyHanko is slow to import
        from reportgen.signing import check_signatures
        report = check_signatures(folder / path)
        if not report.signed:
            if signed_by:
                problems.append(f"{path}: not signed, though the report was finalized with a signature by {signed_by}")
            problems.extend(f"{path}: {p}" for p in report.problems)
            continue
        problems.extend(f"{path}: {p}" for p in report.problems)
        certs.update(s.cert_sha256 for s in report.signatures[-1:])
    if has_sig:
        problems.extend(_manifest_signature(folder, certs))
    elif certs and not signed_by:
        # a signed PDF beside an unsigned manifest: results.json may have lost its signed_by together
        # with manifest.json.sig, so that the other files could be changed
        problems.append(f"{MANIFEST_SIG}: missing, though the PDF is signed: results.json and the workbook are "
                        f"not covered by a signature")
    elif signed_by:
        problems.append(f"{MANIFEST_SIG}: missing, though the report was finalized with a signature by {signed_by}: "
                        f"results.json and the workbook are not covered by a signature")
    return problems


def _manifest_signature(folder: Path, certs: set[str]) -> list[str]:
    from reportgen.readback import ReadBackError, read_bytes
    from reportgen.signing import check_detached
    try:
        data = read_bytes(folder / MANIFEST, 64 * 1024 * 1024, MANIFEST)
        sig = read_bytes(folder / MANIFEST_SIG, 1024 * 1024, MANIFEST_SIG)
    except ReadBackError as e:
        return [str(e)]
    cert, problems = check_detached(data, sig)
    out = [f"{MANIFEST_SIG}: {p}" for p in problems]
    if not problems and cert not in certs:
        out.append(f"{MANIFEST_SIG}: signed with a different certificate than the PDF's signature" if certs
                   else f"{MANIFEST_SIG}: present, but the PDF is not signed")
    return out


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
