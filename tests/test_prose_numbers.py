"""Numbers stated in the notebooks' prose are the reference's (solutions/), to the digits stated.

The prose is read from the descriptions (assignments/<name>/exercise.py), so a wrong number fails
here before any notebook is built: a number with "\\ldots" must be the reference's value cut after
its digits, any other number the reference's value rounded to its digits.
"""
import re

import numpy as np
import pytest

from solutions.describe import Ledger
from solutions.exercises import load
from solutions.networks import relu_mse_training as mse_ref
from solutions.networks import relu_softmax as softmax_ref
from solutions.networks import sigmoid_mlp as sigmoid_ref

# the descriptions: their prose, and the constants of their worked examples
relu_mse_training, relu_softmax, sigmoid_mlp = (load(name) for name in ("relu_mse_training", "relu_softmax",
                                                                          "sigmoid_mlp"))

NUMBER = r"(-?\d+\.\d+)"


def prose(description):
    """Every markdown cell of the intro and every question prompt, as one text."""
    return "\n".join([text for kind, text in description.intro() if kind == "md"]
                     + [q.prompt for q in description.questions()])


def stated(pattern, text):
    """The numbers the one match of ``pattern`` captures, as strings (to keep their digits)."""
    matches = re.findall(pattern, text)
    assert len(matches) == 1, f"{pattern!r} matched {len(matches)} times"
    return [matches[0]] if isinstance(matches[0], str) else list(matches[0])


def assert_rounded(numbers, values):
    for text, value in zip(numbers, np.ravel(values), strict=True):
        decimals = len(text.split(".")[1])
        assert float(text) == round(float(value), decimals), f"stated {text}, reference {float(value)!r}"


def assert_cut(text, value):
    decimals = len(text.split(".")[1])
    assert float(text) == np.trunc(value * 10 ** decimals) / 10 ** decimals, f"stated {text}..., reference {value!r}"


def test_relu_softmax_states_the_exact_softmax_it_rounds():
    params, x = softmax_ref.initial_params(), softmax_ref.worked_x()
    numbers = stated(rf"\$\({NUMBER}, {NUMBER}, {NUMBER}\) \\to \(0\.5, 0\.5, 0\.0\)\$", prose(relu_softmax))
    assert_rounded(numbers, softmax_ref.forward(params, x)["a3"])


def test_relu_softmax_states_the_exact_loss_gradient_the_worked_example_misses():
    text = prose(relu_softmax)
    numbers = stated(rf"a_3 - y = \({NUMBER}, {NUMBER}, {NUMBER}\)\^\\top", text)
    assert_rounded(numbers, softmax_ref.exact_finite_difference_values()["dz3"])
    assert "gradients taken from the rounded probabilities, not gradients of the loss" in " ".join(text.split())


def test_relu_mse_training_states_our_starting_and_last_loss():
    text = prose(relu_mse_training)
    X, y = mse_ref.inputs()
    _, losses = mse_ref.train(mse_ref.initial_params(), X, y,
                              relu_mse_training.LEARNING_RATE, relu_mse_training.EPOCHS)
    (start,) = stated(rf"loss is \${NUMBER}\\ldots\$", text)
    assert_cut(start, losses[0])
    assert_rounded(stated(rf"loss fall from {NUMBER} to {NUMBER}\.", text), [losses[0], losses[-1]])


def test_sigmoid_mlp_states_the_loss_before_and_after_the_step_and_where_the_weights_come_from():
    text = prose(sigmoid_mlp)
    params, x, y = sigmoid_ref.initial_params(), sigmoid_ref.worked_x(), sigmoid_ref.worked_y()
    cache = sigmoid_ref.forward(params, x)
    stepped = sigmoid_ref.sgd_step(params, sigmoid_ref.backward(params, cache, x, y), sigmoid_mlp.LEARNING_RATE)
    after = sigmoid_ref.cross_entropy(sigmoid_ref.forward(stepped, x)["yhat"], y)
    assert_rounded(stated(rf"fall from {NUMBER} to {NUMBER} after a single step", text),
                   [sigmoid_ref.cross_entropy(cache["yhat"], y), after])
    assert "reconstructed from the numbers it prints" in text and "fit_parameters.py" in text


@pytest.mark.parametrize("entry_id", ["our_loss_epoch_0", "our_dW1_epoch_0", "our_loss_epoch_99"])
def test_checks_on_our_seeded_run_say_where_the_numbers_come_from(entry_id):
    options = Ledger("relu_mse_training").entry(entry_id, "q", ("result", "value"))[-1]
    assert options["source"] == f"computed by the reference run with np.random.default_rng({relu_mse_training.RNG_SEED})"
    assert "cell" not in options
