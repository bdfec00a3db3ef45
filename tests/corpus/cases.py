"""The corpus: per exercise, about twenty student notebooks with one planted change each, and the
score a fair instructor gives every question, as a fraction of its points.

The ranges were written from the instructor's side (issue 8's policy), before looking at what the
grader gives, and each case says why its range is fair. The policy:

- a mistake costs points once, in the question that holds it; a later question whose function
  merely CALLS the wrong one (``forward`` calling a wrong ``softmax``, ``train`` calling a wrong
  ``backward``) keeps its points (unlisted questions: full marks);
- a real math mistake loses most of its question (``MATH``: partial credit for what is still
  right, such as shapes or the other gradients, is fair);
- an interface slip (a (n,) bias for (n, 1), (1, m) for (m,), a tuple for a dict, lists for
  arrays, ints for floats) costs a small part of its question, never all of it (``SLIP``);
- float32 arithmetic and loops instead of vectorised numpy are right: full marks;
- changing an input the prompt says to leave alone costs part of that question (``IN_PLACE``);
- a right formula missing the numerical safeguard the prompt asks for (the max subtraction of a
  stable softmax, the clipping of the BCE) loses about half (``SAFEGUARD``);
- departing from the letter of a prompt where the result is still right (an extra cache entry,
  recomputing the exact softmax) costs at most a small part (``LENIENT``).
"""
from corpus import Case, CastFloat32, Replace, ReplaceFunction, ReplaceStatements, ReturnDict
from corpus import rewritten_functions as rewritten

MATH = (0.0, 0.6)
SLIP = (0.5, 0.95)
IN_PLACE = (0.5, 0.95)
SAFEGUARD = (0.25, 0.75)
LENIENT = (0.5, 1.0)


def _bias_sums(function, deltas, new):
    """``np.sum(d, axis=1, keepdims=True)`` -> ``new.format(d=d)`` for every delta ``d``."""
    return tuple(Replace(function, f"np.sum({d}, axis=1, keepdims=True)", new.format(d=d), count=1) for d in deltas)


CASES: list[Case] = []  # every exercise's cases, in the order they are written below


def _cases(exercise, rows):
    """Add one exercise's cases to ``CASES`` (so no list of exercises is kept by hand)."""
    CASES.extend(Case(exercise, name, kind, tuple(edits), fair, why) for name, kind, edits, fair, why in rows)


# ------------------------------------------------------------------ sigmoid_mlp
# q1 sigmoid, q2 softmax, q3 forward (calls sigmoid, softmax), q4 cross_entropy,
# q5 backward (calls sigmoid), q6 sgd_step
SIGMOID_DELTAS = ("da3", "da2", "da1")
_cases("sigmoid_mlp", [
    ("control", "control", [], {}, "the solution itself: every question earns its points"),
    ("transposed_gradient", "mistake",
     [Replace("backward", 'da3 @ cache["h2"].T', 'cache["h2"] @ da3.T', count=1)],
     {"q5": MATH}, "dW3 comes back transposed (W3 is square, so the shape hides it): a real error in "
                   "one of six gradients; q5 loses most, the right gradients may earn a little"),
    ("summed_not_averaged", "mistake",
     [Replace("backward", '(cache["yhat"] - y) / m', 'cache["yhat"] - y', count=1)],
     {"q5": MATH}, "no 1/m: every gradient is m times too large for a batch; right only for one example"),
    ("bias_not_summed", "mistake", _bias_sums("backward", SIGMOID_DELTAS, "{d}"),
     {"q5": MATH}, "db = da, the worked notebook's one-example shortcut: for a batch the bias gradients "
                   "keep one column per example; the weight gradients stay right"),
    ("bias_wrong_axis", "mistake",
     _bias_sums("backward", SIGMOID_DELTAS, "np.sum({d}, axis=0, keepdims=True)"),
     {"q5": MATH}, "bias gradients summed over the units instead of the examples: wrong values and shape"),
    ("derivative_at_output", "mistake",
     [Replace("backward", 'sigmoid(cache["a2"])', 'sigmoid(cache["h2"])', count=2),
      Replace("backward", 'sigmoid(cache["a1"])', 'sigmoid(cache["h1"])', count=2)],
     {"q5": MATH}, "sigma'(h) instead of sigma'(a) in both hidden layers: dW1, dW2, db1, db2 wrong; "
                   "dW3 and db3 stay right"),
    ("wrong_activation_derivative", "mistake",
     [Replace("backward", 'dh2 * sigmoid(cache["a2"]) * (1 - sigmoid(cache["a2"]))', 'dh2 * (1 - cache["h2"] ** 2)', count=1),
      Replace("backward", 'dh1 * sigmoid(cache["a1"]) * (1 - sigmoid(cache["a1"]))', 'dh1 * (1 - cache["h1"] ** 2)', count=1)],
     {"q5": MATH}, "tanh's derivative 1 - h^2 used for the sigmoid layers: the hidden gradients are wrong"),
    ("loss_derivative_sign", "mistake",
     [Replace("backward", '(cache["yhat"] - y) / m', '(y - cache["yhat"]) / m', count=1)],
     {"q5": MATH}, "y - yhat instead of yhat - y: every gradient negated, the steps would climb the loss"),
    ("update_sign", "mistake",
     [Replace("sgd_step", 'params[name] - lr * grads[name]', 'params[name] + lr * grads[name]', count=1)],
     {"q6": MATH}, "p + lr * grad climbs the loss: the one thing q6 asks is wrong"),
    ("softmax_wrong_axis", "mistake",
     [Replace("softmax", "np.max(a, axis=0, keepdims=True)", "np.max(a, axis=1, keepdims=True)", count=1),
      Replace("softmax", "np.sum(e, axis=0, keepdims=True)", "np.sum(e, axis=1, keepdims=True)", count=1)],
     {"q2": MATH}, "softmax over the rows instead of each column: q2 is wrong; q3's forward merely calls "
                   "it and keeps its points (a mistake costs once)"),
    ("softmax_no_max_subtraction", "mistake",
     [Replace("softmax", "np.exp(a - np.max(a, axis=0, keepdims=True))", "np.exp(a)", count=1)],
     {"q2": SAFEGUARD}, "the formula is right, but the stability the prompt asks for (subtract the column "
                        "max) is missing: large scores give nan; about half of q2; q3 only calls it"),
    ("sigmoid_sign_cascade", "mistake",
     [Replace("sigmoid", "1.0 / (1.0 + np.exp(-a))", "1.0 / (1.0 + np.exp(a))", count=1)],
     {"q1": MATH}, "a wrong early function: sigmoid(-a) instead of sigmoid(a) costs q1; forward (q3) and "
                   "backward (q5) merely call it and keep their points"),
    ("loss_mean_over_classes", "mistake",
     [Replace("cross_entropy", "-np.sum(y * np.log(yhat)) / yhat.shape[1]", "-np.sum(y * np.log(yhat)) / yhat.shape[0]", count=1)],
     {"q4": MATH}, "divides by the number of classes instead of the batch size: right only when they agree"),
    ("loss_summed_over_batch", "mistake",
     [Replace("cross_entropy", "-np.sum(y * np.log(yhat)) / yhat.shape[1]", "-np.sum(y * np.log(yhat))", count=1)],
     {"q4": MATH}, "the loss is summed over the batch, not averaged: right only for one example"),
    ("float32", "float32", [CastFloat32()], {},
     "every function computes in float32: the math is right to float32 precision; full marks"),
    ("loops", "loops", [ReplaceFunction("backward", rewritten.sigmoid_mlp_backward_loops)], {},
     "backward written one example at a time with Python loops: right; full marks"),
    ("lists", "lists",
     [Replace("sgd_step", "params[name] - lr * grads[name]", "(params[name] - lr * grads[name]).tolist()", count=1)],
     {"q6": SLIP}, "right values returned as nested Python lists where arrays are asked: a small part of q6"),
    ("in_place_update", "in-place", [ReplaceFunction("sgd_step", rewritten.update_in_place)],
     {"q6": IN_PLACE}, "right values, but written into the given params, which the prompt says not to change"),
    ("bias_shape_n", "interface", _bias_sums("backward", SIGMOID_DELTAS, "np.sum({d}, axis=1)"),
     {"q5": SLIP}, "bias gradients of shape (n,) instead of (n, 1), values right: an interface slip"),
    ("forward_extra_entry", "lenient", [ReturnDict("forward", "extra", ("x", "x"))],
     {"q3": LENIENT}, "forward also returns the input x in its cache, every asked entry right: harmless"),
])

