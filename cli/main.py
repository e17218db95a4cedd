"""The `hedgecore` application: commands assembled from one module each.

`run()` is the console script. It imports nothing heavy: numpy and the compiled core are
imported inside the commands, so `hedgecore --help` stays fast.
"""

import gc
import importlib
import importlib.util
import sys

try:
    import typer
except ImportError:  # pragma: no cover - exercised by run() below
    typer = None  # type: ignore[assignment]


def _version(value: bool) -> None:
    if value:
        from hedgecore._version import __version__

        print(f"hedgecore {__version__}")
        raise typer.Exit()


# Commands written outside this module, registered by name: (module, function).
SIMULATION_COMMANDS: tuple[tuple[str, str], ...] = (
    ("hedgecore.cli.simulate", "simulate"),
    ("hedgecore.cli.optimize", "optimize"),
)


def _build_app() -> "typer.Typer":
    from hedgecore.cli.check import check
    from hedgecore.cli.exposures import exposures
    from hedgecore.cli.hedge import hedge
    from hedgecore.cli.scenarios import scenarios

    application = typer.Typer(
        name="hedgecore",
        help="Greeks, hedge bands and hedge recommendations for crypto options books "
             "(linear and coin-settled). Exit codes: 0 ok, 1 hedge due or limit breached (check), "
             "2 bad input or usage, 3 internal error, "
             "4 market data or positions unavailable from a venue.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"max_content_width": 100},
    )

    @application.callback()
    def main(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                               help="Print hedgecore's version and exit."),
    ) -> None:
        """hedgecore: risk-officer commands over portfolio, market and policy YAML files."""

    application.command()(exposures)
    application.command()(scenarios)
    application.command()(hedge)
    application.command()(check)
    # Venue snapshots (cli/market.py, cli/positions.py): the venue layer is imported only
    # when one of them runs.
    from hedgecore.cli.market import market_app
    from hedgecore.cli.positions import positions_app

    application.add_typer(market_app)
    application.add_typer(positions_app)

    # --- simulation commands: cli/simulate.py and cli/optimize.py (the simulation side owns
    # them). One line each in SIMULATION_COMMANDS below registers a command.
    for module_name, function_name in SIMULATION_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name != module_name:
                raise
            continue  # a build without the simulation commands still serves the risk commands
        application.command()(getattr(module, function_name))
    return application


def _missing_dependencies() -> list[str]:
    """The CLI's third-party packages that are not installed (by their PyPI names)."""
    names = {"typer": "typer", "rich": "rich", "yaml": "PyYAML"}
    return [pypi for module, pypi in names.items() if importlib.util.find_spec(module) is None]


app: "typer.Typer | None"
try:
    app = _build_app()
except ImportError:
    if not _missing_dependencies():
        raise
    app = None  # run() explains what to install


def run() -> None:
    """Console-script entry point; a missing CLI dependency gives a one-line install hint."""
    missing = _missing_dependencies()
    if missing:
        sys.stderr.write(f"hedgecore: error: the command line needs {', '.join(missing)}; "
                         f"install it with: python -m pip install {' '.join(missing)}\n")
        sys.exit(2)
    assert app is not None
    # A command runs for well under a second and allocates a large, acyclic object graph
    # (the YAML node tree of a big book): cyclic GC passes over it would cost more than
    # all the pricing. Reference counting still frees everything.
    gc.disable()
    app()


if __name__ == "__main__":  # pragma: no cover
    run()
