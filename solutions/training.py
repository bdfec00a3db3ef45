"""Training a ``solutions.network.Network``: mini-batches, optimizers with state, the loop.

An optimizer is an object with ``start(params)`` (fresh state for these parameters) and
``update(params, grads) -> new params`` (one step; advances its state). Both build new arrays
and never change the ones passed in; the state after training stays readable on the object
(``Momentum.velocities``, ``Adam.m``, ``Adam.v``, ``Adam.t``).
"""
import numpy as np

from solutions import optim


def _zeros_like(params):
    return {name: np.zeros_like(np.asarray(value, dtype=float)) for name, value in params.items()}


class SGD:
    """Plain gradient descent: p - lr * g. No state."""

    def __init__(self, lr):
        self.lr = lr

    def start(self, params):
        pass

    def update(self, params, grads):
        return {name: optim.sgd_step(params[name], grads[name], self.lr) for name in params}


class Momentum:
    """As the worked example writes it: v = gamma v - eta g; p = p + v. Velocities start at zero."""

    def __init__(self, gamma, eta):
        self.gamma, self.eta = gamma, eta
        self.velocities = None

    def start(self, params):
        self.velocities = _zeros_like(params)

    def update(self, params, grads):
        stepped = {name: optim.momentum_step(params[name], grads[name], self.velocities[name],
                                             self.gamma, self.eta) for name in params}
        self.velocities = {name: v for name, (_, v) in stepped.items()}
        return {name: p for name, (p, _) in stepped.items()}


class Adam:
    """Adam with bias correction (``optim.adam_step``); moments start at zero, the step count at 0."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = self.v = None
        self.t = 0

    def start(self, params):
        self.m, self.v, self.t = _zeros_like(params), _zeros_like(params), 0

    def update(self, params, grads):
        self.t += 1
        stepped = {name: optim.adam_step(params[name], grads[name], self.m[name], self.v[name], self.t,
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
    n_examples = np.shape(x)[-1 if net.convention == "columns" else 0]
    losses = []
    for _ in range(epochs):
        batches = [None] if batch_size is None else minibatches(n_examples, batch_size, rng)
        for index in batches:
            xb, yb = (x, y) if index is None else (net.examples(x, index), net.examples(y, index))
            cache = net.forward(params, xb)
            losses.append(net.objective(params, xb, yb, cache))
            params = step.update(params, net.backward(params, cache, xb, yb))
    return params, losses
