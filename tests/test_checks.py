"""backprop_checks (autograder/checks.py): messages a student can act on, hidden data kept hidden."""
import numpy as np
import pytest

from autograder import checks as bc

RIGHT = np.array([[0.25, -1.5, 2.0], [3.0, 0.125, -4.0]])


def failure(fn, *args, **kwargs):
    with pytest.raises(bc.CheckFailure) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_correct_answers_pass():
    bc.check_public("dW", RIGHT + 1e-12, RIGHT)
    bc.check_hidden("grads", {"W": RIGHT, "b": (1.0, [2.0])}, {"W": RIGHT, "b": (1.0, [2.0])})
    bc.check_documented("loss", 0.8563785622753883, 0.8563785622753883, atol=1e-12)
    bc.check_structure("out", {"a": np.zeros((2, 1))}, {"a": np.ones((2, 1))})


def test_public_message_leads_with_quantity_and_shows_documented_value_and_where():
    wrong = RIGHT.copy()
    wrong[1, 2] = 5.0
    text = failure(bc.check_documented, "dL/dW3", wrong, RIGHT, atol=5e-9, cell="In [53]")
    assert text.startswith("dL/dW3: wrong values.")
    assert "largest absolute error 9 at index (1, 2)" in text
    assert "documented in the worked example (In [53])" in text and "-4." in text and "5." in text


def test_a_number_the_worked_example_did_not_print_names_its_own_source():
    source = "computed by the reference run with np.random.default_rng(4)"
    text = failure(bc.check_documented, "loss", 0.25, 0.23611863499918898, atol=1e-12, source=source)
    assert f"{source}: 0.2361" in text and "worked example" not in text


def test_hidden_message_never_shows_expected_or_received_values():
    secret = np.array([[0.123456789, 9.87654321]])
    text = failure(bc.check_hidden, "backward(...)['W1']", secret + 0.5, secret)
    assert "0.1234" not in text and "9.876" not in text and "0.6234" not in text
    assert "largest absolute error 0.5 at index (0, 0)" in text and "hidden test" in text


def test_transposed_shape_and_transposed_square_values_are_named():
    assert "expected shape transposed" in failure(bc.check_hidden, "dW", RIGHT.T, RIGHT)
    square = np.arange(9.0).reshape(3, 3)
    assert "transposed" in failure(bc.check_public, "dW", square.T, square).lower()


def test_diagnosis_line_from_variants():
    text = failure(bc.check_public, "db", -RIGHT, RIGHT, variants={"sign-flipped": -RIGHT})
    assert "Likely mistake (sign-flipped)" in text


def test_missing_function_none_result_and_exceptions_are_plain_messages():
    assert "is not defined" in failure(bc.call, None, "forward", 1)
    assert "returned None" in failure(bc.call, lambda x: None, "forward", np.zeros((2, 1)))
    text = failure(bc.call, lambda x: x @ np.zeros((3, 3)), "forward", np.zeros((2, 1)))
    assert text.startswith("forward(array(2, 1)) raised ValueError")


def test_call_passes_copies_so_students_cannot_change_the_test_inputs():
    x = np.zeros(3)
    bc.call(lambda a: a.fill(7) or a, "f", x)
    assert not x.any()


def test_dict_keys_dtype_and_nan_messages():
    assert "missing ['b']" in failure(bc.check_public, "grads", {"W": RIGHT}, {"W": RIGHT, "b": RIGHT})
    assert "expected int values" in failure(bc.check_shape_dtype, "predict", np.zeros(3), (3,), "int")
    assert "nan or inf" in failure(bc.check_public, "loss", np.array([np.nan, 1.0]), np.array([1.0, 1.0]))


