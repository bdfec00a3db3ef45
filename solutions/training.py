"""Training a ``solutions.network.Network``: mini-batches, optimizers with state, the loop.

An optimizer is an object with ``start(params)`` (fresh state for these parameters) and
``update(params, grads) -> new params`` (one step; advances its state). Both build new arrays
and never change the ones passed in; the state after training stays readable on the object
(``Momentum.velocities``, ``Adam.m``, ``Adam.v``, ``Adam.t``). Its ``rule`` is the function of
``solutions.optim`` it applies to each parameter.

``swapped`` lets the diagnosis (``solutions.mistakes``) run an exercise's own training function
with one block changed: a wrong backward pass or a wrong update rule.
"""
import threading
from contextlib import contextmanager

import numpy as np

from solutions import optim


def _zeros_like(params):
    return {name: np.zeros_like(np.asarray(value, dtype=float)) for name, value in params.items()}


class SGD:
    """Plain gradient descent: p - lr * g. No state."""
    rule = staticmethod(optim.sgd_step)

    def __init__(self, lr):
        self.lr = lr

    def start(self, params):
        pass

    def update(self, params, grads):
        return {name: self.rule(params[name], grads[name], self.lr) for name in params}


class Momentum:
    """As the worked example writes it: v = gamma v - eta g; p = p + v. Velocities start at zero."""
    rule = staticmethod(optim.momentum_step)

    def __init__(self, gamma, eta):
        self.gamma, self.eta = gamma, eta
        self.velocities = None

    def start(self, params):
        self.velocities = _zeros_like(params)

    def update(self, params, grads):
        stepped = {name: self.rule(params[name], grads[name], self.velocities[name], self.gamma, self.eta)
                   for name in params}
        self.velocities = {name: v for name, (_, v) in stepped.items()}
        return {name: p for name, (p, _) in stepped.items()}


class Adam:
    """Adam with bias correction (``optim.adam_step``); moments start at zero, the step count at 0."""
    rule = staticmethod(optim.adam_step)

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = self.v = None
        self.t = 0

    def start(self, params):
        self.m, self.v, self.t = _zeros_like(params), _zeros_like(params), 0

    def update(self, params, grads):
        self.t += 1
        stepped = {name: self.rule(params[name], grads[name], self.m[name], self.v[name], self.t,
                                   self.lr, self.beta1, self.beta2, self.eps) for name in params}
        self.m = {name: m for name, (_, m, _) in stepped.items()}
        self.v = {name: v for name, (_, _, v) in stepped.items()}
        return {name: p for name, (p, _, _) in stepped.items()}


def minibatches(n_examples, batch_size, rng):
    """Index arrays covering range(n_examples) once, in the order of a fresh ``rng.permutation``:
    batches of ``batch_size``, the last one smaller when batch_size does not divide n_examples.
    Call once per epoch."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = rng.permutation(n_examples)
    for start in range(0, n_examples, batch_size):
        yield order[start:start + batch_size]


def train(net, params, x, y, step, epochs, batch_size=None, rng=None):
    """``epochs`` passes over (x, y), one ``step.update`` per batch; full batch when batch_size is None.

    step: an optimizer (SGD, Momentum, Adam), started afresh here. rng: a numpy Generator for the
    mini-batch order (needed when batch_size is given). Returns (params, losses): new arrays, and
    net.objective on each batch before its update. The arrays passed in are not changed.
    """
    if batch_size is not None and rng is None:
        raise ValueError("mini-batches need an rng (numpy.random.Generator) for their order")
    params = {name: np.array(value, dtype=float) for name, value in params.items()}
    step.start(params)
    n_examples = net.n_examples(x)
    swap = getattr(_swaps, "current", None)
    if swap is not None:  # the diagnosis: this run makes one classic mistake
        net = swap.enter(net, step, batch_size, n_examples)
    losses = []
    for _ in range(epochs):
        batches = [None] if batch_size is None else minibatches(n_examples, batch_size, rng)
        for index in batches:
            xb, yb = (x, y) if index is None else (net.examples(x, index), net.examples(y, index))
            cache = net.forward(params, xb)
            losses.append(net.objective(params, xb, yb, cache))
            params = step.update(params, net.backward(params, cache, xb, yb))
    return params, losses


# ---------------------------------------------------------------- one block swapped, for the diagnosis
_swaps = threading.local()  # the batch grader computes variants in several threads at once


class Swap:
    """What ``train`` runs instead, inside ``swapped``: ``network(net, step, n_examples)`` in place
    of its network (None: the same), and ``rule`` in place of its optimizer's per-parameter rule
    (None: the same). ``runs`` records each train call: (net, step, batch_size, n_examples)."""

    def __init__(self, network=None, rule=None):
        self.network, self.rule, self.runs = network, rule, []

    def enter(self, net, step, batch_size, n_examples):
        self.runs.append((net, step, batch_size, n_examples))
        if self.rule is not None:
            step.rule = self.rule  # this run's optimizer object only: the class keeps its rule
        return net if self.network is None else self.network(net, step, n_examples)


@contextmanager
def swapped(network=None, rule=None):
    """In this block, in this thread, ``train`` runs with a block swapped (see ``Swap``); with
    neither given it only records its calls. Yields the ``Swap``."""
    outer = getattr(_swaps, "current", None)
    _swaps.current = Swap(network, rule)
    try:
        yield _swaps.current
    finally:
        _swaps.current = outer


def random_problem(net, rng, sizes, batch, targets="one-hot"):
    """(params, x, y) drawn from ``rng``, for hidden tests: parameters normal(0, 1) for layer widths
    ``sizes`` (``net.init_params``), inputs normal(0, 1) for a batch of ``batch`` (laid out by the
    network's convention), then targets: ``"one-hot"`` (a class drawn uniformly per example) or
    ``"binary"`` (0.0 or 1.0 per output). Shapes: x and y as the network's forward takes them."""
    params = net.init_params(rng, sizes)
    columns = net.convention == "columns"
    n_in, n_out = sizes[0], sizes[-1]
    x = rng.normal(size=(n_in, batch) if columns else (batch, n_in))
    if targets == "one-hot":
        y = np.eye(n_out)[:, rng.integers(0, n_out, size=batch)]
        return params, x, (y if columns else y.T)
    if targets == "binary":
        return params, x, rng.integers(0, 2, size=(n_out, batch) if columns else (batch, n_out)).astype(float)
    raise ValueError(f"targets {targets!r}: expected 'one-hot' or 'binary'")
