"""Signing in with a PKCS#12 certificate, a federated token file and a managed identity, against the
fake identity platform over real HTTPS (real msal, real requests); the firm-wide ``firm.graph``
default; and what ``check`` / ``check --connect`` / ``consent-url`` say about each."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from reportgen.cli import main
from reportgen.collect import demo
from reportgen.collect.auth import TokenProvider
from reportgen.collect.errors import CollectionError
from reportgen.config import Client, ConfigError
from reportgen.testing.certs import make_test_pkcs12
from reportgen.testing.fakegraph import ALL_ROLES
from tests.test_cli import write_config
from tests.test_preflight import _blocks, tree

PERIOD = "2026-11"
APP = "3f0c2a9e-5b7d-4e21-9a64-0c1d2e3f4a5b"
PASSWORD_ENV = "SIGNIN_TEST_PFX_PASSWORD"
PASSWORD = "pfx-password-never-printed"


@pytest.fixture(scope="module")
def tenant() -> demo.Tenant:
    return demo.build_tenant("ready", "Signin Bank", PERIOD, users=8)


def pfx(folder: Path, password: str | None = PASSWORD, **kw) -> tuple[Path, bytes]:
    """A PKCS#12 file and its certificate (PEM), for the fake to trust."""
    folder.mkdir(parents=True, exist_ok=True)
    path = make_test_pkcs12(folder / "app.pfx", password, common_name="reportgen collector", **kw)
    _, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), password.encode() if password else None)
    return path, cert.public_bytes(serialization.Encoding.PEM)


def graph_for(fg, **creds) -> dict:
    return {"client_id": APP, "authority_host": fg.url, "graph_endpoint": fg.url, "timeout_seconds": 5, **creds}


def client(fg, t, **creds) -> Client:
    return Client.model_validate({"slug": "signin-bank", "name": "Signin Bank", "institution_type": "bank",
                                  "tenant_id": t.tenant_id, "source": "graph", "graph": graph_for(fg, **creds)})


def sign_in(c: Client) -> TokenProvider:
    tp = TokenProvider(c, timeout=5)
    tp.token()
    return tp


def test_pkcs12_signs_a_client_assertion_and_a_wrong_password_names_the_file(tmp_path, fake_graph, tenant,
                                                                            monkeypatch):
    path, cert_pem = pfx(tmp_path)
    fg = fake_graph(tenant, client_secret=None, certificate_pem=cert_pem, client_id=APP)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    c = client(fg, tenant, certificate={"pkcs12": str(path), "password_env": PASSWORD_ENV})
    tp = sign_in(c)
    assert tp.granted == sorted(ALL_ROLES) and fg.token_requests[-1]["auth"] == "assertion"
    tp.close()

    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    with pytest.raises(CollectionError, match=rf"cannot open the PKCS#12 file {path}: wrong password"):
        TokenProvider(c, timeout=5)
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(CollectionError, match=f"environment variable {PASSWORD_ENV} is not set"):
        TokenProvider(c, timeout=5)
    # a different certificate in the file: the fake (like Entra ID) refuses the assertion
    other, _ = pfx(tmp_path / "other")
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with pytest.raises(CollectionError, match="AADSTS700027"):
        sign_in(client(fg, tenant, certificate={"pkcs12": str(other), "password_env": PASSWORD_ENV}))


def test_the_federated_token_file_is_read_again_for_each_token_request(tmp_path, fake_graph, tenant):
    fg = fake_graph(tenant, client_secret=None, client_id=APP)
    token_file = tmp_path / "azure-identity-token"
    first = fg.federation.token()
    token_file.write_text(first)
    tp = sign_in(client(fg, tenant, federated_token_file=str(token_file)))
    second = fg.federation.token()
    token_file.write_text(second + "\n")         # the platform renews the file
    _, generation = tp.token()
    tp.refresh(generation)
    jtis = [claims["jti"] for claims in fg.federation.seen]
    assert jtis == [_jti(first), _jti(second)] and [r["auth"] for r in fg.token_requests] == ["assertion"] * 2
    tp.close()

    token_file.write_text(fg.federation.token(lifetime=-60))   # no longer renewed
    with pytest.raises(CollectionError, match="AADSTS700024"):
        sign_in(client(fg, tenant, federated_token_file=str(token_file)))
    token_file.write_text(fg.federation.token("system:serviceaccount:other:app"))
    with pytest.raises(CollectionError, match="AADSTS70021"):
        sign_in(client(fg, tenant, federated_token_file=str(token_file)))
    token_file.unlink()
    with pytest.raises(CollectionError, match=f"cannot read the federated token file {token_file}"):
        TokenProvider(client(fg, tenant, federated_token_file=str(token_file)), timeout=5)


