"""Grade a batch of submissions: one gradebook row per file, whatever happens.

    rows = grade_batch(["submissions/"], out_dir="grades", dist="dist")

The main process finds the submission files (``submissions.discover``: never following a
link) and hands each one to a pool of grading threads. A thread reads the submission within
size and time limits (``submissions.load``), picks its assignment, reuses the previous result
if the file's content, the assignment, its tests and the grader (every module, Otter's and
numpy's versions) are unchanged, and else grades it with the core
(``autograder.grade.runner.grade_notebook``: the student's notebook runs in its own sandboxed
process forked from a pre-warmed zygote, the tests run here, by value); the threads mostly wait
on those processes, so N threads keep N submissions running. Anything that goes wrong inside
the grader for one submission becomes that submission's ``error`` row, so the batch always
finishes; ``results.json`` is checkpointed while grading, so an interrupted batch resumes
where it stopped. Every row passes through ``gradebook.safe_row`` as it is assembled.

Grading refuses to start when the sandbox cannot isolate the notebooks (mode ``plain``: the
notebook could read the grader's files and use the network) unless ``allow_unisolated``.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import importlib.metadata
import importlib.util
import os
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from autograder.grade import gradebook
from autograder.grade.assignments import Assignment, compatible, load_assignments, modules_installed
from autograder.grade.submissions import ReadLimits, Submission, choose_assignment, discover, load

CHECKPOINT_SECONDS = 2.0
KNOWN_STATUSES = {"graded", "timeout", "crashed", "invalid", "wrong-assignment", "error"}
# a change in any module of these packages, or in these distributions' versions, invalidates cached results
GRADER_PACKAGES = ("autograder", "solutions")
GRADER_DISTRIBUTIONS = ("otter-grader", "numpy")


class GradingRefused(RuntimeError):
    """The batch will not run as asked (the sandbox cannot isolate notebooks here)."""


def _package_dir(name: str) -> Path | None:
    if name == "autograder":
        return Path(__file__).resolve().parent.parent
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def grader_fingerprint() -> str:
    """A hash of every module of the grader and the reference (``autograder/**/*.py``,
    ``solutions/**/*.py``), the versions of Otter and numpy, and Python's version."""
    digest = hashlib.sha256()
    for package in GRADER_PACKAGES:
        root = _package_dir(package)
        if root is None:
            digest.update(f"{package}: missing\0".encode())
            continue
        for f in sorted(root.rglob("*.py")):
            digest.update(f"{package}/{f.relative_to(root).as_posix()}\0".encode("utf-8", "surrogateescape"))
            try:
                digest.update(f.read_bytes())
            except OSError:
                digest.update(b"unreadable")
            digest.update(b"\0")
    for distribution in GRADER_DISTRIBUTIONS:
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            version = "missing"
        digest.update(f"{distribution}=={version}\0".encode())
    digest.update(f"python {sys.version_info[:3]}".encode())
    return digest.hexdigest()[:16]


def make_limits(timeout: float):
    from autograder.grade.runner import Limits
    return Limits(submission_timeout=timeout)


def grade_one(assignment: Assignment, notebook_bytes: bytes, timeout: float, *, tests=None,
              hide=(), require_isolation: bool = False, limits=None) -> dict:
    """Grade one notebook with the core; errors inside the grader become an ``error`` result.
    Call inside ``modules_installed`` (the test files import the bundle's modules).
    ``limits`` (a ``Limits``) wins over ``timeout``."""
    try:
        from autograder.grade.runner import grade_notebook
        result = grade_notebook(notebook_bytes, tests if tests is not None else assignment.fresh_tests(),
                                limits or make_limits(timeout), dict(assignment.support_files),
                                hide=tuple(hide), require_isolation=require_isolation)
        return normalise_result(result, assignment)
    except Exception as exc:
        print(f"grader error: {gradebook.safe_text(traceback.format_exc(limit=8), 4000)}", file=sys.stderr)
        return error_result(assignment, f"grader error (the grader's bug, not the student's): "
                                        f"{type(exc).__name__}: {exc}")


def error_result(assignment: Assignment | None, reason: str, status: str = "error") -> dict:
    questions = {}
    if assignment is not None:
        questions = {q: {"score": 0.0, "max_score": m, "tests": []} for q, m in assignment.questions.items()}
    return {"status": status, "reason": reason, "cell_errors": [], "questions": questions,
            "score": 0.0, "max_score": assignment.max_score if assignment else None, "stdout_tail": ""}


