"""Where bundled data lives, in a source checkout and in an installed wheel alike."""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _find(in_package: str, in_checkout: str) -> Path:
    # A wheel maps the top-level folders into the package (pyproject package-dir);
    # a source checkout or editable install reads them in place.
    installed = PACKAGE / in_package
    return installed if installed.is_dir() else PACKAGE.parent / in_checkout


TEMPLATE_DIR = _find("templates", "templates")
CATALOG_DIR = _find("catalogs", "config/catalogs")
DEMO_DIR = _find("demo_config", "config")
