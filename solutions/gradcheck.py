"""The one central finite-difference gradient checker (CS231n's, h = 1e-5).

Used by the tests, the hidden tests and the ledger alike.
"""
import numpy as np

STEP = 1e-5
# rel_error thresholds: smooth functions agree to about 1e-7; ReLU kinks need looser.
SMOOTH_TOLERANCE = 1e-6
KINKED_TOLERANCE = 1e-4


def numerical_gradient(f, x, h=STEP):
    """Central differences of the scalar function f() with respect to array x, changed in place.

    f takes no arguments and reads x; x is restored afterwards. Returns an array shaped like x.
    """
    x_flat = x.reshape(-1)  # a view: writing it changes x
    grad = np.zeros(x.size)
    for i in range(x.size):
        old = x_flat[i]
        x_flat[i] = old + h
        plus = f()
        x_flat[i] = old - h
        minus = f()
        x_flat[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad.reshape(x.shape)


def numerical_gradients(loss, params, h=STEP):
    """Finite-difference gradient of ``loss(params) -> float`` for every array in the dict ``params``.

    Works on float copies; returns {name: gradient shaped like params[name]}.
    """
    work = {k: np.array(v, dtype=float) for k, v in params.items()}
    return {k: numerical_gradient(lambda: loss(work), work[k], h) for k in work}


def rel_error(x, y):
    """max |x - y| / max(1e-8, |x| + |y|), elementwise maximum: CS231n's one number."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))) if x.size else 0.0
