"""Hostile tenant data and hostile/broken configuration, end to end through the real CLI.

Tenant text is written by thousands of people: markup, CSS, file URLs, formulas, control characters,
huge strings, bidi overrides. The report must show it as text, fetch nothing, store it in the workbook
as strings (never formulas) and carry it unchanged in results.json.
"""
from __future__ import annotations

import json
import re
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader
from pypdf.generic import NameObject, StreamObject

from reportgen.cli import main
from reportgen.collect import demo
from reportgen.evidence import EvidenceWriter
from tests.test_cli import DEMO, LOGO, write_config
from tests.test_e2e import cli

PERIOD = "2026-11"
PASSWD = b"root:x:0:0"

CONTROL = "ctl[" + "".join(chr(c) for c in range(0x20) if c not in (9, 10)) + "]end"
LONG = "L" * 4990 + "-END-LONG"
HOSTILE = [
    "<b>bold</b><script>alert(1)</script>",
    '<style>body{display:none}</style><div style="background:url(file:///etc/passwd)">css</div>',
    "<img src=file:///etc/passwd>",
    "<link rel=attachment href=file:///etc/passwd>",
    '<a rel=attachment href="file:///etc/passwd">att</a>',
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(document.cookie)",
    '=HYPERLINK("http://x","y")',
    "+1",
    "-1+1",
    "@SUM(A1)",
    CONTROL,
    LONG,
    "\u0645\u0631\u062d\u0628\u0627 \u202eevil.exe\u202c \u05e2\u05d1\u05e8\u05d9\u05ea",
    "\U0001f600\U0001f3e6\U0001f510 emoji",
    "\u4e2d\u6587\u540d\u5b57 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4",
]
# what must be readable, verbatim, as text in the PDF
PDF_LITERALS = ["<img src=file:///etc/passwd>", "<link rel=attachment", "<script>alert(1)", "<b>bold</b>",
                '=HYPERLINK("http://x","y")', "javascript:alert(document.cookie)", "@SUM(A1)"]
# what must be stored as a string cell in the workbook
XLSX_LITERALS = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "-1+1", "<img src=file:///etc/passwd>"]


def hostile_tenant() -> tuple[demo.Tenant, dict[str, tuple[str, str]]]:
    """The seed article's credit union with hostile text everywhere a person can type.
    Returns the tenant and, for each unregistered user (MFA-02 lists them), (upn, displayName)."""
    t = demo.build_tenant("seed-problems", "Harbor Federal CU", PERIOD, users=70)
    users = t.objects["users"]
    reg = {r["id"]: r for r in t.objects["userRegistrationDetails"]}
    special = ("bg-", "svc-", "ga-", "it.", "security.", "helpdesk.", "cloud.")
    unregistered = [u for u in users if u["id"] in reg and u["userType"] == "Member"
                    and not u["userPrincipalName"].startswith(special)][:12]
    for u in unregistered:   # MFA-02 lists these by UPN and display name
        reg[u["id"]].update(isMfaRegistered=False, isMfaCapable=False, methodsRegistered=[])
    injected: dict[str, tuple[str, str]] = {}
    for i, u in enumerate(users):
        if u["userPrincipalName"].startswith(special):
            continue  # keep the accounts the checks are about recognisable
        u["displayName"] = HOSTILE[i % len(HOSTILE)]
    for i, u in enumerate(unregistered):
        h = HOSTILE[i % len(HOSTILE)]
        upn = f"{h}@{t.domain}" if i % 2 else f"u{i}.{h[:40]}@{t.domain}"
        name = HOSTILE[(i + 3) % len(HOSTILE)]
        u["userPrincipalName"], u["displayName"] = upn, name
        reg[u["id"]]["userPrincipalName"], reg[u["id"]]["userDisplayName"] = upn, name
        injected[u["id"]] = (upn, name)
    for i, p in enumerate(t.objects["conditionalAccessPolicies"]):
        p["displayName"] = HOSTILE[(2 * i + 2) % len(HOSTILE)] + " " + HOSTILE[(2 * i + 3) % len(HOSTILE)]
    t.objects["conditionalAccessPolicies"][0]["displayName"] = "<img src=file:///etc/passwd> " + LONG
    # CJK and right-to-left text where the PDF always lists it (a list of users is cut at ten rows)
    t.objects["conditionalAccessPolicies"][1]["displayName"] = HOSTILE[-1] + " " + HOSTILE[-3]
    t.objects["namedLocations"][0]["displayName"] = "<link rel=attachment href=file:///etc/passwd>"
    t.objects["organization"][0]["displayName"] = "<img src=file:///etc/passwd>" + CONTROL
    for a in t.objects["roleAssignments"]:
        if a["principal"].get("@odata.type", "").endswith("servicePrincipal"):
            a["principal"]["displayName"] = '=HYPERLINK("http://x","y")'
    for members in t.groups.values():
        for mbr in members:
            if mbr.get("@odata.type", "").endswith("group"):
                mbr["displayName"] = "<style>*{color:red}</style>"
    for s in t.objects["signIns"] + t.objects["signInsNonInteractive"]:
        s["userDisplayName"] = "@SUM(A1)"
        s["appDisplayName"] = "<img src=file:///etc/passwd>"
    return t, injected


