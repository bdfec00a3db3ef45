"""The batch grader: finding submissions, reading them, choosing the assignment, the gradebook
files, caching by content, and one row per file whatever it holds.

A tiny assignment made on purpose (``tiny``: q1 ``double(x)``, q2 ``total(xs)``, a support
file the notebook reads) keeps these tests fast and independent of the real build."""
import csv
import io
import json
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.grade import gradebook
from autograder.grade.assignments import load_assignment, load_assignments
from autograder.grade.submissions import Submission, choose_assignment, discover, load


def otter_test_file(name, points, tests):
    """The text of an Otter test file for question ``name``, worth ``points``, holding ``tests``."""
    return (f"from otter.test_files import test_case\n\nOK_FORMAT = False\nname = \"{name}\"\npoints = {points}\n\n\n"
            + tests)


Q1 = otter_test_file("q1", 2, '''@test_case(points=1, hidden=False)
def test_public(double):
    assert double(2) == 4, f"double(2) should be 4, got {double(2)!r}"


@test_case(points=1, hidden=True)
def test_hidden(double):
    import tiny_helper
    for x in range(-3, 4):
        assert double(x) == tiny_helper.twice(x), "double is wrong on some hidden input"
''')

Q2 = otter_test_file("q2", 3, '''@test_case(points=3, hidden=False)
def test_total(total):
    assert total([1, 2, 3]) == 6, "total([1, 2, 3]) should be 6"
''')

HELPER = "def twice(x):\n    return 2 * x\n"


def make_notebook(*cells, assignment="tiny"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if assignment:
        nb.metadata["otter"] = {"assignment_name": assignment}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nbformat.writes(nb)


CORRECT = ("SCALE = int(open('data.txt').read())", "def double(x):\n    return SCALE * x",
           "def total(xs):\n    return sum(xs)")
WRONG_Q2 = CORRECT[:2] + ("def total(xs):\n    return sum(xs) - 1",)


@pytest.fixture
def dist(tmp_path):
    """dist/tiny/{autograder/tiny-autograder.zip, student/{tiny.ipynb, data.txt}}"""
    root = tmp_path / "dist"
    (root / "tiny" / "autograder").mkdir(parents=True)
    (root / "tiny" / "student").mkdir(parents=True)
    with zipfile.ZipFile(root / "tiny" / "autograder" / "tiny-autograder.zip", "w") as zf:
        zf.writestr("tests/q1.py", Q1)
        zf.writestr("tests/q2.py", Q2)
        zf.writestr("files/tiny_helper.py", HELPER)
        zf.writestr("otter_config.json", json.dumps({"assignment_name": "tiny"}))
    (root / "tiny" / "student" / "tiny.ipynb").write_text(make_notebook("def double(x):\n    ..."))
    (root / "tiny" / "student" / "data.txt").write_text("2")
    return root


# ------------------------------------------------------------------ finding and reading

def test_discover_recurses_skips_hidden_folders_and_keeps_missing_paths(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "a" / "x.ipynb").write_text("{}")
    (tmp_path / "a" / "b" / "x.ipynb").write_text("{}")
    (tmp_path / "a" / "b" / "y.zip").write_bytes(b"")
    (tmp_path / "a" / "notes.txt").write_text("not a submission")
    (tmp_path / "a" / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    (tmp_path / "odd.txt").write_text("named explicitly, so graded")
    found = discover([tmp_path / "a", tmp_path / "odd.txt", tmp_path / "nope.ipynb", tmp_path / "a" / "x.ipynb"])
    names = [Path(s.file).name for s in found]
    assert names == ["x.ipynb", "y.zip", "x.ipynb", "odd.txt", "nope.ipynb"]  # a/x.ipynb once only
    assert [s.missing for s in found] == [False, False, False, False, True]
    feedback = [s.feedback_name for s in found]
    assert len(set(feedback)) == len(feedback)
    assert feedback == ["b__x", "b__y", "x", "odd", "nope"]


def _export_zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return path


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"{not json", "invalid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'{"cells": 3}', "no list of cells"),
    (b"[1, 2]", "no list of cells"),
])
def test_unreadable_notebooks_are_invalid_with_a_reason(tmp_path, content, reason):
    f = tmp_path / "sub.ipynb"
    f.write_bytes(content)
    loaded = load(Submission(f, "sub.ipynb", "sub"))
    assert loaded.status == "invalid" and reason in loaded.reason
    assert loaded.notebook_bytes is None


