"""reportgen performance harness (on demand; not part of the test suite).

    python bench/run.py [--sizes 100,5000,50000] [--latency 0.08] [--jitter 0.04] [--batch 100] [--quick]
    python bench/run.py --sizes 5000,50000 --batch 0 --no-profile --update-collection

1. For each tenant size: a synthetic tenant (bench/tenants.py) served by the HTTPS fake Graph
   (reportgen/testing/fakegraph.py) in this process, with jittered per-request latency and report-API
   pacing (5 requests / 10 s per app per tenant, counted by arrival); one client's whole run
   (collect -> evaluate -> PDF -> XLSX -> manifest) in a fresh child process (bench/child.py), so its
   peak RSS is its own. The 429s the fake sent, and how many of them the pacing limit caused.
2. An offline batch of demo tenants through the real CLI with --jobs 1 and --jobs 2, --repeat times
   each (medians).
3. The PDF ratio (bench/pdf_ratio.py, in a fresh process kept warm): reportgen's PDF against
   WeasyPrint alone on the same HTML, typical and 5,000-user tenants, with a cProfile of the typical.
4. cProfile (top 15 cumulative) of evaluate + render of the largest tenant, from its stored evidence.
Prints a table and writes bench/RESULTS.md (with --update-collection: only its collection section;
with --keep-collection: everything but that section).
Work files go to bench/work/.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET_ENV = "REPORTGEN_BENCH_SECRET"
SECRET = "bench-secret-value"
FIRM = {"name": "Bench Security Partners", "contact": "bench@example.com"}

TARGETS = {"requests": 1.02, "wall": 1.10, "pacing_429": 0, "rss_mb": 300, "pdf_s": 10, "xlsx_s": 20, "tpm": 60,
           "speedup": 1.8, "pdf_ratio": 1.3, "pdf_5000": 1.5}


# ---------------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    import openpyxl
    import weasyprint
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {"CPU": cpu, "cores": str(os.cpu_count()), "RAM": ram, "OS": platform.platform(),
            "Python": platform.python_version(), "WeasyPrint": weasyprint.__version__,
            "openpyxl": openpyxl.__version__, "commit": commit or "?",
            "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def previous_month(today: date) -> str:
    y, m = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{y:04d}-{m:02d}"


def write_yaml(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


# ---------------------------------------------------------------------------------------------
def run_size(n: int, args, period: str) -> dict:
    from bench.tenants import bench_tenant, floor
    from reportgen.collect import graph as G
    from reportgen.collect import http as H
    from reportgen.testing.fakegraph import FakeGraph

    now = datetime.now(UTC)
    t0 = time.perf_counter()
    tenant = bench_tenant(n, period, now)
    build_s = time.perf_counter() - t0
    wdir = WORK / f"size-{n}"
    shutil.rmtree(wdir, ignore_errors=True)
    wdir.mkdir(parents=True)
    fg = FakeGraph(tenant, client_secret=SECRET, latency=(args.latency, args.jitter),
                   pacing=(args.pace_limit, args.pace_window))
    fg.start()
    try:
        cfg = wdir / "bench.yaml"
        write_yaml(cfg, {"firm": FIRM, "defaults": {"lookback_days": 30, "output_dir": str(wdir / "out")},
                         "clients": [{"slug": f"bench-{n}", "name": f"Bench Bank {n}", "institution_type": "bank",
                                      "tenant_id": tenant.tenant_id, "source": "graph",
                                      "graph": {"client_id": "11111111-2222-3333-4444-555555555555",
                                                "client_secret_env": SECRET_ENV, "authority_host": fg.url,
                                                "graph_endpoint": fg.url, "timeout_seconds": 60,
                                                "max_tenant_seconds": 3600}}]})
        env = {**os.environ, SECRET_ENV: SECRET, "REQUESTS_CA_BUNDLE": fg.ca_bundle_path, "PYTHONPATH": str(ROOT)}
        env.pop("CURL_CA_BUNDLE", None)
        result = wdir / "result.json"
        print(f"  size {n}: tenant built in {build_s:.1f}s; collecting from {fg.url} ...", file=sys.stderr, flush=True)
        t1 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(BENCH / "child.py"), str(cfg), str(wdir / "out"), str(result),
                               "--period", period],
                              env=env, cwd=ROOT, capture_output=True, text=True)
        child_wall = time.perf_counter() - t1
        if proc.returncode != 0:
            raise SystemExit(f"size {n}: child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        res = json.loads(result.read_text())
        counts = dict(fg.counts)
        throttled, violations = fg.throttled, fg.pacing_violations
    finally:
        fg.stop()
    graph_req = sum(v for k, v in counts.items() if k.startswith(("/v1.0/", "/beta/")))
    auth_req = sum(v for k, v in counts.items() if not k.startswith(("/v1.0/", "/beta/")))
    fl = floor(tenant, latency=args.latency, limit=args.pace_limit, window=args.pace_window, lookback_days=30,
               now=now, group_names=hasattr(G._Run, "group_names"), auth_requests=auth_req)
    collect_s = res["collector"]["duration"] or res["timings"]["collect"]
    return {"users": n, "signIns": len(tenant.objects["signIns"]),
            "signInsNonInteractive": len(tenant.objects["signInsNonInteractive"]),
            "groups": len(tenant.groups), "group_members": sum(len(v) for v in tenant.groups.values()),
            "graph_requests": graph_req, "auth_requests": auth_req, "http_429": throttled,
            "pacing_429": violations, "collector_requests": res["collector"]["requests"],
            "collector_retries": res["collector"]["retries"], "collection_status": res["collector"]["status"],
            "floor_requests": fl.requests, "floor_paced": fl.paced, "floor_chains": fl.chains,
            "floor_seconds": fl.seconds, "floor_formula": fl.formula,
            "collect_s": collect_s, "collect_stage_s": res["timings"]["collect"], "evaluate_s": res["timings"]["evaluate"],
            "pdf_s": res["stages"].get("pdf"),
            "xlsx_s": res["stages"].get("xlsx"), "render_s": res["timings"]["render"], "total_s": res["timings"]["total"],
            "child_wall_s": round(child_wall, 2), "peak_rss_mb": res["peak_rss_mb"], "stages": res["stages"],
            "sizes": res["sizes"], "folder": res["folder"], "pacing": [args.pace_limit, args.pace_window],
            "latency": args.latency, "jitter": args.jitter,
            "client_pacer": [H.REPORT_API_LIMIT, H.REPORT_API_WINDOW, H.PACING_MARGIN],
            "workers": G.WORKERS}


def profile_rerender(size_res: dict, period: str) -> str:  # noqa: C901
    """cProfile of evaluate + render (no network) of a stored client folder."""
    folder = Path(size_res["folder"])
    wdir = WORK / "profile"
    shutil.rmtree(wdir, ignore_errors=True)
    wdir.mkdir(parents=True)
    cfg = wdir / "bench.yaml"
    write_yaml(cfg, {"firm": FIRM, "defaults": {"lookback_days": 30},
                     "clients": [{"slug": folder.name, "name": f"Bench Bank {size_res['users']}",
                                  "institution_type": "bank", "source": "demo", "demo_profile": "typical"}]})
    prof = wdir / "profile.txt"
    proc = subprocess.run([sys.executable, str(BENCH / "child.py"), str(cfg), str(wdir / "out"), str(wdir / "r.json"),
                           "--rerender", str(folder), "--profile", str(prof), "--period", period],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        return f"(profile failed: {proc.stderr[-2000:]})"
    r = json.loads((wdir / "r.json").read_text())
    head = (f"evaluate {r['timings']['evaluate']} s, PDF {r['stages'].get('pdf')} s, XLSX {r['stages'].get('xlsx')} s "
            f"(under cProfile; re-render of the {size_res['users']:,}-user evidence, peak RSS {r['peak_rss_mb']} MB)\n")
    return head + prof.read_text()


# ---------------------------------------------------------------------------------------------
BATCH_MIX = [("typical", 88), ("ready", 3), ("seed-problems", 3), ("exceptions", 3), ("no-p1", 3)]


def batch_config(n: int) -> Path:
    total = sum(k for _, k in BATCH_MIX)
    profiles: list[str] = []
    for name, k in BATCH_MIX:
        profiles += [name] * max(0, round(k * n / total))
    profiles = (profiles + ["typical"] * n)[:n]
    # interleave so that each worker sees the mix
    profiles = sorted(profiles, key=lambda p: (profiles.index(p) % 7, p)) if n > 10 else profiles
    kinds = ["bank", "credit_union", "nonbank"]
    clients = [{"slug": f"bench-{i:03d}-{p}", "name": f"Bench Institution {i:03d}", "institution_type": kinds[i % 3],
                "source": "demo", "demo_profile": p} for i, p in enumerate(profiles)]
    cfg = WORK / "batch" / "batch.yaml"
    write_yaml(cfg, {"firm": FIRM, "defaults": {"lookback_days": 30}, "clients": clients})
    return cfg


def run_batch(n: int, jobs: int, period: str, repeat: int = 1) -> dict:
    """``repeat`` batches with ``--jobs jobs``; the median run, with every run's wall time."""
    runs = [_one_batch(n, jobs, period) for _ in range(repeat)]
    runs.sort(key=lambda r: r["wall_s"])
    med = dict(runs[len(runs) // 2])
    med.update(runs=len(runs), all_wall_s=[r["wall_s"] for r in runs], all_load=[r["load"] for r in runs])
    return med


def _one_batch(n: int, jobs: int, period: str) -> dict:
    cfg = batch_config(n)
    out = WORK / "batch" / f"out-j{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    load = f"{os.getloadavg()[0]:.2f}"
    print(f"  batch of {n}: --jobs {jobs} (load {load}) ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "reportgen.cli", "run", "--config", str(cfg), "--out", str(out),
                           "--jobs", str(jobs), "--period", period], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    try:
        b = json.loads((out / period / "batch.json").read_text())
    except (OSError, ValueError):
        b = {"ok": 0, "failed": n, "clients": []}
    tot = [c.get("timings", {}).get("total") for c in b["clients"] if c.get("timings", {}).get("total")]
    return {"jobs": jobs, "tenants": n, "wall_s": round(wall, 2), "ok": b["ok"], "failed": b["failed"], "load": load,
            "rc": proc.returncode, "tenants_per_min": round(n / wall * 60, 1),
            "median_client_s": round(sorted(tot)[len(tot) // 2], 2) if tot else None,
            "stderr_tail": proc.stderr[-600:] if proc.returncode else ""}


def run_pdf_ratio(args) -> dict:
    """bench/pdf_ratio.py in a fresh process: medians of reportgen's PDF and WeasyPrint's on the same HTML."""
    res, prof = WORK / "pdf-ratio.json", WORK / "pdf-profile.txt"
    load = f"{os.getloadavg()[0]:.2f}"
    print(f"  PDF ratio, {args.pdf_users} users, {args.pdf_repeat} renders each (load {load}) ...", file=sys.stderr,
          flush=True)
    cmd = [sys.executable, str(BENCH / "pdf_ratio.py"), str(res), "--users", args.pdf_users,
           "--repeat", str(args.pdf_repeat)] + ([] if args.no_profile else ["--profile", str(prof)])
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise SystemExit(f"pdf_ratio failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    doc = json.loads(res.read_text())
    doc["load"] = load
    doc["profile"] = "" if args.no_profile else prof.read_text()
    return doc


def pdf_rows(pdf: dict) -> tuple[list[str], list[tuple[str, str, bool]]]:
    """The PDF table, and target rows (label, result, met)."""
    L = ["| tenant | pages | reportgen PDF s | WeasyPrint s | ratio | of reportgen: template s | layout s | PDF write s |",
         "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in pdf["sizes"]:
        st = r["stages_s"]
        L.append(f"| {r['users']:,} users | {r['pages']} | {r['reportgen_s']:.2f} | {r['weasyprint_s']:.2f} "
                 f"| {r['ratio']:.2f} | {st['template']:.2f} | {st['layout']:.2f} | {st['pdf_write']:.2f} |")
    T = []
    by = {r["users"]: r for r in pdf["sizes"]}
    if 500 in by:
        T.append((f"PDF ratio, typical (500 users) ≤ {TARGETS['pdf_ratio']}", f"{by[500]['ratio']:.2f}",
                  by[500]["ratio"] <= TARGETS["pdf_ratio"]))
    if 500 in by and 5000 in by:
        x = by[5000]["reportgen_s"] / by[500]["reportgen_s"]
        T.append((f"5,000-user PDF ≤ {TARGETS['pdf_5000']} × typical", f"{x:.2f}×", x <= TARGETS["pdf_5000"]))
    return L, T


def existing_section(path: Path, heading: str) -> str | None:
    """A section of an existing RESULTS.md, heading included, up to the next heading."""
    try:
        lines = path.read_text().splitlines(keepends=True)
        start = next(i for i, line in enumerate(lines) if line.rstrip() == heading)
    except (OSError, StopIteration):
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "### "))), len(lines))
    return "".join(lines[start:end]).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
def ok(flag: bool) -> str:
    return "yes" if flag else "**NO**"


COLLECTION_HEADING = "### Collection and whole run, per tenant size"
WHOLE_HEADING = "### Whole run (this run)"


def collection_rows(sizes: list[dict]) -> tuple[list[str], list[str]]:
    """The per-size table and the collection targets it misses."""
    missed: list[str] = []
    L = [f"| users | sign-ins (int/non-int) | groups | Graph requests | floor | ratio (≤{TARGETS['requests']}) "
         f"| auth req | 429s sent | of which pacing (= {TARGETS['pacing_429']}) | collect s | floor s "
         f"| ratio (≤{TARGETS['wall']}) | evaluate s | PDF s | XLSX s | whole run s | peak RSS MB |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in sizes:
        rr = s["graph_requests"] / s["floor_requests"]
        wr = s["collect_s"] / s["floor_seconds"]
        paced_ok = s["pacing_429"] <= TARGETS["pacing_429"]
        L.append(f"| {s['users']:,} | {s['signIns']:,}/{s['signInsNonInteractive']:,} | {s['groups']} "
                 f"| {s['graph_requests']:,} | {s['floor_requests']:,} | {rr:.3f} {ok(rr <= TARGETS['requests'])} "
                 f"| {s['auth_requests']} | {s['http_429']} | {s['pacing_429']} {ok(paced_ok)} "
                 f"| {s['collect_s']:.1f} | {s['floor_seconds']:.1f} "
                 f"| {wr:.3f} {ok(wr <= TARGETS['wall'])} | {s['evaluate_s']:.2f} | {s['pdf_s']:.2f} | {s['xlsx_s']:.2f} "
                 f"| {s['total_s']:.1f} | {s['peak_rss_mb']:.0f} |")
        if rr > TARGETS["requests"]:
            missed.append(f"{s['users']:,} users: requests {rr:.3f}x floor")
        if not paced_ok:
            missed.append(f"{s['users']:,} users: {s['pacing_429']} 429s drawn by pacing")
        if wr > TARGETS["wall"]:
            missed.append(f"{s['users']:,} users: collection wall {wr:.3f}x floor")
    return L, missed


def collection_section(m: dict, sizes: list[dict], args, started: str) -> str:
    """The collection section of RESULTS.md: how it was measured, the table, the floors."""
    L, missed = collection_rows(sizes)
    floors = "\n".join(f"- {s['users']:,} users: {s['floor_requests']} requests "
                       f"({s['floor_paced']} paced; pages {s['floor_chains']}); time {s['floor_formula']}"
                       for s in sizes)
    pacer = sizes[0]["client_pacer"] if sizes else ["?", "?", "?"]
    how = textwrap.fill(
        f"Measured by `python bench/run.py {' '.join(sys.argv[1:])}` on {started}, commit {m.get('commit', '?')}, "
        f"load average {m.get('load average at start', '?')} at start. Fake Graph: round trip "
        f"{args.latency * 1000:.0f} ms ± {args.jitter * 1000:.0f} ms per request (half before the request arrives, "
        f"half before the answer leaves, each jittered), report APIs {args.pace_limit} requests / "
        f"{args.pace_window:g} s per app per tenant counted by arrival (429 + Retry-After beyond). Collector: "
        f"{sizes[0]['workers'] if sizes else '?'} dataset workers; pacer {pacer[0]} per {pacer[1]:g} s by "
        f"worst-case arrival (a request counts until a window + {pacer[2]:g} s after its answer, or while in "
        f"flight). \"429s sent\" counts every 429 the fake answered; \"of which pacing\" those its pacing limit "
        f"caused.", width=110, break_on_hyphens=False, break_long_words=False)
    return f"""{COLLECTION_HEADING}

{how}

{chr(10).join(L)}

Floors (fewest requests at maximum page sizes: users 500 with signInActivity, registration details 999,
sign-ins 1000, group members 999, one request for each single-page endpoint; auth requests are shown apart):

{floors}

Collection targets (zero 429s drawn by pacing, requests ≤ {TARGETS['requests']} × floor, wall ≤ {TARGETS['wall']} × floor):
{'missed: ' + '; '.join(missed) if missed else 'met'}.
"""


def update_collection(path: Path, section: str) -> None:
    """Replace only the collection section of an existing RESULTS.md; the other sections stay."""
    lines = path.read_text().splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip() == COLLECTION_HEADING)
    except StopIteration:
        raise SystemExit(f"{path}: no '{COLLECTION_HEADING}' section to update") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "### "))), len(lines))
    path.write_text("".join(lines[:start]) + section.rstrip("\n") + "\n\n" + "".join(lines[end:]))


