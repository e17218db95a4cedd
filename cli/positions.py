"""`hedgecore positions snapshot`: the account's positions as a portfolio file."""

from __future__ import annotations

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

positions_app = typer.Typer(name="positions", no_args_is_help=True, add_completion=False,
                            help="Live positions from a venue account, written as a portfolio file.")


@positions_app.command("snapshot")
def snapshot(
    venue: SnapshotVenueOpt,
    output: OutputOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_SECONDS,
    debug: DebugOpt = False,
) -> None:
    """Positions of the account and its sub-accounts (tagged `account`), in contracts.

    Credentials: HEDGECORE_DERIBIT_CLIENT_ID and HEDGECORE_DERIBIT_CLIENT_SECRET, or the file
    named by HEDGECORE_DERIBIT_CREDENTIALS (default ~/.config/hedgecore/deribit-credentials,
    chmod 600).
    """
    sources = Sources()
    with guarded(debug, sources):
        from hedgecore.cli._venue import snapshot_yaml
        from hedgecore.portfolio import parse_portfolio

        taken = fetch_snapshot(venue, "positions", timeout_seconds=timeout)
        if taken.document["positions"]:
            parse_portfolio(taken.document)
        note_excluded(taken, venue)
        emit(snapshot_yaml(taken, "positions", venue.lower()), output)
