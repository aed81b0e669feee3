"""PDF renderer: content, safety (escaping, fetcher), PDF/A-3b, attachments, reproducibility, bounds."""
from __future__ import annotations

import dataclasses
import io
import re
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("weasyprint")

from sample_report import sample_report_data  # noqa: E402

from reportgen.render import pdf as pdfmod  # noqa: E402
from reportgen.render.pdf import ASSETS_DIR, AssetOnlyFetcher, FetchRefused, render_html, render_pdf, render_pdf_bytes, safe_color  # noqa: E402

ATTACHMENTS = [("results.json", b'{"schema_version": 1}', "Machine-readable results"),
               ("first-example-bank-2026-11-mfa-compliance.xlsx", b"PK\x03\x04 not really a workbook",
                "Workbook with the full lists")]


def _text(reader) -> str:
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    text = text.replace("\x00", "")     # pypdf interleaves NULs when a fallback CID font is present
    return re.sub(r"[ \t]+", " ", text)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("pdf") / "report.pdf"
    render_pdf(sample_report_data(), out, attachments=ATTACHMENTS)
    reader = pypdf.PdfReader(str(out))
    return out, reader, _text(reader)


def test_key_facts_present(rendered):
    _, reader, text = rendered
    assert len(reader.pages) >= 8
    assert "First Example Bank, N.A." in text
    assert "Page 1 of" in text
    assert "Executive summary" in text
    assert "Ready" in text and "Not ready" in text          # readiness badges
    assert "Incomplete assessment" in text and "tenant has no Entra ID P1 licence" in text
    assert "Title of MMFA-02" in text                       # a finding title
    assert "Why it matters" in text and "Step one. Step two." in text
    assert "80.0%" in text
    assert "1 December 2026" in text                        # prepared-on = generated_at date
    assert "Example Security Partners" in text


def test_seed_article_points_visible(rendered):
    _, _, text = rendered
    flat = _flat(text)
    for phrase in ["October 2024", "Azure portal", "Entra admin center", "Intune admin center",
                   "Microsoft 365 admin center", "February 2025", "1 October 2025", "1 September 2025",
                   "Azure CLI", "Azure PowerShell", "Azure mobile app", "REST API", "SDKs", "IaC",
                   "Read-only operations are not in scope", "Global Administrators", "MC862873", "MC1143999",
                   "4V20-VX0", "1 July 2026", "99.2%", "FIDO2", "certificate-based", "at least two",
                   "Microsoft advises excluding them", "see no change", "service principals", "managed identities",
                   "faster"]:
        assert _flat(phrase) in flat, phrase
    # the client's own facts
    assert "ga2@bank.example" in flat
    assert "svc-deploy@bank.example" in flat
    assert "noattestation" in flat


def test_hostile_strings_are_text(rendered):
    _, _, text = rendered
    flat = _flat(text)
    assert "=HYPERLINK(" in text
    assert _flat('<img src="file:///etc/passwd">') in flat
    assert "<script>alert(1)</script>" in flat
    assert "root:x:0:0" not in text


def test_html_escapes_everything():
    html = render_html(sample_report_data())
    assert "<script>" not in html
    assert '<img src="file:///etc/passwd">' not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html


def test_pdfa_3b_metadata(rendered):
    _, reader, _ = rendered
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r"pdfaid:part(=\"|>)3", xmp)
    assert re.search(r"pdfaid:conformance(=\"|>)B", xmp)
    info = reader.metadata
    assert info.title.endswith("— MFA compliance report 2026-11")
    assert info.title.startswith("First Example Bank, N.A.")
    assert info.author == "Example Security Partners"
    assert info.subject
    assert info.creator.startswith("reportgen")
    assert str(info["/CreationDate"]).startswith("D:20261201060000")
    assert str(info["/ModDate"]).startswith("D:20261201060000")


def test_attachments_round_trip(rendered):
    _, reader, _ = rendered
    files = reader.attachments
    assert set(files) == {name for name, _, _ in ATTACHMENTS}
    for name, content, _ in ATTACHMENTS:
        assert files[name] == [content]


def test_bookmarks(rendered):
    _, reader, _ = rendered
    outline = reader.outline
    assert outline
    titles = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)
    walk(outline)
    for expected in ("Executive summary", "Findings", "Control matrix", "Appendix: evidence index"):
        assert expected in titles


def test_file_written_atomically_with_mode_0600(rendered):
    out, _, _ = rendered
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["report.pdf"]     # no temp file left behind


