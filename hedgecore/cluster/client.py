"""Where the cluster is: `local:N` (a LocalCluster of N worker processes started here) or
`tcp://HOST:PORT` (a running Dask scheduler). dask is imported only when one is opened."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hedgecore.errors import HedgecoreError

if TYPE_CHECKING:
    from distributed import Client

ENV_VAR = "HEDGECORE_CLUSTER"
# How long connecting to a tcp:// scheduler may take before it counts as unreachable.
CONNECT_TIMEOUT_SECONDS = 10.0
# Worker processes of a local cluster at most (a typo such as local:2000 is refused).
MAX_LOCAL_WORKERS = 1024
EXTRA_HINT = 'the cluster needs dask and distributed: pip install "hedgecore[cluster]"'

_LOCAL = re.compile(r"local:(\d+)")
_REMOTE = re.compile(r"(tcp|tls)://[^\s/:]+:\d{1,5}")


class ClusterUnavailable(HedgecoreError):
    """The Dask scheduler cannot be reached or the cluster was lost (the CLI's exit code 4,
    the code of a venue that cannot be reached)."""


@dataclass(frozen=True, slots=True)
class ClusterAddress:
    """A parsed --cluster address: local workers (count) or a scheduler's address."""

    text: str
    local_workers: int | None = None

    @property
    def is_local(self) -> bool:
        return self.local_workers is not None


def parse_address(text: str) -> ClusterAddress:
    """`local:N` (1 <= N <= MAX_LOCAL_WORKERS) or `tcp://HOST:PORT` / `tls://HOST:PORT`;
    anything else is a ValueError naming the forms."""
    value = text.strip()
    local = _LOCAL.fullmatch(value)
    if local is not None:
        workers = int(local.group(1))
        if not 1 <= workers <= MAX_LOCAL_WORKERS:
            raise ValueError(f"--cluster {value}: the worker count must be in [1, {MAX_LOCAL_WORKERS}]")
        return ClusterAddress(value, workers)
    if _REMOTE.fullmatch(value):
        return ClusterAddress(value)
    shown = value if len(value) <= 80 else value[:77] + "..."
    raise ValueError(f"--cluster {shown!r}: expected local:N (N worker processes here) or tcp://HOST:PORT "
                     "(a running Dask scheduler)")


def require_dask() -> None:
    """Raise ImportError with the install hint when dask or distributed is missing."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError(EXTRA_HINT) from None


@contextmanager
def open_cluster(address: ClusterAddress, timeout: float = CONNECT_TIMEOUT_SECONDS) -> Iterator[Client]:
    """A connected distributed.Client, closed (and a local cluster shut down) on exit.

    local:N starts N worker processes of one thread each (the kernel runs one thread per
    task), without a dashboard. An unreachable scheduler raises ClusterUnavailable within
    `timeout` seconds."""
    require_dask()
    from distributed import Client, LocalCluster

    _quiet_logs()
    if address.local_workers is not None:
        _quiet_local_processes()
        # No dashboard; the scheduler's small HTTP server (health checks) on a free port, so
        # that two runs at once do not contend for 8787.
        cluster = LocalCluster(n_workers=address.local_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"})
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    _probe(address.text, timeout)
    try:
        client = Client(address.text, timeout=timeout)
    except (OSError, TimeoutError) as error:
        raise ClusterUnavailable(f"cluster scheduler {address.text} unreachable within {timeout:g} s "
                                 f"({_reason(error)})") from None
    try:
        yield client
    finally:
        client.close()


def worker_threads(client: Client) -> int:
    """The cluster's task slots: the sum of its workers' threads (at least 1)."""
    info: dict[str, Any] = client.scheduler_info()
    workers = info.get("workers", {})
    return max(1, sum(int(worker.get("nthreads", 1)) for worker in workers.values()))


def _probe(text: str, timeout: float) -> None:
    """Open and close a TCP connection to the scheduler: a refused or unroutable address
    fails here at once (distributed would retry until its timeout)."""
    import socket

    host, _, port = text.split("://", 1)[1].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise ClusterUnavailable(f"cluster scheduler {text} unreachable ({_reason(error)})") from None


def _reason(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _quiet_local_processes() -> None:
    """The worker processes of a local cluster (and multiprocessing's resource tracker) read
    their logging settings from the environment: a Ctrl-C, which reaches them too, leaves
    the command's one line alone on stderr."""
    import os

    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    quiet_tracker = "ignore::UserWarning:multiprocessing.resource_tracker"
    current = os.environ.get("PYTHONWARNINGS", "")
    if quiet_tracker not in current:
        os.environ["PYTHONWARNINGS"] = f"{current},{quiet_tracker}" if current else quiet_tracker


def _quiet_logs() -> None:
    """distributed logs a worker restart or a closed stream as warnings: the command reports
    what matters in one line, so only errors get through."""
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker",
                 "distributed.core", "distributed.comm", "distributed.client"):
        logging.getLogger(name).setLevel(logging.ERROR)
