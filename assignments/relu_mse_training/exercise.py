"""relu_mse_training (seed 002): a 3-4-1 ReLU network, sigmoid output, MSE, 100 epochs of gradient descent.

Column convention: X is (3, 4), one example per column; y is (1, 4). W1 (4, 3), b1 (4, 1),
W2 (1, 4), b2 (1, 1). The loss is the mean of (a2 - y)^2 over all entries, and ``backward``
returns its true gradients.

The worked notebook draws its start from ``np.random.normal(0, 0.5, ...)`` without a seed, so its
printed losses cannot be reproduced; ``initial_params`` draws the same shapes in the same order
from a fixed generator instead, and the public tests use that run (the ledger's ``our_run``). The
notebook's own gradient code mixes a sum and a mean (dW 4x too large), which the notebook says
plainly; ``seed_backward`` reproduces it so the tests can show by how much it is off.
"""
import numpy as np

from solutions import activations, training
from solutions.describe import (call, finite_difference_test, hidden_test, inputs_unchanged_test,
                                Ledger, public, public_structure_test, public_values_test,
                                public_variants, Question, Reference, result, run_cell, shape,
                                structure, variants_of, worked_example_test)
from solutions.gradcheck import KINKED_TOLERANCE, numerical_gradients
from solutions.layers import affine_backward
from solutions.losses import mean_squared_error
from solutions.network import Layer, Network

EXERCISE = "relu_mse_training"
SEED_FILE = "002_97c90f2b6c703ab8.txt"
FILES = ()
RNG_SEED = 4  # ours (the notebook used none): loss falls 0.236 -> 0.0056, no z1 within 0.16 of the ReLU kink at the start
LEARNING_RATE = 0.3
EPOCHS = 100
LOSS_EPOCHS_RECORDED = 100  # our run: the loss before every update
PARAM_NAMES = ("W1", "b1", "W2", "b2")
# hidden cases: (inputs n0, hidden n1, outputs n2, batch m)
SIZES = [(3, 4, 1, 4), (3, 4, 1, 1), (5, 6, 1, 7), (2, 3, 2, 5), (4, 8, 3, 10)]

WORKED_DATA = """
import numpy as np

X = np.array([[0, 0, 1], [1, 1, 0], [1, 0, 0], [0, 1, 1]], dtype=float).T   # (3, 4): one example per column
y = np.array([[0, 1, 1, 0]], dtype=float)                                     # (1, 4)

# The original drew its start from np.random.normal(0, 0.5, ...) without a seed; we draw the same
# shapes in the same order from a seeded generator, so everyone gets the same numbers.
rng = np.random.default_rng(4)
params = {"W1": rng.normal(0, 0.5, (4, 3)), "b1": rng.normal(0, 0.5, (4, 1)),
          "W2": rng.normal(0, 0.5, (1, 4)), "b2": rng.normal(0, 0.5, (1, 1))}
{name: value.shape for name, value in params.items()}
"""


# ---------------------------------------------------------------- the reference, from building blocks

NET = Network(layers=(Layer("W1", "b1", "relu", pre="z1", post="a1"),
                      Layer("W2", "b2", "sigmoid", pre="z2", post="a2")),
              convention="columns", loss="mse", output_gradient="chain")


def _train(params, X, y, lr, epochs):
    """``epochs`` full-batch updates. Returns (params, losses), each loss taken before its update."""
    return training.train(NET, params, X, y, training.SGD(lr), epochs)


ref = Reference(
    forward=NET.forward,
    mse_loss=mean_squared_error,
    backward=NET.backward,  # the true gradients of the mean over all entries of (a2 - y)^2
    gradient_descent_step=lambda params, grads, lr: training.SGD(lr).update(params, grads),
    train=_train,
    network=NET,
)


# ---------------------------------------------------------------- the worked example

@ref.add
def inputs():
    """The worked data: X (3, 4) with one example per column, y (1, 4)."""
    X = np.array([[0, 0, 1], [1, 1, 0], [1, 0, 0], [0, 1, 1]], dtype=float).T
    y = np.array([[0, 1, 1, 0]], dtype=float)
    return X, y


