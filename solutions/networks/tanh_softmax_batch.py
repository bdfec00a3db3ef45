"""tanh_softmax_batch: 2-2-3 network, tanh hidden layer, softmax output, batch cross-entropy (seed 004).

Column convention: X is (n_in, batch), W is (n_out, n_in), b is (n_out, 1); the loss is the
cross-entropy averaged over the batch. The worked example is a batch of 3 with labels 0, 1, 2;
every function works for any layer widths and batch size.

The notebook's b2 is the scalar [[-0.1]] broadcast to all three output rows; ours is a (3, 1) bias
initialised to -0.1, which gives the same forward pass. Its printed dLossdb2 (one number per class)
is then the gradient of our (3, 1) bias, not of its scalar (that would be the sum of the three).

The backward pass goes through the full softmax Jacobian, column by column:
dZ2 = A2 * (dA2 - sum(A2 * dA2, axis=0)). The notebook writes prod2 - A2 * sumprod, where
sumprod = A2 * sumterm already holds the A2 factor: the sum term is multiplied by A2 twice.
"""
import numpy as np

from solutions import activations
from solutions.gradcheck import numerical_gradient, numerical_gradients
from solutions.layers import affine_backward, affine_forward
from solutions.losses import cross_entropy as _cross_entropy
from solutions.losses import cross_entropy_backward
from solutions.softmax import softmax as _column_softmax
from solutions.softmax import softmax_backward as _softmax_backward

SEED_FILE = "004_9631732c4a400696.txt"


# ---- student-facing functions -------------------------------------------------------------

def softmax(Z):
    """Column-wise softmax. Z: (n_classes, batch). Returns the same shape; each column sums to 1."""
    return _column_softmax(Z)