def _finite(x, default=0.0) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError, OverflowError):
        return default
    return x if x == x and abs(x) != float("inf") else default


def normalise_result(result, assignment: Assignment) -> dict:
    """Check the core's answer has the agreed shape; fill what is missing so every row has
    every question of its assignment (0 points where nothing is known)."""
    if not isinstance(result, dict):
        return error_result(assignment, f"grader error: core returned {type(result).__name__}, not a dict")
    status = result.get("status")
    if status not in KNOWN_STATUSES:
        return error_result(assignment, f"grader error: unknown status {str(status)[:100]!r}")
    questions = {}
    got = result.get("questions") if isinstance(result.get("questions"), dict) else {}
    for q, possible in assignment.questions.items():
        qr = got.get(q) if isinstance(got.get(q), dict) else {}
        tests = []
        for t in qr.get("tests") or []:
            if not isinstance(t, dict):
                continue
            t = dict(t)
            if not t.get("diagnosis") and not t.get("passed"):
                m = gradebook.DIAGNOSIS_RE.search(str(t.get("message") or "")[:20000])
                t["diagnosis"] = m.group(1) if m else None
            tests.append(t)
        notes = [{"code": str(n.get("code", ""))[:60], "message": str(n.get("message", ""))[:1000]}
                 for n in (qr.get("notes") or []) if isinstance(n, dict)][:10]
        questions[q] = {"score": _finite(qr.get("score")), "max_score": _finite(qr.get("max_score"), possible),
                        "tests": tests, "notes": notes}
    for q, qr in got.items():  # a question the assignment does not list: keep, but say so
        if q not in questions and isinstance(qr, dict):
            questions[q] = {"score": _finite(qr.get("score")), "max_score": _finite(qr.get("max_score")),
                            "tests": qr.get("tests") or []}
    cell_errors = result.get("cell_errors") or []
    isolation = result.get("isolation")
    return {
        "status": status,
        "reason": result.get("reason") or "",
        "cell_errors": list(cell_errors) if isinstance(cell_errors, (list, tuple)) else [cell_errors],
        "questions": questions,
        "score": _finite(result.get("score"), sum(q["score"] for q in questions.values())),
        "max_score": _finite(result.get("max_score"), assignment.max_score),
        "stdout_tail": result.get("stdout_tail") or "",
        "isolation": isolation.get("mode") if isinstance(isolation, dict) else None,
        "transient": bool(result.get("transient")),
    }


def _feedback(sub: Submission) -> str:
    return f"{gradebook.FEEDBACK_DIR}/{sub.feedback_name}.md"


def _row(sub: Submission, sha: str, assignment: str | None, result: dict, cache_key: str | None,
         seconds: float | None = None) -> dict:
    """The gradebook row of one submission, made safe (``gradebook.safe_row``) as it is assembled."""
    return gradebook.safe_row({
        "file": sub.file,
        "sha256": sha,
        "assignment": assignment,
        "status": result["status"],
        "reason": result.get("reason", ""),
        "score": result.get("score"),
        "max_score": result.get("max_score"),
        "questions": result.get("questions") or {},
        "cell_errors": result.get("cell_errors") or [],
        "stdout_tail": result.get("stdout_tail", ""),
        "isolation": result.get("isolation"),
        "feedback": _feedback(sub),
        "cache_key": cache_key,
        "seconds": None if seconds is None else round(seconds, 3),
    })


def _cache_key(sha: str, assignment: Assignment, limits, fingerprint: str) -> str:
    return hashlib.sha256(f"{sha}|{assignment.name}|{assignment.tests_hash}|{limits}|{fingerprint}"
                          .encode()).hexdigest()


_probe: cf.Future | None = None  # the isolation probe started ahead of need (start_isolation_probe)
_probe_lock = threading.Lock()


def start_isolation_probe() -> cf.Future:
    """Probe the sandbox's isolation mode in a background thread: it starts the zygote (a fresh
    interpreter importing numpy) while this process reads the assignments and the submissions.
    The next ``check_isolation`` takes the answer; until then, calling again returns the same probe."""
    global _probe
    with _probe_lock:
        if _probe is None:
            future: cf.Future = cf.Future()

            def run():
                from autograder.grade.runner import probe_isolation
                try:
                    future.set_result(probe_isolation())
                except BaseException as exc:  # handed to check_isolation, which says what failed
                    future.set_exception(exc)
            threading.Thread(target=run, name="isolation-probe", daemon=True).start()
            _probe = future
        return _probe


