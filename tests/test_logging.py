"""--verbose and --log-file on every command, through the standard logging module: what they show,
that a log never holds a secret, and that a log file that cannot be written is a usage error."""
from __future__ import annotations

import re

import pytest
import yaml

from reportgen import logsetup
from reportgen.cli import COMMANDS, _parser, main
from reportgen.collect import demo
from tests.test_cli import write_config
from tests.test_preflight import live

SECRET_ENV, SECRET = "LOGGING_TEST_SECRET", "logging-secret-never-written"


@pytest.fixture(autouse=True)
def reset_logging():
    yield
    logsetup.configure(False, None)


def test_every_command_takes_the_logging_flags():
    sub = next(a for a in _parser()._actions if a.dest == "command")
    assert len(sub.choices) == len(COMMANDS)
    for name, parser in sub.choices.items():
        flags = {o for a in parser._actions for o in a.option_strings}
        assert {"--verbose", "-v", "--log-file"} <= flags, name


def test_verbose_shows_steps_on_stderr_and_quiet_is_the_default(tmp_path, capsys):
    cfg = write_config(tmp_path, "- {slug: demo-bank, name: Demo, institution_type: bank, source: demo, "
                                 "demo_profile: ready}\n")
    assert main(["check", "--config", str(cfg)]) == 0
    assert "reportgen 1.0.0 check" not in capsys.readouterr().err
    assert main(["check", "--config", str(cfg), "--verbose"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^\d\d:\d\d:\d\d reportgen 1\.0\.0 check --config \S+ --verbose$", err, re.M), err


def test_log_file_records_the_sign_in_and_each_request_but_no_secret(tmp_path, fake_graph, monkeypatch, capsys):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    t = demo.build_tenant("ready", "Logged Bank", "2026-11", users=8)
    fg = fake_graph(t, client_secret=SECRET)
    cfg = write_config(tmp_path, yaml.safe_dump([live("logged-bank", fg, t, SECRET_ENV)], sort_keys=False))
    log = tmp_path / "reportgen.log"
    assert main(["check", "--config", str(cfg), "--connect", "--log-file", str(log)]) == 0
    logsetup.configure(False, None)   # closes the file
    text = log.read_text()
    line = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \d+ (DEBUG|INFO) [\w.]+: "
    assert all(re.match(line, entry) for entry in text.splitlines()), text
    assert re.search(line + r"token for https://127\.0\.0\.1:\d+/\.default from https://127\.0\.0\.1:\d+/\S+ "
                     r"\(secret, identity_provider\)$", text, re.M), text
    assert re.search(r'urllib3\.connectionpool: .*"GET /v1\.0/subscribedSkus HTTP/1\.1" 200', text), text
    assert SECRET not in text and fg.issued[0] not in text       # neither the secret nor the token
    assert capsys.readouterr().err.count("token for") == 0        # the file only, not the terminal
    # appended, not replaced
    assert main(["check", "--config", str(cfg), "--log-file", str(log)]) == 0
    logsetup.configure(False, None)
    assert log.read_text().startswith(text) and len(log.read_text()) > len(text)


def test_a_log_file_that_cannot_be_written_is_a_usage_error(tmp_path, capsys):
    cfg = write_config(tmp_path, "- {slug: demo-bank, name: Demo, institution_type: bank, source: demo, "
                                 "demo_profile: ready}\n")
    assert main(["check", "--config", str(cfg), "--log-file", str(tmp_path)]) == 2
    assert f"--log-file {tmp_path}: cannot write to it" in capsys.readouterr().err
    assert main(["check", "--config", str(cfg), "--log-file", str(tmp_path / "no" / "such" / "x.log")]) == 2
    assert "No such file or directory" in capsys.readouterr().err
