"""Shared fixtures for the CLI and book tests.

The terminal is fixed at 100 columns without colour so that tables render the same on every
machine, and HEDGECORE_DEBUG is cleared so that error tests see the one-line messages.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["COLUMNS"] = "100"
os.environ["NO_COLOR"] = "1"
os.environ["TERM"] = "dumb"
os.environ.pop("HEDGECORE_DEBUG", None)

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv("HEDGECORE_DEBUG", raising=False)


@pytest.fixture(autouse=True)
def _private_journal(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` and `hedge` record every run in a journal: each test gets its own file, never
    the user's (~/.local/share/hedgecore/journal.sqlite), so runs and fills of one test do not
    reach another's min_interval."""
    monkeypatch.setenv("HEDGECORE_JOURNAL", str(tmp_path_factory.mktemp("journal") / "journal.sqlite"))


@pytest.fixture
def configs() -> Path:
    return CONFIGS


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, Any]]:
    """A real Dask cluster for one test module (the cluster tests): two worker processes of
    one thread each, and a client of the tests' own; (scheduler address, Client). Dask is
    imported here, only by the modules that use it (they skip without hedgecore[cluster])."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}) as local, \
            Client(local) as client:
        yield local.scheduler_address, client


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a dedented YAML text to tmp_path/name and return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
