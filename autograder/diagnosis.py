"""Name the classic backpropagation mistake a wrong answer matches.

Shipped to students as ``backprop_diagnosis.py``: numpy only, imports nothing from the course.

A wrong array is compared with wrong variants of the expected one. Generic variants are
computed here from ``expected`` alone (transposed, sign flipped, off by the batch size, bias not
summed over the batch or summed over the wrong axis); network-specific ones (derivative at the
activation's output, softmax Jacobian applied wrongly, updated weights, ...) come in as
``variants``, computed by the course's deliberately wrong reference implementations. A diagnosis is
given only when the answer matches exactly one kind of mistake and that mistake really changes the
numbers: a correct answer, an unrelated wrong one, or one that two different mistakes explain
equally well gets none. A network-specific variant is the better explanation: when one matches,
the generic guesses are not consulted (a velocity stored with the opposite sign is a momentum
mistake, not a flipped loss derivative, though both negate the numbers).

A variant's key is ``code[@context][:detail]``. The code is what the failure message names. The
context says what the message is about: the activations of the layers the mistake touches
("derivative-at-output@silu+sigmoid"), whose derivative formulas the message then quotes, or the
kind of quantity ("transposed@one-hot"). The detail names one form of the mistake ("layer 1 only"),
shown when it narrows the match down.

    >>> name_mistake(dW.T, dW)
    ('transposed', 'Your values are the expected ones transposed: ...')
    >>> describe(*_)
    'Likely mistake (transposed): Your values are ...'
"""
import re

import numpy as np

