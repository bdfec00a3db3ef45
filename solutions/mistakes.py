"""Deliberately wrong versions of the reference, one per classic mistake.

``wrong_answers(exercise, function, args)`` runs each known wrong variant of a student-facing
function on the same arguments and returns ``{code: wrong output}``; each output has the structure
of the reference's (a dict of gradients for ``backward``, a tuple for ``momentum_step``, ...).
The checks pass these to ``autograder.diagnosis.name_mistake`` as ``variants``, one quantity at a
time, so that a student's wrong answer can be named.

A key is a mistake code, optionally followed by ``@context`` (the activations of the layers the
mistake touches, "derivative-at-output@silu+sigmoid", or the kind of quantity, "transposed@one-hot":
the message then quotes their formulas or says what the quantity is) and by ``:detail``
("derivative-at-output@sigmoid:layer 1 only") when one mistake has several forms. Variants that
fail on the given arguments (e.g. a missing weight factor whose shapes cannot broadcast) are left
out. Only the autograder bundle ships this module; students never see it.

Each wrong backward pass is the right one with one switch flipped, written with the same shared
pieces as the networks themselves (``solutions.activations``, ``layers``, ``losses``, ``softmax``).
"""
import numpy as np

from solutions import activations
from solutions.losses import BCE_EPSILON, binary_cross_entropy, cross_entropy, mean_squared_error
from solutions.softmax import softmax as column_softmax

BACKWARDS = {
    "sigmoid": activations.sigmoid_backward,
    "relu": activations.relu_backward,
    "tanh": activations.tanh_backward,
    "silu": activations.silu_backward,
}
FORWARDS = {
    "sigmoid": activations.sigmoid,
    "relu": activations.relu,
    "tanh": activations.tanh,
    "silu": activations.silu,
}

# Column-convention networks: pre-activation and activation names per layer, hidden activation,
# and how the output layer starts the backward pass.
COLUMN_NETWORKS = {
    "sigmoid_mlp": dict(pre=("a1", "a2", "a3"), post=("h1", "h2", "yhat"), hidden="sigmoid",
                        head="softmax-ce"),
    "relu_softmax": dict(pre=("z1", "z2", "z3"), post=("a1", "a2", "a3"), hidden="relu",
                         head="softmax-ce"),
    "relu_mse_training": dict(pre=("z1", "z2"), post=("a1", "a2"), hidden="relu", head="sigmoid-mse"),
    "tanh_softmax_batch": dict(pre=("Z1", "Z2"), post=("A1", "A2"), hidden="tanh",
                               head="softmax-jacobian-ce"),
}
# Derivatives written in terms of the activation's output h, as students often write them:
# "sigmoid-form" is h (1 - h), "tanh-form" is 1 - h^2. Applied to another activation's output
# they are the "derivative of a different activation" mistake.
BACKWARDS["sigmoid-form"] = lambda dh, h: dh * h * (1.0 - h)
BACKWARDS["tanh-form"] = lambda dh, h: dh * (1.0 - h * h)
OUTPUT_FORMS = ("sigmoid-form", "tanh-form")

# Plausible other activations whose derivative a student might use by mistake.
OTHER_ACTIVATIONS = {"sigmoid": ("tanh", "relu", "tanh-form"), "relu": ("sigmoid", "sigmoid-form"),
                     "tanh": ("sigmoid", "sigmoid-form"), "silu": ("sigmoid", "sigmoid-form")}


# ----------------------------------------------------------------- softmax Jacobian, three ways
def softmax_backward(dA, A, mode="right"):
    """dZ from dA through the column softmax. mode: right | twice | diagonal | axis."""
    if mode == "twice":  # seed 004: the sum term multiplied by A twice
        return A * dA - A * A * np.sum(A * dA, axis=0, keepdims=True)
    if mode == "diagonal":  # only the Jacobian's diagonal a (1 - a)
        return A * (1.0 - A) * dA
    if mode == "axis":  # the sum over the classes of each example taken over the batch instead
        return A * (dA - np.sum(A * dA, axis=1, keepdims=True))
    return A * (dA - np.sum(A * dA, axis=0, keepdims=True))


