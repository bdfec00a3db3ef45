"""Make the Otter Assign master notebook of an exercise from its description, ``<course>/<exercise>/exercise.py``.

``python -m autograder build`` renders it afresh for Otter Assign; the committed
``assignments/<exercise>/<exercise>.ipynb`` is the same text, kept for review and checked
identical by the tests. Public tests embed, as literals, the documented numbers of the ledger and the
reference's values (and known wrong variants) on the worked example's public inputs, all computed
here at generation time; hidden tests call ``solutions`` when they run, inside the autograder.

    python -m autograder.builder.notebooks            # rewrite every master notebook
    python -m autograder.builder.notebooks --check    # exit 1 if any master notebook is stale
"""
import argparse
import ast
import sys
import textwrap

import nbformat

from autograder import discover_exercises
from autograder.builder import master_path
from solutions import exercises

NBFORMAT_MINOR = 5
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
SHIPPED_HELPERS = ("backprop_checks.py", "backprop_diagnosis.py")


# ----------------------------------------------------------------------------- notebook pieces

def test_source(test, exercise):
    """An Otter exception-based test cell: config, one function, its call.

    Literal data (expected arrays, wrong variants) is hoisted into assignments before the statement
    that uses it, so the line Otter echoes on a failure is short and the check's own message leads.
    """
    config = f"points: {test.points}\nhidden: {'true' if test.hidden else 'false'}"
    body = hoist_literals(textwrap.dedent(test.body).strip())
    body = (f"import numpy as np\nimport backprop_checks\nbc = backprop_checks.for_exercise({exercise!r})\n" + body)
    params = ", ".join(test.needs)
    return (f'""" # BEGIN TEST CONFIG\n{config}\n""" # END TEST CONFIG\n'
            f"def {test.name}({params}):\n{textwrap.indent(body, '    ')}\n\n{test.name}({params})")


HOIST_CHARS = 40  # literal data longer than this moves out of the statement that uses it


def _is_literal(node):
    """A constant expression of plain data: numbers, strings, lists/tuples/dicts of them, np.array(...)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_literal(node.operand)
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) for k in node.keys) and all(_is_literal(v) for v in node.values)
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.array", "np.zeros") and not node.keywords:
        return all(_is_literal(a) for a in node.args)
    return False


class _Hoister(ast.NodeTransformer):
    def __init__(self):
        self.hoisted, self.count = [], 0

    def generic_visit(self, node):
        if (isinstance(node, ast.expr) and _is_literal(node) and not isinstance(node, ast.Constant)
                and len(ast.unparse(node)) > HOIST_CHARS):
            self.count += 1
            name = f"data_{self.count}"
            self.hoisted.append(ast.Assign(targets=[ast.Name(name, ast.Store())], value=node, lineno=0))
            return ast.Name(name, ast.Load())
        return super().generic_visit(node)


def hoist_literals(source):
    """``source`` with long literal data in any statement (other than a plain ``name = <literal>``)
    assigned to ``data_<n>`` just before that statement. Values are exact (floats unparse by repr)."""
    tree = ast.parse(source)
    hoister = _Hoister()

    def rewrite(statements):
        out = []
        for stmt in statements:
            if isinstance(stmt, ast.Assign) and _is_literal(stmt.value):
                out.append(stmt)
                continue
            for block in ("body", "orelse", "finalbody"):
                if isinstance(getattr(stmt, block, None), list) and not isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                    setattr(stmt, block, rewrite(getattr(stmt, block)))
            hoister.hoisted = []
            for field_name, value in ast.iter_fields(stmt):
                if field_name in ("body", "orelse", "finalbody"):
                    continue
                if isinstance(value, ast.AST):
                    setattr(stmt, field_name, hoister.visit(value))
                elif isinstance(value, list):
                    setattr(stmt, field_name, [hoister.visit(v) if isinstance(v, ast.AST) else v for v in value])
            out += hoister.hoisted + [stmt]
        return out

    tree.body = rewrite(tree.body)
    return ast.unparse(ast.fix_missing_locations(tree))


def _raw(text):
    return nbformat.v4.new_raw_cell(text)


def _md(text):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def _code(text):
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip())


def assignment_config(exercise, files):
    return "\n".join([
        "# ASSIGNMENT CONFIG",
        f"name: {exercise}",
        "init_cell: true",
        "check_all_cell: false",
        "run_tests: true",
        "solutions_pdf: false",
        "template_pdf: false",
        "export_cell:",
        "  pdf: false",
        "  run_tests: false",
        "  instructions: Submit the zip file this cell makes (or the notebook itself).",
        "generate:",
        "  pdf: false",
        "  show_stdout: true",
        "  show_hidden: false",
        "files:",
        *[f"  - {name}" for name in (*SHIPPED_HELPERS, *files)],
        "autograder_files:",
        "  - solutions",
        "tests:",
        "  files: false",
        "  ok_format: false",
    ])


GRADING_POLICY = r"""
## How this notebook is graded