def pdf_text(pdf: Path) -> str:
    """Text of every page, whitespace collapsed, as pypdf reads it.

    A font with a glyph missing (CJK, some emoji) is written by WeasyPrint with an embedded
    code -> CID CMap instead of /Identity-H; codes stay glyph ids and its ToUnicode map is complete,
    but pypdf 7 reads such an /Encoding stream as a one-byte encoding. Treat it as the identity map
    it is, so that the text layer can be read back."""
    reader = PdfReader(pdf)
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            enc = font.get("/Encoding")
            if enc is not None and isinstance(enc.get_object(), StreamObject) and font.get("/Subtype") == "/Type0":
                font[NameObject("/Encoding")] = NameObject("/Identity-H")
    text = "\n".join(p.extract_text() or "" for p in reader.pages)
    return re.sub(r"\s+", " ", text)


def all_pdf_bytes(pdf: Path) -> bytes:
    """The raw file, every decompressed stream and every attachment."""
    reader = PdfReader(pdf)
    chunks = [pdf.read_bytes()]
    for num in range(1, len(reader.xref_objStm) + 1000):
        try:
            obj = reader.get_object(num)
        except Exception:
            continue
        if obj is None:
            continue
        try:
            chunks.append(obj.get_data())
        except Exception:
            chunks.append(str(obj).encode("utf-8", "replace"))
    for contents in reader.attachments.values():
        chunks.extend(contents)
    return b"\n".join(chunks)


def sheet_xml(xlsx: Path) -> dict[str, str]:
    with zipfile.ZipFile(xlsx) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")}


def xml_text(s: str) -> str:
    import html
    return html.unescape(s)


