"""Grade one Gradescope submission by value: what the bundle's ``run_autograder`` runs.

    python -m autograder.grade.gradescope run [--root /autograder]

Gradescope's contract (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the
bundle is unzipped into ``<root>/source``, the submission is in ``<root>/submission``, and
``<root>/results/results.json`` must hold the scores; everything runs as root, the working
directory is ``<root>``. ``<root>`` is ``/autograder`` unless ``AUTOGRADER_ROOT`` says otherwise
(the tests use a temporary folder).

What happens, in order:

1. ``<root>/source``, ``<root>/submission``, ``<root>/results`` and the submission metadata
   are made readable by root only (Gradescope's own advice, "Run your autograder as a non-root
   user"). The bundle carries the built assignment in ``<root>/source/<exercise>/``, exactly as
   ``python -m autograder grade --dist`` reads it: the grader loads its tests and the reference
   into memory from there.
2. The strongest sandbox mode that starts here is picked (``pick_mode``): as root, "root"
   (unprivileged uid, no network, the bundle masked by private mounts), else "root-uid" (the
   container refused namespaces: unprivileged uid, the bundle kept away by its permissions).
   The student's code never runs as root. ``BACKPROP_LAB_SANDBOX_MODE`` forces a mode.
3. The submission (a notebook or an Otter export zip; ``choose_submission``) is graded by the
   batch grader's own per-submission path (``batch.grade_one``): same tests, same scores,
   same messages as ``python -m autograder grade``.
4. ``results.json`` gets one Gradescope test per Otter test case: public checks "visible",
   hidden tests with the bundle's ``hidden_visibility`` ("hidden" unless the instructor chose
   "after_due_date" or "after_published"); the top-level output names the graded file, what
   stopped the notebook if anything did, and the isolation mode; ``extra_data`` records it all.

This module imports only the standard library at the top: ``setup.sh`` runs its
``requirements-met`` command before the packages are installed.
"""
from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "AUTOGRADER_ROOT"
MODE_ENV = "BACKPROP_LAB_SANDBOX_MODE"
SETTINGS_FILE = "gradescope.json"
HIDDEN_VISIBILITIES = ("hidden", "after_due_date", "after_published")
DEFAULT_HIDDEN_VISIBILITY = "hidden"
DEFAULT_TIMEOUT = 60.0
# The notebook's uid: from here up, apart from the batch grader's (sandbox.UID_BASE), and not in use
# ("root-uid" kills every process of that uid at the end, so it must be this run's alone).
UID_RANGE_START, UID_RANGE_STEP = 62000, 64

# what each sandbox mode means for the student, in the results' top-level output
MODE_WORDS = {
    "root": "your notebook ran as an unprivileged user (uid {uid}) with no network, in private "
            "namespaces where the tests, the reference solutions and this autograder's files do not exist",
    "root-uid": "this container refused namespaces: your notebook ran as an unprivileged user (uid {uid}) "
                "that cannot read the tests, the reference solutions or this autograder's files "
                "(readable by root only); it could use the network",
    "userns": "not run as root: your notebook ran under the grader's own user, with no network, in "
              "private namespaces where the tests and the reference solutions do not exist",
    "plain": "not run as root and no namespaces: your notebook could read the grader's files and use "
             "the network (not fit for grades)",
}


@dataclass(frozen=True)
class Paths:
    root: Path
    source: Path
    submission: Path
    results: Path
    metadata: Path

    @classmethod
    def under(cls, root) -> "Paths":
        root = Path(root).resolve()
        return cls(root, root / "source", root / "submission", root / "results",
                   root / "submission_metadata.json")

    @property
    def results_json(self) -> Path:
        return self.results / "results.json"


def default_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or "/autograder")


# ============================================================== settings and set-up

def read_settings(source: Path) -> dict:
    """The bundle's ``gradescope.json`` (written by ``autograder.builder.gradescope``), checked."""
    settings = json.loads((source / SETTINGS_FILE).read_text(encoding="utf-8"))
    if not isinstance(settings.get("exercise"), str) or not settings["exercise"]:
        raise ValueError(f"{SETTINGS_FILE}: no exercise named")
    visibility = settings.setdefault("hidden_visibility", DEFAULT_HIDDEN_VISIBILITY)
    if visibility not in HIDDEN_VISIBILITIES:
        raise ValueError(f"{SETTINGS_FILE}: hidden_visibility {visibility!r} is not one of {HIDDEN_VISIBILITIES}")
    settings["timeout"] = float(settings.get("timeout") or DEFAULT_TIMEOUT)
    return settings


