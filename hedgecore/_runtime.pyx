# cython: language_level=3
"""What the compiled core was built with (for show_config and the threads default)."""

from hedgecore._openmp cimport HEDGECORE_HAVE_OPENMP, omp_get_max_threads

# The compiler that built this module, from its own predefined macros (the one that built
# Python, which platform.python_compiler() reports, may differ: a wheel's is the
# cibuildwheel image's, a source build's is whatever CC was).
cdef extern from "hedgecore_platform.h":
    const char* HEDGECORE_COMPILER


def openmp_enabled() -> bool:
    """True when the kernels were compiled with OpenMP and run in parallel."""
    return bool(HEDGECORE_HAVE_OPENMP)


def max_threads() -> int:
    """Threads an OpenMP loop would use by default (1 without OpenMP)."""
    return omp_get_max_threads()


def compiler() -> str:
    """Name and version of the C compiler that built the compiled core."""
    return HEDGECORE_COMPILER.decode("utf-8", "replace").strip()
