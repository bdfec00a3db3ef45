"""Deliberately wrong versions of an exercise's reference, one per classic mistake.

``wrong_answers(exercise, function, args)`` runs each known wrong variant of a student-facing
function on the same arguments and returns ``{code: wrong output}``; each output has the structure
of the reference's (a dict of gradients for a backward pass, a tuple for ``momentum_step``, ...).
The checks pass these to ``autograder.diagnosis.name_mistake`` as ``variants``, one quantity at a
time, so that a student's wrong answer can be named.

Nothing here is written per exercise. What a function is for (its role) is read off the
exercise's reference (``ref`` in its description): a building block the reference *is*
(``optim.momentum_step``, ``softmax.softmax_backward``, an activation's derivative, ...), or, for a
function the description composes, the names of its parameters: ``(params, cache, ...)`` is a
backward pass, ``(params, grads, lr)`` an update, ``(params, ..., epochs)`` (or ``iterations``,
``steps``) a training run, ``(params, ..., lam)`` a loss with weight decay. The wrong versions
come from the exercise's network (``ref.network``): a ``Mistaken`` network is that network with
one block of its backward pass swapped for a wrong one, and a wrong training run is the
reference's own run with a wrong network or a wrong update rule swapped in
(``solutions.training.swapped``). Which mistakes apply follows from the network: its activations,
loss, output head, weight decay, optimizer and batches.

A key is a mistake code, optionally followed by ``@context`` (the activations of the layers the
mistake touches, "derivative-at-output@silu+sigmoid", or the kind of quantity, "transposed@one-hot":
the message then quotes their formulas or says what the quantity is) and by ``:detail``
("derivative-at-output@sigmoid:layer 1 only") when one mistake has several forms. Variants that
fail on the given arguments (e.g. a missing weight factor whose shapes cannot broadcast) are left
out. Only the autograder bundle ships this module; students never see it.
"""
import copy
import inspect
from functools import partial

import numpy as np

from solutions import activations, losses, optim, training
from solutions.network import ELEMENTWISE, Network
from solutions.regularization import l2_gradient, l2_penalty
from solutions.softmax import softmax_backward as right_softmax_backward

# ----------------------------------------------------------------- wrong derivatives
# An activation's derivative by name: the right ones, and the forms students write in terms of the
# activation's output h ("sigmoid-form" h (1 - h), "tanh-form" 1 - h^2), which applied to another
# activation's output are the "derivative of a different activation" mistake.
BACKWARDS = {name: backward for name, (_, backward) in ELEMENTWISE.items()}
BACKWARDS["sigmoid-form"] = lambda dh, h: dh * h * (1.0 - h)
BACKWARDS["tanh-form"] = lambda dh, h: dh * (1.0 - h * h)
BACKWARDS["leaky-relu-swapped"] = lambda dh, a, alpha=0.01: dh * np.where(np.asarray(a) > 0, alpha, 1.0)
OUTPUT_FORMS = ("sigmoid-form", "tanh-form")

# Plausible other activations whose derivative a student uses by mistake.
OTHER_ACTIVATIONS = {"sigmoid": ("tanh", "relu", "tanh-form"), "relu": ("sigmoid", "sigmoid-form"),
                     "tanh": ("sigmoid", "sigmoid-form"), "silu": ("sigmoid", "sigmoid-form"),
                     "leaky_relu": ("relu",)}
# Activations whose derivative changes when taken at the output: relu and leaky_relu keep the sign
# of their input, so "at the output" gives the same numbers and is no mistake to name.
CHANGED_AT_OUTPUT = ("sigmoid", "tanh", "silu")
NAMES = {"sigmoid": "the sigmoid", "relu": "ReLU", "tanh": "tanh", "silu": "SiLU", "leaky_relu": "leaky ReLU"}

# The derivative functions of solutions.activations, by activation (a question may ask for one).
DERIVATIVES = {"sigmoid": activations.sigmoid_derivative, "relu": activations.relu_derivative,
               "tanh": activations.tanh_derivative, "silu": activations.silu_derivative,
               "leaky_relu": activations.leaky_relu_derivative}


def _derivative_name(name):
    return {"sigmoid-form": "h (1 - h), sigmoid's derivative,",
            "tanh-form": "1 - h^2, tanh's derivative,"}.get(name, f"{name}'s derivative")