# What to look at, per mistake code. Keys are the codes a failure message may carry.
MESSAGES = {
    "transposed": (
        "your values are the expected ones transposed: rows and columns are swapped. Build the array "
        "in the expected orientation: activations, targets and one-hot matrices hold one example per "
        "column in the column convention (one per row in the row convention); a gradient has the "
        "shape of its parameter (column convention: dW = dZ @ A_prev.T; row convention: "
        "dW = A_prev.T @ dZ)."),
    "sign-flipped": (
        "a sign is flipped: your values are the expected ones negated, or your update stepped up the "
        "gradient instead of down. Check the sign of the loss derivative (yhat - y, not y - yhat) and "
        "that an update subtracts lr * grad."),
    "summed-not-averaged": (
        "your values are the expected ones times the batch size. The loss is the mean over the "
        "batch, so its gradient carries a factor 1/batch_size: divide once, where the loss "
        "derivative starts the backward pass."),
    "averaged-not-summed": (
        "your values are the expected ones divided by the batch size. The 1/batch_size of the mean "
        "loss comes in exactly once; you divided again (or averaged where the batch must be summed)."),
    "bias-not-summed": (
        "your bias gradient still has one entry per example. A bias is shared by the whole batch: "
        "sum the upstream gradient over the batch axis (e.g. np.sum(dZ, axis=1, keepdims=True) in "
        "the column convention) so the gradient has the bias's shape."),
    "mean-wrong-axis": (
        "the loss is averaged over the wrong axis. The cross-entropy sums over the classes and "
        "averages over the examples only: L = -(1/m) sum_i sum_k y_ki log yhat_ki, e.g. "
        "-np.sum(Y * np.log(A)) / m with m the number of examples (columns). np.mean(Y * np.log(A)) "
        "also divides by the number of classes; a mean over the classes divides by the wrong count."),
    "bias-wrong-axis": (
        "your bias gradient is summed over the wrong axis: it adds up the units of each example "
        "instead of the examples for each unit. Sum over the axis that indexes the examples "
        "(axis=1 in the column convention, axis=0 in the row convention)."),
    "derivative-at-output": (
        "you evaluated the activation's derivative at its output instead of its input: you applied "
        "the derivative's formula to the activation's output, where it takes the pre-activation "
        "(the layer's input). Take it at the pre-activation, or write it in terms of the output "
        "once, correctly."),
    "wrong-activation-derivative": (
        "the derivative you used belongs to a different activation than this layer's. Check which "
        "activation the layer applies in the forward pass and use its derivative."),
    "softmax-jacobian-twice": (
        "the softmax Jacobian's sum term is multiplied by the probabilities twice. For each column, "
        "dZ = A * (dA - sum(A * dA)): the sum term is multiplied by A once only."),
    "softmax-jacobian-wrong": (
        "the softmax Jacobian is applied wrongly (e.g. only its diagonal A * (1 - A), or the sum "
        "taken over the wrong axis). Each column needs the full Jacobian: "
        "dZ = A * (dA - sum(A * dA, axis=0, keepdims=True))."),
    "updated-weights": (
        "the gradients were computed with weights already updated in this step. Compute every "
        "gradient from the old weights first (one full backward pass), then update them all."),
    "momentum-sign": (
        "the momentum step goes the wrong way: with velocity = gamma * velocity - eta * grad the "
        "parameter moves by + velocity, so it descends. Check the signs of the velocity and of the step."),
    "momentum-velocity-sign": (
        "your velocity has the opposite sign of the course's convention. Here the velocity points "
        "downhill: velocity = gamma * velocity - eta * grad, then param = param + velocity. Keeping "
        "velocity = gamma * velocity + eta * grad and stepping param - velocity is the same method "
        "with the velocity negated: the velocity you return (and the one you are given) then has the "
        "wrong sign."),
    "momentum-order": (
        "the momentum step is done in the wrong order: update the velocity first "
        "(velocity = gamma * velocity - eta * grad), then move the parameter by the NEW velocity."),
    "momentum-coefficients-swapped": (
        "gamma and eta are swapped: the old velocity is multiplied by the momentum gamma and the "
        "gradient by the learning rate eta."),
    "missing-weight-factor": (
        "the chain rule is missing the next layer's weights: the gradient reaching a hidden layer is "
        "W_next.T @ dZ_next (column convention) or dZ_next @ W_next.T (row convention), not dZ_next."),
    "mse-factor-two": (
        "the derivative of the squared error is missing its factor 2: d/dp (p - y)^2 = 2 (p - y)."),
    "bce-sigmoid-twice": (
        "the sigmoid's derivative is applied twice. With a sigmoid output p and the binary "
        "cross-entropy, dL/dz = (p - y) / m already holds sigma'(z) = p (1 - p): use it as it is, or "
        "start from dL/dp = (-y / p + (1 - y) / (1 - p)) / m and multiply by p (1 - p) once."),
    "leaky-relu-slope-side": (
        "the leaky ReLU's two slopes are swapped: its derivative is 1 where z > 0 and alpha where "
        "z <= 0, e.g. np.where(z > 0, 1.0, alpha), not the other way round."),
    "l2-missing": (
        "the weight decay is missing from the gradient. The loss adds lam / 2 * sum(W ** 2) for every "
        "weight matrix, so each weight's gradient gets + lam * W on top of the data loss's gradient "
        "(the biases get nothing)."),
    "l2-on-biases": (
        "the weight decay was applied to the biases too. The penalty lam / 2 * sum(W ** 2) covers "
        "the weight matrices only: add lam * W to the weights' gradients (and the penalty to the "
        "loss) and leave the biases as the data loss gives them."),
    "l2-factor-two": (
        "the weight decay is twice too large: the penalty is lam / 2 * sum(W ** 2), with the 1/2, "
        "and its gradient is lam * W (the 1/2 cancels the square's 2), not 2 * lam * W."),
    "minibatch-whole-set": (
        "each mini-batch's gradient is averaged over the whole training set. One step's loss is the "
        "mean over its batch, so divide by the batch's own size (xb's number of examples; the last "
        "batch may be smaller), not by the number of examples m in x."),
    "adam-no-bias-correction": (
        "Adam's bias correction is missing. The moments start at zero and are pulled towards it: "
        "step with m_hat = m / (1 - beta1 ** t) and v_hat = v / (1 - beta2 ** t) (and return the "
        "uncorrected m and v as the new moments)."),
    "adam-step-count": (
        "Adam's step count is off by one: t is 1 at the first step (the first corrections divide by "
        "1 - beta1 and 1 - beta2), 2 at the second, and so on. Counting from 0 corrects one step "
        "ahead (or, starting the loop at t = 0, divides by zero)."),
    "adam-sqrt-missing": (
        "the Adam step divides by v_hat instead of its square root: "
        "param - lr * m_hat / (np.sqrt(v_hat) + eps)."),
}