def test_hostile_tenant_text_is_shown_as_text_never_fetched_never_a_formula(tmp_path):
    t, injected = hostile_tenant()
    ev = tmp_path / "evidence-in"
    demo.write_evidence(t, EvidenceWriter(ev), lookback_days=30, collected_at=demo.collection_time(PERIOD))
    client = {
        "slug": "hostile-cu", "name": "<img src=file:///etc/passwd> " + '=HYPERLINK("http://x","y")' + CONTROL
        + " \u202eCU\u202c \U0001f3e6 \u4fe1\u7528\u5408\u4f5c\u793e",
        "institution_type": "credit_union", "source": "evidence", "evidence_dir": str(ev),
        "emergency_access_accounts": ["bg-01@harborfederalcu.onmicrosoft.com"],
        "exceptions": [{
            "id": "EXC-<b>1</b>", "check": "MFA-02", "subject": next(iter(injected.values()))[0],
            "approved_by": '=HYPERLINK("http://x","y")', "approved_on": "2026-01-01", "expires_on": "2027-01-01",
            "compensating_control": "<link rel=attachment href=file:///etc/passwd>" + LONG,
            "reference": "@SUM(A1) " + CONTROL}],
    }
    cfg = write_config(tmp_path, yaml.safe_dump([client], allow_unicode=True, width=10**6))
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "1")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out" / PERIOD / "hostile-cu"
    assert cli("verify", str(out)).returncode == 0

    # results.json carries every string unchanged (JSON escaping aside)
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["client"]["name"] == client["name"].strip()
    mfa02 = next(c for c in doc["checks"] if c["id"] == "MFA-02")
    got = {(a["upn"], a["display_name"]) for a in mfa02["affected"]}
    assert set(injected.values()) <= got
    assert any(a["exception"] == "EXC-<b>1</b>" for a in mfa02["affected"])
    raw = (out / "results.json").read_text(encoding="utf-8")
    assert LONG in raw and "\\u0000" in raw

    # PDF: the markup is readable as text; nothing outside the bundled assets was loaded
    pdf = out / f"hostile-cu-{PERIOD}-mfa-compliance.pdf"
    reader = PdfReader(pdf)
    text = pdf_text(pdf)
    for lit in PDF_LITERALS:
        assert lit in text, lit
    assert "\u4e2d\u6587\u540d\u5b57" in text and "\u05e2\u05d1\u05e8\u05d9\u05ea" in text   # CJK, RTL kept
    # control characters and bidi overrides are not printed: a visible marker shows where they were
    assert re.search("ctl\\[\ufffd ?\ufffd\\]end", text), re.findall(r"ctl\[.{0,6}", text)
    assert not re.search("[\x00-\x08\x0b-\x1f\u202a-\u202e\u2066-\u2069]", text)
    assert "\ufffdevil.exe\ufffd" in text
    assert "L" * 161 not in text and "END-LONG" not in text   # 5,000 characters are cut, visibly
    assert "characters, full text in the workbook" in text
    assert set(reader.attachments) == {"results.json", "evidence-index.json"}
    blob = all_pdf_bytes(pdf)
    assert PASSWD not in blob
    assert b"/JavaScript" not in blob and b"/JS " not in blob and b"/Launch" not in blob
    # links in the PDF only ever point to https:// catalog references, never javascript: or file:
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            uri = (annot.get_object().get("/A") or {}).get("/URI")
            assert uri is None or str(uri).startswith("https://"), uri

    # workbooks: not one formula; the hostile strings are string cells
    for xlsx in [out / f"hostile-cu-{PERIOD}-mfa-compliance.xlsx", out.parent / "portfolio.xlsx"]:
        parts = sheet_xml(xlsx)
        sheets = {n: s for n, s in parts.items() if n.startswith("xl/worksheets/")}
        assert sheets
        for name, xml in sheets.items():
            assert not re.search(r"<(\w+:)?f[ >/]", xml), f"formula in {xlsx.name}:{name}"
            assert 't="e"' not in xml
        strings = xml_text(parts.get("xl/sharedStrings.xml", "") + "".join(sheets.values()))
        assert "<img src=file:///etc/passwd>" in strings
    strings = xml_text("".join(sheet_xml(out / f"hostile-cu-{PERIOD}-mfa-compliance.xlsx").values()))
    for lit in XLSX_LITERALS:
        assert lit in strings, lit
    assert "\x00" not in strings and "\x1b" not in strings
    # the same rule as the PDF: bidi overrides are removed, visibly (the workbook used to keep them)
    assert "\u202e" not in strings and "\ufffdevil.exe\ufffd" in strings

    # evidence is stored as it came
    assert (out / "evidence" / "collection.json").is_file()
    assert b"\\u202e" in b"".join(p.read_bytes() for p in (out / "evidence" / "pages").glob("users-*.json")) \
        or "\u202e".encode() in b"".join(p.read_bytes() for p in (out / "evidence" / "pages").glob("users-*.json"))


# --------------------------------------------------------------------------- configuration

