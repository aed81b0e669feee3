"""Everything read back from disk passes here: nothing stored is believed until it has been checked.

A stored client folder (client.json, workflow.json, results.json), a shard file, a returned action
plan workbook or CSV and a lock note can all have been edited by someone else. Each is opened only
as a plain file inside the folder it belongs to (no links, no devices, no ``..``), its size is
checked before a byte is parsed, and its shape is checked before a field is used. Every problem is
a :class:`ReadBackError` whose message is one line naming the file and the cause.
"""
from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reportgen.display import terminal

KB, MB = 1024, 1024 * 1024
MAX_JSON = 16 * MB            # results.json of the largest tenant is a few MB
MAX_SMALL_JSON = 1 * MB       # client.json, workflow.json, a shard file's client list, a lock note
MAX_YAML = 4 * MB             # a configuration or catalog is a few KB
MAX_UPLOAD = 10 * MB          # a returned workbook or CSV, as stored
MAX_XLSX_UNPACKED = 40 * MB   # all the parts of a returned workbook, uncompressed
MAX_XLSX_PARTS = 200
MAX_SHEET_ROWS = 20_000       # rows (even empty ones) in the returned sheet; the plan has at most 1,000
MAX_SHEET_COLS = 200
MAX_CELL = 32_767             # Excel's own limit on a cell's text


class ReadBackError(Exception):
    """One line: which stored file, and why it is not used."""


# --------------------------------------------------------------------------- files

def contained(folder: Path, rel: object, what: str) -> Path:
    """``rel``, named by a stored file, as a plain file inside ``folder``. Absolute paths, '..',
    backslashes and symbolic links anywhere on the way are refused."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise ReadBackError(f"{what} must be a path inside {folder}")
    parts = Path(rel).parts
    if Path(rel).is_absolute() or "\\" in rel or ".." in parts:
        raise ReadBackError(f"{what} {terminal(rel, 80)!r} points outside the folder; refused")
    path = Path(folder)
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise ReadBackError(f"{what} {terminal(rel, 80)!r} goes through a symbolic link; refused")
    if not path.is_file():
        raise ReadBackError(f"{what} {terminal(rel, 80)!r} is not a file in the folder")
    return path


def read_bytes(path: Path, limit: int, what: str | None = None) -> bytes:
    """The bytes of a plain file (not a link, device or fifo) of at most ``limit`` bytes, checked
    before reading; the read itself is bounded too, since a file may grow meanwhile."""
    path = Path(path)
    what = what or str(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ReadBackError(f"{what}: missing") from None
    except OSError as e:
        raise ReadBackError(f"{what}: cannot be read ({e.strerror or e})") from None
    if stat.S_ISLNK(st.st_mode):
        raise ReadBackError(f"{what}: is a symbolic link; refused")
    if not stat.S_ISREG(st.st_mode):
        raise ReadBackError(f"{what}: is not a plain file; refused")
    if st.st_size > limit:
        raise ReadBackError(f"{what}: larger than {limit:,} bytes ({st.st_size:,}); refused")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise ReadBackError(f"{what}: cannot be read ({e.strerror or e})") from None
    if len(data) > limit:
        raise ReadBackError(f"{what}: larger than {limit:,} bytes; refused")
    return data


def read_json(path: Path, limit: int = MAX_JSON, what: str | None = None, kind: type = dict) -> Any:
    """A JSON document of the given top-level type from a plain, bounded file."""
    what = what or str(path)
    raw = read_bytes(path, limit, what)
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ReadBackError(f"{what}: not valid JSON ({type(e).__name__})") from None
    if not isinstance(doc, kind):
        raise ReadBackError(f"{what}: expected a JSON {kind.__name__}, found {type(doc).__name__}")
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def yaml_bytes(path: Path, limit: int = MAX_YAML) -> bytes:
    """A YAML file's bytes, refused by size before the parser sees them."""
    return read_bytes(path, limit, str(path))


