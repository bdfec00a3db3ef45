"""How an exercise is described: the vocabulary of ``<course>/<name>/exercise.py``.

A description lists its questions (``Question``), each with its model answer (real functions, as
a student writes them) and its tests, made with the constructors below from data: the arguments,
the points, and values computed now from the exercise's reference (``ref``). The test logic
itself lives in ``autograder/checks.py`` (shipped as ``backprop_checks``); a test cell is one call
of a check with its data as literals (``lit``). ``autograder.builder.notebooks`` turns a
description into the Otter Assign master notebook.

Only numpy and the standard library: the autograder bundle ships this package, and the grader
loads descriptions for their model answers (``autograder.checks.supplied_calls``).
"""
import ast
import inspect
import json
import textwrap
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np


# ----------------------------------------------------------------------------- literals

def lit(value):
    """Python source for ``value`` (arrays, numbers, strings, None, dicts, tuples, lists), exact to the last bit."""
    if value is None or isinstance(value, (str, bool)):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {lit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + "".join(lit(v) + ", " for v in value) + ")"
    if isinstance(value, list):  # a list stays a list (the interface test tells lists from arrays)
        return "[" + ", ".join(lit(v) for v in value) + "]"
    array = np.asarray(value)
    if array.dtype.kind in "iu":
        body = repr(array.tolist())
        return body if array.ndim == 0 else f"np.array({body})"
    if array.dtype.kind == "b":
        return f"np.array({array.tolist()!r})"
    body = _floats(array.astype(float).tolist())
    return body if array.ndim == 0 else f"np.array({body})"


def _floats(value):
    if isinstance(value, list):
        return "[" + ", ".join(_floats(v) for v in value) + "]"
    return repr(float(value))


# ----------------------------------------------------------------------------- ledger

def ledger_entries(data):
    """Every entry of a ledger: the top-level ``entries`` and those of any section that holds its
    own (relu_mse_training's ``our_run``: our seeded run's numbers, where the seed's are unseeded)."""
    nested = [e for section in data.values() if isinstance(section, dict) for e in section.get("entries", [])]
    return list(data["entries"]) + nested


class Ledger:
    """The exercise's documented numbers, by entry id."""

    def __init__(self, exercise):
        from solutions.exercises import folder
        with open(folder(exercise) / "documented_numbers.json") as f:
            self.data = json.load(f)
        self.entries = {e["id"]: e for e in ledger_entries(self.data)}

    def reproduced(self):
        return [e for e in self.entries.values() if e["status"] == "reproduced"]

    def entry(self, entry_id, label, view, variants=None, batch_size=None):
        """A ``documented`` step of ``worked_example_test``: the part ``view`` of the student's
        results against ledger entry ``entry_id``, with its printed value and tolerance."""
        e = self.entries[entry_id]
        if e["status"] != "reproduced":
            raise ValueError(f"ledger entry {entry_id} is {e['status']!r}, not reproduced")
        options = {"atol": e["atol"]}
        options.update({"source": e["source"]} if "source" in e else {"cell": e["cell"]})  # source: not the seed's
        options["ledger_id"] = entry_id
        if variants:
            options["variants"] = variants
        if batch_size:
            options["batch_size"] = batch_size
        return ("documented", label, view, e["printed"], options)


def public_variants(exercise, function, args):
    """Known wrong answers on public inputs (solutions.mistakes), computed now to embed as literals."""
    try:
        from solutions.mistakes import wrong_answers
    except ImportError:
        return {}
    import copy
    return {code: wrong for code, wrong in
            sorted((wrong_answers(exercise, function, copy.deepcopy(args)) or {}).items())}


def variants_of(variants, key, expected):
    """The part ``key`` of every wrong variant that differs there from ``expected`` (None if none)."""
    out = {}
    for code, wrong in variants.items():
        try:
            part = np.asarray(wrong[key], dtype=float)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if part.shape != np.shape(expected) or not np.allclose(part, expected, atol=1e-12, rtol=0):
            out[code] = part
    return out or None


@dataclass
class Test:
    """One test cell, made by the constructors below (a description never writes a body): ``body``
    is one or two calls of ``backprop_checks`` with literal data."""
    name: str            # the test function's name (unique within the notebook)
    needs: tuple         # the student's functions it receives, by name
    body: str            # the test function's body (imports of numpy as np, backprop_checks as bc are added)
    points: float = 1
    hidden: bool = False
    kind: str = ""       # the constructor that made it: "values", "hidden", "finite_differences", ...
    cases: object = None  # hidden tests: the description's function drawing their arguments from an rng


@dataclass
class Question:
    name: str            # q1, q2, ...
    title: str
    prompt: str          # markdown
    solution: object     # the model answer: a function of the description, or a tuple of them
    tests: list = field(default_factory=list)
    after: str = ""      # an optional code cell after the question that tries the function out
    all_or_nothing: bool = False  # the instructor's option; default: the points of the passing tests

    @property
    def points(self):
        total = sum(t.points for t in self.tests)
        return int(total) if float(total).is_integer() else total

    @property
    def functions(self):
        """The model answer's functions (what the student writes for this question)."""
        return tuple(self.solution) if isinstance(self.solution, (tuple, list)) else (self.solution,)

    def solution_source(self):
        """The model answer as notebook code: each function's source, its body (after the
        docstring) between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` for Otter Assign to hide."""
        return "\n\n\n".join(marked_solution(f) for f in self.functions)


def marked_solution(function):
    """``function``'s source with its body, after the docstring, marked as the solution."""
    source = textwrap.dedent(inspect.getsource(function)).rstrip()
    lines = source.splitlines()
    definition = ast.parse(source).body[0]
    first = definition.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
        and isinstance(first.value.value, str)
    start = first.end_lineno if has_doc else definition.body[0].lineno - 1  # 0-based index of the body
    indent = " " * definition.body[-1].col_offset
    return "\n".join(lines[:start] + [indent + "# BEGIN SOLUTION"] + lines[start:] + [indent + "# END SOLUTION"])


def run_cell(source):
    """The names a notebook code cell defines, run as the notebook runs it. A worked example shown
    in the intro as code is computed from that same code, so the numbers students see and the ones
    the tests use cannot drift apart."""
    namespace = {}
    exec(compile(textwrap.dedent(source), "<worked example cell>", "exec"), namespace)
    return namespace


class Reference(SimpleNamespace):
    """An exercise's reference: its student-facing functions composed from ``solutions``' building
    blocks, and the helpers of its worked example. ``@ref.add`` puts a function of the description
    in it under its own name (keeping it out of the model answers' way)."""

    __hash__ = object.__hash__  # one reference per exercise: it may key a dict, as a module can

    def add(self, function):
        setattr(self, function.__name__, function)
        return function


HIDDEN_SEED = 20240601  # hidden inputs are drawn from this seed; the values never reach a student


def hidden_test(function, cases, *, name=None, needs=None, batch_of=None, points=2, atol=None, rtol=None):
    """A hidden test: the student's ``function`` against the reference's on the argument tuples that
    ``cases(rng)``, a function of the description, draws from the hidden seed. ``batch_of``:
    (argument index, axis) where the batch size is, for diagnosis."""
    options = "".join(f", {k}={v!r}" for k, v in (("batch_of", batch_of), ("atol", atol), ("rtol", rtol))
                      if v is not None)
    body = f"bc.check_described_cases({function!r}, {function}, {cases.__name__!r}{options})\n"
    return Test(name or f"test_{function}_hidden", tuple(needs or (function,)), body, points=points, hidden=True,
                kind="hidden", cases=cases)


def finite_difference_test(function, cases, *, name=None, tolerance=None, points=2):
    """A hidden test: the gradients ``function`` returns agree with central finite differences of the
    loss, on the (arguments, loss of the parameters) pairs ``cases(rng)`` draws."""
    options = f", tolerance={tolerance!r}" if tolerance is not None else ""
    body = f"bc.check_described_gradients({function!r}, {function}, {cases.__name__!r}{options})\n"
    return Test(name or f"test_{function}_finite_differences", (function,), body, points=points, hidden=True,
                kind="finite_differences")


def public_values_test(name, function, args, expected, *, needs=None, points=1, variants=None, batch_size=None,
                       label=None, shape_label=None):
    """A public test: ``function(*args)`` against the reference's values on public inputs (literals).
    ``shape_label``: also check the exact shape and dtype kind of ``expected``, under that name."""
    label = label or f"{function}({', '.join(_arg_label(a) for a in args)})"
    options = ""
    if variants:
        options += f", variants={lit(variants)}"
    if batch_size:
        options += f", batch_size={batch_size}"
    body = _received(function, args) + f"bc.check_public({label!r}, received, {lit(expected)}{options})\n"
    if shape_label:
        kind = "int" if np.asarray(expected).dtype.kind in "iub" else "float"
        body += f"bc.check_shape_dtype({shape_label!r}, received, {np.shape(expected)!r}, {kind!r})\n"
    return Test(name, tuple(needs or (function,)), body, points=points, kind="values")


def worked_tests(function, args, expected, cases, *, label, batch_size=None, batch_of=None, hidden_points=2):
    """The usual three tests of a function: on the worked example ``args``, its shapes
    (``public_structure_test``: an interface slip costs that point only) and its values
    (``public_values_test``, against ``expected``, the reference's answer); then the hidden
    cases ``cases(rng)`` (``hidden_test``)."""
    return [public_structure_test(f"test_{function}_shapes", function, args, expected, label=label),
            public_values_test(f"test_{function}_public", function, args, expected, label=label,
                               batch_size=batch_size),
            hidden_test(function, cases, batch_of=batch_of, points=hidden_points)]


def public_structure_test(name, function, args, example, *, needs=None, points=1, label=None):
    """A public test: what ``function(*args)`` returns has the reference's structure, shapes, dtypes."""
    label = label or f"{function}(...)"
    body = _received(function, args) + f"bc.check_interface({label!r}, received, {lit(example)})\n"
    return Test(name, tuple(needs or (function,)), body, points=points, kind="structure")


def _assigned(names, args):
    """Source assigning each argument's literal to its name, a line each."""
    return "".join(f"{n} = {lit(a)}\n" for n, a in zip(names, args))


def _received(function, args):
    """Source calling the student's ``function`` on literal ``args`` (``arg0``, ...), the supplied
    calls in place (``bc.call``), into ``received``."""
    names = [f"arg{i}" for i in range(len(args))]
    return _assigned(names, args) + f"received = bc.call({function}, {function!r}, {', '.join(names)})\n"


def _arg_label(value):
    if isinstance(value, dict):
        return "params"
    if isinstance(value, np.ndarray):
        return "array" + str(value.shape)
    return repr(value)


def inputs_unchanged_test(name, function, args, arg_names, *, points=1, label=None):
    """A public test: ``function(*args)`` leaves its arguments as they were (the question asks for
    new arrays). It costs this test's points only; the value tests do not see in-place changes."""
    body = (_assigned(arg_names, args)
            + f"bc.check_inputs_unchanged({function}, {function!r}, {', '.join(arg_names)}, names={list(arg_names)!r})\n")
    return Test(name, (function,), body, points=points, kind="inputs_unchanged")



# ----------------------------------------------------------------------------- worked-example tests
# A public test on the worked example is a list of steps, plain data that ``bc.check_worked_example``
# runs in order (see its docstring): calls of the student's functions on literal arguments, then
# checks of parts of what they returned (views), each against a value computed here from ``ref`` or
# printed in the ledger (``Ledger.entry``).

def worked_example_test(name, steps, *, points=1):
    """A public test: ``steps`` (made with the functions below) on the worked example, one call of
    ``bc.check_worked_example``. It receives the student's functions its calls name."""
    needs = tuple(dict.fromkeys(step[2] for step in steps if step[0] == "call"))
    names = [f"{step[0]}_{i}" for i, step in enumerate(steps, start=1)]  # one line per step: readable
    body = "".join(f"{n} = {lit(step)}\n" for n, step in zip(names, steps))
    body += f"bc.check_worked_example([{', '.join(names)}], {', '.join(f'{n}={n}' for n in needs)})\n"
    return Test(name, needs, body, points=points, kind="worked_example")


def call(result, function, args):
    """Step: the student's ``function(*args)``; later views name its value ``result``."""
    return ("call", result, function, tuple(args))


def structure(quantity, view, example):
    """Step: the view can be compared with ``example`` (keys, lengths, shapes up to singletons)."""
    return ("structure", quantity, view, example)


def shape(quantity, view, shape_, kind="float"):
    """Step: the view is an array of exactly ``shape_`` with a ``kind`` ("float" or "int") dtype."""
    return ("shape", quantity, view, tuple(shape_), kind)


def public(quantity, view, expected, *, variants=None, batch_size=None):
    """Step: the view agrees with ``expected`` (the reference's value); a known wrong variant is named."""
    options = {}
    if variants:
        options["variants"] = variants
    if batch_size:
        options["batch_size"] = batch_size
    return ("public", quantity, view, expected, options)


def accept(view, alternative, code, message):
    """Step: a view that agrees with ``alternative`` (another right answer) passes with a note."""
    return ("accept", view, alternative, code, message)


def result(name, *path):
    """View: the value of the call ``name``, indexed by each item of ``path`` in turn (a dict key, an
    item number, or an array index such as ``(0, 1)``)."""
    return ("result", name, *path)


def value(literal):
    """View: a value known now (an input of the test, or one computed from it)."""
    return ("value", literal)


def operation(name, *operands):
    """View: ``name`` (one of ``backprop_checks.VIEW_OPERATIONS``: sum, mean, minus, times, over, matmul,
    total_size) applied to ``operands``, views and options (an axis, a list of keys)."""
    return (name, *operands)
