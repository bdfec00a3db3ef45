"""Exercise ``sigmoid_mlp`` (seed 000): sigmoid hidden layers, softmax output, cross-entropy.

The worked example is 3-3-3-3 with one example, but every function here works for any
layer widths and any batch size. Column convention: x is (n0, batch), Wk is (nk, nk-1),
bk is (nk, 1); the loss is the mean over the batch columns.

    a1 = W1 x + b1,  h1 = sigmoid(a1)
    a2 = W2 h1 + b2, h2 = sigmoid(a2)
    a3 = W3 h2 + b3, yhat = softmax(a3)
    L  = mean over columns of -sum_k y_k log yhat_k

Assembled from the shared pieces in ``solutions`` (never re-derived here).
"""
from pathlib import Path

import numpy as np

from solutions import activations, layers, losses, optim
from solutions import softmax as softmax_piece
from solutions.gradcheck import numerical_gradients

SEED_FILE = "000_95d8edc1cb6f9ce0.txt"
PARAMETERS_FILE = Path(__file__).resolve().parents[2] / "assignments" / "sigmoid_mlp" / "parameters.npz"
PARAMETER_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
LEARNING_RATE = 1.0  # the worked example's one SGD step

# The order of the forward pass; each entry is computed from the one before it.
FORWARD_ORDER = ("a1", "h1", "a2", "h2", "a3", "yhat")


# ---------------------------------------------------------------- student-facing functions
def sigmoid(a):
    """Elementwise logistic function. a: any shape. Returns the same shape."""
    return activations.sigmoid(a)


def softmax(a):
    """Column-wise softmax. a: (n_classes, batch). Returns (n_classes, batch), columns sum to 1."""
    return softmax_piece.softmax(a)


def forward(params, x):
    """Forward pass. params: {W1 (n1,n0), b1 (n1,1), W2 (n2,n1), b2 (n2,1), W3 (n3,n2), b3 (n3,1)};
    x: (n0, batch). Returns the cache {a1, h1 (n1,batch), a2, h2 (n2,batch), a3, yhat (n3,batch)}.
    """
    return _forward_from(params, "x", x)


def cross_entropy(yhat, y):
    """Mean over the batch of -sum_k y_k log yhat_k. yhat, y: (n_classes, batch). Returns float."""
    return losses.cross_entropy(yhat, y)


def backward(params, cache, x, y):
    """Gradients of the mean cross-entropy. cache: what ``forward`` returned; x: (n0, batch);
    y: one-hot (n3, batch). Returns {W1, b1, W2, b2, W3, b3}, each shaped like its parameter.
    """
    grads = _backprop(params, cache, x, y)
    return {name: grads[name] for name in PARAMETER_NAMES}


def sgd_step(params, grads, lr):
    """One step of gradient descent: p - lr * dL/dp for every parameter. Returns a new dict;
    the arrays in ``params`` are not changed. Shapes: as in ``params``.
    """
    return {name: optim.sgd_step(params[name], grads[name], lr) for name in params}


# ---------------------------------------------------------------- the pieces put together
def _forward_from(params, start, value):
    """The forward pass from ``start`` ("x" or one of FORWARD_ORDER) with that quantity set to
    ``value``. Used by ``forward`` and by the finite differences over intermediate quantities.
    """
    cache = {start: value}
    steps = {
        "a1": lambda c: layers.affine_forward(params["W1"], c["x"], params["b1"])[0],
        "h1": lambda c: activations.sigmoid(c["a1"]),
        "a2": lambda c: layers.affine_forward(params["W2"], c["h1"], params["b2"])[0],
        "h2": lambda c: activations.sigmoid(c["a2"]),
        "a3": lambda c: layers.affine_forward(params["W3"], c["h2"], params["b3"])[0],
        "yhat": lambda c: softmax_piece.softmax(c["a3"]),
    }
    todo = FORWARD_ORDER if start == "x" else FORWARD_ORDER[FORWARD_ORDER.index(start) + 1:]
    for name in todo:
        cache[name] = steps[name](cache)
    cache.pop("x", None)
    return cache


