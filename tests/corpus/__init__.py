"""A corpus of plausible, partly wrong student notebooks, and the grade a fair instructor gives each.

Every corpus notebook starts from the built student notebook filled with the solution code
(``examples/make_examples.py``: ``filled_notebook``) and gets ONE planted change: a classic
mistake, float32 arithmetic, loops, lists for arrays, an in-place update, an interface slip, or a
wrong early function that later questions call. A change is AST-precise: an expression inside one
function is replaced (``Replace``), or a run of its statements (``ReplaceStatements``), statements
are put at the start of a function's body (``CastFloat32``), the returned dict is reshaped
(``ReturnDict``), or a whole function is swapped for one written in ``rewritten_functions.py``
(``ReplaceFunction``). A change that does not apply
raises ``PlantError``: a case can never silently become the correct notebook.

The cases and their fair ranges live in ``cases.py``; how grades are judged against the ranges in
``measure.py``; ``student_machine.py`` runs a notebook and its public checks as a student's
machine would (no ``solutions``, no ``autograder``).
"""
from __future__ import annotations

import ast
import copy
import importlib.util
import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

REPO = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location("make_examples", REPO / "examples" / "make_examples.py")
make_examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_examples)

Range = tuple[float, float]
FULL: Range = (1.0, 1.0)

# What a case is about. Classic mistakes (including a wrong early function that later questions
# call) are "mistake"; the rest are right or nearly right work a fair grader must not punish much.
KINDS = ("mistake", "float32", "loops", "lists", "in-place", "interface", "lenient", "equivalent", "control")


class PlantError(AssertionError):
    """A planted change did not apply to the solution code (its text changed, or it never matched)."""


@dataclass(frozen=True)
class Case:
    """One corpus notebook: the change planted, and the score range (fractions of each question's
    points) a fair instructor would give. Questions not in ``fair`` deserve full marks."""
    exercise: str
    name: str
    kind: str
    edits: tuple
    fair: dict[str, Range]
    why: str

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: unknown kind {self.kind!r}")
        for q, (lo, hi) in self.fair.items():
            if not (re.fullmatch(r"q\d+", q) and 0.0 <= lo <= hi <= 1.0):
                raise ValueError(f"{self.id}: bad fair range {q}: {(lo, hi)}")
        if self.kind != "control" and not self.edits:
            raise ValueError(f"{self.id}: a corpus case needs a planted change")

    @property
    def id(self) -> str:
        return f"{self.exercise}/{self.name}"

    def fair_range(self, question: str) -> Range:
        return self.fair.get(question, FULL)

    @property
    def functions(self) -> set[str]:
        """The functions the planted change names (none for a float32 cast, which touches every one)."""
        return {e.function for e in self.edits if hasattr(e, "function")}


# ------------------------------------------------------------------ planting changes

def _function_cell(nb, function: str):
    cells = [c for c in nb.cells if make_examples._defines(c, function)]
    if len(cells) != 1:
        raise PlantError(f"{len(cells)} cells define {function}()")
    cell = cells[0]
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return cell, node
    raise PlantError(f"no top-level def {function}() in its cell")


def _apply(nb, function: str, spans: list[tuple[ast.AST, str]], what: str) -> None:
    """Replace each node's exact span (within ``function``'s cell) by its text, last first."""
    cell, _ = _function_cell(nb, function)
    if not spans:
        raise PlantError(f"{function}(): {what} found nothing to change")
    before = cell.source
    source = before
    for node, text in sorted(spans, key=lambda s: (s[0].lineno, s[0].col_offset), reverse=True):
        source = make_examples._replace(source, node, text)
    if source == before:
        raise PlantError(f"{function}(): {what} left the code unchanged")
    try:
        ast.parse(source)
    except SyntaxError as error:
        raise PlantError(f"{function}(): {what} does not parse: {error}") from None
    cell.source = source


def _shape(node: ast.AST) -> str:
    """The expression's syntax tree, whether it is read or assigned to (``Y[i]`` either way)."""
    node = copy.deepcopy(node)
    for sub in ast.walk(node):
        if hasattr(sub, "ctx"):
            sub.ctx = ast.Load()
    return ast.dump(node, annotate_fields=False, include_attributes=False)


