"""Untrusted text shown to a person: on a terminal, in the PDF, in the workbook.

Tenant text, Graph and proxy error bodies and client names can carry characters that act instead of
print: ESC sequences rewrite a terminal (move the cursor, retitle the window, forge a line), C0/C1
controls print as nothing or as missing glyphs, and bidi embeddings, overrides and isolates
(U+202A-U+202E, U+2066-U+2069) reverse the text after them, so that a name can make a sentence
read otherwise. Right-to-left letters themselves are kept: the bidi algorithm orders them without
these controls. results.json and the evidence keep the text exactly as received.
"""
from __future__ import annotations

import re
from typing import Any

# Removed from what a reader sees (PDF and workbook alike). Tab, line feed and carriage return stay:
# they are layout, not commands. Lone surrogates and U+FFFE/U+FFFF are not characters at all.
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]+")
# On a terminal, line breaks and tabs would let text forge a line of output: they become spaces.
_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]+")

REMOVED = "\ufffd"   # the replacement character: shows the reader that something was taken out


def readable(value: Any) -> str:
    """``value`` as text for a report: each run of control, bidi-override or non-characters becomes
    one visible REMOVED marker. The PDF and the workbook both use this one rule."""
    s = value if isinstance(value, str) else str(value)
    return _HIDDEN.sub(REMOVED, s) if _HIDDEN.search(s) else s


def terminal(value: Any, limit: int | None = None) -> str:
    """``value`` as one line safe to write to a terminal or a log: controls (ESC included), line
    breaks and bidi controls become a space or a marker; at most ``limit`` characters."""
    s = value if isinstance(value, str) else str(value)
    if _TERMINAL.search(s):
        s = _TERMINAL.sub(lambda m: " " if m.group(0).isspace() else REMOVED, s)
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s