@pytest.mark.parametrize("slug", ["../x", "a/b", "..", "/abs", "x/../../y", "UPPER", "a b"])
def test_slug_that_would_escape_the_output_folder_is_refused(tmp_path, capsys, slug):
    cfg = write_config(tmp_path, DEMO.replace("slug: good-bank", f"slug: {json.dumps(slug)}"))
    assert main(["run", "--config", str(cfg), "--period", PERIOD]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:8: clients.0.slug: String should match pattern" in err
    assert not (tmp_path / "out").exists()
    assert not any(p.name in ("x", "y", "b") for p in tmp_path.rglob("*"))


def _client_dir_config(tmp_path: Path, client_file: str) -> tuple[Path, Path]:
    cdir = tmp_path / "clients"
    cdir.mkdir()
    f = cdir / "acme.yaml"
    f.write_text(textwrap.dedent(client_file))
    cfg = tmp_path / "reportgen.yaml"
    cfg.write_text(f"firm:\n  name: Test Partners\n  logo: {LOGO}\ndefaults:\n  output_dir: {tmp_path / 'out'}\n"
                   f"clients_dir: clients/\n")
    return cfg, f


@pytest.mark.parametrize("body,line,expect", [
    ("slug: ../acme\nname: Acme\ninstitution_type: bank\nsource: demo\ndemo_profile: ready\n",
     1, "slug: String should match pattern"),
    ("slug: acme\nname: Acme\ninstitution_tpye: bank\nsource: demo\ndemo_profile: ready\n",
     3, "unknown key 'institution_tpye' (did you mean 'institution_type'?)"),
    ("slug: acme\nname: Acme\ninstitution_type: bank\nsource: graph\ntenant_id: contoso.com\ngraph:\n"
     "  client_id: a\n  client_secret_env: X\n  graph_endpiont: https://graph.microsoft.com\n",
     9, "unknown key 'graph_endpiont' (did you mean 'graph_endpoint'?)"),
    ("slug: acme\nname: Acme\ninstitution_type: bank\nsource: demo\ndemo_profile: ready\nexceptions:\n"
     "  - {id: E1, check: MFA-02, subject: a@b, approved_by: Q, approved_on: 2026-01-01, compensating_contrl: c}\n",
     7, "did you mean 'compensating_control'"),
    ("slug: acme\nname: Acme\ninstitution_type: bank\nsource: demo\ndemo_profile: ready\nsource: graph\n",
     6, "duplicate key 'source'"),
])
def test_client_file_error_names_its_own_file_and_line(tmp_path, capsys, body, line, expect):
    cfg, f = _client_dir_config(tmp_path, body)
    assert main(["run", "--config", str(cfg), "--period", PERIOD]) == 2
    err = capsys.readouterr().err
    assert f"{f}:{line}:" in err and expect in err, err
    assert not (tmp_path / "out").exists()


def test_duplicate_slug_across_files_names_the_client_files_line(tmp_path, capsys):
    cfg, f = _client_dir_config(tmp_path, "# acme\n\nslug: good-bank\nname: Acme\ninstitution_type: bank\n"
                                          "source: demo\ndemo_profile: ready\n")
    cfg.write_text(cfg.read_text() + "clients:\n" + textwrap.indent(DEMO, "  "))
    assert main(["run", "--config", str(cfg), "--period", PERIOD]) == 2
    err = capsys.readouterr().err
    assert f"{f}:3: slug: duplicate client slug 'good-bank'" in err, err


# --------------------------------------------------------------------------- Graph faults, end to end

GRAPH_SECRET_ENV = "HOSTILE_TEST_GRAPH_SECRET"
GRAPH_SECRET = "hostile-graph-secret-value"


def _graph_client(slug: str, fg, t: demo.Tenant, **graph) -> dict:
    return {"slug": slug, "name": slug.replace("-", " ").title(), "institution_type": "bank", "tenant_id": t.tenant_id,
            "source": "graph",
            "graph": {"client_id": "11111111-2222-3333-4444-555555555555", "client_secret_env": GRAPH_SECRET_ENV,
                      "authority_host": fg.url, "graph_endpoint": fg.url, "timeout_seconds": 5,
                      "max_tenant_seconds": 60, **graph}}


def _odd_tenant() -> tuple[demo.Tenant, str]:
    """Unknown enum values and method types, missing and null fields, duplicate ids (no P1: the
    per-user methods fallback runs, so method @odata.types matter)."""
    t = demo.build_tenant("no-p1", "Odd Data Bank", PERIOD, users=25)
    users = t.objects["users"]
    members = [u for u in users if u["userType"] == "Member" and u["accountEnabled"]
               and not u["userPrincipalName"].startswith("bg-")]
    telepath = members[-1]
    t.methods[telepath["id"]] = [{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "p"},
                                 {"@odata.type": "#microsoft.graph.telepathyAuthenticationMethod", "id": "x"},
                                 {"id": "no-type"}, None]
    members[-2]["userType"] = "Alien"
    members[-3]["accountEnabled"] = None
    members[-4].pop("userPrincipalName")
    members[-5]["displayName"] = None
    members[-6]["signInActivity"] = None
    users.append(dict(members[-7]))                      # the same id twice
    users.append({"id": None, "displayName": "no id"})
    t.objects["conditionalAccessPolicies"] = [
        {"id": "p-odd", "displayName": None, "state": "enabledSomeday", "conditions": None,
         "grantControls": {"operator": "XOR", "builtInControls": ["mfa", "telepathy"]}},
        {"id": "p-odd", "displayName": "duplicate id", "state": "enabled"},
        {"displayName": "no id at all", "state": "enabled"}]
    t.objects["roleAssignments"].append(dict(t.objects["roleAssignments"][0]))
    t.objects["roleAssignments"].append({"id": "r-null", "roleDefinitionId": None, "principalId": None, "principal": None})
    t.objects["roleAssignments"].append({"id": "r-new", "roleDefinitionId": "00000000-aaaa-bbbb-cccc-000000000000",
                                         "principalId": members[0]["id"], "directoryScopeId": "/",
                                         "principal": {"@odata.type": "#microsoft.graph.quantumPrincipal"}})
    t.objects["authenticationMethodsPolicy"]["authenticationMethodConfigurations"].append(
        {"@odata.type": "#microsoft.graph.telepathyAuthenticationMethodConfiguration", "id": "Telepathy",
         "state": "sortOf"})
    t.objects["securityDefaults"]["isEnabled"] = "maybe"
    return t, telepath["userPrincipalName"]


def test_graph_faults_become_per_client_outcomes_never_a_crash_or_a_false_pass(tmp_path, fake_graph):
    from reportgen.testing.fakegraph import html, redirect, stall, truncated, unauthorized

    def start(t):
        return fake_graph(t, client_secret=GRAPH_SECRET)

    clients = [dict(yaml.safe_load(DEMO)[0])]     # the healthy one: good-bank, demo

    odd, telepath_upn = _odd_tenant()
    fg_odd = start(odd)
    clients.append(_graph_client("odd-data-bank", fg_odd, odd))

    proxy = demo.build_tenant("ready", "Proxy Bank", PERIOD, users=20)
    fg_proxy = start(proxy)
    fg_proxy.script("/v1.0/reports/authenticationMethods/userRegistrationDetails", html())
    fg_proxy.script("/v1.0/identity/conditionalAccess/policies", truncated())
    fg_proxy.script("/v1.0/subscribedSkus", redirect("https://login.evil.example/steal"))
    clients.append(_graph_client("proxy-bank", fg_proxy, proxy))

    slow = demo.build_tenant("ready", "Slow Bank", PERIOD, users=20)
    for s in slow.objects["signIns"][:3]:
        s["authenticationRequirement"] = "quantumAuthentication"
        s["status"] = None
    fg_slow = start(slow)
    fg_slow.script("/v1.0/roleManagement/directory/roleAssignments", *[stall(1.0)] * 6)
    fg_slow.script("/v1.0/roleManagement/directory/roleEligibilitySchedules", unauthorized(), unauthorized())
    clients.append(_graph_client("slow-bank", fg_slow, slow, timeout_seconds=0.3))

    revoked = demo.build_tenant("ready", "Revoked Bank", PERIOD, users=20)
    fg_revoked = start(revoked)
    fg_revoked.script("/v1.0/organization", unauthorized(), unauthorized())
    clients.append(_graph_client("revoked-bank", fg_revoked, revoked))

    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_text("".join(Path(fg.ca_bundle_path).read_text() for fg in (fg_odd, fg_proxy, fg_slow, fg_revoked)))
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "2",
            env={GRAPH_SECRET_ENV: GRAPH_SECRET, "REQUESTS_CA_BUNDLE": str(bundle),
                 "REPORTGEN_GRAPH_BACKOFF_BASE": "0.01"})
    period_dir = tmp_path / "out" / PERIOD
    assert "Traceback" not in r.stderr, r.stderr
    batch = json.loads((period_dir / "batch.json").read_text())
    by = {c["slug"]: c for c in batch["clients"]}
    assert set(by) == {c["slug"] for c in clients}
    failed = {s for s, c in by.items() if c["status"] != "ok"}
    # exit 1 exactly because a client failed; every other client is produced
    assert failed == {"revoked-bank"}, {s: by[s]["error"] for s in failed}
    assert r.returncode == 1, r.stderr
    err = by["revoked-bank"]["error"]
    assert "rejected the access token (401" in err and "revoked-bank" in r.stderr
    assert not (period_dir / "revoked-bank").exists()
    assert not [p.name for p in period_dir.iterdir() if p.name.startswith(".")], "staging left behind"

    def results_of(slug: str) -> tuple[dict, dict]:
        assert cli("verify", str(period_dir / slug)).returncode == 0, slug
        doc = json.loads((period_dir / slug / "results.json").read_text())
        for c in doc["checks"]:
            assert c["status"] in ("pass", "fail", "warn", "excepted", "not_evaluated", "manual")
            if c["status"] == "not_evaluated":
                assert c["reason"]
        return doc, {c["id"]: c for c in doc["checks"]}

    doc, _ = results_of("good-bank")
    assert doc["collection"]["status"] == "complete"

    # odd data: no crash; an unknown method type is not a second factor; duplicates collapse
    doc, st = results_of("odd-data-bank")
    assert doc["collection"]["status"] == "partial"
    assert telepath_upn in {a["upn"] for a in st["MFA-02"]["affected"]}
    assert st["MFA-02"]["status"] == "fail"
    upns = [a["upn"] for a in st["MFA-02"]["affected"]]
    assert len(upns) == len(set(upns))

    # a proxy's HTML page, truncated JSON and a redirect to another host: gaps, never a pass
    doc, st = results_of("proxy-bank")
    gaps = {g["source"]: g["reason"] for g in doc["collection"]["gaps"]}
    assert doc["collection"]["status"] == "partial"
    assert "HTML" in gaps["reports/authenticationMethods/userRegistrationDetails"]
    assert "truncated JSON" in gaps["identity/conditionalAccess/policies"]
    assert "redirect" in gaps["subscribedSkus"] and "login.evil.example" in gaps["subscribedSkus"]
    assert st["MFA-02"]["status"] == "not_evaluated"
    for cid in ("MFA-01", "MFA-02", "MFA-05", "MMFA-01", "MMFA-02", "EA-04"):
        assert st[cid]["status"] != "pass", (cid, st[cid])
    assert not any(e["path"] == "/steal" for e in fg_proxy.log)
    assert doc["readiness"]["mandatory_mfa_phase1"] != "ready"

    # a stalled connection and a 401 mid-run: gaps naming the cause; role checks not passed
    doc, st = results_of("slow-bank")
    gaps = {g["source"]: g["reason"] for g in doc["collection"]["gaps"]}
    assert "did not answer in time" in gaps["roleManagement/directory/roleAssignments"]
    assert "rejected the access token twice (401" in gaps["roleManagement/directory/roleEligibilitySchedules"]
    for cid in ("MFA-03", "MFA-04", "MMFA-05"):
        assert st[cid]["status"] != "pass", (cid, st[cid])


