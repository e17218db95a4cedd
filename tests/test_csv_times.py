"""One reader of CSV times (hedgecore.reading.csv_timestamp) for the price history and the
fills CSV: epoch seconds, epoch milliseconds or ISO 8601, never a NaN or infinite time."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from hedgecore.errors import InputError
from hedgecore.quoting.intensity import read_fills_csv
from hedgecore.simulation.history import read_price_history

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("cell", [f"{NOON:.0f}", f"{NOON * 1000:.0f}", "2026-11-26T12:00:00Z",
                                  "2026-11-26T12:00:00", "2026-11-26T13:00:00+01:00"])
def test_every_form_reads_as_the_same_time_in_both_readers(tmp_path: Path, cell: str):
    fills = tmp_path / "fills.csv"
    fills.write_text(f"time,instrument,side,price,mid\n{cell},BTC-PERPETUAL,buy,95990,96000\n")
    assert read_fills_csv(fills)[0].time_seconds == NOON
    prices = tmp_path / "prices.csv"
    prices.write_text(f"timestamp,price\n{cell},96000\n{NOON + 60:.0f},96010\n")
    assert read_price_history(prices)[1] == (NOON, NOON + 60)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("nan", "time 'nan' must be a finite number"),
        ("inf", "time 'inf' must be a finite number"),
        ("1e400", "time '1e400' must be a finite number"),
        ("yesterday", "time 'yesterday' is neither a number nor ISO 8601"),
        ("2301-01-01T00:00:00Z", "is not a time between the years 1970 and 2200"),
        ("-5", "is not a time between the years 1970 and 2200"),
    ],
)
def test_a_bad_fill_time_names_the_file_line_and_column(tmp_path: Path, cell: str, message: str):
    fills = tmp_path / "fills.csv"
    fills.write_text("time,instrument,side,price,mid\n"
                     f"{NOON:.0f},BTC-PERPETUAL,sell,96010,96000\n"
                     f"{cell},BTC-PERPETUAL,buy,95990,96000\n")
    with pytest.raises(InputError) as caught:
        read_fills_csv(fills)
    assert str(caught.value).startswith(f"{fills}:3: ")
    assert message in str(caught.value)


def test_a_price_history_time_past_the_calendar_is_refused(tmp_path: Path):
    prices = tmp_path / "prices.csv"
    prices.write_text(f"{NOON:.0f},96000\n9e15,96010\n")   # 9e15 ms is the year 2255
    with pytest.raises(InputError) as caught:
        read_price_history(prices)
    assert str(caught.value).startswith(f"{prices}:2: timestamp '9e15' is not a time between")
