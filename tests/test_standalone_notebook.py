"""Done-when test of issue 10, part 2: the student notebook works alone.

For every exercise the built student notebook, filled with correct answers, sits alone in an
empty folder and runs top to bottom in a real Jupyter kernel that cannot import the repository
(a ``sitecustomize`` blocks ``solutions`` and ``autograder``, as on a student's machine; a probe
cell proves it): its set-up cell writes the helper files from the notebook's metadata, and every
``grader.check`` passes. Also: in its full folder the cell rewrites only a file that differs; the
Colab path (the notebook is not a file there) with a stand-in for ``google.colab._message``; a
damaged copy is refused; the batch grader still grades such a notebook. Kernels run two at a time.
"""
import json
import os
import re
import shutil
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder import EXERCISES, REPO_ROOT
from autograder.builder import master_path
from autograder.builder.standalone import CELL_TAG, METADATA_KEY, decode, encode

sys.path.insert(0, str(REPO_ROOT / "examples"))
from make_examples import filled_notebook  # noqa: E402

BUILT = [e for e in EXERCISES if master_path(e).exists()]
FULL_FOLDER = "sigmoid_mlp"  # has a data file besides the helper modules
EDITED = "backprop_diagnosis.py"

BLOCK_REPOSITORY = '''
import importlib.abc, sys

class Blocked(importlib.abc.MetaPathFinder):  # a student's machine has neither package
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("solutions", "autograder"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Blocked())
'''
# Colab's kernel has google.colab imported; its front end hands out the notebook's JSON
FAKE_COLAB = '''
import json, os

def blocking_request(request_type, request="", timeout_sec=5, parent=None):
    assert request_type == "get_ipynb"
    with open(os.environ["FAKE_COLAB_NOTEBOOK"], encoding="utf-8") as f:
        return {"ipynb": json.load(f)}
'''
PROBE = """
import json
importable = {}
for name in ("solutions", "autograder"):
    try:
        __import__(name)
        importable[name] = True
    except ModuleNotFoundError:
        importable[name] = False
print("PROBE " + json.dumps(importable))
"""


def _kernel_env(folder: Path, colab_notebook: Path | None = None) -> dict:
    """The environment of a kernel that cannot import the repository (and, for Colab, sees a
    stand-in google.colab)."""
    folder.mkdir(parents=True)
    site = BLOCK_REPOSITORY
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if colab_notebook is not None:
        (folder / "google" / "colab").mkdir(parents=True)
        (folder / "google" / "__init__.py").write_text("")
        (folder / "google" / "colab" / "__init__.py").write_text("")
        (folder / "google" / "colab" / "_message.py").write_text(FAKE_COLAB)
        site += "\nimport google.colab\n"
        env["FAKE_COLAB_NOTEBOOK"] = str(colab_notebook)
    (folder / "sitecustomize.py").write_text(site)
    env["PYTHONPATH"] = str(folder)
    return env


def _execute(nb, folder: Path, env: dict) -> tuple[nbformat.NotebookNode, float]:
    """Run ``nb`` (plus a probe cell first) top to bottom in a python3 kernel whose cwd is ``folder``."""
    from nbclient import NotebookClient

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    start = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(folder)}}).execute(env=env)
    return nb, time.perf_counter() - start


def _text(cell) -> str:
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(str(out.data.get("text/plain", "")))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "".join(parts)


def _outcome(nb) -> dict:
    """What the run showed: the probe, the set-up cell's output, each grader.check's output."""
    probe = json.loads(re.search(r"PROBE (.*)", _text(nb.cells[0])).group(1))
    setup = [c for c in nb.cells if CELL_TAG in c.metadata.get("tags", [])]
    checks = {}
    for cell in nb.cells:
        m = re.fullmatch(r'grader\.check\("(\w+)"\)', cell.source.strip()) if cell.cell_type == "code" else None
        if m:
            checks[m.group(1)] = _text(cell)
    errors = [_text(c) for c in nb.cells if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.outputs)]
    return {"probe": probe, "setup": [_text(c) for c in setup], "checks": checks, "errors": errors}


def _filled(results, exercise):
    student = nbformat.read(results[exercise]["student"], as_version=4)
    solution = nbformat.read(results[exercise]["bundle"].parent / f"{exercise}.ipynb", as_version=4)
    return filled_notebook(student, solution)