def _jti(token: str) -> str:
    from reportgen.collect.credentials import assertion_claims
    return assertion_claims(token)["jti"]


def test_managed_identity_through_msal_as_the_apps_credential_or_on_its_own(fake_graph, tenant, monkeypatch):
    fg = fake_graph(tenant, client_secret=None, client_id=APP)
    mi = fg.managed_identity
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{fg.url}/msi/token")   # App Service / Container Apps style
    monkeypatch.setenv("IDENTITY_HEADER", mi.header)
    # the firm's multi-tenant app trusts the identity: its token is the app's client assertion
    tp = sign_in(client(fg, tenant, managed_identity={"client_id": mi.client_id}))
    assert mi.requests[-1] == {"api-version": "2019-08-01", "resource": "api://AzureADTokenExchange",
                               "client_id": mi.client_id}
    assert fg.token_requests[-1]["auth"] == "assertion" and fg.federation.seen[-1]["sub"] == mi.object_id
    assert tp.granted == sorted(ALL_ROLES)
    tp.close()
    # without an app: the identity's own Graph token (for the tenant it lives in); the platform's
    # endpoint is local, never reached through a proxy
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    own = Client.model_validate({"slug": "own-bank", "name": "Own", "institution_type": "bank",
                                 "tenant_id": tenant.tenant_id, "source": "graph",
                                 "graph": {"managed_identity": {}, "graph_endpoint": fg.url}})
    tp = sign_in(own)
    assert mi.requests[-1] == {"api-version": "2019-08-01", "resource": fg.url}
    assert tp.granted == sorted(ALL_ROLES) and len(fg.token_requests) == 1
    tp.close()
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.delenv("HTTP_PROXY")
    with pytest.raises(CollectionError, match="the managed identity gave no token: .*No User Assigned"):
        sign_in(client(fg, tenant, managed_identity={"client_id": "00000000-1111-2222-3333-444444444444"}))


def test_check_opens_the_pkcs12_file(tmp_path, monkeypatch, capsys):
    path, _ = pfx(tmp_path, days=400)
    soon, _ = pfx(tmp_path / "soon", days=10)
    gone, _ = pfx(tmp_path / "gone", days=1, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=5))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)

    def live(slug, p):
        return {"slug": slug, "name": slug, "institution_type": "bank", "tenant_id": "contoso.onmicrosoft.com",
                "source": "graph", "graph": {"client_id": APP, "certificate": {"pkcs12": str(p),
                                                                                "password_env": PASSWORD_ENV}}}
    cfg = write_config(tmp_path, yaml.safe_dump([live("good-bank", path), live("soon-bank", soon),
                                                 live("gone-bank", gone)], sort_keys=False))
    before = tree(tmp_path)
    assert main(["check", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    blocks = {k: "\n".join(v) for k, v in _blocks(out).items()}
    until = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1) + dt.timedelta(days=400)).strftime("%Y-%m-%d")
    assert blocks["good-bank"].splitlines()[0].endswith("): ok")
    assert f"ok    PKCS#12 {path} (CN=reportgen collector): opened with its password; certificate valid until {until}" \
        in blocks["good-bank"]
    assert "note  PKCS#12" in blocks["soon-bank"] and "upload a new certificate" in blocks["soon-bank"]
    assert blocks["gone-bank"].splitlines()[0].endswith("cannot be collected as configured")
    assert "the certificate expired on" in blocks["gone-bank"]

    # the Done-means line: a wrong password is exit 1 naming the file, before any run
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    assert main(["check", "--config", str(cfg), "--client", "good-bank"]) == 1
    captured = capsys.readouterr()
    assert f"FAIL  cannot open the PKCS#12 file {path}: wrong password" in captured.out
    assert "good-bank" in captured.err and PASSWORD not in captured.out + captured.err
    assert tree(tmp_path) == before