# ------------------------------------------------------------------ relu_softmax
# q1 relu, q2 relu_derivative, q3 softmax, q4 forward (calls relu, softmax), q5 backward (calls relu_derivative)
RELU_DELTAS = ("dz3", "dz2", "dz1")
_cases("relu_softmax", [
    ("control", "control", [], {}, "the solution itself"),
    ("transposed_gradient", "mistake", [Replace("backward", "dz1 @ x.T", "x @ dz1.T", count=1)],
     {"q5": MATH}, "dW1 transposed ((3, 4) for W1's (4, 3)): one of six gradients wrong"),
    ("summed_not_averaged", "mistake",
     [Replace("backward", '(cache["a3"] - y) / m', 'cache["a3"] - y', count=1)],
     {"q5": MATH}, "no 1/m: gradients m times too large for a batch; right only for one example"),
    ("bias_not_summed", "mistake", _bias_sums("backward", RELU_DELTAS, "{d}"),
     {"q5": MATH}, "db = dz, the worked notebook's one-example shortcut: wrong for a batch"),
    ("bias_wrong_axis", "mistake", _bias_sums("backward", RELU_DELTAS, "np.sum({d}, axis=0, keepdims=True)"),
     {"q5": MATH}, "bias gradients summed over the units instead of the examples"),
    ("loss_derivative_sign", "mistake",
     [Replace("backward", '(cache["a3"] - y) / m', '(y - cache["a3"]) / m', count=1)],
     {"q5": MATH}, "y - a3 instead of a3 - y: every gradient negated"),
    ("wrong_activation_derivative", "mistake",
     [Replace("backward", 'relu_derivative(cache["z2"])', 'cache["a2"] * (1 - cache["a2"])', count=1),
      Replace("backward", 'relu_derivative(cache["z1"])', 'cache["a1"] * (1 - cache["a1"])', count=1)],
     {"q5": MATH}, "the sigmoid's h (1 - h) used for ReLU layers: the hidden gradients are wrong"),
    ("relu_derivative_at_zero", "mistake",
     [Replace("relu_derivative", "(z > 0).astype(float)", "(z >= 0).astype(float)", count=1)],
     {"q2": MATH}, "ReLU'(0) = 1 where the prompt says 0: q2 is wrong at the kink; backward (q5) only "
                   "calls it and keeps its points"),
    ("softmax_wrong_axis", "mistake",
     [Replace("softmax", "np.max(z, axis=0, keepdims=True)", "np.max(z, axis=1, keepdims=True)", count=1),
      Replace("softmax", "np.sum(e, axis=0, keepdims=True)", "np.sum(e, axis=1, keepdims=True)", count=1)],
     {"q3": MATH}, "a wrong early function: softmax over the rows costs q3; forward (q4) only calls it"),
    ("softmax_no_max_subtraction", "mistake",
     [Replace("softmax", "np.exp(z - np.max(z, axis=0, keepdims=True))", "np.exp(z)", count=1)],
     {"q3": SAFEGUARD}, "right formula without the max subtraction the prompt asks for: overflow gives nan"),
    ("derivative_at_output", "equivalent",
     [Replace("backward", 'relu_derivative(cache["z2"])', 'relu_derivative(cache["a2"])', count=1),
      Replace("backward", 'relu_derivative(cache["z1"])', 'relu_derivative(cache["a1"])', count=1)],
     {}, "ReLU'(a) instead of ReLU'(z): for ReLU, a > 0 exactly where z > 0, so it is the same "
         "derivative; full marks"),
    ("recomputes_softmax", "lenient",
     [Replace("backward", 'cache["a3"]', 'softmax(cache["z3"])', count=1)],
     {"q5": LENIENT}, "recomputes the exact softmax instead of reading cache['a3'] as the prompt says: the "
                      "true gradient of the loss (issue 8: recomputing is right); at most a small deduction"),
    ("float32", "float32", [CastFloat32()], {}, "every function computes in float32: right; full marks"),
    ("loops", "loops", [ReplaceFunction("backward", rewritten.relu_softmax_backward_loops)], {},
     "backward one example at a time with Python loops: right; full marks"),
    ("lists", "lists", [ReturnDict("backward", "lists")],
     {"q5": SLIP}, "right gradients returned as nested lists: a small part of q5"),
    ("relu_derivative_booleans", "interface",
     [Replace("relu_derivative", "(z > 0).astype(float)", "(z > 0)", count=1)],
     {"q2": SLIP}, "booleans where the prompt asks for floats, values right: an interface slip"),
    ("bias_shape_n", "interface", _bias_sums("backward", RELU_DELTAS, "np.sum({d}, axis=1)"),
     {"q5": SLIP}, "bias gradients of shape (n,) instead of (n, 1), values right"),
    ("backward_tuple", "interface", [ReturnDict("backward", "tuple")],
     {"q5": SLIP}, "the six right gradients as a tuple (W1, b1, ...) where a dict is asked"),
    ("forward_extra_entry", "lenient", [ReturnDict("forward", "extra", ("x", "x"))],
     {"q4": LENIENT}, "forward also returns the input x in its cache, every asked entry right"),
])

