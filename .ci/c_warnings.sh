#!/usr/bin/env bash
# hedgecore's own C (the headers under hedgecore/src) compiles without a warning on GCC and
# clang, with -Wall -Wextra treated as errors.
#
# -Werror is scoped to hedgecore's code on purpose: the C that Cython generates around it is
# not warning-clean (unused variables and functions, signed/unsigned comparisons in its
# utility code), and neither are Python's or numpy's headers. Two checks:
# 1. every header alone, in a translation unit that includes only Python.h (as Cython's
#    output does first) and the header: -Wall -Wextra -Werror, Python and numpy as system
#    headers. This also proves each header includes what it uses.
#    -Wno-unused-function there only: a header's static functions are unused by that tiny
#    unit, not by the module that includes it (check 2 sees those).
# 2. every compiled module as the build compiles it (Cython's C, OpenMP, the module's extra
#    flags from setup.py), with -Wall -Wextra: any diagnostic located in hedgecore/src fails
#    the check; diagnostics located in the generated C are Cython's and are ignored.
#
# Usage: bash .ci/c_warnings.sh [COMPILER ...]     (default: gcc clang; PYTHON=... chooses
# the interpreter whose headers, Cython and numpy are used). Needs Cython and numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
compilers=("$@")
if ((${#compilers[@]} == 0)); then
    compilers=(gcc clang)
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/hedgecore-cwarn.XXXXXX")
trap 'rm -rf "$work"' EXIT

py_include=$("$python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
np_include=$("$python" -c "import numpy; print(numpy.get_include())")
# the per-module flags of setup.py (GNU_EXTRA_COMPILE_ARGS), without running setup()
module_flags() {
    "$python" - "$1" <<'EOF'
import ast, sys
tree = ast.parse(open("setup.py").read())
for node in tree.body:
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "GNU_EXTRA_COMPILE_ARGS":
        print(" ".join(ast.literal_eval(node.value).get(sys.argv[1], [])))
EOF
}
common=(-O2 -Wall -Wextra -Ihedgecore/src -isystem "$py_include" -isystem "$np_include"
        -DNPY_NO_DEPRECATED_API=NPY_1_9_API_VERSION)

echo "c_warnings: generating the modules' C with Cython"
for pyx in hedgecore/*.pyx; do
    # (Cython's performance hints go to the log: the build sets the directives they ask for)
    "$python" -m cython -3 --fast-fail -I . -o "$work/$(basename "$pyx" .pyx).c" "$pyx" \
        >"$work/cython.log" 2>&1 || { cat "$work/cython.log" >&2; exit 1; }
done

failed=()
for cc in "${compilers[@]}"; do
    if ! command -v "$cc" >/dev/null; then
        echo "c_warnings: $cc is not installed" >&2
        failed+=("$cc: missing")
        continue
    fi
    echo "c_warnings: $($cc --version | head -n 1)"
    # with OpenMP when this compiler has it (Debian's clang needs libomp-dev for omp.h),
    # else the serial build, which the macOS wheels are
    openmp=(-fopenmp)
    printf '#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n' >"$work/omp.c"
    if ! "$cc" -fopenmp -c "$work/omp.c" -o "$work/omp.o" 2>/dev/null; then
        echo "c_warnings: $cc has no OpenMP here; checking the serial build"
        openmp=()
    fi
    for header in hedgecore/src/*.h; do
        name=$(basename "$header" .h)
        printf '#include <Python.h>\n#include "%s.h"\n' "$name" >"$work/$name.test.c"
        if ! "$cc" "${common[@]}" "${openmp[@]}" -Werror -Wno-unused-function -fno-math-errno -fno-trapping-math \
                -c "$work/$name.test.c" -o "$work/$name.test.o"; then
            failed+=("$cc: $header")
        fi
    done
    for c_file in "$work"/_*.c; do
        module=$(basename "$c_file" .c)
        read -r -a extra <<<"$(module_flags "$module")"
        log="$work/$module.$cc.log"
        "$cc" "${common[@]}" "${openmp[@]}" "${extra[@]}" -c "$c_file" -o "$work/$module.o" >"$log" 2>&1 \
            || { cat "$log" >&2; failed+=("$cc: $module does not compile"); continue; }
        if grep -E 'hedgecore/src/[^:]+:[0-9]+(:[0-9]+)?: (warning|error)' "$log" >&2; then
            failed+=("$cc: $module (warnings in hedgecore/src above)")
        fi
    done
done

if ((${#failed[@]})); then
    printf 'c_warnings: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "c_warnings: hedgecore/src compiles without warnings on ${compilers[*]}"
