"""Reading hostile inputs: every one ends in one line naming the file (and the line and field
where there is one), exit 2, no traceback, in bounded time and memory.

The corpus at the end runs each hostile file through the real command line in a subprocess;
the tests above it pin each rule where it is enforced (the YAML reader, the library's checked
readers, instrument names, the price CSV reader).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import hedgecore
from hedgecore.cli import _yaml
from hedgecore.cli._yaml import InputFileError, load_yaml
from hedgecore.cli.main import app
from hedgecore.errors import (
    MAX_SHOWN_CHARS,
    ConfigError,
    Fields,
    InputError,
    check_keys,
    finite_number,
    parse_duration,
    parse_timestamp,
    show_text,
)
from hedgecore.instruments import parse_instrument_name
from hedgecore.simulation import HistoricalModel

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
BOOK = (CONFIGS / "btc_book.yaml").read_text()
MARKET = (CONFIGS / "btc_market.yaml").read_text()
POLICY = (CONFIGS / "btc_policy.yaml").read_text()
PERP_BOOK = "positions:\n  - instrument: BTC-PERPETUAL\n    quantity: 1000\n"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def load_error(tmp_path: Path, content: str | bytes, name: str = "doc.yaml") -> str:
    path = write(tmp_path, name, content)
    with pytest.raises(InputFileError) as caught:
        load_yaml(path, label=name)
    return str(caught.value)


def cli_error(*args: Any) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hedgecore: error: "), result.stderr
    return lines[0].removeprefix("hedgecore: error: ")


# ------------------------------------------------------------------ 1. nesting depth
class _LibyamlWithNestingLimit(yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML's parser with the flow-nesting limit newer libyaml releases have (PyYAML
    6.0.4's stops at 1,000 levels; 80 here), raised where libyaml raises it: in the scanner,
    which looks ahead over a whole run of opening brackets before the parser delivers
    their events."""

    LIMIT = 80

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        if self.flow_level >= self.LIMIT:
            raise yaml.scanner.ScannerError("while increasing flow level", self.get_mark(),
                                            "exceeded maximum nesting depth", self.get_mark())
        super().fetch_flow_collection_start(token_class)


def test_depth_message_does_not_depend_on_the_parsers_own_nesting_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "positions: " + "[" * 500 + "]" * 500 + "\n"
    # The stand-in fails on its own, before the 65th level reaches the pre-scan's events:
    parser = _LibyamlWithNestingLimit(deep)
    with pytest.raises(yaml.scanner.ScannerError, match="maximum nesting depth"):
        list(iter(parser.get_event, None))
    monkeypatch.setattr(_yaml, "_Base", _LibyamlWithNestingLimit)
    assert load_error(tmp_path, deep) == "doc.yaml:1: nested more than 64 levels deep"
    # Its other errors still read as its own (the re-read is only for runs of brackets).
    assert load_error(tmp_path, "a: [1, 2\nb: 3\n").startswith("doc.yaml:2: YAML syntax error: ")


@pytest.mark.parametrize("document", [
    "positions:\n" + "".join("  " * level + "-\n" for level in range(1, 80)),        # block sequences
    "".join(" " * level + f"k{level}:\n" for level in range(80)) + " " * 80 + "v\n",  # block mappings
    "a: " + "{b: " * 80 + "1" + "}" * 80 + "\n",                                        # flow mappings
])
def test_block_and_flow_nesting_are_refused_at_65_levels(tmp_path: Path, document: str) -> None:
    assert load_error(tmp_path, document).endswith(": nested more than 64 levels deep")


