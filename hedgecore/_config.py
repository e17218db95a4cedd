"""What this copy of hedgecore was built with: `show_config()`.

A wheel may come without OpenMP (the macOS wheels do, see README "Installing"), a source
build may have fallen back to serial loops, or an install may lack a compiled module. Each
of these still imports and gives the same numbers, only slower or not at all for one
feature, so this is where a user or a bug report finds out which build is in hand.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import sysconfig
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from hedgecore._version import __version__

# The compiled modules that setup.py builds (its COMPILED_MODULES); tests/test_packaging.py
# checks that the two lists agree.
COMPILED_MODULES: tuple[str, ...] = ("_runtime", "_greeks", "_iv", "_bands", "_sim", "_mm")


def _compiled_modules() -> tuple[dict[str, str], dict[str, str]]:
    """File name of each compiled module that imports, and the error of each that does not."""
    found: dict[str, str] = {}
    missing: dict[str, str] = {}
    for name in COMPILED_MODULES:
        try:
            module = importlib.import_module(f"hedgecore.{name}")
        except ImportError as error:
            missing[name] = f"{type(error).__name__}: {error}"
        else:
            found[name] = Path(module.__file__ or "?").name
    return found, missing


def _openmp() -> dict[str, Any]:
    # Imported here, not at the top: a broken install must still be able to describe itself.
    try:
        from hedgecore._inputs import resolve_threads
        from hedgecore._runtime import openmp_enabled
    except ImportError:
        return {"enabled": None, "default_threads": None, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    return {
        "enabled": openmp_enabled(),
        # What `threads=None` resolves to in every facade.
        "default_threads": resolve_threads(None),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }


def _vector_maths() -> dict[str, str | None]:
    """Which vectorised maths the Greeks and simulation kernels chose for this CPU at import.

    Speed differs between the paths, and results only in the last bits of exp and log."""
    try:
        from hedgecore._greeks import vector_isa as greeks_isa
        from hedgecore._sim import vector_isa as simulation_isa
    except ImportError:
        return {"greeks": None, "simulation": None}
    return {"greeks": greeks_isa(), "simulation": simulation_isa()}


def _core_compiler() -> str | None:
    """The C compiler that built the compiled core (None if it does not import)."""
    try:
        from hedgecore._runtime import compiler
    except ImportError:
        return None
    return compiler()


def _collect() -> dict[str, Any]:
    found, missing = _compiled_modules()
    return {
        "hedgecore": {"version": __version__, "location": str(Path(__file__).resolve().parent),
                      "compiler": _core_compiler()},
        "compiled_modules": found,
        "missing_modules": missing,
        "openmp": _openmp(),
        "vector_maths": _vector_maths(),
        "numpy": {"version": np.__version__},
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            # The compiler that built the interpreter; wheels are built with the same family.
            "compiler": platform.python_compiler(),
            "extension_suffix": sysconfig.get_config_var("EXT_SUFFIX"),
        },
        "platform": {
            "tag": sysconfig.get_platform(),
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
        },
    }


def _render(config: dict[str, Any]) -> str:
    openmp = config["openmp"]
    if openmp["enabled"] is None:
        openmp_line = "unknown (hedgecore._runtime does not import)"
    elif openmp["enabled"]:
        threads_env = openmp["OMP_NUM_THREADS"]
        source = f"OMP_NUM_THREADS={threads_env}" if threads_env else "OMP_NUM_THREADS unset"
        openmp_line = f"yes, {openmp['default_threads']} threads by default ({source})"
    else:
        openmp_line = "no: compiled kernels run on one thread (threads= is accepted; results are the same)"
    lines = [
        f"hedgecore {config['hedgecore']['version']}  ({config['hedgecore']['location']})",
        f"compiled with: {config['hedgecore']['compiler'] or 'unknown'}",
        "compiled modules:",
    ]
    lines += [f"  {name:<10} {file_name}" for name, file_name in config["compiled_modules"].items()]
    lines += [f"  {name:<10} MISSING  {error}" for name, error in config["missing_modules"].items()]
    python = config["python"]
    host = config["platform"]
    vector = config["vector_maths"]
    lines += [
        f"OpenMP: {openmp_line}",
        f"vector maths: greeks {vector['greeks'] or 'unknown'}, simulation {vector['simulation'] or 'unknown'}",
        f"numpy: {config['numpy']['version']}",
        f"python: {python['version']} ({python['implementation']}, {python['compiler']})",
        f"platform: {host['tag']} ({host['system']} {host['release']}, {host['machine']})",
    ]
    return "\n".join(lines)


@overload
def show_config(*, as_dict: Literal[False] = False) -> None: ...
@overload
def show_config(*, as_dict: Literal[True]) -> dict[str, Any]: ...
def show_config(*, as_dict: bool = False) -> dict[str, Any] | None:
    """Print what this hedgecore was built with, or return it as a dict with ``as_dict=True``.

    Reports the version and install location, the compiled modules found (and any that fail
    to import, with the error), whether the kernels were compiled with OpenMP and how many
    threads ``threads=None`` uses, the numpy version, the interpreter and the platform.

    The dict has the keys ``hedgecore``, ``compiled_modules``, ``missing_modules``,
    ``openmp`` (``enabled``: bool, or None when it cannot be told; ``default_threads``;
    ``OMP_NUM_THREADS``), ``vector_maths`` (``greeks``: "avx2" or "baseline", the copy of the
    vectorised Greeks pass this CPU runs, HEDGECORE_NO_AVX2=1 forcing the baseline;
    ``simulation``: "libmvec-avx512", "libmvec-avx2", "avx2" or "baseline", the lane kernels
    of the simulator, HEDGECORE_NO_AVX512=1 / HEDGECORE_NO_AVX2=1 forcing narrower ones),
    ``numpy``, ``python`` and ``platform``.
    """
    config = _collect()
    if as_dict:
        return config
    print(_render(config), file=sys.stdout)
    return None
