"""The scheduler examples in deploy/ parse, carry what their scheduler needs, and call reportgen with
arguments reportgen accepts (the shard numbers they produce cover 1..N exactly once)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from reportgen.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def parse_cli(command: str):
    """The reportgen command line as the real parser reads it (exits on anything unknown)."""
    argv = shlex.split(command)
    assert argv[0] == "reportgen", command
    return _parser().parse_args(argv[1:])


def test_github_actions_matrix_example():
    doc = yaml.safe_load((DEPLOY / "github-actions" / "reportgen-monthly.yml").read_text())
    triggers = doc.get("on", doc.get(True))          # YAML 1.1 reads a bare `on` as true
    assert "schedule" in triggers and triggers["schedule"][0]["cron"].split()[2] != "*"
    shard_job, merge_job = doc["jobs"]["shard"], doc["jobs"]["merge"]
    matrix = shard_job["strategy"]["matrix"]["shard"]
    n = len(matrix)
    assert matrix == list(range(1, n + 1)) and shard_job["strategy"]["fail-fast"] is False
    runs = [s["run"] for s in shard_job["steps"] if "reportgen run" in s.get("run", "")]
    assert len(runs) == 1
    seen = set()
    for i in matrix:
        args = parse_cli(runs[0].replace("${{ matrix.shard }}", str(i)).replace('"$PERIOD"', "2026-11"))
        assert args.command == "run" and args.period == "2026-11"
        seen.add(args.shard)
    assert seen == {f"{i}/{n}" for i in range(1, n + 1)}
    uses = [s.get("uses", "") for s in shard_job["steps"]]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    upload = next(s for s in shard_job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and "${{ matrix.shard }}" in upload["with"]["name"]
    # the merge waits for every shard, runs even when one failed, and gathers them into one folder
    assert merge_job["needs"] == "shard" and merge_job["if"] == "always()"
    download = next(s for s in merge_job["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["merge-multiple"] is True and download["with"]["pattern"] == "reportgen-shard-*"
    merge_run = next(s["run"] for s in merge_job["steps"] if "reportgen merge" in s.get("run", ""))
    assert parse_cli(merge_run.replace("$PERIOD", "2026-11")).period_dir == "out/2026-11"


def test_kubernetes_indexed_job_example():
    shards = yaml.safe_load((DEPLOY / "kubernetes" / "reportgen-shards.yaml").read_text())
    merge = yaml.safe_load((DEPLOY / "kubernetes" / "reportgen-merge.yaml").read_text())
    for doc in (shards, merge):
        assert doc["apiVersion"] == "batch/v1" and doc["kind"] == "Job"
        assert doc["spec"]["template"]["spec"]["restartPolicy"] == "Never"   # required by podFailurePolicy
    spec = shards["spec"]
    n = spec["completions"]
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] == n
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert int(env["SHARDS"]) == n
    rule = spec["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [2]
    assert rule["onExitCodes"]["containerName"] == container["name"]
    script = container["command"][-1]
    assert container["command"][:2] == ["/bin/sh", "-c"] and script.startswith("exec reportgen run")
    seen = set()
    for index in range(n):   # JOB_COMPLETION_INDEX as Kubernetes sets it: 0-based
        line = (script.replace("${PERIOD:+--period \"$PERIOD\"}", "--period 2026-11")
                .replace('"$((JOB_COMPLETION_INDEX + 1))/$SHARDS"', f"{index + 1}/{env['SHARDS']}"))
        args = parse_cli(line.removeprefix("exec "))
        assert args.resume, "a retried pod must skip the clients already produced"
        seen.add(args.shard)
    assert seen == {f"{i}/{n}" for i in range(1, n + 1)}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert "--out /out" in script and mounts["out"] == "/out"
    claim = {v["name"]: v for v in pod["volumes"]}["out"]["persistentVolumeClaim"]["claimName"]
    merge_pod = merge["spec"]["template"]["spec"]
    assert {v["name"]: v for v in merge_pod["volumes"]}["out"]["persistentVolumeClaim"]["claimName"] == claim
    merge_script = merge_pod["containers"][0]["command"][-1]
    m = re.fullmatch(r'exec reportgen merge "/out/\$\{PERIOD:-.*\}"', merge_script)
    assert m, merge_script
    assert parse_cli('reportgen merge "/out/2026-11"').command == "merge"


def test_sharding_doc_and_readme_point_at_the_examples():
    doc = (ROOT / "docs" / "sharding.md").read_text()
    for name in ("deploy/github-actions/reportgen-monthly.yml", "deploy/kubernetes/reportgen-shards.yaml",
                 "deploy/kubernetes/reportgen-merge.yaml", "--shard", "reportgen merge", "SHA-256"):
        assert name in doc, name
    assert "| `reportgen merge PERIOD_DIR`" in (ROOT / "README.md").read_text()
