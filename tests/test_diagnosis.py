"""Each classic mistake, written the way a student writes it, gets exactly its diagnosis.

The wrong implementations below are independent of ``solutions.mistakes`` (which computes the
variants the diagnosis compares against): each is a student's function with one slip. Each is run
on random inputs, compared quantity by quantity with the reference, and must receive its own code
on the quantities it changes and no other code anywhere. A correct answer and unrelated wrong
answers receive none. The same lines must come out of the checks helpers the tests call.
"""
import functools
import inspect

import numpy as np
import pytest

from autograder.diagnosis import CODE_PATTERN, code_of, describe, name_mistake, variants_for
from solutions import optim, training
from solutions.describe import Reference
from solutions.exercises import load, names, reference
from solutions.mistakes import wrong_answers
from solutions.network import Layer, Network
import random_networks
from random_networks import one_hot, random_problem, worked_params

# the worked exercises whose students' slips are written out below (each fixture names its own)
sigmoid_mlp, relu_softmax, relu_mse_training, silu_momentum, tanh_softmax_batch = (
    reference(name) for name in ("sigmoid_mlp", "relu_softmax", "relu_mse_training", "silu_momentum",
                                 "tanh_softmax_batch"))


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# ------------------------------------------------------------------ random worked inputs
def column_params(rng, sizes):
    return random_networks.column_params(rng, sizes, weight_scale=0.8, bias_scale=0.5)


def sigmoid_mlp_case(rng, batch=4):
    params = column_params(rng, [3, 3, 3, 3])  # square layers, as in the worked example
    x = rng.normal(size=(3, batch))
    return params, sigmoid_mlp.forward(params, x), x, one_hot(rng, 3, batch)


def relu_softmax_case(rng, batch=4):
    params = column_params(rng, [3, 4, 2, 3])
    x = rng.normal(size=(3, batch))
    return params, relu_softmax.forward(params, x), x, one_hot(rng, 3, batch)


def relu_mse_case(rng, batch=4):
    params = column_params(rng, [3, 4, 1])
    X = rng.normal(size=(3, batch))
    return params, relu_mse_training.forward(params, X), X, rng.random((1, batch))


def tanh_case(rng, batch=5):
    params = column_params(rng, [2, 2, 3])
    X = rng.normal(size=(2, batch))
    return params, tanh_softmax_batch.forward(params, X), X, one_hot(rng, 3, batch)


def silu_case(rng, batch=5):
    params = {"W": rng.normal(0, 0.8, (3, 2)), "b1": rng.normal(0, 0.5, 2), "U": rng.normal(0, 0.8, 2),
              "b2": np.array(rng.normal())}
    X = rng.normal(size=(batch, 3))
    return params, silu_momentum.forward(params, X), X, (rng.random(batch) > 0.5).astype(float)


