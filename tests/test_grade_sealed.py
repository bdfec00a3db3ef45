"""The sealed supplied-calls table (``autograder.grade.sealed``): the submission's process answers
the dependency calls a test determines without a round trip, with exactly the answers the grader
would give, and cannot read an answer without presenting its call's exact arguments."""
import base64
import copy
import json

import nbformat
import numpy as np
import pytest

import autograder.checks as bc
from autograder.grade import protocol, runner, sealed
from autograder.grade.assignments import load_assignment, modules_installed

LIMIT = 4 << 20


def _roundtrip(value):
    return protocol.decode(json.loads(json.dumps(protocol.encode(value, LIMIT))), LIMIT)


def _same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes() and a.flags.writeable
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return a == b or (a != a and b != b)


PLAIN = [None, True, False, 0, -7, 2**80, 0.5, -0.0, float("nan"), "", "é\udcff", [1, 2.0, "x"], (1, (2,)),
         {"W1": np.arange(6.0).reshape(2, 3), "b": np.zeros((2, 1), np.float32)}, np.array(3.0),
         np.zeros((0, 3)), np.arange(4, dtype=np.int8)[::2], np.array([True, False]), np.float64(1.5),
         np.int32(-3), np.complex128(1 + 2j), np.ones((2, 2)).T, {"": [], "n": {}}]
NOT_PLAIN = [np.matrix([[1.0]]), np.ma.masked_array([1.0]), np.array([object()]), {1: 2}, type("F", (float,), {})(1.0),
             np.zeros(2, dtype=[("a", "f8")]), np.array(["a"]), object(), {"k": [np.matrix([[1.0]])]}]


@pytest.mark.parametrize("value", PLAIN, ids=range(len(PLAIN)))
def test_packed_values_unpack_as_the_protocol_delivers_them(value):
    assert _same(sealed.unpack(sealed.pack(value, LIMIT)), _roundtrip(value))


@pytest.mark.parametrize("value", NOT_PLAIN, ids=range(len(NOT_PLAIN)))
def test_pack_refuses_what_the_protocol_refuses(value):
    with pytest.raises(protocol.NotPlainData):
        protocol.encode(value, LIMIT)
    with pytest.raises(protocol.NotPlainData):
        sealed.pack(value, LIMIT)


def test_packing_tells_apart_what_the_protocol_tells_apart():
    values = [1, 1.0, True, np.float64(1.0), np.array(1.0), np.array([1.0]), np.array([[1.0]]), [1.0], (1.0,),
              np.array([1.0], np.float32), "1", {"a": 1.0}, {"b": 1.0}, [[1.0]], ["ab"], ["a", "b"]]
    packed = [sealed.pack(v, LIMIT) for v in values]
    assert len(set(packed)) == len(values)


def _train_case():
    from solutions.networks import relu_mse_training as ref
    X, y = ref.inputs()
    return ref, ref.initial_params(), X, y


def test_the_sealed_table_answers_a_right_answers_calls_as_the_grader_does():
    ref, params, X, y = _train_case()
    args = (params, X, y, 0.3, 5)
    table = bc.supplied_calls("relu_mse_training", "train", args)
    box = sealed.seal(table, LIMIT)
    opener = sealed.Opener(json.loads(json.dumps(box)), LIMIT)
    grader = table.fresh()
    p = copy.deepcopy(params)
    for _ in range(5):  # train's loop, making the calls as a right answer does
        cache = opener.open("forward", (p, X))
        assert _same(cache, grader.lookup("forward", [p, X], {})[1])
        loss = opener.open("mse_loss", (cache["a2"], y))
        assert _same(loss, grader.lookup("mse_loss", [cache["a2"], y], {})[1])
        grads = opener.open("backward", (p, cache, X, y))
        assert _same(grads, grader.lookup("backward", [p, cache, X, y], {})[1])
        step = opener.open("gradient_descent_step", (p, grads, 0.3))
        assert _same(step, grader.lookup("gradient_descent_step", [p, grads, 0.3], {})[1])
        p = step
    final = ref.train(copy.deepcopy(params), X, y, 0.3, 5)[0]
    assert all(np.array_equal(p[k], final[k]) for k in final)
    assert not grader.unanswered


def test_a_call_that_is_not_bit_for_bit_a_recorded_one_is_left_to_the_grader():
    ref, params, X, y = _train_case()
    table = bc.supplied_calls("relu_mse_training", "train", (params, X, y, 0.3, 3))
    opener = sealed.Opener(sealed.seal(table, LIMIT), LIMIT)
    nudged = {k: np.nextafter(v, np.inf) if k == "b2" else v for k, v in params.items()}
    assert opener.open("forward", (nudged, X)) is sealed.MISS           # within the grader's tolerance: it decides
    assert opener.open("forward", (params, X.astype(np.float32))) is sealed.MISS
    assert opener.open("forward", (dict(reversed(list(params.items()))), X)) is sealed.MISS
    assert opener.open("forward", [params, X]) is not sealed.MISS       # the recorded call itself
    # the same arguments again: the grader's lookup would now start at the next entry, so it decides
    assert opener.open("forward", (params, X)) is sealed.MISS
    opener.moved("forward", 0)                                          # the grader says where it starts
    assert opener.open("forward", (params, X)) is not sealed.MISS


