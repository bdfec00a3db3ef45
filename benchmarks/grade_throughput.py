"""Grading throughput: this grader vs ``otter run``, measured alternately in the same run.

    python benchmarks/grade_throughput.py [--dist dist] [-n 40] [--rounds 3] [--otter-per-round 3]
                                          [--variants correct|all] [--workers N]

Makes N submissions (default 40, correct notebooks of every built assignment; ``--variants all``
mixes in the partly wrong and broken examples), each copy made unique by a markdown cell so no
cache helps. Then, ``--rounds`` times: our start-up (``backprop-lab grade`` on one notebook, a
fresh process: process start to the first submission graded and written), the whole batch
through ``backprop-lab grade`` (a fresh process and output folder, so start-up is included), and
K submissions through ``otter run`` one after another (K = ``--otter-per-round``, taking turns
over the batch). Alternating keeps the two rates comparable when the machine's load changes.
Prints every measurement with the load average before and after it, and the CPU count: on a
busy machine (load average above half the cores) the ratio is not a result, and it says so.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
VARIANTS = ("correct", "partly_wrong", "broken_syntax", "broken_import", "missing_functions")


def make_submissions(dist: Path, n: int, folder: Path, variants=VARIANTS) -> list[tuple[str, Path]]:
    built = sorted(p.name for p in dist.iterdir() if list((p / "autograder").glob("*.zip")))
    sources = [(ex, REPO / "examples" / ex / f"{v}.ipynb") for v in variants for ex in built
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


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess, str, str]:
    """(seconds, result, load before, load after) of one command run to completion."""
    before = load()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    return time.perf_counter() - start, done, before, load()


def ours_command(paths, out: Path, dist: Path, workers) -> list[str]:
    command = [sys.executable, "-m", "autograder", "grade", *map(str, paths), "--dist", str(dist),
               "--out", str(out), "-q"]
    return command + (["--workers", str(workers)] if workers else [])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", default=str(REPO / "dist"))
    parser.add_argument("-n", type=int, default=40, help="submissions in our batch (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of ours and otter run (default 3)")
    parser.add_argument("--otter-per-round", type=int, default=3, metavar="K",
                        help="otter run submissions timed per round (default 3)")
    parser.add_argument("--variants", choices=("correct", "all"), default="correct",
                        help="correct notebooks only (default) or every example variant")
    parser.add_argument("--workers", type=int, default=None, help="our grader's parallel submissions")
    args = parser.parse_args(argv)
    dist = Path(args.dist).resolve()
    if not dist.is_dir():
        raise SystemExit(f"{dist}: build first: python -m autograder build --out {dist}")

    work = Path(tempfile.mkdtemp(prefix="grade-bench-"))
    cores = os.cpu_count()
    try:
        subs = make_submissions(dist, args.n, work / "subs",
                                ("correct",) if args.variants == "correct" else VARIANTS)
        # start-up on the quickest notebook to grade (sigmoid_mlp: ~0.1 s; relu_mse_training's
        # training loop alone takes ~0.5 s), and on an empty folder (nothing to grade: exit 1)
        first = next(((e, p) for e, p in subs if e == "sigmoid_mlp"), subs[0])
        one = work / "one" / first[0]
        one.mkdir(parents=True)
        shutil.copy(first[1], one / first[1].name)
        (work / "empty").mkdir()
        print(f"{len(subs)} submissions ({args.variants}) over {len({e for e, _ in subs})} assignments; "
              f"{cores} CPU cores; load average (1/5/15 min) at start {load()}")
        startups, empties, ours, otter, loads = [], [], [], [], []
        turn = 0
        for r in range(1, args.rounds + 1):
            for folder, out, times, what in (
                    ("one", f"g1-{r}", startups, f"start-up (1 {first[0]} notebook, fresh process)"),
                    ("empty", f"g0-{r}", empties, "empty folder (start, nothing to grade, exit)"),
                    ("subs", f"g-{r}", ours, f"this grader, {len(subs)} submissions")):
                seconds, done, before, after = timed(ours_command([work / folder], work / out, dist, args.workers))
                times.append(seconds)
                loads += [before, after]
                each = f" = {seconds / len(subs) * 1000:.0f} ms each" if folder == "subs" else ""
                print(f"round {r}: {what}: {seconds:.2f} s{each}   [load {before} -> {after}]"
                      + ("" if done.returncode == 0 else f"  EXIT {done.returncode}: {done.stderr.strip()[-300:]}"))

            for _ in range(args.otter_per_round):
                exercise, sub = subs[turn % len(subs)]
                turn += 1
                bundle = max((dist / exercise / "autograder").glob("*.zip"), key=lambda b: b.stat().st_mtime)
                out = work / "otter" / str(turn)
                out.mkdir(parents=True)
                seconds, done, before, after = timed([sys.executable, "-m", "otter", "run", "-a", str(bundle),
                                                      "-o", str(out), str(sub)])
                otter.append(seconds)
                loads += [before, after]
                print(f"round {r}: otter run {sub.name}: {seconds:.2f} s   [load {before} -> {after}]"
                      + ("" if done.returncode == 0 else f"  (failed, counted: {done.stderr.strip()[-200:]})"))

        ours_each = sum(ours) / (len(subs) * len(ours))
        otter_each = sum(otter) / len(otter) if otter else float("nan")
        print()
        print(f"start-up (process start to first notebook graded, incl. that notebook): "
              f"median {statistics.median(startups):.2f} s, min {min(startups):.2f} s; empty run "
              f"median {statistics.median(empties):.2f} s")
        print(f"this grader: {1 / ours_each:.2f} submissions/s ({ours_each * 1000:.0f} ms each, batch of {len(subs)}, "
              f"start-up included; batches {', '.join(f'{s:.1f}' for s in ours)} s)")
        print(f"otter run:   {1 / otter_each:.3f} submissions/s ({otter_each:.2f} s each, {len(otter)} runs, "
              f"sequential)")
        print(f"ratio: this grader is {otter_each / ours_each:.1f}x otter run (per submission, end to end)")
        peak = max(float(x.split("/")[0]) for x in loads)
        print(f"load average (1 min) during the run: max {peak:.2f} on {cores} cores")
        if cores and peak > cores / 2:
            print(f"WARNING: the machine was busy (1-min load up to {peak:.2f} on {cores} cores): "
                  f"these figures are not a result; rerun on an idle machine")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
