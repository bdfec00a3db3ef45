"""silu_momentum (seed 003): 3-2-1 network, SiLU hidden, sigmoid out, BCE, momentum.

Row convention (the notebook's z = xW + b): X is (m, 3), one example per row;
W (3, 2), b1 (2,), U (2,), b2 shape (); Z, H are (m, 2), f and p are (m,).
The loss is the batch mean of the binary cross-entropy with p clipped to [1e-15, 1 - 1e-15];
``backward`` returns its gradients (the mean of the per-example gradients).
The notebook prints W, its gradients and velocities transposed, as (2, 3).
"""
import numpy as np

from solutions import activations
from solutions.activations import sigmoid, sigmoid_backward, silu_backward
from solutions.gradcheck import numerical_gradients
from solutions.layers import row_affine_backward, row_affine_forward
from solutions.losses import binary_cross_entropy, binary_cross_entropy_backward
from solutions.optim import momentum_step as _momentum_step

SEED_FILE = "003_db9d12a2e82e919a.txt"
GAMMA = 0.9
ETA = 0.8
ITERATIONS = 2
PARAM_NAMES = ("W", "b1", "U", "b2")


def inputs():
    """The worked batch: X (3, 3), rows x(1), x(2), x(3); labels y (3,)."""
    X = np.array([[1.0, 0.0, 0.5], [0.1, 0.5, 1.0], [0.0, 1.0, 0.7]])
    y = np.array([1.0, 0.0, 0.0])
    return X, y


def initial_params():
    """In [193], [199], [228]: W (3, 2) as the notebook writes it, b1, U and the scalar b2."""
    return {
        "W": np.array([[0.4, -0.3], [0.2, 0.2], [-0.5, 0.1]]),
        "b1": np.array([0.0, -0.4]),
        "U": np.array([0.3, -0.1]),
        "b2": np.array(0.1),
    }


# ---------------------------------------------------------------- student-facing functions
def silu(z):
    """SiLU: z * sigmoid(z), elementwise."""
    return activations.silu(z)


def silu_derivative(z):
    """d silu / dz = sigmoid(z) + z sigmoid(z) (1 - sigmoid(z)), elementwise."""
    return activations.silu_derivative(z)


def forward(params, X):
    """Z = X W + b1, H = silu(Z), f = H U + b2, p = sigmoid(f). X: (m, n_in)."""
    Z, _ = row_affine_forward(X, params["W"], params["b1"])
    H = silu(Z)
    f, _ = row_affine_forward(H, params["U"], params["b2"])
    return {"Z": Z, "H": H, "f": f, "p": sigmoid(f)}


def bce_loss(p, y):
    """Batch mean of the binary cross-entropy, p clipped to [1e-15, 1 - 1e-15]."""
    return binary_cross_entropy(p, y)


def backward(params, cache, X, y):
    """Gradients of ``bce_loss`` (batch mean), each shaped like its parameter."""
    dp = binary_cross_entropy_backward(cache["p"], y)  # already divided by the batch size
    df = sigmoid_backward(dp, cache["f"])
    dH, dU, db2 = row_affine_backward(df, (cache["H"], params["U"], params["b2"]))
    dZ = silu_backward(dH, cache["Z"])
    _, dW, db1 = row_affine_backward(dZ, (X, params["W"], params["b1"]))
    return {"W": dW, "b1": db1, "U": dU, "b2": db2}


def momentum_step(param, grad, velocity, gamma, eta):
    """velocity_new = gamma * velocity - eta * grad; param_new = param + velocity_new."""
    return _momentum_step(param, grad, velocity, gamma, eta)


def train_momentum(params, X, y, gamma, eta, iterations):
    """Full-batch momentum from zero velocities.

    Returns (params, velocities, losses): the final parameters and velocities (dicts keyed like
    params) and the loss before each update.
    """
    velocities = {name: np.zeros_like(np.asarray(value, dtype=float)) for name, value in params.items()}
    losses = []
    for _ in range(iterations):
        cache = forward(params, X)
        losses.append(bce_loss(cache["p"], y))
        grads = backward(params, cache, X, y)
        stepped = {name: momentum_step(params[name], grads[name], velocities[name], gamma, eta)
                   for name in params}
        params = {name: new for name, (new, _) in stepped.items()}
        velocities = {name: v for name, (_, v) in stepped.items()}
    return params, velocities, losses


# ---------------------------------------------------------------- ledger values
def params_before_iteration(k):
    """The parameters iteration k (1-based) starts from."""
    X, y = inputs()
    if k == 1:
        return initial_params()
    params, _, _ = train_momentum(initial_params(), X, y, GAMMA, ETA, k - 1)
    return params


def per_sample_loss(params, X, y, s):
    """BCE of example s alone (0-based): the loss the notebook's chain-rule printouts differentiate."""
    return bce_loss(forward(params, X[s:s + 1])["p"], y[s:s + 1])


