"""Property: whatever Unicode a tenant holds (lone surrogates, C0/C1 controls, ESC, bidi overrides,
non-characters, 100 KB strings) in any of its string fields, the client still gets a PDF, a workbook
and a strictly valid results.json, and the folder verifies. Few examples and a small tenant: each
one runs the whole pipeline."""
from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from reportgen.collect import demo
from reportgen.config import Client
from reportgen.controls import load_catalogs
from reportgen.evidence import EvidenceWriter
from reportgen.package import verify
from reportgen.pipeline import Job, run_client

PERIOD = "2026-10"
# Keys that carry identifiers, links or timestamps: changing them breaks the links between objects
# rather than testing text. Every other string in the tenant is fuzzed.
_IDENTIFIER = re.compile(r"^(id|@odata\..*|.*Id|.*DateTime|include\w*|exclude\w*)$")
NASTY = ["\ud800", "\udfff", "\ud83d", "\x00", "\x1b[2J\x1b]0;t\x07", "\x85\x9b", "\u202e", "\u2066", "\u200f",
         "\ufffe", "\uffff", "\r\n", "=HYPERLINK(\"http://x\")", "<img src=file:///etc/passwd>"]
PIECES = st.one_of(st.characters(), st.characters(), st.sampled_from(NASTY))
SHORT = st.lists(PIECES, max_size=12).map("".join)
HUGE = st.lists(PIECES, min_size=1, max_size=6).map("".join).map(lambda s: (s * (100_000 // len(s) + 1))[:100_000])
POISONS = st.lists(SHORT, min_size=1, max_size=5)
# 100 KB strings go into a few fields (a name, a policy, a sign-in ...), not into all of them: a tenant
# of nothing but 100 KB strings is refused by the evidence limits, which is another test's business.
HUGE_AT = (3, 41, 150, 389)

_BASE: dict[str, demo.Tenant] = {}
_CATALOGS = []


def base_tenant() -> demo.Tenant:
    if "t" not in _BASE:
        _BASE["t"] = demo.build_tenant("seed-problems", "Property Bank", PERIOD, users=8)
    t = _BASE["t"]
    return demo.Tenant(tenant_id=t.tenant_id, domain=t.domain, objects=json.loads(json.dumps(t.objects)),
                       groups=json.loads(json.dumps(t.groups)), methods=json.loads(json.dumps(t.methods)),
                       errors=dict(t.errors))


def poison(obj, strings: list[str], huge: list[str], counter: list[int], key: str | None = None):
    """Every string below ``obj`` that is not an identifier, replaced by the strings in turn (and by
    a huge one at the HUGE_AT positions)."""
    if isinstance(obj, dict):
        return {k: poison(v, strings, huge, counter, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [poison(v, strings, huge, counter, key) for v in obj]
    if isinstance(obj, str) and not (key and _IDENTIFIER.match(key)):
        counter[0] += 1
        if huge and counter[0] in HUGE_AT:
            return huge[HUGE_AT.index(counter[0]) % len(huge)]
        return strings[counter[0] % len(strings)]
    return obj


def catalogs():
    if not _CATALOGS:
        _CATALOGS.append(load_catalogs())
    return _CATALOGS[0]


def _strict(value) -> None:
    """Raises on NaN/Infinity (json.loads would accept them)."""
    raise ValueError(f"not strict JSON: {value}")


@settings(max_examples=2, deadline=None, database=None, print_blob=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                 HealthCheck.function_scoped_fixture])
@given(strings=POISONS, huge=st.lists(HUGE, max_size=2))
@example(strings=["Zoe \ud800 Adams", "\x1b[31mred\x1b[0m\x07", "evil\u202eexe.pdf", "\x00\x01\x85\x9f",
                  "half an emoji \ud83d"], huge=["L" * 100_000, "\u202e\ud800\x1b" * 33_334])
def test_any_unicode_in_tenant_strings_still_gives_a_verified_report(tmp_path_factory, strings, huge):
    tmp = tmp_path_factory.mktemp("prop")
    t = base_tenant()
    counter = [0]
    t.objects = poison(t.objects, strings, huge, counter)
    t.groups = poison(t.groups, strings, huge, counter)
    t.methods = poison(t.methods, strings, huge, counter)
    assert counter[0] > 100   # names, UPNs, mails, states, method names, app names ... all replaced
    ev = tmp / "evidence-in"
    demo.write_evidence(t, EvidenceWriter(ev), lookback_days=30, collected_at=demo.collection_time(PERIOD))
    client = Client.model_validate({"slug": "prop-bank", "name": "Property Bank", "institution_type": "bank",
                                    "source": "evidence", "evidence_dir": str(ev),
                                    "emergency_access_accounts": ["bg-01@propertybank.onmicrosoft.com"]})
    firm = {"name": "Test Partners", "logo": None, "primary_color": "#0B3D91", "accent_color": "#F2A900",
            "contact": "", "disclaimer": ""}
    defaults = {"lookback_days": 30, "dormant_days": 90, "output_dir": "out",
                "service_account_pattern": r"(?i)^svc[-_.]", "max_rows_in_pdf": 25}
    job = Job(client=client, firm=firm, defaults=defaults, period=PERIOD, out_root=tmp / "out")
    run_client(job, catalogs=catalogs())

    folder = job.final_dir
    assert verify(folder) == []
    raw = (folder / "results.json").read_bytes()
    doc = json.loads(raw.decode("utf-8"), parse_constant=_strict)   # valid UTF-8, no NaN/Infinity
    json.dumps(doc, allow_nan=False, ensure_ascii=False).encode("utf-8")   # and no lone surrogate in it
    assert doc["client"]["slug"] == "prop-bank" and len(doc["checks"]) > 10
    pdf = folder / f"prop-bank-{PERIOD}-mfa-compliance.pdf"
    assert len(PdfReader(pdf).pages) > 3
    wb = load_workbook(folder / f"prop-bank-{PERIOD}-mfa-compliance.xlsx", read_only=True)
    assert "Summary" in wb.sheetnames
    wb.close()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    assert Path(pdf).stat().st_mode & 0o077 == 0
