"""No secret, access token or private key ever reaches an output byte or the console.

A batch runs through the real CLI against the fake identity platform + Graph with a known client
secret (from an environment variable), a certificate client, token refreshes, retries and an
authentication failure; then every file under the output folder (workbooks unzipped, PDFs with
their streams decompressed, attachments and text layer), and the CLI's stdout and stderr, are
searched for the secret, every token the fake issued, and the private key.
"""
from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path

import yaml

from reportgen.collect import demo
from reportgen.testing.fakegraph import make_client_certificate, throttle, unauthorized
from tests.test_cli import write_config
from tests.test_e2e import cli
from tests.test_hostile import all_pdf_bytes, pdf_text

PERIOD = "2026-11"
SECRET = "S3cr3t-Value-For-Test-9f8e7d"
SECRET_ENV = "REPORTGEN_TEST_CLIENT_SECRET"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


def every_output_byte(out: Path) -> dict[str, bytes]:
    """Each file under ``out``, plus each workbook member and the PDFs' decompressed content."""
    blobs: dict[str, bytes] = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(out).as_posix()
        blobs[rel] = p.read_bytes()
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                for name in z.namelist():
                    blobs[f"{rel}!{name}"] = z.read(name)
        if p.suffix == ".pdf":
            blobs[f"{rel}!streams"] = all_pdf_bytes(p)
            blobs[f"{rel}!text"] = pdf_text(p).encode()
    return blobs


def forms(value: str) -> list[bytes]:
    """The value as it could be written: plain, JSON-escaped, base64, UTF-16 (PDF strings)."""
    raw = value.encode()
    return [raw, json.dumps(value)[1:-1].encode(), base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="),
            value.encode("utf-16-be")]


def test_no_secret_token_or_private_key_in_any_output(tmp_path, fake_graph):
    key_path, cert_path = make_client_certificate(tmp_path / "cert")
    key_lines = [ln for ln in key_path.read_text().splitlines() if ln and not ln.startswith("-----")]
    assert len(key_lines) > 10

    t = demo.build_tenant("ready", "Secret Bank", PERIOD, users=20)
    fg = fake_graph(t, client_secret=SECRET, certificate_pem=cert_path.read_bytes())
    fg.script("/v1.0/users", unauthorized())                       # a token refresh mid-run
    fg.script("/v1.0/subscribedSkus", throttle(retry_after=0.05))   # a retry, logged
    wrong = fake_graph(t, client_secret="the-identity-platform-wants-another-secret")

    def graph_client(slug: str, server, **graph) -> dict:
        return {"slug": slug, "name": slug.replace("-", " ").title(), "institution_type": "bank",
                "tenant_id": t.tenant_id, "source": "graph",
                "graph": {"client_id": CLIENT_ID, "authority_host": server.url, "graph_endpoint": server.url,
                          "timeout_seconds": 5, **graph}}

    clients = [
        graph_client("secret-bank", fg, client_secret_env=SECRET_ENV),
        graph_client("cert-bank", fg, certificate={"private_key": str(key_path), "public_certificate": str(cert_path)}),
        graph_client("wrong-secret-bank", wrong, client_secret_env=SECRET_ENV),
    ]
    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path(fg.ca_bundle_path).read_text() + Path(wrong.ca_bundle_path).read_text())
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "2",
            env={SECRET_ENV: SECRET, "REQUESTS_CA_BUNDLE": str(bundle), "REPORTGEN_GRAPH_BACKOFF_BASE": "0.01"})
    assert r.returncode == 1, r.stderr                 # wrong-secret-bank fails, the others are produced
    period_dir = tmp_path / "out" / PERIOD
    batch = json.loads((period_dir / "batch.json").read_text())
    by = {c["slug"]: c for c in batch["clients"]}
    assert by["secret-bank"]["status"] == "ok" and by["cert-bank"]["status"] == "ok", batch
    assert "AADSTS7000215" in by["wrong-secret-bank"]["error"]
    assert {q["auth"] for q in fg.token_requests} == {"secret", "assertion"}
    assert len(fg.issued) >= 3                          # one per client, plus the refresh
    assert len(wrong.token_requests) >= 1 and not wrong.issued

    # the run did exercise the paths that could leak: refresh and retry are in the evidence log
    log = (period_dir / "secret-bank" / "evidence" / "log.jsonl").read_text() + \
        (period_dir / "cert-bank" / "evidence" / "log.jsonl").read_text()
    assert "token refreshed" in log and "Retry-After" in log

    needles: dict[str, list[bytes]] = {"client secret": forms(SECRET)}
    for i, tok in enumerate(fg.issued):
        header, payload, _sig = tok.split(".")
        # any 23 consecutive characters of the payload (claims, expiry, unique id) give a hit
        needles[f"token {i}"] = forms(tok) + [payload[j:j + 20].encode() for j in range(0, len(payload) - 19, 4)]
    needles["private key"] = [ln.encode() for ln in key_lines[1:-1]] + [
        "".join(key_lines).encode(), base64.b64decode("".join(key_lines))[40:80]]

    blobs = every_output_byte(tmp_path / "out")
    blobs["stdout"], blobs["stderr"] = r.stdout.encode(), r.stderr.encode()
    assert any(k.endswith(".pdf!text") for k in blobs) and any("!xl/" in k for k in blobs)
    for name in ("secret-bank/evidence/log.jsonl", "secret-bank/evidence/collection.json", "secret-bank/client.json",
                 "secret-bank/manifest.json", "cert-bank/client.json", "batch.json", "portfolio.xlsx"):
        assert f"{PERIOD}/{name}" in blobs, name
    leaks = [(what, where) for what, ns in needles.items() for where, blob in blobs.items()
             if any(n in blob for n in ns)]
    assert not leaks, leaks
    # what the folder does say: the variable's name and the certificate's path, never their content
    record = json.loads(blobs[f"{PERIOD}/secret-bank/client.json"])
    assert record["client"]["graph"]["client_secret_env"] == SECRET_ENV
    assert SECRET_ENV.encode() in blobs[f"{PERIOD}/secret-bank/manifest.json"]
    assert key_path.name.encode() in blobs[f"{PERIOD}/cert-bank/client.json"]
