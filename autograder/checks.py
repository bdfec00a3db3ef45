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
import hashlib
import inspect
import re
import threading
import types

import numpy as np

# Tolerances. Reference values are float64 computations of the same formulas, so a correct answer
# agrees to rounding; summation order can differ, hence a relative tolerance too.
ATOL = 1e-8
RTOL = 1e-6
# Finite differences: CS231n's thresholds for rel_error (see solutions.gradcheck).
SMOOTH_FD_TOLERANCE = 1e-6
KINKED_FD_TOLERANCE = 1e-4

# float32: an answer that agrees to single precision is right math computed in the wrong type.
# |received - expected| <= FLOAT32_ATOL * max|expected| + FLOAT32_RTOL * |expected|
FLOAT32_RTOL = 1e-4
FLOAT32_ATOL = 1e-5
FLOAT32_FD_TOLERANCE = 1e-3
# What float32 precision costs: "note" (default: right, with a note) or "fail".
FLOAT32_POLICY = "note"

_MAX_PRINT = 12  # arrays with more elements than this are summarised in messages
MAX_PARTS = 3    # a failure message shows at most this many wrong parts (dict keys, tuple items)
MAX_LINES = 24   # and at most this many lines: several failures fit one screen


class CheckFailure(AssertionError):
    """A test failed for a reason the student can act on; the message says what to look at."""


# ----------------------------------------------------------------------------- calling

def call(func, name, *args, exercise=None):
    """Call the student's function ``name`` on copies of ``args`` and return what it returned.

    Fails with a plain message when the function is missing, raises, or returns nothing (the
    untouched ``...`` body returns None). With ``exercise`` and the reference available (the
    grader, ``otter run``), the student's other functions that ``name`` calls are answered with
    the reference's values on exactly the arguments a right answer passes them (see
    ``supplied_calls``), so one wrong function costs its own question only.
    """
    return call_checked(func, name, args, exercise=exercise)[0]


def call_checked(func, name, args, *, exercise=None):
    """``call``, also returning the positions of the arguments the function changed in place."""
    if func is None:
        raise CheckFailure(f"{name} is not defined: run the cell that defines it (and every cell above).")
    if not callable(func):
        raise CheckFailure(f"{name} should be a function, but it is a {type(func).__name__}.")
    _notes.own_calls = None
    supplied = supplied_calls(exercise, name, args) if exercise else None
    try:
        if hasattr(func, "call_by_value"):  # the grader's stand-in: runs in the submission's process
            result, changed = func.call_by_value(copy.deepcopy(args), supplied)
        else:
            pristine, copies = copy.deepcopy(args), copy.deepcopy(args)
            with _supplied_globals(func, supplied):
                result = func(*copies)
            changed = [i for i, (after, before) in enumerate(zip(copies, pristine)) if not same_value(after, before)]
    except Exception as error:  # the student's code raised: say where to look, keep it short
        first = (str(error).strip().splitlines() or [""])[0][:300]
        raise CheckFailure(f"{name}{_signature(args)} raised {type(error).__name__}: {first}") from None
    if result is None or result is Ellipsis:
        raise CheckFailure(f"{name}{_signature(args)} returned None: finish the function and return its result.")
    _notes.own_calls = (name, sorted(supplied.unanswered)) if supplied is not None and supplied.unanswered else None
    return result, list(changed or [])


def check_inputs_unchanged(func, name, *args, exercise=None, names=None):
    """The question says not to change the arguments: fail (naming them) if the function did."""
    _, changed = call_checked(func, name, args, exercise=exercise)
    if changed:
        which = ", ".join(f"`{names[i]}`" if names and i < len(names) else f"argument {i + 1}" for i in changed)
        raise CheckFailure(f"{name} changed {which} in place; the question asks for a new result and the inputs "
                           "left as they were. Build a new dict (or use `p - lr * g`, not `p -= lr * g`).")