def test_export_zip_yields_its_top_level_notebook_and_metadata(tmp_path):
    nb = make_notebook(*CORRECT, assignment="tiny")
    z = _export_zip(tmp_path / "tiny_2024.zip", {"tiny.ipynb": nb, ".OTTER_LOG": b"\x80log",
                                                  "__zip_filename__": "tiny_2024.zip",
                                                  ".ipynb_checkpoints/tiny-checkpoint.ipynb": "{}"})
    loaded = load(Submission(z, "tiny_2024.zip", "tiny_2024"))
    assert loaded.status is None and loaded.notebook_bytes == nb.encode()
    assert loaded.declared_assignment == "tiny"


@pytest.mark.parametrize("members, reason", [
    ({"readme.txt": "hi"}, "no notebook"),
    ({"a.ipynb": "{}", "b.ipynb": "{}"}, "more than one notebook"),
    ({"a.ipynb": ""}, "empty"),
])
def test_bad_export_zips_are_invalid(tmp_path, members, reason):
    z = _export_zip(tmp_path / "s.zip", members)
    loaded = load(Submission(z, "s.zip", "s"))
    assert loaded.status == "invalid" and reason in loaded.reason


def test_a_zip_that_is_not_a_zip_is_invalid(tmp_path):
    z = tmp_path / "s.zip"
    z.write_bytes(b"PK\x03\x04 truncated")
    loaded = load(Submission(z, "s.zip", "s"))
    assert loaded.status == "invalid" and "zip" in loaded.reason


def test_choose_assignment_order_and_wrong_assignment(tmp_path):
    known = ["tiny", "relu_softmax", "softmax"]
    sub = Submission(tmp_path / "alice.ipynb", "alice.ipynb", "alice")
    assert choose_assignment(sub, "tiny", known) == ("tiny", None, "")
    assert choose_assignment(sub, "tiny", known, forced="relu_softmax")[1] == "wrong-assignment"
    assert choose_assignment(sub, "hw9", known)[1] == "wrong-assignment"
    assert choose_assignment(sub, None, known)[1] == "invalid"
    named = Submission(tmp_path / "alice_relu_softmax.ipynb", "x", "x")
    assert choose_assignment(named, None, known)[0] == "relu_softmax"  # longest name wins
    (tmp_path / "tiny" / "late").mkdir(parents=True)
    in_folder = Submission(tmp_path / "tiny" / "late" / "bob.ipynb", "x", "x", root=tmp_path)
    assert choose_assignment(in_folder, None, known) == ("tiny", None, "")
    assert choose_assignment(in_folder, "relu_softmax", known)[1] == "wrong-assignment"


# ------------------------------------------------------------------ assignments and gradebook files

def test_load_assignment_reads_tests_points_and_support_files(dist):
    a = load_assignment(dist / "tiny")
    assert a.name == "tiny" and a.questions == {"q1": 2.0, "q2": 3.0} and a.max_score == 5.0
    assert a.support_files == {"data.txt": b"2"}  # the student's files, not the bundle's
    tests = a.fresh_tests()
    assert [t.name for t in tests] == ["q1", "q2"]
    assert tests[0] is not a.fresh_tests()[0]  # a fresh set per submission
    import sys
    with a.helpers_installed():  # the bundle's own modules are importable by the tests...
        import tiny_helper
        assert tiny_helper.twice(4) == 8
    assert "tiny_helper" not in sys.modules  # ...and only while grading
    again = load_assignment(dist / "tiny")
    assert again.tests_hash == a.tests_hash
    (dist / "tiny" / "student" / "data.txt").write_text("3")
    assert load_assignment(dist / "tiny").tests_hash != a.tests_hash


