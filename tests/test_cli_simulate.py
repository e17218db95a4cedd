"""`hedgecore simulate` and `hedgecore optimize` through typer's CliRunner: exit codes,
JSON contracts, CSV, bad configs with file:line: field: message, --plot and --write-policy.
Runs are kept small (--paths, --steps) so the file stays fast."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hedgecore.cli.main import app

POLICY_KEYS = {"name", "mean_pnl", "std_pnl", "var_95", "cvar_95", "cvar_99", "mean_cost", "mean_trades", "quantiles"}


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def black_scholes_call(spot: float, strike: float, tau: float, vol: float, rate: float) -> float:
    d1 = (math.log(spot / strike) + (rate + vol**2 / 2) * tau) / (vol * math.sqrt(tau))
    d2 = d1 - vol * math.sqrt(tau)
    cdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    return spot * cdf(d1) - strike * math.exp(-rate * tau) * cdf(d2)


def test_simulate_json_contract_on_hulls_example(configs: Path):
    result = invoke("simulate", configs / "sim_hull.yaml", "--paths", 4000, "--format", "json", "--threads", 2)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # Hull: 100,000 short calls, S 49, K 50, r 5%, sigma 20%, 20 weeks: about -240,000
    expected = -100_000 * black_scholes_call(49.0, 50.0, 0.3846, 0.20, 0.05)
    assert document["option_value"] == pytest.approx(expected, rel=1e-9)
    assert document["paths"] == 4000
    assert [p["name"] for p in document["policies"]] == ["weekly", "fortnightly", "every-4-weeks", "unhedged"]
    for policy in document["policies"]:
        assert POLICY_KEYS <= set(policy)
        assert policy["cvar_99"] >= policy["cvar_95"] >= policy["var_95"]
    stds = [p["std_pnl"] for p in document["policies"]]
    assert stds == sorted(stds)  # less frequent hedging, more risk; unhedged the most


def test_simulate_is_reproducible_and_thread_independent(configs: Path):
    args = ("simulate", configs / "sim_hull.yaml", "--paths", 3000, "--steps", 10, "--seed", 11, "--format", "json")
    one = invoke(*args, "--threads", 1)
    two = invoke(*args, "--threads", 2)
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["policies"] == json.loads(two.stdout)["policies"]
    other = invoke(*args[:-4], "--seed", 12, "--format", "json")
    assert json.loads(other.stdout)["policies"] != json.loads(one.stdout)["policies"]


def test_simulate_table_and_csv(configs: Path):
    table = invoke("simulate", configs / "sim_btc_ww.yaml", "--paths", 300, "--steps", 48)
    assert table.exit_code == 0, table.output
    for name in ("hourly", "band-1btc", "ww", "zakamouline", "leland-8h"):
        assert name in table.stdout
    assert "VaR and CVaR are positive numbers for losses" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 100
    rows = list(
        csv.DictReader(
            io.StringIO(
                invoke("simulate", configs / "sim_btc_ww.yaml", "--paths", 300, "--steps", 48, "--format", "csv").stdout
            )
        )
    )
    assert [row["name"] for row in rows][:2] == ["hourly", "every-8h"]
    assert {"mean_pnl", "cvar_99", "mean_funding", "pnl_p50"} <= set(rows[0])
    assert float(rows[0]["mean_trades"]) == pytest.approx(48.0)  # a trade at every one of 48 steps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "policies:\n  - {name: ww, method: whalley_wilmott, risk_aversion: -1}\n",
            "sim.yaml:10: policies[0].risk_aversion: must be > 0, got -1",
        ),
        (
            "policies:\n  - {name: ww, method: whalley_wilmott}\n  - {name: t, method: time, evry: 2}\n",
            "sim.yaml:10: policies[0]: missing required key 'risk_aversion'",
        ),
        (
            "policies:\n  - {name: t, method: time, evry: 2}\n",
            "sim.yaml:10: policies[0].evry: unknown key (did you mean 'every'?)",
        ),
        ("policies: []\nstepz: 3\n", "sim.yaml:10: stepz: unknown key (did you mean 'steps'?)"),
    ],
)
def test_bad_config_is_one_line_with_file_line_and_field(write_yaml, text, expected):
    header = textwrap.dedent("""\
        model: {type: gbm, spot: 49.0, drift: 0.13, vol: 0.20}
        rate: 0.05
        horizon_years: 0.3846
        steps: 20
        paths: 1000
        seed: 7
        options:
          - {type: call, strike: 50.0, expiry_years: 0.3846, quantity: -100000}
        """)
    config = write_yaml("sim.yaml", header + text)
    result = invoke("simulate", config, "--paths", 100)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.endswith(expected)
    assert len(message.splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_missing_file_and_bad_options(tmp_path: Path, configs: Path):
    missing = invoke("simulate", tmp_path / "nope.yaml")
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    assert invoke("simulate", configs / "sim_hull.yaml", "--paths", 0).exit_code == 2
    assert invoke("simulate", configs / "sim_hull.yaml", "--format", "xml").exit_code == 2


def test_plot_writes_a_png(tmp_path: Path, configs: Path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "hull.png"
    result = invoke("simulate", configs / "sim_hull.yaml", "--paths", 1000, "--format", "json", "--plot", target)
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_names_the_extra(tmp_path: Path, configs: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    result = invoke("simulate", configs / "sim_hull.yaml", "--paths", 100, "--plot", tmp_path / "x.png")
    assert result.exit_code == 2, result.output
    assert "hedgecore[plot]" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_optimize_json_policy_file_and_plot(tmp_path: Path, configs: Path):
    policy_file = tmp_path / "policy.yaml"
    picture = tmp_path / "frontier.png"
    args = [
        "optimize",
        configs / "optimize_btc.yaml",
        "--paths",
        200,
        "--steps",
        48,
        "--format",
        "json",
        "--write-policy",
        policy_file,
    ]
    if "matplotlib" in sys.modules or _has_matplotlib():
        args += ["--plot", picture]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["objective"] == {"type": "mean_variance", "risk_weight": 2e-5}
    assert len(document["candidates"]) > 27  # the 9 x 3 grid, then one round of refinement
    assert set(document["chosen"]["parameters"]) == {"risk_aversion", "min_interval"}
    assert document["frontier"]
    assert all(row["efficient"] for row in document["frontier"])
    chosen = [
        row for row in document["candidates"] if row["objective"] == min(r["objective"] for r in document["candidates"])
    ]
    assert chosen[0]["risk_aversion"] == document["chosen"]["parameters"]["risk_aversion"]
    # the written file is a policy `hedgecore hedge` reads
    from hedgecore.cli._yaml import load_yaml
    from hedgecore.policy import parse_policy

    data, _ = load_yaml(policy_file)
    policy = parse_policy(data).underlyings["BTC"]
    assert policy.band.method == "whalley_wilmott"
    assert policy.band.risk_aversion == document["chosen"]["parameters"]["risk_aversion"]
    assert policy.instruments[0].instrument.name == "BTC-PERPETUAL"
    assert document["policy"] == data
    if "--plot" in args:
        assert picture.read_bytes()[:4] == b"\x89PNG"


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_optimize_table_and_errors(configs: Path, write_yaml):
    table = invoke("optimize", configs / "optimize_btc.yaml", "--paths", 100, "--steps", 24)
    assert table.exit_code == 0, table.output
    assert "chosen" in table.stdout
    assert "frontier" in table.stdout
    no_section = invoke("optimize", configs / "sim_hull.yaml", "--paths", 100)
    assert no_section.exit_code == 2
    assert re.search(r"sim_hull\.yaml:\d+: the config has no 'optimize' section", no_section.stderr)
    bad = write_yaml(
        "opt.yaml",
        """
        model: {type: gbm, spot: 49.0, vol: 0.20}
        horizon_years: 0.3846
        steps: 10
        options:
          - {type: call, strike: 50.0, expiry_years: 0.3846, quantity: -100}
        policies:
          - {name: t, method: time}
        optimize:
          policy: {name: ww, method: whalley_wilmott}
          search:
            risk_aversion: {min: 0, max: 1}
          objective: {type: mean_variance, risk_weight: 1.0e-6}
        """,
    )
    result = invoke("optimize", bad, "--paths", 100)
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "opt.yaml:11: optimize.search.risk_aversion.min: must be > 0 on a log scale, got 0"
    )
    infeasible = write_yaml(
        "infeasible.yaml",
        bad.read_text()
        .replace("search:\n    risk_aversion: {min: 0, max: 1}", "search:\n    risk_aversion: [1.0e-3, 1.0]")
        .replace("{type: mean_variance, risk_weight: 1.0e-6}", "{type: min_cost, max_std: 0.001}"),
    )
    result = invoke("optimize", infeasible, "--paths", 100)
    assert result.exit_code == 2, result.output
    assert "no candidate keeps the PnL std within max_std" in result.stderr


def test_progress_bar_only_after_a_second_on_a_terminal(monkeypatch: pytest.MonkeyPatch):
    from hedgecore.cli import _render as command

    with command.progress_bar("x", enabled=False) as progress:
        assert progress is None  # --format json: never a bar
    monkeypatch.setattr(command.sys.stderr, "isatty", lambda: False, raising=False)
    with command.progress_bar("x", enabled=True) as progress:
        assert progress is None  # stderr is not a terminal
    monkeypatch.setattr(command.sys.stderr, "isatty", lambda: True, raising=False)
    readings = [100.0, 100.5, 101.5]  # entry, first update, second update (then it stays)

    def clock() -> float:
        return readings.pop(0) if len(readings) > 1 else readings[0]

    monkeypatch.setattr(command.time, "monotonic", clock)
    started: list[int] = []
    monkeypatch.setattr("rich.progress.Progress.start", lambda self: started.append(1))
    monkeypatch.setattr("rich.progress.Progress.stop", lambda self: started.append(-1))
    with command.progress_bar("x", enabled=True) as progress:
        assert progress is not None
        progress(10, 100)  # half a second in: quick runs stay silent
        assert started == []
        progress(50, 100)  # 1.5 s in: the bar appears
        assert started == [1]
    assert started == [1, -1]


def test_simulate_a_portfolio_file(write_yaml):
    write_yaml(
        "book.yaml",
        """
        positions:
          - {instrument: BTC-25DEC26-100000-C, quantity: -40}
          - {instrument: BTC-PERPETUAL, quantity: 1000}
          - {instrument: ETH-25DEC26-4000-C, quantity: quarter}
        """,
    )
    config = write_yaml(
        "sim.yaml",
        """
        model: {type: gbm, spot: 95000.0, vol: 0.55}
        horizon_years: 0.01
        steps: 12
        paths: 500
        portfolio: book.yaml
        underlying: BTC
        as_of: 2026-11-25T08:00:00Z
        policies:
          - {name: clock, method: time}
        """,
    )
    result = invoke("simulate", config, "--format", "json")
    # the book is checked whole: a bad line on another underlying is still an error in its file
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().endswith("book.yaml:4: positions[2].quantity: must be a number, got 'quarter'")
    write_yaml(
        "book.yaml",
        """
        positions:
          - {instrument: BTC-25DEC26-100000-C, quantity: -40}
          - {instrument: BTC-PERPETUAL, quantity: 1000}
        """,
    )
    result = invoke("simulate", config, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # 40 short coin-settled calls: the value is negative and below 40 x the forward
    assert -40 * 95000.0 < document["option_value"] < 0.0


def test_outputs_into_a_missing_directory_fail_before_the_run(tmp_path: Path, configs: Path):
    result = invoke("simulate", configs / "sim_hull.yaml", "--plot", tmp_path / "nope" / "x.png")
    assert result.exit_code == 2, result.output
    assert "--plot" in result.stderr
    assert "no such directory" in result.stderr
    assert result.stdout == ""
    result = invoke("optimize", configs / "optimize_btc.yaml", "--write-policy", tmp_path / "nope" / "p.yaml")
    assert result.exit_code == 2, result.output
    assert "--write-policy" in result.stderr
    assert result.stdout == ""
