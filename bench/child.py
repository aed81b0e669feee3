"""One client, whole run, in a fresh process: ``python bench/child.py CONFIG OUT RESULT.json [--profile PROF]``.

Started by ``bench/run.py`` so that each measured run has its own peak RSS. Runs
``reportgen.pipeline.run_client`` exactly as a batch worker does (collect -> evaluate -> PDF ->
XLSX -> manifest) with ``render_pdf``/``render_xlsx`` wrapped by timers, then writes a JSON
result: pipeline timings, PDF/XLSX seconds, collector request counts and the process's VmHWM.

With ``--rerender FOLDER`` it evaluates and renders again from a stored client folder (no
network) - used for the cProfile of evaluate + render.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def vm_hwm_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("out")
    ap.add_argument("result")
    ap.add_argument("--rerender", help="a stored client folder: evaluate + render only")
    ap.add_argument("--profile", help="write the cProfile top-N (cumulative) here")
    ap.add_argument("--period", default="2026-11")
    args = ap.parse_args()

    import reportgen.render.pdf as rpdf
    import reportgen.render.xlsx as rxlsx
    from reportgen.cli.common import load_config  # with the check ids and demo profiles it validates against
    from reportgen.pipeline import job_for, run_client

    stage: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                stage[name] = round(time.perf_counter() - t, 3)
                stage[f"rss_after_{name}_mb"] = round(vm_hwm_mb(), 1)
        return wrapper

    rpdf.render_pdf = timed("pdf", rpdf.render_pdf)
    rxlsx.render_xlsx = timed("xlsx", rxlsx.render_xlsx)

    cfg = load_config(args.config)
    client = cfg.clients[0]
    out_root = Path(args.out)
    period = args.period
    job = job_for(cfg, client, period, out_root)
    if args.rerender:
        job.evidence_from = Path(args.rerender)
        job.out_root = out_root

    prof = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    res = run_client(job)
    if prof:
        prof.disable()
    wall = time.perf_counter() - t0
    folder = job.final_dir
    ev = json.loads((folder / "evidence" / "collection.json").read_text())
    out = {"timings": res["timings"], "stages": stage, "wall": round(wall, 3),
           "collector": {"requests": ev.get("requests"), "retries": ev.get("retries"),
                         "duration": ev.get("duration"), "status": ev.get("status"), "gaps": ev.get("gaps")},
           "peak_rss_mb": round(vm_hwm_mb(), 1),
           "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "folder": str(folder),
           "sizes": {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}}
    if prof:
        s = io.StringIO()
        st = pstats.Stats(prof, stream=s)
        st.sort_stats("cumulative").print_stats(15)
        s2 = io.StringIO()
        pstats.Stats(prof, stream=s2).sort_stats("tottime").print_stats(15)
        Path(args.profile).write_text(_trim(s.getvalue()) + "\n\n--- by own time (tottime) ---\n" + _trim(s2.getvalue()))
    Path(args.result).write_text(json.dumps(out, indent=2))
    return 0


def _trim(text: str) -> str:
    """pstats output without the preamble and with paths shortened to the package."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip().startswith("ncalls")), 0)
    keep = []
    for ln in lines[start:]:
        if not ln.strip():
            continue
        for pre in (str(ROOT) + "/", sys.prefix + "/lib/python3.11/site-packages/", sys.base_prefix + "/lib/python3.11/"):
            ln = ln.replace(pre, "")
        keep.append(ln.rstrip())
    return "\n".join(keep)


if __name__ == "__main__":
    sys.exit(main())
