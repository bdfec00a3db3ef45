"""relu_softmax (seed 001): a 3-4-2-3 ReLU network with a softmax output and integer weights.

Column convention: x is (3, batch), W is (n_out, n_in), b is (n_out, 1). The worked example is one
example with integer weights; every function works for any layer widths and batch size.

The worked notebook rounds the softmax output to one decimal (0.4955, 0.4955, 0.0091 -> 0.5, 0.5, 0.0)
and computes every gradient from those rounded probabilities. Our ``forward`` stays exact; our
``backward`` reads its upstream values from ``cache["a3"]``, so feeding it the seed's rounded a3
reproduces the printed gradients. Those printed gradients are the exact gradients of the surrogate
loss sum(g * z3(params)) with g = (rounded a3 - y) / batch held fixed -- not of the exact loss.
"""
import numpy as np

from solutions import activations, training
from solutions.describe import (accept, call, finite_difference_test, hidden_test, Ledger,
                                operation, public, public_structure_test, public_values_test,
                                public_variants, Question, Reference, result, run_cell, structure,
                                value, variants_of, worked_example_test)
from solutions.gradcheck import KINKED_TOLERANCE, numerical_gradient, numerical_gradients
from solutions.losses import cross_entropy
from solutions.network import Layer, Network
from solutions.softmax import softmax as column_softmax

EXERCISE = "relu_softmax"
SEED_FILE = "001_a30e06baf39e9e6c.txt"
SEED_ROUNDING = 1  # decimals the notebook rounds the softmax output to (cell In [13])
FILES = ()
SIZES = [(3, 4, 2, 3, 1), (4, 5, 3, 2, 1), (2, 6, 4, 5, 4), (5, 3, 7, 3, 9)]  # hidden cases: n0, n1, n2, n3, m


# ---------------------------------------------------------------- the reference, from building blocks

NET = Network(layers=(Layer("W1", "b1", "relu", pre="z1", post="a1"),
                      Layer("W2", "b2", "relu", pre="z2", post="a2"),
                      Layer("W3", "b3", "softmax", pre="z3", post="a3")),
              convention="columns", loss="cross_entropy", output_gradient="fused")

ref = Reference(
    relu=activations.relu,
    relu_derivative=activations.relu_derivative,
    softmax=column_softmax,
    forward=NET.forward,
    backward=NET.backward,  # reads the output from cache["a3"]: the seed's rounded a3 gives its gradients
    backward_steps=NET.backward_steps,
    network=NET,
)


# ---------------------------------------------------------------- the worked example

WORKED_CELL = """
import numpy as np

params = {
    "W1": np.array([[1, -1, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=float),
    "b1": np.array([[-5], [0], [1], [-2]], dtype=float),
    "W2": np.array([[1, -1, 1, 0], [0, 1, -1, 1]], dtype=float),
    "b2": np.array([[0], [3]], dtype=float),
    "W3": np.array([[2, 0], [0, 2], [1, 1]], dtype=float),
    "b3": np.array([[-1], [-5], [-7]], dtype=float),
}
x = np.array([[2.0], [1.0], [3.0]])
y = np.array([[0.0], [1.0], [0.0]])  # the true class is the second
"""


@ref.add
def initial_params():
    """The worked example's integer weights (cells In [4], In [7], In [8]), as floats: the intro's code cell."""
    return run_cell(WORKED_CELL)["params"]


@ref.add
def worked_x():
    """The worked input, one example: (3, 1)."""
    return run_cell(WORKED_CELL)["x"]


@ref.add
def worked_y():
    """The worked target, one-hot class 1: (3, 1)."""
    return run_cell(WORKED_CELL)["y"]


@ref.add
def seed_cache(params, x):
    """Our exact forward cache with a3 replaced by the notebook's softmax rounded to one decimal."""
    cache = ref.forward(params, x)
    return dict(cache, a3=np.round(cache["a3"], SEED_ROUNDING))


