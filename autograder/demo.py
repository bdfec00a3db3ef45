"""``python -m autograder demo``: the main job, end to end.

1. build every assignment into ``dist/`` (student notebooks and Otter autograder bundles);
2. grade the example submissions under ``examples/`` into ``--out`` (default ``grades/``):
   ``grades.csv``, ``results.json``, ``feedback/*.md``;
3. write the class report from that folder (when the report package is present).
"""
import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(args) -> int:
    out = Path(args.out)
    dist = Path(getattr(args, "dist", None) or "dist")
    examples = REPO / "examples"

    from autograder.build import main as build_main

    print(f"== building the assignments into {dist}/")
    status = build_main(argparse.Namespace(out=str(dist), exercises=[]))
    if status:
        print("demo: the build failed; nothing graded", file=sys.stderr)
        return status

    print(f"\n== grading the example submissions in {examples.relative_to(REPO)}/ into {out}/")
    from autograder.grade.batch import grade_batch

    start = time.perf_counter()
    # the examples are ours: grading them unisolated (no root, no user namespaces) is harmless
    grade_batch([examples], out_dir=out, dist=dist, timeout=60.0, allow_unisolated=True)
    print(f"grading took {time.perf_counter() - start:.1f} s")

    try:
        from autograder.report import main as report_main
    except ImportError:
        print("(no report package: skipping the class report)")
        return 0
    print(f"\n== class report from {out}/")
    return report_main(argparse.Namespace(grades_dir=str(out)))