# ------------------------------------------------------------------ 2. any file, bounded
def test_a_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="is a directory, not a file"):
        load_yaml(tmp_path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_an_endless_device_is_refused_at_the_size_limit() -> None:
    with pytest.raises(InputFileError) as caught:
        load_yaml("/dev/zero")
    assert str(caught.value) == "/dev/zero: more than 5 MiB, the limit for input files"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_nobody_writes_to_is_refused_when_the_wait_is_over(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "book.yaml"
    os.mkfifo(fifo)
    monkeypatch.setattr(_yaml, "READ_TIMEOUT_SECONDS", 0.3)
    message = cli_error("exposures", fifo, "--market", CONFIGS / "btc_market.yaml")
    assert message == f"{fifo}: no end of data within 0.3 s (a FIFO or device nobody writes to?); " \
                      "input files must be complete"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_or_pipe_with_a_writer_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "book.yaml"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "w") as handle:      # blocks until the reader opens the FIFO
            handle.write(PERP_BOOK)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    data, _ = load_yaml(fifo)
    thread.join(5)
    assert data == {"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 1000}]}


@pytest.mark.parametrize(("content", "message"), [
    (b"positions:\n  - instrument: BTC\x00\n", "doc.yaml:2: binary file (a NUL byte), not UTF-8 text"),
    (b"positions:\n  - instrument: \xff\xfe\n", "doc.yaml:2: not UTF-8 text (byte 0xff)"),
    ("positions: []\n".encode("utf-16"), "doc.yaml: not UTF-8 text (UTF-16?): save the file as UTF-8"),
    (b"a: 1\nb: x\x1b[31m\n", "doc.yaml:2: binary file: control character \\x1b is not allowed in YAML text"),
])
def test_binary_and_non_utf8_files_are_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    assert load_error(tmp_path, content) == message


def test_bom_and_crlf_keep_their_lines(tmp_path: Path) -> None:
    data, lines = load_yaml(write(tmp_path, "doc.yaml", "\ufeffa: 1\r\nb:\r\n  c: 2\r\n"))
    assert data == {"a": 1, "b": {"c": 2}}
    assert lines.line_of("b.c") == 3


# ------------------------------------------------------------------ 3. numbers, dates, tags
@pytest.mark.parametrize(("value", "message"), ids=lambda value: repr(value)[:40], argvalues=[
    (10**400, "must be a finite number, got an integer of 401 digits"),
    (-(10**400), "must be a finite number, got an integer of 401 digits"),
    ("1e400", "must be a finite number, got '1e400'"),
    ("nan", "must be a finite number, got 'nan'"),
    ("inf", "must be a finite number, got 'inf'"),
    ("0x10", "must be a number, got '0x10'"),
    ("x" * 1000, "must be a number, got '" + "x" * MAX_SHOWN_CHARS + "...' (1,000 characters)"),
])
def test_numbers_that_are_not_finite_floats_are_refused(value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        finite_number(value, "positions[0].quantity", "portfolio")
    assert caught.value.message == message


def test_numbers_written_as_text_still_read() -> None:
    assert finite_number("96_500", "spot", "market") == 96500.0
    assert finite_number(10**300, "spot", "market") == 1e300


@pytest.mark.parametrize("value", [
    "9999-12-31T23:00:00-05:00",         # past year 9999 in UTC: astimezone overflowed
    "0001-01-01T00:00:00+05:00",         # before year 1 in UTC
    datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
    "0001-01-01",
    "2201-01-01T00:00:00Z",
])
def test_times_out_of_range_are_refused(value: Any) -> None:
    with pytest.raises(ConfigError, match="must be a time between the years 1970 and 2200"):
        parse_timestamp(value, "as_of", "market")


def test_times_in_range_still_read() -> None:
    moment = parse_timestamp("2200-06-30T23:00:00-05:00", "as_of", "market")
    assert moment == datetime(2200, 7, 1, 4, tzinfo=timezone.utc)
    assert parse_timestamp("2026-12-25", "expiry", "portfolio") == datetime(2026, 12, 25, 8, tzinfo=timezone.utc)


@pytest.mark.parametrize(("value", "message"), [
    ("1000000000000d", "must be at most 100 years, got '1000000000000d'"),
    (10**400, "must be at most 100 years, got an integer of 401 digits"),
    (1e300, "must be at most 100 years, got 1e+300"),
    ("36526d", "must be at most 100 years, got '36526d'"),
    ("nan", "must be a duration such as 30m, 8h or 1d, got 'nan'"),
])
def test_durations_are_bounded(value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_duration(value, "underlyings.BTC.min_interval", "policy")
    assert caught.value.message == message


def test_durations_up_to_100_years_read() -> None:
    assert parse_duration("36525d", "x", "policy") == timedelta(days=36525)
    assert parse_duration("30m", "x", "policy") == timedelta(minutes=30)


@pytest.mark.parametrize(("text", "message"), [
    ("as_of: !!timestamp nonsense\n", "doc.yaml:1: as_of: not a date or time: 'nonsense'"),
    ("as_of: !!timestamp 2026-13-45\n",
     "doc.yaml:1: as_of: bad value '2026-13-45' (!!timestamp): month must be in 1..12"),
    ("a:\n  b: !!binary aGVsbG8=\n", "doc.yaml:2: a.b: unsupported YAML tag '!!binary'; write a plain value"),
    ("a: !!python/object:os.system {}\n",
     "doc.yaml:1: a: unsupported YAML tag '!!python/object:os.system'; write a plain mapping"),
    ("a: !!set {x, y}\n", "doc.yaml:1: a: unsupported YAML tag '!!set'; write a plain mapping"),
    ("a: !!omap [x: 1]\n", "doc.yaml:1: a: unsupported YAML tag '!!omap'; write a plain list"),
    ("a: !custom 1\n", "doc.yaml:1: a: unsupported YAML tag '!custom'; write a plain value"),
    ("a: [1, !!int nonsense]\n", "doc.yaml:1: a[1]: bad value 'nonsense' (!!int): invalid literal for int() "
                                 "with base 10: 'nonsense'"),
    ("a: " + "1" * 5000 + "\n", "doc.yaml:1: a: an integer of 5,000 characters is too long for a number"),
])
def test_explicit_tags_and_bad_scalars_name_their_field(tmp_path: Path, text: str, message: str) -> None:
    assert load_error(tmp_path, text) == message


def test_core_schema_tags_still_read(tmp_path: Path) -> None:
    data, _ = load_yaml(write(tmp_path, "doc.yaml", "a: !!str 85000\nb: !!float 1\nc: !!timestamp 2026-12-25\n"))
    assert data == {"a": "85000", "b": 1.0, "c": datetime(2026, 12, 25).date()}


# ------------------------------------------------------------------ 4. instrument names
@pytest.mark.parametrize(("name", "message"), ids=lambda value: repr(value)[:40], argvalues=[
    ("BTC-25DEC26-nan-C", "the strike in the name must be a finite number, got 'nan'"),
    ("BTC-25DEC26-inf-C", "the strike in the name must be a finite number, got 'inf'"),
    ("BTC-25DEC26-0-C", "the strike in the name must be > 0, got '0'"),
    ("BTC-25DEC26-0d0-P", "the strike in the name must be > 0, got '0d0'"),
    ("ETH_USDC-25DEC26-1e13-C", "the strike in the name must be at most 1,000,000,000,000, got '1e13'"),
    ("BTC-25DEC26-100000\n-C", "must not contain control characters (\\n)"),
    ("BTC-25DEC26-100000-C\x00", "must not contain control characters (\\x00)"),
    ("BTC\x1b[2J", "must not contain control characters (\\x1b)"),
    ("B" * 200, "must be at most 100 characters, got '" + "B" * MAX_SHOWN_CHARS + "...' (200 characters)"),
    ("B" * 100_000, "must be at most 1,000 characters, got '" + "B" * MAX_SHOWN_CHARS + "...' (100,000 characters)"),
])
def test_bad_instrument_names_fail_where_the_name_is_read(tmp_path: Path, name: str, message: str) -> None:
    book = write(tmp_path, "book.yaml", yaml.safe_dump({"positions": [{"instrument": name, "quantity": 1}]}))
    error = cli_error("exposures", book, "--market", CONFIGS / "btc_market.yaml")
    assert error.startswith(f"{book}:2: positions[0].instrument: {message}")
    assert len(error) < 400


def test_names_with_bad_strikes_are_not_instruments() -> None:
    for strike in ("nan", "inf", "-inf", "0", "1e13"):
        assert parse_instrument_name(f"BTC-25DEC26-{strike}-C") is None
    assert parse_instrument_name("BTC-25DEC26-1000000-C") is not None


def test_explicit_strikes_are_bounded_too(tmp_path: Path) -> None:
    book = write(tmp_path, "book.yaml", "positions:\n  - {type: option, underlying: BTC, strike: 1.0e+13,\n"
                 "     expiry: 2026-12-25, option_type: call, quantity: 1}\n")
    error = cli_error("exposures", book, "--market", CONFIGS / "btc_market.yaml")
    assert error == f"{book}:2: positions[0].strike: must be at most 1,000,000,000,000, got 1e+13"


# ------------------------------------------------------------------ 5. echoed values
def test_echoed_text_is_bounded_and_escaped() -> None:
    assert show_text("BTC\x1b[31m\n") == "'BTC\\x1b[31m\\n'"
    assert show_text("a" * 100_000) == "'" + "a" * MAX_SHOWN_CHARS + "...' (100,000 characters)"
    assert show_text("\u202ecba") == "'\\u202ecba'"


def test_unknown_keys_and_choices_are_echoed_bounded() -> None:
    with pytest.raises(ConfigError) as caught:
        check_keys({"q\x1b[2J" * 30_000: 1}, ("quantity", "instrument"), "positions[0]", "portfolio")
    shown = caught.value.describe()
    assert "\x1b" not in shown
    assert len(shown) < 300
    assert "(150,013 characters)" in shown
    with pytest.raises(ConfigError) as caught:
        Fields({"method": "fixed" * 100}, "underlyings.BTC.band", "policy").choice("method", ("fixed", "none"))
    assert caught.value.describe() == ("underlyings.BTC.band.method: must be one of fixed, none, got '"
                                       + ("fixed" * 12) + "...' (500 characters)")


def test_text_fields_refuse_control_characters_and_huge_text() -> None:
    with pytest.raises(ConfigError, match=r"must not contain control characters \(\\r\)"):
        Fields({"book": "desk\r"}, "positions[0]", "portfolio").text("book")
    with pytest.raises(ConfigError, match="must be at most 1,000 characters"):
        Fields({"id": "x" * 1001}, "positions[0]", "portfolio").text("id")


# ------------------------------------------------------------------ 6. duplicate keys
@pytest.mark.parametrize(("text", "message"), [
    ("underlyings:\n  BTC: {spot: 1}\n  btc: {spot: 2}\n",
     "doc.yaml:3: duplicate key 'btc' (same as 'BTC' on line 2)"),
    ("smile:\n  85000: 0.5\n  '85000': 0.6\n", "doc.yaml:3: duplicate key '85000' (same as 85000 on line 2)"),
    ("smile: {85000: 0.5, 85000.0: 0.6}\n", "doc.yaml:1: duplicate key 85000.0 (same as 85000 on line 1)"),
    ("vols:\n  BTC-25DEC26-100000-C: 0.5\n  btc-25dec26-100000-c: 0.6\n",
     "doc.yaml:3: duplicate key 'btc-25dec26-100000-c' (same as 'BTC-25DEC26-100000-C' on line 2)"),
    ("a: 1\n'a ': 2\n", "doc.yaml:2: duplicate key 'a ' (same as 'a' on line 1)"),
    ("a: 1\na: 2\n", "doc.yaml:2: duplicate key 'a'"),
])
def test_keys_differing_only_in_case_or_type_are_duplicates(tmp_path: Path, text: str, message: str) -> None:
    assert load_error(tmp_path, text) == message


def test_no_shipped_config_has_keys_differing_only_in_case_or_type() -> None:
    for path in sorted(CONFIGS.glob("*.yaml")):
        load_yaml(path)


# ------------------------------------------------------------------ 7. historical price CSV
def price_rows(count: int = 20) -> list[str]:
    return ["timestamp,price"] + [f"2024-01-{day:02d}T00:00:00Z,{100 + day}" for day in range(1, count + 1)]


@pytest.mark.parametrize(("row", "message"), [
    ("2024-01-01T00:00:00Z,110", "prices.csv:17: timestamps must increase: '2024-01-01T00:00:00Z' is not after "
                                 "the previous row's"),
    ("2024-01-15T00:00:00Z,110", "prices.csv:17: timestamps must increase: '2024-01-15T00:00:00Z' is not after "
                                 "the previous row's"),
    ("2024-01-16T00:00:00Z,nan", "prices.csv:17: price must be a finite number > 0, got 'nan'"),
    ("2024-01-16T00:00:00Z,0", "prices.csv:17: price must be a finite number > 0, got '0'"),
    ("2024-01-16T00:00:00Z,-5", "prices.csv:17: price must be a finite number > 0, got '-5'"),
    ("2024-01-16T00:00:00Z,1e400", "prices.csv:17: price must be a finite number > 0, got '1e400'"),
    ("2024-01-16T00:00:00Z,abc", "prices.csv:17: price 'abc' is not a number"),
    ("yesterday,110", "prices.csv:17: timestamp 'yesterday' is neither a number nor ISO 8601"),
    ("nan,110", "prices.csv:17: timestamp 'nan' must be a finite number"),
    ("2024-01-16T00:00:00Z", "prices.csv:17: expected timestamp,price"),
])
def test_a_bad_price_row_names_the_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   row: str, message: str) -> None:
    rows = price_rows()
    rows[16] = row
    write(tmp_path, "prices.csv", "\n".join(rows) + "\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as caught:
        HistoricalModel.from_csv("prices.csv")
    assert str(caught.value) == message
    assert caught.value.filename == "prices.csv"
    assert caught.value.line == 17


@pytest.mark.parametrize(("content", "message"), [
    (b"timestamp,price\n0,100\n1,\xff\n", "prices.csv:3: not UTF-8 text (byte 0xff)"),
    (b"timestamp,price\n0,100\n1,1\x0001\n", "prices.csv:3: binary file (a NUL byte), not UTF-8 text"),
    (b"timestamp,price\n0,100\n1,\"" + b"9" * 200_000 + b"\"\n",
     "prices.csv:3: not a CSV of timestamp,price rows: field larger than field limit (131072)"),
])
def test_a_bad_price_file_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         content: bytes, message: str) -> None:
    write(tmp_path, "prices.csv", content)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as caught:
        HistoricalModel.from_csv("prices.csv")
    assert str(caught.value) == message


def test_a_huge_price_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hedgecore.simulation import history

    path = write(tmp_path, "prices.csv", "\n".join(price_rows()) + "\n")
    monkeypatch.setattr(history, "MAX_PRICE_CSV_BYTES", 100)
    with pytest.raises(InputError, match=r"file is 0\.0 MiB, over the 9\.53674e-05 MiB limit"):
        HistoricalModel.from_csv(path)


def test_price_csv_reads_iso_naive_as_utc_and_milliseconds(tmp_path: Path) -> None:
    path = write(tmp_path, "prices.csv", "\ufefftimestamp,price\r\n2024-01-01T00:00:00,100\r\n"
                 "2024-01-02T00:00:00+00:00,101\r\n1704326400000,102\r\n")
    model = HistoricalModel.from_csv(path)
    assert model.prices == (100.0, 101.0, 102.0)
    assert model.timestamps == (1704067200.0, 1704153600.0, 1704326400.0)


def test_simulate_names_the_config_key_the_csv_and_its_row(tmp_path: Path) -> None:
    rows = price_rows()
    rows[16] = "2024-01-16T00:00:00Z,-1"
    write(tmp_path, "prices.csv", "\n".join(rows) + "\n")
    config = write(tmp_path, "sim.yaml", "model: {type: historical, csv: prices.csv}\nhorizon_years: 0.02\n"
                   "steps: 5\npaths: 1\noptions:\n  - {type: call, strike: 110, expiry_years: 0.02, quantity: -1}\n"
                   "hedge: {instrument: spot, vol: 0.5}\npolicies:\n  - {name: daily, method: time, every: 1}\n")
    error = cli_error("simulate", config)
    assert error == f"{config}:1: model.csv: {tmp_path / 'prices.csv'}:17: price must be a finite number > 0, got '-1'"


# ------------------------------------------------------------------ 8. the hostile corpus
def _market(old: str, new: str) -> str:
    assert old in MARKET
    return MARKET.replace(old, new, 1)


def _policy(old: str, new: str) -> str:
    assert old in POLICY
    return POLICY.replace(old, new, 1)


def _perp_book(quantity: str) -> str:
    return f"positions:\n  - instrument: BTC-PERPETUAL\n    quantity: {quantity}\n"


def _name_book(name: str) -> str:
    return f"positions:\n  - instrument: {name}\n    quantity: 1\n"


# name -> (which document, content, a fragment the message must hold)
CORPUS: dict[str, tuple[str, str | bytes, str]] = {
    "empty": ("book", "", ":1: the file is empty"),
    "only_comment": ("book", "# nothing here\n", ":1: the file is empty"),
    "top_level_list": ("book", "- a\n- b\n", "must be a mapping"),
    "top_level_scalar": ("book", "hello\n", ":1: must be a mapping of keys to values, got 'hello'"),
    "long_key": ("book", PERP_BOOK + "    ? " + "k" * 100_000 + "\n    : 1\n", "unknown key"),
    "long_line": ("book", "positions: [" + "1, " * 100_000 + "1]\n", "must be a mapping"),
    "deep_flow": ("book", "positions: " + "[" * 200_000 + "]" * 200_000 + "\n", ":1: nested more than 64 levels deep"),
    "deep_block": ("book", "positions:\n" + "".join("  " * level + "-\n" for level in range(1, 100)),
                   ":65: nested more than 64 levels deep"),
    "deep_mapping": ("book", "".join(" " * level + f"k{level}:\n" for level in range(100)),
                     ":65: nested more than 64 levels deep"),
    "tabs": ("book", "positions:\n\t- instrument: BTC-PERPETUAL\n", ":2: YAML syntax error"),
    "bom_crlf": ("book", "\ufeffpositions:\r\n  - instrument: BTC-PERPETUAL\r\n    quantity: nan\r\n",
                 ":3: positions[0].quantity: must be a finite number, got 'nan'"),
    "nul_byte": ("book", b"positions:\n  - instrument: BTC\x00-PERPETUAL\n", ":2: binary file"),
    "binary": ("book", bytes(range(256)) * 64, ":1: binary file"),
    "invalid_utf8": ("book", b"positions:\n  - instrument: \xc3\x28\n", ":2: not UTF-8 text"),
    "utf16": ("book", PERP_BOOK.encode("utf-16"), "not UTF-8 text (UTF-16?)"),
    "raw_escape": ("book", b"positions:\n  - instrument: BTC\x1b[2J\n", ":2: binary file: control character \\x1b"),
    "quoted_escape": ("book", _name_book('"BTC-PERPETUAL\\e[2J"'), "must not contain control characters (\\x1b)"),
    "newline_name": ("book", _name_book('"BTC-25DEC26\\n-100000-C"'), "must not contain control characters (\\n)"),
    "nul_name": ("book", _name_book('"BTC-PERPETUAL\\0"'), "must not contain control characters (\\x00)"),
    "long_name": ("book", _name_book("A" * 100_000), "(100,000 characters)"),
    "nan_strike": ("book", _name_book("BTC-25DEC26-nan-C"), ":2: positions[0].instrument: the strike in the name"),
    "zero_strike": ("book", _name_book("BTC-25DEC26-0-C"), ":2: positions[0].instrument: the strike in the name"),
    "inf_strike": ("book", _name_book("BTC-25DEC26-inf-C"), ":2: positions[0].instrument: the strike in the name"),
    "huge_strike": ("book", _name_book("BTC-25DEC26-1e13-C"), ":2: positions[0].instrument: the strike in the name"),
    "huge_quantity": ("book", _perp_book("1" + "0" * 400), ":3: positions[0].quantity: must be a finite number"),
    "huge_digits": ("book", _perp_book("1" * 5000), ":3: positions[0].quantity: an integer of 5,000 characters"),
    "quantity_1e400": ("book", _perp_book("1e400"), ":3: positions[0].quantity: must be a finite number"),
    "quantity_inf": ("book", _perp_book(".inf"), ":3: positions[0].quantity: must be a finite number, got inf"),
    "quantity_hex_text": ("book", _perp_book("'0x10'"), ":3: positions[0].quantity: must be a number"),
    "binary_tag": ("book", _perp_book("!!binary aGVsbG8="), ":3: positions[0].quantity: unsupported YAML tag"),
    "python_tag": ("book", "positions: !!python/object/apply:os.system [echo pwned]\n", "unsupported YAML tag"),
    "set_tag": ("book", "positions: !!set {a, b}\n", ":1: positions: unsupported YAML tag '!!set'"),
    "omap_tag": ("book", "positions: !!omap [a: 1]\n", ":1: positions: unsupported YAML tag '!!omap'"),
    "duplicate_case": ("book", PERP_BOOK + "    QUANTITY: 2\n",
                       ":4: duplicate key 'QUANTITY' (same as 'quantity' on line 3)"),
    "billion_laughs": ("book", "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)),
        "YAML aliases expand to more than"),
    "dev_zero": ("book", "/dev/zero", "more than 5 MiB"),
    "garbage_timestamp": ("market", _market("as_of: 2026-11-21T08:00:00Z", "as_of: !!timestamp nonsense"),
                          ":4: as_of: not a date or time: 'nonsense'"),
    "month_13": ("market", _market("as_of: 2026-11-21T08:00:00Z", "as_of: !!timestamp 2026-13-45"),
                 ":4: as_of: bad value '2026-13-45'"),
    "year_9999_offset": ("market", _market("as_of: 2026-11-21T08:00:00Z", "as_of: 9999-12-31T23:00:00-05:00"),
                         ":4: as_of: must be a time between the years 1970 and 2200"),
    "year_1_offset": ("market", _market("as_of: 2026-11-21T08:00:00Z", "as_of: 0001-01-01T00:00:00+05:00"),
                      ":4: as_of: must be a time between the years 1970 and 2200"),
    "huge_spot": ("market", _market("spot: 96500", "spot: 1" + "0" * 400),
                  ":8: underlyings.BTC.spot: must be a finite number"),
    "underlying_case": ("market", MARKET.rstrip("\n") + "\n  btc:\n    spot: 1\n",
                        "duplicate key 'btc' (same as 'BTC' on line 7)"),
    "strike_type": ("market", _market("27NOV26: {85000: 0.58,", "27NOV26: {85000: 0.58, '85000': 0.6,"),
                    ":17: duplicate key '85000' (same as 85000 on line 17)"),
    "vols_case": ("market", _market("    smiles:\n", "    vols: {BTC-25DEC26-100000-C: 0.5, "
                                    "btc-25dec26-100000-c: 0.6}\n    smiles:\n"),
                  "duplicate key 'btc-25dec26-100000-c' (same as"),
    "duration_1e12_days": ("policy", _policy("min_interval: 30m", "min_interval: 1000000000000d"),
                           "underlyings.BTC.min_interval: must be at most 100 years"),
    "duration_huge_int": ("policy", _policy("min_interval: 30m", "min_interval: 1" + "0" * 400),
                          "underlyings.BTC.min_interval: must be at most 100 years"),
    "long_choice": ("policy", _policy("rebalance_to: edge", "rebalance_to: " + "e" * 100_000),
                    "underlyings.BTC.rebalance_to: must be at most 1,000 characters, got 'eeee"),
}


def _command(document: str, path: str) -> list[str]:
    book, market = str(CONFIGS / "btc_book.yaml"), str(CONFIGS / "btc_market.yaml")
    if document == "book":
        return ["exposures", path, "--market", market]
    if document == "market":
        return ["exposures", book, "--market", path]
    return ["hedge", book, "--market", market, "--policy", path]


# Each of these runs as its own `python -m hedgecore` (the inputs that could crash or hang a
# process); the others run one after the other in a single process through the same command
# line (typer's runner), which keeps the corpus fast.
OWN_PROCESS = ("deep_flow", "dev_zero", "binary", "raw_escape", "bom_crlf", "long_line")
BATCH_DRIVER = """
import json, sys
from typer.testing import CliRunner
from hedgecore.cli.main import app
results = []
for command in json.loads(sys.stdin.read()):
    result = CliRunner().invoke(app, command)
    results.append([result.exit_code, result.stdout, result.stderr])
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, int, str, str]]:
    """name -> (path, exit code, stdout, stderr) of every corpus file through the command line."""
    folder = tmp_path_factory.mktemp("corpus")
    env = {**os.environ, "PYTHONPATH": str(Path(hedgecore.__file__).resolve().parent.parent),
           "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("HEDGECORE_DEBUG", None)
    paths: dict[str, str] = {}
    commands: dict[str, list[str]] = {}
    for name, (document, content, _) in CORPUS.items():
        paths[name] = str(content) if name == "dev_zero" else str(write(folder, f"{name}.yaml", content))
        commands[name] = _command(document, paths[name])
    batched = [name for name in CORPUS if name not in OWN_PROCESS]

    def run(name: str) -> list[tuple[int, str, str]]:
        if name == "batch":
            jobs = json.dumps([commands[other] for other in batched])
            done = subprocess.run([sys.executable, "-c", BATCH_DRIVER], input=jobs, capture_output=True, text=True,
                                  env=env, cwd=str(REPO), timeout=120, check=True)
            return [tuple(entry) for entry in json.loads(done.stdout)]  # type: ignore[misc]
        done = subprocess.run([sys.executable, "-m", "hedgecore", *commands[name]], capture_output=True, text=True,
                              errors="replace", env=env, cwd=str(REPO), timeout=60, check=False)
        return [(done.returncode, done.stdout, done.stderr)]

    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = dict(zip(["batch", *OWN_PROCESS], pool.map(run, ["batch", *OWN_PROCESS]), strict=True))
    results = dict(zip(batched, outcomes["batch"], strict=True))
    results.update({name: outcomes[name][0] for name in OWN_PROCESS})
    return {name: (paths[name], *results[name]) for name in CORPUS}


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_input_is_one_bounded_line_naming_the_file(
        name: str, corpus_results: dict[str, tuple[str, int, str, str]]) -> None:
    if name == "dev_zero" and not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    path, exit_code, stdout, stderr = corpus_results[name]
    assert exit_code == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    assert stdout == ""
    assert len(stderr) < 400, stderr[:600]
    assert stderr.endswith("\n"), stderr
    assert stderr.count("\n") == 1, stderr
    assert not any(ord(char) < 32 for char in stderr[:-1]), repr(stderr)
    assert stderr.startswith(f"hedgecore: error: {path}"), stderr
    assert CORPUS[name][2] in stderr, stderr


def test_corpus_is_large_and_covers_every_document() -> None:
    assert len(CORPUS) >= 40
    assert {document for document, _, _ in CORPUS.values()} == {"book", "market", "policy"}