# --------------------------------------------------------------------------- issue 14, round two

SMALL = DEMO.replace("demo_profile: ready", "demo_profile: no-p1")


@pytest.fixture(scope="module")
def produced(tmp_path_factory) -> Path:
    """One client's output folder (tests copy it before changing anything)."""
    tmp = tmp_path_factory.mktemp("produced")
    cfg = write_config(tmp, SMALL)
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "1")
    assert r.returncode == 0, r.stderr
    return tmp / "out" / PERIOD / "good-bank"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink() else b"")
            for p in folder.rglob("*")}


def _png(path: Path, size: tuple[int, int] = (4, 4), pad: int = 0) -> Path:
    from PIL import Image
    Image.new("RGB", size, "#0B3D91").save(path, "PNG")
    if pad:
        with open(path, "ab") as f:
            f.write(b"\0" * pad)   # trailing bytes after IEND: still opens, only the size is wrong
    return path


@pytest.mark.parametrize("case,expect", [
    ("absolute", "points outside the folder"),
    ("dotdot", "points outside the folder"),
    ("link", "symbolic link"),
    ("linked-folder", "symbolic link"),
    ("not-an-image", "must be an .svg, .png or .jpg file"),
    ("fake-png", "is not a readable PNG image"),
    ("huge", "a logo may be at most 5,242,880 bytes"),
    ("missing", "is not a file in the folder"),
    ("name-not-text", "firm.name"),
    ("colour", "firm.primary_color"),
    ("big-client-json", "larger than 1,048,576 bytes"),
    ("period", "there is no month 13"),
])
def test_render_evidence_trusts_nothing_in_client_json(produced, tmp_path, capsys, case, expect):
    folder = tmp_path / "good-bank"
    import shutil
    shutil.copytree(produced, folder)
    record = json.loads((folder / "client.json").read_text())
    firm = record["firm"]
    if case == "absolute":
        firm["logo"] = "/etc/passwd"
    elif case == "dotdot":
        firm["logo"] = "branding/../../../../../../etc/passwd"
    elif case == "link":
        (folder / "branding" / "evil.svg").symlink_to("/etc/passwd")
        firm["logo"] = "branding/evil.svg"
    elif case == "linked-folder":
        (tmp_path / "elsewhere").mkdir()
        shutil.copy(folder / "branding" / "logo.svg", tmp_path / "elsewhere" / "logo.svg")
        (folder / "art").symlink_to(tmp_path / "elsewhere")
        firm["logo"] = "art/logo.svg"
    elif case == "not-an-image":
        firm["logo"] = "results.json"
    elif case == "fake-png":
        (folder / "branding" / "fake.png").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
        firm["logo"] = "branding/fake.png"
    elif case == "huge":
        firm["logo"] = _png(folder / "branding" / "huge.png", pad=6 * 1024 * 1024).relative_to(folder).as_posix()
    elif case == "missing":
        firm["logo"] = "branding/nothing.svg"
    elif case == "name-not-text":
        firm["name"] = {"$ref": "/etc/passwd"}
    elif case == "colour":
        firm["primary_color"] = "red;background:url(file:///etc/passwd)"
    elif case == "period":
        record["period"] = "2026-13"
    if case == "big-client-json":
        record["padding"] = "x" * (1024 * 1024)
    (folder / "client.json").write_text(json.dumps(record))
    before = _tree(tmp_path)
    assert main(["render", "--evidence", str(folder), "--out", str(tmp_path / "rendered")]) == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err, err
    assert "root:x:0:0" not in err
    assert _tree(tmp_path) == before, "nothing may be written"
    assert main(["render", "--evidence", str(folder)]) == 2    # in place: refused the same way
    assert _tree(tmp_path) == before


