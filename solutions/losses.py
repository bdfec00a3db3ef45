"""Losses, each value beside its gradient with respect to the prediction.

Column convention: predictions and targets have shape (n_outputs, batch) and
the loss is averaged over the batch (over all entries for MSE).
"""
import numpy as np

BCE_EPSILON = 1e-15


def cross_entropy(A, Y):
    """Mean over the batch of -sum_k Y[k] log A[k]. A, Y: (n_classes, batch). Returns float."""
    A, Y = np.atleast_2d(A), np.atleast_2d(Y)
    batch = A.shape[1] if A.ndim == 2 else 1
    return float(-np.sum(Y * np.log(A)) / batch)


def cross_entropy_backward(A, Y):
    """dL/dA = -Y / A / batch. Shape (n_classes, batch)."""
    batch = np.atleast_2d(A).shape[1]
    return -Y / A / batch


def softmax_cross_entropy_backward(A, Y):
    """dL/dZ where A = softmax(Z): (A - Y) / batch. Shape (n_classes, batch)."""
    batch = np.atleast_2d(A).shape[1]
    return (A - Y) / batch


def binary_cross_entropy(p, y, epsilon=BCE_EPSILON):
    """Mean of -(y log p + (1-y) log(1-p)), p clipped to [eps, 1-eps]. p, y: any equal shape."""
    p = np.clip(p, epsilon, 1.0 - epsilon)
    return float(np.mean(-(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))))


def binary_cross_entropy_backward(p, y, epsilon=BCE_EPSILON):
    """dL/dp of the batch-mean BCE: (-y/p + (1-y)/(1-p)) / n, zero where p was clipped."""
    inside = (p > epsilon) & (p < 1.0 - epsilon)
    pc = np.clip(p, epsilon, 1.0 - epsilon)
    return (-y / pc + (1.0 - y) / (1.0 - pc)) * inside / np.size(p)


def mean_squared_error(p, y):
    """Mean over all entries of (p - y)^2. Returns float."""
    return float(np.mean((np.asarray(p) - y) ** 2))


def mean_squared_error_backward(p, y):
    """dL/dp = 2 (p - y) / n_entries. Shape of p."""
    return 2.0 * (p - y) / np.size(p)
