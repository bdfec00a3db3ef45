"""Command line: ``python -m autograder {build,grade,report,demo} ...``."""
import argparse
import sys


def _parser():
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build student notebooks and Otter autograder bundles")
    build.add_argument("--out", default="dist", help="output folder (default: dist/)")
    build.add_argument("exercises", nargs="*", help="only these exercises (default: all)")

    grade = sub.add_parser("grade", help="grade notebooks, Otter export zips, or folders of them")
    grade.add_argument("paths", nargs="+")
    grade.add_argument("--out", default="grades", help="output folder (default: grades/)")
    grade.add_argument("--dist", default="dist", help="built assignments (default: dist/)")
    grade.add_argument("--assignment", help="grade every submission as this assignment")
    grade.add_argument("--workers", type=int, default=None, help="parallel submissions (default: CPU count)")
    grade.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds per submission")
    _add_student_arguments(grade)
    grade.add_argument("--allow-unisolated", action="store_true",
                       help="grade even where the sandbox cannot isolate notebooks (no root, no user namespaces): "
                            "they could then read the hidden tests and use the network")

    report = sub.add_parser("report", help="class report (HTML + PNG) from a graded folder")
    report.add_argument("grades_dir", nargs="?", default="grades")

    demo = sub.add_parser("demo", help="build all assignments, grade examples/, write the report")
    demo.add_argument("--out", default="grades")
    return parser


def _add_student_arguments(grade):
    """--roster, --mapping, --due, --late-penalty, ...: the gradebook by student (issue 10)."""
    from autograder.grade.students import add_arguments
    add_arguments(grade)


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "build":
        from autograder.build import main as run
    elif args.command == "grade":
        from autograder.grade import main as run
    elif args.command == "report":
        from autograder.report import main as run
    else:
        from autograder.demo import main as run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
