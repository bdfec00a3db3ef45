"""tanh_bce_adam: a 3-4-1 tanh network with a sigmoid output and binary cross-entropy, trained by Adam.

No worked notebook: the worked example is a seeded draw, and every number comes from ``ref``,
composed from solutions' building blocks. Column convention: x is (3, batch), W is
(n_out, n_in), b is (n_out, 1), y is (1, batch) with entries 0 or 1.
"""
import numpy as np

from solutions import losses, optim, training
from solutions.activations import sigmoid
from solutions.describe import (finite_difference_test, hidden_test, inputs_unchanged_test,
                                public_structure_test, public_values_test, Question, Reference,
                                run_cell, worked_tests)
from solutions.network import Layer, Network

EXERCISE = "tanh_bce_adam"
FILES = ()
LEARNING_RATE = 0.05
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8   # Adam's defaults, as in optim.adam_step
STEPS = 8

NET = Network(layers=(Layer("W1", "b1", "tanh", pre="z1", post="a1"),
                      Layer("W2", "b2", "sigmoid", pre="z2", post="a2")),
              convention="columns", loss="binary_cross_entropy", output_gradient="chain")


# ---------------------------------------------------------------- the reference, from building blocks

def _train(params, x, y, lr, steps):
    return training.train(NET, params, x, y, training.Adam(lr, BETA1, BETA2, EPS), steps)


ref = Reference(
    forward=NET.forward,
    bce_loss=losses.binary_cross_entropy,   # p clipped to [1e-15, 1 - 1e-15]
    backward=NET.backward,
    adam_step=optim.adam_step,
    train=_train,
    network=NET,
)


# ---------------------------------------------------------------- the worked example (a seeded draw)

WORKED_CELL = """
import numpy as np

def sigmoid(z):
    \"\"\"1 / (1 + exp(-z)), elementwise (given).\"\"\"
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))

rng = np.random.default_rng(12)
params = {"W1": rng.normal(0, 0.5, (4, 3)), "b1": np.zeros((4, 1)),
          "W2": rng.normal(0, 0.5, (1, 4)), "b2": np.zeros((1, 1))}
x = rng.normal(0, 1, (3, 8))                   # (3, 8)
y = (x[0:1] + x[1:2] > x[2:3]).astype(float)   # (1, 8), 0 or 1
"""


@ref.add
def worked_example():
    """(params, x, y) as the intro's code cell draws them: weights normal(0, 0.5), zero biases,
    8 points in 3-d, y = 1 where x1 + x2 > x3."""
    cell = run_cell(WORKED_CELL)
    return cell["params"], cell["x"], cell["y"]


def _random_problem(rng, n0, n1, m):
    return training.random_problem(NET, rng, (n0, n1, 1), m, targets="binary")


SIZES = [(3, 4, 1), (2, 5, 6), (5, 3, 9)]   # (inputs, hidden units, batch)


def _cases_forward(rng):
    return [(p, x) for p, x, _ in (_random_problem(rng, *s) for s in SIZES)]


def _cases_loss(rng):
    cases = [(rng.uniform(0.01, 0.99, size=(1, m)), rng.integers(0, 2, size=(1, m)).astype(float))
             for m in (1, 5, 12)]
    # the clipped ends: a confident wrong answer costs -log(1e-15), not inf
    cases.append((np.array([[0.0, 1.0, 0.3, 1.0, 0.0]]), np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])))
    return cases


def _cases_backward(rng):
    return [(p, NET.forward(p, x), x, y) for p, x, y in (_random_problem(rng, *s) for s in SIZES)]


def _cases_backward_fd(rng):
    return [((p, NET.forward(p, x), x, y), lambda q, x=x, y=y: NET.objective(q, x, y))
            for p, x, y in (_random_problem(rng, *s) for s in SIZES[1:])]