def test_helper_modules_come_from_the_bundle_and_are_removed_afterwards(tmp_path):
    import sys
    exercise = tmp_path / "dist" / "ex"
    (exercise / "autograder").mkdir(parents=True)
    with zipfile.ZipFile(exercise / "autograder" / "ex.zip", "w") as zf:
        zf.writestr("tests/q1.py", "from otter.test_files import test_case\nimport backprop_checks\n"
                                   "name = 'q1'\n@test_case(points=1)\ndef t(f):\n"
                                   "    assert backprop_checks.MARK == 'bundle'\n")
        zf.writestr("files/backprop_checks.py", "MARK = 'bundle'\n")
    before = sys.modules.get("backprop_checks")
    a = load_assignment(exercise)
    tests = a.fresh_tests()
    tests[0].run({"f": None})
    assert tests[0].test_case_results[0].passed
    assert sys.modules.get("backprop_checks") is before


def test_missing_or_broken_bundles_are_reported_not_fatal(tmp_path):
    (tmp_path / "dist" / "a" / "autograder").mkdir(parents=True)
    (tmp_path / "dist" / "b" / "autograder").mkdir(parents=True)
    (tmp_path / "dist" / "b" / "autograder" / "b.zip").write_bytes(b"junk")
    found, problems = load_assignments(tmp_path / "dist")
    assert found == {} and len(problems) == 2


def test_write_atomic_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out" / "grades.csv"
    gradebook.write_atomic(target, "old\n")
    gradebook.write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["grades.csv"]


def test_csv_has_a_column_per_question_and_a_message(tmp_path):
    rows = [
        {"file": "a.ipynb", "assignment": "tiny", "status": "graded", "score": 2.0, "max_score": 5.0,
         "questions": {"q1": {"score": 2.0, "max_score": 2.0, "tests": []},
                       "q2": {"score": 0.0, "max_score": 3.0,
                              "tests": [{"name": "q2 - 1", "passed": False, "diagnosis": "transposed"}]}}},
        {"file": "b.ipynb", "assignment": None, "status": "invalid", "reason": "the file is empty",
         "score": 0.0, "max_score": None, "questions": {}},
    ]
    text = gradebook.csv_text(rows, gradebook.question_columns(rows, {"tiny": {"questions": {"q1": 2, "q2": 3}}}))
    got = list(csv.DictReader(io.StringIO(text)))
    assert list(got[0]) == ["file", "assignment", "status", "q1", "q2", "score", "max_score", "message"]
    assert got[0]["q1"] == "2" and got[0]["q2"] == "0" and "q2 (transposed)" in got[0]["message"]
    assert got[1]["status"] == "invalid" and got[1]["message"] == "the file is empty" and got[1]["q1"] == ""


def test_feedback_shows_the_checks_own_message_without_otters_echo():
    message = ("\u274c Test case failed\nError at line 130 in test q2:\n\nCheckFailure: total(x)['W'] on the "
               "worked example: wrong shape.\n  expected shape (4, 3), received (3, 4)")
    row = {"file": "a.ipynb", "assignment": "tiny", "status": "graded", "score": 0.0, "max_score": 3.0,
           "questions": {"q2": {"score": 0.0, "max_score": 3.0,
                                "tests": [{"name": "q2 - 1", "passed": False, "message": message, "points": 1},
                                          {"name": "q2 - 2", "passed": False, "message": "x", "points": 2}]}}}
    text = gradebook.feedback_markdown(row)
    assert "`q2 - 1` (1 point)\n" in text and "`q2 - 2` (2 points)\n" in text
    assert "```text\ntotal(x)['W'] on the worked example: wrong shape.\n  expected shape (4, 3)" in text
    assert "Error at line" not in text and "CheckFailure" not in text


# ------------------------------------------------------------------ whole batches (uses the core)

def _submissions(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "correct.ipynb").write_text(make_notebook(*CORRECT))
    (subs / "wrong_q2.ipynb").write_text(make_notebook(*WRONG_Q2))
    (subs / "raises.ipynb").write_text(make_notebook(CORRECT[0], "raise RuntimeError('oops')", CORRECT[1]))
    (subs / "empty.ipynb").write_text("")
    (subs / "garbage.ipynb").write_text("{oops")
    (subs / "other.ipynb").write_text(make_notebook(*CORRECT, assignment="relu_softmax"))
    _export_zip(subs / "zipped.zip", {"tiny.ipynb": make_notebook(*CORRECT)})
    return subs


