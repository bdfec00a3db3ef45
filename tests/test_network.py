"""The generic Network reproduces the five hand-written reference networks bit for bit (public test
values are compared as text), and its backward is the gradient of its objective."""
import numpy as np
import pytest

from random_networks import column_params, one_hot
from solutions.gradcheck import KINKED_TOLERANCE, SMOOTH_TOLERANCE, numerical_gradients, rel_error
from solutions.network import Layer, Network
from solutions.networks import relu_mse_training, relu_softmax, sigmoid_mlp, silu_momentum, tanh_softmax_batch
from solutions.training import SGD, Adam, Momentum, train

SIGMOID_MLP = Network(
    layers=(Layer("W1", "b1", "sigmoid", "a1", "h1"), Layer("W2", "b2", "sigmoid", "a2", "h2"),
            Layer("W3", "b3", "softmax", "a3", "yhat")),
    convention="columns", loss="cross_entropy", output_gradient="fused")
RELU_SOFTMAX = Network(
    layers=(Layer("W1", "b1", "relu", "z1", "a1"), Layer("W2", "b2", "relu", "z2", "a2"),
            Layer("W3", "b3", "softmax", "z3", "a3")),
    convention="columns", loss="cross_entropy", output_gradient="fused")
RELU_MSE_TRAINING = Network(
    layers=(Layer("W1", "b1", "relu", "z1", "a1"), Layer("W2", "b2", "sigmoid", "z2", "a2")),
    convention="columns", loss="mse", output_gradient="chain")
SILU_MOMENTUM = Network(
    layers=(Layer("W", "b1", "silu", "Z", "H"), Layer("U", "b2", "sigmoid", "f", "p")),
    convention="rows", loss="binary_cross_entropy", output_gradient="chain")
TANH_SOFTMAX_BATCH = Network(
    layers=(Layer("W1", "b1", "tanh", "Z1", "A1"), Layer("W2", "b2", "softmax", "Z2", "A2")),
    convention="columns", loss="cross_entropy", output_gradient="chain")

# the reference module's loss function, by network
MODULE_LOSS = {sigmoid_mlp: sigmoid_mlp.cross_entropy, relu_softmax: relu_softmax.exact_loss,
               relu_mse_training: relu_mse_training.mse_loss, silu_momentum: silu_momentum.bce_loss,
               tanh_softmax_batch: tanh_softmax_batch.cross_entropy}


def assert_identical(ours, theirs):
    """Same keys and every array equal to the bit (np.array_equal, not allclose)."""
    assert set(ours) == set(theirs)
    for name in theirs:
        assert np.shape(ours[name]) == np.shape(theirs[name]), name
        assert np.array_equal(ours[name], theirs[name]), f"{name}: max diff {np.max(np.abs(ours[name] - theirs[name]))}"


def worked_examples():
    """(module, network, params, x, y) at each worked example."""
    X, y = relu_mse_training.inputs()
    Xs, ys = silu_momentum.inputs()
    return [
        (sigmoid_mlp, SIGMOID_MLP, sigmoid_mlp.initial_params(), sigmoid_mlp.worked_x(), sigmoid_mlp.worked_y()),
        (relu_softmax, RELU_SOFTMAX, relu_softmax.initial_params(), relu_softmax.worked_x(), relu_softmax.worked_y()),
        (relu_mse_training, RELU_MSE_TRAINING, relu_mse_training.initial_params(), X, y),
        (silu_momentum, SILU_MOMENTUM, silu_momentum.initial_params(), Xs, ys),
        (tanh_softmax_batch, TANH_SOFTMAX_BATCH, tanh_softmax_batch.initial_params(),
         tanh_softmax_batch.worked_x(), tanh_softmax_batch.worked_y()),
    ]


def random_examples(seed):
    """(module, network, params, x, y) with random widths, batch and values, for each network."""
    rng = np.random.default_rng(seed)
    batch = int(rng.integers(1, 9))
    n = [int(k) for k in rng.integers(1, 6, size=4)]
    classes = int(rng.integers(2, 6))
    cases = []
    for module, net, depth in ((sigmoid_mlp, SIGMOID_MLP, 3), (relu_softmax, RELU_SOFTMAX, 3),
                               (tanh_softmax_batch, TANH_SOFTMAX_BATCH, 2)):
        sizes = [*n[:depth], classes]
        cases.append((module, net, column_params(rng, sizes), rng.normal(size=(sizes[0], batch)),
                      one_hot(rng, classes, batch)))
    cases.append((relu_mse_training, RELU_MSE_TRAINING, column_params(rng, [n[0], n[1], n[2]]),
                  rng.normal(size=(n[0], batch)), rng.random((n[2], batch))))
    silu_params = {"W": rng.normal(size=(n[0], n[1])), "b1": rng.normal(size=n[1]),
                   "U": rng.normal(size=n[1]), "b2": np.array(rng.normal())}
    cases.append((silu_momentum, SILU_MOMENTUM, silu_params, rng.normal(size=(batch, n[0])),
                  rng.integers(0, 2, batch).astype(float)))
    return cases