def _support(results, exercise) -> dict[str, bytes]:
    folder = results[exercise]["student"].parent
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.suffix != ".ipynb"}  # .OTTER_LOG: another test ran grader.check there


@pytest.fixture(scope="session")
def runs(dist, tmp_path_factory):
    """Every kernel run this file checks, two at a time: {key: (folder, executed notebook, outcome)}."""
    _, results = dist
    work = tmp_path_factory.mktemp("standalone")
    jobs = {}
    for exercise in BUILT:  # alone in an empty folder
        folder = work / "alone" / exercise
        folder.mkdir(parents=True)
        nbformat.write(_filled(results, exercise), folder / f"{exercise}.ipynb")
        jobs[("alone", exercise)] = (folder, _kernel_env(work / "site" / f"alone-{exercise}"))
    if FULL_FOLDER in BUILT:  # in its full folder, one helper edited, every file's mtime set old
        folder = work / "full" / FULL_FOLDER
        shutil.copytree(results[FULL_FOLDER]["student"].parent, folder)
        nbformat.write(_filled(results, FULL_FOLDER), folder / f"{FULL_FOLDER}.ipynb")
        with open(folder / EDITED, "a") as f:
            f.write("\n# a student's edit\n")
        for path in folder.iterdir():
            os.utime(path, ns=(10**18, 10**18))
        jobs[("full", FULL_FOLDER)] = (folder, _kernel_env(work / "site" / "full"))
    if BUILT:  # Colab: an empty working folder, the notebook only in the front end
        exercise = BUILT[-1]
        folder = work / "colab" / exercise
        folder.mkdir(parents=True)
        front_end = work / "colab-front-end.ipynb"
        nbformat.write(_filled(results, exercise), front_end)
        jobs[("colab", exercise)] = (folder, _kernel_env(work / "site" / "colab", front_end))

    def run(key):
        folder, env = jobs[key]
        _, exercise = key
        nb = nbformat.read(folder / f"{exercise}.ipynb", as_version=4) if key[0] != "colab" \
            else nbformat.read(env["FAKE_COLAB_NOTEBOOK"], as_version=4)
        return _execute(nb, folder, env)

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(jobs, pool.map(run, jobs)))
    print("\nkernel seconds: " + ", ".join(f"{'/'.join(k)} {s:.1f}" for k, (_, s) in done.items()))
    return {key: (jobs[key][0], nb, _outcome(nb)) for key, (nb, _) in done.items()}


def _assert_every_check_passes(nb, outcome):
    questions = set(nb.metadata["otter"]["tests"])
    assert set(outcome["checks"]) == questions, outcome["checks"]
    for q, text in outcome["checks"].items():
        assert f"{q} results: All test cases passed!" in text, (q, text)
    assert not outcome["errors"], outcome["errors"]


@pytest.mark.parametrize("exercise", BUILT)
def test_notebook_alone_in_a_folder_passes_every_check(runs, dist, exercise):
    _, results = dist
    folder, nb, outcome = runs[("alone", exercise)]
    assert outcome["probe"] == {"solutions": False, "autograder": False}, "the kernel could import the repository"
    support = _support(results, exercise)
    assert {"backprop_checks.py", "backprop_diagnosis.py"} <= set(support)
    assert outcome["setup"] == ["".join(f"wrote {name}\n" for name in sorted(support))]
    for name, data in support.items():
        assert (folder / name).read_bytes() == data, f"{name} was not written with the course's bytes"
    _assert_every_check_passes(nb, outcome)


@pytest.mark.skipif(FULL_FOLDER not in BUILT, reason=f"needs {FULL_FOLDER}")
def test_in_its_full_folder_only_a_differing_file_is_rewritten(runs, dist):
    _, results = dist
    folder, nb, outcome = runs[("full", FULL_FOLDER)]
    assert outcome["setup"] == [f"wrote {EDITED}\n"]
    for name, data in _support(results, FULL_FOLDER).items():
        assert (folder / name).read_bytes() == data, name  # the course's copy wins
        if name != EDITED:
            assert (folder / name).stat().st_mtime_ns == 10**18, f"{name} was rewritten though unchanged"
    _assert_every_check_passes(nb, outcome)


