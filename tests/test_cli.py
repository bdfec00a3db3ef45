"""The command line (issue 10, operations): help on every argument, the config file and its
overrides, -v/-q, and the exit codes.

Grading runs on the tiny assignment of test_grade_batch (two questions, no Otter Assign), so
these tests take seconds."""
import argparse
import dataclasses
import json

import pytest

from autograder.__main__ import EXIT_FAILED, EXIT_OK, EXIT_USAGE, build_parser, limit_help, main, parse_args
from autograder.config import ConfigError
from autograder.grade import run_problems
from autograder.grade.sandbox import Limits
from test_grade_batch import CORRECT, dist, make_notebook  # noqa: F401  (dist: the tiny assignment)


# ------------------------------------------------------------------ help text

def _parsers():
    parser, subparsers = build_parser("backprop-lab")
    return [("backprop-lab", parser)] + [(f"backprop-lab {n}", p) for n, p in subparsers.items()]


@pytest.mark.parametrize("name, parser", _parsers(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_argument_has_help(name, parser):
    missing = [action.dest for action in parser._actions
               if not action.help or action.help == argparse.SUPPRESS]
    assert not missing, f"{name}: arguments without help text: {missing}"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            bare = [c.dest for c in action._choices_actions if not c.help]
            assert not bare, f"{name}: subcommands without help: {bare}"
            assert set(action.choices) == {"exercises", "build", "grade", "report", "demo"}


def test_every_sandbox_limit_is_an_option_with_its_own_help():
    _, subparsers = build_parser("backprop-lab")
    helps = limit_help()
    for field in dataclasses.fields(Limits):
        assert not helps[field.name].startswith("sandbox limit "), f"no comment beside Limits.{field.name}"
        for command in ("grade", "demo"):
            dests = {a.dest for a in subparsers[command]._actions}
            assert field.name in dests, f"{command} has no option for Limits.{field.name}"
    args = parse_args(["grade", "x.ipynb", "--memory-mb", "512", "--timeout", "5", "--cell-timeout", "2.5"])
    from autograder.__main__ import limits_from
    assert limits_from(args) == Limits(memory_mb=512, submission_timeout=5.0, cell_timeout=2.5)


def test_version_comes_from_the_package_metadata(capsys):
    from importlib.metadata import version
    assert main(["--version"], prog="backprop-lab") == EXIT_OK
    assert capsys.readouterr().out.strip() == f"backprop-lab {version('backprop-lab')}"


# ------------------------------------------------------------------ config file

def test_config_file_sets_defaults_and_the_command_line_wins(tmp_path, monkeypatch):
    config = tmp_path / "course" / "backprop-lab.toml"
    config.parent.mkdir()
    config.write_text('[grade]\nworkers = 3\nout = "marks"\n\n[limits]\nmemory-mb = 1024\ntimeout = 90\n\n'
                      '[build]\ncourse = "my-course"\n')
    monkeypatch.chdir(tmp_path)

    args = parse_args(["--config", str(config), "grade", "a.ipynb"])
    assert (args.workers, args.memory_mb, args.submission_timeout) == (3, 1024, 90.0)
    assert args.out == config.parent / "marks"  # relative to the file's folder
    assert args.cell_timeout == Limits().cell_timeout  # not in the file: the built-in default

    args = parse_args(["grade", "a.ipynb", "--config", str(config), "--workers", "1", "--timeout", "7"])
    assert (args.workers, args.submission_timeout, args.memory_mb) == (1, 7.0, 1024)

    assert parse_args(["--config", str(config), "build"]).course == config.parent / "my-course"
    assert parse_args(["--config", str(config), "demo"]).memory_mb == 1024  # [limits] reaches demo too


def test_backprop_lab_toml_in_the_current_folder_is_read_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_args(["grade", "a.ipynb"]).workers is None
    (tmp_path / "backprop-lab.toml").write_text("[grade]\nworkers = 2\n")
    args = parse_args(["grade", "a.ipynb"])
    assert args.workers == 2 and args.config == tmp_path / "backprop-lab.toml"


@pytest.mark.parametrize("text, says", [
    ("[grading]\nworkers = 2\n", "unknown section [grading]"),
    ("[grade]\nworker = 2\n", "[grade] has no key 'worker'"),
    ("[grade]\nworkers = 'two'\n", "expected a whole number"),
    ("[limits]\nmemory_mb = 1.5\n", "expected a whole number"),
    ("[grade]\nout = 3\n", "expected a string"),
    ("workers = 2\n", "must be a section"),
    ("[grade\n", "not valid TOML"),
    ("[limits]\nworkers = 2\n", "[limits] has no key 'workers'"),
])
def test_a_bad_config_file_is_refused_with_exit_code_2(tmp_path, capsys, text, says):
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=None) as error:
        parse_args(["--config", str(config), "grade", "a.ipynb"])
    assert says in str(error.value) and str(config) in str(error.value)
    assert main(["--config", str(config), "grade", "a.ipynb"]) == EXIT_USAGE
    assert says in capsys.readouterr().err


def test_a_missing_config_file_or_a_bad_argument_is_exit_code_2(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.toml"), "grade", "a.ipynb"]) == EXIT_USAGE
    assert "no such config file" in capsys.readouterr().err
    assert main(["grade", "a.ipynb", "--workers", "many"]) == EXIT_USAGE
    assert main(["grade"]) == EXIT_USAGE


# ------------------------------------------------------------------ exit codes

def _notebook(folder, name="good.ipynb", cells=CORRECT, assignment="tiny"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(make_notebook(*cells, assignment=assignment))
    return path


def test_grade_exits_0_when_every_submission_is_graded(tmp_path, dist, capsys):
    good = _notebook(tmp_path / "subs")
    assert main(["grade", str(good), "--dist", str(dist), "--out", str(tmp_path / "g"), "--workers", "1"]) == EXIT_OK
    results = json.loads((tmp_path / "g" / "results.json").read_text())
    assert [(r["status"], r["score"]) for r in results["submissions"]] == [("graded", 5.0)]
    assert "1 submission(s): 1 graded" in capsys.readouterr().out


def test_grade_exits_1_when_a_path_does_not_exist_and_grades_the_rest(tmp_path, dist, capsys):
    good = _notebook(tmp_path / "subs")
    missing = tmp_path / "subs" / "typo.ipynb"
    code = main(["-q", "grade", str(good), str(missing), "--dist", str(dist), "--out", str(tmp_path / "g")])
    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert f"1 path(s) do not exist: {missing}" in err
    rows = json.loads((tmp_path / "g" / "results.json").read_text())["submissions"]
    assert sorted(r["status"] for r in rows) == ["graded", "invalid"]


def test_grade_exits_1_when_nothing_is_built(tmp_path, capsys):
    good = _notebook(tmp_path / "subs")
    (tmp_path / "empty").mkdir()
    for dist in (tmp_path / "empty", tmp_path / "not-there"):
        assert main(["grade", str(good), "--dist", str(dist), "--out", str(tmp_path / "g")]) == EXIT_FAILED
        assert f"nothing is built in {dist}" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()


def test_grade_exits_1_when_nothing_was_found_to_grade(tmp_path, dist, capsys):
    (tmp_path / "no-submissions").mkdir()
    assert main(["grade", str(tmp_path / "no-submissions"), "--dist", str(dist),
                 "--out", str(tmp_path / "g")]) == EXIT_FAILED
    assert "nothing graded: no notebook" in capsys.readouterr().err


def test_grade_exits_1_when_a_row_has_status_error(tmp_path, dist, capsys):
    good = _notebook(tmp_path / "subs")
    code = main(["grade", str(good), "--dist", str(dist), "--out", str(tmp_path / "g"), "--assignment", "nope"])
    assert code == EXIT_FAILED
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("error: 1 submission(s) with status error") and "good.ipynb" in err[-1]


def test_run_problems_names_the_first_error_rows_and_counts_the_rest(tmp_path):
    rows = [{"file": f"s{i}.ipynb", "status": "error", "reason": "grader bug"} for i in range(7)]
    rows.append({"file": "ok.ipynb", "status": "graded", "reason": ""})
    (reason,) = run_problems([tmp_path], rows)
    assert reason.startswith("7 submission(s) with status error") and reason.endswith("and 2 more")
    assert "s4.ipynb: grader bug" in reason and "s5.ipynb" not in reason
    assert run_problems([tmp_path], rows[-1:]) == []
    assert run_problems([tmp_path], [])[0].startswith("nothing graded")


def test_build_exits_1_when_there_is_nothing_to_build(tmp_path, capsys):
    (tmp_path / "course").mkdir()
    assert main(["build", "--course", str(tmp_path / "course"), "--out", str(tmp_path / "d")]) == EXIT_FAILED
    assert "nothing to build: no exercise description" in capsys.readouterr().err
    assert main(["build", "--course", str(tmp_path / "nope"), "--out", str(tmp_path / "d")]) == EXIT_FAILED
    assert "no course folder" in capsys.readouterr().err


def test_report_exits_1_without_results(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == EXIT_FAILED
    assert "no results.json" in capsys.readouterr().err


# ------------------------------------------------------------------ -v and -q

def test_quiet_keeps_only_warnings_and_errors_verbose_adds_debug(tmp_path, dist, capsys):
    good = _notebook(tmp_path / "subs")
    config = tmp_path / "c.toml"
    config.write_text("[grade]\nworkers = 1\n")
    common = ["grade", str(good), "--dist", str(dist), "--out", str(tmp_path / "g"), "--config", str(config)]
    assert main(common) == EXIT_OK
    assert "1 submission(s)" in capsys.readouterr().out  # what was done: stdout; problems: stderr
    assert main(["-q", *common]) == EXIT_OK
    assert capsys.readouterr() == ("", "")
    assert main([*common, "-v"]) == EXIT_OK  # after the subcommand works too
    out = capsys.readouterr().out
    assert f"settings from {config}" in out and "1 submission(s)" in out


# ------------------------------------------------------------------ exercises

def test_exercises_lists_every_exercise_on_stdout_and_a_closed_pipe_ends_quietly():
    import subprocess
    import sys

    from autograder import discover_exercises

    whole = subprocess.run([sys.executable, "-m", "autograder", "-q", "exercises"], capture_output=True, text=True)
    assert whole.returncode == EXIT_OK and whole.stderr == ""
    assert [line.split()[0] for line in whole.stdout.splitlines()] == list(discover_exercises())
    # a reader that stops after the first line (`| head -1`) closes the pipe while we still write
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "exercises"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)
    first = proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert first.split()[0].decode() == discover_exercises()[0]
    assert proc.returncode == EXIT_OK and b"Error" not in err and b"Traceback" not in err, err.decode()
