"""Small helpers the check families share: affected rows, times and method lists in words, and the
evidence datasets that groups of checks are judged from."""
from __future__ import annotations

from datetime import datetime

from reportgen import datasets
from reportgen.dates import time_text
from reportgen.model import User
from reportgen.results import Affected
from reportgen.vocab import METHOD_LABELS, labels

# Dataset names (reportgen.datasets) for the ``reads=`` of a check.
USERS, GROUPS, GROUP_MEMBERS = datasets.USERS, datasets.GROUPS, datasets.GROUP_MEMBERS
ROLE_ASSIGNMENTS, ROLE_ELIGIBILITY = datasets.ROLE_ASSIGNMENTS, datasets.ROLE_ELIGIBILITY
CA_POLICIES_DS, SECURITY_DEFAULTS, NAMED_LOCATIONS = datasets.CA_POLICIES, datasets.SECURITY_DEFAULTS, datasets.NAMED_LOCATIONS
REGISTRATION_DS, USER_METHODS_DS, METHODS_POLICY = datasets.REGISTRATION, datasets.USER_METHODS, datasets.METHODS_POLICY
SIGN_INS_DS, NON_INTERACTIVE_DS, LICENCES = datasets.SIGN_INS, datasets.SIGN_INS_NON_INTERACTIVE, datasets.SUBSCRIBED_SKUS
ROLE_SCHEDULES = datasets.ROLE_SCHEDULES

ROLE_DATA = (USERS, ROLE_ASSIGNMENTS, ROLE_ELIGIBILITY, GROUP_MEMBERS, GROUPS)
POLICY_DATA_ONLY = (CA_POLICIES_DS, SECURITY_DEFAULTS, NAMED_LOCATIONS)
POLICY_DATA = POLICY_DATA_ONLY + ROLE_DATA
REGISTRATION_DATA = (USERS, REGISTRATION_DS, USER_METHODS_DS)
SIGN_IN_DATA = (USERS, SIGN_INS_DS, NON_INTERACTIVE_DS)


def affected(u: User | None, detail: str, upn: str = "") -> Affected:
    if u is None:
        return Affected(upn=upn, display_name="", detail=detail, object_id="")
    return Affected(upn=u.upn, display_name=u.display_name, detail=detail, object_id=u.id)


def when(dt: datetime | None) -> str:
    """A moment in a sentence ('14 Nov 2026 09:12 UTC'), or "never"."""
    return time_text(dt) if dt else "never"


def sentence(text: str, end: bool = True) -> str:
    """``text`` with a capital first letter (the rest untouched) and, with ``end``, a full stop."""
    text = text[:1].upper() + text[1:]
    return text + "." if end and not text.endswith(".") else text


def methods_text(methods) -> str:
    """Authentication methods by their reader labels ("Authenticator push, FIDO2 key"), or "none"."""
    return labels(METHOD_LABELS, methods) if methods else "none"
