"""The batch's live status line fits the terminal it is drawn on (cells, not characters), on a real
pseudo-terminal of a given size, and 80 columns when the width cannot be asked."""
from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import termios

from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.batch import Progress
from reportgen.statusline import fit, status_line, terminal_width, width_of

TEXT = st.text(st.sampled_from(list("abc-xyz: 0123") + ["銀", "行", "\u0301", "🏦", "\u200b", "ｆ", "é"]), max_size=120)


@settings(max_examples=300, deadline=None)
@given(done=st.integers(0, 20_000), total=st.integers(0, 20_000), width=st.integers(1, 220),
       active=st.lists(st.tuples(TEXT, TEXT), max_size=6))
def test_the_line_never_takes_the_last_column(done, total, width, active):
    line = status_line(done, total, active, width)
    assert width_of(line) <= width - 1
    if active and width >= 120 and sum(width_of(f"{s}: {m}") + 3 for s, m in active[-3:]) + 14 < width:
        assert all(f"{s}: {m}" in line for s, m in active[-3:])     # nothing is cut that fits


def test_a_narrow_terminal_keeps_the_newest_client_readable():
    active = [("first-example-bank", "signIns: page 12"), ("harbor-federal-cu", "users: page 3"),
              ("lakeshore-community-bank", "conditionalAccessPolicies")]
    line = status_line(4, 12, active, 40)
    assert line.startswith("[4/12] lakeshore-community-bank: cond") and line.endswith("…")
    assert width_of(line) == 39 and "harbor" not in line
    wide = status_line(4, 12, active, 200)
    assert wide == "[4/12] " + " | ".join(f"{s}: {m}" for s, m in active)
    assert fit("銀行銀行", 5) == "銀行…" and width_of(fit("銀行銀行", 5)) == 5


def test_width_is_80_when_not_a_terminal_unless_columns_says(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert terminal_width(io.StringIO()) == 80
    monkeypatch.setenv("COLUMNS", "132")
    assert terminal_width(io.StringIO()) == 132


def test_progress_on_a_real_terminal_of_40_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")           # the terminal's own size wins over the variable
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
    stream = os.fdopen(slave, "w", encoding="utf-8")
    try:
        progress = Progress(3, stream)
        progress.step("first-example-bank", "signIns: page 12 of a very long collection " * 3)
        progress.step("銀行-bank", "users: 銀行銀行銀行銀行銀行銀行銀行銀行銀行銀行銀行銀行")
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 30, 0, 0))   # resized
        progress.step("third", "x" * 100)
        stream.flush()
        chunks = []
        while select.select([master], [], [], 0.5)[0]:    # a pty hands its output over in pieces
            chunks.append(os.read(master, 65536))
        out = b"".join(chunks).decode("utf-8")
    finally:
        stream.close()
        os.close(master)
    frames = [f for f in re.split(r"\r\x1b\[K", out.replace("\r\n", "\n")) if f]
    assert len(frames) == 3
    assert [width_of(f) for f in frames[:2]] == [39, 39] and width_of(frames[2]) == 29
    assert frames[0].startswith("[0/3] first-example-bank: signIns")
