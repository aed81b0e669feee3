"""What the report PDF costs beyond WeasyPrint's own work on the same HTML, in a warm process.

    python bench/pdf_ratio.py RESULT.json [--users 500,5000] [--repeat 5] [--profile PROF.txt]

For each tenant size: a demo tenant (``typical`` profile, that many users) is evaluated once; the
process renders once of each kind to warm up, then alternates ``--repeat`` times:

- reportgen: ``render.pdf.render`` (what the batch runs: template, context, WeasyPrint with PDF/A-3b,
  tags and the two attachments, the atomic write), split into template + context, layout
  (``HTML.render``) and PDF writing (``Document.write_pdf`` and the write to disk);
- WeasyPrint: ``HTML(string=same_html).write_pdf()`` with its defaults, no file written.

Medians go to RESULT.json; the ratio is reportgen / WeasyPrint. ``--profile``: cProfile of one more
warm reportgen render of the first size.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PERIOD = "2026-11"
FIRM = {"name": "Bench Security Partners", "logo": None, "primary_color": "#0B3D91", "accent_color": "#F2A900",
        "contact": "bench@example.com", "disclaimer": ""}


def report_data(users: int, work: Path):
    """ReportData of a demo tenant of ``users`` users, as the pipeline builds it before rendering."""
    from reportgen.batch import warm
    from reportgen.cli.common import config_vocabulary
    from reportgen.collect import demo
    from reportgen.config import Client, Defaults
    from reportgen.evidence import EvidenceWriter
    from reportgen.package import file_index
    from reportgen.pipeline import Job, evaluate
    folder = work / f"u{users}"
    tenant = demo.build_tenant("typical", f"bench-{users}", PERIOD, users=users)
    demo.write_evidence(tenant, EvidenceWriter(folder / "evidence"), lookback_days=30,
                        collected_at=demo.collection_time(PERIOD))
    client = Client.model_validate({"slug": f"bench-{users}", "name": f"Bench Bank {users}",
                                    "institution_type": "bank", "source": "demo", "demo_profile": "typical"},
                                   context=config_vocabulary())
    job = Job(client=client, firm=FIRM, defaults=Defaults().model_dump(), period=PERIOD, out_root=work)
    data = evaluate(job, folder, warm())
    data.evidence_index = [f for f in file_index(folder) if f["path"].startswith("evidence/")]
    return data


def measure(users: int, repeat: int, work: Path) -> dict:
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import path2url

    from reportgen.package import dumps, write_bytes
    from reportgen.paths import TEMPLATE_DIR
    from reportgen.render import RenderOptions, pdf

    data = report_data(users, work)
    out = work / f"report-{users}.pdf"
    options = RenderOptions()
    attachments = [("results.json", dumps(data.results.to_json()), "Machine-readable results (schema_version 1)"),
                   ("evidence-index.json", dumps({"files": data.evidence_index}), "Evidence files with SHA-256 hashes")]
    html = pdf.render_html(data, max_rows=options.max_rows, attachments=attachments)
    base = path2url(str(TEMPLATE_DIR) + os.sep)

    def reportgen() -> float:
        t = time.perf_counter()
        pdf.render(data, out, options)
        return time.perf_counter() - t

    def weasyprint() -> float:
        t = time.perf_counter()
        HTML(string=html, base_url=base).write_pdf()
        return time.perf_counter() - t

    def stages() -> dict[str, float]:
        """The same work as reportgen() in its three parts (render_pdf_bytes' steps, timed apart)."""
        from weasyprint import Attachment
        t0 = time.perf_counter()
        page = pdf.render_html(data, max_rows=options.max_rows, attachments=attachments)
        fetcher = pdf.AssetOnlyFetcher(extra_files=[])
        moment = pdf._document_time(data)
        files = [Attachment(string=bytes(c), url_fetcher=fetcher, base_url=None, name=n, description=d,
                            created=moment, modified=moment, relationship="Data") for n, c, d in attachments]
        t1 = time.perf_counter()
        font_config = FontConfiguration()
        doc = HTML(string=page, base_url=base, url_fetcher=fetcher).render(
            font_config=font_config, pdf_variant="pdf/a-3b", attachments=files, uncompressed_pdf=False, pdf_tags=True)
        t2 = time.perf_counter()
        body = doc.write_pdf(pdf_variant="pdf/a-3b", attachments=files, uncompressed_pdf=False, pdf_tags=True)
        write_bytes(out, body)
        t3 = time.perf_counter()
        return {"template": t1 - t0, "layout": t2 - t1, "pdf_write": t3 - t2, "pages": len(doc.pages)}

    reportgen(), weasyprint()   # warm: imports, fonts, compiled templates, caches
    a, b, parts = [], [], []
    for _ in range(repeat):
        a.append(reportgen())
        b.append(weasyprint())
        parts.append(stages())
    med = {k: statistics.median(p[k] for p in parts) for k in ("template", "layout", "pdf_write")}
    return {"users": users, "repeat": repeat, "reportgen_s": round(statistics.median(a), 3),
            "weasyprint_s": round(statistics.median(b), 3),
            "ratio": round(statistics.median(a) / statistics.median(b), 3),
            "pages": parts[0]["pages"], "pdf_bytes": out.stat().st_size, "html_chars": len(html),
            "stages_s": {k: round(v, 3) for k, v in med.items()},
            "all_reportgen_s": [round(x, 3) for x in a], "all_weasyprint_s": [round(x, 3) for x in b]}


def profile(users: int, work: Path) -> str:
    from reportgen.render import RenderOptions, pdf
    data = report_data(users, work)
    out = work / "profiled.pdf"
    pdf.render(data, out, RenderOptions())   # warm
    prof = cProfile.Profile()
    prof.enable()
    pdf.render(data, out, RenderOptions())
    prof.disable()
    text = []
    for key, title in (("cumulative", "top 25 by cumulative time"), ("tottime", "top 20 by own time")):
        s = io.StringIO()
        st = pstats.Stats(prof, stream=s)
        st.sort_stats(key).print_stats(25 if key == "cumulative" else 20)
        body = s.getvalue()
        body = body[body.index("   ncalls"):] if "   ncalls" in body else body
        text.append(f"--- {title} ---\n" + body.replace(str(ROOT) + os.sep, "").replace(sys.prefix + os.sep, ""))
    return f"warm reportgen PDF of the {users:,}-user demo tenant under cProfile\n" + "\n".join(text)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("result")
    ap.add_argument("--users", default="500,5000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile")
    args = ap.parse_args()
    sizes = [int(x) for x in args.users.split(",") if x.strip()]
    with tempfile.TemporaryDirectory(prefix="reportgen-pdf-ratio-") as tmp:
        work = Path(tmp)
        rows = [measure(n, args.repeat, work) for n in sizes]
        if args.profile:
            Path(args.profile).write_text(profile(sizes[0], work))
    Path(args.result).write_text(json.dumps({"sizes": rows}, indent=2))
    for r in rows:
        print(f"  PDF {r['users']:,} users ({r['pages']} pages): reportgen {r['reportgen_s']} s, "
              f"WeasyPrint {r['weasyprint_s']} s, ratio {r['ratio']}; stages {r['stages_s']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
