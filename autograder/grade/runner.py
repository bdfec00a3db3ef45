"""Grade one notebook by value: its code runs in a sandboxed child, Otter's tests run here.

    grade_notebook(notebook_bytes, tests, limits=Limits(), support_files=None, packages=STUDENT_PACKAGES) -> dict

`tests` are Otter `ExceptionTestFile`s (one per question). Each test function receives, for
every parameter name, a `StudentFunction` stub: calling it sends the arguments to the child
and returns the child's return value decoded as plain data (see `protocol`). Scores come only
from Otter's `TestCaseResult`s computed in this process. Safe to call from several threads.

Result dict::

    {"status": "graded" | "timeout" | "crashed" | "invalid" | "error",
     "reason": str,                      # "" when graded cleanly
     "cell_errors": [{"cell": i, "error": "ZeroDivisionError: ..."}],   # i: 0-based notebook cell
     "questions": {"q1": {"score": float, "max_score": float,
                          "tests": [{"name", "hidden", "passed", "points", "message", "diagnosis"}]}},
     "score": float, "max_score": float, "stdout_tail": str,
     "isolation": {"mode": "root" | "userns" | "plain", ...},
     "transient": bool}                  # a crash that may have come from outside (SIGKILL):
                                         # grade again rather than keep the result

A child that breaks the protocol (a frame that is not JSON, not a message, over the cap) is
the notebook's doing: status ``crashed`` with ``PROTOCOL_BROKEN`` in the reason.
"""
import builtins
import copy
import dataclasses
import re
import signal
import threading
import time
from collections.abc import Mapping

from autograder.diagnosis import CODE_PATTERN
from autograder.grade import magics, protocol, sealed
from autograder.grade.submissions import NOT_UTF8, notebook_json
from autograder.grade.sandbox import STUDENT_PACKAGES, Child, ChildGone, Limits, SandboxError, uid_slots

DIAGNOSIS = CODE_PATTERN  # the one pattern of the diagnosis line
MAX_SUPPLIED_CALLS = 100_000  # dependency calls answered per call of a student function
PLAIN = ("plain data: a numpy array of numbers or booleans, a number, a string, None, "
         "or a tuple/list/dict (str keys) of those")

__all__ = ["grade_notebook", "Limits", "read_code_cells", "InvalidNotebook", "probe_isolation"]
PROTOCOL_BROKEN = "the notebook's process broke the grading protocol"
ISOLATED_MODES = ("root", "userns")  # "plain" is not isolated: see the sandbox's docstring



def _human(cell):
    """Cells as a person counts them: from 1, every cell (markdown too) from the top."""
    return cell + 1 if isinstance(cell, int) else "?"

class InvalidNotebook(ValueError):
    """The submission is not a notebook we can run; the message says why."""


class StudentCodeError(Exception):
    """A student function raised an exception that has no built-in counterpart here."""


class GradingUnavailable(RuntimeError):
    """The submission's process could not answer (crashed, timed out, limit reached)."""


class ProtocolBroken(Exception):
    """The submission's process sent something that is not a message of the protocol."""


def _receive(child, deadline):
    """The child's next message (a dict); ProtocolBroken when it sent anything else."""
    try:
        message = child.receive(deadline)
    except ChildGone as gone:
        # Child.receive raises ChildGone from the ProtocolError (context kept; older wording: "junk")
        if isinstance(gone.__context__, protocol.ProtocolError) or "junk" in str(gone):
            raise ProtocolBroken(str(gone.__context__ or gone)) from None
        raise
    if not isinstance(message, dict):
        child.kill()
        raise ProtocolBroken(f"it sent {type(message).__name__} where a message was expected")
    return message


