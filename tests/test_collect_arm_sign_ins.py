"""The collector selects sign-ins by resource as well as by app (checks.md v3, MMFA-03): an Azure
Resource Manager sign-in from any client is collected, another app's sign-in to another resource is
not. Real collector against the fake Graph over HTTPS."""
from __future__ import annotations

from urllib.parse import unquote

from reportgen import model as m
from reportgen.evidence import EvidenceReader
from tests.test_collect_graph import collect, fast, start, tenant  # noqa: F401  (fixtures)

VSCODE = "aebc6443-996d-45c2-90f0-388ff96faa56"
OUTLOOK = "5d661950-3475-41cd-a2c3-d671a3162bc1"


def _extra(t, n: int, app: str, resource: str) -> str:
    s = dict(t.objects["signIns"][0])
    s.update({"id": f"5167ab{n:02d}-0000-4000-8000-000000000000", "appId": app, "appDisplayName": app,
              "resourceId": resource})
    t.objects["signIns"].insert(0, s)
    return s["id"]


def test_arm_sign_ins_from_any_client_are_collected_and_others_are_not(start, tmp_path):  # noqa: F811
    t = tenant()
    arm = _extra(t, 1, VSCODE, m.APP_ARM)
    graph = _extra(t, 2, OUTLOOK, "00000003-0000-0000-c000-000000000000")
    fg = start(t)
    doc, _ = collect(fg, t, tmp_path / "ev")
    assert doc["status"] == "complete", doc["gaps"]
    ids = {s["id"] for s in EvidenceReader(tmp_path / "ev").values("signIns")}
    assert arm in ids and graph not in ids
    queries = [unquote(e["query"]) for e in fg.log if e["path"].endswith("/auditLogs/signIns")]
    assert queries and all(f"resourceId eq '{m.APP_ARM}'" in q and f"appId eq '{m.APP_AZURE_CLI}'" in q
                           for q in queries)
