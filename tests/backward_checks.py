"""The check every exercise's backward answers to: its gradients against finite differences."""
from solutions.gradcheck import numerical_gradients, rel_error


def assert_backward_matches_finite_differences(net, loss, problems, names, tolerance):
    """On every (params, x, y) of ``problems``, ``net.backward`` gives exactly the gradients
    ``names``, each shaped like its parameter and within ``tolerance`` (rel_error) of the centered
    differences of ``loss(params, x, y)``."""
    for params, x, y in problems:
        grads = net.backward(params, net.forward(params, x), x, y)
        fd = numerical_gradients(lambda p: loss(p, x, y), params)  # noqa: B023 (called right here)
        assert set(grads) == set(names)
        for name in names:
            assert grads[name].shape == params[name].shape, name
            assert rel_error(grads[name], fd[name]) < tolerance, name