# ------------------------------------------------------------------ relu_mse_training
# q1 forward, q2 mse_loss, q3 backward, q4 gradient_descent_step, q5 train (calls all four)
MSE_DELTAS = ("dz2", "dz1")
_cases("relu_mse_training", [
    ("control", "control", [], {}, "the solution itself"),
    # (dW2, not dW1: a (3, 4) dW1 would crash the notebook's training cell, and the student would see it)
    ("transposed_gradient", "mistake", [Replace("backward", 'dz2 @ cache["a1"].T', 'cache["a1"] @ dz2.T', count=1)],
     {"q3": MATH}, "dW2 transposed ((4, 1) for W2's (1, 4)): a real error in q3; train (q5) only calls backward"),
    ("summed_not_averaged", "mistake",
     [Replace("backward", "2.0 * (a2 - y) / a2.size", "2.0 * (a2 - y)", count=1)],
     {"q3": MATH}, "no 1/N: the gradients of the summed loss, N times too large; train keeps its points"),
    ("mse_factor_two", "mistake",
     [Replace("backward", "2.0 * (a2 - y) / a2.size", "(a2 - y) / a2.size", count=1)],
     {"q3": MATH}, "d/da (a - y)^2 without its factor 2: every gradient halved"),
    ("bias_not_summed", "mistake", _bias_sums("backward", MSE_DELTAS, "{d}"),
     {"q3": MATH}, "db = dz: one bias gradient per example, wrong for a batch"),
    ("bias_wrong_axis", "mistake", _bias_sums("backward", MSE_DELTAS, "np.sum({d}, axis=0, keepdims=True)"),
     {"q3": MATH}, "bias gradients summed over the units instead of the examples"),
    ("bias_averaged", "mistake", _bias_sums("backward", MSE_DELTAS, "np.mean({d}, axis=1, keepdims=True)"),
     {"q3": MATH}, "the worked notebook's mean for db after the 1/N already came in: db 1/m of the truth"),
    ("derivative_at_output", "mistake",
     [Replace("backward", "da2 * a2 * (1.0 - a2)",
              "da2 * (1.0 / (1.0 + np.exp(-a2))) * (1.0 - 1.0 / (1.0 + np.exp(-a2)))", count=1)],
     {"q3": MATH}, "sigma'(a2) = sigma(a2)(1 - sigma(a2)) at the output instead of a2 (1 - a2): all wrong"),
    ("update_sign", "mistake",
     [Replace("gradient_descent_step", "params[name] - lr * grads[name]", "params[name] + lr * grads[name]", count=1)],
     {"q4": MATH}, "the update climbs the loss: q4 is wrong; train (q5) only calls it"),
    ("loss_summed", "mistake",
     [Replace("mse_loss", "np.mean((a2 - y) ** 2)", "np.sum((a2 - y) ** 2)", count=1)],
     {"q2": MATH}, "the squared errors summed, not averaged: q2 wrong; train records losses with it but "
                   "keeps its points"),
    ("forward_sigmoid_sign", "mistake",
     [Replace("forward", "1.0 / (1.0 + np.exp(-z2))", "1.0 / (1.0 + np.exp(z2))", count=1)],
     {"q1": MATH}, "a wrong early function: the output sigmoid's sign flipped costs q1; train only calls it"),
    ("train_loss_after_update", "mistake",
     [ReplaceFunction("train", rewritten.train_loss_after_update)],
     {"q5": MATH}, "each loss recorded after its update, not before: the losses are shifted by one epoch "
                   "(the final parameters are right, so some credit is fair)"),
    ("relu_derivative_at_output", "equivalent",
     [Replace("backward", '(cache["z1"] > 0)', '(cache["a1"] > 0)', count=1)],
     {}, "[a1 > 0] instead of [z1 > 0]: for ReLU the same mask; full marks"),
    ("float32", "float32", [CastFloat32()], {}, "every function computes in float32: right; full marks"),
    ("loops", "loops", [ReplaceFunction("backward", rewritten.relu_mse_training_backward_loops)], {},
     "backward one example at a time with Python loops: right; full marks"),
    ("lists", "lists",
     [Replace("train", "params, losses", "{name: value.tolist() for name, value in params.items()}, losses", count=1)],
     {"q5": SLIP}, "train returns the right final parameters as nested lists: a small part of q5"),
    ("in_place_update", "in-place", [ReplaceFunction("gradient_descent_step", rewritten.update_in_place)],
     {"q4": IN_PLACE}, "right values written into the given params, which the prompt says to leave "
                       "unchanged; train (q5) only calls it"),
    ("bias_shape_n", "interface", _bias_sums("backward", MSE_DELTAS, "np.sum({d}, axis=1)"),
     {"q3": SLIP}, "bias gradients of shape (n,) instead of (n, 1), values right; train only calls it"),
    ("forward_extra_entry", "lenient", [ReturnDict("forward", "extra", ("X", "X"))],
     {"q1": LENIENT}, "forward also returns X in its cache, every asked entry right"),
])

