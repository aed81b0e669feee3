"""The CSV, OSCAL and HTML outputs of a real demo batch: present, in the manifest, verified, valid,
the same bytes on re-render, and portfolio.html beside portfolio.xlsx."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from reportgen.package import verify
from reportgen.render.findings_csv import HEADER
from tests.oscal_schema import errors, shared_dir
from tests.test_e2e import PERIOD, SLUGS, cli

NEW = ("findings.csv", "oscal-ar.json", "oscal-poam.json", "mfa-compliance.html")


def test_every_client_has_the_new_outputs_in_its_manifest(demo_run: Path):
    assert (demo_run / "portfolio.html").is_file()
    html = (demo_run / "portfolio.html").read_text(encoding="utf-8")
    for slug in SLUGS:
        folder = demo_run / slug
        listed = {f["path"] for f in json.loads((folder / "manifest.json").read_text())["files"]}
        for suffix in NEW:
            name = f"{slug}-{PERIOD}-{suffix}"
            assert (folder / name).is_file() and name in listed, name
            assert f'href="{slug}/{name}"' in html or suffix != "mfa-compliance.html"
        assert verify(folder) == []


def test_csv_rows_match_results(demo_run: Path):
    for slug in SLUGS:
        doc = json.loads((demo_run / slug / "results.json").read_text())
        raw = (demo_run / slug / f"{slug}-{PERIOD}-findings.csv").read_bytes()
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        assert tuple(rows[0]) == HEADER
        expected = sum(max(1, len(c["affected"])) for c in doc["checks"] if c["status"] in ("fail", "warn", "excepted"))
        assert len(rows) - 1 == expected, slug


@pytest.mark.skipif(not (shared_dir() / "oscal").is_dir(), reason="shared/oscal not found")
def test_oscal_of_every_demo_client_validates(demo_run: Path):
    for slug in SLUGS:
        ar = json.loads((demo_run / slug / f"{slug}-{PERIOD}-oscal-ar.json").read_text())
        poam = json.loads((demo_run / slug / f"{slug}-{PERIOD}-oscal-poam.json").read_text())
        assert errors("ar", ar) == [], slug
        assert errors("poam", poam) == [], slug
        manifest = {f["path"]: f["sha256"] for f in json.loads((demo_run / slug / "manifest.json").read_text())["files"]}
        for resource in ar["assessment-results"].get("back-matter", {}).get("resources", []):
            for link in resource.get("rlinks", []):
                assert link["hashes"][0]["value"] == manifest[link["href"]], link["href"]


def test_new_outputs_re_render_byte_identical(demo_run: Path, tmp_path: Path):
    slug = "harbor-federal-cu"
    r = cli("render", "--evidence", str(demo_run / slug), "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    for suffix in NEW:
        name = f"{slug}-{PERIOD}-{suffix}"
        assert (tmp_path / PERIOD / slug / name).read_bytes() == (demo_run / slug / name).read_bytes(), name


def test_csv_and_oscal_show_the_figures_of_results_json(demo_run: Path):
    """The same open findings, by the same (effective) severities, as the view model's summary."""
    for slug in SLUGS:
        summary = json.loads((demo_run / slug / "results.json").read_text())["summary"]
        raw = (demo_run / slug / f"{slug}-{PERIOD}-findings.csv").read_bytes().decode("utf-8-sig")
        rows = [dict(zip(HEADER, r)) for r in list(csv.reader(io.StringIO(raw, newline="")))[1:]]
        by_severity: dict[str, set[str]] = {}
        for r in rows:
            if r["status"] in ("Fail", "Warning"):
                by_severity.setdefault(r["severity"].lower(), set()).add(r["check_id"])
        assert {k: len(by_severity.get(k, ())) for k in summary["open"]} == summary["open"], slug
        ar = json.loads((demo_run / slug / f"{slug}-{PERIOD}-oscal-ar.json").read_text())
        findings = ar["assessment-results"]["results"][0].get("findings", [])
        assert len(findings) == summary["open_findings"], slug