def same_value(a, b):
    """Exact equality of plain data (arrays, numbers, dicts, lists, tuples); nan equals nan."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(same_value(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and not (_is_numeric_list(a) and _is_numeric_list(b)):
        return type(a) is type(b) and len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    try:
        x, y = np.asarray(a), np.asarray(b)
        if x.dtype.kind in "biufc" and y.dtype.kind in "biufc":
            return x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))
        return bool(a == b)
    except Exception:
        return a is b


# ----------------------------------------------------------------------------- supplied calls

class SuppliedCalls:
    """The calls a right answer makes to the student's other functions, with the reference's results.

    Recorded by running the reference on the test's own arguments, so it answers only calls whose
    arguments the test's data determine (within a tight tolerance): never an oracle for inputs of
    the student's choosing. A call it does not know runs the student's own function.
    """

    def __init__(self):
        self.entries = {}      # name -> [(bound arguments, result)]
        self.unanswered = set()  # names called with arguments no recorded call has
        self.signatures = {}   # name -> inspect.Signature of the reference function
        self.patterns = {}     # name -> [_Pattern of each entry's arguments], parallel to entries
        self._cursor = {}

    def fresh(self):
        """A table with the same recorded calls (shared: they are only read) and no lookups yet."""
        table = SuppliedCalls()
        table.entries, table.signatures, table.patterns = self.entries, self.signatures, self.patterns
        return table

    def names(self):
        return sorted(self.entries)

    def recorder(self, name, function):
        signature = self.signatures.setdefault(name, inspect.signature(function))

        def recording(*args, **kwargs):
            arguments = _bind(signature, args, kwargs)
            result = function(*args, **kwargs)
            if arguments is not None:
                recorded = copy.deepcopy(arguments)
                self.entries.setdefault(name, []).append((recorded, copy.deepcopy(result)))
                self.patterns.setdefault(name, []).append(_Pattern(recorded))
            return result
        return recording

    def lookup(self, name, args, kwargs):
        """(True, result) when ``name(*args, **kwargs)`` is a call the test determines, else (False, None)."""
        found, value = self.lookup_shared(name, args, kwargs)
        return found, copy.deepcopy(value) if found else None

    def lookup_shared(self, name, args, kwargs):
        """``lookup`` without the copy: the result is the table's own, to be read, never changed (the
        grader encodes it for the submission's process at once)."""
        entries = self.entries.get(name)
        if not entries:
            return False, None
        arguments = _bind(self.signatures[name], args, kwargs)
        if arguments is None:
            return False, None
        patterns = self.patterns[name]  # recorded with the entries, one per entry
        start = self._cursor.get(name, 0)
        for step in range(len(entries)):  # students call in the reference's order: start where we left
            i = (start + step) % len(entries)
            if patterns[i].matches(arguments):
                self._cursor[name] = i + 1
                return True, entries[i][1]
        self.unanswered.add(name)
        return False, None

    def position(self, name):
        """Where the next lookup of ``name`` starts (the entry after the last one it answered)."""
        return self._cursor.get(name, 0)

    def move_to(self, name, position):
        """Start the next lookup of ``name`` at ``position``: the grader's submission process answers
        some calls from a sealed copy of this table and reports where it left off."""
        self._cursor[name] = position

    def wrapper(self, name, own):
        """A stand-in for the student's ``name``: the reference's answer on known calls, else ``own``."""
        def supplied(*args, **kwargs):
            found, value = self.lookup(name, args, kwargs)
            if found:
                return value
            if own is None:
                raise NameError(f"name {name!r} is not defined")
            return own(*args, **kwargs)
        supplied.__name__ = name
        return supplied


def _bind(signature, args, kwargs):
    names = _positional_names(signature)
    if names is not None and not kwargs and len(args) == len(names):  # the usual call: every argument, in order
        return dict(zip(names, args))
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    return dict(bound.arguments)


def _matches(received, recorded):
    """``received`` is ``recorded`` up to rounding (dicts may hold extra entries)."""
    if isinstance(recorded, dict):
        return isinstance(received, dict) and all(k in received and _matches(received[k], v) for k, v in recorded.items())
    if type(recorded) is np.ndarray and type(received) is np.ndarray:  # the common case, fast
        if recorded.dtype.kind in "biuf" and received.dtype.kind in "biuf":
            if received.shape != recorded.shape:
                return False
            e, r = recorded.astype(float, copy=False), received.astype(float, copy=False)
            if e.size == 0:
                return True
            tolerance = np.abs(e)
            return bool((np.abs(r - e) <= 1e-8 + 1e-6 * float(tolerance.max()) + 1e-5 * tolerance).all())
    if isinstance(recorded, (list, tuple)) and not _is_numeric_list(recorded):
        return (isinstance(received, (list, tuple)) and len(received) == len(recorded)
                and all(_matches(r, e) for r, e in zip(received, recorded)))
    try:
        r, e = np.asarray(received), np.asarray(recorded)
    except Exception:
        return False
    if e.dtype.kind not in "biuf":
        return bool(same_value(received, recorded))
    if r.dtype.kind not in "biuf" or r.shape != e.shape:
        return False
    r, e = r.astype(float), e.astype(float)
    scale = float(np.max(np.abs(e), initial=0.0))
    return bool(np.all(np.abs(r - e) <= 1e-8 + 1e-6 * scale + 1e-5 * np.abs(e)))


