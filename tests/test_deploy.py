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


# ---- the container image (no Docker engine here: the Dockerfile and .dockerignore are parsed) ----

def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip().removesuffix("\\") + " " if line.rstrip().endswith("\\") else line.strip()
        if not line.rstrip().endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
            pending = ""
    return out


def in_context(path: str, rules: list[str]) -> bool:
    """Whether Docker sends ``path`` (relative, with /) in the build context: the last .dockerignore
    rule that matches the path or one of its parent folders decides ("!" re-includes)."""
    import fnmatch
    keep = True
    parts = path.split("/")
    for rule in rules:
        neg = rule.startswith("!")
        pat = rule.lstrip("!").strip("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if fnmatch.fnmatch(prefix, pat) or (pat.startswith("**/") and fnmatch.fnmatch(parts[i - 1], pat[3:])):
                keep = neg
                break
    return keep


def test_dockerfile_builds_a_slim_non_root_image_with_reportgen_as_entrypoint():
    import json
    import tomllib
    steps = dockerfile_instructions((ROOT / "Dockerfile").read_text())
    froms = [a for i, a in steps if i == "FROM"]
    assert froms and all(re.fullmatch(r"python:3\.11-slim-\w+( AS \w+)?", f) for f in froms), froms
    final = steps[max(i for i, (ins, _) in enumerate(steps) if ins == "FROM"):]
    runs = " ".join(a for i, a in final if i == "RUN")
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"):
        assert re.search(rf"apt-get install [^&]*\b{re.escape(package)}\b", runs), package
    assert "--no-install-recommends" in runs and "rm -rf /var/lib/apt/lists/*" in runs
    # the last USER is a numeric non-root uid, the one the Kubernetes examples run as
    user = [a for i, a in final if i == "USER"][-1]
    uid = int(user.split(":")[0])
    assert uid != 0 and f"--uid {uid}" in runs
    for manifest in ("reportgen-shards.yaml", "reportgen-merge.yaml"):
        pod = yaml.safe_load((DEPLOY / "kubernetes" / manifest).read_text())["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == uid and pod["securityContext"]["runAsNonRoot"] is True
    assert [json.loads(a) for i, a in final if i == "ENTRYPOINT"] == [["reportgen"]]
    volumes = [json.loads(a) for i, a in final if i == "VOLUME"]
    assert volumes == [["/config", "/out"]]
    cmd = json.loads([a for i, a in final if i == "CMD"][-1])
    args = parse_cli(" ".join(["reportgen", *cmd]))
    assert args.command == "run" and args.config == "/config/reportgen.yaml" and args.out == "/out"
    # the output volume is writable by that user when Docker creates it from the image
    assert re.search(rf"chown {uid}:\d+ /out", runs)
    # every COPY source exists and is sent in the build context; everything the wheel needs is copied
    rules = [r.strip() for r in (ROOT / ".dockerignore").read_text().splitlines()
             if r.strip() and not r.startswith("#")]
    copied = []
    for ins, a in steps:
        if ins == "COPY" and not a.startswith("--from"):
            *sources, _ = a.split()
            copied += sources
            for s in sources:
                assert (ROOT / s).exists() and in_context(s.rstrip("/"), rules), s
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"], "reportgen",
              *project["tool"]["setuptools"]["package-dir"].values()}
    for path in needed:
        assert any(path == c or path.startswith(c.rstrip("/") + "/") for c in copied), path
    # client configurations, certificates, reports and the repository itself never reach the image
    for private in ("config/reportgen.yaml", "config/clients/first-example-bank.yaml", "certs/app.pfx", "out/x",
                    ".git/config", "tests/test_deploy.py", "sample_output/x", "reportgen/__pycache__/x.pyc"):
        assert not in_context(private, rules), private
    assert in_context("reportgen/cli/run.py", rules) and in_context("config/catalogs/checks.yaml", rules)


def test_deploy_doc_and_manifests_use_the_image_the_dockerfile_builds():
    doc = (ROOT / "docs" / "deploy.md").read_text()
    build = re.search(r"docker build -t (\S+) \.", doc)
    assert build, "docs/deploy.md shows the build"
    image = build.group(1)
    assert "docker run" in doc and image in doc.split("docker run", 1)[1]
    for name in ("completionMode: Indexed", "reportgen merge", "--shard", "deploy/kubernetes/reportgen-shards.yaml"):
        assert name in doc, name
    for manifest in ("reportgen-shards.yaml", "reportgen-merge.yaml"):
        text = (DEPLOY / "kubernetes" / manifest).read_text()
        pod = yaml.safe_load(text)["spec"]["template"]["spec"]
        assert pod["containers"][0]["image"].rsplit("/", 1)[-1] == image.rsplit("/", 1)[-1]
        assert "Dockerfile" in text
