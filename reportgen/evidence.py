"""Raw evidence on disk: the one format both the demo generator and the Graph collector write.

Layout of an ``evidence/`` folder::

    collection.json          what was collected, when, by which app, and the gaps
    log.jsonl                one line per HTTP request (URL without secrets, status, request-id, timing)
    pages/<dataset>-<n>.json every response body exactly as received (bytes untouched)

Datasets are named in ``DATASETS``; group members use ``groupMembers.<group id>``. A dataset
that is absent from ``collection.json["datasets"]`` was not collected; its gap says why.

A stored folder is hostile input like the tenant text in it: ``EvidenceReader`` checks
collection.json and every page path before anything is read, and is the one place Graph text
enters the model (lone surrogates repaired, ambiguous duplicate keys set aside, both reported in
``notes``). ``copy_evidence`` is the only way a stored folder is copied into a report.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen import datasets
from reportgen.dates import parse_iso
from reportgen.vocab import count

FORMAT = 1

# Bounds on what is read from a stored folder (the README states them).
MAX_JSON_BYTES = 256 * 1024 * 1024      # one page or collection.json
MAX_EVIDENCE_BYTES = 2 * 1024 ** 3      # a whole evidence folder copied into a report
MAX_EVIDENCE_FILES = 200_000            # files and folders in it

# dataset name -> Graph path it comes from (also the `source` of a gap); defined in datasets.py
DATASETS: dict[str, str] = {d.name: d.path for d in datasets.REGISTRY if d.name != datasets.USERS_SIGN_IN_ACTIVITY}
permission_for = datasets.permission_for
source_of = datasets.source_of
_file_stem = datasets.file_stem


class EvidenceError(Exception):
    """Evidence on disk is missing, unreadable or not what the writer writes; the message names the file."""


@dataclass(frozen=True)
class DataNote:
    """Something the reader repaired or set aside in the data, for the report's methodology."""
    source: str     # dataset (without a group id suffix), or "collection.json"
    message: str


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
        fd = os.open(self.root / "log.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)
        self._log = os.fdopen(fd, "a", encoding="utf-8")

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
        self._log.write(json.dumps(entry, sort_keys=True, default=str, allow_nan=False) + "\n")
        self._log.flush()

    def close(self, status: str, **meta: Any) -> dict[str, Any]:
        self._log.close()
        doc = {"format": FORMAT, **self.meta, **meta, "status": status,
               "gaps": self._gaps, "datasets": dict(sorted(self._datasets.items()))}
        _write_bytes(self.root / "collection.json",
                     json.dumps(doc, indent=2, sort_keys=True, default=str, allow_nan=False).encode())
        return doc


def _write_bytes(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


# --------------------------------------------------------------------------- parsing

_LONE = re.compile("[\ud800-\udfff]")
# a surrogate can only come from a \uD8xx-\uDFxx escape or from bytes decoded with surrogatepass
_SURROGATE_HINT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def replace_lone_surrogates(text: str) -> tuple[str, int]:
    """``text`` with every unpaired UTF-16 surrogate replaced by U+FFFD, and how many were.
    A high/low pair (as raw code points) becomes the one character it encodes."""
    if not _LONE.search(text):
        return text, 0
    fixed = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return fixed, fixed.count("\ufffd") - text.count("\ufffd")


class _Tally:
    """What parsing repaired or set aside in one source."""

    def __init__(self) -> None:
        self.surrogates = 0
        self.dropped: Counter[str] = Counter()   # key -> records where it was ambiguous


class _NotFinite(Exception):
    pass


def _not_finite(token: str) -> Any:
    raise _NotFinite(token)


def _float(token: str) -> float:
    v = float(token)
    if not math.isfinite(v):
        raise _NotFinite(token)
    return v


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is not 1.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _parse(data: bytes, label: str, tally: _Tally) -> Any:
    """Strict JSON: NaN and infinities refused; lone surrogates repaired; a key given twice with
    different values dropped from its object (it then reads as missing: unknown, never a pass)."""
    try:
        text = data.decode(json.detect_encoding(data), "surrogatepass")
    except UnicodeDecodeError as e:
        raise EvidenceError(f"{label} is not valid JSON: not UTF-8 text (byte {e.start})") from None
    repair = bool(_SURROGATE_HINT.search(text))

    def fix(v: Any) -> Any:
        # objects inside v were already repaired by hook (the parser builds inner values first)
        if isinstance(v, str):
            v, n = replace_lone_surrogates(v)
            tally.surrogates += n
        elif isinstance(v, list):
            v = [fix(x) for x in v]
        return v

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if repair:
            pairs = [(fix(k), fix(v)) for k, v in pairs]
        obj = dict(pairs)
        if len(obj) != len(pairs):
            first: dict[str, Any] = {}
            ambiguous = set()
            for k, v in pairs:
                if k in first and not _same(first[k], v):
                    ambiguous.add(k)
                first.setdefault(k, v)
            for k in ambiguous:
                del obj[k]
                tally.dropped[k] += 1
        return obj

    try:
        doc = json.loads(text, object_pairs_hook=hook, parse_constant=_not_finite, parse_float=_float)
    except _NotFinite as e:
        raise EvidenceError(f"{label} holds {e}: not a finite number, not JSON (Graph never sends it)") from None
    except RecursionError:
        raise EvidenceError(f"{label} is nested too deeply to read") from None
    except ValueError as e:
        raise EvidenceError(f"{label} is not valid JSON ({e})") from None
    return fix(doc) if repair and not isinstance(doc, dict) else doc


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "unknown type"


def _read_bounded(path: Path, label: str) -> bytes:
    """A regular file's bytes, refused without reading when it is a link, not a regular file, or
    larger than MAX_JSON_BYTES."""
    try:
        # O_NOFOLLOW: a link is refused; O_NONBLOCK: a fifo cannot hang the open
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise EvidenceError(f"{label} is missing") from None
    except OSError as e:
        if os.path.islink(path):
            raise EvidenceError(f"{label} is a symbolic link; evidence holds plain files only") from None
        raise EvidenceError(f"{label} cannot be read ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise EvidenceError(f"{label} is not a regular file ({_kind(st.st_mode)})")
        if st.st_size > MAX_JSON_BYTES:
            raise EvidenceError(f"{label} is larger than {MAX_JSON_BYTES >> 20} MiB ({st.st_size} bytes)")
        data = f.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise EvidenceError(f"{label} is larger than {MAX_JSON_BYTES >> 20} MiB")
    return data


# --------------------------------------------------------------------------- reading

_COLLECTED_YEARS = range(2000, 2100)


def _check_time(what: str, value: Any) -> Any:
    t = parse_iso(value)
    if t is None or t.year not in _COLLECTED_YEARS:
        raise EvidenceError(f"collection.json: {what} {str(value)[:40]!r} is not a date and time between "
                            f"{_COLLECTED_YEARS.start} and {_COLLECTED_YEARS.stop - 1}")
    return t


def _check_meta(meta: Any) -> None:
    """collection.json has the shape the writer gives it; anything else is refused, naming the field."""
    if not isinstance(meta, dict) or not isinstance(meta.get("datasets"), dict):
        raise EvidenceError("collection.json has no datasets")
    if meta.get("format", FORMAT) != FORMAT:
        raise EvidenceError(f"collection.json: format {str(meta['format'])[:20]!r} is not one this version reads")
    for key in ("status", "source", "tenant_id"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise EvidenceError(f"collection.json: {key} must be text")
    if meta.get("app") is not None and not isinstance(meta["app"], dict):
        raise EvidenceError("collection.json: app must be an object")
    gaps = meta.get("gaps", [])
    if not isinstance(gaps, list):
        raise EvidenceError("collection.json: gaps must be a list")
    for n, g in enumerate(gaps, 1):
        if not isinstance(g, dict) or not isinstance(g.get("source"), str) or not isinstance(g.get("reason"), str):
            raise EvidenceError(f"collection.json: gap {n} is not an object with a source and a reason")
    for ds, entry in meta["datasets"].items():
        if not isinstance(entry, dict):
            raise EvidenceError(f"collection.json: dataset {ds[:80]!r} is not an object")
        if not isinstance(entry.get("pages", []), list):
            raise EvidenceError(f"collection.json: dataset {ds[:80]!r}: pages must be a list")
    _check_time("collected_at", meta.get("collected_at"))
    if "window" in meta:
        w = meta["window"]
        if not isinstance(w, dict):
            raise EvidenceError("collection.json: window must be an object with a start and an end")
        start = _check_time("window start", w.get("start"))
        end = _check_time("window end", w.get("end"))
        if end < start:
            raise EvidenceError(f"collection.json: window ends ({w['end']}) before it starts ({w['start']})")


class EvidenceReader:
    """Reads one evidence folder. Construction checks collection.json and every page path (inside
    the folder, a regular file, within MAX_JSON_BYTES) and raises EvidenceError naming the problem.

    ``notes`` says what parsing repaired or set aside, per dataset, in the pages read so far (read
    it after the posture is built)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._tallies: dict[str, _Tally] = {}
        self._parsed: set[tuple[str, str]] = set()   # (source, page) already counted in the notes
        if not (self.root / "collection.json").exists() and not (self.root / "collection.json").is_symlink():
            raise EvidenceError(f"no collection.json in {self.root}")
        self.meta = self._load("collection.json", "collection.json", "collection.json")
        _check_meta(self.meta)
        top = self.root.resolve()
        for ds, entry in self.meta["datasets"].items():
            for rel in entry.get("pages", []):
                self._check_page(ds, rel, top)

    def _check_page(self, dataset: str, rel: Any, top: Path) -> None:
        name = f"{dataset[:80]}: page {str(rel)[:200]!r}"
        if not isinstance(rel, str) or not rel:
            raise EvidenceError(f"{name} is not a file name")
        path = self.root / rel
        if top not in path.resolve().parents:
            raise EvidenceError(f"{name} leaves the evidence folder")
        try:
            st = path.lstat()
        except FileNotFoundError:
            raise EvidenceError(f"{name} is missing") from None
        except OSError as e:
            raise EvidenceError(f"{name} cannot be read ({e.strerror})") from None
        if stat.S_ISLNK(st.st_mode):
            raise EvidenceError(f"{name} is a symbolic link; evidence holds plain files only")
        if not stat.S_ISREG(st.st_mode):
            raise EvidenceError(f"{name} is not a regular file ({_kind(st.st_mode)})")
        if st.st_size > MAX_JSON_BYTES:
            raise EvidenceError(f"{name} is larger than {MAX_JSON_BYTES >> 20} MiB ({st.st_size} bytes)")

    def _load(self, rel: str, label: str, source: str) -> Any:
        tally = self._tallies.setdefault(source, _Tally())
        first = (source, rel) not in self._parsed
        doc = _parse(_read_bounded(self.root / rel, label), label, tally if first else _Tally())
        self._parsed.add((source, rel))
        return doc

    @property
    def notes(self) -> list[DataNote]:
        out = []
        for source, t in self._tallies.items():
            if t.surrogates:
                out.append(DataNote(source, f"{count(t.surrogates, 'unpaired UTF-16 surrogate')} replaced with U+FFFD"))
            shown = t.dropped.most_common(10)
            for key, n in shown:
                out.append(DataNote(source, f"key {key[:60]!r} given twice with different values in "
                                            f"{count(n, 'record')}: set aside, read as unknown"))
            if len(t.dropped) > len(shown):
                out.append(DataNote(source, f"{len(t.dropped) - len(shown):,} more keys given twice with "
                                            f"different values: set aside, read as unknown"))
        return out

    @property
    def gaps(self) -> list[dict[str, str]]:
        return list(self.meta.get("gaps", []))

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
        """Parsed pages of a dataset. Raises EvidenceError on a page that is not strict JSON."""
        entry = self.meta["datasets"].get(dataset)
        if entry is None:
            return
        for rel in entry.get("pages", []):
            yield self._load(rel, f"{dataset[:80]}: page {rel}", dataset.split(".", 1)[0])

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


# --------------------------------------------------------------------------- copying

def copy_evidence(src: Path | str, dst: Path | str) -> None:
    """Copy a stored evidence folder to ``dst`` (which must not exist) for a report.

    Refused with an EvidenceError naming the path, before anything is written: what
    ``copy_plain_folder`` refuses, and a collection.json the reader refuses (a page path outside
    the folder or not a regular file, malformed fields, a file above MAX_JSON_BYTES: 256 MiB)."""
    src = Path(src)
    if src.is_dir() and not src.is_symlink():
        try:
            EvidenceReader(src)
        except EvidenceError as e:
            raise EvidenceError(f"{src}: {e}") from None
    copy_plain_folder(src, dst)


def copy_plain_folder(src: Path | str, dst: Path | str) -> None:
    """Copy a folder of plain files to ``dst`` (which must not exist).

    Refused with an EvidenceError naming the path, before anything is written: ``src`` or anything
    inside it that is a symbolic link, device, fifo, socket or anything else that is not a regular
    file or folder; more than MAX_EVIDENCE_FILES files and folders (200,000) or MAX_EVIDENCE_BYTES
    in all (2 GiB). Copies are 0600 in 0700 folders, whatever the source modes."""
    src, dst = Path(src), Path(dst)
    if src.is_symlink():
        raise EvidenceError(f"{src} is a symbolic link; give the folder itself")
    if not src.is_dir():
        raise EvidenceError(f"{src} is missing or not a folder")
    plan = _plan_copy(src)
    dst.mkdir(mode=0o700)
    try:
        dst.chmod(0o700)
        budget = MAX_EVIDENCE_BYTES
        for rel, is_dir in plan:
            if is_dir:
                (dst / rel).mkdir(mode=0o700)
                (dst / rel).chmod(0o700)
            else:
                budget -= _copy_file(src, rel, dst / rel, budget)
    except BaseException:
        shutil.rmtree(dst, ignore_errors=True)
        raise


def _plan_copy(src: Path) -> list[tuple[str, bool]]:
    """Every entry below ``src`` as (relative path, is a folder), parents first; refuses what copy_evidence refuses."""
    plan: list[tuple[str, bool]] = []
    total, stack = 0, [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(src / rel if rel else src) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            raise EvidenceError(f"{src}: {rel or '.'} cannot be listed ({e.strerror})") from None
        for e in entries:
            r = f"{rel}/{e.name}" if rel else e.name
            if len(plan) >= MAX_EVIDENCE_FILES:
                raise EvidenceError(f"{src} has more than {MAX_EVIDENCE_FILES} files and folders")
            try:
                st = e.stat(follow_symlinks=False)
            except OSError as err:
                raise EvidenceError(f"{src}: {r} cannot be read ({err.strerror})") from None
            if stat.S_ISLNK(st.st_mode):
                raise EvidenceError(f"{src}: {r} is a symbolic link; evidence holds plain files only")
            if stat.S_ISDIR(st.st_mode):
                plan.append((r, True))
                stack.append(r)
            elif stat.S_ISREG(st.st_mode):
                total += st.st_size
                if total > MAX_EVIDENCE_BYTES:
                    raise EvidenceError(f"{src} holds more than {MAX_EVIDENCE_BYTES} bytes")
                plan.append((r, False))
            else:
                raise EvidenceError(f"{src}: {r} is not a regular file ({_kind(st.st_mode)})")
    return plan


def _copy_file(src: Path, rel: str, dst: Path, budget: int) -> int:
    """Copy one file that was planned; a file swapped for a link or grown past the budget since is refused."""
    try:
        fd = os.open(src / rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise EvidenceError(f"{src}: {rel} cannot be read ({e.strerror})") from None
    copied = 0
    with os.fdopen(fd, "rb") as fin:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise EvidenceError(f"{src}: {rel} is not a regular file ({_kind(os.fstat(fd).st_mode)})")
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(out, "wb") as fout:
            os.fchmod(out, 0o600)
            while chunk := fin.read(1 << 20):
                copied += len(chunk)
                if copied > budget:
                    raise EvidenceError(f"{src} holds more than {MAX_EVIDENCE_BYTES} bytes")
                fout.write(chunk)
    return copied


# Gap reasons shared by the demo generator and the Graph collector, so that a demo tenant and
# the same tenant served by Graph read the same.
GAP_NO_P1 = "tenant has no Entra ID P1 licence"
GAP_PERMISSION = "the app lacks the permission {perm} (403 Authorization_RequestDenied)"