# ----------------------------------------------------------------- column-convention backward
def column_backward(exercise, params, cache, x, y, *, at_output=(), derivative=None, softmax="right",
                    batch_factor=1.0, bias="sum", no_weight=(), update_lr=None, mse_factor=2.0):
    """The backward pass of a column-convention network with one mistake switched on.

    at_output: layer numbers whose activation derivative is taken at the activation's output.
    derivative: {layer: activation name} whose derivative replaces the layer's own.
    softmax: how the softmax Jacobian is applied (tanh_softmax_batch only).
    batch_factor: multiplies the loss derivative (batch -> summed, 1/batch -> averaged twice).
    bias: sum | none (not summed over the batch) | wrong-axis (summed over the units).
    no_weight: layer numbers k whose W_k.T is left out when the gradient goes to layer k - 1.
    update_lr: update each W_k and b_k with this rate as soon as its gradient is known, before
        the gradient goes on to layer k - 1 (the "updated weights" mistake).
    mse_factor: the factor of the squared error's derivative (2 is right).
    """
    spec = COLUMN_NETWORKS[exercise]
    layers = len(spec["pre"])
    batch = np.shape(x)[1]
    derivative = derivative or {}
    pre = {k + 1: cache[name] for k, name in enumerate(spec["pre"])}
    post = {k + 1: cache[name] for k, name in enumerate(spec["post"])}
    post[0] = x
    W = {k: params[f"W{k}"] for k in range(1, layers + 1)}

    # the output layer: dL/dz_L
    out = post[layers]
    if spec["head"] == "softmax-ce":
        dz = (out - y) / batch
    elif spec["head"] == "softmax-jacobian-ce":
        dz = softmax_backward(-y / out / batch, out, softmax)
    else:  # sigmoid-mse: mean over all entries of (a - y)^2
        da = mse_factor * (out - y) / np.size(out)
        dz = _activation_backward("sigmoid", da, pre[layers], out, layers, at_output, derivative)
    dz = dz * batch_factor

    grads = {}
    for k in range(layers, 0, -1):
        grads[f"W{k}"] = dz @ post[k - 1].T
        if bias == "none":
            grads[f"b{k}"] = dz
        elif bias == "wrong-axis":
            grads[f"b{k}"] = np.sum(dz, axis=0, keepdims=True)
        else:
            grads[f"b{k}"] = np.sum(dz, axis=1, keepdims=True).reshape(np.shape(params[f"b{k}"]))
        if k == 1:
            break
        weight = W[k] if update_lr is None else W[k] - update_lr * grads[f"W{k}"]
        dh = dz if k in no_weight else weight.T @ dz
        dz = _activation_backward(spec["hidden"], dh, pre[k - 1], post[k - 1], k - 1, at_output, derivative)
        if dz.shape != pre[k - 1].shape:
            raise ValueError("shapes do not fit")
    return {name: grads[name] for name in sorted(grads, key=lambda n: (n[1:], n[0]))}


def _activation_backward(name, dh, a, h, layer, at_output, derivative):
    name = derivative.get(layer, name)
    return BACKWARDS[name](dh, h if layer in at_output or name in OUTPUT_FORMS else a)


def _derivative_name(name):
    return {"sigmoid-form": "h (1 - h), sigmoid's derivative,",
            "tanh-form": "1 - h^2, tanh's derivative,"}.get(name, f"{name}'s derivative")


def column_forward(exercise, params, x):
    """The forward pass, keyed like the reference's cache."""
    spec = COLUMN_NETWORKS[exercise]
    layers = len(spec["pre"])
    cache, h = {}, x
    for k in range(1, layers + 1):
        a = params[f"W{k}"] @ h + params[f"b{k}"]
        if k < layers:
            h = FORWARDS[spec["hidden"]](a)
        elif spec["head"] == "sigmoid-mse":
            h = activations.sigmoid(a)
        else:
            h = column_softmax(a)
        cache[spec["pre"][k - 1]], cache[spec["post"][k - 1]] = a, h
    return cache


