"""Parameter updates. Each returns new arrays and never changes its inputs."""

import numpy as np


def sgd_step(param, grad, learning_rate):
    """param - learning_rate * grad. Shapes: param and grad alike."""
    return param - learning_rate * grad


def momentum_step(param, grad, velocity, gamma, eta):
    """Gradient descent with momentum, as the worked example writes it.

    velocity_new = gamma * velocity - eta * grad;  param_new = param + velocity_new.
    Returns (param_new, velocity_new), both shaped like ``param``.
    """
    velocity_new = gamma * velocity - eta * grad
    return param + velocity_new, velocity_new


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma & Ba, 2015) at step t (t starts at 1), with bias correction.

    m_new = beta1 m + (1 - beta1) g;  v_new = beta2 v + (1 - beta2) g^2;
    param_new = param - lr * m_hat / (sqrt(v_hat) + eps), where m_hat = m_new / (1 - beta1^t)
    and v_hat = v_new / (1 - beta2^t) undo the pull of the zero start towards 0.
    Returns (param_new, m_new, v_new), each shaped like ``param``.
    """
    m_new = beta1 * m + (1.0 - beta1) * grad
    v_new = beta2 * v + (1.0 - beta2) * grad * grad
    m_hat = m_new / (1.0 - beta1 ** t)
    v_hat = v_new / (1.0 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new
