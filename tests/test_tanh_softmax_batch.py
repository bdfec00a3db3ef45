"""tanh_softmax_batch (seed 004): backward through the full softmax Jacobian, and the notebook's
dLossdZ2, which multiplies the Jacobian's sum term by A2 twice."""
import json
from pathlib import Path

import numpy as np
import pytest

from solutions.gradcheck import SMOOTH_TOLERANCE, numerical_gradient, numerical_gradients, rel_error
from solutions.networks import tanh_softmax_batch as net
from random_networks import column_params

LEDGER = json.loads(
    (Path(__file__).resolve().parents[1] / "assignments" / "tanh_softmax_batch" / "documented_numbers.json").read_text()
)
PRINTED = {entry["id"]: np.asarray(entry["printed"], dtype=float) for entry in LEDGER["entries"]}
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def random_problem(rng, n_in, n_hidden, n_classes, batch):
    """Random parameters (scale 0.5: tanh away from saturation), inputs and labels."""
    params = column_params(rng, (n_in, n_hidden, n_classes), weight_scale=0.5, bias_scale=0.5)
    X = rng.normal(0, 1, (n_in, batch))
    labels = rng.integers(0, n_classes, batch)
    return params, X, net.one_hot(labels, n_classes)


def mean_loss(X, Y):
    return lambda p: net.cross_entropy(net.forward(p, X)["A2"], Y)


SIZES = [(2, 2, 3, 3), (2, 2, 3, 1), (3, 5, 4, 7), (6, 3, 2, 2), (4, 7, 5, 10)]


@pytest.mark.parametrize("n_in,n_hidden,n_classes,batch", SIZES)
def test_backward_matches_finite_differences_of_the_mean_cross_entropy(n_in, n_hidden, n_classes, batch):
    rng = np.random.default_rng(1000 * n_in + 100 * n_hidden + 10 * n_classes + batch)
    for _ in range(3):
        params, X, Y = random_problem(rng, n_in, n_hidden, n_classes, batch)
        grads = net.backward(params, net.forward(params, X), X, Y)
        fd = numerical_gradients(mean_loss(X, Y), params)
        assert set(grads) == set(PARAM_NAMES)
        for name in PARAM_NAMES:
            assert grads[name].shape == params[name].shape, name
            assert rel_error(grads[name], fd[name]) < SMOOTH_TOLERANCE, name


@pytest.mark.parametrize("n_in,n_hidden,n_classes,batch", SIZES[2:4])
def test_intermediate_gradients_match_finite_differences(n_in, n_hidden, n_classes, batch):
    rng = np.random.default_rng(7 + batch)
    params, X, Y = random_problem(rng, n_in, n_hidden, n_classes, batch)
    cache = net.forward(params, X)
    steps = net.backward_steps(params, cache, X, Y)
    fd = net.finite_differences(params, X, Y)
    for name in ("dA2", "dZ2", "dA1", "dZ1"):
        assert rel_error(steps[name], fd[name]) < SMOOTH_TOLERANCE, name
    assert rel_error(1 - cache["A1"] ** 2, fd["dA1_dZ1"]) < SMOOTH_TOLERANCE


@pytest.mark.parametrize("n_classes,batch", [(3, 3), (4, 1), (5, 6)])
def test_softmax_backward_applies_the_full_jacobian_per_column(n_classes, batch):
    rng = np.random.default_rng(n_classes * 10 + batch)
    A = net.softmax(rng.normal(0, 1, (n_classes, batch)))
    dA = rng.normal(0, 1, (n_classes, batch))
    dZ = net.softmax_backward(dA, A)
    for j in range(batch):
        a = A[:, j]
        jacobian = np.diag(a) - np.outer(a, a)  # dA[i] / dZ[k]
        np.testing.assert_allclose(dZ[:, j], jacobian.T @ dA[:, j], rtol=1e-12, atol=1e-15)


def test_softmax_is_column_wise_and_one_hot_builds_columns():
    Z = net.softmax_example_Z()
    A = net.softmax(Z)
    np.testing.assert_allclose(A.sum(axis=0), 1.0, atol=1e-15)
    np.testing.assert_allclose(A[:, 1], np.exp(Z[:, 1]) / np.exp(Z[:, 1]).sum(), rtol=1e-14)
    np.testing.assert_array_equal(net.one_hot(np.array([[2, 0, 2, 1]]), 3),
                                  [[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 0]])
    assert net.one_hot([1, 1], 4).shape == (4, 2)


def test_predict_is_the_argmax_per_column():
    rng = np.random.default_rng(5)
    params, X, _ = random_problem(rng, 3, 4, 5, 9)
    labels = net.predict(params, X)
    assert labels.shape == (9,)
    np.testing.assert_array_equal(labels, np.argmax(net.forward(params, X)["A2"], axis=0))
    np.testing.assert_array_equal(net.predict(net.initial_params(), net.worked_x()), PRINTED["P"])


