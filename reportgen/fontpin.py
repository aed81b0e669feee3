"""Byte-identical PDFs without the optional libharfbuzz-subset0.

WeasyPrint subsets the embedded fonts with HarfBuzz when libharfbuzz-subset0 is installed, and
otherwise with fontTools, whose ``TTFont.save`` writes the current time into each font's
``head.modified``: two renders of the same evidence then differ. Pinning ``recalcTimestamp`` off
keeps the timestamp the font file already carries, as HarfBuzz does, with or without
SOURCE_DATE_EPOCH.
"""
from __future__ import annotations

from fontTools.ttLib import TTFont


class PinnedTTFont(TTFont):
    """A TTFont that keeps its ``head.modified`` when saved."""

    def __init__(self, *args, **kwargs):
        kwargs["recalcTimestamp"] = False
        super().__init__(*args, **kwargs)


def pin_font_timestamps() -> None:
    """Make WeasyPrint's fontTools subsetting path keep the fonts' own timestamps (idempotent)."""
    import weasyprint.pdf.fonts as fonts
    if fonts.TTFont is not PinnedTTFont:
        fonts.TTFont = PinnedTTFont
