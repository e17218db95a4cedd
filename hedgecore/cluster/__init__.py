"""Simulations, variants studies, optimisations and sweeps on a Dask cluster (the optional extra hedgecore[cluster]).

A run is split into tasks of contiguous path blocks (hedgecore.simulation.simulate_block_range),
sent to the workers as (spec, block range, paths, steps, seed), and its per-path results are
merged in block order and summarised by the code of the in-process run: the numbers are the
same, bit for bit, whatever the number of workers, their order of completion or a worker lost
and its tasks rerun. Nothing here imports dask until a cluster is used.
"""

from hedgecore.cluster.client import ClusterUnavailable, parse_address

__all__ = ["ClusterUnavailable", "parse_address"]