def column_backward_mistakes(exercise, params, cache, x, y):
    """{code: keyword switches for column_backward} that apply to this network and batch."""
    spec = COLUMN_NETWORKS[exercise]
    layers = len(spec["pre"])
    batch = np.shape(x)[1]
    hidden = tuple(range(1, layers))
    with_output = hidden + ((layers,) if spec["head"] == "sigmoid-mse" else ())

    def at_output(*which):  # the key names the activations of the layers concerned
        names = dict.fromkeys("sigmoid" if k == layers else spec["hidden"] for k in which)
        return f"derivative-at-output@{'+'.join(names)}"

    mistakes = {
        at_output(*with_output): dict(at_output=with_output),
        "bias-not-summed": dict(bias="none"),
        "bias-wrong-axis": dict(bias="wrong-axis"),
        "missing-weight-factor": dict(no_weight=tuple(range(2, layers + 1))),
    }
    for layer in with_output if len(with_output) > 1 else ():
        mistakes[f"{at_output(layer)}:layer {layer} only"] = dict(at_output=(layer,))
    for k in range(2, layers + 1) if layers > 2 else ():
        mistakes[f"missing-weight-factor:W{k} only"] = dict(no_weight=(k,))
    for other in OTHER_ACTIVATIONS[spec["hidden"]]:
        key = f"wrong-activation-derivative@{spec['hidden']}:{_derivative_name(other)} in the hidden layers"
        mistakes[key] = dict(derivative={k: other for k in hidden})
    if spec["head"] == "sigmoid-mse":
        mistakes["mse-factor-two"] = dict(mse_factor=1.0)
    if spec["head"] == "softmax-jacobian-ce":
        mistakes["softmax-jacobian-twice"] = dict(softmax="twice")
        mistakes["softmax-jacobian-wrong:only the diagonal"] = dict(softmax="diagonal")
        mistakes["softmax-jacobian-wrong:summed over the batch axis"] = dict(softmax="axis")
    if batch > 1:
        mistakes["summed-not-averaged"] = dict(batch_factor=float(batch))
        mistakes["averaged-not-summed"] = dict(batch_factor=1.0 / batch)
    return mistakes


# ----------------------------------------------------------------- silu_momentum (row convention)
def silu_forward(params, X):
    Z = X @ params["W"] + params["b1"]
    H = activations.silu(Z)
    f = H @ params["U"] + params["b2"]
    return {"Z": Z, "H": H, "f": f, "p": activations.sigmoid(f)}


def silu_backward(params, cache, X, y, *, at_output=(), derivative=None, batch_factor=1.0,
                  bias="sum", no_weight=False, update=None):
    """The row-convention backward pass (batch-mean BCE) with one mistake switched on.

    at_output: subset of {"hidden", "output"}; derivative: {"hidden"|"output": activation name};
    update: a function (name, grad) -> new parameter, applied to U and b2 before the gradient
    goes on to the hidden layer (the "updated weights" mistake).
    """
    derivative = derivative or {}
    Z, H, f, p = cache["Z"], cache["H"], cache["f"], cache["p"]
    m = np.shape(X)[0]
    pc = np.clip(p, BCE_EPSILON, 1.0 - BCE_EPSILON)
    inside = (p > BCE_EPSILON) & (p < 1.0 - BCE_EPSILON)
    dp = (-y / pc + (1.0 - y) / (1.0 - pc)) * inside / m * batch_factor
    out_act = derivative.get("output", "sigmoid")
    df = BACKWARDS[out_act](dp, p if "output" in at_output else f)
    grads = {"U": H.T @ df}
    grads["b2"] = df if bias == "none" else np.sum(df).reshape(np.shape(params["b2"]))
    U = params["U"] if update is None else update("U", grads["U"])
    dH = df[:, None] * np.ones_like(H) if no_weight else np.outer(df, U)
    hid_act = derivative.get("hidden", "silu")
    dZ = BACKWARDS[hid_act](dH, H if "hidden" in at_output or hid_act in OUTPUT_FORMS else Z)
    grads["W"] = X.T @ dZ
    if bias == "none":
        grads["b1"] = dZ
    elif bias == "wrong-axis":
        grads["b1"] = np.sum(dZ, axis=1)
    else:
        grads["b1"] = np.sum(dZ, axis=0).reshape(np.shape(params["b1"]))
    return {name: grads[name] for name in ("W", "b1", "U", "b2")}


