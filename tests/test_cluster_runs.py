"""simulate, optimize and sweep on a real Dask cluster of two worker processes (started here
once for the module): the JSON is the in-process run's, bit for bit, with a worker killed in
the middle too; a sweep reports a bad config by name and returns the others; identical
configs both run; an unreachable scheduler is one line and exit 4."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("distributed", reason="the cluster tests need hedgecore[cluster] (dask[distributed])")

from distributed import Client

from hedgecore.cli.main import app
from hedgecore.cluster.client import CONNECT_TIMEOUT_SECONDS
from hedgecore.cluster.merge import ClusterSimulator
from hedgecore.simulation import (
    PATHS_PER_BLOCK,
    GBMModel,
    HestonModel,
    OptionSpec,
    PolicySpec,
    SimulationSpec,
    simulate,
)


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def run_json(*args: Any) -> dict[str, Any]:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_simulate_on_the_cluster_is_the_in_process_run(cluster: tuple[str, Client], configs: Path) -> None:
    address, _ = cluster
    args = ("simulate", configs / "sim_btc_ww.yaml", "--paths", 5000, "--steps", 48)
    here = run_json(*args)
    there = run_json(*args, "--cluster", address)
    assert there == here
    assert here["paths"] == 5000  # five blocks, the last one partial


def test_optimize_on_the_cluster_is_the_in_process_run(cluster: tuple[str, Client], configs: Path) -> None:
    address, _ = cluster
    args = ("optimize", configs / "optimize_btc.yaml", "--paths", 2100, "--steps", 48)
    assert run_json(*args, "--cluster", address) == run_json(*args)


def test_local_workers_started_by_the_command(configs: Path) -> None:
    args = ("simulate", configs / "sim_hull.yaml", "--paths", 3000)
    assert run_json(*args, "--cluster", "local:2") == run_json(*args)


def test_the_environment_variable_names_the_cluster(cluster: tuple[str, Client], configs: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    address, _ = cluster
    monkeypatch.setenv("HEDGECORE_CLUSTER", "tcp://127.0.0.1:1")  # nothing listens on port 1
    result = invoke("simulate", configs / "sim_hull.yaml", "--paths", 100)
    assert result.exit_code == 4, result.output
    monkeypatch.setenv("HEDGECORE_CLUSTER", address)
    assert run_json("simulate", configs / "sim_hull.yaml", "--paths", 1500) == \
        run_json("simulate", configs / "sim_hull.yaml", "--paths", 1500, "--cluster", address)


def _split_spec() -> SimulationSpec:
    return SimulationSpec(
        model=HestonModel(spot=100.0, drift=0.0, v0=0.04, kappa=2.0, theta=0.04, vol_of_vol=0.5, rho=-0.6),
        options=(OptionSpec("call", 100.0, 0.1, -10.0),),
        policies=(PolicySpec("hourly", "time"), PolicySpec("band", "fixed", width=0.5)),
        horizon_years=0.1, steps=400, paths=24 * PATHS_PER_BLOCK + 7, seed=11,
    )


def test_a_worker_killed_mid_run_gives_the_same_answer(cluster: tuple[str, Client]) -> None:
    _, client = cluster
    spec = _split_spec()
    expected = simulate(spec, threads=1)
    simulator = ClusterSimulator(client, tasks_per_run=25)
    run = simulator.prefetch(spec)
    while not any(future.done() for future in run.futures):
        time.sleep(0.01)
    pids = client.run(os.getpid)
    assert len(pids) == 2
    victim = next(iter(pids.values()))
    os.kill(victim, signal.SIGKILL)  # its running and finished-but-held tasks rerun elsewhere
    unfinished = sum(not future.done() for future in run.futures)
    result = simulator.result(run)
    assert unfinished > 0  # the kill happened in the middle of the run
    assert result.as_dict() == expected.as_dict()
    for ours, theirs in zip(result.policies, expected.policies, strict=True):
        assert np.array_equal(ours.pnl, theirs.pnl)
        assert np.array_equal(ours.trades, theirs.trades)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker for the next tests


def test_identical_runs_are_not_deduplicated(cluster: tuple[str, Client]) -> None:
    _, client = cluster
    spec = SimulationSpec(model=GBMModel(spot=100.0, drift=0.0, vol=0.5), options=(OptionSpec("put", 90.0, 0.05, 3.0),),
                          policies=(PolicySpec("daily", "time", every=4),), horizon_years=0.05, steps=20,
                          paths=2 * PATHS_PER_BLOCK, seed=5)
    simulator = ClusterSimulator(client, tasks_per_run=2)
    first, second = simulator.prefetch(spec), simulator.prefetch(spec)
    keys = {future.key for future in first.futures + second.futures}
    assert len(keys) == 4  # two runs of two tasks each: four tasks on the cluster, none shared
    assert simulator.result(first).as_dict() == simulator.result(second).as_dict() == simulate(spec).as_dict()


def test_sweep_on_the_cluster(cluster: tuple[str, Client], configs: Path, tmp_path: Path) -> None:
    address, _ = cluster
    for name in ("sim_btc_ww.yaml", "optimize_btc.yaml", "sim_hull.yaml"):
        (tmp_path / name).write_text((configs / name).read_text())
    (tmp_path / "sim_hull_again.yaml").write_text((configs / "sim_hull.yaml").read_text())
    (tmp_path / "broken.yaml").write_text("model: {type: gbm, spot: 100\n  oops")
    (tmp_path / "notes.txt").write_text("not a config")
    result = invoke("sweep", tmp_path, "--paths", 2100, "--steps", 24, "--cluster", address, "--format", "json")
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    by_name = {item["config"]: item for item in document["configs"]}
    assert sorted(by_name) == ["broken.yaml", "optimize_btc.yaml", "sim_btc_ww.yaml", "sim_hull.yaml",
                               "sim_hull_again.yaml"]
    assert document["summary"] == {"configs": 5, "ok": 4, "failed": 1}
    broken = by_name["broken.yaml"]
    assert broken["status"] == "error"
    assert broken["exit_code"] == 2
    assert str(tmp_path / "broken.yaml") in broken["error"]
    assert "broken.yaml" in result.stderr
    # each result is the document the command prints for that config, run in process
    for name, command in (("sim_btc_ww.yaml", "simulate"), ("optimize_btc.yaml", "optimize"),
                          ("sim_hull.yaml", "simulate")):
        assert by_name[name]["kind"] == command
        assert by_name[name]["result"] == run_json(command, tmp_path / name, "--paths", 2100, "--steps", 24)
    # two identical books both ran and agree
    again = dict(by_name["sim_hull_again.yaml"]["result"], config="sim_hull.yaml")
    assert again == by_name["sim_hull.yaml"]["result"]


def test_sweep_in_process_matches_the_cluster(cluster: tuple[str, Client], configs: Path) -> None:
    address, _ = cluster
    files = (configs / "sim_hull.yaml", configs / "optimize_btc.yaml")
    args = ("sweep", *files, "--paths", 1500, "--steps", 24)
    assert run_json(*args, "--cluster", address) == run_json(*args)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# sim_btc_overlay.yaml is a variants study: it once ignored --cluster and exited 0.
@pytest.mark.parametrize("config", [("sim_hull.yaml",), ("sim_btc_overlay.yaml", "--paths", "1000")])
def test_an_unreachable_scheduler_is_one_line_and_exit_4(configs: Path, config: tuple[str, ...]) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    done = subprocess.run([sys.executable, "-m", "hedgecore", "simulate", str(configs / config[0]), *config[1:],
                           "--cluster", address], capture_output=True, text=True,
                          timeout=CONNECT_TIMEOUT_SECONDS + 20)
    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert address in lines[0]


def test_a_malformed_address_is_bad_input(configs: Path) -> None:
    result = invoke("simulate", configs / "sim_hull.yaml", "--cluster", "127.0.0.1:8786")
    assert result.exit_code == 2, result.output
    assert "local:N" in result.stderr


def test_nothing_of_dask_is_imported_without_a_cluster() -> None:
    code = ("import sys, hedgecore, hedgecore.cluster\n"
            "from hedgecore.cli.main import invoke\n"
            "code = invoke(['--help'])\n"
            "code = invoke(['simulate', '--help']) + invoke(['sweep', '--help'])\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
            "assert not bad, bad\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
