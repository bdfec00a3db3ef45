"""What runs inside the jail, as the student: the notebook's cells and the grader's requests.

`serve` is the loop of the submission's process S once `sandbox` has built its jail (new root,
namespaces, limits, no privileges). Everything here runs in the student's own process, next to
the student's code, so nothing here is trusted: the grader checks every frame it receives
(`protocol.decode`), and nothing here decides a score. The requests, and what S answers:

    {"op": "files", "files": {name: latin-1 text}}  -> {"ok": true}   (support files into the workdir)
    {"op": "run", "cells": [[index, source], ...]}  -> {"event": "cell"|"cell_done", ...}..., {"event": "ready"}
    {"op": "lookup", "name"}                        -> {"kind": "missing"|"callable"|"value"|"unsupported", ...}
    {"op": "names"}                                 -> {"names": [...]}
    {"op": "call", "name", "args", "kwargs", "supply": [names], "sealed": table (optional)}
        -> zero or more {"event": "dep", "name", "args", "kwargs", "at"} (each answered by the grader
           with {"kind": "value", "value", "at"} or {"kind": "own", "at"}; calls the sealed table
           answers, see `sealed`, are not sent), then
           {"kind": "value", "value", "changed": [positions]} | {"kind": "raised", ...} | {"kind": "unsupported", ...}
"""
import builtins
import copy
import os
import sys
import traceback

import numpy as np

from autograder.grade import protocol, sealed

GRADER_FRAME_BYTES = protocol.GRADER_FRAME_BYTES  # trusted frames, from the grader


class _FakeNotebook:
    """Stands in for otter.Notebook: grader.check(...) / export(...) do nothing here."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class _FakeIPython:
    def __getattr__(self, name):  # run_line_magic, run_cell_magic, system, ...
        return lambda *args, **kwargs: None


def _fake_otter():
    import types
    otter = types.ModuleType("otter")
    otter.Notebook = _FakeNotebook
    otter.__path__ = []
    return otter


_MISSING = object()


def _same(a, b):
    """Exact equality of plain data (arrays with nan == nan, dicts, lists, tuples, numbers)."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        return x.shape == y.shape and x.dtype == y.dtype and bool(
            np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))
    return a is b or bool(a == b)


def serve(chan, limits):
    """Answer the grader's requests on `chan` until it closes the channel."""
    max_frame = limits.return_mb * 1024 * 1024
    sys.modules["otter"] = _fake_otter()
    ipython = _FakeIPython()
    namespace = {"__name__": "__main__", "__builtins__": builtins,
                 "get_ipython": lambda: ipython,
                 "display": lambda *objs, **kwargs: print(*objs)}

    owner = os.getpid()

    def reply(message):
        if os.getpid() != owner:
            os._exit(0)  # a process the notebook forked came back here: it must not answer
        protocol.send_frame(chan, message, max_frame)

    def flush():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # output cap reached (broken pipe) or stream replaced by the student
                pass

    def describe_error(exc):
        return f"{type(exc).__name__}: {exc}"[:2000]

    def supplied(dep, own, table):
        """Stand-in for the student's ``dep`` during one call: the grader answers the calls a right
        answer makes (it decides, from values, in its own process); any other call runs ``own``.
        ``table`` (a ``sealed.Opener``) answers here the calls the grader would answer with the
        entry its lookup tries first, when the arguments are exactly that entry's."""
        def stand_in(*args, **kwargs):
            if not kwargs:
                value = table.open(dep, args)
                if value is not sealed.MISS:
                    return value
            try:
                ask = {"event": "dep", "name": dep, "args": protocol.encode(list(args), max_frame),
                       "kwargs": protocol.encode(dict(kwargs), max_frame), "at": table.position(dep)}
            except Exception:  # not plain data: the grader cannot know this call
                ask = None
            if ask is not None:
                reply(ask)
                got = protocol.recv_frame(chan, GRADER_FRAME_BYTES, max_values=None)
                table.moved(dep, got.get("at"))
                if got.get("kind") == "value":
                    return protocol.decode(got.get("value"), max_frame)
            if own is _MISSING:
                raise NameError(f"name {dep!r} is not defined")
            return own(*args, **kwargs)
        stand_in.__name__ = stand_in.__qualname__ = dep
        return stand_in

    def changed(before, after):
        """Positions of the arguments the call changed in place (reported, the grader decides)."""
        if before is None:
            return []
        try:
            return [i for i, (a, b) in enumerate(zip(after, before)) if not _same(a, b)]
        except Exception:
            return []

    def answer(value):
        try:
            return {"kind": "value", "value": protocol.encode(value, max_frame)}
        except protocol.NotPlainData as exc:
            return {"kind": "unsupported", "what": str(exc)[:500], "type": protocol.describe(value)}
        except RecursionError:
            return {"kind": "unsupported", "what": "a structure nested too deeply",
                    "type": protocol.describe(value)}

    while True:
        try:
            request = protocol.recv_frame(chan, GRADER_FRAME_BYTES, max_values=None)
        except EOFError:
            return
        op = request.get("op")
        if op == "files":
            for name, text in request["files"].items():
                with open(os.path.basename(name), "wb") as f:
                    f.write(text.encode("latin-1"))
            reply({"ok": True})
        elif op == "run":
            for index, source in request["cells"]:
                reply({"event": "cell", "cell": index})
                error = None
                try:
                    exec(compile(source, f"<cell {index + 1}>", "exec"), namespace)
                except BaseException as exc:  # like Jupyter: record it and go on
                    error = describe_error(exc)
                flush()
                reply({"event": "cell_done", "cell": index, "error": error})
            reply({"event": "ready"})
        elif op == "lookup":
            name = request["name"]
            if name not in namespace:
                reply({"kind": "missing"})
            elif callable(namespace[name]):
                reply({"kind": "callable"})
            else:
                reply(answer(namespace[name]))
        elif op == "names":
            reply({"names": [k for k in namespace if isinstance(k, str) and not k.startswith("_")]})
        elif op == "call":
            supply = request.get("supply")
            supply = [n for n in supply if type(n) is str] if isinstance(supply, list) else []
            saved = {}
            try:
                args = protocol.decode(request["args"], max_frame, resolve_ref=namespace.get)
                kwargs = protocol.decode(request["kwargs"], max_frame, resolve_ref=namespace.get)
                function = namespace[request["name"]]
                try:
                    before = copy.deepcopy(args)
                except Exception:
                    before = None
                table = sealed.Opener(request.get("sealed"), max_frame)
                for dep in supply:
                    saved[dep] = namespace.get(dep, _MISSING)
                    namespace[dep] = supplied(dep, saved[dep], table)
                try:
                    result = function(*args, **kwargs)
                finally:
                    for dep, own in saved.items():
                        if own is _MISSING:
                            namespace.pop(dep, None)
                        else:
                            namespace[dep] = own
            except BaseException as exc:
                tb = traceback.format_exception(exc)
                reply({"kind": "raised", "type": type(exc).__name__, "message": str(exc)[:2000],
                       "traceback": "".join(tb[-6:])[-3000:]})
            else:
                message = answer(result)
                message["changed"] = changed(before, args)
                reply(message)
            flush()
        else:
            reply({"error": f"unknown op {op!r}"})