def _take_probe() -> cf.Future:
    """The started probe (started now if none was), forgotten here: each batch probes afresh."""
    global _probe
    future = start_isolation_probe()
    with _probe_lock:
        _probe = None
    return future


def discard_isolation_probe() -> None:
    """Forget a started probe that will not be needed (the next batch probes afresh)."""
    global _probe
    with _probe_lock:
        _probe = None


def check_isolation(allow_unisolated: bool, log=print) -> str:
    """The sandbox's isolation mode on this machine; raises ``GradingRefused`` when it is
    ``plain`` (not isolated) and the instructor did not allow that."""
    from autograder.grade.runner import ISOLATED_MODES, SandboxError
    try:
        mode = _take_probe().result()
    except SandboxError as exc:
        raise GradingRefused(f"the sandbox does not start on this machine: {exc}") from None
    if mode not in ISOLATED_MODES:
        if not allow_unisolated:
            raise GradingRefused(
                f"the sandbox cannot isolate notebooks on this machine (mode {mode!r}: no root and no user "
                f"namespaces), so a notebook could read the hidden tests and the reference and use the network. "
                f"Grade as root or where unprivileged user namespaces are enabled, or pass --allow-unisolated "
                f"to grade anyway.")
        log(f"warning: grading UNISOLATED (mode {mode!r}), as allowed by --allow-unisolated")
    return mode


_DEFER = object()  # the submission belongs to an assignment of a later group of the pool