@ref.add
def exact_loss(z3, y):
    """The exact batch-mean cross-entropy of softmax(z3)."""
    return cross_entropy(ref.softmax(z3), y)


@ref.add
def surrogate_loss(z3, g):
    """sum(g * z3): its gradient with respect to z3 is g, held fixed. With g = (rounded a3 - y) / batch
    this is the loss whose exact gradients the notebook prints."""
    return float(np.sum(g * z3))


INTERMEDIATES = ("z1", "a1", "z2", "a2", "z3")


@ref.add
def finite_differences(params, x, head):
    """Central differences of head(z3) for every parameter and every intermediate (as d<name>)."""
    fd = {"d" + k: v for k, v in numerical_gradients(lambda p: head(NET.forward(p, x)["z3"]), params).items()}
    cache = ref.forward(params, x)
    for name in INTERMEDIATES:
        value = np.array(cache[name], dtype=float)
        fd["d" + name] = numerical_gradient(lambda: head(NET.forward_from(params, name, value)["z3"]), value)
    return fd


@ref.add
def exact_gradients():
    """True gradients of the exact loss at the worked example (for the ledger's `exact` fields)."""
    params, x, y = initial_params(), worked_x(), worked_y()
    return ref.backward_steps(params, ref.forward(params, x), x, y)


@ref.add
def exact_finite_difference_values():
    """Central differences of the exact loss at the worked example: the ledger's `exact` fields agree
    with them; the printed dz3, dW3 and db3 (from the rounded a3) do not."""
    params, x, y = initial_params(), worked_x(), worked_y()
    return finite_differences(params, x, lambda z3: exact_loss(z3, y))


@ref.add
def documented_values():
    """Our value of every quantity in the ledger. Forward values are exact; gradients come from our
    backward fed the seed's rounded a3 (see ``seed_cache``)."""
    params, x, y = initial_params(), worked_x(), worked_y()
    values = dict(ref.forward(params, x))
    values.update(ref.backward_steps(params, seed_cache(params, x), x, y))
    return values


@ref.add
def finite_difference_values():
    """Central differences of the surrogate loss sum(g * z3) with g = (rounded a3 - y) / batch fixed:
    the loss whose gradients the notebook prints. Keys: d<param> and d<intermediate>."""
    params, x, y = initial_params(), worked_x(), worked_y()
    g = (seed_cache(params, x)["a3"] - y) / x.shape[1]
    return finite_differences(params, x, lambda z3: surrogate_loss(z3, g))


# ---------------------------------------------------------------- model answers (the master notebook's solutions)

def relu(z):
    """max(0, z), elementwise. Shape: same as z."""
    return np.maximum(0.0, z)


def relu_derivative(z):
    """1.0 where z > 0, else 0.0. Shape: same as z."""
    return (z > 0).astype(float)


def softmax(z):
    """Column-wise softmax. z: (n_classes, batch). Returns the same shape."""
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def forward(params, x):
    """x: (n_in, batch). Returns {z1, a1, z2, a2, z3, a3}, each (n_units, batch)."""
    z1 = params["W1"] @ x + params["b1"]
    a1 = relu(z1)
    z2 = params["W2"] @ a1 + params["b2"]
    a2 = relu(z2)
    z3 = params["W3"] @ a2 + params["b3"]
    return {"z1": z1, "a1": a1, "z2": z2, "a2": a2, "z3": z3, "a3": softmax(z3)}


def backward(params, cache, x, y):
    """Gradients of the batch-mean cross-entropy, using cache["a3"] as given."""
    m = x.shape[1]
    dz3 = (cache["a3"] - y) / m
    dW3 = dz3 @ cache["a2"].T
    db3 = np.sum(dz3, axis=1, keepdims=True)
    dz2 = (params["W3"].T @ dz3) * relu_derivative(cache["z2"])
    dW2 = dz2 @ cache["a1"].T
    db2 = np.sum(dz2, axis=1, keepdims=True)
    dz1 = (params["W2"].T @ dz2) * relu_derivative(cache["z1"])
    dW1 = dz1 @ x.T
    db1 = np.sum(dz1, axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}


