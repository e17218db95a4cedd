"""What an install of hedgecore must hold, checked on whatever `import hedgecore` finds.

Run from the source tree after an in-place build, these check the tree; run by
.ci/wheel_check.sh or cibuildwheel (HEDGECORE_TEST_INSTALLED=1) they check the installed
wheel, and first that the import really came from an installation.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.metadata
import importlib.resources
import io
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from packaging.version import Version

import hedgecore
from hedgecore._config import COMPILED_MODULES

PACKAGE_DIR = Path(hedgecore.__file__).resolve().parent
SOURCE_TREE = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "setup.py").is_file() else None
TESTING_INSTALLED = os.environ.get("HEDGECORE_TEST_INSTALLED") == "1"


def test_import_comes_from_an_installation_when_testing_one() -> None:
    if not TESTING_INSTALLED:
        pytest.skip("HEDGECORE_TEST_INSTALLED=1 is set by the wheel checks only")
    install_dirs = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    assert PACKAGE_DIR.parent in install_dirs, f"hedgecore imported from {PACKAGE_DIR}, not from {install_dirs}"
    assert SOURCE_TREE is None, f"hedgecore imported from a source tree at {SOURCE_TREE}"


def test_compiled_module_list_matches_setup_py() -> None:
    if SOURCE_TREE is None:
        pytest.skip("setup.py is not shipped in a wheel")
    tree = ast.parse((SOURCE_TREE / "setup.py").read_text())
    built = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == "COMPILED_MODULES" for target in node.targets)
    )
    assert isinstance(built, ast.Dict)
    assert tuple(ast.literal_eval(key) for key in built.keys if key is not None) == COMPILED_MODULES


@pytest.mark.parametrize("name", COMPILED_MODULES)
def test_compiled_module_is_an_extension_with_a_stub_beside_it(name: str) -> None:
    module = importlib.import_module(f"hedgecore.{name}")
    origin = Path(module.__file__ or "")
    assert origin.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), f"{origin} is not compiled"
    assert origin.with_name(f"{name}.pyi").is_file(), f"no {name}.pyi next to {origin}"


def test_package_is_marked_typed() -> None:
    assert importlib.resources.files("hedgecore").joinpath("py.typed").is_file()


def test_version_is_pep440_and_matches_installed_metadata() -> None:
    Version(hedgecore.__version__)  # raises InvalidVersion on a malformed string
    try:
        installed = importlib.metadata.version("hedgecore")
    except importlib.metadata.PackageNotFoundError:
        if TESTING_INSTALLED:
            raise
        pytest.skip("hedgecore is not installed (source tree without pip install -e)")
    assert installed == hedgecore.__version__


def test_cli_reports_the_package_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hedgecore", "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert hedgecore.__version__ in result.stdout


def test_library_import_needs_numpy_only() -> None:
    # The CLI's typer, rich and yaml are dependencies of the command, not of the library.
    code = "import sys, hedgecore; print(sorted({'typer', 'rich', 'yaml', 'click'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_show_config_dict_describes_this_build() -> None:
    from hedgecore._runtime import max_threads, openmp_enabled

    config = hedgecore.show_config(as_dict=True)
    assert config["hedgecore"]["version"] == hedgecore.__version__
    assert Path(config["hedgecore"]["location"]) == PACKAGE_DIR
    assert config["missing_modules"] == {}
    assert sorted(config["compiled_modules"]) == sorted(COMPILED_MODULES)
    assert config["numpy"]["version"] == np.__version__
    assert config["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert config["openmp"]["enabled"] is openmp_enabled()
    if openmp_enabled():
        assert config["openmp"]["default_threads"] == max(1, max_threads())
    else:
        assert config["openmp"]["default_threads"] == 1
    from hedgecore._greeks import vector_isa as greeks_isa
    from hedgecore._sim import vector_isa as simulation_isa

    assert config["vector_maths"] == {"greeks": greeks_isa(), "simulation": simulation_isa()}
    assert config["vector_maths"]["greeks"] in ("avx2", "baseline")
    assert config["vector_maths"]["simulation"] in ("libmvec-avx512", "libmvec-avx2", "avx512", "avx2",
                                                    "baseline")


def test_show_config_names_the_compiler_that_built_the_core() -> None:
    import shlex
    import shutil

    compiler = hedgecore.show_config(as_dict=True)["hedgecore"]["compiler"]
    assert isinstance(compiler, str)
    assert compiler.split()[0] in ("GCC", "clang", "MSVC"), compiler
    assert compiler.split()[1][0].isdigit(), compiler
    # Where the compiler Python's build configuration names is at hand and is GCC (this
    # machine, the wheel checks), it is the one that built the core: ask it its version.
    configured = shlex.split(sysconfig.get_config_var("CC") or "")
    if not configured or shutil.which(configured[0]) is None or not compiler.startswith("GCC"):
        pytest.skip("the configured compiler is not GCC or not installed here")
    reported = subprocess.run([configured[0], "-dumpfullversion"], capture_output=True, text=True, timeout=60)
    if reported.returncode != 0 or "clang" in configured[0]:
        pytest.skip("the configured compiler does not report a GCC version")
    assert compiler == f"GCC {reported.stdout.strip()}"


def test_show_config_prints_a_report(capsys: pytest.CaptureFixture[str]) -> None:
    from hedgecore._runtime import openmp_enabled

    assert hedgecore.show_config() is None
    printed = capsys.readouterr().out
    assert printed.startswith(f"hedgecore {hedgecore.__version__}")
    assert "\ncompiled with: " in printed
    for name in COMPILED_MODULES:
        assert f"  {name} " in printed
    assert "MISSING" not in printed
    assert f"OpenMP: {'yes' if openmp_enabled() else 'no'}" in printed
    assert "vector maths: greeks " in printed


def test_show_config_follows_omp_num_threads() -> None:
    # OMP_NUM_THREADS is read when the OpenMP runtime starts, so ask a fresh interpreter.
    from hedgecore._runtime import openmp_enabled

    code = "import hedgecore; print(hedgecore.show_config(as_dict=True)['openmp']['default_threads'])"
    environment = {**os.environ, "OMP_NUM_THREADS": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True, env=environment
    )
    assert int(result.stdout) == (3 if openmp_enabled() else 1)


def test_show_config_survives_a_missing_compiled_module(monkeypatch: pytest.MonkeyPatch) -> None:
    # A broken install is when show_config is needed most: it must report, not raise.
    import hedgecore._config as config_module

    monkeypatch.setattr(config_module, "COMPILED_MODULES", (*COMPILED_MODULES, "_not_built"))
    config = hedgecore.show_config(as_dict=True)
    assert list(config["missing_modules"]) == ["_not_built"]
    assert "ModuleNotFoundError" in config["missing_modules"]["_not_built"]


def _write_sdist(path: Path, files: dict[str, str]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in {**files, "PKG-INFO": "Metadata-Version: 2.4\nName: hedgecore\nVersion: 9.9\n"}.items():
            data = text.encode()
            member = tarfile.TarInfo(f"hedgecore-9.9/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))


def _write_wheel(path: Path, names: list[str]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "")
        archive.writestr("hedgecore-9.9.dist-info/METADATA", "Metadata-Version: 2.4\nName: hedgecore\nVersion: 9.9\n")
        entry_points = "[console_scripts]\nhedgecore = hedgecore.cli.main:run\n"
        archive.writestr("hedgecore-9.9.dist-info/entry_points.txt", entry_points)


def test_wheel_checker_passes_a_complete_wheel_and_names_each_violation(tmp_path: Path) -> None:
    # .ci/check_wheel.py guards every release; check the guard on archives made here.
    if SOURCE_TREE is None:
        pytest.skip(".ci/check_wheel.py is in the repository only")
    checker = SOURCE_TREE / ".ci" / "check_wheel.py"
    sources = [
        "pyproject.toml",
        "setup.py",
        "README.md",
        "hedgecore/__init__.py",
        "hedgecore/_version.py",
        "hedgecore/py.typed",
        "hedgecore/_greeks.pyx",
        "hedgecore/_greeks.pyi",
        "cli/__init__.py",
        "cli/main.py",
        "tests/test_x.py",
        "configs/book.yaml",
    ]
    sdist = tmp_path / "hedgecore-9.9.tar.gz"
    _write_sdist(sdist, dict.fromkeys(sources, ""))
    shipped = [
        "hedgecore/__init__.py",
        "hedgecore/_version.py",
        "hedgecore/py.typed",
        "hedgecore/_greeks.pyi",
        "hedgecore/_greeks.cpython-312-x86_64-linux-gnu.so",
        "hedgecore/cli/__init__.py",
        "hedgecore/cli/main.py",
        "hedgecore.libs/libgomp-a34b3233.so.1.0.0",
    ]
    good = tmp_path / "good" / "hedgecore-9.9-cp312-cp312-manylinux_2_28_x86_64.whl"
    good.parent.mkdir()
    _write_wheel(good, shipped)
    bad = tmp_path / "bad" / good.name
    bad.parent.mkdir()
    _write_wheel(
        bad,
        [
            *(name for name in shipped if "cpython" not in name and "main" not in name),
            "hedgecore/_greeks.pyx",
            "tests/test_x.py",
        ],
    )

    def run(*wheels: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(checker), "--sdist", str(sdist), *map(str, wheels)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    passed = run(good)
    assert passed.returncode == 0, passed.stderr
    failed = run(bad)
    assert failed.returncode == 1
    for expected in (
        "no compiled module for hedgecore/_greeks.pyx",
        "missing hedgecore/cli/main.py",
        "source file hedgecore/_greeks.pyx",
        "tests/test_x.py is outside hedgecore/",
    ):
        assert expected in failed.stderr, failed.stderr
