"""Command line: ``backprop-lab {exercises,build,grade,report,demo} ...`` (or ``python -m autograder ...``).

Settings come from the command line, then from the config file (``--config FILE``, default
``backprop-lab.toml`` in the current folder if there is one; see ``autograder.config``), then
from the defaults shown by ``--help``.

Exit codes: 0 the job is done; 1 it is not, and the last lines say why (the build failed or found
nothing to build; nothing is built in ``--dist``; no submission was found; a path given does not
exist; a submission's row has status ``error``, the grader's fault, not the student's; no results
to report); 2 the command line or the config file is wrong.
"""
import argparse
import dataclasses
import logging
import os
import re
import sys
import threading
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DESCRIPTION = ("Backprop Lab: build auto-graded backpropagation notebooks, grade submissions by value, "
               "report to the instructor.")
log = logging.getLogger("autograder")


# ---------------------------------------------------------------- arguments of each subcommand
def add_build_arguments(parser):
    parser.add_argument("exercises", nargs="*", metavar="EXERCISE",
                        help="build only these exercises (default: every exercise with a master notebook)")
    parser.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR",
                        help="where the built assignments go (default: %(default)s)")
    parser.add_argument("--hidden-visibility", default=None, metavar="WHEN",
                        choices=("hidden", "after_due_date", "after_published", "visible"),
                        help="when Gradescope shows students the hidden tests' results "
                             "(hidden, after_due_date, after_published, visible; default: hidden)")
    parser.add_argument("--course", type=Path, default=None, metavar="DIR",
                        help="the course folder: one folder per exercise with its master notebook and data, "
                             "laid out like the repository's assignments/ (default: the repository's "
                             "assignments/, or the copy installed with the package)")


def add_grade_arguments(parser):
    """Every argument of ``grade``, in one place (``demo`` shares the limits and workers)."""
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="submitted notebooks (.ipynb), Otter export zips, or folders of them (searched recursively)")
    parser.add_argument("--out", type=Path, default=Path("grades"), metavar="DIR",
                        help="where grades.csv, results.json and feedback/ go (default: %(default)s)")
    parser.add_argument("--dist", type=Path, default=Path("dist"), metavar="DIR",
                        help="the built assignments, as written by `build --out DIR` (default: %(default)s)")
    parser.add_argument("--assignment", metavar="NAME",
                        help="grade every submission as this assignment (default: each notebook's own "
                             "assignment, from its metadata or file name)")
    add_run_arguments(parser)
    parser.add_argument("--allow-unisolated", action="store_true",
                        help="grade even where the sandbox cannot isolate notebooks (no root, no user namespaces): "
                             "they could then read the hidden tests and use the network")
    add_student_arguments(parser)


def add_student_arguments(parser):
    """--roster, --mapping, --due, --late-penalty, ...: the gradebook by student (issue 10)."""
    from autograder.grade.students import add_arguments
    add_arguments(parser)


def add_run_arguments(parser):
    """Parallelism and the sandbox's limits: options of ``grade`` and ``demo``."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="submissions graded at once (default: the number of CPUs)")
    add_limit_arguments(parser)


def limit_help() -> dict[str, str]:
    """Each sandbox limit's help: the comment beside its field in ``Limits`` (one source of truth)."""
    from autograder.grade import sandbox
    from autograder.grade.sandbox import Limits
    try:  # the class's lines, as inspect.getsource gives them, without parsing the module (40 ms)
        text = Path(sandbox.__file__).read_text(encoding="utf-8")
        source = re.search(r"^class Limits\b.*?(?=^\S)", text, re.M | re.S).group(0)
    except (OSError, TypeError, AttributeError, UnicodeDecodeError):
        source = ""
    comments = dict(re.findall(r"^\s+(\w+)\s*:[^=\n]*=[^#\n]*#\s*(.+?)\s*$", source, re.M))
    return {f.name: comments.get(f.name) or f"sandbox limit {f.name.replace('_', ' ')}"
            for f in dataclasses.fields(Limits)}


