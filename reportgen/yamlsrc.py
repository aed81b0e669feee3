"""A small YAML loader that remembers where every value came from.

``load_yaml(path)`` returns ``(data, lines)``: ``data`` is what ``yaml.safe_load`` would give
(dicts, lists, scalars), ``lines`` maps a key path such as ``("clients", 0, "slug")`` to the
1-based line it was written on, so that a validator can say ``file:line: what is wrong``.

Unlike ``yaml.safe_load`` it refuses duplicate keys in a mapping (PyYAML silently keeps the last
one, which would let a typo'd second ``checks:`` hide the first), and it raises one error type,
``YamlError``, whose text is always ``path:line: problem``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["YamlError", "CatalogError", "LineMap", "ValidatedFile", "load_yaml", "load_yaml_text"]

Key = tuple[Any, ...]


class YamlError(ValueError):
    """A file that is not valid YAML for our purposes. ``str()`` is ``path:line: problem``."""

    def __init__(self, path: Path | str, line: int | None, problem: str):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")


class CatalogError(YamlError):
    """A data file (check metadata or framework catalog) that cannot be used."""


class LineMap(dict):
    """Key path (tuple of mapping keys and list indexes) -> 1-based line number.

    For a mapping entry the line is that of its key; for a list item, that of the item.
    The empty path ``()`` is the document itself.
    """

    def line_of(self, path: Iterable[Any] = ()) -> int:
        """Line of ``path``, or of its nearest recorded ancestor (a missing key is reported at
        the mapping that should hold it). Always returns a usable line number (>= 1)."""
        p = tuple(path)
        while p:
            if p in self:
                return self[p]
            p = p[:-1]
        return self.get((), 1)

    def value_line(self, path: Iterable[Any]) -> int:
        """Line where the *value* at ``path`` starts (differs from ``line_of`` for block values)."""
        p = tuple(path)
        return self._value_lines.get(p) or self.line_of(p)

    def __init__(self) -> None:
        super().__init__()
        self._value_lines: dict[Key, int] = {}
        self.raw: dict[Key, str] = {}   # the text of each scalar YAML did not read as a string (no, 1.10)


_PLAIN_TAGS = {"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}
MAX_DEPTH = 64   # nesting levels; a configuration or catalog needs fewer than ten


def _field(at: Key) -> str:
    keys = [str(k) for k in at]
    return (".".join(keys) + ": ") if keys else ""


class _Builder:
    def __init__(self, path: Path | str, loader: yaml.SafeLoader):
        self.path = path
        self.loader = loader
        self.lines = LineMap()
        self.memo: dict[int, Any] = {}  # aliases: build each node once (no exponential blow-up)

    def err(self, node: Node | None, problem: str) -> YamlError:
        return YamlError(self.path, node.start_mark.line + 1 if node is not None else None, problem)

    def build(self, node: Node, at: Key) -> Any:
        self.lines._value_lines.setdefault(at, node.start_mark.line + 1)
        if len(at) > MAX_DEPTH:
            raise self.err(node, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.memo:
            return self.memo[id(node)]
        if isinstance(node, ScalarNode):
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.YAMLError as e:
                raise self.err(node, f"invalid value: {_problem(e)}") from None
            except (ValueError, TypeError, OverflowError) as e:  # e.g. a date such as 2025-13-45
                what = "date" if node.tag.endswith(":timestamp") else "value"
                raise self.err(node, f"{_field(at)}invalid {what} {node.value!r}: {e}") from None
            if not isinstance(value, str):
                self.lines.raw[at] = node.value
        elif isinstance(node, (SequenceNode, MappingNode)) and node.tag not in _PLAIN_TAGS:
            raise self.err(node, f"unsupported YAML tag {node.tag!r}")
        elif isinstance(node, SequenceNode):
            value = []
            self.memo[id(node)] = value
            for i, item in enumerate(node.value):
                self.lines.setdefault(at + (i,), item.start_mark.line + 1)
                value.append(self.build(item, at + (i,)))
        elif isinstance(node, MappingNode):
            value = {}
            self.memo[id(node)] = value
            merged: dict[Hashable, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    # "<<: *anchor" — explicit keys win over merged ones, as in YAML 1.1.
                    sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                    for src in sources:
                        m = self.build(src, at)
                        if not isinstance(m, dict):
                            raise self.err(key_node, "a merge key (<<) must refer to a mapping")
                        for k, v in m.items():
                            merged.setdefault(k, v)
                    continue
                if not isinstance(key_node, ScalarNode):
                    raise self.err(key_node, "a mapping key must be a plain value, not a list or mapping")
                try:
                    key = self.loader.construct_object(key_node, deep=True)
                except yaml.YAMLError as e:
                    raise self.err(key_node, f"invalid key: {_problem(e)}") from None
                try:
                    hash(key)
                except TypeError:
                    raise self.err(key_node, f"unusable mapping key {key!r}") from None
                line = key_node.start_mark.line + 1
                if key in value:
                    first = self.lines.get(at + (key,))
                    raise self.err(key_node, f"duplicate key {key!r}"
                                   + (f" (first defined on line {first})" if first else ""))
                self.lines[at + (key,)] = line
                value[key] = self.build(value_node, at + (key,))
            for k, v in merged.items():
                value.setdefault(k, v)
        else:  # pragma: no cover - PyYAML has no other node kinds
            raise self.err(node, f"unsupported YAML node {type(node).__name__}")
        self.memo[id(node)] = value
        return value


def _problem(e: yaml.YAMLError) -> str:
    if isinstance(e, yaml.MarkedYAMLError):
        parts = [p for p in (e.context, e.problem) if p]
        return "; ".join(parts) or str(e)
    return str(e)


def _line(e: yaml.YAMLError) -> int | None:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def load_yaml_text(text: str, path: Path | str = "<string>") -> tuple[Any, LineMap]:
    """Parse ``text`` (one YAML document) as if it were the file ``path``."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as e:
            raise YamlError(path, _line(e), f"malformed YAML: {_problem(e)}") from None
        except RecursionError:   # PyYAML composes nested collections recursively
            raise YamlError(path, None, f"nested far more than {MAX_DEPTH} levels deep") from None
        builder = _Builder(path, loader)
        if node is None:  # empty file
            builder.lines[()] = 1
            return None, builder.lines
        builder.lines[()] = node.start_mark.line + 1
        return builder.build(node, ()), builder.lines
    finally:
        loader.dispose()


