"""`hedgecore explain --from RUN --to RUN`: where the PnL between two recorded runs came from.

The book held at the first run is revalued on the second run's market and time, on the
new market at the old time and on the old market at the new time (hedgecore.journal.explain).
JSON: {"from": {"run", "as_of"}, "to": {"run", "as_of"}, "interval_days", "underlyings":
[{"underlying", "spot_from", "spot_to", "pnl_usd", "delta_pnl_usd", "gamma_pnl_usd",
"vega_pnl_usd", "theta_pnl_usd", "funding_pnl_usd", "unexplained_usd", "revaluation": {...},
"coin": {...} (coin-settled books), "fills", "fees_usd"}], "total": {...}, "fills": [...]}.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hedgecore.cli._errors import Sources, guarded
from hedgecore.cli._journal import JournalOpt, load_documents, open_journal
from hedgecore.cli._options import DebugOpt, FormatOpt, OutputFormat, OutputOpt, ThreadsOpt
from hedgecore.cli._render import Column, Report, Table, render

ROW_KEYS = ("pnl_usd", "delta_pnl_usd", "gamma_pnl_usd", "vega_pnl_usd", "theta_pnl_usd", "funding_pnl_usd",
            "unexplained_usd")


def build_report(document: dict[str, Any]) -> Report:
    columns = [Column("underlying", "underlying", str, numeric=False),
               Column("PnL $", "pnl_usd"), Column("delta $", "delta_pnl_usd"), Column("gamma $", "gamma_pnl_usd"),
               Column("vega $", "vega_pnl_usd"), Column("theta $", "theta_pnl_usd"),
               Column("funding $", "funding_pnl_usd"), Column("unexplained $", "unexplained_usd"),
               Column("fees $", "fees_usd")]
    rows: list[dict[str, Any]] = [{key: entry.get(key) for key in ("underlying", *ROW_KEYS, "fees_usd")}
                                  for entry in document["underlyings"]]
    rows.append({"underlying": "total", **{key: document["total"][key] for key in (*ROW_KEYS, "fees_usd")}})
    table = Table(f"PnL explain: run {document['from']['run']} ({document['from']['as_of']}) -> run "
                  f"{document['to']['run']} ({document['to']['as_of']})", columns, rows, {len(rows) - 1: "bold"})
    notes = []
    for entry in document["underlyings"]:
        check = entry["revaluation"]
        notes.append(f"{entry['underlying']}: spot {entry['spot_from']:,.10g} -> {entry['spot_to']:,.10g}; "
                     f"revaluation: market move {check['market_move_usd']:,.2f} USD (Taylor misses "
                     f"{check['market_unexplained_usd']:,.2f}), time decay {check['time_decay_usd']:,.2f} USD "
                     f"(Taylor misses {check['time_unexplained_usd']:,.2f}), cross {check['cross_usd']:,.2f} USD")
        coin = entry.get("coin")
        if coin is not None:
            notes.append(f"{entry['underlying']} in coin: PnL {coin['pnl_coin']:.8g} = delta "
                         f"{coin['delta_pnl_coin']:.6g} + gamma {coin['gamma_pnl_coin']:.6g} + vega "
                         f"{coin['vega_pnl_coin']:.6g} + theta {coin['theta_pnl_coin']:.6g} + funding "
                         f"{coin['funding_pnl_coin']:.6g} + unexplained {coin['unexplained_coin']:.6g}")
    notes.append(f"the book held at run {document['from']['run']}; {len(document['fills'])} fills in the interval "
                 "(listed in JSON, their fees in the fees column, not in the PnL).")
    return Report(document, [table], notes)


def explain(
    from_run: Annotated[int, typer.Option("--from", help="The first run's id (hedgecore history lists them).",
                                          show_default=False, min=1)],
    to_run: Annotated[int, typer.Option("--to", help="The second run's id.", show_default=False, min=1)],
    journal: JournalOpt = None,
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    threads: ThreadsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Explain the PnL of the book held at one run up to another: delta, gamma, vega, theta,
    funding and what they leave unexplained, checked by revaluation."""
    with guarded(debug, Sources()):
        from hedgecore.journal.explain import explain_pnl

        with open_journal(journal, create=False) as store:
            first, second = store.run(from_run), store.run(to_run)
            if second.as_of < first.as_of:
                raise ValueError(f"run {to_run} (valued {second.as_of:%Y-%m-%d %H:%M:%S} UTC) is earlier than run "
                                 f"{from_run} ({first.as_of:%Y-%m-%d %H:%M:%S} UTC): swap --from and --to")
            portfolio, market_from = load_documents(store, first.portfolio_hash, first.market_hash, f"run {from_run}")
            _, market_to = load_documents(store, first.portfolio_hash, second.market_hash, f"run {to_run}")
            fills = store.fills_between(first.as_of, second.as_of)
        # A run's valuation time may differ from its market file's (--as-of): use the run's.
        market_from = market_from.with_as_of(first.as_of)
        market_to = market_to.with_as_of(second.as_of)
        document = explain_pnl(portfolio, market_from, market_to, fills=fills, threads=threads)
        document = {"from": {"run": from_run, "as_of": document.pop("as_of_from")},
                    "to": {"run": to_run, "as_of": document.pop("as_of_to")}, **document}
        render(build_report(document), format, output)