def read_code_cells(notebook_bytes):
    """Notebook bytes -> [(cell index, Python source)], IPython syntax run as IPython runs it
    where it matters (``magics.to_python``: ``%%time``, ``%%capture``, ``%%timeit``, ...; shell
    escapes refused). Only the cells are read: a v4 notebook is not schema-validated (that
    costs seconds on a large one, and nothing here needs it); older formats go through nbformat."""
    if not notebook_bytes or not notebook_bytes.strip():
        raise InvalidNotebook("the file is empty")
    try:
        text, raw = notebook_json(notebook_bytes)
    except ValueError as exc:
        raise InvalidNotebook(str(exc) if str(exc) == NOT_UTF8 else f"not a Jupyter notebook ({exc})") from None
    try:
        cells = raw.get("cells") if isinstance(raw, dict) and raw.get("nbformat", 4) == 4 else None
        if not isinstance(cells, list):
            import nbformat  # older formats only (its import costs 0.1 s of start-up)
            cells = nbformat.reads(text, as_version=4).get("cells")
    except Exception as exc:  # JSON, validation and version errors of many kinds
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise InvalidNotebook(f"not a Jupyter notebook ({first})") from None
    if not isinstance(cells, list):
        raise InvalidNotebook("the notebook has no list of cells")
    transformer = None  # IPython's, made (and IPython imported) for the first cell that needs it
    code = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(map(str, source)) if isinstance(source, list) else str(source)
        if transformer is None and magics.plain_python(source) is None:
            from IPython.core.inputtransformer2 import TransformerManager
            transformer = TransformerManager()
        code.append((index, magics.to_python(source, transformer)))
    if not code:
        raise InvalidNotebook("the notebook has no code cells")
    return code


# ============================================================== the child, restarted as needed

