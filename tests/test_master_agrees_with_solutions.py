"""The master notebooks cannot drift from solutions/ nor from their descriptions, and cover the ledgers."""
import contextlib
import json

import nbformat
import numpy as np
import pytest

from autograder import EXERCISES
from autograder.builder import master_path
from autograder.builder.notebooks import render
from solutions.describe import ledger_entries
from solutions.exercises import load, reference

MASTERS = [e for e in EXERCISES if master_path(e).exists()]


def solution_namespace(exercise):
    """Run the master notebook's code as a student's kernel would, solutions filled in: the given code
    of the intro and every solution cell (the Otter markers are comments); no test or grader cells."""
    nb = nbformat.read(master_path(exercise), as_version=4)
    env = {"np": np}
    with contextlib.chdir(master_path(exercise).parent):  # beside its data files, as a notebook runs
        for cell in nb.cells:
            if cell.cell_type == "code" and not any(w in cell.source for w in ("otter", "grader", "BEGIN TEST CONFIG")):
                exec(compile(cell.source, f"{exercise} master", "exec"), env)
    return env


def _as_plain(value):
    if isinstance(value, dict):
        return {k: _as_plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_as_plain(v) for v in value]
    return np.asarray(value, dtype=float)


def _assert_close(a, b, where):
    if isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for k in b:
            _assert_close(a[k], b[k], f"{where}[{k}]")
    elif isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_close(x, y, f"{where}[{i}]")
    else:
        assert a.shape == b.shape, where
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=where)


@pytest.mark.parametrize("exercise", MASTERS)
def test_master_solutions_agree_with_reference_on_random_inputs(exercise):
    """Every function a hidden test checks: the master notebook's answer equals the reference's on
    inputs drawn as the hidden tests draw them, from other seeds (what Otter Assign checks on the
    hidden seed alone)."""
    ref = reference(exercise)
    env = solution_namespace(exercise)
    hidden = [t for q in load(exercise).questions() for t in q.tests if t.kind == "hidden"]
    assert hidden, f"{exercise}: no hidden test"
    for test in hidden:
        function = test.needs[0]
        for seed in (1, 2, 3):
            for number, args in enumerate(test.cases(np.random.default_rng(seed))):
                ours = env[function](*_copy(args))
                theirs = getattr(ref, function)(*_copy(args))
                _assert_close(_as_plain(ours), _as_plain(theirs), f"{exercise}.{function} (seed {seed}, case {number})")


def _copy(value):
    import copy
    return copy.deepcopy(value)


@pytest.mark.parametrize("exercise", MASTERS)
def test_master_notebook_is_what_the_spec_generates(exercise):
    assert master_path(exercise).read_text() == render(exercise), \
        f"{exercise}: run python -m autograder.builder.notebooks {exercise}"


@pytest.mark.parametrize("exercise", [e for e in MASTERS if (master_path(e).parent / "documented_numbers.json").exists()])
def test_every_reproduced_ledger_number_is_in_a_public_test(exercise):
    """Exercises from a worked notebook (those with a ledger): its reproduced numbers are checked publicly."""
    nb = nbformat.read(master_path(exercise), as_version=4)
    public = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and "BEGIN TEST CONFIG" in c.source
                       and "hidden: false" in c.source)
    with open(master_path(exercise).parent / "documented_numbers.json") as f:
        entries = ledger_entries(json.load(f))  # incl. nested sections such as relu_mse_training's our_run
    missing = [e["id"] for e in entries if e["status"] == "reproduced" and f"'ledger_id': {e['id']!r}" not in public]
    assert not missing, f"{exercise}: reproduced ledger entries with no public test: {missing}"


@pytest.mark.parametrize("exercise", MASTERS)
def test_every_question_has_points_and_public_and_hidden_tests(exercise):
    for q in load(exercise).questions():
        assert q.points > 0, q.name
        assert any(not t.hidden for t in q.tests), f"{exercise} {q.name}: no public test"
        assert any(t.hidden for t in q.tests), f"{exercise} {q.name}: no hidden test"
        if "backward" in [f.__name__ for f in q.functions]:
            assert any(t.kind == "finite_differences" and t.hidden for t in q.tests), \
                f"{exercise} {q.name}: backward without a finite-difference hidden test"
