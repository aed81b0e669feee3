"""Stored evidence is hostile input: what a reader, a copy and the CLI must refuse or repair.

Evidence folders come back from disk (``source: evidence``, ``render --evidence``) and from every
demo or live collection. Text in them may carry lone UTF-16 surrogates or duplicate keys; the folder
may carry links to local files, devices, NaN, absurd dates or huge files.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from reportgen import evidence, package
from reportgen.collect import demo
from reportgen.evidence import EvidenceError, EvidenceReader, EvidenceWriter
from tests.test_cli import write_config
from tests.test_e2e import cli

PERIOD = "2026-11"
AT = "2026-12-01T00:00:00Z"
SECRET = b"root:x:0:0:secret-line-that-must-never-leave-this-machine"
PAGE_BOUND = 256 * 1024 * 1024   # the README's bound on one JSON file


# --------------------------------------------------------------------------- helpers

def small_folder(root: Path, pages: dict[str, list[bytes]], **meta) -> Path:
    """An evidence folder written by the real writer, with pages given as raw bytes."""
    w = EvidenceWriter(root)
    for ds, bodies in pages.items():
        for body in bodies:
            w.add_page(ds, body)
    base = dict(source="evidence-test", tenant_id="t-1", collected_at=AT,
                window={"start": "2026-11-01T00:00:00Z", "end": AT})
    w.close("complete", **{**base, **meta})
    return root


def edit_collection(root: Path, change) -> None:
    path = root / "collection.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def read_everything(root: Path) -> EvidenceReader:
    ev = EvidenceReader(root)
    for ds in ev.meta["datasets"]:
        for _ in ev.pages(ds):
            pass
    assert isinstance(ev.gaps, list)
    return ev


def demo_evidence(root: Path, t: demo.Tenant | None = None) -> Path:
    t = t or demo.build_tenant("ready", "Ready Bank", PERIOD, users=20)
    demo.write_evidence(t, EvidenceWriter(root), lookback_days=30, collected_at=demo.collection_time(PERIOD))
    return root


def run_stored(tmp_path: Path, ev: Path, slug: str = "stored-bank"):
    """``reportgen run`` on one client whose source is the stored folder ``ev``."""
    client = {"slug": slug, "name": "Stored Bank", "institution_type": "bank", "source": "evidence",
              "evidence_dir": str(ev)}
    cfg = write_config(tmp_path, yaml.safe_dump([client]))
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "1")
    return r, tmp_path / "out" / PERIOD


def client_error(period_dir: Path, slug: str) -> str:
    batch = json.loads((period_dir / "batch.json").read_text())
    (entry,) = [c for c in batch["clients"] if c["slug"] == slug]
    assert entry["status"] == "failed"
    return entry["error"]


def no_traceback(r) -> None:
    assert "Traceback" not in r.stderr, r.stderr


def all_bytes_below(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


# --------------------------------------------------------------------------- 1, 2: lone surrogates

def test_lone_surrogates_are_replaced_paired_ones_kept_and_counted_per_dataset(tmp_path):
    users = (b'{"value":[{"id":"u1","displayName":"Zoe \\ud800 Adams"},'
             b'{"id":"u2","displayName":"\\udc00x","otherMails":["a\\udfffb@example.com"]},'
             b'{"id":"u3","displayName":"smile \\ud83d\\ude00"},'
             b'{"id":"u4","displayName":"raw \xed\xa0\x80 bytes"}]}')
    policies = b'{"value":[{"id":"p1","displayName":"Block legacy \\ud83d"}]}'
    root = small_folder(tmp_path / "ev", {"users": [users], "conditionalAccessPolicies": [policies]},
                        tenant_id="t-\ud800")
    ev = EvidenceReader(root)
    got = {u["id"]: u for u in ev.values("users")}
    assert got["u1"]["displayName"] == "Zoe \ufffd Adams"
    assert got["u2"]["displayName"] == "\ufffdx" and got["u2"]["otherMails"] == ["a\ufffdb@example.com"]
    assert got["u3"]["displayName"] == "smile \U0001f600"          # a real pair is a real character
    assert got["u4"]["displayName"] == "raw \ufffd bytes"           # encoded surrogate bytes too
    assert [p["displayName"] for p in ev.values("conditionalAccessPolicies")] == ["Block legacy \ufffd"]
    assert ev.meta["tenant_id"] == "t-\ufffd"
    list(ev.values("users"))   # reading a dataset again does not count twice
    assert ev.notes == [
        evidence.DataNote("collection.json", "1 unpaired UTF-16 surrogate replaced with U+FFFD"),
        evidence.DataNote("users", "4 unpaired UTF-16 surrogates replaced with U+FFFD"),
        evidence.DataNote("conditionalAccessPolicies", "1 unpaired UTF-16 surrogate replaced with U+FFFD"),
    ]
    # every string the reader hands out encodes as UTF-8
    json.dumps([list(ev.values("users")), ev.meta], ensure_ascii=False).encode("utf-8")


def test_notes_group_datasets_by_their_base_name(tmp_path):
    page = b'{"value":[{"id":"m1","displayName":"\\ud800"}]}'
    root = small_folder(tmp_path / "ev", {"groupMembers.g1": [page], "groupMembers.g2": [page]})
    ev = EvidenceReader(root)
    for ds in ev.datasets("groupMembers"):
        list(ev.values(ds))
    assert ev.notes == [evidence.DataNote("groupMembers", "2 unpaired UTF-16 surrogates replaced with U+FFFD")]


def test_lone_surrogate_in_tenant_text_no_longer_loses_the_report(tmp_path):
    t = demo.build_tenant("seed-problems", "Surrogate CU", PERIOD, users=40)
    for i, u in enumerate(t.objects["users"]):
        u["displayName"] = f"Zoe \ud800 Adams {i}"
    for p in t.objects["conditionalAccessPolicies"]:
        p["displayName"] += " \ud83d"
    ev = demo_evidence(tmp_path / "ev-in", t)
    assert b"\\ud800" in all_bytes_below(ev / "pages")   # stored as Graph sends it: a JSON escape
    r, period_dir = run_stored(tmp_path, ev, "surrogate-cu")
    no_traceback(r)
    assert r.returncode == 0, r.stderr
    out = period_dir / "surrogate-cu"
    assert cli("verify", str(out)).returncode == 0
    for name in ("results.json", "manifest.json", "client.json", "history.json"):
        (out / name).read_bytes().decode("utf-8")   # strict: valid UTF-8
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    shown = {a["display_name"] for c in doc["checks"] for a in c["affected"]}
    assert any(s.startswith("Zoe \ufffd Adams") for s in shown), shown


def test_lone_surrogate_over_https_from_graph(tmp_path, fake_graph):
    from tests.test_hostile import GRAPH_SECRET, GRAPH_SECRET_ENV, _graph_client
    t = demo.build_tenant("seed-problems", "Graph Surrogate Bank", PERIOD, users=30)
    for u in t.objects["users"]:
        u["displayName"] = "Zoe \ud800 Adams"
    fg = fake_graph(t, client_secret=GRAPH_SECRET)
    cfg = write_config(tmp_path, yaml.safe_dump([_graph_client("graph-surrogate", fg, t)], sort_keys=False))
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "1",
            env={GRAPH_SECRET_ENV: GRAPH_SECRET, "REQUESTS_CA_BUNDLE": fg.ca_bundle_path})
    no_traceback(r)
    assert r.returncode == 0, r.stderr
    raw = (tmp_path / "out" / PERIOD / "graph-surrogate" / "results.json").read_bytes().decode("utf-8")
    assert "Zoe \ufffd Adams" in raw


def test_output_json_is_valid_utf8_even_if_a_lone_surrogate_comes_from_elsewhere():
    out = package.dumps({"name": "config text \udc80 here"})
    assert json.loads(out.decode("utf-8")) == {"name": "config text \ufffd here"}


# --------------------------------------------------------------------------- 3: duplicate keys

def _registrations_with(tmp_path: Path, uid_key: str, dup: str) -> tuple[Path, str]:
    t = demo.build_tenant("ready", "Dup Bank", PERIOD, users=20)
    regs = t.objects["userRegistrationDetails"]
    victim = next(r for r in regs if not r["isAdmin"])
    victim[uid_key] = "__DUP__"
    ev = demo_evidence(tmp_path / "ev-in", t)
    for page in (ev / "pages").glob("userRegistrationDetails-*.json"):
        page.write_bytes(page.read_bytes().replace(f'"{uid_key}":"__DUP__"'.encode(), dup.encode()))
    return ev, victim["userPrincipalName"]


def test_duplicate_key_with_different_values_is_dropped_and_noted(tmp_path):
    page = (b'{"value":[{"id":"u1","isMfaRegistered":false,"isAdmin":true,"isMfaRegistered":true},'
            b'{"id":"u2","isMfaRegistered":true,"isMfaRegistered":true},'
            b'{"id":"u3","isMfaRegistered":1,"isMfaRegistered":true},'
            b'{"id":"u4","methodsRegistered":["a"],"methodsRegistered":["a"],"nested":{"k":0,"k":false}}]}')
    root = small_folder(tmp_path / "ev", {"userRegistrationDetails": [page]})
    ev = EvidenceReader(root)
    got = {o["id"]: o for o in ev.values("userRegistrationDetails")}
    assert "isMfaRegistered" not in got["u1"] and got["u1"]["isAdmin"] is True
    assert got["u2"]["isMfaRegistered"] is True              # the same value twice is not ambiguous
    assert "isMfaRegistered" not in got["u3"]                # 1 and true are different JSON values
    assert got["u4"]["methodsRegistered"] == ["a"] and got["u4"]["nested"] == {}
    notes = ev.notes
    assert [n.source for n in notes] == ["userRegistrationDetails", "userRegistrationDetails"]
    assert "'isMfaRegistered'" in notes[0].message and "2 records" in notes[0].message
    assert "'k'" in notes[1].message and "1 record" in notes[1].message


def test_duplicate_mfa_flag_never_turns_into_a_pass(tmp_path):
    ev, upn = _registrations_with(tmp_path, "isMfaRegistered", '"isMfaRegistered":false,"isMfaRegistered":true')
    r, period_dir = run_stored(tmp_path, ev, "dup-bank")
    assert r.returncode == 0, r.stderr
    doc = json.loads((period_dir / "dup-bank" / "results.json").read_text())
    mfa02 = next(c for c in doc["checks"] if c["id"] == "MFA-02")
    assert mfa02["status"] != "pass"
    assert upn in {a["upn"] for a in mfa02["affected"]}
    # ... and the reader of the report is told what was set aside, in results.json and in the PDF
    notes = doc["collection"]["notes"]
    assert any(n["source"] == "userRegistrationDetails" and "isMfaRegistered" in n["message"] for n in notes)
    from pypdf import PdfReader
    pdf = period_dir / "dup-bank" / "dup-bank-2026-11-mfa-compliance.pdf"
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(pdf).pages)
    assert "Notes on the data" in text and "isMfaRegistered" in text


# --------------------------------------------------------------------------- 4: NaN / Infinity

@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_numbers_in_a_page_are_refused_naming_the_page(tmp_path, literal):
    page = b'{"value":[{"id":"u1","score":' + literal + b'}]}'
    root = small_folder(tmp_path / "ev", {"users": [page]})
    with pytest.raises(EvidenceError, match=r"pages/users-0001\.json.*(NaN|Infinity|finite)"):
        read_everything(root)


def test_non_finite_numbers_in_collection_json_are_refused(tmp_path):
    root = small_folder(tmp_path / "ev", {})
    text = (root / "collection.json").read_text().replace('"format": 1', '"format": 1, "lookback_days": NaN')
    (root / "collection.json").write_text(text)
    with pytest.raises(EvidenceError, match=r"collection\.json.*NaN"):
        EvidenceReader(root)


def test_nan_in_stored_collection_fails_that_client_with_a_message_and_writes_no_invalid_json(tmp_path):
    ev = demo_evidence(tmp_path / "ev-in")
    edit_collection(ev, lambda d: d["app"].update(score=float("nan")))
    assert b"NaN" in (ev / "collection.json").read_bytes()
    r, period_dir = run_stored(tmp_path, ev, "nan-bank")
    no_traceback(r)
    assert r.returncode == 1
    err = client_error(period_dir, "nan-bank")
    assert "collection.json" in err and "NaN" in err
    assert "nan-bank" in r.stderr and "collection.json" in r.stderr
    assert not (period_dir / "nan-bank").exists()


def test_every_json_reportgen_writes_is_strict(tmp_path):
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError):
            package.dumps({"x": bad})
        with pytest.raises(ValueError):
            package.write_json(tmp_path / "x.json", {"x": bad})
    w = EvidenceWriter(tmp_path / "ev")
    with pytest.raises(ValueError):
        w.log(elapsed=float("nan"))
    with pytest.raises(ValueError):
        w.close("complete", collected_at=AT, duration=float("inf"))


# --------------------------------------------------------------------------- 5: links, devices, bounds

def _secret(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "id_rsa").write_bytes(SECRET)
    return keys


@pytest.mark.parametrize("how", ["page-is-a-link", "extra-link-to-a-folder", "extra-link-to-a-file"])
def test_links_in_stored_evidence_are_refused_and_nothing_local_leaks(tmp_path, how):
    ev = demo_evidence(tmp_path / "ev-in")
    keys = _secret(tmp_path)
    if how == "page-is-a-link":
        target = ev / "pages" / "users-0001.json"
        (keys / "users.json").write_bytes(target.read_bytes()[:-2] + b',"s":"' + SECRET + b'"}')
        target.unlink()
        target.symlink_to(keys / "users.json")
        name = "pages/users-0001.json"
    elif how == "extra-link-to-a-folder":
        (ev / "keys").symlink_to(keys, target_is_directory=True)
        name = "keys"
    else:
        (ev / "pages" / "shadow").symlink_to(keys / "id_rsa")
        name = "pages/shadow"
    r, period_dir = run_stored(tmp_path, ev, "link-bank")
    no_traceback(r)
    assert r.returncode == 1
    err = client_error(period_dir, "link-bank")
    assert name in err and "link" in err
    assert "link-bank" in r.stderr and name in r.stderr
    assert not (period_dir / "link-bank").exists()
    assert SECRET not in all_bytes_below(tmp_path / "out")


@pytest.fixture(scope="module")
def stored_client(tmp_path_factory) -> Path:
    """One complete client output folder to re-render from."""
    tmp = tmp_path_factory.mktemp("stored")
    ev = demo_evidence(tmp / "ev-in")
    r, period_dir = run_stored(tmp, ev, "render-bank")
    assert r.returncode == 0, r.stderr
    return period_dir / "render-bank"


def _copy_client(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("in_place", [False, True])
def test_render_refuses_a_link_inside_the_stored_evidence(tmp_path, stored_client, in_place):
    folder = _copy_client(stored_client, tmp_path / "out" / PERIOD / "render-bank")
    keys = _secret(tmp_path)
    (folder / "evidence" / "pages" / "zz-keys").symlink_to(keys, target_is_directory=True)
    args = ["render", "--evidence", str(folder)] + ([] if in_place else ["--out", str(tmp_path / "re")])
    r = cli(*args)
    no_traceback(r)
    assert r.returncode == 1
    assert "render-bank" in r.stderr and "pages/zz-keys" in r.stderr and "link" in r.stderr
    for d in (tmp_path / "out", tmp_path / "re"):
        assert not d.exists() or SECRET not in all_bytes_below(d)   # this scan does not follow links
    assert (folder / "evidence" / "pages" / "zz-keys").is_symlink()   # the stored folder is left as it was
    assert not (tmp_path / "re").exists() or not list((tmp_path / "re").rglob("render-bank"))


@pytest.mark.parametrize("in_place", [False, True])
def test_render_refuses_a_fifo_inside_the_stored_evidence(tmp_path, stored_client, in_place):
    folder = _copy_client(stored_client, tmp_path / "out" / PERIOD / "render-bank")
    os.mkfifo(folder / "evidence" / "pages" / "pipe")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    r = cli("render", "--evidence", str(folder), *([] if in_place else ["--out", str(tmp_path / "re")]),
            env={"TMPDIR": str(scratch)})
    no_traceback(r)
    assert r.returncode == 1
    assert "render-bank" in r.stderr and "pages/pipe" in r.stderr and "not a regular file" in r.stderr
    assert not list(scratch.iterdir()), "a snapshot of the client folder was left behind"


def test_copy_refuses_devices_fifos_and_sockets(tmp_path):
    import socket
    for kind in ("fifo", "socket"):
        src = small_folder(tmp_path / f"ev-{kind}", {"users": [b'{"value":[]}']})
        odd = src / "pages" / "odd"
        if kind == "fifo":
            os.mkfifo(odd)
        else:
            s = socket.socket(socket.AF_UNIX)
            s.bind(str(odd))
            s.close()
        with pytest.raises(EvidenceError, match=rf"pages/odd.*not a regular file \({kind}"):
            evidence.copy_evidence(src, tmp_path / f"copy-{kind}")
        assert not (tmp_path / f"copy-{kind}").exists()
    src = small_folder(tmp_path / "ev-dev", {})
    (src / "null").symlink_to("/dev/null")
    with pytest.raises(EvidenceError, match=r"null.*link"):
        evidence.copy_evidence(src, tmp_path / "copy-dev")


@pytest.mark.parametrize("rel", ["../outside.json", "/etc/passwd", "pages/../../outside.json", "pages"])
def test_copy_refuses_page_paths_outside_the_folder_or_not_files(tmp_path, rel):
    (tmp_path / "outside.json").write_text('{"value":[]}')
    src = small_folder(tmp_path / "ev", {"users": [b'{"value":[]}']})
    edit_collection(src, lambda d: d["datasets"]["users"]["pages"].append(rel))
    with pytest.raises(EvidenceError, match=r"users.*" + rel.replace(".", r"\.")):
        evidence.copy_evidence(src, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_copy_bounds_file_count_and_total_size(tmp_path, monkeypatch):
    src = small_folder(tmp_path / "ev", {"users": [b'{"value":[]}'] * 5})
    monkeypatch.setattr(evidence, "MAX_EVIDENCE_FILES", 4)
    with pytest.raises(EvidenceError, match=r"more than 4 files"):
        evidence.copy_evidence(src, tmp_path / "copy-1")
    monkeypatch.setattr(evidence, "MAX_EVIDENCE_FILES", 200_000)
    monkeypatch.setattr(evidence, "MAX_EVIDENCE_BYTES", 100)
    with pytest.raises(EvidenceError, match=r"more than 100 bytes"):
        evidence.copy_evidence(src, tmp_path / "copy-2")
    assert evidence.MAX_EVIDENCE_FILES == 200_000


def test_copies_are_private_whatever_the_source_modes(tmp_path):
    src = small_folder(tmp_path / "ev", {"users": [b'{"value":[]}']})
    (src / "notes").mkdir()
    (src / "notes" / "readme.txt").write_text("kept")
    for p in [src, *src.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    evidence.copy_evidence(src, tmp_path / "copy")
    copied = [tmp_path / "copy", *(tmp_path / "copy").rglob("*")]
    assert {p.relative_to(tmp_path / "copy").as_posix() for p in copied} >= {
        ".", "collection.json", "log.jsonl", "pages/users-0001.json", "notes/readme.txt"}
    for p in copied:
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p
    assert (tmp_path / "copy" / "notes" / "readme.txt").read_text() == "kept"


# --------------------------------------------------------------------------- 6: malformed collection.json

MALFORMED = {
    "gaps-not-a-list": (lambda d: d.update(gaps=5), r"collection\.json.*gaps"),
    "gap-not-an-object": (lambda d: d.update(gaps=["oops"]), r"collection\.json.*gap"),
    "pages-a-string": (lambda d: d["datasets"]["users"].update(pages="pages/users-0001.json"),
                       r"collection\.json.*users.*pages"),
    "page-is-a-folder": (lambda d: d["datasets"]["users"]["pages"].append("pages"), r"users.*pages.*not a regular file"),
    "page-not-a-string": (lambda d: d["datasets"]["users"]["pages"].append(7), r"users.*page"),
    "dataset-not-an-object": (lambda d: d["datasets"].update(users=5), r"collection\.json.*users"),
    "collected-at-9999": (lambda d: d.update(collected_at="9999-12-31T23:59:59Z"), r"collection\.json.*collected_at"),
    "collected-at-garbage": (lambda d: d.update(collected_at="last tuesday"), r"collection\.json.*collected_at"),
    "collected-at-missing": (lambda d: d.pop("collected_at"), r"collection\.json.*collected_at"),
    "window-backwards": (lambda d: d.update(window={"start": "2026-12-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}),
                         r"collection\.json.*window"),
    "window-not-an-object": (lambda d: d.update(window="last month"), r"collection\.json.*window"),
    "window-year-9999": (lambda d: d.update(window={"start": "2026-11-01T00:00:00Z", "end": "9999-01-01T00:00:00Z"}),
                         r"collection\.json.*window"),
    "status-not-a-string": (lambda d: d.update(status=["complete"]), r"collection\.json.*status"),
    "app-not-an-object": (lambda d: d.update(app="admin"), r"collection\.json.*app"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_collection_json_is_a_clear_evidence_error(tmp_path, case):
    change, expect = MALFORMED[case]
    root = small_folder(tmp_path / "ev", {"users": [b'{"value":[]}']})
    edit_collection(root, change)
    with pytest.raises(EvidenceError, match=expect):
        read_everything(root)


@pytest.mark.parametrize("case", ["gaps-not-a-list", "collected-at-9999", "pages-a-string", "page-is-a-folder"])
def test_malformed_collection_json_fails_only_that_client_through_the_cli(tmp_path, case):
    change, expect = MALFORMED[case]
    ev = demo_evidence(tmp_path / "ev-in")
    edit_collection(ev, change)
    r, period_dir = run_stored(tmp_path, ev, "broken-bank")
    no_traceback(r)
    assert r.returncode == 1
    err = client_error(period_dir, "broken-bank")
    assert re.search(expect, err), err
    assert "broken-bank" in r.stderr
    assert not (period_dir / "broken-bank").exists()


@pytest.mark.parametrize("body,expect", [
    (b"[" * 100_000 + b"]" * 100_000, "nested"),
    (b'{"value":[{"id":"' + b"\xff\xfe" + b'"}]}', "UTF-8"),
    (b'{"value":[{"id":1' + b"0" * 5000 + b'}]}', "not valid JSON"),
])
def test_unreadable_pages_are_evidence_errors(tmp_path, body, expect):
    root = small_folder(tmp_path / "ev", {"users": [body]})
    with pytest.raises(EvidenceError, match=rf"pages/users-0001\.json.*{expect}"):
        read_everything(root)


# --------------------------------------------------------------------------- 7: file modes

def test_every_file_and_folder_of_a_run_is_private(tmp_path):
    from tests.test_cli import DEMO
    cfg = write_config(tmp_path, DEMO)
    old = os.umask(0o022)
    try:
        r = cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "1")
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    period_dir = tmp_path / "out" / PERIOD
    paths = [period_dir, *period_dir.rglob("*")]
    assert any(p.name == "log.jsonl" for p in paths)
    loose = [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p.relative_to(period_dir)}" for p in paths
             if stat.S_IMODE(p.lstat().st_mode) != (0o700 if p.is_dir() else 0o600)]
    assert not loose


def test_writer_log_is_private_even_under_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        w = EvidenceWriter(tmp_path / "ev")
        w.log(event="x")
        w.add_page("users", b'{"value":[]}')
        w.close("complete", collected_at=AT)
        package.write_json(tmp_path / "a" / "b" / "c.json", {"ok": True})
    finally:
        os.umask(old)
    for p in [tmp_path / "ev", *(tmp_path / "ev").rglob("*"), tmp_path / "a", tmp_path / "a" / "b",
              tmp_path / "a" / "b" / "c.json"]:
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p


# --------------------------------------------------------------------------- 8: bounded reads

def test_a_page_larger_than_the_bound_is_refused_before_it_is_read(tmp_path):
    root = small_folder(tmp_path / "ev", {"users": [b'{"value":[]}']})
    big = root / "pages" / "users-0001.json"
    with open(big, "r+b") as f:
        f.truncate(PAGE_BOUND + 1)   # sparse: no disk used
    with pytest.raises(EvidenceError, match=r"pages/users-0001\.json.*larger than 256 MiB"):
        read_everything(root)


def test_a_huge_collection_json_is_refused(tmp_path):
    root = small_folder(tmp_path / "ev", {})
    with open(root / "collection.json", "r+b") as f:
        f.truncate(PAGE_BOUND + 1)
    with pytest.raises(EvidenceError, match=r"collection\.json.*larger than 256 MiB"):
        EvidenceReader(root)