def test_nothing_collected_and_no_gaps_is_not_a_complete_assessment(tmp_path):
    ev = tmp_path / "empty-evidence"
    EvidenceWriter(ev).close("complete", source="graph", tenant_id="00000000-0000-0000-0000-000000000001",
                             collected_at="2026-12-01T06:00:00Z", lookback_days=30,
                             window={"start": "2026-11-01T06:00:00Z", "end": "2026-12-01T06:00:00Z"})
    client = {"slug": "empty-bank", "name": "Empty Bank", "institution_type": "bank", "source": "evidence",
              "evidence_dir": str(ev)}
    cfg = write_config(tmp_path, yaml.safe_dump([client]))
    r = cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "1")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out" / PERIOD / "empty-bank"
    doc = json.loads((out / "results.json").read_text())
    statuses = [c["status"] for c in doc["checks"]]
    assert statuses.count("not_evaluated") >= len(statuses) - 3
    # only MMFA-06 may pass: after 1 July 2026 it is judged from the collection date, not from tenant data
    assert {c["id"] for c in doc["checks"] if c["status"] == "pass"} <= {"MMFA-06"}
    assert doc["collection"]["status"] == "partial"
    gaps = {g["source"]: g["reason"] for g in doc["collection"]["gaps"]}
    unjudged = [c["id"] for c in doc["checks"] if c["status"] == "not_evaluated"]
    assert len(unjudged) > 1   # so the sentence below is the plural one
    assert f"the collection recorded no gap, but {len(unjudged)} checks found the data they need missing" \
        in gaps["stored evidence"]
    assert unjudged[0] in gaps["stored evidence"]
    assert "Incomplete assessment" in pdf_text(out / f"empty-bank-{PERIOD}-mfa-compliance.pdf")
    batch = json.loads((out.parent / "batch.json").read_text())
    assert batch["clients"][0]["collection_status"] == "partial"


