"""Ctrl-C and SIGTERM stop a running batch promptly and leave it in order: completed clients intact
and verified, batch.json naming the completed and the interrupted, exit 130/143, no traceback."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from reportgen.collect import demo
from tests.test_cli import write_config
from tests.test_crash import living, wait_for
from tests.test_e2e import ROOT, cli

PERIOD = "2026-11"
SLUGS = ["first-example-bank", "harbor-federal-cu", "lakeshore-community-bank", "prairie-home-lending",
         "summit-auto-finance"]
NOISE = ("Traceback", "Exception ignored", "KeyboardInterrupt")


# procs (batches started in their own process groups, killed at the end) is a conftest fixture


def start(procs: list, *args: str, env: dict | None = None) -> subprocess.Popen:
    """A batch in its own process group, as a shell starts a foreground job."""
    p = subprocess.Popen([sys.executable, "-m", "reportgen.cli", "run", "--period", PERIOD, *args], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    procs.append(p)
    return p


def published(period_dir: Path) -> list[str]:
    return sorted(q.parent.name for q in period_dir.glob("*/manifest.json")) if period_dir.is_dir() else []


def finish(p: subprocess.Popen, timeout: float = 60) -> tuple[int, str, float]:
    t0 = time.monotonic()
    _, err = p.communicate(timeout=timeout)
    return p.returncode, err, time.monotonic() - t0


def check_after_stop(period_dir: Path, slugs: list[str], err: str, signame: str) -> dict[str, dict]:
    for word in NOISE:
        assert word not in err, err
    batch = json.loads((period_dir / "batch.json").read_text())
    assert batch["interrupted"] == signame
    by = {c["slug"]: c for c in batch["clients"]}
    assert sorted(by) == sorted(slugs), "every client is listed, done or not"
    assert {c["status"] for c in by.values()} <= {"ok", "interrupted"}, by
    for slug, c in by.items():
        if c["status"] == "ok":
            r = cli("verify", str(period_dir / slug))
            assert r.returncode == 0, r.stdout
        else:
            assert "re-run with --resume" in c["error"]
            assert not (period_dir / slug).exists(), f"{slug} was interrupted but has a folder"
    assert not [d.name for d in period_dir.iterdir() if d.is_dir() and d.name.startswith(".")], "staging left"
    return by


def test_ctrl_c_to_the_process_group_stops_the_batch(tmp_path, procs):
    out = tmp_path / "out"
    period_dir = out / PERIOD
    p = start(procs, "--out", str(out), "--jobs", "1")
    wait_for(lambda: published(period_dir), timeout=180)
    os.killpg(p.pid, signal.SIGINT)          # what a terminal does on Ctrl-C
    rc, err, took = finish(p)
    assert rc == 130, err
    assert took < 20, f"took {took:.1f}s to stop"
    by = check_after_stop(period_dir, SLUGS, err, "SIGINT")
    done = [s for s, c in by.items() if c["status"] == "ok"]
    assert done and len(done) < len(SLUGS), by
    assert "interrupted by Ctrl-C" in err and "batch.json" in err
    assert not living(p.pid), "a worker outlived the batch"

    # --resume completes the period from there
    r = cli("run", "--period", PERIOD, "--out", str(out), "--jobs", "2", "--resume")
    assert r.returncode == 0, r.stderr
    for s in done:
        assert f"skipped {s}" in r.stderr
    batch = json.loads((period_dir / "batch.json").read_text())
    assert all(c["status"] == "ok" for c in batch["clients"]) and "interrupted" not in batch


def test_sigterm_to_the_batch_process_alone_stops_it(tmp_path, procs):
    """A scheduler (systemd, Kubernetes, CI) stopping the job: SIGTERM to the main process only."""
    out = tmp_path / "out"
    period_dir = out / PERIOD
    p = start(procs, "--out", str(out), "--jobs", "2")
    wait_for(lambda: published(period_dir), timeout=180)
    os.kill(p.pid, signal.SIGTERM)
    rc, err, took = finish(p)
    assert rc == 143, err
    assert took < 20, f"took {took:.1f}s to stop"
    check_after_stop(period_dir, SLUGS, err, "SIGTERM")
    wait_for(lambda: not living(p.pid), timeout=5)


def test_second_ctrl_c_never_hangs(tmp_path, procs):
    out = tmp_path / "out"
    period_dir = out / PERIOD
    p = start(procs, "--out", str(out), "--jobs", "2")
    wait_for(lambda: any(period_dir.glob(".*.partial-*")), timeout=120)   # clients under way
    os.killpg(p.pid, signal.SIGINT)
    time.sleep(0.3)
    os.killpg(p.pid, signal.SIGINT)
    rc, err, took = finish(p)
    assert rc == 130, err
    assert took < 15, f"took {took:.1f}s to stop"
    check_after_stop(period_dir, SLUGS, err, "SIGINT")
    wait_for(lambda: not living(p.pid), timeout=5)


SECRET_ENV, SECRET = "INTERRUPT_TEST_SECRET", "interrupt-test-secret"


def test_ctrl_c_stops_live_collection(tmp_path, procs, fake_graph):
    """Collection from Graph stops too: the fake Graph sees no request once the batch has exited."""
    t = demo.build_tenant("typical", "Slow Bank", PERIOD, users=3000)
    fg = fake_graph(t, client_secret=SECRET, latency=0.3, pacing=(5, 10.0))
    client = {"slug": "slow-bank", "name": "Slow Bank", "institution_type": "bank", "tenant_id": t.tenant_id,
              "source": "graph",
              "graph": {"client_id": "11111111-2222-3333-4444-555555555555", "client_secret_env": SECRET_ENV,
                        "authority_host": fg.url, "graph_endpoint": fg.url, "timeout_seconds": 30}}
    cfg = write_config(tmp_path, yaml.safe_dump([client], sort_keys=False))
    p = start(procs, "--config", str(cfg), "--jobs", "1",
              env={SECRET_ENV: SECRET, "REQUESTS_CA_BUNDLE": fg.ca_bundle_path})

    def graph_requests() -> int:
        return sum(v for k, v in dict(fg.counts).items() if k.startswith(("/v1.0/", "/beta/")))
    wait_for(lambda: graph_requests() >= 3, timeout=60)
    os.killpg(p.pid, signal.SIGINT)
    rc, err, took = finish(p)
    assert rc == 130, err
    assert took < 15, f"took {took:.1f}s to stop"
    period_dir = tmp_path / "out" / PERIOD
    by = check_after_stop(period_dir, ["slow-bank"], err, "SIGINT")
    assert by["slow-bank"]["status"] == "interrupted"
    after = graph_requests()
    time.sleep(1.5)
    assert graph_requests() == after, "collection went on after the batch stopped"
