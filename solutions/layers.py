"""Affine layers as forward/backward pairs (CS231n style).

Column convention (``affine_*``): x is (n_in, batch), W is (n_out, n_in),
b is (n_out, 1); out = W @ x + b is (n_out, batch).
Row convention (``row_affine_*``): x is (batch, n_in), W is (n_in, n_out),
b is (n_out,); out = x @ W + b is (batch, n_out).
Gradients always have the shape of their parameter.
"""
import numpy as np


def affine_forward(W, x, b):
    """out = W @ x + b. Returns (out, cache) with cache = (W, x, b)."""
    return W @ x + b, (W, x, b)


def affine_backward(dout, cache):
    """dout: (n_out, batch). Returns dx (n_in, batch), dW (n_out, n_in), db (shape of b)."""
    W, x, b = cache
    dx = W.T @ dout
    dW = dout @ x.T
    db = np.sum(dout, axis=1, keepdims=True).reshape(np.shape(b))
    return dx, dW, db


def row_affine_forward(x, W, b):
    """out = x @ W + b. Returns (out, cache) with cache = (x, W, b)."""
    return x @ W + b, (x, W, b)


def row_affine_backward(dout, cache):
    """dout: (batch, n_out) or (batch,) when W is a vector. Returns dx, dW, db shaped like x, W, b."""
    x, W, b = cache
    if np.ndim(W) == 1:  # W: (n_in,), out: (batch,)
        dx = np.outer(dout, W)
        dW = x.T @ dout
        db = np.sum(dout).reshape(np.shape(b))
        return dx, dW, db
    dx = dout @ W.T
    dW = x.T @ dout
    db = np.sum(dout, axis=0).reshape(np.shape(b))
    return dx, dW, db