@ref.add
def initial_params(seed=RNG_SEED, n_in=3, n_hidden=4, n_out=1):
    """normal(0, 0.5) in the notebook's shapes and draw order, from a seeded generator."""
    rng = np.random.default_rng(seed)
    W1 = rng.normal(0, 0.5, (n_hidden, n_in))
    b1 = rng.normal(0, 0.5, (n_hidden, 1))
    W2 = rng.normal(0, 0.5, (n_out, n_hidden))
    b2 = rng.normal(0, 0.5, (n_out, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


@ref.add
def seed_backward(params, cache, X, y):
    """The worked notebook's own gradient code (In [24]), kept as written: da2 = 2 a2 - 2 y (no 1/N),
    dW = dz @ a.T (a sum over the examples), db = mean(dz) (an average). Against the true gradient of
    the mean loss this makes every dW N times too large (N = entries of a2) and every db exactly right.
    """
    da2 = 2 * cache["a2"] - 2 * y  # the seed's own loss derivative: no 1/N
    dz2 = activations.sigmoid_backward(da2, cache["z2"])
    da1, dW2, db2 = affine_backward(dz2, (params["W2"], cache["a1"], params["b2"]))
    dz1 = activations.relu_backward(da1, cache["z1"])
    _, dW1, db1 = affine_backward(dz1, (params["W1"], X, params["b1"]))
    db1, db2 = db1 / X.shape[1], db2 / X.shape[1]  # the seed's db: np.mean over the examples
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


@ref.add
def documented_values():
    """Our value of every quantity the ledger names (all from our fixed-seed start)."""
    X, y = inputs()
    params = initial_params()
    _, losses = ref.train(params, X, y, LEARNING_RATE, EPOCHS)
    values = {f"our_loss_epoch_{k}": losses[k] for k in range(LOSS_EPOCHS_RECORDED)}
    cache = ref.forward(params, X)
    grads = ref.backward(params, cache, X, y)
    seed_grads = seed_backward(params, cache, X, y)
    for name in PARAM_NAMES:
        values[f"our_d{name}_epoch_0"] = grads[name]
        values[f"seed_code_d{name}_epoch_0"] = seed_grads[name]
    return values


@ref.add
def finite_difference_values():
    """Central finite differences of the mean loss at our fixed-seed start (epoch 0)."""
    X, y = inputs()
    fd = numerical_gradients(lambda p: ref.mse_loss(ref.forward(p, X)["a2"], y), initial_params())
    return {f"our_d{name}_epoch_0": fd[name] for name in PARAM_NAMES}


# ---------------------------------------------------------------- model answers (the master notebook's solutions)

def forward(params, X):
    """X: (n0, batch). Returns {z1, a1, z2, a2}, each (n_units, batch)."""
    z1 = params["W1"] @ X + params["b1"]
    a1 = np.maximum(0.0, z1)
    z2 = params["W2"] @ a1 + params["b2"]
    a2 = 1.0 / (1.0 + np.exp(-z2))
    return {"z1": z1, "a1": a1, "z2": z2, "a2": a2}


def mse_loss(a2, y):
    """Mean of (a2 - y)^2 over all entries. Returns float."""
    return float(np.mean((a2 - y) ** 2))


def backward(params, cache, X, y):
    """True gradients of the mean squared error. Returns {W1, b1, W2, b2}, shaped like params."""
    a2 = cache["a2"]
    da2 = 2.0 * (a2 - y) / a2.size
    dz2 = da2 * a2 * (1.0 - a2)
    dW2 = dz2 @ cache["a1"].T
    db2 = np.sum(dz2, axis=1, keepdims=True)
    dz1 = (params["W2"].T @ dz2) * (cache["z1"] > 0)
    dW1 = dz1 @ X.T
    db1 = np.sum(dz1, axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def gradient_descent_step(params, grads, lr):
    """One plain gradient-descent update. Returns a new dict shaped like params."""
    return {name: params[name] - lr * grads[name] for name in params}


def train(params, X, y, lr, epochs):
    """epochs full-batch updates. Returns (params, losses), each loss taken before its update."""
    losses = []
    for _ in range(epochs):
        cache = forward(params, X)
        losses.append(mse_loss(cache["a2"], y))
        params = gradient_descent_step(params, backward(params, cache, X, y), lr)
    return params, losses


# ---------------------------------------------------------------- the notebook

def intro():
    return [
        ("md", r"""
        # Training a small ReLU network with mean squared error

        A 3-4-1 network learns a four-example data set by gradient descent: a hidden layer of four
        ReLU units, one sigmoid output, the mean squared error as loss, 100 full-batch updates with
        learning rate 0.3. You write the forward pass, the loss, the gradients, the update step and
        the training loop, and watch the loss fall from 0.236 to 0.0056.

        | layer | computes | shapes (batch of $m$) |
        |---|---|---|
        | input | $X$ | $(3, m)$ |
        | hidden | $z_1 = W_1 X + b_1,\ a_1 = \mathrm{ReLU}(z_1) = \max(0, z_1)$ | $W_1: (4, 3),\ b_1: (4, 1),\ z_1, a_1: (4, m)$ |
        | output | $z_2 = W_2 a_1 + b_2,\ a_2 = \sigma(z_2) = 1/(1 + e^{-z_2})$ | $W_2: (1, 4),\ b_2: (1, 1),\ z_2, a_2: (1, m)$ |

        **Conventions, stated plainly.**
        - *Column vectors*: one example per column; the worked batch $X$ is $(3, 4)$ and the targets
          $y$ are $(1, 4)$. Your functions must work for any layer widths and any batch size.
        - The loss is the **mean** of the squared errors over all $N$ entries of $a_2$
          ($N = 4$ here): $L = \frac{1}{N}\sum (a_2 - y)^2$.
        - Every gradient is the **true gradient of that mean loss** and has the shape of its parameter.
        - Parameters and gradients travel in dicts keyed `"W1", "b1", "W2", "b2"`.

        **What differs from the original worked example, and why.** The original notebook's gradient
        code computes $\partial L/\partial a_2$ as $2a_2 - 2y$, without the $\frac1N$ of the mean; then
        it **sums over the examples for $dW$** (`dz2 @ a1.T`, `dz1 @ X.T`) but **averages over them for
        $db$** (`np.mean(dz, axis=1)`). The missing $\frac1N$ and the mean cancel for the biases, so its
        $db$ happens to be right, but **its weight gradients are 4 times the true ones** (it steps the
        weights with an effective learning rate of $4 \times 0.3 = 1.2$). Ours are the true gradients of
        the mean loss, checked against finite differences. The original also started from an unseeded
        random draw, so its 49 printed losses cannot be reproduced by anyone. We start from a seeded
        draw instead (below), and every number the tests compare with comes from that run.
        """),
        ("code", WORKED_DATA),
    ]


def _worked_params():
    """The intro cell's params, to make sure they are the reference's initial_params()."""
    env = run_cell(WORKED_DATA)
    expected = ref.initial_params()
    assert all(np.array_equal(env["params"][k], expected[k]) for k in expected), "intro cell drifted from ref"
    return expected


# ---------------------------------------------------------------- hidden inputs, drawn by the grader

def _random_problem(rng, n0, n1, n2, m):
    """(params, X, y) of the given sizes, targets in {0, 1}."""
    return training.random_problem(NET, rng, (n0, n1, n2), m, targets="binary")


def _cases_forward(rng):
    return [(p, X) for p, X, _ in (_random_problem(rng, *sizes) for sizes in SIZES)]


def _cases_mse_loss(rng):
    return [(rng.uniform(size=(n, m)), rng.integers(0, 2, size=(n, m)).astype(float))
            for n, m in [(1, 4), (1, 1), (3, 7), (2, 9)]]


def _cases_backward(rng):
    return [(p, ref.forward(p, X), X, y) for p, X, y in (_random_problem(rng, *sizes) for sizes in SIZES)]


def _cases_gradients(rng):
    """(arguments of backward, the loss of the parameters): our seeded start and three random problems."""
    problems = [(ref.initial_params(), *ref.inputs())]
    problems += [_random_problem(rng, *sizes) for sizes in [(3, 4, 1, 4), (2, 5, 2, 6), (4, 3, 1, 1)]]
    return [((p, ref.forward(p, X), X, y), lambda q, X=X, y=y: ref.mse_loss(ref.forward(q, X)["a2"], y))
            for p, X, y in problems]


def _cases_gradient_descent_step(rng):
    return [(NET.init_params(rng, (n0, n1, n2)), NET.init_params(rng, (n0, n1, n2)), lr)
            for n0, n1, n2, lr in [(3, 4, 1, 0.3), (5, 2, 3, 0.01), (2, 7, 1, 1.5)]]


def _cases_train(rng):
    return [(*_random_problem(rng, n0, n1, n2, m), lr, epochs) for n0, n1, n2, m, lr, epochs in
            [(3, 4, 1, 4, 0.3, 1), (3, 4, 1, 4, 0.3, 25), (5, 6, 2, 7, 0.1, 10), (2, 3, 1, 1, 1.0, 5)]]


# ---------------------------------------------------------------- the questions

def questions():
    ledger = Ledger(EXERCISE)
    params = _worked_params()
    X, y = ref.inputs()
    lr, epochs = LEARNING_RATE, EPOCHS
    cache = ref.forward(params, X)
    grads = ref.backward(params, cache, X, y)
    stepped = ref.gradient_descent_step(params, grads, lr)
    final, losses = ref.train(params, X, y, lr, epochs)

    q1 = Question("q1", "the forward pass", r"""
        Write `forward(params, X)` for `X` of shape $(n_0, m)$ and return the dict
        `{"z1": ..., "a1": ..., "z2": ..., "a2": ...}`, each of shape $(n_k, m)$: the ReLU is
        `np.maximum(0, z)`, the sigmoid $1/(1 + e^{-z})$. Backpropagation will need every one of them.
        """, forward, [
            public_structure_test("test_forward_shapes", "forward", (params, X), cache,
                                  label="forward(params, X) on the worked batch"),
            public_values_test("test_forward_public", "forward", (params, X), cache,
                               label="forward(params, X) on the worked batch"),
            hidden_test("forward", _cases_forward, batch_of=(1, 1), points=2),
        ], after="""
        cache = forward(params, X)
        cache["a2"].round(4)
        """)

    a2b = np.array([[0.2, 0.9, 0.5], [0.7, 0.1, 0.4]])
    yb = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    q2 = Question("q2", "the mean squared error", r"""
        Write `mse_loss(a2, y)`: the mean of $(a_2 - y)^2$ over **all** entries (so it does not depend on
        how many examples or outputs there are), returned as a Python `float`. At our start the worked
        batch's loss is $0.23611\ldots$
        """, mse_loss, [
            worked_example_test("test_mse_loss_documented", [
                call("loss", "mse_loss", (cache["a2"], y)),
                shape("mse_loss(a2, y)", result("loss"), ()),
                ledger.entry("our_loss_epoch_0", "mse_loss(a2, y) at our seeded start (before update 1)",
                             result("loss")),
            ], points=1),
            public_values_test("test_mse_loss_two_outputs", "mse_loss", (a2b, yb), ref.mse_loss(a2b, yb),
                               label="mse_loss(a2, y) with 2 outputs and 3 examples (mean over all 6 entries)"),
            hidden_test("mse_loss", _cases_mse_loss, batch_of=(0, 1), points=1),
        ])

    var = public_variants(EXERCISE, "backward", (params, cache, X, y))
    q3 = Question("q3", "backpropagation: the true gradients of the mean loss", r"""
        Write `backward(params, cache, X, y)`, where `cache` is what your `forward` returned, and return
        `{"W1": ..., "b1": ..., "W2": ..., "b2": ...}`: the gradients of `mse_loss` (the **mean** over the
        $N$ entries of $a_2$), each shaped like its parameter.

        $$\frac{\partial L}{\partial a_2} = \frac{2}{N}(a_2 - y),\qquad
          \frac{\partial L}{\partial z_2} = \frac{\partial L}{\partial a_2} \odot a_2 (1 - a_2)$$
        $$\frac{\partial L}{\partial W_2} = \frac{\partial L}{\partial z_2}\, a_1^\top,\qquad
          \frac{\partial L}{\partial b_2} = \sum_{\text{columns}} \frac{\partial L}{\partial z_2},\qquad
          \frac{\partial L}{\partial z_1} = \Big(W_2^\top \frac{\partial L}{\partial z_2}\Big) \odot [z_1 > 0]$$
        $$\frac{\partial L}{\partial W_1} = \frac{\partial L}{\partial z_1}\, X^\top,\qquad
          \frac{\partial L}{\partial b_1} = \sum_{\text{columns}} \frac{\partial L}{\partial z_1}$$

        The $\frac1N$ enters once, in $\partial L/\partial a_2$; after that $dW$ and $db$ both **sum**
        over the examples (`axis=1, keepdims=True` for $db$). This is where the original worked example
        goes wrong: it leaves out the $\frac1N$, sums for $dW$ and averages for $db$, so its $dW$ are 4
        times these (its $db$ come out right by accident). The cell after this question shows the factor.
        """, backward, [
            public_structure_test("test_backward_shapes", "backward", (params, cache, X, y), grads,
                                  label="backward(params, cache, X, y) on the worked batch"),
            worked_example_test("test_backward_documented", [
                call("grads", "backward", (params, cache, X, y)),
                structure("backward(params, cache, X, y)", result("grads"), grads),
                *[ledger.entry(f"our_d{name}_epoch_0", f"d(mse)/d{name} at our seeded start", result("grads", name),
                               variants=variants_of(var, name, grads[name]), batch_size=X.shape[1])
                  for name in PARAM_NAMES],
            ], points=2),
            hidden_test("backward", _cases_backward, batch_of=(2, 1), points=2),
            finite_difference_test("backward", _cases_gradients, tolerance=KINKED_TOLERANCE, points=2),
        ], after="""
        grads = backward(params, cache, X, y)
        # the original worked example's formulas, for comparison: no 1/N, a sum for dW, a mean for db
        dz2 = (2 * cache["a2"] - 2 * y) * cache["a2"] * (1 - cache["a2"])
        dz1 = (params["W2"].T @ dz2) * (cache["z1"] > 0)
        original = {"W1": dz1 @ X.T, "b1": dz1.mean(axis=1, keepdims=True),
                    "W2": dz2 @ cache["a1"].T, "b2": dz2.mean(axis=1, keepdims=True)}
        for name in grads:
            print(f"{name}: |original| / |true| = {np.linalg.norm(original[name]) / np.linalg.norm(grads[name]):.3f}")
        """)

    var_step = public_variants(EXERCISE, "gradient_descent_step", (params, grads, lr))
    q4 = Question("q4", "one step of gradient descent", r"""
        Write `gradient_descent_step(params, grads, lr)`: return a **new** dict holding
        $p - \text{lr}\cdot\partial L/\partial p$ for every parameter $p$ (leave the arrays in `params`
        unchanged).
        """, gradient_descent_step, [
            public_values_test("test_gradient_descent_step_public", "gradient_descent_step", (params, grads, lr),
                               stepped, label="gradient_descent_step(params, grads, 0.3) at our seeded start",
                               variants=var_step),
            hidden_test("gradient_descent_step", _cases_gradient_descent_step, points=1),
            inputs_unchanged_test("test_gradient_descent_step_leaves_params", "gradient_descent_step",
                                  (params, grads, lr), ("params", "grads", "lr")),
        ])

    var_train = public_variants(EXERCISE, "train", (params, X, y, lr, epochs))
    loss_variants = variants_of(var_train, 1, np.array(losses))
    param_variants = {code: wrong[0] for code, wrong in var_train.items()} or None
    train_label = f"train(params, X, y, {lr}, {epochs}) from our seeded start"
    q5 = Question("q5", "the training loop", rf"""
        Write `train(params, X, y, lr, epochs)`: repeat `epochs` times: run `forward`, record the loss
        (**before** the update) with `mse_loss`, compute the gradients with `backward`, and update with
        `gradient_descent_step`. Return `(params, losses)`: the final parameters and the list of the
        `epochs` recorded losses.

        From our seeded start with learning rate {lr} and {epochs} epochs the loss falls from
        {losses[0]:.4f} to {losses[-1]:.4f}. (The original's printed run cannot be compared with:
        its start was unseeded and its weights stepped 4 times too far.)
        """, train, [
            public_structure_test("test_train_interface", "train", (params, X, y, lr, epochs), (final, losses),
                                  label=f"train(params, X, y, {lr}, {epochs}): (dict of arrays, losses)"),
            worked_example_test("test_train_documented", [
                call("out", "train", (params, X, y, lr, epochs)),
                structure(train_label, result("out"), (final, np.zeros(epochs))),
                public(train_label + ": the losses", result("out", 1), np.array(losses), variants=loss_variants),
                public(train_label + ": the final params", result("out", 0), final, variants=param_variants),
                *[ledger.entry(f"our_loss_epoch_{k}", f"losses[{k}] (the loss before update {k + 1} of our run)",
                               result("out", 1, k)) for k in range(LOSS_EPOCHS_RECORDED)],
            ], points=2),
            hidden_test("train", _cases_train, batch_of=(1, 1), points=2),
        ], after=f"""
        trained, losses = train(params, X, y, lr={lr}, epochs={epochs})
        print("loss before update 1:  ", losses[0])
        print("loss before update {epochs}:", losses[-1])
        print("predictions:", forward(trained, X)["a2"].round(3), "targets:", y)
        """)
    return [q1, q2, q3, q4, q5]
