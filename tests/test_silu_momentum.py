"""silu_momentum (seed 003): row-convention gradients, momentum, and the notebook's printed numbers."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from solutions import exercises
from solutions.gradcheck import SMOOTH_TOLERANCE, numerical_gradients, rel_error
from solutions.networks import silu_momentum as net

EXERCISE = exercises.load("silu_momentum")  # its constants: seed file, parameter names, hyperparameters
PARAM_NAMES = EXERCISE.PARAM_NAMES
LEDGER = exercises.folder("silu_momentum") / "documented_numbers.json"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / EXERCISE.SEED_FILE


def random_problem(rng, n_in, width, batch):
    params = {"W": rng.normal(0, 1, (n_in, width)), "b1": rng.normal(0, 1, width),
              "U": rng.normal(0, 1, width), "b2": np.array(rng.normal())}
    X = rng.normal(0, 1, (batch, n_in))
    y = rng.integers(0, 2, batch).astype(float)
    return params, X, y


def loss_fn(X, y):
    return lambda p: net.bce_loss(net.forward(p, X)["p"], y)


@pytest.mark.parametrize("n_in,width,batch", [(3, 2, 3), (3, 2, 1), (4, 5, 7), (2, 3, 2), (6, 1, 4)])
def test_backward_matches_finite_differences(n_in, width, batch):
    rng = np.random.default_rng(300 + 100 * n_in + 10 * width + batch)
    for _ in range(3):
        params, X, y = random_problem(rng, n_in, width, batch)
        grads = net.backward(params, net.forward(params, X), X, y)
        fd = numerical_gradients(loss_fn(X, y), params)
        for name in PARAM_NAMES:
            assert np.shape(grads[name]) == np.shape(params[name]), name
            assert rel_error(grads[name], fd[name]) < SMOOTH_TOLERANCE, name


def test_backward_is_batch_mean_of_per_example_gradients():
    rng = np.random.default_rng(31)
    params, X, y = random_problem(rng, 3, 4, 5)
    batch = net.backward(params, net.forward(params, X), X, y)
    singles = [net.backward(params, net.forward(params, X[s:s + 1]), X[s:s + 1], y[s:s + 1]) for s in range(5)]
    for name in PARAM_NAMES:
        np.testing.assert_allclose(batch[name], np.mean([g[name] for g in singles], axis=0), atol=1e-15)


def test_clipped_predictions_have_zero_gradient_like_the_clipped_loss():
    params = net.initial_params()
    params["b2"] = np.array(60.0)  # sigmoid(f) == 1.0 in floating point: clipped at 1 - 1e-15
    X, y = net.inputs()
    cache = net.forward(params, X)
    assert np.all(cache["p"] == 1.0)
    assert net.bce_loss(cache["p"], y) == pytest.approx(2 / 3 * -np.log(1e-15), rel=1e-3)
    grads = net.backward(params, cache, X, y)
    fd = numerical_gradients(loss_fn(X, y), params)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(grads[name], 0.0, atol=0)
        np.testing.assert_allclose(fd[name], 0.0, atol=1e-6)


def test_silu_and_its_derivative():
    z = np.linspace(-4, 4, 17)
    np.testing.assert_allclose(net.silu(z), z / (1 + np.exp(-z)), atol=1e-15)
    fd = numerical_gradients(lambda p: float(np.sum(net.silu(p["z"]))), {"z": z})["z"]
    assert rel_error(net.silu_derivative(z), fd) < SMOOTH_TOLERANCE


def test_momentum_step_and_train_momentum_on_random_problems():
    rng = np.random.default_rng(3)
    param, grad, velocity = rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    kept = param.copy()
    new, v = net.momentum_step(param, grad, velocity, 0.9, 0.8)
    np.testing.assert_allclose(v, 0.9 * velocity - 0.8 * grad, atol=1e-15)
    np.testing.assert_allclose(new, param + v, atol=1e-15)
    np.testing.assert_array_equal(param, kept)

    params, X, y = random_problem(rng, 4, 3, 6)
    final, velocities, losses = net.train_momentum(params, X, y, 0.5, 0.3, 4)
    p, vel = params, {k: np.zeros(np.shape(val)) for k, val in params.items()}
    for k in range(4):
        cache = net.forward(p, X)
        assert losses[k] == pytest.approx(net.bce_loss(cache["p"], y), abs=1e-15)
        grads = net.backward(p, cache, X, y)
        vel = {n: 0.5 * vel[n] - 0.3 * grads[n] for n in p}
        p = {n: p[n] + vel[n] for n in p}
    for name in params:
        np.testing.assert_allclose(final[name], p[name], atol=1e-14)
        np.testing.assert_allclose(velocities[name], vel[name], atol=1e-14)
        assert np.shape(final[name]) == np.shape(params[name])


# ------------------------------------------------------------------------- the notebook's numbers
@pytest.fixture(scope="module")
def ledger():
    return json.loads(LEDGER.read_text())


def to_ours(entry, shape):
    """The printed number brought to our shape (inverse of the entry's transform)."""
    printed = np.asarray(entry["printed"], dtype=float)
    if entry.get("transform") == "transpose":
        return printed.T
    return printed.reshape(shape)


def test_every_printed_derivative_agrees_with_finite_differences(ledger):
    """Printed numbers against central differences of the per-example or batch-mean loss, not against ours."""
    fd = net.finite_difference_values()
    checked = 0
    for e in ledger["entries"]:
        if e["quantity"] in fd:
            numeric = fd[e["quantity"]]
            np.testing.assert_allclose(to_ours(e, np.shape(numeric)), numeric, rtol=0,
                                       atol=e["atol"] + 1e-8, err_msg=e["id"])
            checked += 1
    assert checked >= 150


def test_printed_momentum_iterations_are_reproduced(ledger):
    X, y = net.inputs()
    wanted = {e["quantity"]: e for e in ledger["entries"]
              if re.fullmatch(r"(velocity_)?(W|b1|U|b2)_after_it[12]", e["quantity"]) and e["cell"] != "In [235]"}
    assert len({q for q in wanted}) == 16
    for k in (1, 2):
        params, velocities, losses = net.train_momentum(net.initial_params(), X, y, EXERCISE.GAMMA, EXERCISE.ETA, k)
        for name in PARAM_NAMES:
            for q, ours in ((f"{name}_after_it{k}", params[name]), (f"velocity_{name}_after_it{k}", velocities[name])):
                e = wanted[q]
                np.testing.assert_allclose(to_ours(e, np.shape(ours)), ours, rtol=0, atol=e["atol"], err_msg=q)
    assert losses[0] == pytest.approx(0.6952874681915379, abs=1e-12)  # In [206]
    assert losses[1] == pytest.approx(0.6649423612035917, abs=1e-12)  # In [250]


@pytest.mark.skipif(not SEED.exists(), reason="seed notebooks not next to the repository")
def test_update_cells_parsed_from_the_notebook_text():
    """Independent of the ledger: read every 'New Velocity for'/'Updated' block of the notebook itself."""
    text = SEED.read_text()
    blocks = re.findall(r"(New Velocity for|Updated) (W|b\(1\)|U|b\(2\)):\n(\[[^:]*?\]\])", text)
    assert len(blocks) == 16
    X, y = net.inputs()
    names = {"W": "W", "b(1)": "b1", "U": "U", "b(2)": "b2"}
    for index, (kind, label, array_text) in enumerate(blocks):
        k = 1 if index < 8 else 2
        params, velocities, _ = net.train_momentum(net.initial_params(), X, y, EXERCISE.GAMMA, EXERCISE.ETA, k)
        ours = (velocities if kind == "New Velocity for" else params)[names[label]]
        rows = [[float(v) for v in row.split()] for row in re.findall(r"\[([^\[\]]+)\]", array_text)]
        printed = np.array(rows)
        printed = printed.T if label == "W" else printed.reshape(np.shape(ours))
        np.testing.assert_allclose(printed, ours, rtol=0, atol=5e-9, err_msg=f"{kind} {label} iteration {k}")


def test_last_update_used_b_2_1_for_its_undefined_b(ledger):
    by_q = {e["quantity"]: np.asarray(e["printed"], dtype=float).item() for e in ledger["entries"]
            if e["quantity"] in ("velocity_b2_after_it2", "b2_after_it2", "b2_after_it1", "b2_initial")}
    implied_b = by_q["b2_after_it2"] - by_q["velocity_b2_after_it2"]
    assert implied_b == pytest.approx(by_q["b2_after_it1"], abs=1e-8)  # b_2_1 = -0.05314694
    assert abs(implied_b - by_q["b2_initial"]) > 0.1  # not b2_0


def test_iteration_two_loss_without_clipping_is_the_same():
    X, y = net.inputs()
    p = net.forward(net.params_before_iteration(2), X)["p"]
    unclipped = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    assert unclipped == net.bce_loss(p, y)


def test_ledger_statuses_hold(ledger):
    values = net.documented_values()
    for e in ledger["entries"]:
        ours = np.asarray(values[e["quantity"]], dtype=float)
        printed = np.asarray(e["printed"], dtype=float)
        if e["status"] == "reproduced":
            assert ours.shape == printed.shape, e["id"]
        else:
            assert e["status"] == "convention" and e["transform"] in ("transpose", "reshape"), e["id"]
            ours = ours.T if e["transform"] == "transpose" else ours.reshape(printed.shape)
        np.testing.assert_allclose(ours, printed, rtol=0, atol=e["atol"], err_msg=e["id"])
    assert len({e["id"] for e in ledger["entries"]}) == len(ledger["entries"])