# ------------------------------------------------------------------ diagnosing a whole output
def leaves(value, path=()):
    """(path, array) for every array in nested dicts / tuples / lists of arrays."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, path + (key,))
    elif isinstance(value, (tuple, list)) and not np.asarray(value, dtype=object).dtype.kind in "biuf" \
            and any(isinstance(v, (dict, tuple, list, np.ndarray)) for v in value):
        for i, item in enumerate(value):
            yield from leaves(item, path + (i,))
    else:
        yield path, value


def pick(value, path):
    for key in path:
        value = value[key]
    return value


def diagnoses(exercise, function, student, args, batch_size=None, ref=None):
    """{path: code} for every quantity of the student's output that gets a diagnosis. ``ref``: a
    reference of no exercise on disk (else the exercise's own)."""
    ref = ref or reference(exercise)
    expected = getattr(ref, function)(*args)
    received = student(*args)
    wrong = wrong_answers(exercise, function, args, ref=ref)
    found = {}
    for path, exp in leaves(expected):
        variants = {}
        for code, output in wrong.items():
            try:
                variants[code] = pick(output, path)
            except (KeyError, IndexError, TypeError):
                pass
        result = name_mistake(pick(received, path), exp, variants=variants, batch_size=batch_size)
        if result:
            found[path] = result[0]
    return found


def assert_diagnosed(found, code):
    assert found, f"no quantity was diagnosed, expected {code}"
    assert set(found.values()) == {code}, found


# ------------------------------------------------------------------ student-written wrong code
def sigmoid_mlp_backward(params, cache, x, y, *, transpose_dW=False, at_output=False, tanh_form=False,
                         no_W=False, bias_axis=1, keepdims=True):
    """A student's sigmoid_mlp backward, with switches for the slips students make."""
    B = x.shape[1]
    grads = {}
    dz = (cache["yhat"] - y) / B
    below = {3: cache["h2"], 2: cache["h1"], 1: x}
    pre = {2: cache["a2"], 1: cache["a1"]}
    post = {2: cache["h2"], 1: cache["h1"]}
    for k in (3, 2, 1):
        grads[f"W{k}"] = below[k] @ dz.T if transpose_dW else dz @ below[k].T
        grads[f"b{k}"] = np.sum(dz, axis=bias_axis, keepdims=keepdims)
        if k == 1:
            break
        dh = dz if no_W else params[f"W{k}"].T @ dz
        if at_output:
            s = sigmoid(post[k - 1])  # sigma'(h) instead of sigma'(a)
            dz = dh * s * (1 - s)
        elif tanh_form:
            dz = dh * (1 - post[k - 1] ** 2)  # tanh's derivative on a sigmoid layer
        else:
            s = sigmoid(pre[k - 1])
            dz = dh * s * (1 - s)
    return grads


def relu_softmax_backward_y_minus_a(params, cache, x, y):
    B = x.shape[1]
    dz3 = (y - cache["a3"]) / B  # sign of the loss derivative flipped
    dW3, db3 = dz3 @ cache["a2"].T, dz3.sum(axis=1, keepdims=True)
    dz2 = (params["W3"].T @ dz3) * (cache["z2"] > 0)
    dW2, db2 = dz2 @ cache["a1"].T, dz2.sum(axis=1, keepdims=True)
    dz1 = (params["W2"].T @ dz2) * (cache["z1"] > 0)
    return {"W1": dz1 @ x.T, "b1": dz1.sum(axis=1, keepdims=True), "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}


def relu_mse_backward(params, cache, X, y, *, bias_per_example=False, no_W=False, no_two=False,
                      at_output=False):
    n = y.size
    da2 = (1 if no_two else 2) * (cache["a2"] - y) / n
    s = sigmoid(cache["a2"] if at_output else cache["z2"])  # sigma'(a2) instead of sigma'(z2)
    dz2 = da2 * s * (1 - s)
    dW2, db2 = dz2 @ cache["a1"].T, np.sum(dz2, axis=1, keepdims=True)
    da1 = dz2 if no_W else params["W2"].T @ dz2  # (1, B) broadcasts over the 4 hidden units
    dz1 = da1 * (cache["z1"] > 0)
    db1 = dz1 if bias_per_example else np.sum(dz1, axis=1, keepdims=True)
    return {"W1": dz1 @ X.T, "b1": db1, "W2": dW2, "b2": db2}


def relu_mse_train_updating_in_backward(params, X, y, lr, epochs):
    """Updates W2 and b2 as soon as their gradients are known, then backpropagates with the new W2."""
    params = {k: v.copy() for k, v in params.items()}
    losses = []
    for _ in range(epochs):
        cache = relu_mse_training.forward(params, X)
        losses.append(float(np.mean((cache["a2"] - y) ** 2)))
        s = sigmoid(cache["z2"])
        dz2 = 2 * (cache["a2"] - y) / y.size * s * (1 - s)
        params["W2"] -= lr * (dz2 @ cache["a1"].T)
        params["b2"] -= lr * np.sum(dz2, axis=1, keepdims=True)
        dz1 = (params["W2"].T @ dz2) * (cache["z1"] > 0)
        params["W1"] -= lr * (dz1 @ X.T)
        params["b1"] -= lr * np.sum(dz1, axis=1, keepdims=True)
    return params, losses


def tanh_backward(params, cache, X, Y, *, no_mean=False, bias_axis=1, softmax="right", sigmoid_form=False,
                  at_output=False):
    B = X.shape[1]
    A2, A1 = cache["A2"], cache["A1"]
    dA2 = -Y / A2 if no_mean else -Y / A2 / B
    prod2 = A2 * dA2
    if softmax == "twice":  # seed 004, In [7]
        sumprod = A2 * np.sum(prod2, axis=0, keepdims=True)
        dZ2 = prod2 - A2 * sumprod
    elif softmax == "diagonal":
        dZ2 = A2 * (1 - A2) * dA2
    else:
        dZ2 = prod2 - A2 * np.sum(prod2, axis=0, keepdims=True)
    dA1 = params["W2"].T @ dZ2
    if sigmoid_form:
        dZ1 = dA1 * A1 * (1 - A1)
    elif at_output:
        dZ1 = dA1 * (1 - np.tanh(A1) ** 2)
    else:
        dZ1 = dA1 * (1 - A1 ** 2)
    return {"W1": dZ1 @ X.T, "b1": np.sum(dZ1, axis=bias_axis, keepdims=True),
            "W2": dZ2 @ A1.T, "b2": np.sum(dZ2, axis=bias_axis, keepdims=True)}


def silu_backward(params, cache, X, y, *, divide_twice=False, sigmoid_derivative=False, at_output=False,
                  sigmoid_twice=False):
    m = X.shape[0]
    p = cache["p"]
    df = (p - y) / m  # BCE through the sigmoid, batch mean
    if sigmoid_twice:
        df = df * p * (1 - p)  # the sigmoid's derivative once more
    dU, db2 = cache["H"].T @ df, np.sum(df)
    dH = np.outer(df, params["U"])
    Z = cache["H"] if at_output else cache["Z"]  # SiLU'(H) instead of SiLU'(Z)
    s = sigmoid(Z)
    dZ = dH * (s * (1 - s) if sigmoid_derivative else s + Z * s * (1 - s))
    dW, db1 = X.T @ dZ, np.sum(dZ, axis=0)
    if divide_twice:
        dW, db1, dU, db2 = dW / m, db1 / m, dU / m, db2 / m
    return {"W": dW, "b1": db1, "U": dU, "b2": np.asarray(db2)}


def momentum_plus(param, grad, velocity, gamma, eta):
    velocity = gamma * velocity + eta * grad
    return param + velocity, velocity


def momentum_param_first(param, grad, velocity, gamma, eta):
    param = param + velocity
    velocity = gamma * velocity - eta * grad
    return param, velocity


# ------------------------------------------------------------------ one test per mistake
# each worked exercise's student backward above, its case builder and the batch size passed to the check
STUDENTS = {"sigmoid_mlp": (sigmoid_mlp_backward, sigmoid_mlp_case, 4),
            "relu_softmax": (relu_softmax_backward_y_minus_a, relu_softmax_case, 4),
            "tanh_softmax_batch": (tanh_backward, tanh_case, 5), "silu_momentum": (silu_backward, silu_case, 5),
            "relu_mse_training": (relu_mse_backward, relu_mse_case, 4)}
# {exercise: {code: the switches of its student backward that make that slip}}
SLIPS = {
    "sigmoid_mlp": {"transposed": dict(transpose_dW=True), "derivative-at-output": dict(at_output=True),
                    "wrong-activation-derivative": dict(tanh_form=True), "missing-weight-factor": dict(no_W=True)},
    "relu_softmax": {"sign-flipped": {}},
    "tanh_softmax_batch": {"summed-not-averaged": dict(no_mean=True), "bias-wrong-axis": dict(bias_axis=0),
                           "derivative-at-output": dict(at_output=True),
                           "wrong-activation-derivative": dict(sigmoid_form=True),
                           "softmax-jacobian-twice": dict(softmax="twice"),
                           "softmax-jacobian-wrong": dict(softmax="diagonal")},
    "silu_momentum": {"averaged-not-summed": dict(divide_twice=True),
                      "wrong-activation-derivative": dict(sigmoid_derivative=True),
                      "bce-sigmoid-twice": dict(sigmoid_twice=True)},
    "relu_mse_training": {"bias-not-summed": dict(bias_per_example=True), "missing-weight-factor": dict(no_W=True),
                          "mse-factor-two": dict(no_two=True)},
}


def student_with(exercise, switches):
    """(student, case builder, batch size): the exercise's student backward with ``switches`` set."""
    backward, case, batch = STUDENTS[exercise]
    return functools.partial(backward, **switches), case, batch


# (code, exercise, function, student function, case builder, batch size passed to the check)
MISTAKES = [(code, exercise, "backward", *student_with(exercise, switches))
            for exercise, slips in SLIPS.items() for code, switches in slips.items()]


@pytest.mark.parametrize("code, exercise, function, student, case, batch", MISTAKES,
                         ids=[f"{m[0]}-{m[1]}" for m in MISTAKES])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_mistake_gets_exactly_its_diagnosis(code, exercise, function, student, case, batch, seed):
    args = case(np.random.default_rng(seed))
    assert_diagnosed(diagnoses(exercise, function, student, args, batch_size=batch), code)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_updated_weights_in_a_training_loop(seed):
    rng = np.random.default_rng(seed)
    params, _, X, y = relu_mse_case(rng)
    args = (params, X, y, 0.3, 5)
    found = diagnoses("relu_mse_training", "train", relu_mse_train_updating_in_backward, args, batch_size=4)
    assert_diagnosed(found, "updated-weights")
    assert found[(0, "W1")] == "updated-weights" and found[(1,)] == "updated-weights"


@pytest.mark.parametrize("code, student", [("momentum-sign", momentum_plus),
                                           ("momentum-order", momentum_param_first)])
@pytest.mark.parametrize("seed", [0, 1])
def test_momentum_mistakes(code, student, seed):
    rng = np.random.default_rng(seed)
    shape = (3, 2)
    args = (rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape), 0.9, 0.8)
    found = diagnoses("silu_momentum", "momentum_step", student, args)
    assert_diagnosed(found, code)
    assert (0,) in found  # the parameter is always affected


def train_momentum_with(momentum_step):
    """A student's train_momentum (right in itself) built on their ``momentum_step``."""
    def train_momentum(params, X, y, gamma, eta, iterations):
        velocities = {k: np.zeros_like(np.asarray(v, dtype=float)) for k, v in params.items()}
        losses = []
        for _ in range(iterations):
            cache = silu_momentum.forward(params, X)
            losses.append(silu_momentum.bce_loss(cache["p"], y))
            grads = silu_momentum.backward(params, cache, X, y)
            stepped = {k: momentum_step(params[k], grads[k], velocities[k], gamma, eta) for k in params}
            params = {k: s[0] for k, s in stepped.items()}
            velocities = {k: s[1] for k, s in stepped.items()}
        return params, velocities, losses
    return train_momentum


def test_momentum_mistake_through_the_training_loop():
    """train_momentum built on a wrong momentum_step is diagnosed too."""
    rng = np.random.default_rng(3)
    params, _, X, y = silu_case(rng)
    found = diagnoses("silu_momentum", "train_momentum", train_momentum_with(momentum_plus),
                      (params, X, y, 0.9, 0.8, 2), 5)
    assert_diagnosed(found, "momentum-sign")


def test_softmax_backward_alone():
    rng = np.random.default_rng(4)
    A = tanh_softmax_batch.softmax(rng.normal(size=(3, 5)))
    dA = rng.normal(size=(3, 5))

    def seed_004(dA, A):
        prod2 = A * dA
        return prod2 - A * (A * np.sum(prod2, axis=0))

    assert_diagnosed(diagnoses("tanh_softmax_batch", "softmax_backward", seed_004, (dA, A)),
                     "softmax-jacobian-twice")
    assert diagnoses("tanh_softmax_batch", "softmax_backward", tanh_softmax_batch.softmax_backward, (dA, A)) == {}


# ------------------------------------------------------------------ no diagnosis
CORRECT = [
    ("sigmoid_mlp", "backward", sigmoid_mlp_case, sigmoid_mlp_backward),
    ("relu_mse_training", "backward", relu_mse_case, relu_mse_backward),
    ("tanh_softmax_batch", "backward", tanh_case, tanh_backward),
    ("silu_momentum", "backward", silu_case, silu_backward),
]


@pytest.mark.parametrize("exercise, function, case, student", CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_answers_get_no_diagnosis(exercise, function, case, student):
    assert diagnoses(exercise, function, student, case(np.random.default_rng(5)), batch_size=4) == {}


def unrelated_wrong(seed):
    """Wrong in ways no known mistake explains: noise, a stray factor, a swapped pair of entries."""
    def noisy(*args):
        rng = np.random.default_rng(seed)
        return {k: v + rng.normal(0, 0.1, v.shape) for k, v in sigmoid_mlp.backward(*args).items()}

    def stray_factor(*args):
        return {k: 0.37 * v for k, v in sigmoid_mlp.backward(*args).items()}

    def swapped_entries(*args):
        grads = sigmoid_mlp.backward(*args)
        grads["W1"] = grads["W1"].copy()
        grads["W1"][0, 0], grads["W1"][1, 2] = grads["W1"][1, 2], grads["W1"][0, 0]
        return grads

    return [noisy, stray_factor, swapped_entries]


@pytest.mark.parametrize("which", range(3))
def test_unrelated_wrong_answers_get_no_diagnosis(which):
    args = sigmoid_mlp_case(np.random.default_rng(6))
    student = unrelated_wrong(6)[which]
    assert diagnoses("sigmoid_mlp", "backward", student, args, batch_size=4) == {}


# ------------------------------------------------------------------ the generic rules
def test_generic_transpose_sign_and_scale():
    rng = np.random.default_rng(7)
    expected = rng.normal(size=(3, 4))
    assert name_mistake(expected.T, expected)[0] == "transposed"
    square = rng.normal(size=(3, 3))
    assert name_mistake(square.T, square)[0] == "transposed"
    assert name_mistake(-expected, expected)[0] == "sign-flipped"
    assert name_mistake(expected * 4, expected, batch_size=4)[0] == "summed-not-averaged"
    assert name_mistake(expected / 4, expected, batch_size=4)[0] == "averaged-not-summed"
    assert name_mistake(-2.5, 2.5)[0] == "sign-flipped"  # scalars too (a loss)
    assert name_mistake(expected, expected) is None
    assert name_mistake(expected + 1e-12, expected) is None


def test_ambiguous_cases_are_not_claimed():
    rng = np.random.default_rng(8)
    m = rng.normal(size=(3, 3))
    symmetric = m + m.T
    assert name_mistake(symmetric.T * 1.0001 + 1, symmetric) is None
    assert name_mistake(symmetric.copy(), symmetric) is None  # transposed == right answer
    zeros = np.zeros((2, 3))
    assert name_mistake(-zeros, zeros) is None
    assert name_mistake(np.ones((2, 3)), zeros) is None
    assert name_mistake(np.zeros((2, 3)), rng.normal(size=(2, 3))) is None
    # batch of one: summed and averaged are the same thing
    grad = rng.normal(size=(3, 1))
    assert name_mistake(grad, grad, batch_size=1) is None
    # a matrix that is its own negative transpose: transposed == sign-flipped, two codes fit
    skew = m - m.T
    assert name_mistake(skew.T, skew) is None
    # two different variants with the same numbers: neither is claimed
    wrong = grad * 3
    assert name_mistake(wrong, grad, variants={"updated-weights": wrong, "momentum-order": wrong}) is None
    # the same code in two forms is still that code; a detail is named only when it narrows it down
    found = name_mistake(wrong, grad, variants={"derivative-at-output": wrong, "derivative-at-output:layer 1": wrong})
    assert found[0] == "derivative-at-output" and "layer 1" not in found[1]
    found = name_mistake(wrong, grad, variants={"derivative-at-output": grad * 5, "derivative-at-output:layer 1": wrong})
    assert found[0] == "derivative-at-output" and "layer 1 only" not in found[1] and "layer 1" in found[1]


def test_variants_that_change_nothing_are_ignored():
    grad = np.random.default_rng(9).normal(size=(2, 2))
    off = grad + 0.5
    assert name_mistake(off, grad, variants={"derivative-at-output": grad.copy()}) is None
    assert name_mistake(off, grad, variants={"derivative-at-output": off})[0] == "derivative-at-output"


def test_bias_not_summed_in_every_convention():
    rng = np.random.default_rng(10)
    dz = rng.normal(size=(4, 5))
    assert name_mistake(dz, dz.sum(axis=1, keepdims=True), batch_size=5)[0] == "bias-not-summed"
    dZ = rng.normal(size=(5, 2))  # row convention, b1 of shape (2,)
    assert name_mistake(dZ, dZ.sum(axis=0), batch_size=5)[0] == "bias-not-summed"
    df = rng.normal(size=5)  # scalar bias
    assert name_mistake(df, np.array(df.sum()), batch_size=5)[0] == "bias-not-summed"
    assert name_mistake(dz + 1, dz.sum(axis=1, keepdims=True), batch_size=5) is None


def test_same_numbers_in_another_shape_are_not_a_mistake_here():
    grad = np.random.default_rng(11).normal(size=(3, 1))
    assert name_mistake(grad.reshape(3), grad) is None


def test_message_line_and_code_extraction():
    rng = np.random.default_rng(12)
    expected = rng.normal(size=(2, 3))
    code, message = name_mistake(expected.T, expected)
    line = describe(code, message)
    assert line.startswith("Likely mistake (transposed): ")
    assert CODE_PATTERN.search("wrong values\n" + line).group(1) == "transposed"
    assert code_of("dW: wrong values.\n" + line) == "transposed"
    assert code_of("no diagnosis here") is None
    assert name_mistake("not numbers", expected) is None
    assert name_mistake(np.full((2, 3), np.nan), expected) is None


def test_variants_for_picks_one_quantity():
    wrong = {"a": {"W1": 1, "b1": 2}, "b": (3, 4), "c": {"W2": 5}}
    assert variants_for(wrong, "W1") == {"a": 1}
    assert variants_for(wrong, 1) == {"b": 4}


def test_diagnosis_module_is_self_contained():
    """Shipped to students as backprop_diagnosis.py: it may import numpy and the standard library only."""
    import ast
    from pathlib import Path

    import autograder.diagnosis as module
    tree = ast.parse(Path(module.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"numpy", "re"}, imported


# ------------------------------------------------------------------ through the checks helpers
checks = pytest.importorskip("autograder.checks", reason="autograder/checks.py (issue 3) not there yet")


def failure_message(exercise, function, student, args, batch):
    with pytest.raises(checks.CheckFailure) as failure:
        checks.check_against_reference(exercise, function, student, getattr(reference(exercise), function), [args],
                                       batch_size_of=lambda *a: batch)
    return str(failure.value)


@pytest.mark.parametrize("code, exercise, function, student, case, batch", MISTAKES,
                         ids=[f"{m[0]}-{m[1]}" for m in MISTAKES])
def test_checks_helpers_carry_the_diagnosis(code, exercise, function, student, case, batch):
    message = failure_message(exercise, function, student, case(np.random.default_rng(0)), batch)
    codes = set(CODE_PATTERN.findall(message))
    assert codes == {code}, message
    assert f"Likely mistake ({code}): " in message


def test_checks_helpers_momentum_and_training():
    rng = np.random.default_rng(1)
    args = (rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), 0.9, 0.8)
    assert set(CODE_PATTERN.findall(failure_message("silu_momentum", "momentum_step", momentum_param_first,
                                                    args, None))) == {"momentum-order"}
    params, _, X, y = relu_mse_case(rng)
    message = failure_message("relu_mse_training", "train", relu_mse_train_updating_in_backward,
                              (params, X, y, 0.3, 5), 4)
    assert set(CODE_PATTERN.findall(message)) == {"updated-weights"}


def test_checks_helpers_say_nothing_for_unrelated_mistakes():
    args = sigmoid_mlp_case(np.random.default_rng(2))
    message = failure_message("sigmoid_mlp", "backward", unrelated_wrong(2)[1], args, 4)
    assert "Likely mistake" not in message
    checks.check_against_reference("sigmoid_mlp", "backward", sigmoid_mlp_backward, sigmoid_mlp.backward,
                                   [args], batch_size_of=lambda *a: 4)  # the correct one passes


# ------------------------------------------------------------------ the right cause, in the right words (issue 8)
def codes_in(message):
    return set(CODE_PATTERN.findall(message))


def momentum_velocity_negated(param, grad, velocity, gamma, eta):
    """The other sign convention: the velocity accumulates +eta * grad and is subtracted."""
    velocity = gamma * velocity + eta * grad
    return param - velocity, velocity


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_velocity_with_the_opposite_sign_is_a_momentum_mistake(seed):
    """Not "check the sign of the loss derivative": in the loop only the velocities are negated."""
    rng = np.random.default_rng(seed)
    params, _, X, y = silu_case(rng)
    args = (params, X, y, 0.9, 0.8, 2)
    student = train_momentum_with(momentum_velocity_negated)
    found = diagnoses("silu_momentum", "train_momentum", student, args, 5)
    assert_diagnosed(found, "momentum-velocity-sign")
    assert {path[0] for path in found} == {1}  # the parameters and losses are right
    message = failure_message("silu_momentum", "train_momentum", student, args, 5)
    assert codes_in(message) == {"momentum-velocity-sign"}, message
    assert "velocity = gamma * velocity - eta * grad" in message and "loss derivative" not in message

    step = (rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), 0.9, 0.8)
    assert_diagnosed(diagnoses("silu_momentum", "momentum_step", momentum_velocity_negated, step),
                     "momentum-velocity-sign")
    first = (step[0], step[1], np.zeros((3, 2)), 0.9, 0.8)  # from rest: only the velocity is off
    with pytest.raises(checks.CheckFailure) as failure:
        checks.check_public("momentum_step", momentum_velocity_negated(*first), silu_momentum.momentum_step(*first),
                            variants=wrong_answers("silu_momentum", "momentum_step", first))
    assert codes_in(str(failure.value)) == {"momentum-velocity-sign"}, failure.value


def cross_entropy_mean_over_all(A, Y):
    return float(-np.mean(Y * np.log(A)))


def cross_entropy_mean_over_classes(A, Y):
    return float(-np.mean(np.sum(Y * np.log(A), axis=1)))


def cross_entropy_without_mean(A, Y):
    return float(-np.sum(Y * np.log(A)))


WRONG_MEANS = [(student, classes, batch) for student in (cross_entropy_mean_over_all, cross_entropy_mean_over_classes)
               for classes, batch in [(3, 3), (3, 2), (4, 5), (3, 1)]
               if not (student is cross_entropy_mean_over_classes and classes == batch)]  # that one is right


@pytest.mark.parametrize("exercise", ["sigmoid_mlp", "tanh_softmax_batch"])
@pytest.mark.parametrize("student, classes, batch", WRONG_MEANS,
                         ids=[f"{s.__name__}-{c}x{b}" for s, c, b in WRONG_MEANS])
def test_a_loss_averaged_over_the_wrong_axis(exercise, student, classes, batch):
    """Named as a mean over the wrong axis, also where it equals "divided by the batch size twice"
    (classes == batch, the tanh worked batch)."""
    rng = np.random.default_rng(classes * 10 + batch)
    args = (tanh_softmax_batch.softmax(rng.normal(size=(classes, batch))), one_hot(rng, classes, batch))
    message = failure_message(exercise, "cross_entropy", student, args, batch)
    assert codes_in(message) == {"mean-wrong-axis"}, message
    assert "-np.sum(Y * np.log(A)) / m" in message and "divided by the batch size" not in message


def test_a_loss_without_the_mean_is_still_summed_not_averaged():
    rng = np.random.default_rng(13)
    args = (tanh_softmax_batch.softmax(rng.normal(size=(3, 3))), one_hot(rng, 3, 3))
    message = failure_message("tanh_softmax_batch", "cross_entropy", cross_entropy_without_mean, args, 3)
    assert codes_in(message) == {"summed-not-averaged"}, message


def one_hot_rows(labels, n_classes):
    """One row per example, as np.eye gives it: the transpose of what is asked."""
    return np.eye(n_classes)[np.asarray(labels).astype(int).ravel()]


@pytest.mark.parametrize("classes, batch", [(3, 5), (4, 4)])
def test_a_transposed_one_hot_is_not_told_about_matrix_products(classes, batch):
    labels = np.random.default_rng(batch).integers(0, classes, size=(1, batch))
    message = failure_message("tanh_softmax_batch", "one_hot", one_hot_rows, (labels, classes), None)
    assert codes_in(message) == {"transposed"}, message
    assert "column i holds the 1 in row labels[i]" in message
    assert "order of the matrix product" not in message and "a gradient always" not in message
    # the public check has no variants: the generic message fits any quantity
    expected = tanh_softmax_batch.one_hot(labels, classes)
    code, generic = name_mistake(one_hot_rows(labels, classes), expected)
    assert code == "transposed" and "one example per column" in generic
    assert "order of the matrix product" not in generic


FORMULAS = {
    "sigmoid": "sigma'(a) = sigma(a)(1 - sigma(a)), taken at the input a",
    "tanh": "tanh'(z) = 1 - tanh(z)^2, taken at the input z",
    "silu": "SiLU'(z) = sigma(z)(1 + z(1 - sigma(z))), taken at the input z",
    "relu": "relu'(z) = 1 where z > 0",
}
FORMULA_CASES = [
    # (code, exercise, student, case builder, batch, the activation whose formula the message gives)
    ("derivative-at-output", "sigmoid_mlp", lambda *a: sigmoid_mlp_backward(*a, at_output=True),
     sigmoid_mlp_case, 4, "sigmoid"),
    ("derivative-at-output", "tanh_softmax_batch", lambda *a: tanh_backward(*a, at_output=True), tanh_case, 5,
     "tanh"),
    ("derivative-at-output", "silu_momentum", lambda *a: silu_backward(*a, at_output=True), silu_case, 5, "silu"),
    ("derivative-at-output", "relu_mse_training", lambda *a: relu_mse_backward(*a, at_output=True),
     relu_mse_case, 4, "sigmoid"),
    ("wrong-activation-derivative", "tanh_softmax_batch", lambda *a: tanh_backward(*a, sigmoid_form=True),
     tanh_case, 5, "tanh"),
    ("wrong-activation-derivative", "silu_momentum", lambda *a: silu_backward(*a, sigmoid_derivative=True),
     silu_case, 5, "silu"),
]


@pytest.mark.parametrize("code, exercise, student, case, batch, activation", FORMULA_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in FORMULA_CASES])
def test_derivative_messages_use_the_formula_of_the_activation_at_hand(code, exercise, student, case, batch,
                                                                       activation):
    args = case(np.random.default_rng(14))
    assert_diagnosed(diagnoses(exercise, "backward", student, args, batch_size=batch), code)
    message = failure_message(exercise, "backward", student, args, batch)
    assert codes_in(message) == {code}, message
    assert FORMULAS[activation] in message, message
    assert not [other for other in FORMULAS if other != activation and FORMULAS[other] in message], message


