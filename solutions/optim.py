"""Parameter updates. Each returns new arrays and never changes its inputs."""


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
