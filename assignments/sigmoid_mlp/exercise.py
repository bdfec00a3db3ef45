"""sigmoid_mlp (seed 000): a 3-3-3-3 sigmoid network with a softmax output, one example.

The worked example is 3-3-3-3 with one example, but every function works for any layer widths and
any batch size. Column convention: x is (n0, batch), Wk is (nk, nk-1), bk is (nk, 1); the loss is
the mean over the batch columns.

    a1 = W1 x + b1,  h1 = sigmoid(a1)
    a2 = W2 h1 + b2, h2 = sigmoid(a2)
    a3 = W3 h2 + b3, yhat = softmax(a3)
    L  = mean over columns of -sum_k y_k log yhat_k

The seed loads its weights from parameters.npz, which it does not include; the file beside this
description was fitted to the printed numbers (fit_parameters.py).
"""
from pathlib import Path

import numpy as np

from solutions import activations, losses, training
from solutions.describe import (call, finite_difference_test, hidden_test, inputs_unchanged_test,
                                Ledger, operation, public, public_structure_test,
                                public_values_test, public_variants, Question, Reference, result,
                                structure, value, variants_of, worked_example_test)
from solutions.gradcheck import numerical_gradients
from solutions.network import Layer, Network
from solutions.softmax import softmax as column_softmax

EXERCISE = "sigmoid_mlp"
SEED_FILE = "000_95d8edc1cb6f9ce0.txt"
FILES = ("parameters.npz",)
PARAMETERS_FILE = Path(__file__).resolve().parent / "parameters.npz"
PARAMETER_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
LEARNING_RATE = 1.0  # the worked example's one SGD step

# hidden cases: several layer widths (n0, n1, n2, n3) and batch sizes m
SIZES = [(3, 3, 3, 3, 1), (4, 5, 3, 2, 1), (2, 6, 4, 5, 4), (5, 3, 7, 3, 9)]


# ---------------------------------------------------------------- the reference, from building blocks

NET = Network(layers=(Layer("W1", "b1", "sigmoid", pre="a1", post="h1"),
                      Layer("W2", "b2", "sigmoid", pre="a2", post="h2"),
                      Layer("W3", "b3", "softmax", pre="a3", post="yhat")),
              convention="columns", loss="cross_entropy", output_gradient="fused")


ref = Reference(
    sigmoid=activations.sigmoid,
    softmax=column_softmax,
    forward=NET.forward,
    cross_entropy=losses.cross_entropy,
    backward=NET.backward,
    sgd_step=lambda params, grads, lr: training.SGD(lr).update(params, grads),
    forward_from=NET.forward_from,  # the finite differences over intermediates nudge one, run the rest
    backward_steps=NET.backward_steps,  # every gradient, keyed "d" + the quantity's name
    network=NET,
)


# ---------------------------------------------------------------- the worked example

@ref.add
def initial_params():
    """The worked example's parameters (fitted to the notebook; see fit_parameters.py).
    W1, W2, W3: (3, 3); b1, b2, b3: (3, 1).
    """
    with np.load(PARAMETERS_FILE) as data:
        return {name: np.array(data[name], dtype=float) for name in PARAMETER_NAMES}


@ref.add
def worked_x():
    """The worked input, a column vector (3, 1)."""
    return np.array([1.0, 0.0, 1.0]).reshape(-1, 1)


@ref.add
def worked_y():
    """The worked one-hot target, a column vector (3, 1)."""
    return np.array([0.0, 0.0, 1.0]).reshape(-1, 1)


@ref.add
def worked_values(params, x=None, y=None):
    """Every quantity the notebook prints, computed from ``params`` (keys = ledger quantities)."""
    x = worked_x() if x is None else x
    y = worked_y() if y is None else y
    cache = ref.forward(params, x)
    g = ref.backward_steps(params, cache, x, y)
    after = ref.forward(ref.sgd_step(params, {k: g["d" + k] for k in PARAMETER_NAMES}, LEARNING_RATE), x)
    values = {
        "x": x,
        "y": y,
        "n_params": int(sum(np.size(params[k]) for k in PARAMETER_NAMES)),
        "a1_sum": float(cache["a1"].sum()),
        "h1_sum": float(cache["h1"].sum()),
        "a2_sum": float(cache["a2"].sum()),
        "h2_sum": float(cache["h2"].sum()),
        "a3_sum": float(cache["a3"].sum()),
        "loss": ref.cross_entropy(cache["yhat"], y),
        "yhat_after_step": after["yhat"],
        "loss_after_step": ref.cross_entropy(after["yhat"], y),
    }
    for name in ("a3", "h2", "a2", "h1", "a1"):
        values["grad_" + name] = g["d" + name]
    for name in PARAMETER_NAMES:
        values["grad_" + name] = g["d" + name]
    return values


