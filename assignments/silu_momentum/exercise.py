"""silu_momentum (seed 003): a 3-2-1 SiLU network, sigmoid out, row convention, BCE, two momentum steps.

Row convention (the notebook's z = xW + b): X is (m, 3), one example per row; W (3, 2), b1 (2,),
U (2,), b2 shape (); Z, H are (m, 2), f and p are (m,). The loss is the batch mean of the binary
cross-entropy with p clipped to [1e-15, 1 - 1e-15]; ``backward`` returns its gradients (the mean of
the per-example gradients). The notebook prints W, its gradients and velocities transposed, as (2, 3).

The worked notebook prints its chain rule one example at a time (dL/dy, dy/df, df/dh, dh/dz, dz/dw and
their product for every weight); every one of those numbers is checked here from the student's own
functions: ``forward`` (nudging a weight or a bias, which is exact because z and f are affine),
``silu_derivative``, ``backward`` on a batch of one example, ``bce_loss`` on one example,
``momentum_step`` and ``train_momentum``.
"""
import re

import numpy as np

from solutions import activations, training
from solutions.activations import sigmoid
from solutions.describe import (call, finite_difference_test, hidden_test, inputs_unchanged_test,
                                Ledger, operation, public, public_structure_test,
                                public_values_test, public_variants, Question, Reference, result,
                                shape, structure, value, worked_example_test)
from solutions.gradcheck import numerical_gradients
from solutions.losses import binary_cross_entropy, binary_cross_entropy_backward
from solutions.network import Layer, Network
from solutions.optim import momentum_step as optim_momentum_step

EXERCISE = "silu_momentum"
SEED_FILE = "003_db9d12a2e82e919a.txt"
FILES = ()
GAMMA = 0.9
ETA = 0.8
ITERATIONS = 2
PARAM_NAMES = ("W", "b1", "U", "b2")


# ---------------------------------------------------------------- the reference, from building blocks

NET = Network(layers=(Layer("W", "b1", "silu", pre="Z", post="H"),
                      Layer("U", "b2", "sigmoid", pre="f", post="p")),
              convention="rows", loss="binary_cross_entropy", output_gradient="chain")


def _train_momentum(params, X, y, gamma, eta, iterations):
    """Full-batch momentum from zero velocities: (params, velocities, losses before each update)."""
    step = training.Momentum(gamma, eta)
    params, losses = training.train(NET, params, X, y, step, iterations)
    return params, step.velocities, losses


ref = Reference(
    silu=activations.silu,
    silu_derivative=activations.silu_derivative,
    forward=NET.forward,
    bce_loss=binary_cross_entropy,
    backward=NET.backward,  # of the batch mean: the 1/m is in the BCE's own derivative
    momentum_step=optim_momentum_step,
    train_momentum=_train_momentum,
    network=NET,
)


# ---------------------------------------------------------------- the worked example and its ledger

@ref.add
def inputs():
    """The worked batch: X (3, 3), rows x(1), x(2), x(3); labels y (3,)."""
    X = np.array([[1.0, 0.0, 0.5], [0.1, 0.5, 1.0], [0.0, 1.0, 0.7]])
    y = np.array([1.0, 0.0, 0.0])
    return X, y


@ref.add
def initial_params():
    """In [193], [199], [228]: W (3, 2) as the notebook writes it, b1, U and the scalar b2."""
    return {
        "W": np.array([[0.4, -0.3], [0.2, 0.2], [-0.5, 0.1]]),
        "b1": np.array([0.0, -0.4]),
        "U": np.array([0.3, -0.1]),
        "b2": np.array(0.1),
    }


@ref.add
def params_before_iteration(k):
    """The parameters iteration k (1-based) starts from."""
    X, y = inputs()
    if k == 1:
        return initial_params()
    params, _, _ = ref.train_momentum(initial_params(), X, y, GAMMA, ETA, k - 1)
    return params


@ref.add
def per_sample_loss(params, X, y, s):
    """BCE of example s alone (0-based): the loss the notebook's chain-rule printouts differentiate."""
    return ref.bce_loss(ref.forward(params, X[s:s + 1])["p"], y[s:s + 1])


def _sample_gradients(k, n, grads):
    """One example's gradients under the ledger's names: whole (it<k>_d<name>_sample<n>) and the
    entries the notebook prints one by one (db1_<i>, dW<j><i>)."""
    out = {f"it{k}_d{name}_sample{n}": grads[name] for name in PARAM_NAMES}
    for i in range(2):
        out[f"it{k}_db1_{i}_sample{n}"] = grads["b1"][i]
        for j in range(3):
            out[f"it{k}_dW{j}{i}_sample{n}"] = grads["W"][j, i]
    return out


