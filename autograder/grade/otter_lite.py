"""Otter's test-file classes without the cost of ``import otter``.

The grader needs only ``otter.test_files`` (the exception-based test files and their results);
the test files themselves ``from otter.test_files import test_case``. But ``otter/__init__.py``
imports ``otter.api``, which imports the notebook exporters (nbconvert, jinja2, ...): about 2 s
of start-up spent on code the grader never runs.

``ensure_lazy_otter()`` puts a *lazily completed* ``otter`` package into ``sys.modules``: a
module made from Otter's own import spec, with ``__path__`` set (so ``otter.test_files``,
``otter.utils``, ``otter.assign``, ... import normally, from Otter's files, unmodified) but
whose ``__init__.py`` has not run yet. The first time anyone asks it for a name it does not have
(``otter.Notebook``, ``otter.__version__``, ``otter.api``), the real ``__init__.py`` runs in the
module's namespace, once, and the name is returned: code in the same process that wants the
full Otter gets it, just later. If ``otter`` is already imported, nothing changes.
"""
from __future__ import annotations

import importlib.util
import sys
import threading
import types

_completing = threading.RLock()


def ensure_lazy_otter() -> types.ModuleType:
    """The ``otter`` package in ``sys.modules``: the real one if already imported, else a package
    whose ``__init__.py`` runs on the first attribute it lacks."""
    existing = sys.modules.get("otter")
    if existing is not None:
        return existing
    spec = importlib.util.find_spec("otter")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError("otter-grader is not installed")
    module = importlib.util.module_from_spec(spec)  # __name__, __spec__, __path__, __file__; not run
    state = {"done": False}

    def __getattr__(name: str):
        # only names the package does not have yet land here; complete it once, then answer
        with _completing:
            if not state["done"]:
                state["done"] = True
                del module.__dict__["__getattr__"]
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    module.__dict__["__getattr__"] = __getattr__
                    state["done"] = False
                    raise
        try:
            return module.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'otter' has no attribute {name!r}") from None

    module.__getattr__ = __getattr__
    module.__otter_lazy__ = state  # tells a reader (and the tests) the package is not complete yet
    sys.modules.setdefault("otter", module)
    return sys.modules["otter"]
