"""Throughput against the fixed reference document, both measured in the same run.

    python bench/throughput.py [--tenants 30] [--jobs 1,2] [--repeat 3] [--write]

1. The reference (``bench/reference.py``): median of ``--repeat`` warm WeasyPrint renders, timed
   before and after everything else (the median of both is used, so load that changes during the
   run shows in the spread).
2. One typical tenant's whole run, warm, as a batch worker runs it (``pipeline.run_client``: demo
   collection, evaluation, PDF, workbook, every other registered output, manifest): median of
   ``--repeat``. Its ratio to the reference is the figure issue 23 targets (≤ 1.6).
3. The bench mix (``bench/run.py``: 88 % typical) through the real CLI at each ``--jobs``: tenants per
   minute, and seconds per tenant-core (wall × jobs / tenants) divided by the reference.

``--write`` puts the table at the end of bench/RESULTS.md's "Throughput against the reference document"
section as "Latest run" (replacing an earlier latest run, keeping the history above it).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work" / "throughput"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.reference import time_reference  # noqa: E402

PERIOD = "2026-11"
HEADING = "## Throughput against the reference document"
LATEST = "### Latest run"       # what --write replaces; the history above it is kept by hand


def whole_run(repeat: int) -> dict:
    """Median seconds of one typical demo tenant's whole client run in a warm process."""
    import yaml

    from reportgen.batch import warm
    from reportgen.cli.common import load_config
    from reportgen.pipeline import job_for, run_client

    cfg_path = WORK / "one.yaml"
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text(yaml.safe_dump({
        "firm": {"name": "Bench Security Partners", "primary_color": "#0B3D91", "accent_color": "#F2A900",
                 "contact": "bench@example.com", "disclaimer": ""},
        "defaults": {"lookback_days": 30},
        "clients": [{"slug": "bench-typical", "name": "Bench Community Bank", "institution_type": "bank",
                     "source": "demo", "demo_profile": "typical"}]}))
    cfg = load_config(cfg_path)
    catalogs = warm()                       # as a batch worker does: outputs and catalogs loaded once
    times, pages = [], None
    for i in range(repeat + 1):             # the first run warms what warm() does not
        out = WORK / f"one-{i}"
        shutil.rmtree(out, ignore_errors=True)
        job = job_for(cfg, cfg.clients[0], PERIOD, out)
        t = time.perf_counter()
        run_client(job, catalogs=catalogs)
        if i:
            times.append(time.perf_counter() - t)
        if pages is None:
            from pypdf import PdfReader
            pdf = next(job.final_dir.glob("*.pdf"))
            pages = len(PdfReader(str(pdf)).pages)
    return {"whole_s": round(statistics.median(times), 3), "all_s": [round(t, 3) for t in times], "pages": pages}


def batches(tenants: int, jobs: list[int]) -> list[dict]:
    from bench.run import _one_batch
    return [_one_batch(tenants, j, PERIOD) for j in jobs]


def table(ref: dict, one: dict, runs: list[dict], ref_s: float) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [LATEST, "",
             f"Measured by `python bench/throughput.py` on {now}, load average {os.getloadavg()[0]:.2f} at the end. "
             f"Reference: `bench/reference.py`, {ref['pages']} Letter pages, warm WeasyPrint render, "
             f"median {ref_s:.2f} s (before: {ref['before']}, after: {ref['after']}).", "",
             "| measure | seconds | × reference | target |", "|---|---|---|---|",
             f"| one typical tenant, whole run, warm ({one['pages']}-page PDF) | {one['whole_s']:.2f} | "
             f"{one['whole_s'] / ref_s:.2f} | ≤ 1.6 |"]
    for r in runs:
        per_core = r["wall_s"] * r["jobs"] / r["tenants"]
        lines.append(f"| bench mix, {r['tenants']} tenants, `--jobs {r['jobs']}`: {r['tenants_per_min']} tenants/min "
                     f"(load {r['load']}) | {per_core:.2f} per tenant-core | {per_core / ref_s:.2f} | |")
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Put ``text`` (the latest run) at the end of the throughput section, replacing an earlier latest run
    and keeping the curated history before it."""
    path = BENCH / "RESULTS.md"
    doc = path.read_text() if path.is_file() else "# reportgen benchmark results\n"
    if HEADING not in doc:
        doc = doc.rstrip("\n") + f"\n\n{HEADING}\n"
    head, _, rest = doc.partition(HEADING)
    nxt = rest.find("\n## ")
    section, after = (rest[:nxt + 1], rest[nxt + 1:]) if nxt >= 0 else (rest, "")
    section = section.split(LATEST)[0].rstrip("\n") + "\n\n" + text
    path.write_text(head + HEADING + section + ("\n" + after if after else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=30)
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    before = time_reference(args.repeat)
    one = whole_run(args.repeat)
    runs = batches(args.tenants, [int(j) for j in args.jobs.split(",") if j]) if args.tenants else []
    after = time_reference(args.repeat)
    ref = {"pages": before["pages"], "before": before["reference_s"], "after": after["reference_s"]}
    ref_s = statistics.median(before["all_s"] + after["all_s"])
    text = table(ref, one, runs, ref_s)
    print(text)
    if args.write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
