"""Monte Carlo simulation of a hedged options book: specs, the `simulate` facade, results.

A `SimulationSpec` describes a price model, the option book being hedged, the hedge
instrument, trading costs and one or more hedging policies. `simulate` runs every policy on
the same paths through the compiled kernel (hedgecore._sim) and summarises the hedged PnL.

- spec.py: the models, the book, the hedge instrument, the costs and the policies;
- history.py: reading the price history CSV that HistoricalModel replays;
- plan.py: a spec validated and turned into the kernel's arrays;
- blocks.py: blocks of paths, their random streams and the chunked loop over them (shared
  with the market-making simulator, hedgecore.quoting.mmsim);
- run.py: work bounds, `simulate`, and the block ranges hedgecore.cluster distributes;
- results.py: PolicyResult, SimulationResult and the summary of per-path results.

Units: prices in the quote currency (USD), times in years (ACT/365), vols and rates per
1.00 per year, hedge sizes in units of the underlying (coins), funding per 8 hours.
Money results (PnL, costs, VaR) are for the whole book in the quote currency; VaR and CVaR
are reported as positive numbers meaning losses.
"""

from __future__ import annotations

from hedgecore.simulation.blocks import CHUNK_SECONDS, PATHS_PER_BLOCK, ProgressCallback, block_count
from hedgecore.simulation.history import MAX_PRICE_CSV_BYTES
from hedgecore.simulation.plan import hedge_vol_of
from hedgecore.simulation.results import QUANTILE_LEVELS, PathTrace, PolicyResult, SimulationResult
from hedgecore.simulation.run import (
    MAX_MEMORY_BYTES,
    MAX_PATHS,
    MAX_STEPS,
    MAX_WORK,
    BlockResults,
    WorkEstimate,
    WorkLimitError,
    estimate_work,
    merge_blocks,
    simulate,
    simulate_block_range,
    start_value,
)
from hedgecore.simulation.spec import (
    CostSpec,
    GBMModel,
    HedgeInstrumentKind,
    HedgeSpec,
    HestonModel,
    HistoricalModel,
    MertonModel,
    OptionSpec,
    OptionType,
    PolicyMethod,
    PolicySpec,
    PriceModel,
    Rebalance,
    Settlement,
    SimulationSpec,
)

__all__ = [
    "CHUNK_SECONDS",
    "MAX_MEMORY_BYTES",
    "MAX_PATHS",
    "MAX_PRICE_CSV_BYTES",
    "MAX_STEPS",
    "MAX_WORK",
    "PATHS_PER_BLOCK",
    "QUANTILE_LEVELS",
    "BlockResults",
    "CostSpec",
    "GBMModel",
    "HedgeInstrumentKind",
    "HedgeSpec",
    "HestonModel",
    "HistoricalModel",
    "MertonModel",
    "OptionSpec",
    "OptionType",
    "PathTrace",
    "PolicyMethod",
    "PolicyResult",
    "PolicySpec",
    "PriceModel",
    "ProgressCallback",
    "Rebalance",
    "Settlement",
    "SimulationResult",
    "SimulationSpec",
    "WorkEstimate",
    "WorkLimitError",
    "block_count",
    "estimate_work",
    "hedge_vol_of",
    "merge_blocks",
    "simulate",
    "simulate_block_range",
    "start_value",
]
