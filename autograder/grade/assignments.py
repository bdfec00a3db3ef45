"""The built assignments the grader knows: tests, points and support files, read into memory.

An assignment is found in ``dist/<exercise>/``: its Otter autograder bundle
(``autograder/*.zip``, the same test files ``otter run`` and Gradescope use) and its student
folder (``student/``: the notebook handed out and the support files next to it, such as
``parameters.npz``). The grader reads the bundle's ``tests/*.py`` into memory and never gives
them, or anything else only the bundle holds, to the submission's process; the submission's
process gets exactly the student folder's support files.

The test files import the shipped helper modules (``backprop_checks``,
``backprop_diagnosis``) and hidden tests may import ``solutions``. In the grader these names
resolve to the bundle's own copies (loaded from memory) or, where the bundle has none, to the
repository's ``autograder.checks`` / ``autograder.diagnosis`` / ``solutions``.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.abc
import importlib.util
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grade.otter_lite import ensure_lazy_test_files

ensure_lazy_test_files()  # only Otter's exception test files: skip otter/__init__.py's nbconvert (2 s)
from otter.test_files.exception_test import ExceptionTestFile  # noqa: E402

# module name in the test files -> repository module used when the bundle does not ship one
HELPER_MODULES = {
    "backprop_checks": "autograder.checks",
    "backprop_diagnosis": "autograder.diagnosis",
    "solutions": "solutions",
}

# the student folder's files larger than this are not sent to every submission's process
MAX_SUPPORT_FILE_BYTES = 50 * 1024 * 1024


class AssignmentError(Exception):
    """A built assignment that cannot be used for grading (missing or broken bundle)."""


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, filename: str):
    """``compile(source, filename, "exec")``, once per process: every load of the assignments and
    every batch installs the same bundle modules and test files (0.2-0.4 s of compiling each time)."""
    return compile(source, filename, "exec")


class _InMemoryModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports modules and packages from source text held in memory (the bundle's files/)."""

    def __init__(self, label: str, sources: dict[str, str], origins: dict[str, str] | None = None):
        self.label = label
        self.modules: dict[str, tuple[str, str, bool]] = {}  # dotted -> (path, source, is package)
        self.origins = origins or {}  # path -> the bundle it came from (the module's __file__)
        for path, source in sources.items():
            parts = path[: -len(".py")].split("/")
            is_package = parts[-1] == "__init__"
            dotted = ".".join(parts[:-1] if is_package else parts)
            self.modules[dotted] = (path, source, is_package)
        for dotted in list(self.modules):  # namespace packages: folders without __init__.py
            parts = dotted.split(".")
            for k in range(1, len(parts)):
                self.modules.setdefault(".".join(parts[:k]), ("", "", True))

    def _file(self, rel: str) -> str:
        return f"{self.origins.get(rel, self.label)}!files/{rel}"

    @property
    def top_names(self) -> set[str]:
        return {d.split(".")[0] for d in self.modules}

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.modules:
            return None
        rel, _, is_package = self.modules[fullname]
        return importlib.util.spec_from_loader(fullname, self, origin=self._file(rel), is_package=is_package)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        rel, source, _ = self.modules[module.__name__]
        module.__file__ = self._file(rel)
        exec(_compiled(source, module.__file__), module.__dict__)


@dataclass
class Assignment:
    name: str
    bundle: Path
    test_sources: dict[str, str]  # "tests/q1.py" -> source, in question order
    support_files: dict[str, bytes]  # relative path -> content, given to the submission
    questions: dict[str, float]  # question name -> points possible, in question order
    tests_hash: str  # sha256 over test sources, bundle modules and support files
    module_sources: dict[str, str] = field(default_factory=dict)  # bundle files/**.py

    @property
    def max_score(self) -> float:
        return float(sum(self.questions.values()))

    def fresh_tests(self, install: bool = True) -> list[ExceptionTestFile]:
        """New test file objects (they hold per-run results, so one set per submission).
        ``install=False``: the caller is inside ``modules_installed`` for this assignment already
        (a batch: installing again would swap ``sys.modules`` under the other grading threads)."""
        if not install:
            return [_test_file(src, path) for path, src in self.test_sources.items()]
        with self.helpers_installed():
            return [_test_file(src, path) for path, src in self.test_sources.items()]

    def helpers_installed(self):
        return modules_installed([self])


def _test_file(source: str, path: str) -> ExceptionTestFile:
    """``ExceptionTestFile.from_string(source, path)`` with the compiled code reused
    (``_from_compiled_code`` is the second half of ``from_string``)."""
    test_file = ExceptionTestFile._from_compiled_code(_compiled(source, path), path=path)
    test_file.source = source
    return test_file


def compatible(a: Assignment, b: Assignment) -> bool:
    """Whether two assignments' bundle modules can be importable at the same time."""
    return all(b.module_sources.get(k, v) == v for k, v in a.module_sources.items())


