"""What one submission's sandbox costs: start, run a notebook, end; and ~20 correct notebooks.

    python benchmarks/sandbox_start.py [-n 40] [--dist dist]

1. Starts and ends the child of a one-cell notebook graded against no tests, n times in a row
   (one thread), and prints the median and 90th percentile: the per-submission overhead of the
   sandbox (fork from the zygote, namespaces, the new root, limits, the end of every process).
2. With a built ``dist/``, grades the ``correct`` example of every assignment until there are 20
   submissions, one thread, and prints the time per submission (start-up excluded).
The machine's load (/proc/loadavg) is printed before and after: compare runs only on a quiet machine.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def load():
    return Path("/proc/loadavg").read_text().split()[:3]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=40)
    parser.add_argument("--dist", default=str(REPO / "dist"))
    args = parser.parse_args(argv)
    from autograder.grade.runner import grade_notebook

    print("load before:", *load())
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import numpy as np\nx = np.ones(3)"))
    tiny = nbformat.writes(nb).encode()
    grade_notebook(tiny, [])  # starts the zygote
    times = []
    for _ in range(args.n):
        start = time.perf_counter()
        result = grade_notebook(tiny, [])
        times.append(time.perf_counter() - start)
        assert result["status"] == "graded", result["reason"]
    times.sort()
    print(f"sandbox start+end ({result['isolation'].get('mode')}): median {statistics.median(times) * 1000:.1f} ms, "
          f"p90 {times[int(0.9 * len(times))] * 1000:.1f} ms over {len(times)}")

    dist = Path(args.dist)
    if dist.is_dir() and (REPO / "examples").is_dir():
        from autograder.grade.assignments import load_assignments, modules_installed
        assignments, _ = load_assignments(dist)
        examples = [(a, REPO / "examples" / name / "correct.ipynb") for name, a in sorted(assignments.items())]
        examples = [(a, p.read_bytes()) for a, p in examples if p.exists()]
        subs = [examples[i % len(examples)] for i in range(20)]
        per = []
        for assignment, data in subs:
            with modules_installed([assignment]):
                start = time.perf_counter()
                result = grade_notebook(data, assignment.fresh_tests(), support_files=dict(assignment.support_files))
                per.append(time.perf_counter() - start)
            assert result["score"] == result["max_score"], (result["status"], result["reason"])
        print(f"{len(per)} correct notebooks, one at a time: median {statistics.median(per) * 1000:.0f} ms, "
              f"mean {statistics.mean(per) * 1000:.0f} ms, all full marks")
    print("load after:", *load())


if __name__ == "__main__":
    main()
