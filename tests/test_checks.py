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


def test_finite_difference_check_catches_a_wrong_gradient():
    W = np.array([[1.0, 2.0], [-1.0, 0.5]])
    loss = lambda p: float(np.sum(p["W"] ** 3))
    bc.check_gradients_numerically("backward", {"W": 3 * W ** 2}, loss, {"W": W})
    text = failure(bc.check_gradients_numerically, "backward", {"W": 3 * W.T ** 2}, loss, {"W": W})
    assert "against finite differences" in text and "relative error" in text