def test_a_part_of_a_result_is_named_right_after_the_call_not_after_where_it_ran():
    wrong = {"W": RIGHT + 1.0}
    text = failure(bc.check_public, "backward(params, x) on the worked example", wrong, {"W": RIGHT})
    assert text.startswith("backward(params, x)['W'] on the worked example: ")
    text = failure(bc.check_hidden, "backward (hidden case 1 of 3, input (array(3, 1)))", (RIGHT, wrong), (RIGHT, {"W": RIGHT}))
    assert text.startswith("backward[1]['W'] (hidden case 1 of 3, input (array(3, 1))): ")
    assert failure(bc.check_public, "the gradients", wrong, {"W": RIGHT}).startswith("the gradients['W']: ")


def test_finite_difference_check_catches_a_wrong_gradient():
    W = np.array([[1.0, 2.0], [-1.0, 0.5]])
    loss = lambda p: float(np.sum(p["W"] ** 3))
    bc.check_gradients_numerically("backward", {"W": 3 * W ** 2}, loss, {"W": W})
    text = failure(bc.check_gradients_numerically, "backward", {"W": 3 * W.T ** 2}, loss, {"W": W})
    assert "against finite differences" in text and "relative error" in text


# ----------------------------------------------------------------------------- the grading policy's checks

def _student_namespace(source):
    """Functions defined as a student's notebook defines them (one globals dict)."""
    namespace = {"np": np}
    exec(source, namespace)
    return namespace


def _right(*names):
    """The master solution's functions, as source a student would have written."""
    import inspect
    from solutions.exercises import load
    form = load("sigmoid_mlp")
    return "\n".join(inspect.getsource(getattr(form, n)) for n in names)


SIGMOID_MLP_WRONG_SOFTMAX = _right("sigmoid", "forward") + '''
def softmax(a):
    e = np.exp(a)
    return e / np.sum(e, axis=1, keepdims=True)   # the wrong axis
def forward_with_odd_softmax_call(params, x):
    out = forward(params, x)
    out["probe"] = softmax(np.full((3, 2), 7.0))   # arguments the test does not determine
    return out
'''


def _sigmoid_mlp_case(m=4):
    from solutions.networks import sigmoid_mlp as ref
    rng = np.random.default_rng(3)
    params = {k: rng.normal(size=s) for k, s in
              {"W1": (3, 3), "b1": (3, 1), "W2": (3, 3), "b2": (3, 1), "W3": (3, 3), "b3": (3, 1)}.items()}
    x = rng.normal(size=(3, m))
    return ref, params, x


def test_a_wrong_earlier_function_is_supplied_correct_so_the_later_question_keeps_its_points():
    ref, params, x = _sigmoid_mlp_case()
    ns = _student_namespace(SIGMOID_MLP_WRONG_SOFTMAX)
    expected = ref.forward(params, x)
    # without the exercise (the student's machine): the wrong softmax cascades into forward
    with pytest.raises(bc.CheckFailure):
        bc.check_public("forward", bc.call(ns["forward"], "forward", params, x), expected)
    # with it (grader, otter run): forward is judged on its own
    bc.check_public("forward", bc.call(ns["forward"], "forward", params, x, exercise="sigmoid_mlp"), expected)
    assert ns["softmax"].__name__ == "softmax" and ns["softmax"](np.zeros((2, 1))).shape == (2, 1)  # restored


def test_supplied_calls_are_no_oracle_a_call_the_test_does_not_determine_runs_the_students_own():
    ref, params, x = _sigmoid_mlp_case()
    ns = _student_namespace(SIGMOID_MLP_WRONG_SOFTMAX)
    out = bc.call(ns["forward_with_odd_softmax_call"], "forward", params, x, exercise="sigmoid_mlp")
    probe = np.full((3, 2), 7.0)
    own = np.exp(probe) / np.sum(np.exp(probe), axis=1, keepdims=True)
    assert np.allclose(out["probe"], own) and not np.allclose(out["probe"], ref.softmax(probe))