# ---------------------------------------------------------------- the notebook

def intro():
    return [
        ("md", r"""
        # Backpropagation through ReLU layers, with integer weights you can follow by hand

        A 3-4-2-3 network: two ReLU hidden layers and a softmax output, trained with cross-entropy.
        The worked example uses small integer weights, so every forward number is an integer you
        can check with pencil and paper.

        | layer | computes | shapes |
        |---|---|---|
        | input | $x$ | $(3, m)$ |
        | hidden 1 | $z_1 = W_1 x + b_1,\ a_1 = \mathrm{ReLU}(z_1)$ | $W_1: (4, 3),\ b_1: (4, 1)$ |
        | hidden 2 | $z_2 = W_2 a_1 + b_2,\ a_2 = \mathrm{ReLU}(z_2)$ | $W_2: (2, 4),\ b_2: (2, 1)$ |
        | output | $z_3 = W_3 a_2 + b_3,\ a_3 = \mathrm{softmax}(z_3)$ | $W_3: (3, 2),\ b_3: (3, 1)$ |

        $\mathrm{ReLU}(z) = \max(0, z)$; its derivative is $1$ where $z > 0$ and $0$ elsewhere (we take
        $0$ at the kink $z = 0$).

        **Conventions.** Column vectors: a batch is $(n, m)$, one example per column; $W$ is
        $(n_{\text{out}}, n_{\text{in}})$, $b$ is $(n_{\text{out}}, 1)$. The loss is the cross-entropy
        averaged over the batch, $L = -\frac1m \sum_i \sum_k y_{ki} \log a_{3,ki}$. Every gradient has
        the shape of its parameter. (The worked notebook prints some gradients transposed, as rows;
        here they always have their parameter's shape.)

        **A twist from the worked example.** It rounds the softmax output to one decimal,
        $(0.4955, 0.4955, 0.0091) \to (0.5, 0.5, 0.0)$, before backpropagating. Your `backward` therefore
        reads the probabilities from `cache["a3"]` as given; the public test passes it the rounded
        ones to reproduce the printed gradients.
        """),
        ("code", WORKED_CELL),
    ]


# ---------------------------------------------------------------- hidden inputs, drawn by the grader

def _random_problem(rng, n0, n1, n2, n3, m):
    """(params, x, one-hot y) of the given sizes."""
    return training.random_problem(NET, rng, (n0, n1, n2, n3), m)


def _cases_elementwise(rng):
    return [(rng.normal(size=s),) for s in [(4,), (3, 5), (2, 3, 4)]]


def _cases_softmax(rng):
    return [(rng.normal(0, 2, size=s),) for s in [(3, 1), (5, 4), (2, 7)]] + [(rng.normal(size=(4, 3)) * 1000,)]


def _cases_forward(rng):
    return [(p, x) for p, x, _ in (_random_problem(rng, *sizes) for sizes in SIZES)]


def _cases_backward(rng):
    return [(p, ref.forward(p, x), x, y) for p, x, y in (_random_problem(rng, *sizes) for sizes in SIZES)]


def _cases_gradients(rng):
    """(arguments of backward, the exact loss of the parameters) on two problems."""
    problems = [_random_problem(rng, *sizes) for sizes in [(3, 4, 2, 3, 1), (2, 5, 4, 3, 6)]]
    return [((p, ref.forward(p, x), x, y), lambda q, x=x, y=y: ref.exact_loss(ref.forward(q, x)["z3"], y))
            for p, x, y in problems]


# ---------------------------------------------------------------- the questions

