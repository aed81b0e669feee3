"""Configuration: YAML -> validated, typed settings. Every error names file, line and field.

Validation is complete before anything is written: a config error is exit status 2.
A missing secret environment variable is *not* a config error: it fails only that client,
at collection time, so the other clients are still produced.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator, model_validator

from reportgen.config_graph import (  # noqa: F401
    CLOUDS,
    CREDENTIAL_KEYS,
    ENV_NAME_RE,
    Certificate,
    GraphSettings,
    ManagedIdentity,
    StrictModel,
    certificate_problems,
    fix_graph_paths,
    inherit_graph,
    resolve_path,
)
from reportgen.history import history_problem
from reportgen.images import logo_problem
from reportgen.vocab import DEFAULT_ACCENT, DEFAULT_PRIMARY, DEFAULT_SERVICE_ACCOUNT_PATTERN, REGULATOR_TYPES, Severity
from reportgen.yamlsrc import YamlError, load_yaml

SLUG_RE = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DOMAIN_RE = re.compile(r"(?=.{4,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
COLOR_RE = r"^#[0-9A-Fa-f]{6}$"

# What the configuration may name but does not define: check ids (for exceptions) and demo profiles.
# The caller passes them as pydantic validation context, so this stage imports no later one.
CHECK_IDS_KEY, DEMO_PROFILES_KEY, FRAMEWORK_IDS_KEY = "check_ids", "demo_profiles", "framework_ids"


def _known(info: ValidationInfo, key: str) -> Sequence[str] | None:
    return (info.context or {}).get(key)

def tenant_id_problem(value: str) -> str | None:
    """What is wrong with a tenant id, in words; None when it is a GUID or a domain name."""
    if GUID_RE.fullmatch(value) or DOMAIN_RE.fullmatch(value):
        return None
    core = value.strip("{}").replace("-", "")
    hexish = ("-" in value and "." not in value and core
              and sum(ch in "0123456789abcdefABCDEF" for ch in core) >= 0.75 * len(core))
    if hexish:
        if value.startswith("{") or value.endswith("}"):
            return "write the tenant id without braces: 8-4-4-4-12 hexadecimal digits"
        groups = [len(g) for g in value.split("-")]
        bad = sorted(set(re.findall(r"[^0-9A-Fa-f-]", value)))
        if bad:
            return (f"a tenant id GUID holds only hexadecimal digits (0-9, a-f); found {', '.join(map(repr, bad))}")
        return (f"a tenant id GUID has groups of 8-4-4-4-12 hexadecimal digits; this one has "
                f"{'-'.join(map(str, groups))}")
    if any(ch.isspace() for ch in value):
        return "a tenant id has no spaces: give the tenant's GUID or one of its verified domains"
    if "@" in value:
        return "this looks like a user name: give the tenant's GUID or its domain (the part after @)"
    if "/" in value or ":" in value:
        return "give the tenant's GUID or domain, not a URL"
    return "neither a GUID (8-4-4-4-12 hexadecimal digits) nor a domain name (such as firstbank.onmicrosoft.com)"


class ConfigError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class ExceptionEntry(StrictModel):
    """An approved written exception for one subject: ``check: X``, ``checks: [X, Y]`` or ``checks: all``."""
    id: str = Field(min_length=1, max_length=64)
    check: str | None = None
    checks: list[str] | Literal["all"] | None = None
    subject: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    approved_on: date
    expires_on: date | None = None
    compensating_control: str = Field(min_length=1)
    reference: str = ""

    @field_validator("check")
    @classmethod
    def _known_check(cls, v: str | None, info: ValidationInfo) -> str | None:
        ids = _known(info, CHECK_IDS_KEY)
        if v is None:
            return v
        if ids is not None and v not in ids:
            hint = difflib.get_close_matches(v, list(ids), n=1)
            raise ValueError(f"unknown check {v!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        return v

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, v: list[str] | str | None, info: ValidationInfo) -> list[str] | str | None:
        if isinstance(v, list):
            if not v:
                raise ValueError("checks must name at least one check, or be 'all'")
            for cid in v:
                cls._known_check(cid, info)
        return v

    @model_validator(mode="after")
    def _one_way_to_name_checks(self) -> ExceptionEntry:
        if (self.check is None) == (self.checks is None):
            raise ValueError("give either check: <id> or checks: [<id>, ...] (or checks: all), not both and not neither")
        return self

    def applies_to(self, check_id: str) -> bool:
        return self.checks == "all" or check_id == self.check or (isinstance(self.checks, list) and check_id in self.checks)

    @property
    def checks_text(self) -> str:
        """The checks it names, as a reader sees them (two ids joined by a comma, or "all checks")."""
        return "all checks" if self.checks == "all" else ", ".join(self.checks or [self.check or ""])

    @property
    def checks_phrase(self) -> str:
        """As a sentence names them: "check X", "checks X, Y" or "all checks"."""
        if self.checks == "all":
            return self.checks_text
        return f"{'check' if len(self.checks or [self.check]) == 1 else 'checks'} {self.checks_text}"

    @field_validator("expires_on")
    @classmethod
    def _expires_after_approval(cls, v: date | None, info: ValidationInfo) -> date | None:
        approved = info.data.get("approved_on")
        if v is not None and isinstance(approved, date) and v < approved:
            raise ValueError(f"expires_on ({v.isoformat()}) is before approved_on ({approved.isoformat()}): "
                             "an exception cannot expire before it was approved")
        return v

    def state_on(self, day: date) -> str:
        if day < self.approved_on:
            return "not_yet_valid"
        if self.expires_on is not None and day > self.expires_on:
            return "expired"
        return "in_force"


class Override(StrictModel):
    """The consultant's judgement on one finding: shown as such in the report, never silently."""
    check: str
    severity: Severity | None = None
    note: str = Field(min_length=1, max_length=1000)
    by: str = Field(min_length=1, max_length=200)

    @field_validator("check")
    @classmethod
    def _known_check(cls, v: str, info: ValidationInfo) -> str:
        return ExceptionEntry._known_check(v, info)