def tables(m: dict, sizes: list[dict], batches: list[dict], args,
           collection: str | None = None, pdf: dict | None = None) -> tuple[str, list[str]]:
    """All tables (the collection one, or ``collection`` in its place) and every target missed."""
    L, missed = collection_rows(sizes)
    if collection is not None and getattr(args, "keep_collection", False):
        missed = []   # the kept section states its own targets
    big = max(sizes, key=lambda s: s["users"]) if sizes else None
    T = ["| target | result | met |", "|---|---|---|"]
    if big:
        for label, val, lim, unit in (("whole-run peak RSS", big["peak_rss_mb"], TARGETS["rss_mb"], "MB"),
                                      ("PDF", big["pdf_s"], TARGETS["pdf_s"], "s"),
                                      ("XLSX", big["xlsx_s"], TARGETS["xlsx_s"], "s")):
            T.append(f"| {big['users']:,} users: {label} ≤ {lim} {unit} | {val:.1f} {unit} | {ok(val <= lim)} |")
            if val > lim:
                missed.append(f"{big['users']:,} users: {label} {val:.1f} {unit} > {lim} {unit}")
    B = ["| --jobs | tenants | ok | wall s (median) | tenants/min | median client s | runs: wall s | load at start |",
         "|---:|---:|---:|---:|---:|---:|---|---|"]
    for b in batches:
        B.append(f"| {b['jobs']} | {b['tenants']} | {b['ok']} | {b['wall_s']:.1f} | {b['tenants_per_min']:.1f} "
                 f"| {b['median_client_s']} | {', '.join(f'{w:.1f}' for w in b.get('all_wall_s', [b['wall_s']]))} "
                 f"| {', '.join(b.get('all_load', [b.get('load', '?')]))} |")
    by = {b["jobs"]: b for b in batches}
    if 2 in by:
        tpm = by[2]["tenants_per_min"]
        T.append(f"| offline batch --jobs 2 ≥ {TARGETS['tpm']} tenants/min | {tpm:.1f} | {ok(tpm >= TARGETS['tpm'])} |")
        if tpm < TARGETS["tpm"]:
            missed.append(f"batch --jobs 2: {tpm:.1f} tenants/min < {TARGETS['tpm']}")
    if 1 in by and 2 in by:
        sp = by[2]["tenants_per_min"] / by[1]["tenants_per_min"]
        T.append(f"| --jobs 2 ≥ {TARGETS['speedup']}× --jobs 1 | {sp:.2f}× | {ok(sp >= TARGETS['speedup'])} |")
        if sp < TARGETS["speedup"]:
            missed.append(f"batch speed-up {sp:.2f}x < {TARGETS['speedup']}x")
    P: list[str] = []
    if pdf:
        rows, targets = pdf_rows(pdf)
        P = ["### PDF cost beyond WeasyPrint", "",
             f"Warm process (bench/pdf_ratio.py), median of {pdf['sizes'][0]['repeat']} renders each, load "
             f"{pdf['load']} at start. reportgen = `render.pdf.render` (template, PDF/A-3b, tags, two attachments, "
             "atomic write); WeasyPrint = `HTML(string=same_html).write_pdf()` with its defaults.", "", *rows, ""]
        for label, result, met in targets:
            T.append(f"| {label} | {result} | {ok(met)} |")
            if not met:
                missed.append(f"{label}: {result}")
    W: list[str] = []
    if collection is not None and getattr(args, "keep_collection", False) and sizes:
        W = [WHOLE_HEADING, "",
             "| users | evaluate s | PDF s | XLSX s | whole run s | peak RSS MB |", "|---:|---:|---:|---:|---:|---:|"]
        W += [f"| {s['users']:,} | {s['evaluate_s']:.2f} | {s['pdf_s']:.2f} | {s['xlsx_s']:.2f} | {s['total_s']:.1f} "
              f"| {s['peak_rss_mb']:.0f} |" for s in sizes] + [""]
    head = [collection.rstrip("\n")] if collection else [COLLECTION_HEADING, "", *L]
    text = "\n".join([*head, "", *W, "### Offline batch", "", *B, "", *P, "### Targets", "", *T])
    return text, missed


