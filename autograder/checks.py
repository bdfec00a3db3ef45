"""Every comparison the tests make, and every message a student reads when one fails.

Shipped as ``backprop_checks.py`` next to the student notebook and inside the autograder bundle.
The per-question test files stay plain: they call the student's functions through ``call`` and
hand what came back to one of the ``check_*`` functions here, so a message improved once is
improved everywhere. Tests only ever see returned values (numpy arrays, numbers, lists, dicts,
tuples), never the student's function objects beyond calling them: a grader may run the same
tests in another process, with each student function a stub that returns plain data.

Messages lead with the quantity, then expected vs received shape, then the largest absolute and
relative error and where. Public checks show the documented value next to the student's; hidden
checks never show an expected value (nor the student's value, which with the error would give it
away).
"""
import copy

import numpy as np

# Tolerances. Reference values are float64 computations of the same formulas, so a correct answer
# agrees to rounding; summation order can differ, hence a relative tolerance too.
ATOL = 1e-8
RTOL = 1e-6
# Finite differences: CS231n's thresholds for rel_error (see solutions.gradcheck).
SMOOTH_FD_TOLERANCE = 1e-6
KINKED_FD_TOLERANCE = 1e-4

_MAX_PRINT = 12  # arrays with more elements than this are summarised in messages


class CheckFailure(AssertionError):
    """A test failed for a reason the student can act on; the message says what to look at."""


# ----------------------------------------------------------------------------- calling

def call(func, name, *args):
    """Call the student's function ``name`` on copies of ``args`` and return what it returned.

    Fails with a plain message when the function is missing, raises, or returns nothing (the
    untouched ``...`` body returns None).
    """
    if func is None:
        raise CheckFailure(f"{name} is not defined: run the cell that defines it (and every cell above).")
    if not callable(func):
        raise CheckFailure(f"{name} should be a function, but it is a {type(func).__name__}.")
    copies = copy.deepcopy(args)
    try:
        result = func(*copies)
    except Exception as error:  # the student's code raised: say where to look, keep it short
        raise CheckFailure(f"{name}{_signature(args)} raised {type(error).__name__}: {error}") from None
    if result is None or result is Ellipsis:
        raise CheckFailure(f"{name}{_signature(args)} returned None: finish the function and return its result.")
    return result


def _signature(args):
    return "(" + ", ".join(_describe(a) for a in args) + ")"


def _describe(value):
    if isinstance(value, dict):
        return "{" + ", ".join(str(k) for k in value) + "}"
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    return repr(value) if np.ndim(value) == 0 else type(value).__name__


# ----------------------------------------------------------------------------- structure

def check_keys(quantity, received, keys):
    """``received`` must be a dict holding exactly ``keys``."""
    if not isinstance(received, dict):
        raise CheckFailure(f"{quantity}: expected a dict with keys {sorted(keys)}, received a {type(received).__name__}.")
    missing = [k for k in keys if k not in received]
    extra = [k for k in received if k not in keys]
    if missing or extra:
        parts = [f"{quantity}: expected the keys {list(keys)}"]
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"unexpected {extra}")
        raise CheckFailure("; ".join(parts) + ".")


def check_shape_dtype(quantity, received, shape, kind="float"):
    """``received`` must be an array (or a number when ``shape == ()``) of ``shape`` whose dtype is
    a float (``kind="float"``) or an integer (``kind="int"``)."""
    array = _as_array(quantity, received)
    if array.shape != tuple(shape):
        raise CheckFailure(f"{quantity}: wrong shape.\n  expected shape {tuple(shape)}, received {array.shape}"
                           + _shape_hint(array.shape, tuple(shape)))
    wanted = {"float": "f", "int": "iu"}[kind]
    if array.dtype.kind not in wanted:
        raise CheckFailure(f"{quantity}: expected {kind} values, received dtype {array.dtype}"
                           + (" (use floats, e.g. np.zeros(..., dtype=float) or 1.0 instead of 1)" if kind == "float" else "")
                           + ".")


