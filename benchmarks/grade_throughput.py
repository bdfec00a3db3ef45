"""Grading throughput: this grader vs sequential ``otter run``, on the same submissions.

    python benchmarks/grade_throughput.py [--dist dist] [-n 100] [--workers N] [--otter-sample K]

Makes N submissions (default 100) from the honest examples under examples/ (correct, partly
wrong, broken; each copy made unique by a markdown cell so no cache helps), grades all of them
with ``python -m autograder grade``'s batch grader (sandboxed child per submission, tests by
value), then with ``otter run`` one after another, and prints both rates and the ratio.
With ``--otter-sample K`` only K submissions go through ``otter run`` and its rate is
extrapolated to all N (the output says so).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
VARIANTS = ("correct", "partly_wrong", "broken_syntax", "broken_import", "missing_functions")


def make_submissions(dist: Path, n: int, folder: Path) -> list[tuple[str, Path]]:
    built = sorted(p.name for p in dist.iterdir() if list((p / "autograder").glob("*.zip")))
    sources = [(ex, REPO / "examples" / ex / f"{v}.ipynb") for ex in built for v in VARIANTS
               if (REPO / "examples" / ex / f"{v}.ipynb").exists()]
    if not sources:
        raise SystemExit("no example submissions for the built assignments; run examples/make_examples.py")
    subs = []
    for i in range(n):
        exercise, source = sources[i % len(sources)]
        nb = nbformat.read(source, as_version=4)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"Student {i:04d}"))
        target = folder / exercise / f"student{i:04d}_{source.stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        subs.append((exercise, target))
    return subs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", default=str(REPO / "dist"))
    parser.add_argument("-n", type=int, default=100, help="submissions to grade (default 100)")
    parser.add_argument("--workers", type=int, default=None, help="our grader's parallel submissions")
    parser.add_argument("--otter-sample", type=int, default=None,
                        help="time otter run on only K submissions and extrapolate its rate")
    args = parser.parse_args(argv)
    dist = Path(args.dist)
    if not dist.is_dir():
        raise SystemExit(f"{dist}: build first: python -m autograder build --out {dist}")

    from autograder.grade.batch import grade_batch

    work = Path(tempfile.mkdtemp(prefix="grade-bench-"))
    try:
        subs = make_submissions(dist, args.n, work / "subs")
        cores = os.cpu_count()
        print(f"{len(subs)} submissions over {len({e for e, _ in subs})} assignments; {cores} CPU cores")

        start = time.perf_counter()
        rows = grade_batch([work / "subs"], out_dir=work / "grades", dist=dist, workers=args.workers,
                           timeout=60.0, progress=True, log=lambda *a: None)
        ours_s = time.perf_counter() - start
        statuses = {}
        for r in rows:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        ours_rate = len(rows) / ours_s
        print(f"this grader: {len(rows)} submissions in {ours_s:.1f} s = {ours_rate:.2f} submissions/s "
              f"({ours_s / len(rows):.3f} s each; statuses {statuses})")

        sample = subs if not args.otter_sample else subs[:: max(1, len(subs) // args.otter_sample)][: args.otter_sample]
        start = time.perf_counter()
        for k, (exercise, sub) in enumerate(sample):
            bundle = max((dist / exercise / "autograder").glob("*.zip"), key=lambda b: b.stat().st_mtime)
            out = work / "otter" / str(k)
            out.mkdir(parents=True)
            done = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(bundle), "-o", str(out), str(sub)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                print(f"  otter run failed on {sub.name} (counted anyway): {done.stderr.strip()[-200:]}")
            print(f"  otter run {k + 1}/{len(sample)}: {time.perf_counter() - start:.1f} s", end="\r", flush=True)
        otter_s = time.perf_counter() - start
        otter_rate = len(sample) / otter_s
        print()
        if len(sample) < len(subs):
            print(f"otter run (sequential): {len(sample)} of the {len(subs)} submissions in {otter_s:.1f} s = "
                  f"{otter_rate:.3f} submissions/s; EXTRAPOLATED to all {len(subs)}: "
                  f"{len(subs) / otter_rate:.0f} s")
        else:
            print(f"otter run (sequential): {len(sample)} submissions in {otter_s:.1f} s = {otter_rate:.3f} submissions/s")
        print(f"ratio: this grader is {ours_rate / otter_rate:.1f}x otter run's throughput "
              f"({'extrapolated from a sample of ' + str(len(sample)) if len(sample) < len(subs) else 'measured on all'})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