def test_byte_identical_and_only_allowed_resources(rendered):
    """A second render of equal data gives the same bytes, and loads only bundled assets and the logo."""
    out, _, _ = rendered
    data = sample_report_data()
    fetcher = AssetOnlyFetcher(extra_files=[data.firm.logo])
    again = render_pdf_bytes(data, attachments=ATTACHMENTS, fetcher=fetcher)
    assert again == out.read_bytes()
    assert fetcher.refused == []
    assert any(u.endswith("report.css") for u in fetcher.served)
    assert any(u.endswith(".ttf") for u in fetcher.served)
    assert any(u.endswith("logo.svg") for u in fetcher.served)


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "https://example.com/x.png",
    "ftp://example.com/x",
    "file://" + str(ASSETS_DIR) + "/../report.html.j2",
    "file://" + str(ASSETS_DIR) + "/%2e%2e/report.html.j2",
    "javascript:alert(1)",
])
def test_fetcher_refuses(url):
    fetcher = AssetOnlyFetcher()
    with pytest.raises(FetchRefused):
        fetcher(url)
    assert fetcher.refused == [url]
    assert fetcher.served == []


def test_fetcher_serves_assets_logo_and_data(tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    fetcher = AssetOnlyFetcher(extra_files=[logo])
    assert fetcher("file://" + str(ASSETS_DIR / "report.css")).read().startswith(b"/*")
    assert fetcher("file://" + str(logo)).content_type == "image/svg+xml"
    assert fetcher("data:text/plain;base64,aGk=").read() == b"hi"
    other = tmp_path / "other.svg"
    other.write_text("<svg/>")
    with pytest.raises(FetchRefused):
        fetcher("file://" + str(other))


def test_symlink_out_of_assets_refused(tmp_path):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "evil.css").symlink_to("/etc/passwd")
    fetcher = AssetOnlyFetcher(assets_dir=assets)
    with pytest.raises(FetchRefused):
        fetcher("file://" + str(assets / "evil.css"))


def test_markup_reaching_weasyprint_fetches_nothing():
    """Second line of defence: even raw markup (if escaping ever failed) cannot load a file."""
    from weasyprint import HTML
    fetcher = AssetOnlyFetcher()
    html = ('<p>x</p><img src="file:///etc/passwd"><img src="http://169.254.169.254/latest">'
            '<link rel="attachment" href="file:///etc/passwd"><a rel="attachment" href="file:///etc/hostname">a</a>'
            '<link rel="stylesheet" href="file:///etc/passwd">')
    out = HTML(string=html, url_fetcher=fetcher).write_pdf(pdf_variant="pdf/a-3b")
    assert fetcher.served == []
    assert "file:///etc/passwd" in fetcher.refused
    assert any(u.startswith("http://169.254.169.254") for u in fetcher.refused)
    assert not pypdf.PdfReader(io.BytesIO(out)).attachments


def test_colours_cannot_inject_css():
    assert safe_color("#0b3d91", "#000000") == "#0B3D91"
    for bad in ["red", "#FFF", "#0B3D91; } body { display:none", "#0B3D91\n", "url(file:///etc/passwd)", None, 3]:
        assert safe_color(bad, "#123456") == "#123456"
    data = sample_report_data()
    data.firm = dataclasses.replace(data.firm, primary_color="#000000;}*{background:url(http://x/)}")
    html = render_html(data)
    assert "url(http://x/)" not in html
    assert "--primary: #0B3D91" in html


def test_row_cap_with_5000_users(tmp_path):
    data = sample_report_data(n_users=5000)
    out = tmp_path / "big.pdf"
    render_pdf(data, out)
    text = _text(pypdf.PdfReader(str(out)))
    # MFA-02 lists 1,000 subjects with one detail: one row says so, the workbook lists them
    assert "1,000 like this:" in text
    assert _flat("Every affected account: workbook, sheet Findings") in _flat(text)


def test_hostile_layout_inputs():
    """5,000-character strings without spaces, right-to-left text, emoji, CJK and markup that would
    create an attachment: rendering stays bounded, nothing is fetched or attached, text is shown."""
    data = sample_report_data(hostile=False)
    long = "A" * 5000
    mixed = "שלום עולם مرحبا 😀🔐 中文名字 テスト"
    evil = '<link rel=attachment href="file:///etc/passwd"><a rel=attachment href=file:///etc/hosts>x</a>'
    data.results.client = dataclasses.replace(data.results.client, name=long)
    data.results.checks[2].affected[0].display_name = mixed
    data.results.checks[2].affected[0].detail = long
    data.privileged[0] = dataclasses.replace(data.privileged[0], display_name=evil)
    data.privileged[1] = dataclasses.replace(data.privileged[1], display_name=long, upn=mixed)
    data.policies[0] = dataclasses.replace(data.policies[0], name=long)
    fetcher = AssetOnlyFetcher(extra_files=[data.firm.logo])
    reader = pypdf.PdfReader(io.BytesIO(render_pdf_bytes(data, fetcher=fetcher)))
    assert len(reader.pages) < 40
    text = _text(reader)
    assert "AAAAAAAAAA" in text
    assert _flat("[+4,840 characters, full text in the workbook]") in _flat(text)
    assert "rel=attachment" in _flat(text)
    assert not reader.attachments
    assert fetcher.refused == []          # escaped: never even attempted