def test_check_connect_signs_in_with_each_way(tmp_path, fake_graph, tenant, monkeypatch, capsys):
    path, cert_pem = pfx(tmp_path)
    fg = fake_graph(tenant, client_secret=None, certificate_pem=cert_pem, client_id=APP)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{fg.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", fg.managed_identity.header)
    token_file = tmp_path / "token"
    token_file.write_text(fg.federation.token())
    expired = tmp_path / "expired-token"
    expired.write_text(fg.federation.token(lifetime=-60))

    def live(slug, **creds):
        return {"slug": slug, "name": slug, "institution_type": "bank", "tenant_id": tenant.tenant_id,
                "source": "graph", "graph": {"client_id": APP, "authority_host": fg.url, "graph_endpoint": fg.url,
                                             "timeout_seconds": 5, **creds}}
    clients = [live("pfx-bank", certificate={"pkcs12": str(path), "password_env": PASSWORD_ENV}),
               live("wif-bank", federated_token_file=str(token_file)),
               live("mi-bank", managed_identity={"client_id": fg.managed_identity.client_id}),
               live("stale-bank", federated_token_file=str(expired))]
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    assert main(["check", "--config", str(cfg), "--connect"]) == 1
    blocks = {k: "\n".join(v) for k, v in _blocks(capsys.readouterr().out).items()}
    for slug in ("pfx-bank", "wif-bank", "mi-bank"):
        assert blocks[slug].splitlines()[0].endswith("): ok"), blocks[slug]
        assert f"ok    token acquired for {fg.url}" in blocks[slug]
        assert "every required permission is granted (7)" in blocks[slug]
        assert f"{fg.url}/{tenant.tenant_id}/adminconsent?client_id={APP}" in blocks[slug]
    assert f"federated token file {token_file}: issuer {fg.federation.issuer}" in blocks["wif-bank"]
    assert "user-assigned managed identity" in blocks["mi-bank"] and "platform's identity endpoint" in blocks["mi-bank"]
    assert f"FAIL  the federated token in {expired} expired at" in blocks["stale-bank"]
    assert len(fg.token_requests) == 3     # stale-bank was not tried: its token cannot work


FIRM = """\
firm:
  name: Test Partners
  graph:
    client_id: "{app}"
    certificate: {{pkcs12: certs/app.pfx, password_env: {env}}}
clients:
{clients}
"""


def test_firm_graph_is_the_default_that_each_client_overrides(tmp_path):
    from reportgen.cli.common import load_config as load
    (tmp_path / "certs").mkdir()
    path, _ = pfx(tmp_path / "certs")
    clients = [
        {"slug": "inherits", "name": "A", "institution_type": "bank", "tenant_id": "a.onmicrosoft.com",
         "source": "graph"},
        {"slug": "own-secret", "name": "B", "institution_type": "bank", "tenant_id": "b.onmicrosoft.com",
         "source": "graph", "graph": {"client_secret_env": "B_SECRET", "cloud": "usgov"}},
        {"slug": "own-app", "name": "C", "institution_type": "bank", "tenant_id": "c.onmicrosoft.com",
         "source": "graph", "graph": {"client_id": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"}},
    ]
    text = FIRM.format(app=APP, env=PASSWORD_ENV, clients=yaml.safe_dump(clients, sort_keys=False))
    (tmp_path / "reportgen.yaml").write_text(text)
    cfg = load(tmp_path / "reportgen.yaml")
    a, b, c = (cfg.client(s).graph for s in ("inherits", "own-secret", "own-app"))
    assert a.client_id == APP and a.credential == "pkcs12" and a.certificate.pkcs12 == path.resolve()
    assert b.client_id == APP and b.credential == "secret" and b.certificate is None and b.cloud == "usgov"
    assert c.client_id == "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6" and c.credential == "pkcs12"
    assert cfg.firm.graph.client_id == APP    # the firm's own settings are not changed by a client

    # without firm.graph a live client must say how to sign in; with it, the firm's file must exist
    no_firm_graph = [line for i, line in enumerate(text.splitlines()) if i not in (2, 3, 4)]
    (tmp_path / "reportgen.yaml").write_text("\n".join(no_firm_graph))
    with pytest.raises(ConfigError) as e:
        load(tmp_path / "reportgen.yaml")
    assert any("inherits: graph: source: graph needs a 'graph' section (or a firm-wide firm.graph)" in p
               for p in e.value.problems)
    assert any("own-secret: graph: client_id is missing" in p for p in e.value.problems)
    path.unlink()
    (tmp_path / "reportgen.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"reportgen.yaml:5: firm.graph.certificate.pkcs12: file .*app.pfx not found"):
        load(tmp_path / "reportgen.yaml")


@pytest.mark.parametrize("graph, message", [
    ({"client_id": APP, "client_secret_env": "X", "federated_token_file": "t"},
     "give one way to sign in, not client_secret_env and federated_token_file"),
    ({"client_id": APP, "certificate": {"pkcs12": "a.pfx", "private_key": "k.pem"}}, "not both"),
    ({"client_id": APP, "certificate": {"private_key": "k.pem", "password_env": "P"}}, "give pkcs12"),
    ({"client_id": APP, "certificate": {"pkcs12": "a.pfx", "password_env": "not a name"}}, "should match pattern"),
])
def test_sign_in_settings_that_cannot_work_are_config_errors(graph, message):
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match=message):
        Client.model_validate({"slug": "x", "name": "X", "institution_type": "bank", "tenant_id": "x.example.org",
                               "source": "graph", "graph": graph})


def test_consent_url_command(tmp_path, capsys):
    clients = [{"slug": "live-bank", "name": "L", "institution_type": "bank", "tenant_id": "contoso.onmicrosoft.com",
                "source": "graph", "graph": {"client_id": APP, "client_secret_env": "X", "cloud": "usgov"}},
               {"slug": "demo-bank", "name": "D", "institution_type": "bank", "source": "demo",
                "demo_profile": "ready"}]
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    assert main(["consent-url", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out == (f"live-bank: https://login.microsoftonline.us/contoso.onmicrosoft.com/"
                                       f"adminconsent?client_id={APP}\n")
    assert main(["consent-url", "demo-bank", "--config", str(cfg)]) == 1
    assert "demo-bank: no consent URL: not a live client" in capsys.readouterr().out


def test_yaml_hint_for_a_boolean_number_or_date_where_text_was_meant(tmp_path, capsys):
    cfg = write_config(tmp_path, """\
        - slug: no
          name: 1.10
          institution_type: bank
          source: demo
          demo_profile: ready
        - slug: on-bank
          name: On
          institution_type: bank
          source: graph
          tenant_id: contoso.onmicrosoft.com
          graph: {client_id: 2026-01-01, client_secret_env: 12, cloud: no}
        """)
    assert main(["check", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert 'clients.0.slug: Input should be a valid string (YAML read no as false; write it in quotes: "no")' in err
    assert 'clients.0.name: Input should be a valid string (YAML read 1.10 as the number 1.1; write it in quotes: ' \
           '"1.10")' in err
    assert 'clients.1.graph.client_id: Input should be a valid string (YAML read 2026-01-01 as a date' in err
    assert 'clients.1.graph.client_secret_env: Input should be a valid string (YAML read 12 as the number 12' in err
    assert "clients.1.graph.cloud: Input should be 'global', 'usgov', 'usgov-dod' or 'china' (YAML read no as " \
           "false)" in err


def test_a_live_client_run_for_a_past_month_is_warned_about(tmp_path, capsys, monkeypatch):
    import datetime as _dt
    import os
    import subprocess
    import sys

    from reportgen.cli.common import previous_month
    from reportgen.cli.signin import past_period
    today = _dt.date(2026, 12, 7)
    assert past_period("2026-11", today) is None and past_period("2026-12", today) is None
    assert past_period("2026-09", today).startswith("period 2026-09 is in the past: live collection reads the "
                                                    "tenant as it is now (2026-12-07)")
    monkeypatch.setenv("PAST_SECRET", "x")
    clients = [{"slug": "live-bank", "name": "L", "institution_type": "bank", "tenant_id": "contoso.onmicrosoft.com",
                "source": "graph", "graph": {"client_id": APP, "client_secret_env": "PAST_SECRET"}},
               {"slug": "demo-bank", "name": "D", "institution_type": "bank", "source": "demo",
                "demo_profile": "ready"}]
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    old = "2025-01"
    assert main(["check", "--config", str(cfg), "--period", old]) == 0
    blocks = {k: "\n".join(v) for k, v in _blocks(capsys.readouterr().out).items()}
    assert f"note  period {old} is in the past: live collection reads the tenant as it is now" in blocks["live-bank"]
    assert "in the past" not in blocks["demo-bank"]
    assert main(["check", "--config", str(cfg), "--period", previous_month()]) == 0
    assert "in the past" not in capsys.readouterr().out
    # run says it too, before anything is collected (the live client then fails: no such tenant here)
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "reportgen.cli", "run", "--config", str(cfg), "--period", old,
                        "--client", "live-bank", "--out", str(tmp_path / "out"), "--jobs", "1",
                        "--client-timeout", "60"],
                       cwd=root, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(root), "PAST_SECRET": "x",
                            "HTTPS_PROXY": "http://127.0.0.1:9"})
    assert f"warning: period {old} is in the past: live collection reads the tenant as it is now" in r.stderr


def test_docs_auth_examples_are_valid_settings_and_name_every_way_to_sign_in():
    import re as _re

    from reportgen.config import CREDENTIAL_KEYS, GraphSettings
    doc = (Path(__file__).resolve().parent.parent / "docs" / "auth.md").read_text()
    blocks = [yaml.safe_load(b) for b in _re.findall(r"```yaml\n(.*?)```", doc, _re.S)]
    graphs = [b["firm"]["graph"] for b in blocks if isinstance(b, dict) and "graph" in b.get("firm", {})]
    assert len(graphs) >= 2
    for g in graphs:
        assert GraphSettings.model_validate(g).incomplete() is None, g
    for key in CREDENTIAL_KEYS:
        assert f"`{key}" in doc, key
    assert "reportgen consent-url" in doc and "api://AzureADTokenExchange" in doc