def questions():
    ledger = Ledger(EXERCISE)
    params, x, y = ref.initial_params(), ref.worked_x(), ref.worked_y()
    cache = ref.forward(params, x)
    seed_cache = ref.seed_cache(params, x)
    grads = ref.backward(params, seed_cache, x, y)
    z = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1e-3]])

    q1 = Question("q1", "ReLU", r"""
        Write `relu(z)`: $\max(0, z)$ elementwise, for an array of any shape (floats in, floats out).
        """, relu, [
            public_values_test("test_relu_public", "relu", (z,), ref.relu(z)),
            hidden_test("relu", _cases_elementwise, points=1),
        ])
    q2 = Question("q2", "the derivative of ReLU", r"""
        Write `relu_derivative(z)`: `1.0` where $z > 0$ and `0.0` elsewhere, including at $z = 0$.
        Return floats (not booleans), with the shape of `z`.
        """, relu_derivative, [
            public_values_test("test_relu_derivative_public", "relu_derivative", (z,), ref.relu_derivative(z),
                               shape_label="relu_derivative(z)"),
            hidden_test("relu_derivative", _cases_elementwise, points=1),
        ])
    zs = np.array([[1.0, 2.0], [1.0, -3.0], [-3.0, 900.0]])
    q3 = Question("q3", "the softmax, column by column", r"""
        Write `softmax(z)` for $z$ of shape $(n_{\text{classes}}, m)$: each column becomes
        $e^{z_k} / \sum_j e^{z_j}$. Subtract each column's maximum first
        (`np.max(z, axis=0, keepdims=True)`) so that large scores do not overflow.
        """, softmax, [
            public_values_test("test_softmax_public", "softmax", (zs,), ref.softmax(zs),
                               variants=public_variants(EXERCISE, "softmax", (zs,))),
            public_values_test("test_softmax_small_scores", "softmax", (zs[:, :1],), ref.softmax(zs[:, :1]),
                               label="softmax(z) on small scores (no overflow possible)",
                               variants=public_variants(EXERCISE, "softmax", (zs[:, :1],))),
            hidden_test("softmax", _cases_softmax, points=1),
        ])
    q4 = Question("q4", "the forward pass", r"""
        Write `forward(params, x)` for `x` of shape $(3, m)$ (any batch size, any layer widths) and return
        `{"z1", "a1", "z2", "a2", "z3", "a3"}`, each $(n_k, m)$, with `a3` the exact softmax.
        The worked example gives $z_1 = (-1, 3, 5, 3)^\top$, $a_1 = (0, 3, 5, 3)^\top$, $z_2 = a_2 = (2, 4)^\top$.
        """, forward, [
            worked_example_test("test_forward_documented", [
                call("out", "forward", (params, x)),
                structure("forward(params, x)", result("out"), cache),
                *[ledger.entry(name, name, result("out", name)) for name in ("z1", "a1", "z2", "a2")],
                public("forward(params, x)", result("out"), cache),
            ], points=2),
            hidden_test("forward", _cases_forward, batch_of=(1, 1), points=2),
        ], after="""
        cache = forward(params, x)
        cache["a3"].ravel()
        """)
    var = public_variants(EXERCISE, "backward", (params, seed_cache, x, y))
    grad_docs = [
        ledger.entry("dL_dz3", "dL/dz3 (= your dL/db3, one example)", result("grads", "b3")),
        ledger.entry("dL_da2", "dL/da2 = W3^T dL/dz3 (from your dL/db3)",
                     operation("matmul", value(params["W3"].T), result("grads", "b3"))),
        ledger.entry("dL_db2", "dL/db2", result("grads", "b2"), variants=variants_of(var, "b2", grads["b2"])),
        ledger.entry("dL_da1", "dL/da1 = W2^T dL/dz2 (from your dL/db2)",
                     operation("matmul", value(params["W2"].T), result("grads", "b2"))),
    ]
    q5 = Question("q5", "backpropagation", r"""
        Write `backward(params, cache, x, y)`: the gradients of the batch-mean loss with respect to
        every parameter, `{"W1", "b1", "W2", "b2", "W3", "b3"}`, each shaped like its parameter.
        Read the probabilities from `cache["a3"]` as given (recomputing the exact softmax from
        `cache["z3"]` is right too: the public test then accepts the exact gradients).

        $$\frac{\partial L}{\partial z_3} = \frac1m (a_3 - y),\qquad
          \frac{\partial L}{\partial W_3} = \frac{\partial L}{\partial z_3} a_2^\top,\qquad
          \frac{\partial L}{\partial b_3} = \sum_{\text{columns}} \frac{\partial L}{\partial z_3},\qquad
          \frac{\partial L}{\partial a_2} = W_3^\top \frac{\partial L}{\partial z_3}$$
        $$\frac{\partial L}{\partial z_2} = \frac{\partial L}{\partial a_2} \odot \mathrm{ReLU}'(z_2)$$

        and the same for layer 1, with $x$ in place of $a_0$. With the rounded probabilities the
        worked example gets $\partial L/\partial z_3 = (0.5, -0.5, 0)^\top$, $\partial L/\partial a_2 = (1, -1)^\top$,
        $\partial L/\partial a_1 = (1, -2, 2, -1)^\top$. Its $\partial L/\partial z_3$, $\partial L/\partial W_3$
        and $\partial L/\partial b_3$ are gradients taken from the rounded probabilities, not gradients of
        the loss: finite differences of the loss give $\partial L/\partial z_3 = a_3 - y = (0.4955, -0.5045, 0.0091)^\top$.
        With these weights the rounding does not change $\partial L/\partial a_2$, so the printed gradients
        of layers 1 and 2 are those of the loss.
        """, backward, [
            public_structure_test("test_backward_shapes", "backward", (params, seed_cache, x, y), grads,
                                  label="backward(params, cache, x, y) on the worked example"),
            worked_example_test("test_backward_documented", [
                call("grads", "backward", (params, seed_cache, x, y)),
                structure("backward(params, cache, x, y)", result("grads"), grads),
                # recomputed the exact softmax from z3: right math too
                accept(result("grads"), ref.backward(params, cache, x, y), "recomputed-softmax",
                       'your backward recomputes the softmax from z3 instead of reading cache["a3"]; that is the '
                       'exact gradient, and it counts as right (the printed dL/dz3 of the worked example comes '
                       'from its rounded probabilities).'),
                *grad_docs,
                public("backward(params, cache, x, y)", result("grads"), grads, variants=var),
            ], points=2),
            hidden_test("backward", _cases_backward, batch_of=(2, 1), points=2),
            finite_difference_test("backward", _cases_gradients, tolerance=KINKED_TOLERANCE, points=2),
        ])
    extra = _second_example_tests()
    for q in (q1, q2, q3, q4, q5):
        q.tests += extra.get(q.name, [])
    return [q1, q2, q3, q4, q5]


