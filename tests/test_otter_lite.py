"""The grader imports Otter's test-file classes without running otter/__init__.py's heavy
imports (nbconvert), and the full ``otter`` still works afterwards in the same process."""
import subprocess
import sys
import textwrap

from autograder.grade.otter_lite import ensure_lazy_otter


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_grader_import_skips_otter_api_and_full_otter_still_works():
    out = _run("""
        import sys
        import autograder.grade.batch  # imports otter.test_files through the lazy package
        heavy = sorted(m for m in ("otter.api", "otter.export", "nbconvert", "nbformat", "otter.test_files.ok_test")
                       if m in sys.modules)
        print("heavy-before", heavy)
        from otter.test_files import test_case, ExceptionTestFile
        print("lazy-files", sys.modules["otter.test_files"].__otter_lazy__["done"])
        from otter.test_files import GradingResults, OKTestFile  # completes otter.test_files
        print("files", GradingResults.__name__, test_case is sys.modules["otter.test_files.exception_test"].test_case)
        import otter
        print("version", otter.__version__)
        print("notebook", otter.Notebook.__name__)
        from otter.assign import main
        print("assign", callable(main))
        print("api", "otter.api" in sys.modules, otter.api.__name__)
        print("same", sys.modules["otter"] is otter, otter.test_files is sys.modules["otter.test_files"])
    """)
    assert "heavy-before []" in out
    assert "lazy-files False" in out and "files GradingResults True" in out
    from importlib.metadata import version
    assert f"version {version('otter-grader')}" in out
    assert "notebook Notebook" in out and "assign True" in out
    assert "api True otter.api" in out and "same True True" in out


def test_missing_name_raises_attribute_error_after_completion():
    out = _run("""
        from autograder.grade.otter_lite import ensure_lazy_otter
        otter = ensure_lazy_otter()
        try:
            otter.no_such_name
        except AttributeError as exc:
            print("attr-error", exc)
        print("complete", otter.__otter_lazy__["done"], hasattr(otter, "Notebook"))
    """)
    assert "attr-error module 'otter' has no attribute 'no_such_name'" in out
    assert "complete True True" in out


def test_already_imported_otter_is_returned_unchanged():
    import otter  # the real package (this test process may have imported it fully already)
    assert ensure_lazy_otter() is sys.modules["otter"]
    assert otter.__version__
