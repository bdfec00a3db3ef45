"""Column-wise softmax over a batch, and its Jacobian-vector product.

Convention: ``Z`` has shape (n_classes, batch); each column is one example.
"""
import numpy as np


def softmax(Z):
    """Column-wise softmax. Z: (n_classes, batch) or (n_classes,). Returns same shape.

    Shifted by the column maximum for stability; the shift does not change the result.
    """
    Z = np.asarray(Z, dtype=float)
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def softmax_backward(dA, A):
    """Apply the softmax Jacobian (transposed) to the upstream gradient, column by column.

    For one column, J = diag(a) - a a^T, so dZ = J^T dA = a * (dA - sum(a * dA)).
    dA, A: (n_classes, batch). Returns dZ: (n_classes, batch).
    """
    return A * (dA - np.sum(A * dA, axis=0, keepdims=True))