def test_silu_derivative_alone_gets_silu_formula():
    z = np.random.default_rng(15).normal(size=(3, 2))
    message = failure_message("silu_momentum", "silu_derivative", lambda z: sigmoid(z) * (1 - sigmoid(z)), (z,), None)
    assert codes_in(message) == {"wrong-activation-derivative"} and FORMULAS["silu"] in message, message


@pytest.mark.parametrize("keepdims", [True, False])
def test_a_bias_summed_over_the_units_is_named_by_the_public_checks(keepdims):
    """sigmoid_mlp's public tests run on the worked example (one example) and check the structure
    first: the wrong shape itself must name the mistake, not only the hidden test."""
    params, x, y = sigmoid_mlp.initial_params(), sigmoid_mlp.worked_x(), sigmoid_mlp.worked_y()
    args = (params, sigmoid_mlp.forward(params, x), x, y)
    expected = sigmoid_mlp.backward(*args)
    grads = sigmoid_mlp_backward(*args, bias_axis=0, keepdims=keepdims)
    with pytest.raises(checks.CheckFailure) as structure:
        checks.check_structure("backward(params, cache, x, y)", grads, expected)
    with pytest.raises(checks.CheckFailure) as values:
        checks.check_public("backward(params, cache, x, y)", grads, expected,
                            variants=wrong_answers("sigmoid_mlp", "backward", args))
    for failure in (structure, values):
        message = str(failure.value)
        assert codes_in(message) == {"bias-wrong-axis"}, message
        assert "['b1']: wrong shape" in message


