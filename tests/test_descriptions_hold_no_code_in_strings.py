"""Tests are data (issue 11): no description writes test code inside a string.

A description makes its tests with the constructors of ``solutions.describe`` (``worked_example_test``,
``public_values_test``, ``hidden_test``, ...), which render one check call with literal data; its hidden
inputs are drawn by real functions (``_cases_*(rng)``). Read as source, a description must not build a
``Test`` itself nor hand a constructor a string where code goes; run, every test it makes must come
from a constructor.
"""
import ast

import pytest

from autograder import EXERCISES
from solutions.exercises import folder, load

# constructor -> (position, keyword) of its arguments that are functions of the description
FUNCTION_ARGUMENTS = {"hidden_test": (1, "cases"), "finite_difference_test": (1, "cases"),
                      "hidden_reference_test": (2, "cases")}


def _name(call):
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")


def _is_string(node):
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def code_in_strings(source):
    """(line, what) of every place ``source`` builds a test from a string of code."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if name == "Test":
            found.append((node.lineno, "Test(...) written by hand: use a constructor of solutions.describe"))
        if name in FUNCTION_ARGUMENTS:
            position, keyword = FUNCTION_ARGUMENTS[name]
            given = [k.value for k in node.keywords if k.arg == keyword]
            given += node.args[position:position + 1]
            if any(_is_string(arg) for arg in given):
                found.append((node.lineno, f"{name}: {keyword} given as a string, not a function"))
        for keyword in node.keywords:
            if keyword.arg in ("body", "extra", "setup", "batch") and _is_string(keyword.value):
                found.append((node.lineno, f"{name}: {keyword.arg}= given as a string of code"))
    return found


@pytest.mark.parametrize("exercise", EXERCISES)
def test_description_writes_no_test_code_in_strings(exercise):
    source = (folder(exercise) / "exercise.py").read_text()
    assert not code_in_strings(source), f"{exercise}: {code_in_strings(source)}"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_test_comes_from_a_constructor(exercise):
    tests = [t for q in load(exercise).questions() for t in q.tests]
    assert tests and all(t.kind for t in tests), [t.name for t in tests if not t.kind]


@pytest.mark.parametrize("source, count", [
    ('Test("t", ("f",), "bc.call(f)")', 1),
    ('hidden_test("f", "[(rng.normal(size=3),)]")', 1),
    ('hidden_test("f", cases=f"[{SIZES}]")', 1),
    ('public_values_test("t", "f", (1,), 2, extra="bc.check(received)")', 1),
    ('hidden_test("f", _cases_f, batch_of=(1, 1))', 0),
    ('finite_difference_test("backward", _cases_gradients)', 0),
])
def test_the_scan_finds_code_in_strings(source, count):
    assert len(code_in_strings(source)) == count
