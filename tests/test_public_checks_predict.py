"""Public checks predict the grade: for every classic mistake, when ``grader.check("qN")`` passes,
the hidden tests of qN pass too (issue 8, point 4).

No notebooks: each exercise is built with Otter Assign and its bundle's test files are read the way
the grader reads them (``autograder.grade.assignments.load_assignment``). For each student-facing
function (the names the test cases take) and each wrong variant of it, the test cases of every
question that calls the function run against a namespace holding the reference functions (``ref``
of the exercise's description) with that one function replaced by the variant. The variants are
the classic mistakes of ``solutions.mistakes`` (every code it knows for the arguments the tests
pass) and a few more written below as plain functions (softmax without the max subtraction, a loss
summed instead of averaged, ...). A *gap* is a variant that passes every public test of a question
and fails one of its hidden tests: the student is told "All test cases passed!" and loses the
question at grading.

    python tests/test_public_checks_predict.py [EXERCISE ...]     # print every variant's outcome
"""
import copy
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from autograder import EXERCISES
from autograder.builder import build, master_path
from autograder.grade.assignments import load_assignment
from solutions import mistakes
from solutions.exercises import reference as exercise_reference

BUILT = [e for e in EXERCISES if master_path(e).exists()]


# ----------------------------------------------------------------------------- extra wrong variants
# Mistakes solutions.mistakes has no variant for (it covers backward passes, updates and loops).
# Each maker takes (exercise, reference module) and returns the wrong function, or None where the
# mistake does not apply to the exercise.

def _softmax_without_max(Z):
    E = np.exp(Z)
    return E / np.sum(E, axis=0, keepdims=True)


def _softmax_whole_array(Z):  # normalised over every entry: right for a batch of one only
    E = np.exp(Z - np.max(Z))
    return E / np.sum(E)


def _softmax_over_rows(Z):
    E = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return E / np.sum(E, axis=1, keepdims=True)


# exercise -> (logits, probabilities) in the forward cache, where the output is a softmax
SOFTMAX_OUTPUT = {"sigmoid_mlp": ("a3", "yhat"), "relu_softmax": ("z3", "a3"), "tanh_softmax_batch": ("Z2", "A2")}


def _forward_with(softmax):
    def make(exercise, ref):
        if exercise not in SOFTMAX_OUTPUT:
            return None
        logits, probabilities = SOFTMAX_OUTPUT[exercise]

        def forward(params, x):
            cache = dict(ref.forward(params, x))
            cache[probabilities] = softmax(cache[logits])
            return cache
        return forward
    return make


def _batch_size(exercise, x):
    return np.shape(x)[0] if exercise == "silu_momentum" else np.shape(x)[1]


def _bias_averaged(exercise, ref):
    """The bias gradients divided by the batch size once more (db = mean of dz over the batch)."""
    def backward(params, cache, x, y):
        grads = dict(ref.backward(params, cache, x, y))
        m = _batch_size(exercise, x)
        return {k: (v / m if k.startswith("b") else v) for k, v in grads.items()}
    return backward


def _loss(expression):
    """A cross-entropy variant of (probabilities, one-hot targets), both (n_classes, batch)."""
    return lambda exercise, ref: (lambda p, y: float(expression(np.asarray(p), np.asarray(y))))


EXTRA_VARIANTS = {
    "softmax": {
        "softmax without the max subtraction": lambda e, ref: _softmax_without_max,
        "softmax normalised over the whole array": lambda e, ref: _softmax_whole_array,
        "softmax over the rows": lambda e, ref: _softmax_over_rows,
    },
    "forward": {
        "forward: softmax without the max subtraction": _forward_with(_softmax_without_max),
        "forward: softmax normalised over the whole array": _forward_with(_softmax_whole_array),
    },
    "cross_entropy": {
        "cross-entropy summed over the batch": _loss(lambda p, y: -np.sum(y * np.log(p))),
        "cross-entropy divided by the number of classes": _loss(lambda p, y: -np.sum(y * np.log(p)) / p.shape[0]),
        "cross-entropy mean over every entry": _loss(lambda p, y: -np.mean(y * np.log(p))),
    },
    "mse_loss": {
        "mse summed": _loss(lambda a, y: np.sum((a - y) ** 2)),
        "mse divided by the batch size only": _loss(lambda a, y: np.sum((a - y) ** 2) / a.shape[1]),
    },
    "bce_loss": {
        "bce without clipping": _loss(lambda p, y: np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))),
        "bce summed": _loss(lambda p, y: np.sum(-(y * np.log(np.clip(p, 1e-15, 1 - 1e-15))
                                                  + (1 - y) * np.log(1 - np.clip(p, 1e-15, 1 - 1e-15))))),
    },
    "backward": {
        "bias gradient averaged over the batch": _bias_averaged,
        "every weight gradient transposed": lambda e, ref: (lambda *args: {
            k: (np.asarray(v).T if k.startswith("W") else v) for k, v in ref.backward(*args).items()}),
        "every gradient negated (y - yhat)": lambda e, ref: (lambda *args: {
            k: -np.asarray(v) for k, v in ref.backward(*args).items()}),
    },
    "one_hot": {
        "one_hot transposed": lambda e, ref: (lambda labels, n: ref.one_hot(labels, n).T),
    },
    "predict": {
        "predict: argmax over the classes' row": lambda e, ref: (
            lambda params, X: np.argmax(ref.forward(params, X)["A2"], axis=1)),
    },
    "relu_derivative": {
        "relu derivative 1 at z = 0": lambda e, ref: (lambda z: (np.asarray(z) >= 0).astype(float)),
    },
}