class _Session:
    """The submission's process as seen by the tests: restarts without the cells that crashed
    or hung, so that questions answered before them keep their points."""

    def __init__(self, cells, limits, support_files, packages, slot, require_isolation=False):
        self.cells, self.limits = cells, limits
        self.require_isolation = require_isolation
        self.transient = False      # the process died of SIGKILL (possibly the OOM killer), or its init vanished
        self.support_files, self.packages, self.slot = support_files, packages, slot
        self.deadline = time.monotonic() + limits.submission_timeout
        self.child = None
        self.starts = 0
        self.bad_cells = {}         # cell index -> why it was left out
        self.cell_errors = {}       # cell index -> "Type: message"
        self.problems = []          # (status, reason), in order
        self.tails = []
        self.isolation = {}
        self.unavailable = None     # reason once no child can be had any more

    # ---------------------------------------------------------- lifecycle
    def _problem(self, status, reason):
        self.problems.append((status, reason))

    def _retire(self):
        if self.child is not None:
            info = self.child.kill()
            if isinstance(info, dict) and (info.get("signal") == signal.SIGKILL or info.get("lost")):
                self.transient = True
            tail = self.child.output_tail()
            if tail:
                self.tails.append(tail)
            self.child = None

    def close(self):
        self._retire()

    def ensure(self):
        """A running child that has executed the notebook (minus bad cells), or raise."""
        while self.child is None:
            if self.unavailable:
                raise GradingUnavailable(self.unavailable)
            if time.monotonic() >= self.deadline:
                self.unavailable = (f"the submission used up its time limit "
                                    f"({self.limits.submission_timeout:g} s)")
                self._problem("timeout", self.unavailable)
                continue
            if self.starts > self.limits.max_restarts:
                self.unavailable = f"the notebook's process was restarted {self.limits.max_restarts} times"
                self._problem("crashed", self.unavailable)
                continue
            self.starts += 1
            try:
                self.child = Child(self.limits, self.slot, self.packages, self.support_files)
            except SandboxError as exc:  # infrastructure, not the student: status "error"
                self.unavailable = f"the grader could not start the notebook's process: {exc}"
                self._problem("error", self.unavailable)
                continue
            self.isolation = self.child.isolation
            mode = self.isolation.get("mode") if isinstance(self.isolation, dict) else None
            if self.require_isolation and mode not in ISOLATED_MODES:
                self._retire()  # before any of the notebook's code runs
                self.unavailable = (f"grading refused: the sandbox cannot isolate the notebook here "
                                    f"(mode {mode!r}); see --allow-unisolated")
                self._problem("error", self.unavailable)
                continue
            self._run_cells()
        return self.child

    def _run_cells(self):
        child, limits = self.child, self.limits
        cells = [[i, src] for i, src in self.cells if i not in self.bad_cells]
        current = None
        try:
            child.send({"op": "run", "cells": cells})
            while True:
                budget = min(time.monotonic() + limits.cell_timeout, self.deadline)
                event = _receive(child, budget)
                kind = event.get("event")
                if kind == "cell":
                    current = event.get("cell") if type(event.get("cell")) is int else None
                elif kind == "cell_done":
                    if event.get("error") and current is not None and current not in self.cell_errors:
                        self.cell_errors[current] = str(event["error"])[:2000]
                    current = None
                elif kind == "ready":
                    return
        except TimeoutError:
            late = time.monotonic() >= self.deadline
            what = (f"the submission time limit ({limits.submission_timeout:g} s)" if late
                    else f"{limits.cell_timeout:g} s")
            reason = f"cell {_human(current)} did not finish within {what}"
            self._leave_out(current, "timeout", reason)
        except ProtocolBroken as broken:
            self._leave_out(current, "crashed", f"cell {_human(current)}: {PROTOCOL_BROKEN} ({broken})")
        except ChildGone as gone:
            self._leave_out(current, "crashed", f"cell {_human(current)} ended the process: {gone}")

    def _leave_out(self, cell, status, reason):
        self._retire()
        if cell is None or not isinstance(cell, int):
            self.unavailable = reason
            self._problem(status, reason)
            return
        self.bad_cells[cell] = reason
        self.cell_errors.setdefault(cell, reason)
        self._problem(status, reason + "; graded without it")

    # ---------------------------------------------------------- requests
    def _ask(self, message, what, supplied=None):
        child = self.ensure()
        now = time.monotonic()
        budget = min(now + self.limits.call_timeout, self.deadline)
        try:
            child.send(message)
            reply = _receive(child, budget)
            asked = 0
            while reply.get("event") == "dep":  # the function called one of the student's others
                asked += 1
                child.send(self._supply(reply, supplied if asked <= MAX_SUPPLIED_CALLS else None))
                reply = _receive(child, budget)
            return reply
        except TimeoutError:
            late = time.monotonic() >= self.deadline - 0.01
            reason = (f"{what} was still running when the submission time limit "
                      f"({self.limits.submission_timeout:g} s) ran out" if late else
                      f"{what} did not return within {self.limits.call_timeout:g} s")
            self._retire()
            self._problem("timeout", reason)
            raise GradingUnavailable(reason) from None
        except ProtocolBroken as broken:
            reason = f"during {what}, {PROTOCOL_BROKEN} ({broken})"
            self._retire()
            self._problem("crashed", reason)
            raise GradingUnavailable(reason) from None
        except ChildGone as gone:
            reason = f"{what} ended the notebook's process: {gone}"
            self._retire()
            self._problem("crashed", reason)
            raise GradingUnavailable(reason) from None

    def _supply(self, request, supplied):
        """The answer to a dependency call: the reference's value where the test determines the
        call (``SuppliedCalls.lookup``, run here, never in the child), else "run your own". With a
        sealed table (``sealed``), the child reports where the lookup of that name starts (it
        answered some calls itself) and is told where the next one will."""
        if supplied is None:
            return {"kind": "own"}
        limit = self.limits.return_mb * 1024 * 1024
        answer = {"kind": "own"}
        name = request.get("name")
        synced = type(name) is str and hasattr(supplied, "move_to")
        try:
            at = request.get("at")
            if synced and type(at) is int and 0 <= at <= MAX_SUPPLIED_CALLS:
                supplied.move_to(name, at)
            args = protocol.decode(request.get("args"), limit)
            kwargs = protocol.decode(request.get("kwargs"), limit)
            if type(name) is str and isinstance(args, list) and isinstance(kwargs, dict):
                # lookup_shared: no copy, the value is encoded at once (bundles built before it: lookup)
                found, value = getattr(supplied, "lookup_shared", supplied.lookup)(name, args, kwargs)
                if found:
                    answer = {"kind": "value", "value": protocol.encode(value, limit)}
        except (protocol.ProtocolError, protocol.NotPlainData, ValueError, TypeError, RecursionError):
            answer = {"kind": "own"}
        if synced:
            answer["at"] = supplied.position(name)
        return answer

    def lookup(self, name):
        return self._ask({"op": "lookup", "name": name}, f"looking up {name!r}")

    def names(self):
        names = self._ask({"op": "names"}, "listing names").get("names")
        return [n for n in names if type(n) is str] if isinstance(names, list) else []

    def call(self, name, args, kwargs, supplied=None, with_changes=False):
        limit = self.limits.return_mb * 1024 * 1024

        def ref(value):
            return value.__name__ if isinstance(value, StudentFunction) else None

        try:
            message = {"op": "call", "name": name,
                       "args": protocol.encode(list(args), limit, refs=ref),
                       "kwargs": protocol.encode(dict(kwargs), limit, refs=ref)}
        except protocol.NotPlainData as exc:
            raise TypeError(f"the test passed {exc} to {name}(); only {PLAIN} can be sent") from None
        if supplied is not None:
            message["supply"] = [n for n in supplied.names() if n != name]
            table = _sealed_table(supplied, limit)
            if table is not None:
                message["sealed"] = table
        reply = self._ask(message, f"{name}()", supplied)
        value = _value_of(reply, f"{name}() returned", limit,
                          hidden=_dimensions(args, kwargs) if _hidden_test_running() else None)
        if not with_changes:
            return value
        changed = reply.get("changed")
        changed = [i for i in changed if type(i) is int and 0 <= i < len(args)] if isinstance(changed, list) else []
        return value, changed