def _backprop(params, cache, x, y):
    """Every gradient of the mean loss: the parameters' and the intermediates' (grad_a3 ...
    grad_a1, keyed by the intermediate's name). Each has the shape of what it differentiates.
    """
    g = {}
    g["a3"] = losses.softmax_cross_entropy_backward(cache["yhat"], y)
    g["h2"], g["W3"], g["b3"] = layers.affine_backward(g["a3"], (params["W3"], cache["h2"], params["b3"]))
    g["a2"] = activations.sigmoid_backward(g["h2"], cache["a2"])
    g["h1"], g["W2"], g["b2"] = layers.affine_backward(g["a2"], (params["W2"], cache["h1"], params["b2"]))
    g["a1"] = activations.sigmoid_backward(g["h1"], cache["a1"])
    _, g["W1"], g["b1"] = layers.affine_backward(g["a1"], (params["W1"], x, params["b1"]))
    return g


# ---------------------------------------------------------------- the worked example
def initial_params():
    """The worked example's parameters (fitted to the notebook; see fit_parameters.py).
    W1, W2, W3: (3, 3); b1, b2, b3: (3, 1).
    """
    with np.load(PARAMETERS_FILE) as data:
        return {name: np.array(data[name], dtype=float) for name in PARAMETER_NAMES}


def worked_x():
    """The worked input, a column vector (3, 1)."""
    return np.array([1.0, 0.0, 1.0]).reshape(-1, 1)


def worked_y():
    """The worked one-hot target, a column vector (3, 1)."""
    return np.array([0.0, 0.0, 1.0]).reshape(-1, 1)


def worked_values(params, x=None, y=None):
    """Every quantity the notebook prints, computed from ``params`` (keys = ledger quantities)."""
    x = worked_x() if x is None else x
    y = worked_y() if y is None else y
    cache = forward(params, x)
    g = _backprop(params, cache, x, y)
    after = forward(sgd_step(params, {k: g[k] for k in PARAMETER_NAMES}, LEARNING_RATE), x)
    values = {
        "x": x,
        "y": y,
        "n_params": int(sum(np.size(params[k]) for k in PARAMETER_NAMES)),
        "a1_sum": float(cache["a1"].sum()),
        "h1_sum": float(cache["h1"].sum()),
        "a2_sum": float(cache["a2"].sum()),
        "h2_sum": float(cache["h2"].sum()),
        "a3_sum": float(cache["a3"].sum()),
        "loss": cross_entropy(cache["yhat"], y),
        "yhat_after_step": after["yhat"],
        "loss_after_step": cross_entropy(after["yhat"], y),
    }
    for name in ("a3", "h2", "a2", "h1", "a1"):
        values["grad_" + name] = g[name]
    for name in PARAMETER_NAMES:
        values["grad_" + name] = g[name]
    return values


def documented_values():
    """Our value of every quantity named in the ledger (keys = ledger ``quantity``)."""
    return worked_values(initial_params())


def finite_difference_values():
    """Central finite differences of the loss for every gradient quantity in the ledger:
    over the parameters for grad_W*/grad_b*, and over the intermediate (with the rest of the
    network downstream of it) for grad_a3, grad_h2, grad_a2, grad_h1, grad_a1.
    """
    params, x, y = initial_params(), worked_x(), worked_y()
    fd = {"grad_" + k: v for k, v in
          numerical_gradients(lambda p: cross_entropy(forward(p, x)["yhat"], y), params).items()}
    cache = forward(params, x)
    for name in ("a3", "h2", "a2", "h1", "a1"):
        fd["grad_" + name] = numerical_gradients(
            lambda v, name=name: cross_entropy(_forward_from(params, name, v[name])["yhat"], y),
            {name: cache[name]})[name]
    return fd
