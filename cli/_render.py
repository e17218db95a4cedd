"""The one rendering function: columns and rows to a rich table, JSON or CSV.

A command builds a `Report` (the JSON document pipelines parse, plus tables of columns and
rows for people and spreadsheets) and hands it to `render`. With --format json only the
document is written to stdout; diagnostics always go to stderr. --output writes the same
bytes to a file (write_atomically: atomic replacement of regular files, write-through for
devices and FIFOs). Tables never cut a word: `_layout` tightens the spacing, wraps headers
and then text cells at separators, and escapes control characters in every cell.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hedgecore.cli._options import OutputFormat

if TYPE_CHECKING:  # rich loads only when a table or a progress bar is drawn
    from rich.console import Console
    from rich.progress import TaskID

TABLE_WIDTH = 100


def fmt_number(value: Any, digits: int = 4) -> str:
    """Compact figure for a table cell: 4 significant digits, k/M suffixes for big ones."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    number = float(value)
    if not math.isfinite(number):
        return "n/a"
    size = abs(number)
    if size >= 1e9:
        return f"{number / 1e9:,.2f}B"
    if size >= 1e6:
        return f"{number / 1e6:,.2f}M"
    if size >= 1e5:
        return f"{number / 1e3:,.1f}k"
    if size >= 1e4:
        return f"{number:,.0f}"
    if size == 0.0:
        return "0"
    if size < 1e-3:
        return f"{number:.2e}"     # at most 9 characters: "-1.23e-05"
    return f"{number:,.{digits}g}" if size >= 1 else f"{number:.{digits}g}"


@dataclass
class Column:
    header: str
    key: str
    formatter: Callable[[Any], str] = fmt_number
    numeric: bool = True


@dataclass
class Table:
    """A table of dict rows; `row_styles` maps a row index to a rich style ("red", "bold"),
    `cell_styles` maps (row, column key) to a style."""

    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    row_styles: dict[int, str] = field(default_factory=dict)
    cell_styles: dict[tuple[int, str], str] = field(default_factory=dict)
    csv_keys: list[str] | None = None   # CSV columns when they differ from the drawn ones


@dataclass
class Report:
    """What a command produced: the JSON document, the tables, notes printed under them."""

    document: dict[str, Any]
    tables: list[Table]
    notes: list[str] = field(default_factory=list)