def _iteration_values(k):
    """Forward values, per-example chain-rule factors and gradients, and mean gradients of iteration k."""
    X, y = inputs()
    params = params_before_iteration(k)
    cache = forward(params, X)
    values = {f"it{k}_loss": bce_loss(cache["p"], y), f"it{k}_losses": np.array(
        [per_sample_loss(params, X, y, s) for s in range(len(y))])}
    for s in range(len(y)):
        n = s + 1
        Z, p, f = cache["Z"][s], cache["p"][s], cache["f"][s]
        values[f"it{k}_z_sample{n}"] = Z
        values[f"it{k}_silu_sample{n}"] = cache["H"][s]
        values[f"it{k}_f_sample{n}"] = f
        values[f"it{k}_y_sample{n}"] = p
        values[f"it{k}_loss_sample{n}"] = values[f"it{k}_losses"][s]
        # the chain-rule factors, one example at a time (as the notebook prints them)
        values[f"it{k}_dL_dy_sample{n}"] = binary_cross_entropy_backward(p, y[s])
        values[f"it{k}_dy_df_sample{n}"] = activations.sigmoid_derivative(f)
        for i in range(2):
            values[f"it{k}_df_dh{i}_sample{n}"] = params["U"][i]
            values[f"it{k}_dh{i}_dz{i}_sample{n}"] = silu_derivative(Z[i])
            for j in range(3):
                values[f"dz{i}_dW{j}{i}_sample{n}"] = X[s, j]
        grads = backward(params, forward(params, X[s:s + 1]), X[s:s + 1], y[s:s + 1])
        for name in PARAM_NAMES:
            values[f"it{k}_d{name}_sample{n}"] = grads[name]
        for i in range(2):
            values[f"it{k}_db1_{i}_sample{n}"] = grads["b1"][i]
            for j in range(3):
                values[f"it{k}_dW{j}{i}_sample{n}"] = grads["W"][j, i]
    for name, grad in backward(params, cache, X, y).items():
        values[f"it{k}_d{name}"] = grad
    return values


def documented_values():
    """Our value of every quantity the ledger names."""
    X, y = inputs()
    values = {"b2_initial": initial_params()["b2"], "one_minus_y": 1.0 - y}
    for k in range(1, ITERATIONS + 1):
        values.update(_iteration_values(k))
        params, velocities, _ = train_momentum(initial_params(), X, y, GAMMA, ETA, k)
        for name in PARAM_NAMES:
            values[f"{name}_after_it{k}"] = params[name]
            values[f"velocity_{name}_after_it{k}"] = velocities[name]
    return values


def _scalar_fd(function, at):
    """Central finite difference of a scalar function of one scalar."""
    return numerical_gradients(lambda d: function(d["x"][0]), {"x": np.array([float(at)])})["x"][0]


def finite_difference_values():
    """Central finite differences of every derivative the ledger names.

    Parameter gradients: of the per-example loss (``*_sample{n}``) or the batch-mean loss.
    Chain-rule factors: dL/dy of the example's BCE in p, dy/df of the sigmoid, df/dh_i of
    f = h U + b2 in h_i, dh_i/dz_i of SiLU, dz_i/dW[j, i] of z = x W + b1.
    """
    X, y = inputs()
    fd = {}
    for k in range(1, ITERATIONS + 1):
        params = params_before_iteration(k)
        cache = forward(params, X)
        mean = numerical_gradients(lambda q: bce_loss(forward(q, X)["p"], y), params)
        for name in PARAM_NAMES:
            fd[f"it{k}_d{name}"] = mean[name]
        for s in range(len(y)):
            n = s + 1
            grads = numerical_gradients(lambda q: per_sample_loss(q, X, y, s), params)
            for name in PARAM_NAMES:
                fd[f"it{k}_d{name}_sample{n}"] = grads[name]
            for i in range(2):
                fd[f"it{k}_db1_{i}_sample{n}"] = grads["b1"][i]
                for j in range(3):
                    fd[f"it{k}_dW{j}{i}_sample{n}"] = grads["W"][j, i]
            fd[f"it{k}_dL_dy_sample{n}"] = _scalar_fd(lambda p: bce_loss(np.array([p]), y[s:s + 1]),
                                                      cache["p"][s])
            fd[f"it{k}_dy_df_sample{n}"] = _scalar_fd(lambda f: float(sigmoid(f)), cache["f"][s])
            for i in range(2):
                H = cache["H"][s].copy()

                def f_of_h(h, H=H, i=i):
                    H[i] = h
                    return float(H @ params["U"] + params["b2"])

                fd[f"it{k}_df_dh{i}_sample{n}"] = _scalar_fd(f_of_h, H[i])
                fd[f"it{k}_dh{i}_dz{i}_sample{n}"] = _scalar_fd(lambda z: float(silu(z)), cache["Z"][s, i])
                for j in range(3):
                    def z_of_w(w, j=j, i=i):
                        W = params["W"].copy()
                        W[j, i] = w
                        return float((X[s] @ W + params["b1"])[i])

                    fd[f"dz{i}_dW{j}{i}_sample{n}"] = _scalar_fd(z_of_w, params["W"][j, i])
    return fd
