"""Runtime hardening of the command line and the simulator: one cost definition in simulate
and optimize, optimize's grid edges, refinement and --write-policy, work and thread bounds,
SIGINT/SIGTERM, usage errors as one line (and JSON for `check -f json`), one-line messages,
numbers that overflow. Runs stay small (--paths, --steps); no test measures time."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from hedgecore._inputs import MAX_THREADS, resolve_threads
from hedgecore.cli import main as cli_main
from hedgecore.cli._errors import MAX_MESSAGE_CHARS, one_line
from hedgecore.cli._options import ThreadsOpt
from hedgecore.optimize import Objective, _refined_values, optimize, optimize_work
from hedgecore.simulation import (
    QUANTILE_LEVELS,
    GBMModel,
    HedgeSpec,
    OptionSpec,
    PolicyResult,
    PolicySpec,
    SimulationResult,
    SimulationSpec,
    WorkLimitError,
    estimate_work,
    simulate,
)

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
BTC = [str(CONFIGS / "btc_book.yaml"), "-m", str(CONFIGS / "btc_market.yaml"), "-p", str(CONFIGS / "btc_policy.yaml")]


def run_cli(*args: Any, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real console entry point (hedgecore.cli.main.run) in a subprocess."""
    env = {k: v for k, v in os.environ.items() if k != "HEDGECORE_DEBUG"}
    return subprocess.run([sys.executable, "-m", "hedgecore", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False, cwd=REPO)


def run_in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                   *args: Any) -> tuple[int, str, str]:
    """run() with sys.argv patched: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["hedgecore", *map(str, args)])
    with pytest.raises(SystemExit) as stop:
        cli_main.run()
    captured = capsys.readouterr()
    return int(stop.value.code or 0), captured.out, captured.err


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("hedgecore: error: "), stderr
    return lines[0]


def small_config(tmp_path: Path, name: str = "sim.yaml", **changes: Any) -> Path:
    """configs/sim_btc_ww.yaml with a few policies and keys changed (None removes a key)."""
    document = yaml.safe_load((CONFIGS / "sim_btc_ww.yaml").read_text())
    document["policies"] = [*document["policies"][:2], document["policies"][4]]
    for key, value in changes.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


# --------------------------------------------------------------------------- 1. one cost definition
def test_simulate_cost_includes_funding_as_optimize_does(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    simulated = run_cli("simulate", config, "--paths", 1500, "--steps", 48, "-f", "json")
    assert simulated.returncode == 0, simulated.stderr
    policies = {p["name"]: p for p in json.loads(simulated.stdout)["policies"]}
    ww = policies["ww"]
    # the perpetual's funding is a large part of what hedging costs on this book
    assert ww["mean_funding"] > 0.2 * ww["mean_cost"]
    assert ww["mean_cost"] == pytest.approx(ww["mean_trading_cost"] + ww["mean_funding"], rel=1e-12)

    # optimize on the same paths (same seed and sizes) prices the same policy identically
    document = yaml.safe_load(config.read_text())
    document["optimize"] = {"policy": {"name": "ww", "method": "whalley_wilmott"},
                            "search": {"risk_aversion": [1.0e-4]},
                            "objective": {"type": "mean_variance", "risk_weight": 1e-5}}
    optimize_config = tmp_path / "opt.yaml"
    optimize_config.write_text(yaml.safe_dump(document, sort_keys=False))
    optimized = run_cli("optimize", optimize_config, "--paths", 1500, "--steps", 48, "-f", "json")
    assert optimized.returncode == 0, optimized.stderr
    chosen = json.loads(optimized.stdout)["chosen"]
    assert chosen["mean_cost"] == pytest.approx(ww["mean_cost"], rel=1e-12)
    assert chosen["mean_funding"] == pytest.approx(ww["mean_funding"], rel=1e-12)
    assert chosen["mean_trading_cost"] == pytest.approx(ww["mean_trading_cost"], rel=1e-12)


def test_simulate_cost_columns_in_table_and_csv(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    table = run_cli("simulate", config, "--paths", 500, "--steps", 24)
    assert table.returncode == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if "mean cost" in line)
    assert "trading" in header
    assert "funding" in header
    assert "mean cost = trading" in " ".join(table.stdout.split())
    spreadsheet = run_cli("simulate", config, "--paths", 500, "--steps", 24, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(spreadsheet.stdout)))
    for row in rows:
        total = float(row["mean_trading_cost"]) + float(row["mean_funding"])
        assert float(row["mean_cost"]) == pytest.approx(total, rel=1e-9, abs=1e-9)


def test_library_mean_cost_is_trading_plus_funding() -> None:
    spec = SimulationSpec(
        model=GBMModel(spot=100.0, drift=0.0, vol=0.5),
        options=(OptionSpec("call", 100.0, 0.1, -10.0),),
        policies=(PolicySpec("daily", "time"),),
        horizon_years=0.1, steps=36, paths=600, seed=3,
        hedge=HedgeSpec(instrument="linear_perp"),
    )
    from dataclasses import replace

    from hedgecore.simulation import CostSpec

    result = simulate(replace(spec, costs=CostSpec(proportional=0.001, funding_rate_8h=0.001))).policies[0]
    assert result.mean_trading_cost == pytest.approx(float(np.mean(result.cost)), rel=1e-15)
    assert result.mean_cost == pytest.approx(float(np.mean(result.cost) + np.mean(result.funding)), rel=1e-15)
    assert result.mean_funding != 0.0


# --------------------------------------------------------------------------- 2. optimize
class LinearSimulator:
    """cost = 50 / width, std = 10 x width on fixed normal scores: mean-variance optimum
    w* = (50 / (2 k 100))^(1/3); min_interval adds nothing."""

    scores = np.sort(np.random.default_rng(1).standard_normal(4000))

    def __call__(self, spec: SimulationSpec, **kwargs: Any) -> SimulationResult:
        results = []
        for policy in spec.policies:
            assert policy.width is not None
            cost, std = 50.0 / policy.width, 10.0 * policy.width
            pnl = -cost + std * self.scores
            cut95, cut99 = np.quantile(pnl, [0.05, 0.01])
            results.append(PolicyResult(
                name=policy.name, method=policy.method, mean_pnl=float(pnl.mean()), std_pnl=std,
                stderr_pnl=std / math.sqrt(pnl.size), var_95=-cut95, var_99=-cut99,
                cvar_95=float(-pnl[pnl <= cut95].mean()), cvar_99=float(-pnl[pnl <= cut99].mean()),
                mean_cost=cost, mean_funding=0.0, mean_trades=1.0,
                quantiles={f"p{round(q * 100)}": float(np.quantile(pnl, q)) for q in QUANTILE_LEVELS},
                pnl=pnl, cost=np.full(pnl.size, cost), funding=np.zeros(pnl.size), trades=np.ones(pnl.size)))
        return SimulationResult(option_value=-1.0, paths=kwargs["paths"], steps=spec.steps, seed=kwargs["seed"],
                                threads=1, policies=tuple(results))


SPEC = SimulationSpec(model=GBMModel(spot=49.0, drift=0.0, vol=0.2), options=(OptionSpec("call", 50.0, 0.3, -1.0),),
                      policies=(PolicySpec("placeholder", "none"),), horizon_years=0.3, steps=20, paths=4000, seed=7)
BAND = PolicySpec("band", "fixed", width=1.0)
RISK_WEIGHT = 0.05   # optimum width (50 / (2 x 0.05 x 100))^(1/3) = 1.71


def test_choice_on_the_grid_edge_is_flagged() -> None:
    below = optimize(SPEC, BAND, {"width": (0.2, 0.5, 1.0)}, Objective("mean_variance", risk_weight=RISK_WEIGHT),
                     simulator=LinearSimulator())
    assert below.chosen.parameters["width"] == 1.0
    assert below.on_grid_edge == ("width",)
    assert below.as_dict()["on_grid_edge"] == ["width"]
    assert "largest value searched" in below.edge_notes()[0]

    inside = optimize(SPEC, BAND, {"width": (0.5, 1.0, 2.0, 4.0)}, Objective("mean_variance", risk_weight=RISK_WEIGHT),
                      simulator=LinearSimulator())
    assert inside.chosen.parameters["width"] == 2.0
    assert inside.on_grid_edge == ()

    above = optimize(SPEC, BAND, {"width": (4.0, 8.0)}, Objective("mean_variance", risk_weight=RISK_WEIGHT),
                     simulator=LinearSimulator())
    assert above.on_grid_edge == ("width",)
    assert "smallest" in above.edge_notes()[0]


def test_a_floor_of_zero_is_not_an_edge() -> None:
    # min_interval 0 is "no interval": nothing lies below it to search
    result = optimize(SPEC, BAND, {"width": (0.5, 1.0, 2.0, 4.0), "min_interval": (0, 2)},
                      Objective("mean_variance", risk_weight=RISK_WEIGHT), simulator=LinearSimulator())
    assert result.chosen.parameters["min_interval"] == 0
    assert result.on_grid_edge == ()


def test_refinement_never_tries_an_interval_of_one_step() -> None:
    # between 0 and 2 steps the only whole number is 1, the same policy as 0
    assert _refined_values("min_interval", 0.0, [0.0, 2.0], 4) == []
    assert _refined_values("min_interval", 0.0, [0.0, 4.0], 4) == [2.0, 3.0]
    result = optimize(SPEC, BAND, {"width": (0.5, 1.0, 2.0, 4.0), "min_interval": (0, 2)},
                      Objective("mean_variance", risk_weight=RISK_WEIGHT), simulator=LinearSimulator(), refine=2)
    assert {c.parameters["min_interval"] for c in result.candidates} == {0.0, 2.0}
    assert all(c.parameters["width"] > 0.0 for c in result.candidates)


def optimize_config(tmp_path: Path, search: dict[str, Any] | None = None) -> Path:
    document = yaml.safe_load((CONFIGS / "optimize_btc.yaml").read_text())
    document["optimize"]["search"] = search or {"risk_aversion": [1.0e-5, 1.0e-4], "min_interval": [0, 2]}
    document["optimize"].pop("refine", None)
    path = tmp_path / "optimize.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_write_policy_new_file_leaves_funding_to_the_market(tmp_path: Path) -> None:
    target = tmp_path / "policy.yaml"
    result = run_cli("optimize", optimize_config(tmp_path), "--paths", 300, "--steps", 24, "--write-policy", target,
                     "-f", "json")
    assert result.returncode == 0, result.stderr
    written = yaml.safe_load(target.read_text())
    instrument = written["underlyings"]["BTC"]["instruments"][0]
    assert instrument["name"] == "BTC-PERPETUAL"
    assert "funding_rate_8h" not in instrument
    assert json.loads(result.stdout)["policy"]["underlyings"]["BTC"]["instruments"][0].get("funding_rate_8h") is None


def test_write_policy_updates_an_existing_policy_file(tmp_path: Path) -> None:
    target = tmp_path / "multi_policy.yaml"
    target.write_text((CONFIGS / "multi_policy.yaml").read_text())
    before = yaml.safe_load(target.read_text())
    result = run_cli("optimize", optimize_config(tmp_path), "--paths", 300, "--steps", 24, "--write-policy", target,
                     "-f", "json")
    assert result.returncode == 0, result.stderr
    assert "comments" in result.stderr  # the note says what was kept and what was not
    after = yaml.safe_load(target.read_text())
    chosen = json.loads(result.stdout)["policy"]["underlyings"]["BTC"]
    btc_key = next(k for k in after["underlyings"] if k.upper() == "BTC")
    btc, old_btc = after["underlyings"][btc_key], before["underlyings"][btc_key]
    assert btc["band"]["method"] == chosen["band"]["method"]
    assert btc["band"]["risk_aversion"] == chosen["band"]["risk_aversion"]
    assert btc["min_interval"] == chosen["min_interval"]
    # everything else stays: other underlyings, limits, instruments with their lot sizes
    for key in before["underlyings"]:
        if key != btc_key:
            assert after["underlyings"][key] == before["underlyings"][key]
    assert btc["instruments"] == old_btc["instruments"]
    assert btc.get("limits") == old_btc.get("limits")
    assert after.get("book") == before.get("book")
    for clamp in ("min_half_width", "max_half_width"):
        assert btc["band"].get(clamp) == old_btc["band"].get(clamp)
    # and hedge reads it
    hedged = run_cli("hedge", CONFIGS / "multi_book.yaml", "-m", CONFIGS / "multi_market.yaml", "-p", target,
                     "-f", "json")
    assert hedged.returncode == 0, hedged.stderr


def test_write_policy_refuses_to_replace_a_file_that_is_not_a_policy(tmp_path: Path) -> None:
    target = tmp_path / "notes.yaml"
    target.write_text("shopping: [milk, eggs]\n")
    result = run_cli("optimize", optimize_config(tmp_path), "--paths", 300, "--steps", 24, "--write-policy", target)
    assert result.returncode == 2, result.stderr
    assert "not a policy file" in one_error_line(result.stderr)
    assert target.read_text() == "shopping: [milk, eggs]\n"


# --------------------------------------------------------------------------- 3. work bounds
def test_estimate_counts_path_steps_times_policies() -> None:
    estimate = estimate_work(SPEC, paths=10_000, steps=720, policies=8)
    assert estimate.work == 10_000 * 720 * 8
    assert estimate.memory_bytes >= 10_000 * 8 * 4 * 8  # four per-path float64 arrays per policy
    with pytest.raises(WorkLimitError, match="path-steps x policies"):
        estimate_work(SPEC, paths=10**12).check()
    estimate_work(SPEC, paths=10**12).check(None, None)  # None lifts the bounds
    with pytest.raises(WorkLimitError):
        simulate(SPEC, paths=10**12)


@pytest.mark.parametrize(("option", "value"), [("--paths", 10**12), ("--steps", 10**7)])
def test_simulate_refuses_work_that_cannot_finish(tmp_path: Path, option: str, value: int) -> None:
    result = run_cli("simulate", small_config(tmp_path), option, value)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert "path-steps x policies" in line
    assert "--max-work" in line


def test_max_work_moves_the_bound(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    refused = run_cli("simulate", config, "--paths", 100, "--steps", 10, "--max-work", 1000)
    assert refused.returncode == 2
    assert "1e+03" in one_error_line(refused.stderr)
    allowed = run_cli("simulate", config, "--paths", 100, "--steps", 10, "--max-work", 1e4, "-f", "json")
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.parametrize(("key", "value"), [("steps", 10**400), ("paths", 10**400), ("seed", 10**400)])
def test_huge_integers_in_a_config_are_one_line(tmp_path: Path, key: str, value: int) -> None:
    config = small_config(tmp_path)
    text = config.read_text()
    text = "\n".join(f"{key}: {value}" if line.startswith(f"{key}:") else line for line in text.splitlines())
    config.write_text(text + "\n")
    result = run_cli("simulate", config)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert "sim.yaml:" in line
    assert f"{key}:" in line
    assert "digits" in line
    assert len(line) < 200


def test_optimize_refuses_a_huge_grid_before_building_it(tmp_path: Path) -> None:
    config = optimize_config(tmp_path, {"risk_aversion": {"min": 1e-6, "max": 1e-2, "num": 10_000, "scale": "log"},
                                        "min_interval": {"min": 0, "max": 10_000, "num": 10_000}})
    result = run_cli("optimize", config)
    assert result.returncode == 2, result.stderr
    assert "path-steps x policies" in one_error_line(result.stderr)
    # the estimate counts every candidate of the grid and of the refinement
    assert optimize_work(SPEC, {"width": (1.0, 2.0, 3.0)}, refine=2, refine_points=4).policies == 3 + 2 * 4


# --------------------------------------------------------------------------- 4. threads
def test_threads_are_bounded() -> None:
    assert resolve_threads(MAX_THREADS) == MAX_THREADS
    with pytest.raises(ValueError, match="threads must be at most 1,024"):
        resolve_threads(100_000)
    option = typing.get_args(ThreadsOpt)[1]
    assert option.max == MAX_THREADS


@pytest.mark.parametrize("command", ["simulate", "optimize"])
def test_cli_threads_100000_is_a_usage_error_not_a_crash(tmp_path: Path, command: str) -> None:
    config = optimize_config(tmp_path) if command == "optimize" else small_config(tmp_path)
    result = run_cli(command, config, "--paths", 100, "--steps", 4, "--threads", 100_000)
    assert result.returncode == 2, result.stderr
    assert "--threads" in one_error_line(result.stderr)


# --------------------------------------------------------------------------- 5. signals
def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_until_busy(process: subprocess.Popen[str], cpu_seconds: float = 1.5) -> None:
    """Until the process has spent this much CPU (imports done, the kernel running)."""
    deadline = time.monotonic() + 60
    while _cpu_seconds(process.pid) < cpu_seconds:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the run never got busy"
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize(("signal_number", "exit_code", "extra"), [
    (signal.SIGINT, 130, ["--paths", 2_000_000]),
    (signal.SIGTERM, 143, ["--paths", 2_000_000]),
    # one chunk of a single block runs for a minute inside the compiled loop
    (signal.SIGINT, 130, ["--paths", 1000, "--steps", 300_000]),
])
def test_signals_stop_simulate_with_one_line(tmp_path: Path, signal_number: int, exit_code: int,
                                             extra: list[Any]) -> None:
    output = tmp_path / "out" / "result.json"
    output.parent.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HEDGECORE_DEBUG"}
    process = subprocess.Popen(
        [sys.executable, "-m", "hedgecore", "simulate", str(CONFIGS / "sim_btc_ww.yaml"), *map(str, extra),
         "-f", "json", "-o", str(output)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        _wait_until_busy(process)
        process.send_signal(signal_number)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == exit_code, stderr
    line = one_error_line(stderr)
    assert signal.Signals(signal_number).name in line
    assert stdout == ""
    assert list(output.parent.iterdir()) == []  # no output, no temporary file


# --------------------------------------------------------------------------- 6. usage errors
@pytest.mark.parametrize("extra", [
    ["--no-such-option"],
    ["--threads", "100000"],
    ["--threads", "many"],
    ["--as-of", "yesterday-ish"],
])
def test_check_usage_errors_are_one_line_and_json(extra: list[str]) -> None:
    result = run_cli("check", *BTC, "-f", "json", *extra)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    document = json.loads(result.stdout)
    assert document["status"] == "error"
    assert document["exit_code"] == 2
    assert document["error"] == line.removeprefix("hedgecore: error: ")


def test_check_directory_as_portfolio_and_missing_argument(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process(monkeypatch, capsys, "check", CONFIGS, "-m", CONFIGS / "btc_market.yaml",
                                    "-p", CONFIGS / "btc_policy.yaml", "--format=json")
    assert code == 2, err
    assert "is a directory" in one_error_line(err)
    assert json.loads(out)["exit_code"] == 2

    code, out, err = run_in_process(monkeypatch, capsys, "check", "-fjson")
    assert code == 2, err
    assert "Missing" in one_error_line(err)
    assert json.loads(out)["status"] == "error"


@pytest.mark.parametrize("args", [
    ["simulate"],
    ["simulate", "x.yaml", "--paths", "0"],
    ["exposures", "--format", "xml", "x.yaml", "-m", "y.yaml"],
    ["no-such-command"],
    ["check", *BTC, "-f", "xml"],
])
def test_usage_errors_are_one_line_without_a_box(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                 args: list[str]) -> None:
    code, out, err = run_in_process(monkeypatch, capsys, *args)
    assert code == 2, err
    one_error_line(err)
    assert out == ""  # JSON only when check asked for it


def test_help_and_version_still_work(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process(monkeypatch, capsys, "--help")
    assert code == 0, err
    assert "simulate" in out
    code, out, err = run_in_process(monkeypatch, capsys, "--version")
    assert code == 0, err
    assert out.startswith("hedgecore ")
    code, out, _err = run_in_process(monkeypatch, capsys, "check", *BTC, "-f", "json")
    assert code == 1
    assert json.loads(out)["status"] == "action"


# --------------------------------------------------------------------------- 7. one line
def test_one_line_escapes_and_bounds() -> None:
    text = one_line("a\nb\r\x00\x1b[31mred\u2028\udcff\u202e" + "x" * 5000)
    assert "\n" not in text
    assert "\r" not in text
    assert "\x1b" not in text
    assert "\x00" not in text
    assert "\\n" in text
    assert "\\x1b" in text
    assert "\\u2028" in text
    assert "\\udcff" in text
    assert len(text) <= MAX_MESSAGE_CHARS
    assert text.endswith("more characters)")
    assert text.splitlines() == [text]
    assert one_line("plain message") == "plain message"


def test_a_file_name_with_control_characters_stays_one_line(tmp_path: Path) -> None:
    name = tmp_path / ("evil\nname\x1b[2J" + "y" * 3000 + ".yaml")
    result = run_cli("simulate", str(name)[:4000])
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert "\x1b" not in line
    assert len(line) <= len("hedgecore: error: ") + MAX_MESSAGE_CHARS


def test_check_json_error_is_one_bounded_line(tmp_path: Path) -> None:
    book = tmp_path / "book.yaml"
    book.write_text("positions:\n  - {instrument: \"BTC-\\n\\x1b" + "Z" * 4000 + "\", quantity: 1}\n")
    result = run_cli("check", book, *BTC[1:], "-f", "json")
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    error = json.loads(result.stdout)["error"]
    assert "\n" not in error
    assert "\x1b" not in error
    assert len(error) <= MAX_MESSAGE_CHARS
    assert line.endswith(error)


# --------------------------------------------------------------------------- 8. overflow
@pytest.mark.parametrize(("changes", "field"), [
    ({"model": {"type": "gbm", "spot": 95000.0, "drift": 0.0, "vol": 1000.0}}, "model.vol"),
    ({"horizon_years": 1.0e6}, "horizon_years"),
    ({"costs": {"proportional": 1e300}}, "costs.proportional"),
    ({"hedge": {"instrument": "inverse_perp", "vol": 1e300}}, "hedge.vol"),
])
def test_out_of_range_inputs_are_refused_where_read(tmp_path: Path, changes: dict[str, Any], field: str) -> None:
    config = small_config(tmp_path, **changes)
    result = run_cli("simulate", config, "--paths", 100, "--steps", 4, "-f", "json")
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert "sim.yaml:" in line
    assert field in line
    assert "RuntimeWarning" not in result.stderr
    assert result.stdout == ""


def test_an_overflowing_simulation_is_refused_not_null(tmp_path: Path) -> None:
    # each value is within its range, together the price paths underflow to 0 over 100 years
    config = small_config(tmp_path, horizon_years=100.0, steps=4,
                          model={"type": "gbm", "spot": 95000.0, "drift": -10.0, "vol": 0.5},
                          options=[{"type": "call", "strike": 100000.0, "expiry_years": 100.0, "quantity": -5}])
    result = run_cli("simulate", config, "--paths", 200, "-f", "json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "non-finite" in one_error_line(result.stderr)
    assert "null" not in result.stdout
    assert result.stdout == ""


def test_runtime_warnings_become_one_line_errors(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # a RuntimeWarning from anywhere in a command is an error, never a warning on stderr
    import hedgecore.cli.simulate as simulate_command

    def overflowing(*args: Any, **kwargs: Any) -> Any:
        return np.exp(np.array([1000.0]))

    monkeypatch.setattr(simulate_command, "load_simulation", overflowing)
    code, _out, err = run_in_process(monkeypatch, capsys, "simulate", CONFIGS / "sim_btc_ww.yaml")
    assert code == 2, err
    assert "overflow" in one_error_line(err)


def test_app_help_documents_the_exit_codes() -> None:
    assert "130" in textwrap.dedent(cli_main.app.info.help or "")
