"""Live tenants are collected side by side even with --jobs 1: collection waits on Graph, not a CPU."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import yaml

from reportgen.collect import demo
from tests.test_cli import write_config
from tests.test_e2e import cli

SECRET_ENV, SECRET = "CONCURRENCY_TEST_SECRET", "concurrency-test-secret"


def window(log: Path) -> tuple[datetime, datetime]:
    stamps = [datetime.fromisoformat(json.loads(line)["ts"].replace("Z", "+00:00"))
              for line in log.read_text().splitlines() if '"ts"' in line]
    return min(stamps), max(stamps)


def test_live_collections_overlap_even_with_one_job(tmp_path, fake_graph):
    t = demo.build_tenant("ready", "Parallel Bank", "2026-11", users=30)
    fg = fake_graph(t, client_secret=SECRET, latency=0.25)
    clients = [{"slug": f"parallel-{i}", "name": f"Parallel {i}", "institution_type": "bank",
                "tenant_id": t.tenant_id, "source": "graph",
                "graph": {"client_id": "11111111-2222-3333-4444-555555555555", "client_secret_env": SECRET_ENV,
                          "authority_host": fg.url, "graph_endpoint": fg.url, "timeout_seconds": 10}}
               for i in range(3)]
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    r = cli("run", "--config", str(cfg), "--period", "2026-11", "--jobs", "1",
            env={SECRET_ENV: SECRET, "REQUESTS_CA_BUNDLE": fg.ca_bundle_path})
    assert r.returncode == 0, r.stderr
    period = tmp_path / "out" / "2026-11"
    spans = [window(period / c["slug"] / "evidence" / "log.jsonl") for c in clients]
    # each collection took seconds (latency); had they run one after another, none would overlap
    overlapping = sum(1 for i in range(3) for j in range(i + 1, 3)
                      if spans[i][0] < spans[j][1] and spans[j][0] < spans[i][1])
    assert overlapping >= 1, spans
    for c in clients:
        assert cli("verify", str(period / c["slug"])).returncode == 0
