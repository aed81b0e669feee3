"""Every command's --help has a description and its exit statuses (finalize lacked both)."""
from __future__ import annotations

import pytest

from reportgen.cli import _parser, main


def test_every_command_describes_itself_and_its_exit_statuses(capsys):
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for name in sub.choices:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        head, _, rest = out.partition("\n\n")
        assert head.startswith(f"usage: reportgen {name}") and rest.split("\n\n")[0].strip()[0].isupper(), name
        assert "exit status" in out.lower(), name
    with pytest.raises(SystemExit):
        main(["finalize", "--help"])
    out = capsys.readouterr().out
    assert "\nexit status:\n  0  finalized" in out and "\n  1  " in out and "\n  2  " in out
    text = " ".join(out.split())
    assert "without the DRAFT marking" in text and "signed" in text and "does not verify" in text