def lock_down(paths: Paths) -> list[str]:
    """Only root may read the bundle (tests, reference, grader), the submission, the results
    and the submission metadata (it holds earlier results). Returns what was changed."""
    changed = []
    if os.geteuid() != 0:
        return changed
    for path in (paths.source, paths.submission, paths.results, paths.metadata):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            continue
        os.chown(path, 0, 0)
        os.chmod(path, stat.S_IMODE(mode) & 0o700)
        changed.append(str(path))
    return changed


def installed_copies() -> list[str]:
    """Other copies of this project the interpreter can import (an editable checkout or a wheel
    in site-packages): hidden from the student's process too, as the bundle is."""
    from importlib import metadata
    from urllib.parse import unquote, urlparse
    found = set()
    try:
        dist = metadata.distribution("backprop-lab")
    except metadata.PackageNotFoundError:
        return []
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        url = urlparse(direct.get("url", ""))
        if url.scheme == "file":
            found.add(unquote(url.path))
    except (ValueError, AttributeError):
        pass
    for file in dist.files or []:
        top = file.parts[0] if file.parts else ""
        if top in ("solutions", "autograder"):
            found.add(str(dist.locate_file(top)))
    return sorted(p for p in found if Path(p).exists())


# ============================================================== the sandbox mode

def candidate_modes() -> list[str]:
    """Strongest first; as root never a mode where the notebook keeps root."""
    from autograder.grade import sandbox
    allowed = list(sandbox.ROOT_MODES) if os.geteuid() == 0 else ["userns"]
    forced = os.environ.get(MODE_ENV)
    if forced:
        if forced not in allowed:
            raise ValueError(f"{MODE_ENV}={forced!r}: choose one of {allowed}")
        return [forced]
    return allowed


def free_uid_base() -> int:
    """The first block of UID_RANGE_STEP uids from UID_RANGE_START that no process uses."""
    in_use = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                in_use.add(os.stat(f"/proc/{entry}").st_uid)
            except OSError:
                pass
    base = UID_RANGE_START
    while any(base <= uid < base + UID_RANGE_STEP for uid in in_use) and base < 65000:
        base += UID_RANGE_STEP
    return base


def pick_mode(limits, packages) -> tuple[dict | None, list[str]]:
    """Start a throwaway sandbox in each candidate mode; keep the first that starts.
    Returns (its isolation record, or None if none started; why the stronger ones did not)."""
    from autograder.grade import sandbox
    refused = []
    sandbox.UID_BASE = free_uid_base()
    for mode in candidate_modes():
        sandbox.FORCED_MODE = mode
        slot = sandbox.uid_slots.acquire()
        try:
            child = sandbox.Child(limits, slot, packages, {})
        except sandbox.SandboxError as exc:
            refused.append(f"{mode}: {exc}")
            continue
        finally:
            sandbox.uid_slots.release(slot)
        isolation = dict(child.isolation)
        child.kill()
        return isolation, refused
    sandbox.FORCED_MODE = None
    return None, refused


# ============================================================== the submission

def choose_submission(folder: Path, exercise: str):
    """The file to grade: notebooks before export zips, top level before subfolders, a file
    named like the assignment first. Returns (Submission or None, the other files found)."""
    from autograder.grade.submissions import discover
    found = discover([folder])

    def rank(sub):
        rel = sub.path.relative_to(folder)
        return (len(rel.parts) > 1, sub.path.suffix.lower() != ".ipynb", sub.path.stem != exercise, rel.as_posix())
    found.sort(key=rank)
    if not found:
        return None, []
    return found[0], [s.path.relative_to(folder).as_posix() for s in found[1:]]


def case_titles(assignment) -> dict[str, dict[str, str]]:
    """{question: {Otter's case name ("q1 - 1"): its function's name ("sigmoid_public")}}."""
    titles = {}
    for test_file in assignment.fresh_tests():
        titles[test_file.name] = {}
        for case in test_file.test_cases:
            func = getattr(getattr(case, "body", None), "test_func", None)
            name = getattr(func, "__name__", "") or case.name
            titles[test_file.name][case.name] = name.removeprefix("test_")
    return titles


