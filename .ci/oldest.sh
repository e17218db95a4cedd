#!/usr/bin/env bash
# The suite against the OLDEST versions pyproject.toml claims to support (as scikit-learn
# tests its minimum dependencies): the committed HEAD is installed into a fresh virtual
# environment with .ci/oldest-constraints.txt pinning every direct dependency to its lower
# bound, and the tests run against that install from a directory holding no hedgecore
# source. A lower bound that no longer works (an API the code or the tests use appeared
# later) fails here instead of on a user's machine.
#
# Usage: bash .ci/oldest.sh   (PYTHON=python3.12 to choose the interpreter)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/hedgecore-oldest.XXXXXX")
trap 'rm -rf "$work"' EXIT
say() { echo "oldest: $*"; }

git -C "$repo" archive --format=tar --prefix=src/ HEAD | tar -x -C "$work"
"$python" -m venv "$work/venv"
venv_python="$work/venv/bin/python"
say "installing $(git -C "$repo" rev-parse --short HEAD) with the minimum versions"
"$venv_python" -m pip install --quiet --upgrade pip >"$work/pip.log" 2>&1 || { tail -n 40 "$work/pip.log" >&2; exit 1; }
# -c pins the run-time dependencies only; the isolated build keeps its own (numpy >= 2 to
# compile against, whose extension modules run on numpy 1.25 too).
"$venv_python" -m pip install --quiet -c "$repo/.ci/oldest-constraints.txt" "$work/src[test,plot]" \
    >"$work/install.log" 2>&1 || { tail -n 60 "$work/install.log" >&2; exit 1; }
"$venv_python" -m pip list --format=freeze 2>/dev/null \
    | grep -iE '^(numpy|typer|rich|pyyaml|matplotlib|pytest|hypothesis|quantlib|mpmath|scipy|vollib)==' \
    | tr '\n' ' ' | sed 's/^/oldest: versions: /; s/ $/\n/'

mkdir "$work/run"
cp -R "$work/src/tests" "$work/src/configs" "$work/src/pyproject.toml" "$work/run/"
cd "$work/run"
HEDGECORE_TEST_INSTALLED=1 "$venv_python" -m pytest -q -p no:cacheprovider tests
say "ok"
