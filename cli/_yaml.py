"""Reading YAML input files safely, remembering where every value came from.

The file is composed into a node tree with a safe loader (libyaml's when available: it
keeps the same marks and is ~10x faster on a 5,000-position book), then turned into plain
dicts and lists by a walk that records the line of every mapping key and sequence item
under its field path (``positions[3].strike``), so that a library ConfigError can be
reported as ``book.yaml:14: positions[3].strike: ...``.

Limits, checked before anything is composed or expanded:
- files over MAX_BYTES are refused unread;
- a pre-scan of the parser's events (libyaml's parser is iterative, so it is safe on any
  input) refuses documents nested deeper than MAX_DEPTH (libyaml's recursive composer would
  overflow the C stack on a few hundred thousand nested brackets), documents with more than
  MAX_ALIASES alias references, and documents whose aliases would expand to more than
  MAX_EXPANDED_NODES extra values: it tracks the size of every anchored subtree, so a
  "billion laughs" file is refused at the alias that crosses the limit, before any
  expansion; aliases to an anchor still being defined (recursive structures) are refused.
Duplicate keys are refused too (PyYAML would keep the last one silently).
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 10_000

try:  # libyaml: same node tree and marks, compiled parser
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Base = yaml.SafeLoader


class LineLoader(_Base):  # type: ignore[misc]
    """The safe loader hedgecore composes input files with (never constructs Python objects
    beyond the YAML core schema: str, int, float, bool, null, timestamps).

    Implicit tags of plain scalars are memoised per loader: a book repeats the same names,
    books and quantities thousands of times, and resolving each one runs regular
    expressions in Python.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._plain_tags: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._plain_tags.get(value)
            if tag is None:
                tag = self._plain_tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


class InputFileError(Exception):
    """An input file cannot be read or parsed: file name, line (or None) and message."""

    def __init__(self, filename: str, line: int | None, message: str) -> None:
        self.filename = filename
        self.line = line
        self.message = message
        where = f"{filename}:{line}" if line is not None else filename
        super().__init__(f"{where}: {message}")


_SCALARS = yaml.constructor.SafeConstructor()
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass
class LineMap:
    """Field path -> 1-based line number, for one file.

    Lines are looked up in the composed node tree only when an error needs one, so a valid
    5,000-position book pays nothing for them. A mapping key's line is the key's; a sequence
    item's line is where the item starts.
    """

    filename: str
    root: yaml.Node | None = None

    def line_of(self, path: str) -> int | None:
        """The line of `path`, or of the deepest node on the way to it."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        rest = path
        while rest and node is not None:
            if rest.startswith("["):
                close = rest.find("]")
                if close < 0 or not isinstance(node, yaml.SequenceNode):
                    break
                try:
                    index = int(rest[1:close])
                except ValueError:
                    break
                if not 0 <= index < len(node.value):
                    break
                node = node.value[index]
                line = node.start_mark.line + 1
                rest = rest[close + 1:].removeprefix(".")
                continue
            if not isinstance(node, yaml.MappingNode):
                break
            best: tuple[int, yaml.Node, yaml.Node] | None = None
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = str(_scalar(key_node))
                if rest == key or rest.startswith((key + ".", key + "[")):
                    if best is None or len(key) > best[0]:   # keys may hold dots: "0.625"
                        best = (len(key), key_node, value_node)
            if best is None:
                break
            length, key_node, node = best
            line = key_node.start_mark.line + 1
            rest = rest[length:].removeprefix(".")
        return line


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag == _STR_TAG:
        return node.value
    constructor = _SCALARS.yaml_constructors.get(node.tag)
    if constructor is None:
        raise yaml.constructor.ConstructorError(None, None, f"could not determine a constructor for the tag "
                                                f"{node.tag!r}", node.start_mark)
    return constructor(_SCALARS, node)


def _prescan(text: bytes, filename: str) -> None:
    """Enforce MAX_DEPTH, MAX_ALIASES and MAX_EXPANDED_NODES on the event stream."""
    events = yaml.events
    parser = _Base(text)
    depth = 0
    aliases = 0
    expanded = 0
    open_sizes: list[list[Any]] = [[None, 0]]      # [anchor, values so far] per open collection
    anchored: dict[str, int] = {}                  # anchor -> values its subtree holds
    try:
        while True:
            event = parser.get_event()
            if event is None:
                return
            kind = type(event)
            if kind is events.ScalarEvent:
                if event.anchor is not None:
                    anchored[event.anchor] = 1
                open_sizes[-1][1] += 1
            elif kind is events.MappingStartEvent or kind is events.SequenceStartEvent:
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputFileError(filename, event.start_mark.line + 1,
                                         f"nested more than {MAX_DEPTH} levels deep")
                open_sizes.append([event.anchor, 1])
            elif kind is events.MappingEndEvent or kind is events.SequenceEndEvent:
                depth -= 1
                anchor, size = open_sizes.pop()
                if anchor is not None:
                    anchored[anchor] = size
                open_sizes[-1][1] += size
            elif kind is events.AliasEvent:
                aliases += 1
                line = event.start_mark.line + 1
                if aliases > MAX_ALIASES:
                    raise InputFileError(filename, line, f"more than {MAX_ALIASES} YAML aliases")
                size = anchored.get(event.anchor)
                if size is None:
                    if any(entry[0] == event.anchor for entry in open_sizes):
                        raise InputFileError(filename, line, "recursive YAML alias")
                    continue   # undefined: the composer reports it with its line
                expanded += size
                if expanded > MAX_EXPANDED_NODES:
                    raise InputFileError(filename, line,
                                         f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} values; "
                                         "refusing to expand (a 'billion laughs' document?)")
                open_sizes[-1][1] += size
    finally:
        parser.dispose()


class _Walker:
    """Plain data from a node tree (the pre-scan has bounded its depth and expansion)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.active: set[int] = set()

    def build(self, node: yaml.Node) -> Any:
        if node.tag == _STR_TAG and type(node) is yaml.ScalarNode:
            return node.value
        if isinstance(node, yaml.ScalarNode):
            try:
                return _scalar(node)
            except (yaml.YAMLError, ValueError) as exc:
                problem = getattr(exc, "problem", None) or str(exc)
                raise InputFileError(self.filename, node.start_mark.line + 1, f"bad value: {problem}") from None
        ident = id(node)
        if ident in self.active:
            raise InputFileError(self.filename, node.start_mark.line + 1, "recursive YAML alias")
        self.active.add(ident)
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item) for item in node.value]
            if isinstance(node, yaml.MappingNode):
                mapping: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        raise InputFileError(self.filename, key_node.start_mark.line + 1,
                                             "YAML merge keys (<<) are not supported; write the keys out")
                    if not isinstance(key_node, yaml.ScalarNode):
                        raise InputFileError(self.filename, key_node.start_mark.line + 1,
                                             "mapping keys must be plain values")
                    key = self.build(key_node)
                    if key in mapping:
                        raise InputFileError(self.filename, key_node.start_mark.line + 1,
                                             f"duplicate key '{key}'")
                    mapping[key] = self.build(value_node)
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
    # Composing allocates a few hundred thousand objects and no reference cycles worth
    # collecting: pausing the cyclic GC meanwhile makes a 5,000-position book 3x faster.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _compose_and_build(text, filename)
    finally:
        if collecting:
            gc.enable()


def _compose_and_build(text: bytes, filename: str) -> tuple[Any, LineMap]:
    try:
        _prescan(text, filename)
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
    data = _Walker(filename).build(node)
    return data, LineMap(filename, node)
