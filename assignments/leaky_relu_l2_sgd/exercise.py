"""leaky_relu_l2_sgd: a 2-5-3 leaky-ReLU classifier with L2 weight decay, trained by mini-batch SGD.

No worked notebook: the worked example is a seeded draw, and every number comes from ``ref``,
composed from solutions' building blocks. Column convention: x is (2, batch), W is
(n_out, n_in), b is (n_out, 1).
"""
import numpy as np

from solutions import activations, losses, training
from solutions.describe import (finite_difference_test, hidden_test, inputs_unchanged_test,
                                public_structure_test, public_values_test, Question, Reference,
                                run_cell, worked_tests)
from solutions.network import Layer, Network
from solutions.regularization import l2_penalty
from solutions.softmax import softmax

EXERCISE = "leaky_relu_l2_sgd"
FILES = ()
ALPHA = 0.01       # the leaky slope for z <= 0
LAMBDA = 0.01      # the L2 coefficient of the worked example
LEARNING_RATE = 0.5
BATCH_SIZE = 3     # does not divide the 8 examples: the last batch is smaller, as the prompt says
EPOCHS = 2
TRAIN_SEED = 1     # the mini-batch order of the worked example's training run
SECOND_SEED = 3    # a second public example, with biases that are not zero
SECOND_LAMBDA = 0.1

NET = Network(layers=(Layer("W1", "b1", "leaky_relu", pre="z1", post="a1"),
                      Layer("W2", "b2", "softmax", pre="z2", post="a2")),
              convention="columns", loss="cross_entropy", output_gradient="fused")


# ---------------------------------------------------------------- the reference, from building blocks

def _train(params, x, y, lr, lam, batch_size, epochs, seed):
    return training.train(NET.with_l2(lam), params, x, y, training.SGD(lr), epochs, batch_size=batch_size,
                          rng=np.random.default_rng(seed))


ref = Reference(
    leaky_relu=activations.leaky_relu,
    leaky_relu_derivative=activations.leaky_relu_derivative,
    forward=NET.forward,
    loss=lambda params, a2, y, lam: losses.cross_entropy(a2, y) + l2_penalty(params, lam, NET.weight_names),
    backward=lambda params, cache, x, y, lam: NET.with_l2(lam).backward(params, cache, x, y),
    train=_train,
    network=NET,
)


# ---------------------------------------------------------------- the worked example (a seeded draw)

WORKED_CELL = """
import numpy as np

def softmax(z):
    \"\"\"Column-wise softmax (given). z: (n_classes, batch).\"\"\"
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)

rng = np.random.default_rng(7)
params = {"W1": rng.normal(0, 0.5, (5, 2)), "b1": np.zeros((5, 1)),
          "W2": rng.normal(0, 0.5, (3, 5)), "b2": np.zeros((3, 1))}
labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
centres = np.array([[1.0, 1.0], [-1.0, 1.0], [0.0, -1.0]])
x = (centres[labels] + rng.normal(0, 0.3, (8, 2))).T   # (2, 8)
y = np.eye(3)[:, labels]                                # one-hot (3, 8)
lam = 0.01
"""


@ref.add
def worked_example():
    """(params, x, y) as the intro's code cell draws them: weights normal(0, 0.5), zero biases,
    8 points of 3 classes, one-hot y (3, 8)."""
    cell = run_cell(WORKED_CELL)
    return cell["params"], cell["x"], cell["y"]


def _random_problem(rng, n0, n1, n2, m):
    return training.random_problem(NET, rng, (n0, n1, n2), m)


SIZES = [(2, 5, 3, 1), (3, 4, 2, 6), (4, 6, 5, 9)]


def _cases_activation(rng):
    return [(rng.normal(size=s),) for s in [(4,), (3, 5), (2, 3, 4)]]


def _cases_forward(rng):
    return [(p, x) for p, x, _ in (_random_problem(rng, *s) for s in SIZES)]


def _cases_loss(rng):
    return [(p, softmax(rng.normal(size=y.shape)), y, lam)
            for (p, _, y), lam in zip((_random_problem(rng, *s) for s in SIZES), (0.0, 0.1, 0.03))]