# ----------------------------------------------------------------- softmax Jacobian, three ways
def softmax_backward(dA, A, mode="right"):
    """dZ from dA through the column softmax. mode: right | twice | diagonal | axis."""
    if mode == "twice":  # seed 004: the sum term multiplied by A twice
        return A * dA - A * A * np.sum(A * dA, axis=0, keepdims=True)
    if mode == "diagonal":  # only the Jacobian's diagonal a (1 - a)
        return A * (1.0 - A) * dA
    if mode == "axis":  # the sum over the classes of each example taken over the batch instead
        return A * (dA - np.sum(A * dA, axis=1, keepdims=True))
    return right_softmax_backward(dA, A)


SOFTMAX_MISTAKES = {"softmax-jacobian-twice": "twice", "softmax-jacobian-wrong:only the diagonal": "diagonal",
                    "softmax-jacobian-wrong:summed over the batch axis": "axis"}


# ----------------------------------------------------------------- a network with one block wrong
class Mistaken(Network):
    """``net`` with blocks of its backward pass swapped for wrong ones (all off by default).

    loss_scale: function of the batch size -> factor on the loss's derivative, where the mean's
        1/batch enters (batch: summed, not averaged; 1/batch: averaged twice; batch/m: a mini-batch
        averaged over the whole set of m examples).
    mse_halved: the squared error's derivative without its factor 2.
    bce_through_sigmoid: the binary cross-entropy's derivative taken as (p - y) / n, which already
        holds the sigmoid's derivative, and the sigmoid's derivative then applied again.
    softmax: the softmax Jacobian's wrong form (twice | diagonal | axis).
    at_output: layer numbers (0 the first) whose derivative is taken at the activation's output.
    derivative: {layer number: the name (in BACKWARDS) of the derivative used instead}.
    bias: "none" (the bias gradient not summed over the batch) | "wrong-axis" (summed over units).
    no_weight: layer numbers whose W is left out when the gradient goes down to the layer below.
    decay: "missing" (no weight decay in the gradient) | "biases" (on the biases too) | "twice".
    update: function (name, W, dW) -> W updated by the optimizer: the weight the gradient goes
        down through ("updated weights": updated before the layers below are done).
    """

    def __init__(self, net, *, loss_scale=None, mse_halved=False, bce_through_sigmoid=False, softmax=None,
                 at_output=(), derivative=None, bias=None, no_weight=(), decay=None, update=None):
        super().__init__(net.layers, net.convention, net.loss_name, net.output_gradient, net.l2)
        self.loss_scale, self.mse_halved, self.bce_through_sigmoid = loss_scale, mse_halved, bce_through_sigmoid
        self.softmax, self.at_output, self.derivative = softmax, tuple(at_output), dict(derivative or {})
        self.bias, self.no_weight, self.decay, self.update = bias, tuple(no_weight), decay, update

    def _scaled(self, gradient, output):
        return gradient if self.loss_scale is None else gradient * self.loss_scale(self.n_examples(output))

    def _fused_backward(self, output, y):
        return self._scaled(super()._fused_backward(output, y), output)

    def _loss_backward(self, output, y):
        if self.bce_through_sigmoid:
            gradient = (output - y) / np.size(output)
        else:
            gradient = super()._loss_backward(output, y)
        if self.mse_halved:
            gradient = gradient * 0.5
        return self._scaled(gradient, output)

    def _activation_backward(self, k, dpost, pre, post):
        name = self.layers[k].activation
        if name == "softmax" and self.softmax:
            return self._per_example(partial(softmax_backward, mode=self.softmax))(dpost, post)
        if name == "softmax" or (k not in self.derivative and k not in self.at_output):
            return super()._activation_backward(k, dpost, pre, post)
        name = self.derivative.get(k, name)
        return BACKWARDS[name](dpost, post if k in self.at_output or name in OUTPUT_FORMS else pre)

    def _affine_backward(self, k, dout, params, h):
        layer = self.layers[k]
        if self.update is not None and k > 0:
            dW = super()._affine_backward(k, dout, params, h)[1]
            decay = self._decay(params)
            new = self.update(layer.weight, params[layer.weight], dW + decay[layer.weight] if layer.weight in decay else dW)
            params = dict(params, **{layer.weight: new})  # dW and db do not depend on W; dh does
        dh, dW, db = super()._affine_backward(k, dout, params, h)
        if k in self.no_weight:  # dh = dout itself, broadcast over the layer below's units
            shaped = dout if np.ndim(dout) == np.ndim(h) else np.reshape(dout, np.shape(dout) + (1,))
            dh = np.array(np.broadcast_to(shaped, np.shape(h)))
        if self.bias == "none":
            db = np.array(dout)
        elif self.bias == "wrong-axis" and np.ndim(dout) == 2:
            db = np.sum(dout, axis=0, keepdims=True) if self.convention == "columns" else np.sum(dout, axis=1)
        return dh, dW, db

    def _decay(self, params):
        if not self.l2 or self.decay is None:
            return super()._decay(params)
        if self.decay == "missing":
            return {}
        if self.decay == "twice":
            return l2_gradient(params, 2 * self.l2, self.weight_names)
        return l2_gradient(params, self.l2, self.param_names)  # "biases": every parameter


