"""Reading YAML input files safely, remembering where every value came from.

The file is composed into a node tree with a safe loader (libyaml's when available: it
keeps the same marks and is ~10x faster on a 5,000-position book), then turned into plain
dicts and lists by a walk that records the line of every mapping key and sequence item
under its field path (``positions[3].strike``), so that a library ConfigError can be
reported as ``book.yaml:14: positions[3].strike: ...``.

Limits, checked before anything is composed or expanded:
- at most MAX_BYTES are read, from any file: a regular file over the limit is refused
  unread, a pipe, FIFO or device is read without blocking, refused past MAX_BYTES
  (/dev/zero) or when its data has not ended within READ_TIMEOUT_SECONDS (a FIFO nobody
  writes to); a directory is refused;
- the bytes must be UTF-8 text without NUL bytes or control characters (a binary file is
  refused in one line, not with a parser's multi-line excerpt);
- a pre-scan of the parser's events (libyaml's parser is iterative, so it is safe on any
  input) refuses documents nested deeper than MAX_DEPTH (libyaml's recursive composer would
  overflow the C stack on a few hundred thousand nested brackets), documents with more than
  MAX_ALIASES alias references, and documents whose aliases would expand to more than
  MAX_EXPANDED_NODES extra values: it tracks the size of every anchored subtree, so a
  "billion laughs" file is refused at the alias that crosses the limit, before any
  expansion; aliases to an anchor still being defined (recursive structures) are refused.
  Newer libyaml releases (PyYAML 6.0.4's) stop a long run of brackets with a nesting limit
  of their own before its events reach the pre-scan; the run is then re-read with PyYAML's
  pure-Python parser (iterative, no limit) so that the message is hedgecore's, whatever
  libyaml is installed.
The walk refuses duplicate keys, compared as text without case (``BTC`` and ``btc``,
strike ``85000`` and ``'85000'``: the readers would merge them; PyYAML would keep the last
one silently), and explicit tags beyond the core schema (``!!binary``, ``!!set``,
``!!python/...``). Values echoed in messages are bounded and escaped
(hedgecore.errors.show_text).
"""

from __future__ import annotations

import gc
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hedgecore.errors import InputError, escape_text, show_text
from hedgecore.reading import MAX_INPUT_BYTES, STREAM_TIMEOUT_SECONDS, decode_input_text, read_input_file

MAX_BYTES = MAX_INPUT_BYTES
READ_TIMEOUT_SECONDS = STREAM_TIMEOUT_SECONDS
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


class InputFileError(InputError):
    """An input file cannot be read or parsed: file name, line (or None) and message."""


_SCALARS = yaml.constructor.SafeConstructor()
_CORE = "tag:yaml.org,2002:"
_STR_TAG = _CORE + "str"
_TIMESTAMP_TAG = _CORE + "timestamp"
_INT_TAG = _CORE + "int"
_VALUE_TAG = _CORE + "value"        # a lone "=" (YAML 1.1's default-value key): plain text here
# The tags a scalar may carry (implicitly or written out, as in `!!str 85000`); collections
# are plain mappings and sequences only (`!!set`, `!!omap` and `!!pairs` are refused).
_SCALAR_TAGS = frozenset(_CORE + name for name in ("str", "int", "float", "bool", "null", "timestamp"))
# Characters YAML does not allow in a document (its printable set's complement), NUL apart.
_NOT_YAML_TEXT = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class LineMap:
    """Field path -> 1-based line number, for one file.

    Lines are looked up in the composed node tree only when an error needs one, so a valid
    5,000-position book pays nothing for them. A mapping key's line is the key's; a sequence
    item's line is where the item starts.
    """

    filename: str
    root: yaml.Node | None = None
    data: bytes = b""    # the bytes parsed: what the journal records, never read twice

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


