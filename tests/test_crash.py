"""Crash safety: a batch killed at any moment leaves, for every client, either complete output that
verifies or a hidden staging folder; nothing of it lives on; a re-run with --resume completes
the period; re-running a period replaces it cleanly."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from reportgen.package import verify
from tests.test_e2e import ROOT, cli

PERIOD = "2026-11"
SLUGS = ["lakeshore-community-bank", "first-example-bank", "summit-auto-finance"]   # the large one included
TOP_FILES = {"batch.json", "portfolio.xlsx", "portfolio.html"}


# procs (batches started in their own process groups, killed at the end) is a conftest fixture


def start(procs: list, out: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "reportgen.cli", "run", "--period", PERIOD, "--out", str(out), "--jobs", "2"]
    for s in SLUGS:
        args += ["--client", s]
    p = subprocess.Popen(args + list(extra), cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    procs.append(p)
    return p


def living(pgid: int) -> list[int]:
    """Processes of this process group that still run (zombies do not count)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(d.name))
    return pids


def kill_group(p: subprocess.Popen) -> None:
    """Power-cut: the batch process and every process it started."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(timeout=30)


def wait_for(cond, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def visible_clients(period_dir: Path) -> list[str]:
    return sorted(p.name for p in period_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if period_dir.is_dir() else []


def assert_never_a_partial_report(period_dir: Path) -> None:
    """Every client folder either verifies or is hidden (staging, or the previous output mid-swap)."""
    if not period_dir.is_dir():
        return
    for p in period_dir.iterdir():
        if p.name.startswith("."):
            continue
        if p.is_file():
            assert p.name in TOP_FILES, p
            continue
        assert p.name in SLUGS, p
        problems = verify(p)
        assert not problems, (p.name, problems)


def test_killed_batch_then_resume_gives_verified_output_for_every_client(tmp_path, procs):
    out = tmp_path / "out"
    period_dir = out / PERIOD

    # 1. killed two seconds in: collection/rendering under way, nothing published yet
    p = start(procs, out)
    time.sleep(2.0)
    kill_group(p)
    assert_never_a_partial_report(period_dir)

    # 2. killed the moment the first client is published; the batch process alone is killed
    #    (as the OOM killer would): its workers must not live on and publish behind a re-run's back
    p = start(procs, out)
    wait_for(lambda: visible_clients(period_dir))
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    first = visible_clients(period_dir)
    wait_for(lambda: not living(p.pid), timeout=5)
    assert_never_a_partial_report(period_dir)
    assert [d for d in period_dir.iterdir() if d.name.startswith(".")], "the others were cut in staging"

    # 3. --resume completes the period: the published client is kept, the others are produced
    r = cli("run", "--period", PERIOD, "--out", str(out), "--jobs", "2", "--resume", *sum([["--client", s] for s in SLUGS], []))
    assert r.returncode == 0, r.stderr
    for s in first:
        assert f"skipped {s}: output verifies (--resume)" in r.stderr
    batch = json.loads((period_dir / "batch.json").read_text())
    assert sorted(c["slug"] for c in batch["clients"]) == sorted(SLUGS)
    assert all(c["status"] == "ok" for c in batch["clients"]), batch
    for s in SLUGS:
        v = cli("verify", str(period_dir / s))
        assert v.returncode == 0, v.stdout
    assert not [d.name for d in period_dir.iterdir() if d.name.startswith(".")], "leftovers after resume"

    # 4. a kill inside the publishing swap (previous output moved aside, new one not yet in place),
    #    plus a staging folder of a killed re-run: --resume brings the previous output back and skips it
    slug = "summit-auto-finance"
    before = (period_dir / slug / "results.json").read_bytes()
    shutil.copytree(period_dir / slug, period_dir / f".{slug}.partial-1")
    (period_dir / f".{slug}.partial-1" / "manifest.json").unlink()
    os.replace(period_dir / slug, period_dir / f".{slug}.old-4242")
    assert_never_a_partial_report(period_dir)
    r = cli("run", "--period", PERIOD, "--out", str(out), "--client", slug, "--resume")
    assert r.returncode == 0 and f"skipped {slug}" in r.stderr, r.stderr
    assert not verify(period_dir / slug) and (period_dir / slug / "results.json").read_bytes() == before
    assert not [d.name for d in period_dir.iterdir() if d.name.startswith(".")]

    # 5. re-running a period replaces it cleanly: a new folder that verifies, nothing left over
    inode = (period_dir / slug).stat().st_ino, (period_dir / slug / "results.json").stat().st_ino
    r = cli("run", "--period", PERIOD, "--out", str(out), "--client", slug)
    assert r.returncode == 0, r.stderr
    assert cli("verify", str(period_dir / slug)).returncode == 0
    assert (period_dir / slug / "results.json").stat().st_ino != inode[1]
    assert not [d.name for d in period_dir.iterdir() if d.name.startswith(".")], "leftovers after a re-run"
    batch = json.loads((period_dir / "batch.json").read_text())
    assert sorted(c["slug"] for c in batch["clients"]) == sorted(SLUGS)   # the others are kept
    assert all(c["status"] == "ok" for c in batch["clients"])
