"""Small random fixtures for column-convention networks, shared by the network and diagnosis tests."""
import numpy as np


def column_params(rng, sizes, weight_scale=1.0, bias_scale=1.0):
    """{W1, b1, ...} for layer widths ``sizes``: Wk (sizes[k], sizes[k-1]), bk (sizes[k], 1).

    Draws Wk then bk, layer by layer, from normal(0, scale).
    """
    params = {}
    for k in range(1, len(sizes)):
        params[f"W{k}"] = rng.normal(0, weight_scale, (sizes[k], sizes[k - 1]))
        params[f"b{k}"] = rng.normal(0, bias_scale, (sizes[k], 1))
    return params


def one_hot(rng, classes, batch):
    """Random one-hot targets, (classes, batch)."""
    return np.eye(classes)[:, rng.integers(0, classes, batch)]