def check_structure(quantity, received, example):
    """``received`` must have the structure of ``example`` (dict keys, tuple/list length, and the
    shape and dtype kind of every array), without comparing values (a wrong shape is still named
    from the example's values when a known mistake explains it)."""
    if isinstance(example, dict):
        check_keys(quantity, received, list(example))
        for key in example:
            check_structure(f"{quantity}[{key!r}]", received[key], example[key])
    elif isinstance(example, (tuple, list)):
        if not isinstance(received, (tuple, list)) or len(received) != len(example):
            raise CheckFailure(f"{quantity}: expected a tuple of {len(example)} items, received {_kind_of(received)}.")
        for i, (r, e) in enumerate(zip(received, example)):
            check_structure(f"{quantity}[{i}]", r, e)
    else:
        e = np.asarray(example)
        try:
            check_shape_dtype(quantity, received, e.shape, "int" if e.dtype.kind in "iub" else "float")
        except CheckFailure as failure:  # a wrong shape can still name its mistake (a bias summed over the units)
            array = _as_array(quantity, received)
            if array.shape == e.shape:
                raise
            raise CheckFailure(str(failure) + _diagnosis(array.astype(float), e.astype(float), None, None)) from None


def _kind_of(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _as_array(quantity, received):
    try:
        array = np.asarray(received)
    except Exception:
        array = np.asarray(None, dtype=object)
    if array.dtype.kind not in "biuf":
        raise CheckFailure(f"{quantity}: expected numbers, received {_kind_of(received)}"
                           + (f" holding {array.dtype}" if isinstance(received, np.ndarray) else "") + ".")
    return array


def _shape_hint(received, expected):
    if len(received) == 2 and received == expected[::-1] and received != expected:
        return "\n  That is the transposed shape: rows and columns are swapped."
    if tuple(s for s in received if s != 1) == tuple(s for s in expected if s != 1):
        return "\n  Same numbers of elements, different axes: check keepdims / reshape (a column vector is (n, 1))."
    if len(received) == len(expected) == 2 and received[0] == expected[0] and received[1] != expected[1]:
        return "\n  The second axis differs: did you sum (or forget to sum) over the batch?"
    return ""


# ----------------------------------------------------------------------------- values

def check_documented(quantity, received, documented, *, atol, cell="", ledger_id="", variants=None,
                     batch_size=None):
    """Compare with a number the worked example prints. Shows the documented value next to the
    student's. ``ledger_id`` names the entry in documented_numbers.json (for traceability)."""
    where = f"the worked example ({cell})" if cell else "the worked example"
    _compare(quantity, received, np.asarray(documented, dtype=float), atol=atol, rtol=0.0, public=True,
             source=f"documented in {where}", variants=variants, batch_size=batch_size)


def check_public(quantity, received, expected, *, atol=ATOL, rtol=RTOL, variants=None, batch_size=None):
    """Compare with the reference on the public worked inputs: expected values may be shown."""
    _walk(quantity, received, expected, lambda q, r, e, v: _compare(
        q, r, e, atol=atol, rtol=rtol, public=True, source="expected", variants=v, batch_size=batch_size),
        variants)


def check_hidden(quantity, received, expected, *, atol=ATOL, rtol=RTOL, variants=None, batch_size=None):
    """Compare with the reference on hidden inputs: shapes, error sizes and locations only."""
    _walk(quantity, received, expected, lambda q, r, e, v: _compare(
        q, r, e, atol=atol, rtol=rtol, public=False, source="", variants=v, batch_size=batch_size),
        variants)


def _walk(quantity, received, expected, compare, variants):
    """Compare nested dicts / tuples / lists key by key; collect every failing part."""
    if isinstance(expected, dict):
        check_keys(quantity, received, list(expected))
        failures = []
        for key in expected:
            sub = _sub_variants(variants, key)
            try:
                _walk(f"{quantity}[{key!r}]", received[key], expected[key], compare, sub)
            except CheckFailure as failure:
                failures.append(str(failure))
        if failures:
            raise CheckFailure("\n\n".join(failures))
    elif isinstance(expected, (tuple, list)) and not _is_numeric_list(expected):
        if not isinstance(received, (tuple, list)) or len(received) != len(expected):
            raise CheckFailure(f"{quantity}: expected a tuple of {len(expected)} items, received {_kind_of(received)}.")
        for i, (r, e) in enumerate(zip(received, expected)):
            _walk(f"{quantity}[{i}]", r, e, compare, _sub_variants(variants, i))
    else:
        compare(quantity, received, np.asarray(expected), variants)


def _is_numeric_list(value):
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except Exception:
        return False


def _sub_variants(variants, key):
    """The part ``key`` of every wrong variant that has it."""
    if not variants:
        return None
    out = {}
    for code, wrong in variants.items():
        try:
            out[code] = wrong[key]
        except (KeyError, IndexError, TypeError):
            continue
    return out or None


def _compare(quantity, received, expected, *, atol, rtol, public, source, variants, batch_size):
    array = _as_array(quantity, received)
    expected = np.asarray(expected)
    if expected.dtype.kind in "iub" and array.dtype.kind in "iub":
        array, expected = array.astype(float), expected.astype(float)
    expected = expected.astype(float)
    array = array.astype(float)
    if array.shape != expected.shape:
        message = (f"{quantity}: wrong shape.\n  expected shape {expected.shape}, received {array.shape}"
                   + _shape_hint(array.shape, expected.shape))
        raise CheckFailure(message + _diagnosis(array, expected, variants, batch_size))
    if np.array_equal(np.isnan(array), np.isnan(expected)) and np.allclose(array, expected, atol=atol, rtol=rtol,
                                                                             equal_nan=True):
        return
    lines = [f"{quantity}: wrong values.", f"  shape {expected.shape} (as expected)"]
    if not np.all(np.isfinite(array)):
        bad = _index(np.argmax(~np.isfinite(array)), array.shape)
        lines.append(f"  your result contains nan or inf (first at index {bad}): look for log(0), "
                     "division by zero or exp overflow")
    else:
        abs_err = np.abs(array - expected)
        rel_err = abs_err / np.maximum(np.abs(expected), 1e-12)
        ia, ir = np.argmax(abs_err), np.argmax(rel_err)
        lines.append(f"  largest absolute error {abs_err.flat[ia]:.3g} at index {_index(ia, array.shape)}; "
                     f"largest relative error {rel_err.flat[ir]:.3g} at index {_index(ir, array.shape)} "
                     f"(tolerance: {atol:g} absolute" + (f" + {rtol:g} relative)" if rtol else ")"))
        wrong = int(np.sum(~np.isclose(array, expected, atol=atol, rtol=rtol)))
        lines.append(f"  {wrong} of {array.size} entries differ")
    if public:
        lines.append(f"  {source}: {_format(expected)}")
        lines.append(f"  {'yours':>{len(source)}}: {_format(array)}")
    else:
        lines.append("  (hidden test: the inputs and expected values are not shown; "
                     "make the public tests pass first, then check your code for other sizes and batches)")
    raise CheckFailure("\n".join(lines) + _diagnosis(array, expected, variants, batch_size))


def _index(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def _format(array):
    array = np.asarray(array)
    if array.size > _MAX_PRINT:
        return f"array{array.shape}, first entries {np.array2string(array.reshape(-1)[:6], precision=8)} ..."
    text = np.array2string(array, precision=8, separator=", ") if array.ndim else repr(float(array))
    return " ".join(text.split())


def _diagnosis(received, expected, variants, batch_size):
    """The line ``Likely mistake (<code>): <what to look at>`` when a known mistake fits."""
    if variants:  # a variant equal to the right answer names nothing
        variants = {code: wrong for code, wrong in variants.items()
                    if np.shape(wrong) != expected.shape or not np.allclose(wrong, expected, atol=1e-12, rtol=0)}
    name_mistake = _name_mistake()
    found = None
    if name_mistake is not None:
        try:
            found = name_mistake(received, expected, variants=variants, batch_size=batch_size)
        except Exception:
            found = None
    if found is None and received.ndim == 2 and received.shape == expected.T.shape and received.shape[0] > 1 \
            and received.shape[1] > 1 and np.allclose(received, expected.T, atol=1e-8, rtol=1e-6):
        found = ("transposed", "your values are the expected ones transposed: rows and columns are swapped")
    if not found:
        return ""
    code, message = found
    message = str(message)
    if message.startswith("Likely mistake"):
        return "\n" + message
    return f"\nLikely mistake ({code}): {message}"


def _name_mistake():
    try:
        from backprop_diagnosis import name_mistake
        return name_mistake
    except ImportError:
        pass
    try:
        from autograder.diagnosis import name_mistake
        return name_mistake
    except ImportError:
        return None


# ----------------------------------------------------------------------------- hidden helpers

def reference_variants(exercise, function, args):
    """Known wrong answers of the reference (``solutions.mistakes``), keyed by mistake code.
    Empty where ``solutions`` is not available (the student's folder) or names none."""
    try:
        from solutions.mistakes import wrong_answers
    except ImportError:
        return {}
    try:
        return dict(wrong_answers(exercise, function, copy.deepcopy(args)) or {})
    except Exception:
        return {}


def random_arrays(rng, shapes, scale=1.0):
    """{name: rng.normal(0, scale, shape)} for every (name, shape) in ``shapes``."""
    return {name: rng.normal(0.0, scale, size=shape) for name, shape in shapes.items()}


def check_against_reference(exercise, function, student, reference, cases, *, atol=ATOL, rtol=RTOL,
                            batch_size_of=None, diagnose=True):
    """Hidden test: the student's ``function`` agrees with ``reference`` on every case of args."""
    for number, args in enumerate(cases, start=1):
        expected = reference(*copy.deepcopy(args))
        received = call(student, function, *args)
        variants = reference_variants(exercise, function, args) if diagnose else None
        batch = batch_size_of(*args) if batch_size_of else None
        try:
            check_hidden(f"{function} (hidden case {number} of {len(cases)}, input {_signature(args)})",
                         received, expected, atol=atol, rtol=rtol, variants=variants, batch_size=batch)
        except CheckFailure as failure:
            raise CheckFailure(str(failure)) from None


def check_gradients_numerically(function, grads, loss, params, *, tolerance=SMOOTH_FD_TOLERANCE):
    """Hidden test: every gradient in ``grads`` agrees with central finite differences of
    ``loss(params)`` (rel_error below ``tolerance``, CS231n's measure)."""
    from solutions.gradcheck import numerical_gradients, rel_error

    numeric = numerical_gradients(loss, params)
    check_keys(f"{function} gradients", grads, list(numeric))
    failures = []
    for name, fd in numeric.items():
        quantity = f"{function}(...)[{name!r}] against finite differences"
        mine = _as_array(quantity, grads[name])
        if mine.shape != fd.shape:
            failures.append(f"{quantity}: wrong shape.\n  expected shape {fd.shape} (the shape of {name}), "
                            f"received {mine.shape}" + _shape_hint(mine.shape, fd.shape))
            continue
        error = rel_error(mine, fd)
        if error > tolerance:
            abs_err = np.abs(mine - fd)
            ia = np.argmax(abs_err)
            failures.append(f"{quantity}: relative error {error:.3g} (tolerance {tolerance:g}); largest absolute "
                            f"error {abs_err.flat[ia]:.3g} at index {_index(ia, mine.shape)}.\n  Your gradient is not "
                            f"the derivative of the loss: nudging {name}{list(_index(ia, mine.shape))} changes the loss "
                            "at a different rate than your gradient says.")
    if failures:
        raise CheckFailure("\n\n".join(failures))