@dataclass(frozen=True)
class Replace:
    """Every occurrence of expression ``old`` inside ``function`` becomes ``new`` (matched on the
    syntax tree, so spacing does not matter); ``count``, if given, is how many there must be."""
    function: str
    old: str
    new: str
    count: int | None = None

    def __call__(self, nb) -> None:
        _, func = _function_cell(nb, self.function)
        target = _shape(ast.parse(self.old, mode="eval").body)
        found, taken = [], []
        for node in ast.walk(func):
            if isinstance(node, ast.expr) and _shape(node) == target:
                span = (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)
                if not any(_inside(span, t) for t in taken):
                    found.append((node, self.new))
                    taken.append(span)
        if self.count is not None and len(found) != self.count:
            raise PlantError(f"{self.function}(): `{self.old}` occurs {len(found)} times, expected {self.count}")
        _apply(nb, self.function, found, f"replacing `{self.old}`")


def _inside(span, outer) -> bool:
    return (outer[0], outer[1]) <= (span[0], span[1]) and (span[2], span[3]) <= (outer[2], outer[3])


@dataclass(frozen=True)
class ReplaceStatements:
    """The consecutive statements ``old`` inside ``function`` (matched on the syntax tree, and
    exactly once) become ``new``, at their indentation: a step moved, dropped or written another
    way, on the solution's own code rather than on a copy of it."""
    function: str
    old: str
    new: str

    def __call__(self, nb) -> None:
        _, func = _function_cell(nb, self.function)
        target = [_shape(s) for s in ast.parse(textwrap.dedent(self.old)).body]
        found = []
        for node in ast.walk(func):
            for _, body in ast.iter_fields(node):
                if not (isinstance(body, list) and body and isinstance(body[0], ast.stmt)):
                    continue
                shapes = [_shape(s) for s in body]
                found += [body[i:i + len(target)] for i in range(len(body) - len(target) + 1)
                          if shapes[i:i + len(target)] == target]
        if len(found) != 1:
            raise PlantError(f"{self.function}(): the statements `{self.old.strip()}` occur {len(found)} times, "
                             "expected once")
        first, last = found[0][0], found[0][-1]
        text = textwrap.dedent(self.new).strip("\n").replace("\n", "\n" + " " * first.col_offset)
        span = ast.Pass(lineno=first.lineno, col_offset=first.col_offset,
                        end_lineno=last.end_lineno, end_col_offset=last.end_col_offset)
        if not text:  # dropped: whole lines go, indentation and line end too
            span = ast.Pass(lineno=first.lineno, col_offset=0, end_lineno=last.end_lineno + 1, end_col_offset=0)
        _apply(nb, self.function, [(span, text)], f"replacing the statements `{self.old.strip()}`")


@dataclass(frozen=True)
class ReplaceFunction:
    """``function`` rewritten whole: the source of ``replacement`` (``rewritten_functions.py``),
    renamed to ``function``."""
    function: str
    replacement: Callable

    def __call__(self, nb) -> None:
        _, func = _function_cell(nb, self.function)
        source = textwrap.dedent(inspect.getsource(self.replacement))
        source, n = re.subn(rf"^def {self.replacement.__name__}\(", f"def {self.function}(", source, count=1, flags=re.M)
        if n != 1:
            raise PlantError(f"cannot rename {self.replacement.__name__} to {self.function}")
        _apply(nb, self.function, [(func, source.rstrip("\n"))], f"rewriting with {self.replacement.__name__}")


@dataclass(frozen=True)
class ReturnDict:
    """The dict ``function`` returns, changed: ``how`` is "tuple" (its values in order, where a dict
    is asked), "lists" (every value ``.tolist()``), or "extra" (one more entry ``extra``)."""
    function: str
    how: str
    extra: tuple[str, str] | None = None

    def __call__(self, nb) -> None:
        cell, func = _function_cell(nb, self.function)
        returns = [n for n in ast.walk(func) if isinstance(n, ast.Return) and isinstance(n.value, ast.Dict)]
        if len(returns) != 1:
            raise PlantError(f"{self.function}() returns a dict literal {len(returns)} times, expected once")
        d = returns[0].value
        keys = [ast.get_source_segment(cell.source, k) for k in d.keys]
        values = [ast.get_source_segment(cell.source, v) for v in d.values]
        if self.how == "tuple":
            text = "(" + ", ".join(values) + ")"
        elif self.how == "lists":
            text = "{" + ", ".join(f"{k}: np.asarray({v}).tolist()" for k, v in zip(keys, values)) + "}"
        elif self.how == "extra" and self.extra:
            key, value = self.extra
            text = "{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, values)) + f', "{key}": {value}' + "}"
        else:
            raise ValueError(f"ReturnDict: unknown change {self.how!r}")
        _apply(nb, self.function, [(d, text)], f"returning the dict as {self.how}")