def review_state(folder: Path) -> dict[str, Any] | None:
    """The ``review`` block of a folder's results.json; None when results.json is absent. Raises
    ReadBackError when it is there but cannot be read (which counts as final for a run)."""
    path = Path(folder) / "results.json"
    if not os.path.lexists(path):
        return None
    doc = read_json(path, MAX_JSON, f"{folder.name}/results.json")
    review = doc.get("review")
    if review is not None and not isinstance(review, dict):
        raise ReadBackError(f"{folder.name}/results.json: review is not an object")
    return review or {}


def holds_files(folder: Path) -> bool:
    """Whether ``folder`` exists and holds anything at all (a report or the remains of one)."""
    try:
        return Path(folder).is_dir() and any(Path(folder).iterdir())
    except OSError:
        return True   # cannot look inside: treat it as holding a report


# --------------------------------------------------------------------------- stored client folder

def stored_record(folder: Path) -> dict[str, Any]:
    """client.json of a stored folder, bounded and shaped like the one the pipeline writes."""
    record = read_json(Path(folder) / "client.json", MAX_SMALL_JSON, f"{folder}/client.json")
    if not all(isinstance(record.get(k), dict) for k in ("client", "firm", "defaults")):
        raise ReadBackError(f"{folder}/client.json: must hold the client, firm and defaults sections")
    if not isinstance(record.get("period"), str):
        raise ReadBackError(f"{folder}/client.json: period is missing")
    return record


def stored_logo(folder: Path, firm: dict[str, Any]) -> str | None:
    """The firm logo named by client.json, as a checked path inside ``folder``, or None."""
    from reportgen.images import logo_problem
    if firm.get("logo") is None:
        return None
    logo = contained(folder, firm["logo"], f"{folder}/client.json: firm.logo")
    problem = logo_problem(logo, follow_links=False)
    if problem:
        raise ReadBackError(f"{folder}/client.json: firm.logo: {problem}")
    return str(logo)


# --------------------------------------------------------------------------- returned CSV

def csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """Rows of a returned CSV, numbered from 1. A quote left open is refused with the line it opens
    on: read leniently it would swallow every row after it into one cell."""
    import csv
    import io
    raw = read_bytes(path, MAX_UPLOAD, Path(path).name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReadBackError(f"{Path(path).name}: is not UTF-8 text (save it as 'CSV UTF-8')") from None
    if "\x00" in text:
        raise ReadBackError(f"{Path(path).name}: holds NUL characters: not a CSV file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    i = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ReadBackError(f"{Path(path).name}: line {start}: not valid CSV ({e}); "
                                f"a quote opened there is never closed, or a field is too long") from None
        i += 1
        if i > MAX_SHEET_ROWS:
            raise ReadBackError(f"{Path(path).name}: more than {MAX_SHEET_ROWS:,} rows; refused")
        yield i, row


# --------------------------------------------------------------------------- returned workbook

class BadCell(str):
    """A cell whose stored value cannot be read; its text says why (a problem on that row)."""


class FormulaCell(str):
    """A cell that held a formula: refused (its cached result could say anything)."""


class ErrorCell(str):
    """A cell that held an Excel error value such as #REF!."""


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")


def check_zip(path: Path) -> zipfile.ZipFile:
    """The workbook as a zip, once its parts' count and uncompressed size are within the limits
    (a few hundred KB can unpack to gigabytes)."""
    name = Path(path).name
    read_bytes(path, MAX_UPLOAD, name)   # plain file, bounded size
    try:
        z = zipfile.ZipFile(path)
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise ReadBackError(f"{name}: not a readable Excel workbook ({type(e).__name__})") from None
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_XLSX_PARTS or total > MAX_XLSX_UNPACKED:
        z.close()
        raise ReadBackError(f"{name}: unpacks to {total:,} bytes in {len(infos):,} parts, more than the "
                            f"{MAX_XLSX_UNPACKED:,} bytes allowed; refused")
    return z


def xlsx_rows(path: Path, sheet: str) -> Iterator[tuple[int, list[Any]]]:
    """Rows of the sheet named ``sheet`` (any case), numbered as in Excel, values as text, numbers,
    dates, or a BadCell/FormulaCell/ErrorCell for the row's problem line. Read by streaming the
    sheet's XML, with the row count bounded, never by openpyxl's parser of the whole file."""
    name = Path(path).name
    z = check_zip(path)
    try:
        part = _sheet_part(z, sheet, name)
        strings = _shared_strings(z, name)
        dates = _date_styles(z)
        yield from _stream_rows(z, part, strings, dates, name)
    finally:
        z.close()


def _xml_root(z: zipfile.ZipFile, part: str, name: str):
    from xml.etree.ElementTree import fromstring
    try:
        return fromstring(z.read(part))
    except KeyError:
        raise ReadBackError(f"{name}: the workbook has no {part}") from None
    except Exception as e:   # malformed XML (expat refuses entity amplification), a bad zip member
        raise ReadBackError(f"{name}: {part} cannot be read ({type(e).__name__})") from None


def _sheet_part(z: zipfile.ZipFile, sheet: str, name: str) -> str:
    book = _xml_root(z, "xl/workbook.xml", name)
    rels = _xml_root(z, "xl/_rels/workbook.xml.rels", name)
    targets = {r.get("Id"): r.get("Target") or "" for r in rels}
    names = []
    for s in book.iter(f"{_NS}sheet"):
        names.append(s.get("name") or "")
        if (s.get("name") or "").strip().lower() == sheet.lower():
            target = targets.get(s.get(f"{_REL}id"), "")
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            if ".." in part.split("/") or part not in z.namelist():
                raise ReadBackError(f"{name}: sheet {sheet!r} points to a part that is not in the workbook")
            return part
    shown = ", ".join(terminal(n, 40) for n in names[:10])
    raise ReadBackError(f"{name}: no sheet named {sheet!r} (sheets: {shown})")


def _shared_strings(z: zipfile.ZipFile, name: str) -> list[str]:
    if "xl/sharedStrings.xml" not in z.namelist():
        return []
    root = _xml_root(z, "xl/sharedStrings.xml", name)
    return ["".join(t.text or "" for t in si.iter(f"{_NS}t")) for si in root.iter(f"{_NS}si")]


_DATE_FORMATS = set(range(14, 23)) | set(range(45, 48))


def _date_styles(z: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles that show a date (built-in or custom formats with d/m/y)."""
    try:
        from xml.etree.ElementTree import fromstring
        root = fromstring(z.read("xl/styles.xml"))
    except Exception:
        return set()
    custom = {int(f.get("numFmtId", -1)) for f in root.iter(f"{_NS}numFmt")
              if re.search(r"[dy]", re.sub(r'"[^"]*"|\[[^\]]*\]', "", f.get("formatCode") or ""), re.I)}
    xfs = root.find(f"{_NS}cellXfs")
    found = set()
    for i, xf in enumerate(xfs if xfs is not None else []):
        try:
            fmt = int(xf.get("numFmtId", 0))
        except ValueError:
            continue
        if fmt in _DATE_FORMATS or fmt in custom:
            found.add(i)
    return found


def _stream_rows(z, part, strings, dates, name) -> Iterator[tuple[int, list[Any]]]:
    from xml.etree.ElementTree import iterparse
    count = 0
    try:
        with z.open(part) as f:
            for _event, el in iterparse(f, events=("end",)):
                if el.tag != f"{_NS}row":
                    continue
                count += 1
                if count > MAX_SHEET_ROWS:
                    raise ReadBackError(f"{name}: more than {MAX_SHEET_ROWS:,} rows; refused")
                try:
                    number = int(el.get("r") or 0)
                except ValueError:
                    number = 0
                yield (number if 0 < number <= 1_048_576 else count), _cells(el, strings, dates)
                el.clear()
    except ReadBackError:
        raise
    except Exception as e:
        raise ReadBackError(f"{name}: the sheet cannot be read ({type(e).__name__})") from None


def _cells(row, strings: list[str], dates: set[int]) -> list[Any]:
    out: list[Any] = []
    for c in row.iter(f"{_NS}c"):
        m = _REF.fullmatch(c.get("r") or "")
        col = _column(m.group(1)) if m else len(out)
        if col >= MAX_SHEET_COLS:
            continue
        out.extend([None] * (col - len(out) + 1))
        out[col] = _value(c, strings, dates)
    return out


def _column(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _value(c, strings: list[str], dates: set[int]) -> Any:
    kind = c.get("t") or "n"
    f, v = c.find(f"{_NS}f"), c.find(f"{_NS}v")
    if f is not None:
        return FormulaCell(f.text or "")
    raw = v.text if v is not None else None
    if kind == "inlineStr":
        return "".join(t.text or "" for t in c.iter(f"{_NS}t"))[:MAX_CELL]
    if raw is None:
        return None
    if kind == "s":
        try:
            return strings[int(raw)][:MAX_CELL]
        except (ValueError, IndexError):
            return BadCell(f"the cell refers to shared text {terminal(raw, 20)!r}, which the workbook does not hold")
    if kind in ("str",):
        return raw[:MAX_CELL]
    if kind == "e":
        return ErrorCell(raw)
    if kind == "b":
        return raw.strip() == "1"
    if kind == "d":
        return _iso_date(raw)
    try:
        number = float(raw)
    except ValueError:
        return BadCell(f"the number cell holds {terminal(raw, 20)!r}, which is not a number")
    if number != number or number in (float("inf"), float("-inf")):
        return BadCell("the number cell holds no finite number")
    try:
        style = int(c.get("s") or 0)
    except ValueError:
        style = 0
    if style in dates:
        return _serial_date(number)
    return int(number) if number.is_integer() else number


def _serial_date(serial: float) -> Any:
    from datetime import date, timedelta
    if not 1 <= serial < 2_958_466:   # 1900-01-01 .. 9999-12-31
        return BadCell(f"the date cell holds {serial:g}, which is not a date")
    return date(1899, 12, 30) + timedelta(days=int(serial))


def _iso_date(raw: str) -> Any:
    from datetime import date
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return BadCell(f"the date cell holds {terminal(raw, 20)!r}, which is not a date")


# --------------------------------------------------------------------------- shard files and lock notes

SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
PERIOD_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
MAX_SHARDS = 10_000


def safe_slug(value: Any) -> bool:
    """A client slug as reportgen writes it: a plain name, never a path."""
    return isinstance(value, str) and bool(SLUG_RE.fullmatch(value))


def shard_file(path: Path) -> dict[str, Any]:
    """A shard file's document, with the fields merge uses checked for type."""
    name = Path(path).name
    doc = read_json(path, MAX_JSON, name)
    if not isinstance(doc.get("clients"), list) or not isinstance(doc.get("shard"), dict):
        raise ReadBackError(f"{name}: not a reportgen shard file (no clients list or shard block)")
    if not isinstance(doc.get("period"), str) or not PERIOD_RE.fullmatch(doc["period"]):
        raise ReadBackError(f"{name}: period {terminal(doc.get('period'), 20)!r} is not YYYY-MM")
    shard = doc["shard"]
    index, count = shard.get("index"), shard.get("count")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (index, count)) \
            or not 1 <= index <= count <= MAX_SHARDS:
        raise ReadBackError(f"{name}: shard {terminal(index, 12)} of {terminal(count, 12)} is not a shard "
                            f"between 1 and N, N at most {MAX_SHARDS:,}")
    return doc


def lock_note(path: Path) -> dict[str, str] | None:
    """Who holds a lock, as its note says, each field a short clean line; None when unreadable."""
    try:
        doc = read_json(path, 64 * KB, str(path))
    except ReadBackError:
        return None
    return {k: terminal(doc[k], 200) for k in ("pid", "host", "started", "command") if k in doc}
