"""Warm workers live for the whole batch, yet each client stays isolated: a worker that dies or a
client that hangs costs only that worker, which is replaced, and the batch goes on."""
from __future__ import annotations

import io
import json
import os
import signal
import time
from pathlib import Path

import yaml

from reportgen.batch import WORKER_NAME
from reportgen.collect import demo
from reportgen.testing.fakegraph import Fault
from tests.conftest import DEMO_EPOCH
from tests.test_cli import write_config
from tests.test_crash import wait_for
from tests.test_e2e import ROOT, cli  # demo_run (another run of the demo) is a conftest fixture
from tests.test_interrupt import start

PERIOD = "2026-11"
FEW = ["first-example-bank", "prairie-home-lending", "summit-auto-finance"]   # the quicker three


def children(pid: int) -> set[int]:
    """The batch's worker processes (not the short-lived helpers a library may start)."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid and fields[0] != "Z" and name == WORKER_NAME.decode():
                out.add(int(d.name))
    return out


def test_workers_are_reused_across_clients(tmp_path, procs, demo_run):
    """Three clients, one worker: the same process produces all of them (warm, not one each), and
    what it keeps warm changes nothing in the reports (same bytes as another run's workers)."""
    out = tmp_path / "out"
    p = start(procs, "--out", str(out), "--jobs", "1", *[a for s in FEW for a in ("--client", s)],
              env={"SOURCE_DATE_EPOCH": DEMO_EPOCH})
    seen: set[int] = set()
    while p.poll() is None:
        seen |= children(p.pid)
        time.sleep(0.05)
    assert p.returncode == 0, p.stderr.read()
    assert len(seen) == 1, seen
    for slug in FEW:
        for name in ("results.json", f"{slug}-{PERIOD}-mfa-compliance.pdf", f"{slug}-{PERIOD}-mfa-compliance.xlsx"):
            assert (out / PERIOD / slug / name).read_bytes() == (demo_run / slug / name).read_bytes(), (slug, name)


def test_a_killed_worker_is_replaced_and_the_batch_goes_on(tmp_path, procs):
    out = tmp_path / "out"
    period_dir = out / PERIOD
    p = start(procs, "--out", str(out), "--jobs", "2", *[a for s in FEW for a in ("--client", s)])
    wait_for(lambda: len(children(p.pid)) == 2 and any(period_dir.glob(".*.partial-*")), timeout=120)
    first = children(p.pid)
    victim, other = sorted(first)
    os.kill(victim, signal.SIGKILL)          # as the OOM killer would
    wait_for(lambda: children(p.pid) - first, timeout=60)   # a new worker took its place
    assert other in children(p.pid) or p.poll() is not None, "the other worker was disturbed"
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    batch = json.loads((period_dir / "batch.json").read_text())
    assert [c["status"] for c in batch["clients"]] == ["ok"] * len(FEW), batch
    for s in FEW:
        assert cli("verify", str(period_dir / s)).returncode == 0
    assert not [d.name for d in period_dir.iterdir() if d.name.startswith(".")]


SECRET_ENV, SECRET = "WORKERS_TEST_SECRET", "workers-test-secret"


def test_a_hung_client_is_stopped_at_its_time_limit(tmp_path, fake_graph):
    t = demo.build_tenant("ready", "Hung Bank", PERIOD, users=20)
    fg = fake_graph(t, client_secret=SECRET)
    fg.script("/v1.0/organization", Fault(stall=300))     # Graph never answers in time
    clients = [{"slug": "hung-bank", "name": "Hung Bank", "institution_type": "bank", "tenant_id": t.tenant_id,
                "source": "graph",
                "graph": {"client_id": "11111111-2222-3333-4444-555555555555", "client_secret_env": SECRET_ENV,
                          "authority_host": fg.url, "graph_endpoint": fg.url, "timeout_seconds": 300}}]
    clients += [{"slug": f"quick-{i}", "name": f"Quick {i}", "institution_type": "credit_union", "source": "demo",
                 "demo_profile": "no-p1"} for i in range(3)]
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    t0 = time.monotonic()
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "1", "--client-timeout", "12",
            env={SECRET_ENV: SECRET, "REQUESTS_CA_BUNDLE": fg.ca_bundle_path})
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    assert took < 200, "the hung client was not stopped"
    period_dir = tmp_path / "out" / PERIOD
    by = {c["slug"]: c for c in json.loads((period_dir / "batch.json").read_text())["clients"]}
    assert by["hung-bank"]["status"] == "failed" and "time limit" in by["hung-bank"]["error"], by["hung-bank"]
    for i in range(3):
        assert by[f"quick-{i}"]["status"] == "ok", by[f"quick-{i}"]
        assert cli("verify", str(period_dir / f"quick-{i}")).returncode == 0
    assert not (period_dir / "hung-bank").exists()
    assert not [d.name for d in period_dir.iterdir() if d.name.startswith(".")]
    assert "Traceback" not in r.stderr


def test_workers_are_replaced_after_their_share_of_clients(tmp_path, monkeypatch):
    """A worker leaves after WORKER_CLIENTS clients and a fresh one carries on: nothing is lost."""
    from reportgen import batch
    from reportgen.cli.common import load_config
    from reportgen.pipeline import job_for
    monkeypatch.setattr(batch, "WORKER_CLIENTS", 1)
    cfg = load_config(ROOT / "config" / "reportgen.yaml")
    chosen = [c for c in cfg.clients if c.slug in ("prairie-home-lending", "summit-auto-finance", "first-example-bank")]
    jobs = [job_for(cfg, c, PERIOD, tmp_path) for c in chosen]
    entries = batch.run_batch(jobs, tmp_path / PERIOD, workers=1, stream=io.StringIO())
    assert [e["status"] for e in entries] == ["ok"] * 3, entries
    for job in jobs:
        assert cli("verify", str(job.final_dir)).returncode == 0