# ------------------------------------------------------------------ silu_momentum
# q1 silu, q2 silu_derivative, q3 forward (calls silu), q4 bce_loss, q5 backward (calls
# silu_derivative), q6 momentum_step, q7 train_momentum (calls forward, bce_loss, backward, momentum_step)
# No transposed dW and no db1 summed over the wrong axis here: with (2, 3) for W's (3, 2), or (m,)
# for b1's (2,), the notebook's own training cell crashes, so the student would have seen it.
_cases("silu_momentum", [
    ("control", "control", [], {}, "the solution itself"),
    ("silu_derivative_no_product_rule", "mistake",
     [Replace("silu_derivative", "s + z * s * (1.0 - s)", "z * s * (1.0 - s)", count=1)],
     {"q2": MATH}, "d(z sigma(z))/dz without the product rule (the sigma term dropped): q2 is wrong; "
                   "backward (q5) and train_momentum (q7) only call it"),
    ("derivative_at_output", "mistake",
     [Replace("backward", 'silu_derivative(cache["Z"])', 'silu_derivative(cache["H"])', count=1)],
     {"q5": MATH}, "silu'(H) instead of silu'(Z): dW and db1 wrong, dU and db2 right"),
    ("summed_not_averaged", "mistake",
     [Replace("backward", '(cache["p"] - y) / m', 'cache["p"] - y', count=1)],
     {"q5": MATH}, "no 1/m: every gradient m times too large; train_momentum only calls backward"),
    ("bias_not_summed", "mistake", [Replace("backward", "np.sum(dZ, axis=0)", "dZ", count=1)],
     {"q5": MATH}, "db1 = dZ: one row per example, wrong for a batch"),
    ("loss_derivative_sign", "mistake",
     [Replace("backward", '(cache["p"] - y) / m', '(y - cache["p"]) / m', count=1)],
     {"q5": MATH}, "y - p instead of p - y: every gradient negated"),
    ("momentum_sign", "mistake",
     [Replace("momentum_step", "gamma * velocity - eta * grad", "gamma * velocity + eta * grad", count=1)],
     {"q6": MATH}, "the velocity adds the gradient: the step climbs; train_momentum only calls it"),
    ("momentum_order", "mistake", [ReplaceFunction("momentum_step", rewritten.momentum_step_old_velocity)],
     {"q6": MATH}, "the parameter moves by the old velocity, then the velocity is updated"),
    ("momentum_coefficients_swapped", "mistake",
     [Replace("momentum_step", "gamma * velocity - eta * grad", "eta * velocity - gamma * grad", count=1)],
     {"q6": MATH}, "gamma and eta swapped"),
    ("momentum_velocity_negated", "mistake",
     [ReplaceFunction("momentum_step", rewritten.momentum_step_velocity_negated)],
     {"q6": MATH}, "velocity kept with the other sign (v = gamma v + eta g, theta - v): given the prompt's "
                   "velocity it steps wrongly, and it returns -v; train_momentum is self-consistent and "
                   "only calls it"),
    ("silu_is_sigmoid_cascade", "mistake",
     [Replace("silu", "z / (1.0 + np.exp(-z))", "1.0 / (1.0 + np.exp(-z))", count=1)],
     {"q1": MATH}, "a wrong early function: sigma(z) instead of z sigma(z) costs q1; forward (q3) and "
                   "train_momentum (q7) only call it"),
    ("bce_no_clipping", "mistake", [Replace("bce_loss", "np.clip(p, 1e-15, 1 - 1e-15)", "p", count=1)],
     {"q4": SAFEGUARD}, "right formula without the clipping the prompt asks for: p = 0 or 1 gives inf"),
    ("bce_summed", "mistake",
     [Replace("bce_loss", "np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))",
              "np.sum(-(y * np.log(p) + (1 - y) * np.log(1 - p)))", count=1)],
     {"q4": MATH}, "the BCE summed over the batch, not averaged; train_momentum only calls it"),
    # bce_loss stays float64: in float32, 1 - 1e-15 rounds to 1, so the clipping itself would fail
    ("float32", "float32", [CastFloat32(skip=("bce_loss",))], {},
     "every other function computes in float32: right; full marks"),
    ("loops", "loops", [ReplaceFunction("backward", rewritten.silu_momentum_backward_loops)], {},
     "backward one example (row) at a time with Python loops: right; full marks"),
    ("lists", "lists",
     [Replace("train_momentum", "params, velocities, losses",
              "params, {name: np.asarray(v).tolist() for name, v in velocities.items()}, losses", count=1)],
     {"q7": SLIP}, "the right final velocities returned as lists where arrays are asked"),
    ("in_place_momentum", "in-place", [ReplaceFunction("momentum_step", rewritten.momentum_step_in_place)],
     {"q6": IN_PLACE}, "right values, but the given param and velocity arrays are overwritten, which the "
                       "prompt forbids; train_momentum only calls it"),
    ("bias_shape_1n", "interface",
     [Replace("backward", "np.sum(dZ, axis=0)", "np.sum(dZ, axis=0, keepdims=True)", count=1)],
     {"q5": SLIP}, "db1 of shape (1, n) instead of (n,), values right: an interface slip"),
    ("forward_extra_entry", "lenient", [ReturnDict("forward", "extra", ("X", "X"))],
     {"q3": LENIENT}, "forward also returns X in its cache, every asked entry right"),
])

