"""Write the example submissions under examples/ from the built assignments.

    python -m autograder build --out dist && python examples/make_examples.py [--dist dist]

For each assignment, starting from the student notebook handed out (dist/<ex>/student/) and
the solution code of the same cells (dist/<ex>/autograder/<ex>.ipynb, Otter's solution
notebook), it writes what students really hand in:

- ``correct.ipynb``: every answer filled in with the reference solution;
- ``partly_wrong.ipynb``: one or two classic mistakes (a transposed weight gradient, a sign
  error in the update, argmax over the wrong axis), everything else right;
- ``broken_syntax.ipynb``: the backward cell does not parse (a missing colon);
- ``broken_import.ipynb``: ``import numpie as np``: every function fails when called;
- ``missing_functions.ipynb``: the cells of the last two questions deleted.

and a few that cannot be graded normally: ``examples/relu_mse_training/other_assignment.ipynb``
(another exercise's notebook in relu_mse_training's folder), ``correct_export.zip`` (an Otter export
zip), ``self_exit.ipynb`` (kills its own process half-way), and under ``examples/malformed/``
an empty file, truncated JSON and a text file named .ipynb. The notebooks are committed; this
script is how they were made (rerun it after changing the assignments).
"""
import argparse
import ast
import io
import re
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
UPDATE_FUNCTIONS = ("sgd_step", "gradient_descent_step", "momentum_step")
HONEST = ("correct", "partly_wrong", "broken_syntax", "broken_import", "missing_functions")
# where the submissions that cannot be graded normally go (examples/course/ maps them to students);
# any other built exercise does when this one is not built
ODD_ONES_IN = "relu_mse_training"


def solution_source(source: str) -> str:
    """A solution cell as a student who got it right would write it: Otter's markers removed."""
    out, in_prompt = [], False
    for line in source.splitlines():
        s = line.strip()
        if s.startswith("# BEGIN PROMPT"):
            in_prompt = True
            continue
        if s.startswith("# END PROMPT"):
            in_prompt = False
            continue
        if in_prompt or s.startswith("# BEGIN SOLUTION") or s.startswith("# END SOLUTION"):
            continue
        out.append(re.sub(r"\s*# SOLUTION\s*$", "", line))
    return "\n".join(out)


def filled_notebook(student: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook with each code cell replaced by its solution cell."""
    nb = nbformat.from_dict(student)
    s_code = [c for c in nb.cells if c.cell_type == "code"]
    a_code = [c for c in solution.cells if c.cell_type == "code"]
    if len(s_code) != len(a_code):
        raise SystemExit(f"student and solution notebooks differ in code cells ({len(s_code)} vs {len(a_code)})")
    for mine, theirs in zip(s_code, a_code):
        mine.source = solution_source(theirs.source)
        mine.outputs, mine.execution_count = [], None
    return nb


def _defines(cell, name):
    return cell.cell_type == "code" and re.search(rf"^def {name}\(", cell.source, re.M)


def _replace(source: str, node: ast.AST, text: str) -> str:
    """``source`` with ``node``'s exact span replaced by ``text`` (the rest untouched)."""
    lines = source.splitlines(keepends=True)
    start = sum(len(l.encode()) for l in lines[: node.lineno - 1]) + node.col_offset
    end = sum(len(l.encode()) for l in lines[: node.end_lineno - 1]) + node.end_col_offset
    data = source.encode()
    return (data[:start] + text.encode() + data[end:]).decode()


def _rewrite_function(nb, name, mistake) -> bool:
    """Plant ``mistake`` in function ``name``: it returns (node, new source for that node) or None.
    Only that expression changes, as when a student gets one line wrong."""
    for cell in nb.cells:
        if not _defines(cell, name):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                edit = mistake(node, cell.source)
                if edit is None:
                    return False
                cell.source = _replace(cell.source, *edit)
                return True
    return False


def _seg(source, node):
    return ast.get_source_segment(source, node)


def transpose_weight_gradient(func: ast.FunctionDef, source: str):
    """In the returned dict of gradients, the first weight's gradient comes back transposed."""
    for ret in [n for n in ast.walk(func) if isinstance(n, ast.Return)]:
        if isinstance(ret.value, ast.Dict):
            for key, value in zip(ret.value.keys, ret.value.values):
                if isinstance(key, ast.Constant) and str(key.value).startswith(("W", "U")):
                    text = _seg(source, value)
                    return value, (f"{text}.T" if isinstance(value, ast.Name) else f"({text}).T")
    for stmt in ast.walk(func):  # gradients assigned one by one: dW1 = ...
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id.startswith("dW")):
            return stmt.value, f"({_seg(source, stmt.value)}).T"
    return None


def sign_error(func: ast.FunctionDef, source: str):
    """``param - lr * grad`` becomes ``param + lr * grad`` (climbing the loss)."""
    subs = [n for n in ast.walk(func) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub)]
    rates = [n for n in subs if any(isinstance(x, ast.Name) and x.id in ("lr", "eta", "learning_rate")
                                    for x in ast.walk(n.right))]
    for n in rates or subs:
        text = _seg(source, n)
        left = _seg(source, n.left)
        rest = text[len(left):]
        return n, left + rest.replace("-", "+", 1)
    return None


