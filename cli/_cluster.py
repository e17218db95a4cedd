"""--cluster ADDRESS (or HEDGECORE_CLUSTER) for simulate, optimize and sweep: where the work runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hedgecore.cluster.merge import ClusterSimulator
    from hedgecore.simulation import ProgressCallback

ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        envvar="HEDGECORE_CLUSTER",
        help="Run on a Dask cluster (needs hedgecore[cluster]): local:N starts N worker processes here, "
        "tcp://HOST:PORT connects to a running scheduler (unreachable: exit 4). The numbers are the "
        "in-process run's, bit for bit.",
        metavar="ADDRESS",
        show_default=False,
    ),
]


def check_cluster_address(address: str | None) -> None:
    """Fail before any work on a malformed address or a missing extra (exit 2)."""
    if address is None:
        return
    from hedgecore.cli._errors import EXIT_BAD_INPUT, report_error
    from hedgecore.cluster.client import parse_address, require_dask

    try:
        parse_address(address)
        require_dask()
    except (ValueError, ImportError) as error:
        report_error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None


@contextmanager
def cluster_simulator(address: str, progress: ProgressCallback | None) -> Iterator[ClusterSimulator]:
    """A ClusterSimulator on the cluster at `address`, closed on the way out."""
    from hedgecore.cluster.client import open_cluster, parse_address
    from hedgecore.cluster.merge import ClusterSimulator

    with open_cluster(parse_address(address)) as client:
        simulator = ClusterSimulator(client, progress)
        try:
            yield simulator
        finally:
            simulator.cancel()