# ------------------------------------------------------------------ tanh_softmax_batch
# q1 softmax, q2 one_hot, q3 forward (calls softmax), q4 cross_entropy, q5 softmax_backward,
# q6 backward (calls softmax_backward), q7 predict (calls forward)
JACOBIAN = "A * (dA - np.sum(A * dA, axis=0, keepdims=True))"
_cases("tanh_softmax_batch", [
    ("control", "control", [], {}, "the solution itself"),
    ("softmax_jacobian_twice", "mistake",
     [Replace("softmax_backward", JACOBIAN, "A * dA - A * A * np.sum(A * dA, axis=0, keepdims=True)", count=1)],
     {"q5": MATH}, "the seed's mistake, the sum term times A twice: q5 wrong; backward (q6) only calls it"),
    ("softmax_jacobian_diagonal", "mistake",
     [Replace("softmax_backward", JACOBIAN, "A * (1 - A) * dA", count=1)],
     {"q5": MATH}, "only the Jacobian's diagonal: q5 wrong; backward only calls it"),
    ("softmax_jacobian_wrong_axis", "mistake",
     [Replace("softmax_backward", "np.sum(A * dA, axis=0, keepdims=True)", "np.sum(A * dA, axis=1, keepdims=True)", count=1)],
     {"q5": MATH}, "the per-column sum taken over the batch: q5 wrong; backward only calls it"),
    ("softmax_wrong_axis", "mistake",
     [Replace("softmax", "np.max(Z, axis=0, keepdims=True)", "np.max(Z, axis=1, keepdims=True)", count=1),
      Replace("softmax", "np.sum(E, axis=0, keepdims=True)", "np.sum(E, axis=1, keepdims=True)", count=1)],
     {"q1": MATH}, "a wrong early function: softmax over the rows costs q1; forward (q3) and predict "
                   "(q7) only call it"),
    ("softmax_no_max_subtraction", "mistake",
     [Replace("softmax", "np.exp(Z - np.max(Z, axis=0, keepdims=True))", "np.exp(Z)", count=1)],
     {"q1": SAFEGUARD}, "right formula without the max subtraction the prompt asks for: overflow gives nan"),
    ("one_hot_transposed", "mistake",
     [Replace("one_hot", "np.zeros((n_classes, labels.size))", "np.zeros((labels.size, n_classes))", count=1),
      Replace("one_hot", "Y[labels, np.arange(labels.size)]", "Y[np.arange(labels.size), labels]", count=1)],
     {"q2": MATH}, "one_hot built (m, n_classes): one example per row, not per column"),
    ("loss_mean_over_classes", "mistake",
     [Replace("cross_entropy", "-np.sum(Y * np.log(A2)) / A2.shape[1]", "-np.sum(Y * np.log(A2)) / A2.shape[0]", count=1)],
     {"q4": MATH}, "divides by the number of classes, not the batch size: right only when they agree"),
    ("loss_summed_over_batch", "mistake",
     [Replace("cross_entropy", "-np.sum(Y * np.log(A2)) / A2.shape[1]", "-np.sum(Y * np.log(A2))", count=1)],
     {"q4": MATH}, "summed over the batch, not averaged"),
    ("summed_not_averaged", "mistake",
     [Replace("backward", '-Y / cache["A2"] / m', '-Y / cache["A2"]', count=1)],
     {"q6": MATH}, "no 1/m in dA2: every gradient m times too large"),
    ("bias_not_summed", "mistake", _bias_sums("backward", ("dZ2", "dZ1"), "{d}"),
     {"q6": MATH}, "db = dZ: one bias gradient per example"),
    ("derivative_at_output", "mistake",
     [Replace("backward", '(1 - cache["A1"] ** 2)', '(1 - np.tanh(cache["A1"]) ** 2)', count=1)],
     {"q6": MATH}, "tanh'(A1) instead of tanh'(Z1) = 1 - A1^2: dW1, db1 wrong"),
    ("wrong_activation_derivative", "mistake",
     [Replace("backward", '(1 - cache["A1"] ** 2)', 'cache["A1"] * (1 - cache["A1"])', count=1)],
     {"q6": MATH}, "the sigmoid's h (1 - h) for a tanh layer: dW1, db1 wrong"),
    ("transposed_gradient", "mistake", [Replace("backward", "dZ1 @ X.T", "X @ dZ1.T", count=1)],
     {"q6": MATH}, "dW1 transposed (W1 is square: the shape hides it)"),
    ("argmax_wrong_axis", "mistake",
     [Replace("predict", 'np.argmax(forward(params, X)["A2"], axis=0)', 'np.argmax(forward(params, X)["A2"], axis=1)', count=1)],
     {"q7": MATH}, "argmax over the batch instead of the classes"),
    ("float32", "float32", [CastFloat32()], {}, "every function computes in float32: right; full marks"),
    ("loops", "loops", [ReplaceFunction("softmax_backward", rewritten.tanh_softmax_batch_softmax_backward_loops)], {},
     "the Jacobian built and applied column by column in a loop: right; full marks"),
    ("lists", "lists",
     [Replace("predict", 'np.argmax(forward(params, X)["A2"], axis=0)', 'np.argmax(forward(params, X)["A2"], axis=0).tolist()', count=1)],
     {"q7": SLIP}, "the right labels as a Python list where an array is asked"),
    ("predict_shape_1m", "interface",
     [Replace("predict", 'np.argmax(forward(params, X)["A2"], axis=0)', 'np.argmax(forward(params, X)["A2"], axis=0).reshape(1, -1)', count=1)],
     {"q7": SLIP}, "the right labels of shape (1, m) instead of (m,): an interface slip"),
    ("one_hot_ints", "interface",
     [Replace("one_hot", "np.zeros((n_classes, labels.size))", "np.zeros((n_classes, labels.size), dtype=int)", count=1)],
     {"q2": SLIP}, "integers where floats are asked, values right"),
    ("bias_shape_n", "interface", _bias_sums("backward", ("dZ2", "dZ1"), "np.sum({d}, axis=1)"),
     {"q6": SLIP}, "bias gradients of shape (n,) instead of (n, 1), values right"),
    ("backward_tuple", "interface", [ReturnDict("backward", "tuple")],
     {"q6": SLIP}, "the right gradients as a tuple where a dict is asked"),
    ("forward_extra_entry", "lenient", [ReturnDict("forward", "extra", ("X", "X"))],
     {"q3": LENIENT}, "forward also returns X in its cache, every asked entry right"),
])