def backward_mistakes(net, batch):
    """{key: Mistaken switches} of the mistakes that apply to ``net``'s backward pass on a batch of
    ``batch`` examples (the largest, for a training run)."""
    last = len(net.layers) - 1
    chain = net.output_gradient == "chain"
    output = net.layers[last].activation
    # the layers whose elementwise derivative the student writes (a fused output's is not written)
    written = [k for k, layer in enumerate(net.layers)
               if layer.activation in OTHER_ACTIVATIONS and (k < last or chain)]

    def context(ks):
        return "+".join(dict.fromkeys(net.layers[k].activation for k in ks))

    mistakes = {}
    at_output = [k for k in written if net.layers[k].activation in CHANGED_AT_OUTPUT]
    if at_output:
        mistakes[f"derivative-at-output@{context(at_output)}"] = dict(at_output=at_output)
    for k in at_output if len(at_output) > 1 else ():
        mistakes[f"derivative-at-output@{context([k])}:layer {k + 1} only"] = dict(at_output=(k,))
    for activation in dict.fromkeys(net.layers[k].activation for k in written):
        ks = [k for k in written if net.layers[k].activation == activation]
        for other in OTHER_ACTIVATIONS[activation]:
            key = f"wrong-activation-derivative@{activation}:{_derivative_name(other)} for {NAMES[activation]}"
            mistakes[key] = dict(derivative={k: other for k in ks})
        if activation == "leaky_relu":
            mistakes["leaky-relu-slope-side@leaky_relu"] = dict(derivative={k: "leaky-relu-swapped" for k in ks})
    mistakes["bias-not-summed"] = dict(bias="none")
    mistakes["bias-wrong-axis"] = dict(bias="wrong-axis")
    down = tuple(range(1, last + 1))  # the layers whose W carries the gradient down
    if down:
        mistakes["missing-weight-factor"] = dict(no_weight=down)
    for k in down if len(down) > 1 else ():
        mistakes[f"missing-weight-factor:{net.layers[k].weight} only"] = dict(no_weight=(k,))
    if net.loss_name == "mse":
        mistakes["mse-factor-two"] = dict(mse_halved=True)
    if chain and net.loss_name == "binary_cross_entropy" and output == "sigmoid":
        mistakes["bce-sigmoid-twice"] = dict(bce_through_sigmoid=True)
    if chain and output == "softmax":
        mistakes.update({key: dict(softmax=mode) for key, mode in SOFTMAX_MISTAKES.items()})
    if net.l2:
        mistakes["l2-missing"] = dict(decay="missing")
        mistakes["l2-on-biases"] = dict(decay="biases")
        mistakes["l2-factor-two"] = dict(decay="twice")
    if batch > 1:
        mistakes["summed-not-averaged"] = dict(loss_scale=float)
        mistakes["averaged-not-summed"] = dict(loss_scale=lambda b: 1.0 / b)
    return mistakes


# ----------------------------------------------------------------- wrong update rules
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
    return optim.momentum_step(param, grad, velocity, gamma, eta)


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, mode="right"):
    """(param, m, v) after one Adam step. mode: right | no-correction | step-count | no-sqrt."""
    if mode == "right":
        return optim.adam_step(param, grad, m, v, t, lr, beta1, beta2, eps)
    m_new = beta1 * m + (1.0 - beta1) * grad
    v_new = beta2 * v + (1.0 - beta2) * grad * grad
    if mode == "no-correction":  # the moments' pull towards their zero start left in
        m_hat, v_hat = m_new, v_new
    else:  # "step-count": t counted from 0 where it counts from 1, corrected one step ahead
        step = t + 1 if mode == "step-count" else t
        m_hat, v_hat = m_new / (1.0 - beta1 ** step), v_new / (1.0 - beta2 ** step)
    scale = v_hat + eps if mode == "no-sqrt" else np.sqrt(v_hat) + eps
    return param - lr * m_hat / scale, m_new, v_new