def _cases_backward(rng):
    return [(p, NET.forward(p, x), x, y, lam)
            for (p, x, y), lam in zip((_random_problem(rng, *s) for s in SIZES), (0.0, 0.1, 0.03))]


def _cases_backward_fd(rng):
    cases = []
    for (p, x, y), lam in zip((_random_problem(rng, *s) for s in SIZES[:2]), (0.05, 0.2)):
        cases.append(((p, NET.forward(p, x), x, y, lam), lambda q, x=x, y=y, lam=lam: NET.with_l2(lam).objective(q, x, y)))
    return cases


def _cases_train(rng):
    # batch_size 4 divides neither 6 nor 9: every run ends on a smaller batch
    return [(p, x, y, 0.3, 0.01, 4, 2, 5) for p, x, y in (_random_problem(rng, *s) for s in SIZES[1:])]


def second_example():
    """(params, cache, x, y): a 3-4-2 network on 6 examples with drawn (non-zero) biases. The worked
    example's biases are zero, so only this one shows a penalty or a decay that takes the biases too."""
    params, x, y = _random_problem(np.random.default_rng(SECOND_SEED), 3, 4, 2, 6)
    return params, NET.forward(params, x), x, y


# ---------------------------------------------------------------- model answers (the master notebook's solutions)

def leaky_relu(z, alpha=0.01):
    """z where z > 0, alpha * z elsewhere. Shape: same as z."""
    return np.where(z > 0, z, alpha * z)


def leaky_relu_derivative(z, alpha=0.01):
    """1.0 where z > 0, alpha elsewhere (also at z = 0). Shape: same as z."""
    return np.where(z > 0, 1.0, alpha)


def forward(params, x):
    """x: (n_in, batch). Returns {z1, a1, z2, a2}, each (n_units, batch); a2 = softmax(z2)."""
    z1 = params["W1"] @ x + params["b1"]
    a1 = leaky_relu(z1)
    z2 = params["W2"] @ a1 + params["b2"]
    return {"z1": z1, "a1": a1, "z2": z2, "a2": softmax(z2)}


def loss(params, a2, y, lam):
    """Batch-mean cross-entropy of a2 against one-hot y, plus lam / 2 * (sum W1^2 + sum W2^2). Float."""
    m = y.shape[1]
    data = -np.sum(y * np.log(a2)) / m
    return float(data + lam / 2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2)))


