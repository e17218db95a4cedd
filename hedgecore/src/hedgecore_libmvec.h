/* hedgecore_libmvec.h: glibc's libmvec for the simulator (_sim.pyx), found at import.
 *
 * libmvec holds the 4-wide (AVX2) and 8-wide (AVX-512) exp, erfc, cbrt, log, sin and cos
 * (a few ulp, like the scalar libm). Table-driven, they beat the portable polynomials of
 * hedgecore_lanes.h on the same CPU, so the GBM step and the delta use them when present.
 * They are looked up at import with dlopen/dlsym, not linked: a wheel built on an old glibc
 * (manylinux_2_28) still finds them on a machine whose glibc has them all (>= 2.35), and
 * runs the portable kernels elsewhere. The bindings are GCC, x86-64 and glibc by nature;
 * everywhere else HEDGECORE_LIBMVEC is 0 and hedgecore_vector_exp/cbrt are plain libm
 * loops. HEDGECORE_NO_LIBMVEC (a macro at build time, or in the environment at import)
 * turns libmvec off.
 */
#ifndef HEDGECORE_LIBMVEC_H
#define HEDGECORE_LIBMVEC_H

#include "hedgecore_platform.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) \
    && !defined(HEDGECORE_NO_LIBMVEC)
#include <immintrin.h>
#include <dlfcn.h>
#define HEDGECORE_LIBMVEC 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
typedef __m256d (*hedgecore_mvec4_fn)(__m256d);
typedef __m512d (*hedgecore_mvec8_fn)(__m512d);
/* the variants in use; the kernels call them by their libmvec names */
#define HEDGECORE_MVEC_ROUTINES(X) X(exp) X(erfc) X(cbrt) X(log) X(sin) X(cos)
#define HEDGECORE_MVEC_POINTERS(name) \
    static hedgecore_mvec4_fn hedgecore_mvec4_##name; \
    static hedgecore_mvec8_fn hedgecore_mvec8_##name;
HEDGECORE_MVEC_ROUTINES(HEDGECORE_MVEC_POINTERS)
#define _ZGVdN4v_exp hedgecore_mvec4_exp
#define _ZGVdN4v_erfc hedgecore_mvec4_erfc
#define _ZGVdN4v_cbrt hedgecore_mvec4_cbrt
#define _ZGVdN4v_log hedgecore_mvec4_log
#define _ZGVdN4v_sin hedgecore_mvec4_sin
#define _ZGVdN4v_cos hedgecore_mvec4_cos
#define _ZGVeN8v_exp hedgecore_mvec8_exp
#define _ZGVeN8v_erfc hedgecore_mvec8_erfc
#define _ZGVeN8v_cbrt hedgecore_mvec8_cbrt
#define _ZGVeN8v_log hedgecore_mvec8_log
#define _ZGVeN8v_sin hedgecore_mvec8_sin
#define _ZGVeN8v_cos hedgecore_mvec8_cos
/* One AVX2 array function per routine: four lanes at a time, libm for the tail. */
#define HEDGECORE_MVEC4(name, vector_call) \
    __attribute__((target("avx2,fma"))) \
    static void hedgecore_##name##4(const double *x, double *y, Py_ssize_t n) { \
        Py_ssize_t i = 0, whole = n - n % 4; \
        for (; i < whole; i += 4) _mm256_storeu_pd(y + i, vector_call(_mm256_loadu_pd(x + i))); \
        for (; i < n; ++i) y[i] = name(x[i]); \
    }
HEDGECORE_MVEC4(exp, _ZGVdN4v_exp)
HEDGECORE_MVEC4(cbrt, _ZGVdN4v_cbrt)
/* The same with the 8-wide AVX-512 variants (cbrt, exp, log, sin, cos 20-45% faster
   per lane than the AVX2 ones on an AMD Zen 4; erfc the same). */
#define HEDGECORE_MVEC8(name, vector_call) \
    __attribute__((target("avx512f,avx512dq"))) \
    static void hedgecore_##name##8(const double *x, double *y, Py_ssize_t n) { \
        Py_ssize_t i = 0, whole = n - n % 8; \
        for (; i < whole; i += 8) _mm512_storeu_pd(y + i, vector_call(_mm512_loadu_pd(x + i))); \
        for (; i < n; ++i) y[i] = name(x[i]); \
    }
HEDGECORE_MVEC8(exp, _ZGVeN8v_exp)
HEDGECORE_MVEC8(cbrt, _ZGVeN8v_cbrt)
/* 0: no libmvec, 1: its AVX2 variants, 2: its AVX-512 variants */
static int hedgecore_use_mvec = 0;
/* Every routine of one width from the library, or 0 if one is missing (glibc < 2.35
   has no erfc or cbrt variants). */
#define HEDGECORE_MVEC_FIND4(name) \
    ok = ok && (hedgecore_mvec4_##name = (hedgecore_mvec4_fn)dlsym(lib, "_ZGVdN4v_" #name));
#define HEDGECORE_MVEC_FIND8(name) \
    ok = ok && (hedgecore_mvec8_##name = (hedgecore_mvec8_fn)dlsym(lib, "_ZGVeN8v_" #name));
static int hedgecore_find_mvec4(void *lib) { int ok = 1; HEDGECORE_MVEC_ROUTINES(HEDGECORE_MVEC_FIND4) return ok; }
static int hedgecore_find_mvec8(void *lib) { int ok = 1; HEDGECORE_MVEC_ROUTINES(HEDGECORE_MVEC_FIND8) return ok; }
#pragma GCC diagnostic pop
static void hedgecore_detect_simd(void) {
    hedgecore_cpu_t cpu = hedgecore_cpu();
    if (!cpu.avx2_fma || getenv("HEDGECORE_NO_LIBMVEC"))
        return;
    void *lib = dlopen("libmvec.so.1", RTLD_NOW | RTLD_LOCAL);   /* kept open */
    if (lib == NULL || !hedgecore_find_mvec4(lib))
        return;
    hedgecore_use_mvec = 1;
    if (cpu.avx512 && !getenv("HEDGECORE_NO_AVX512") && hedgecore_find_mvec8(lib))
        hedgecore_use_mvec = 2;
}
#else
#define HEDGECORE_LIBMVEC 0
static int hedgecore_use_mvec = 0;
static void hedgecore_detect_simd(void) {}
#endif
/* hedgecore_vector_NAME(x, y, n): y = NAME(x) over n doubles, through the AVX2 copy
   when the CPU has it. */
#if HEDGECORE_LIBMVEC
#define HEDGECORE_MVEC_DISPATCH(name) \
    if (hedgecore_use_mvec == 2) { hedgecore_##name##8(x, y, n); return; } \
    if (hedgecore_use_mvec) { hedgecore_##name##4(x, y, n); return; }
#else
#define HEDGECORE_MVEC_DISPATCH(name)
#endif
#define HEDGECORE_VECTOR(name) \
    static void hedgecore_vector_##name(const double *x, double *y, Py_ssize_t n) { \
        HEDGECORE_MVEC_DISPATCH(name) \
        for (Py_ssize_t i = 0; i < n; ++i) y[i] = name(x[i]); \
    }
HEDGECORE_VECTOR(exp)
#if HEDGECORE_LIBMVEC
HEDGECORE_VECTOR(cbrt)   /* hs_cbrt_lanes' libmvec path; the portable one has its own */
#endif

#endif /* HEDGECORE_LIBMVEC_H */
