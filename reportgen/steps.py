"""Numbered remediation steps ("1. Register a FIDO2 key ...") and list items, defined once.

Four readers depend on where a step starts: the catalog loader (a ``steps_done_when`` must name a
step the remediation has), the tailoring that leaves taken steps out, the action plan's first step
and the PDF's paragraphs. If each kept its own pattern, a remediation written "1)" could print as a
list and yet never be tailored, so they all read the markers here.
"""
from __future__ import annotations

import re

# A numbered step starts a line: one or two digits, "." or ")", then a blank.
_STEP = re.compile(r"^[ \t]*(\d{1,2})[.)][ \t]", re.M)
# A list item starts a line with a numbered marker or a bullet.
_ITEM = r"[ \t]*(?:\d{1,2}[.)]|[-*•])[ \t]"
_ITEM_RE = re.compile(_ITEM)
# A paragraph ends at a blank line or where a list item starts.
_BREAK = re.compile(r"\n[ \t]*\n|\n(?=" + _ITEM + ")")


def is_list_item(line: str) -> bool:
    """True where ``line`` starts a numbered step or a bulleted item."""
    return _ITEM_RE.match(line) is not None


def split_steps(text: str) -> tuple[str, list[tuple[int, str]]]:
    """(text before the first numbered step, [(number, the step's text up to the next step)])."""
    marks = list(_STEP.finditer(text))
    if not marks:
        return text, []
    steps = [(int(m.group(1)), text[m.start():(marks[i + 1].start() if i + 1 < len(marks) else len(text))])
             for i, m in enumerate(marks)]
    return text[:marks[0].start()], steps


def step_numbers(text: str) -> list[int]:
    """The numbers of ``text``'s steps, in the order written."""
    return [n for n, _ in split_steps(text)[1]]


def renumber(step: str, number: int) -> str:
    """``step`` (one item of ``split_steps``) with its marker's number replaced."""
    m = _STEP.match(step)
    return step if m is None else step[:m.start(1)] + str(number) + step[m.end(1):]


def first_step(text: str) -> str:
    """The first paragraph or list item of ``text``, on one line and without its marker."""
    first = next((c for c in _BREAK.split(text or "") if c.strip()), "")
    line = " ".join(first.split())
    m = _ITEM_RE.match(line)
    return line[m.end():].lstrip() if m else line


__all__ = ["first_step", "is_list_item", "renumber", "split_steps", "step_numbers"]