def test_terminal_escapes_from_graph_never_reach_the_terminal(tmp_path, fake_graph):
    esc_code = "\x1b]0;owned\x07\x1b[2J\x1b[31mInvalidAuthenticationToken\u202e"
    esc_msg = "\x1b[1A\x1b[2K[1/1] ok      fake-line\r\nforged"
    t = demo.build_tenant("ready", "Escape Bank", PERIOD, users=12)
    fg = fake_graph(t, client_secret=GRAPH_SECRET)
    from reportgen.testing.fakegraph import error
    fg.script("/v1.0/identity/conditionalAccess/namedLocations", error(400, "Bad\x1b[5mRequest", esc_msg))
    revoked = demo.build_tenant("ready", "Revoked \x1b[31m Bank", PERIOD, users=12)
    fg_revoked = fake_graph(revoked, client_secret=GRAPH_SECRET)
    fg_revoked.script("/v1.0/organization", error(401, esc_code, esc_msg), error(401, esc_code, esc_msg))
    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path(fg.ca_bundle_path).read_text() + Path(fg_revoked.ca_bundle_path).read_text())
    clients = [_graph_client("escape-bank", fg, t), _graph_client("revoked-bank", fg_revoked, revoked)]
    clients[1]["name"] = "Revoked \x1b[31m\u202e Bank"
    cfg = write_config(tmp_path, yaml.safe_dump(clients, sort_keys=False))
    r = subprocess_run(cfg, {GRAPH_SECRET_ENV: GRAPH_SECRET, "REQUESTS_CA_BUNDLE": str(bundle)})
    assert r.returncode == 1, r.stderr
    for ch in ("\x1b", "\x07", "\r", "\u202e"):
        assert ch not in r.stderr, repr(ch)
    assert "fake-line" in r.stderr and "forged" in r.stderr   # shown, as text on the same line
    assert not any(line.startswith(("[1/1] ok      fake-line", "forged")) for line in r.stderr.splitlines())
    failed = next(line for line in r.stderr.splitlines() if "FAILED  revoked-bank" in line)
    assert "InvalidAuthenticationToken" in failed
    # off a terminal, a live tenant's collection steps are plain lines
    steps = [line for line in r.stderr.splitlines() if "] escape-bank: " in line]
    assert any(line.endswith("escape-bank: authenticating") for line in steps), r.stderr
    assert any("gap: identity/conditionalAccess/namedLocations" in line for line in steps)
    assert r.stderr.strip().splitlines()[-1].endswith("batch.json")