def results_md(m: dict, sizes: list[dict], batches: list[dict], prof: str, args, started: str, dur: float,
               pdf: dict | None = None, collection: str | None = None) -> str:
    text, missed = tables(m, sizes, batches, args, collection or collection_section(m, sizes, args, started), pdf)
    mach = "\n".join(f"- **{k}**: {v}" for k, v in m.items())
    pdf_profile = (f"The report PDF in a warm process:\n\n```\n{pdf['profile'].strip()}\n```\n\n"
                   if pdf and pdf.get("profile") else "")
    big_profile = (f"cProfile of evaluate + render of the largest tenant, top 15 by cumulative time, then top 15 "
                   f"by own time:\n\n```\n{prof.strip()}\n```\n" if prof.strip() else "")
    return f"""# reportgen benchmark results

Written by `python bench/run.py {' '.join(sys.argv[1:])}` on {started} (took {dur / 60:.1f} min).
See `bench/README.md` for what is measured and how. Collection and whole-run rows: one run each; batch and
PDF rows: medians of the runs shown.

## Machine

{mach}

## Settings

- fake Graph (reportgen/testing/fakegraph.py, HTTPS on 127.0.0.1, in the harness process); its latency
  and pacing, and the collector's pacer, are given with the collection table
- one client's whole run in a fresh child process (`bench/child.py` → `pipeline.run_client`); peak RSS = the child's VmHWM
- offline batch: `python -m reportgen.cli run --config bench/work/batch/batch.yaml --jobs N`
  ({', '.join(f'{k}× {p}' for p, k in BATCH_MIX)} per 100)

{text}

Targets missed: {'; '.join(missed) if missed else 'none'}.

## Where the time goes

{pdf_profile}{big_profile}"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,5000,50000")
    ap.add_argument("--latency", type=float, default=0.08, help="fake Graph round trip per request, seconds")
    ap.add_argument("--jitter", type=float, default=0.04,
                    help="round trips spread over latency ± jitter (each leg drawn apart), seconds")
    ap.add_argument("--batch", type=int, default=100, help="tenants in the offline batch (0: skip)")
    ap.add_argument("--jobs", default="1,2", help="--jobs values for the batch")
    ap.add_argument("--pace-limit", type=int, default=5)
    ap.add_argument("--pace-window", type=float, default=10.0)
    ap.add_argument("--quick", action="store_true", help="sizes 100,5000; batch of 10; no RESULTS.md unless --write")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--write", action="store_true", help="write RESULTS.md even with --quick")
    ap.add_argument("--results", default=str(BENCH / "RESULTS.md"))
    ap.add_argument("--repeat", type=int, default=1, help="batch runs per --jobs value (the median is reported)")
    ap.add_argument("--pdf-users", default="500,5000", help="tenant sizes for the PDF ratio ('' skips it)")
    ap.add_argument("--pdf-repeat", type=int, default=5, help="renders per size for the PDF ratio")
    ap.add_argument("--keep-collection", action="store_true",
                    help="write RESULTS.md but keep its collection section as it is (refreshed apart)")
    ap.add_argument("--update-collection", action="store_true",
                    help="replace only the collection section of RESULTS.md, keep the others (batch, profile)")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.batch = "100,5000", min(args.batch, 10)
    sizes_n = [int(x) for x in args.sizes.split(",") if x.strip()]
    WORK.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.perf_counter()
    period = previous_month(date.today())
    m = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in m.items()), file=sys.stderr)
    sizes = []
    for n in sizes_n:
        sizes.append(run_size(n, args, period))
        s = sizes[-1]
        print(f"  size {n}: collect {s['collect_s']}s (floor {s['floor_seconds']}s), {s['graph_requests']} requests "
              f"(floor {s['floor_requests']}), 429s {s['http_429']} ({s['pacing_429']} pacing), evaluate {s['evaluate_s']}s, "
              f"PDF {s['pdf_s']}s, XLSX {s['xlsx_s']}s, "
              f"peak RSS {s['peak_rss_mb']} MB", file=sys.stderr, flush=True)
    batches = []
    if args.batch:
        for j in [int(x) for x in args.jobs.split(",")]:
            batches.append(run_batch(args.batch, j, period, args.repeat))
            b = batches[-1]
            print(f"  batch --jobs {j}: {b['wall_s']}s, {b['tenants_per_min']} tenants/min, ok {b['ok']}, "
                  f"failed {b['failed']} {b['stderr_tail']}", file=sys.stderr, flush=True)
    pdf = run_pdf_ratio(args) if args.pdf_users.strip() else None
    prof = ""
    if sizes and not args.no_profile:
        print("  profiling evaluate + render of the largest tenant ...", file=sys.stderr, flush=True)
        prof = profile_rerender(max(sizes, key=lambda s: s["users"]), period)
    m["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    (WORK / "results.json").write_text(json.dumps({"machine": m, "sizes": sizes, "batches": batches, "pdf": pdf},
                                                  indent=2))
    text, missed = tables(m, sizes, batches, args, pdf=pdf)
    print(text)
    print("\nTargets missed: " + ("; ".join(missed) if missed else "none"))
    if args.update_collection:
        update_collection(Path(args.results), collection_section(m, sizes, args, started))
        print(f"updated the collection section of {args.results}", file=sys.stderr)
    elif not args.quick or args.write:
        kept = existing_section(Path(args.results), COLLECTION_HEADING) if args.keep_collection else None
        if args.keep_collection and kept is None:
            raise SystemExit(f"{args.results}: no collection section to keep")
        if kept and not sizes:   # no whole run this time: keep the last one's table too
            kept += "\n" + (existing_section(Path(args.results), WHOLE_HEADING) or "")
        Path(args.results).write_text(results_md(m, sizes, batches, prof, args, started, time.perf_counter() - t0,
                                                 pdf, kept))
        print(f"wrote {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
