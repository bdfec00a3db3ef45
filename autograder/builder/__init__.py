"""Build every assignment: ``backprop-lab build [--out DIR] [--course DIR] [EXERCISE ...]``.

For each exercise, the master notebook is rendered from its description,
``<course>/<exercise>/exercise.py`` (the course folder: the repository's ``assignments/``, its copy
installed with the package, or ``--course DIR``; see ``autograder.default_course_dir``), and Otter
Assign reads it in a staging folder that also holds what ships with it:

- ``backprop_checks.py`` (from ``autograder/checks.py``) and ``backprop_diagnosis.py`` (from
  ``autograder/diagnosis.py``), next to the student notebook and in the autograder bundle;
- the exercise's data files (e.g. ``parameters.npz``);
- ``solutions/``, in the autograder bundle only (Otter's ``autograder_files``), for hidden tests,
  with the exercise's folder as ``solutions/course/<exercise>/`` (its description: the reference).

The bundle is then made Gradescope-ready (``autograder.builder.gradescope``): its ``setup.sh``
installs from pip and apt only and its ``run_autograder`` grades by value with this project's
grader; ``otter run`` still reads it as before.

Otter Assign runs every test against the solutions (its own check) before we copy out:

    DIR/<exercise>/student/<exercise>.ipynb      + support files; public tests in its metadata
    DIR/<exercise>/autograder/<exercise>-autograder_<timestamp>.zip   (for Gradescope / otter run)
    DIR/<exercise>/autograder/<exercise>.ipynb   (the solution notebook Otter graded)

Both notebooks then get the student folder's support files inside them and a first cell that
writes them out where they are missing, so that either works alone (``standalone.py``).
"""
import contextlib
import io
import json
import logging
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from autograder import ASSIGNMENTS_DIR, REPO_ROOT, discover_exercises
from autograder.builder.standalone import embed_support_files

SHIPPED = {"backprop_checks.py": REPO_ROOT / "autograder" / "checks.py",
           "backprop_diagnosis.py": REPO_ROOT / "autograder" / "diagnosis.py"}


log = logging.getLogger(__name__)


class BuildError(RuntimeError):
    """Building one exercise failed; the message names the exercise (and question, if known)."""


def master_path(exercise, course=None):
    """The committed master notebook, ``<course>/<exercise>/<exercise>.ipynb``."""
    return Path(course or ASSIGNMENTS_DIR) / exercise / f"{exercise}.ipynb"


