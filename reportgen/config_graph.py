"""The ``graph`` settings of the configuration: which cloud, which app, and one way to sign in
(secret, PEM or PKCS#12 certificate, federated token file, managed identity), with ``firm.graph`` as
every live client's default."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


CLOUDS = {
    "global": ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "usgov": ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    "usgov-dod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    "china": ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
}


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Certificate(StrictModel):
    """The app's certificate: PEM key and certificate files, or one PKCS#12 (PFX) file."""
    private_key: Path | None = None
    public_certificate: Path | None = None
    pkcs12: Path | None = None
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")   # the PKCS#12 password

    @model_validator(mode="after")
    def _one_form(self) -> Certificate:
        pem = self.private_key is not None or self.public_certificate is not None
        if self.pkcs12 is not None and pem:
            raise ValueError("give either pkcs12 (with password_env) or private_key and public_certificate, not both")
        if self.pkcs12 is None and not (self.private_key and self.public_certificate):
            raise ValueError("give pkcs12: FILE (and password_env: NAME), or both private_key and "
                             "public_certificate (PEM files)")
        if self.password_env and self.pkcs12 is None:
            raise ValueError("password_env is the PKCS#12 file's password; PEM private keys are read unencrypted")
        return self

    def files(self) -> dict[str, Path]:
        names = ("pkcs12",) if self.pkcs12 is not None else ("private_key", "public_certificate")
        return {n: getattr(self, n) for n in names}


class ManagedIdentity(StrictModel):
    client_id: str | None = Field(default=None, min_length=1)   # a user-assigned identity; none: system-assigned


# Each is a complete way to sign in; a client that names one replaces the firm's, never mixes with it.
CREDENTIAL_KEYS = ("client_secret_env", "certificate", "federated_token_file", "managed_identity")


class GraphSettings(StrictModel):
    """How to reach one tenant. ``firm.graph`` holds the same keys as a default for every live client."""
    cloud: Literal["global", "usgov", "usgov-dod", "china"] = "global"
    client_id: str | None = Field(default=None, min_length=1)
    client_secret_env: str | None = None
    certificate: Certificate | None = None
    federated_token_file: Path | None = None        # workload identity federation: read for each token
    managed_identity: ManagedIdentity | None = None  # on Azure compute
    authority_host: str | None = Field(default=None, pattern=r"^https://[^\s/]+(/\S*)?$")
    graph_endpoint: str | None = Field(default=None, pattern=r"^https://[^\s/]+(/\S*)?$")
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    max_tenant_seconds: float = Field(default=1800.0, gt=0)

    @field_validator("client_secret_env")
    @classmethod
    def _variable_name(cls, v: str | None) -> str | None:
        # The value is never repeated in the message: it may be the secret itself, pasted here.
        if v is not None and not ENV_NAME_RE.fullmatch(v):
            raise ValueError("this must be the name of an environment variable (letters, digits and _, "
                             "such as CLIENT_SECRET_FIRSTBANK), not the secret itself; put the secret in "
                             "that variable")
        return v

    @model_validator(mode="after")
    def _one_credential(self) -> GraphSettings:
        given = [k for k in CREDENTIAL_KEYS if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one way to sign in, not {' and '.join(given)}")
        return self

    @property
    def credential(self) -> str | None:
        """secret | certificate | pkcs12 | federated | managed_identity, or None when none is given."""
        if self.certificate is not None:
            return "pkcs12" if self.certificate.pkcs12 is not None else "certificate"
        if self.federated_token_file is not None:
            return "federated"
        if self.managed_identity is not None:
            return "managed_identity"
        return "secret" if self.client_secret_env else None

    def incomplete(self) -> str | None:
        """What a live client still lacks to sign in (after inheriting firm.graph), in words."""
        if self.credential is None:
            return ("give one way to sign in: client_secret_env, certificate, federated_token_file or "
                    "managed_identity (here or in firm.graph)")
        if self.client_id is None and self.credential != "managed_identity":
            return "client_id is missing: the app's Application (client) ID, here or in firm.graph"
        return None

    @property
    def authority(self) -> str:
        return (self.authority_host or CLOUDS[self.cloud][0]).rstrip("/")

    @property
    def endpoint(self) -> str:
        return (self.graph_endpoint or CLOUDS[self.cloud][1]).rstrip("/")


def resolve_path(base: Path, p: Path | None) -> Path | None:
    if p is None:
        return None
    return p if p.is_absolute() else (base / p).resolve()


def certificate_problems(g: GraphSettings | None, f: Path, lines, at: tuple, where: str) -> list[str]:
    """A certificate file named in a graph section (at ``at + ('graph',)``) that does not exist."""
    if g is None or g.certificate is None:
        return []
    return [f"{f}:{lines.line_of(at + ('graph', 'certificate', attr))}: {where}.certificate.{attr}: "
            f"file {p} not found" for attr, p in g.certificate.files().items() if not p.is_file()]


def fix_graph_paths(g: GraphSettings | None, base: Path) -> None:
    if g is None:
        return
    if g.federated_token_file is not None:   # assigning marks a key as given, which inheritance reads
        g.federated_token_file = resolve_path(base, g.federated_token_file)
    if g.certificate:
        for attr, p in g.certificate.files().items():
            setattr(g.certificate, attr, resolve_path(base, p))


def inherit_graph(firm: GraphSettings | None, own: GraphSettings | None) -> GraphSettings | None:
    """A client's graph settings over the firm's: each key the client gives wins, and a client that
    gives a way to sign in takes none of the firm's (a secret and a certificate never mix)."""
    if firm is None or own is None:
        return (own or firm).model_copy(deep=True) if (own or firm) else None
    mine = own.model_dump(exclude_unset=True)
    base = firm.model_dump(exclude_unset=True)
    if any(mine.get(k) is not None for k in CREDENTIAL_KEYS):
        base = {k: v for k, v in base.items() if k not in CREDENTIAL_KEYS}
    return GraphSettings.model_validate({**base, **mine})
