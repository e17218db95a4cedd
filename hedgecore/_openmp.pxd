# cython: language_level=3
"""OpenMP shim: the compiled core builds with or without OpenMP (the C is in
hedgecore/src/hedgecore_platform.h).

Without it, `prange` loops run serially (Cython drops the pragmas) and the two functions
below answer as a one-thread runtime would.
"""

cdef extern from "hedgecore_platform.h":
    bint HEDGECORE_HAVE_OPENMP
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
