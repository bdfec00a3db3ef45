"""A gradebook nothing can stop: hostile text, names, links, huge files and protocol junk each
cost the submission that holds them its row, never the batch; cell magics run as IPython runs
them; crashes from outside are not kept; the isolation mode is recorded and required.

Uses the tiny assignment of ``test_grade_batch`` (fast, no build) and the grading core's own
fixtures (``tests/fixtures/grade_core``)."""
import csv
import io
import json
import os
import random
import threading
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from otter.test_files.exception_test import ExceptionTestFile

from autograder.grade import gradebook, runner
from autograder.grade.batch import GradingRefused, grade_batch, grader_fingerprint
from autograder.grade.magics import to_python
from autograder.grade.runner import Limits, grade_notebook
from autograder.grade.submissions import ReadLimits, Submission, discover, load
from test_grade_batch import CORRECT, dist, graded_and_reused, make_notebook  # noqa: F401  (dist is a fixture)

REPO = Path(__file__).resolve().parents[1]

FIXTURES = Path(__file__).parent / "fixtures" / "grade_core"
CORE_TESTS = [ExceptionTestFile.from_file(str(FIXTURES / "q1_sigmoid.py")),
              ExceptionTestFile.from_file(str(FIXTURES / "q2_relu_hidden.py"))]
FAST = Limits(submission_timeout=20, cell_timeout=5, call_timeout=5, memory_mb=1024, output_bytes=200_000)
SIGMOID = "import numpy as np\ndef sigmoid(a):\n    return 1 / (1 + np.exp(-a))"
RELU = "def relu(a):\n    return np.maximum(0.0, a)"


def core_notebook(*cells):
    return make_notebook(*cells, assignment=None).encode()


def batch(paths, out, dist, **kw):
    kw.setdefault("timeout", 20)
    kw.setdefault("log", lambda *a: None)
    return grade_batch(paths, out_dir=out, dist=dist, workers=2, progress=False, **kw)


def read_gradebook(out):
    """(csv rows, results) after checking both files are valid UTF-8, strict JSON and CSV."""
    raw_csv = (out / "grades.csv").read_bytes().decode("utf-8")  # strict: no lone surrogates
    table = list(csv.DictReader(io.StringIO(raw_csv)))

    def no_constants(name):
        raise ValueError(f"{name} in results.json")
    results = json.loads((out / "results.json").read_bytes().decode("utf-8"), parse_constant=no_constants)
    return table, results


# ------------------------------------------------------------------ safe text

def test_safe_text_removes_surrogates_escapes_and_controls_and_bounds_length():
    text = gradebook.safe_text("bad \udcff \x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 nul\x00 \u202eevil\ttab\nline")
    text.encode("utf-8")  # valid UTF-8
    assert "\x1b" not in text and "[31m" not in text and "\x07" not in text and "\x00" not in text
    assert "\u202e" not in text and "red" in text and "\ttab\nline" in text
    assert gradebook.safe_text("a\nb", lines=False) == "a b"
    long = gradebook.safe_text("x" * 100_000, 1000)
    assert len(long) < 1100 and "99,000 more characters" in long
    tail = gradebook.safe_text("head" + "y" * 10_000 + "END", 100, keep="tail")
    assert tail.endswith("END") and "head" not in tail
    assert gradebook.safe_text(b"\xff\xfebytes") .endswith("bytes")

    class Unprintable:
        def __str__(self):
            raise RuntimeError("no")
    assert "cannot be shown" in gradebook.safe_text(Unprintable())


def test_safe_names_are_escaped_so_different_names_stay_different():
    names = ["a\x01.ipynb", "a\x02.ipynb", "a\udcff.ipynb", "a\\xff.ipynb", "a\n.ipynb", "ok é.ipynb"]
    shown = [gradebook.safe_text(n, 400, name=True) for n in names]
    assert len(set(shown)) == len(names)
    assert shown[2] == "a\\xff.ipynb" and shown[3] == "a\\\\xff.ipynb" and shown[5] == "ok é.ipynb"
    for s in shown:
        s.encode("utf-8")
        assert s.isprintable()
    long = [gradebook.safe_text("n" * 600 + tail, 400, name=True) for tail in ("1.ipynb", "2.ipynb")]
    assert long[0] != long[1] and all(len(s) <= 400 for s in long)


