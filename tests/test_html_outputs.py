"""The HTML report and portfolio.html without a browser: self-contained, escaped, stable."""
from __future__ import annotations

import base64
import copy
import hashlib
import re
from html import unescape

from reportgen.render import RenderOptions, output
from reportgen.render.html import CSP, inline_images, report_html
from reportgen.render.portfolio_html import portfolio_html
from tests.sample_report import HOSTILE, sample_report_data
from tests.test_browser import PORTFOLIO

# what a browser would fetch: src/href of resources, url() in styles, @import
_LOADS = re.compile(r'<(?:img|script|iframe|embed|source|video|audio|object)\b[^>]*\b(?:src|data)="(?!data:)[^"]+"'
                    r'|<link\b[^>]*rel="(?:stylesheet|icon|preload|prefetch)[^>]*>|url\((?!data:)[^)]+\)|@import',
                    re.IGNORECASE)


def test_report_html_is_self_contained(tmp_path):
    html = report_html(sample_report_data())
    assert _LOADS.findall(html) == []
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html
    assert "<script" not in html.lower()
    assert "@font-face" in html and "url(data:font/ttf;base64," in html
    assert 'src="data:image/svg+xml;base64,' in html          # the firm's logo
    # the hostile client name is escaped, never markup
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_file_image_outside_the_allowed_ones_is_dropped(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG....")
    logo = tmp_path / "logo.svg"
    logo.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    html = f'<img src="{secret.as_uri()}"><img src="{logo.as_uri()}"><img src="file://remote/{logo}">'
    out = inline_images(html, [logo])
    assert out.count('src=""') == 2 and out.count("data:image/svg+xml;base64,") == 1


def test_same_data_same_bytes_and_a_size_bound(tmp_path):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    output("html").render(sample_report_data(), a, RenderOptions())
    output("html").render(sample_report_data(), b, RenderOptions())
    assert a.read_bytes() == b.read_bytes()
    assert a.stat().st_size < 1_500_000          # subset fonts: the four full fonts alone are 3.2 MB in base64


def test_portfolio_escapes_and_allows_only_its_script():
    html = portfolio_html(copy.deepcopy(PORTFOLIO), "2026-11", "2026-12-01T06:00:00Z")
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    scripts = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    assert f"script-src 'sha256-{digest}'" in policy and "default-src 'none'" in policy
    assert _LOADS.findall(html) == []
    assert 'href="alpha-bank/alpha-bank-2026-11-mfa-compliance.pdf"' in html
    assert portfolio_html(copy.deepcopy(PORTFOLIO), "2026-11", "2026-12-01T06:00:00Z") == html


def test_portfolio_survives_odd_entries():
    rows = [{"slug": "x", "status": "ok", "open": "junk", "not_evaluated": None, "mfa_registered_pct": True,
             "phase2": 7, "overdue": "3", "direction": "sideways"}, "not a dict", {}]
    html = portfolio_html(rows, "2026-11", "2026-12-01T06:00:00Z")
    assert "x/x-2026-11-mfa-compliance.html" in html and "sideways" not in html