_sealed_tables: dict = {}  # id(a recorded table's entries) -> (those entries, their sealed form)
_sealed_lock = threading.Lock()
_SEALED_KEPT = 256


def _sealed_table(supplied, limit):
    """``sealed.seal(supplied)``, once per recorded table (``SuppliedCalls.fresh`` copies share their
    entries, and every submission's test records the same table), or None: then the child asks for
    every call. Needs a table that reports and takes its lookup position (``position``/``move_to``);
    bundles built before them get no sealed table."""
    entries = getattr(supplied, "entries", None)
    if not hasattr(supplied, "move_to") or not hasattr(supplied, "position") or not isinstance(entries, dict):
        return None
    key = (id(entries), limit)
    with _sealed_lock:
        hit = _sealed_tables.get(key)
    if hit is not None and hit[0] is entries:
        return hit[1]
    table = sealed.seal(supplied, limit)
    with _sealed_lock:
        _sealed_tables.pop(key, None)
        _sealed_tables[key] = (entries, table)  # holds the entries: their id stays theirs
        while len(_sealed_tables) > _SEALED_KEPT:
            del _sealed_tables[next(iter(_sealed_tables))]
    return table


def _value_of(reply, what, limit, hidden=None):
    """The value a reply carries, or the exception it stands for. ``hidden``: the integers the test's
    arguments determine (their dimensions, and the integers among them) when a hidden test made
    the call: then the text the notebook chose (its exception's type and message, the type it
    returned) is cut to a sanitized first line (``hidden_safe``)."""
    kind = reply.get("kind")
    if kind == "value":
        try:
            return protocol.decode(reply.get("value"), limit)
        except (protocol.ProtocolError, ValueError, TypeError, RecursionError) as exc:
            raise TypeError(f"{what} something that is not {PLAIN} ({exc})") from None
    if kind == "unsupported":
        what_type = str(reply.get("what", "?"))[:300]
        if hidden is not None:
            what_type = hidden_safe(what_type, hidden)
        raise TypeError(f"{what} {what_type}; expected {PLAIN}")
    if kind == "raised":
        type_name, message = str(reply.get("type", "Exception"))[:100], str(reply.get("message", ""))[:2000]
        if hidden is not None:
            type_name, message = hidden_safe(type_name, hidden, HIDDEN_TYPE_CHARS), hidden_safe(message, hidden)
        raise _student_exception(type_name, message)
    raise TypeError(f"{what} no usable answer")


def _student_exception(type_name, message):
    """Re-create the student's exception here with the same built-in type where possible."""
    cls = getattr(builtins, type_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:
            pass
    return StudentCodeError(f"{type_name}: {message}")


# ============================================================== hidden tests: what a failure may say

HIDDEN_MESSAGE_CHARS = 120  # the first line of the student's exception, in a hidden test's failure
HIDDEN_TYPE_CHARS = 40
HIDDEN_NUMBERS_KEPT = 8     # integers shown at most (shapes, axes); every other number is masked
MASK = "#"
# a number anywhere, inside words too ("x5312"), with its sign: hexadecimal, or decimal with its
# fraction and exponent
_NUMBER = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)")
_hidden = threading.local()