def test_bias_wrong_axis_from_the_shape_and_the_total():
    dz = np.random.default_rng(16).normal(size=(4, 5))
    expected = dz.sum(axis=1, keepdims=True)
    for received in (dz.sum(axis=0, keepdims=True), dz.sum(axis=0)):
        assert name_mistake(received, expected)[0] == "bias-wrong-axis"
    assert name_mistake(dz.sum(axis=0) + 0.1, expected) is None
    softmax_head = expected - expected.mean()  # a total of zero says nothing
    assert name_mistake(np.zeros((1, 5)), softmax_head) is None


def every_key():
    """Every key solutions.mistakes makes: each exercise's backward, train and derivative variants,
    and those of networks no exercise has yet (each activation with each output head, with l2),
    every rule's, the softmax Jacobian's, the losses', one_hot's."""
    from solutions import mistakes
    rng = np.random.default_rng(17)
    keys = set()
    for exercise in names():
        keys |= set(wrong_answers(exercise, "backward", random_case(exercise, rng)))
    for hidden in mistakes.OTHER_ACTIVATIONS:
        for output, loss, head in [("softmax", "cross_entropy", "fused"), ("softmax", "cross_entropy", "chain"),
                                   ("sigmoid", "binary_cross_entropy", "chain"), ("sigmoid", "mse", "chain"),
                                   ("identity", "mse", "chain")]:
            net = Network((Layer("W1", "b1", hidden, "z1", "a1"), Layer("W2", "b2", hidden, "z2", "a2"),
                           Layer("W3", "b3", output, "z3", "a3")), loss=loss, output_gradient=head, l2=0.1)
            keys |= set(mistakes.backward_mistakes(net, 3))
        keys |= set(wrong_answers(None, "derivative", (rng.normal(size=3),),
                                  ref=Reference(derivative=mistakes.DERIVATIVES[hidden])))
    keys |= {key for rule in mistakes.RULE_MISTAKES.values() for key in rule}
    keys |= set(mistakes.SOFTMAX_MISTAKES) | {"minibatch-whole-set", "updated-weights", "sign-flipped"}
    keys |= set(mistakes.cross_entropy_mistakes(np.full((3, 2), 1 / 3), np.eye(3)[:, :2]))
    keys |= set(wrong_answers("tanh_softmax_batch", "one_hot", (np.array([0, 2, 1]), 3)))
    keys |= set(wrong_answers("leaky_relu_l2_sgd", "loss", (worked_params(reference("leaky_relu_l2_sgd")),
                                                            np.full((3, 2), 1 / 3), np.eye(3)[:, :2], 0.1)))
    return keys


