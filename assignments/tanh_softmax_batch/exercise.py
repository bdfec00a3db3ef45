"""tanh_softmax_batch (seed 004): a 2-2-3 tanh network, softmax output, a batch of 3 columns.

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

from solutions import activations, training
from solutions.describe import Ledger, Question, Reference, public_variants
from solutions.describe import (call, finite_difference_test, hidden_test, operation, public, public_structure_test,
                                public_values_test, result, shape, structure, value, worked_example_test)
from solutions.gradcheck import numerical_gradient, numerical_gradients
from solutions.losses import cross_entropy as batch_cross_entropy
from solutions.network import Layer, Network
from solutions.softmax import softmax as column_softmax
from solutions.softmax import softmax_backward as column_softmax_backward

EXERCISE = "tanh_softmax_batch"
SEED_FILE = "004_9631732c4a400696.txt"
FILES = ()
PARAM_NAMES = ("W1", "b1", "W2", "b2")
SIZES = [(2, 2, 3, 3), (3, 5, 2, 1), (4, 3, 5, 6), (2, 6, 4, 10)]  # hidden cases: n0, n1, n2, m


# ---------------------------------------------------------------- the reference, from building blocks

def _one_hot(labels, n_classes):
    labels = np.asarray(labels).astype(int).ravel()
    Y = np.zeros((n_classes, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


NET = Network(layers=(Layer("W1", "b1", "tanh", pre="Z1", post="A1"),
                      Layer("W2", "b2", "softmax", pre="Z2", post="A2")),
              convention="columns", loss="cross_entropy", output_gradient="chain")  # the full softmax Jacobian


def _predict(params, X):
    return np.argmax(NET.forward(params, X)["A2"], axis=0)


ref = Reference(
    softmax=column_softmax,
    one_hot=_one_hot,
    forward=NET.forward,
    cross_entropy=batch_cross_entropy,
    softmax_backward=column_softmax_backward,
    backward=NET.backward,
    backward_steps=NET.backward_steps,  # dA2, dZ2, dA1, dZ1 and dW1, db1, dW2, db2
    predict=_predict,
    network=NET,
)


# ---------------------------------------------------------------- the worked example and its ledger

@ref.add
def seed_dZ2(A2, dA2):
    """The notebook's dLossdZ2 (cell In [7]): prod2 - A2 * sumprod, with sumprod = A2 * sumterm.

    Kept to show the mistake; the correct one is ``ref.softmax_backward(dA2, A2)``.
    """
    prod2 = A2 * dA2
    sumprod = A2 * np.sum(prod2, axis=0)
    return prod2 - A2 * sumprod


@ref.add
def initial_params():
    """The worked example's parameters (cell In [3]); b2 is the notebook's scalar -0.1 on every row."""
    return {
        "W1": np.array([[0.5, 0.5], [0.5, -0.5]]),
        "b1": np.array([[0.5], [0.5]]),
        "W2": np.array([[-1.0, 1.0], [1.0, -1.0], [-2.0, 1.0]]),
        "b2": np.full((3, 1), -0.1),
    }


@ref.add
def worked_x():
    """The worked batch X: (2, 3), one example per column."""
    return np.array([[1.0, 2.0, 4.0], [-2.0, -5.0, -8.0]])


@ref.add
def worked_labels():
    """The worked labels, as the notebook stores them: (1, 3)."""
    return np.array([[0, 1, 2]])


@ref.add
def worked_y():
    """The worked labels one-hot: (3, 3)."""
    return ref.one_hot(worked_labels(), 3)


@ref.add
def softmax_example_Z():
    """The standalone softmax example of cell In [2]: 4 classes, 3 columns."""
    return np.array([[0.1, -0.1, -0.2], [-0.2, 0.2, 0.3], [-0.3, 0.1, 0.2], [0.4, -0.3, -0.5]])


Z1_STEP = 1e-2


def _extrapolated_differences(f, x, h=Z1_STEP):
    """Central differences at steps h and 2h combined by Richardson extrapolation (the five-point
    central stencil, error O(h^4)). Needed for dL/dZ1: where tanh saturates (Z1 = 6.5 in the worked
    example, dL/dZ1 = -3.8e-8) float64 cannot resolve tanh(Z1 +- 1e-5) finely enough for the
    plain step to reach a relative error of 1e-6; a larger step with this correction does."""
    return (4.0 * numerical_gradient(f, x, h) - numerical_gradient(f, x, 2.0 * h)) / 3.0


@ref.add
def finite_differences(params, X, Y):
    """Central differences of the batch-mean cross-entropy for every parameter (d<name>) and every
    intermediate dA2, dZ2, dA1, dZ1 (dZ1 extrapolated, see above), plus the elementwise tanh
    derivative dA1_dZ1."""
    def loss_of_Z2(Z2):
        return ref.cross_entropy(ref.softmax(Z2), Y)

    fd = {"d" + k: v for k, v in numerical_gradients(lambda p: loss_of_Z2(NET.forward(p, X)["Z2"]), params).items()}
    cache = ref.forward(params, X)
    A2 = np.array(cache["A2"])
    fd["dA2"] = numerical_gradient(lambda: ref.cross_entropy(A2, Y), A2)
    for name in ("Z2", "A1"):
        value = np.array(cache[name])
        fd["d" + name] = numerical_gradient(lambda: loss_of_Z2(NET.forward_from(params, name, value)["Z2"]), value)
    Z1 = np.array(cache["Z1"])
    fd["dZ1"] = _extrapolated_differences(lambda: loss_of_Z2(NET.forward_from(params, "Z1", Z1)["Z2"]), Z1)
    # tanh acts elementwise, so d sum(tanh(Z1)) / dZ1 is its derivative
    fd["dA1_dZ1"] = numerical_gradient(lambda: float(np.sum(np.tanh(Z1))), Z1)
    return fd


@ref.add
def documented_values():
    """Our value of every quantity in the ledger, at the worked example."""
    params, X, Y = initial_params(), worked_x(), worked_y()
    cache = ref.forward(params, X)
    steps = ref.backward_steps(params, cache, X, Y)
    A_example = ref.softmax(softmax_example_Z())
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
        "P": ref.predict(params, X).astype(float),
    }
    values.update(cache)
    values.update(steps)
    return values


@ref.add
def finite_difference_values():
    """Central differences of the exact batch-mean cross-entropy at the worked example."""
    return finite_differences(initial_params(), worked_x(), worked_y())


# ---------------------------------------------------------------- model answers (the master notebook's solutions)

def softmax(Z):
    """Column-wise softmax. Z: (n_classes, batch). Returns the same shape."""
    E = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return E / np.sum(E, axis=0, keepdims=True)


def one_hot(labels, n_classes):
    """labels: m integers (any shape). Returns (n_classes, m) of 0.0 / 1.0."""
    labels = np.asarray(labels).astype(int).ravel()
    Y = np.zeros((n_classes, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


def forward(params, X):
    """X: (n0, batch). Returns {Z1, A1, Z2, A2}, each (n_units, batch)."""
    Z1 = params["W1"] @ X + params["b1"]
    A1 = np.tanh(Z1)
    Z2 = params["W2"] @ A1 + params["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": softmax(Z2)}


def cross_entropy(A2, Y):
    """Mean over the batch columns of -sum_k Y log A2. Returns float."""
    return float(-np.sum(Y * np.log(A2)) / A2.shape[1])


def softmax_backward(dA, A):
    """Full softmax Jacobian applied per column. dA, A: (n_classes, batch). Returns dZ."""
    return A * (dA - np.sum(A * dA, axis=0, keepdims=True))


def backward(params, cache, X, Y):
    """Gradients of the batch-mean cross-entropy. Returns {W1, b1, W2, b2}, shaped like params."""
    m = X.shape[1]
    dA2 = -Y / cache["A2"] / m
    dZ2 = softmax_backward(dA2, cache["A2"])
    dW2 = dZ2 @ cache["A1"].T
    db2 = np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = (params["W2"].T @ dZ2) * (1 - cache["A1"] ** 2)
    dW1 = dZ1 @ X.T
    db1 = np.sum(dZ1, axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def predict(params, X):
    """The most probable class of each column of X: integer array (batch,)."""
    return np.argmax(forward(params, X)["A2"], axis=0)


# ---------------------------------------------------------------- the notebook

def intro():
    return [
        ("md", r"""
        # A batch through tanh and softmax, and the softmax Jacobian done right

        A 2-2-3 network: two inputs, a hidden layer of two tanh units, three classes out of a softmax.
        This time the whole batch of three examples goes through at once, one example per column.

        | layer | computes | shapes (batch of $m$) |
        |---|---|---|
        | input | $X$ | $(2, m)$ |
        | hidden | $Z_1 = W_1 X + b_1,\ A_1 = \tanh(Z_1)$ | $W_1: (2,2),\ b_1: (2,1),\ Z_1, A_1: (2, m)$ |
        | output | $Z_2 = W_2 A_1 + b_2,\ A_2 = \mathrm{softmax}(Z_2)$ column by column | $W_2: (3,2),\ b_2: (3,1)$ |

        The loss is the cross-entropy **averaged over the batch**,
        $L = -\frac1m \sum_{i} \sum_k Y_{ki} \log A_{2,ki}$, with one-hot labels $Y$ of shape $(3, m)$.
        Every gradient has the shape of its parameter. $\tanh'(z) = 1 - \tanh(z)^2$.

        **The softmax Jacobian.** For one column $a = \mathrm{softmax}(z)$,
        $\partial a_k / \partial z_j = a_k(\delta_{kj} - a_j)$. Applied to an upstream gradient $d a$:
        $$dz = a \odot \big(da - (a^\top da)\big),$$
        one number $a^\top da$ per column. The worked notebook multiplies this sum term by $a$
        **twice**, so its printed $\partial L/\partial Z_2$ and every gradient after it are wrong;
        the tests here use the right values (checked against finite differences).
        """),
        ("code", """
        import numpy as np

        X = np.array([[1.0, 2.0, 4.0], [-2.0, -5.0, -8.0]])   # three examples, one per column
        labels = np.array([[0, 1, 2]])
        params = {
            "W1": np.array([[0.5, 0.5], [0.5, -0.5]]),
            "b1": np.array([[0.5], [0.5]]),
            "W2": np.array([[-1.0, 1.0], [1.0, -1.0], [-2.0, 1.0]]),
            "b2": np.full((3, 1), -0.1),   # the worked notebook broadcasts a scalar -0.1
        }
        """),
    ]


# ---------------------------------------------------------------- hidden inputs, drawn by the grader

def _random_problem(rng, n0, n1, n2, m):
    """(params, X, one-hot Y) of the given sizes."""
    return training.random_problem(NET, rng, (n0, n1, n2), m)


def _cases_softmax(rng):
    return [(rng.normal(0, 2, size=s),) for s in [(3, 1), (5, 4), (2, 7)]] + [(rng.normal(size=(4, 3)) * 1000,)]


def _cases_one_hot(rng):
    return [(rng.integers(0, n, size=(1, m)), n) for n, m in [(3, 5), (5, 1), (2, 8)]]


def _cases_forward(rng):
    """(params, X): forward's and predict's arguments."""
    return [(p, X) for p, X, _ in (_random_problem(rng, *sizes) for sizes in SIZES)]


def _cases_cross_entropy(rng):
    return [(ref.softmax(rng.normal(size=(n, m))), np.eye(n)[:, rng.integers(0, n, size=m)])
            for n, m in [(3, 1), (4, 5), (2, 8)]]


def _cases_softmax_backward(rng):
    return [(rng.normal(size=(n, m)), ref.softmax(rng.normal(size=(n, m)))) for n, m in [(3, 1), (4, 5), (2, 7)]]


def _cases_backward(rng):
    return [(p, ref.forward(p, X), X, Y) for p, X, Y in (_random_problem(rng, *sizes) for sizes in SIZES)]


def _cases_gradients(rng):
    """(arguments of backward, the loss of the parameters) on two problems."""
    problems = [_random_problem(rng, *sizes) for sizes in [(2, 2, 3, 3), (3, 4, 2, 5)]]
    return [((p, ref.forward(p, X), X, Y), lambda q, X=X, Y=Y: ref.cross_entropy(ref.forward(q, X)["A2"], Y))
            for p, X, Y in problems]


# ---------------------------------------------------------------- the questions

def questions():
    ledger = Ledger(EXERCISE)
    params, X, labels, Y = ref.initial_params(), ref.worked_x(), ref.worked_labels(), ref.worked_y()
    cache = ref.forward(params, X)
    Zs = ref.softmax_example_Z()
    grads = ref.backward(params, cache, X, Y)
    dA2 = -Y / cache["A2"] / X.shape[1]

    q1 = Question("q1", "softmax over the columns", r"""
        Write `softmax(Z)` for `Z` of shape $(n_{\text{classes}}, m)$: each column becomes probabilities
        summing to 1. Subtract each column's maximum first so large scores do not overflow.
        """, softmax, [
            worked_example_test("test_softmax_documented", [
                call("A", "softmax", (Zs,)),
                shape("softmax(Z)", result("A"), Zs.shape),
                ledger.entry("example_A", "softmax(Z) of the example", result("A"),
                             variants=public_variants(EXERCISE, "softmax", (Zs,)) or None),
                ledger.entry("example_A_column_sums", "column sums of softmax(Z)", operation("sum", result("A"), 0)),
                ledger.entry("example_Z", "the example input Z (unchanged by softmax)", value(Zs)),
            ], points=1),
            hidden_test("softmax", _cases_softmax, points=1),
        ])
    q2 = Question("q2", "one-hot labels", r"""
        Write `one_hot(labels, n_classes)`: `labels` holds $m$ integer classes (any shape, e.g.
        $(1, m)$); return the $(n_{\text{classes}}, m)$ float matrix with a 1 in row `labels[i]` of
        column $i$ and 0 elsewhere.
        """, one_hot, [
            worked_example_test("test_one_hot_documented", [
                call("Y", "one_hot", (labels, 3)),
                shape("one_hot(labels, 3)", result("Y"), (3, 3)),
                ledger.entry("Yonehot", "one_hot([[0, 1, 2]], 3)", result("Y")),
            ], points=1),
            public_values_test("test_one_hot_public", "one_hot", (np.array([2, 0, 0, 1]), 4),
                               ref.one_hot(np.array([2, 0, 0, 1]), 4)),
            hidden_test("one_hot", _cases_one_hot, points=1),
        ])
    docs = [ledger.entry(i, i.split("_")[0], result("out", i.split("_")[0]))
            for i in ("Z1_cell4", "A1_cell4", "Z2_cell4", "A2_cell4", "Z1_cell9", "A1_cell9", "Z2_cell9", "A2_cell9")]
    A1_squared = operation("times", result("out", "A1"), result("out", "A1"))
    docs.append(ledger.entry("dA1dZ1", "tanh'(Z1) = 1 - A1**2 from your A1",
                             operation("minus", value(1.0), A1_squared)))
    q3 = Question("q3", "the forward pass of a batch", r"""
        Write `forward(params, X)` for `X` of shape $(n_0, m)$ and return `{"Z1", "A1", "Z2", "A2"}`,
        each $(n_k, m)$. Use `np.tanh` and your `softmax`.
        """, forward, [
            worked_example_test("test_forward_documented", [
                call("out", "forward", (params, X)),
                structure("forward(params, X)", result("out"), cache),
                *docs,
            ], points=2),
            hidden_test("forward", _cases_forward, batch_of=(1, 1), points=2),
        ], after="""
        cache = forward(params, X)
        cache["A2"].round(4)
        """)
    pb = cache["A2"]
    q4 = Question("q4", "cross-entropy, averaged over the batch", r"""
        Write `cross_entropy(A2, Y)`: $-\frac1m \sum_i \sum_k Y_{ki}\log A_{2,ki}$, a Python `float`.
        """, cross_entropy, [
            public_values_test("test_cross_entropy_public", "cross_entropy", (pb, Y), ref.cross_entropy(pb, Y),
                               label="cross_entropy(A2, Y) on the worked batch of 3",
                               variants=public_variants(EXERCISE, "cross_entropy", (pb, Y)), batch_size=3),
            hidden_test("cross_entropy", _cases_cross_entropy, batch_of=(0, 1), points=1),
        ])
    dZ2 = ref.softmax_backward(dA2, pb)
    recovered_sumprod = operation("minus", value(pb * dA2), result("dZ"))  # A * dA - dZ = A * sum(A * dA)
    sb_docs = [
        ledger.entry("dLossdA2", "dA = -Y / A2 / m (the upstream gradient given to you)", value(dA2)),
        ledger.entry("prod2", "A2 * dA", value(pb * dA2)),
        ledger.entry("sumterm", "the sum term sum(A * dA) per column, recovered from your dZ",
                     operation("mean", operation("over", recovered_sumprod, value(pb)), 0)),
        ledger.entry("sumprod", "A * sum(A * dA), recovered from your dZ", recovered_sumprod),
    ]
    var_sb = public_variants(EXERCISE, "softmax_backward", (dA2, pb))
    q5 = Question("q5", "the softmax Jacobian, column by column", r"""
        Write `softmax_backward(dA, A)`: given $A = \mathrm{softmax}(Z)$ and the upstream gradient
        $dA = \partial L/\partial A$ (both $(n_{\text{classes}}, m)$), return $\partial L/\partial Z$ by
        applying the full Jacobian to every column: $dZ = A \odot (dA - \sum_k A_k\,dA_k)$, with the
        sum taken per column (`axis=0, keepdims=True`) and multiplied by $A$ **once**.
        """, softmax_backward, [
            worked_example_test("test_softmax_backward_documented", [
                call("dZ", "softmax_backward", (dA2, pb)),
                shape("softmax_backward(dA, A)", result("dZ"), pb.shape),
                public("softmax_backward(dA, A) on the worked batch", result("dZ"), dZ2, variants=var_sb),
                *sb_docs,
            ], points=2),
            hidden_test("softmax_backward", _cases_softmax_backward, points=1),
        ])
    var = public_variants(EXERCISE, "backward", (params, cache, X, Y))
    q6 = Question("q6", "backpropagation through the batch", r"""
        Write `backward(params, cache, X, Y)` and return `{"W1", "b1", "W2", "b2"}`, each shaped like its
        parameter. Go through the softmax with your `softmax_backward` (do not use the shortcut
        $A_2 - Y$ here: the point is to see that the Jacobian gives the same answer):

        $$dA_2 = -\frac{1}{m}\,\frac{Y}{A_2},\quad dZ_2 = \text{softmax\_backward}(dA_2, A_2),\quad
          dW_2 = dZ_2 A_1^\top,\quad db_2 = \textstyle\sum_{\text{columns}} dZ_2$$
        $$dA_1 = W_2^\top dZ_2,\quad dZ_1 = dA_1 \odot (1 - A_1^2),\quad dW_1 = dZ_1 X^\top,\quad
          db_1 = \textstyle\sum_{\text{columns}} dZ_1$$
        """, backward, [
            public_structure_test("test_backward_shapes", "backward", (params, cache, X, Y), grads,
                                  label="backward(params, cache, X, Y) on the worked batch"),
            public_values_test("test_backward_public", "backward", (params, cache, X, Y), grads,
                               label="backward(params, cache, X, Y) on the worked batch", variants=var,
                               batch_size=3, points=2),
            hidden_test("backward", _cases_backward, batch_of=(2, 1), points=2),
            finite_difference_test("backward", _cases_gradients, points=2),
        ])
    q7 = Question("q7", "predictions", r"""
        Write `predict(params, X)`: the most probable class of every column, an integer array of shape
        $(m,)$ (`np.argmax(..., axis=0)` of the forward pass's $A_2$). The worked example predicts
        $(0, 2, 2)$: the second example is misclassified.
        """, predict, [
            worked_example_test("test_predict_documented", [
                call("P", "predict", (params, X)),
                ledger.entry("P", "predict(params, X)", result("P")),
            ], points=1),
            hidden_test("predict", _cases_forward, points=1),
            public_structure_test("test_predict_interface", "predict", (params, X), ref.predict(params, X),
                                  label="predict(params, X): an integer numpy array of shape (m,)"),
        ])
    extra = _second_example_tests()
    for q in (q1, q2, q3, q4, q5, q6, q7):
        q.tests += extra.get(q.name, [])
    return [q1, q2, q3, q4, q5, q6, q7]


# ----------------------------------------------------------------------------- a second public example
# The worked example alone lets classic mistakes through every public check and lose the question at
# grading: its labels [0, 1, 2] make Y the identity, so a softmax Jacobian summed over the batch axis is
# right, and its 3 classes equal its batch of 3, so a cross-entropy divided by the number of classes is
# right; its scores are too small for a softmax without the max subtraction to overflow. These public tests
# add a batch of four with labels [2, 0, 2, 1], an upstream gradient that is not -Y / A / m, and scores near
# 1000 (tests/test_public_checks_predict.py measures it). Inputs are small literals; each test is worth 1
# point.
def _second_example_tests():
    """{question: [public tests]} on a batch of four (labels [2, 0, 2, 1]) and on overflowing scores."""
    params = ref.initial_params()
    X = np.array([[1.0, -0.5, 2.0, 0.0], [0.5, 1.5, -1.0, -2.0]])
    Y = ref.one_hot(np.array([2, 0, 2, 1]), 3)
    cache = ref.forward(params, X)
    A = cache["A2"]
    dA = np.array([[0.5, -1.0, 0.25, 2.0], [-1.5, 0.5, 1.0, -0.5], [1.0, 2.0, -2.0, 0.75]])
    args = (params, cache, X, Y)
    big = np.array([[1000.0, -1000.0], [1001.0, 0.0], [998.0, 1000.0]])
    return {
        "q1": [public_values_test("test_softmax_overflow", "softmax", (big,), ref.softmax(big),
                                  label="softmax(Z) of scores near 1000 (subtract each column's max first)",
                                  variants=public_variants(EXERCISE, "softmax", (big,)) or None)],
        "q4": [public_values_test("test_cross_entropy_batch", "cross_entropy", (A, Y), ref.cross_entropy(A, Y),
                                  label="cross_entropy(A2, Y) on a batch of 4 with 3 classes, labels [2, 0, 2, 1]",
                                  variants=public_variants(EXERCISE, "cross_entropy", (A, Y)) or None, batch_size=4)],
        "q5": [public_values_test("test_softmax_backward_batch", "softmax_backward", (dA, A),
                                  ref.softmax_backward(dA, A),
                                  label="softmax_backward(dA, A) on a batch of 4 with any upstream dA",
                                  variants=public_variants(EXERCISE, "softmax_backward", (dA, A)) or None)],
        "q6": [public_values_test("test_backward_batch", "backward", args, ref.backward(*args),
                                  label="backward(params, cache, X, Y) on a batch of 4, labels [2, 0, 2, 1]",
                                  variants=public_variants(EXERCISE, "backward", args), batch_size=4)],
    }