def grade(paths: Paths, settings: dict, log=print) -> dict:
    """Grade the submission by value; returns the batch grader's result plus ``meta``."""
    from autograder.grade.assignments import load_assignment, modules_installed
    from autograder.grade.batch import error_result, grade_one, make_limits
    from autograder.grade.sandbox import STUDENT_PACKAGES
    from autograder.grade.submissions import choose_assignment, load

    start = time.perf_counter()
    protected = lock_down(paths)
    assignment = load_assignment(paths.source / settings["exercise"])
    meta = {"assignment": assignment.name, "graded_file": None, "other_files": [], "isolation": None,
            "refused_modes": [], "protected": protected, "titles": case_titles(assignment)}
    hide = sorted({str(paths.root), *installed_copies()})
    limits = make_limits(settings["timeout"])
    isolation, meta["refused_modes"] = pick_mode(limits, STUDENT_PACKAGES)
    meta["isolation"] = isolation
    sub, meta["other_files"] = choose_submission(paths.submission, assignment.name)
    if isolation is None:
        result = error_result(assignment, "grader error: no sandbox could start here ("
                              + "; ".join(meta["refused_modes"]) + "); the notebook was not run")
    elif sub is None:
        result = error_result(assignment, "no notebook (.ipynb) or Otter export (.zip) was submitted", "invalid")
    else:
        meta["graded_file"] = sub.path.relative_to(paths.submission).as_posix()
        loaded = load(sub)
        _, status, reason = choose_assignment(sub, loaded.declared_assignment, [assignment.name],
                                                 assignment.name)
        if loaded.status:
            result = error_result(assignment, loaded.reason, loaded.status)
        elif status:
            result = error_result(assignment, reason, status)
        else:
            with modules_installed([assignment]):
                result = grade_one(assignment, loaded.notebook_bytes, settings["timeout"], hide=hide)
    meta["seconds"] = round(time.perf_counter() - start, 3)
    log(f"{assignment.name}: {meta['graded_file']}: {result['status']} {result['score']:g}/{result['max_score']:g} "
        f"in {meta['seconds']:.1f} s; sandbox {isolation and isolation.get('mode')}"
        + (f" (refused: {'; '.join(meta['refused_modes'])})" if meta["refused_modes"] else ""))
    if result.get("reason"):
        log(f"reason: {result['reason']}")
    result["meta"] = meta
    return result


# ============================================================== results.json

def _fmt(x) -> str:
    x = float(x)
    return str(int(x)) if x == int(x) else f"{x:.4g}"


def _test_entries(result: dict, hidden_visibility: str) -> list[dict]:
    """One Gradescope test per Otter test case; a question whose score is not the sum of its
    passed cases (all-or-nothing) gives its cases their share of what it scored."""
    from autograder.grade.gradebook import _test_message
    entries = []
    titles = (result.get("meta") or {}).get("titles") or {}
    for q_index, (q, qr) in enumerate((result.get("questions") or {}).items(), start=1):
        tests = qr.get("tests") or []
        if not tests:  # nothing ran (grader error, no notebook): the question, at 0
            entries.append({"name": q, "number": str(q_index), "score": 0.0,
                            "max_score": float(qr.get("max_score") or 0), "status": "failed",
                            "visibility": "visible", "tags": [q],
                            "output": result.get("reason") or "not graded"})
            continue
        earned = sum(float(t.get("points") or 0) for t in tests if t.get("passed"))
        scale = float(qr.get("score") or 0) / earned if earned else 0.0
        for t_index, t in enumerate(tests, start=1):
            hidden = bool(t.get("hidden"))
            points = float(t.get("points") or 0)
            score = points * scale if t.get("passed") else 0.0
            name = titles.get(q, {}).get(t.get("name"), str(t.get("name", "")))
            if t.get("passed"):
                output = "Passed." if score >= points else "Passed, but the question is all-or-nothing."
            else:
                output = _test_message(t) or "Failed."
            entry = {"name": f"{q}: {name}" + (" (hidden test)" if hidden else ""),
                     "number": f"{q_index}.{t_index}", "score": round(score, 5), "max_score": round(points, 5),
                     "status": "passed" if t.get("passed") else "failed",
                     "visibility": hidden_visibility if hidden else "visible",
                     "tags": [q, "hidden" if hidden else "public"] + ([t["diagnosis"]] if t.get("diagnosis") else []),
                     "output": output}
            entries.append(entry)
    return entries


