"""Run notebooks and their public checks as on a student's machine.

    python -I student_machine.py MANIFEST.json RESULTS.json      (cwd: a copy of the student folder)

The manifest holds ``{"notebook": "<exercise>.ipynb", "submissions": [{"id", "path", "check"}]}``.
For each submission every code cell runs in order, in one fresh namespace, as "Restart & Run All"
does, except the ``grader.check`` and ``grader.export`` cells; a cell that raises is recorded.
Then, if ``check`` is true, ``otter.Notebook(<handed-out notebook>).check(q, global_env=namespace)``
runs every question's public tests (embedded in the handed-out notebook's metadata), exactly as
the student's ``grader.check("qN")`` does.

A student's machine has neither the reference (``solutions``) nor the grader (``autograder``): both
are blocked before anything runs, whatever the interpreter's installed packages are. This script
is standalone on purpose (run with ``-I``, it cannot import its neighbours).
"""
import contextlib
import importlib.abc
import io
import json
import os
import sys
import traceback

NOT_ON_A_STUDENT_MACHINE = ("solutions", "autograder")


class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in NOT_ON_A_STUDENT_MACHINE:
            raise ModuleNotFoundError(f"No module named {name!r} (not on a student's machine)", name=name)
        return None


def blocked() -> dict[str, bool]:
    """Prove the block holds: each package must fail to import."""
    result = {}
    for name in NOT_ON_A_STUDENT_MACHINE:
        try:
            __import__(name)
            result[name] = False
        except ModuleNotFoundError:
            result[name] = True
    return result


def run_notebook(path: str) -> tuple[dict, list[dict]]:
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    env = {"__name__": "__main__"}
    errors = []
    for i, cell in enumerate(nb["cells"], start=1):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if "grader.check(" in source or "grader.export(" in source:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, f"<cell {i}>", "exec"), env)
        except BaseException as error:  # a student's cell may raise anything, even SystemExit
            errors.append({"cell": i, "error": f"{type(error).__name__}: {error}",
                           "traceback": traceback.format_exc(limit=-3)[-1500:]})
    return env, errors


def public_checks(grader, questions, env) -> dict[str, dict]:
    out = {}
    for q in questions:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                result = grader.check(q, global_env=env)
            out[q] = {"passed": bool(result.passed_all), "summary": str(result)[:1500]}
        except Exception as error:
            out[q] = {"passed": False, "summary": f"grader.check raised {type(error).__name__}: {error}"}
    return out


def main(manifest_path: str, results_path: str) -> int:
    sys.meta_path.insert(0, Blocked())
    sys.path.insert(0, os.getcwd())  # as in a Jupyter kernel: the notebook's folder is importable
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    import otter

    handed_out = manifest["notebook"]
    with open(handed_out, encoding="utf-8") as f:
        questions = sorted(json.load(f)["metadata"]["otter"]["tests"], key=lambda q: int(q[1:]))
    grader = otter.Notebook(handed_out)
    results = {"blocked": blocked(), "submissions": {}}
    for sub in manifest["submissions"]:
        env, errors = run_notebook(sub["path"])
        checks = public_checks(grader, questions, env) if sub["check"] else {}
        results["submissions"][sub["id"]] = {"cell_errors": errors, "checks": checks}
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
