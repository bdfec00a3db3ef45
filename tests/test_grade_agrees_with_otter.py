"""Differential test: on honest example submissions, our grader and ``otter run`` (the same
autograder bundle, Otter's own kernel-based runner) give the same score for every question.

The assignments are built fresh into a temporary folder; the committed examples under
examples/ are graded by both. About a dozen ``otter run`` calls (~3-8 s each, two at a time)."""
import concurrent.futures as cf
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
EVERY_EXERCISE = ("correct", "partly_wrong")
ONE_EXERCISE = ("broken_syntax", "broken_import", "missing_functions", "correct_export")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    exercises = sorted(p.name for p in EXAMPLES.iterdir() if (p / "correct.ipynb").exists())
    assert exercises, "no example submissions; run examples/make_examples.py"
    done = subprocess.run([sys.executable, "-m", "autograder", "build", "--out", str(out), *exercises],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def honest_submissions(dist):
    built = sorted(p.name for p in dist.iterdir() if list((p / "autograder").glob("*.zip")))
    subs = []
    odd_ones = [e for e in built if (EXAMPLES / e / "correct_export.zip").exists()]  # make_examples' choice
    assert odd_ones, "no example folder holds the odd submissions; run examples/make_examples.py"
    for exercise in built:
        for variant in EVERY_EXERCISE + (ONE_EXERCISE if exercise == odd_ones[0] else ()):
            found = [p for p in (EXAMPLES / exercise).glob(f"{variant}.*") if p.suffix in (".ipynb", ".zip")]
            assert found, f"missing example {exercise}/{variant}; run examples/make_examples.py"
            subs.append((exercise, found[0]))
    return subs


def otter_scores(bundle: Path, submission: Path, out: Path) -> dict[str, float]:
    out.mkdir(parents=True)
    done = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(bundle), "-o", str(out), str(submission)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"otter run failed on {submission}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    results = json.loads((out / "results.json").read_text())
    return {t["name"]: float(t["score"]) for t in results["tests"] if "score" in t}


def test_per_question_scores_agree_with_otter_run(dist, tmp_path):
    from autograder.grade.batch import grade_batch

    subs = honest_submissions(dist)
    rows = grade_batch([p for _, p in subs], out_dir=tmp_path / "grades", dist=dist, timeout=60,
                       progress=False, log=lambda *a: None)
    ours = {Path(r["file"]).resolve(): r for r in rows}

    def run(item):
        n, (exercise, sub) = item
        bundle = max((dist / exercise / "autograder").glob("*.zip"), key=lambda b: b.stat().st_mtime)
        return sub, otter_scores(bundle, sub, tmp_path / f"otter{n}")

    with cf.ThreadPoolExecutor(2) as pool:
        theirs = dict(pool.map(run, enumerate(subs)))

    disagreements = []
    for exercise, sub in subs:
        row = ours[sub.resolve()]
        assert row["status"] == "graded", f"{sub}: {row['status']} ({row['reason']})"
        assert row["assignment"] == exercise
        mine = {q: qr["score"] for q, qr in row["questions"].items()}
        if mine != theirs[sub]:
            disagreements.append(f"{sub.relative_to(REPO)}: ours {mine} vs otter run {theirs[sub]}")
    assert not disagreements, "\n".join(disagreements)
    # the examples are not all the same: some lose points, so agreement is not trivial
    scores = {sub.stem: ours[sub.resolve()]["score"] for _, sub in subs}
    assert len(set(scores.values())) > 1
    assert any(ours[s.resolve()]["score"] < ours[s.resolve()]["max_score"] for _, s in subs)