def _cases_adam_step(rng):
    cases = []
    for shape, t, (lr, beta1, beta2, eps) in (((4, 3), 1, (0.01, 0.9, 0.999, 1e-8)),
                                             ((1, 5), 2, (0.05, 0.8, 0.99, 1e-8)),
                                             ((6, 1), 7, (0.001, 0.9, 0.999, 1e-6))):
        cases.append((rng.normal(size=shape), rng.normal(size=shape), rng.normal(0, 0.1, size=shape),
                      rng.uniform(0, 0.1, size=shape), t, lr, beta1, beta2, eps))
    return cases


def _cases_train(rng):
    return [(p, x, y, 0.02, 4) for p, x, y in (_random_problem(rng, *s) for s in SIZES[1:])]


# ---------------------------------------------------------------- model answers (the master notebook's solutions)

def forward(params, x):
    """x: (n_in, batch). Returns {z1, a1, z2, a2}: z1, a1 (n_hidden, batch); z2, a2 (1, batch)."""
    z1 = params["W1"] @ x + params["b1"]
    a1 = np.tanh(z1)
    z2 = params["W2"] @ a1 + params["b2"]
    return {"z1": z1, "a1": a1, "z2": z2, "a2": sigmoid(z2)}


def bce_loss(a2, y):
    """Batch-mean binary cross-entropy of a2 against y in {0, 1}, a2 clipped to [1e-15, 1 - 1e-15]. Float."""
    eps = 1e-15
    p = np.clip(a2, eps, 1 - eps)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def backward(params, cache, x, y):
    """Gradients of the batch-mean BCE: {W1, b1, W2, b2}, each shaped like its parameter."""
    m = x.shape[1]
    dz2 = (cache["a2"] - y) / m
    dW2 = dz2 @ cache["a1"].T
    db2 = np.sum(dz2, axis=1, keepdims=True)
    dz1 = (params["W2"].T @ dz2) * (1 - cache["a1"] ** 2)
    dW1 = dz1 @ x.T
    db1 = np.sum(dz1, axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def adam_step(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step at step t (t starts at 1). Returns (param_new, m_new, v_new), new arrays."""
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m_new / (1 - beta1 ** t)
    v_hat = v_new / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def train(params, x, y, lr, steps):
    """Full-batch Adam from zero moments. Returns (params, losses): new arrays, each loss before its step."""
    params = {name: np.array(value, dtype=float) for name, value in params.items()}
    m = {name: np.zeros_like(value) for name, value in params.items()}
    v = {name: np.zeros_like(value) for name, value in params.items()}
    history = []
    for t in range(1, steps + 1):
        cache = forward(params, x)
        history.append(bce_loss(cache["a2"], y))
        grads = backward(params, cache, x, y)
        for name in params:
            params[name], m[name], v[name] = adam_step(params[name], grads[name], m[name], v[name], t, lr)
    return params, history


# ---------------------------------------------------------------- the notebook

def intro():
    return [
        ("md", r"""
        # Adam on a small tanh network with a sigmoid output

        A 3-4-1 binary classifier: one tanh hidden layer and a single sigmoid output unit giving the
        probability that an example is in class 1, trained with binary cross-entropy by Adam.

        | layer | computes | shapes |
        |---|---|---|
        | input | $x$ | $(3, m)$ |
        | hidden | $z_1 = W_1 x + b_1,\ a_1 = \tanh(z_1)$ | $W_1: (4, 3),\ b_1: (4, 1)$ |
        | output | $z_2 = W_2 a_1 + b_2,\ a_2 = \sigma(z_2)$ | $W_2: (1, 4),\ b_2: (1, 1)$ |

        $\sigma(z) = 1 / (1 + e^{-z})$ (given below), and $\tanh'(z) = 1 - \tanh^2(z)$.

        **Conventions.** Column vectors: a batch is $(n, m)$, one example per column; $W$ is
        $(n_{\text{out}}, n_{\text{in}})$, $b$ is $(n_{\text{out}}, 1)$; the targets $y$ are $(1, m)$,
        each $0$ or $1$. The loss is the binary cross-entropy averaged over the batch,
        $$L = -\frac1m \sum_{i=1}^{m} \left[\, y_i \log \hat p_i + (1 - y_i) \log(1 - \hat p_i) \,\right],
          \qquad \hat p = \mathrm{clip}(a_2,\ \varepsilon,\ 1 - \varepsilon),\ \varepsilon = 10^{-15}:$$
        the probabilities are clipped first so that a confident wrong answer ($a_2 = 0$ where $y = 1$)
        costs $-\log 10^{-15} \approx 34.5$ instead of infinity. Every gradient has the shape of its
        parameter.

        The worked example below is a seeded draw: 8 points in 3 dimensions, labelled 1 where
        $x_1 + x_2 > x_3$.
        """),
        ("code", WORKED_CELL),
    ]


def questions():
    params, x, y = worked_example()
    cache = ref.forward(params, x)
    grads = ref.backward(params, cache, x, y)
    edge_p, edge_y = np.array([[0.0, 1.0, 0.5, 1.0]]), np.array([[1.0, 0.0, 1.0, 1.0]])
    zeros = np.zeros_like(params["W1"])
    first_args = (params["W1"], grads["W1"], zeros, zeros, 1, LEARNING_RATE, BETA1, BETA2, EPS)
    _, m1, v1 = ref.adam_step(*first_args)
    second_args = (params["W1"], grads["W1"], m1, v1, 2, LEARNING_RATE, BETA1, BETA2, EPS)
    adam_names = ("param", "grad", "m", "v", "t", "lr", "beta1", "beta2", "eps")
    train_args = (params, x, y, LEARNING_RATE, STEPS)
    train_label = f"train(params, x, y, lr={LEARNING_RATE}, steps={STEPS})"

    q1 = Question("q1", "the forward pass", r"""
        Write `forward(params, x)` for `x` of shape $(n_{\text{in}}, m)$ (any batch size and layer
        widths) and return the dict `{"z1", "a1", "z2", "a2"}`: `z1` and `a1` are $(n_{\text{hidden}}, m)$,
        `z2` and `a2` are $(1, m)$. Use `np.tanh` for the hidden layer and the given `sigmoid` for the
        output.
        """, forward, [
            *worked_tests("forward", (params, x), cache, _cases_forward, batch_size=8, batch_of=(1, 1),
                          label="forward(params, x) on the worked example"),
        ], after="""
        cache = forward(params, x)
        cache["a2"].round(3)
        """)
    q2 = Question("q2", "binary cross-entropy", r"""
        Write `bce_loss(a2, y)`: the binary cross-entropy of the probabilities `a2` against the targets
        `y` (both $(1, m)$), averaged over the batch, as defined above. Clip first,
        `p = np.clip(a2, 1e-15, 1 - 1e-15)`, then take the logs of `p` and `1 - p`. Return a float.
        """, bce_loss, [
            public_values_test("test_bce_loss_public", "bce_loss", (cache["a2"], y), ref.bce_loss(cache["a2"], y),
                               label="bce_loss(a2, y) on the worked example", batch_size=8),
            public_values_test("test_bce_loss_clipped", "bce_loss", (edge_p, edge_y), ref.bce_loss(edge_p, edge_y),
                               label="bce_loss([[0, 1, 0.5, 1]], [[1, 0, 1, 1]]) (clipped at 1e-15)"),
            hidden_test("bce_loss", _cases_loss, batch_of=(0, 1)),
        ])
    q3 = Question("q3", "backpropagation", r"""
        Write `backward(params, cache, x, y)`: the gradients of the batch-mean loss $L$ with respect to
        every parameter, `{"W1", "b1", "W2", "b2"}`, each shaped like its parameter. With a sigmoid
        output and binary cross-entropy the output gradient simplifies (where $a_2$ is not clipped,
        which is everywhere in our tests):

        $$\frac{\partial L}{\partial z_2} = \frac1m (a_2 - y),\qquad
          \frac{\partial L}{\partial W_2} = \frac{\partial L}{\partial z_2} a_1^\top,\qquad
          \frac{\partial L}{\partial b_2} = \sum_{\text{columns}} \frac{\partial L}{\partial z_2}$$
        $$\frac{\partial L}{\partial z_1} = \left(W_2^\top \frac{\partial L}{\partial z_2}\right) \odot (1 - a_1^2),\qquad
          \frac{\partial L}{\partial W_1} = \frac{\partial L}{\partial z_1} x^\top,\qquad
          \frac{\partial L}{\partial b_1} = \sum_{\text{columns}} \frac{\partial L}{\partial z_1}$$

        Take `a1` and `a2` from `cache` (the output of your `forward`).
        """, backward, [
            public_structure_test("test_backward_shapes", "backward", (params, cache, x, y), grads,
                                  label="backward(params, cache, x, y) on the worked example"),
            public_values_test("test_backward_public", "backward", (params, cache, x, y), grads,
                               label="backward(params, cache, x, y) on the worked example", batch_size=8),
            hidden_test("backward", _cases_backward, batch_of=(2, 1)),
            finite_difference_test("backward", _cases_backward_fd),
        ])
    q4 = Question("q4", "one Adam step", r"""
        Write `adam_step(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8)`: one step
        of Adam for one parameter array, at step `t` (counted from 1). `m` and `v` are the running
        first and second moments of the gradient, shaped like `param`:

        $$m' = \beta_1 m + (1 - \beta_1)\, g,\qquad v' = \beta_2 v + (1 - \beta_2)\, g^2,$$
        $$\hat m = \frac{m'}{1 - \beta_1^{\,t}},\qquad \hat v = \frac{v'}{1 - \beta_2^{\,t}},\qquad
          \text{param}' = \text{param} - \text{lr}\, \frac{\hat m}{\sqrt{\hat v} + \varepsilon}$$

        ($g^2$ and $\sqrt{\cdot}$ elementwise). The bias correction $\hat m, \hat v$ undoes the pull of
        the zero start towards 0: at $t = 1$ from zero moments, each entry moves by about `lr`.
        Return the tuple `(param_new, m_new, v_new)` of new arrays; leave the arguments unchanged.
        """, adam_step, [
            public_structure_test("test_adam_step_shapes", "adam_step", first_args, ref.adam_step(*first_args),
                                  label="adam_step(W1, dW1, 0, 0, t=1, lr=0.05)"),
            public_values_test("test_adam_step_first", "adam_step", first_args, ref.adam_step(*first_args),
                               label="adam_step(W1, dW1, m=0, v=0, t=1, lr=0.05) on the worked example"),
            public_values_test("test_adam_step_second", "adam_step", second_args, ref.adam_step(*second_args),
                               label="adam_step(W1, dW1, m, v, t=2, lr=0.05) after the first step"),
            inputs_unchanged_test("test_adam_step_leaves_inputs", "adam_step", second_args, adam_names),
            hidden_test("adam_step", _cases_adam_step),
        ])
    q5 = Question("q5", "training with Adam", r"""
        Write `train(params, x, y, lr, steps)`: `steps` full-batch Adam steps (default `beta1`,
        `beta2`, `eps`), starting from zero moments `m` and `v` for every parameter. At step
        $t = 1, 2, \ldots,$ `steps`: run `forward`, record `bce_loss(cache["a2"], y)` (before the
        update), compute `backward`, and update every parameter with `adam_step(..., t, lr)`, each
        with its own `m` and `v`. Return `(params, losses)`: new arrays (leave the ones passed in
        unchanged) and the list of `steps` losses.
        """, train, [
            public_structure_test("test_train_shapes", "train", train_args, ref.train(*train_args),
                                  label=train_label),
            public_values_test("test_train_public", "train", train_args, ref.train(*train_args),
                               label=train_label + " on the worked example"),
            inputs_unchanged_test("test_train_leaves_inputs", "train", train_args, ("params", "x", "y", "lr", "steps")),
            hidden_test("train", _cases_train),
        ], after=f"""
        trained, losses = train(params, x, y, lr={LEARNING_RATE}, steps={STEPS})
        np.round(losses, 4)
        """)
    return [q1, q2, q3, q4, q5]