def test_safe_row_bounds_every_string_and_number():
    row = gradebook.safe_row({"file": "x\x1b.ipynb", "score": float("nan"), "max_score": 10 ** 400,
                              "questions": {"q1\udcff": {"tests": [{"message": "m" * 10 ** 6}] * 500}},
                              "cell_errors": [{"cell": 0, "error": "\udcff" * 5000}] * 200})
    json.dumps(row, allow_nan=False, ensure_ascii=False).encode("utf-8")
    assert row["file"] == "x\\x1b.ipynb" and row["score"] is None and row["max_score"] is None
    (q,) = row["questions"].values()
    assert len(q["tests"]) == 201 and len(q["tests"][0]["message"]) < 4100
    assert len(row["cell_errors"]) == 51


def test_csv_cells_never_start_a_formula():
    rows = [{"file": "=HYPERLINK(\"http://x\")", "assignment": "+1", "status": "invalid",
             "reason": "-2+3", "questions": {}},
            {"file": "@SUM(A1)", "assignment": None, "status": "invalid", "reason": "\tcmd", "questions": {}},
            {"file": " =1+1", "assignment": None, "status": "invalid", "reason": "\uff1d1", "questions": {}}]
    table = list(csv.reader(io.StringIO(gradebook.csv_text(rows, []))))
    for line in table:
        for cell in line:
            assert not cell.lstrip(" ").startswith(gradebook.FORMULA_START), cell
    assert table[1][0] == "'=HYPERLINK(\"http://x\")"


# ------------------------------------------------------------------ finding files

def test_feedback_names_are_short_safe_and_unique(tmp_path):
    for name in ("a-2.ipynb", "a.ipynb", "a.zip", "A.ipynb", ".hidden.ipynb", "-x.ipynb", "=1.ipynb"):
        (tmp_path / name).write_text("{}")
    nested = tmp_path / ("d" * 120) / ("e" * 120)
    nested.mkdir(parents=True)
    (nested / ("f" * 200 + ".ipynb")).write_text("{}")
    os.makedirs(os.fsencode(tmp_path) + b"/\xff\xfe")
    (Path(os.fsdecode(os.fsencode(tmp_path) + b"/\xff\xfe/\xff.ipynb"))).write_text("{}")
    skipped = Counter()
    found = discover([tmp_path], skipped)
    stems = [s.feedback_name for s in found]
    assert len({s.lower() for s in stems}) == len(stems) == 8
    assert all(len(s) <= 90 and not s.startswith((".", "-")) and s.isascii() for s in stems)
    assert skipped == {"hidden files and folders": 1}


def test_symlinks_are_refused_and_never_hide_the_target(tmp_path, dist):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "bob.ipynb").write_text(make_notebook(*CORRECT))
    (subs / "eve.ipynb").symlink_to(subs / "bob.ipynb")  # a classmate's file
    (subs / "mallory.ipynb").symlink_to(dist / "tiny" / "student" / "tiny.ipynb")  # the master
    (subs / "folder").symlink_to(dist)  # a folder: not followed, counted
    (subs / "notes.txt").write_text("not a submission")
    (subs / ".DS_Store").write_text("")
    skipped = Counter()
    found = discover([subs], skipped)
    assert [Path(s.file).name for s in found] == ["bob.ipynb", "eve.ipynb", "mallory.ipynb"]
    assert skipped == {"symbolic links (not followed)": 1, "files with other suffixes": 1,
                       "hidden files and folders": 1}
    out = tmp_path / "g"
    rows = batch([subs, subs / "eve.ipynb"], out, dist)
    by = {Path(r["file"]).name: r for r in rows}
    assert len(rows) == 3 and by["bob.ipynb"]["score"] == 5
    for name in ("eve.ipynb", "mallory.ipynb"):
        assert by[name]["status"] == "invalid" and "symbolic link" in by[name]["reason"]
        assert by[name]["score"] == 0


def test_a_fifo_named_like_a_notebook_does_not_block(tmp_path):
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    (found,) = discover([tmp_path])
    start = time.perf_counter()
    loaded = load(found)
    assert time.perf_counter() - start < 2
    assert loaded.status == "invalid" and "FIFO" in loaded.reason


# ------------------------------------------------------------------ reading within limits