def test_the_sealed_table_holds_no_readable_result():
    ref, params, X, y = _train_case()
    table = bc.supplied_calls("relu_mse_training", "train", (params, X, y, 0.3, 4))
    box = sealed.seal(table, LIMIT)
    text = json.dumps(box)
    boxes = b"".join(base64.b64decode(entry[2]) for found in box["calls"].values() for entry in found["sealed"])
    final = ref.train(copy.deepcopy(params), X, y, 0.3, 4)
    for name, rows in table.entries.items():
        for _, result in rows:
            for leaf in (result.values() if isinstance(result, dict) else [result]):
                raw = np.asarray(leaf, dtype=float).tobytes()
                assert raw not in boxes
                assert base64.b64encode(raw).decode()[:16] not in text
    for leaf in final[0].values():
        assert leaf.tobytes()[:16] not in boxes
    # wrong arguments give nothing, whatever the position
    opener = sealed.Opener(box, LIMIT)
    for position in range(5):
        opener.moved("gradient_descent_step", position)
        assert opener.open("gradient_descent_step", (params, params, 0.3)) is sealed.MISS


def _notebook(train_source):
    from pathlib import Path
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "examples" / "relu_mse_training" / "correct.ipynb",
                       as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith("def train("):
            cell.source = train_source
    return nbformat.writes(nb).encode()


ODD_TRAINS = {
    "as_written": None,
    "forward_twice": '''def train(params, X, y, lr, epochs):
    losses = []
    for _ in range(epochs):
        losses.append(mse_loss(forward(params, X)["a2"], y))
        cache = forward(params, X)
        params = gradient_descent_step(params, backward(params, cache, X, y), lr)
    return params, losses''',
    "nudged_and_keywords": '''def train(params, X, y, lr, epochs):
    losses = []
    for e in range(epochs):
        if e % 2:
            params = {k: v * (1 + 1e-13) for k, v in params.items()}
        cache = forward(params=params, X=X) if e % 3 == 0 else forward(params, X)
        losses.append(mse_loss(cache["a2"].tolist(), y))
        params = gradient_descent_step(params, backward(params, cache, X, y), np.float64(lr))
    return params, losses''',
    "reads_the_table": '''def train(params, X, y, lr, epochs):
    seen = []
    def walk(obj, depth=0):
        if depth < 8 and isinstance(obj, dict):
            for v in list(obj.values()): walk(v, depth + 1)
        elif depth < 8 and isinstance(obj, (list, tuple)):
            for v in obj: walk(v, depth + 1)
        elif depth < 8 and hasattr(obj, "__dict__") and not isinstance(obj, type):
            walk(vars(obj), depth + 1)
        else:
            seen.append(obj)
    for f in (forward, mse_loss, backward, gradient_descent_step):
        for cell in f.__closure__ or ():
            walk(cell.cell_contents)
    arrays = [v for v in seen if isinstance(v, np.ndarray) and v.shape == params["W1"].shape]
    return ({**params, "W1": arrays[-1]} if arrays else params), [0.0] * epochs''',
}


@pytest.fixture(scope="module")
def relu_mse(dist):
    out, _ = dist
    return load_assignment(out / "relu_mse_training")


@pytest.mark.parametrize("name", list(ODD_TRAINS))
def test_grades_are_the_same_with_and_without_the_sealed_table(relu_mse, name, monkeypatch):
    data = _notebook(ODD_TRAINS[name]) if ODD_TRAINS[name] else None
    if data is None:
        from pathlib import Path
        data = (Path(__file__).resolve().parents[1] / "examples" / "relu_mse_training" / "correct.ipynb").read_bytes()
    asked = []
    real_supply = runner._Session._supply
    monkeypatch.setattr(runner._Session, "_supply", lambda self, r, s: asked.append(r) or real_supply(self, r, s))

    def grade():
        with modules_installed([relu_mse]):
            result = runner.grade_notebook(data, relu_mse.fresh_tests(), support_files=dict(relu_mse.support_files))
        return [(q, t["name"], t["passed"], t["message"]) for q, r in result["questions"].items() for t in r["tests"]]

    sealed_run, round_trips = grade(), len(asked)
    monkeypatch.setattr(runner, "_sealed_table", lambda supplied, limit: None)
    asked.clear()
    assert grade() == sealed_run
    if name == "reads_the_table":  # it found nothing to use: its losses are wrong, its parameters unchanged
        assert [passed for q, _, passed, _ in sealed_run if q == "q5"] == [True, False, False]
    else:
        assert len(asked) > 500  # the training loop's calls, one round trip each without the table
    if name == "as_written":
        assert round_trips == 0 and all(passed for _, _, passed, _ in sealed_run)