def subprocess_run(cfg: Path, env: dict):
    return cli("run", "--config", str(cfg), "--period", PERIOD, "--jobs", "2",
               env={**env, "REPORTGEN_GRAPH_BACKOFF_BASE": "0.01"})


@pytest.mark.parametrize("case,expect", [
    ("huge-logo", "a logo may be at most 5,242,880 bytes"),
    ("text-as-png", "is not a readable PNG image"),
    ("jpeg-named-png", "is a JPEG image, not PNG"),
    ("svg-not-xml", "is not an SVG image"),
    ("html-as-svg", "its root element is not <svg>"),
    ("giant-dimensions", "pixels; a logo may be at most 10000x10000"),
    ("huge-history", "larger than 1,048,576 bytes"),
    ("history-not-json", "is not a JSON file"),
])
def test_oversized_or_fake_logo_and_history_are_refused_at_config_time(tmp_path, capsys, case, expect):
    from PIL import Image
    cfg = write_config(tmp_path, DEMO)
    text = cfg.read_text()
    logo = None
    if case == "huge-logo":
        logo = _png(tmp_path / "logo.png", pad=5 * 1024 * 1024 + 1)
    elif case == "text-as-png":
        logo = tmp_path / "logo.png"
        logo.write_text("not a picture")
    elif case == "jpeg-named-png":
        logo = tmp_path / "logo.png"
        Image.new("RGB", (4, 4)).save(logo, "JPEG")
    elif case == "svg-not-xml":
        logo = tmp_path / "logo.svg"
        logo.write_text("<svg <<")
    elif case == "html-as-svg":
        logo = tmp_path / "logo.svg"
        logo.write_text("<html><body><img src='file:///etc/passwd'/></body></html>")
    elif case == "giant-dimensions":
        logo = _png(tmp_path / "logo.png", size=(12000, 1))
    elif case == "huge-history":
        hist = tmp_path / "history.json"
        hist.write_text("[" + " " * (1024 * 1024) + "]")
        text += f"    history: {hist}\n"
    elif case == "history-not-json":
        hist = tmp_path / "history.json"
        hist.write_text("{not json")
        text += f"    history: {hist}\n"
    if logo is not None:
        text = text.replace(str(LOGO), str(logo))
    cfg.write_text(text)
    assert main(["run", "--config", str(cfg), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert expect in err and f"{cfg}:" in err, err
    assert ("firm.logo" if logo is not None else "good-bank: history") in err
    assert not (tmp_path / "out").exists()


def test_pdf_and_workbook_treat_bidi_and_control_characters_by_one_rule():
    from reportgen.display import REMOVED, readable
    from reportgen.render.pdf import clip_text
    from reportgen.render.xlsxutil import clean_text
    for text in ["evil\u202eexe.pdf\u202c", "ctl[\x00\x07\x1b]end", "C1\x85\x9b[2J", "iso\u2066lated\u2069",
                 "lone \ud800 surrogate", "non\ufffe\uffffchar"]:
        assert clip_text(text) == clean_text(text) == readable(text)
        assert REMOVED in readable(text)
        assert not any(ch in readable(text) for ch in "\u202e\u202c\x00\x1b\x85\u2066\ud800\ufffe")
    for kept in ["tab\tnew\nline\rcr", "\u0645\u0631\u062d\u0628\u0627 \u05e2\u05d1\u05e8\u05d9\u05ea", "\U0001f3e6"]:
        assert readable(kept) == kept == clean_text(kept)