def test_supplied_calls_record_what_a_right_answer_calls():
    ref, params, x = _sigmoid_mlp_case(m=2)
    table = bc.supplied_calls("sigmoid_mlp", "forward", (params, x))
    assert table.names() == ["sigmoid", "softmax"]
    cache = ref.forward(params, x)
    found, value = table.lookup("softmax", (cache["a3"] * (1 + 1e-9),), {})
    assert found and np.allclose(value, cache["yhat"])
    assert table.lookup("softmax", (cache["a3"] + 1e-3,), {}) == (False, None)
    assert bc.dependencies(bc.reference_form("silu_momentum"), "train_momentum") >= {
        "forward", "backward", "bce_loss", "momentum_step", "silu", "silu_derivative"}


def test_supplied_calls_are_recorded_once_per_arguments_each_use_with_its_own_lookup_state(monkeypatch):
    ref, params, x = _sigmoid_mlp_case(m=2)
    recorded = []
    real = bc._record_supplied_calls
    monkeypatch.setattr(bc, "_record_supplied_calls", lambda *a: recorded.append(a[1]) or real(*a))
    monkeypatch.setattr(bc, "_MEMO", {})
    first = bc.supplied_calls("sigmoid_mlp", "forward", (params, x))
    cache = ref.forward(params, x)
    assert first.lookup("softmax", (cache["a3"] + 1e-3,), {}) == (False, None) and first.unanswered
    again = bc.supplied_calls("sigmoid_mlp", "forward", (params, x))
    assert recorded == ["forward"]  # the reference ran once
    assert again is not first and not again.unanswered and again.entries is first.entries
    found, value = again.lookup("softmax", (cache["a3"],), {})
    assert found and np.allclose(value, cache["yhat"])
    value[...] = 0  # a caller's copy: the shared table keeps the reference's value
    assert np.allclose(bc.supplied_calls("sigmoid_mlp", "forward", (params, x)).lookup(
        "softmax", (cache["a3"],), {})[1], cache["yhat"])
    other = {k: v * 2 for k, v in params.items()}  # other arguments (even one bit): recorded afresh
    assert not np.allclose(bc.supplied_calls("sigmoid_mlp", "forward", (other, x)).entries["softmax"][0][1],
                           cache["yhat"])
    assert recorded == ["forward", "forward"]
    assert bc._arguments_key((params, x)) != bc._arguments_key((params, x.astype(np.float32)))
    assert bc._arguments_key(([1], )) != bc._arguments_key(((1,), )) and bc._arguments_key((object(),)) is None


def test_known_wrong_answers_are_computed_once_per_arguments_and_handed_out_as_copies(monkeypatch):
    import solutions.mistakes
    _, params, x = _sigmoid_mlp_case(m=2)
    monkeypatch.setattr(bc, "_MEMO", {})
    calls = []
    real = solutions.mistakes.wrong_answers
    monkeypatch.setattr(solutions.mistakes, "wrong_answers", lambda *a: calls.append(a[1]) or real(*a))
    grads = {k: np.ones_like(v) for k, v in params.items()}
    first = bc.reference_variants("sigmoid_mlp", "sgd_step", (params, grads, 0.1))
    assert first and calls == ["sgd_step"]
    code = next(iter(first))
    expected = bc.copy.deepcopy(first[code])
    first[code] = None  # the caller's copy
    again = bc.reference_variants("sigmoid_mlp", "sgd_step", (params, grads, 0.1))
    assert calls == ["sgd_step"] and bc.same_value(again[code], expected)


def test_the_hint_names_the_students_own_functions_a_call_ran():
    ref, params, x = _sigmoid_mlp_case()
    ns = _student_namespace(SIGMOID_MLP_WRONG_SOFTMAX)
    out = bc.call(ns["forward_with_odd_softmax_call"], "forward", params, x, exercise="sigmoid_mlp")
    message = failure(bc.check_hidden, "forward", out["probe"], np.zeros((3, 2)))
    assert "called your own `softmax`" in message


