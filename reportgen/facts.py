"""Microsoft's facts that change with time (role template ids, app ids, licence SKUs and plans,
authentication strengths, authenticator AAGUIDs), read from ``microsoft-facts.yaml`` in the
catalog folder. Validated on load; a problem is a ``CatalogError`` naming ``path:line``.

``FACTS`` is the bundled file, loaded once on import; ``reportgen.model`` exposes its values under
the names the rest of the code uses.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.paths import CATALOG_DIR
from reportgen.yamlsrc import ValidatedFile

FACTS_FILE = "microsoft-facts.yaml"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
APP_KEYS = ("azure_portal", "m365_admin", "azure_cli", "azure_powershell", "azure_mobile", "azure_resource_manager")


STRENGTH_KEYS = ("mfa", "passwordless", "phishing_resistant")


@dataclass(frozen=True)
class Strength:
    id: str
    name: str
    phishing_resistant: bool
    key: str = ""


@dataclass(frozen=True)
class Facts:
    version: str
    global_admin: str
    privileged_roles: dict[str, str]          # template id -> name, most powerful first
    apps: dict[str, tuple[str, str]]          # key -> (app id, name)
    plan_p1: str
    plan_p2: str
    skus: dict[str, str]                      # skuId -> "p1" | "p2"
    sku_names: dict[str, str]                 # skuId -> product name
    active_states: frozenset[str]
    inactive_states: frozenset[str]
    mailbox_plans: frozenset[str]
    strengths: dict[str, Strength]            # built-in authentication strengths by id

    def strength_id(self, key: str) -> str:
        return next(s.id for s in self.strengths.values() if s.key == key)

    def fido2_kind(self, aaguid: str | None) -> tuple[str, str]:
        """(kind, provider name) of a FIDO2 method's AAGUID; ("unknown", "") when it is not listed."""
        return self.fido2_kinds.get((aaguid or "").strip().lower(), ("unknown", ""))
    multifactor_combinations: frozenset[str]  # normalised (parts sorted)
    phishing_resistant_combinations: frozenset[str]
    authenticator_aaguids: frozenset[str]
    fido2_kinds: dict[str, tuple[str, str]]   # aaguid -> (kind, name); kinds in FIDO2_KINDS
    mfa_required_errors: frozenset[int]       # sign-in error codes that say MFA was required
    path: Path
    sha256: str
    directory_sync: str = ""                  # role template id of Directory Synchronization Accounts


def combination(value: str) -> str:
    """An authentication-strength combination in a comparable form (parts sorted)."""
    return ",".join(sorted(p.strip() for p in value.split(",") if p.strip()))


def _strengths(f: ValidatedFile, value: Any, src: dict[str, bool], guid: Callable[[Any, tuple, str], str],
               ) -> tuple[dict[str, Strength], frozenset, frozenset]:
    """The built-in authentication strengths and the method combinations that count as MFA and as
    phishing-resistant MFA."""
    st = f.mapping(value, ("authentication_strengths",), "authentication_strengths",
                   {**src, "builtin": True, "multifactor_combinations": True, "phishing_resistant_combinations": True})
    strengths = {}
    for i, s in enumerate(st["builtin"] if isinstance(st["builtin"], list) else []):
        at = ("authentication_strengths", "builtin", i)
        s = f.mapping(s, at, f"builtin[{i}]", {"key": True, "id": True, "name": True, "phishing_resistant": True})
        sid = guid(s["id"], at + ("id",), "strength id")
        strengths[sid] = Strength(sid, f.text(s["name"], at + ("name",), "name"),
                                  f.flag(s["phishing_resistant"], at + ("phishing_resistant",), "phishing_resistant"),
                                  f.enum(s["key"], at + ("key",), "key", STRENGTH_KEYS))
    if {x.key for x in strengths.values()} != set(STRENGTH_KEYS):
        raise f.err(("authentication_strengths", "builtin"), f"builtin must name each of {', '.join(STRENGTH_KEYS)} once")
    mfa_combos = frozenset(combination(c) for c in f.text_list(st["multifactor_combinations"],
                                                               ("authentication_strengths", "multifactor_combinations"),
                                                               "multifactor_combinations"))
    pr_combos = frozenset(combination(c) for c in f.text_list(st["phishing_resistant_combinations"],
                                                              ("authentication_strengths", "phishing_resistant_combinations"),
                                                              "phishing_resistant_combinations"))
    if not pr_combos <= mfa_combos:
        raise f.err(("authentication_strengths", "phishing_resistant_combinations"),
                    "every phishing-resistant combination must also be a multifactor combination")
    return strengths, mfa_combos, pr_combos


