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
``ensure_lazy_test_files()`` does the same one level down, for ``otter.test_files``.
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
    return _lazy_package("otter")


def ensure_lazy_test_files() -> types.ModuleType:
    """``otter.test_files`` holding what exception-based test files and the grader use
    (``test_case``, ``ExceptionTestFile``, ``TestCase``, ``TestCaseResult``, ``TestFile``), from
    its two small modules; its ``__init__.py`` (OK-format and metadata tests, ``nbformat`` and its
    JSON-schema validator, ``otter.utils`` with IPython: 0.15 s) runs on the first other name asked."""
    ensure_lazy_otter()
    package = _lazy_package("otter.test_files")
    if getattr(package, "__otter_lazy__", {}).get("done", True):
        return package  # imported for real already
    # import_module, not "from otter.test_files import ...": a from-import asks the package for the
    # name first, which would complete it
    abstract_test = importlib.import_module("otter.test_files.abstract_test")
    exception_test = importlib.import_module("otter.test_files.exception_test")
    for module, names in ((exception_test, ("ExceptionTestFile", "test_case")),
                          (abstract_test, ("TestCase", "TestCaseResult", "TestFile"))):
        for name in names:  # the same objects the real __init__.py binds
            package.__dict__.setdefault(name, getattr(module, name))
    return package


def _lazy_package(fullname: str) -> types.ModuleType:
    existing = sys.modules.get(fullname)
    if existing is not None:
        return existing
    spec = importlib.util.find_spec(fullname)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"{fullname} (otter-grader) is not installed")
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
            raise AttributeError(f"module {fullname!r} has no attribute {name!r}") from None

    module.__getattr__ = __getattr__
    module.__otter_lazy__ = state  # tells a reader (and the tests) the package is not complete yet
    sys.modules.setdefault(fullname, module)
    if "." in fullname:  # as the import system does: the parent names its submodule
        parent, _, child = fullname.rpartition(".")
        setattr(sys.modules[parent], child, sys.modules[fullname])
    return sys.modules[fullname]
