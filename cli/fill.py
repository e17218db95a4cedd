"""`hedgecore fill`: record an executed hedge in the journal (what min_interval counts from)."""

from __future__ import annotations

import json
import math
import sys
from enum import Enum
from typing import Annotated

import typer

from hedgecore.cli._errors import Sources, guarded
from hedgecore.cli._journal import JournalOpt, open_journal, parse_time
from hedgecore.cli._options import DebugOpt, FormatOpt, OutputFormat


class Side(str, Enum):
    buy = "buy"
    sell = "sell"


def _positive(value: float) -> float:
    if not (math.isfinite(value) and value > 0.0):
        raise typer.BadParameter(f"must be a number > 0, got {value:g}")
    return value


def _fee(value: float) -> float:
    if not (math.isfinite(value) and value >= 0.0):
        raise typer.BadParameter(f"must be a number >= 0, got {value:g}")
    return value


def fill(
    underlying: Annotated[str, typer.Option("--underlying", "-u", help="The underlying hedged: BTC, ETH, ...",
                                            show_default=False)],
    instrument: Annotated[str, typer.Option("--instrument", "-i", help="The instrument traded, e.g. BTC-PERPETUAL.",
                                            show_default=False)],
    side: Annotated[Side, typer.Option("--side", help="buy or sell.", case_sensitive=False, show_default=False)],
    quantity: Annotated[float, typer.Option("--quantity", "-q", help="Contracts traded (> 0), in the instrument's "
                                            "contracts as the policy's lot_size.", callback=_positive,
                                            show_default=False)],
    price: Annotated[float, typer.Option("--price", help="Execution price (USD per unit of the underlying).",
                                         callback=_positive, show_default=False)],
    fee_usd: Annotated[float, typer.Option("--fee-usd", help="Fees paid, in USD.", callback=_fee)] = 0.0,
    at: Annotated[str | None, typer.Option("--at", help="Execution time: ISO-8601 (UTC if no zone) or 'now' "
                                           "(the default).", metavar="TIME", show_default=False)] = None,
    journal: JournalOpt = None,
    format: FormatOpt = OutputFormat.table,
    debug: DebugOpt = False,
) -> None:
    """Record an executed hedge in the journal; min_interval counts from the last one."""
    from datetime import datetime, timezone

    moment = parse_time(at, "--at") or datetime.now(timezone.utc)
    name = underlying.strip().upper()
    inst = instrument.strip().upper()
    if not name or not inst:
        raise typer.BadParameter("must not be empty", param_hint="--underlying/--instrument")
    with guarded(debug, Sources()):
        from hedgecore.instruments import parse_instrument_name
        from hedgecore.journal.store import Fill

        parsed = parse_instrument_name(inst)
        if parsed is not None and parsed.underlying != name:
            raise ValueError(f"--instrument {inst} is on {parsed.underlying}, not --underlying {name}")
        record = Fill(moment, name, inst, side.value, quantity, price, fee_usd, "manual")
        with open_journal(journal) as store:
            fill_id = store.record_fill(record)
            path = store.path
        document = {"id": fill_id, "at": moment.isoformat().replace("+00:00", "Z"), "underlying": name,
                    "instrument": inst, "side": side.value, "quantity": quantity, "price": price,
                    "fee_usd": fee_usd, "source": "manual", "journal": str(path)}
        if format is OutputFormat.json:
            sys.stdout.write(json.dumps(document, indent=2) + "\n")
        else:
            sys.stdout.write(f"fill {fill_id}: {name} {side.value} {quantity:,.10g} {inst} at {price:,.10g} "
                             f"(fee {fee_usd:,.2f} USD) at {document['at']}, recorded in {path}\n")
