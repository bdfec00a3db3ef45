"""relu_mse_training (seed 002): true gradients, the notebook's sum/mean mix, training, ledger."""
import json
from pathlib import Path

import numpy as np
import pytest

from solutions.exercises import load
from solutions.gradcheck import SMOOTH_TOLERANCE, numerical_gradients, rel_error
from solutions.networks import relu_mse_training as net
from random_networks import column_params

DESCRIPTION = load("relu_mse_training")  # its constants: learning rate, epochs, seeds
LEDGER = Path(__file__).resolve().parents[1] / "assignments" / "relu_mse_training" / "documented_numbers.json"


def random_problem(rng, n_in, n_hidden, n_out, batch):
    """Random parameters and data with every hidden pre-activation away from the ReLU kink."""
    while True:
        params = column_params(rng, (n_in, n_hidden, n_out))
        X = rng.normal(0, 1, (n_in, batch))
        y = rng.uniform(0, 1, (n_out, batch))
        if np.abs(net.forward(params, X)["z1"]).min() > 1e-3:
            return params, X, y


def loss_fn(X, y):
    return lambda p: net.mse_loss(net.forward(p, X)["a2"], y)


SIZES = [(3, 4, 1, 4), (3, 4, 1, 1), (2, 5, 1, 7), (4, 3, 2, 5), (5, 6, 3, 2)]


@pytest.mark.parametrize("n_in,n_hidden,n_out,batch", SIZES)
def test_backward_matches_finite_differences(n_in, n_hidden, n_out, batch):
    rng = np.random.default_rng(1000 + n_in * 100 + n_hidden * 10 + batch)
    for _ in range(3):
        params, X, y = random_problem(rng, n_in, n_hidden, n_out, batch)
        grads = net.backward(params, net.forward(params, X), X, y)
        fd = numerical_gradients(loss_fn(X, y), params)
        for name in DESCRIPTION.PARAM_NAMES:
            assert grads[name].shape == params[name].shape, name
            assert rel_error(grads[name], fd[name]) < SMOOTH_TOLERANCE, name


def test_forward_shapes_and_loss_is_mean_over_entries():
    rng = np.random.default_rng(7)
    params, X, y = random_problem(rng, 3, 4, 2, 6)
    cache = net.forward(params, X)
    assert {k: v.shape for k, v in cache.items()} == {"z1": (4, 6), "a1": (4, 6), "z2": (2, 6), "a2": (2, 6)}
    a2 = cache["a2"]
    by_hand = sum((a2[i, j] - y[i, j]) ** 2 for i in range(2) for j in range(6)) / 12
    assert net.mse_loss(a2, y) == pytest.approx(by_hand, abs=1e-15)


@pytest.mark.parametrize("n_in,n_hidden,n_out,batch", SIZES)
def test_seed_gradient_code_is_off_by_the_claimed_factors(n_in, n_hidden, n_out, batch):
    """Notebook: dW = dz @ a.T sums over examples, db = mean(dz), da2 = 2a2 - 2y has no 1/N.

    Against finite differences of the mean loss: dW is (n_out * batch) times too large,
    db is n_out times too large (exactly right for the notebook's single output).
    """
    rng = np.random.default_rng(2000 + n_in * 100 + n_hidden * 10 + batch)
    params, X, y = random_problem(rng, n_in, n_hidden, n_out, batch)
    seed = net.seed_backward(params, net.forward(params, X), X, y)
    fd = numerical_gradients(loss_fn(X, y), params)
    n_entries = n_out * batch
    for name in ("W1", "W2"):
        assert rel_error(seed[name], n_entries * fd[name]) < SMOOTH_TOLERANCE, name
    for name in ("b1", "b2"):
        assert rel_error(seed[name], n_out * fd[name]) < SMOOTH_TOLERANCE, name
    if n_entries > 1:  # the sum/mean mix really is wrong, not just relabelled
        assert rel_error(seed["W2"], fd["W2"]) > 0.1