class Attestations(StrictModel):
    phase2_postponed: bool | Literal["unknown"] | None = None


class Client(StrictModel):
    slug: str = Field(pattern=SLUG_RE)
    name: str = Field(min_length=1)
    institution_type: Literal["bank", "credit_union", "nonbank"]
    tenant_id: str = ""
    source: Literal["graph", "demo", "evidence"]
    demo_profile: str | None = None
    evidence_dir: Path | None = None
    graph: GraphSettings | None = None
    emergency_access_accounts: list[str] = Field(default_factory=list)
    attestations: Attestations = Field(default_factory=Attestations)
    exceptions: list[ExceptionEntry] = Field(default_factory=list)
    service_account_pattern: str | None = None
    lookback_days: int | None = Field(default=None, ge=1, le=30)
    dormant_days: int | None = Field(default=None, ge=1, le=3650)
    history: Path | None = None   # earlier periods' summaries, used where the output tree has none
    # consultant workflow (all optional)
    logo: Path | None = None                 # co-branding: shown beside the firm's logo on the cover
    commentary: Path | None = None           # Markdown that leads the executive summary
    overrides: list[Override] = Field(default_factory=list)
    action_plan: Path | None = None          # the client's returned workbook (Action plan sheet) or a CSV
    prepared_by: str | None = Field(default=None, min_length=1, max_length=200)   # "Name, title" for the sign-off
    distribution: list[str] = Field(default_factory=list, max_length=20)         # who receives the report
    # frameworks (contracts v3): the primary regulator names a bank's one CFR appendix; ``frameworks``
    # adds opt-in catalogs (e.g. nydfs-500) to those the institution type brings
    regulator: Literal["occ", "fdic", "frb", "ncua", "ftc", "state"] | None = None
    frameworks: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("tenant_id")
    @classmethod
    def _tenant_format(cls, v: str) -> str:
        problem = tenant_id_problem(v) if v else None
        if problem:
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _frameworks(self, info: ValidationInfo) -> Client:
        if self.regulator is not None and self.institution_type not in REGULATOR_TYPES[self.regulator]:
            raise ValueError(f"regulator {self.regulator} does not regulate a {self.institution_type} "
                             f"(it regulates: {', '.join(REGULATOR_TYPES[self.regulator])})")
        known = _known(info, FRAMEWORK_IDS_KEY)
        for fid in self.frameworks:
            if known is not None and fid not in known:
                raise ValueError(f"frameworks: unknown framework {fid!r} (known: {', '.join(sorted(known))})")
        if len(set(self.frameworks)) != len(self.frameworks):
            raise ValueError("frameworks: a framework is named twice")
        return self

    @model_validator(mode="after")
    def _source_fields(self, info: ValidationInfo) -> Client:
        profiles = _known(info, DEMO_PROFILES_KEY)
        if self.source == "demo":
            if self.demo_profile is None or (profiles is not None and self.demo_profile not in profiles):
                raise ValueError(f"demo_profile must be one of {', '.join(sorted(profiles or ()))}")
        elif self.source == "graph":
            if not self.tenant_id:
                raise ValueError("source: graph needs tenant_id (the tenant's GUID or one of its verified "
                                 "domains, such as firstbank.onmicrosoft.com)")
        elif self.source == "evidence" and self.evidence_dir is None:
            raise ValueError("source: evidence needs evidence_dir")
        ids = [e.id for e in self.exceptions]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate exception id {dup[0]!r}")
        checks = [o.check for o in self.overrides]
        dup = sorted({i for i in checks if checks.count(i) > 1})
        if dup:
            raise ValueError(f"two overrides for check {dup[0]!r}: give one, with one note")
        if self.service_account_pattern:
            try:
                re.compile(self.service_account_pattern)
            except re.error as e:
                raise ValueError(f"service_account_pattern is not a valid regular expression: {e}") from None
        return self