@ref.add
def documented_values():
    """Our value of every quantity named in the ledger (keys = ledger ``quantity``)."""
    return worked_values(initial_params())


@ref.add
def finite_difference_values():
    """Central finite differences of the loss for every gradient quantity in the ledger:
    over the parameters for grad_W*/grad_b*, and over the intermediate (with the rest of the
    network downstream of it) for grad_a3, grad_h2, grad_a2, grad_h1, grad_a1.
    """
    params, x, y = initial_params(), worked_x(), worked_y()
    fd = {"grad_" + k: v for k, v in
          numerical_gradients(lambda p: ref.cross_entropy(ref.forward(p, x)["yhat"], y), params).items()}
    cache = ref.forward(params, x)
    for name in ("a3", "h2", "a2", "h1", "a1"):
        fd["grad_" + name] = numerical_gradients(
            lambda v, name=name: ref.cross_entropy(ref.forward_from(params, name, v[name])["yhat"], y),
            {name: cache[name]})[name]
    return fd


# ---------------------------------------------------------------- model answers (the master notebook's solutions)

def sigmoid(a):
    """Elementwise logistic function. a: any shape. Returns the same shape."""
    return 1.0 / (1.0 + np.exp(-a))


def softmax(a):
    """Column-wise softmax. a: (n_classes, batch). Returns the same shape; columns sum to 1."""
    e = np.exp(a - np.max(a, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def forward(params, x):
    """x: (n0, batch). Returns {a1, h1, a2, h2, a3, yhat}, each (n_units, batch)."""
    a1 = params["W1"] @ x + params["b1"]
    h1 = sigmoid(a1)
    a2 = params["W2"] @ h1 + params["b2"]
    h2 = sigmoid(a2)
    a3 = params["W3"] @ h2 + params["b3"]
    return {"a1": a1, "h1": h1, "a2": a2, "h2": h2, "a3": a3, "yhat": softmax(a3)}


def cross_entropy(yhat, y):
    """Mean over the batch of -sum_k y_k log yhat_k. yhat, y: (n_classes, batch). Returns float."""
    return float(-np.sum(y * np.log(yhat)) / yhat.shape[1])


def backward(params, cache, x, y):
    """Gradients of the batch-mean cross-entropy. Returns {W1, b1, W2, b2, W3, b3}, shaped like params."""
    m = x.shape[1]
    da3 = (cache["yhat"] - y) / m
    dW3 = da3 @ cache["h2"].T
    db3 = np.sum(da3, axis=1, keepdims=True)
    dh2 = params["W3"].T @ da3
    da2 = dh2 * sigmoid(cache["a2"]) * (1 - sigmoid(cache["a2"]))
    dW2 = da2 @ cache["h1"].T
    db2 = np.sum(da2, axis=1, keepdims=True)
    dh1 = params["W2"].T @ da2
    da1 = dh1 * sigmoid(cache["a1"]) * (1 - sigmoid(cache["a1"]))
    dW1 = da1 @ x.T
    db1 = np.sum(da1, axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}


def sgd_step(params, grads, lr):
    """One gradient-descent step. Returns a new dict shaped like params."""
    return {name: params[name] - lr * grads[name] for name in params}


# ---------------------------------------------------------------- the notebook

def intro():
    return [
        ("md", r"""
        # Backpropagation by hand: a sigmoid network with a softmax output

        In this notebook you build, one function at a time, everything a small neural network needs
        to learn: the forward pass, the loss, the gradient of the loss with respect to every weight
        (backpropagation), and one step of gradient descent. At the end you watch the loss of the
        worked example fall from 0.856 to 0.073 after a single step.

        **The network.** Three inputs, two hidden layers of three sigmoid units, three outputs turned
        into probabilities by a softmax:

        | layer | computes | shape (one example) |
        |---|---|---|
        | input | $x$ | $(3, 1)$ |
        | hidden 1 | $a_1 = W_1 x + b_1,\quad h_1 = \sigma(a_1)$ | $W_1: (3,3),\ b_1: (3,1),\ a_1, h_1: (3,1)$ |
        | hidden 2 | $a_2 = W_2 h_1 + b_2,\quad h_2 = \sigma(a_2)$ | $W_2: (3,3),\ b_2: (3,1)$ |
        | output | $a_3 = W_3 h_2 + b_3,\quad \hat y = \mathrm{softmax}(a_3)$ | $W_3: (3,3),\ b_3: (3,1)$ |

        with $\sigma(a) = \dfrac{1}{1 + e^{-a}}$ and $\mathrm{softmax}(a)_k = \dfrac{e^{a_k}}{\sum_j e^{a_j}}$.

        **Conventions, stated plainly.**
        - *Column vectors.* An input is a column; a batch of $m$ examples is a matrix $X$ of shape
          $(n_0, m)$, one example per column. Your functions must work for any batch size $m$ and any
          layer widths, not only the worked example's.
        - $W_k$ has shape $(n_k, n_{k-1})$ and $b_k$ has shape $(n_k, 1)$ (broadcast over the batch).
        - The loss is the cross-entropy **averaged over the batch**:
          $L = -\frac{1}{m}\sum_{i=1}^{m} \sum_k y_{ki} \log \hat y_{ki}$, with one-hot targets $y$.
        - Every gradient has **the shape of its parameter**: $\partial L/\partial W_3$ is $(3, 3)$ like $W_3$.
        - Parameters and gradients travel in dicts keyed `"W1", "b1", ..., "b3"`.
        """),
        ("md", r"""
        ## The worked example

        The weights are stored in `parameters.npz`. The worked notebook did not include its own file, so
        this one was reconstructed from the numbers it prints (by `assignments/sigmoid_mlp/fit_parameters.py`,
        a least-squares fit): these weights are not unique, but they reproduce every printed number.
        The input is $x = (1, 0, 1)^\top$ and the target
        is class 3, $y = (0, 0, 1)^\top$. Run the cell below; the tests compare your functions with the
        numbers the worked example prints.
        """),
        ("code", """
        import numpy as np

        with np.load("parameters.npz") as data:
            params = {name: data[name].astype(float) for name in ["W1", "b1", "W2", "b2", "W3", "b3"]}

        x = np.array([1.0, 0.0, 1.0]).reshape(-1, 1)
        y = np.array([0.0, 0.0, 1.0]).reshape(-1, 1)
        {name: value.shape for name, value in params.items()}
        """),
    ]


# ---------------------------------------------------------------- hidden inputs, drawn by the grader

def _random_problem(rng, n0, n1, n2, n3, m):
    """(params, x, one-hot y) of the given sizes."""
    return training.random_problem(NET, rng, (n0, n1, n2, n3), m)


def _cases_sigmoid(rng):
    return [(rng.normal(0, 3, size=s),) for s in [(4,), (3, 5), (2, 3, 4)]]


def _cases_softmax(rng):
    return [(rng.normal(0, 2, size=s),) for s in [(3, 1), (5, 4), (2, 7)]] + [(rng.normal(size=(4, 3)) * 1000,)]


def _cases_forward(rng):
    return [(NET.init_params(rng, sizes[:4]), rng.normal(size=(sizes[0], sizes[4]))) for sizes in SIZES]


def _cases_cross_entropy(rng):
    return [(ref.softmax(rng.normal(size=(n, m))), np.eye(n)[:, rng.integers(0, n, size=m)])
            for n, m in [(3, 1), (4, 5), (2, 8)]]


def _cases_backward(rng):
    return [(p, ref.forward(p, x), x, y) for p, x, y in (_random_problem(rng, *sizes) for sizes in SIZES)]


def _cases_gradients(rng):
    """(arguments of backward, the loss of the parameters) on two problems."""
    problems = [_random_problem(rng, *sizes) for sizes in [(3, 3, 3, 3, 1), (2, 4, 3, 5, 6)]]
    return [((p, ref.forward(p, x), x, y), lambda q, x=x, y=y: ref.cross_entropy(ref.forward(q, x)["yhat"], y))
            for p, x, y in problems]


def _cases_sgd_step(rng):
    return [(NET.init_params(rng, (n0, n1, n2, n3)), NET.init_params(rng, (n0, n1, n2, n3)), lr)
            for n0, n1, n2, n3, lr in [(3, 3, 3, 3, 1.0), (4, 2, 5, 3, 0.1), (2, 6, 2, 4, 0.03)]]


# ---------------------------------------------------------------- the questions

def questions():
    ledger = Ledger(EXERCISE)
    params, x, y = ref.initial_params(), ref.worked_x(), ref.worked_y()
    cache = ref.forward(params, x)
    grads = ref.backward(params, cache, x, y)
    stepped = ref.sgd_step(params, grads, LEARNING_RATE)
    after = ref.forward(stepped, x)
    a = np.array([[-2.0, 0.0, 3.5], [1.0, -0.5, 40.0]])

    q1 = Question("q1", "the sigmoid", r"""
        Write `sigmoid(a)`: $\sigma(a) = 1 / (1 + e^{-a})$, elementwise, for an array of any shape.
        Its derivative, which you will need in Q5, is $\sigma'(a) = \sigma(a)\,(1 - \sigma(a))$.
        """, sigmoid, [
            public_values_test("test_sigmoid_public", "sigmoid", (a,), ref.sigmoid(a)),
            hidden_test("sigmoid", _cases_sigmoid, points=1),
        ])

    q2 = Question("q2", "the softmax, one column per example", r"""
        Write `softmax(a)` for $a$ of shape $(n_{\text{classes}}, m)$: apply
        $\mathrm{softmax}(a)_k = e^{a_k} / \sum_j e^{a_j}$ to **each column** separately, so every
        column of the result sums to 1.

        *Tip.* $e^{1000}$ overflows to `inf`. Subtracting each column's maximum first does not change
        the result (the factor $e^{-\max}$ cancels) and keeps every exponent $\le 0$: use
        `np.max(a, axis=0, keepdims=True)`.
        """, softmax, [
            public_values_test("test_softmax_public", "softmax", (a.T,), ref.softmax(a.T),
                               variants=public_variants(EXERCISE, "softmax", (a.T,))),
            hidden_test("softmax", _cases_softmax, points=1),
        ])

    q3 = Question("q3", "the forward pass", r"""
        Write `forward(params, x)` for a batch `x` of shape $(n_0, m)$. Return the dict of every
        intermediate quantity, which backpropagation will need:
        `{"a1": ..., "h1": ..., "a2": ..., "h2": ..., "a3": ..., "yhat": ...}`, each of shape
        $(n_k, m)$. Use your `sigmoid` and `softmax`.

        The worked example prints sums: $\sum a_1 = 5.44766562448759$, $\sum h_1 = 2.5749524957231924$,
        $\sum a_2 = 6.460166773282593$, $\sum h_2 = 2.63139309587371$, $\sum a_3 = 4.874920988265704$.
        """, forward, [
            public_structure_test("test_forward_shapes", "forward", (params, x), cache, points=1,
                                  label="forward(params, x) on the worked example"),
            worked_example_test("test_forward_documented", [
                call("out", "forward", (params, x)),
                structure("forward(params, x)", result("out"), cache),
                ledger.entry("x", "the worked input x (the test's input)", value(x)),
                ledger.entry("y", "the worked target y", value(y)),
                *[ledger.entry(f"{name}_sum", f"sum of {name}", operation("sum", result("out", name)))
                  for name in ("a1", "h1", "a2", "h2", "a3")],
                call("after", "forward", (stepped, x)),
                ledger.entry("yhat_after_step", "yhat after one SGD step (lr 1)", result("after", "yhat")),
            ], points=1),
            hidden_test("forward", _cases_forward, batch_of=(1, 1), points=2),
        ], after="""
        cache = forward(params, x)
        print("sums:", [float(cache[k].sum()) for k in ["a1", "h1", "a2", "h2", "a3"]])
        print("yhat:", cache["yhat"].ravel())
        """)

    yb = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    pb = ref.softmax(np.array([[0.5, 2.0], [1.0, -1.0], [-0.3, 0.1]]))
    q4 = Question("q4", "the cross-entropy loss", r"""
        Write `cross_entropy(yhat, y)`: $L = -\frac{1}{m}\sum_{i=1}^{m}\sum_k y_{ki}\log \hat y_{ki}$ for
        `yhat` and one-hot `y` of shape $(n_{\text{classes}}, m)$. Return a Python `float`
        (`float(...)`). The worked example's loss is $0.8563785622753883$; after one step of gradient
        descent it is $0.07253330081047048$.
        """, cross_entropy, [
            worked_example_test("test_cross_entropy_documented", [
                call("loss", "cross_entropy", (cache["yhat"], y)),
                ledger.entry("loss", "cross_entropy(yhat, y) on the worked example", result("loss")),
                call("after", "cross_entropy", (after["yhat"], y)),
                ledger.entry("loss_after_step", "cross_entropy(yhat, y) after one SGD step", result("after")),
            ], points=1),
            public_values_test("test_cross_entropy_batch", "cross_entropy", (pb, yb), ref.cross_entropy(pb, yb),
                               label="cross_entropy(yhat, y) on a batch of 2 (mean over the batch)",
                               variants=public_variants(EXERCISE, "cross_entropy", (pb, yb)), batch_size=2),
            hidden_test("cross_entropy", _cases_cross_entropy, batch_of=(0, 1), points=1),
        ])

    var = public_variants(EXERCISE, "backward", (params, cache, x, y))
    grad_docs = [
        *[ledger.entry(f"grad_w{k}", f"dL/dW{k}", result("grads", f"W{k}"),
                       variants=variants_of(var, f"W{k}", grads[f"W{k}"])) for k in (3, 2, 1)],
        # one example: dL/db_k is dL/da_k, and dL/dh_k = W_(k+1)^T dL/da_(k+1)
        ledger.entry("grad_a3", "dL/da3 (= your dL/db3)", result("grads", "b3")),
        ledger.entry("grad_L_a3", "dL/da3 (= your dL/db3)", result("grads", "b3")),
        ledger.entry("grad_h2", "dL/dh2 = W3^T dL/da3 (from your dL/db3)",
                     operation("matmul", value(params["W3"].T), result("grads", "b3"))),
        ledger.entry("grad_a2", "dL/da2 (= your dL/db2)", result("grads", "b2")),
        ledger.entry("grad_h1", "dL/dh1 = W2^T dL/da2 (from your dL/db2)",
                     operation("matmul", value(params["W2"].T), result("grads", "b2"))),
        ledger.entry("grad_a1", "dL/da1 (= your dL/db1)", result("grads", "b1")),
        ledger.entry("n_params", "number of gradient entries (one per parameter)",
                     operation("total_size", result("grads"), list(PARAMETER_NAMES))),
    ]
    q5 = Question("q5", "backpropagation", r"""
        Write `backward(params, cache, x, y)`, where `cache` is what your `forward` returned, and return
        the gradients of the **batch-mean** loss with respect to every parameter,
        `{"W1": ..., "b1": ..., "W2": ..., "b2": ..., "W3": ..., "b3": ...}`, each of the shape of its
        parameter. Work backwards, one layer at a time:

        $$\frac{\partial L}{\partial a_3} = \frac{1}{m}(\hat y - y) \qquad \text{(softmax and cross-entropy together)}$$
        $$\frac{\partial L}{\partial W_3} = \frac{\partial L}{\partial a_3}\, h_2^\top, \qquad
          \frac{\partial L}{\partial b_3} = \sum_{\text{columns}} \frac{\partial L}{\partial a_3}, \qquad
          \frac{\partial L}{\partial h_2} = W_3^\top \frac{\partial L}{\partial a_3}$$
        $$\frac{\partial L}{\partial a_2} = \frac{\partial L}{\partial h_2} \odot \sigma(a_2)\,(1 - \sigma(a_2))$$

        and the same again for layer 2 and layer 1 (with $x$ in place of $h_0$). Note that the
        derivative of the sigmoid is taken at its **input** $a_k$, and that $b_k$'s gradient sums over
        the batch (`axis=1, keepdims=True`) so it keeps the shape $(n_k, 1)$.

        For one example, $\partial L/\partial b_k = \partial L/\partial a_k$; the public test also
        compares those with the worked example's printed $\partial L/\partial a_k$ and $\partial L/\partial h_k$.
        """, backward, [
            public_structure_test("test_backward_shapes", "backward", (params, cache, x, y), grads,
                                  label="backward(params, cache, x, y) on the worked example"),
            worked_example_test("test_backward_documented", [
                call("grads", "backward", (params, cache, x, y)),
                structure("backward(params, cache, x, y)", result("grads"), grads),
                *grad_docs,
                public("backward(params, cache, x, y)", result("grads"), grads, variants=var),
            ], points=2),
            hidden_test("backward", _cases_backward, batch_of=(2, 1), points=2),
            finite_difference_test("backward", _cases_gradients, points=2),
        ], after="""
        grads = backward(params, forward(params, x), x, y)
        {name: g.shape for name, g in grads.items()}
        """)

    q6 = Question("q6", "one step of gradient descent", r"""
        Write `sgd_step(params, grads, lr)`: return a **new** dict with $p - \text{lr}\cdot\partial L/\partial p$
        for every parameter $p$ (do not change the arrays in `params`). The worked example takes one
        step with learning rate 1; the cell after this question shows the loss falling.
        """, sgd_step, [
            public_values_test("test_sgd_step_public", "sgd_step", (params, grads, 1.0), stepped,
                               label="sgd_step(params, grads, 1.0) on the worked example",
                               variants=public_variants(EXERCISE, "sgd_step", (params, grads, 1.0))),
            hidden_test("sgd_step", _cases_sgd_step, points=1),
            inputs_unchanged_test("test_sgd_step_leaves_params", "sgd_step", (params, grads, 1.0),
                                  ("params", "grads", "lr")),
            public_structure_test("test_sgd_step_interface", "sgd_step", (params, grads, 1.0), stepped,
                                  label="sgd_step(params, grads, 1.0): a dict of arrays shaped like params"),
        ], after="""
        new_params = sgd_step(params, backward(params, forward(params, x), x, y), lr=1.0)
        print("loss before:", cross_entropy(forward(params, x)["yhat"], y))
        print("loss after: ", cross_entropy(forward(new_params, x)["yhat"], y))
        """)
    extra = _second_example_tests()
    for q in (q1, q2, q3, q4, q5, q6):
        q.tests += extra.get(q.name, [])
    return [q1, q2, q3, q4, q5, q6]


# ----------------------------------------------------------------------------- a second public example
# The worked example alone lets classic mistakes through every public check and lose the question at
# grading: with its batch of one, a backward without 1/m, a bias gradient not summed over the batch
# (db = da) and a softmax normalised over the whole array are right, and its scores are too small for a softmax
# without the max subtraction to overflow. These public tests add a batch of four with labels [2, 0, 2, 1]
# and scores near 1000 (tests/test_public_checks_predict.py measures it). Inputs are small literals; each
# test is worth 1 point.
def _second_example_tests():
    """{question: [public tests]} on a batch of four (labels [2, 0, 2, 1]) and on overflowing scores."""
    params = ref.initial_params()
    X = np.array([[1.0, 0.0, -0.5, 2.0], [0.0, 1.0, 1.5, -1.0], [1.0, -1.0, 0.5, 0.0]])
    Y = np.eye(3)[:, [2, 0, 2, 1]]
    cache = ref.forward(params, X)
    args = (params, cache, X, Y)
    big = np.array([[1000.0, -1000.0], [1001.0, 0.0], [998.0, 1000.0]])
    return {
        "q2": [public_values_test("test_softmax_overflow", "softmax", (big,), ref.softmax(big),
                                  label="softmax(a) of scores near 1000 (subtract each column's max first)",
                                  variants=public_variants(EXERCISE, "softmax", (big,)) or None)],
        "q3": [public_values_test("test_forward_batch", "forward", (params, X), cache,
                                  label="forward(params, x) on a batch of 4 examples", batch_size=4)],
        "q5": [public_values_test("test_backward_batch", "backward", args, ref.backward(*args),
                                  label="backward(params, cache, x, y) on a batch of 4, labels [2, 0, 2, 1]",
                                  variants=public_variants(EXERCISE, "backward", args), batch_size=4)],
    }
