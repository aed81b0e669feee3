"""Configuration errors stop before anything is written; one client's failure stays its own."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from reportgen.cli import main
from reportgen.cli.common import previous_month
from tests.test_e2e import ROOT, cli

LOGO = ROOT / "config" / "branding" / "logo.svg"


def write_config(tmp: Path, clients: str, extra: str = "") -> Path:
    cfg = tmp / "reportgen.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        firm:
          name: Test Partners
          logo: {LOGO}
        defaults:
          output_dir: {tmp / 'out'}
        {extra}
        clients:
        """) + textwrap.indent(textwrap.dedent(clients), "  "))
    return cfg


DEMO = """\
- slug: good-bank
  name: Good Bank
  institution_type: bank
  source: demo
  demo_profile: ready
"""


@pytest.mark.parametrize("clients,expect", [
    (DEMO + DEMO, "duplicate client slug 'good-bank'"),
    (DEMO.replace("institution_type: bank", "institution_tpye: bank"), "did you mean 'institution_type'"),
    (DEMO.replace("slug: good-bank", "slug: ../escape"), "slug"),
    (DEMO.replace("demo_profile: ready", "demo_profile: nope"), "demo_profile must be one of"),
    (DEMO + "  exceptions:\n    - {id: E1, check: MFA-99, subject: a@b, approved_by: Q, approved_on: 2026-01-01,"
            " compensating_control: c}\n", "unknown check 'MFA-99'"),
    (DEMO + "  lookback_days: many\n", "lookback_days"),
    (DEMO + "  source: graph\n", "duplicate key 'source'"),
])
def test_config_errors_exit_2_naming_file_line_and_field(tmp_path, capsys, clients, expect):
    cfg = write_config(tmp_path, clients)
    assert main(["run", "--config", str(cfg), "--period", "2026-11"]) == 2
    err = capsys.readouterr().err
    assert expect in err
    assert f"{cfg}:" in err and any(ch.isdigit() for ch in err.split(f"{cfg}:")[1][:4])
    assert not (tmp_path / "out").exists(), "nothing may be written on a config error"