def _summary(result: dict, tests: list[dict], hidden_visibility: str) -> str:
    """The top-level output, Markdown. It never states the total while hidden tests are hidden
    (it would give their result away); it states the public part."""
    meta = result.get("meta") or {}
    lines = []
    public = [t for t in tests if t["visibility"] == "visible"]
    hidden = [t for t in tests if t["visibility"] != "visible"]
    public_score = sum(t["score"] for t in public)
    public_max = sum(t["max_score"] for t in public)
    lines.append(f"**Public tests: {_fmt(public_score)} / {_fmt(public_max)} points.**")
    if hidden:
        when = {"hidden": "hidden from students", "after_due_date": "shown after the due date",
                "after_published": "shown when grades are published"}[hidden_visibility]
        lines.append(f"Hidden tests: {len(hidden)} worth {_fmt(sum(t['max_score'] for t in hidden))} points, "
                     f"{when}.")
    lines.append("")
    if meta.get("graded_file"):
        lines.append(f"Graded file: `{meta['graded_file']}`, by value: it ran once, top to bottom, in a separate "
                     "process; the tests ran outside it and only called your functions.")
    if meta.get("other_files"):
        lines.append("Also submitted, not graded: " + ", ".join(f"`{f}`" for f in meta["other_files"][:10]))
    status = result.get("status")
    if status != "graded":
        from autograder.grade.gradebook import STATUS_WORDS
        lines += ["", f"**{STATUS_WORDS.get(status, status)}**: {result.get('reason') or ''}"]
    for err in (result.get("cell_errors") or [])[:10]:
        if isinstance(err, dict):
            where = f"cell {err['cell'] + 1}" if isinstance(err.get("cell"), int) else "a cell"
            lines.append(f"- {where} raised `{str(err.get('error', ''))[:300]}`")
    for q, qr in (result.get("questions") or {}).items():
        for note in qr.get("notes") or []:
            lines.append(f"- Note on {q} ({note.get('code', '')}): {note.get('message', '')}")
    isolation = meta.get("isolation") or {}
    if isolation.get("mode"):
        words = MODE_WORDS.get(isolation["mode"], "").format(uid=isolation.get("uid", "?"))
        lines += ["", f"Isolation: **{isolation['mode']}**: {words}."]
    return "\n".join(lines).strip() + "\n"


def gradescope_results(result: dict, settings: dict) -> dict:
    """Gradescope's results.json for one graded submission."""
    visibility = settings["hidden_visibility"]
    tests = _test_entries(result, visibility)
    meta = result.get("meta") or {}
    return {
        "score": round(sum(t["score"] for t in tests), 5),
        "execution_time": max(1, round(meta.get("seconds") or 0)),
        "output": _summary(result, tests, visibility),
        "output_format": "md",
        "test_output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "grader": "backprop-lab (by value)",
            "status": result.get("status"),
            "reason": result.get("reason", ""),
            "score": result.get("score"),
            "max_score": result.get("max_score"),
            "isolation": meta.get("isolation"),
            "refused_modes": meta.get("refused_modes", []),
            "protected": meta.get("protected", []),
            "graded_file": meta.get("graded_file"),
            "hidden_visibility": visibility,
            "seconds": meta.get("seconds"),
        },
    }


def failure_results(reason: str) -> dict:
    """When the autograder itself broke: a visible failed test, score 0, the reason for the instructor."""
    return {"score": 0.0, "output": "The autograder failed (not your fault); your instructor has been told.",
            "stdout_visibility": "hidden",
            "tests": [{"name": "Autograder failed", "status": "failed", "visibility": "visible",
                       "score": 0.0, "max_score": 0.0, "output": "The autograder could not grade this submission."}],
            "extra_data": {"grader": "backprop-lab (by value)", "status": "error", "reason": reason[-4000:]}}


def run(root: Path, log=print) -> dict:
    """Grade ``<root>/submission`` into ``<root>/results/results.json``; returns what was written."""
    from autograder.grade.gradebook import write_atomic
    paths = Paths.under(root)
    paths.results.mkdir(parents=True, exist_ok=True)
    try:
        settings = read_settings(paths.source)
        results = gradescope_results(grade(paths, settings, log=log), settings)
    except Exception:
        reason = traceback.format_exc()
        log(reason)
        results = failure_results(reason)
    write_atomic(paths.results_json, json.dumps(results, indent=1))
    return results


# ============================================================== set-up helper

def requirements_met(requirements: Path) -> bool:
    """Whether every ``name==version`` line of a requirements file is installed at that version."""
    from importlib import metadata
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, wanted = line.partition("==")
        try:
            if metadata.version(name.split("[")[0].strip()) != wanted.strip():
                return False
        except metadata.PackageNotFoundError:
            return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.grade.gradescope", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_cmd = sub.add_parser("run", help="grade <root>/submission into <root>/results/results.json")
    run_cmd.add_argument("--root", type=Path, default=None,
                         help=f"Gradescope's folder (default: ${ROOT_ENV} or /autograder)")
    check = sub.add_parser("requirements-met", help="exit 0 if every name==version line is installed")
    check.add_argument("requirements", type=Path, help="a requirements.txt of pinned name==version lines")
    args = parser.parse_args(argv)
    if args.command == "requirements-met":
        return 0 if requirements_met(args.requirements) else 1
    run(args.root or default_root())
    return 0


if __name__ == "__main__":
    sys.exit(main())