def test_missing_optional_data(tmp_path):
    """No trend, no changes, complete collection, no logo: still renders."""
    data = sample_report_data(hostile=False)
    data.trend = None
    data.changes = None
    data.emergency = []
    data.evidence_index = []
    data.results.collection = dataclasses.replace(data.results.collection, status="complete", gaps=[])
    data.firm = dataclasses.replace(data.firm, logo=None)
    out = tmp_path / "min.pdf"
    render_pdf(data, out)
    text = _text(pypdf.PdfReader(str(out)))
    assert "Incomplete assessment" not in text
    assert "Complete assessment" in text


def test_generated_at_required():
    data = sample_report_data()
    data.results.collected_at = "not a date"
    with pytest.raises(ValueError):
        render_html(data)


def test_no_clock_or_randomness_in_module():
    from reportgen.render import pdfcontext, pdftext
    from reportgen.view import build, model, story
    source = "".join(Path(m.__file__).read_text() for m in (pdfmod, pdfcontext, pdftext, build, model, story))
    for forbidden in ("datetime.now", "utcnow", "time.time", "import uuid", "import random", "secrets"):
        assert forbidden not in source


# ---------------------------------------------------------------------------------------------
# What a board member holds: contents, bottom line, glossary, words instead of codes

from pdfpages import read_pages, section_titles  # noqa: E402

from reportgen.render.pdf import ident  # noqa: E402
from reportgen.results import CheckResult  # noqa: E402
from reportgen.view.build import finding, rank, tallies  # noqa: E402
from reportgen.view.story import bottom_line  # noqa: E402
from reportgen.vocab import Readiness, Severity, Status  # noqa: E402


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """A credit union's report from demo data, with values that used to reach the reader raw."""
    data = sample_report_data(hostile=False)
    data.results.client = dataclasses.replace(data.results.client, institution_type="credit_union")
    data.results.collection = dataclasses.replace(data.results.collection, source="demo")
    data.policies[0] = dataclasses.replace(data.policies[0], state="enabledForReportingButNotEnforced")
    data.privileged[0] = dataclasses.replace(data.privileged[0], assignment="active+eligible",
                                             methods=["microsoftAuthenticatorPush", "mobilePhone"],
                                             mfa_policy_apps=["Microsoft admin portals", "Office 365"])
    data.privileged[1] = dataclasses.replace(data.privileged[1], upn="security.officer.long-name@harborfederalcu"
                                                                     ".onmicrosoft.com")
    data.exceptions[0] = dataclasses.replace(data.exceptions[0], id="EXC-2026-001", expires_on="2027-01-15")
    out = tmp_path_factory.mktemp("labelled") / "r.pdf"
    render_pdf(data, out)
    return data, out, read_pages(out), _text(pypdf.PdfReader(str(out)))


def test_contents_lists_every_section_with_its_page(labelled):
    _, out, pages, _ = labelled
    contents = pages[1].text
    assert pages[1].lines[0][2] == "Contents"
    titles = section_titles(out)
    assert titles[:3] == ["Contents", "Board summary", "Executive summary"]
    assert {"Findings", "Control matrix", "Accounts and policies", "Glossary", "Appendix: evidence index"} <= set(titles)
    for title in titles[1:]:
        m = re.search(re.escape(title) + r"\s+(\d+)", contents)
        assert m, title
        target = pages[int(m.group(1)) - 1]          # short sections follow on: the title is on that page
        assert any(t.startswith(title[:25]) for _, _, t in target.lines), (title, target.number, target.text[:300])
    assert "Exceptions register" in contents and "Privileged users" in contents     # sub-sections


def test_glossary_and_how_to_read(labelled):
    text = _flat(labelled[3])
    for term in ("Conditional Access", "FIDO2 security key", "Passkey", "PIM (Privileged Identity Management)",
                 "Phishing-resistant MFA", "Security defaults", "Report-only mode", "Emergency access (break-glass)"):
        assert _flat(term) in text, term
    assert _flat("Rating method") in text and _flat("never counted as passed") in text


