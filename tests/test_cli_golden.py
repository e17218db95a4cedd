"""Golden JSON for the configs/ examples: a regression net, not the correctness check.

The correctness checks are the hand-computed tiny book (test_portfolio.py) and the hedge
rules (test_hedging.py). These files catch unintended changes in any figure the commands
print for the shipped examples. Numbers compare with a relative tolerance of 1e-9 (the
compiled core's results do not depend on the thread count; the tolerance absorbs libm
differences across machines). Keys in a golden file must be present in the output; new
keys may be added freely.

Regenerate only when a change is understood:  HEDGECORE_UPDATE_GOLDEN=1 python -m pytest
tests/test_cli_golden.py  (then review `git diff tests/golden`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hedgecore.cli.main import app

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("HEDGECORE_UPDATE_GOLDEN") == "1"
REL, ABS = 1e-9, 1e-8


def compare(actual: Any, expected: Any, where: str = "$") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            compare(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        assert len(actual) == len(expected), f"{where}: {len(actual)} items, golden has {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            compare(a, e, f"{where}[{index}]")
    elif isinstance(expected, float) or (isinstance(expected, int) and not isinstance(expected, bool)
                                          and isinstance(actual, float)):
        assert isinstance(actual, (int, float)), where
        assert not isinstance(actual, bool), where
        assert math.isclose(actual, expected, rel_tol=REL, abs_tol=ABS), f"{where}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


CASES = [(name, command) for name in ("btc", "eth", "multi")
         for command in ("exposures", "scenarios", "hedge", "check")]


@pytest.mark.parametrize(("name", "command"), CASES)
def test_golden(name: str, command: str) -> None:
    args = [command, str(CONFIGS / f"{name}_book.yaml"), "--market", str(CONFIGS / f"{name}_market.yaml"),
            "--format", "json"]
    if command in ("hedge", "check"):
        args += ["--policy", str(CONFIGS / f"{name}_policy.yaml")]
    if command == "exposures":
        args += ["--by", "book"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    path = GOLDEN / f"{name}_{command}.json"
    if UPDATE:
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"wrote {path.name}")
    assert path.exists(), f"{path} missing: run with HEDGECORE_UPDATE_GOLDEN=1 once the output is checked"
    compare(document, json.loads(path.read_text(encoding="utf-8")))
