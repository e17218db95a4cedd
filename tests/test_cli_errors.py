"""Bad input: one line naming file, line and field, exit 2, no traceback; safe YAML limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hedgecore.cli.main import app

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
MARKET = """
    as_of: 2026-11-21T08:00:00Z
    underlyings:
      BTC:
        spot: 96500
        perpetuals: {BTC-PERPETUAL: {price: 96530, funding_rate_8h: 0.0001}}
        smiles:
          25DEC26: {90000: 0.53, 100000: 0.50}
"""
POLICY = """
    underlyings:
      BTC:
        band: {method: fixed, half_width: 1}
        instruments:
          - {name: BTC-PERPETUAL, taker_fee: 0.0005}
"""
GOOD_BOOK = """
    positions:
      - instrument: BTC-25DEC26-100000-C
        quantity: -10
"""


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def error_line(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hedgecore: error: ")
    return lines[0].removeprefix("hedgecore: error: ")


@pytest.fixture
def paths(write_yaml: Any) -> Any:
    def make(book: str = GOOD_BOOK, market: str = MARKET, policy: str = POLICY) -> tuple[Path, Path, Path]:
        return write_yaml("book.yaml", book), write_yaml("market.yaml", market), write_yaml("policy.yaml", policy)

    return make


def exposures_error(paths: Any, book: str, market: str = MARKET) -> str:
    book_path, market_path, _ = paths(book, market)
    message = error_line(invoke("exposures", book_path, "--market", market_path))
    return message.replace(str(book_path.parent) + "/", "")


@pytest.mark.parametrize(("book", "expected"), [
    ("""
     positions:
       - instrument: BTC-PERPETUAL
         quantity: 1
       - type: option
         underlying: BTC
         strike: -5
         expiry: 2026-12-25
         option_type: call
         quantity: 1
     """, "book.yaml:6: positions[1].strike: must be > 0, got -5"),
    ("""
     positions:
       - instrument: BTC-PERPETUAL
         quantitty: 1
     """, "book.yaml:3: positions[0].quantitty: unknown key (did you mean 'quantity'?)"),
    ("""
     positions:
       - instrument: BTC-PERPETUAL
         quantity: .nan
     """, "book.yaml:3: positions[0].quantity: must be a finite number, got nan"),
    ("""
     positions:
       - instrument: BTC-PERPETUAL
         quantity: -.inf
     """, "book.yaml:3: positions[0].quantity: must be a finite number, got -inf"),
    ("""
     positions:
       - instrument: BTC-PERPETUAL
         quantity: ten
     """, "book.yaml:3: positions[0].quantity: must be a number, got 'ten'"),
    ("""
     positions:
       - instrument: BTC-PERPETUAL
     """, "book.yaml:2: positions[0]: missing required key 'quantity'"),
    ("""
     positions:
       - instrument: BTC-99DEC26-100000-C
         quantity: 1
     """, "book.yaml:2: positions[0].instrument: not an instrument name hedgecore understands: "
          "'BTC-99DEC26-100000-C' (e.g. BTC-27DEC26-100000-C, ETH_USDC-PERPETUAL, BTC-27DEC26); "
          "or give type/underlying/strike/expiry/option_type/settlement"),
    ("""
     positions:
       - instrument: SOL-PERPETUAL
         quantity: 1
     """, "book.yaml:2: positions[0]: missing required key 'contract_size' (USD per contract of SOL-PERPETUAL; "
          "hedgecore knows it only for BTC and ETH)"),
    ("""
     positions:
       - instrument: SOL_USDC-25DEC26-200-C
         quantity: 1
     """, "book.yaml:2: positions[0].instrument: no market data for underlying 'SOL' (the market file has BTC)"),
    ("""
     positions:
       - instrument: BTC-26MAR27-100000-C
         quantity: 1
     """, "book.yaml:2: positions[0].instrument: no implied vol for BTC-26MAR27-100000-C in the market file "
          "(add it under underlyings.BTC.vols or a smile for its expiry)"),
    ("""
     positions:
       - id: hedge
         instrument: BTC-PERPETUAL
         quantity: 1
       - id: hedge
         instrument: BTC-PERPETUAL
         quantity: 2
     """, "book.yaml:5: positions[1].id: duplicate id 'hedge' (first used by positions[0]); "
          "give each position a unique id"),
    ("""
     positions:
       - instrument: BTC-PERPETUAL
         quantity: 1
         quantity: 2
     """, "book.yaml:4: duplicate key 'quantity'"),
    ("", "book.yaml:1: the file is empty"),
    ("""
     positions:
       - {instrument: BTC-PERPETUAL, quantity: 1e308}
       - {type: spot, underlying: BTC, quantity: 1e308}
     """, "cannot compute: position 'BTC-PERPETUAL' (positions[0]) has non-finite figures; "
          "check its quantity, strike, vol and market prices"),
])
def test_bad_books(paths: Any, book: str, expected: str) -> None:
    assert exposures_error(paths, book) == expected


@pytest.mark.parametrize(("market", "expected"), [
    (MARKET.replace("spot: 96500", "spot: -1"), "market.yaml:4: underlyings.BTC.spot: must be > 0, got -1"),
    (MARKET.replace("100000: 0.50", "100000: .nan"),
     "market.yaml:7: underlyings.BTC.smiles.25DEC26.100000: must be a finite number, got nan"),
    (MARKET.replace("smiles:", "smile:"), "market.yaml:6: underlyings.BTC.smile: unknown key (did you mean 'smiles'?)"),
    (MARKET.replace("as_of: 2026-11-21T08:00:00Z", "as_of: tomorrow"),
     "market.yaml:1: as_of: must be an ISO-8601 time such as 2026-12-27T08:00:00Z, got 'tomorrow'"),
])
def test_bad_markets(paths: Any, market: str, expected: str) -> None:
    assert exposures_error(paths, GOOD_BOOK, market) == expected


@pytest.mark.parametrize(("policy", "expected"), [
    (POLICY.replace("method: fixed", "method: whaley_wilmott"),
     "policy.yaml:3: underlyings.BTC.band.method: must be one of fixed, whalley_wilmott, zakamouline, nested, "
     "got 'whaley_wilmott' (did you mean 'whalley_wilmott'?)"),
    (POLICY.replace("half_width: 1", "half_width: -1"),
     "policy.yaml:3: underlyings.BTC.band.half_width: must be >= 0, got -1"),
    (POLICY.replace("BTC-PERPETUAL", "ETH-PERPETUAL"),
     "policy.yaml:5: underlyings.BTC.instruments[0].name: ETH-PERPETUAL is on ETH, not BTC"),
    (POLICY.replace("taker_fee", "taker_fees"),
     "policy.yaml:5: underlyings.BTC.instruments[0].taker_fees: unknown key (did you mean 'taker_fee'?)"),
    (POLICY.replace("BTC:", "ETH:").replace("BTC-PERPETUAL", "ETH-PERPETUAL"),
     "policy.yaml:1: underlyings: no policy for BTC, which the portfolio holds at positions[0] "
     "(the policy covers ETH)"),
])
def test_bad_policies(paths: Any, policy: str, expected: str) -> None:
    book, market, policy_path = paths(GOOD_BOOK, MARKET, policy)
    for command in ("hedge", "check"):
        message = error_line(invoke(command, book, "--market", market, "--policy", policy_path))
        assert message.replace(str(book.parent) + "/", "") == expected


def test_yaml_syntax_error_names_the_line(paths: Any) -> None:
    book = """
        positions:
          - instrument: BTC-PERPETUAL
            quantity: [1
    """
    message = exposures_error(paths, book)
    assert message.startswith("book.yaml:4: YAML syntax error: ")
    assert "expected ',' or ']'" in message


def test_unknown_policy_underlying(paths: Any) -> None:
    policy = """
        underlyings:
          BTC:
            band: {method: fixed, half_width: 1}
            instruments: [{name: BTC-PERPETUAL}]
          SOL:
            band: {method: fixed, half_width: 1}
            instruments: [{name: SOLUSDT}]
    """
    book, market, policy_path = paths(GOOD_BOOK, MARKET, policy)
    message = error_line(invoke("check", book, "--market", market, "--policy", policy_path, "-f", "json"))
    assert message == f"{policy_path}:5: underlyings.SOL: unknown underlying SOL: the market file has no data for it"


def test_nan_never_reaches_a_trade(paths: Any) -> None:
    """A book whose figures overflow is refused before any trade is computed or printed."""
    book = """
        positions:
          - {type: spot, underlying: BTC, quantity: 1e308}
    """
    book_path, market, policy = paths(book)
    result = invoke("check", book_path, "--market", market, "--policy", policy, "-f", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["status"] == "error"
    assert "trades" not in doc
    assert "non-finite" in doc["error"]


BILLION_LAUGHS = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    """9^9 = 387 million strings if expanded: refused by the pre-scan of the parser's events,
    which knows the size of every anchored subtree, at the alias that would expand past
    10,000 values: the first alias on line 5 would add d's 7,381 values to the 8,289 that
    the aliases of lines 2-4 expand to."""
    bomb = tmp_path / "book.yaml"
    bomb.write_text(BILLION_LAUGHS.lstrip("\n"))
    message = error_line(invoke("exposures", bomb, "--market", CONFIGS / "btc_market.yaml"))
    assert message == (f"{bomb}:5: YAML aliases expand to more than 10,000 values; refusing to expand "
                       "(a 'billion laughs' document?)")


def test_too_many_aliases(tmp_path: Path) -> None:
    lines = ["size: &size 1", "positions:"]
    lines += [f"  - {{id: p{k}, instrument: BTC-PERPETUAL, quantity: *size}}" for k in range(101)]
    book = tmp_path / "book.yaml"
    book.write_text("\n".join(lines) + "\n")
    message = error_line(invoke("exposures", book, "--market", CONFIGS / "btc_market.yaml"))
    assert message == f"{book}:103: more than 100 YAML aliases"


def test_recursive_alias(tmp_path: Path) -> None:
    book = tmp_path / "book.yaml"
    book.write_text("positions: &p [*p]\n")
    message = error_line(invoke("exposures", book, "--market", CONFIGS / "btc_market.yaml"))
    assert message == f"{book}:1: recursive YAML alias"


def test_deep_nesting_is_refused_before_composing(tmp_path: Path) -> None:
    """libyaml's recursive composer overflows the C stack (a segfault) on ~10^5 nested
    brackets; the iterative pre-scan refuses the file first. Run in a subprocess so that a
    regression cannot take the test session down with it."""
    import os
    import subprocess
    import sys

    import hedgecore

    deep = tmp_path / "book.yaml"
    deep.write_text("positions: " + "[" * 200_000 + "]" * 200_000 + "\n")
    root = str(Path(hedgecore.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root}
    env.pop("HEDGECORE_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "hedgecore", "exposures", str(deep), "--market",
                             str(CONFIGS / "btc_market.yaml")], capture_output=True, text=True, cwd=root,
                            env=env, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"hedgecore: error: {deep}:1: nested more than 64 levels deep\n"


def test_a_few_aliases_are_fine(paths: Any) -> None:
    book = """
        positions:
          - &call {instrument: BTC-25DEC26-100000-C, quantity: -10, id: a}
          - {instrument: BTC-25DEC26-90000-C, quantity: 5, id: b}
    """
    book_path, market, _ = paths(book)
    result = invoke("exposures", book_path, "--market", market, "-f", "json")
    assert result.exit_code == 0, result.output


def test_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "book.yaml"
    big.write_text("positions:\n" + "# padding\n" * 600_000)
    message = error_line(invoke("exposures", big, "--market", CONFIGS / "btc_market.yaml"))
    assert message == f"{big}: file is 5.7 MiB, over the 5 MiB limit for input files"


def test_python_tags_are_not_constructed(paths: Any) -> None:
    book = """
        positions:
          - instrument: !!python/object/apply:os.system ["echo pwned"]
            quantity: 1
    """
    message = exposures_error(paths, book)
    assert message.startswith("book.yaml:2: ")
    assert "pwned" not in message or "could not determine a constructor" in message


def test_red_panel_only_on_a_terminal(paths: Any) -> None:
    book, market, _ = paths("positions: []\n")
    result = invoke("exposures", book, "--market", market)
    assert result.exit_code == 2
    assert "╭" not in result.stderr
    assert result.stderr.strip().endswith("book.yaml:1: positions: must list at least one position")