def test_context_notes_are_keyed_like_the_variants():
    """Every context a wrong variant names has its note; every code has its message."""
    from autograder.diagnosis import CONTEXT_NOTES, MESSAGES, _parse_key
    keys = every_key()
    assert {"l2-missing", "adam-no-bias-correction", "leaky-relu-slope-side@leaky_relu", "minibatch-whole-set",
            "bce-sigmoid-twice"} <= keys
    for key in keys:
        code, context, _ = _parse_key(key)
        assert code in MESSAGES, key
        assert context <= set(CONTEXT_NOTES), key


# ------------------------------------------------------------------ every exercise, from its network
def random_case(exercise, rng, batch=4, lam=0.1):
    """Arguments of the exercise's backward on a random problem at its worked example's shapes
    (with ``lam`` where its backward takes a weight decay)."""
    description = load(exercise)
    net = description.ref.network
    shapes = {name: np.shape(value) for name, value in worked_params(description.ref).items()}
    params, x, y = random_problem(net, shapes, rng, batch)
    extra = list(inspect.signature(description.backward).parameters)[4:]
    return (params, net.forward(params, x), x, y, *([lam] if extra == ["lam"] else []))


@pytest.mark.parametrize("exercise", names())
def test_model_answers_get_no_diagnosis(exercise):
    """The description's own backward, written as a student writes it, is named nothing."""
    for seed in range(3):
        args = random_case(exercise, np.random.default_rng(seed))
        assert diagnoses(exercise, "backward", load(exercise).backward, args, batch_size=4) == {}


