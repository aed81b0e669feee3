"""The README states the limits the code enforces, and answers an operator's questions."""
from __future__ import annotations

from pathlib import Path

from reportgen.cli.render import MAX_CLIENT_JSON
from reportgen.history import MAX_HISTORY_BYTES
from reportgen.images import MAX_LOGO_BYTES, MAX_LOGO_SIDE
from reportgen.yamlsrc import MAX_DEPTH

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_states_the_limits_the_code_enforces():
    assert f"5 MB ({MAX_LOGO_BYTES:,} bytes)" in README
    assert f"{MAX_LOGO_SIDE:,} pixels on a side" in README
    assert f"1 MB ({MAX_HISTORY_BYTES:,} bytes)" in README
    assert MAX_CLIENT_JSON == MAX_HISTORY_BYTES and "`client.json` larger than 1 MB" in README
    assert f"nested more than {MAX_DEPTH} levels" in README


def test_readme_answers_the_operator_questions():
    for heading in ("## Troubleshooting live clients", "## Scheduling the monthly run", "## Re-running a period"):
        assert heading in README, heading
    for term in ("AADSTS7000215", "AADSTS700016", "AADSTS90002", "Authorization_RequestDenied", "REQUESTS_CA_BUNDLE",
                 "DNS", "HTTPS_PROXY", "cron", "systemd", "schtasks", "reportgen check --connect",
                 "config/examples/"):
        assert term in README, term