- **Points by test.** Each question's points are split among its tests; you get the points of
  every test you pass. `grader.check("q3")` runs the public tests of Q3; grading adds hidden tests
  that try your functions on other sizes and batches.
- **A mistake costs points once, where it is.** When a function of a later question calls one of
  yours from an earlier question (`forward` calling your `softmax`, a training loop calling your
  `backward`), the grader answers that call with the right values, so a wrong `softmax` costs
  the softmax question only. (On your own machine `grader.check` uses your functions throughout:
  fix the earliest failing question first.)
- **Interface slips cost one test, not the question.** An array of shape $(n,)$ where $(n, 1)$ is
  asked, a tuple where a dict is asked, a list where an array is asked, integers where floats are
  asked: the shapes test of that question names it; the value tests compare your numbers anyway.
  Extra entries in a returned dict are fine.
- **float32.** Answers right to single precision count as right, with a note: numpy computes in
  float64 unless you convert, and the tests expect float64.
- **Inputs.** Where a question says not to change its inputs, one test checks that and costs its
  own point only.
"""


SUBMIT = """
## Submit

Run every cell from the top (Kernel → Restart & Run All), check that every `grader.check`
passes, then run the export cell below and submit the zip it makes.
"""


def master_notebook(spec):
    """The Otter Assign master notebook of one exercise spec module."""
    cells = [_raw(assignment_config(spec.EXERCISE, getattr(spec, "FILES", ())))]
    cells += [_md(text) if kind == "md" else _code(text) for kind, text in spec.intro()]
    cells.append(_md(GRADING_POLICY))
    total = 0
    for q in spec.questions():
        total += q.points
        # points add up by test (partial credit); all or nothing only where the spec asks for it
        config = f"# BEGIN QUESTION\nname: {q.name}\npoints: {q.points}"
        cells.append(_raw(config + ("\nall_or_nothing: true" if q.all_or_nothing else "")))
        cells.append(_md(f"### {q.name.upper()} ({q.points} points): {q.title}\n\n{textwrap.dedent(q.prompt).strip()}"))
        cells.append(_raw("# BEGIN SOLUTION"))
        cells.append(_code(q.solution_source()))
        cells.append(_raw("# END SOLUTION"))
        cells.append(_raw("# BEGIN TESTS"))
        cells += [nbformat.v4.new_code_cell(test_source(t, spec.EXERCISE)) for t in q.tests]
        cells.append(_raw("# END TESTS"))
        cells.append(_raw("# END QUESTION"))
        if q.after:
            cells.append(_code(q.after))
    outro = spec.outro() if hasattr(spec, "outro") else [("md", SUBMIT)]
    cells += [_md(text) if kind == "md" else _code(text) for kind, text in outro]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    nb.nbformat_minor = NBFORMAT_MINOR
    for i, cell in enumerate(nb.cells):  # stable ids: regenerating changes nothing
        cell["id"] = f"{spec.EXERCISE}-{i:03d}"
    return nb


def spec_module(exercise, course=None):
    """The exercise's description, ``<course>/<exercise>/exercise.py``."""
    return exercises.load(exercise, course)


def render(exercise, course=None):
    """The master notebook's file contents, as text."""
    return nbformat.writes(master_notebook(spec_module(exercise, course))) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.builder.notebooks", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale master notebooks")
    parser.add_argument("--course", help="the course folder (default: the repository's assignments/)")
    parser.add_argument("exercises", nargs="*")
    args = parser.parse_args(argv)
    stale = []
    for exercise in args.exercises or discover_exercises(args.course):
        text, path = render(exercise, args.course), master_path(exercise, args.course)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(exercise)
        if not args.check:
            path.write_text(text)
            print(f"wrote {path}")
    if args.check and stale:
        print("stale master notebooks (run python -m autograder.builder.notebooks): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