# ----------------------------------------------------------------------------- a second public example
# The worked example alone lets classic mistakes through every public check and lose the question at
# grading: with its batch of one, a backward without 1/m, a bias gradient not summed over the batch
# (db = dz) and a softmax normalised over the whole array are right. These public tests add a batch of four with
# labels [2, 0, 2, 1] (tests/test_public_checks_predict.py measures it). Inputs are small literals; each
# test is worth 1 point.
def _second_example_tests():
    """{question: [public tests]} on a batch of four with labels [2, 0, 2, 1] (the worked weights)."""
    params = ref.initial_params()
    X = np.array([[2.0, 1.0, 3.0, 0.0], [1.0, 0.0, 2.0, 1.0], [3.0, 2.0, 1.0, 4.0]])
    Y = np.eye(3)[:, [2, 0, 2, 1]]
    cache = ref.forward(params, X)
    args = (params, cache, X, Y)
    return {
        "q4": [public_values_test("test_forward_batch", "forward", (params, X), cache,
                                  label="forward(params, x) on a batch of 4 examples", batch_size=4)],
        "q5": [public_values_test("test_backward_batch", "backward", args, ref.backward(*args),
                                  label="backward(params, cache, x, y) on a batch of 4 (exact a3), labels [2, 0, 2, 1]",
                                  variants=public_variants(EXERCISE, "backward", args), batch_size=4)],
    }
