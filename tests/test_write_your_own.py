"""The README's "Write your own exercise" section is enough to write an exercise.

The exercise in that section's code block is written to a course folder of its own, then goes
through what an instructor does: render the master notebook, build it with Otter Assign, grade the
model answers (full marks) and the untouched student notebook (0) with the batch grader.
"""
import csv
import re
import shutil
import subprocess
import sys


from autograder import REPO_ROOT, discover_exercises

SECTION = "## Write your own exercise"


def readme_exercise():
    """(name, source) of the exercise the README's section shows, as written there."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section shows exactly one complete exercise"
    name = re.search(r'^EXERCISE = "(\w+)"', blocks[0], flags=re.M).group(1)
    return name, blocks[0]


def run(*args, cwd):
    done = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_an_exercise_written_from_the_readme_builds_and_grades(tmp_path):
    name, source = readme_exercise()
    course = tmp_path / "course"
    (course / name).mkdir(parents=True)
    (course / name / "exercise.py").write_text(source)
    assert discover_exercises(course) == (name,), "a folder with an exercise.py is an exercise"

    run("autograder.builder.notebooks", "--course", str(course), name, cwd=tmp_path)
    assert (course / name / f"{name}.ipynb").is_file()
    run("autograder", "build", "--course", str(course), "--out", str(tmp_path / "dist"), name, cwd=tmp_path)

    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copy(tmp_path / "dist" / name / "autograder" / f"{name}.ipynb", submissions / "answers.ipynb")
    shutil.copy(tmp_path / "dist" / name / "student" / f"{name}.ipynb", submissions / "untouched.ipynb")
    run("autograder", "grade", "--dist", str(tmp_path / "dist"), "--out", str(tmp_path / "grades"),
        str(submissions), cwd=tmp_path)
    with open(tmp_path / "grades" / "grades.csv", newline="") as f:
        rows = {row["file"].rsplit("/", 1)[-1]: row for row in csv.DictReader(f)}
    assert rows["answers.ipynb"]["status"] == "graded"
    assert float(rows["answers.ipynb"]["score"]) == float(rows["answers.ipynb"]["max_score"]) > 0
    assert float(rows["untouched.ipynb"]["score"]) == 0