def test_malformed_yaml_and_missing_logo(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("firm:\n  name: [unclosed\n")
    assert main(["run", "--config", str(cfg)]) == 2
    assert f"{cfg}:" in capsys.readouterr().err
    cfg = write_config(tmp_path, DEMO)
    cfg.write_text(cfg.read_text().replace(str(LOGO), "missing-logo.svg"))
    assert main(["run", "--config", str(cfg)]) == 2
    assert "firm.logo" in capsys.readouterr().err


def test_unknown_client_and_bad_period_are_usage_errors(tmp_path, capsys):
    cfg = write_config(tmp_path, DEMO)
    assert main(["run", "--config", str(cfg), "--client", "nobody"]) == 2
    assert main(["run", "--config", str(cfg), "--period", "2026-13"]) == 2
    assert not (tmp_path / "out").exists()


def test_one_failing_client_does_not_stop_the_others(tmp_path):
    clients = DEMO + """\
- slug: no-secret-cu
  name: "No Secret <b>CU</b>"
  institution_type: credit_union
  tenant_id: 11111111-1111-1111-1111-111111111111
  source: graph
  graph:
    client_id: 22222222-2222-2222-2222-222222222222
    client_secret_env: REPORTGEN_TEST_SECRET_THAT_IS_NOT_SET
"""
    cfg = write_config(tmp_path, clients)
    r = cli("run", "--config", str(cfg), "--period", "2026-11", "--jobs", "2")
    assert r.returncode == 1, r.stderr
    assert "REPORTGEN_TEST_SECRET_THAT_IS_NOT_SET" in r.stderr and "no-secret-cu" in r.stderr
    batch = json.loads((tmp_path / "out" / "2026-11" / "batch.json").read_text())
    by = {c["slug"]: c for c in batch["clients"]}
    assert by["good-bank"]["status"] == "ok" and by["no-secret-cu"]["status"] == "failed"
    assert "REPORTGEN_TEST_SECRET_THAT_IS_NOT_SET" in by["no-secret-cu"]["error"]
    assert (tmp_path / "out" / "2026-11" / "good-bank" / "results.json").is_file()
    assert not (tmp_path / "out" / "2026-11" / "no-secret-cu").exists()
    assert (tmp_path / "out" / "2026-11" / "portfolio.xlsx").is_file()


def test_default_period_is_the_month_just_ended():
    from datetime import date
    assert previous_month(date(2026, 1, 5)) == "2025-12"
    assert previous_month(date(2026, 11, 28)) == "2026-10"


def test_graph_endpoints_must_be_https_and_may_carry_a_path():
    from pydantic import ValidationError

    from reportgen.config import GraphSettings
    g = GraphSettings(client_id="x", client_secret_env="S", graph_endpoint="https://127.0.0.1:8443/graph/",
                      authority_host="https://login.example")
    assert g.endpoint == "https://127.0.0.1:8443/graph" and g.authority == "https://login.example"
    for bad in ("http://graph.example", "https://", "graph.example", "https://a b"):
        with pytest.raises(ValidationError):
            GraphSettings(client_id="x", client_secret_env="S", graph_endpoint=bad)


# --------------------------------------------------------------------------- operator safety (issue 13)

def test_help_shows_the_config_default_verify_description_and_exit_statuses(capsys):
    for argv in (["--help"], ["run", "--help"], ["verify", "--help"], ["check", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert "exit status:" in out and "  2  " in out, argv
    main_help = _help(capsys, ["run", "--help"])
    assert "--config FILE" in main_help and "default: config/reportgen.yaml" in main_help
    assert "130" in main_help
    verify_help = _help(capsys, ["verify", "--help"])
    assert "Re-hash one client's output folder" in verify_help and "period folder" in verify_help


def _help(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit):
        main(argv)
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("period,expect", [
    ("2026-13", "there is no month 13"),
    ("2026-00", "there is no month 00"),
    ("26-11", "write YYYY-MM"),
    ("2999-01", "is in the future"),
])
def test_impossible_periods_are_refused_with_the_reason(tmp_path, capsys, period, expect):
    cfg = write_config(tmp_path, DEMO)
    assert main(["run", "--config", str(cfg), "--period", period]) == 2
    err = capsys.readouterr().err
    assert expect in err and "must be YYYY-MM" not in err, err
    assert not (tmp_path / "out").exists()


def test_next_month_is_future_and_the_current_month_only_warns():
    from datetime import date

    from reportgen.cli.common import UsageError, parse_period, period_warning
    today = date(2026, 11, 29)
    with pytest.raises(UsageError, match="in the future"):
        parse_period("2026-12", today)
    assert parse_period("2026-11", today) == "2026-11"
    assert "current month and not finished" in period_warning("2026-11", today)
    assert period_warning("2026-10", today) is None


def test_the_current_month_runs_with_a_warning(tmp_path):
    from datetime import date
    current = date.today().strftime("%Y-%m")
    cfg = write_config(tmp_path, DEMO.replace("demo_profile: ready", "demo_profile: no-p1"))
    r = cli("run", "--config", str(cfg), "--period", current, "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert f"warning: period {current} is the current month and not finished" in r.stderr
    # quiet off a terminal: one line per client, and the last line points at batch.json
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("done: 1 ok, 0 failed") and lines[-1].endswith("batch.json")
    assert "\r" not in r.stderr and "\x1b" not in r.stderr


def test_client_typo_gets_a_did_you_mean(tmp_path, capsys):
    cfg = write_config(tmp_path, DEMO)
    assert main(["run", "--config", str(cfg), "--client", "good-bnak"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'good-bank'?" in err
    assert not (tmp_path / "out").exists()


def test_missing_config_says_relative_to_which_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "config/reportgen.yaml not found" in err and str(tmp_path) in err and "--config" in err
    assert main(["check", "--config", "nope.yaml"]) == 2
    assert "nope.yaml not found" in capsys.readouterr().err


GRAPH = """\
- slug: live-bank
  name: Live Bank
  institution_type: bank
  source: graph
  tenant_id: {tenant}
  graph:
    client_id: 11111111-2222-3333-4444-555555555555
    client_secret_env: {secret}
"""


@pytest.mark.parametrize("tenant,line,expect", [
    ("1234-5678", 12, "groups of 8-4-4-4-12 hexadecimal digits; this one has 4-4"),
    ("11111111-2222-3333-4444-55555555555g", 12, "only hexadecimal digits"),
    ('"{11111111-2222-3333-4444-555555555555}"', 12, "without braces"),
    ("admin@contoso.com", 12, "looks like a user name"),
    ("https://login.microsoftonline.com/contoso.com", 12, "not a URL"),
    ("contoso", 12, "neither a GUID"),
])
def test_malformed_tenant_id_is_reported_at_its_own_line(tmp_path, capsys, tenant, line, expect):
    cfg = write_config(tmp_path, GRAPH.format(tenant=tenant, secret="CLIENT_SECRET_LIVE"))
    assert main(["check", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:{line}: clients.0.tenant_id: " in err and expect in err, err


def test_a_pasted_secret_is_named_as_such_and_never_echoed(tmp_path, capsys):
    secret = "Q8~x7.Vf-VERY_SECRET_VALUE~abc"
    cfg = write_config(tmp_path, GRAPH.format(tenant="contoso.onmicrosoft.com", secret=f'"{secret}"'))
    for argv in (["run", "--config", str(cfg)], ["check", "--config", str(cfg)]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        err = captured.err
        assert f"{cfg}:15: clients.0.graph.client_secret_env: this must be the name of an environment variable" in err
        assert "not the secret" in err
        assert "VERY_SECRET" not in err + captured.out
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("exception,line,expect", [
    ("approved_on: 2026-02-30", 14, "clients.0.exceptions.0.approved_on: invalid date '2026-02-30'"),
    ("approved_on: 2026-05-01, expires_on: 2026-04-01", 14,
     "clients.0.exceptions.0.expires_on: expires_on (2026-04-01) is before approved_on (2026-05-01)"),
    ("approved_on: '2026-13-01'", 14, "clients.0.exceptions.0.approved_on:"),
])
def test_exception_dates_name_their_field(tmp_path, capsys, exception, line, expect):
    cfg = write_config(tmp_path, DEMO + "  exceptions:\n    - {id: E1, check: MFA-02, subject: a@b, approved_by: Q, "
                                        f"{exception}, compensating_control: c}}\n")
    assert main(["run", "--config", str(cfg), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:{line}: {expect}" in err, err
    assert not (tmp_path / "out").exists()


def test_a_client_file_wrapped_in_clients_gives_one_hint(tmp_path, capsys):
    cdir = tmp_path / "clients"
    cdir.mkdir()
    (cdir / "good-bank.yaml").write_text("clients:\n" + textwrap.indent(DEMO, "  "))
    cfg = tmp_path / "reportgen.yaml"
    cfg.write_text(f"firm:\n  name: T\n  logo: {LOGO}\ndefaults:\n  output_dir: {tmp_path / 'out'}\nclients_dir: clients/\n")
    assert main(["check", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"{cdir / 'good-bank.yaml'}:1:" in err[0] and "not a 'clients:' list" in err[0]
    assert "remove the 'clients:' line" in err[0]


def _read_only(folder: Path):
    """Make ``folder`` unwritable for this process, also as root (immutable flag); None if impossible."""
    import subprocess
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o500)
    probe = folder / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return lambda: folder.chmod(0o700)
    probe.unlink()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        return lambda: (subprocess.run(["chattr", "-i", str(folder)]), folder.chmod(0o700))
    folder.chmod(0o700)
    return None


@pytest.mark.parametrize("case", ["out-is-a-file", "out-under-a-file", "period-is-a-file", "read-only"])
def test_unusable_out_is_a_usage_error_before_any_client_starts(tmp_path, capsys, case):
    cfg = write_config(tmp_path, DEMO)
    out = tmp_path / "target"
    undo = None
    if case == "out-is-a-file":
        out.write_text("a file")
        expect = f"{out} is a file, not a folder"
    elif case == "out-under-a-file":
        out.write_text("a file")
        out = out / "sub"
        expect = f"its parent {out.parent} is a file, not a folder"
    elif case == "period-is-a-file":
        out.mkdir()
        (out / "2026-10").write_text("a file")
        expect = f"{out / '2026-10'} is a file, not a folder"
    else:
        undo = _read_only(out)
        if undo is None:
            pytest.skip("cannot make a folder read-only here")
        expect = f"cannot write to the output folder {out / '2026-10'}"
    try:
        assert main(["run", "--config", str(cfg), "--period", "2026-10", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert expect in err and "Traceback" not in err, err
        assert "good-bank" not in err   # reported before any client started
    finally:
        if undo:
            undo()
    if case == "read-only":
        assert not any(out.iterdir())


def test_deeply_nested_yaml_is_a_message_not_a_traceback(tmp_path, capsys):
    for n, text in [(3000, "firm:\n" + "".join("  " * i + "k:\n" for i in range(1, 3000))),
                    (100, "firm:\n  name: x\nclients: " + "[" * 100 + "]" * 100 + "\n")]:
        cfg = tmp_path / f"deep{n}.yaml"
        cfg.write_text(text)
        assert main(["run", "--config", str(cfg)]) == 2
        err = capsys.readouterr().err
        assert "levels deep" in err and str(cfg) in err, err


def test_verify_on_a_period_folder_lists_the_client_folders(tmp_path, capsys):
    period_dir = tmp_path / "2026-11"
    for slug in ("a-bank", "b-bank"):
        (period_dir / slug).mkdir(parents=True)
        (period_dir / slug / "manifest.json").write_text('{"files": []}')
    (period_dir / "batch.json").write_text("{}")
    assert main(["verify", str(period_dir)]) == 2
    err = capsys.readouterr().err
    assert f"{period_dir} is a period folder; verify a client folder" in err
    assert f"reportgen verify {period_dir / 'a-bank'}" in err and f"reportgen verify {period_dir / 'b-bank'}" in err


# --------------------------------------------------------------------------- resume, and faults around the batch

SMALL = DEMO.replace("demo_profile: ready", "demo_profile: no-p1")


def test_resume_re_runs_a_client_whose_configuration_changed(tmp_path):
    from reportgen.resume import reusable
    cfg = write_config(tmp_path, SMALL.replace("institution_type: bank", "institution_type: nonbank"))
    run = ["run", "--config", str(cfg), "--period", "2026-10", "--jobs", "1"]
    assert cli(*run).returncode == 0
    folder = tmp_path / "out" / "2026-10" / "good-bank"
    made = (folder / "results.json").stat().st_mtime_ns

    r = cli(*run, "--resume")   # unchanged: kept
    assert r.returncode == 0, r.stderr
    assert "skipped good-bank: output verifies (--resume)" in r.stderr
    assert (folder / "results.json").stat().st_mtime_ns == made

    cfg.write_text(cfg.read_text().replace("institution_type: nonbank", "institution_type: bank"))
    r = cli(*run, "--resume")
    assert r.returncode == 0, r.stderr
    assert "producing good-bank again: configuration changed (client.institution_type)" in r.stderr
    doc = json.loads((folder / "results.json").read_text())
    assert doc["client"]["institution_type"] == "bank"
    assert {c["framework"] for c in doc["controls"]} >= {"glba-interagency"}
    batch = json.loads((folder.parent / "batch.json").read_text())
    assert batch["clients"][0]["institution_type"] == "bank" and not batch["clients"][0].get("resumed")
    assert cli("verify", str(folder)).returncode == 0

    # the tool version and the catalogs count as well (read from the manifest, which verify does not hash)
    from reportgen.cli.common import config_vocabulary
    from reportgen.config import load_config
    from reportgen.pipeline import job_for
    conf = load_config(cfg, **config_vocabulary())
    job = job_for(conf, conf.clients[0], "2026-10", tmp_path / "out")
    doc, why = reusable(folder, job)
    assert why is None and doc["client"]["slug"] == "good-bank"
    manifest = json.loads((folder / "manifest.json").read_text())
    for change, expect in [({"tool": {"name": "reportgen", "version": "0.9.0"}}, "made by reportgen 0.9.0"),
                           ({"catalogs": manifest["catalogs"][:-1]}, "the catalogs changed")]:
        (folder / "manifest.json").write_text(json.dumps({**manifest, **change}))
        kept, why = reusable(folder, job)
        assert kept is None and expect in why, why
    (folder / "manifest.json").write_text(json.dumps(manifest))
    conf.firm.primary_color = "#000000"
    assert "firm.primary_color" in reusable(folder, job_for(conf, conf.clients[0], "2026-10", tmp_path / "out"))[1]


def test_resume_on_a_manifest_listing_no_files_produces_the_client_again(tmp_path):
    cfg = write_config(tmp_path, SMALL + SMALL.replace("good-bank", "other-bank"))
    folder = tmp_path / "out" / "2026-10" / "good-bank"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"files": []}')   # verifies: nothing listed, nothing else there
    r = cli("run", "--config", str(cfg), "--period", "2026-10", "--jobs", "2", "--resume")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    # a folder whose state cannot be read (no results.json) counts as final: kept, and --force keeps a copy
    assert "cannot be read" in r.stderr and (folder / "manifest.json").read_text() == '{"files": []}'
    r = cli("run", "--config", str(cfg), "--period", "2026-10", "--jobs", "2", "--resume", "--force")
    assert r.returncode == 0, r.stderr
    assert list((folder.parent / ".superseded").iterdir())
    for slug in ("good-bank", "other-bank"):
        assert cli("verify", str(folder.parent / slug)).returncode == 0


def test_disk_full_while_writing_the_portfolio_still_prints_a_final_line(tmp_path, capsys, monkeypatch):
    import errno

    from reportgen.render import xlsxutil
    real = xlsxutil.write_bytes

    def full_disk(path, data):
        if Path(path).name == "portfolio.xlsx":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)
    monkeypatch.setattr(xlsxutil, "write_bytes", full_disk)
    cfg = write_config(tmp_path, SMALL)
    assert main(["run", "--config", str(cfg), "--period", "2026-10", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("done: 1 ok, 0 failed") and "no space left on the device" in last, err
    assert "portfolio.xlsx" in last and "Traceback" not in err
    period_dir = tmp_path / "out" / "2026-10"
    assert main(["verify", str(period_dir / "good-bank")]) == 0
    assert not (period_dir / "portfolio.xlsx").exists()

