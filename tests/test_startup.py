"""What a grading run does first, so that its start-up stays short: the sandbox's zygote and the
helper compiling the test files start before the command line is parsed, and what the helper
compiled is exactly what the grader would have compiled."""
import zipfile
from pathlib import Path

import pytest

import autograder.__main__ as cli
from autograder.grade import assignments, precompile, sandbox
from test_grade_batch import dist  # noqa: F401  (a fixture: a one-assignment dist)


def _test_files(dist_dir):
    for bundle in sorted(Path(dist_dir).glob("*/autograder/*.zip")):
        with zipfile.ZipFile(bundle) as zf:
            for name in zf.namelist():
                if name.startswith("tests/") and name.endswith(".py") and name.count("/") == 1:
                    yield name, zf.read(name).decode("utf-8")


def test_the_helper_compiles_what_the_grader_would_and_the_grader_uses_it(dist, monkeypatch):
    precompile.start(dist)
    found = precompile.take(dist)
    files = list(_test_files(dist))
    assert files and len(found) == len(files)
    for name, source in files:
        mine = compile(source, name, "exec", flags=precompile.FLAGS, dont_inherit=True)
        theirs = found[precompile.key(name, source)]
        assert mine == theirs and (mine.co_filename, mine.co_flags) == (theirs.co_filename, theirs.co_flags)
    compiled = []
    monkeypatch.setattr(assignments, "compile", lambda *a, **k: compiled.append(a[1]) or compile(*a, **k),
                        raising=False)
    assignments._compiled.cache_clear()
    precompile.start(dist)
    loaded, problems = assignments.load_assignments(dist)
    assert loaded and not problems
    assert not compiled  # every test file came from the helper


def test_a_helper_started_for_another_folder_is_not_used(dist, tmp_path):
    precompile.start(dist)
    assert precompile.take(tmp_path) == {}
    precompile.start(tmp_path / "missing")  # nothing to start
    assert precompile.take(dist) == {}


def test_grade_starts_the_zygote_and_the_helper_before_reading_its_command_line(dist, monkeypatch):
    seen = {}

    def parse_args(argv, prog=None):
        seen["zygote"] = sandbox._zygote._proc is not None and sandbox._zygote._proc.poll() is None
        seen["helper"] = precompile._started.get("dist") == Path(dist).resolve()
        raise SystemExit(2)
    monkeypatch.setattr(cli, "parse_args", parse_args)
    assert cli.main(["grade", "nothing", "--dist", str(dist)]) == 2
    assert seen == {"zygote": True, "helper": True}
    precompile.take(dist)  # reaps the helper


def test_the_student_options_and_a_run_without_a_roster_leave_the_gradebook_modules_unloaded():
    import subprocess
    import sys
    code = ("import sys, autograder.__main__ as m\n"
            "m.build_parser()\n"
            "from autograder.grade import students\n"
            "import argparse, tempfile\n"
            "print(students.after_grading(argparse.Namespace(out=tempfile.mkdtemp(), roster=None, mapping=None, "
            "due=None, late_penalty=None)))\n"
            "print(sorted(m for m in ('autograder.grade.model', 'autograder.grade.policy', 'autograder.grade.roster',"
            " 'autograder.grade.exports') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["0", "[]"], out


def test_the_student_options_agree_with_the_policy_and_the_model():
    from autograder.grade import model, policy, students
    assert students.KEEP == policy.KEEP
    parser, subparsers = cli.build_parser()
    keep = next(a for a in subparsers["grade"]._actions if a.dest == "keep")
    assert tuple(keep.choices) == policy.KEEP
    with pytest.raises(SystemExit):
        parser.parse_args(["grade", "x", "--late-penalty", "lots"])
    args = parser.parse_args(["grade", "x", "--late-penalty", "10%/day", "--grace", "15m"])
    assert args.late_penalty == policy.parse_rate("10%/day") and args.grace == policy.parse_duration("15m")
    assert students.STUDENT_FIELDS == model.SubmissionResult.STUDENT_KEYS


def test_grade_from_the_command_line_exits_with_its_code_and_its_output_written(tmp_path, dist):
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "missing"), "--dist", str(dist),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 1 and "1 path(s) do not exist" in done.stderr  # the log's last lines, flushed
    assert (tmp_path / "out" / "results.json").is_file()
