"""The one rendering function: columns and rows to a rich table, JSON or CSV.

A command builds a `Report` (the JSON document pipelines parse, plus tables of columns and
rows for people and spreadsheets) and hands it to `render`. With --format json only the
document is written to stdout; diagnostics always go to stderr. --output writes the same
bytes to a file atomically (a temporary file in the target's directory, then os.replace).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hedgecore.cli._options import OutputFormat

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
    if isinstance(value, float) and not math.isfinite(value):
        return None
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


def _plain_table(table: Table, width: int) -> str:
    """Aligned text for big tables: numbers right-aligned, text columns truncated to fit."""
    cells = [[column.formatter(row.get(column.key)) for column in table.columns] for row in table.rows]
    headers = [column.header for column in table.columns]
    widths = [max([len(h), *(len(r[k]) for r in cells)]) for k, h in enumerate(headers)]
    gap = 1
    excess = sum(widths) + gap * (len(widths) - 1) - width
    for k, column in enumerate(table.columns):
        if excess <= 0:
            break
        if not column.numeric:
            cut = min(excess, widths[k] - max(10, len(headers[k])))
            if cut > 0:
                widths[k] -= cut
                excess -= cut

    def line(values: list[str]) -> str:
        parts = []
        for k, (value, column) in enumerate(zip(values, table.columns, strict=True)):
            if len(value) > widths[k]:
                value = value[: widths[k] - 1] + "~"
            parts.append(value.rjust(widths[k]) if column.numeric else value.ljust(widths[k]))
        return (" " * gap).join(parts).rstrip()

    rule = "-" * min(width, sum(widths) + gap * (len(widths) - 1))
    return "\n".join([table.title, "", line(headers), rule, *(line(r) for r in cells), ""])


def _draw_tables(report: Report, console: Any) -> None:
    from rich import box
    from rich.table import Table as RichTable

    for table in report.tables:
        if len(table.rows) > RICH_MAX_ROWS:
            console.print(_plain_table(table, console.width), markup=False, highlight=False, soft_wrap=True)
            continue
        drawn = RichTable(title=table.title, box=box.SIMPLE_HEAD, title_justify="left",
                          pad_edge=False, expand=False, collapse_padding=True)
        for column in table.columns:
            if column.numeric:
                drawn.add_column(column.header, justify="right", no_wrap=True)
            else:
                drawn.add_column(column.header, justify="left", overflow="fold", min_width=6)
        for index, row in enumerate(table.rows):
            cells = []
            for column in table.columns:
                text = column.formatter(row.get(column.key))
                style = table.cell_styles.get((index, column.key))
                cells.append(f"[{style}]{_escape(text)}[/]" if style else _escape(text))
            drawn.add_row(*cells, style=table.row_styles.get(index))
        console.print(drawn)
    for note in report.notes:
        console.print(note, highlight=False, markup=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def write_atomically(path: Path, text: str) -> None:
    """Write text to path via a temporary file in the same directory and os.replace."""
    directory = path.parent if str(path.parent) else Path(".")
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        raise


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
