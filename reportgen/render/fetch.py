"""What WeasyPrint may load while rendering a report: an allow-list, nothing else.

The only resources a report may pull in are ``data:`` URLs, the files bundled under
``templates/assets/`` and a few named files (the firm's and the client's logo). Everything else
(other files, http(s), ftp, redirects) is refused and recorded, so a hostile value that reaches
the HTML cannot make the renderer read the disk or the network.
"""
from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

from reportgen.paths import TEMPLATE_DIR

__all__ = ["ASSETS_DIR", "AssetOnlyFetcher", "FetchRefused"]

ASSETS_DIR = TEMPLATE_DIR / "assets"


class FetchRefused(ValueError):
    """Raised (and recorded) for every URL outside the allow-list."""


class AssetOnlyFetcher(URLFetcher):
    """Serve ``data:`` URLs and regular files inside the bundled assets folder (plus a few named
    files such as the firm logo); refuse everything else: other files, http(s), ftp, redirects.

    ``refused`` lists every refused URL and ``served`` every URL answered, for tests and logs.
    """

    def __init__(self, assets_dir: Path = ASSETS_DIR, extra_files: Iterable[Path] = ()):
        super().__init__(timeout=1, allowed_protocols=("data", "file"), allow_redirects=False,
                         fail_on_errors=False)
        self._assets = Path(os.path.realpath(assets_dir))
        self._files = {Path(os.path.realpath(p)) for p in extra_files if p is not None}
        self.refused: list[str] = []
        self.served: list[str] = []

    def _refuse(self, url: str, why: str) -> FetchRefused:
        self.refused.append(url)
        return FetchRefused(f"refused ({why}): {url[:200]}")

    def _allowed_path(self, path: Path) -> bool:
        return path in self._files or path.is_relative_to(self._assets)

    def fetch(self, url, headers=None):  # noqa: D401 - WeasyPrint's signature
        if not isinstance(url, str):
            raise self._refuse(repr(url), "not a string")
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            response = super().fetch(url, headers)   # urllib DataHandler: decodes in memory
            self.served.append(url[:60])
            return response
        if scheme != "file":
            raise self._refuse(url, "scheme not allowed")
        try:
            parts = urlsplit(url)
        except ValueError:
            raise self._refuse(url, "malformed") from None
        if parts.netloc not in ("", "localhost"):
            raise self._refuse(url, "remote file host")
        real = Path(os.path.realpath(url2pathname(unquote(parts.path))))
        if not self._allowed_path(real) or not real.is_file():
            raise self._refuse(url, "outside the bundled assets")
        body = real.read_bytes()
        mime = mimetypes.guess_type(real.name)[0] or "application/octet-stream"
        if real.suffix.lower() == ".svg":
            mime = "image/svg+xml"
        self.served.append(url)
        return URLFetcherResponse(url, body, {"Content-Type": mime})

    def open(self, url, data=None, timeout=None):
        # Called by urllib machinery only; never follow anything through it.
        target = getattr(url, "full_url", url)
        raise self._refuse(str(target), "direct open")
