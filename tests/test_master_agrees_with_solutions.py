"""The master notebooks cannot drift from solutions/ nor from their descriptions, and cover the ledgers."""
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
    """Execute the master notebook's solution cells (with the Otter markers left in: they are comments)."""
    nb = nbformat.read(master_path(exercise), as_version=4)
    env = {"np": np}
    for cell in nb.cells:
        if cell.cell_type == "code" and "# BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, f"{exercise} master", "exec"), env)
    return env


def random_args(exercise, function, ref, rng, m):
    """Arguments of the student-facing ``function`` at random sizes and batch size m."""
    if exercise == "relu_mse_training":
        return relu_mse_training_args(function, ref, rng, m)
    if exercise == "silu_momentum":
        return silu_momentum_args(function, ref, rng, m)
    sizes = {"sigmoid_mlp": (4, 5, 3, 2), "relu_softmax": (3, 6, 4, 3), "tanh_softmax_batch": (3, 4, 5)}[exercise]
    names = [f"{k}{i}" for i in range(1, len(sizes)) for k in ("W", "b")]
    params = {}
    for i in range(1, len(sizes)):
        params[f"W{i}"] = rng.normal(size=(sizes[i], sizes[i - 1]))
        params[f"b{i}"] = rng.normal(size=(sizes[i], 1))
    assert set(names) == set(params)
    X = rng.normal(size=(sizes[0], m))
    Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], size=m)]
    P = ref.softmax(rng.normal(size=(sizes[-1], m)))
    elementwise = (rng.normal(size=(3, m)),)
    table = {
        "sigmoid": elementwise, "relu": elementwise, "relu_derivative": elementwise,
        "softmax": (rng.normal(size=(sizes[-1], m)) * 10,),
        "forward": (params, X),
        "cross_entropy": (P, Y),
        "backward": (params, ref.forward(params, X), X, Y),
        "sgd_step": (params, {k: rng.normal(size=v.shape) for k, v in params.items()}, 0.1),
        "one_hot": (rng.integers(0, 4, size=(1, m)), 4),
        "softmax_backward": (rng.normal(size=(4, m)), ref.softmax(rng.normal(size=(4, m)))),
        "predict": (params, X),
    }
    return table[function]


def relu_mse_training_args(function, ref, rng, m):
    """relu_mse_training's functions: a 5-6-2 network (sigmoid out), targets in {0, 1}."""
    params = {"W1": rng.normal(size=(6, 5)), "b1": rng.normal(size=(6, 1)),
              "W2": rng.normal(size=(2, 6)), "b2": rng.normal(size=(2, 1))}
    X = rng.normal(size=(5, m))
    y = rng.integers(0, 2, size=(2, m)).astype(float)
    table = {
        "forward": lambda: (params, X),
        "mse_loss": lambda: (rng.uniform(size=(2, m)), y),
        "backward": lambda: (params, ref.forward(params, X), X, y),
        "gradient_descent_step": lambda: (params, {k: rng.normal(size=v.shape) for k, v in params.items()}, 0.1),
        "train": lambda: (params, X, y, 0.3, 7),
    }
    return table[function]()


def silu_momentum_args(function, ref, rng, m):
    """silu_momentum's functions, row convention: a 4-5-1 network (SiLU, sigmoid out), labels in {0, 1}."""
    params = {"W": rng.normal(size=(4, 5)), "b1": rng.normal(size=5), "U": rng.normal(size=5),
              "b2": np.array(rng.normal())}
    X = rng.normal(size=(m, 4))
    y = rng.integers(0, 2, size=m).astype(float)
    table = {
        "silu": lambda: (rng.normal(0, 3, size=(m, 5)),),
        "silu_derivative": lambda: (rng.normal(0, 3, size=(m, 5)),),
        "forward": lambda: (params, X),
        "bce_loss": lambda: (np.concatenate([rng.uniform(size=m), [0.0, 1.0]]),
                             np.concatenate([y, [1.0, 0.0]])),  # the clipped ends too
        "backward": lambda: (params, ref.forward(params, X), X, y),
        "momentum_step": lambda: (rng.normal(size=(4, m)), rng.normal(size=(4, m)), rng.normal(size=(4, m)), 0.9, 0.8),
        "train_momentum": lambda: (params, X, y, 0.9, 0.8, 3),
    }
    return table[function]()


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


def student_functions(exercise):
    """The functions the student writes, question by question (the description's model answers)."""
    return [f.__name__ for q in load(exercise).questions() for f in q.functions]


@pytest.mark.parametrize("exercise", [e for e in MASTERS if e in ("sigmoid_mlp", "relu_softmax", "tanh_softmax_batch", "relu_mse_training",
                                                            "silu_momentum")])
def test_master_solutions_agree_with_reference_on_random_inputs(exercise):
    ref = reference(exercise)
    env = solution_namespace(exercise)
    functions = student_functions(exercise)
    assert functions
    rng = np.random.default_rng(99)
    for function in functions:
        for m in (1, 3, 8):
            args = random_args(exercise, function, ref, rng, m)
            ours = env[function](*[_copy(a) for a in args])
            theirs = getattr(ref, function)(*[_copy(a) for a in args])
            _assert_close(_as_plain(ours), _as_plain(theirs), f"{exercise}.{function} (batch {m})")


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
