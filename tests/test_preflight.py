"""The preflight (``reportgen check``): validate without writing; with --connect, sign in to the (fake)
tenants over real HTTPS with real msal and report granted vs required permissions and licences."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reportgen.cli import main
from reportgen.collect import demo
from reportgen.model import PLAN_P2
from reportgen.testing.fakegraph import ALL_ROLES
from tests.test_cli import DEMO, write_config
from tests.test_e2e import ROOT

PERIOD = "2026-11"
SECRET_ENV = "CHECK_TEST_SECRET"
SECRET = "check-secret-value-never-printed"


def tree(folder: Path) -> dict[str, tuple[int, float]]:
    """Every path below ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}


def live(slug: str, fg, t: demo.Tenant, secret_env: str = SECRET_ENV) -> dict:
    return {"slug": slug, "name": slug.replace("-", " ").title(), "institution_type": "bank",
            "tenant_id": t.tenant_id, "source": "graph",
            "graph": {"client_id": "11111111-2222-3333-4444-555555555555", "client_secret_env": secret_env,
                      "authority_host": fg.url, "graph_endpoint": fg.url, "timeout_seconds": 5}}


def test_preflight_on_the_bundled_configuration_is_good_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    before = tree(ROOT / "config")
    assert main(["check", "--config", str(ROOT / "config" / "reportgen.yaml")]) == 0
    out = capsys.readouterr().out
    for slug in ("first-example-bank", "harbor-federal-cu", "prairie-home-lending"):
        assert f"{slug} (demo tenant" in out and "): ok" in out
    assert list(tmp_path.iterdir()) == [] and tree(ROOT / "config") == before


def test_preflight_on_a_bad_configuration_is_exit_2_and_writes_nothing(tmp_path, capsys):
    cfg = write_config(tmp_path, DEMO.replace("institution_type: bank", "institution_type: bnak"))
    before = tree(tmp_path)
    assert main(["check", "--config", str(cfg)]) == 2
    assert f"{cfg}:10: clients.0.institution_type" in capsys.readouterr().err
    assert tree(tmp_path) == before


