"""Reading YAML input files safely, remembering where every value came from.

The file is composed into a node tree with a safe loader (libyaml's when available: it
keeps the same marks and is ~10x faster on a 5,000-position book), then turned into plain
dicts and lists by a walk that records the line of every mapping key and sequence item
under its field path (``positions[3].strike``), so that a library ConfigError can be
reported as ``book.yaml:14: positions[3].strike: ...``.

Limits, checked before anything is expanded: files over MAX_BYTES are refused unread, and
the walk counts every alias it follows: a document that references anchors more than
MAX_ALIASES times (a "billion laughs" file) is refused at the first alias over the limit,
and recursive aliases are refused outright. Duplicate keys are refused (PyYAML would keep
the last one silently).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 5 * 1024 * 1024
MAX_ALIASES = 100

try:  # libyaml: same node tree and marks, compiled parser
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Base = yaml.SafeLoader


class LineLoader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader hedgecore composes input files with (never constructs Python objects
    beyond the YAML core schema: str, int, float, bool, null, timestamps)."""


class InputFileError(Exception):
    """An input file cannot be read or parsed: file name, line (or None) and message."""

    def __init__(self, filename: str, line: int | None, message: str) -> None:
        self.filename = filename
        self.line = line
        self.message = message
        where = f"{filename}:{line}" if line is not None else filename
        super().__init__(f"{where}: {message}")


@dataclass
class LineMap:
    """Field path -> 1-based line number, for one file."""

    filename: str
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, path: str) -> int | None:
        """The line of `path`, or of its nearest recorded parent."""
        current = path
        while current:
            if current in self.lines:
                return self.lines[current]
            cut = max(current.rfind("."), current.rfind("["))
            current = current[:cut] if cut > 0 else ""
        return self.lines.get("")


_SCALARS = yaml.constructor.SafeConstructor()


class _Walker:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: dict[str, int] = {}
        self.aliases = 0
        self.seen: set[int] = set()
        self.active: set[int] = set()

    def build(self, node: yaml.Node, path: str) -> Any:
        ident = id(node)
        if ident in self.seen:
            # A second visit of the same node is an alias being expanded.
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise InputFileError(self.filename, node.start_mark.line + 1,
                                     f"more than {MAX_ALIASES} YAML aliases; refusing to expand "
                                     "(a 'billion laughs' document?)")
            if ident in self.active:
                raise InputFileError(self.filename, node.start_mark.line + 1, "recursive YAML alias")
        self.seen.add(ident)
        if isinstance(node, yaml.ScalarNode):
            try:
                return _SCALARS.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise InputFileError(self.filename, node.start_mark.line + 1, f"bad value: {exc}") from None
        self.active.add(ident)
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for index, item in enumerate(node.value):
                    item_path = f"{path}[{index}]"
                    self.lines.setdefault(item_path, item.start_mark.line + 1)
                    items.append(self.build(item, item_path))
                return items
            if isinstance(node, yaml.MappingNode):
                if node.tag == "tag:yaml.org,2002:map" and any(k.tag == "tag:yaml.org,2002:merge"
                                                                for k, _ in node.value):
                    raise InputFileError(self.filename, node.start_mark.line + 1,
                                         "YAML merge keys (<<) are not supported; write the keys out")
                mapping: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    key = self.build(key_node, path)
                    if isinstance(key, (list, dict)):
                        raise InputFileError(self.filename, key_node.start_mark.line + 1,
                                             "mapping keys must be plain values")
                    if key in mapping:
                        raise InputFileError(self.filename, key_node.start_mark.line + 1,
                                             f"duplicate key '{key}'")
                    key_path = f"{path}.{key}" if path else str(key)
                    self.lines.setdefault(key_path, key_node.start_mark.line + 1)
                    mapping[key] = self.build(value_node, key_path)
                return mapping
        finally:
            self.active.discard(ident)
        raise InputFileError(self.filename, node.start_mark.line + 1, "unsupported YAML node")


def load_yaml(path: Path | str, label: str | None = None) -> tuple[Any, LineMap]:
    """Read one YAML document safely; return plain data and its line map.

    Raises InputFileError for a missing, oversized, unparsable or alias-bombed file.
    """
    filename = label or str(path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise InputFileError(filename, None, "no such file") from None
    except OSError as exc:
        raise InputFileError(filename, None, f"cannot read: {exc.strerror}") from None
    if size > MAX_BYTES:
        raise InputFileError(filename, None, f"file is {size / 1048576:.1f} MiB, over the "
                             f"{MAX_BYTES // 1048576} MiB limit for input files")
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputFileError(filename, None, f"cannot read: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputFileError(filename, line, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputFileError(filename, None, f"YAML error: {exc}") from None
    except UnicodeDecodeError:
        raise InputFileError(filename, None, "not UTF-8 text") from None
    if node is None:
        raise InputFileError(filename, 1, "the file is empty")
    walker = _Walker(filename)
    walker.lines[""] = node.start_mark.line + 1
    data = walker.build(node, "")
    return data, LineMap(filename, walker.lines)