def hidden_safe(text, allowed=frozenset(), limit=HIDDEN_MESSAGE_CHARS):
    """What a hidden test's failure may show of ``text``, which the notebook chose (its exception's
    message or type): the first line, at most ``limit`` characters, with every number masked
    (``#``) but integers in ``allowed`` (the test's arguments' dimensions and axes, so that
    "shapes (3,4) and (5,1) not aligned" stays readable), at most HIDDEN_NUMBERS_KEPT of them. A
    notebook that raises an exception holding a hidden input, or a reference value it was given,
    shows ``#`` in its place."""
    lines = str(text).strip().splitlines()
    first = lines[0].strip() if lines else ""
    kept = 0

    def mask(match):
        nonlocal kept
        token = match.group(0)
        if token.isdigit() and int(token) in allowed and kept < HIDDEN_NUMBERS_KEPT:
            kept += 1
            return token
        return MASK
    first = _NUMBER.sub(mask, first)
    if len(first) > limit:
        first = first[:limit - 3] + "..."
    return first + (" ..." if len(lines) > 1 else "")


def _dimensions(args, kwargs):
    """The integers a hidden test's call determines: every dimension and size of every array among
    its arguments, their numbers of dimensions and axes (0 up to the largest), its integer arguments."""
    found, top = set(), 2

    def walk(value, depth=0):
        nonlocal top
        if depth > protocol.MAX_DEPTH:
            return
        if isinstance(value, dict):
            for item in value.values():
                walk(item, depth + 1)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item, depth + 1)
        elif type(value) is int:
            found.add(value)
        elif hasattr(value, "shape") and hasattr(value, "ndim"):
            found.update(int(n) for n in value.shape)
            found.add(int(value.size))
            top = max(top, int(value.ndim))
    walk(list(args))
    walk(dict(kwargs))
    return frozenset(found | set(range(top + 1)))


def _hidden_test_running():
    return getattr(_hidden, "test", False)


class _MarkHidden:
    """A test case's body that says, while it runs in this thread, whether its test is hidden."""

    def __init__(self, body, hidden):
        self.body, self.hidden = body, bool(hidden)

    def call_func(self, global_environment):
        before, _hidden.test = getattr(_hidden, "test", False), self.hidden
        try:
            return self.body.call_func(global_environment)
        finally:
            _hidden.test = before

    def __getattr__(self, name):
        return getattr(self.body, name)


class StudentFunction:
    """Stands for one of the student's functions; calling it runs it in the child."""

    def __init__(self, session, name):
        self._session = session
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        return self._session.call(self.__name__, args, kwargs)

    def call_by_value(self, args, supplied=None):
        """For ``backprop_checks.call``: (returned value, positions of the arguments it changed in
        place), with the student's other functions answered from ``supplied`` where it knows the call."""
        return self._session.call(self.__name__, args, {}, supplied=supplied, with_changes=True)

    def __repr__(self):
        return f"<student function {self.__name__}>"


class _Unusable:
    """A global of the notebook that is not plain data: any use explains why it failed."""

    def __init__(self, name, why):
        self._why = f"{name!r} in the notebook is {why}; expected {PLAIN} or a function"

    def __getattr__(self, attr):
        raise TypeError(self._why)

    def __call__(self, *args, **kwargs):
        raise TypeError(self._why)


class StudentNamespace(Mapping):
    """The notebook's globals, by value, as the `global_environment` Otter's tests read."""

    def __init__(self, session):
        self._session = session

    def __getitem__(self, name):
        try:
            reply = self._session.lookup(name)
        except GradingUnavailable:
            return StudentFunction(self._session, name)  # calling it explains the failure
        kind = reply.get("kind")
        if kind == "missing":
            raise KeyError(name)
        if kind == "callable":
            return StudentFunction(self._session, name)
        try:
            return _value_of(reply, f"{name!r} is", self._session.limits.return_mb << 20)
        except TypeError as exc:
            return _Unusable(name, str(exc))

    def __iter__(self):
        try:
            return iter(list(self._session.names()))
        except GradingUnavailable:
            return iter(())

    def __len__(self):
        return len(list(iter(self)))


# ============================================================== grading

def _checks_module():
    """The ``backprop_checks`` the test files import (the bundle's, in memory), if importable."""
    import importlib
    try:
        return importlib.import_module("backprop_checks")
    except ImportError:
        return None


