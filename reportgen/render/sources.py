"""The Graph requests the report was read from, in the methodology's and the cover's words; both
come from the dataset registry (``reportgen.datasets``)."""
from __future__ import annotations

from reportgen import datasets
from reportgen.model import SIGNIN_APPS

# (what was read, in the registry's words and case, the request); the apps sign-ins are matched by,
# (name, application id)
GRAPH_SOURCES = [(d.label, d.request + (f" (needs {d.licence})" if d.licence else "")) for d in datasets.REGISTRY]
SIGN_IN_APPS = [(name, app_id) for app_id, name in SIGNIN_APPS.items()]


def source_name(source: str) -> str:
    """A collection gap's source in a board member's words (the cover)."""
    return datasets.label_of(source)