# What a context adds to the message: the formula of each activation the mistake touches, or what
# the quantity is.
CONTEXT_NOTES = {
    "sigmoid": ("sigmoid: sigma'(a) = sigma(a)(1 - sigma(a)), taken at the input a; with the output "
                "h = sigma(a) that is h(1 - h), not sigma(h)(1 - sigma(h))"),
    "tanh": ("tanh: tanh'(z) = 1 - tanh(z)^2, taken at the input z; with the output A = tanh(z) that "
             "is 1 - A^2, not 1 - tanh(A)^2"),
    "silu": ("SiLU: SiLU'(z) = sigma(z)(1 + z(1 - sigma(z))), taken at the input z, not at the output "
             "H = SiLU(z)"),
    "relu": "ReLU: relu'(z) = 1 where z > 0, 0 elsewhere",
    "leaky_relu": "leaky ReLU: its derivative is 1 where z > 0 and alpha (0.01) where z <= 0, z = 0 included",
    "one-hot": ("one_hot(labels, n_classes) is (n_classes, m): column i holds the 1 in row labels[i]; "
                "np.eye(n_classes)[labels] has one row per example, its transpose"),
}

CODE_PATTERN = re.compile(r"Likely mistake \(([\w-]+)\)")

# Two arrays "match" when max|a - b| <= ATOL + RTOL * max|b|.
RTOL = 1e-6
ATOL = 1e-9
# A variant only counts if it differs from the expected array by well more than the tolerance.
DISTINCT = 10.0


def describe(code, message):
    """The standard line a failure message carries: ``Likely mistake (<code>): <message>``."""
    return f"Likely mistake ({code}): {message}"


def code_of(text):
    """The mistake code in a failure message, or None."""
    match = CODE_PATTERN.search(text or "")
    return match.group(1) if match else None


def variants_for(wrong_outputs, key):
    """Select one quantity from whole wrong outputs: {code: output[key]} for those that have it.

    ``wrong_outputs`` maps codes to outputs shaped like the reference's (a dict of arrays, a tuple,
    or an array); ``key`` is a dict key or a tuple index (None: the output itself).
    """
    selected = {}
    for code, output in (wrong_outputs or {}).items():
        try:
            selected[code] = output if key is None else output[key]
        except (KeyError, IndexError, TypeError):
            continue
    return selected


def _as_array(value):
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return array if np.all(np.isfinite(array)) else None


def _close(a, b, scale):
    return a.shape == b.shape and float(np.max(np.abs(a - b), initial=0.0)) <= ATOL + RTOL * scale


def _squeezed_equal_shapes(a, b):
    return a.size == b.size and np.squeeze(a).shape == np.squeeze(b).shape


def _generic_variants(expected, batch_size):
    """(code, array) pairs computed from the expected array alone."""
    out = []
    if expected.ndim == 2:
        out.append(("transposed", expected.T))
    out.append(("sign-flipped", -expected))
    if batch_size and batch_size > 1:
        out.append(("summed-not-averaged", expected * batch_size))
        out.append(("averaged-not-summed", expected / batch_size))
    return out


def _bias_not_summed(received, expected, batch_size):
    """True when ``received`` has one extra batch axis whose sum (or mean) is ``expected``.

    Bias shapes: (n, 1) column convention -> received (n, batch); (n,) row convention ->
    received (batch, n); () scalar -> received (batch,) or (batch, 1).
    """
    if received.size <= expected.size or (batch_size and received.size != expected.size * batch_size):
        return False
    if expected.ndim == 2 and expected.shape[1] == 1 and received.ndim == 2 and received.shape[0] == expected.shape[0]:
        sums = received.sum(axis=1, keepdims=True)
    elif expected.ndim == 1 and received.ndim == 2 and received.shape[1] == expected.shape[0]:
        sums = received.sum(axis=0)
    elif expected.ndim == 0 and received.ndim in (1, 2) and received.size == received.shape[0]:
        sums = received.sum()
    else:
        return False
    batch = received.size // max(expected.size, 1)
    scale = float(np.max(np.abs(expected), initial=0.0))
    if scale <= ATOL:
        return False
    return _close(sums, expected, scale) or _close(sums / batch, expected, scale)


