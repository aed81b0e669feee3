"""run --shard I/N and merge: three shards and a merge give the batch.json and portfolio of one
unsharded run; a missing or failed shard is named."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reportgen.shard import parse_shard, shard_of
from tests.test_e2e import PERIOD, SLUGS, cli  # demo_run (the unsharded run) is a conftest fixture


def test_shard_of_is_stable():
    """The split must not move between machines, Python versions or releases: shards of one batch
    may run on different hosts, and a re-run of one shard must pick the same clients."""
    assert [shard_of(s, 3) for s in SLUGS] == [2, 3, 2, 3, 2]
    assert [shard_of(s, 8) for s in SLUGS] == [1, 2, 3, 6, 5]
    assert shard_of("a", 1) == 1
    counts = [0] * 4
    for i in range(4000):
        counts[shard_of(f"client-{i:04d}", 4) - 1] += 1
    assert min(counts) > 900, counts    # even enough to share a batch


@pytest.mark.parametrize("bad", ["0/3", "4/3", "3", "1/0", "a/b", "-1/2", ""])
def test_bad_shard_is_a_usage_error(bad, tmp_path):
    with pytest.raises(ValueError):
        parse_shard(bad)
    r = cli("run", "--period", PERIOD, "--out", str(tmp_path), "--shard", bad)
    assert r.returncode == 2 and "--shard" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not any(tmp_path.iterdir()), "nothing is written on a usage error"


def comparable(batch: dict) -> dict:
    """batch.json without what differs between any two runs (times) and the merge's shard list."""
    skip = {"finished_at", "duration_seconds", "shards"}
    return {**{k: v for k, v in batch.items() if k not in skip},
            "clients": [{k: v for k, v in c.items() if k != "timings"} for c in batch["clients"]]}


def cells(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        rows = [tuple(c.value for c in row) for row in ws.iter_rows()]
        out[ws.title] = [r for r in rows if r[:1] != ("Generated at (UTC)",)]
    return out


def test_three_shards_and_a_merge_equal_one_run(tmp_path, demo_run):  # noqa: F811
    out = tmp_path / "out"
    period_dir = out / PERIOD
    for i in (1, 2, 3):
        r = cli("run", "--period", PERIOD, "--out", str(out), "--jobs", "2", "--shard", f"{i}/3")
        assert r.returncode == 0, r.stderr
        assert f"(shard {i} of 3)" in r.stderr
    assert not (period_dir / "batch.json").exists() and not (period_dir / "portfolio.xlsx").exists()
    parts = {i: json.loads((period_dir / f"batch.{i}-of-3.json").read_text()) for i in (1, 2, 3)}
    assert parts[1]["clients"] == [], "an empty shard still reports, so that merge knows it ran"
    got = [c["slug"] for i in (1, 2, 3) for c in parts[i]["clients"]]
    assert sorted(got) == sorted(SLUGS)
    for i, doc in parts.items():
        assert doc["shard"] == {"index": i, "count": 3}
        assert all(shard_of(c["slug"], 3) == i for c in doc["clients"])

    r = cli("merge", str(period_dir))
    assert r.returncode == 0, r.stderr
    assert "merged 3 of 3 shards, 5 ok, 0 failed (complete)" in r.stderr
    merged = json.loads((period_dir / "batch.json").read_text())
    unsharded = json.loads((demo_run / "batch.json").read_text())
    assert comparable(merged) == comparable(unsharded)
    assert merged["shards"]["complete"] is True and len(merged["shards"]["parts"]) == 3
    assert cells(period_dir / "portfolio.xlsx") == cells(demo_run / "portfolio.xlsx")
    for s in SLUGS:
        assert cli("verify", str(period_dir / s)).returncode == 0

    # a shard missing: named, exit 1, and batch.json says the merge is incomplete
    broken = tmp_path / "broken" / PERIOD
    shutil.copytree(period_dir, broken)
    (broken / "batch.2-of-3.json").unlink()
    r = cli("merge", str(broken))
    assert r.returncode == 1 and "shard 2 of 3: missing" in r.stderr and "--shard 2/3" in r.stderr, r.stderr
    assert json.loads((broken / "batch.json").read_text())["shards"]["complete"] is False

    # a shard with a failed client, and a client folder not gathered: both named
    doc = json.loads((period_dir / "batch.3-of-3.json").read_text())
    doc["clients"][0].update(status="failed", error="collection failed: 403")
    (broken / "batch.2-of-3.json").write_text(json.dumps(parts[2]))
    (broken / "batch.3-of-3.json").write_text(json.dumps(doc))
    lost = parts[2]["clients"][0]["slug"]
    shutil.rmtree(broken / lost)
    r = cli("merge", str(broken))
    assert r.returncode == 1, r.stderr
    assert f"shard 3 of 3: 1 client not produced: {doc['clients'][0]['slug']}" in r.stderr
    assert f"shard 2 of 3: the folder of client {lost} is not in" in r.stderr
    by = {c["slug"]: c for c in json.loads((broken / "batch.json").read_text())["clients"]}
    assert by[lost]["status"] == "failed"


def test_merge_usage_errors(tmp_path):
    r = cli("merge", str(tmp_path / "nope"))
    assert r.returncode == 2 and "is not a folder" in r.stderr
    r = cli("merge", str(tmp_path))
    assert r.returncode == 2 and "no shard files" in r.stderr
    (tmp_path / "batch.1-of-2.json").write_text(json.dumps({"period": PERIOD, "shard": {}, "clients": []}))
    (tmp_path / "batch.1-of-3.json").write_text(json.dumps({"period": PERIOD, "shard": {}, "clients": []}))
    r = cli("merge", str(tmp_path))
    assert r.returncode == 2 and "different splits" in r.stderr, r.stderr
    assert not (tmp_path / "batch.json").exists()
