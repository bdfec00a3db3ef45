"""Small random fixtures for networks, shared by the network and diagnosis tests."""
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


def worked_params(ref):
    """An exercise's worked parameters: from a worked notebook (initial_params) or a seeded draw."""
    return ref.initial_params() if hasattr(ref, "initial_params") else ref.worked_example()[0]


def random_problem(net, shapes, rng, batch, scale=0.8):
    """(params, x, y) for the Network ``net``: normal(0, scale) parameters of the given shapes,
    a batch of inputs, and targets fit for its loss (one-hot, 0 or 1, or in [0, 1])."""
    params = {name: rng.normal(0, scale, shape) for name, shape in shapes.items()}
    first = np.shape(params[net.layers[0].weight])
    columns = net.convention == "columns"
    x = rng.normal(size=(first[1], batch) if columns else (batch, first[0]))
    out = net.forward(params, x)[net.output_key].shape
    if net.loss_name == "cross_entropy":
        classes = out[0] if columns else out[1]
        y = one_hot(rng, classes, batch) if columns else one_hot(rng, classes, batch).T
    elif net.loss_name == "binary_cross_entropy":
        y = rng.integers(0, 2, out).astype(float)
    else:
        y = rng.uniform(size=out)
    return params, x, y
