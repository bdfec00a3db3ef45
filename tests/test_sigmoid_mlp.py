"""sigmoid_mlp (seed 000): the fitted weights, an independent re-computation, and the reference's
gradients on random networks.

The seed loads its weights from parameters.npz, which it does not include; the file shipped in
assignments/sigmoid_mlp/ was fitted to the printed numbers (fit_parameters.py). Here a plain numpy
program written out below, not the reference, must reproduce every printed number from it.
"""
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from solutions.gradcheck import SMOOTH_TOLERANCE, numerical_gradients, rel_error
from solutions.networks import sigmoid_mlp as net
from backward_checks import assert_backward_matches_finite_differences
from random_networks import column_params, one_hot

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "assignments" / "sigmoid_mlp"
LEDGER = json.loads((FOLDER / "documented_numbers.json").read_text())
SEED = ROOT.parent / "shared" / "seeds" / LEDGER["seed"]
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
SHAPES = {"W1": (3, 3), "W2": (3, 3), "W3": (3, 3), "b1": (3, 1), "b2": (3, 1), "b3": (3, 1)}


# ---------------------------------------------------------------- an independent program
def textbook_sigmoid(a):
    return 1 / (1 + np.exp(-a))


def textbook_softmax(a):
    e = np.exp(a)
    return e / e.sum(axis=0, keepdims=True)


def textbook_loss(yhat, y):
    return -np.sum(y * np.log(yhat)) / y.shape[1]


def textbook_yhat(p, x):
    h1 = textbook_sigmoid(p["W1"] @ x + p["b1"])
    h2 = textbook_sigmoid(p["W2"] @ h1 + p["b2"])
    return textbook_softmax(p["W3"] @ h2 + p["b3"])


def textbook_network(p, x, y, lr=1.0):
    """Forward, backward (mean loss over the columns), one SGD step, forward again; written out
    by hand, nothing from solutions/. Returns every quantity the ledger names."""
    m = x.shape[1]
    a1 = p["W1"] @ x + p["b1"]
    h1 = textbook_sigmoid(a1)
    a2 = p["W2"] @ h1 + p["b2"]
    h2 = textbook_sigmoid(a2)
    a3 = p["W3"] @ h2 + p["b3"]
    yhat = textbook_softmax(a3)

    grad_a3 = (yhat - y) / m
    grad_W3, grad_b3 = grad_a3 @ h2.T, grad_a3.sum(axis=1, keepdims=True)
    grad_h2 = p["W3"].T @ grad_a3
    grad_a2 = grad_h2 * h2 * (1 - h2)
    grad_W2, grad_b2 = grad_a2 @ h1.T, grad_a2.sum(axis=1, keepdims=True)
    grad_h1 = p["W2"].T @ grad_a2
    grad_a1 = grad_h1 * h1 * (1 - h1)
    grad_W1, grad_b1 = grad_a1 @ x.T, grad_a1.sum(axis=1, keepdims=True)

    grads = {"W1": grad_W1, "b1": grad_b1, "W2": grad_W2, "b2": grad_b2, "W3": grad_W3, "b3": grad_b3}
    new = {k: p[k] - lr * grads[k] for k in p}
    yhat_new = textbook_yhat(new, x)
    return {
        "x": x, "y": y, "n_params": sum(v.size for v in p.values()),
        "a1_sum": a1.sum(), "h1_sum": h1.sum(), "a2_sum": a2.sum(), "h2_sum": h2.sum(), "a3_sum": a3.sum(),
        "loss": textbook_loss(yhat, y),
        "grad_a3": grad_a3, "grad_h2": grad_h2, "grad_a2": grad_a2, "grad_h1": grad_h1, "grad_a1": grad_a1,
        **{"grad_" + k: v for k, v in grads.items()},
        "yhat_after_step": yhat_new, "loss_after_step": textbook_loss(yhat_new, y),
    }