def silu_backward_mistakes(X):
    m = np.shape(X)[0]
    mistakes = {
        "derivative-at-output@silu+sigmoid": dict(at_output=("hidden", "output")),
        "derivative-at-output@silu:hidden layer only": dict(at_output=("hidden",)),
        "derivative-at-output@sigmoid:output layer only": dict(at_output=("output",)),
        "wrong-activation-derivative@silu:sigmoid's derivative for SiLU": dict(derivative={"hidden": "sigmoid"}),
        "wrong-activation-derivative@silu:h (1 - h), sigmoid's derivative, for SiLU": dict(
            derivative={"hidden": "sigmoid-form"}),
        "bias-not-summed": dict(bias="none"),
        "bias-wrong-axis": dict(bias="wrong-axis"),
        "missing-weight-factor": dict(no_weight=True),
    }
    if m > 1:
        mistakes["summed-not-averaged"] = dict(batch_factor=float(m))
        mistakes["averaged-not-summed"] = dict(batch_factor=1.0 / m)
    return mistakes


def momentum_step(param, grad, velocity, gamma, eta, mode="right"):
    """(param, velocity) after one momentum step.

    mode: right | sign | velocity-sign | sign-step | order | swapped."""
    if mode == "sign":  # velocity accumulates +eta*grad and is added: uphill
        velocity_new = gamma * velocity + eta * grad
        return param + velocity_new, velocity_new
    if mode == "velocity-sign":  # the other sign convention: velocity accumulates +eta*grad, is subtracted
        velocity_new = gamma * velocity + eta * grad
        return param - velocity_new, velocity_new
    if mode == "sign-step":  # velocity right, step subtracts it
        velocity_new = gamma * velocity - eta * grad
        return param - velocity_new, velocity_new
    if mode == "order":  # parameter moved by the old velocity
        velocity_new = gamma * velocity - eta * grad
        return param + velocity, velocity_new
    if mode == "swapped":
        velocity_new = eta * velocity - gamma * grad
        return param + velocity_new, velocity_new
    velocity_new = gamma * velocity - eta * grad
    return param + velocity_new, velocity_new


MOMENTUM_MISTAKES = {
    "momentum-sign": "sign",
    "momentum-sign:parameter moved by minus the velocity": "sign-step",
    "momentum-velocity-sign": "velocity-sign",
    "momentum-order": "order",
    "momentum-coefficients-swapped": "swapped",
}


def train_momentum(params, X, y, gamma, eta, iterations, *, momentum="right", updated_weights=False,
                   **backward_switches):
    """The worked example's loop: loss, gradients, momentum step for every parameter."""
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    velocities = {k: np.zeros_like(v) for k, v in params.items()}
    losses = []
    for _ in range(iterations):
        cache = silu_forward(params, X)
        losses.append(binary_cross_entropy(cache["p"], y))
        update = None
        if updated_weights:
            def update(name, grad):
                return momentum_step(params[name], grad, velocities[name], gamma, eta, momentum)[0]
        grads = silu_backward(params, cache, X, y, update=update, **backward_switches)
        for name in params:
            params[name], velocities[name] = momentum_step(
                params[name], grads[name], velocities[name], gamma, eta, momentum)
    return params, velocities, losses


# ----------------------------------------------------------------- relu_mse_training's loop
def train_column(exercise, params, X, y, lr, epochs, *, step_sign=1.0, updated_weights=False,
                 **backward_switches):
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    losses = []
    for _ in range(epochs):
        cache = column_forward(exercise, params, X)
        losses.append(mean_squared_error(cache[COLUMN_NETWORKS[exercise]["post"][-1]], y))
        grads = column_backward(exercise, params, cache, X, y,
                                update_lr=lr if updated_weights else None, **backward_switches)
        params = {k: params[k] - step_sign * lr * grads[k] for k in params}
    return params, losses


# ----------------------------------------------------------------- the cross-entropy's mean
def cross_entropy_mistakes(A, Y):
    """{code: zero-argument function}: the batch-mean cross-entropy of (n_classes, batch) arrays
    averaged over the wrong axis. Where n_classes == batch (the tanh worked batch) the mean over
    every entry equals "divided by the batch size twice", and the mean over the classes is right."""
    n_classes, batch = np.shape(A)

    def total():  # -sum over the classes and the examples of Y log A
        return cross_entropy(A, Y) * batch

    return {"mean-wrong-axis:np.mean over every entry": lambda: total() / (n_classes * batch),
            "mean-wrong-axis:a mean over the classes instead of the examples": lambda: total() / n_classes}


