"""Done-when tests of the build: real Otter Assign, real `otter run` on the built bundles.

The build runs once per session (the `dist` fixture in conftest.py, shared with the fair-grades
test; every exercise with a master notebook); the `otter run`s (~3-5 s each) run two at a time.
"""
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder import EXERCISES
from autograder.builder import build, master_path

BUILT = [e for e in EXERCISES if master_path(e).exists()]
OTTER = str(Path(sys.executable).parent / "otter")

def _breaks(exercise):
    """(function, key) to break: ``backward``'s first weight gradient, or, where a later question's
    function calls ``backward`` (a training loop), that function instead, so that exactly one
    question loses points. Found from the description's reference and model answers."""
    from autograder.checks import _student_functions, dependencies, reference_form
    from solutions import exercises

    form = reference_form(exercise)
    weight = exercises.reference(exercise).network.weight_names[0]
    callers = [f for f in _student_functions(form) if f != "backward" and "backward" in dependencies(form, f)]
    return ("backward", weight), (callers[0] if callers else None)


def _solution_notebook(results, exercise):
    return results[exercise]["bundle"].parent / f"{exercise}.ipynb"


def _question_of(nb, function):
    """The question whose solution cell defines ``function`` (from the autograder notebook)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(rf"^def {function}\(", cell.source, re.M):
            return cell
    raise AssertionError(f"no cell defines {function}")


def _mutated(results, exercise, folder, kind):
    """A copy of the solution notebook with one function broken."""
    nb = nbformat.read(_solution_notebook(results, exercise), as_version=4)
    (backward, key), caller = _breaks(exercise)
    if kind == "transposed":
        function = backward
        patch = (f"\n\n_{function}_right = {function}\n"
                 f"def {function}(*args):\n"
                 f"    grads = _{function}_right(*args)\n"
                 f"    return dict(grads, {key}=np.asarray(grads[{key!r}]).T)\n")
    else:
        function = caller or backward
        if caller:
            patch = (f"\n\n_{function}_right = {function}\n"
                     f"def {function}(*args):\n"
                     f"    out = _{function}_right(*args)\n"
                     f"    return tuple(out[:-1]) + (list(reversed(list(out[-1]))),)\n")
        else:
            patch = (f"\n\n_{function}_right = {function}\n"
                     f"def {function}(*args):\n"
                     f"    grads = _{function}_right(*args)\n"
                     f"    return dict(grads, {key}=2 * np.asarray(grads[{key!r}]))\n")
    cell = _question_of(nb, function)
    cell.source += patch
    path = folder / f"{exercise}-{kind}" / f"{exercise}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path, function


def _otter_run(bundle, notebook, out):
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    proc = subprocess.run([OTTER, "run", "-a", str(bundle), "-o", str(out), str(notebook)],
                          capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, f"otter run crashed on {notebook}:\n{proc.stdout}\n{proc.stderr}"
    results = json.loads((out / "results.json").read_text())
    scores = {t["name"]: (t["score"], t["max_score"]) for t in results["tests"] if "score" in t}
    outputs = {t["name"]: t.get("output", "") for t in results["tests"]}
    return {"scores": scores, "outputs": outputs, "seconds": seconds}


@pytest.fixture(scope="session")
def runs(dist, tmp_path_factory):
    out, results = dist
    work = tmp_path_factory.mktemp("runs")
    jobs, meta = {}, {}
    for exercise in BUILT:
        bundle = results[exercise]["bundle"]
        jobs[(exercise, "solution")] = (bundle, _solution_notebook(results, exercise))
        jobs[(exercise, "student")] = (bundle, results[exercise]["student"])
        for kind in ("transposed", "one_wrong"):
            if kind == "one_wrong" and _breaks(exercise)[1] is None:
                continue  # the transposed backward is the one wrong question
            path, function = _mutated(results, exercise, work, kind)
            jobs[(exercise, kind)] = (bundle, path)
            meta[(exercise, kind)] = function
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(_otter_run, b, nb, work / "out" / "-".join(key)) for key, (b, nb) in jobs.items()}
        done = {key: f.result() for key, f in futures.items()}
    print("\notter run seconds: " + ", ".join(f"{'/'.join(k)} {v['seconds']:.1f}" for k, v in done.items()))
    return done, meta, results


def _question_of_function(results, exercise, function):
    """Otter question name (q1, ...) whose solution defines ``function``."""
    nb = nbformat.read(master_path(exercise), as_version=4)
    question = None
    for cell in nb.cells:
        m = re.match(r"# BEGIN QUESTION\s*\nname:\s*(\w+)", cell.source)
        if cell.cell_type == "raw" and m:
            question = m.group(1)
        if cell.cell_type == "code" and re.search(rf"^def {function}\(", cell.source, re.M) \
                and "# BEGIN SOLUTION" in cell.source:
            return question
    raise AssertionError(f"{exercise}: no question defines {function}")


@pytest.mark.parametrize("exercise", BUILT)
def test_build_outputs(dist, exercise):
    out, results = dist
    student = out / exercise / "student"
    assert {"backprop_checks.py", "backprop_diagnosis.py", f"{exercise}.ipynb"} <= {p.name for p in student.iterdir()}
    assert not (student / "solutions").exists(), "solutions/ must ship only in the autograder bundle"
    nb = nbformat.read(results[exercise]["student"], as_version=4)
    text = json.dumps(nb)
    assert "# BEGIN SOLUTION" not in text and "hidden: true" not in text
    tests = nb.metadata["otter"]["tests"]
    assert tests, "public tests must be embedded in the student notebook"
    assert all("solutions" not in src for src in tests.values()), "a public test imports solutions"
    import zipfile
    names = zipfile.ZipFile(results[exercise]["bundle"]).namelist()
    assert "files/solutions/__init__.py" in names and "files/backprop_checks.py" in names
    assert not list(out.rglob("*.pdf"))


@pytest.mark.parametrize("exercise", BUILT)
def test_solution_scores_full_marks(runs, exercise):
    done, _, _ = runs
    scores = done[(exercise, "solution")]["scores"]
    assert scores and all(s == m for s, m in scores.values()), scores


@pytest.mark.parametrize("exercise", BUILT)
def test_untouched_student_notebook_scores_zero(runs, exercise):
    done, _, _ = runs
    scores = done[(exercise, "student")]["scores"]
    assert scores and all(s == 0 for s, _ in scores.values()), scores
    assert all(m > 0 for _, m in scores.values()), "every question carries points"


@pytest.mark.parametrize("exercise", BUILT)
def test_one_wrong_question_loses_exactly_its_points(runs, exercise):
    done, meta, results = runs
    kind = "one_wrong" if _breaks(exercise)[1] else "transposed"
    wrong = _question_of_function(results, exercise, meta[(exercise, kind)])
    scores = done[(exercise, kind)]["scores"]
    for question, (score, max_score) in scores.items():
        if question == wrong:  # partial credit: what is still right (a shape) keeps its points
            assert score <= max_score / 2, (question, scores)
        else:
            assert score == max_score, (question, scores)


@pytest.mark.parametrize("exercise", BUILT)
def test_transposed_gradient_is_named(runs, exercise):
    done, meta, results = runs
    question = _question_of_function(results, exercise, meta[(exercise, "transposed")])
    output = done[(exercise, "transposed")]["outputs"][question]
    assert "transposed" in output.lower(), output
    key = _breaks(exercise)[0][1]
    assert f"[{key!r}]" in output, output  # the message leads with the quantity


def test_building_twice_gives_identical_student_notebooks(dist, tmp_path):
    out, results = dist
    again = build(BUILT, tmp_path, progress=False)
    for exercise in BUILT:
        assert again[exercise]["student"].read_bytes() == results[exercise]["student"].read_bytes(), exercise


@pytest.mark.parametrize("exercise", BUILT)
def test_grader_check_offline_in_student_folder(dist, exercise):
    """grader.check answers every question from the embedded public tests (no solutions/, no network).
    Runs in a fresh interpreter in the student folder, with the solution functions defined."""
    out, results = dist
    solution = nbformat.read(_solution_notebook(results, exercise), as_version=4)
    code = "\n\n".join(c.source for c in solution.cells if c.cell_type == "code"
                       and "grader" not in c.source and "BEGIN TEST CONFIG" not in c.source
                       and not c.source.lstrip().startswith(("from otter", "import otter")))
    script = f"""
