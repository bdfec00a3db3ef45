"""What a grading run does first, and what it leaves out, so that its start-up stays short: the
sandbox's zygote starts before the command line is parsed; the student options and a run without
a roster load none of the roster's modules; the command line exits as soon as its work is written."""
import pytest

import autograder.__main__ as cli
from autograder.grade import sandbox
from test_grade_batch import dist  # noqa: F401  (a fixture: a one-assignment dist)


def test_grade_starts_the_zygote_before_reading_its_command_line(dist, monkeypatch):
    seen = {}

    def parse_args(argv, prog=None):
        seen["zygote"] = sandbox._zygote._proc is not None and sandbox._zygote._proc.poll() is None
        raise SystemExit(2)
    monkeypatch.setattr(cli, "parse_args", parse_args)
    assert cli.main(["grade", "nothing", "--dist", str(dist)]) == 2
    assert seen == {"zygote": True}


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
