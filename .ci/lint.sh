#!/usr/bin/env bash
# hedgecore's static checks, configured in pyproject.toml; runs every one and fails if any
# failed, so one run lists everything to fix.
#   ruff check        Python style and bug patterns (library, CLI, tests, benches, scripts)
#   cython-lint       the compiled core's .pyx and .pxd
#   mypy              strict, on hedgecore and hedgecore.cli (compiled modules via .pyi)
#   mypy.stubtest     the .pyi stubs against the compiled modules built in the tree
#                     (skipped with a note when nothing is built; .ci/wheel_check.sh runs it
#                     on the wheel in any case)
# Needs the lint and plot extras (mypy checks the plot command against matplotlib's types):
#   pip install -e ".[lint,plot]"        PYTHON=... chooses the interpreter
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
python=${PYTHON:-python3}
# cython-lint has no `python -m` entry: take the console script installed beside the interpreter.
scripts=$("$python" -c "import sysconfig; print(sysconfig.get_path('scripts'))")
failed=()

check() {
    local name=$1
    shift
    echo "lint: $name"
    "$@" || failed+=("$name")
}

# mypy and the tests import the CLI as hedgecore.cli, which setuptools maps from cli/ when
# installing; in the tree the same mapping is this (git-ignored) symlink.
if [[ ! -e hedgecore/cli ]]; then
    ln -s ../cli hedgecore/cli
fi

check ruff "$python" -m ruff check .
check cython-lint "$scripts/cython-lint" hedgecore/*.pyx hedgecore/*.pxd
check mypy "$python" -m mypy

modules=()
for pyx in hedgecore/*.pyx; do
    modules+=("hedgecore.$(basename "$pyx" .pyx)")
done
if "$python" -c "import hedgecore._runtime" 2>/dev/null; then
    check stubtest "$python" -m mypy.stubtest --allowlist .ci/stubtest-allowlist.txt "${modules[@]}"
else
    echo "lint: stubtest skipped: the compiled modules are not built in the tree" \
        "(python setup.py build_ext --inplace, or pip install -e .)"
fi

if ((${#failed[@]})); then
    echo "lint: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "lint: all checks passed"
