"""Hidden tests' failures through the batch grader: a notebook that puts the hidden inputs it was
given into its exception cannot read them back from results.json or its feedback (the unit-level
checks of ``runner.hidden_safe`` are in test_grade_robust.py)."""
import json
import re
from pathlib import Path

from autograder.grade.batch import grade_batch

REPO = Path(__file__).resolve().parents[1]
LEAKY_TRAIN = '''def train(params, X, y, lr, epochs):
    raise ValueError("LEAK " + " ".join(repr(float(v)) for v in X.ravel()[:6]) + " "
                     + repr(params["W1"].tolist()) + f" lr={lr!r} W{int(abs(X[0, 0]) * 1e6)}")
'''


def test_hidden_values_in_a_students_exception_reach_neither_results_nor_feedback(tmp_path, dist):
    out, _ = dist
    nb = json.loads((REPO / "examples" / "relu_mse_training" / "correct.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "".join(cell["source"]).lstrip().startswith("def train("):
            cell["source"] = LEAKY_TRAIN
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "leaky.ipynb").write_text(json.dumps(nb))
    (row,) = grade_batch([tmp_path / "subs"], out_dir=tmp_path / "grades", dist=out, progress=False,
                         log=lambda *a: None)
    tests = row["questions"]["q5"]["tests"]
    assert [t["hidden"] for t in tests] == [False, False, True] and not any(t["passed"] for t in tests)
    assert "LEAK 0.0 1.0 1.0 0.0 0.0 1.0 [[-0.3258955763058448" in tests[0]["message"]  # public: as written
    hidden = re.search(r"ValueError: LEAK.*", tests[2]["message"]).group(0)
    assert hidden == "ValueError: LEAK # # # # # # [[#, #, #], [#, #, #], [#, #, #], [#, #, #]] lr=# W#"
    assert len(hidden) <= len("ValueError: ") + 120
    written = (tmp_path / "grades" / "results.json").read_text() + "".join(
        f.read_text() for f in (tmp_path / "grades" / "feedback").iterdir())
    leaks = [m.group(0) for m in re.finditer(r"LEAK[^\n\"`]*", written)]
    public = [leak for leak in leaks if "-0.3258955763058448" in leak]
    assert public and len(public) < len(leaks)
    for leak in set(leaks) - set(public):  # the hidden test's: no number but the arguments' shapes
        assert not re.search(r"\d", leak.split("]]")[-1].replace("lr=#", "")), leak
        assert not re.search(r"\d\.\d", leak), leak