def add_limit_arguments(parser):
    """One option per field of the sandbox's ``Limits``; keys of the config file's ``[limits]``."""
    from autograder.config import LIMITS_SECTION
    from autograder.grade.sandbox import Limits

    group = parser.add_argument_group("sandbox limits", "per submission; also settable under [limits] "
                                                        "in the config file")
    helps = limit_help()
    for field in dataclasses.fields(Limits):
        flag = "--" + field.name.replace("_", "-")
        flags = ["--timeout", flag] if field.name == "submission_timeout" else [flag]
        unit = next((u for suffix, u in (("timeout", "seconds"), ("_mb", "MB"), ("_bytes", "bytes"),
                                         ("_chars", "characters")) if field.name.endswith(suffix)), None)
        action = group.add_argument(*flags, dest=field.name, type=type(field.default), default=field.default,
                                    metavar=unit.upper() if unit else "N",
                                    help=f"{helps[field.name]} (default: %(default)s{' ' + unit if unit else ''})")
        action.config_section = LIMITS_SECTION


def limits_from(args):
    """The ``Limits`` the options (and config file) ask for."""
    from autograder.grade.sandbox import Limits
    return Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)})


def add_report_arguments(parser):
    parser.add_argument("grades_dir", nargs="?", type=Path, default=Path("grades"), metavar="DIR",
                        help="a folder written by `grade` (default: %(default)s); the report goes to DIR/report/")


def add_demo_arguments(parser):
    parser.add_argument("--out", type=Path, default=Path("grades"), metavar="DIR",
                        help="where the grades and the report go (default: %(default)s)")
    parser.add_argument("--dist", type=Path, default=Path("dist"), metavar="DIR",
                        help="where the built assignments go (default: %(default)s)")
    parser.add_argument("--examples", type=Path, default=None, metavar="DIR",
                        help="the submissions to grade (default: the repository's examples/; "
                             "an installed wheel has none, so give a folder)")
    add_run_arguments(parser)


def add_exercises_arguments(parser):
    parser.add_argument("--course", type=Path, default=None, metavar="DIR",
                        help="a course folder laid out like assignments/ (default: the repository's or the installed one)")


COMMANDS = {
    "exercises": ("list the exercises of the course: each folder with an exercise.py", add_exercises_arguments),
    "build": ("build student notebooks and Otter autograder bundles", add_build_arguments),
    "grade": ("grade notebooks, Otter export zips, or folders of them", add_grade_arguments),
    "report": ("class report (HTML + PNG) from a graded folder", add_report_arguments),
    "demo": ("build every assignment, grade the example submissions, write the report", add_demo_arguments),
}


def _common_options(defaults):
    """-v, -q and --config, accepted before or after the subcommand."""
    common = argparse.ArgumentParser(add_help=False, prog=program_name())
    common.add_argument("-v", "--verbose", action="count", default=defaults,
                        help="say more (-vv: debug messages)")
    common.add_argument("-q", "--quiet", action="count", default=defaults,
                        help="say less: warnings, errors and why the exit code is not 0")
    common.add_argument("--config", metavar="FILE", default=defaults,
                        help="settings file (TOML; default: ./backprop-lab.toml if present); "
                             "the command line overrides it")
    return common


def program_name() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "python -m autograder" if name in ("", "__main__.py", "-c") else name


def build_parser(prog=None):
    """The parser and its subcommands' parsers (by name)."""
    from autograder import version
    parser = argparse.ArgumentParser(prog=prog or program_name(), description=DESCRIPTION,
                                     epilog="Exit codes: 0 done; 1 not done (the last lines say why); "
                                            "2 wrong arguments or config file.",
                                     parents=[_common_options(None)])
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="one of: " + ", ".join(COMMANDS))
    subparsers = {}
    for name, (summary, add_arguments) in COMMANDS.items():
        # the subcommand's copies of -v/-q/--config leave the top-level values alone unless given
        subparsers[name] = sub.add_parser(name, help=summary, description=summary,
                                          parents=[_common_options(argparse.SUPPRESS)])
        add_arguments(subparsers[name])
    return parser, subparsers


