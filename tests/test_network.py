"""The generic Network gives each exercise's reference: it agrees with the model answers the
descriptions write out by hand (on random inputs), its backward is the gradient of its objective,
and it trains."""
import inspect

import numpy as np
import pytest

from random_networks import one_hot, random_problem, worked_params
from solutions import exercises
from solutions.gradcheck import KINKED_TOLERANCE, SMOOTH_TOLERANCE, numerical_gradients, rel_error
from solutions.network import Layer, Network
from solutions.training import SGD, Adam, Momentum, train

# every exercise whose reference is a Network (all of them, the moment they say network=NET)
NETWORKED = [name for name in exercises.names() if getattr(exercises.reference(name), "network", None)]


def assert_identical(ours, theirs):
    """Same keys and every array equal to the bit (np.array_equal, not allclose)."""
    assert set(ours) == set(theirs)
    for name in theirs:
        assert np.shape(ours[name]) == np.shape(theirs[name]), name
        assert np.array_equal(ours[name], theirs[name]), f"{name}: max diff {np.max(np.abs(ours[name] - theirs[name]))}"


def assert_close(ours, theirs, where):
    """Same keys and shapes; every entry within 1e-12 (relative to the array's largest entry)."""
    assert set(ours) == set(theirs), where
    for name in theirs:
        a, b = np.asarray(ours[name], dtype=float), np.asarray(theirs[name], dtype=float)
        assert a.shape == b.shape, f"{where}[{name}]"
        scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
        assert np.max(np.abs(a - b), initial=0.0) <= 1e-12 * scale, f"{where}[{name}]"


# ---------------------------------------------------------------- the Network against the model answers
@pytest.mark.parametrize("exercise", NETWORKED)
@pytest.mark.parametrize("batch", [1, 3, 7])
def test_network_agrees_with_the_model_answers(exercise, batch):
    """The description's hand-written forward and backward (its model answers, written as a student
    writes them) and its Network give the same numbers on random parameters at the worked
    example's shapes and random batches: the Network is the network the description describes."""
    description = exercises.load(exercise)
    net = description.ref.network
    shapes = {name: np.shape(value) for name, value in worked_params(description.ref).items()}
    rng = np.random.default_rng(batch)
    for _ in range(3):
        params, x, y = random_problem(net, shapes, rng, batch)
        cache = net.forward(params, x)
        assert_close(cache, description.forward(params, x), f"{exercise} forward")
        assert list(cache) == list(description.forward(params, x)), "layer order"
        extra = [name for name in inspect.signature(description.backward).parameters][4:]
        if extra == ["lam"]:  # the exercise asks for weight decay
            lam = float(rng.uniform(0.01, 0.5))
            theirs = description.backward(params, cache, x, y, lam)
            assert_close(net.with_l2(lam).backward(params, cache, x, y), theirs, f"{exercise} backward")
        else:
            assert extra == [], f"{exercise}: backward takes {extra}"
            assert_close(net.backward(params, cache, x, y), description.backward(params, cache, x, y),
                         f"{exercise} backward")


@pytest.mark.parametrize("exercise", NETWORKED)
def test_forward_from_resumes_the_forward_pass_at_each_quantity(exercise):
    """Resumed at any cached quantity with its own value, the pass gives the forward cache's later
    quantities to the bit; resumed at a changed value, every later quantity moves and no earlier
    one is returned. The finite differences over intermediates stand on this."""
    ref = exercises.reference(exercise)
    net = ref.network
    shapes = {name: np.shape(value) for name, value in worked_params(ref).items()}
    rng = np.random.default_rng(5)
    params, x, y = random_problem(net, shapes, rng, 4)
    cache = net.forward(params, x)
    names = list(cache)
    assert_identical(net.forward_from(params, "x", x), cache)
    for i, name in enumerate(names):
        resumed = net.forward_from(params, name, cache[name])
        assert list(resumed) == names[i:]
        assert_identical(resumed, {k: cache[k] for k in names[i:]})
        moved = net.forward_from(params, name, cache[name] + rng.normal(size=np.shape(cache[name])))
        assert all(not np.array_equal(moved[k], cache[k]) for k in names[i:])
    with pytest.raises(ValueError, match="expected one of x, "):
        net.forward_from(params, "nonesuch", x)


