"""The sentences a client or examiner reads count as a careful person writes: "1 user is", "3 users
are", "4,480 users"; a moment is a readable UTC date and an authentication method its reader label."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from reportgen.checks.common import methods_text, when
from reportgen.dates import day_text, time_text
from reportgen.vocab import METHOD_LABELS, count, verb

NOUNS = (r"users?|accounts?|sign-ins?|guests?|holders?|administrators?|assignments?|eligibilit(?:y|ies)|checks?|"
         r"days?|records?|groups?|locations?|tenants?|polic(?:y|ies)|subjects?|clients?|problems?|shards?")
# a count of 4 or more digits with no thousands separator, before the noun it counts ("4480 of 4618 users")
UNFORMATTED = re.compile(rf"(?<![\w.,:/-])\d{{4,}}(?![\d,.:/-])\s+(?:of\s+\S+\s+)?(?:[A-Za-z-]+\s+){{0,3}}?(?:{NOUNS})\b",
                         re.IGNORECASE)
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT")
# method ids that are not plain words (password, email and sms read as themselves)
RAW_METHOD = re.compile(r"\b(?:" + "|".join(k for k in METHOD_LABELS if re.search(r"[A-Z0-9]", k)) + r")\b")


def _sentences(doc: dict) -> list[tuple[str, str]]:
    """(where, text) for every check reason, affected detail and action-plan reason of one results.json."""
    out = []
    for c in doc["checks"]:
        out.append((f"{c['id']} reason", c["reason"]))
        out += [(f"{c['id']} detail of {a['upn']}", a["detail"]) for a in c["affected"] if a.get("detail")]
    out += [(f"action plan {a['finding_key']}", a["why"]) for a in doc.get("action_plan") or []]
    out += [(f"gap {g['source']}", g["reason"]) for g in doc["collection"].get("gaps") or []]
    return out


def test_demo_sentences_count_and_date_as_a_person_writes(demo_run):
    docs = {p.parent.name: json.loads(p.read_text()) for p in sorted(demo_run.glob("*/results.json"))}
    assert len(docs) >= 5
    seen = 0
    bad = []
    for slug, doc in docs.items():
        for where, text in _sentences(doc):
            seen += 1
            for what, found in (("'(s)'", "(s)" in text), ("an unformatted count", UNFORMATTED.search(text)),
                                ("an ISO timestamp", ISO_TIME.search(text)), ("a raw method id", RAW_METHOD.search(text))):
                if found:
                    bad.append(f"{slug} {where}: {what}: {text}")
    assert seen > 100
    assert not bad, "\n".join(bad[:20])


def test_demo_shows_the_big_tenant_with_thousands_separators(demo_run):
    """The largest demo tenant has thousands of members: its registration finding must show them so."""
    reasons = [c["reason"] for p in demo_run.glob("*/results.json") for c in json.loads(p.read_text())["checks"]
               if c["id"] == "MFA-02"]
    assert any(re.search(r"\d,\d{3} of \d,\d{3} enabled member users", r) for r in reasons), reasons


def test_patterns_catch_the_old_wording():
    """The demo test above can fail: each pattern finds the sentences this project used to print."""
    assert UNFORMATTED.search("4480 of 4618 enabled member users (97.0%) are MFA-capable")
    assert UNFORMATTED.search("Sign-in logs were read (12000 sign-ins to the admin portals)")
    assert not UNFORMATTED.search("4,480 of 4,618 enabled member users; last 14 Nov 2026 09:12 UTC")
    assert ISO_TIME.search("last successful sign-in 2026-05-29T11:06:40Z")
    assert RAW_METHOD.search("methods: microsoftAuthenticatorPush, mobilePhone")
    assert not RAW_METHOD.search("methods: Authenticator push, Phone (SMS/call)")


@pytest.mark.parametrize("n, words", [(0, "0 users"), (1, "1 user"), (2, "2 users"), (1000, "1,000 users"),
                                      (4480, "4,480 users")])
def test_count(n, words):
    assert count(n, "user") == words


@pytest.mark.parametrize("n, words", [(0, "0 MFA policies are"), (1, "1 MFA policy is"), (2, "2 MFA policies are"),
                                      (1000, "1,000 MFA policies are")])
def test_count_with_an_irregular_plural_and_its_verb(n, words):
    assert f"{count(n, 'MFA policy', 'MFA policies')} {verb(n, 'is', 'are')}" == words


@pytest.mark.parametrize("n, word", [(0, "have"), (1, "has"), (2, "have"), (1000, "have")])
def test_verb_agrees_with_the_count(n, word):
    assert verb(n, "has", "have") == word


def test_times_and_methods_in_sentences():
    moment = datetime(2026, 11, 5, 19, 3, 40, tzinfo=UTC)
    assert day_text(moment) == "5 Nov 2026"
    assert time_text(moment) == "5 Nov 2026 19:03 UTC"
    assert when(moment) == "5 Nov 2026 19:03 UTC" and when(None) == "never"
    assert methods_text(["microsoftAuthenticatorPush", "fido2SecurityKey", "softwareOneTimePasscode"]) == \
        "Authenticator push, FIDO2 key, Software code (OTP)"
    assert methods_text([]) == "none"


def test_an_unknown_id_reads_as_words():
    """A method or value Microsoft adds later is shown as words, never run together or as raw camelCase."""
    from reportgen.vocab import label
    assert label({}, "someNewMethod") == "Some new method"
    assert label({}, "not_evaluated") == "Not evaluated"
    assert label({"fido2": "FIDO2 key"}, "fido2") == "FIDO2 key"