# the wrong forms of each rule of solutions.optim, by the rule
RULE_MISTAKES = {
    optim.sgd_step: {"sign-flipped:stepped up the gradient": lambda param, grad, lr: param + lr * grad},
    optim.momentum_step: {code: partial(momentum_step, mode=mode) for code, mode in {
        "momentum-sign": "sign",
        "momentum-sign:parameter moved by minus the velocity": "sign-step",
        "momentum-velocity-sign": "velocity-sign",
        "momentum-order": "order",
        "momentum-coefficients-swapped": "swapped",
    }.items()},
    optim.adam_step: {code: partial(adam_step, mode=mode) for code, mode in {
        "adam-no-bias-correction": "no-correction",
        "adam-step-count": "step-count",
        "adam-sqrt-missing": "no-sqrt",
    }.items()},
}


# ----------------------------------------------------------------- the cross-entropy's mean
def cross_entropy_mistakes(A, Y):
    """{code: zero-argument function}: the batch-mean cross-entropy of (n_classes, batch) arrays
    averaged over the wrong axis. Where n_classes == batch (the tanh worked batch) the mean over
    every entry equals "divided by the batch size twice", and the mean over the classes is right."""
    n_classes, batch = np.shape(A)

    def total():  # -sum over the classes and the examples of Y log A
        return losses.cross_entropy(A, Y) * batch

    return {"mean-wrong-axis:np.mean over every entry": lambda: total() / (n_classes * batch),
            "mean-wrong-axis:a mean over the classes instead of the examples": lambda: total() / n_classes}


# ----------------------------------------------------------------- roles, read off the reference
L2_NAMES = ("lam", "l2", "weight_decay", "lambd")
COUNT_NAMES = ("epochs", "iterations", "steps")
# references that are a building block themselves
BLOCK_ROLES = {optim.momentum_step: "rule", optim.adam_step: "rule", optim.sgd_step: "rule",
               right_softmax_backward: "softmax_backward", losses.cross_entropy: "cross_entropy",
               **{derivative: "derivative" for derivative in DERIVATIVES.values()}}


def role(reference):
    """What ``reference`` is for: backward, update, train, penalised-loss, rule, softmax_backward,
    cross_entropy, derivative, one_hot; None when no mistake is known for it."""
    try:
        if reference in BLOCK_ROLES:
            return BLOCK_ROLES[reference]
    except TypeError:  # unhashable
        return None
    try:
        names = list(inspect.signature(reference).parameters)
    except (TypeError, ValueError):
        return None
    if names[:2] == ["params", "cache"]:
        return "backward"
    if names[:2] == ["params", "grads"]:
        return "update"
    if names[:1] == ["params"] and set(names) & set(COUNT_NAMES):
        return "train"
    if names[:1] == ["params"] and set(names) & set(L2_NAMES):
        return "penalised-loss"
    if names == ["labels", "n_classes"]:
        return "one_hot"
    return None


def _arguments(reference, args):
    """{parameter name: value} of ``args`` bound to ``reference``'s signature, defaults filled in."""
    bound = inspect.signature(reference).bind(*args)
    bound.apply_defaults()
    return bound.arguments


def _l2_of(arguments):
    return next((float(arguments[name]) for name in L2_NAMES if name in arguments), None)


def _close(ours, theirs):
    """Same keys, every array within 1e-12 (relative): the derivation reproduces the reference."""
    return set(ours) == set(theirs) and all(
        np.shape(ours[k]) == np.shape(theirs[k])
        and np.allclose(ours[k], theirs[k], rtol=1e-12, atol=1e-12) for k in theirs)


def _backward_variants(ref, reference, args):
    arguments = _arguments(reference, args)
    params, cache, x, y = args[:4]
    lam = _l2_of(arguments)
    net = ref.network if lam is None else ref.network.with_l2(lam)
    if not _close(Mistaken(net).backward(params, cache, x, y), reference(*copy.deepcopy(args))):
        return {}  # the network does not describe this function: no variant rather than wrong ones
    return {key: (lambda s=switches: Mistaken(net, **s).backward(params, cache, x, y))
            for key, switches in backward_mistakes(net, net.n_examples(x)).items()}


def _run_swapped(reference, args, network=None, rule=None):
    with training.swapped(network, rule) as swap:
        out = reference(*copy.deepcopy(args))
    if not swap.runs:
        raise ValueError("the reference does not train with solutions.training.train")
    return out


def _peek(step):
    """(name, W, dW) -> W after this step of the optimizer, its state left as it is."""
    return lambda name, W, dW: copy.deepcopy(step).update({name: W}, {name: dW})[name]