def test_init_params_draws_relu_mse_trainings_start():
    ref = exercises.reference("relu_mse_training")
    assert_identical(ref.network.init_params(np.random.default_rng(4), (3, 4, 1), scale=0.5), ref.initial_params(4))


# ---------------------------------------------------------------- gradients of the objective
def leaky_columns_net(l2):
    return Network(layers=(Layer("W1", "b1", "leaky_relu", "z1", "a1"), Layer("W2", "b2", "tanh", "z2", "a2"),
                           Layer("W3", "b3", "softmax", "z3", "a3")),
                   convention="columns", loss="cross_entropy", output_gradient="fused", l2=l2)


def rows_net(output, loss, l2, output_gradient="chain"):
    return Network(layers=(Layer("W1", "b1", "leaky_relu", "z1", "a1"), Layer("W2", "b2", "silu", "z2", "a2"),
                           Layer("W3", "b3", output, "z3", "a3")),
                   convention="rows", loss=loss, output_gradient=output_gradient, l2=l2)


def gradient_cases():
    rng = np.random.default_rng(20)
    sizes, batch = (4, 5, 3, 3), 6
    x_cols, x_rows = rng.normal(size=(4, batch)), rng.normal(size=(batch, 4))
    y_cols = one_hot(rng, 3, batch)
    return {
        "columns-leaky-softmax-fused-l2": (leaky_columns_net(0.1), sizes, x_cols, y_cols),
        "columns-leaky-softmax-fused": (leaky_columns_net(0.0), sizes, x_cols, y_cols),
        "columns-sigmoid-bce-l2": (Network(layers=(Layer("W1", "b1", "leaky_relu", "z1", "a1"),
                                                   Layer("W2", "b2", "sigmoid", "z2", "a2")),
                                           loss="binary_cross_entropy", l2=0.05),
                                   (4, 5, 2), x_cols, rng.integers(0, 2, (2, batch)).astype(float)),
        "rows-softmax-chain-l2": (rows_net("softmax", "cross_entropy", 0.2), sizes, x_rows, y_cols.T),
        "rows-softmax-fused-l2": (rows_net("softmax", "cross_entropy", 0.2, "fused"), sizes, x_rows, y_cols.T),
        "rows-identity-mse-l2": (rows_net("identity", "mse", 0.3), sizes, x_rows, rng.normal(size=(batch, 3))),
    }


@pytest.mark.parametrize("name", list(gradient_cases()))
def test_backward_is_the_gradient_of_the_objective(name):
    net, sizes, x, y = gradient_cases()[name]
    params = net.init_params(np.random.default_rng(21), sizes, scale=0.8)
    grads = net.backward(params, net.forward(params, x), x, y)
    fd = numerical_gradients(lambda p: net.objective(p, x, y), params)
    tolerance = KINKED_TOLERANCE if any(layer.activation == "leaky_relu" for layer in net.layers) else SMOOTH_TOLERANCE
    assert set(grads) == set(net.param_names)
    for param in net.param_names:
        assert grads[param].shape == params[param].shape, param
        assert rel_error(grads[param], fd[param]) < tolerance, param