def configure_logging(verbose=0, quiet=0):
    """Messages of the ``autograder`` loggers: INFO by default, -v DEBUG, -q WARNING; what the
    command did on stdout (as before logging), warnings and errors on stderr."""
    level = logging.INFO + 10 * ((quiet or 0) - (verbose or 0))
    out, err = logging.StreamHandler(sys.stdout), logging.StreamHandler(sys.stderr)
    out.addFilter(lambda record: record.levelno < logging.WARNING)
    err.setLevel(logging.WARNING)
    for handler in (out, err):
        handler.setFormatter(_Formatter())
    log.handlers[:] = [out, err]
    log.propagate = False
    log.setLevel(max(logging.DEBUG, min(level, logging.ERROR)))


class _Formatter(logging.Formatter):
    """Plain messages; warnings and errors say so."""

    def format(self, record):
        message = record.getMessage()
        return message if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {message}"


def parse_args(argv, prog=None):
    """The command line and the config file (``--config FILE`` or ./backprop-lab.toml) as one
    namespace; the command line wins. Raises ConfigError, or SystemExit from argparse."""
    from autograder.config import apply_config, find_config, load_config

    early, _ = _common_options(None).parse_known_args(argv)
    parser, subparsers = build_parser(prog)
    path = find_config(early.config)
    if path is not None:
        apply_config(subparsers, load_config(path), path)
    args = parser.parse_args(argv)
    args.config = path
    return args


def _start_sandbox_early():
    """``grade``: the sandbox's zygote starts before anything else (it loads numpy on another core
    while this process parses the command line and reads the assignments); any problem with it is
    reported where grading needs it."""
    try:
        from autograder.grade.sandbox import start_zygote
        start_zygote()
    except Exception as exc:  # noqa: BLE001 - the isolation probe says what is wrong
        log.debug("the sandbox did not start early: %s", exc)


def main(argv=None, prog=None) -> int:
    """Run one command; returns the exit code (see the module's docstring)."""
    global _GRADE_RAN
    from autograder.config import ConfigError

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        early, rest = _common_options(None).parse_known_args(argv)
        configure_logging(early.verbose, early.quiet)
        if rest[:1] == ["grade"] and not {"-h", "--help"} & set(rest):
            _start_sandbox_early()
        args = parse_args(argv, prog)
    except ConfigError as error:
        log.error("%s", error)
        return EXIT_USAGE
    except SystemExit as stop:  # argparse: --help, --version (0) or a usage error (2)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    if args.config:
        log.debug("settings from %s", args.config)
    if args.command == "exercises":
        from autograder.builder import list_exercises as run
    elif args.command == "build":
        from autograder.builder import main as run
    elif args.command == "grade":
        _GRADE_RAN = True
        from autograder.grade import main as run
    elif args.command == "report":
        from autograder.report import main as run
    else:
        from autograder.demo import main as run
    try:
        return run(args)
    except SystemExit as stop:  # a command that stops with a message (e.g. report: no results.json)
        if isinstance(stop.code, str):
            log.error("%s", stop.code)
            return EXIT_FAILED
        return EXIT_OK if stop.code is None else stop.code


def run() -> None:
    """The console script and ``python -m autograder``: ``main``, then exit. After ``grade``, once
    the at-exit handlers ran and the output is flushed, the process ends without the interpreter's
    finalization (clearing every module and object of a grading run: ~40 ms of every run), unless
    a thread other than the main one still works."""
    argv = sys.argv[1:]
    try:
        code = main(argv)
    except BrokenPipeError:  # `backprop-lab exercises | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        sys.exit(EXIT_OK)
    if _GRADE_RAN and not any(t.is_alive() and not t.daemon for t in threading.enumerate()
                              if t is not threading.main_thread()):
        import atexit
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


_GRADE_RAN = False  # set by main when it ran the grade command


if __name__ == "__main__":
    run()
