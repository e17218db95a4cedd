# cython: language_level=3
"""OpenMP shim: the compiled core builds with or without OpenMP.

Without it, `prange` loops run serially (Cython drops the pragmas) and the two functions
below answer as a one-thread runtime would.
"""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define HEDGECORE_HAVE_OPENMP 1
    #else
    #define HEDGECORE_HAVE_OPENMP 0
    static int omp_get_max_threads(void) { return 1; }
    static int omp_get_thread_num(void) { return 0; }
    #endif
    """
    bint HEDGECORE_HAVE_OPENMP
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