def argmax_wrong_axis(func: ast.FunctionDef, source: str):
    for call in ast.walk(func):
        if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "argmax":
            for kw in call.keywords:
                if kw.arg == "axis" and isinstance(kw.value, ast.Constant):
                    return kw.value, str(1 - int(kw.value.value))
    return None


def partly_wrong(nb, exercise) -> list[str]:
    done = []
    if _rewrite_function(nb, "backward", transpose_weight_gradient):
        done.append("backward: first weight gradient transposed")
    for name in UPDATE_FUNCTIONS:
        if _rewrite_function(nb, name, sign_error):
            done.append(f"{name}: sign error")
            break
    else:
        if _rewrite_function(nb, "predict", argmax_wrong_axis):
            done.append("predict: argmax over the wrong axis")
    if not done:
        raise SystemExit(f"{exercise}: no realistic mistake could be planted (backward/update not found)")
    return done


def broken_syntax(nb, exercise):
    for cell in nb.cells:
        if _defines(cell, "backward"):
            cell.source = re.sub(r"^(def backward\(.*\)):", r"\1", cell.source, count=1, flags=re.M)
            return
    raise SystemExit(f"{exercise}: no backward cell")


def broken_import(nb, exercise):
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(r"^import numpy as np$", cell.source, re.M):
            cell.source = re.sub(r"^import numpy as np$", "import numpie as np", cell.source, count=1, flags=re.M)
            return
    raise SystemExit(f"{exercise}: no `import numpy as np` cell")


def missing_functions(nb, exercise):
    """Delete the cells defining the last two graded functions (and their grader.check cells)."""
    questions = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and re.search(r"^def \w+\(", c.source, re.M)]
    drop = set(questions[-2:])
    for i in list(drop):
        if i + 1 < len(nb.cells) and "grader.check" in nb.cells[i + 1].source:
            drop.add(i + 1)
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in drop]


def self_exit(nb, exercise):
    """Kills its own process after the first half of the answers."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    middle = code[len(code) // 2]
    nb.cells.insert(middle, nbformat.v4.new_code_cell("import os\nos._exit(3)  # the notebook stops here"))


def _write(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for cell in nb.cells:
        cell.pop("id", None)  # ids make regenerated notebooks differ for nothing
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.nbformat, nb.nbformat_minor = 4, 4
    text = nbformat.writes(nb)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _export_zip(path: Path, nb, notebook_name: str) -> None:
    """An Otter export zip as ``grader.export()`` writes it (fixed timestamps, reproducible)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in ((notebook_name, nbformat.writes(nb)), ("__zip_filename__", path.name)):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    if not path.exists() or path.read_bytes() != buf.getvalue():
        path.write_bytes(buf.getvalue())


def make(dist: Path, out: Path) -> list[Path]:
    written = []
    exercises = sorted(p.name for p in dist.iterdir() if (p / "student" / f"{p.name}.ipynb").exists())
    if not exercises:
        raise SystemExit(f"no built assignments in {dist}; run `python -m autograder build --out {dist}`")
    correct = {}
    for ex in exercises:
        student = nbformat.read(dist / ex / "student" / f"{ex}.ipynb", as_version=4)
        solution = nbformat.read(dist / ex / "autograder" / f"{ex}.ipynb", as_version=4)
        correct[ex] = filled_notebook(student, solution)
        variants = {"correct": None, "partly_wrong": partly_wrong, "broken_syntax": broken_syntax,
                    "broken_import": broken_import, "missing_functions": missing_functions}
        for variant, plant in variants.items():
            nb = nbformat.from_dict(correct[ex])
            note = plant(nb, ex) if plant else None
            if note:
                print(f"{ex}/{variant}: {'; '.join(note)}")
            _write(out / ex / f"{variant}.ipynb", nb)
            written.append(out / ex / f"{variant}.ipynb")
    first = ODD_ONES_IN if ODD_ONES_IN in exercises else exercises[0]
    nb = nbformat.from_dict(correct[first])
    self_exit(nb, first)
    _write(out / first / "self_exit.ipynb", nb)
    _export_zip(out / first / "correct_export.zip", correct[first], f"{first}.ipynb")
    others = [e for e in exercises if e != first]
    if others:
        _write(out / first / "other_assignment.ipynb", nbformat.from_dict(correct[others[0]]))
    malformed = out / "malformed"
    malformed.mkdir(parents=True, exist_ok=True)
    (malformed / "empty.ipynb").write_bytes(b"")
    text = nbformat.writes(correct[first])
    (malformed / "truncated.ipynb").write_text(text[: len(text) // 2])
    (malformed / "not_a_notebook.ipynb").write_text(textwrap.dedent("""\
        def forward(params, x):
            # I wrote my answers in a .py file and renamed it
            return params
        """))
    written += [out / first / "self_exit.ipynb", out / first / "correct_export.zip",
                malformed / "empty.ipynb", malformed / "truncated.ipynb", malformed / "not_a_notebook.ipynb"]
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", default="dist", type=Path)
    parser.add_argument("--out", default=HERE, type=Path)
    args = parser.parse_args(argv)
    written = make(args.dist, args.out)
    print(f"{len(written)} example submissions under {args.out}")


if __name__ == "__main__":
    sys.exit(main())