import json, sys, time
sys.modules['solutions'] = None  # the student's machine has no solutions package
import otter
grader = otter.Notebook({exercise + '.ipynb'!r})
env = {{}}
exec(compile({code!r}, 'solution', 'exec'), env)
times = {{}}
for q in sorted(grader._notebook_metadata_tests if hasattr(grader, '_notebook_metadata_tests') else
               json.load(open({exercise + '.ipynb'!r}))['metadata']['otter']['tests']):
    start = time.perf_counter()
    result = grader.check(q, global_env=env)
    times[q] = (time.perf_counter() - start, result.all_passed if hasattr(result, 'all_passed') else None,
                str(result)[:2000])
print(json.dumps(times))
"""
    student_dir = results[exercise]["student"].parent
    proc = subprocess.run([sys.executable, "-c", script], cwd=student_dir, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\n{exercise} grader.check seconds: " + ", ".join(f"{q} {t:.3f}" for q, (t, _, _) in times.items()))
    for q, (seconds, passed, text) in times.items():
        assert passed is not False and "failed" not in text.lower(), (q, text)


@pytest.mark.skipif("relu_softmax" not in BUILT, reason="needs the relu_softmax description")
def test_build_failure_names_the_exercise_and_question(tmp_path):
    import shutil

    import autograder.builder as build_module
    src = master_path("relu_softmax").parent
    broken = tmp_path / "course" / "relu_softmax"
    shutil.copytree(src, broken, ignore=shutil.ignore_patterns("__pycache__"))
    description = broken / "exercise.py"
    text = description.read_text()
    assert "return (z > 0).astype(float)" in text
    description.write_text(text.replace("return (z > 0).astype(float)", "return (z >= 0) * 2.0"))
    with pytest.raises(build_module.BuildError) as info:
        build_module.build_exercise("relu_softmax", tmp_path / "out", course=tmp_path / "course")
    assert str(info.value).startswith("relu_softmax: question(s) q2")