def test_in_place_changes_are_detected_and_named():
    def sgd_in_place(params, grads, lr):
        for k in params:
            params[k] -= lr * grads[k]
        return params

    def sgd_new(params, grads, lr):
        return {k: params[k] - lr * grads[k] for k in params}

    p, g = {"W": np.ones((2, 2))}, {"W": np.ones((2, 2))}
    message = failure(bc.check_inputs_unchanged, sgd_in_place, "sgd_step", p, g, 0.1,
                      names=["params", "grads", "lr"])
    assert "changed `params` in place" in message
    bc.check_inputs_unchanged(sgd_new, "sgd_step", p, g, 0.1)
    assert np.array_equal(p["W"], np.ones((2, 2)))  # the test's own arguments are never touched


def test_float32_precision_passes_with_a_note_and_real_errors_still_fail(capsys):
    expected = np.array([[0.123456789, -2.5], [3.75, 1e-3]])
    single = (expected * (1 + 5e-6)).astype(np.float32)  # float32 rounding, accumulated over a few operations
    bc.check_public("dW", single, expected)
    assert "float32-precision" in capsys.readouterr().out
    bc.collect_notes()
    try:
        bc.check_hidden("dW", single, expected)
        assert [n["code"] for n in bc.take_notes()] == ["float32-precision"]
    finally:
        bc._notes.collecting = False
    assert "wrong values" in failure(bc.check_public, "dW", expected * 1.001, expected)


def test_interface_slips_pass_the_value_checks_and_fail_only_the_interface_check():
    expected = {"W": np.ones((2, 3)), "b": np.ones((2, 1))}
    slipped = {"W": np.ones((2, 3)), "b": np.ones(2), "extra": 1.0}
    bc.check_public("grads", slipped, expected)
    bc.check_structure("grads", slipped, expected)
    bc.check_public("grads", (np.ones((2, 3)), np.ones((2, 1))), expected)  # a tuple in the dict's order
    assert "wrong shape" in failure(bc.check_interface, "grads", slipped, expected)
    assert "numpy array" in failure(bc.check_interface, "W", [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], np.ones((2, 3)))
    assert "wrong shape" in failure(bc.check_public, "W", np.ones((3, 2)), np.ones((2, 3)))  # transposed is not a slip


def test_a_failure_fits_one_screen():
    expected = {f"W{i}": np.arange(12.0).reshape(3, 4) for i in range(8)}
    received = {k: -v - 1 for k, v in expected.items()}
    message = failure(bc.check_public, "grads", received, expected)
    assert len(message.splitlines()) <= bc.MAX_LINES + 1 and "more wrong part" in message


def test_test_cells_echo_a_short_line_on_failure():
    from autograder.builder.notebooks import test_source
    from solutions.describe import Test
    body = f"received = bc.call(f, 'f', 1.0)\nbc.check_public('f(1)', received, np.array({[float(i) for i in range(200)]}))"
    source = test_source(Test("test_f", ("f",), body), "sigmoid_mlp")
    check_line = next(line for line in source.splitlines() if "check_public" in line)
    assert len(check_line) < 100, check_line


def test_a_digested_pattern_matches_exactly_when_matches_does():
    """_Pattern (one vector compare per lookup) is _matches, faster: same answer on every pair."""
    import itertools
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 3))
    values = [a, {"W": a, "b": a[:, :1]}, (a, 0.3, 100), {"p": {"W": a}, "x": [1.0, 2.0], "s": "relu", "n": None},
              {}, [], {"a": {}}, [a, [a, a]], np.array([np.nan, 1.0]), np.array([np.inf, 1.0]), np.zeros((0, 3)),
              3, 2.5, True, [1, 2, 3], ("a", 1)]

    def near(v):
        if isinstance(v, np.ndarray):
            return [v, v * (1 + 1e-7), v + 1e-3, v.astype(np.float32), v.T, v.reshape(-1), v.tolist()]
        if isinstance(v, dict):
            return [v, dict(v, extra=1), dict(list(v.items())[1:]), list(v.values()),
                    {k: x * 1.001 if isinstance(x, np.ndarray) else x for k, x in v.items()}]
        if isinstance(v, (list, tuple)):
            return [v, list(v), tuple(v), v[:-1] if v else [1], {}]
        return [v, v + 1e-12 if isinstance(v, float) else v, "x", None, [v]]

    with np.errstate(all="ignore"):
        for recorded in values:
            pattern = bc._Pattern(recorded)
            for received in itertools.chain.from_iterable(near(v) for v in values):
                assert pattern.matches(received) == bc._matches(received, recorded), (recorded, received)