@pytest.mark.parametrize("exercise", names())
def test_the_classic_backward_mistakes_come_from_the_network(exercise):
    """Every exercise gets the mistakes its network allows, with no table: what each layer's
    activation, the head, the loss and the weight decay make possible."""
    args = random_case(exercise, np.random.default_rng(18))
    codes = {key.split(":")[0].split("@")[0] for key in wrong_answers(exercise, "backward", args)}
    assert {"bias-not-summed", "bias-wrong-axis", "summed-not-averaged", "averaged-not-summed",
            "wrong-activation-derivative"} <= codes  # missing-weight-factor: where the shapes broadcast
    net = reference(exercise).network
    activations = {layer.activation for layer in net.layers}
    assert ("leaky-relu-slope-side" in codes) == ("leaky_relu" in activations)
    assert ("mse-factor-two" in codes) == (net.loss_name == "mse")
    assert ({"l2-missing", "l2-on-biases", "l2-factor-two"} <= codes) == (len(args) == 5)
    if net.output_gradient == "chain" and net.layers[-1].activation == "softmax":
        assert {"softmax-jacobian-twice", "softmax-jacobian-wrong"} <= codes


# ------------------------------------------------------------------ the new building blocks' mistakes
def leaky_backward(params, cache, x, y, lam, *, l2="right", slope="right"):
    """A student's leaky_relu_l2_sgd backward, with switches for the slips students make."""
    m = x.shape[1]
    decay = {"right": lam, "missing": 0.0, "twice": 2 * lam, "biases": lam}[l2]
    on_bias = lam if l2 == "biases" else 0.0
    dz2 = (cache["a2"] - y) / m
    dW2 = dz2 @ cache["a1"].T + decay * params["W2"]
    db2 = np.sum(dz2, axis=1, keepdims=True) + on_bias * params["b2"]
    z1 = cache["z1"]
    derivative = {"right": np.where(z1 > 0, 1.0, 0.01), "relu": (z1 > 0).astype(float),
                  "swapped": np.where(z1 > 0, 0.01, 1.0)}[slope]
    dz1 = (params["W2"].T @ dz2) * derivative
    dW1 = dz1 @ x.T + decay * params["W1"]
    db1 = np.sum(dz1, axis=1, keepdims=True) + on_bias * params["b1"]
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


