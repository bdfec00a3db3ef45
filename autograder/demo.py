"""``backprop-lab demo``: the main job, end to end.

1. build every assignment into ``--dist`` (default ``dist/``: student notebooks and Otter bundles);
2. grade the example submissions (``--examples``, default the repository's ``examples/``) into
   ``--out`` (default ``grades/``): ``grades.csv``, ``results.json``, ``feedback/*.md``;
3. write the class report from that folder.

Exit code: the first step's that failed (see ``autograder.__main__``), else 0.
"""
import argparse
import logging
import time

from autograder import REPO_ROOT, is_source_checkout

log = logging.getLogger(__name__)


def main(args) -> int:
    from autograder.builder import main as build_main
    from autograder.grade import main as grade_main
    from autograder.report import main as report_main

    examples = args.examples or (REPO_ROOT / "examples" if is_source_checkout() else None)
    if examples is None or not examples.is_dir():
        log.error("demo: no example submissions%s; give a folder of notebooks with --examples DIR",
                  f" at {examples}" if examples else " (an installed wheel ships none)")
        return 1

    log.info("== building the assignments into %s/", args.dist)
    status = build_main(argparse.Namespace(out=args.dist, exercises=[], course=None))
    if status:
        log.error("demo: the build failed; nothing graded")
        return status

    log.info("\n== grading the example submissions in %s/ into %s/", examples, args.out)
    start = time.perf_counter()
    # grade's own defaults (roster, late policy, ...), then demo's settings; the examples are ours:
    # grading them unisolated (no root, no user namespaces) is harmless
    from autograder.__main__ import build_parser
    grade_args = build_parser()[1]["grade"].parse_args([str(examples)])
    for key, value in vars(args).items():
        setattr(grade_args, key, value)
    grade_args.paths, grade_args.assignment, grade_args.allow_unisolated = [examples], None, True
    status = grade_main(grade_args)
    log.info("grading took %.1f s", time.perf_counter() - start)

    log.info("\n== class report from %s/", args.out)
    return report_main(argparse.Namespace(grades_dir=args.out)) or status
