"""Reading a price history: the CSV of (timestamp, price) rows that HistoricalModel replays.

Bounded like a YAML input (at most MAX_PRICE_CSV_BYTES of UTF-8 text); a bad row or file
raises InputError naming the file and the line (``prices.csv:17: ...``).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from hedgecore.errors import InputError, escape_text, show_text
from hedgecore.reading import csv_timestamp, decode_input_text, read_input_file

MAX_PRICE_CSV_BYTES = 64 * 1024 * 1024     # about 1.5 million rows: a year of minute prices


def read_price_history(path: str | Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(prices, timestamps in seconds since the epoch) of a CSV of (timestamp, price) rows;
    a header row is skipped. See HistoricalModel.from_csv for the accepted forms."""
    filename = str(path)
    text = decode_input_text(read_input_file(path, filename, max_bytes=MAX_PRICE_CSV_BYTES), filename)
    reader = csv.reader(io.StringIO(text, newline=""))
    stamps: list[float] = []
    prices: list[float] = []
    header_allowed = True
    try:
        for row in reader:
            line = reader.line_num
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise InputError(filename, line, "expected timestamp,price")
            try:
                price = float(row[1])
            except ValueError:
                if header_allowed:
                    header_allowed = False
                    continue
                raise InputError(filename, line, f"price {show_text(row[1])} is not a number") from None
            header_allowed = False
            if not (math.isfinite(price) and price > 0.0):
                raise InputError(filename, line,
                                 f"price must be a finite number > 0, got {show_text(row[1].strip())}")
            stamp = csv_timestamp(row[0], filename, line)
            if stamps and not stamp > stamps[-1]:
                raise InputError(filename, line, f"timestamps must increase: {show_text(row[0].strip())} "
                                 "is not after the previous row's")
            stamps.append(stamp)
            prices.append(price)
    except csv.Error as exc:
        raise InputError(filename, reader.line_num, f"not a CSV of timestamp,price rows: "
                         f"{escape_text(str(exc), 100)}") from None
    return tuple(prices), tuple(stamps)