def _tag_name(tag: str | None) -> str:
    """``tag:yaml.org,2002:binary`` -> ``!!binary``, as the user wrote it."""
    text = tag or "?"
    return "!!" + text.removeprefix(_CORE) if text.startswith(_CORE) else text


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag == _STR_TAG or node.tag == _VALUE_TAG:
        return node.value
    if node.tag not in _SCALAR_TAGS:
        raise ValueError(f"unsupported YAML tag {show_text(_tag_name(node.tag))}; write a plain value")
    if node.tag == _TIMESTAMP_TAG and not _SCALARS.timestamp_regexp.match(node.value):
        raise ValueError(f"not a date or time: {show_text(node.value)}")
    if node.tag == _INT_TAG and len(node.value) > 1000:     # Python refuses > 4,300 digits anyway
        raise ValueError(f"an integer of {len(node.value):,} characters is too long for a number")
    try:
        return _SCALARS.yaml_constructors[node.tag](_SCALARS, node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError(f"bad value {show_text(node.value)} ({_tag_name(node.tag)}): "
                         f"{escape_text(problem, 100)}") from None


class _EventScan:
    """The pre-scan's counters over one parser's event stream (see the module docstring)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.depth = 0
        self.last_index = 0            # where the last event delivered ends (a character index)

    def run(self, parser: Any, stop_index: int | None = None) -> None:
        """Scan every event (or those starting before `stop_index`); raise InputFileError at
        the first limit crossed."""
        events = yaml.events
        filename = self.filename
        aliases = 0
        expanded = 0
        open_sizes: list[list[Any]] = [[None, 0]]      # [anchor, values so far] per open collection
        anchored: dict[str, int] = {}                  # anchor -> values its subtree holds
        try:
            while True:
                event = parser.get_event()
                if event is None:
                    return
                if stop_index is not None and event.start_mark.index > stop_index:
                    return
                self.last_index = event.end_mark.index
                kind = type(event)
                if kind is events.ScalarEvent:
                    if event.anchor is not None:
                        anchored[event.anchor] = 1
                    open_sizes[-1][1] += 1
                elif kind is events.MappingStartEvent or kind is events.SequenceStartEvent:
                    self.depth += 1
                    if self.depth > MAX_DEPTH:
                        raise InputFileError(filename, event.start_mark.line + 1,
                                             f"nested more than {MAX_DEPTH} levels deep")
                    open_sizes.append([event.anchor, 1])
                elif kind is events.MappingEndEvent or kind is events.SequenceEndEvent:
                    self.depth -= 1
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


def _prescan(data: bytes, text: str, filename: str) -> None:
    """Enforce MAX_DEPTH, MAX_ALIASES and MAX_EXPANDED_NODES on the event stream.

    `data` is the file's bytes (what the parsers read), `text` the same decoded.
    """
    scan = _EventScan(filename)
    try:
        scan.run(_Base(data))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if _Base is yaml.SafeLoader or mark is None:
            raise
        # libyaml's scanner looks ahead over a whole run of opening brackets and may stop
        # it with its own nesting limit before the parser delivers the 65th level. Only a
        # run of brackets between the last event and the failure can do that: re-read up
        # to the failure with the pure-Python parser, which delivers the levels one by one.
        window = text[scan.last_index: mark.index + 1]
        if scan.depth + window.count("[") + window.count("{") > MAX_DEPTH:
            try:
                _EventScan(filename).run(yaml.SafeLoader(data), stop_index=mark.index)
            except yaml.YAMLError:
                pass           # the pure-Python parser fails too: libyaml's message stands
        raise


class _Walker:
    """Plain data from a node tree (the pre-scan has bounded its depth and expansion)."""

    def __init__(self, filename: str, root: yaml.Node) -> None:
        self.filename = filename
        self.root = root
        self.active: set[int] = set()

    def fail(self, node: yaml.Node, message: str) -> InputFileError:
        return InputFileError(self.filename, node.start_mark.line + 1, message)

    def fail_value(self, node: yaml.Node, message: str) -> InputFileError:
        """An error about a value, with its field path (looked up only now: errors are rare)."""
        path = _path_to(self.root, node)
        return self.fail(node, f"{escape_text(path, 180)}: {message}" if path else message)

    def build(self, node: yaml.Node) -> Any:
        if node.tag == _STR_TAG and type(node) is yaml.ScalarNode:
            return node.value
        if isinstance(node, yaml.ScalarNode):
            try:
                return _scalar(node)
            except ValueError as exc:
                raise self.fail_value(node, str(exc)) from None
        ident = id(node)
        if ident in self.active:
            raise self.fail(node, "recursive YAML alias")
        self.active.add(ident)
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _CORE + "seq":
                    raise self.fail_value(node, f"unsupported YAML tag {show_text(_tag_name(node.tag))}; "
                                    "write a plain list")
                return [self.build(item) for item in node.value]
            if isinstance(node, yaml.MappingNode):
                if node.tag != _CORE + "map":
                    raise self.fail_value(node, f"unsupported YAML tag {show_text(_tag_name(node.tag))}; "
                                    "write a plain mapping")
                return self.mapping(node)
        finally:
            self.active.discard(ident)
        raise self.fail(node, "unsupported YAML node")

    def mapping(self, node: yaml.MappingNode) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        seen: dict[str, tuple[Any, int]] = {}       # key identity -> (key, line)
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(key_node, "YAML merge keys (<<) are not supported; write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain values")
            key = self.build(key_node)
            line = key_node.start_mark.line + 1
            identity = _key_identity(key)
            first = seen.get(identity)
            if first is not None:
                first_key, first_line = first
                if type(first_key) is type(key) and first_key == key:
                    raise self.fail(key_node, f"duplicate key {_show_key(key)}")
                raise self.fail(key_node, f"duplicate key {_show_key(key)} (same as {_show_key(first_key)} "
                                f"on line {first_line})")
            seen[identity] = (key, line)
            mapping[key] = self.build(value_node)
        return mapping


def _path_to(root: yaml.Node, target: yaml.Node) -> str:
    """The field path of `target` in the tree under `root` (``underlyings.BTC.spot``), or ""."""
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                stack.append((value_node, f"{path}.{key}" if path else str(key)))
                stack.append((key_node, path))
    return ""


def _key_identity(key: Any) -> str:
    """What two keys must differ in: their text without surrounding blanks or case, and a
    number's value (``85000``, ``'85000'`` and ``85000.0`` are one strike): the readers
    upper-case underlyings and expiries and read strikes as numbers."""
    text = str(key).strip().casefold()
    if text[:1] in ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "-", ".") and len(text) <= 100:
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            return text
        if math.isfinite(number):
            return repr(number)
    return text


def _show_key(key: Any) -> str:
    """A key for a message: text quoted, other values (numbers, dates) as written."""
    if isinstance(key, str):
        return show_text(key)
    return escape_text(str(key))


def load_yaml(path: Path | str, label: str | None = None) -> tuple[Any, LineMap]:
    """Read one YAML document safely; return plain data and its line map.

    Raises InputFileError for a missing, oversized, binary, unparsable or alias-bombed file
    (and for a FIFO or device that does not deliver its data within READ_TIMEOUT_SECONDS).
    """
    filename = label or str(path)
    try:
        data = read_input_file(path, filename, max_bytes=MAX_BYTES, timeout_seconds=READ_TIMEOUT_SECONDS)
        text = decode_input_text(data, filename)
    except InputError as error:
        raise InputFileError(error.filename, error.line, error.message) from None
    bad = _NOT_YAML_TEXT.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise InputFileError(filename, line, f"binary file: control character {escape_text(bad.group())} "
                             "is not allowed in YAML text")
    # Composing allocates a few hundred thousand objects and no reference cycles worth
    # collecting: pausing the cyclic GC meanwhile makes a 5,000-position book 3x faster.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _compose_and_build(data, text, filename)
    finally:
        if collecting:
            gc.enable()


def _compose_and_build(data: bytes, text: str, filename: str) -> tuple[Any, LineMap]:
    try:
        _prescan(data, text, filename)
        node = yaml.compose(data, Loader=LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputFileError(filename, line, f"YAML syntax error: {escape_text(problem, 200)}") from None
    except yaml.YAMLError as exc:
        first_line = str(exc).strip().split("\n", 1)[0]
        raise InputFileError(filename, None, f"YAML error: {escape_text(first_line, 200)}") from None
    if node is None:
        raise InputFileError(filename, 1, "the file is empty")
    data_tree = _Walker(filename, node).build(node)
    return data_tree, LineMap(filename, node, data)