def _bias_wrong_axis(received, expected):
    """True when ``received`` is a column-convention bias gradient summed over the units instead of
    the batch: expected (n, 1), received (1, batch) or (batch,) with the same total.

    Told from the shapes and the total alone (the total of dZ either way), so that a wrong shape can
    be named without the wrong variants; only where the total says something (not ~0).
    """
    if not (expected.ndim == 2 and expected.shape[1] == 1 and expected.shape[0] > 1):
        return False
    if not (received.ndim == 1 or (received.ndim == 2 and received.shape[0] == 1)):
        return False
    scale = float(np.max(np.abs(expected), initial=0.0))
    total = float(np.sum(expected))
    tolerance = ATOL + RTOL * max(scale, float(np.max(np.abs(received), initial=0.0))) * expected.shape[0]
    return abs(total) > DISTINCT * tolerance and abs(float(np.sum(received)) - total) <= tolerance


def _parse_key(key):
    """``code[@context][:detail]`` -> (code, frozenset of context names, detail)."""
    head, _, detail = str(key).partition(":")
    code, _, context = head.partition("@")
    return code, frozenset(c for c in context.split("+") if c), detail


def name_mistake(received, expected, *, variants=None, batch_size=None):
    """Which known mistake explains ``received``? Returns (code, message) or None.

    received, expected: one array quantity (anything numpy turns into a float array).
    variants: {key: wrong array} from the course's wrong implementations; a key is
        ``code[@context][:detail]`` (see the module's docstring): the context makes the message
        specific (an activation's formula), the detail is mentioned when it narrows the match down.
    batch_size: the number of examples, for the off-by-the-batch-size diagnoses.

    None when the answer is right, when no variant matches, when the matching variant does not
    differ from the right answer (a symmetric matrix transposed, a zero gradient negated,
    a batch of one), or when different mistakes match equally well.
    """
    received, expected = _as_array(received), _as_array(expected)
    if received is None or expected is None:
        return None
    scale = float(np.max(np.abs(expected), initial=0.0))
    if received.shape == expected.shape and _close(received, expected, scale):
        return None
    if received.shape != expected.shape and _squeezed_equal_shapes(received, expected) and _close(
            received.reshape(expected.shape), expected, scale):
        return None  # right numbers, shape issue only: the shape message says it all

    specific = [(key, array) for key, array in ((k, _as_array(v)) for k, v in (variants or {}).items())
                if array is not None]
    # the network's own wrong variants first; the generic guesses only when none of them matches
    matched = _matches(received, expected, scale, specific) or _matches(
        received, expected, scale, _generic_variants(expected, batch_size))
    if not matched and _bias_not_summed(received, expected, batch_size):
        matched.append(("bias-not-summed", frozenset(), ""))
    if not matched and _bias_wrong_axis(received, expected):
        matched.append(("bias-wrong-axis", frozenset(), ""))

    codes = {code for code, _, _ in matched}
    if len(codes) != 1:
        return None
    code = matched[0][0]
    message = MESSAGES.get(code, f"your values match the known mistake '{code}'.")
    # the context every matching form shares (e.g. only the output layer's sigmoid), else all of them
    contexts = [context for _, context, _ in matched]
    context = frozenset.intersection(*contexts) or frozenset.union(*contexts)
    notes = [note for name, note in CONTEXT_NOTES.items() if name in context]
    if notes:
        message += f" Here: {'; '.join(notes)}."
    # details only when they narrow it down: not when the plain form of the mistake matches too
    details = [] if any(not d for _, _, d in matched) else sorted({d for _, _, d in matched})
    if details:
        message += f" (Your numbers match: {', '.join(details)}.)"
    return code, message[0].upper() + message[1:]


def _matches(received, expected, scale, candidates):
    """(code, context, detail) of every candidate that changes the numbers and equals ``received``."""
    matched = []
    for key, candidate in candidates:
        cand_scale = max(scale, float(np.max(np.abs(candidate), initial=0.0)))
        if candidate.shape == expected.shape and _close(candidate, expected, DISTINCT * cand_scale):
            continue  # this mistake does not change the numbers here: it cannot be told apart
        if _close(received, candidate, cand_scale):
            matched.append(_parse_key(key))
    return matched
