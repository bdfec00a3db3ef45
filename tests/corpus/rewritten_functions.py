"""Whole functions as a student might write them, planted in place of a solution's function.

A case names one of these; its source (``inspect.getsource``) replaces the function of the same
role in the notebook, renamed to the function the question asks for (``sigmoid_mlp_backward_loops``
becomes ``backward``). They are never called here: names such as ``sigmoid``, ``forward`` or
``relu_derivative`` are the notebook's own functions, resolved when the notebook runs.
"""
# ruff: noqa: F821  (the notebook defines the functions these call)
import numpy as np

# ------------------------------------------------------------- right, written with Python loops

def sigmoid_mlp_backward_loops(params, cache, x, y):
    """Backpropagation one example (column) at a time, accumulated into the batch mean."""
    m = x.shape[1]
    grads = {name: np.zeros(np.shape(value)) for name, value in params.items()}
    for i in range(m):
        da3 = (cache["yhat"][:, i:i + 1] - y[:, i:i + 1]) / m
        grads["W3"] += da3 @ cache["h2"][:, i:i + 1].T
        grads["b3"] += da3
        s2 = sigmoid(cache["a2"][:, i:i + 1])
        da2 = (params["W3"].T @ da3) * s2 * (1 - s2)
        grads["W2"] += da2 @ cache["h1"][:, i:i + 1].T
        grads["b2"] += da2
        s1 = sigmoid(cache["a1"][:, i:i + 1])
        da1 = (params["W2"].T @ da2) * s1 * (1 - s1)
        grads["W1"] += da1 @ x[:, i:i + 1].T
        grads["b1"] += da1
    return grads


def relu_softmax_backward_loops(params, cache, x, y):
    """Backpropagation one example at a time, using cache["a3"] as given."""
    m = x.shape[1]
    grads = {name: np.zeros(np.shape(value)) for name, value in params.items()}
    for i in range(m):
        dz3 = (cache["a3"][:, i:i + 1] - y[:, i:i + 1]) / m
        grads["W3"] += dz3 @ cache["a2"][:, i:i + 1].T
        grads["b3"] += dz3
        dz2 = (params["W3"].T @ dz3) * relu_derivative(cache["z2"][:, i:i + 1])
        grads["W2"] += dz2 @ cache["a1"][:, i:i + 1].T
        grads["b2"] += dz2
        dz1 = (params["W2"].T @ dz2) * relu_derivative(cache["z1"][:, i:i + 1])
        grads["W1"] += dz1 @ x[:, i:i + 1].T
        grads["b1"] += dz1
    return grads


def relu_mse_training_backward_loops(params, cache, X, y):
    """Gradients of the mean squared error, one example at a time."""
    n = np.size(cache["a2"])
    grads = {name: np.zeros(np.shape(value)) for name, value in params.items()}
    for i in range(X.shape[1]):
        a2 = cache["a2"][:, i:i + 1]
        dz2 = 2.0 * (a2 - y[:, i:i + 1]) / n * a2 * (1.0 - a2)
        grads["W2"] += dz2 @ cache["a1"][:, i:i + 1].T
        grads["b2"] += dz2
        dz1 = (params["W2"].T @ dz2) * (cache["z1"][:, i:i + 1] > 0)
        grads["W1"] += dz1 @ X[:, i:i + 1].T
        grads["b1"] += dz1
    return grads


def silu_momentum_backward_loops(params, cache, X, y):
    """Gradients of the batch-mean BCE, one example (row) at a time."""
    m = X.shape[0]
    dW = np.zeros(np.shape(params["W"]))
    db1 = np.zeros(np.shape(params["b1"]))
    dU = np.zeros(np.shape(params["U"]))
    db2 = 0.0
    for i in range(m):
        df = (cache["p"][i] - y[i]) / m
        dU += df * cache["H"][i]
        db2 += df
        dz = df * params["U"] * silu_derivative(cache["Z"][i])
        dW += np.outer(X[i], dz)
        db1 += dz
    return {"W": dW, "b1": db1, "U": dU, "b2": db2}


def tanh_softmax_batch_softmax_backward_loops(dA, A):
    """The softmax Jacobian built for each column and applied to that column's dA."""
    dZ = np.zeros(np.shape(A))
    for j in range(A.shape[1]):
        a = A[:, j]
        jacobian = np.diag(a) - np.outer(a, a)
        dZ[:, j] = jacobian @ dA[:, j]
    return dZ


def leaky_relu_l2_sgd_backward_loops(params, cache, x, y, lam):
    """Gradients of the loss with weight decay, one example (column) at a time, then the decay."""
    m = x.shape[1]
    grads = {name: np.zeros(np.shape(value)) for name, value in params.items()}
    for i in range(m):
        dz2 = (cache["a2"][:, i:i + 1] - y[:, i:i + 1]) / m
        grads["W2"] += dz2 @ cache["a1"][:, i:i + 1].T
        grads["b2"] += dz2
        dz1 = (params["W2"].T @ dz2) * leaky_relu_derivative(cache["z1"][:, i:i + 1])
        grads["W1"] += dz1 @ x[:, i:i + 1].T
        grads["b1"] += dz1
    grads["W1"] += lam * params["W1"]
    grads["W2"] += lam * params["W2"]
    return grads


def tanh_bce_adam_backward_loops(params, cache, x, y):
    """Gradients of the batch-mean BCE, one example (column) at a time."""
    m = x.shape[1]
    grads = {name: np.zeros(np.shape(value)) for name, value in params.items()}
    for i in range(m):
        dz2 = (cache["a2"][:, i:i + 1] - y[:, i:i + 1]) / m
        grads["W2"] += dz2 @ cache["a1"][:, i:i + 1].T
        grads["b2"] += dz2
        dz1 = (params["W2"].T @ dz2) * (1 - cache["a1"][:, i:i + 1] ** 2)
        grads["W1"] += dz1 @ x[:, i:i + 1].T
        grads["b1"] += dz1
    return grads


# ------------------------------------------------------------- inputs changed in place

def update_in_place(params, grads, lr):
    """The update written into the given arrays (the prompt says to leave them unchanged)."""
    for name in params:
        params[name] -= lr * grads[name]
    return params


def momentum_step_in_place(param, grad, velocity, gamma, eta):
    """Right values, but the given velocity and parameter arrays are overwritten."""
    velocity *= gamma
    velocity -= eta * grad
    param += velocity
    return param, velocity


def adam_step_in_place(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """Right values, but the given param, m and v arrays are overwritten."""
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad ** 2
    param -= lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return param, m, v


# ------------------------------------------------------------- real mistakes a line cannot show

def momentum_step_old_velocity(param, grad, velocity, gamma, eta):
    """The parameter moves by the OLD velocity; the velocity is updated afterwards."""
    new_param = param + velocity
    velocity = gamma * velocity - eta * grad
    return new_param, velocity


def momentum_step_velocity_negated(param, grad, velocity, gamma, eta):
    """v = gamma v + eta g, theta - v: the other sign convention for the velocity. It agrees
    with the prompt's only while the velocity is zero; it returns the velocity negated."""
    velocity = gamma * velocity + eta * grad
    return param - velocity, velocity


def train_loss_after_update(params, X, y, lr, epochs):
    """The loss of each epoch recorded AFTER its update instead of before."""
    losses = []
    for _ in range(epochs):
        cache = forward(params, X)
        params = gradient_descent_step(params, backward(params, cache, X, y), lr)
        losses.append(mse_loss(forward(params, X)["a2"], y))
    return params, losses