# ------------------------------------------------------------------ leaky_relu_l2_sgd
# q1 leaky_relu, q2 leaky_relu_derivative, q3 forward (calls leaky_relu), q4 loss,
# q5 backward (calls leaky_relu_derivative), q6 train (calls forward, loss, backward)
L2_LOSS = 'data + lam / 2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))'
_cases("leaky_relu_l2_sgd", [
    ("control", "control", [], {}, "the solution itself: every question earns its points"),
    ("plain_relu_cascade", "mistake",
     [Replace("leaky_relu", "np.where(z > 0, z, alpha * z)", "np.maximum(z, 0)", count=1)],
     {"q1": MATH}, "a wrong early function: the leaky slope is missing (plain ReLU, 0 for z <= 0) and q1 "
                   "loses most of its points; forward (q3) and train (q6) only call it"),
    ("derivative_zero_not_alpha", "mistake",
     [Replace("leaky_relu_derivative", "np.where(z > 0, 1.0, alpha)", "np.where(z > 0, 1.0, 0.0)", count=1)],
     {"q2": MATH}, "the plain ReLU's derivative, 0 instead of alpha for z <= 0: q2 is wrong; backward (q5) "
                   "and train (q6) only call it"),
    ("derivative_at_zero", "mistake",
     [Replace("leaky_relu_derivative", "z > 0", "z >= 0", count=1)],
     {"q2": MATH}, "1 instead of alpha at z = 0, which the prompt settles: wrong at the kink only, so some "
                   "credit is fair, but not most of it"),
    ("l2_missing_from_loss", "mistake", [Replace("loss", L2_LOSS, "data", count=1)],
     {"q4": MATH}, "the weight-decay term left out of the loss: right only when lam = 0"),
    ("l2_not_halved", "mistake", [Replace("loss", "lam / 2", "lam", count=1)],
     {"q4": MATH}, "lam * ||W||^2 instead of lam / 2 * ||W||^2: the penalty twice the asked one"),
    ("l2_on_biases_in_loss", "mistake",
     [Replace("loss", 'np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2)',
              'sum(np.sum(value ** 2) for value in params.values())', count=1)],
     {"q4": MATH}, "the biases penalised too, which the prompt excludes: wrong whenever a bias is not zero"),
    ("l2_missing_from_gradient", "mistake",
     [Replace("backward", 'dz2 @ cache["a1"].T + lam * params["W2"]', 'dz2 @ cache["a1"].T', count=1),
      Replace("backward", 'dz1 @ x.T + lam * params["W1"]', 'dz1 @ x.T', count=1)],
     {"q5": MATH}, "no lam * W in the weight gradients: the gradients of the data term only; the bias "
                   "gradients stay right"),
    ("l2_on_biases_in_gradient", "mistake",
     [Replace("backward", "np.sum(dz2, axis=1, keepdims=True)", 'np.sum(dz2, axis=1, keepdims=True) + lam * params["b2"]', count=1),
      Replace("backward", "np.sum(dz1, axis=1, keepdims=True)", 'np.sum(dz1, axis=1, keepdims=True) + lam * params["b1"]', count=1)],
     {"q5": MATH}, "lam * b added to the bias gradients: the gradient of a loss that decays the biases, which "
                   "the prompt's loss does not; the weight gradients stay right"),
    ("summed_not_averaged", "mistake",
     [Replace("backward", '(cache["a2"] - y) / m', 'cache["a2"] - y', count=1)],
     {"q5": MATH}, "no 1/m: the data gradients m times too large for a batch; train only calls backward"),
    ("bias_not_summed", "mistake", _bias_sums("backward", ("dz2", "dz1"), "{d}"),
     {"q5": MATH}, "db = dz: one bias gradient per example, wrong (and wrongly shaped) for a batch"),
    ("transposed_gradient", "mistake", [Replace("backward", "dz1 @ x.T", "x @ dz1.T", count=1)],
     {"q5": MATH}, "dW1's data term transposed ((2, 5) for W1's (5, 2)): one gradient wrong"),
    ("train_no_shuffle", "mistake", [Replace("train", "rng.permutation(m)", "np.arange(m)", count=1)],
     {"q6": MATH}, "the batches taken in the data's order, never shuffled: another run than the one asked "
                   "(the losses and the final parameters differ); the returned structure is right"),
    ("train_drops_last_batch", "mistake",
     [Replace("train", "range(0, m, batch_size)", "range(0, m - batch_size + 1, batch_size)", count=1)],
     {"q6": MATH}, "wrong batch slicing: the last, smaller batch is skipped, where the prompt says it is "
                   "taken: fewer steps and fewer losses whenever batch_size does not divide m"),
    ("train_loss_after_step", "mistake",
     [ReplaceStatements("train", """
        cache = forward(params, xb)
        history.append(loss(params, cache["a2"], yb, lam))
        grads = backward(params, cache, xb, yb, lam)
        params = {name: params[name] - lr * grads[name] for name in params}
     """, """
        grads = backward(params, forward(params, xb), xb, yb, lam)
        params = {name: params[name] - lr * grads[name] for name in params}
        history.append(loss(params, forward(params, xb)["a2"], yb, lam))
     """)],
     {"q6": MATH}, "each batch's loss recorded after its step, not before: every loss is another number "
                   "(the final parameters are right, so some credit is fair)"),
    ("update_sign", "mistake",
     [Replace("train", "params[name] - lr * grads[name]", "params[name] + lr * grads[name]", count=1)],
     {"q6": MATH}, "p + lr * grad: every step climbs the loss"),
    ("relu_derivative_of_a1", "equivalent",
     [Replace("backward", 'leaky_relu_derivative(cache["z1"])', 'leaky_relu_derivative(cache["a1"])', count=1)],
     {}, "LeakyReLU'(a1) instead of LeakyReLU'(z1): a1 > 0 exactly where z1 > 0 (alpha > 0), so it is the "
         "same derivative; full marks"),
    ("float32", "float32", [CastFloat32()], {}, "every function computes in float32: right to float32 "
                                                "precision; full marks"),
    ("loops", "loops", [ReplaceFunction("backward", rewritten.leaky_relu_l2_sgd_backward_loops)], {},
     "backward one example (column) at a time with Python loops, the decay added once: right; full marks"),
    ("lists", "lists", [ReturnDict("backward", "lists")],
     {"q5": SLIP}, "the right gradients returned as nested lists where arrays are asked: a small part of q5"),
    ("in_place_train", "in-place",
     [ReplaceStatements("train", "params = {name: np.array(value, dtype=float) for name, value in params.items()}", ""),
      ReplaceStatements("train", "params = {name: params[name] - lr * grads[name] for name in params}", """
        for name in params:
            params[name] -= lr * grads[name]
     """)],
     {"q6": IN_PLACE}, "the right run, but every step is written into the given params' arrays, which the "
                       "prompt says to leave unchanged"),
    ("bias_shape_n", "interface", _bias_sums("backward", ("dz2", "dz1"), "np.sum({d}, axis=1)"),
     {"q5": SLIP}, "bias gradients of shape (n,) instead of (n, 1), values right: an interface slip"),
    ("backward_tuple", "interface", [ReturnDict("backward", "tuple")],
     {"q5": SLIP}, "the four right gradients as a tuple where a dict is asked"),
    ("forward_extra_entry", "lenient", [ReturnDict("forward", "extra", ("x", "x"))],
     {"q3": LENIENT}, "forward also returns the input x in its cache, every asked entry right: harmless"),
])