@contextlib.contextmanager
def modules_installed(assignments: list[Assignment]):
    """While the block runs, the bundles' Python files (``backprop_checks``, ``solutions``, ...)
    are importable, as they are in Otter's working directory; ``backprop_checks``,
    ``backprop_diagnosis`` and ``solutions`` fall back to the repository's modules when no bundle
    has them. Afterwards ``sys.modules`` is as before. Meant to wrap a whole batch (test functions
    import lazily, from any grading thread); the assignments must be ``compatible``."""
    sources: dict[str, str] = {}
    origins: dict[str, str] = {}
    for a in assignments:
        sources.update(a.module_sources)
        for rel in a.module_sources:
            origins.setdefault(rel, str(a.bundle))  # compatible: the first bundle's copy is everyone's
    finder = _InMemoryModules(",".join(str(a.bundle) for a in assignments), sources, origins)
    aliases = {}
    for name, repo_module in HELPER_MODULES.items():
        if name not in finder.top_names and name != repo_module:
            try:
                aliases[name] = importlib.import_module(repo_module)
            except ImportError:
                pass  # a test that needs it fails with its own ImportError message
    tops = finder.top_names | set(aliases)

    def ours(key):
        return key.split(".")[0] in tops

    saved = {k: m for k, m in list(sys.modules.items()) if ours(k)}  # list(): other threads import
    for k in saved:
        del sys.modules[k]
    sys.modules.update(aliases)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        try:
            sys.meta_path.remove(finder)
        except ValueError:
            pass
        for k in [k for k in list(sys.modules) if ours(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


def _question_order(path: str) -> tuple:
    stem = Path(path).stem
    digits = "".join(ch for ch in stem if ch.isdigit())
    return (int(digits) if digits else float("inf"), stem)


def load_assignment(exercise_dir: Path) -> Assignment:
    """Read one built assignment (``dist/<exercise>/``) into memory."""
    exercise_dir = Path(exercise_dir)
    bundles = sorted((exercise_dir / "autograder").glob("*.zip"))
    if not bundles:
        raise AssignmentError(f"{exercise_dir}: no autograder bundle (autograder/*.zip); run `python -m autograder build`")
    bundle = max(bundles, key=lambda b: (b.stat().st_mtime, b.name))  # Otter stamps names; newest wins
    try:
        with zipfile.ZipFile(bundle) as zf:
            names = zf.namelist()
            config = json.loads(zf.read("otter_config.json")) if "otter_config.json" in names else {}
            test_paths = sorted((n for n in names if n.startswith("tests/") and n.endswith(".py")
                                 and n.count("/") == 1 and not n.endswith("__init__.py")),
                                key=_question_order)
            test_sources = {p: zf.read(p).decode("utf-8") for p in test_paths}
            module_sources = {n[len("files/"):]: zf.read(n).decode("utf-8") for n in names
                              if n.startswith("files/") and n.endswith(".py")}
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AssignmentError(f"{bundle}: unreadable autograder bundle ({exc})") from exc
    if not test_sources:
        raise AssignmentError(f"{bundle}: the bundle has no tests/*.py (exception-based test files)")

    name = config.get("assignment_name") or exercise_dir.name
    support_files: dict[str, bytes] = {}
    student_dir = exercise_dir / "student"
    if student_dir.is_dir():
        for f in sorted(student_dir.rglob("*")):
            rel = f.relative_to(student_dir)
            if (f.is_file() and f.suffix != ".ipynb" and not any(p.startswith(".") for p in rel.parts)
                    and f.stat().st_size <= MAX_SUPPORT_FILE_BYTES):
                support_files[rel.as_posix()] = f.read_bytes()

    digest = hashlib.sha256()
    for label, items in (("tests", test_sources), ("support", support_files)):
        for key in sorted(items):
            value = items[key]
            digest.update(f"{label}:{key}\0".encode())
            digest.update(value.encode() if isinstance(value, str) else value)
    for key in sorted(module_sources):
        digest.update(f"module:{key}\0{module_sources[key]}".encode())

    assignment = Assignment(name=name, bundle=bundle, test_sources=test_sources,
                            support_files=support_files, questions={}, tests_hash=digest.hexdigest(),
                            module_sources=module_sources)
    try:
        tests = assignment.fresh_tests()
    except Exception as exc:  # a broken test file is the build's bug: say which file
        raise AssignmentError(f"{bundle}: cannot load test files: {type(exc).__name__}: {exc}") from exc
    assignment.questions = {t.name: float(t.possible) for t in tests}
    return assignment


def load_assignments(dist: Path) -> tuple[dict[str, Assignment], list[str]]:
    """All built assignments under ``dist``; returns (assignments by name, problems found)."""
    dist = Path(dist)
    assignments: dict[str, Assignment] = {}
    problems: list[str] = []
    if not dist.is_dir():
        return assignments, [f"{dist}: no built assignments here; run `python -m autograder build --out {dist}`"]
    for exercise_dir in sorted(p for p in dist.iterdir() if p.is_dir()):
        if not (exercise_dir / "autograder").is_dir():
            continue
        try:
            a = load_assignment(exercise_dir)
        except AssignmentError as exc:
            problems.append(str(exc))
            continue
        assignments[a.name] = a
    return assignments, problems
