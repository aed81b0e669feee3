"""The deliverables a client receives, behind one small interface.

Each output is a module with ``render(data: ReportData, path: Path, options: RenderOptions)``; the
pipeline loops over ``OUTPUTS``. Modules are imported when first used (WeasyPrint is slow to import).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reportgen.report import ReportData


@dataclass(frozen=True)
class RenderOptions:
    max_rows: int = 25          # affected rows listed per finding in the PDF (the workbook lists all)


@dataclass(frozen=True)
class Output:
    name: str
    suffix: str
    module: str
    stem: str = "mfa-compliance"     # <slug>-<period>-<stem><suffix>

    def filename(self, slug: str, period: str) -> str:
        return f"{slug}-{period}-{self.stem}{self.suffix}"

    def render(self, data: ReportData, path: Path, options: RenderOptions) -> None:
        importlib.import_module(self.module).render(data, path, options)


OUTPUTS: tuple[Output, ...] = (
    Output("pdf", ".pdf", "reportgen.render.pdf"),
    Output("xlsx", ".xlsx", "reportgen.render.xlsx"),
    Output("csv", ".csv", "reportgen.render.findings_csv", stem="findings"),
    Output("oscal-ar", ".json", "reportgen.render.oscal", stem="oscal-ar"),
    Output("oscal-poam", ".json", "reportgen.render.oscal_poam", stem="oscal-poam"),
    Output("html", ".html", "reportgen.render.html", stem="mfa-compliance"),
)


def output(name: str) -> Output:
    return next(o for o in OUTPUTS if o.name == name)