# ------------------------------------------------------------------ tanh_bce_adam
# q1 forward, q2 bce_loss, q3 backward, q4 adam_step, q5 train (calls forward, bce_loss, backward, adam_step)
# No transposed dW and no (n,) hidden bias gradient here: no weight is square, so the notebook's own
# training cell (after q5) crashes on them, and the student would have seen it.
ADAM_CALL = "adam_step(params[name], grads[name], m[name], v[name], t, lr)"
_cases("tanh_bce_adam", [
    ("control", "control", [], {}, "the solution itself: every question earns its points"),
    ("hidden_sigmoid_cascade", "mistake", [Replace("forward", "np.tanh(z1)", "sigmoid(z1)", count=1)],
     {"q1": MATH}, "a wrong early function: a sigmoid hidden layer where tanh is asked costs q1 (the output "
                   "z2, a2 are wrong too); train (q5) only calls forward and keeps its points"),
    ("bce_no_clipping", "mistake", [Replace("bce_loss", "np.clip(a2, eps, 1 - eps)", "a2", count=1)],
     {"q2": SAFEGUARD}, "the right formula without the clipping the prompt asks for: a confident wrong answer "
                        "costs inf (and 0 * log 0 gives nan); about half of q2"),
    ("bce_summed", "mistake",
     [Replace("bce_loss", "np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))",
              "np.sum(-(y * np.log(p) + (1 - y) * np.log(1 - p)))", count=1)],
     {"q2": MATH}, "the BCE summed over the batch, not averaged: right only for one example"),
    ("summed_not_averaged", "mistake",
     [Replace("backward", '(cache["a2"] - y) / m', 'cache["a2"] - y', count=1)],
     {"q3": MATH}, "no 1/m: every gradient m times too large for a batch; train only calls backward"),
    ("bias_not_summed", "mistake", _bias_sums("backward", ("dz2", "dz1"), "{d}"),
     {"q3": MATH}, "db = dz: one bias gradient per example, wrong (and wrongly shaped) for a batch"),
    ("sigmoid_derivative_twice", "mistake",
     [Replace("backward", '(cache["a2"] - y) / m', '(cache["a2"] - y) / m * cache["a2"] * (1 - cache["a2"])', count=1)],
     {"q3": MATH}, "the sigmoid's derivative multiplied onto a2 - y, which already is dL/dz2 for a sigmoid "
                   "with BCE: every gradient wrong"),
    ("wrong_activation_derivative", "mistake",
     [Replace("backward", '(1 - cache["a1"] ** 2)', 'cache["a1"] * (1 - cache["a1"])', count=1)],
     {"q3": MATH}, "the sigmoid's a (1 - a) used for the tanh layer: dW1, db1 wrong; dW2, db2 right"),
    ("derivative_at_output", "mistake",
     [Replace("backward", '(1 - cache["a1"] ** 2)', '(1 - np.tanh(cache["a1"]) ** 2)', count=1)],
     {"q3": MATH}, "tanh'(a1) = 1 - tanh(a1)^2 instead of tanh'(z1) = 1 - a1^2: dW1, db1 wrong"),
    ("no_tanh_derivative", "mistake",
     [Replace("backward", '(params["W2"].T @ dz2) * (1 - cache["a1"] ** 2)', 'params["W2"].T @ dz2', count=1)],
     {"q3": MATH}, "the hidden layer's derivative left out of dz1: dW1, db1 wrong; dW2, db2 right"),
    ("adam_no_bias_correction_cascade", "mistake",
     [Replace("adam_step", "m_new / (1 - beta1 ** t)", "m_new", count=1),
      Replace("adam_step", "v_new / (1 - beta2 ** t)", "v_new", count=1)],
     {"q4": MATH}, "a wrong early function: Adam without bias correction (m and v used as they are) costs "
                   "q4; train (q5) only calls adam_step and keeps its points"),
    ("adam_no_sqrt", "mistake", [Replace("adam_step", "np.sqrt(v_hat)", "v_hat", count=1)],
     {"q4": MATH}, "divides by v_hat instead of its square root: the step's size is wrong"),
    ("adam_v_not_squared", "mistake",
     [Replace("adam_step", "(1 - beta2) * grad ** 2", "(1 - beta2) * grad", count=1)],
     {"q4": MATH}, "the second moment accumulates g instead of g^2: v' wrong (and its root can be nan)"),
    ("adam_t_from_0", "mistake", [Replace("train", "range(1, steps + 1)", "range(steps)", count=1)],
     {"q5": MATH}, "the steps counted from t = 0, where the prompt says 1: the first bias correction divides "
                   "by 1 - beta^0 = 0 and the run is nan"),
    ("adam_t_fixed", "mistake", [Replace("train", ADAM_CALL, ADAM_CALL.replace(", t, lr)", ", 1, lr)"), count=1)],
     {"q5": MATH}, "every step taken at t = 1, never advancing the bias correction: another run from step 2"),
    ("train_loss_after_step", "mistake",
     [ReplaceStatements("train", """
        cache = forward(params, x)
        history.append(bce_loss(cache["a2"], y))
        grads = backward(params, cache, x, y)
     """, "grads = backward(params, forward(params, x), x, y)"),
      ReplaceStatements("train", f"for name in params:\n    params[name], m[name], v[name] = {ADAM_CALL}", f"""
        for name in params:
            params[name], m[name], v[name] = {ADAM_CALL}
        history.append(bce_loss(forward(params, x)["a2"], y))
     """)],
     {"q5": MATH}, "each loss recorded after its update, not before: every loss is another number (the final "
                   "parameters are right, so some credit is fair)"),
    ("recomputes_tanh", "equivalent",
     [Replace("backward", '(1 - cache["a1"] ** 2)', '(1 - np.tanh(cache["z1"]) ** 2)', count=1)],
     {}, "tanh'(z1) recomputed from z1 instead of read as 1 - a1^2: the same derivative; full marks"),
    # bce_loss stays float64: in float32, 1 - 1e-15 rounds to 1, so the clipping itself would fail
    ("float32", "float32", [CastFloat32(skip=("bce_loss",))], {},
     "every other function computes in float32: right to float32 precision; full marks"),
    ("loops", "loops", [ReplaceFunction("backward", rewritten.tanh_bce_adam_backward_loops)], {},
     "backward one example (column) at a time with Python loops: right; full marks"),
    ("lists", "lists",
     [Replace("train", "params, history", "{name: value.tolist() for name, value in params.items()}, history", count=1)],
     {"q5": SLIP}, "train returns the right final parameters as nested lists: a small part of q5"),
    ("in_place_adam_step", "in-place", [ReplaceFunction("adam_step", rewritten.adam_step_in_place)],
     {"q4": IN_PLACE}, "right values, but the given param, m and v arrays are overwritten, which the prompt "
                       "forbids; train (q5) only calls it"),
    ("in_place_train", "in-place",
     [Replace("train", "{name: np.array(value, dtype=float) for name, value in params.items()}", "params", count=1)],
     {"q5": IN_PLACE}, "the right run, but the updates are stored into the caller's params dict (no copy), "
                       "which the prompt says to leave unchanged"),
    ("output_bias_shape_1", "interface",
     [Replace("backward", "np.sum(dz2, axis=1, keepdims=True)", "np.sum(dz2, axis=1)", count=1)],
     {"q3": SLIP}, "the output bias gradient of shape (1,) instead of (1, 1), its value right: an interface "
                   "slip"),
    ("forward_a2_flat", "interface", [Replace("forward", "sigmoid(z2)", "sigmoid(z2).ravel()", count=1)],
     {"q1": SLIP}, "the right probabilities of shape (m,) instead of (1, m): an interface slip"),
    ("forward_extra_entry", "lenient", [ReturnDict("forward", "extra", ("x", "x"))],
     {"q1": LENIENT}, "forward also returns the input x in its cache, every asked entry right: harmless"),
])