def shipped_parameters():
    with np.load(FOLDER / "parameters.npz") as data:
        return {k: data[k] for k in data.files}


WORKED_X = np.array([1, 0, 1]).reshape(-1, 1)
WORKED_Y = np.array([0, 0, 1]).reshape(-1, 1)
REPRODUCED = [pytest.param(e, id=e["id"]) for e in LEDGER["entries"] if e["status"] == "reproduced"]


# ---------------------------------------------------------------- (a) the fitted file
def test_parameters_file_has_the_seeds_keys_shapes_and_36_values():
    params = shipped_parameters()
    assert sorted(params) == sorted(PARAM_NAMES)
    for name, shape in SHAPES.items():
        assert params[name].shape == shape, name
        assert params[name].dtype == np.float64, name
        assert np.all(np.isfinite(params[name])), name
    assert sum(v.size for v in params.values()) == 36


def test_reference_loads_the_shipped_file():
    loaded = net.initial_params()
    for name, value in shipped_parameters().items():
        np.testing.assert_array_equal(loaded[name], value)


def test_fit_script_rebuilds_the_shipped_parameters():
    spec = importlib.util.spec_from_file_location("fit_parameters", FOLDER / "fit_parameters.py")
    fit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fit)
    params, report, goals = fit.fit()
    atols = {q: atol for q, _, atol in goals}
    assert all(report[q] <= atols[q] for q in report), report
    for name, value in shipped_parameters().items():
        np.testing.assert_allclose(params[name], value, rtol=0, atol=1e-9, err_msg=name)