def backward(params, cache, x, y, lam):
    """Gradients of ``loss``: {W1, b1, W2, b2}, each shaped like its parameter."""
    m = x.shape[1]
    dz2 = (cache["a2"] - y) / m
    dW2 = dz2 @ cache["a1"].T + lam * params["W2"]
    db2 = np.sum(dz2, axis=1, keepdims=True)
    dz1 = (params["W2"].T @ dz2) * leaky_relu_derivative(cache["z1"])
    dW1 = dz1 @ x.T + lam * params["W1"]
    db1 = np.sum(dz1, axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def train(params, x, y, lr, lam, batch_size, epochs, seed):
    """Mini-batch SGD. Returns (params, losses): new arrays, and the loss of each batch before its step."""
    rng = np.random.default_rng(seed)
    params = {name: np.array(value, dtype=float) for name, value in params.items()}
    m = x.shape[1]
    history = []
    for _ in range(epochs):
        order = rng.permutation(m)
        for start in range(0, m, batch_size):
            batch = order[start:start + batch_size]
            xb, yb = x[:, batch], y[:, batch]
            cache = forward(params, xb)
            history.append(loss(params, cache["a2"], yb, lam))
            grads = backward(params, cache, xb, yb, lam)
            params = {name: params[name] - lr * grads[name] for name in params}
    return params, history


# ---------------------------------------------------------------- the notebook

def intro():
    return [
        ("md", r"""
        # A leaky-ReLU classifier with weight decay, trained on mini-batches

        A 2-5-3 network: one leaky-ReLU hidden layer and a softmax output, trained with
        cross-entropy plus an L2 penalty on the weights, by stochastic gradient descent on
        mini-batches.

        | layer | computes | shapes |
        |---|---|---|
        | input | $x$ | $(2, m)$ |
        | hidden | $z_1 = W_1 x + b_1,\ a_1 = \mathrm{LeakyReLU}(z_1)$ | $W_1: (5, 2),\ b_1: (5, 1)$ |
        | output | $z_2 = W_2 a_1 + b_2,\ a_2 = \mathrm{softmax}(z_2)$ | $W_2: (3, 5),\ b_2: (3, 1)$ |

        $\mathrm{LeakyReLU}(z) = z$ for $z > 0$ and $\alpha z$ otherwise, with $\alpha = 0.01$; its
        derivative is $1$ for $z > 0$ and $\alpha$ otherwise (we take $\alpha$ at $z = 0$).

        **Conventions.** Column vectors: a batch is $(n, m)$, one example per column; $W$ is
        $(n_{\text{out}}, n_{\text{in}})$, $b$ is $(n_{\text{out}}, 1)$. The loss is
        $L = -\frac1m \sum_i \sum_k y_{ki} \log a_{2,ki} + \frac{\lambda}{2}\left(\lVert W_1\rVert^2 + \lVert W_2\rVert^2\right)$:
        the cross-entropy averaged over the batch plus weight decay on the weights (not the biases).
        Every gradient has the shape of its parameter.

        The worked example below is a seeded draw: 8 points of 3 classes.
        """),
        ("code", WORKED_CELL),
    ]


def questions():
    params, x, y = worked_example()
    cache = ref.forward(params, x)
    z = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1e-3]])
    grads = ref.backward(params, cache, x, y, LAMBDA)
    train_args = (params, x, y, LEARNING_RATE, LAMBDA, BATCH_SIZE, EPOCHS, TRAIN_SEED)
    train_label = (f"train(params, x, y, lr={LEARNING_RATE}, lam={LAMBDA}, batch_size={BATCH_SIZE}, "
                   f"epochs={EPOCHS}, seed={TRAIN_SEED})")
    params2, cache2, x2, y2 = second_example()
    second = f"on a second example (3-4-2, 6 examples, non-zero biases), lam={SECOND_LAMBDA}"

    q1 = Question("q1", "leaky ReLU", r"""
        Write `leaky_relu(z, alpha=0.01)`: $z$ where $z > 0$ and $\alpha z$ elsewhere, for an array of
        any shape (floats in, floats out).
        """, leaky_relu, [
            public_values_test("test_leaky_relu_public", "leaky_relu", (z,), ref.leaky_relu(z)),
            hidden_test("leaky_relu", _cases_activation, points=1),
        ])
    q2 = Question("q2", "the derivative of leaky ReLU", r"""
        Write `leaky_relu_derivative(z, alpha=0.01)`: `1.0` where $z > 0$ and `alpha` elsewhere,
        including at $z = 0$. Return floats with the shape of `z`.
        """, leaky_relu_derivative, [
            public_values_test("test_leaky_relu_derivative_public", "leaky_relu_derivative", (z,),
                               ref.leaky_relu_derivative(z)),
            hidden_test("leaky_relu_derivative", _cases_activation, points=1),
        ])
    q3 = Question("q3", "the forward pass", r"""
        Write `forward(params, x)` for `x` of shape $(2, m)$ (any batch size and layer widths) and return
        `{"z1", "a1", "z2", "a2"}`, each $(n_k, m)$, with `a2` the softmax of `z2` (use the given `softmax`).
        """, forward, [
            *worked_tests("forward", (params, x), cache, _cases_forward, batch_size=8, batch_of=(1, 1),
                          label="forward(params, x) on the worked example"),
        ], after="""
        cache = forward(params, x)
        cache["a2"].round(3)
        """)
    q4 = Question("q4", "the loss with weight decay", r"""
        Write `loss(params, a2, y, lam)`: the cross-entropy of the probabilities `a2` against the one-hot
        `y`, averaged over the batch, plus $\frac{\lambda}{2}(\lVert W_1\rVert^2 + \lVert W_2\rVert^2)$
        (the sum of the squared entries of both weight matrices; biases are not penalised). Return a float.
        """, loss, [
            public_values_test("test_loss_public", "loss", (params, cache["a2"], y, LAMBDA),
                               ref.loss(params, cache["a2"], y, LAMBDA),
                               label="loss(params, a2, y, lam=0.01) on the worked example", batch_size=8),
            public_values_test("test_loss_no_decay", "loss", (params, cache["a2"], y, 0.0),
                               ref.loss(params, cache["a2"], y, 0.0),
                               label="loss(params, a2, y, lam=0) on the worked example", batch_size=8),
            public_values_test("test_loss_second", "loss", (params2, cache2["a2"], y2, SECOND_LAMBDA),
                               ref.loss(params2, cache2["a2"], y2, SECOND_LAMBDA),
                               label=f"loss(params, a2, y, lam) {second}", batch_size=6),
            hidden_test("loss", _cases_loss, batch_of=(2, 1), points=1),
        ])
    q5 = Question("q5", "backpropagation with weight decay", r"""
        Write `backward(params, cache, x, y, lam)`: the gradients of `loss` with respect to every
        parameter, `{"W1", "b1", "W2", "b2"}`, each shaped like its parameter.

        $$\frac{\partial L}{\partial z_2} = \frac1m (a_2 - y),\qquad
          \frac{\partial L}{\partial W_2} = \frac{\partial L}{\partial z_2} a_1^\top + \lambda W_2,\qquad
          \frac{\partial L}{\partial b_2} = \sum_{\text{columns}} \frac{\partial L}{\partial z_2}$$
        $$\frac{\partial L}{\partial z_1} = \left(W_2^\top \frac{\partial L}{\partial z_2}\right) \odot \mathrm{LeakyReLU}'(z_1),\qquad
          \frac{\partial L}{\partial W_1} = \frac{\partial L}{\partial z_1} x^\top + \lambda W_1$$

        Weight decay adds $\lambda W$ to each weight's gradient and nothing to the biases'.
        """, backward, [
            public_structure_test("test_backward_shapes", "backward", (params, cache, x, y, LAMBDA), grads,
                                  label="backward(params, cache, x, y, lam) on the worked example"),
            public_values_test("test_backward_public", "backward", (params, cache, x, y, LAMBDA), grads,
                               label="backward(params, cache, x, y, lam=0.01) on the worked example",
                               batch_size=8),
            public_values_test("test_backward_second", "backward", (params2, cache2, x2, y2, SECOND_LAMBDA),
                               ref.backward(params2, cache2, x2, y2, SECOND_LAMBDA),
                               label=f"backward(params, cache, x, y, lam) {second}", batch_size=6),
            hidden_test("backward", _cases_backward, batch_of=(2, 1)),
            finite_difference_test("backward", _cases_backward_fd, tolerance=1e-4),
        ])
    q6 = Question("q6", "mini-batch SGD", r"""
        Write `train(params, x, y, lr, lam, batch_size, epochs, seed)`. Start from
        `rng = np.random.default_rng(seed)`; for each epoch draw `order = rng.permutation(m)` and
        take the batches `order[0:batch_size]`, `order[batch_size:2 * batch_size]`, ... (the last may be
        smaller). For each batch: run `forward`, record `loss(params, cache["a2"], yb, lam)` (before the
        step), compute `backward` and step every parameter, $p \leftarrow p - \text{lr}\,\partial L/\partial p$.
        Return `(params, losses)`: new arrays (leave the ones passed in unchanged) and the list of losses,
        one per batch.
        """, train, [
            public_structure_test("test_train_shapes", "train", train_args, ref.train(*train_args),
                                  label=train_label),
            public_values_test("test_train_public", "train", train_args, ref.train(*train_args),
                               label=train_label + " on the worked example (batches of 3, 3 and 2)"),
            inputs_unchanged_test("test_train_leaves_inputs", "train", train_args,
                                  ("params", "x", "y", "lr", "lam", "batch_size", "epochs", "seed")),
            hidden_test("train", _cases_train),
        ])
    return [q1, q2, q3, q4, q5, q6]