def test_cross_entropy_is_the_mean_over_the_batch():
    rng = np.random.default_rng(9)
    params, X, Y = random_problem(rng, 2, 3, 4, 5)
    A2 = net.forward(params, X)["A2"]
    by_hand = sum(-np.log(A2[np.argmax(Y[:, j]), j]) for j in range(5)) / 5
    assert net.cross_entropy(A2, Y) == pytest.approx(by_hand, abs=1e-14)


def test_our_per_class_b2_equals_the_notebooks_broadcast_scalar():
    """Same forward; the scalar's gradient is the sum of our per-class bias gradient."""
    params, X, Y = net.initial_params(), net.worked_x(), net.worked_y()
    scalar_b2 = np.array([[-0.1]])
    scalar_params = dict(params, b2=scalar_b2)
    np.testing.assert_allclose(net.forward(scalar_params, X)["A2"], net.forward(params, X)["A2"], rtol=0, atol=0)
    db2 = net.backward(params, net.forward(params, X), X, Y)["b2"]
    fd_scalar = numerical_gradient(lambda: mean_loss(X, Y)(scalar_params), scalar_b2)
    assert rel_error(db2.sum(), fd_scalar) < SMOOTH_TOLERANCE


def seed_chain(params, X, Y):
    """The notebook's backward pass, cells In [6] to In [8], as written (A2 twice in dLossdZ2)."""
    cache = net.forward(params, X)
    dA2 = -Y / cache["A2"] / X.shape[1]
    dZ2 = net.seed_dZ2(cache["A2"], dA2)
    dA1 = params["W2"].T @ dZ2
    dZ1 = dA1 * (1 - cache["A1"] ** 2)
    return {"dZ2": dZ2, "dW2": dZ2 @ cache["A1"].T, "db2": np.sum(dZ2, axis=1), "dA1": dA1,
            "dZ1": dZ1, "dW1": dZ1 @ X.T, "db1": np.sum(dZ1, axis=1, keepdims=True)}


SEED_ERROR_ENTRIES = [e for e in LEDGER["entries"] if e["status"] == "seed error"]


def test_the_seed_errors_are_dZ2_and_everything_computed_from_it():
    assert sorted(e["quantity"] for e in SEED_ERROR_ENTRIES) == sorted(
        ["dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"])


@pytest.mark.parametrize("entry", SEED_ERROR_ENTRIES, ids=lambda e: e["id"])
def test_the_double_multiplied_formula_reproduces_the_printed_value(entry):
    """The diagnosis: replaying the notebook's formula gives exactly what it printed."""
    wrong = seed_chain(net.initial_params(), net.worked_x(), net.worked_y())[entry["quantity"]]
    printed = np.asarray(entry["printed"], dtype=float)
    assert wrong.shape == printed.shape
    assert np.max(np.abs(wrong - printed)) <= entry["atol"]


@pytest.mark.parametrize("entry", SEED_ERROR_ENTRIES, ids=lambda e: e["id"])
def test_the_printed_seed_error_disagrees_with_finite_differences(entry):
    fd = net.finite_difference_values()[entry["quantity"]]
    printed = np.asarray(entry["printed"], dtype=float)
    assert rel_error(printed, fd.reshape(printed.shape)) > 1e-2
    assert rel_error(np.asarray(entry["correct"], dtype=float), fd.reshape(printed.shape)) < SMOOTH_TOLERANCE


@pytest.mark.parametrize("n_in,n_hidden,n_classes,batch", SIZES)
def test_the_double_multiplied_formula_disagrees_with_finite_differences_on_random_networks(
        n_in, n_hidden, n_classes, batch):
    rng = np.random.default_rng(50 + batch)
    params, X, Y = random_problem(rng, n_in, n_hidden, n_classes, batch)
    fd = net.finite_differences(params, X, Y)
    wrong = seed_chain(params, X, Y)
    assert rel_error(wrong["dZ2"], fd["dZ2"]) > 1e-2
    assert rel_error(wrong["dW1"], fd["dW1"]) > 1e-2
    # the correct formula, prod2 - sumprod, is the one our softmax_backward applies
    cache = net.forward(params, X)
    dA2 = -Y / cache["A2"] / batch
    prod2 = cache["A2"] * dA2
    right = prod2 - cache["A2"] * np.sum(prod2, axis=0)
    assert rel_error(right, fd["dZ2"]) < SMOOTH_TOLERANCE
    np.testing.assert_allclose(right, (cache["A2"] - Y) / batch, atol=1e-15)
