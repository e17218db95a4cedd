"""hedgecore's command line: a Typer application over the book/market/policy library.

Installed as the subpackage ``hedgecore.cli``; the console script ``hedgecore`` runs
``hedgecore.cli.main:run``. One module per command (exposures, scenarios, hedge, check;
simulate and optimize come from the simulation side), assembled in main.py.
"""
