"""Closed world: every property and enumeration member Microsoft's Graph schema lists for what the
reader judges is classified in ``reportgen.closedworld``. When the schema file is updated and this
test fails, it names what Microsoft added and what you have to decide."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportgen import closedworld as cw  # noqa: E402
from tests.shared import shared_dir  # noqa: E402

POLICY_ROOTS = ("conditionalAccessConditionSet", "conditionalAccessGrantControls")
SPEC_ENUMS = ("riskLevel", "conditionalAccessClientApp", "conditionalAccessDevicePlatform",
              "conditionalAccessGrantControl", "conditionalAccessGuestOrExternalUserTypes",
              "conditionalAccessTransferMethods", "authenticationMethodModes")


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads((shared_dir() / "graph-schema" / "v1.0.json").read_text(encoding="utf-8"))


def _target(type_ref: str) -> str | None:
    m = re.fullmatch(r"(?:Collection\()?graph\.(\w+)\)?", type_ref)
    return m.group(1) if m else None


def _properties(schema: dict, name: str) -> dict[str, str]:
    """A type's own and inherited properties (the entity id excepted)."""
    t = schema["types"][name]
    inherited = _properties(schema, t["base"]) if t.get("base") and t["base"] != "entity" else {}
    return {**inherited, **t["properties"]}


def policy_types(schema: dict) -> dict[str, dict[str, str]]:
    """Every complex type under the condition set and the grant controls, with its properties."""
    out, todo = {}, list(POLICY_ROOTS)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out[name] = _properties(schema, name)
        for ref in out[name].values():
            sub = _target(ref)
            if sub in schema["types"] and schema["types"][sub]["kind"] == "ComplexType":
                todo.append(sub)
    return out


def policy_enums(schema: dict) -> set[str]:
    names = set(SPEC_ENUMS)
    for props in policy_types(schema).values():
        names |= {e for ref in props.values() if (e := _target(ref)) in schema["enums"]}
    return names


def test_every_policy_property_is_classified(schema):
    missing = [f"{t}.{p} ({ref})" for t, props in sorted(policy_types(schema).items()) for p, ref in sorted(props.items())
               if p not in cw.known_properties(t)]
    assert not missing, ("Microsoft's schema lists Conditional Access properties the reader has not classified: "
                         f"{', '.join(missing)}. Decide for each in reportgen/closedworld.py whether it is scope, "
                         "narrows when set, another kind of policy, or never read.")


def test_every_enum_member_is_classified(schema):
    missing = [f"{e}.{x}" for e in sorted(policy_enums(schema) | {"authenticationMethodState",
                                                                  "authenticationMethodTargetType",
                                                                  "externalEmailOtpState"})
               for x in schema["enums"][e]["members"] if cw.member(e, x) is None]
    assert not missing, ("Enumeration members the reader has not classified: " + ", ".join(missing)
                         + ". Add each to closedworld.ENUMS: does it narrow a policy, is it MFA?")


def test_every_method_configuration_is_classified(schema):
    types = [n for n in schema["types"] if n.endswith("AuthenticationMethodConfiguration")]
    assert len(types) >= 10
    unlisted = [n for n in types if n not in cw.METHOD_CONFIGS]
    missing = [f"{n}.{p}" for n in ["authenticationMethodConfiguration", *types]
               for p in _properties(schema, n) if p not in cw.METHOD_CONFIG_PROPERTIES.get(n, {})]
    assert not unlisted and not missing, (
        f"method configurations not classified: {unlisted}; properties not classified: {missing}. Decide in "
        "closedworld.METHOD_CONFIGS whether the method is weak (SMS, voice, email) and in "
        "METHOD_CONFIG_PROPERTIES whether a property changes who the method is enabled for.")


def test_every_registration_property_is_classified(schema):
    missing = [p for p in _properties(schema, "userRegistrationDetails") if p not in cw.REGISTRATION_PROPERTIES]
    assert not missing, f"userRegistrationDetails properties not classified: {missing}"


def test_the_table_lists_nothing_the_schema_lacks(schema):
    """A name misspelt in the table would classify nothing: every v1.0 entry must exist in the schema."""
    types = policy_types(schema)
    stale = [f"{t}.{p}" for t, props in cw.POLICY_PROPERTIES.items() for p in props if p not in types.get(t, {})]
    assert not stale, stale


def test_the_classification_can_fail(schema):
    """The comparison would notice a new property (not a tautology)."""
    doctored = json.loads(json.dumps(schema))
    doctored["types"]["conditionalAccessApplications"]["properties"]["includeAgents"] = "Collection(Edm.String)"
    props = policy_types(doctored)["conditionalAccessApplications"]
    assert "includeAgents" in props and "includeAgents" not in cw.known_properties("conditionalAccessApplications")