def test_binding_fast_path_agrees_with_signature_bind_and_shared_lookup_is_not_copied():
    import inspect

    def f(a, b, c=3):
        pass

    def g(a, *, b):
        pass

    def h(*a):
        pass

    for func, args, kwargs in [(f, (1, 2), {}), (f, (1, 2, 4), {}), (f, (1,), {"b": 2}), (g, (1,), {"b": 2}),
                               (h, (1, 2), {}), (f, (1, 2, 3, 4), {}), (g, (1, 2), {})]:
        signature = inspect.signature(func)
        try:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            expected = dict(bound.arguments)
        except TypeError:
            expected = None
        assert bc._bind(signature, args, kwargs) == expected
    ref, params, x = _sigmoid_mlp_case(m=2)
    table = bc.supplied_calls("sigmoid_mlp", "forward", (params, x))
    a3 = ref.forward(params, x)["a3"]
    shared = table.lookup_shared("softmax", (a3,), {})[1]
    assert shared is table.entries["softmax"][0][1] and table.lookup("softmax", (a3,), {})[1] is not shared


# ----------------------------------------------------------------------------- worked examples as data

def _steps(expected_sum):
    return [("call", "out", "f", (np.array([1.0, 2.0]),)),
            ("structure", "f(x)", ("result", "out"), {"y": np.zeros(2)}),
            ("documented", "sum of y", ("sum", ("result", "out", "y")), expected_sum,
             {"atol": 1e-12, "cell": "In [1]", "ledger_id": "y_sum"}),
            ("public", "y[1] over y[0]", ("over", ("result", "out", "y", 1), ("result", "out", "y", 0)), 2.0, {})]


def test_worked_example_steps_check_views_of_the_results():
    bc.check_worked_example(_steps(6.0), functions={"f": lambda x: {"y": 2 * x}})
    text = failure(bc.check_worked_example, _steps(7.0), functions={"f": lambda x: {"y": 2 * x}})
    assert text.startswith("sum of y: wrong values.") and "documented in the worked example (In [1])" in text
    assert "missing ['y']" in failure(bc.check_worked_example, _steps(6.0), functions={"f": lambda x: {"z": x}})
    assert "f is not defined" in failure(bc.check_worked_example, _steps(6.0), functions={})


def test_a_view_the_result_lacks_fails_with_a_message_not_a_traceback():
    steps = [("call", "out", "f", (1.0,)), ("public", "out[3]", ("result", "out", 3), 1.0, {})]
    assert "has no part 3" in failure(bc.check_worked_example, steps, functions={"f": lambda x: [x]})
    product = ("matmul", ("value", np.ones((2, 3))), ("result", "out"))
    steps = [("call", "out", "f", (1.0,)), ("public", "a @ b", product, 1.0, {})]
    assert "cannot compute it" in failure(bc.check_worked_example, steps, functions={"f": lambda x: np.ones(2)})


def test_an_accepted_alternative_passes_with_a_note_and_skips_the_rest():
    steps = [("call", "out", "f", (1.0,)), ("accept", ("result", "out"), 3.0, "other-answer", "also right"),
             ("public", "f(1)", ("result", "out"), 2.0, {})]
    bc.collect_notes()
    bc.check_worked_example(steps, functions={"f": lambda x: 3.0})
    assert bc.take_notes() == [{"code": "other-answer", "message": "also right"}]
    assert "f(1): wrong values." in failure(bc.check_worked_example, steps, functions={"f": lambda x: 4.0})