def stage(exercise, folder, course=None):
    """Write the master notebook, rendered from the exercise's description, and everything it ships
    with into ``folder``."""
    from autograder.builder.notebooks import render

    source = Path(course or ASSIGNMENTS_DIR) / exercise
    try:
        text = render(exercise, course)
    except Exception as error:  # the instructor's description: say where it broke
        raise BuildError(f"{exercise}: its description {source / 'exercise.py'} does not make a notebook: "
                         f"{type(error).__name__}: {error}") from error
    (folder / f"{exercise}.ipynb").write_text(text)
    for path in source.iterdir():  # data files travel with the notebook; the description does not
        if path.is_file() and path.suffix not in (".py", ".ipynb") and path.name != "documented_numbers.json":
            shutil.copy2(path, folder / path.name)
    for name, path in SHIPPED.items():
        if not path.exists():
            raise BuildError(f"{exercise}: {path.relative_to(REPO_ROOT)} is missing (shipped as {name})")
        shutil.copy2(path, folder / name)
    shutil.copytree(REPO_ROOT / "solutions", folder / "solutions",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "course"))
    # the bundle's copy of the description, for the hidden tests' reference (solutions.exercises)
    shutil.copytree(source, folder / "solutions" / "course" / exercise,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.ipynb"))


def failed_questions(text):
    """Question names Otter's results summary reports as failing (a ``qN results:`` block with ❌)."""
    parts = re.split(r"^\s*(\w+) results:", text, flags=re.M)
    return sorted({name for name, block in zip(parts[1::2], parts[2::2]) if "❌" in block})


def build_exercise(exercise, out, course=None, hidden_visibility=None):
    """Run Otter Assign on one exercise; return {"student": path, "bundle": path, "seconds": float}.
    ``hidden_visibility``: when Gradescope shows hidden tests (default: the assignment's show_hidden)."""
    from otter.assign import main as otter_assign

    from autograder.builder.gradescope import make_bundle

    start = time.perf_counter()
    target = Path(out) / exercise
    with tempfile.TemporaryDirectory(prefix=f"build-{exercise}-") as tmp:
        staging, result = Path(tmp) / "master", Path(tmp) / "result"
        staging.mkdir()
        stage(exercise, staging, course)
        log = io.StringIO()
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                otter_assign(str(staging / f"{exercise}.ipynb"), str(result), no_pdfs=True)
        except Exception as error:
            text = f"{error}\n{log.getvalue()}"
            questions = failed_questions(text)
            where = f" question(s) {', '.join(questions)}" if questions else ""
            raise BuildError(f"{exercise}:{where}: Otter Assign failed: {error}") from error
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(result / "student", target / "student")
        (target / "autograder").mkdir(parents=True)
        bundles = sorted((result / "autograder").glob("*.zip"))
        if len(bundles) != 1:
            raise BuildError(f"{exercise}: expected one autograder zip, found {[b.name for b in bundles]}")
        make_bundle(bundles[0], target / "student", target / "autograder" / bundles[0].name,
                    hidden_visibility=hidden_visibility)
        shutil.copy2(result / "autograder" / f"{exercise}.ipynb", target / "autograder" / f"{exercise}.ipynb")
    for notebook in (target / "student" / f"{exercise}.ipynb", target / "autograder" / f"{exercise}.ipynb"):
        try:  # both work alone: the student folder's files travel inside them
            embed_support_files(notebook, target / "student")
        except ValueError as error:
            raise BuildError(f"{exercise}: {error}") from error
    normalize_student_notebook(target / "student" / f"{exercise}.ipynb")
    return {"student": target / "student" / f"{exercise}.ipynb",
            "bundle": target / "autograder" / bundles[0].name,
            "seconds": time.perf_counter() - start}


def normalize_student_notebook(path):
    """Make the student notebook byte-identical from build to build (stable cell ids, sorted keys, no outputs)."""
    import nbformat
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"  # Otter Assign makes fresh random ids
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def build(exercises=None, out="dist", progress=True, course=None, hidden_visibility=None):
    """Build ``exercises`` (default: every exercise with a master notebook in ``course``) into ``out``."""
    from tqdm import tqdm

    course = Path(course or ASSIGNMENTS_DIR)
    if not course.is_dir():
        raise BuildError(f"nothing to build: no course folder at {course}")
    known = discover_exercises(course)
    exercises = list(exercises or known)
    if not exercises:
        raise BuildError(f"nothing to build: no exercise description <exercise>/exercise.py in {course}")
    unknown = [e for e in exercises if e not in known]
    if unknown:
        raise BuildError(f"unknown exercise(s) {unknown}; choose from {list(known)}")
    results = {}
    bar = tqdm(exercises, desc="building", unit="assignment", disable=not progress, file=sys.stderr)
    for exercise in bar:
        bar.set_postfix_str(exercise)
        results[exercise] = build_exercise(exercise, out, course, hidden_visibility)
    return results


def main(args):
    """The ``build`` command: 0 when every exercise asked for is built, else 1 (the error says why)."""
    try:
        results = build(args.exercises, args.out, progress=log.isEnabledFor(logging.INFO),
                        course=getattr(args, "course", None),
                        hidden_visibility=getattr(args, "hidden_visibility", None))
    except BuildError as error:
        log.error("build failed: %s", error)
        return 1
    for exercise, r in results.items():
        log.info("%s: %s  %s  (%.1f s)", exercise, r["student"], r["bundle"], r["seconds"])
    return 0


def list_exercises(args):
    """The ``exercises`` command: one line per exercise of the course (discovered), with its
    questions, points and the first line of its description; 1 if a description does not load."""
    from solutions import exercises

    course = getattr(args, "course", None)
    names = discover_exercises(course)
    if not names:
        log.error("no exercise in %s: a course folder holds one <exercise>/exercise.py per exercise",
                  course or ASSIGNMENTS_DIR)
        return 1
    failed = 0
    for name in names:
        try:
            description = exercises.load(name, course)
            questions = description.questions()
        except Exception as error:  # the instructor's file: say which and why, go on
            log.error("%s: its description does not load: %s: %s", name, type(error).__name__, error)
            failed += 1
            continue
        points = sum(q.points for q in questions)
        seed = getattr(description, "SEED_FILE", None)
        lines = (description.__doc__ or "").strip().splitlines()  # a docstring may be missing or blank
        summary = re.sub(rf"^{name}( \(seed \d+\))?:\s*", "", lines[0] if lines else "")  # name, seed shown already
        # the listing is the command's output (stdout, also under -q); problems go to the log
        print(f"{name:<20} {f'seed {seed[:3]}' if seed else 'new':<12} {len(questions)} questions, "
              f"{points:3g} points  {summary}", flush=True)
    return 1 if failed else 0