def test_rows_convention_gives_the_transpose_of_columns():
    net_cols = leaky_columns_net(0.1)
    net_rows = Network(layers=net_cols.layers, convention="rows", loss="cross_entropy", output_gradient="fused", l2=0.1)
    rng = np.random.default_rng(22)
    cols = net_cols.init_params(rng, (4, 5, 3, 3))
    rows = {name: value.T.reshape(-1) if name.startswith("b") else value.T for name, value in cols.items()}
    x, y = rng.normal(size=(4, 6)), one_hot(rng, 3, 6)
    assert np.allclose(net_rows.forward(rows, x.T)["a3"], net_cols.forward(cols, x)["a3"].T)
    assert np.isclose(net_rows.objective(rows, x.T, y.T), net_cols.objective(cols, x, y))
    g_rows = net_rows.backward(rows, net_rows.forward(rows, x.T), x.T, y.T)
    g_cols = net_cols.backward(cols, net_cols.forward(cols, x), x, y)
    for name in cols:
        assert np.allclose(g_rows[name], g_cols[name].T.reshape(g_rows[name].shape)), name


def test_l2_enters_objective_and_gradient_of_weights_only():
    rng = np.random.default_rng(23)
    plain, decayed = leaky_columns_net(0.0), leaky_columns_net(0.5)
    params = plain.init_params(rng, (4, 5, 3, 3))
    x, y = rng.normal(size=(4, 6)), one_hot(rng, 3, 6)
    cache = plain.forward(params, x)
    weights = sum(np.sum(params[w] ** 2) for w in ("W1", "W2", "W3"))
    assert np.isclose(decayed.objective(params, x, y), plain.objective(params, x, y) + 0.25 * weights)
    g0, g1 = plain.backward(params, cache, x, y), decayed.backward(params, cache, x, y)
    for name in plain.param_names:
        expected = g0[name] + 0.5 * params[name] if name.startswith("W") else g0[name]
        assert np.array_equal(g1[name], expected), name


# ---------------------------------------------------------------- the description is checked
@pytest.mark.parametrize("kwargs, message", [
    (dict(convention="diagonal"), "convention"),
    (dict(loss="hinge"), "loss"),
    (dict(output_gradient="fused", loss="mse"), "fused"),
    (dict(layers=(Layer("W", "b", "gelu", "z", "a"),)), "activation"),
    (dict(layers=()), "at least one layer"),
])
def test_a_wrong_description_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Network(**{"layers": (Layer("W1", "b1", "tanh", "Z1", "A1"), Layer("W2", "b2", "softmax", "Z2", "A2")),
                   **kwargs})


# ---------------------------------------------------------------- training
def regression_problem():
    net = rows_net("identity", "mse", 0.01)
    rng = np.random.default_rng(30)
    x = rng.normal(size=(40, 4))
    y = np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2], np.tanh(x[:, 3])], axis=1)
    return net, net.init_params(rng, (4, 8, 6, 3), scale=0.5), x, y


@pytest.mark.parametrize("step", [SGD(0.05), Momentum(0.9, 0.02), Adam(0.01)], ids=["sgd", "momentum", "adam"])
def test_minibatch_training_lowers_the_objective_and_changes_no_input(step):
    net, params, x, y = regression_problem()
    before = {name: value.copy() for name, value in params.items()}
    x_before = x.copy()
    trained, losses = train(net, params, x, y, step, epochs=30, batch_size=8, rng=np.random.default_rng(31))
    assert len(losses) == 30 * 5
    assert net.objective(trained, x, y) < 0.5 * net.objective(params, x, y)
    assert_identical(params, before)
    assert np.array_equal(x, x_before)


def test_the_loss_is_taken_before_each_update_on_the_batch_used():
    net, params, x, y = regression_problem()
    rng_seed = 32
    _, losses = train(net, params, x, y, SGD(0.05), epochs=1, batch_size=16, rng=np.random.default_rng(rng_seed))
    first = np.random.default_rng(rng_seed).permutation(len(x))[:16]
    assert losses[0] == net.objective(params, x[first], y[first])
    assert len(losses) == 3  # 16 + 16 + 8


def test_minibatches_need_an_rng():
    net, params, x, y = regression_problem()
    with pytest.raises(ValueError, match="rng"):
        train(net, params, x, y, SGD(0.1), epochs=1, batch_size=4)
