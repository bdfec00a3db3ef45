"""Packaging hook: a wheel carries the course (the repository's ``assignments/``: master notebooks,
their data and ledgers) inside the package, as ``autograder/course/``, so that an installed
``backprop-lab build`` finds it (``autograder.default_course_dir``). Everything else about the
package is in ``pyproject.toml``. Editable installs skip the copy and read ``assignments/`` in place.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

COURSE_SOURCE = Path(__file__).resolve().parent / "assignments"
COURSE_TARGET = ("autograder", "course")
NOT_SHIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


class BuildPyWithCourse(build_py):
    """``build_py``, then copy ``assignments/`` to ``<build_lib>/autograder/course/``."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib).joinpath(*COURSE_TARGET)
        if target.exists():  # a stale copy from an earlier build must not leak into this one
            shutil.rmtree(target)
        shutil.copytree(COURSE_SOURCE, target, ignore=NOT_SHIPPED)


setup(cmdclass={"build_py": BuildPyWithCourse})
