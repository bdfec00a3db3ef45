"""L2 weight decay: the penalty beside its gradient.

``params`` is a dict of arrays; ``names`` picks the weights the penalty applies to (biases are
usually left out). The gradient of each named weight has that weight's shape.
"""
import numpy as np


def l2_penalty(params, lam, names):
    """lam / 2 * sum over the named arrays of the sum of their squared entries. Returns float."""
    return float(lam / 2 * sum(np.sum(np.square(params[name])) for name in names))


def l2_gradient(params, lam, names):
    """d l2_penalty / dW = lam * W for every named W: {name: array shaped like params[name]}."""
    return {name: lam * params[name] for name in names}