def test_a_130000_cell_notebook_is_refused_quickly(tmp_path):
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x = 1"}
    nb = {"cells": [cell] * 130_000, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    f = tmp_path / "huge.ipynb"
    f.write_text(json.dumps(nb))
    start = time.perf_counter()
    loaded = load(Submission(f, "huge.ipynb", "huge"))
    assert time.perf_counter() - start < 5
    assert loaded.status == "invalid" and "130,000 cells" in loaded.reason


def test_zip_bombs_and_crowded_zips_are_refused(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("tiny.ipynb", b"\x00" * (30 << 20))  # 30 MB of zeros in about 30 KB
    assert bomb.stat().st_size < 100_000
    loaded = load(Submission(bomb, "bomb.zip", "bomb"))
    assert loaded.status == "invalid" and "too large" in loaded.reason
    crowded = tmp_path / "crowded.zip"
    with zipfile.ZipFile(crowded, "w") as zf:
        for i in range(30):
            zf.writestr(f"f{i}.txt", "x")
    loaded = load(Submission(crowded, "crowded.zip", "crowded"), ReadLimits(zip_members=10))
    assert loaded.status == "invalid" and "30 files" in loaded.reason
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as zf:
        zf.writestr("inner.zip", crowded.read_bytes())
    assert "no notebook" in load(Submission(nested, "nested.zip", "nested")).reason


def test_too_many_lines_or_slow_reading_is_invalid(tmp_path):
    f = tmp_path / "long.ipynb"
    f.write_text(make_notebook("x = 1\n" * 200))
    assert "more than 100 lines" in load(Submission(f, "long.ipynb", "long"), ReadLimits(source_lines=100)).reason
    assert "longer than" in load(Submission(f, "long.ipynb", "long"), ReadLimits(seconds=-1)).reason


def test_submissions_are_read_in_grading_threads_not_the_main_one(tmp_path, dist, monkeypatch):
    from autograder.grade import batch as batch_module
    threads = []

    def spy(sub, limits):
        threads.append(threading.current_thread() is threading.main_thread())
        return load(sub, limits)
    monkeypatch.setattr(batch_module, "load", spy)
    (tmp_path / "a.ipynb").write_text("{oops")
    (tmp_path / "b.ipynb").write_text("")
    batch([tmp_path / "a.ipynb", tmp_path / "b.ipynb"], tmp_path / "g", dist)
    assert threads == [False, False]


# ------------------------------------------------------------------ hostile content, one batch

def test_hostile_text_and_names_cannot_stop_the_gradebook(tmp_path, dist):
    subs = tmp_path / "subs"
    subs.mkdir()
    evil = "raise ValueError('=cmd|\\udcff \\x1b[2J\\x1b[31mred' + 'x' * 100000)"
    nb = json.loads(make_notebook(*CORRECT, evil, "print('\\x1b]0;title\\x07shown \\x1b[31mred')", "print('\\ud800')"))
    nb["metadata"]["surrogate"] = "\udcff"
    nb["metadata"]["otter"]["extra"] = "x" * 2_000_000
    (subs / "=evil\x1b[1m.ipynb").write_text(json.dumps(nb))  # json.dumps escapes the surrogate
    deep = subs / ("d" * 100) / ("e" * 100)  # a 450-byte relative name, a 246-byte file name
    deep.mkdir(parents=True)
    (deep / ("n" * 240 + ".ipynb")).write_text(make_notebook(*CORRECT))
    Path(os.fsdecode(os.fsencode(subs) + b"/caf\xe9.ipynb")).write_text(make_notebook(*CORRECT))
    for name in ("a.ipynb", "a-2.ipynb"):
        (subs / name).write_text(make_notebook(*CORRECT))
    with zipfile.ZipFile(subs / "a.zip", "w") as zf:
        zf.writestr("tiny.ipynb", make_notebook(*CORRECT[:2]))
    out = tmp_path / "g"
    rows = batch([subs], out, dist)
    table, results = read_gradebook(out)
    assert len(table) == len(results["submissions"]) == len(rows) == 6
    assert all(r["status"] == "graded" for r in rows), [(r["file"], r["reason"]) for r in rows]
    feedback = [r["feedback"] for r in rows]
    assert len(set(feedback)) == 6 and all((out / f).is_file() for f in feedback)
    by = {r["file"].rsplit("/", 1)[-1]: r for r in rows}
    assert by["a.zip"]["score"] == 2 and by["a.ipynb"]["score"] == 5  # not each other's feedback
    assert "2 / 5" in (out / by["a.zip"]["feedback"]).read_text()
    evil_row = by["=evil\\x1b[1m.ipynb"]
    err, unprintable = evil_row["cell_errors"]
    assert unprintable["error"].startswith("UnicodeEncodeError")
    assert err["error"].startswith("ValueError: =cmd|") and "\x1b" not in err["error"] and len(err["error"]) < 2200
    assert "shown red" in evil_row["stdout_tail"] and "title" not in evil_row["stdout_tail"]
    assert "\x1b" not in evil_row["stdout_tail"]
    assert "caf\\xe9.ipynb" in by
    for line in csv.reader(io.StringIO((out / "grades.csv").read_text())):
        assert not any(cell.lstrip(" ").startswith(gradebook.FORMULA_START) for cell in line)
    assert "\x1b" not in (out / "results.json").read_text()


def test_a_row_whose_feedback_cannot_be_written_becomes_an_error_row(tmp_path, dist):
    (tmp_path / "subs").mkdir()
    for name in ("good.ipynb", "blocked.ipynb"):
        (tmp_path / "subs" / name).write_text(make_notebook(*CORRECT))
    out = tmp_path / "g"
    (out / "feedback" / "blocked.md").mkdir(parents=True)  # os.replace cannot put a file there
    rows = batch([tmp_path / "subs"], out, dist)
    table, results = read_gradebook(out)
    by = {Path(r["file"]).name: r for r in results["submissions"]}
    assert by["good.ipynb"]["status"] == "graded"
    assert by["blocked.ipynb"]["status"] == "error" and "feedback" in by["blocked.ipynb"]["reason"]
    assert by["blocked.ipynb"]["cache_key"] is None and by["blocked.ipynb"]["score"] == 5
    assert [t["status"] for t in table] == ["error", "graded"] and len(rows) == 2


# ------------------------------------------------------------------ the core: protocol, magics

@pytest.mark.parametrize("junk", [b"[]", b"{{{", b"7"])
def test_junk_on_the_protocol_is_a_crash_not_a_grader_error(junk):
    attack = ("import os, struct\n"
              "def relu(a):\n"
              f"    os.write(3, struct.pack('>I', {len(junk)}) + {junk!r})\n"
              "    return np.maximum(0.0, a)")
    result = grade_notebook(core_notebook(SIGMOID, attack), CORE_TESTS, FAST)
    assert result["status"] == "crashed", result["reason"]
    assert runner.PROTOCOL_BROKEN in result["reason"]
    assert result["questions"]["q1"]["score"] == 2  # the other question keeps its points


def test_cell_magics_run_their_body_and_shell_escapes_are_refused():
    result = grade_notebook(core_notebook(
        "%%time\n" + SIGMOID,
        "%%capture captured\nprint('hidden from stdout')\n" + RELU,
        "%timeit sigmoid(np.zeros(3))\n%time x = sigmoid(0.0)\nprint('x is', x, captured.stdout.strip())",
        "%%timeit\nlocal_only = 1",
        "!pip install torch\nprint('after the shell line')"), CORE_TESTS, FAST)
    assert result["status"] == "graded", result["reason"]
    assert result["score"] == result["max_score"] == 4
    assert "x is 0.5 hidden from stdout" in result["stdout_tail"]
    assert "after the shell line" in result["stdout_tail"]
    (err,) = result["cell_errors"]
    assert err["cell"] == 4 and "shell command refused" in err["error"] and "pip install torch" in err["error"]


def test_magic_rewrites_leave_plain_cells_alone():
    assert to_python("x = 1  # comment\n") == "x = 1  # comment\n"
    assert to_python("%matplotlib inline\n").startswith("get_ipython().run_line_magic('matplotlib'")
    assert "shell command refused: '!ls'" in to_python("files = !ls")
    assert to_python("%%time\nx = (\n").startswith("exec(compile(")  # the SyntaxError surfaces when run


def test_a_hidden_tests_failure_shows_no_number_the_notebook_put_in_its_exception():
    leaky = ("def relu(a):\n    raise ValueError('secret ' + repr(a.tolist()) + f' {a.sum():.6f} x{int(a.max() * 1000)}')")
    result = grade_notebook(core_notebook(SIGMOID.replace("return 1 / (1 + np.exp(-a))",
                                                          "raise ValueError('public ' + repr(a.tolist()))"), leaky),
                            CORE_TESTS, FAST)
    public, hidden = result["questions"]["q1"]["tests"][0], result["questions"]["q2"]["tests"][0]
    assert hidden["hidden"] and not hidden["passed"] and not public["hidden"]
    row = {"file": "s.ipynb", "status": "graded", "score": 0, "max_score": 4, "questions": result["questions"]}
    shown = gradebook.feedback_markdown(row)
    for text in (hidden["message"], json.dumps(result), shown):
        for secret in ("2.25", "7.125", "1.5", "7125", "7.875"):  # the hidden input, its sum, its max * 1000
            assert secret not in text.replace(public["message"], "")
    assert "ValueError: secret [[#, #], [#, #]] # x#" in hidden["message"]
    assert "public [[-2.0, 0.0], [0.5, 3.0]]" in public["message"]  # public tests show what the student wrote


def test_a_hidden_tests_shape_error_stays_readable():
    wrong_shape = "def relu(a):\n    return np.dot(a, a.ravel())"
    result = grade_notebook(core_notebook(SIGMOID, wrong_shape), CORE_TESTS, FAST)
    message = result["questions"]["q2"]["tests"][0]["message"]
    assert "ValueError: shapes (2,2) and (4,) not aligned: 2 (dim 1) != 4 (dim 0)" in message
    assert runner.hidden_safe("shapes (3,4) and (5,1) not aligned: 4 (dim 1) != 5 (dim 0)", {0, 1, 3, 4, 5}) == \
        "shapes (3,4) and (5,1) not aligned: 4 (dim 1) != 5 (dim 0)"
    assert runner.hidden_safe("x" * 500 + "\nsecond line 0.25") == "x" * 117 + "... ..."
    assert runner.hidden_safe("v9999 0x1f 1e-3 .5 -0.75 W1 axis -1", {1}) == "v# # # # # W1 axis #"


def test_plain_cells_skip_ipython_and_come_out_exactly_as_ipython_leaves_them():
    from IPython.core.inputtransformer2 import TransformerManager
    from autograder.grade.magics import plain_python

    def ipython(cell):  # what to_python made of a cell before the fast path
        try:
            return TransformerManager().transform_cell(cell)
        except Exception:
            return cell
    cells = [c for nb in sorted(REPO.glob("examples/*/*.ipynb")) for c in _code_cells(nb)]
    rng = random.Random(9)
    variants = []
    for _ in range(3000):  # real cells indented, with blank lines, CRLF, stray quotes
        lines = rng.choice(cells).split("\n")
        indent = rng.choice(["", " ", "\t", "    ", " \t"])
        lines = [indent + line if rng.random() < 0.9 else line for line in lines]
        lines = [rng.choice(["", "   ", "\t"]) for _ in range(rng.randint(0, 2))] + lines
        lines.insert(rng.randint(0, len(lines)), rng.choice(["", "  ", '"""', "'''"]))
        variants.append(rng.choice(["\n", "\r\n"]).join(lines) + rng.choice(["", "\n", "  "]))
    pieces = ["x = 1", "    ", "\t", "\n", "\r\n", "\r", "\x0c", "\u2028", "\x85", "# note", "'a'", '"""', "...",
              "def f():", "pass", "(", ")", ",", ";", "/", ":", "\\", "In [1]: ", "[nav] ", ">>", "   x", "y=2",
              "%", "%time ", "!", "!=", "?", "= !ls", "= %who", "z = a % b"]
    variants += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(20000)]
    plain = 0
    for cell in cells + variants:
        fast = plain_python(cell)
        if fast is not None:
            plain += 1
            assert fast == ipython(cell), repr(cell)
    assert plain > len(cells) * 0.8  # most real cells take the fast path
    for cell in ("%time x", "x = !ls", "x?", ",f a", "  /f a", ">>> x", "y\n... z", "In [3]: x", "a\u2028;f b",
                 "x = (\n", "# a\x0c\n x", "a = \\\n  %who", "d = {\n...: 1}"):
        assert plain_python(cell) is None
    for cell in ("ok = a != b  # why?\n", "r = '%d' % 3\n", "s = 'In [1]: x'\n", "\n\n    x = 1\n      # c\n"):
        assert plain_python(cell) == ipython(cell)


def _code_cells(path):
    try:
        nb = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return []
    return ["".join(c.get("source", "")) for c in nb.get("cells", []) if c.get("cell_type") == "code"]


def test_a_sigkill_is_not_kept_and_is_regraded_next_run(tmp_path, dist):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "killed.ipynb").write_text(make_notebook(*CORRECT, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    (subs / "fine.ipynb").write_text(make_notebook(*CORRECT))
    out = tmp_path / "g"
    first = {Path(r["file"]).name: r for r in batch([subs], out, dist)}
    assert first["killed.ipynb"]["status"] == "crashed" and "SIGKILL" in first["killed.ipynb"]["reason"]
    assert first["killed.ipynb"]["cache_key"] is None and first["fine.ipynb"]["cache_key"]
    lines = []
    second = {Path(r["file"]).name: r for r in batch([subs], out, dist, log=lines.append)}
    assert graded_and_reused(lines) == (1, 1)  # the killed one graded again
    assert second["fine.ipynb"]["seconds"] == first["fine.ipynb"]["seconds"]  # reused
    assert second["killed.ipynb"]["status"] == "crashed" and second["killed.ipynb"]["cache_key"] is None


def test_the_cache_key_covers_every_grader_module_and_the_versions(tmp_path, monkeypatch):
    from autograder.grade import batch as batch_module
    (tmp_path / "autograder" / "deep").mkdir(parents=True)
    (tmp_path / "solutions").mkdir()
    (tmp_path / "autograder" / "deep" / "m.py").write_text("A = 1\n")
    (tmp_path / "solutions" / "s.py").write_text("B = 1\n")
    monkeypatch.setattr(batch_module, "_package_dir", lambda name: tmp_path / name)
    before = grader_fingerprint()
    (tmp_path / "solutions" / "s.py").write_text("B = 2\n")
    after_solutions = grader_fingerprint()
    (tmp_path / "autograder" / "deep" / "m.py").write_text("A = 2\n")
    after_module = grader_fingerprint()
    monkeypatch.setattr(batch_module.importlib.metadata, "version", lambda name: "99.0")
    after_versions = grader_fingerprint()
    assert len({before, after_solutions, after_module, after_versions}) == 4


# ------------------------------------------------------------------ isolation

def test_isolation_is_recorded_and_shown(tmp_path, dist):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.ipynb").write_text(make_notebook(*CORRECT))
    (tmp_path / "s" / "b.ipynb").write_text("")
    (tmp_path / "s" / "notes.txt").write_text("")
    lines = []
    grade_batch([tmp_path / "s"], out_dir=tmp_path / "g", dist=dist, progress=False, log=lines.append)
    rows = json.loads((tmp_path / "g" / "results.json").read_text())
    by = {Path(r["file"]).name: r for r in rows["submissions"]}
    mode = runner.probe_isolation()
    assert by["a.ipynb"]["isolation"] == mode and by["b.ipynb"]["isolation"] is None
    assert rows["settings"]["isolation"] == mode and rows["skipped"] == {"files with other suffixes": 1}
    text = "\n".join(lines)
    assert f"isolation: 1 ran {mode}" in text and "1 files with other suffixes" in text
    from autograder.report.page import render
    from autograder.report.summary import summarize
    assert "Sandbox: 1 in " in render(summarize(rows), {})


def test_grading_refuses_to_run_unisolated_without_the_flag(tmp_path, dist, monkeypatch):
    from autograder.__main__ import main
    monkeypatch.setattr(runner, "probe_isolation", lambda limits=None: "plain")
    (tmp_path / "a.ipynb").write_text(make_notebook(*CORRECT))
    with pytest.raises(GradingRefused, match="--allow-unisolated"):
        batch([tmp_path / "a.ipynb"], tmp_path / "g", dist)
    assert not (tmp_path / "g").exists()
    assert main(["grade", str(tmp_path / "a.ipynb"), "--dist", str(dist), "--out", str(tmp_path / "g")]) == 2


def test_a_session_that_requires_isolation_runs_no_cell_unisolated(monkeypatch):
    class PlainChild(runner.Child):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.isolation = dict(self.isolation, mode="plain")
    monkeypatch.setattr(runner, "Child", PlainChild)
    refused = grade_notebook(core_notebook(SIGMOID + "\nprint('RAN')"), CORE_TESTS, FAST, require_isolation=True)
    assert refused["status"] == "error" and "grading refused" in refused["reason"]
    assert "RAN" not in refused["stdout_tail"] and refused["score"] == 0
    allowed = grade_notebook(core_notebook(SIGMOID + "\nprint('RAN')"), CORE_TESTS, FAST)
    assert allowed["isolation"]["mode"] == "plain" and allowed["questions"]["q1"]["score"] == 2