def grade_batch(paths, out_dir="grades", dist="dist", *, assignment: str | None = None,
                workers: int | None = None, timeout: float = 60.0, progress: bool = True,
                log=print, allow_unisolated: bool = False, read_limits: ReadLimits = ReadLimits(),
                limits=None, loaded=None) -> list[dict]:
    """Grade every submission under ``paths`` into ``out_dir``; returns the gradebook rows.
    ``limits`` (a ``Limits``: every sandbox limit) wins over ``timeout`` (the submission's only).
    ``loaded``: ``load_assignments(dist)``'s answer when the caller has it already."""
    out_dir = Path(out_dir)
    limits = limits or make_limits(timeout)
    timeout = limits.submission_timeout
    start = time.perf_counter()
    start_isolation_probe()  # the zygote starts while the assignments are read
    assignments, problems = loaded if loaded is not None else load_assignments(Path(dist))
    for p in problems:
        log(f"warning: {gradebook.safe_text(p, 500)}")
    known = sorted(assignments)
    fingerprint = grader_fingerprint()
    previous = gradebook.read_results(out_dir)
    cached = {r.get("file"): r for r in previous.get("submissions", [])
              if isinstance(r, dict) and isinstance(r.get("file"), str)}
    previous_feedback = {r.get("feedback") for r in cached.values() if isinstance(r.get("feedback"), str)}
    settings = {"timeout": timeout, "limits": asdict(limits), "grader": fingerprint, "dist": str(dist)}
    assignments_info = {a.name: {"questions": a.questions, "max_score": a.max_score,
                                 "tests_hash": a.tests_hash, "bundle": str(a.bundle)}
                        for a in assignments.values()}

    skipped: Counter = Counter()
    submissions = discover(paths, skipped)
    if submissions and known:
        settings["isolation"] = check_isolation(allow_unisolated, log)
    else:
        settings["isolation"] = None
        discard_isolation_probe()
    rows: list[dict | None] = [None] * len(submissions)
    hide = sorted(map(str, {Path(dist).resolve(), out_dir.resolve(), *(Path(p).resolve() for p in paths)}))
    counts = Counter()
    lock = threading.Lock()
    tests: dict[str, object] = {}

    def tests_for(name):
        with lock:
            if name not in tests:
                try:
                    # the core copies them per submission; the group's modules are installed already:
                    # no nested install swapping sys.modules under the other grading threads
                    tests[name] = assignments[name].fresh_tests(install=False)
                except Exception as exc:
                    tests[name] = exc
            return tests[name]

    def task(i: int, group: list[str]):
        """Read, place and grade submission ``i`` (in a grading thread): its row, or _DEFER."""
        sub = submissions[i]
        began = time.perf_counter()
        loaded = load(sub, read_limits)
        if loaded.status:
            name = choose_assignment(sub, None, known, assignment)[0] if known else None
            a = assignments.get(name) if name else None
            return _row(sub, loaded.sha256, a.name if a else None, error_result(a, loaded.reason, loaded.status), None)
        name, status, reason = choose_assignment(sub, loaded.declared_assignment, known, assignment)
        if not known:
            status, reason = "error", f"no built assignments in {dist}; run `python -m autograder build --out {dist}`"
        if status:
            a = assignments.get(name) if status != "wrong-assignment" and name else None
            return _row(sub, loaded.sha256, name, error_result(a, reason, status), None)
        if name not in group:
            return _DEFER
        a = assignments[name]
        key = _cache_key(loaded.sha256, a, limits, fingerprint)
        old = cached.get(sub.file)
        if old and old.get("cache_key") == key and old.get("status") != "error":
            row = gradebook.safe_row(dict(old, feedback=_feedback(sub)))
            with lock:
                counts["reused"] += 1
            return row
        loaded_tests = tests_for(name)
        if isinstance(loaded_tests, Exception):
            result = error_result(a, f"grader error: cannot load the tests: {loaded_tests}")
        else:
            result = grade_one(a, loaded.notebook_bytes, timeout, tests=loaded_tests, hide=hide, limits=limits,
                               require_isolation=not allow_unisolated)
        with lock:
            counts["graded"] += 1
        # errors, and crashes that may have come from outside (a SIGKILL such as the OOM
        # killer's), are graded again next run
        keep_key = key if result["status"] != "error" and not result.get("transient") else None
        return _row(sub, loaded.sha256, name, result, keep_key, time.perf_counter() - began)

    last_checkpoint = time.monotonic()

    def checkpoint(final=False):
        done = [r for r in rows if r is not None]
        gradebook.write_gradebook(out_dir, done, assignments_info, settings=settings,
                                  previous_feedback=previous_feedback, final=final, skipped=skipped)

    bar = _progress(len(submissions), progress)
    workers = max(1, min(workers or os.cpu_count() or 1, len(submissions) or 1))
    pending = list(range(len(submissions)))
    try:
        for group in _groups(known, assignments) or [[]]:
            if not pending:
                break
            later = []
            with modules_installed([assignments[n] for n in group]), \
                    cf.ThreadPoolExecutor(workers, thread_name_prefix="grade") as pool:
                futures = {pool.submit(task, i, group): i for i in pending}
                for fut in cf.as_completed(futures):
                    i = futures[fut]
                    try:
                        row = fut.result()
                    except Exception as exc:  # a bug in our own code: still one row
                        traceback.print_exc()
                        row = _row(submissions[i], "", None,
                                   error_result(None, f"grader error: {type(exc).__name__}: {exc}"), None)
                    if row is _DEFER:
                        later.append(i)
                        continue
                    rows[i] = row
                    bar.update(1)
                    if time.monotonic() - last_checkpoint > CHECKPOINT_SECONDS:
                        checkpoint(final=False)
                        last_checkpoint = time.monotonic()
            pending = sorted(later)
        bar.close()
    except KeyboardInterrupt:
        checkpoint(final=False)
        raise
    for i, row in enumerate(rows):  # cannot happen, but a lost row would be worse than a wrong one
        if row is None:
            rows[i] = _row(submissions[i], "", None, error_result(None, "grader error: no result"), None)
    checkpoint(final=True)
    elapsed = time.perf_counter() - start
    log(gradebook.summary(rows, skipped))
    log(f"graded {counts['graded']}, reused {counts['reused']}, in {elapsed:.1f} s; wrote "
        f"{out_dir / gradebook.CSV_FILE}, {out_dir / gradebook.RESULTS_FILE} and {out_dir / gradebook.FEEDBACK_DIR}/")
    return rows


def _progress(total: int, enabled: bool):
    try:
        from tqdm import tqdm
        return tqdm(total=total, desc="grading", unit="nb", disable=not enabled or total == 0,
                    file=sys.stderr, dynamic_ncols=True)
    except ImportError:
        class _NoBar:
            def update(self, n):
                pass

            def close(self):
                pass
        return _NoBar()


def _groups(names: list[str], assignments: dict[str, Assignment]) -> list[list[str]]:
    """Assignments whose bundle modules can be importable together (normally all of them)."""
    groups: list[list[str]] = []
    for name in names:
        for g in groups:
            if all(compatible(assignments[name], assignments[other]) for other in g):
                g.append(name)
                break
        else:
            groups.append([name])
    return groups
