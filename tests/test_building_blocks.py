"""The new blocks: leaky ReLU, L2 weight decay, Adam, mini-batches. Derivatives are checked by
finite differences with the one checker, ``solutions.gradcheck``."""
import numpy as np
import pytest

from solutions import activations
from solutions.gradcheck import SMOOTH_TOLERANCE, numerical_gradient, numerical_gradients, rel_error
from solutions.optim import adam_step
from solutions.regularization import l2_gradient, l2_penalty
from solutions.training import minibatches


def away_from_zero(rng, shape, margin=1e-2):
    """Normal draws with every entry at least ``margin`` from the kink at 0."""
    a = rng.normal(size=shape)
    return np.where(np.abs(a) < margin, np.copysign(margin, a) + a, a)


# ---------------------------------------------------------------- leaky ReLU
@pytest.mark.parametrize("alpha", [0.01, 0.2])
def test_leaky_relu_backward_matches_finite_differences(alpha):
    rng = np.random.default_rng(0)
    a, dh = away_from_zero(rng, (4, 5)), rng.normal(size=(4, 5))
    numeric = numerical_gradient(lambda: float(np.sum(dh * activations.leaky_relu(a, alpha))), a)
    assert rel_error(activations.leaky_relu_backward(dh, a, alpha), numeric) < SMOOTH_TOLERANCE


def test_leaky_relu_values_and_slope_alpha_at_the_kink():
    a = np.array([-2.0, 0.0, 3.0])
    assert np.array_equal(activations.leaky_relu(a, 0.1), [-0.2, 0.0, 3.0])
    assert np.array_equal(activations.leaky_relu_derivative(a, 0.1), [0.1, 0.1, 1.0])
    assert np.array_equal(activations.leaky_relu_derivative(np.array([0.0])), [0.01])  # default alpha


def test_leaky_relu_with_alpha_zero_is_relu():
    a = np.random.default_rng(1).normal(size=(3, 7))
    assert np.array_equal(activations.leaky_relu(a, 0.0), activations.relu(a))
    assert np.array_equal(activations.leaky_relu_derivative(a, 0.0), activations.relu_derivative(a))


# ---------------------------------------------------------------- L2 weight decay
def test_l2_penalty_value():
    params = {"W": np.array([[1.0, -2.0]]), "U": np.array([3.0]), "b": np.array([100.0])}
    assert l2_penalty(params, 0.5, ("W", "U")) == 0.5 / 2 * (1 + 4 + 9)


def test_l2_gradient_matches_finite_differences_and_leaves_the_rest_alone():
    rng = np.random.default_rng(2)
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=(3, 1)), "U": rng.normal(size=(4,))}
    names = ("W1", "U")
    grads = l2_gradient(params, 0.3, names)
    fd = numerical_gradients(lambda p: l2_penalty(p, 0.3, names), params)
    assert set(grads) == set(names)
    for name in names:
        assert grads[name].shape == params[name].shape
        assert rel_error(grads[name], fd[name]) < SMOOTH_TOLERANCE, name
    assert np.all(fd["b1"] == 0.0)


# ---------------------------------------------------------------- Adam
def test_adam_first_step_moves_each_entry_by_about_lr_against_its_gradient():
    param, grad = np.array([1.0, -1.0, 0.5]), np.array([0.2, -3.0, 1e-3])
    new, m, v = adam_step(param, grad, np.zeros(3), np.zeros(3), t=1, lr=0.01)
    # bias correction makes m_hat = g and v_hat = g^2 at t = 1: a step of lr * g / (|g| + eps)
    assert np.allclose(new, param - 0.01 * np.sign(grad), rtol=0, atol=1e-7)
    assert np.allclose(m, 0.1 * grad) and np.allclose(v, 0.001 * grad * grad)


def test_adam_later_step_follows_the_formula():
    param, grad, m, v = np.array([0.3]), np.array([0.5]), np.array([0.1]), np.array([0.02])
    new, m_new, v_new = adam_step(param, grad, m, v, t=3, lr=0.1, beta1=0.8, beta2=0.9, eps=1e-6)
    assert np.allclose(m_new, 0.8 * 0.1 + 0.2 * 0.5) and np.allclose(v_new, 0.9 * 0.02 + 0.1 * 0.25)
    expected = 0.3 - 0.1 * (m_new / (1 - 0.8 ** 3)) / (np.sqrt(v_new / (1 - 0.9 ** 3)) + 1e-6)
    assert np.allclose(new, expected, rtol=1e-15)


def test_adam_never_changes_its_inputs():
    arrays = [np.array([1.0, 2.0]), np.array([0.5, -0.5]), np.array([0.1, 0.1]), np.array([0.2, 0.3])]
    before = [a.copy() for a in arrays]
    adam_step(*arrays, t=2)
    assert all(np.array_equal(a, b) for a, b in zip(arrays, before))


# ---------------------------------------------------------------- mini-batches
def test_minibatches_cover_every_example_once_with_a_smaller_last_batch():
    batches = list(minibatches(10, 4, np.random.default_rng(3)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))


def test_minibatches_draw_a_fresh_order_each_epoch_from_the_rng():
    rng = np.random.default_rng(4)
    first, second = (np.concatenate(list(minibatches(50, 7, rng))) for _ in range(2))
    assert not np.array_equal(first, second)
    assert np.array_equal(first, np.random.default_rng(4).permutation(50))


def test_minibatches_refuse_an_empty_batch():
    with pytest.raises(ValueError, match="batch_size"):
        list(minibatches(5, 0, np.random.default_rng(0)))