def load_facts(path: Path | str | None = None) -> Facts:
    path = Path(path) if path is not None else CATALOG_DIR / FACTS_FILE
    f = ValidatedFile(path)
    doc = f.mapping(f.data, (), FACTS_FILE, {"version": True, "roles": True, "apps": True, "licences": True,
                                            "authentication_strengths": True, "passkeys": True,
                                            "sign_in_errors": True})

    def guid(value, at: tuple, what: str) -> str:
        text = f.text(value, at, what).lower()
        if not _GUID.match(text):
            raise f.err(at, f"{what} must be a GUID, not {value!r}")
        return text

    def guids(value, at: tuple, what: str) -> list[str]:
        return [guid(v, at + (i,), f"{what}[{i}]") for i, v in enumerate(f.text_list(value, at, what))]

    src = {"source": True, "checked": True}
    roles = f.mapping(doc["roles"], ("roles",), "roles", {**src, "global_administrator": True, "privileged": True,
                                                           "directory_synchronization": False})
    privileged: dict[str, str] = {}
    if not isinstance(roles["privileged"], list) or not roles["privileged"]:
        raise f.err(("roles", "privileged"), "roles.privileged must be a non-empty list")
    for i, r in enumerate(roles["privileged"]):
        at = ("roles", "privileged", i)
        r = f.mapping(r, at, f"roles.privileged[{i}]", {"id": True, "name": True, "microsoft_privileged": True})
        rid = guid(r["id"], at + ("id",), "role id")
        if rid in privileged:
            raise f.err(at, f"role {rid} is listed twice")
        f.flag(r["microsoft_privileged"], at + ("microsoft_privileged",), "microsoft_privileged")
        privileged[rid] = f.text(r["name"], at + ("name",), "role name")
    ga = guid(roles["global_administrator"], ("roles", "global_administrator"), "roles.global_administrator")
    if ga not in privileged:
        raise f.err(("roles", "global_administrator"), "the Global Administrator role must be among the privileged roles")

    apps_doc = f.mapping(doc["apps"], ("apps",), "apps", {**src, **{k: True for k in APP_KEYS}})
    apps = {}
    for key in APP_KEYS:
        a = f.mapping(apps_doc[key], ("apps", key), f"apps.{key}", {"id": True, "name": True})
        apps[key] = (guid(a["id"], ("apps", key, "id"), f"apps.{key}.id"), f.text(a["name"], ("apps", key, "name"), "name"))

    lic = f.mapping(doc["licences"], ("licences",), "licences", {**src, "plans": True, "skus": True,
                                                                 "active_states": True, "inactive_states": True,
                                                                 "mailbox_plans": True})
    plans = f.mapping(lic["plans"], ("licences", "plans"), "licences.plans", {"entra_id_p1": True, "entra_id_p2": True})
    skus, sku_names = {}, {}
    for i, s in enumerate(lic["skus"] if isinstance(lic["skus"], list) else []):
        at = ("licences", "skus", i)
        s = f.mapping(s, at, f"licences.skus[{i}]", {"id": True, "part": True, "name": True, "includes": True})
        sid = guid(s["id"], at + ("id",), "skuId")
        skus[sid] = f.enum(s["includes"], at + ("includes",), "includes", ("p1", "p2"))
        sku_names[sid] = f.text(s["name"], at + ("name",), "name")
        f.text(s["part"], at + ("part",), "part")

    strengths, mfa_combos, pr_combos = _strengths(f, doc["authentication_strengths"], src, guid)

    pk = f.mapping(doc["passkeys"], ("passkeys",), "passkeys", {**src, "authenticator_aaguids": True,
                                                               "providers": True, "hardware_keys": True})
    kinds = _fido2_kinds(f, pk, guid)
    version = doc["version"]
    return Facts(
        version=f.text(str(version) if isinstance(version, (int, float)) else version, ("version",), "version"),
        global_admin=ga, privileged_roles=privileged, apps=apps,
        plan_p1=guid(plans["entra_id_p1"], ("licences", "plans", "entra_id_p1"), "entra_id_p1"),
        plan_p2=guid(plans["entra_id_p2"], ("licences", "plans", "entra_id_p2"), "entra_id_p2"),
        skus=skus, sku_names=sku_names,
        active_states=frozenset(f.text_list(lic["active_states"], ("licences", "active_states"), "active_states")),
        inactive_states=frozenset(f.text_list(lic["inactive_states"], ("licences", "inactive_states"), "inactive_states")),
        mailbox_plans=frozenset(guids(lic["mailbox_plans"], ("licences", "mailbox_plans"), "mailbox_plans")),
        strengths=strengths, multifactor_combinations=mfa_combos, phishing_resistant_combinations=pr_combos,
        authenticator_aaguids=frozenset(guids(pk["authenticator_aaguids"], ("passkeys", "authenticator_aaguids"),
                                              "authenticator_aaguids")),
        fido2_kinds=kinds, mfa_required_errors=_error_codes(f, doc["sign_in_errors"]), path=path, sha256=f.sha256,
        directory_sync=guid(roles["directory_synchronization"], ("roles", "directory_synchronization"),
                            "roles.directory_synchronization") if roles.get("directory_synchronization") else "")