class _Pattern:
    """A recorded call's arguments digested for ``_matches`` at the cost of one vector compare:
    the containers to walk (dict keys, sequence lengths), the numeric leaves' values and their
    tolerances (``_matches``'s, element by element) each in one flat vector. ``matches(received)``
    equals ``_matches(received, recorded)``; it runs on every dependency call a student's
    function makes (a training loop: hundreds per test). Digested on first use: the grader's
    submission process answers most calls from a sealed copy of the table, so most patterns are
    never matched here."""

    def __init__(self, recorded):
        self.recorded = recorded
        self.ready = False

    _lock = threading.Lock()  # tables are shared between grading threads

    def _digest(self):
        with self._lock:
            if self.ready:
                return
            self.leaves = []  # (path of ("key", k) / ("item", i, length) steps, shape or None, exact value)
            values, tolerances = [], []
            self.simple = self._walk(self.recorded, (), values, tolerances)
            if self.simple:
                self.values = np.concatenate(values) if values else np.zeros(0)
                self.tolerances = np.concatenate(tolerances) if tolerances else np.zeros(0)
            self.ready = True

    def _walk(self, recorded, path, values, tolerances):
        if isinstance(recorded, dict) or (isinstance(recorded, (list, tuple)) and not _is_numeric_list(recorded)):
            if not recorded:  # nothing below to walk through: the container's kind is the check
                self.leaves.append((path, "container", recorded))
                return True
        if isinstance(recorded, dict):
            return all(self._walk(v, path + (("key", k),), values, tolerances) for k, v in recorded.items())
        if isinstance(recorded, (list, tuple)) and not _is_numeric_list(recorded):
            return all(self._walk(v, path + (("item", i, len(recorded)),), values, tolerances)
                       for i, v in enumerate(recorded))
        try:
            e = np.asarray(recorded)
        except Exception:
            return False
        if e.dtype.kind not in "biuf":
            self.leaves.append((path, None, recorded))
            return True
        e = e.astype(float)
        scale = float(np.max(np.abs(e), initial=0.0))
        self.leaves.append((path, e.shape, None))
        values.append(e.ravel())
        tolerances.append((1e-8 + 1e-6 * scale + 1e-5 * np.abs(e)).ravel())
        return True

    def matches(self, received):
        if not self.ready:
            self._digest()
        if not self.simple:
            return _matches(received, self.recorded)
        flat = []
        for path, shape, exact in self.leaves:
            value = received
            for step in path:
                if step[0] == "key":
                    if not isinstance(value, dict) or step[1] not in value:
                        return False
                    value = value[step[1]]
                else:
                    if not isinstance(value, (list, tuple)) or len(value) != step[2]:
                        return False
                    value = value[step[1]]
            if shape == "container":
                if not (isinstance(value, dict) if isinstance(exact, dict) else
                        isinstance(value, (list, tuple)) and len(value) == 0):
                    return False
                continue
            if shape is None:
                if not same_value(value, exact):
                    return False
                continue
            try:
                r = np.asarray(value)
            except Exception:
                return False
            if r.dtype.kind not in "biuf" or r.shape != shape:
                return False
            flat.append(r.astype(float).ravel())
        if not flat:
            return True
        received_values = np.concatenate(flat) if len(flat) > 1 else flat[0]
        return bool(np.all(np.abs(received_values - self.values) <= self.tolerances))


_positional_cache: dict = {}


def _positional_names(signature):
    """The parameter names when every parameter is plain positional-or-keyword (else None)."""
    hit = _positional_cache.get(id(signature))  # by identity: hashing a Signature costs more than binding
    if hit is not None and hit[0] is signature:
        return hit[1]
    params = list(signature.parameters.values())
    names = (tuple(p.name for p in params)
             if all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params) else None)
    if len(_positional_cache) > 1024:
        _positional_cache.clear()
    _positional_cache[id(signature)] = (signature, names)  # holds the signature: its id stays its own
    return names


class _supplied_globals:
    """While the block runs, the student's (in-kernel) function sees supplied stand-ins for its
    dependencies; afterwards the notebook's names are as they were."""

    _MISSING = object()

    def __init__(self, func, supplied):
        self.globals = getattr(func, "__globals__", None) if supplied is not None else None
        self.supplied, self.saved = supplied, {}

    def __enter__(self):
        if self.globals is None:
            return
        for name in self.supplied.names():
            own = self.globals.get(name, self._MISSING)
            self.saved[name] = own
            self.globals[name] = self.supplied.wrapper(name, None if own is self._MISSING else own)

    def __exit__(self, *exc):
        for name, own in self.saved.items():
            if own is self._MISSING:
                self.globals.pop(name, None)
            else:
                self.globals[name] = own
        return False


def reference_form(exercise):
    """The exercise's description module, whose top-level functions are the master notebook's
    solutions (the student's functions written as the student writes them, calling each other by
    name); None where it is not available (the student's own machine)."""
    try:
        return _description(exercise)
    except (ImportError, LookupError):
        return None


NOT_ANSWERS = ("intro", "questions", "outro")  # a description's notebook-making functions


def _student_functions(form):
    """The model answers: a description's public top-level functions, other than its notebook-making
    ones and the helpers it puts in its reference (``@ref.add``)."""
    ref = vars(form.ref) if hasattr(form, "ref") else {}
    return {name: f for name, f in vars(form).items()
            if isinstance(f, types.FunctionType) and f.__module__ == form.__name__ and not name.startswith("_")
            and name not in NOT_ANSWERS and ref.get(name) is not f}