def test_preflight_names_each_client_that_cannot_be_collected(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHECK_SET_SECRET", SECRET)
    monkeypatch.delenv("CHECK_UNSET_SECRET", raising=False)
    key, cert = demo_certificate(tmp_path)
    clients = [yaml.safe_load(DEMO)[0],
               {**_offline("set-bank"), "graph": {**_offline("set-bank")["graph"], "client_secret_env": "CHECK_SET_SECRET"}},
               {**_offline("unset-bank"), "graph": {**_offline("unset-bank")["graph"],
                                                     "client_secret_env": "CHECK_UNSET_SECRET"}},
               {**_offline("cert-bank"), "graph": {"client_id": "11111111-2222-3333-4444-555555555555",
                                                    "certificate": {"private_key": str(key),
                                                                    "public_certificate": str(cert)}}},
               {**_offline("wrong-key-bank"), "graph": {"client_id": "11111111-2222-3333-4444-555555555555",
                                                         "certificate": {"private_key": str(cert),
                                                                         "public_certificate": str(cert)}}}]
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    before = tree(tmp_path)
    assert main(["check", "--config", str(cfg)]) == 1
    captured = capsys.readouterr()
    out = captured.out
    blocks = _blocks(out)
    assert blocks["good-bank"][0].endswith("): ok")
    assert blocks["set-bank"][0].endswith("): ok") and "CHECK_SET_SECRET is set (value not shown)" in out
    assert blocks["unset-bank"][0].endswith("cannot be collected as configured")
    assert "FAIL  environment variable CHECK_UNSET_SECRET is not set" in out
    assert blocks["cert-bank"][0].endswith("): ok") and "certificate and private key match" in out
    assert blocks["wrong-key-bank"][0].endswith("cannot be collected as configured")
    assert "not an unencrypted PEM private key" in "\n".join(blocks["wrong-key-bank"])
    assert "unset-bank" in captured.err and "wrong-key-bank" in captured.err and "cert-bank" not in captured.err
    assert SECRET not in out + captured.err
    assert tree(tmp_path) == before
    # --client narrows the check to the named clients
    assert main(["check", "--config", str(cfg), "--client", "set-bank"]) == 0
    assert "unset-bank" not in capsys.readouterr().out


def _offline(slug: str) -> dict:
    return {"slug": slug, "name": slug.title(), "institution_type": "credit_union", "source": "graph",
            "tenant_id": "contoso.onmicrosoft.com",
            "graph": {"client_id": "11111111-2222-3333-4444-555555555555", "client_secret_env": "X"}}


def demo_certificate(folder: Path) -> tuple[Path, Path]:
    from reportgen.testing.fakegraph import make_client_certificate
    return make_client_certificate(folder / "certs")


def _blocks(out: str) -> dict[str, list[str]]:
    """stdout of check, by client: the client's heading line, then its indented lines."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines():
        if line and not line.startswith(" ") and " (" in line and not line.startswith("configuration "):
            current = line.split(" (", 1)[0]
            blocks[current] = [line]
        elif current and line.startswith("  "):
            blocks[current].append(line)
    return blocks


def test_preflight_connect_reports_granted_vs_missing_permissions_and_licences(tmp_path, fake_graph, capsys,
                                                                          monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    full = demo.build_tenant("ready", "Full Bank", PERIOD, users=15)
    for sku in full.objects["subscribedSkus"]:   # a P2 tenant
        sku["servicePlans"].append({"servicePlanId": PLAN_P2, "servicePlanName": "AAD_PREMIUM_P2",
                                    "provisioningStatus": "Success", "appliesTo": "User"})
    fg_full = fake_graph(full, client_secret=SECRET)
    partial = demo.build_tenant("ready", "Partial Bank", PERIOD, users=15)
    fg_partial = fake_graph(partial, client_secret=SECRET,
                            roles=[r for r in ALL_ROLES if r not in ("AuditLog.Read.All", "GroupMember.Read.All")]
                            + ["Policy.ReadWrite.ConditionalAccess"])
    small = demo.build_tenant("no-p1", "Small Lender", PERIOD, users=10)
    fg_small = fake_graph(small, client_secret=SECRET)
    wrong = demo.build_tenant("ready", "Wrong Secret Bank", PERIOD, users=10)
    fg_wrong = fake_graph(wrong, client_secret="another-secret")
    unconsented = demo.build_tenant("ready", "Unconsented Bank", PERIOD, users=10)
    fg_none = fake_graph(unconsented, client_secret=SECRET, roles=[])
    fakes = (fg_full, fg_partial, fg_small, fg_wrong, fg_none)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("".join(Path(fg.ca_bundle_path).read_text() for fg in fakes))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    clients = [live("full-bank", fg_full, full), live("partial-bank", fg_partial, partial),
               live("small-lender", fg_small, small), live("wrong-secret-bank", fg_wrong, wrong),
               live("unconsented-bank", fg_none, unconsented)]
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    before = tree(tmp_path)

    assert main(["check", "--config", str(cfg), "--connect"]) == 1
    captured = capsys.readouterr()
    blocks = {k: "\n".join(v) for k, v in _blocks(captured.out).items()}

    assert blocks["full-bank"].splitlines()[0].endswith("): ok")
    assert f"ok    granted: {', '.join(sorted(ALL_ROLES))}" in blocks["full-bank"]
    assert "every required permission is granted (7)" in blocks["full-bank"]
    assert "licences: Entra ID P1 and P2" in blocks["full-bank"]

    assert blocks["partial-bank"].splitlines()[0].endswith("cannot be collected as configured")
    assert "FAIL  missing permissions (5 of 7 granted): AuditLog.Read.All, GroupMember.Read.All" in blocks["partial-bank"]
    assert "the token can write (Policy.ReadWrite.ConditionalAccess)" in blocks["partial-bank"]
    assert "licences: Entra ID P1 (no P2" in blocks["partial-bank"]

    assert blocks["small-lender"].splitlines()[0].endswith("): ok")
    assert "licences: no Entra ID P1" in blocks["small-lender"]

    assert blocks["wrong-secret-bank"].splitlines()[0].endswith("cannot be collected as configured")
    assert "FAIL  sign-in: authentication failed: AADSTS7000215" in blocks["wrong-secret-bank"]

    assert "FAIL  missing permissions (0 of 7 granted - admin consent missing?)" in blocks["unconsented-bank"]
    assert "granted: (none)" in blocks["unconsented-bank"]

    assert SECRET not in captured.out + captured.err and "another-secret" not in captured.out + captured.err
    assert "partial-bank" in captured.err and "full-bank" not in captured.err.split(":")[-1]
    # only the token and the licence list were asked for; nothing was written anywhere
    def graph_paths(fg) -> set[str]:
        return {e["path"] for e in fg.log if e["path"].startswith(("/v1.0/", "/beta/"))}
    for fg in fakes:
        assert graph_paths(fg) <= {"/v1.0/subscribedSkus"}, fg.log
    assert len(fg_full.token_requests) == 1 and fg_full.counts["/v1.0/subscribedSkus"] == 1
    assert not graph_paths(fg_wrong)
    assert tree(tmp_path) == before


def test_the_live_client_example_passes_preflight(tmp_path, monkeypatch, capsys):
    example = ROOT / "config" / "examples" / "reportgen.yaml"
    client = yaml.safe_load((ROOT / "config" / "examples" / "clients" / "example-bank.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(client["graph"]["client_secret_env"], "example-secret")
    assert main(["check", "--config", str(example)]) == 0
    out = capsys.readouterr().out
    assert "example-bank (live tenant" in out and "): ok" in out
    assert list(tmp_path.iterdir()) == []
    # every key the configuration reference documents for a live client is in the example
    for key in ("slug", "name", "institution_type", "source", "tenant_id", "graph", "emergency_access_accounts",
                "attestations", "exceptions"):
        assert key in client, key
    assert json.dumps(client["graph"]).count("client_secret_env") == 1
