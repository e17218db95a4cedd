"""The package layout keeps every import path callers use: the readers moved from
hedgecore.errors to hedgecore.reading, simulation and optimize became subpackages."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hedgecore
import hedgecore.errors as errors
import hedgecore.optimize as optimize
import hedgecore.reading as reading
import hedgecore.simulation as simulation

READERS = ("Fields", "check_keys", "check_text", "decode_input_text", "finite_number", "join_path",
           "parse_duration", "parse_timestamp", "read_input_file", "suggest", "MAX_INPUT_BYTES",
           "STREAM_TIMEOUT_SECONDS", "MAX_TEXT_CHARS", "MAX_DURATION", "MIN_YEAR", "MAX_YEAR")


@pytest.mark.parametrize("name", READERS)
def test_errors_still_offers_each_reader_and_it_is_the_reading_one(name: str) -> None:
    assert getattr(errors, name) is getattr(reading, name)


def test_errors_refuses_a_name_it_never_had() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Feilds'"):
        errors.Feilds  # noqa: B018


@pytest.mark.parametrize("first", ["hedgecore.reading", "hedgecore.errors"])
def test_reading_and_errors_import_in_either_order(first: str) -> None:
    """reading imports the error types from errors, errors re-exports reading's names: a
    fresh interpreter importing either first must get both whole."""
    code = (f"import {first}\n"
            "from hedgecore.errors import Fields, ConfigError\n"
            "from hedgecore.reading import Fields as F\n"
            "assert Fields is F\n"
            "print(F.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hedgecore.reading"


@pytest.mark.parametrize("package", [simulation, optimize])
def test_subpackages_export_what_they_list(package: object) -> None:
    for name in package.__all__:  # type: ignore[attr-defined]
        assert getattr(package, name) is not None, name


def test_the_lazy_top_level_names_come_from_the_simulation_package() -> None:
    assert hedgecore.SimulationSpec is simulation.SimulationSpec
    assert hedgecore.simulate is simulation.simulate
    assert hedgecore.HistoricalModel.__module__ == "hedgecore.simulation.spec"


def test_one_name_for_the_hedge_instrument_literal() -> None:
    """hedgecore.policy.HedgeInstrument is the class; the simulation's Literal of instrument
    kinds is HedgeInstrumentKind and the old Literal name is gone from the simulation."""
    from typing import get_args

    from hedgecore.policy import HedgeInstrument

    assert isinstance(HedgeInstrument, type)
    assert get_args(simulation.HedgeInstrumentKind) == ("spot", "linear_perp", "inverse_perp")
    assert not hasattr(simulation, "HedgeInstrument")


def test_one_length_of_a_year() -> None:
    """ACT/365 is defined once, in hedgecore.units, and every module uses that one."""
    import hedgecore.market as market
    import hedgecore.simulation.spec as spec
    import hedgecore.units as units

    assert units.DAYS_PER_YEAR == 365.0
    assert units.SECONDS_PER_YEAR == 365.0 * 86400.0
    assert units.HOURS_PER_YEAR == 8760.0
    assert market.SECONDS_PER_YEAR is units.SECONDS_PER_YEAR
    assert spec.SECONDS_PER_YEAR is units.SECONDS_PER_YEAR


def test_one_parse_policy() -> None:
    """policy.parse_policy reads a policy file; the simulation's policy reader has its own name."""
    import hedgecore.simconfig as simconfig

    assert not hasattr(simconfig, "parse_policy")
    policy = simconfig.parse_sim_policy({"name": "ww", "method": "whalley_wilmott", "risk_aversion": 0.5},
                                        "policies[0]")
    assert (policy.name, policy.method, policy.risk_aversion) == ("ww", "whalley_wilmott", 0.5)


def test_commands_share_only_through_the_shared_modules() -> None:
    """A command module imports, at module level, the shared cli/_*.py modules and never
    another command: what commands share lives in _options, _load, _render and the like."""
    import ast
    from pathlib import Path

    cli_dir = Path(__file__).resolve().parents[1] / "cli"
    commands = {path.stem for path in cli_dir.glob("*.py") if not path.stem.startswith("_")}
    offenders = []
    for path in sorted(cli_dir.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hedgecore.cli."):
                imported = node.module.removeprefix("hedgecore.cli.")
                if imported in commands and imported != "plot":
                    offenders.append(f"{path.name} imports {node.module}")
    assert offenders == []


def test_every_command_is_registered_from_the_one_table() -> None:
    from typer.testing import CliRunner

    from hedgecore.cli.main import COMMANDS, app

    assert app is not None
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()]
    expected = [attribute.removesuffix("_app") for _module, attribute in COMMANDS]
    assert sorted(listed) == sorted(expected)