# ----------------------------------------------------------------------------- running the tests

@dataclass
class Outcome:
    exercise: str
    function: str
    question: str
    variant: str
    public_failed: list
    hidden_failed: list

    @property
    def gap(self):
        return not self.public_failed and bool(self.hidden_failed)


def _needs(case):
    return list(inspect.signature(case.body.test_func).parameters)


def _run(test_file, namespace):
    """(failing public tests, failing hidden tests) of one question's test file, by function name."""
    public, hidden = [], []
    for case in test_file.test_cases:
        try:
            with np.errstate(all="ignore"):
                case.body.call_func(namespace)
        except Exception:
            (hidden if case.hidden else public).append(case.body.test_func.__name__)
    return public, hidden


def _mistake_variant(ref, function, reference, code):
    """The variant ``code`` of solutions.mistakes as a function: on arguments where that mistake
    changes nothing (a batch of one for "summed-not-averaged") it answers like the reference; where
    it cannot run (shapes that do not fit) it raises, as the student's code would."""
    def wrong(*args):
        variants = mistakes.variants(ref, function, tuple(args))
        if code not in variants:
            return reference(*args)
        return variants[code]()
    return wrong


def outcomes(exercise, exercise_dir):
    """Every (function, question, variant) of one built exercise, with what its tests say."""
    assignment = load_assignment(exercise_dir)
    ref = exercise_reference(exercise)
    results = []
    with assignment.helpers_installed():
        files = {f.name: f for f in assignment.fresh_tests()}  # question name -> its test file
        functions = sorted({name for f in files.values() for case in f.test_cases for name in _needs(case)})
        reference = {name: getattr(ref, name) for name in functions}
        for question, test_file in files.items():  # the reference passes everything
            assert _run(test_file, reference) == ([], []), f"{exercise} {question}: the reference fails its tests"
        for function in functions:
            questions = [q for q, f in files.items() if any(function in _needs(c) for c in f.test_cases)]
            # the mistake codes that apply to the arguments the tests pass
            calls = []

            def spy(*args, _reference=reference[function]):
                calls.append(copy.deepcopy(args))
                return _reference(*args)
            for q in questions:
                _run(files[q], dict(reference, **{function: spy}))
            codes = set()
            for args in calls:
                try:
                    codes |= set(mistakes.variants(ref, function, args))
                except (KeyError, IndexError, TypeError, ValueError):
                    continue
            variants = {code: _mistake_variant(ref, function, reference[function], code) for code in sorted(codes)}
            for label, make in EXTRA_VARIANTS.get(function, {}).items():
                wrong = make(exercise, ref)
                if wrong is not None:
                    variants[label] = wrong
            for label, wrong in variants.items():
                namespace = dict(reference, **{function: wrong})
                for q in questions:
                    public, hidden = _run(files[q], namespace)
                    results.append(Outcome(exercise, function, q, label, public, hidden))
    return results


def format_gaps(gaps):
    return "\n".join(f"  {o.exercise} {o.question} {o.function}: {o.variant} (hidden failing: "
                     f"{', '.join(o.hidden_failed)})" for o in gaps)


@pytest.mark.parametrize("exercise", BUILT)
def test_public_checks_predict_the_grade(exercise, tmp_path):
    build([exercise], tmp_path, progress=False)
    found = outcomes(exercise, tmp_path / exercise)
    caught = sum(1 for o in found if o.public_failed)
    print(f"\n{exercise}: {len(found)} (variant, question) pairs, {caught} caught by the public tests, "
          f"{sum(1 for o in found if not o.public_failed and not o.hidden_failed)} caught by neither")
    tried = {o.variant for o in found if o.function == "backward"}
    assert {"bias-not-summed", "summed-not-averaged"} <= tried, f"{exercise}: the classic mistakes were not tried"
    assert caught, f"{exercise}: no variant fails a public test: the test cases did not run"
    gaps = [o for o in found if o.gap]
    assert not gaps, (f"{exercise}: {len(gaps)} mistake(s) pass every public test of a question and fail its "
                      f"hidden tests:\n" + format_gaps(gaps))


def main(argv):
    import tempfile
    exercises = argv or BUILT
    with tempfile.TemporaryDirectory() as out:
        build(exercises, out, progress=False)
        for exercise in exercises:
            for o in outcomes(exercise, Path(out) / exercise):
                status = ("GAP" if o.gap else "public catches" if o.public_failed
                          else "neither catches")
                print(f"{o.exercise:20} {o.question:3} {o.function:22} {status:16} {o.variant}")


if __name__ == "__main__":
    main(sys.argv[1:])
