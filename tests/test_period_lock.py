"""One writer per period folder: a second batch on a busy period is refused with who holds it; a lock
left by a killed process does not block the next run; shards share a period, one copy each."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reportgen.lock import PeriodLocked, lock_file, period_lock
from tests.test_crash import wait_for
from tests.test_e2e import ROOT, cli

PERIOD = "2026-11"


def note(period_dir: Path) -> Path:
    """Who holds the lock, as the holder wrote it."""
    f = lock_file(period_dir)
    return f.with_name(f.name + ".json")


@pytest.fixture
def holders():
    """Processes holding a lock for a test; killed at the end."""
    started: list[subprocess.Popen] = []

    def hold(period_dir: Path, shard: tuple[int, int] | None = None) -> subprocess.Popen:
        code = textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from reportgen.lock import period_lock
            with period_lock(Path({str(period_dir)!r}), shard={shard!r}, command="reportgen run --holder"):
                print("held", flush=True)
                time.sleep(600)
        """)
        p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        started.append(p)
        assert p.stdout.readline().strip() == "held"
        return p

    yield hold
    for p in started:
        p.kill()
        p.wait()


def test_second_batch_on_a_busy_period_is_refused_and_the_first_completes(tmp_path):
    out = tmp_path / "out"
    period_dir = out / PERIOD
    slugs = ["first-example-bank", "lakeshore-community-bank", "summit-auto-finance"]
    args = [sys.executable, "-m", "reportgen.cli", "run", "--period", PERIOD, "--out", str(out), "--jobs", "1"]
    first = subprocess.Popen(args + sum([["--client", s] for s in slugs], []), cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_for(lambda: note(period_dir).is_file(), timeout=60)
        wait_for(lambda: any(period_dir.glob(".*.partial-*")), timeout=120)   # clients under way
        second = cli("run", "--period", PERIOD, "--out", str(out), "--jobs", "1", "--client", slugs[0])
        _, first_err = first.communicate(timeout=600)
    finally:
        first.kill()
    assert second.returncode == 2, second.stderr
    msg = second.stderr
    assert "in use by another reportgen" in msg and f"pid {first.pid}" in msg and socket.gethostname() in msg
    assert "reportgen run --period" in msg and "wait for that one to finish" in msg
    assert "Traceback" not in msg
    # the first batch was not disturbed
    assert first.returncode == 0, first_err
    batch = json.loads((period_dir / "batch.json").read_text())
    assert [c["status"] for c in batch["clients"]] == ["ok"] * 3
    for s in slugs:
        assert cli("verify", str(period_dir / s)).returncode == 0
    assert not [d.name for d in period_dir.iterdir() if d.is_dir() and d.name.startswith(".")]
    assert not note(period_dir).exists(), "the note goes with the lock"


def test_lock_of_a_killed_process_is_taken_over(tmp_path, holders):
    period_dir = tmp_path / "out" / PERIOD
    p = holders(period_dir)
    with pytest.raises(PeriodLocked) as e:
        with period_lock(period_dir):
            pass
    assert f"pid {p.pid}" in str(e.value) and "reportgen run --holder" in str(e.value)
    p.send_signal(signal.SIGKILL)   # no clean-up of any kind: the note stays behind
    p.wait()
    assert json.loads(note(period_dir).read_text())["pid"] == p.pid
    r = cli("run", "--period", PERIOD, "--out", str(tmp_path / "out"), "--client", "first-example-bank")
    assert r.returncode == 0, r.stderr
    assert cli("verify", str(period_dir / "first-example-bank")).returncode == 0


def test_shards_share_a_period_one_copy_each(tmp_path, holders):
    period_dir = tmp_path / "out" / PERIOD
    holders(period_dir, shard=(1, 2))
    with pytest.raises(PeriodLocked):            # the same shard again
        with period_lock(period_dir, shard=(1, 2)):
            pass
    with period_lock(period_dir, shard=(2, 2)):  # another shard of the batch
        pass
    with pytest.raises(PeriodLocked):            # a whole-period command waits for the shards
        with period_lock(period_dir):
            pass
    # and the other way round: a shard refuses a period held whole
    other = tmp_path / "other" / PERIOD
    holders(other)
    with pytest.raises(PeriodLocked):
        with period_lock(other, shard=(1, 3)):
            pass
    r = cli("merge", str(other))
    assert r.returncode == 2 and "in use by another reportgen" in r.stderr, r.stderr


def test_lock_is_reentrant_within_one_process(tmp_path):
    period_dir = tmp_path / PERIOD
    with period_lock(period_dir):
        with period_lock(period_dir):
            pass
        assert note(period_dir).is_file(), "the outer hold is still there"
    assert not note(period_dir).exists()
    with period_lock(period_dir):   # free again
        pass


def test_period_folder_holds_only_deliverables(tmp_path):
    """The lock lives beside the period folder, not in it: that folder is what gets archived and sent."""
    period_dir = tmp_path / "out" / PERIOD
    with period_lock(period_dir):
        assert list(period_dir.iterdir()) == []
        assert lock_file(period_dir).parent == period_dir.parent


@pytest.mark.parametrize("command", [["render", "--evidence"], ["finalize"]])
def test_render_in_place_and_finalize_take_the_period_lock(tmp_path, holders, command):
    out = tmp_path / "out"
    r = cli("run", "--period", PERIOD, "--out", str(out), "--client", "prairie-home-lending")
    assert r.returncode == 0, r.stderr
    folder = out / PERIOD / "prairie-home-lending"
    before = (folder / "manifest.json").read_bytes()
    holders(out / PERIOD)
    extra = ["--reviewer", "Jane Roe, Engagement Partner"] if command == ["finalize"] else []
    r = cli(*command, str(folder), *extra)
    assert r.returncode == 2 and "in use by another reportgen" in r.stderr and "--holder" in r.stderr, r.stderr
    assert (folder / "manifest.json").read_bytes() == before, "nothing was touched"
