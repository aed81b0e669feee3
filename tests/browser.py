"""Headless Chromium for the HTML outputs, through Selenium and the system's chromedriver.

Selenium drives Debian's own ``chromium`` with ``chromium-driver`` (same version, both from apt):
nothing is downloaded at run time (Playwright would want its own browser build, and Selenium
Manager is bypassed by naming the driver). The performance log gives the DevTools protocol's
network events, so a test sees every request the page attempted; the browser log gives Content
Security Policy refusals. DNS is mapped to nothing, so even a bug cannot reach the network.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND")
WIDE, NARROW = (1280, 900), (390, 844)      # a laptop, a phone (CSS pixels)
LOCAL_SCHEMES = ("data:", "file:", "about:", "chrome:", "devtools:")


def skip_reason() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} not found (apt-get install {package})"
    return None


needs_browser = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@contextlib.contextmanager
def chromium(size: tuple[int, int] = WIDE) -> Iterator[Browser]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="reportgen-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        browser = Browser(driver, size)
        browser.viewport()
        yield browser
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Browser:
    def __init__(self, driver, size: tuple[int, int]) -> None:
        self.driver = driver
        self.size = size
        self._requests: list[str] = []
        self._console: list[str] = []

    def viewport(self, height: int | None = None) -> None:
        """The window's CSS size (a phone's is narrower than a desktop window can be made)."""
        width = self.size[0]
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height or self.size[1], "deviceScaleFactor": 1, "mobile": width < 600})

    def open(self, path: Path) -> None:
        self.driver.get(Path(path).resolve().as_uri())

    def _drain(self) -> None:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self._requests.append(message["params"]["request"]["url"])
        self._console += [e.get("message", "") for e in self.driver.get_log("browser")]

    def external_requests(self) -> list[str]:
        """Every URL the page asked for that is not inside the file itself (or the file)."""
        self._drain()
        return [u for u in self._requests if not u.startswith(LOCAL_SCHEMES)]

    def csp_refusals(self) -> list[str]:
        self._drain()
        return [m for m in self._console if "Content Security Policy" in m or "Refused to" in m]

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def screenshot(self, name: str) -> Path:
        """A full-page PNG, under $REPORTGEN_SCREENSHOTS when set (to look at), else a temp folder."""
        folder = Path(os.environ.get("REPORTGEN_SCREENSHOTS") or tempfile.gettempdir())
        folder.mkdir(parents=True, exist_ok=True)
        self.viewport(int(self.js("return Math.min(document.documentElement.scrollHeight, 12000)")))
        path = folder / f"{name}.png"
        path.write_bytes(self.driver.get_screenshot_as_png())
        self.viewport()
        return path

    def overflows_horizontally(self) -> bool:
        """The page itself scrolls sideways (a wide table inside its own scroller does not count)."""
        return bool(self.js("return document.documentElement.scrollWidth > window.innerWidth + 1"))
