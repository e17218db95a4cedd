"""The chunked, vectorised Greeks driver: results must not depend on where an option sits.

hedgecore.greeks computes options in chunks of 64 through a vectorised fast path and hands
the elements that path does not cover (invalid inputs, expiry, zero vol, far tails) to the
scalar kernel. These tests check what that must not change: an option's Greeks are the
same bits alone, inside a mixed book, on either side of a chunk boundary and on any
number of threads; and the baseline (SSE2) copy of the fast path agrees with the AVX2
copy. Accuracy against independent references is tested in test_greeks.py.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hedgecore import GREEK_NAMES, greeks

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("bsm", "black76", "inverse")


def mixed_book(n: int, seed: int) -> dict[str, np.ndarray]:
    """Ordinary options with every kind of special element scattered among them."""
    rng = np.random.default_rng(seed)
    book = {
        "underlying": rng.uniform(50.0, 150.0, n),
        "strike": 100.0 * np.exp(rng.normal(0.0, 0.3, n)),
        "tau": rng.uniform(1.0 / 365.0, 2.0, n),
        "vol": rng.uniform(0.05, 1.5, n),
        "is_call": rng.random(n) < 0.5,
        "rate": rng.uniform(-0.01, 0.08, n),
        "carry": rng.uniform(0.0, 0.03, n),
    }
    specials = [
        ("tau", 0.0), ("vol", 0.0), ("vol", 1e-310), ("tau", 1e-310), ("underlying", math.nan),
        ("strike", math.inf), ("tau", -1.0), ("vol", -0.1), ("strike", 1e-8), ("strike", 1e8),
        ("vol", 40.0), ("rate", 800.0), ("underlying", 1e-300), ("rate", math.nan),
    ]
    for k, position in enumerate(rng.choice(n, size=3 * len(specials), replace=False)):
        name, value = specials[k % len(specials)]
        book[name][position] = value
    return book


def run(book: dict[str, np.ndarray], model: str, threads: int | None = None,
        index: int | slice = slice(None)) -> np.ndarray:
    carry = book["carry"][index] if model == "bsm" else 0.0
    g = greeks(book["underlying"][index], book["strike"][index], book["tau"][index],
               book["vol"][index], is_call=book["is_call"][index], rate=book["rate"][index],
               carry=carry, model=model, threads=threads)
    return np.stack([np.asarray(getattr(g, name)) for name in GREEK_NAMES])


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


@pytest.mark.parametrize("model", MODELS)
def test_an_option_alone_equals_the_same_option_in_a_book(model: str) -> None:
    book = mixed_book(3 * 64 + 17, seed=7)
    whole = run(book, model)
    for i in range(len(book["tau"])):
        assert same_bits(run(book, model, index=i), whole[:, i]), i


@pytest.mark.parametrize("model", MODELS)
def test_shifting_the_book_across_chunk_boundaries_changes_nothing(model: str) -> None:
    book = mixed_book(300, seed=11)
    whole = run(book, model)
    for offset in (1, 5, 63, 64, 65):
        shifted = run(book, model, index=slice(offset, None))
        assert same_bits(shifted, whole[:, offset:]), offset


@pytest.mark.parametrize("model", MODELS)
def test_thread_counts_give_the_same_bits_on_a_mixed_book(model: str) -> None:
    book = mixed_book(20_000 + 37, seed=3)
    assert same_bits(run(book, model, threads=1), run(book, model, threads=2))


def test_invalid_elements_are_nan_and_valid_neighbours_finite() -> None:
    book = mixed_book(500, seed=5)
    out = run(book, "bsm")
    invalid = ~(np.isfinite(book["underlying"]) & np.isfinite(book["strike"])
                & np.isfinite(book["rate"]) & (book["tau"] >= 0) & (book["vol"] >= 0))
    assert np.isnan(out[:, invalid]).all()
    assert np.isfinite(out[:, ~invalid]).all()


_CHILD = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import test_greeks_chunks as t
from hedgecore._greeks import vector_isa
book = t.mixed_book(1000, seed=13)
print(json.dumps({"isa": vector_isa(),
                  "out": {m: t.run(book, m).tolist() for m in t.MODELS}}))
"""


def test_baseline_and_avx2_copies_agree() -> None:
    """HEDGECORE_NO_AVX2=1 forces the baseline copy; on an AVX2 machine this compares the two
    (they differ only in the rounding of exp and log, by an ulp or two)."""
    from hedgecore._greeks import vector_isa

    env = dict(os.environ, HEDGECORE_NO_AVX2="1")
    child = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), str(ROOT / "tests")],
                           env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    result = json.loads(child.stdout)
    assert result["isa"] == "baseline"
    book = mixed_book(1000, seed=13)
    scale = np.maximum(book["underlying"], book["strike"])
    for model in MODELS:
        ours = run(book, model)
        theirs = np.array(result["out"][model], dtype=float)
        if vector_isa() == "baseline":
            assert same_bits(ours, theirs)
            continue
        ok = np.isfinite(ours)
        assert same_bits(ours[~ok], theirs[~ok])
        floor = 1e-6 * np.broadcast_to(scale, ours.shape)
        gap = np.abs(ours[ok] - theirs[ok]) / np.maximum(np.abs(theirs[ok]), floor[ok])
        assert gap.max() <= 1e-12, (model, gap.max())
