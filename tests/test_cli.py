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
