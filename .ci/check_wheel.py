"""Check the file lists of hedgecore's sdist and wheels before anyone installs them.

A pipeline that installs a wheel with a module missing, or a Cython source instead of the
compiled module, has an outage; these checks read the archives only (stdlib, no install):

    python .ci/check_wheel.py --sdist dist/hedgecore-X.tar.gz [--tracked FILE]
                              [--require-dll vcomp140] WHEEL [WHEEL ...]

sdist: holds pyproject.toml, setup.py, every .pyx/.pxd/.pyi, py.typed and the tests and
configs; no generated C or binaries; with --tracked (the output of `git ls-files`), every
file the repository tracks under hedgecore/, cli/, tests/ and configs/.
wheel: only hedgecore/ (hedgecore.cli inside it), its .dist-info and the libraries a repair
tool vendors (hedgecore.libs/); a compiled module and a .pyi for every .pyx of the sdist;
py.typed; every .py of the sdist's hedgecore/ and cli/; no .pyx/.pxd/.c sources, tests or
benchmarks; metadata version and console script as the sdist says.
Exits 1 listing every violation found.
"""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

PACKAGE = "hedgecore"
SOURCE_SUFFIXES = (".pyx", ".pxd", ".c", ".cpp", ".h", ".html")
BINARY_SUFFIXES = (".so", ".pyd", ".dylib", ".dll", ".o", ".obj")
CHECKED_SOURCE_DIRS = ("hedgecore", "cli", "tests", "configs")


def sdist_members(sdist: Path) -> list[str]:
    """Paths inside the sdist, without its leading `hedgecore-X.Y.Z/` directory."""
    with tarfile.open(sdist) as archive:
        names = [member.name for member in archive.getmembers() if member.isfile()]
    return [name.split("/", 1)[1] for name in names if "/" in name]


def sdist_version(sdist: Path) -> str:
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                handle = archive.extractfile(member)
                assert handle is not None
                for line in handle.read().decode().splitlines():
                    if line.startswith("Version: "):
                        return line.removeprefix("Version: ").strip()
    raise SystemExit(f"{sdist}: no PKG-INFO with a Version line")


def check_sdist(members: list[str], tracked: list[str]) -> list[str]:
    problems = []
    present = set(members)
    for required in ("pyproject.toml", "setup.py", "README.md", f"{PACKAGE}/py.typed", f"{PACKAGE}/_version.py"):
        if required not in present:
            problems.append(f"sdist: missing {required}")
    for directory in ("tests", "configs"):
        if not any(name.startswith(f"{directory}/") for name in members):
            problems.append(f"sdist: no {directory}/ (the wheel is tested with them)")
    for name in members:
        if name.endswith(BINARY_SUFFIXES) or (name.startswith(f"{PACKAGE}/") and name.endswith((".c", ".cpp"))):
            problems.append(f"sdist: build product {name} (the build runs Cython itself)")
    for stem in compiled_stems(members):
        if f"{stem}.pyi" not in present:
            problems.append(f"sdist: {stem}.pyx has no {stem}.pyi stub")
    for name in tracked:
        if name.split("/", 1)[0] in CHECKED_SOURCE_DIRS and name not in present:
            problems.append(f"sdist: {name} is in the repository but not in the sdist (MANIFEST.in?)")
    return problems


def compiled_stems(members: list[str]) -> list[str]:
    """Module paths (hedgecore/_greeks) of the .pyx files in the sdist."""
    return sorted(name[: -len(".pyx")] for name in members if name.startswith(f"{PACKAGE}/") and name.endswith(".pyx"))


def expected_python_files(members: list[str]) -> set[str]:
    """Where each .py of the sdist's packages lands in a wheel (cli/ becomes hedgecore/cli/)."""
    expected = set()
    for name in members:
        if not name.endswith(".py"):
            continue
        if name.startswith(f"{PACKAGE}/") and not name.startswith(f"{PACKAGE}/cli/"):
            expected.add(name)
        elif name.startswith("cli/"):
            expected.add(f"{PACKAGE}/{name}")
    return expected


def check_wheel(wheel: Path, members: list[str], version: str, require_dlls: list[str]) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        dist_info = f"{PACKAGE}-{version}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode() if f"{dist_info}/METADATA" in names else ""
        entry_points = (
            archive.read(f"{dist_info}/entry_points.txt").decode() if f"{dist_info}/entry_points.txt" in names else ""
        )
    problems = []
    tag = wheel.name
    present = set(names)
    allowed_top = {PACKAGE, f"{PACKAGE}.libs", dist_info}
    for name in names:
        path = PurePosixPath(name)
        if path.parts[0] not in allowed_top:
            problems.append(f"{tag}: {name} is outside {PACKAGE}/ (only hedgecore may be installed)")
        if name.endswith(SOURCE_SUFFIXES):
            problems.append(f"{tag}: source file {name} (wheels hold compiled modules only)")
        if {"tests", "bench", "configs"} & set(path.parts[:-1]) or path.name == "conftest.py":
            problems.append(f"{tag}: test, benchmark or example file {name}")
    for required in (f"{PACKAGE}/py.typed", f"{PACKAGE}/__init__.py", f"{PACKAGE}/_version.py"):
        if required not in present:
            problems.append(f"{tag}: missing {required}")
    for module in sorted(expected_python_files(members) - present):
        problems.append(f"{tag}: missing {module} (in the sdist, not in the wheel: [tool.setuptools] packages?)")
    for stem in compiled_stems(members):
        pattern = re.compile(re.escape(stem) + r"(\.[\w.-]+)?\.(so|pyd)$")
        if not any(pattern.fullmatch(name) for name in names):
            problems.append(f"{tag}: no compiled module for {stem}.pyx")
        if f"{stem}.pyi" not in present:
            problems.append(f"{tag}: missing stub {stem}.pyi")
    if not metadata:
        problems.append(f"{tag}: no {dist_info}/METADATA (is the wheel's version {version}?)")
    elif f"\nVersion: {version}\n" not in metadata:
        problems.append(f"{tag}: METADATA does not say Version: {version}")
    if not re.search(r"^hedgecore\s*=\s*hedgecore\.cli\.main:run\s*$", entry_points, re.MULTILINE):
        problems.append(f"{tag}: no console script hedgecore = hedgecore.cli.main:run")
    for dll in require_dlls:
        if not any(PurePosixPath(name).name.lower().startswith(dll.lower()) for name in names):
            problems.append(f"{tag}: {dll}*.dll is not vendored (users without the VC++ redistributable fail)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, required=True, help="the sdist the wheels were built from")
    parser.add_argument("--tracked", type=Path, help="`git ls-files` of the commit the sdist was built from")
    parser.add_argument("--require-dll", action="append", default=[], help="a DLL every wheel must vendor")
    parser.add_argument("wheels", type=Path, nargs="*")
    args = parser.parse_args()

    members = sdist_members(args.sdist)
    version = sdist_version(args.sdist)
    tracked = args.tracked.read_text().splitlines() if args.tracked else []
    problems = check_sdist(members, tracked)
    for wheel in args.wheels:
        problems += check_wheel(wheel, members, version, args.require_dll)
    for problem in problems:
        print(f"check_wheel: {problem}", file=sys.stderr)
    checked = ", ".join([args.sdist.name] + [wheel.name for wheel in args.wheels])
    if problems:
        print(f"check_wheel: {len(problems)} problem(s) in {checked}", file=sys.stderr)
        return 1
    print(f"check_wheel: ok: {checked} ({len(compiled_stems(members))} compiled modules each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
