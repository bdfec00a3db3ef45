"""Elementwise activations, each forward beside its backward.

Every function works on arrays of any shape; ``backward`` functions take the
upstream gradient ``dh`` (same shape as the activation's output) and the
activation's *input* ``a``, and return ``dL/da`` with the shape of ``a``.
"""
import numpy as np


def sigmoid(a):
    """sigma(a) = 1 / (1 + exp(-a)), elementwise. Shape: same as ``a``."""
    return 1.0 / (1.0 + np.exp(-np.asarray(a, dtype=float)))


def sigmoid_backward(dh, a):
    """dL/da = dh * sigma(a) * (1 - sigma(a)). Shapes: dh, a and result alike."""
    s = sigmoid(a)
    return dh * s * (1.0 - s)


def relu(a):
    """max(0, a), elementwise. Shape: same as ``a``."""
    return np.maximum(0.0, np.asarray(a, dtype=float))


def relu_backward(dh, a):
    """dL/da = dh where a > 0, else 0 (the subgradient 0 at the kink)."""
    return dh * (np.asarray(a) > 0)


def tanh(a):
    """tanh(a), elementwise. Shape: same as ``a``."""
    return np.tanh(np.asarray(a, dtype=float))


def tanh_backward(dh, a):
    """dL/da = dh * (1 - tanh(a)^2)."""
    t = np.tanh(a)
    return dh * (1.0 - t * t)


def silu(a):
    """SiLU (swish): a * sigma(a), elementwise. Shape: same as ``a``."""
    a = np.asarray(a, dtype=float)
    return a * sigmoid(a)


def silu_backward(dh, a):
    """dL/da = dh * (sigma(a) + a * sigma(a) * (1 - sigma(a)))."""
    s = sigmoid(a)
    return dh * (s + a * s * (1.0 - s))


def leaky_relu(a, alpha=0.01):
    """a where a > 0, else alpha * a, elementwise. Shape: same as ``a``."""
    a = np.asarray(a, dtype=float)
    return np.where(a > 0, a, alpha * a)


def leaky_relu_backward(dh, a, alpha=0.01):
    """dL/da = dh where a > 0, else alpha * dh (slope alpha at the kink, as relu takes 0 there)."""
    return dh * np.where(np.asarray(a) > 0, 1.0, alpha)


def identity(a):
    """a itself, as a new float array (a linear output layer). Shape: same as ``a``."""
    return np.array(a, dtype=float)


def identity_backward(dh, a):
    """dL/da = dh."""
    return dh


# Derivatives alone (the backward with an upstream of ones), for notebooks that
# ask for "the derivative of the activation" as its own function.
def sigmoid_derivative(a):
    return sigmoid_backward(1.0, a)


def relu_derivative(a):
    return relu_backward(1.0, a).astype(float)


def tanh_derivative(a):
    return tanh_backward(1.0, a)


def silu_derivative(a):
    return silu_backward(1.0, a)


def leaky_relu_derivative(a, alpha=0.01):
    return leaky_relu_backward(1.0, a, alpha)