def test_on_colab_the_notebook_comes_from_the_front_end(runs, dist):
    _, results = dist
    (_, exercise), = [k for k in runs if k[0] == "colab"]
    folder, nb, outcome = runs[("colab", exercise)]
    for name, data in _support(results, exercise).items():
        assert (folder / name).read_bytes() == data, name
    tests = nb.metadata["otter"]["tests"]
    assert sorted(p.stem for p in (folder / "tests").glob("*.py")) == sorted(tests)  # Otter on Colab reads these
    assert (folder / f"{exercise}.ipynb").exists()
    _assert_every_check_passes(nb, outcome)


# ------------------------------------------------------------------ the set-up cell without a kernel

def _setup_source(nb) -> str:
    (cell,) = [c for c in nb.cells if CELL_TAG in c.metadata.get("tags", [])]
    return cell.source


@pytest.mark.skipif(not BUILT, reason="nothing built")
def test_setup_cell_comes_first_and_pins_otter_from_pyproject(dist):
    _, results = dist
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    (pin,) = [d for d in pyproject["project"]["dependencies"] if d.startswith("otter-grader")]
    for exercise in BUILT:
        for path in (results[exercise]["student"], results[exercise]["bundle"].parent / f"{exercise}.ipynb"):
            nb = nbformat.read(path, as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            assert CELL_TAG in code[0].metadata["tags"] and "otter.Notebook(" in code[1].source, path
            assert f'OTTER_GRADER = "{pin}"' in code[0].source
            assert code[0].metadata["editable"] is False


@pytest.mark.skipif(not BUILT, reason="nothing built")
def test_setup_cell_refuses_a_damaged_copy_and_explains_a_missing_notebook(dist, tmp_path, monkeypatch, capsys):
    _, results = dist
    exercise = BUILT[0]
    nb = nbformat.read(results[exercise]["student"], as_version=4)
    source = _setup_source(nb)
    monkeypatch.chdir(tmp_path)

    def run_cell():
        exec(compile(source, "setup cell", "exec"), {"__name__": "__main__"})

    files = nb.metadata[METADATA_KEY]["files"]
    files["backprop_checks.py"] = encode(decode(files["backprop_checks.py"]) + b"\nimport os\n")
    nbformat.write(nb, tmp_path / f"{exercise}.ipynb")
    with pytest.raises(ValueError, match="backprop_checks.py inside this notebook is damaged"):
        run_cell()
    assert not (tmp_path / "backprop_checks.py").exists()

    (tmp_path / f"{exercise}.ipynb").unlink()  # renamed away: missing files cannot be written
    with pytest.raises(FileNotFoundError, match=f"{exercise}.ipynb is not in this folder"):
        run_cell()

    support = _support(results, exercise)
    for name, content in support.items():  # present but different: kept
        (tmp_path / name).write_bytes(content + b"\n" if name == EDITED else content)
    capsys.readouterr()
    run_cell()
    assert f"kept the local {EDITED}" in capsys.readouterr().out
    assert (tmp_path / EDITED).read_bytes() == support[EDITED] + b"\n"


# ------------------------------------------------------------------ the batch grader

@pytest.mark.skipif(FULL_FOLDER not in BUILT, reason=f"needs {FULL_FOLDER}")
@pytest.mark.parametrize("grader_files", ["same", "rebuilt", "missing"])
def test_batch_grader_grades_a_standalone_notebook(dist, grader_files):
    """The child gets the grader's support files: the set-up cell does nothing when they match,
    keeps them when they differ (a course rebuilt after hand-out) and, with one missing, fails
    alone; every question keeps its points."""
    from autograder.grade.assignments import load_assignment, modules_installed
    from autograder.grade.batch import grade_one

    out, results = dist
    assignment = load_assignment(out / FULL_FOLDER)
    if grader_files == "rebuilt":
        assignment.support_files[EDITED] += b"\n# rebuilt\n"
    elif grader_files == "missing":
        del assignment.support_files[EDITED]
    notebook = json.dumps(_filled(results, FULL_FOLDER)).encode()
    with modules_installed([assignment]):
        result = grade_one(assignment, notebook, timeout=120)
    assert result["status"] == "graded" and result["score"] == result["max_score"], result
    if grader_files == "missing":
        assert [e["cell"] for e in result["cell_errors"]] == [0] and "FileNotFoundError" in str(result["cell_errors"])
    else:
        assert not result["cell_errors"], result["cell_errors"]