def _run_tests(tests, env):
    questions = {}
    for original in tests:
        test_file = copy.copy(original)  # run() stores results on the object; threads share tests
        test_file.test_cases = [_marked(case) for case in original.test_cases]
        checks = _checks_module()
        if checks is not None and hasattr(checks, "collect_notes"):
            checks.collect_notes()  # this thread's notes (float32 precision, ...) for this question
        test_file.run(env)
        checks = _checks_module()
        notes = checks.take_notes() if checks is not None and hasattr(checks, "take_notes") else []
        rows = []
        for result in test_file.test_case_results:
            case = result.test_case
            match = DIAGNOSIS.search(result.message or "")
            rows.append({"name": case.name, "hidden": bool(case.hidden), "passed": bool(result.passed),
                         "points": float(case.points or 0), "message": result.message or "",
                         "diagnosis": match.group(1) if match else None})
        questions[test_file.name] = {"score": float(test_file.score),
                                     "max_score": float(test_file.possible), "tests": rows,
                                     "notes": _one_note_per_code(notes)}
    return questions


def _marked(case):
    """``case`` with a body that marks the thread while a hidden test runs (``hidden_safe``)."""
    try:
        return dataclasses.replace(case, body=_MarkHidden(case.body, case.hidden))
    except (TypeError, AttributeError):
        return case


def _one_note_per_code(notes):
    """The first note of each code, saying how many more quantities it covers."""
    firsts, counts = {}, {}
    for n in notes:
        code = n.get("code")
        counts[code] = counts.get(code, 0) + 1
        firsts.setdefault(code, dict(n))
    for code, n in firsts.items():
        if counts[code] > 1:
            n["message"] += f" (The same holds for {counts[code] - 1} more quantities of this question.)"
    return list(firsts.values())


def _result(status, reason, questions, cell_errors=(), tail="", isolation=None, transient=False):
    return {"status": status, "reason": reason,
            "cell_errors": [{"cell": c, "error": e} for c, e in sorted(dict(cell_errors).items())],
            "questions": questions,
            "score": float(sum(q["score"] for q in questions.values())),
            "max_score": float(sum(q["max_score"] for q in questions.values())),
            "stdout_tail": tail, "isolation": isolation or {}, "transient": transient}


def probe_isolation(limits=None):
    """The isolation mode a notebook's process gets on this machine ("root", "userns" or
    "plain"), from a child started and ended at once (no notebook code runs). Raises
    SandboxError when the sandbox does not start at all."""
    slot = uid_slots.acquire()
    try:
        child = Child(limits or Limits(), slot, STUDENT_PACKAGES, {})
        try:
            return str((child.isolation or {}).get("mode") or "unknown")
        finally:
            child.kill()
    finally:
        uid_slots.release(slot)


def grade_notebook(notebook_bytes, tests, limits=None, support_files=None, packages=STUDENT_PACKAGES,
                   hide=(), require_isolation=False):
    """Grade one submitted notebook (bytes) against Otter exception test files, by value.

    support_files: {file name: bytes} copied into the child's private working directory
    (e.g. parameters.npz, backprop_checks.py). packages: the distributions the notebook may
    import (a subset of `sandbox.STUDENT_PACKAGES`; what they require comes with them).
    hide: accepted for older callers and ignored: the child's root is an allow-list, so no
    folder of the host needs hiding.
    require_isolation: refuse (status "error") rather than run the notebook unisolated.
    """
    limits = limits or Limits()
    try:
        cells = read_code_cells(notebook_bytes)
    except InvalidNotebook as exc:
        return _result("invalid", str(exc), _run_tests(tests, {}))
    allowed = tuple(p for p in packages if p in STUDENT_PACKAGES)
    slot = uid_slots.acquire()
    session = _Session(cells, limits, dict(support_files or {}), allowed, slot, require_isolation)
    try:
        try:
            session.ensure()
        except GradingUnavailable:
            pass  # every test will fail with the reason; status from session.problems
        questions = _run_tests(tests, StudentNamespace(session))
    finally:
        session.close()
        uid_slots.release(slot)
    status, reasons = "graded", []
    for problem_status, reason in session.problems:
        if status == "graded" or problem_status == "error":
            status = problem_status
        if reason not in reasons:
            reasons.append(reason)
    tail = "\n[restarted]\n".join(session.tails)[-limits.tail_chars:]
    return _result(status, "; ".join(reasons), questions, session.cell_errors, tail, session.isolation,
                   session.transient)
