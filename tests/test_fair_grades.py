"""Fair grades (issue 8): on plausible, partly wrong student notebooks, does the grader give the
score a fair instructor would?

The corpus (``tests/corpus/cases.py``: about twenty notebooks per exercise, one planted change
each, with the fair range of every question) is made from the session's build, graded in one batch
by the project's batch grader (``autograder.grade.batch.grade_batch``, what ``python -m autograder
grade`` runs), and judged against the ranges:

(a) the share of notebooks whose every question lands in its fair range: at least 95%;
(b) the points lost below the fair ranges, as a share of all the corpus's points: at most 2%.

Every notebook also runs on a "student machine" (``corpus/student_machine.py``: the student folder
as cwd, ``solutions`` and ``autograder`` not importable), which proves it runs and, for the
classic-mistake notebooks, runs the public checks as ``grader.check("qN")`` does: a question whose
public checks all pass must not lose points at grading. The figures, per exercise, the
out-of-range questions and the prediction violations are printed in the terminal summary.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import corpus
from autograder import EXERCISES
from corpus import calling_questions, measure, solution_filled, write_corpus
from corpus.cases import CASES

STUDENT_MACHINE = Path(corpus.__file__).with_name("student_machine.py")
TARGET_IN_RANGE = 0.95
TARGET_BELOW = 0.02
CORPUS = [c for c in CASES if c.kind != "control"]
CONTROLS = [c for c in CASES if c.kind == "control"]
# the notebooks whose public checks must predict the grade, and the controls (whose checks must pass)
CHECKED = {c.id for c in CASES if c.kind in ("mistake", "control")}


def inputs_unchanged_functions(exercise: str) -> set[str]:
    """The functions whose prompt says to leave the inputs unchanged: those a question tests with
    ``bc.check_inputs_unchanged(<function>, ...)``, as ``solutions.describe.inputs_unchanged_test``
    renders it."""
    from solutions import exercises

    return {m.group(1) for q in exercises.load(exercise).questions() for t in q.tests
            for m in re.finditer(r"\bbc\.check_inputs_unchanged\((\w+),", t.body)}


# {exercise: the functions that must leave their inputs unchanged}, for every exercise that has any
IN_PLACE_APPLIES = {e: fs for e in EXERCISES if (fs := inputs_unchanged_functions(e))}


def run_student_machine(exercise: str, student_folder: Path, cases, paths, work: Path) -> dict:
    """One fresh interpreter per exercise in a copy of the student folder; see student_machine.py."""
    folder = work / "machine" / exercise
    shutil.copytree(student_folder, folder)
    manifest = {"notebook": f"{exercise}.ipynb",
                "submissions": [{"id": c.id, "path": str(paths[c.id]), "check": c.id in CHECKED} for c in cases]}
    (work / f"{exercise}-manifest.json").write_text(json.dumps(manifest))
    results = work / f"{exercise}-machine.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run([sys.executable, "-I", str(STUDENT_MACHINE), str(work / f"{exercise}-manifest.json"),
                           str(results)], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"student machine for {exercise} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(results.read_text())


@pytest.fixture(scope="module")
def fair_grades(dist, tmp_path_factory, terminal_summary):
    from autograder.grade.batch import grade_batch

    out, results = dist
    began = time.perf_counter()
    work = tmp_path_factory.mktemp("fair_grades")
    paths = write_corpus(out, work / "corpus", CASES)
    exercises = sorted({c.exercise for c in CASES})

    def machines():
        start = time.perf_counter()
        found = {e: run_student_machine(e, results[e]["student"].parent, [c for c in CASES if c.exercise == e],
                                        paths, work) for e in exercises}
        return found, time.perf_counter() - start

    # the grader's threads mostly wait on their sandboxed children: run the student machines meanwhile
    with ThreadPoolExecutor(1) as pool:
        machine_run = pool.submit(machines)
        start = time.perf_counter()
        rows = grade_batch([work / "corpus"], out_dir=work / "grades", dist=out, timeout=60,
                           progress=False, log=lambda *a: None)
        grading_seconds = time.perf_counter() - start
        machine, machine_seconds = machine_run.result()

    by_path = {Path(r["file"]).resolve(): r for r in rows}
    row = {c.id: by_path[paths[c.id].resolve()] for c in CASES}
    student = {cid: sub for m in machine.values() for cid, sub in m["submissions"].items()}
    graded = {c.id: measure.question_grades(c, row[c.id]) for c in CORPUS}
    overall = measure.figures(graded)
    per_exercise = measure.grouped(graded, lambda case: case.exercise)
    per_kind = measure.grouped(graded, lambda case: case.kind)
    violations = [v for c in CORPUS if c.id in CHECKED
                  for v in measure.prediction_violations(graded[c.id], student[c.id]["checks"])]

    counts = Counter(c.exercise for c in CORPUS)
    lines = [f"corpus: {len(CORPUS)} notebooks (" + ", ".join(f"{e} {counts[e]}" for e in exercises)
             + f"); graded in {grading_seconds:.1f} s, student machines {machine_seconds:.1f} s (alongside), "
             f"{time.perf_counter() - began:.1f} s in all after the build",
             overall.line("all exercises")]
    lines += [figs.line(f"  {e}") for e, figs in per_exercise.items()]
    lines += ["by kind of notebook: " + "; ".join(
        f"{kind} {f.in_range}/{f.notebooks} in range, {f.points_below:g} points below" for kind, f in per_kind.items())]
    not_graded = [f"  {cid}: status {r['status']} ({r['reason']})" for cid, r in row.items() if r["status"] != "graded"]
    if not_graded:
        lines += [f"not graded: {len(not_graded)}"] + not_graded
    lines += [f"out of the fair range: {len(overall.out_of_range)} question(s)"]
    lines += [f"  {g.line()}" for g in overall.out_of_range]
    lines += [f"public checks that pass but lose the question at grading: {len(violations)}"]
    lines += [f"  {v}" for v in violations]
    terminal_summary("fair grades (issue 8)", lines)
    return {"rows": row, "student": student, "machine": machine, "overall": overall, "graded": graded,
            "violations": violations}


def test_every_exercise_has_a_corpus():
    """The corpus is the safety net of every exercise: one without cases (a new one) is named here,
    and so are cases of an exercise that does not exist."""
    covered = {c.exercise for c in CASES}
    assert not set(EXERCISES) - covered, f"no corpus cases in tests/corpus/cases.py for: {sorted(set(EXERCISES) - covered)}"
    assert not covered - set(EXERCISES), f"corpus cases for unknown exercises: {sorted(covered - set(EXERCISES))}"


def test_in_place_applies_where_a_question_checks_the_inputs():
    """Derived, not listed: the five worked exercises' updates and the new exercises' train and
    adam_step are the functions that must leave their inputs unchanged."""
    assert IN_PLACE_APPLIES.get("sigmoid_mlp") == {"sgd_step"}
    assert IN_PLACE_APPLIES.get("tanh_bce_adam") == {"adam_step", "train"}
    assert "relu_softmax" not in IN_PLACE_APPLIES


def test_corpus_covers_the_brief():
    """Per exercise: about twenty notebooks, the classic mistakes, float32, loops, lists, interface
    slips, in-place updates where the prompt forbids them, and a wrong early function."""
    assert len({c.id for c in CASES}) == len(CASES), "case names repeat"
    for exercise in sorted({c.exercise for c in CASES}):
        mine = [c for c in CORPUS if c.exercise == exercise]
        kinds = {c.kind for c in mine}
        assert 18 <= len(mine) <= 25, (exercise, len(mine))
        assert {"mistake", "float32", "loops", "lists", "interface", "lenient"} <= kinds, (exercise, kinds)
        assert ("in-place" in kinds) == (exercise in IN_PLACE_APPLIES), (exercise, kinds)
        for case in (c for c in mine if c.kind == "in-place"):
            assert case.functions <= IN_PLACE_APPLIES[exercise], \
                f"{case.id}: changes inputs of {sorted(case.functions)}, whose prompt does not forbid it"
        assert sum(c.kind == "mistake" for c in mine) >= 8, exercise
        assert [c for c in CONTROLS if c.exercise == exercise], f"{exercise}: no control notebook"


def test_a_mistake_costs_once_and_early_mistakes_cascade(dist):
    """The ranges keep the policy: a question whose function only CALLS the changed one is never
    charged (it is left at full marks); and every exercise has a wrong early function that later
    questions call."""
    out, _ = dist
    filled = {e: solution_filled(out, e) for e in sorted({c.exercise for c in CASES})}
    cascading = Counter()
    for case in CORPUS:
        callers = set().union(*[calling_questions(filled[case.exercise], f) for f in case.functions])
        assert not callers & set(case.fair), f"{case.id}: charges {sorted(callers & set(case.fair))}, which only call it"
        cascading[case.exercise] += bool(case.kind == "mistake" and callers)
    assert all(cascading[e] for e in filled), cascading


def test_every_notebook_runs_on_a_student_machine_and_is_graded(fair_grades):
    for exercise, machine in fair_grades["machine"].items():
        assert all(machine["blocked"].values()), f"{exercise}: solutions/autograder importable: {machine['blocked']}"
    broken = [f"{cid}: cell {e['cell']}: {e['error']}" for cid, sub in fair_grades["student"].items()
              for e in sub["cell_errors"]]
    assert not broken, "planted notebooks must still run:\n" + "\n".join(broken)
    ungraded = [f"{cid}: {r['status']} ({r['reason']})" for cid, r in fair_grades["rows"].items()
                if r["status"] != "graded"]
    assert not ungraded, "\n".join(ungraded)


def test_controls_pass_public_checks_and_earn_full_marks(fair_grades):
    for case in CONTROLS:
        checks = fair_grades["student"][case.id]["checks"]
        assert checks and all(c["passed"] for c in checks.values()), (case.id, checks)
        row = fair_grades["rows"][case.id]
        assert row["score"] == row["max_score"] > 0, (case.id, row["questions"])


def test_grades_are_what_a_fair_instructor_gives(fair_grades):
    overall = fair_grades["overall"]
    detail = overall.line("all exercises") + "\n" + "\n".join(g.line() for g in overall.out_of_range)
    assert overall.share_in_range >= TARGET_IN_RANGE, detail
    assert overall.share_below <= TARGET_BELOW, detail


def test_public_checks_predict_the_grade(fair_grades):
    """For every classic-mistake notebook: a question whose grader.check passes keeps its points."""
    assert not fair_grades["violations"], "\n".join(fair_grades["violations"])