def load_yaml(path: Path | str) -> tuple[Any, LineMap]:
    """Read and parse one YAML file. Raises ``YamlError`` (``path:line: problem``) for a file that
    cannot be read, is not UTF-8, is malformed, has several documents, or repeats a key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise YamlError(path, None, f"cannot read file: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise YamlError(path, line, "the file is not UTF-8 text") from None
    return load_yaml_text(text, path)


class ValidatedFile:
    """One YAML data file being validated: its bytes, data, line map, and error helpers that name
    ``path:line``. Used for the check metadata and the framework catalogs."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.raw = path.read_bytes()
        except OSError as e:
            raise CatalogError(path, None, f"cannot read catalog file: {e.strerror or e}") from None
        self.sha256 = hashlib.sha256(self.raw).hexdigest()
        try:
            self.data, self.lines = load_yaml(path)
        except YamlError as e:
            raise CatalogError(path, e.line, e.problem) from None

    def err(self, at: Sequence[Any], problem: str) -> CatalogError:
        return CatalogError(self.path, self.lines.line_of(tuple(at)), problem)

    def mapping(self, value: Any, at: tuple, what: str, fields: Mapping[str, bool]) -> dict:
        if not isinstance(value, dict):
            raise self.err(at, f"{what} must be a mapping, not {_kind(value)}")
        for k in value:
            if k not in fields:
                raise self.err(at + (k,), f"{what}: unknown key {k!r} (allowed: {', '.join(fields)})")
        for k, required in fields.items():
            if required and k not in value:
                raise self.err(at, f"{what}: missing required key {k!r}")
        return value

    def text(self, value: Any, at: tuple, what: str, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str):
            raise self.err(at, f"{what} must be text, not {_kind(value)}")
        value = value.strip()
        if required and not value:
            raise self.err(at, f"{what} must not be empty")
        return value

    def flag(self, value: Any, at: tuple, what: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.err(at, f"{what} must be true or false, not {value!r}")
        return value

    def enum(self, value: Any, at: tuple, what: str, allowed: Sequence[str]) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise self.err(at, f"{what}: unknown value {value!r} (allowed: {', '.join(allowed)})")
        return value

    def text_list(self, value: Any, at: tuple, what: str, allow_empty: bool = False) -> list[str]:
        if not isinstance(value, list):
            raise self.err(at, f"{what} must be a list, not {_kind(value)}")
        if not value and not allow_empty:
            raise self.err(at, f"{what} must not be empty")
        return [self.text(v, at + (i,), f"{what}[{i}]") for i, v in enumerate(value)]


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)