class SigningSettings(StrictModel):
    pkcs12: Path
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    location: str = Field(default="", max_length=200)      # shown in the reader's signature panel


class FirmSettings(StrictModel):
    name: str = Field(min_length=1)
    logo: Path | None = None
    primary_color: str = Field(default=DEFAULT_PRIMARY, pattern=COLOR_RE)
    accent_color: str = Field(default=DEFAULT_ACCENT, pattern=COLOR_RE)
    contact: str = ""
    disclaimer: str = ""
    signing: SigningSettings | None = None   # PDF signature at finalize
    graph: GraphSettings | None = None       # the firm's app: the default of every live client's graph
    review_required: bool = True             # false: reports are issued final, without finalize


class Defaults(StrictModel):
    lookback_days: int = Field(default=30, ge=1, le=30)
    dormant_days: int = Field(default=90, ge=1, le=3650)
    output_dir: str = "out"
    service_account_pattern: str = DEFAULT_SERVICE_ACCOUNT_PATTERN
    max_rows_in_pdf: int = Field(default=25, ge=5, le=500)


class Config(StrictModel):
    firm: FirmSettings
    defaults: Defaults = Field(default_factory=Defaults)
    clients_dir: Path | None = None
    clients: list[Client] = Field(default_factory=list)
    # set by the loader, not by YAML
    path: Path | None = Field(default=None, exclude=True)

    def client(self, slug: str) -> Client:
        return next(c for c in self.clients if c.slug == slug)


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _problems(err: ValidationError, path: Path, lines, prefix: tuple[Any, ...] = (),
              root: type[BaseModel] | None = None) -> list[str]:
    """One ``file:line: field: message`` per error; ``root`` is the model at the top of ``path``
    (Config for the main file, Client for a client file), for the did-you-mean hint."""
    out = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        line = lines.line_of(prefix + loc)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            field = str(loc[-1])
            model = _model_at(root or Config, loc[:-1])
            hint = difflib.get_close_matches(field, list(model.model_fields) if model else [], n=1)
            msg = f"unknown key {field!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        elif e["type"] in ("string_type", "literal_error"):
            msg += yaml_type_hint(e.get("input"), getattr(lines, "raw", {}).get(prefix + loc),
                                  quote=e["type"] == "string_type")
        out.append(f"{path}:{line}: {_fmt_loc(prefix + loc)}: {msg}")
    return out