def one_hot(labels, n_classes):
    """labels: any shape holding `batch` integers (e.g. (1, batch)). Returns (n_classes, batch) of 0.0/1.0."""
    labels = np.asarray(labels).astype(int).ravel()
    Y = np.zeros((n_classes, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


def forward(params, X):
    """X: (n_in, batch). Returns {Z1, A1, Z2, A2}, each (n_units, batch)."""
    Z1, _ = affine_forward(params["W1"], X, params["b1"])
    A1 = activations.tanh(Z1)
    Z2, _ = affine_forward(params["W2"], A1, params["b2"])
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": softmax(Z2)}


def cross_entropy(A2, Y):
    """Mean over the batch of -sum_k Y[k] log A2[k]. A2, Y: (n_classes, batch). Returns float."""
    return _cross_entropy(A2, Y)


def softmax_backward(dA, A):
    """Full softmax Jacobian applied per column: A * (dA - sum(A * dA, axis=0)). Shape (n_classes, batch)."""
    return _softmax_backward(dA, A)


def backward(params, cache, X, Y):
    """Gradients of the batch-mean cross-entropy. Y: one-hot (n_classes, batch).

    Returns {W1, b1, W2, b2}, each shaped like its parameter.
    """
    steps = backward_steps(params, cache, X, Y)
    return {name: steps["d" + name] for name in ("W1", "b1", "W2", "b2")}


def predict(params, X):
    """The most probable class of each column of X: integer array (batch,)."""
    return np.argmax(forward(params, X)["A2"], axis=0)


# ---- reference extras (not student-facing) -------------------------------------------------

def backward_steps(params, cache, X, Y):
    """Every gradient of the backward pass: dA2, dZ2, dA1, dZ1 and dW1, db1, dW2, db2."""
    dA2 = cross_entropy_backward(cache["A2"], Y)
    dZ2 = softmax_backward(dA2, cache["A2"])
    dA1, dW2, db2 = affine_backward(dZ2, (params["W2"], cache["A1"], params["b2"]))
    dZ1 = activations.tanh_backward(dA1, cache["Z1"])
    _, dW1, db1 = affine_backward(dZ1, (params["W1"], X, params["b1"]))
    return {"dA2": dA2, "dZ2": dZ2, "dA1": dA1, "dZ1": dZ1,
            "dW2": dW2, "db2": db2, "dW1": dW1, "db1": db1}


def seed_dZ2(A2, dA2):
    """The notebook's dLossdZ2 (cell In [7]): prod2 - A2 * sumprod, with sumprod = A2 * sumterm.

    Kept to show the mistake; the correct one is ``softmax_backward(dA2, A2)``.
    """
    prod2 = A2 * dA2
    sumprod = A2 * np.sum(prod2, axis=0)
    return prod2 - A2 * sumprod


def initial_params():
    """The worked example's parameters (cell In [3]); b2 is the notebook's scalar -0.1 on every row."""
    return {
        "W1": np.array([[0.5, 0.5], [0.5, -0.5]]),
        "b1": np.array([[0.5], [0.5]]),
        "W2": np.array([[-1.0, 1.0], [1.0, -1.0], [-2.0, 1.0]]),
        "b2": np.full((3, 1), -0.1),
    }


def worked_x():
    """The worked batch X: (2, 3), one example per column."""
    return np.array([[1.0, 2.0, 4.0], [-2.0, -5.0, -8.0]])


def worked_labels():
    """The worked labels, as the notebook stores them: (1, 3)."""
    return np.array([[0, 1, 2]])


def worked_y():
    """The worked labels one-hot: (3, 3)."""
    return one_hot(worked_labels(), 3)


def softmax_example_Z():
    """The standalone softmax example of cell In [2]: 4 classes, 3 columns."""
    return np.array([[0.1, -0.1, -0.2], [-0.2, 0.2, 0.3], [-0.3, 0.1, 0.2], [0.4, -0.3, -0.5]])


def _Z2_given(params, X, **override):
    """Z2 computed from X, or from one overridden intermediate (Z1 or A1) onwards."""
    Z1 = override.get("Z1", params["W1"] @ X + params["b1"])
    A1 = override.get("A1", np.tanh(Z1))
    return override.get("Z2", params["W2"] @ A1 + params["b2"])


Z1_STEP = 1e-2


def _extrapolated_differences(f, x, h=Z1_STEP):
    """Central differences at steps h and 2h combined by Richardson extrapolation (the five-point
    central stencil, error O(h^4)). Needed for dL/dZ1: where tanh saturates (Z1 = 6.5 in the worked
    example, dL/dZ1 = -3.8e-8) float64 cannot resolve tanh(Z1 +- 1e-5) finely enough for the
    plain step to reach a relative error of 1e-6; a larger step with this correction does."""
    return (4.0 * numerical_gradient(f, x, h) - numerical_gradient(f, x, 2.0 * h)) / 3.0


def finite_differences(params, X, Y):
    """Central differences of the batch-mean cross-entropy for every parameter (d<name>) and every
    intermediate dA2, dZ2, dA1, dZ1 (dZ1 extrapolated, see above), plus the elementwise tanh
    derivative dA1_dZ1."""
    def loss_of_Z2(Z2):
        return cross_entropy(softmax(Z2), Y)

    fd = {"d" + k: v for k, v in numerical_gradients(lambda p: loss_of_Z2(_Z2_given(p, X)), params).items()}
    cache = forward(params, X)
    A2 = np.array(cache["A2"])
    fd["dA2"] = numerical_gradient(lambda: cross_entropy(A2, Y), A2)
    for name in ("Z2", "A1"):
        value = np.array(cache[name])
        fd["d" + name] = numerical_gradient(lambda: loss_of_Z2(_Z2_given(params, X, **{name: value})), value)
    Z1 = np.array(cache["Z1"])
    fd["dZ1"] = _extrapolated_differences(lambda: loss_of_Z2(_Z2_given(params, X, Z1=Z1)), Z1)
    # tanh acts elementwise, so d sum(tanh(Z1)) / dZ1 is its derivative
    fd["dA1_dZ1"] = numerical_gradient(lambda: float(np.sum(np.tanh(Z1))), Z1)
    return fd


def documented_values():
    """Our value of every quantity in the ledger, at the worked example."""
    params, X, Y = initial_params(), worked_x(), worked_y()
    cache = forward(params, X)
    steps = backward_steps(params, cache, X, Y)
    A_example = softmax(softmax_example_Z())
    prod2 = cache["A2"] * steps["dA2"]
    sumterm = np.sum(prod2, axis=0)
    values = {
        "example_Z": softmax_example_Z(),
        "example_A": A_example,
        "example_A_column_sums": np.sum(A_example, axis=0),
        "Y": Y,
        "A2_times_dA2": prod2,
        "sumterm": sumterm,
        "sumprod": cache["A2"] * sumterm,
        "dA1_dZ1": activations.tanh_derivative(cache["Z1"]),
        "P": predict(params, X).astype(float),
    }
    values.update(cache)
    values.update(steps)
    return values


def finite_difference_values():
    """Central differences of the exact batch-mean cross-entropy at the worked example."""
    return finite_differences(initial_params(), worked_x(), worked_y())