# ---------------------------------------------------------------- (b) the independent program
def test_the_ledger_transcribes_every_printed_output_of_the_seed():
    """The printed values in the ledger are, cell by cell and in order, the numbers the notebook
    prints (and every cell with an output has entries)."""
    if not SEED.exists():
        pytest.skip(f"seed notebook not found at {SEED}")
    blocks = re.split(r"^(In \[\d+\]):\n", SEED.read_text(), flags=re.M)
    outputs = {}
    for cell, body in zip(blocks[1::2], blocks[2::2]):
        last = body.strip().split("\n\n")[-1]  # an output is the last paragraph, and looks like a value
        if "\n\n" in body.strip() and re.match(r"[\s(\[]*(array\(|-?\d)", last):
            outputs[cell] = [float(t) for t in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", last)]
    ledger_cells = {}
    for entry in LEDGER["entries"]:
        ledger_cells.setdefault(entry["cell"], []).extend(np.ravel(entry["printed"]).tolist())
    assert sorted(ledger_cells) == sorted(outputs)
    for cell, numbers in outputs.items():
        assert ledger_cells[cell] == numbers, cell


def test_the_independent_program_covers_every_ledger_quantity():
    ours = textbook_network(shipped_parameters(), WORKED_X, WORKED_Y)
    assert {e["quantity"] for e in LEDGER["entries"]} <= set(ours)
    assert set(net.documented_values()) >= {e["quantity"] for e in LEDGER["entries"]}


@pytest.mark.parametrize("entry", REPRODUCED)
def test_independent_program_reproduces_the_printed_number(entry):
    value = np.asarray(textbook_network(shipped_parameters(), WORKED_X, WORKED_Y)[entry["quantity"]], dtype=float)
    printed = np.asarray(entry["printed"], dtype=float)
    assert value.shape == printed.shape, entry["id"]
    error = np.max(np.abs(value - printed))
    assert error <= entry["atol"], f"{entry['id']}: |independent - printed| = {error:.3e} > {entry['atol']}"


def test_full_precision_scalars_are_exact_in_the_reference():
    """The fit polishes the reference's scalars to the printed bits; the loss after the step is the
    one exception (the shifted softmax cannot produce the needed yhat[2]; within 2e-16)."""
    ours = net.documented_values()
    for entry in LEDGER["entries"]:
        if entry["atol"] == 1e-12:
            limit = 2e-16 if entry["quantity"] == "loss_after_step" else 0.0
            assert abs(ours[entry["quantity"]] - entry["printed"]) <= limit, entry["id"]


def test_printed_gradients_agree_with_finite_differences_within_print_precision():
    fd = net.finite_difference_values()
    for entry in LEDGER["entries"]:
        if entry["quantity"] in fd:
            error = np.max(np.abs(fd[entry["quantity"]] - np.asarray(entry["printed"], dtype=float)))
            assert error <= entry["atol"], f"{entry['id']}: |FD - printed| = {error:.3e}"


# ---------------------------------------------------------------- (c) random networks
def random_problem(rng, sizes, batch):
    params = column_params(rng, sizes)
    x = rng.normal(0, 1, (sizes[0], batch))
    return params, x, one_hot(rng, sizes[-1], batch)


SIZES = [((3, 3, 3, 3), 1), ((3, 3, 3, 3), 4), ((2, 5, 4, 3), 7), ((6, 2, 7, 4), 3), ((4, 8, 3, 2), 10)]


@pytest.mark.parametrize("sizes,batch", SIZES)
def test_backward_matches_finite_differences_of_the_mean_loss(sizes, batch):
    rng = np.random.default_rng(sum(sizes) * 100 + batch)
    problems = [random_problem(rng, sizes, batch) for _ in range(3)]
    assert_backward_matches_finite_differences(
        net, lambda p, x, y: textbook_loss(textbook_yhat(p, x), y), problems, PARAM_NAMES, SMOOTH_TOLERANCE)


@pytest.mark.parametrize("sizes,batch", SIZES[1:4])
def test_forward_loss_and_step_agree_with_the_independent_program(sizes, batch):
    rng = np.random.default_rng(7 * batch + len(sizes))
    params, x, y = random_problem(rng, sizes, batch)
    cache = net.forward(params, x)
    expected = textbook_network(params, x, y, lr=0.3)
    assert set(cache) == {"a1", "h1", "a2", "h2", "a3", "yhat"}
    assert cache["yhat"].shape == (sizes[-1], batch)
    np.testing.assert_allclose(cache["yhat"].sum(axis=0), 1.0, atol=1e-12)
    assert net.cross_entropy(cache["yhat"], y) == pytest.approx(expected["loss"], abs=1e-12)
    grads = net.backward(params, cache, x, y)
    before = {k: v.copy() for k, v in params.items()}
    stepped = net.sgd_step(params, grads, 0.3)
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(params[name], before[name])  # the step returns new arrays
        np.testing.assert_allclose(stepped[name], before[name] - 0.3 * expected["grad_" + name], atol=1e-12)


def test_loss_is_the_mean_over_the_batch_columns():
    rng = np.random.default_rng(3)
    params, x, y = random_problem(rng, (3, 4, 5, 3), 6)
    batch_loss = net.cross_entropy(net.forward(params, x)["yhat"], y)
    per_column = [net.cross_entropy(net.forward(params, x[:, [j]])["yhat"], y[:, [j]]) for j in range(6)]
    assert batch_loss == pytest.approx(np.mean(per_column), abs=1e-12)


@pytest.mark.parametrize("name", ["a3", "h2", "a2", "h1", "a1"])
def test_intermediate_gradients_match_finite_differences_on_a_random_batch(name):
    rng = np.random.default_rng(5)
    params, x, y = random_problem(rng, (4, 5, 3, 6), 4)
    cache = net.forward(params, x)
    ours = net.backward_steps(params, cache, x, y)["d" + name]
    fd = numerical_gradients(
        lambda v: net.cross_entropy(net.forward_from(params, name, v[name])["yhat"], y), {name: cache[name]})[name]
    assert ours.shape == cache[name].shape
    assert rel_error(ours, fd) < SMOOTH_TOLERANCE
