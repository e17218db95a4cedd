# cython: language_level=3
"""What the compiled core was built with (for show_config and the threads default)."""

from hedgecore._openmp cimport HEDGECORE_HAVE_OPENMP, omp_get_max_threads


def openmp_enabled() -> bool:
    """True when the kernels were compiled with OpenMP and run in parallel."""
    return bool(HEDGECORE_HAVE_OPENMP)


def max_threads() -> int:
    """Threads an OpenMP loop would use by default (1 without OpenMP)."""
    return omp_get_max_threads()