LEAKY_MISTAKES = [
    ("l2-missing", dict(l2="missing"), "lam * W"),
    ("l2-on-biases", dict(l2="biases"), "the weight matrices only"),
    ("l2-factor-two", dict(l2="twice"), "not 2 * lam * W"),
    ("wrong-activation-derivative", dict(slope="relu"), "alpha (0.01) where z <= 0"),
    ("leaky-relu-slope-side", dict(slope="swapped"), "np.where(z > 0, 1.0, alpha)"),
]


@pytest.mark.parametrize("code, switches, words", LEAKY_MISTAKES, ids=[m[0] for m in LEAKY_MISTAKES])
def test_leaky_relu_and_weight_decay_mistakes_are_named(code, switches, words):
    """leaky_relu_l2_sgd: a backward without the L2 term, with it on the biases or doubled, with
    ReLU's derivative or the slopes swapped, each gets its own diagnosis, on the hidden tests'
    path as on the public one."""
    for seed in range(3):
        args = random_case("leaky_relu_l2_sgd", np.random.default_rng(seed), batch=5)
        student = (lambda *a: leaky_backward(*a, **switches))
        assert_diagnosed(diagnoses("leaky_relu_l2_sgd", "backward", student, args, batch_size=5), code)
    message = failure_message("leaky_relu_l2_sgd", "backward", student, args, 5)
    assert codes_in(message) == {code}, message
    assert words in message, message


