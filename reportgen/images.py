"""Is this file a logo we may put into a report? Checked when the configuration is read and when a
stored client folder is rendered again, so that a huge file, a file that only ends in .png, or a
link to some other local file never reaches a deliverable."""
from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_LOGO_BYTES = 5 * 1024 * 1024      # a logo is a few kilobytes; 5 MB is generous
MAX_LOGO_SIDE = 10_000                 # pixels, width and height (a decompression bomb is far larger)
LOGO_SUFFIXES = {".svg": "SVG", ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def logo_problem(path: Path, *, follow_links: bool = True) -> str | None:
    """Why ``path`` cannot be used as a logo, in words; None when it is a real SVG, PNG or JPEG of a
    sane size. With ``follow_links=False`` a symbolic link is refused too."""
    kind = LOGO_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        return "must be an .svg, .png or .jpg file"
    try:
        st = os.stat(path, follow_symlinks=follow_links)
    except FileNotFoundError:
        return f"file {path} not found"
    except OSError as e:
        return f"cannot read {path}: {e.strerror or e}"
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link; a logo must be a plain file"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a plain file"
    if st.st_size > MAX_LOGO_BYTES:
        return f"{path} is {st.st_size:,} bytes; a logo may be at most {MAX_LOGO_BYTES:,} bytes"
    if st.st_size == 0:
        return f"{path} is empty"
    try:
        flags = os.O_RDONLY | (0 if follow_links else os.O_NOFOLLOW)
        with os.fdopen(os.open(path, flags), "rb") as f:
            data = f.read(MAX_LOGO_BYTES + 1)
    except OSError as e:
        return f"cannot read {path}: {e.strerror or e}"
    if len(data) > MAX_LOGO_BYTES:
        return f"{path} is larger than {MAX_LOGO_BYTES:,} bytes"
    return _svg_problem(path, data) if kind == "SVG" else _bitmap_problem(path, data, kind)


def _svg_problem(path: Path, data: bytes) -> str | None:
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        return f"{path} is not an SVG image (not well-formed XML: {str(e)[:120]})"
    if root is None or etree.QName(root).localname != "svg":
        return f"{path} is not an SVG image (its root element is not <svg>)"
    return None


def _bitmap_problem(path: Path, data: bytes, kind: str) -> str | None:
    import io

    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (w, h) = img.format, img.size
            img.verify()
    except Image.DecompressionBombError:
        return f"{path} has far too many pixels for a logo"
    except Exception as e:  # Pillow raises many types for broken or hostile files
        return f"{path} is not a readable {kind} image ({type(e).__name__})"
    if fmt != kind:
        return f"{path} is a {fmt or 'different'} image, not {kind}: give it the right extension"
    if w > MAX_LOGO_SIDE or h > MAX_LOGO_SIDE:
        return f"{path} is {w}x{h} pixels; a logo may be at most {MAX_LOGO_SIDE}x{MAX_LOGO_SIDE}"
    return None