# argument names that hold dicts of arrays, and those that are not arrays at all
DICT_ARGS = frozenset({"params", "grads", "cache"})
NOT_ARRAYS = frozenset({"lr", "gamma", "eta", "epochs", "iterations", "n_classes", "labels",
                        "lam", "alpha", "batch_size", "seed", "steps", "t", "beta1", "beta2", "eps"})


@dataclass(frozen=True)
class CastFloat32:
    """Every function (but ``skip``) starts by casting its array arguments to float32, as a student
    used to float32 frameworks writes it; the math is otherwise the solution's."""
    skip: tuple[str, ...] = ()

    def __call__(self, nb) -> None:
        changed = 0
        for cell in [c for c in nb.cells if c.cell_type == "code"]:
            for node in ast.parse(cell.source).body:
                if not isinstance(node, ast.FunctionDef) or node.name in self.skip:
                    continue
                lines = []
                for arg in (a.arg for a in node.args.args):
                    if arg in DICT_ARGS:
                        lines.append(f"{arg} = {{k: np.asarray(v, dtype=np.float32) for k, v in {arg}.items()}}")
                    elif arg not in NOT_ARRAYS:
                        lines.append(f"{arg} = np.asarray({arg}, dtype=np.float32)")
                if not lines:
                    continue
                body = node.body
                first = body[1] if (len(body) > 1 and isinstance(body[0], ast.Expr)
                                    and isinstance(body[0].value, ast.Constant)) else body[0]
                indent = " " * first.col_offset
                text = f"\n{indent}".join(lines) + f"\n{indent}" + ast.get_source_segment(cell.source, first)
                _apply(nb, node.name, [(first, text)], "casting to float32")
                changed += 1
        if not changed:
            raise PlantError("CastFloat32 found no function with array arguments")


# ------------------------------------------------------------------ the notebooks

def questions_of_functions(nb) -> dict[str, str]:
    """{function: the question it answers}: the first ``grader.check("qN")`` after its definition."""
    out, pending = {}, []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        check = re.search(r"grader\.check\(\s*[\"'](q\d+)[\"']", cell.source)
        if check:
            out.update({f: check.group(1) for f in pending})
            pending = []
        pending += [n.name for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)]
    return out


def calling_questions(nb, function: str) -> set[str]:
    """The other questions whose functions call ``function``, directly or through others."""
    calls = {}
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef):
                calls[node.name] = {n.func.id for n in ast.walk(node)
                                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    callers, frontier = set(), {function}
    while frontier:
        frontier = {f for f, called in calls.items() if called & frontier} - callers - {function}
        callers |= frontier
    question = questions_of_functions(nb)
    return {question[f] for f in callers if f in question} - {question.get(function)}


def solution_filled(dist: Path, exercise: str) -> nbformat.NotebookNode:
    """The built student notebook with every answer filled in from the solution notebook."""
    student = nbformat.read(dist / exercise / "student" / f"{exercise}.ipynb", as_version=4)
    solution = nbformat.read(dist / exercise / "autograder" / f"{exercise}.ipynb", as_version=4)
    return make_examples.filled_notebook(student, solution)


def plant(filled: nbformat.NotebookNode, case: Case) -> nbformat.NotebookNode:
    nb = copy.deepcopy(filled)
    for edit in case.edits:
        try:
            edit(nb)
        except PlantError as error:
            raise PlantError(f"{case.id}: {error}") from None
    return nb


def write_corpus(dist: Path, out: Path, cases) -> dict[str, Path]:
    """Write every case's notebook to ``out/<exercise>/<name>.ipynb``; returns {case id: path}."""
    paths, filled = {}, {}
    for case in cases:
        if case.exercise not in filled:
            filled[case.exercise] = solution_filled(dist, case.exercise)
        path = out / case.exercise / f"{case.name}.ipynb"
        make_examples._write(path, plant(filled[case.exercise], case))
        paths[case.id] = path
    return paths
