"""Build of hedgecore's compiled core.

Everything about how the Cython modules are compiled lives here, once:
- compiler directives (language_level 3, no bounds/wraparound/initialized checks, C
  division, embedded signatures); HEDGECORE_BOUNDSCHECK=1 turns the checks back on for
  debugging;
- OpenMP: probed with a tiny test program; without it (or with HEDGECORE_OPENMP=0) the
  `prange` loops compile serial and `hedgecore.show_config()` says so;
- numpy's random C library (npyrandom) is linked into the simulator so that paths draw from
  numpy's bit generators.
HEDGECORE_ONLY=_greeks,_iv rebuilds a subset in place, a developer convenience only.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent

# module name -> needs numpy's random C library
COMPILED_MODULES = {
    "_runtime": False,
    "_greeks": False,
    "_iv": False,
    "_bands": False,
    "_sim": True,
    "_mm": True,
}

# hedgecore's own C: the headers the modules include (`cdef extern from "name.h"`), with
# the portability and CPU-dispatch macros in one of them (hedgecore_platform.h). Listed as
# dependencies so that editing a header rebuilds the modules.
HEADERS = sorted(str(path.relative_to(HERE)) for path in (HERE / "hedgecore" / "src").glob("*.h"))

# Extra flags for one module on GCC/Clang. _greeks: GCC vectorises its branch-free pass
# (exp, log, sqrt of a chunk of options) only if sqrt need not set errno and a comparison
# may be evaluated for every lane (no floating-point traps). Neither changes a result, NaN
# and infinities included; nothing in hedgecore reads errno or enables FP traps. Not
# -ffast-math or -ffinite-math-only, which would. -ffp-contract=off: the module fuses
# multiply-adds only where it says so (see _greeks.pyx), the same on every platform.
# _sim: the same three, for the same reasons: its lane kernels (Box-Muller normals, exp,
# the normal CDF, the trade pass; see _sim.pyx) vectorise only with the first two.
GNU_EXTRA_COMPILE_ARGS = {
    "_greeks": ["-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"],
    "_sim": ["-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"],
    "_mm": ["-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"],
}


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() not in ("0", "false", "no", "off", "")


def _openmp_flags(compiler) -> tuple[list[str], list[str]]:
    """Compile and link flags for OpenMP, or two empty lists when the toolchain lacks it."""
    if not _flag("HEDGECORE_OPENMP", "1"):
        return [], []
    if compiler.compiler_type == "msvc":
        return ["/openmp"], []
    if sys.platform == "darwin":
        # Apple clang needs libomp from Homebrew; the probe below decides.
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    source = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    for compile_flags, link_flags in candidates:
        tmp = tempfile.mkdtemp(prefix="hedgecore-omp-")
        try:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as handle:
                handle.write(source)
            objects = compiler.compile([src], output_dir=tmp, extra_postargs=compile_flags)
            compiler.link_executable(objects, "probe", output_dir=tmp, extra_postargs=link_flags)
            return compile_flags, link_flags
        except Exception:  # noqa: BLE001 - any failure means "no OpenMP here"
            continue
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return [], []


class BuildExt(build_ext):
    """Adds the OpenMP and optimisation flags that fit the compiler actually used."""

    def build_extensions(self) -> None:
        omp_compile, omp_link = _openmp_flags(self.compiler)
        if omp_compile:
            print(f"hedgecore: building with OpenMP ({' '.join(omp_compile)})")
        else:
            print("hedgecore: OpenMP not available, compiled kernels run serially")
        optimise = ["/O2"] if self.compiler.compiler_type == "msvc" else ["-O3"]
        for ext in self.extensions:
            extra = [] if self.compiler.compiler_type == "msvc" else GNU_EXTRA_COMPILE_ARGS.get(
                ext.name.rsplit(".", 1)[-1], [])
            ext.extra_compile_args = optimise + omp_compile + extra + list(ext.extra_compile_args)
            ext.extra_link_args = omp_link + list(ext.extra_link_args)
        super().build_extensions()


def _extensions() -> list[Extension]:
    only = {name.strip() for name in os.environ.get("HEDGECORE_ONLY", "").split(",") if name.strip()}
    random_lib = os.path.join(os.path.dirname(np.__file__), "random", "lib")
    libm = [] if sys.platform == "win32" else ["m"]
    # _sim looks glibc's libmvec up with dlopen at import (libdl before glibc 2.34)
    libdl = ["dl"] if sys.platform.startswith("linux") else []
    extensions = []
    for module, needs_random in COMPILED_MODULES.items():
        if only and module not in only:
            continue
        extensions.append(
            Extension(
                f"hedgecore.{module}",
                [f"hedgecore/{module}.pyx"],
                include_dirs=["hedgecore/src", np.get_include()],
                depends=HEADERS,
                library_dirs=[random_lib] if needs_random else [],
                libraries=(["npyrandom"] if needs_random else []) + libm + (libdl if module == "_sim" else []),
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
            )
        )
    debug_checks = _flag("HEDGECORE_BOUNDSCHECK", "0")
    return cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": debug_checks,
            "wraparound": debug_checks,
            "initializedcheck": debug_checks,
            "cdivision": True,
            "embedsignature": True,
        },
    )


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
