"""A variants study (configs/sim_btc_overlay.yaml: three models x four variants, six simulator
calls) on a real Dask cluster of two worker processes (started here once for the module):
its simulations run on the workers as block-range tasks, and the JSON is the in-process
run's, bit for bit, for `simulate` and `sweep`, with a worker killed in the middle too. The
work bounds are checked before the cluster is reached and Ctrl-C cancels the study's tasks
(an unreachable scheduler: test_cluster_runs, for plain runs and variants studies alike)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("distributed", reason="the cluster tests need hedgecore[cluster] (dask[distributed])")

from distributed import Client, get_task_stream

from hedgecore.cli._errors import Sources
from hedgecore.cli._load import load_simulation
from hedgecore.cli.main import app
from hedgecore.cluster.merge import ClusterSimulator
from hedgecore.cluster.variants import prefetch_study, simulate_variants_on_cluster
from hedgecore.overlay import simulate_variants, study_run_specs
from hedgecore.simulation import PATHS_PER_BLOCK

REPO = Path(__file__).resolve().parent.parent
OVERLAY = REPO / "configs" / "sim_btc_overlay.yaml"
# Small runs: three blocks (the last one partial) of 96 steps per simulator call.
SMALL = ("--paths", 2100, "--steps", 96)


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def run_text(*args: Any) -> str:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    text: str = result.stdout
    return text


@contextmanager
def tasks_run_on(client: Client) -> Iterator[list[str]]:
    """The keys of the block-range tasks the cluster's workers ran inside the block, whichever
    client submitted them (the scheduler's task stream)."""
    keys: list[str] = []
    with get_task_stream(client=client) as stream:
        yield keys
    keys.extend(str(record["key"]) for record in stream.data if "run_blocks" in str(record["key"]))


def test_simulate_variants_on_the_cluster_is_the_in_process_run(cluster: tuple[str, Client]) -> None:
    address, client = cluster
    here = run_text("simulate", OVERLAY, *SMALL)
    with tasks_run_on(client) as tasks:
        there = run_text("simulate", OVERLAY, *SMALL, "--cluster", address)
    # three models x (the book alone, the book with the overlay): six calls of three blocks,
    # one task a block on two workers; before, the study ran here and the cluster saw none
    assert len(tasks) == 6 * 3, tasks
    assert there == here  # the printed JSON, byte for byte
    document = json.loads(here)
    assert document["paths"] == 2100
    assert len(document["variants"]) == 12
    assert sorted(document["overlay"]) == ["gbm-rv65", "heston", "merton"]


def test_local_workers_started_by_the_command() -> None:
    args = ("simulate", OVERLAY, "--paths", 1500, "--steps", 48)
    assert run_text(*args, "--cluster", "local:2") == run_text(*args)


def test_the_library_call_on_the_cluster_is_simulate_variants(cluster: tuple[str, Client]) -> None:
    _, client = cluster
    loaded = load_simulation(OVERLAY, Sources())
    assert loaded.study is not None
    expected = simulate_variants(loaded.spec, loaded.study, paths=1100, steps=48, seed=None)
    reported: list[tuple[int, int]] = []
    simulator = ClusterSimulator(client, progress=lambda done, total: reported.append((done, total)))
    result = simulate_variants_on_cluster(simulator, loaded.spec, loaded.study, paths=1100, steps=48)
    assert result.as_dict() == expected.as_dict()
    # the progress bar counts paths x policies of every call of the study, to the end
    calls = study_run_specs(loaded.spec, loaded.study)
    units = sum(1100 * len(run_spec.policies) for _named, _overlaid, run_spec in calls)
    assert reported[-1] == (units, units)


def test_a_worker_killed_mid_study_gives_the_same_answer(cluster: tuple[str, Client]) -> None:
    _, client = cluster
    loaded = load_simulation(OVERLAY, Sources())
    assert loaded.study is not None
    paths, steps = 12 * PATHS_PER_BLOCK + 5, 96
    expected = simulate_variants(loaded.spec, loaded.study, paths=paths, steps=steps, threads=1)
    simulator = ClusterSimulator(client, tasks_per_run=12)
    runs = prefetch_study(simulator, loaded.spec, loaded.study, paths=paths, steps=steps, seed=expected.seed)
    futures = [future for run in runs for future in run.futures]
    while not any(future.done() for future in futures):
        time.sleep(0.01)
    pids = client.run(os.getpid)
    assert len(pids) == 2
    os.kill(next(iter(pids.values())), signal.SIGKILL)  # its running and held tasks rerun elsewhere
    unfinished = sum(not future.done() for future in futures)
    result = simulate_variants(loaded.spec, loaded.study, paths=paths, steps=steps, seed=expected.seed,
                               simulator=simulator)
    assert unfinished > 0  # the kill happened in the middle of the study
    assert result.as_dict() == expected.as_dict()
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker for the next tests


def test_sweep_runs_a_variants_config_on_the_cluster(cluster: tuple[str, Client], configs: Path,
                                                     tmp_path: Path) -> None:
    address, client = cluster
    for name in ("sim_btc_overlay.yaml", "sim_hull.yaml"):
        (tmp_path / name).write_text((configs / name).read_text())
    args = ("sweep", tmp_path, *SMALL)
    with tasks_run_on(client) as tasks:
        there = run_text(*args, "--cluster", address)
    assert len(tasks) == 6 * 3 + 3  # the study's six calls and the plain config, three blocks each
    assert there == run_text(*args)
    by_name = {item["config"]: item for item in json.loads(there)["configs"]}
    overlay = by_name["sim_btc_overlay.yaml"]
    assert overlay["kind"] == "variants"
    assert overlay["status"] == "ok"
    # the sweep's result is the document `simulate` prints for the config
    assert overlay["result"] == json.loads(run_text("simulate", tmp_path / "sim_btc_overlay.yaml", *SMALL))


def test_a_study_beyond_the_work_bound_is_refused_before_the_cluster(tmp_path: Path) -> None:
    # nothing listens on port 1: reaching for the cluster would be exit 4
    result = invoke("simulate", OVERLAY, "--paths", 100_000, "--max-work", 1e8, "--cluster", "tcp://127.0.0.1:1")
    assert result.exit_code == 2, result.output
    assert "path-steps x policies" in result.stderr


def _scheduler_keys(client: Client) -> set[str]:
    def held(dask_scheduler: Any) -> set[str]:
        return {str(key) for key in dask_scheduler.tasks}
    keys: set[str] = client.run_on_scheduler(held)
    return keys


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_cancels_the_study_on_the_cluster(cluster: tuple[str, Client], tmp_path: Path) -> None:
    address, client = cluster
    output = tmp_path / "out" / "result.json"
    output.parent.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HEDGECORE_DEBUG"}
    earlier = _scheduler_keys(client)  # what other tests may have left on the scheduler

    def study_tasks() -> set[str]:
        return _scheduler_keys(client) - earlier

    # a study of some minutes on two workers: it is stopped long before it ends
    process = subprocess.Popen(
        [sys.executable, "-m", "hedgecore", "simulate", str(OVERLAY), "--paths", "400000", "--cluster", address,
         "-f", "json", "-o", str(output)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not study_tasks():  # until the study's tasks are on the cluster
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the study never reached the cluster"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "SIGINT" in lines[0]
    assert stdout == ""
    assert list(output.parent.iterdir()) == []  # no output, no temporary file
    deadline = time.monotonic() + 30
    while study_tasks():  # cancelled: the scheduler forgets every task of the study
        assert time.monotonic() < deadline, f"{len(study_tasks())} tasks of the study left on the cluster"
        time.sleep(0.1)
