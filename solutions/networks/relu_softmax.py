"""relu_softmax: 3-4-2-3 network, ReLU hidden layers, softmax output, cross-entropy (seed 001).

Column convention: x is (3, batch), W is (n_out, n_in), b is (n_out, 1). The worked example is one
example with integer weights; every function works for any layer widths and batch size.

The worked notebook rounds the softmax output to one decimal (0.4955, 0.4955, 0.0091 -> 0.5, 0.5, 0.0)
and computes every gradient from those rounded probabilities. Our ``forward`` stays exact; our
``backward`` reads its upstream values from ``cache["a3"]``, so feeding it the seed's rounded a3
reproduces the printed gradients. Those printed gradients are the exact gradients of the surrogate
loss sum(g * z3(params)) with g = (rounded a3 - y) / batch held fixed -- not of the exact loss.
"""
import numpy as np

from solutions import activations
from solutions.gradcheck import numerical_gradient, numerical_gradients
from solutions.layers import affine_backward, affine_forward
from solutions.losses import cross_entropy, softmax_cross_entropy_backward
from solutions.softmax import softmax as _column_softmax

SEED_FILE = "001_a30e06baf39e9e6c.txt"
SEED_ROUNDING = 1  # decimals the notebook rounds the softmax output to (cell In [13])


# ---- student-facing functions -------------------------------------------------------------

def relu(z):
    """max(0, z), elementwise. Shape: same as z."""
    return activations.relu(z)


def relu_derivative(z):
    """1.0 where z > 0, else 0.0 (the subgradient 0 at the kink). Shape: same as z."""
    return activations.relu_derivative(z)


def softmax(z):
    """Column-wise softmax. z: (n_classes, batch). Returns the same shape; each column sums to 1."""
    return _column_softmax(z)


def forward(params, x):
    """x: (n_in, batch). Returns {z1, a1, z2, a2, z3, a3}, each (n_units, batch); a3 is the exact softmax."""
    z1, _ = affine_forward(params["W1"], x, params["b1"])
    a1 = relu(z1)
    z2, _ = affine_forward(params["W2"], a1, params["b2"])
    a2 = relu(z2)
    z3, _ = affine_forward(params["W3"], a2, params["b3"])
    return {"z1": z1, "a1": a1, "z2": z2, "a2": a2, "z3": z3, "a3": softmax(z3)}


def backward(params, cache, x, y):
    """Gradients of the batch-mean cross-entropy, using cache["a3"] as given.

    y: one-hot (n_classes, batch). Returns {W1, b1, W2, b2, W3, b3}, each shaped like its parameter.
    """
    steps = backward_steps(params, cache, x, y)
    return {name: steps["d" + name] for name in ("W1", "b1", "W2", "b2", "W3", "b3")}


# ---- reference extras (not student-facing) -------------------------------------------------

def backward_steps(params, cache, x, y):
    """Every gradient of the backward pass: dz3, da2, dz2, da1, dz1 and dW1..db3."""
    dz3 = softmax_cross_entropy_backward(cache["a3"], y)
    da2, dW3, db3 = affine_backward(dz3, (params["W3"], cache["a2"], params["b3"]))
    dz2 = activations.relu_backward(da2, cache["z2"])
    da1, dW2, db2 = affine_backward(dz2, (params["W2"], cache["a1"], params["b2"]))
    dz1 = activations.relu_backward(da1, cache["z1"])
    _, dW1, db1 = affine_backward(dz1, (params["W1"], x, params["b1"]))
    return {"dz3": dz3, "da2": da2, "dz2": dz2, "da1": da1, "dz1": dz1,
            "dW3": dW3, "db3": db3, "dW2": dW2, "db2": db2, "dW1": dW1, "db1": db1}


def initial_params():
    """The worked example's integer weights (cells In [4], In [7], In [8]), as floats."""
    return {
        "W1": np.array([[1, -1, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=float),
        "b1": np.array([[-5], [0], [1], [-2]], dtype=float),
        "W2": np.array([[1, -1, 1, 0], [0, 1, -1, 1]], dtype=float),
        "b2": np.array([[0], [3]], dtype=float),
        "W3": np.array([[2, 0], [0, 2], [1, 1]], dtype=float),
        "b3": np.array([[-1], [-5], [-7]], dtype=float),
    }


def worked_x():
    """The worked input, one example: (3, 1)."""
    return np.array([[2.0], [1.0], [3.0]])


def worked_y():
    """The worked target, one-hot class 1: (3, 1)."""
    return np.array([[0.0], [1.0], [0.0]])


def seed_cache(params, x):
    """Our exact forward cache with a3 replaced by the notebook's softmax rounded to one decimal."""
    cache = forward(params, x)
    return dict(cache, a3=np.round(cache["a3"], SEED_ROUNDING))


def _z3_given(params, x, **override):
    """z3 computed from x, or from one overridden intermediate (z1, a1, z2 or a2) onwards."""
    z1 = override.get("z1", params["W1"] @ x + params["b1"])
    a1 = override.get("a1", relu(z1))
    z2 = override.get("z2", params["W2"] @ a1 + params["b2"])
    a2 = override.get("a2", relu(z2))
    return override.get("z3", params["W3"] @ a2 + params["b3"])


def exact_loss(z3, y):
    """The exact batch-mean cross-entropy of softmax(z3)."""
    return cross_entropy(softmax(z3), y)


def surrogate_loss(z3, g):
    """sum(g * z3): its gradient with respect to z3 is g, held fixed. With g = (rounded a3 - y) / batch
    this is the loss whose exact gradients the notebook prints."""
    return float(np.sum(g * z3))


INTERMEDIATES = ("z1", "a1", "z2", "a2", "z3")


def finite_differences(params, x, head):
    """Central differences of head(z3) for every parameter and every intermediate (as d<name>)."""
    fd = {"d" + k: v for k, v in numerical_gradients(lambda p: head(_z3_given(p, x)), params).items()}
    cache = forward(params, x)
    for name in INTERMEDIATES:
        value = np.array(cache[name], dtype=float)
        fd["d" + name] = numerical_gradient(lambda: head(_z3_given(params, x, **{name: value})), value)
    return fd


def exact_gradients():
    """True gradients of the exact loss at the worked example (for the ledger's `exact` fields)."""
    params, x, y = initial_params(), worked_x(), worked_y()
    return backward_steps(params, forward(params, x), x, y)


def exact_finite_difference_values():
    """Central differences of the exact loss at the worked example: the ledger's `exact` fields agree
    with them; the printed dz3, dW3 and db3 (from the rounded a3) do not."""
    params, x, y = initial_params(), worked_x(), worked_y()
    return finite_differences(params, x, lambda z3: exact_loss(z3, y))


def documented_values():
    """Our value of every quantity in the ledger. Forward values are exact; gradients come from our
    backward fed the seed's rounded a3 (see ``seed_cache``)."""
    params, x, y = initial_params(), worked_x(), worked_y()
    values = dict(forward(params, x))
    values.update(backward_steps(params, seed_cache(params, x), x, y))
    return values


def finite_difference_values():
    """Central differences of the surrogate loss sum(g * z3) with g = (rounded a3 - y) / batch fixed:
    the loss whose gradients the notebook prints. Keys: d<param> and d<intermediate>."""
    params, x, y = initial_params(), worked_x(), worked_y()
    g = (seed_cache(params, x)["a3"] - y) / x.shape[1]
    return finite_differences(params, x, lambda z3: surrogate_loss(z3, g))
