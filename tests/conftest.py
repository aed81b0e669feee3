"""Shared fixtures. Keep small; add yours below."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # running without an installed package
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def fake_graph(monkeypatch):
    """Factory: ``fake_graph(tenant, **FakeGraph options)`` starts a fake Graph over HTTPS, points
    REQUESTS_CA_BUNDLE at its CA, and stops it after the test."""
    from reportgen.testing.fakegraph import FakeGraph

    started = []

    def start(tenant, **kw):
        fg = FakeGraph(tenant, **kw)
        fg.start()
        started.append(fg)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fg.ca_bundle_path)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        return fg

    yield start
    for fg in started:
        fg.stop()