def _fido2_kinds(f: ValidatedFile, pk: dict, guid) -> dict[str, tuple[str, str]]:
    """AAGUID -> (kind, name) from the passkeys section; an AAGUID listed under two kinds is refused."""
    kinds: dict[str, tuple[str, str]] = {}

    def add(items, at: tuple, kind: str) -> None:
        if not isinstance(items, list) or not items:
            raise f.err(at, f"{'.'.join(map(str, at))} must be a non-empty list")
        for i, item in enumerate(items):
            item = f.mapping(item, at + (i,), f"{at[-1]}[{i}]", {"aaguid": True, "name": True})
            aaguid = guid(item["aaguid"], at + (i, "aaguid"), "aaguid")
            if aaguid in kinds and kinds[aaguid][0] != kind:
                raise f.err(at + (i,), f"AAGUID {aaguid} is listed as {kinds[aaguid][0]} and as {kind}")
            kinds[aaguid] = (kind, f.text(item["name"], at + (i, "name"), "name"))

    prov = f.mapping(pk["providers"], ("passkeys", "providers"), "passkeys.providers",
                     {"source": True, "checked": True, "windows_hello": True, "synced": True})
    hw = f.mapping(pk["hardware_keys"], ("passkeys", "hardware_keys"), "passkeys.hardware_keys",
                   {"source": True, "checked": True, "keys": True})
    add(hw["keys"], ("passkeys", "hardware_keys", "keys"), "hardware")
    add(prov["windows_hello"], ("passkeys", "providers", "windows_hello"), "windows_hello")
    add(prov["synced"], ("passkeys", "providers", "synced"), "synced")
    for a in pk["authenticator_aaguids"] if isinstance(pk["authenticator_aaguids"], list) else []:
        kinds[str(a).lower()] = ("authenticator", "Microsoft Authenticator")
    return kinds


def _error_codes(f: ValidatedFile, value) -> frozenset[int]:
    at = ("sign_in_errors",)
    doc = f.mapping(value, at, "sign_in_errors", {"source": True, "checked": True, "mfa_required": True})
    items = doc["mfa_required"]
    if not isinstance(items, list) or not items:
        raise f.err(at + ("mfa_required",), "sign_in_errors.mfa_required must be a non-empty list")
    codes = set()
    for i, item in enumerate(items):
        item = f.mapping(item, at + ("mfa_required", i), f"mfa_required[{i}]", {"code": True, "name": True})
        if not isinstance(item["code"], int) or isinstance(item["code"], bool):
            raise f.err(at + ("mfa_required", i, "code"), f"code must be a number, not {item['code']!r}")
        f.text(item["name"], at + ("mfa_required", i, "name"), "name")
        codes.add(item["code"])
    return frozenset(codes)


FIDO2_KINDS = ("hardware", "windows_hello", "synced", "authenticator", "unknown")
FACTS = load_facts()
