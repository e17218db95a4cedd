"""`hedgecore market snapshot`: the venue's market as a market file (README "Market file")."""

from __future__ import annotations

from typing import Annotated

import typer

from hedgecore.cli._errors import Sources, guarded
from hedgecore.cli._options import DebugOpt, OutputOpt
from hedgecore.cli._venue import (
    DEFAULT_TIMEOUT_SECONDS,
    SnapshotVenueOpt,
    TimeoutOpt,
    emit,
    fetch_snapshot,
    note_excluded,
)

market_app = typer.Typer(name="market", no_args_is_help=True, add_completion=False,
                         help="Live market data from a venue, written as a market file.")


@market_app.command("snapshot")
def snapshot(
    venue: SnapshotVenueOpt,
    underlying: Annotated[list[str], typer.Option(
        "--underlying", "-u", help="Coin whose chain to take (repeat for several: -u BTC -u ETH).",
        show_default=False)],
    output: OutputOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_SECONDS,
    debug: DebugOpt = False,
) -> None:
    """Spot, forwards, perpetuals, implied vols, smiles and option quotes, as_of the venue's time."""
    sources = Sources()
    with guarded(debug, sources):
        from hedgecore.cli._venue import snapshot_yaml
        from hedgecore.market import parse_market

        taken = fetch_snapshot(venue, "market", underlyings=underlying, timeout_seconds=timeout)
        parse_market(taken.document)  # what is written must read back with hedgecore's own parser
        note_excluded(taken, venue)
        emit(snapshot_yaml(taken, "market", venue.lower()), output)
