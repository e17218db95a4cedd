/* hedgecore_platform.h: everything compiler- or CPU-specific in hedgecore's C, once.
 *
 * The other headers under hedgecore/src use only these macros and functions, never
 * __attribute__, __builtin_* or _MSC_VER themselves (the libmvec bindings of
 * hedgecore_libmvec.h, which are GCC/x86-64/glibc by nature, are the one exception):
 *   HEDGECORE_INLINE         C99 inline (MSVC's C spells it __inline)
 *   HEDGECORE_ALWAYS_INLINE  force inlining where the compiler has a way to say it
 *   HEDGECORE_RESTRICT       C99 restrict (MSVC spells it __restrict)
 *   HEDGECORE_X86_DISPATCH   defined when the build can compile extra copies of a kernel
 *                            for AVX2/AVX-512 and choose one at run time (GCC or clang on
 *                            x86); HEDGECORE_TARGET(isa) marks such a copy
 *   HEDGECORE_MADD           a multiply-add, fused only when asked (the AVX2+FMA copies)
 *   HEDGECORE_VECTOR_OF      GCC's and clang's generic vectors (HEDGECORE_VECTOR_EXTENSION)
 *   hedgecore_portable_isa   which copy to run: 0 baseline, 1 AVX2+FMA, 2 AVX-512;
 *                            HEDGECORE_NO_AVX2 / HEDGECORE_NO_AVX512 in the environment
 *                            force a lower one (for testing the other copies)
 *   HEDGECORE_HAVE_OPENMP    1 when compiled with OpenMP; without it omp_get_max_threads
 *                            and omp_get_thread_num answer as a one-thread runtime would
 *   HEDGECORE_COMPILER       the compiler that built the module, from its own macros
 * Each compiled module is its own translation unit: the CPU is asked once per module, at
 * its import, through hedgecore_cpu().
 */
#ifndef HEDGECORE_PLATFORM_H
#define HEDGECORE_PLATFORM_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define HEDGECORE_ALWAYS_INLINE __attribute__((always_inline)) inline
#elif defined(_MSC_VER)
#define HEDGECORE_ALWAYS_INLINE __inline
#else
#define HEDGECORE_ALWAYS_INLINE inline
#endif

/* `inline` for C: MSVC's C compiler spells it __inline */
#if defined(_MSC_VER) && !defined(__cplusplus)
#define HEDGECORE_INLINE __inline
#else
#define HEDGECORE_INLINE inline
#endif

#if defined(_MSC_VER)
#define HEDGECORE_RESTRICT __restrict
#else
#define HEDGECORE_RESTRICT restrict
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define HEDGECORE_X86_DISPATCH 1
#define HEDGECORE_TARGET(isa) __attribute__((target(isa)))
/* a constant `fused` once inlined into a copy of a loop: fma there, a * b + c elsewhere */
#define HEDGECORE_MADD(fused, a, b, c) \
    ((fused) ? __builtin_fma((a), (b), (c)) : (a) * (b) + (c))
#else
#define HEDGECORE_MADD(fused, a, b, c) ((a) * (b) + (c))
#endif

/* GCC's and clang's generic vector extension: a vector of `count` elements of `type`, which
   the compiler splits to the target's width, and an element-wise conversion. */
#if defined(__GNUC__)
#define HEDGECORE_VECTOR_EXTENSION 1
#define HEDGECORE_VECTOR_OF(type, count) type __attribute__((vector_size(sizeof(type) * (count))))
#define HEDGECORE_CONVERT_VECTOR(vector, type) __builtin_convertvector((vector), type)
#endif

/* The CPU's vector extensions, as the kernels use them. */
typedef struct {
    int avx2_fma;   /* AVX2 and FMA */
    int avx512;     /* AVX-512 F and DQ */
} hedgecore_cpu_t;

/* Asks the CPU on the first call (at the module's import, with the GIL held). */
static HEDGECORE_INLINE hedgecore_cpu_t hedgecore_cpu(void) {
    static int asked = 0;
    static hedgecore_cpu_t cpu = {0, 0};
    if (!asked) {
        asked = 1;
#ifdef HEDGECORE_X86_DISPATCH
        __builtin_cpu_init();
        cpu.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        cpu.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
#endif
    }
    return cpu;
}

/* The copy of the portable kernels to run: 2 AVX-512 (with AVX2+FMA), 1 AVX2+FMA, 0 the
   build's baseline. */
static HEDGECORE_INLINE int hedgecore_portable_isa(void) {
    hedgecore_cpu_t cpu = hedgecore_cpu();
    int avx2 = cpu.avx2_fma && !getenv("HEDGECORE_NO_AVX2");
    int avx512 = avx2 && cpu.avx512 && !getenv("HEDGECORE_NO_AVX512");
    return avx512 ? 2 : avx2;
}

#ifdef _OPENMP
#include <omp.h>
#define HEDGECORE_HAVE_OPENMP 1
#else
#define HEDGECORE_HAVE_OPENMP 0
static HEDGECORE_INLINE int omp_get_max_threads(void) { return 1; }
static HEDGECORE_INLINE int omp_get_thread_num(void) { return 0; }
#endif

#define HEDGECORE_STR2(x) #x
#define HEDGECORE_STR(x) HEDGECORE_STR2(x)
#if defined(__clang__)
#define HEDGECORE_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define HEDGECORE_COMPILER "GCC " __VERSION__
#elif defined(_MSC_VER)
#define HEDGECORE_COMPILER "MSVC " HEDGECORE_STR(_MSC_FULL_VER)
#else
#define HEDGECORE_COMPILER "unknown"
#endif

#endif /* HEDGECORE_PLATFORM_H */