def leaky_train_whole_set_mean(params, x, y, lr, lam, batch_size, epochs, seed):
    """A student's mini-batch SGD whose gradient divides each batch's sum by all m examples."""
    description = load("leaky_relu_l2_sgd")
    rng = np.random.default_rng(seed)
    params = {name: np.array(value, dtype=float) for name, value in params.items()}
    m = x.shape[1]
    history = []
    for _ in range(epochs):
        for index in training.minibatches(m, batch_size, rng):
            xb, yb = x[:, index], y[:, index]
            cache = description.forward(params, xb)
            history.append(description.loss(params, cache["a2"], yb, lam))
            dz2 = (cache["a2"] - yb) / m  # the whole set's m, not the batch's
            dz1 = (params["W2"].T @ dz2) * np.where(cache["z1"] > 0, 1.0, 0.01)
            grads = {"W2": dz2 @ cache["a1"].T + lam * params["W2"], "b2": np.sum(dz2, axis=1, keepdims=True),
                     "W1": dz1 @ xb.T + lam * params["W1"], "b1": np.sum(dz1, axis=1, keepdims=True)}
            params = {name: params[name] - lr * grads[name] for name in params}
    return params, history


@pytest.mark.parametrize("seed", [0, 1])
def test_a_minibatch_averaged_over_the_whole_set_is_named(seed):
    params, _, x, y, lam = random_case("leaky_relu_l2_sgd", np.random.default_rng(seed), batch=10)
    args = (params, x, y, 0.3, lam, 4, 2, seed)
    found = diagnoses("leaky_relu_l2_sgd", "train", leaky_train_whole_set_mean, args)
    assert_diagnosed(found, "minibatch-whole-set")
    assert (0, "W1") in found and (1,) in found
    message = failure_message("leaky_relu_l2_sgd", "train", leaky_train_whole_set_mean, args, None)
    assert codes_in(message) == {"minibatch-whole-set"}, message


# Adam, as students get it wrong (independent of solutions.mistakes)
def adam_without_bias_correction(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return param - lr * m / (np.sqrt(v) + eps), m, v


def adam_counting_from_zero(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))  # "t is 0-based"
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_without_sqrt(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return param - lr * (m / (1 - beta1 ** t)) / (v / (1 - beta2 ** t) + eps), m, v


ADAM_SLIPS = [("adam-no-bias-correction", adam_without_bias_correction),
              ("adam-step-count", adam_counting_from_zero), ("adam-sqrt-missing", adam_without_sqrt)]

# A small exercise trained by Adam, described here (no file): the mistakes need no exercise on disk.
ADAM_NET = Network((Layer("W1", "b1", "tanh", "z1", "a1"), Layer("W2", "b2", "sigmoid", "z2", "a2")),
                   convention="columns", loss="binary_cross_entropy", output_gradient="chain")
ADAM_REF = Reference(forward=ADAM_NET.forward, backward=ADAM_NET.backward, adam_step=optim.adam_step,
                     train=lambda params, x, y, lr, steps: training.train(ADAM_NET, params, x, y,
                                                                           training.Adam(lr), steps),
                     network=ADAM_NET)


def adam_users():
    """(exercise, reference) of every exercise whose reference has an Adam step, and ADAM_REF."""
    found = [(name, reference(name)) for name in names()
             if any(value is optim.adam_step for value in vars(reference(name)).values())]
    return [("adam, described in this test", ADAM_REF)] + found


def adam_train_args(ref, rng):
    """Arguments of ref.train by their names: a random problem, lr, a few steps, and the like."""
    shapes = {name: np.shape(value) for name, value in ADAM_NET.init_params(rng, (3, 4, 1)).items()} \
        if ref is ADAM_REF else {name: np.shape(value) for name, value in worked_params(ref).items()}
    params, x, y = random_problem(ref.network, shapes, rng, 6)
    given = {"params": params, "x": x, "X": x, "y": y, "Y": y, "lr": 0.05, "steps": 4, "epochs": 4,
             "iterations": 4, "batch_size": 3, "seed": 0, "lam": 0.01}
    return tuple(given[name] for name in inspect.signature(ref.train).parameters)


@pytest.mark.parametrize("exercise, ref", adam_users(), ids=[name for name, _ in adam_users()])
@pytest.mark.parametrize("code, student", ADAM_SLIPS, ids=[code for code, _ in ADAM_SLIPS])
def test_adam_mistakes_are_named_wherever_adam_is_used(exercise, ref, code, student):
    """For any exercise whose reference uses Adam: a slip in the Adam step is named, in the step
    itself and in a training loop built on it (the reference's own loop, the student's step in it)."""
    rng = np.random.default_rng(19)
    shape = (4, 3)
    for t in (1, 2, 7):
        args = (rng.normal(size=shape), rng.normal(size=shape), rng.normal(0, 0.1, shape),
                rng.uniform(0, 0.1, shape), t, 0.01, 0.9, 0.999, 1e-8)
        found = diagnoses(exercise, "adam_step", student, args, ref=ref)
        assert_diagnosed(found, code)
        assert (0,) in found  # the parameter is always off
    args = adam_train_args(ref, rng)

    def train_with_their_step(*args):
        with training.swapped(rule=student):
            return ref.train(*args)
    found = diagnoses(exercise, "train", train_with_their_step, args, ref=ref)
    assert_diagnosed(found, code)


def test_adam_without_bias_correction_in_a_loop_written_out(monkeypatch):
    """The same mistake in a loop written out as a student writes it (no solutions.training in it):
    tanh_bce_adam's model answer, calling the student's Adam step."""
    description = load("tanh_bce_adam")
    assert "training" not in inspect.getsource(description.train)  # its own loop, not the shared one
    monkeypatch.setattr(description, "adam_step", adam_without_bias_correction)
    rng = np.random.default_rng(20)
    shapes = {name: np.shape(value) for name, value in worked_params(description.ref).items()}
    params, x, y = random_problem(description.ref.network, shapes, rng, 6)
    found = diagnoses("tanh_bce_adam", "train", description.train, (params, x, y, 0.05, 5))
    assert_diagnosed(found, "adam-no-bias-correction")
    assert (0, "W1") in found and (1,) in found
