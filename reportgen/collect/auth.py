"""App-only tokens for Graph through msal (client credentials), and what the token says it may do.

One ``TokenProvider`` per collect call: msal caches the token in memory per application object.
The secret, the private key and the token itself never leave this module except as the
Authorization header built by the HTTP layer; nothing here logs them.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import msal
import requests

from reportgen.collect.credentials import ManagedIdentityApp, TimeoutSession, client_credential
from reportgen.collect.errors import CollectionError, describe_network_error

logger = logging.getLogger(__name__)

# Application permissions the collector needs (docs/graph.md), and what else satisfies each.
REQUIRED_PERMISSIONS: tuple[str, ...] = (
    "Organization.Read.All", "User.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.Read.All",
    "Policy.Read.All", "RoleManagement.Read.Directory", "GroupMember.Read.All",
)
SATISFIED_BY: dict[str, tuple[str, ...]] = {
    "Organization.Read.All": ("Directory.Read.All", "Organization.ReadWrite.All", "Directory.ReadWrite.All"),
    "User.Read.All": ("Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    "GroupMember.Read.All": ("Directory.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All",
                             "Group.ReadWrite.All", "Directory.ReadWrite.All"),
    "UserAuthenticationMethod.Read.All": ("UserAuthenticationMethod.ReadWrite.All",),
    "Policy.Read.All": ("Policy.ReadWrite.ConditionalAccess",),  # partial; reported as write anyway
    "RoleManagement.Read.Directory": ("RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory"),
    "AuditLog.Read.All": (),
}

# Hosts msal knows without instance discovery (msal.authority.WELL_KNOWN_AUTHORITY_HOSTS).
try:
    from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS as _KNOWN_HOSTS
except Exception:  # pragma: no cover - older msal
    _KNOWN_HOSTS = frozenset({"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
                              "login.partner.microsoftonline.cn", "login.microsoft.com", "login.windows.net"})
KNOWN_AUTHORITY_HOSTS = frozenset(_KNOWN_HOSTS) | {"login.chinacloudapi.cn"}


def token_roles(token: str) -> list[str] | None:
    """The ``roles`` claim of a JWT access token (payload decoded, not verified); None if not a JWT."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return None
    try:
        pad = "=" * (-len(parts[1]) % 4)
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + pad))
    except (ValueError, TypeError):
        return None
    if not isinstance(payload, dict):
        return None
    roles = payload.get("roles", [])
    if not isinstance(roles, list):
        return None
    return sorted(r for r in roles if isinstance(r, str))


def is_write_permission(perm: str) -> bool:
    return "Write" in perm or ".ReadWrite." in perm


def analyse_permissions(granted: list[str] | None) -> tuple[list[str] | None, list[str] | None]:
    """(missing, write) for a list of granted application permissions; (None, None) if unknown."""
    if granted is None:
        return None, None
    have = set(granted)
    missing = [p for p in REQUIRED_PERMISSIONS if p not in have and not (have & set(SATISFIED_BY.get(p, ())))]
    write = sorted(p for p in have if is_write_permission(p))
    return missing, write


def _describe_token_error(result: dict[str, Any]) -> str:
    desc = str(result.get("error_description") or "").strip()
    first = desc.splitlines()[0].strip() if desc else ""
    code = str(result.get("error") or "error")
    if first.startswith("AADSTS"):
        num, _, rest = first.partition(":")
        text = f"{num} {rest.strip()}"
    else:
        codes = result.get("error_codes")
        prefix = f"AADSTS{codes[0]} " if isinstance(codes, list) and codes else ""
        text = f"{prefix}{code}" + (f": {first}" if first else "")
    return text[:300]


class TokenProvider:
    """msal ConfidentialClientApplication for one tenant; thread-safe token access and one-shot refresh."""

    def __init__(self, client, *, timeout: float, log=None):
        g = client.graph
        self.client_id = g.client_id
        self.authority = f"{g.authority}/{client.tenant_id}"
        self.scope = f"{g.endpoint}/.default"
        self._log = log or (lambda **_: None)
        self._lock = threading.Lock()
        self._token: str | None = None
        self.generation = 0          # bumps on every new token
        self.kind = g.credential
        if self.kind == "managed_identity" and not g.client_id:
            # the identity's own token: only for the tenant the identity lives in
            self.authority = "managed identity"
            self.app = ManagedIdentityApp(g.managed_identity.client_id, timeout)
            self.granted = None
            return
        credential = client_credential(g, timeout)
        host = (urlsplit(g.authority).hostname or "").lower()
        known = host in KNOWN_AUTHORITY_HOSTS
        session = requests.Session()       # TLS verified; REQUESTS_CA_BUNDLE honoured by requests
        session.verify = True
        session.trust_env = True
        http = TimeoutSession(session, timeout)
        try:
            self.app = msal.ConfidentialClientApplication(
                g.client_id, client_credential=credential, authority=self.authority,
                validate_authority=known, instance_discovery=None if known else False,
                http_client=http, azure_region=None, token_cache=msal.TokenCache())
        except requests.exceptions.RequestException as e:
            raise CollectionError(f"cannot reach the authority: {describe_network_error(e, self.authority)}") from e
        except CollectionError:
            raise
        except ValueError as e:
            text = str(e).splitlines()[0][:300]
            if "HTTP status: 400" in text or "HTTP status: 404" in text:
                raise CollectionError(f"authority {self.authority} does not know this tenant ({text})") from e
            raise CollectionError(f"authority {self.authority} is not usable: {text}") from e
        except Exception as e:  # msal raises a few plain exceptions for bad keys
            raise CollectionError(f"cannot set up authentication: {type(e).__name__}: {str(e)[:200]}") from e
        self.granted: list[str] | None = None

    def _acquire(self) -> str:
        try:
            result = self.app.acquire_token_for_client(scopes=[self.scope])
        except requests.exceptions.RequestException as e:
            raise CollectionError(f"cannot obtain a token: {describe_network_error(e, self.authority)}") from e
        except ValueError as e:
            raise CollectionError(f"authentication failed: {str(e).splitlines()[0][:300]}") from e
        if not isinstance(result, dict) or "access_token" not in result:
            raise CollectionError(f"authentication failed: {_describe_token_error(result or {})}")
        token = result["access_token"]
        self.granted = token_roles(token)
        logger.info("token for %s from %s (%s, %s)", self.scope, self.authority, self.kind,
                    result.get("token_source", "identity provider"))
        self._log(event="token", authority=self.authority, scope=self.scope,
                  source=str(result.get("token_source", "")), granted_permissions=self.granted)
        return token

    def token(self) -> tuple[str, int]:
        with self._lock:
            if self._token is None:
                self._token = self._acquire()
                self.generation += 1
            return self._token, self.generation

    def refresh(self, seen_generation: int) -> tuple[str, int]:
        """A fresh token, unless another thread already refreshed after ``seen_generation``."""
        with self._lock:
            if self.generation == seen_generation:
                self.app.remove_tokens_for_client()
                self._token = self._acquire()
                self.generation += 1
            return self._token, self.generation  # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            self._token = None
        try:
            self.app.http_client.close()
        except Exception:
            pass