# ----------------------------------------------------------------- the one entry point
def wrong_answers(exercise, function, args):
    """{mistake code: the wrong output} of the known wrong variants of ``function`` on ``args``.

    exercise: a folder name from DESIGN.md; function: the student-facing function's name; args:
    the positional arguments the reference takes. An empty dict when no mistake is known.
    """
    try:
        variants = _variants(exercise, function, tuple(args))
    except (KeyError, IndexError, TypeError, ValueError):
        return {}
    answers = {}
    for code, compute in variants.items():
        try:
            with np.errstate(all="ignore"):
                answers[code] = compute()
        except (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError, FloatingPointError):
            continue  # this mistake cannot even run on these shapes
    return answers


def _variants(exercise, function, args):
    """{code: zero-argument function computing the wrong output}."""
    if exercise in COLUMN_NETWORKS:
        if function == "backward":
            params, cache, x, y = args
            return {code: (lambda s=switches: column_backward(exercise, params, cache, x, y, **s))
                    for code, switches in column_backward_mistakes(exercise, params, cache, x, y).items()}
        if function in ("sgd_step", "gradient_descent_step"):
            params, grads, lr = args
            return {"sign-flipped": lambda: {k: params[k] + lr * grads[k] for k in params}}
        if function == "cross_entropy":
            return cross_entropy_mistakes(*args)
        if function == "one_hot":
            labels, n_classes = args  # one row per example, as np.eye(n_classes)[labels] gives it
            return {"transposed@one-hot": lambda: np.eye(n_classes)[np.asarray(labels).astype(int).ravel()]}
        if function == "softmax_backward":
            dA, A = args
            return {"softmax-jacobian-twice": lambda: softmax_backward(dA, A, "twice"),
                    "softmax-jacobian-wrong:only the diagonal": lambda: softmax_backward(dA, A, "diagonal"),
                    "softmax-jacobian-wrong:summed over the batch axis": lambda: softmax_backward(dA, A, "axis")}
        if function == "train" and exercise == "relu_mse_training":
            params, X, y, lr, epochs = args
            cache = column_forward(exercise, params, X)
            variants = {"updated-weights": lambda: train_column(exercise, params, X, y, lr, epochs,
                                                                updated_weights=True),
                        "sign-flipped:stepped up the gradient": lambda: train_column(
                            exercise, params, X, y, lr, epochs, step_sign=-1.0)}
            for code, switches in column_backward_mistakes(exercise, params, cache, X, y).items():
                if not code.startswith("bias-"):  # a wrongly shaped bias gradient breaks the loop
                    variants[code] = (lambda s=switches: train_column(exercise, params, X, y, lr, epochs, **s))
            return variants
        return {}
    if exercise == "silu_momentum":
        if function == "backward":
            params, cache, X, y = args
            return {code: (lambda s=switches: silu_backward(params, cache, X, y, **s))
                    for code, switches in silu_backward_mistakes(X).items()}
        if function == "momentum_step":
            return {code: (lambda m=mode: momentum_step(*args, mode=m)) for code, mode in MOMENTUM_MISTAKES.items()}
        if function == "silu_derivative":
            (z,) = args
            return {"wrong-activation-derivative@silu:sigmoid's derivative":
                    lambda: activations.sigmoid_derivative(z),
                    "wrong-activation-derivative@silu:sigmoid itself": lambda: activations.sigmoid(z)}
        if function == "train_momentum":
            params, X, y, gamma, eta, iterations = args
            variants = {"updated-weights": lambda: train_momentum(params, X, y, gamma, eta, iterations,
                                                                  updated_weights=True)}
            for code, mode in MOMENTUM_MISTAKES.items():
                variants[code] = (lambda m=mode: train_momentum(params, X, y, gamma, eta, iterations, momentum=m))
            for code, switches in silu_backward_mistakes(X).items():
                if not code.startswith("bias-"):
                    variants[code] = (lambda s=switches: train_momentum(params, X, y, gamma, eta, iterations, **s))
            return variants
        return {}
    return {}



