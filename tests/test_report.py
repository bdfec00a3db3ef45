"""The class report: what it counts, what it writes, and that a browser displays it.

The fixture is a small class built on purpose: every status the grader writes, diagnosed
mistakes (from the ``diagnosis`` field and from the message alone), a mistake repeated in several
tests of one question (counted once), and a file name that tries to inject HTML.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from autograder.report import write_report
from autograder.report.screenshot import find_chromium, screenshot
from autograder.report.summary import summarize

REPO = Path(__file__).resolve().parents[1]
EVIL = '<img src=x onerror="alert(1)">.ipynb'


def test_(name, passed, points, diagnosis=None, hidden=False, message=""):
    return {"name": name, "hidden": hidden, "passed": passed, "points": points, "message": message,
            "diagnosis": diagnosis}


test_.__test__ = False  # a fixture builder, not a test


def question(score, max_score, *tests):
    return {"score": score, "max_score": max_score, "tests": list(tests)}


def submission(file, assignment, status, questions=None, reason="", score=None, max_score=None):
    questions = questions or {}
    if score is None and questions:
        score = sum(q["score"] for q in questions.values())
    if max_score is None and questions:
        max_score = sum(q["max_score"] for q in questions.values())
    return {"file": file, "sha256": "0" * 64, "assignment": assignment, "status": status, "reason": reason,
            "score": score, "max_score": max_score, "questions": questions, "cell_errors": []}


def sigmoid_mlp(q1, q2, q3):
    """q1 forward (2 points), q2 backward (4), q3 sgd_step (1)."""
    ok1 = question(2, 2, test_("forward public", True, 1), test_("forward hidden", True, 1, hidden=True))
    bad1 = question(0, 2, test_("forward public", False, 0), test_("forward hidden", False, 0, hidden=True))
    backward = {
        "ok": question(4, 4, test_("backward public", True, 2), test_("backward hidden", True, 2, hidden=True)),
        "transposed": question(0, 4, test_("backward public", False, 0, "transposed"),
                               test_("backward hidden", False, 0, "transposed", hidden=True)),
        "at-output": question(2, 4, test_("backward public", True, 2),
                              test_("backward hidden", False, 0, hidden=True,
                                    message="backward (hidden case 1 of 3): wrong values.\n"
                                            "Likely mistake (derivative-at-output): You evaluated ...")),
        "unrelated": question(0, 4, test_("backward public", False, 0), test_("backward hidden", False, 0, hidden=True)),
    }[q2]
    step = question(1, 1, test_("sgd public", True, 1)) if q3 else question(
        0, 1, test_("sgd public", False, 0, "sign-flipped"))
    return {"q1": ok1 if q1 else bad1, "q2": backward, "q3": step}


def class_results():
    subs = [
        submission("alice.ipynb", "sigmoid_mlp", "graded", sigmoid_mlp(True, "ok", True)),
        submission("bob.ipynb", "sigmoid_mlp", "graded", sigmoid_mlp(True, "transposed", True)),
        submission("carol.ipynb", "sigmoid_mlp", "graded", sigmoid_mlp(True, "at-output", False)),
        submission("dan.ipynb", "sigmoid_mlp", "graded", sigmoid_mlp(False, "transposed", True)),
        submission("erin.ipynb", "sigmoid_mlp", "graded", sigmoid_mlp(True, "unrelated", True)),
        submission("frank.ipynb", "tanh_softmax_batch", "graded", {
            "q1": question(2, 2, test_("softmax", True, 2)),
            "q2": question(0, 3, test_("backward public", False, 0, "softmax-jacobian-twice"),
                           test_("backward hidden", False, 0, "softmax-jacobian-twice", hidden=True))}),
        submission("grace.ipynb", "tanh_softmax_batch", "graded", {
            "q1": question(2, 2, test_("softmax", True, 2)),
            "q2": question(3, 3, test_("backward public", True, 1), test_("backward hidden", True, 2))}),
        submission("heidi.ipynb", "sigmoid_mlp", "timeout", sigmoid_mlp(True, "ok", False) | {},
                   reason="stopped after 60 s in cell 14 (q3): an infinite loop?"),
        submission("ivan.ipynb", "sigmoid_mlp", "crashed", {"q1": sigmoid_mlp(True, "ok", True)["q1"]},
                   reason="the notebook's process died (os._exit(0) in cell 9); q1 kept its points",
                   max_score=7),
        submission("judy.ipynb", None, "invalid", reason="not a notebook: invalid JSON at line 1"),
        submission("mallory_hw.ipynb", "relu_softmax", "wrong-assignment",
                   reason="this is relu_softmax, graded as sigmoid_mlp (--assignment)"),
        submission(EVIL, None, "error", reason="grader error: <b>boom</b> & more"),
    ]
    return {"generated_at": "2025-01-01T12:00:00Z", "submissions": subs}


@pytest.fixture()
def graded(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(class_results()))
    return tmp_path


def test_counts():
    summary = summarize(class_results())
    assert summary.submissions == 12
    assert summary.graded == 7
    assert summary.status_counts["timeout"] == 1 and summary.status_counts["invalid"] == 1
    # sigmoid_mlp q2 (backward): alice, heidi, ivan? no -- ivan has only q1. alice + heidi pass; 5 + heidi = 6 tried
    assert summary.pass_counts["sigmoid_mlp"]["q2"] == [2, 6]
    assert summary.pass_counts["sigmoid_mlp"]["q1"] == [6, 7]
    assert summary.pass_rate("tanh_softmax_batch", "q2") == 0.5
    # transposed in two tests of one question counts once per submission: bob and dan
    assert summary.mistakes[("sigmoid_mlp", "q2")] == {"transposed": 2, "derivative-at-output": 1}
    assert summary.mistakes[("sigmoid_mlp", "q3")] == {"sign-flipped": 2}  # carol and heidi
    assert summary.mistakes[("tanh_softmax_batch", "q2")] == {"softmax-jacobian-twice": 1}
    assert summary.mistake_codes()[0] in ("transposed", "sign-flipped")
    assert summary.total_mistakes() == 6
    # scores: alice 7/7 = 100 %, ivan (crashed) keeps 2/7
    assert summary.scores["sigmoid_mlp"][0] == 100.0
    assert any(abs(s - 200 / 7) < 1e-9 for s in summary.scores["sigmoid_mlp"])
    assert [row["file"] for row in summary.not_graded] == [
        "ivan.ipynb", EVIL, "judy.ipynb", "heidi.ipynb", "mallory_hw.ipynb"]


def test_report_files_and_page(graded):
    index = write_report(graded)
    assert index == graded / "report" / "index.html"
    html = index.read_text()
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert sorted(sources) == ["mistakes.png", "pass_rates.png", "score_distribution.png"]
    for name in sources:
        picture = mpimg.imread(index.parent / name)
        assert picture.ndim == 3 and picture.shape[0] > 200 and picture.shape[1] > 500
        assert picture[..., :3].std() > 0.05, f"{name} is blank"
    # self-contained, and nothing from a submission becomes markup
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert EVIL not in html and "&lt;img src=x onerror=" in html
    assert "<b>boom</b>" not in html and "&lt;b&gt;boom&lt;/b&gt; &amp; more" in html
    # the table of submissions that did not grade: every one, with status and reason
    table = html.split("Submissions that did not grade")[1]
    for file, status in [("heidi.ipynb", "timeout"), ("ivan.ipynb", "crashed"), ("judy.ipynb", "invalid"),
                         ("mallory_hw.ipynb", "wrong-assignment")]:
        row = re.search(rf"<tr><td><code>{re.escape(file)}</code>.*?</tr>", table, re.S).group(0)
        assert f"<td class=status>{status}</td>" in row
    assert "infinite loop" in table and "os._exit(0)" in table
    assert ">12</div>" in html and ">7</div>" in html  # headline: submissions, graded
    assert "softmax-jacobian-twice" in html and "multiplied by the probabilities twice" in html


def test_report_of_an_empty_class(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"generated_at": "", "submissions": []}))
    html = write_report(tmp_path).read_text()
    assert "Every submission was graded." in html and "No failing test matched a known mistake." in html
    for name in ("score_distribution.png", "pass_rates.png", "mistakes.png"):
        assert (tmp_path / "report" / name).stat().st_size > 1000


def test_missing_results_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="no results.json"):
        write_report(tmp_path)


def test_command_line(graded):
    done = subprocess.run([sys.executable, "-m", "autograder", "report", str(graded)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (graded / "report" / "index.html").exists() and "index.html" in done.stdout


def _share(pixels, rgb, tolerance=0.06):
    return float(np.mean(np.all(np.abs(pixels[..., :3] - np.array(rgb) / 255.0) < tolerance, axis=-1)))


@pytest.mark.skipif(find_chromium() is None,
                    reason="Chromium is not installed (apt-get install -y chromium): cannot check the page renders")
def test_page_renders_in_headless_chromium(graded):
    index = write_report(graded)
    png = screenshot(index, graded / "screenshot.png", width=1280, height=2000)
    pixels = mpimg.imread(png)
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels[..., :3].std() > 0.05  # not a blank page
    # the figures were loaded from file:// and drawn: the bars' blue and the heatmap's orange show
    assert _share(pixels, (0x3b, 0x6e, 0xa5)) > 0.002
    oranges = np.mean((pixels[..., 0] > 0.85) & (pixels[..., 1] > 0.35) & (pixels[..., 1] < 0.75)
                      & (pixels[..., 2] < 0.35))
    assert oranges > 0.0005


# ------------------------------------------------------------------ from real grading output
STUDENT_BACKWARD = '''
import numpy as np

def backward(params, cache, x, y):
    m = x.shape[1]
    dz = (cache["yhat"] - y) / m
    grads = {{}}
    below = {{3: cache["h2"], 2: cache["h1"], 1: x}}
    for k in (3, 2, 1):
        grads["W%d" % k] = {dW}
        grads["b%d" % k] = np.sum(dz, axis=1, keepdims=True)
        if k > 1:
            h = below[k]
            a = cache["a%d" % (k - 1)]
            dh = {dh}
            dz = dh * {derivative}
    return {{name: grads[name] for name in ("W1", "b1", "W2", "b2", "W3", "b3")}}
'''
RIGHT = dict(dW='dz @ below[k].T', dh='params["W%d" % k].T @ dz',
             derivative='1 / (1 + np.exp(-a)) * (1 - 1 / (1 + np.exp(-a)))')
STUDENTS = {
    "transposed": dict(RIGHT, dW='below[k] @ dz.T'),
    "derivative-at-output": dict(RIGHT, derivative='1 / (1 + np.exp(-h)) * (1 - 1 / (1 + np.exp(-h)))'),
    "wrong-activation-derivative": dict(RIGHT, derivative='(1 - h ** 2)'),
    "missing-weight-factor": dict(RIGHT, dh='dz'),
}
STEP_UP = '''
def sgd_step(params, grads, lr):
    return {name: params[name] + lr * grads[name] for name in params}
'''


@pytest.fixture(scope="module")
def graded_examples(tmp_path_factory):
    """Build sigmoid_mlp, grade a correct notebook and one per mistake (the wrong function is
    redefined in a last cell, as a student's later edit would), and write the report."""
    nbformat = pytest.importorskip("nbformat")
    root = tmp_path_factory.mktemp("graded")
    dist, subs, grades = root / "dist", root / "subs", root / "grades"
    done = subprocess.run([sys.executable, "-m", "autograder", "build", "--out", str(dist), "sigmoid_mlp"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    solution = nbformat.read(next((dist / "sigmoid_mlp" / "autograder").glob("*.ipynb")), as_version=4)
    for cell in solution.cells:
        cell.source = "\n".join(line for line in cell.source.split("\n")
                                if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
    subs.mkdir()
    sources = {"correct": None, "step-up": STEP_UP}
    sources.update({code: STUDENT_BACKWARD.format(**parts) for code, parts in STUDENTS.items()})
    for name, source in sources.items():
        notebook = nbformat.from_dict(solution)
        if source:
            notebook.cells.append(nbformat.v4.new_code_cell(source))
        nbformat.write(notebook, subs / f"{name}.ipynb")
    (subs / "empty.ipynb").write_text("")
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), "--dist", str(dist),
                           "--out", str(grades), "--workers", "2"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    done = subprocess.run([sys.executable, "-m", "autograder", "report", str(grades)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return grades


def _by_name(results):
    return {Path(sub["file"]).stem: sub for sub in results["submissions"]}


@pytest.mark.parametrize("name, code", [(code, code) for code in STUDENTS] + [("step-up", "sign-flipped")])
def test_batch_feedback_names_the_mistake(graded_examples, name, code):
    sub = _by_name(json.loads((graded_examples / "results.json").read_text()))[name]
    assert sub["status"] == "graded", sub["reason"]
    failed = [t for q in sub["questions"].values() for t in q["tests"] if not t["passed"]]
    assert failed, "the wrong notebook lost no points"
    assert {t["diagnosis"] for t in failed if t["diagnosis"]} == {code}
    feedback = next((graded_examples / "feedback").glob(f"{name}*"))
    text = feedback.read_text()
    assert set(re.findall(r"Likely mistake \(([\w-]+)\)", text)) == {code}


def test_batch_correct_notebook_has_no_diagnosis(graded_examples):
    sub = _by_name(json.loads((graded_examples / "results.json").read_text()))["correct"]
    assert sub["status"] == "graded" and sub["score"] == sub["max_score"]
    assert "Likely mistake" not in next((graded_examples / "feedback").glob("correct*")).read_text()


def test_report_from_real_grading_output(graded_examples):
    summary = summarize(json.loads((graded_examples / "results.json").read_text()))
    counted = {code for counter in summary.mistakes.values() for code in counter}
    assert counted == set(STUDENTS) | {"sign-flipped"}
    assert [row["status"] for row in summary.not_graded] == ["invalid"]
    html = (graded_examples / "report" / "index.html").read_text()
    assert "empty.ipynb" in html
    for name in ("score_distribution.png", "pass_rates.png", "mistakes.png"):
        assert (graded_examples / "report" / name).stat().st_size > 5000