def test_gradient_descent_step_returns_new_arrays():
    params = net.initial_params()
    before = {k: v.copy() for k, v in params.items()}
    grads = {k: np.ones_like(v) for k, v in params.items()}
    new = net.gradient_descent_step(params, grads, 0.3)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
        np.testing.assert_allclose(new[k], before[k] - 0.3, atol=1e-15)


def test_train_records_loss_before_each_update_and_learns():
    X, y = net.inputs()
    start = net.initial_params()
    params, losses = net.train(start, X, y, DESCRIPTION.LEARNING_RATE, DESCRIPTION.EPOCHS)
    assert len(losses) == DESCRIPTION.EPOCHS
    assert losses[0] == net.mse_loss(net.forward(start, X)["a2"], y)
    # the same run by hand, one step at a time
    p = start
    for k in range(3):
        cache = net.forward(p, X)
        assert losses[k] == pytest.approx(net.mse_loss(cache["a2"], y), abs=1e-15)
        p = net.gradient_descent_step(p, net.backward(p, cache, X, y), DESCRIPTION.LEARNING_RATE)
    assert losses[-1] < 0.05 * losses[0]
    assert net.mse_loss(net.forward(params, X)["a2"], y) < losses[-1]


def test_initial_params_draw_order_and_shapes():
    p = net.initial_params()
    rng = np.random.default_rng(DESCRIPTION.RNG_SEED)
    for name, shape in (("W1", (4, 3)), ("b1", (4, 1)), ("W2", (1, 4)), ("b2", (1, 1))):
        np.testing.assert_array_equal(p[name], rng.normal(0, 0.5, shape))


# ------------------------------------------------------------------------------- ledger
@pytest.fixture(scope="module")
def ledger():
    return json.loads(LEDGER.read_text())


def test_every_printed_seed_loss_is_not_reproducible(ledger):
    seed_text = (Path(__file__).resolve().parents[2] / "shared" / "seeds" / DESCRIPTION.SEED_FILE)
    entries = ledger["entries"]
    assert len(entries) == 49
    assert all(e["status"] == "not reproducible" and e["quantity"] is None for e in entries)
    assert entries[0]["printed"] == 0.42045316156777185
    assert entries[-1]["printed"] == 0.00217054228 and "cut mid-number" in entries[-1]["note"]
    if seed_text.exists():  # every printed loss, in order
        output = seed_text.read_text().split("b1 = b1 - learning_rate * db1", 1)[1]
        printed = [float(word) for word in output.split()]
        assert printed == [e["printed"] for e in entries]


def test_our_run_matches_the_module(ledger):
    values = net.documented_values()
    for e in ledger["our_run"]["entries"]:
        assert e["status"] == "reproduced"
        np.testing.assert_allclose(values[e["quantity"]], e["printed"], rtol=0, atol=e["atol"], err_msg=e["id"])
    assert len([e for e in ledger["our_run"]["entries"] if e["id"].startswith("our_loss_epoch_")]) == 100


def test_our_gradients_agree_with_finite_differences():
    values, fd = net.documented_values(), net.finite_difference_values()
    for q, numeric in fd.items():
        assert rel_error(values[q], numeric) < SMOOTH_TOLERANCE, q


def test_seed_code_errors_have_the_stated_factor(ledger):
    values, fd = net.documented_values(), net.finite_difference_values()
    for e in ledger["seed_code_errors"]:
        seed, truth = values[e["quantity"]], fd[e["correct_quantity"]]
        assert rel_error(seed, e["factor"] * truth) < SMOOTH_TOLERANCE, e["id"]
    assert {e["id"]: e["factor"] for e in ledger["seed_code_errors"]} == {
        "seed_code_dW2": 4.0, "seed_code_dW1": 4.0, "seed_code_db2": 1.0, "seed_code_db1": 1.0}
