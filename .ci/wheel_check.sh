#!/usr/bin/env bash
# Builds hedgecore as a user's pip would and tests what got installed, not the source tree.
#
# 1. exports the committed HEAD (git archive: nothing untracked or ignored comes along);
# 2. builds the sdist, unpacks it and builds the wheel FROM THE SDIST, so that a file
#    missing from the sdist fails here and not on a user's machine;
# 3. checks both file lists (.ci/check_wheel.py): compiled modules, .pyi stubs, py.typed,
#    every module, no sources/tests/benches, nothing installed beside hedgecore;
# 4. installs the wheel with its test, plot and lint extras into a fresh virtual environment;
# 5. from a directory holding only the sdist's tests/, configs/ and pyproject.toml: asserts
#    `import hedgecore` is the installed copy, runs the CLI on a shipped example, checks the
#    shipped .pyi stubs against the shipped binaries (mypy.stubtest) and runs the tests;
# 6. builds the same sdist without OpenMP (as the macOS wheels are), checks that
#    show_config() says so and runs the tests again.
#
# Usage: bash .ci/wheel_check.sh   (PYTHON=python3.12 to choose the interpreter,
#                                   KEEP=1 to keep the work directory for a post-mortem)
# Needs git, `build` (in the dev extra) and PyPI: the isolated build fetches setuptools,
# Cython and numpy, and the venv fetches the wheel's dependencies.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/hedgecore-wheel.XXXXXX")
if [[ "${KEEP:-0}" == 1 ]]; then
    echo "wheel_check: work directory kept: $work"
else
    trap 'rm -rf "$work"' EXIT
fi

say() { echo "wheel_check: $*"; }
fail() { echo "wheel_check: FAILED: $*" >&2; exit 1; }
# Runs a noisy step with its output in a log, shown only when the step fails.
logged() {
    local log="$work/$1.log"
    shift
    "$@" >"$log" 2>&1 || { tail -n 80 "$log" >&2; fail "$* (log above)"; }
}

"$python" -m build --version >/dev/null 2>&1 || fail "$python -m build is missing: pip install build"
if [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]]; then
    say "note: uncommitted changes are not tested; this builds the committed HEAD"
fi
git -C "$repo" archive --format=tar --prefix=src/ HEAD | tar -x -C "$work"
git -C "$repo" ls-tree -r --name-only HEAD >"$work/tracked.txt"
say "building the sdist from $(git -C "$repo" rev-parse --short HEAD)"
logged sdist "$python" -m build --sdist --outdir "$work/dist" "$work/src"
sdists=("$work"/dist/hedgecore-*.tar.gz)
sdist=${sdists[0]}
tar -xzf "$sdist" -C "$work"
unpacked="$work/$(basename "$sdist" .tar.gz)"

say "building the wheel from $(basename "$sdist")"
logged wheel "$python" -m build --wheel --outdir "$work/dist" "$unpacked"
wheels=("$work"/dist/hedgecore-*.whl)
wheel=${wheels[0]}
"$python" "$repo/.ci/check_wheel.py" --sdist "$sdist" --tracked "$work/tracked.txt" "$wheel"

say "installing $(basename "$wheel") into a fresh virtual environment"
"$python" -m venv "$work/venv"
venv_python="$work/venv/bin/python"
# test: the suite's references; plot: so the plot command is tested too; lint: stubtest.
logged install "$venv_python" -m pip install "${wheel}[test,plot,lint]"

# Everything below runs where no hedgecore source is: the tests, the example configs and
# the pytest settings, copied from the sdist (so they too must be in it).
mkdir "$work/run"
cp -R "$unpacked/tests" "$unpacked/configs" "$unpacked/pyproject.toml" "$work/run/"
cd "$work/run"

"$venv_python" - "$work/venv" <<'PY'
import sys
from pathlib import Path

import hedgecore

venv = Path(sys.argv[1]).resolve()
location = Path(hedgecore.__file__).resolve().parent
if venv not in location.parents or location.parent.name != "site-packages":
    sys.exit(f"wheel_check: FAILED: hedgecore imported from {location}, not from {venv}/.../site-packages")
config = hedgecore.show_config(as_dict=True)
if config["missing_modules"]:
    sys.exit(f"wheel_check: FAILED: compiled modules do not import: {config['missing_modules']}")
hedgecore.show_config()
PY

# One version everywhere: the wheel's metadata, hedgecore.__version__ and both ways of
# starting the CLI.
version=$("$venv_python" -c "import importlib.metadata as m, hedgecore; assert m.version('hedgecore') == hedgecore.__version__; print(hedgecore.__version__)") \
    || fail "the wheel's metadata and hedgecore.__version__ disagree"
cli="$work/venv/bin/hedgecore"
script_version=$("$cli" --version) || fail "hedgecore --version"
module_version=$("$venv_python" -m hedgecore --version) || fail "python -m hedgecore --version"
for printed in "$script_version" "$module_version"; do
    [[ "$printed" == *"$version"* ]] || fail "--version printed '$printed', expected $version"
done
say "hedgecore --version: $script_version"

# The CLI on the shipped BTC example; the JSON must parse. `check` exits 1 when a hedge is
# due, which is an answer, not a failure.
"$cli" exposures configs/btc_book.yaml --market configs/btc_market.yaml --format json >exposures.json \
    || fail "hedgecore exposures on configs/btc_book.yaml"
"$venv_python" -c "import json, sys; json.load(open(sys.argv[1]))" exposures.json \
    || fail "hedgecore exposures --format json did not print JSON"
set +e
"$cli" check configs/btc_book.yaml --market configs/btc_market.yaml --policy configs/btc_policy.yaml
check_status=$?
set -e
[[ $check_status == 0 || $check_status == 1 ]] || fail "hedgecore check exited $check_status"
say "CLI ran on configs/btc_*.yaml (check exit $check_status)"

modules=()
for pyx in "$unpacked"/hedgecore/*.pyx; do
    modules+=("hedgecore.$(basename "$pyx" .pyx)")
done
say "stubtest: ${modules[*]}"
"$venv_python" -m mypy.stubtest --allowlist "$repo/.ci/stubtest-allowlist.txt" "${modules[@]}"

say "running the tests against the installed wheel"
HEDGECORE_TEST_INSTALLED=1 "$venv_python" -m pytest -q -p no:cacheprovider tests
say "ok: $(basename "$wheel")"

# The macOS wheels are built without OpenMP. Build that configuration here too, from a fresh
# copy of the sdist (the first build's objects were compiled with OpenMP), and check that
# it says so and passes the same tests.
mkdir "$work/serial"
tar -xzf "$sdist" -C "$work/serial"
say "building a serial wheel (HEDGECORE_OPENMP=0) from $(basename "$sdist")"
HEDGECORE_OPENMP=0 logged serial-wheel "$python" -m build --wheel --outdir "$work/serial/dist" \
    "$work/serial/$(basename "$unpacked")"
serial_wheels=("$work"/serial/dist/hedgecore-*.whl)
logged serial-install "$venv_python" -m pip install --force-reinstall --no-deps "${serial_wheels[0]}"
"$venv_python" - <<'PY'
import sys

import hedgecore

openmp = hedgecore.show_config(as_dict=True)["openmp"]
if openmp["enabled"] is not False or openmp["default_threads"] != 1:
    sys.exit(f"wheel_check: FAILED: a HEDGECORE_OPENMP=0 build reports {openmp}")
hedgecore.show_config()
PY
HEDGECORE_TEST_INSTALLED=1 "$venv_python" -m pytest -q -p no:cacheprovider tests
say "ok: serial build"