def _iteration_values(k):
    """Forward values, per-example chain-rule factors and gradients, and mean gradients of iteration k."""
    X, y = inputs()
    params = params_before_iteration(k)
    cache = ref.forward(params, X)
    values = {f"it{k}_loss": ref.bce_loss(cache["p"], y), f"it{k}_losses": np.array(
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
            values[f"it{k}_dh{i}_dz{i}_sample{n}"] = ref.silu_derivative(Z[i])
            for j in range(3):
                values[f"dz{i}_dW{j}{i}_sample{n}"] = X[s, j]
        values.update(_sample_gradients(k, n, ref.backward(params, ref.forward(params, X[s:s + 1]),
                                                          X[s:s + 1], y[s:s + 1])))
    for name, grad in ref.backward(params, cache, X, y).items():
        values[f"it{k}_d{name}"] = grad
    return values


@ref.add
def documented_values():
    """Our value of every quantity the ledger names."""
    X, y = inputs()
    values = {"b2_initial": initial_params()["b2"], "one_minus_y": 1.0 - y}
    for k in range(1, ITERATIONS + 1):
        values.update(_iteration_values(k))
        params, velocities, _ = ref.train_momentum(initial_params(), X, y, GAMMA, ETA, k)
        for name in PARAM_NAMES:
            values[f"{name}_after_it{k}"] = params[name]
            values[f"velocity_{name}_after_it{k}"] = velocities[name]
    return values


def _scalar_fd(function, at):
    """Central finite difference of a scalar function of one scalar."""
    return numerical_gradients(lambda d: function(d["x"][0]), {"x": np.array([float(at)])})["x"][0]


@ref.add
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
        cache = ref.forward(params, X)
        mean = numerical_gradients(lambda q: ref.bce_loss(ref.forward(q, X)["p"], y), params)
        for name in PARAM_NAMES:
            fd[f"it{k}_d{name}"] = mean[name]
        for s in range(len(y)):
            n = s + 1
            fd.update(_sample_gradients(k, n, numerical_gradients(lambda q: per_sample_loss(q, X, y, s), params)))
            fd[f"it{k}_dL_dy_sample{n}"] = _scalar_fd(lambda p: ref.bce_loss(np.array([p]), y[s:s + 1]),
                                                      cache["p"][s])
            fd[f"it{k}_dy_df_sample{n}"] = _scalar_fd(lambda f: float(sigmoid(f)), cache["f"][s])
            for i in range(2):
                H = cache["H"][s].copy()

                def f_of_h(h, H=H, i=i):
                    H[i] = h
                    return float(H @ params["U"] + params["b2"])

                fd[f"it{k}_df_dh{i}_sample{n}"] = _scalar_fd(f_of_h, H[i])
                fd[f"it{k}_dh{i}_dz{i}_sample{n}"] = _scalar_fd(lambda z: float(ref.silu(z)), cache["Z"][s, i])
                for j in range(3):
                    def z_of_w(w, j=j, i=i):
                        W = params["W"].copy()
                        W[j, i] = w
                        return float((X[s] @ W + params["b1"])[i])

                    fd[f"dz{i}_dW{j}{i}_sample{n}"] = _scalar_fd(z_of_w, params["W"][j, i])
    return fd


# ---------------------------------------------------------------- model answers (the master notebook's solutions)

def silu(z):
    """SiLU (swish), elementwise: z * sigmoid(z). z: any shape. Returns the same shape."""
    return z / (1.0 + np.exp(-z))


def silu_derivative(z):
    """d silu / dz, elementwise. z: any shape. Returns the same shape."""
    s = 1.0 / (1.0 + np.exp(-z))
    return s + z * s * (1.0 - s)


def forward(params, X):
    """X: (m, n0), one example per row. Returns {Z, H: (m, n1), f, p: (m,)}."""
    Z = X @ params["W"] + params["b1"]
    H = silu(Z)
    f = H @ params["U"] + params["b2"]
    return {"Z": Z, "H": H, "f": f, "p": 1.0 / (1.0 + np.exp(-f))}


def bce_loss(p, y):
    """Batch mean of the binary cross-entropy, p clipped to [1e-15, 1 - 1e-15]. Returns float."""
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def backward(params, cache, X, y):
    """Gradients of the batch-mean BCE. Returns {W, b1, U, b2}, each shaped like its parameter."""
    m = X.shape[0]
    df = (cache["p"] - y) / m
    dU = cache["H"].T @ df
    db2 = np.sum(df)
    dZ = np.outer(df, params["U"]) * silu_derivative(cache["Z"])
    dW = X.T @ dZ
    db1 = np.sum(dZ, axis=0)
    return {"W": dW, "b1": db1, "U": dU, "b2": db2}


def momentum_step(param, grad, velocity, gamma, eta):
    """One momentum update. Returns (new_param, new_velocity), both shaped like param."""
    velocity = gamma * velocity - eta * grad
    return param + velocity, velocity


def train_momentum(params, X, y, gamma, eta, iterations):
    """Full-batch gradient descent with momentum. Returns (params, velocities, losses)."""
    velocities = {name: np.zeros_like(np.asarray(value, dtype=float)) for name, value in params.items()}
    losses = []
    for _ in range(iterations):
        cache = forward(params, X)
        losses.append(bce_loss(cache["p"], y))
        grads = backward(params, cache, X, y)
        new_params = {}
        for name in params:
            new_params[name], velocities[name] = momentum_step(
                params[name], grads[name], velocities[name], gamma, eta)
        params = new_params
    return params, velocities, losses


# ---------------------------------------------------------------- the notebook

def intro():
    return [
        ("md", r"""
        # SiLU, binary cross-entropy and gradient descent with momentum

        A 3-2-1 network: three inputs, a hidden layer of two SiLU units, one sigmoid output that is the
        probability of class 1. You write every piece (activation, its derivative, forward pass, loss,
        backpropagation, the momentum update) and then run the worked example's two momentum iterations.

        **Row convention.** This notebook follows the worked example and puts **one example per row**:
        a batch is $X$ of shape $(m, 3)$ and a layer computes $z = xW + b$ (not $Wx + b$).

        | layer | computes | shapes (batch of $m$) |
        |---|---|---|
        | input | $X$ | $(m, 3)$ |
        | hidden | $Z = XW + b_1,\quad H = \mathrm{silu}(Z)$ | $W: (3, 2),\ b_1: (2,),\ Z, H: (m, 2)$ |
        | output | $f = HU + b_2,\quad p = \sigma(f)$ | $U: (2,),\ b_2: ()$ (a scalar)$,\ f, p: (m,)$ |

        with $\sigma(z) = 1/(1 + e^{-z})$ and $\mathrm{silu}(z) = z\,\sigma(z)$, whose derivative is
        $\mathrm{silu}'(z) = \sigma(z) + z\,\sigma(z)\,(1 - \sigma(z))$.

        **The loss** is the binary cross-entropy **averaged over the batch**, with $p$ clipped to
        $[10^{-15}, 1 - 10^{-15}]$ so that $\log 0$ never happens:
        $$L = -\frac{1}{m}\sum_{i=1}^{m}\big(y_i \log p_i + (1 - y_i)\log(1 - p_i)\big).$$
        Its gradients are therefore **batch means** of the per-example gradients, and every gradient has
        **the shape of its parameter** ($\partial L/\partial W$ is $(3, 2)$ like $W$).

        **Momentum.** Each parameter $\theta$ keeps a velocity $v$, starting at zero; one iteration
        computes the gradient $g = \partial L/\partial\theta$ of the whole batch and then
        $$v \leftarrow \gamma\, v - \eta\, g, \qquad \theta \leftarrow \theta + v,$$
        with $\gamma = 0.9$ (momentum) and $\eta = 0.8$ (learning rate) in the worked example.

        **Reading the worked example.** It prints its chain rule one example at a time: for example
        $x^{(1)}$ the gradient of *that example's own* loss, $\frac{\partial L}{\partial y}\cdot
        \frac{\partial y}{\partial f}\cdot\frac{\partial f}{\partial h_i}\cdot\frac{\partial h_i}{\partial z_i}
        \cdot\frac{\partial z_i}{\partial w}$, where its $y$ is our $p$. Its "Mean Matrix" is the batch
        mean, which is what your `backward` returns. It prints $W$, $\partial L/\partial W$ and the
        velocity of $W$ **transposed**, as $(2, 3)$ matrices (its $w_{ij}$ is hidden unit $i$, input $j$,
        our `W[j, i]`); ours keep $W$'s shape $(3, 2)$.
        """),
        ("code", """
        import numpy as np

        X = np.array([[1.0, 0.0, 0.5],    # x(1), one example per row
                      [0.1, 0.5, 1.0],    # x(2)
                      [0.0, 1.0, 0.7]])   # x(3)
        y = np.array([1.0, 0.0, 0.0])
        params = {
            "W": np.array([[0.4, -0.3], [0.2, 0.2], [-0.5, 0.1]]),   # (3, 2): z = x W + b1
            "b1": np.array([0.0, -0.4]),
            "U": np.array([0.3, -0.1]),
            "b2": np.array(0.1),
        }
        GAMMA, ETA = 0.9, 0.8
        """),
    ]


# ----------------------------------------------------------------------------- ledger routing

def _route(quantity, p1):
    """(question, label, view) of one reproduced ledger quantity: where its public test recomputes it
    from the student's functions. The views name the results of the calls each test makes (see
    ``questions``); ``p1`` is the worked batch's p in iteration 1 (the tests' input)."""
    def z_moved(moved, s, i):  # Z[s, i] when the parameter ``moved`` moves, minus its value before
        return operation("minus", result(moved, "Z", (s, i)), result("out", "Z", (s, i)))

    rules = [
        (r"it1_silu_sample(\d)", "q1", lambda n: (f"silu(z) of x({n}), iteration 1 (row {n} of silu(Z))",
                                                 result("H", int(n) - 1))),
        (r"it(\d)_dh(\d)_dz\2_sample(\d)", "q2", lambda k, i, n: (
            f"dh_{i}/dz_{i} = silu'(z_{i}) of x({n}), iteration {k}", result(f"D{k}", (int(n) - 1, int(i))))),
        (r"it1_z_sample(\d)", "q3", lambda n: (f"z = x W + b1 of x({n}) (row {n} of Z)",
                                              result("out", "Z", int(n) - 1))),
        (r"it1_f_sample(\d)", "q3", lambda n: (f"f = h U + b2 of x({n})", result("out", "f", int(n) - 1))),
        (r"it1_y_sample(\d)", "q3", lambda n: (f"p = sigmoid(f) of x({n}) (the worked example's y)",
                                              result("out", "p", int(n) - 1))),
        (r"it1_dy_df_sample(\d)", "q3", lambda n: (
            f"dy/df = p (1 - p) of x({n}), from your p",
            operation("times", result("out", "p", int(n) - 1),
                      operation("minus", value(1.0), result("out", "p", int(n) - 1))))),
        (r"it1_df_dh(\d)_sample(\d)", "q3", lambda i, n: (
            f"df/dh_{i} of x({n}) (= U[{i}]): change of your f over change of your H[:, {i}] when b1[{i}] moves",
            operation("over", operation("minus", result(f"b1[{i}] + 1", "f", int(n) - 1),
                                        result("out", "f", int(n) - 1)),
                      operation("minus", result(f"b1[{i}] + 1", "H", (int(n) - 1, int(i))),
                                result("out", "H", (int(n) - 1, int(i))))))),
        (r"dz(\d)_dW(\d)(\d)_sample(\d)", "q3", lambda i, j, i2, n: (
            f"dz_{i}/dW[{j}, {i}] of x({n}) (= x[{j}]): change of your Z[{int(n) - 1}, {i}] when W[{j}, {i}] "
            "grows by 1", z_moved(f"W[{j}, {i}] + 1", int(n) - 1, int(i)))),
        (r"it1_loss", "q4", lambda: ("bce_loss(p, y) of the worked batch, iteration 1", result("L"))),
        (r"it1_loss_sample(\d)", "q4", lambda n: (f"bce_loss of x({n}) alone (a batch of one), iteration 1",
                                                 result(f"L of x({n})"))),
        (r"one_minus_y", "q4", lambda: ("1 - y, the weights of log(1 - p) in the loss", value(1 - inputs()[1]))),
        (r"it1_dW(\d)(\d)_sample(\d)", "q5", lambda j, i, n: (
            f"dL/dW[{j}, {i}] of x({n}) alone (backward on a batch of one), iteration 1",
            result(f"G1 of x({n})", "W", (int(j), int(i))))),
        (r"it1_db1_(\d)_sample(\d)", "q5", lambda i, n: (
            f"dL/db1[{i}] of x({n}) alone (backward on a batch of one), iteration 1",
            result(f"G1 of x({n})", "b1", (int(i),)))),
        (r"it(\d)_d(W|b1|U|b2)_sample(\d)", "q5", lambda k, name, n: (
            f"dL/d{name} of x({n}) alone (backward on a batch of one), iteration {k}",
            result(f"G{k} of x({n})", name))),
        (r"it1_d(W|b1|U|b2)", "q5", lambda name: (
            f"dL/d{name} of the batch (the mean over the three examples), iteration 1", result("G", name))),
        (r"it1_dL_dy_sample(\d)", "q5", lambda n: (
            f"dL/dy of x({n}) alone = (your dL/db2 on a batch of one) / (p (1 - p))",
            operation("over", result(f"G1 of x({n})", "b2"), value(p1[int(n) - 1] * (1 - p1[int(n) - 1]))))),
        (r"it2_df_dh(\d)_sample(\d)", "q6", lambda i, n: (
            f"df/dh_{i} in iteration 2 (x({n})) = U[{i}] after the first momentum step", result("step", 0, (int(i),)))),
        (r"b2_initial", "q6", lambda: ("b2 after a step with zero gradient and zero velocity (unchanged)",
                                       result("b2", 0))),
        (r"it2_loss", "q7", lambda: ("train_momentum's losses[1]: the loss before iteration 2", result("out", 2, 1))),
    ]
    for pattern, question, make in rules:
        m = re.fullmatch(pattern, quantity)
        if m:
            return (question, *make(*m.groups()))
    raise ValueError(f"{EXERCISE}: no public test recomputes the ledger quantity {quantity!r}")


def _nudged(params, name, indices):
    """(result name, params with ``params[name][index]`` grown by 1) for every index."""
    moved = []
    for index in indices:
        p = {k: np.array(v, dtype=float) for k, v in params.items()}
        p[name][index] += 1.0
        moved.append((f"{name}[{', '.join(map(str, index))}] + 1", p))
    return moved


def _documented(ledger, question, p1):
    """The ``documented`` steps of every reproduced entry routed to ``question``."""
    steps = []
    for e in ledger.reproduced():
        q, label, view = _route(e["quantity"], p1)
        if q == question:
            steps.append(ledger.entry(e["id"], label, view))
    return steps


# ---------------------------------------------------------------- hidden inputs, drawn by the grader

SIZES = [(3, 2, 1), (3, 2, 3), (4, 5, 2), (2, 3, 7), (5, 4, 12)]  # (inputs n0, hidden units n1, batch m)


def _random_params(rng, n0, n1, scale=1.0):
    return {"W": rng.normal(0, scale, size=(n0, n1)), "b1": rng.normal(0, scale, size=n1),
            "U": rng.normal(0, scale, size=n1), "b2": rng.normal(0, scale, size=())}


def _random_problem(rng, n0, n1, m):
    """(params, X, y) of the given sizes, one example per row, labels in {0, 1}."""
    return _random_params(rng, n0, n1), rng.normal(size=(m, n0)), rng.integers(0, 2, size=m).astype(float)


def _cases_elementwise(rng):
    return [(rng.normal(0, 3, size=s),) for s in [(5,), (3, 2), (4, 1, 3)]]


def _cases_forward(rng):
    return [(p, X) for p, X, _ in (_random_problem(rng, *sizes) for sizes in SIZES)]


def _cases_bce_loss(rng):
    cases = []
    for scale, m in [(1, 1), (1, 4), (3, 9), (10, 6)]:
        params = _random_params(rng, 3, 2, scale)
        cases.append((ref.forward(params, rng.normal(size=(m, 3)))["p"], rng.integers(0, 2, size=m).astype(float)))
    return cases


def _cases_backward(rng):
    return [(p, ref.forward(p, X), X, y) for p, X, y in (_random_problem(rng, *sizes) for sizes in SIZES)]


def _cases_gradients(rng):
    """(arguments of backward, the loss of the parameters) on three problems."""
    problems = [_random_problem(rng, *sizes) for sizes in [(3, 2, 1), (3, 2, 3), (4, 5, 6)]]
    return [((p, ref.forward(p, X), X, y), lambda q, X=X, y=y: ref.bce_loss(ref.forward(q, X)["p"], y))
            for p, X, y in problems]


def _cases_momentum_step(rng):
    return [(rng.normal(size=s), rng.normal(size=s), rng.normal(size=s), gamma, eta)
            for s, gamma, eta in [((3, 2), 0.9, 0.8), ((4,), 0.5, 0.1), ((), 0.99, 0.01), ((2, 5), 0.0, 1.0)]]


def _cases_train_momentum(rng):
    return [(*_random_problem(rng, *sizes), gamma, eta, iterations) for sizes, gamma, eta, iterations in
            zip(SIZES, [0.9, 0.5, 0.0, 0.95, 0.8], [0.8, 0.3, 0.5, 0.05, 0.1], [2, 1, 3, 5, 4])]


# ----------------------------------------------------------------------------- questions

def questions():
    ledger = Ledger(EXERCISE)
    X, y = ref.inputs()
    p0, p1 = ref.initial_params(), ref.params_before_iteration(2)
    c0, c1 = ref.forward(p0, X), ref.forward(p1, X)
    grads0 = ref.backward(p0, c0, X, y)
    one = [(X[s:s + 1], y[s:s + 1]) for s in range(len(y))]
    caches0 = [ref.forward(p0, xs) for xs, _ in one]
    caches1 = [ref.forward(p1, xs) for xs, _ in one]
    params2, velocities2, losses2 = ref.train_momentum(p0, X, y, GAMMA, ETA, ITERATIONS)
    _, velocities1, _ = ref.train_momentum(p0, X, y, GAMMA, ETA, 1)
    grads1 = ref.backward(p1, c1, X, y)
    P1 = c0["p"]  # the worked batch's predictions, iteration 1
    z = np.array([[-6.0, -1.5, -0.25, 0.0], [0.25, 1.0, 2.5, 8.0]])

    q1 = Question("q1", "the SiLU activation", r"""
        Write `silu(z)`: $\mathrm{silu}(z) = z\,\sigma(z) = \dfrac{z}{1 + e^{-z}}$, elementwise, for an
        array of any shape.
        """, silu, [
            worked_example_test("test_silu_documented", [
                call("H", "silu", (c0["Z"],)),  # the worked batch's Z, iteration 1
                shape("silu(Z)", result("H"), c0["Z"].shape),
                *_documented(ledger, "q1", P1),
            ]),
            public_values_test("test_silu_public", "silu", (z,), ref.silu(z)),
            hidden_test("silu", _cases_elementwise, points=1),
        ])

    q2 = Question("q2", "the derivative of SiLU", r"""
        Write `silu_derivative(z)`: $\dfrac{d\,\mathrm{silu}}{dz} = \sigma(z) + z\,\sigma(z)\,(1 - \sigma(z))$,
        elementwise. It is taken at the layer's **input** $z$ (SiLU is not a function of its output
        alone, so there is no "$h(1-h)$" shortcut as for the sigmoid). The worked example prints it as
        $\partial h_i/\partial z_i$ for every example.
        """, silu_derivative, [
            worked_example_test("test_silu_derivative_documented", [
                call("D1", "silu_derivative", (c0["Z"],)),  # the worked batch's Z, iteration 1
                shape("silu_derivative(Z)", result("D1"), c0["Z"].shape),
                public("silu_derivative(Z) of the worked batch", result("D1"), ref.silu_derivative(c0["Z"]),
                       variants=public_variants(EXERCISE, "silu_derivative", (c0["Z"],))),
                call("D2", "silu_derivative", (c1["Z"],)),  # and iteration 2 (after one momentum step)
                *_documented(ledger, "q2", P1),
            ]),
            public_values_test("test_silu_derivative_public", "silu_derivative", (z,), ref.silu_derivative(z),
                               variants=public_variants(EXERCISE, "silu_derivative", (z,))),
            hidden_test("silu_derivative", _cases_elementwise, points=1),
        ])

    q3 = Question("q3", "the forward pass, one example per row", r"""
        Write `forward(params, X)` for a batch `X` of shape $(m, n_0)$ and return
        `{"Z": ..., "H": ..., "f": ..., "p": ...}`:
        $Z = XW + b_1$ and $H = \mathrm{silu}(Z)$, both $(m, n_1)$; $f = HU + b_2$ and $p = \sigma(f)$,
        both $(m,)$. Use your `silu`. Broadcasting adds $b_1$ to every row.

        The public test also reads the worked example's chain-rule factors off your forward pass:
        $\partial z_i/\partial W_{ji} = x_j$ (your $Z$ when one weight grows by 1),
        $\partial f/\partial h_i = U_i$ (your $f$ against your $H$ when $b_{1,i}$ moves) and
        $\partial p/\partial f = p(1-p)$.
        """, forward, [
            public_structure_test("test_forward_shapes", "forward", (p0, X), c0,
                                  label="forward(params, X) on the worked batch"),
            # z is affine in W: growing W[j, i] by 1 changes Z[:, i] by exactly x[:, j]; f is affine in H:
            # moving b1[i] changes H[:, i] only, and f by U[i] times that change
            worked_example_test("test_forward_documented", [
                *[step for moved, p in [("out", p0), *_nudged(p0, "W", [(j, i) for j in range(3) for i in range(2)]),
                                        *_nudged(p0, "b1", [(0,), (1,)])]
                  for step in (call(moved, "forward", (p, X)), structure("forward(params, X)", result(moved), c0))],
                *_documented(ledger, "q3", P1),
                public("forward(params, X) on the worked batch", result("out"), c0),
            ], points=1),
            hidden_test("forward", _cases_forward, batch_of=(1, 0), points=2),
        ], after="""
        cache = forward(params, X)
        print("Z =", cache["Z"].round(8).tolist())
        print("p =", cache["p"].tolist())
        """)

    pc = np.array([0.0, 1.0, 0.3, 0.999])
    yc = np.array([0.0, 0.0, 1.0, 1.0])
    q4 = Question("q4", "binary cross-entropy, clipped and averaged", r"""
        Write `bce_loss(p, y)`: clip $p$ to $[10^{-15}, 1 - 10^{-15}]$ (`np.clip`), then return the
        batch mean $-\frac1m\sum_i \big(y_i\log p_i + (1-y_i)\log(1-p_i)\big)$ as a Python `float`.
        `p` and `y` have shape $(m,)$. Without the clipping, a prediction of exactly 0 or 1 on the
        wrong side gives an infinite loss.
        """, bce_loss, [
            worked_example_test("test_bce_loss_documented", [
                call("L", "bce_loss", (P1, y)),
                shape("bce_loss(p, y)", result("L"), ()),
                *[call(f"L of x({s + 1})", "bce_loss", (P1[s:s + 1], y[s:s + 1])) for s in range(3)],
                *_documented(ledger, "q4", P1),
            ]),
            public_values_test("test_bce_loss_clipped", "bce_loss", (pc, yc), ref.bce_loss(pc, yc),
                               label="bce_loss(p, y) with p = 0 and p = 1 in the batch (clip first)",
                               variants=public_variants(EXERCISE, "bce_loss", (pc, yc)) or None, batch_size=4),
            hidden_test("bce_loss", _cases_bce_loss, batch_of=(0, 0), points=1),
        ])

    var = public_variants(EXERCISE, "backward", (p0, c0, X, y))
    q5 = Question("q5", "backpropagation, batch mean, row convention", r"""
        Write `backward(params, cache, X, y)`, where `cache` is what your `forward` returned, and return
        the gradients of `bce_loss` (the **batch mean**) as `{"W": ..., "b1": ..., "U": ..., "b2": ...}`,
        each of the shape of its parameter ($W$: $(n_0, n_1)$, $b_1$ and $U$: $(n_1,)$, $b_2$: a scalar).
        In the row convention the chain rule reads:

        $$\frac{\partial L}{\partial f} = \frac{1}{m}(p - y) \quad\text{(sigmoid and BCE together, shape } (m,))$$
        $$\frac{\partial L}{\partial U} = H^\top \frac{\partial L}{\partial f},\qquad
          \frac{\partial L}{\partial b_2} = \sum_i \frac{\partial L}{\partial f_i},\qquad
          \frac{\partial L}{\partial H} = \frac{\partial L}{\partial f}\, U^\top \ \text{(an outer product, } (m, n_1))$$
        $$\frac{\partial L}{\partial Z} = \frac{\partial L}{\partial H} \odot \mathrm{silu}'(Z),\qquad
          \frac{\partial L}{\partial W} = X^\top \frac{\partial L}{\partial Z},\qquad
          \frac{\partial L}{\partial b_1} = \sum_{\text{rows}} \frac{\partial L}{\partial Z}$$

        ($\frac{1}{m}(p - y)$ is $\frac{\partial L}{\partial p}\cdot p(1-p)$ with
        $\frac{\partial L}{\partial p} = \frac{1}{m}\big(-\frac{y}{p} + \frac{1-y}{1-p}\big)$; it holds
        wherever $p$ was not clipped.) On a batch of one example, your gradients are the worked
        example's per-example printouts; on the whole batch they are its "Mean Matrix".
        """, backward, [
            public_structure_test("test_backward_shapes", "backward", (p0, c0, X, y), grads0,
                                  label="backward(params, cache, X, y) on the worked batch"),
            public_values_test("test_backward_public", "backward", (p0, c0, X, y), grads0,
                               label="backward(params, cache, X, y) on the worked batch", variants=var,
                               batch_size=3, points=2),
            worked_example_test("test_backward_documented", [
                step for name, args, what in [
                    ("G", (p0, c0, X, y), "the worked batch"),
                    *[(f"G1 of x({s + 1})", (p0, caches0[s], X[s:s + 1], y[s:s + 1]), f"x({s + 1}) alone")
                      for s in range(3)],
                    *[(f"G2 of x({s + 1})", (p1, caches1[s], X[s:s + 1], y[s:s + 1]), f"x({s + 1}) alone, iteration 2")
                      for s in range(3)]]
                for step in (call(name, "backward", args),
                             structure("backward(params, cache, X, y) on " + what, result(name), grads0))
            ] + _documented(ledger, "q5", P1)),
            hidden_test("backward", _cases_backward, batch_of=(2, 0), points=2),
            finite_difference_test("backward", _cases_gradients, points=2),
        ], after="""
        grads = backward(params, forward(params, X), X, y)
        print("dL/dW, printed transposed as the worked example does:")
        print(grads["W"].T.round(8))
        """)

    step_args = (p1["W"], grads1["W"], velocities1["W"], GAMMA, ETA)
    first_step = (p0["U"], grads0["U"], np.zeros(2), GAMMA, ETA)
    q6 = Question("q6", "one momentum step", r"""
        Write `momentum_step(param, grad, velocity, gamma, eta)` for one parameter (an array of any
        shape, or a scalar): return the pair `(new_param, new_velocity)` with
        $$v_{\text{new}} = \gamma\, v - \eta\, g, \qquad \theta_{\text{new}} = \theta + v_{\text{new}}.$$
        Update the velocity **first**, then move the parameter by the **new** velocity. Return new
        arrays; do not change the ones you were given.
        """, momentum_step, [
            worked_example_test("test_momentum_step_documented", [
                call("step", "momentum_step", first_step),  # U's batch-mean gradient, iteration 1
                public("momentum_step(U, dU, zeros, 0.9, 0.8): the first step of U", result("step"),
                       ref.momentum_step(*first_step), variants=public_variants(EXERCISE, "momentum_step", first_step)),
                call("b2", "momentum_step", (p0["b2"], 0.0, 0.0, GAMMA, ETA)),
                *_documented(ledger, "q6", P1),
            ]),
            public_values_test("test_momentum_step_public", "momentum_step", step_args,
                               ref.momentum_step(*step_args),
                               label="momentum_step(W, dW, velocity, 0.9, 0.8): iteration 2's step of W "
                                     "(the worked example prints both transposed)",
                               variants=public_variants(EXERCISE, "momentum_step", step_args)),
            hidden_test("momentum_step", _cases_momentum_step, points=1),
            inputs_unchanged_test("test_momentum_step_leaves_inputs", "momentum_step", step_args,
                                  ("param", "grad", "velocity", "gamma", "eta")),
        ])

    train_args = (p0, X, y, GAMMA, ETA, ITERATIONS)
    trained = (params2, velocities2, losses2)
    q7 = Question("q7", "the two momentum iterations", r"""
        Write `train_momentum(params, X, y, gamma, eta, iterations)`: start every velocity at zero
        (shaped like its parameter), then repeat `iterations` times: forward pass of the whole batch,
        record the loss, backward pass, and a `momentum_step` of **every** parameter with its own
        velocity. All four gradients come from the same forward pass (compute them all before you
        update anything). Return `(params, velocities, losses)`: the final parameters and velocities,
        dicts keyed like `params`, and the list of losses, each recorded **before** its update.

        The worked example runs two iterations: its loss goes from 0.6953 to 0.6649.
        """, train_momentum, [
            public_structure_test("test_train_momentum_shapes", "train_momentum", train_args, trained,
                                  label="train_momentum(params, X, y, 0.9, 0.8, 2)"),
            worked_example_test("test_train_momentum_documented", [
                call("out", "train_momentum", train_args),
                structure("train_momentum(params, X, y, 0.9, 0.8, 2)", result("out"), trained),
                ledger.entry("it1_loss_in206", "train_momentum's losses[0]: the loss before iteration 1",
                             result("out", 2, 0)),
                *_documented(ledger, "q7", P1),
            ]),
            public_values_test("test_train_momentum_public", "train_momentum", train_args, trained,
                               label="train_momentum(params, X, y, 0.9, 0.8, 2) on the worked batch",
                               variants=public_variants(EXERCISE, "train_momentum", train_args), batch_size=3,
                               points=2),
            hidden_test("train_momentum", _cases_train_momentum, batch_of=(1, 0), points=2),
        ], after="""
        trained, velocities, losses = train_momentum(params, X, y, GAMMA, ETA, 2)
        print("losses:", losses)
        print("W after two iterations, printed transposed as the worked example does:")
        print(trained["W"].T.round(8))
        """)
    return [q1, q2, q3, q4, q5, q6, q7]
