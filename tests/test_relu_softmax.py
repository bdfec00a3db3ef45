"""relu_softmax (seed 001): exact backward on random sizes, and the notebook's rounded softmax.

The notebook rounds softmax(z3) to one decimal and backpropagates from that. Our forward stays
exact; our backward reads cache["a3"] as given, so feeding it the rounded a3 must give the printed
gradients, which are the exact gradients of the surrogate loss sum(g * z3) with g fixed.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from solutions.gradcheck import KINKED_TOLERANCE, SMOOTH_TOLERANCE, rel_error
from solutions.ledger import apply_transform
from solutions.losses import cross_entropy
from solutions.networks import relu_softmax as net
from backward_checks import assert_backward_matches_finite_differences
from random_networks import column_params, one_hot

LEDGER = json.loads(
    (Path(__file__).resolve().parents[1] / "assignments" / "relu_softmax" / "documented_numbers.json").read_text()
)
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
# Random ReLU networks get CS231n's looser threshold: kinks are kept away (random_problem), but small
# gradient entries (a confident softmax, a small ReLU output) carry relatively large noise (~1e-11 absolute).
GRADIENT_ENTRIES = [e for e in LEDGER["entries"] if e["quantity"].startswith("d")]


def random_problem(rng, sizes, batch):
    """Random parameters, inputs and one-hot targets, every hidden pre-activation at least 0.1 from the kink
    (a ReLU output just above zero gives gradient entries too small for finite differences to resolve)."""
    while True:
        params = column_params(rng, sizes)
        x = rng.normal(0, 1, (sizes[0], batch))
        y = one_hot(rng, sizes[-1], batch)
        cache = net.forward(params, x)
        if min(np.abs(cache["z1"]).min(), np.abs(cache["z2"]).min()) > 0.1:
            return params, x, y


SIZES = [((3, 4, 2, 3), 1), ((3, 4, 2, 3), 5), ((2, 6, 5, 4), 3), ((5, 3, 7, 2), 8), ((4, 8, 3, 6), 2)]


@pytest.mark.parametrize("sizes,batch", SIZES)
def test_backward_matches_finite_differences_of_the_mean_cross_entropy(sizes, batch):
    rng = np.random.default_rng(sum(sizes) * 100 + batch)
    problems = [random_problem(rng, sizes, batch) for _ in range(3)]
    assert_backward_matches_finite_differences(
        net, lambda p, x, y: cross_entropy(net.forward(p, x)["a3"], y), problems, PARAM_NAMES, KINKED_TOLERANCE)


@pytest.mark.parametrize("sizes,batch", SIZES[1:3])
def test_intermediate_gradients_match_finite_differences(sizes, batch):
    rng = np.random.default_rng(11 + batch)
    params, x, y = random_problem(rng, sizes, batch)
    steps = net.backward_steps(params, net.forward(params, x), x, y)
    fd = net.finite_differences(params, x, lambda z3: net.exact_loss(z3, y))
    for name, numeric in fd.items():
        assert rel_error(steps[name], numeric) < KINKED_TOLERANCE, name


@pytest.mark.parametrize("sizes,batch", SIZES)
def test_backward_uses_the_given_a3_as_the_gradient_of_a_fixed_surrogate(sizes, batch):
    """Any a3 in the cache: backward gives the gradients of sum(g * z3) with g = (a3 - y) / batch."""
    rng = np.random.default_rng(500 + batch)
    params, x, y = random_problem(rng, sizes, batch)
    cache = net.forward(params, x)
    given_a3 = rng.uniform(0, 1, cache["a3"].shape)
    grads = net.backward(params, dict(cache, a3=given_a3), x, y)
    g = (given_a3 - y) / batch
    fd = net.finite_differences(params, x, lambda z3: net.surrogate_loss(z3, g))
    for name in PARAM_NAMES:
        assert rel_error(grads[name], fd["d" + name]) < KINKED_TOLERANCE, name


def test_forward_is_exact_and_shapes_follow_the_layers():
    rng = np.random.default_rng(3)
    params, x, y = random_problem(rng, (4, 6, 5, 3), 7)
    cache = net.forward(params, x)
    assert {k: v.shape for k, v in cache.items()} == {
        "z1": (6, 7), "a1": (6, 7), "z2": (5, 7), "a2": (5, 7), "z3": (3, 7), "a3": (3, 7)}
    np.testing.assert_allclose(cache["a3"].sum(axis=0), 1.0, atol=1e-12)
    e = np.exp(cache["z3"])
    np.testing.assert_allclose(cache["a3"], e / e.sum(axis=0), rtol=1e-12)


def test_relu_and_its_derivative():
    z = np.array([[-2.0, 0.0, 3.0], [1e-9, -1e-9, 5.0]])
    np.testing.assert_array_equal(net.relu(z), [[0, 0, 3], [1e-9, 0, 5]])
    np.testing.assert_array_equal(net.relu_derivative(z), [[0, 0, 1], [1, 0, 1]])


def test_worked_forward_stays_exact_while_the_notebook_rounds():
    params, x = net.initial_params(), net.worked_x()
    a3 = net.forward(params, x)["a3"]
    assert not np.allclose(a3, np.round(a3, 1), atol=1e-3)  # 0.4955.. is not 0.5
    np.testing.assert_allclose(net.seed_cache(params, x)["a3"], [[0.5], [0.5], [0.0]], atol=0)


@pytest.mark.parametrize("entry", GRADIENT_ENTRIES, ids=lambda e: e["id"])
def test_documented_gradient_is_backward_fed_the_rounded_a3(entry):
    """The printed gradient, read in our layout, is our backward on the seed's rounded a3."""
    params, x, y = net.initial_params(), net.worked_x(), net.worked_y()
    steps = net.backward_steps(params, net.seed_cache(params, x), x, y)
    printed = np.asarray(entry["printed"], dtype=float)
    ours = apply_transform(entry.get("transform"), steps[entry["quantity"]], printed.shape)
    assert np.max(np.abs(ours - printed)) <= entry["atol"]


@pytest.mark.parametrize("entry", GRADIENT_ENTRIES, ids=lambda e: e["id"])
def test_exact_field_is_the_gradient_of_the_exact_loss(entry):
    """`exact` agrees with finite differences of the exact loss; it differs from the printed
    value exactly where the rounding reaches (dz3, dW3, db3)."""
    params, x, y = net.initial_params(), net.worked_x(), net.worked_y()
    fd = net.finite_differences(params, x, lambda z3: net.exact_loss(z3, y))
    printed = np.asarray(entry["printed"], dtype=float)
    exact = np.asarray(entry["exact"], dtype=float)
    fd_as_printed = apply_transform(entry.get("transform"), fd[entry["quantity"]], printed.shape)
    assert rel_error(exact, fd_as_printed) < SMOOTH_TOLERANCE
    rounding_reaches = entry["quantity"] in ("dz3", "dW3", "db3")
    assert (np.max(np.abs(exact - printed)) > 1e-3) == rounding_reaches


def test_surrogate_finite_differences_are_not_those_of_the_exact_loss():
    params, x, y = net.initial_params(), net.worked_x(), net.worked_y()
    surrogate = net.finite_difference_values()
    exact = net.finite_differences(params, x, lambda z3: net.exact_loss(z3, y))
    assert rel_error(surrogate["dW3"], exact["dW3"]) > 1e-3
    np.testing.assert_allclose(surrogate["dW1"], exact["dW1"], atol=1e-8)