def all_cases():
    named = [(f"{case[0].__name__.rsplit('.', 1)[-1]}-worked", case) for case in worked_examples()]
    for seed in range(5):
        named += [(f"{case[0].__name__.rsplit('.', 1)[-1]}-random{seed}", case) for case in random_examples(seed)]
    return pytest.mark.parametrize("case", [c for _, c in named], ids=[i for i, _ in named])


# ---------------------------------------------------------------- bit-exact reproduction
@all_cases()
def test_forward_loss_and_backward_are_bit_identical_to_the_module(case):
    module, net, params, x, y = case
    cache = net.forward(params, x)
    theirs = module.forward(params, x)
    assert_identical(cache, theirs)
    assert list(cache) == list(theirs)  # layer order
    assert net.loss(cache[net.output_key], y) == MODULE_LOSS[module](
        cache["z3"] if module is relu_softmax else cache[net.output_key], y)
    assert_identical(net.backward(params, cache, x, y), module.backward(params, theirs, x, y))


@pytest.mark.parametrize("module, net", [(relu_softmax, RELU_SOFTMAX), (tanh_softmax_batch, TANH_SOFTMAX_BATCH)])
def test_every_step_of_the_backward_pass_is_bit_identical(module, net):
    for _, _, params, x, y in [c for c in worked_examples() + random_examples(7) if c[0] is module]:
        cache = module.forward(params, x)
        assert_identical(net.backward_steps(params, cache, x, y), module.backward_steps(params, cache, x, y))


def test_sigmoid_mlp_intermediate_gradients_are_bit_identical():
    params, x, y = sigmoid_mlp.initial_params(), sigmoid_mlp.worked_x(), sigmoid_mlp.worked_y()
    values = sigmoid_mlp.worked_values(params)
    steps = SIGMOID_MLP.backward_steps(params, SIGMOID_MLP.forward(params, x), x, y)
    for name in ("a3", "h2", "a2", "h1", "a1", *SIGMOID_MLP.param_names):
        assert np.array_equal(steps["d" + name], values["grad_" + name]), name


def test_relu_softmax_gradients_from_the_rounded_output_are_bit_identical():
    params, x, y = relu_softmax.initial_params(), relu_softmax.worked_x(), relu_softmax.worked_y()
    rounded = relu_softmax.seed_cache(params, x)
    assert_identical(RELU_SOFTMAX.backward_steps(params, rounded, x, y),
                     relu_softmax.backward_steps(params, rounded, x, y))


@pytest.mark.parametrize("seed", [relu_mse_training.RNG_SEED, 11])
def test_relu_mse_training_run_is_bit_identical(seed):
    X, y = relu_mse_training.inputs()
    params = relu_mse_training.initial_params(seed)
    theirs, their_losses = relu_mse_training.train(params, X, y, relu_mse_training.LEARNING_RATE,
                                                   relu_mse_training.EPOCHS)
    ours, our_losses = train(RELU_MSE_TRAINING, params, X, y, SGD(relu_mse_training.LEARNING_RATE),
                             relu_mse_training.EPOCHS)
    assert_identical(ours, theirs)
    assert our_losses == their_losses


def test_init_params_draws_relu_mse_trainings_start():
    assert_identical(RELU_MSE_TRAINING.init_params(np.random.default_rng(4), (3, 4, 1), scale=0.5),
                     relu_mse_training.initial_params(4))


@pytest.mark.parametrize("iterations", [1, silu_momentum.ITERATIONS, 25])
def test_silu_momentum_run_is_bit_identical(iterations):
    X, y = silu_momentum.inputs()
    params = silu_momentum.initial_params()
    theirs, their_velocities, their_losses = silu_momentum.train_momentum(
        params, X, y, silu_momentum.GAMMA, silu_momentum.ETA, iterations)
    step = Momentum(silu_momentum.GAMMA, silu_momentum.ETA)
    ours, our_losses = train(SILU_MOMENTUM, params, X, y, step, iterations)
    assert_identical(ours, theirs)
    assert_identical(step.velocities, their_velocities)
    assert our_losses == their_losses


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
        Network(**{"layers": TANH_SOFTMAX_BATCH.layers, **kwargs})


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
