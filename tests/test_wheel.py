"""Done-when test of packaging (issue 10): a wheel, installed in a fresh virtualenv, builds an
assignment, grades a correct notebook to full marks and writes the report, from a folder
outside the repository, through the ``backprop-lab`` console script.

The wheel is built from a clean copy of the source (no stale ``build/``), with pip's build
isolation, which fetches setuptools from the package registry: the test is skipped only when
that registry cannot be reached, and says so. The virtualenv holds the wheel alone; its
dependencies are borrowed from the environment running the tests (a ``.pth`` file, like
``--system-site-packages``), after checking that every dependency the wheel declares is
satisfied there. ``BACKPROP_LAB_WHEEL_DEPS=registry`` installs them from the registry instead
(about 2 minutes more): that also catches a dependency the wheel forgot to declare.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.wheel

REPO = Path(__file__).resolve().parents[1]
NOT_SOURCE = {".git", ".venv", "build", "dist", "grades", ".pytest_cache"}  # top-level only
EXERCISE = "sigmoid_mlp"


def _run(cmd, cwd=None, env=None, timeout=600):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _tail(proc, lines=25):
    return "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-lines:])


def _copy_source(target):
    def ignore(folder, names):
        top = Path(folder) == REPO
        return [n for n in names if n == "__pycache__" or n.endswith(".egg-info") or (top and n in NOT_SOURCE)]
    shutil.copytree(REPO, target, ignore=ignore)


def _registry_unreachable(tmp):
    """Why pip cannot reach the registry, or None if it can."""
    probe = _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--dest", tmp,
                  "setuptools>=68"], timeout=300)
    return None if probe.returncode == 0 else _tail(probe, 2).replace("\n", " | ")


def _build_wheel(tmp):
    src, out = tmp / "src", tmp / "wheels"
    _copy_source(src)
    proc = _run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--wheel-dir", out], timeout=600)
    if proc.returncode != 0:
        why = _registry_unreachable(tmp / "probe")
        if why:
            pytest.skip(f"the package registry is unreachable, so pip cannot fetch the build backend: {why}")
        pytest.fail(f"pip wheel failed:\n{_tail(proc)}")
    (wheel,) = out.glob("backprop_lab-*.whl")
    return wheel


def _fresh_venv(tmp, wheel):
    venv = tmp / "venv"
    proc = _run([sys.executable, "-m", "venv", venv])
    assert proc.returncode == 0, _tail(proc)
    python = venv / "bin" / "python"
    registry = os.environ.get("BACKPROP_LAB_WHEEL_DEPS") == "registry"
    proc = _run([python, "-m", "pip", "install", "--quiet", *([] if registry else ["--no-deps"]), wheel],
                timeout=1200)
    assert proc.returncode == 0, f"installing the wheel failed:\n{_tail(proc)}"
    if not registry:  # after the install, so pip never sees the test environment's own copy
        site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
        ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
        Path(site, "_borrowed_dependencies.pth").write_text("\n".join(ours) + "\n")
        unmet = _run([python, "-c", UNMET_REQUIREMENTS])
        assert unmet.returncode == 0 and unmet.stdout.strip() == "", \
            f"dependencies the wheel declares but the test environment lacks:\n{_tail(unmet)}"
    return venv


UNMET_REQUIREMENTS = """
from importlib.metadata import PackageNotFoundError, requires, version
from packaging.requirements import Requirement
for line in requires("backprop-lab") or []:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    try:
        found = version(req.name)
    except PackageNotFoundError:
        print(f"{req}: not installed")
        continue
    if not req.specifier.contains(found, prereleases=True):
        print(f"{req}: found {found}")
"""

# a cell that tries to read what the student's process must not see, installed from a wheel
PRYING_CELL = """
for path in ({reference!r}, {course!r}):
    try:
        print("READABLE" if open(path).read(20) else "EMPTY", path)
    except OSError as exc:
        print("HIDDEN", path, type(exc).__name__)
"""


def test_wheel_builds_grades_and_reports_outside_the_repository(tmp_path, terminal_summary):
    times = {}
    start = time.perf_counter()
    wheel = _build_wheel(tmp_path)
    times["wheel"] = time.perf_counter() - start
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (f"autograder/course/{EXERCISE}/{EXERCISE}.ipynb", f"autograder/course/{EXERCISE}/parameters.npz",
                    f"autograder/course/{EXERCISE}/exercise.py", "autograder/checks.py"):
        assert shipped in names, f"the wheel lacks {shipped}"

    start = time.perf_counter()
    venv = _fresh_venv(tmp_path, wheel)
    times["virtualenv"] = time.perf_counter() - start
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    def cli(*args):
        t = time.perf_counter()
        proc = _run([venv / "bin" / "backprop-lab", *args], cwd=work, env=env)
        times[" ".join(args[:1])] = time.perf_counter() - t
        return proc

    where = _run([venv / "bin" / "python", "-c", "import autograder; print(autograder.__file__, "
                  "autograder.default_course_dir())"], cwd=work, env=env)
    site = Path(where.stdout.split()[0]).parents[1]
    assert Path(where.stdout.split()[1]) == site / "autograder" / "course", where.stdout + where.stderr
    assert REPO not in site.parents and venv in site.parents, f"the test imports the repository: {where.stdout}"

    version = cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"backprop-lab {wheel.name.split('-')[1]}", \
        _tail(version)

    built = cli("build", "--out", "D", EXERCISE)
    assert built.returncode == 0, _tail(built)
    assert (work / "D" / EXERCISE / "student" / f"{EXERCISE}.ipynb").is_file()
    assert list((work / "D" / EXERCISE / "autograder").glob(f"{EXERCISE}-autograder_*.zip"))

    shutil.copy(REPO / "examples" / EXERCISE / "correct.ipynb", work / "correct.ipynb")
    prying = nbformat.read(work / "correct.ipynb", as_version=4)
    cell = nbformat.v4.new_code_cell(PRYING_CELL.format(
        reference=str(site / "autograder" / "course" / EXERCISE / "exercise.py"),  # ref and model answers
        course=str(site / "autograder" / "course" / EXERCISE / f"{EXERCISE}.ipynb")))
    if prying.nbformat_minor < 5:
        del cell["id"]  # cell ids came with nbformat 4.5
    prying.cells.append(cell)
    nbformat.write(prying, work / "prying.ipynb")
    graded = cli("grade", "correct.ipynb", "prying.ipynb", "--dist", "D", "--out", "G")
    assert graded.returncode == 0, _tail(graded)
    rows = {r["file"]: r for r in json.loads((work / "G" / "results.json").read_text())["submissions"]}
    for name in ("correct.ipynb", "prying.ipynb"):
        assert rows[name]["status"] == "graded" and rows[name]["score"] == rows[name]["max_score"] > 0, rows[name]
    assert "sigmoid_mlp,graded" in (work / "G" / "grades.csv").read_text()
    if os.geteuid() == 0:  # root: the sandbox masks the reference and the course (see sandbox.py)
        tail = rows["prying.ipynb"]["stdout_tail"]
        assert "READABLE" not in tail and tail.count("HIDDEN") == 2, tail

    reported = cli("report", "G")
    assert reported.returncode == 0, _tail(reported)
    assert (work / "G" / "report" / "index.html").is_file()
    terminal_summary("wheel install (tests/test_wheel.py), seconds",
                     [", ".join(f"{step} {seconds:.1f}" for step, seconds in times.items())])
