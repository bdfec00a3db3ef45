"""Backprop Lab tooling: build assignments, grade submissions, report to the instructor.

Run as ``backprop-lab build|grade|report|demo`` or ``python -m autograder ...``.

Where the course lives (the master notebooks and their data, one folder per exercise):

- in a source checkout (editable install or plain clone): the repository's ``assignments/``;
- in an installed wheel: ``autograder/course/``, the same folder shipped as package data
  (``setup.py`` copies ``assignments/`` there when it builds the wheel);
- anywhere else: ``--course DIR`` (or ``course = "DIR"`` under ``[build]`` in the config file),
  a folder laid out like ``assignments/``.
"""
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent  # the folder holding the packages: a checkout, or site-packages
SOURCE_ASSIGNMENTS = REPO_ROOT / "assignments"
BUNDLED_COURSE = PACKAGE_DIR / "course"


def is_source_checkout() -> bool:
    """True when running from the repository (editable install or clone), not from a wheel."""
    return (REPO_ROOT / "pyproject.toml").is_file() and SOURCE_ASSIGNMENTS.is_dir()


def default_course_dir() -> Path:
    """The course folder used when none is given: the checkout's ``assignments/`` if there is
    one, else the copy installed with the package."""
    return SOURCE_ASSIGNMENTS if is_source_checkout() else BUNDLED_COURSE


ASSIGNMENTS_DIR = default_course_dir()


def discover_exercises(course=None) -> tuple:
    """Every exercise of the course: each folder holding an ``exercise.py`` description, sorted.
    Nothing lists the exercises by hand; a new description is a new exercise everywhere."""
    from solutions.exercises import names
    return names(course or ASSIGNMENTS_DIR)



def version() -> str:
    """The installed distribution's version (package metadata), ``0+unknown`` in a bare clone."""
    from importlib.metadata import PackageNotFoundError, version as installed_version
    try:
        return installed_version("backprop-lab")
    except PackageNotFoundError:
        return "0+unknown"


def __getattr__(name):  # computed on first use: importing stays cheap (and needs no ``solutions``)
    if name == "__version__":
        return version()
    if name == "EXERCISES":  # every exercise of the default course, discovered
        return discover_exercises()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
