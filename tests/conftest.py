"""Shared fixtures. Keep small; add yours below."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


DEMO_PERIOD = "2026-11"
# The session's demo run is pinned to the moment the session started (still the real clock), so a test
# can produce the same reports again and compare bytes.
DEMO_EPOCH = str(int(time.time()))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """The bundled demo institutions, produced once per session through the real CLI: the period folder."""
    out = tmp_path_factory.mktemp("out")
    r = subprocess.run([sys.executable, "-m", "reportgen.cli", "run", "--period", DEMO_PERIOD, "--out", str(out),
                        "--jobs", "2"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": DEMO_EPOCH})
    assert r.returncode == 0, r.stderr
    return out / DEMO_PERIOD


@pytest.fixture
def procs():
    """Batches a test started in their own process groups; whatever of them is left is killed at the
    end, pass or fail."""
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