def _view(cid, status, severity, title="T"):
    return finding(CheckResult(id=cid, title=title, severity=Severity(severity), status=Status(status), reason=""))


@pytest.mark.parametrize("views, p1, p2, expect", [
    ([_view("EA-04", "fail", "critical", "Emergency access accounts are not excluded"), _view("MFA-01", "fail", "critical"),
      _view("MFA-04", "warn", "high"), _view("LOG-01", "pass", "high")], Readiness.NOT_READY, Readiness.NOT_READY,
     ["is not ready for both phases", "3 open findings of 4 checks (2 critical, 1 high)", "Act first on EA-04",
      "the other 1 critical finding"]),
    ([_view("A", "pass", "critical"), _view("B", "not_evaluated", "critical")], Readiness.UNKNOWN, Readiness.READY,
     ["of unknown readiness for phase 1", "ready for phase 2", "none of the 2 checks is an open finding",
      "1 check could not be evaluated", "close the collection gaps"]),
    ([_view("A", "pass", "critical")], Readiness.READY, Readiness.READY,
     ["is ready for both phases", "No action is needed"]),
])
def test_bottom_line_is_two_sentences_on_where_the_institution_stands(views, p1, p2, expect):
    ranked = rank(views)
    sentences = bottom_line("Harbor Federal Credit Union", p1, p2, ranked, tallies(ranked))
    assert len(sentences) == 2 and all(s.endswith(".") for s in sentences)
    text = " ".join(sentences)
    for phrase in expect:
        assert phrase in text, (phrase, text)
    assert "(s)" not in text


def test_no_codes_or_iso_timestamps_reach_the_reader(labelled):
    data, _, pages, text = labelled
    text = _flat(text)
    # the checks' own sentences are theirs to word; everything else must be words
    for c in data.results.checks:
        for part in [c.reason] + [a.detail for a in c.affected]:
            text = text.replace(_flat(part), "")
    for raw in ("enabledForReportingButNotEnforced", "credit_union", "not_ready", "at_risk", "not_evaluated",
                "proposed_removal", "active+eligible", "microsoftAuthenticatorPush", "mobilePhone", "in_force"):
        assert raw not in text, raw
    cover = pages[0].text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", cover)
    assert "1 December 2026, 06:00 UTC" in cover and "Prepared on" in cover and "Credit union" in cover
    assert "Report-only" in text and "Activeandeligible" in text and "Authenticatorpush" in text
    assert "15Jan2027" in text and "EXC-2026-001" in text


def test_demo_reports_are_marked_as_sample_data(labelled, rendered):
    pages = labelled[2]
    assert "Sample report." in pages[0].text and "synthetic demo tenant" in pages[0].text
    reader = pypdf.PdfReader(str(labelled[1]))
    for page in reader.pages:
        assert "Sample data (synthetic demo tenant)" in page.extract_text()
    assert "Sample" not in rendered[2]                       # a live collection is not marked


def test_kpi_says_what_it_counts(labelled):
    flat = _flat(labelled[3])
    assert _flat("32 of 40 enabled member users (guests not counted) have registered MFA") in flat
    assert _flat("accounts able to sign in, members and guests") in flat


def test_tables_fit_the_page_width():
    """A table whose columns add up to more than the page clips its last header ('Applie')."""
    html = render_html(sample_report_data())
    for group in re.findall(r"<colgroup>(.*?)</colgroup>", html):
        widths = [float(w) for w in re.findall(r"width: ([\d.]+)%", group)]
        assert widths and sum(widths) <= 100.0, group


def test_identifiers_break_only_after_separators(labelled):
    """'harborfederalcu.onmicrosoft.co|m' never again: a UPN that wraps does so after '@', '.' or '-'."""
    data, _, pages, _ = labelled
    assert str(ident("bg-01@x.example")) == "bg-\u200b01@\u200bx.\u200bexample"
    assert str(ident("<b>@x")) == "&lt;b&gt;@\u200bx"
    upns = {p.upn for p in data.privileged} | {a.upn for c in data.results.checks for a in c.affected}
    tokens = [t for p in pages for t in p.text.split()]
    for t in tokens:
        for u in upns:
            if "@" in t and t != u and u.startswith(t):
                assert t[-1] in "@.-_", (t, u)
    assert any(t == "security.officer.long-name@" for t in tokens)     # the long one did wrap, at its '@'