def _json_ready(value: Any) -> Any:
    """Non-finite floats become null; -0.0 becomes 0.0 (a flat position is not "minus zero")."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return 0.0 if value == 0.0 else value
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def _as_json(report: Report) -> str:
    return json.dumps(_json_ready(report.document), indent=2) + "\n"


def _as_csv(report: Report) -> str:
    """The first table (the primary one), raw numbers, one header row."""
    buffer = io.StringIO()
    table = report.tables[0]
    writer = csv.writer(buffer, lineterminator="\n")
    keys = table.csv_keys or [c.key for c in table.columns]
    writer.writerow(keys)
    for row in table.rows:
        writer.writerow(["" if row.get(key) is None else row.get(key) for key in keys])
    return buffer.getvalue()


# Above this many rows a table is drawn as aligned plain text: rich measures every cell and
# takes seconds for a 5,000-position book; plain text takes milliseconds.
RICH_MAX_ROWS = 500

# Characters that must not reach a terminal raw: C0/C1 controls (ESC starts an escape
# sequence), format characters (bidirectional overrides, zero-width joiners), line and
# paragraph separators, surrogates (undecodable bytes) and unassigned code points.
_UNPRINTABLE = frozenset(("Cc", "Cf", "Cs", "Cn", "Zl", "Zp"))


def printable(text: str) -> str:
    """`text` with every unprintable character shown as its Python escape (ESC -> \x1b)."""
    if text.isprintable():
        return text
    import unicodedata

    out = []
    for char in text:
        if unicodedata.category(char) in _UNPRINTABLE:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                       else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


# Where a text cell may break: after a space, or after '-', '_' or '/' between two word
# characters (never inside a word or a number such as "-1.5M" or "1,234").
_BREAKS = re.compile(r"(?<=\w[-_/])(?=\w)|(?<=\s)(?=\S)")


def _width(text: str) -> int:
    """Terminal cells `text` takes (ASCII, the common case, without rich's per-character lookup)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _wrap(text: str, width: int) -> list[str]:
    """Greedy lines of at most `width` cells, broken only at _BREAKS (a longer piece stays whole)."""
    lines: list[str] = []
    current = ""
    for piece in _BREAKS.split(text):
        if current and _width(current + piece.rstrip()) > width:
            lines.append(current.rstrip())
            current = piece
        else:
            current += piece
    lines.append(current.rstrip())
    return lines


def _longest_word(text: str) -> int:
    return max((_width(word) for word in text.split()), default=0)


def _longest_piece(text: str) -> int:
    return max((_width(piece.rstrip()) for piece in _BREAKS.split(text)), default=0)


@dataclass
class _Layout:
    """How a table fits a width: the spacing, each column's width and every cell's lines."""

    edge: bool                       # rich's outer edge (a blank column each side)
    padding: int                     # spaces each side of a cell (collapsed between columns)
    widths: list[int]
    headers: list[list[str]]         # lines, bottom-aligned (blank lines on top)
    cells: list[list[str]]           # [row][column]; a wrapped cell's lines joined by "\n"

    @property
    def total(self) -> int:
        return sum(self.widths) + _overhead(len(self.widths), self.edge, self.padding)


def _overhead(columns: int, edge: bool, padding: int) -> int:
    """Characters rich's SIMPLE_HEAD box adds (pad_edge off, collapse_padding on)."""
    if edge:
        return 2 * columns
    return (1 + 2 * padding) * (columns - 1) if padding else columns - 1


# From the roomiest to the tightest: (edge, padding, headers wrapped at spaces).
_RICH_SPACINGS = ((True, 1, False), (True, 1, True), (False, 1, True), (False, 0, True))
_PLAIN_SPACINGS = ((False, 0, False), (False, 0, True))


def _layout(table: Table, width: int, spacings: tuple[tuple[bool, int, bool], ...]) -> _Layout:
    """Fit a table into `width` columns without ever cutting a word.

    Tried in order: the spacings from roomiest to tightest (headers wrapped at spaces), then
    text columns wrapped at spaces and word separators, widest first. Numbers are never
    broken. If a single word is still too wide, the table is wider than `width` (a terminal
    wraps the line; nothing is cut).
    """
    texts = [[printable(column.formatter(row.get(column.key))) for column in table.columns] for row in table.rows]
    headers = [printable(column.header) for column in table.columns]
    count = len(headers)
    widest_cell = [max((_width(row[k]) for row in texts), default=0) for k in range(count)]
    header_full = [_width(h) for h in headers]
    header_word = [max((_width(word) for word in h.split()), default=0) for h in headers]

    def widths_for(edge: bool, padding: int, wrap_headers: bool) -> list[int]:
        """Full headers, then (if allowed) the header overhanging its cells most wrapped first."""
        widths = [max(widest_cell[k], header_full[k]) for k in range(count)]
        excess = sum(widths) + _overhead(count, edge, padding) - width
        floors = [max(widest_cell[k], header_word[k]) for k in range(count)]
        while wrap_headers and excess > 0:
            k = max(range(count), key=lambda j: widths[j] - floors[j])
            if widths[k] <= floors[k]:
                break
            cut = min(excess, widths[k] - floors[k])
            widths[k] -= cut
            excess -= cut
        return widths

    for edge, padding, wrap_headers in spacings:
        widths = widths_for(edge, padding, wrap_headers)
        if sum(widths) + _overhead(count, edge, padding) <= width:
            break
    excess = sum(widths) + _overhead(count, edge, padding) - width
    # Wrap text cells (the widest text column first): at spaces down to their longest word,
    # then, only if still too wide, at '-', '_' and '/' down to their longest piece.
    floors: dict[int, int] = {}
    if excess > 0:
        wrappable = [k for k, column in enumerate(table.columns)
                     if not column.numeric or any(" " in row[k] for row in texts)]
        for pieces in (_longest_word, _longest_piece):
            floors = {k: max(header_word[k], max((pieces(row[k]) for row in texts), default=0))
                      for k in wrappable}
            while excess > 0:
                roomy = [k for k in floors if widths[k] > floors[k]]
                if not roomy:
                    break
                k = max(roomy, key=lambda j: widths[j] - floors[j])
                widths[k] -= 1
                excess -= 1
    for k in floors:
        for row in texts:
            if _width(row[k]) > widths[k]:
                row[k] = "\n".join(_wrap(row[k], widths[k]))
    header_lines = [_wrap(h, widths[k]) if _width(h) > widths[k] else [h] for k, h in enumerate(headers)]
    height = max((len(lines) for lines in header_lines), default=1)
    header_lines = [[""] * (height - len(lines)) + lines for lines in header_lines]
    return _Layout(edge, padding, widths, header_lines, texts)


def _plain_table(table: Table, width: int) -> str:
    """Aligned text for big tables: numbers right-aligned, text wrapped, never cut."""
    layout = _layout(table, width, _PLAIN_SPACINGS)

    numeric = [column.numeric for column in table.columns]
    widths = layout.widths

    def pad(value: str, k: int) -> str:
        if value.isascii():
            return value.rjust(widths[k]) if numeric[k] else value.ljust(widths[k])
        fill = " " * max(0, widths[k] - _width(value))
        return fill + value if numeric[k] else value + fill

    def lines(cells: list[list[str]]) -> list[str]:
        height = max(len(c) for c in cells)
        return [" ".join(pad(c[i] if i < len(c) else "", k) for k, c in enumerate(cells)).rstrip()
                for i in range(height)]

    body = []
    for row in layout.cells:
        if any("\n" in cell for cell in row):
            body += lines([cell.split("\n") for cell in row])
        else:
            body.append(" ".join(pad(cell, k) for k, cell in enumerate(row)).rstrip())
    rule = "-" * min(width, layout.total)
    return "\n".join([printable(table.title), "", *lines(layout.headers), rule, *body, ""])


def _draw_tables(report: Report, console: Console) -> None:
    from rich import box
    from rich.table import Table as RichTable

    for table in report.tables:
        if len(table.rows) > RICH_MAX_ROWS:
            console.print(_plain_table(table, console.width), markup=False, highlight=False, soft_wrap=True)
            continue
        layout = _layout(table, console.width, _RICH_SPACINGS)
        drawn = RichTable(title=_escape(printable(table.title)), box=box.SIMPLE_HEAD, title_justify="left",
                          pad_edge=False, expand=False, collapse_padding=True, show_edge=layout.edge,
                          padding=(0, layout.padding))
        for k, column in enumerate(table.columns):
            drawn.add_column(_escape("\n".join(layout.headers[k])), justify="right" if column.numeric else "left",
                             width=layout.widths[k], no_wrap=True)
        for index, row in enumerate(layout.cells):
            cells = []
            for column, cell in zip(table.columns, row, strict=True):
                text = _escape(cell)
                style = table.cell_styles.get((index, column.key))
                cells.append(f"[{style}]{text}[/]" if style else text)
            drawn.add_row(*cells, style=table.row_styles.get(index))
        if layout.total > console.width:
            # One word wider than the terminal: draw the table wider (the terminal wraps the
            # line) rather than cutting a position's name.
            saved = console.width
            console.width = layout.total
            try:
                console.print(drawn)
            finally:
                console.width = saved
        else:
            console.print(drawn)
    for note in report.notes:
        console.print(printable(note), highlight=False, markup=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _umask() -> int:
    """The process umask (os.umask can only be read by setting it; restored at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_standard_stream(status: os.stat_result) -> int | None:
    """1 or 2 when `status` is the file our stdout or stderr already writes to, else None."""
    for fd in (1, 2):
        try:
            stream = os.fstat(fd)
        except OSError:
            continue
        if (stream.st_dev, stream.st_ino) == (status.st_dev, status.st_ino):
            return fd
    return None


def _named(error: OSError, path: Path) -> OSError:
    """The same error naming the user's path (never the hidden temporary file)."""
    return type(error)(error.errno, error.strerror or str(error), str(path))


def write_atomically(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to the user's --output path.

    - A regular file (new or existing) is written atomically: a temporary file in the same
      directory, fsync, then os.replace, so a reader never sees half a report. A new file gets
      0666 & ~umask like any shell redirection; a replaced file keeps its mode (and, for root,
      its owner).
    - A symbolic link is followed deliberately: its target is written (atomically when it is a
      regular file) and the link stays a link.
    - Anything that is not a regular file (/dev/stdout, /dev/null, a terminal, a FIFO) is
      opened and written through, never replaced; when it is the file our own stdout or stderr
      already writes to, the text goes to that stream.
    - An existing file without write permission (no write bit at all, even for root, who
      bypasses permissions) is refused: "cannot write FILE: read-only file".
    Every error names `path`, as the user wrote it.
    """
    try:
        status: os.stat_result | None = os.stat(path)      # follows symbolic links
    except FileNotFoundError:
        status = None
    except OSError as error:
        raise _named(error, path) from None
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
    if status is not None:
        if not stat.S_ISREG(status.st_mode) or _is_standard_stream(status) is not None:
            _write_through(path, text, status)
            return
        if not status.st_mode & 0o222:
            raise PermissionError(errno.EACCES, "read-only file", str(path))
        if not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, "permission denied", str(path))
    target = Path(os.path.realpath(path))    # a link's target (also a dangling link's)
    directory = target.parent
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise _named(error, path) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            if status is None:
                os.fchmod(stream.fileno(), 0o666 & ~_umask())
            else:
                os.fchmod(stream.fileno(), stat.S_IMODE(status.st_mode))
                _keep_owner(stream.fileno(), status)
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except BaseException as error:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise _named(error, path) from None
        raise


def _keep_owner(fd: int, status: os.stat_result) -> None:
    """Root replacing another user's file gives the new file the old owner (best effort)."""
    if os.geteuid() == 0 and (status.st_uid, status.st_gid) != (0, 0):
        try:
            os.fchown(fd, status.st_uid, status.st_gid)
        except OSError:
            pass


def _write_through(path: Path, text: str, status: os.stat_result) -> None:
    """Write into a device, FIFO or our own stdout/stderr without replacing it."""
    fd = _is_standard_stream(status)
    if fd is not None:
        stream = sys.stdout if fd == 1 else sys.stderr
        stream.write(text)
        stream.flush()
        return
    try:
        with open(path, "w", encoding="utf-8", newline="") as device:
            device.write(text)
    except OSError as error:
        raise _named(error, path) from None


def render(report: Report, fmt: OutputFormat, output: Path | None = None) -> None:
    """Draw a report as a table, JSON or CSV, to stdout or atomically to `output`."""
    if fmt is OutputFormat.json:
        text = _as_json(report)
    elif fmt is OutputFormat.csv:
        text = _as_csv(report)
    else:
        from rich.console import Console

        if output is None:
            console = Console()
            if not console.is_terminal and "COLUMNS" not in os.environ:
                console = Console(width=TABLE_WIDTH)
            _draw_tables(report, console)
            return
        buffer = io.StringIO()
        _draw_tables(report, Console(file=buffer, width=TABLE_WIDTH, no_color=True, force_terminal=False))
        text = buffer.getvalue()
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomically(output, text)


PROGRESS_AFTER_SECONDS = 1.0


@contextmanager
def progress_bar(description: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress(done, total) callback drawing a rich bar on stderr, shown only once the
    work has taken over a second (quick runs stay silent) and only when stderr is a
    terminal and stdout does not carry JSON (enabled=False)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    started = time.monotonic()
    state: dict[str, TaskID | None] = {"task": None}

    def update(done: int, total: int) -> None:
        task = state["task"]
        if task is None:
            if time.monotonic() - started < PROGRESS_AFTER_SECONDS:
                return
            progress.start()
            task = state["task"] = progress.add_task(description, total=total)
        progress.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if state["task"] is not None:
            progress.stop()