def _train_variants(reference, args):
    with training.swapped() as probe:  # which network, optimizer and batches the reference trains with
        reference(*copy.deepcopy(args))
    if not probe.runs:
        return {}
    net, step, batch_size, n_examples = probe.runs[0]
    batch = n_examples if batch_size is None else min(batch_size, n_examples)

    def run(network=None, rule=None):
        return lambda: _run_swapped(reference, args, network, rule)

    variants = {}
    for key, switches in backward_mistakes(net, batch).items():
        if not key.startswith("bias-"):  # a wrongly shaped bias gradient breaks the loop
            variants[key] = run(network=lambda net, step, n, s=switches: Mistaken(net, **s))
    if batch < n_examples:
        variants["minibatch-whole-set"] = run(
            network=lambda net, step, n: Mistaken(net, loss_scale=lambda b: b / n))
    variants["updated-weights"] = run(network=lambda net, step, n: Mistaken(net, update=_peek(step)))
    for key, wrong in RULE_MISTAKES.get(type(step).rule, {}).items():
        variants[key] = run(rule=wrong)
    return variants


def _penalised_loss_variants(ref, reference, args):
    """A loss with weight decay: the penalty left out, counted twice (lam ||W||^2, the 1/2
    forgotten), or put on the biases too."""
    arguments = _arguments(reference, args)
    name = next(n for n in L2_NAMES if n in arguments)
    lam, params = float(arguments[name]), arguments["params"]
    if not lam:
        return {}

    def with_l2(value):
        return reference(*(value if n == name else v for n, v in arguments.items()))

    biases = [layer.bias for layer in ref.network.layers]
    return {"l2-missing": lambda: with_l2(0.0), "l2-factor-two": lambda: with_l2(2 * lam),
            "l2-on-biases": lambda: reference(*args) + l2_penalty(params, lam, biases)}


def _derivative_variants(reference, args):
    activation = next(name for name, derivative in DERIVATIVES.items() if derivative is reference)
    z = np.asarray(args[0], dtype=float)
    variants = {f"wrong-activation-derivative@{activation}:{other}'s derivative":
                (lambda other=other: DERIVATIVES[other](z))
                for other in OTHER_ACTIVATIONS[activation] if other in DERIVATIVES}
    if activation == "silu":  # SiLU is z sigma(z): sigma itself is a slip
        variants["wrong-activation-derivative@silu:sigmoid itself"] = lambda: activations.sigmoid(z)
    if activation == "leaky_relu":
        alpha = _arguments(reference, args)["alpha"]
        variants["leaky-relu-slope-side@leaky_relu"] = lambda: np.where(z > 0, alpha, 1.0)
    return variants


def variants(ref, function, args):
    """{code: zero-argument function computing the wrong output} for the reference's ``function``
    on ``args`` (the positional arguments the reference takes)."""
    reference = getattr(ref, function, None)
    kind = role(reference) if reference is not None else None
    network = getattr(ref, "network", None)
    if kind == "backward" and network is not None:
        return _backward_variants(ref, reference, args)
    if kind == "train":
        return _train_variants(reference, args)
    if kind == "update":  # stepping with -lr: up the gradient
        params, grads, lr = args
        return {"sign-flipped": lambda: reference(params, grads, -lr)}
    if kind == "penalised-loss" and network is not None:
        return _penalised_loss_variants(ref, reference, args)
    if kind == "rule":
        return {code: (lambda wrong=wrong: wrong(*args)) for code, wrong in RULE_MISTAKES[reference].items()}
    if kind == "softmax_backward":
        dA, A = args
        return {code: (lambda m=mode: softmax_backward(dA, A, m)) for code, mode in SOFTMAX_MISTAKES.items()}
    if kind == "cross_entropy":
        return cross_entropy_mistakes(*args)
    if kind == "derivative":
        return _derivative_variants(reference, args)
    if kind == "one_hot":
        labels, n_classes = args  # one row per example, as np.eye(n_classes)[labels] gives it
        return {"transposed@one-hot": lambda: np.eye(n_classes)[np.asarray(labels).astype(int).ravel()]}
    return {}


# ----------------------------------------------------------------- the one entry point
def wrong_answers(exercise, function, args, ref=None):
    """{mistake code: the wrong output} of the known wrong variants of ``function`` on ``args``.

    exercise: the exercise's name (its reference is ``solutions.exercises.reference(exercise)``,
    or ``ref`` when given); function: the student-facing function's name; args: the positional
    arguments the reference takes. An empty dict when no mistake is known.
    """
    try:
        if ref is None:
            from solutions.exercises import reference
            ref = reference(exercise)
        found = variants(ref, function, tuple(args))
    except (LookupError, TypeError, ValueError, KeyError, IndexError, StopIteration):
        return {}
    answers = {}
    for code, compute in found.items():
        try:
            with np.errstate(all="ignore"):
                answers[code] = compute()
        except (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError, FloatingPointError):
            continue  # this mistake cannot even run on these shapes
    return answers
