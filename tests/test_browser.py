"""The HTML report and portfolio.html in a real headless Chromium: what renders, what runs, and
that no request leaves the file. Screenshots go to $REPORTGEN_SCREENSHOTS when it is set."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from reportgen.render import RenderOptions, output
from reportgen.render.html import source_html
from reportgen.render.portfolio_html import render_portfolio_html
from tests.browser import NARROW, WIDE, chromium, needs_browser
from tests.sample_report import HOSTILE, sample_report_data

pytestmark = needs_browser
ROOT = Path(__file__).resolve().parent.parent

PORTFOLIO = [
    {"slug": "alpha-bank", "name": "Alpha Bank", "institution_type": "bank", "status": "ok", "phase1": "ready",
     "phase2": "not_ready", "mfa_registered_pct": 91.5, "open": {"critical": 2, "high": 1, "medium": 0, "low": 0},
     "not_evaluated": {"critical": 0, "high": 0, "medium": 0, "low": 0}, "collection_status": "complete",
     "review_state": "final", "overdue": 0, "direction": "improving"},
    {"slug": "beta-cu", "name": "Beta Credit Union", "institution_type": "credit_union", "status": "ok",
     "phase1": "ready", "phase2": "ready", "mfa_registered_pct": 99.0,
     "open": {"critical": 0, "high": 0, "medium": 3, "low": 1},
     "not_evaluated": {"critical": 0, "high": 1, "medium": 0, "low": 0}, "collection_status": "partial",
     "review_state": "draft", "overdue": 3, "direction": "worsening"},
    {"slug": "gamma-lending", "name": "Gamma " + HOSTILE, "institution_type": "nonbank", "status": "ok",
     "phase1": "at_risk", "phase2": "at_risk", "mfa_registered_pct": 70.0,
     "open": {"critical": 5, "high": 0, "medium": 0, "low": 0},
     "not_evaluated": {"critical": 0, "high": 0, "medium": 0, "low": 0}, "collection_status": "complete",
     "review_state": "draft", "overdue": 1, "direction": "steady"},
    {"slug": "delta-bank", "name": "Delta Bank", "institution_type": "bank", "status": "failed",
     "error": "collection failed: " + HOSTILE},
]


def test_the_detector_sees_an_external_request(tmp_path):
    """The control: a page that does load something is caught, so 'none' below means none."""
    page = tmp_path / "leak.html"
    page.write_text('<!DOCTYPE html><html><body><img src="https://example.invalid/pixel.png">'
                    '<link rel="stylesheet" href="http://example.invalid/x.css"></body></html>')
    with chromium() as b:
        b.open(page)
        assert any("example.invalid" in u for u in b.external_requests())


def _client_report(tmp_path: Path, draft: bool = False) -> Path:
    data = sample_report_data()
    path = tmp_path / output("html").filename("first-example-bank", "2026-11")
    output("html").render(data, path, RenderOptions())
    return path


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["wide", "narrow"])
def test_client_report_renders_offline(tmp_path, size):
    page = _client_report(tmp_path)
    with chromium(size) as b:
        b.open(page)
        assert b.external_requests() == []
        assert b.csp_refusals() == []
        # the hostile name is text: no script element, no injected image, the text shown as typed
        assert b.js("return document.scripts.length") == 0
        assert b.js("return document.querySelectorAll('img[src^=\"file:\"], img[src^=\"http\"]').length") == 0
        assert HOSTILE in b.js("return document.querySelector('.cover-client').textContent")
        # the same sections as the PDF, in the same order
        ids = b.js("return Array.from(document.querySelectorAll('h1[id]')).map(h => h.id)")
        pdf_ids = re.findall(r'<h1 id="([^"]+)"', source_html(sample_report_data(), 25))
        assert ids == pdf_ids and {"summary", "findings", "controls", "evidence"} <= set(ids)
        assert b.js("return document.fonts.check('12px \"Report Sans\"')")
        assert b.js("return getComputedStyle(document.querySelector('.runhead')).display") == "none"
        # the firm's logo arrived as an image that decoded
        assert b.js("var i = document.querySelector('.cover-brand img'); return i.complete && i.naturalWidth > 0")
        assert not b.overflows_horizontally(), "the page scrolls sideways"
        shot = b.screenshot(f"client-report-{'wide' if size == WIDE else 'narrow'}")
        assert shot.stat().st_size > 10_000


def _portfolio(tmp_path: Path) -> Path:
    path = tmp_path / "2026-11" / "portfolio.html"
    render_portfolio_html(copy.deepcopy(PORTFOLIO), path, "2026-11", "2026-12-01T06:00:00Z")
    return path


def _names(b) -> list[str]:
    return b.js("return Array.from(document.querySelectorAll('#portfolio tbody tr')).filter(r => !r.hidden)"
                ".map(r => r.querySelector('.slug').textContent.split(' ')[0])")


def test_portfolio_sorts_and_filters(tmp_path):
    from selenium.webdriver.common.by import By
    page = _portfolio(tmp_path)
    with chromium() as b:
        b.open(page)
        assert b.external_requests() == [] and b.csp_refusals() == []
        # default order: phase 2 worst first, then most critical findings
        assert _names(b) == ["alpha-bank", "gamma-lending", "beta-cu", "delta-bank"]
        critical = b.driver.find_element(By.CSS_SELECTOR, 'th[data-key="critical"] button')
        critical.click()
        assert _names(b) == ["delta-bank", "beta-cu", "alpha-bank", "gamma-lending"]   # a failed run (no count) first
        critical.click()
        assert _names(b)[0] == "gamma-lending"
        assert b.js("return document.querySelector('th[data-key=\"critical\"]').getAttribute('aria-sort')") == "descending"
        b.driver.find_element(By.CSS_SELECTOR, 'th[data-key="name"] button').click()
        assert _names(b) == ["alpha-bank", "beta-cu", "delta-bank", "gamma-lending"]
        b.driver.find_element(By.ID, "overdue").click()
        assert _names(b) == ["beta-cu", "gamma-lending"]
        assert b.driver.find_element(By.ID, "shown").text == "2 of 4 shown"
        b.driver.find_element(By.ID, "overdue").click()
        b.driver.find_element(By.ID, "q").send_keys("GAMMA")
        assert _names(b) == ["gamma-lending"]
        b.driver.find_element(By.ID, "q").clear()
        b.driver.find_element(By.ID, "q").send_keys("<script>")       # searching the hostile text finds it as text
        assert _names(b) == ["gamma-lending"]
        b.js("document.getElementById('q').value=''; document.getElementById('q').dispatchEvent(new Event('input'))")
        b.driver.find_element(By.ID, "failed").click()
        assert _names(b) == ["delta-bank"]
        b.driver.find_element(By.ID, "failed").click()
        from selenium.webdriver.support.ui import Select
        Select(b.driver.find_element(By.ID, "phase2")).select_by_value("ready")
        assert _names(b) == ["beta-cu"]
        # the hostile name and error are text; only the page's own script exists
        assert b.js("return document.scripts.length") == 1
        assert b.js("return document.querySelectorAll('tbody img').length") == 0
        links = b.js("return Array.from(document.querySelectorAll('td.links a')).map(a => a.getAttribute('href'))")
        assert "alpha-bank/alpha-bank-2026-11-mfa-compliance.html" in links
        assert "alpha-bank/alpha-bank-2026-11-mfa-compliance.pdf" in links
        assert not any("delta-bank" in h for h in links)
        assert b.external_requests() == [] and b.csp_refusals() == []


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["wide", "narrow"])
def test_portfolio_screenshots(tmp_path, size):
    page = _portfolio(tmp_path)
    with chromium(size) as b:
        b.open(page)
        assert not b.overflows_horizontally(), "the page scrolls sideways"
        assert b.csp_refusals() == []
        b.screenshot(f"portfolio-{'wide' if size == WIDE else 'narrow'}")


def test_a_tampered_script_is_refused(tmp_path):
    """The CSP names the script's hash: an edited script (or an injected one) does not run."""
    page = _portfolio(tmp_path)
    html = page.read_text(encoding="utf-8").replace('"use strict";', '"use strict"; ', 1)
    page.write_text(html, encoding="utf-8")
    with chromium() as b:
        b.open(page)
        assert b.csp_refusals(), "the edited script ran"
        assert b.js("return document.documentElement.classList.contains('js')") is False
