"""Name the classic backpropagation mistake a wrong answer matches.

Shipped to students as ``backprop_diagnosis.py``: numpy only, imports nothing from the course.

A wrong array is compared with wrong variants of the expected one. Generic variants are
computed here from ``expected`` alone (transposed, sign flipped, off by the batch size, bias not
summed over the batch); network-specific ones (derivative at the activation's output, softmax
Jacobian applied wrongly, updated weights, ...) come in as ``variants``, computed by the course's
deliberately wrong reference implementations. A diagnosis is given only when the answer matches
exactly one kind of mistake and that mistake really changes the numbers: a correct answer, an
unrelated wrong one, or one that two different mistakes explain equally well gets none.

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
        "your values are the expected ones transposed. Check the order of the matrix product "
        "(column convention: dW = dZ @ A_prev.T; row convention: dW = A_prev.T @ dZ) and that "
        "every gradient has the shape of its parameter."),
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
    "bias-wrong-axis": (
        "your bias gradient is summed over the wrong axis: it adds up the units of each example "
        "instead of the examples for each unit. Sum over the axis that indexes the examples "
        "(axis=1 in the column convention, axis=0 in the row convention)."),
    "derivative-at-output": (
        "you evaluated the activation's derivative at its output instead of its input, e.g. "
        "sigma'(h) = sigma(h)(1 - sigma(h)) where it should be sigma'(a) = h(1 - h). Use the "
        "pre-activation (or write the derivative in terms of the output, once)."),
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


def name_mistake(received, expected, *, variants=None, batch_size=None):
    """Which known mistake explains ``received``? Returns (code, message) or None.

    received, expected: one array quantity (anything numpy turns into a float array).
    variants: {code: wrong array} from the course's wrong implementations; a code may carry a
        detail after a colon ("wrong-activation-derivative:tanh"), which the message mentions.
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

    candidates = _generic_variants(expected, batch_size)
    for key, value in (variants or {}).items():
        array = _as_array(value)
        if array is not None:
            candidates.append((key, array))

    matched = []  # (code, detail)
    for key, candidate in candidates:
        code, _, detail = str(key).partition(":")
        cand_scale = max(scale, float(np.max(np.abs(candidate), initial=0.0)))
        if candidate.shape == expected.shape and _close(candidate, expected, DISTINCT * cand_scale):
            continue  # this mistake does not change the numbers here: it cannot be told apart
        if _close(received, candidate, cand_scale):
            matched.append((code, detail))
    if not matched and _bias_not_summed(received, expected, batch_size):
        matched.append(("bias-not-summed", ""))

    codes = {code for code, _ in matched}
    if len(codes) != 1:
        return None
    code, detail = matched[0]
    # details only when they narrow it down: not when the plain form of the mistake matches too
    details = [] if any(not d for _, d in matched) else sorted({d for _, d in matched})
    message = MESSAGES.get(code, f"your values match the known mistake '{code}'.")
    if details:
        message += f" (Your numbers match: {', '.join(details)}.)"
    return code, message[0].upper() + message[1:]