def yaml_type_hint(value: Any, raw: str | None, quote: bool = True) -> str:
    """Why YAML gave a non-string where text was meant: ``slug: no`` is the boolean false."""
    if raw is None or isinstance(value, str):
        return ""
    if isinstance(value, bool):
        kind = f"as {str(value).lower()}"
    elif isinstance(value, (int, float)):
        kind = f"as the number {value}"
    elif isinstance(value, date):
        kind = "as a date"
    else:
        return ""
    return f" (YAML read {raw} {kind}" + (f"; write it in quotes: \"{raw}\")" if quote else ")")


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that sits at a location of the config tree (for did-you-mean)."""
    import typing
    cur: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(cur, type) and issubclass(cur, BaseModel)) or part not in cur.model_fields:
            return None
        ann = cur.model_fields[part].annotation
        for arg in (typing.get_args(ann) or (ann,)):
            inner = typing.get_args(arg) or (arg,)
            cand = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
            if cand:
                cur = cand
                break
        else:
            return None
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def load_config(path: Path | str, *, check_ids: Sequence[str], demo_profiles: Sequence[str],
                framework_ids: Sequence[str] | None = None) -> Config:
    """Read and validate the configuration. ``check_ids`` and ``demo_profiles`` are what exceptions and
    demo clients may name (the caller knows them; this stage does not import the checks or the demo)."""
    path = Path(path)
    known = {CHECK_IDS_KEY: tuple(check_ids), DEMO_PROFILES_KEY: tuple(demo_profiles),
             **({FRAMEWORK_IDS_KEY: tuple(framework_ids)} if framework_ids is not None else {})}
    problems: list[str] = []
    try:
        data, lines = load_yaml(path)
    except YamlError as e:
        raise ConfigError([str(e)]) from e
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the configuration must be a mapping (firm:, defaults:, clients: ...)"])
    base = path.resolve().parent

    extra_clients, client_lines = _client_files(data, path, lines, base, known, problems)
    try:
        cfg = Config.model_validate(data, context=known)
    except ValidationError as e:
        raise ConfigError(problems + _problems(e, path, lines)) from e

    fix_graph_paths(cfg.firm.graph, base)
    problems += certificate_problems(cfg.firm.graph, path, lines, ("firm",), "firm.graph")
    # Paths inside a client file are relative to that file.
    inline = [(c, path) for c in cfg.clients]
    all_clients = inline + extra_clients
    for c, f in all_clients:
        _fix_client_paths(c, f.resolve().parent)
    cfg.clients = [c for c, _ in all_clients]
    cfg.path = path

    seen: dict[str, Path] = {}
    for i, (c, f) in enumerate(all_clients):
        if f == path:
            at, flines = ("clients", i), lines
        else:
            at, flines = (), client_lines[f]
        if c.slug in seen:
            problems.append(f"{f}:{flines.line_of(at + ('slug',))}: slug: duplicate client slug {c.slug!r} "
                            f"(also in {seen[c.slug]})")
        seen.setdefault(c.slug, f)
        problems += _client_problems(c, f, flines, at, cfg.firm.graph)

    cfg.firm.logo = resolve_path(base, cfg.firm.logo)
    problem = logo_problem(cfg.firm.logo) if cfg.firm.logo is not None else None
    if problem:
        problems.append(f"{path}:{lines.line_of(('firm', 'logo'))}: firm.logo: {problem}")
    if cfg.firm.signing is not None:
        cfg.firm.signing.pkcs12 = resolve_path(base, cfg.firm.signing.pkcs12)
        if not cfg.firm.signing.pkcs12.is_file():
            problems.append(f"{path}:{lines.line_of(('firm', 'signing', 'pkcs12'))}: firm.signing.pkcs12: "
                            f"file {cfg.firm.signing.pkcs12} not found")
    try:
        re.compile(cfg.defaults.service_account_pattern)
    except re.error as e:
        problems.append(f"{path}:{lines.line_of(('defaults', 'service_account_pattern'))}: "
                        f"defaults.service_account_pattern: invalid regular expression: {e}")
    if not cfg.clients and not problems:
        problems.append(f"{path}:1: no clients configured (clients: or clients_dir:)")
    if problems:
        raise ConfigError(problems)
    return cfg


def _client_files(data: dict, path: Path, lines: Any, base: Path, known: dict, problems: list[str],
                  ) -> tuple[list[tuple[Client, Path]], dict[Path, Any]]:
    """Client files: one per client (Maester-style), each validated with its own file and line."""
    extra_clients: list[tuple[Client, Path]] = []
    client_lines: dict[Path, Any] = {}
    clients_dir = data.get("clients_dir")
    if clients_dir is None:
        return extra_clients, client_lines
    cdir = resolve_path(base, Path(str(clients_dir)))
    if not cdir.is_dir():
        problems.append(f"{path}:{lines.line_of(('clients_dir',))}: clients_dir: folder {cdir} does not exist")
        return extra_clients, client_lines
    for f in sorted(cdir.glob("*.y*ml")):
        try:
            cdata, clines = load_yaml(f)
            extra_clients.append((_client_from(cdata, f, clines, known), f))
            client_lines[f] = clines
        except YamlError as e:
            problems.append(str(e))
        except ConfigError as e:
            problems.extend(e.problems)
    return extra_clients, client_lines


def _client_problems(c: Client, f: Path, flines, at: tuple, firm_graph: GraphSettings | None) -> list[str]:
    """What is wrong with one client beyond its schema: files it names, and (inheriting firm.graph
    here) whether a live client can sign in."""
    problems = certificate_problems(c.graph, f, flines, at, f"{c.slug}: graph")
    if c.source == "graph":
        c.graph = inherit_graph(firm_graph, c.graph)
        missing = ("source: graph needs a 'graph' section (or a firm-wide firm.graph)" if c.graph is None
                   else c.graph.incomplete())
        if missing:
            problems.append(f"{f}:{flines.line_of(at + ('graph',))}: {c.slug}: graph: {missing}")
    for key, kinds, limit in CLIENT_FILES:
        problem = _file_problem(getattr(c, key), kinds, limit)
        if problem:
            problems.append(f"{f}:{flines.line_of(at + (key,))}: {c.slug}: {key}: {problem}")
    for key, check in (("logo", logo_problem), ("history", history_problem)):
        problem = check(getattr(c, key)) if getattr(c, key) is not None else None
        if problem:
            problems.append(f"{f}:{flines.line_of(at + (key,))}: {c.slug}: {key}: {problem}")
    if c.source == "evidence" and not (c.evidence_dir / "collection.json").is_file():
        problems.append(f"{f}:{flines.line_of(at + ('evidence_dir',))}: {c.slug}: evidence_dir: "
                        f"{c.evidence_dir} has no collection.json")
    return problems


# Files a client entry may name besides its logo and history (checked by images.py and history.py):
# key, allowed suffixes, largest size in bytes.
CLIENT_FILES = (("commentary", (".md", ".txt"), 100_000), ("action_plan", (".xlsx", ".csv"), 20_000_000))


def _file_problem(p: Path | None, suffixes: tuple[str, ...], limit: int) -> str | None:
    if p is None:
        return None
    if not p.is_file():
        return f"file {p} not found"
    if p.suffix.lower() not in suffixes:
        return f"must be a {', '.join(suffixes[:-1])} or {suffixes[-1]} file, not {p.name}"
    if p.stat().st_size > limit:
        return f"{p.name} is {p.stat().st_size:,} bytes; at most {limit:,} are accepted"
    return None


def _client_from(data: Any, f: Path, lines, known: dict[str, Any]) -> Client:
    layout = ("a client file holds one client at its top level (slug:, name:, institution_type:, "
              "source:, ...)")
    if isinstance(data, dict) and "clients" in data and "slug" not in data:
        raise ConfigError([f"{f}:{lines.line_of(('clients',))}: {layout}, not a 'clients:' list: remove the "
                           "'clients:' line and the '- ' before slug, and write one file per client"])
    if isinstance(data, list):
        raise ConfigError([f"{f}:1: {layout}, not a list: remove the '- ' before slug, one file per client"])
    if not isinstance(data, dict):
        raise ConfigError([f"{f}:1: {layout}"])
    try:
        return Client.model_validate(data, context=known)
    except ValidationError as e:
        raise ConfigError(_problems(e, f, lines, root=Client)) from e


def _fix_client_paths(c: Client, base: Path) -> None:
    c.evidence_dir = resolve_path(base, c.evidence_dir)
    c.history = resolve_path(base, c.history)
    c.logo, c.commentary, c.action_plan = (resolve_path(base, c.logo), resolve_path(base, c.commentary),
                                           resolve_path(base, c.action_plan))
    if c.graph:
        fix_graph_paths(c.graph, base)


def output_root(cfg: Config, out: str | None) -> Path:
    if out:
        return Path(out)
    p = Path(cfg.defaults.output_dir)
    return p if p.is_absolute() else Path.cwd() / p