def _names_used(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def dependencies(form, function):
    """The student's functions that ``function`` calls, directly or through each other."""
    functions = _student_functions(form)
    found, todo = set(), [function]
    while todo:
        f = functions.get(todo.pop())
        if f is None:
            continue
        for name in _names_used(f.__code__) & set(functions):
            if name != function and name not in found:
                found.add(name)
                todo.append(name)
    return found


# (kind, exercise, function, arguments' digest) -> (owner, value), most recent last. The reference
# is deterministic and every submission's test passes it the same arguments, so what it computes
# from them (the supplied-calls table, the known wrong answers) is computed once per batch;
# ``owner`` (the module or function that computed it) must be the same object for a hit.
_MEMO: dict = {}
_MEMO_SIZE = 256
_memo_lock = threading.Lock()


def _memoised(kind, exercise, function, args, owner, compute):
    """``compute()``, or its earlier value for the same exact ``args`` and the same ``owner``."""
    digest = _arguments_key(args)
    if digest is None:
        return compute()
    key = (kind, exercise, function, digest)
    with _memo_lock:
        hit = _MEMO.get(key)
    if hit is not None and hit[0] is owner:
        return hit[1]
    value = compute()
    with _memo_lock:
        _MEMO.pop(key, None)
        _MEMO[key] = (owner, value)
        while len(_MEMO) > _MEMO_SIZE:
            del _MEMO[next(iter(_MEMO))]
    return value


class _NoDigest(Exception):
    """A value ``_digest`` cannot fingerprint exactly: such calls are not cached."""


def _digest(value, out):
    """Append an exact, type-tagged fingerprint of plain data (arrays, numbers, containers) to ``out``."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise _NoDigest
        out.append(f"a{value.dtype.str}{value.shape}".encode())
        out.append(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        out.append(f"d{len(value)}".encode())
        for k, v in value.items():
            _digest(k, out)
            _digest(v, out)
    elif isinstance(value, (list, tuple)):
        out.append(f"{type(value).__name__[0]}{len(value)}".encode())
        for v in value:
            _digest(v, out)
    elif value is None or isinstance(value, (bool, int, float, complex, str, np.generic)):
        out.append(f"{type(value).__name__}:{value!r}".encode())
    else:
        raise _NoDigest


def _arguments_key(args):
    out = []
    try:
        _digest(list(args), out)
    except (_NoDigest, RecursionError):
        return None
    return hashlib.sha256(b"\0".join(out)).hexdigest()


def supplied_calls(exercise, function, args):
    """Run the reference form of ``function`` on ``args`` and record its calls to the student's
    other functions (None: no reference here, no dependencies, or nothing recorded). Tables are
    cached by (exercise, function, exact arguments) for as long as the same form module is
    loaded; each call gets its own lookup state."""
    form = reference_form(exercise)
    if form is None:
        return None
    table = _memoised("supplied", exercise, function, args, form,
                      lambda: _record_supplied_calls(form, function, args))
    return table.fresh() if table is not None else None


def _record_supplied_calls(form, function, args):
    if function not in _student_functions(form):
        return None
    deps = dependencies(form, function)
    if not deps:
        return None
    namespace = dict(vars(form))  # a private copy: safe while other threads grade
    for name, f in _student_functions(form).items():
        namespace[name] = types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)
    table = SuppliedCalls()
    for name in deps:
        namespace[name] = table.recorder(name, namespace[name])
    try:
        namespace[function](*copy.deepcopy(args))
    except Exception:
        return None
    return table if table.entries else None


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
    """``received`` must be a dict holding ``keys`` (extra entries are tolerated)."""
    if not isinstance(received, dict):
        raise CheckFailure(f"{quantity}: expected a dict with keys {list(keys)}, received {_kind_of(received)}.")
    missing = [k for k in keys if k not in received]
    if missing:
        raise CheckFailure(f"{quantity}: expected the keys {list(keys)}; missing {missing}.")


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


def check_interface(quantity, received, example):
    """The question's interface, exactly: ``received`` has the structure of ``example`` (a dict
    with its keys, a tuple of its length, numpy arrays (not lists) of its shapes and dtype kinds).
    The one test that charges interface slips; every value test is lenient about them."""
    if isinstance(example, dict):
        check_keys(quantity, received, list(example))
        failures = []
        for key in example:
            try:
                check_interface(_part(quantity, key), received[key], example[key])
            except CheckFailure as failure:
                failures.append(str(failure))
        if failures:
            raise CheckFailure(_joined(failures))
    elif isinstance(example, (tuple, list)) and not _is_numeric_list(example):
        if not isinstance(received, (tuple, list)) or len(received) != len(example):
            raise CheckFailure(f"{quantity}: expected a tuple of {len(example)} items, received {_kind_of(received)}.")
        for i, (r, e) in enumerate(zip(received, example)):
            check_interface(_part(quantity, i), r, e)
    else:
        e = np.asarray(example)
        if isinstance(example, np.ndarray) and e.ndim and not isinstance(received, np.ndarray):
            raise CheckFailure(f"{quantity}: expected a numpy array, received {_kind_of(received)}: "
                               "return np.array(...) (numpy operations give arrays; .tolist() gives lists).")
        try:
            check_shape_dtype(quantity, received, e.shape, "int" if e.dtype.kind in "iub" else "float")
        except CheckFailure as failure:  # a wrong shape can still name its mistake (a bias summed over the units)
            array = _as_array(quantity, received)
            if array.shape == e.shape or e.dtype.kind not in "biuf":
                raise
            raise CheckFailure(str(failure) + _diagnosis(array.astype(float), e.astype(float), None, None)) from None


def check_structure(quantity, received, example):
    """``received`` can be compared with ``example``: the same dict keys (extra ones tolerated;
    a tuple in the dict's order accepted), tuple length, and for every array the same numbers of
    elements along the same non-singleton axes. Lenient about interface slips ((n,) for (n, 1),
    lists for arrays, ints for floats): ``check_interface`` charges those, once."""
    if isinstance(example, dict):
        received = _as_dict(received, example)
        check_keys(quantity, received, list(example))
        for key in example:
            check_structure(_part(quantity, key), received[key], example[key])
    elif isinstance(example, (tuple, list)) and not _is_numeric_list(example):
        if not isinstance(received, (tuple, list)) or len(received) != len(example):
            raise CheckFailure(f"{quantity}: expected a tuple of {len(example)} items, received {_kind_of(received)}.")
        for i, (r, e) in enumerate(zip(received, example)):
            check_structure(_part(quantity, i), r, e)
    else:
        array, e = _as_array(quantity, received), np.asarray(example)
        if not _same_up_to_singletons(array.shape, e.shape):
            raise CheckFailure(f"{quantity}: wrong shape.\n  expected shape {e.shape}, received {array.shape}"
                               + _shape_hint(array.shape, e.shape)
                               + _diagnosis(array.astype(float), e.astype(float), None, None))


def _as_dict(received, example):
    """A tuple or list where a dict is asked, read in the dict's order (the interface test names it)."""
    if isinstance(received, (tuple, list)) and not isinstance(received, dict) and len(received) == len(example):
        return dict(zip(example, received))
    return received


def _same_up_to_singletons(a, b):
    return tuple(a) == tuple(b) or tuple(s for s in a if s != 1) == tuple(s for s in b if s != 1)


def _joined(failures):
    """Several failing parts, at most MAX_PARTS of them in full."""
    shown = failures[:MAX_PARTS]
    if len(failures) > MAX_PARTS:
        shown.append(f"... and {len(failures) - MAX_PARTS} more wrong part(s); fix the ones above first.")
    return "\n\n".join(shown)


def short(text, lines=MAX_LINES):
    """``text`` cut to ``lines`` lines, so that a failure fits one screen."""
    rows = str(text).splitlines()
    if len(rows) <= lines:
        return str(text)
    return "\n".join(rows[:lines] + [f"... ({len(rows) - lines} more lines)"])


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
        return "\n  That is the expected shape transposed: rows and columns are swapped."
    if tuple(s for s in received if s != 1) == tuple(s for s in expected if s != 1):
        return "\n  Same numbers of elements, different axes: check keepdims / reshape (a column vector is (n, 1))."
    if len(received) == len(expected) == 2 and received[0] == expected[0] and received[1] != expected[1]:
        return "\n  The second axis differs: did you sum (or forget to sum) over the batch?"
    return ""


# ----------------------------------------------------------------------------- values

def check_documented(quantity, received, documented, *, atol, cell="", ledger_id="", variants=None,
                     batch_size=None, source=""):
    """Compare with a number the worked example prints. Shows the documented value next to the
    student's. ``ledger_id`` names the entry in documented_numbers.json (for traceability).
    ``source`` replaces "documented in the worked example (<cell>)" for a ledger number the worked
    example does not print (e.g. our seeded run's)."""
    where = f"the worked example ({cell})" if cell else "the worked example"
    _guarded(_compare, quantity, received, np.asarray(documented, dtype=float), atol=atol, rtol=0.0, public=True,
             source=source or f"documented in {where}", variants=variants, batch_size=batch_size)


def check_public(quantity, received, expected, *, atol=ATOL, rtol=RTOL, variants=None, batch_size=None):
    """Compare with the reference on the public worked inputs: expected values may be shown."""
    _guarded(_walk, quantity, received, expected, lambda q, r, e, v: _compare(
        q, r, e, atol=atol, rtol=rtol, public=True, source="expected", variants=v, batch_size=batch_size),
        variants)


def check_hidden(quantity, received, expected, *, atol=ATOL, rtol=RTOL, variants=None, batch_size=None):
    """Compare with the reference on hidden inputs: shapes, error sizes and locations only."""
    _guarded(_walk, quantity, received, expected, lambda q, r, e, v: _compare(
        q, r, e, atol=atol, rtol=rtol, public=False, source="", variants=v, batch_size=batch_size),
        variants)


def agrees(received, expected, *, atol=ATOL, rtol=RTOL):
    """Whether ``received`` passes ``check_public`` against ``expected`` (no message, no notes)."""
    saved = getattr(_notes, "collecting", False), list(getattr(_notes, "items", []))
    _notes.collecting, _notes.items = True, []  # the notes of this trial are dropped
    try:
        check_public("", received, expected, atol=atol, rtol=rtol)
        return True
    except CheckFailure:
        return False
    finally:
        _notes.collecting, _notes.items = saved


def _guarded(check, *args, **kwargs):
    try:
        check(*args, **kwargs)
    except CheckFailure as failure:
        raise CheckFailure(short(failure) + _own_calls_hint()) from None


def _own_calls_hint():
    """Where a dependency could not be cut: the last call ran some of the student's own functions."""
    own = getattr(_notes, "own_calls", None)
    if not own:
        return ""
    name, deps = own
    listed = ", ".join(f"`{d}`" for d in deps)
    return (f"\n(Your {name} called your own {listed} with arguments a right answer does not pass, so "
            f"{'their' if len(deps) > 1 else 'its'} results count here: if {listed} also fails its own "
            "question, fix that first.)")


_EXPRESSION = re.compile(r"[A-Za-z_][\w.]*(\(.*\))?(\[[^\]]*\])*")


def _part(quantity, key):
    """The label of one part of ``quantity``'s value: the subscript goes right after the expression
    that gave the value, before any words about where it ran, so that "backward(x, y) on the
    worked example" with key "W1" reads "backward(x, y)['W1'] on the worked example" (and
    "backward (hidden case 1 of 3, ...)" reads "backward['W1'] (hidden case 1 of 3, ...)")."""
    subscript = f"[{key!r}]"
    depth = 0
    for i, char in enumerate(quantity):
        depth += (char in "([{") - (char in ")]}")
        if char == " " and depth == 0:
            head, rest = quantity[:i], quantity[i:]
            # a call, a subscripted name, or a name followed by its context in parentheses; not prose
            if _EXPRESSION.fullmatch(head) and ("(" in head or "[" in head or rest.startswith(" (")):
                return head + subscript + rest
            break
    return quantity + subscript


def _walk(quantity, received, expected, compare, variants):
    """Compare nested dicts / tuples / lists key by key; collect every failing part. Lenient about
    the interface (extra dict entries, a tuple in a dict's order): ``check_interface`` charges it."""
    if isinstance(expected, dict):
        received = _as_dict(received, expected)
        check_keys(quantity, received, list(expected))
        failures = []
        for key in expected:
            sub = _sub_variants(variants, key)
            try:
                _walk(_part(quantity, key), received[key], expected[key], compare, sub)
            except CheckFailure as failure:
                failures.append(str(failure))
        if failures:
            raise CheckFailure(_joined(failures))
    elif isinstance(expected, (tuple, list)) and not _is_numeric_list(expected):
        if not isinstance(received, (tuple, list)) or len(received) != len(expected):
            raise CheckFailure(f"{quantity}: expected a tuple of {len(expected)} items, received {_kind_of(received)}.")
        failures = []
        for i, (r, e) in enumerate(zip(received, expected)):
            try:
                _walk(_part(quantity, i), r, e, compare, _sub_variants(variants, i))
            except CheckFailure as failure:
                failures.append(str(failure))
        if failures:
            raise CheckFailure(_joined(failures))
    else:
        compare(quantity, received, np.asarray(expected), variants)


# ----------------------------------------------------------------------------- notes

_notes = threading.local()


def note(code, text):
    """Something a passing check wants the student to know (e.g. float32 precision). The grader
    collects notes per question (``take_notes``); elsewhere (``grader.check``) they are printed."""
    if getattr(_notes, "collecting", False):
        _notes.items.append({"code": code, "message": text})
    else:
        print(f"Note ({code}): {text}")


def collect_notes():
    """Start collecting this thread's notes instead of printing them."""
    _notes.collecting, _notes.items = True, []


def take_notes():
    """This thread's notes since ``collect_notes`` (and start a new list)."""
    items = list(getattr(_notes, "items", []))
    _notes.items = []
    return items


def _float32_close(array, expected):
    scale = float(np.max(np.abs(expected), initial=0.0))
    return bool(np.all(np.abs(array - expected) <= FLOAT32_ATOL * scale + FLOAT32_RTOL * np.abs(expected)))


def _float32_note(quantity, array, expected):
    error = float(np.max(np.abs(array - expected) / np.maximum(np.abs(expected), 1e-12)))
    note("float32-precision", f"{quantity} agrees with the expected values to single precision only "
         f"(largest relative error {error:.1g}). That is float32 arithmetic: numpy computes in float64 by "
         "default; drop the astype(np.float32) / dtype=np.float32. It counts as right.")


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
    expected = expected.astype(float)
    array = array.astype(float)
    if array.shape != expected.shape:
        if array.size == expected.size and _same_up_to_singletons(array.shape, expected.shape):
            array = array.reshape(expected.shape)  # an interface slip: check_interface charges it, once
        else:
            message = (f"{quantity}: wrong shape.\n  expected shape {expected.shape}, received {array.shape}"
                       + _shape_hint(array.shape, expected.shape))
            raise CheckFailure(message + _diagnosis(array, expected, variants, batch_size))
    with np.errstate(all="ignore"):  # the common case, as allclose decides it: finite and within tolerance
        if bool((np.abs(array - expected) <= atol + rtol * np.abs(expected)).all()) and bool(np.isfinite(expected).all()):
            return
    if np.array_equal(np.isnan(array), np.isnan(expected)) and np.allclose(array, expected, atol=atol, rtol=rtol,
                                                                             equal_nan=True):
        return
    if FLOAT32_POLICY == "note" and np.all(np.isfinite(array)) and np.all(np.isfinite(expected)) \
            and _float32_close(array, expected):
        _float32_note(quantity, array, expected)
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

    def compute():
        try:
            return dict(wrong_answers(exercise, function, copy.deepcopy(args)) or {})
        except Exception:
            return {}
    # a few ms per hidden case, the same in every submission: once per batch, a copy each time
    return copy.deepcopy(_memoised("variants", exercise, function, args, wrong_answers, compute))


def check_against_reference(exercise, function, student, reference, cases, *, atol=ATOL, rtol=RTOL,
                            batch_size_of=None, diagnose=True):
    """Hidden test: the student's ``function`` agrees with ``reference`` on every case of args."""
    for number, args in enumerate(cases, start=1):
        # the reference is deterministic: its answer is computed once per batch (a copy each time)
        expected = copy.deepcopy(_memoised("expected", exercise, function, args, reference,
                                           lambda: reference(*copy.deepcopy(args))))
        received = call(student, function, *args, exercise=exercise)
        batch = batch_size_of(*args) if batch_size_of else None
        quantity = f"{function} (hidden case {number} of {len(cases)}, input {_signature(args)})"
        if diagnose:  # known wrong answers only name a failure's mistake: computed when one fails
            saved, trial = (getattr(_notes, "collecting", False), list(getattr(_notes, "items", []))), None
            _notes.collecting, _notes.items = True, []
            try:
                check_hidden(quantity, received, expected, atol=atol, rtol=rtol, batch_size=batch)
                trial = _notes.items
            except CheckFailure:
                pass  # checked again below, with the variants: its notes are recorded there
            finally:
                _notes.collecting, _notes.items = saved
            if trial is not None:
                for item in trial:
                    note(item["code"], item["message"])
                continue
        variants = reference_variants(exercise, function, args) if diagnose else None
        try:
            check_hidden(quantity, received, expected, atol=atol, rtol=rtol, variants=variants, batch_size=batch)
        except CheckFailure as failure:
            raise CheckFailure(str(failure)) from None


def check_gradients_numerically(function, grads, loss, params, *, tolerance=SMOOTH_FD_TOLERANCE):
    """Hidden test: every gradient in ``grads`` agrees with central finite differences of
    ``loss(params)`` (rel_error below ``tolerance``, CS231n's measure). nan and inf never pass."""
    from solutions.gradcheck import numerical_gradients, rel_error

    numeric = numerical_gradients(loss, params)
    grads = _as_dict(grads, numeric)
    check_keys(f"{function} gradients", grads, list(numeric))
    failures = []
    for name, fd in numeric.items():
        quantity = f"{function}(...)[{name!r}] against finite differences"
        mine = _as_array(quantity, grads[name])
        mine = mine.astype(float)
        if mine.shape != fd.shape:
            if mine.size == fd.size and _same_up_to_singletons(mine.shape, fd.shape):
                mine = mine.reshape(fd.shape)  # an interface slip: check_interface charges it
            else:
                failures.append(f"{quantity}: wrong shape.\n  expected shape {fd.shape} (the shape of {name}), "
                                f"received {mine.shape}" + _shape_hint(mine.shape, fd.shape))
                continue
        if not np.all(np.isfinite(mine)):
            failures.append(f"{quantity}: your gradient contains nan or inf: look for log(0), division by zero "
                            "or exp overflow.")
            continue
        error = rel_error(mine, fd)
        if error > tolerance and FLOAT32_POLICY == "note" and error <= FLOAT32_FD_TOLERANCE:
            note("float32-precision", f"{quantity}: relative error {error:.1g}: right to float32 precision, "
                 "not to float64's (numpy computes in float64 by default; look for astype(np.float32) or "
                 "dtype=np.float32). It counts as right.")
            continue
        if error > tolerance:
            abs_err = np.abs(mine - fd)
            ia = np.argmax(abs_err)
            failures.append(f"{quantity}: relative error {error:.3g} (tolerance {tolerance:g}); largest absolute "
                            f"error {abs_err.flat[ia]:.3g} at index {_index(ia, mine.shape)}.\n  Your gradient is not "
                            f"the derivative of the loss: nudging {name}{list(_index(ia, mine.shape))} changes the loss "
                            "at a different rate than your gradient says.")
    if failures:
        raise CheckFailure(short(_joined(failures)) + _own_calls_hint())


def _description(exercise):
    """The exercise's description (``<course>/<exercise>/exercise.py``), where the grader has
    ``solutions`` (raises ImportError or LookupError elsewhere)."""
    from solutions import exercises
    return exercises.load(exercise)


def _drawn(description, cases):
    """What the description's function ``cases`` draws from the hidden seed."""
    from solutions.describe import HIDDEN_SEED
    return getattr(description, cases)(np.random.default_rng(HIDDEN_SEED))


def check_described_cases(exercise, function, student, cases, *, batch_of=None, atol=ATOL, rtol=RTOL):
    """Hidden test: the student's ``function`` against the reference's on the argument tuples the
    description's function ``cases`` draws from the hidden seed. ``batch_of``: (argument index,
    axis) of the batch size, for diagnosis."""
    description = _description(exercise)
    batch = (lambda *args: np.shape(args[batch_of[0]])[batch_of[1]]) if batch_of else None
    check_against_reference(exercise, function, student, getattr(description.ref, function),
                            _drawn(description, cases), atol=atol, rtol=rtol, batch_size_of=batch)


def check_described_gradients(exercise, function, student, cases, *, tolerance=SMOOTH_FD_TOLERANCE):
    """Hidden test: the gradients the student's ``function`` returns agree with finite differences.
    The description's function ``cases`` draws (arguments, loss of the parameters) pairs from the
    hidden seed; the parameters are the first argument."""
    for args, loss in _drawn(_description(exercise), cases):
        grads = call(student, function, *args, exercise=exercise)
        check_gradients_numerically(function, grads, loss, args[0], tolerance=tolerance)


# ----------------------------------------------------------------------------- worked examples

def check_worked_example(steps, *, functions, exercise=None):
    """A public test on the worked example, as data: ``steps`` run in order, each a tuple whose
    first item names its kind. ``functions``: the student's functions the steps call, by name.

    - ``("call", result, function, args)``: ``function(*args)`` (``call``); its value is ``result``.
    - ``("structure", quantity, view, example)``: ``check_structure`` of the view against ``example``.
    - ``("shape", quantity, view, shape, kind)``: ``check_shape_dtype``.
    - ``("documented", quantity, view, printed, options)``: ``check_documented`` (a ledger entry;
      ``options``: atol, cell or source, ledger_id, and variants or batch_size where known).
    - ``("public", quantity, view, expected, options)``: ``check_public`` (options: variants, batch_size).
    - ``("accept", view, alternative, code, message)``: if the view agrees with ``alternative`` (another
      answer that is right too), note ``message`` and pass: the steps after it are not run.

    A view names a part of the results (see ``view_value``): ``("result", name, *path)``,
    ``("value", literal)``, or one of a few operations on views (``VIEW_OPERATIONS``).
    """
    results = {}
    for step in steps:
        kind = step[0]
        if kind == "call":
            _, result, name, args = step
            results[result] = call(functions.get(name), name, *args, exercise=exercise)
        elif kind == "structure":
            _, quantity, view, example = step
            check_structure(quantity, view_value(view, results, quantity), example)
        elif kind == "shape":
            _, quantity, view, shape, dtype_kind = step
            check_shape_dtype(quantity, view_value(view, results, quantity), tuple(shape), dtype_kind)
        elif kind == "documented":
            _, quantity, view, printed, options = step
            check_documented(quantity, view_value(view, results, quantity), printed, **options)
        elif kind == "public":
            _, quantity, view, expected, options = step
            check_public(quantity, view_value(view, results, quantity), expected, **options)
        elif kind == "accept":
            _, view, alternative, code, message = step
            if agrees(view_value(view, results, ""), alternative):
                note(code, message)
                return
        else:
            raise ValueError(f"unknown step {kind!r}")


def _numbers(quantity, value):
    return _as_array(quantity, value).astype(float)


# The operations a view may apply, on float arrays of its views' values.
VIEW_OPERATIONS = {
    "sum": lambda q, v, axis=None: np.sum(_numbers(q, v), axis=axis),
    "mean": lambda q, v, axis=None: np.mean(_numbers(q, v), axis=axis),
    "minus": lambda q, a, b: _numbers(q, a) - _numbers(q, b),
    "times": lambda q, a, b: _numbers(q, a) * _numbers(q, b),
    "over": lambda q, a, b: _numbers(q, a) / _numbers(q, b),
    "matmul": lambda q, a, b: _numbers(q, a) @ _numbers(q, b),
    "total_size": lambda q, v, keys: sum(np.size(v[k]) for k in keys),
}


def view_value(view, results, quantity=""):
    """The value a view names: ``("result", name, *path)`` is the result ``name`` indexed by each
    step of ``path`` in turn (a dict key, an item, or an array index such as ``(0, 1)``);
    ``("value", literal)`` is the literal; ``(operation, *views, *options)`` applies one of
    ``VIEW_OPERATIONS`` to the values of its views (items that are tuples) and its options (the rest).
    A part the student's result does not have fails the check with a message, never a traceback."""
    kind = view[0]
    if kind == "value":
        return view[1]
    if kind == "result":
        value = results[view[1]]
        for step in view[2:]:
            try:
                value = (_numbers(quantity, value) if isinstance(step, tuple) else value)[step]
            except (KeyError, IndexError, TypeError, ValueError):
                raise CheckFailure(f"{quantity}: your result has no part {step!r} (expected the structure "
                                   "the question asks for).") from None
        return value
    operands = [view_value(v, results, quantity) if isinstance(v, tuple) else v for v in view[1:]]
    try:
        with np.errstate(all="ignore"):
            return VIEW_OPERATIONS[kind](quantity, *operands)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        if kind not in VIEW_OPERATIONS:
            raise
        raise CheckFailure(f"{quantity}: cannot compute it from your result ({type(error).__name__}: "
                           f"{str(error)[:200]}); check the shapes the question asks for.") from None


# ----------------------------------------------------------------------------- one exercise's checks

class Bound:
    """This module with ``exercise`` filled in where it matters: a test file starts with
    ``bc = backprop_checks.for_exercise("<exercise>")`` and every ``bc.call`` then supplies the
    student's other functions (see ``supplied_calls``). Holds no state but the name: thread-safe."""

    def __init__(self, exercise):
        self.exercise = exercise

    def __getattr__(self, name):
        return globals()[name]

    def call(self, func, name, *args):
        return call(func, name, *args, exercise=self.exercise)

    def call_checked(self, func, name, args):
        return call_checked(func, name, args, exercise=self.exercise)

    def check_inputs_unchanged(self, func, name, *args, names=None):
        return check_inputs_unchanged(func, name, *args, exercise=self.exercise, names=names)

    def check_described_cases(self, function, student, cases, **options):
        return check_described_cases(self.exercise, function, student, cases, **options)

    def check_described_gradients(self, function, student, cases, **options):
        return check_described_gradients(self.exercise, function, student, cases, **options)

    def check_worked_example(self, steps, **functions):
        return check_worked_example(steps, functions=functions, exercise=self.exercise)


def for_exercise(exercise):
    return Bound(exercise)