def test_batch_gives_every_file_a_row_and_caches_by_content(tmp_path, dist):
    from autograder.grade.batch import grade_batch

    subs = _submissions(tmp_path)
    out = tmp_path / "grades"
    rows = grade_batch([subs], out_dir=out, dist=dist, workers=2, timeout=20, progress=False, log=lambda *a: None)
    by = {Path(r["file"]).name: r for r in rows}
    assert sorted(by) == sorted(p.name for p in subs.iterdir())
    assert by["correct.ipynb"]["status"] == "graded" and by["correct.ipynb"]["score"] == 5
    assert by["zipped.zip"]["score"] == 5
    assert by["wrong_q2.ipynb"]["questions"]["q1"]["score"] == 2
    assert by["wrong_q2.ipynb"]["questions"]["q2"]["score"] == 0 and by["wrong_q2.ipynb"]["score"] == 2
    assert by["raises.ipynb"]["questions"]["q1"]["score"] == 2  # defined after the failing cell
    assert by["raises.ipynb"]["cell_errors"]
    assert by["empty.ipynb"]["status"] == "invalid" and "empty" in by["empty.ipynb"]["reason"]
    assert by["garbage.ipynb"]["status"] == "invalid"
    assert by["other.ipynb"]["status"] == "wrong-assignment" and "relu_softmax" in by["other.ipynb"]["reason"]

    table = list(csv.DictReader((out / "grades.csv").open()))
    assert len(table) == len(rows) and {"q1", "q2", "message"} <= set(table[0])
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] and len(results["submissions"]) == len(rows)
    for r in rows:
        text = (out / r["feedback"]).read_text()
        assert r["status"] in text
    feedback = (out / by["wrong_q2.ipynb"]["feedback"]).read_text()
    assert "q2: 0 / 3" in feedback and "total([1, 2, 3]) should be 6" in feedback

    # rerun: nothing changed, nothing regraded; change one file: only it is regraded
    # (counted from the batch's own summary line, not from timings, which can repeat to the millisecond)
    lines = []
    again = grade_batch([subs], out_dir=out, dist=dist, workers=2, timeout=20, progress=False, log=lines.append)
    assert graded_and_reused(lines) == (0, 4)  # correct, wrong_q2, raises, zipped; the three others are never graded
    assert [r["seconds"] for r in again] == [r["seconds"] for r in rows]
    (subs / "wrong_q2.ipynb").write_text(make_notebook(*CORRECT))
    lines = []
    third = grade_batch([subs], out_dir=out, dist=dist, workers=1, timeout=20, progress=False, log=lines.append)
    assert graded_and_reused(lines) == (1, 3)
    by_third = {Path(r["file"]).name: r for r in third}
    assert by_third["wrong_q2.ipynb"]["score"] == 5
    assert by_third["wrong_q2.ipynb"]["cache_key"] != by["wrong_q2.ipynb"]["cache_key"]
    assert all(by_third[n]["seconds"] == by[n]["seconds"] for n in ("correct.ipynb", "raises.ipynb", "zipped.zip"))


def graded_and_reused(log_lines):
    """(graded, reused) from the batch's closing line "graded N, reused M, in ... s"."""
    found = [re.search(r"graded (\d+), reused (\d+)", str(line)) for line in log_lines]
    (match,) = [m for m in found if m]
    return int(match[1]), int(match[2])


def test_forced_assignment_that_is_not_built_is_an_error_row(tmp_path, dist):
    from autograder.grade.batch import grade_batch

    f = tmp_path / "a.ipynb"
    f.write_text(make_notebook(*CORRECT))
    rows = grade_batch([f], out_dir=tmp_path / "g", dist=dist, assignment="nope", progress=False, log=lambda *a: None)
    assert [r["status"] for r in rows] == ["error"] and "not built" in rows[0]["reason"]
