"""Grade a batch of submissions: one gradebook row per file, whatever happens.

    rows = grade_batch(["submissions/"], out_dir="grades", dist="dist")

The main process finds and reads the submissions, picks each one's assignment, reuses the
previous result of every file whose content, assignment, tests and grader are unchanged, and
hands the rest to a pool of grading threads. Each thread grades one submission at a time with
the core (``autograder.grade.runner.grade_notebook``: the student's notebook runs in its own
sandboxed process forked from a pre-warmed zygote, the tests run here, by value); the threads
mostly wait on those processes, so N threads keep N submissions running. Anything that goes
wrong inside the grader for one submission becomes that submission's ``error`` row, so the
batch always finishes; ``results.json`` is checkpointed while grading, so an interrupted
batch resumes where it stopped.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from autograder.grade import gradebook
from autograder.grade.assignments import Assignment, compatible, load_assignments, modules_installed
from autograder.grade.submissions import Submission, choose_assignment, discover, load

# core grader files: a change in any of them invalidates cached results
CORE_FILES = ("sandbox.py", "protocol.py", "runner.py")
CHECKPOINT_SECONDS = 2.0
KNOWN_STATUSES = {"graded", "timeout", "crashed", "invalid", "wrong-assignment", "error"}

def grader_fingerprint() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in CORE_FILES:
        try:
            digest.update(name.encode() + b"\0" + (here / name).read_bytes())
        except OSError:
            digest.update(name.encode() + b"\0missing")
    return digest.hexdigest()[:16]


def make_limits(timeout: float):
    from autograder.grade.runner import Limits
    return Limits(submission_timeout=timeout)


def grade_one(assignment: Assignment, notebook_bytes: bytes, timeout: float, *, tests=None,
              hide=(), limits=None) -> dict:
    """Grade one notebook with the core; errors inside the grader become an ``error`` result.
    Call inside ``modules_installed`` (the test files import the bundle's modules).
    ``limits`` (a ``Limits``) wins over ``timeout``."""
    try:
        from autograder.grade.runner import grade_notebook
        result = grade_notebook(notebook_bytes, tests if tests is not None else assignment.fresh_tests(),
                                limits or make_limits(timeout), dict(assignment.support_files),
                                hide=tuple(hide))
        return normalise_result(result, assignment)
    except Exception as exc:
        print(f"grader error: {traceback.format_exc(limit=8)}", file=sys.stderr)
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
    except (TypeError, ValueError):
        return default
    return x if x == x and abs(x) != float("inf") else default


def normalise_result(result, assignment: Assignment) -> dict:
    """Check the core's answer has the agreed shape; fill what is missing so every row has
    every question of its assignment (0 points where nothing is known)."""
    if not isinstance(result, dict):
        return error_result(assignment, f"grader error: core returned {type(result).__name__}, not a dict")
    status = result.get("status")
    if status not in KNOWN_STATUSES:
        return error_result(assignment, f"grader error: unknown status {status!r}")
    questions = {}
    got = result.get("questions") or {}
    for q, possible in assignment.questions.items():
        qr = got.get(q) if isinstance(got.get(q), dict) else {}
        tests = []
        for t in qr.get("tests") or []:
            if not isinstance(t, dict):
                continue
            t = dict(t)
            if not t.get("diagnosis") and not t.get("passed"):
                m = gradebook.DIAGNOSIS_RE.search(str(t.get("message") or ""))
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
    return {
        "status": status,
        "reason": str(result.get("reason") or ""),
        "cell_errors": list(cell_errors) if isinstance(cell_errors, (list, tuple)) else [str(cell_errors)],
        "questions": questions,
        "score": _finite(result.get("score"), sum(q["score"] for q in questions.values())),
        "max_score": _finite(result.get("max_score"), assignment.max_score),
        "stdout_tail": str(result.get("stdout_tail") or "")[-4000:],
    }


def _row(sub: Submission, sha: str, assignment: str | None, result: dict, cache_key: str | None,
         seconds: float | None = None) -> dict:
    return {
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
        "feedback": f"{gradebook.FEEDBACK_DIR}/{sub.feedback_name}.md",
        "cache_key": cache_key,
        "seconds": None if seconds is None else round(seconds, 3),
    }


def _cache_key(sha: str, assignment: Assignment, limits, fingerprint: str) -> str:
    return hashlib.sha256(f"{sha}|{assignment.name}|{assignment.tests_hash}|{limits}|{fingerprint}"
                          .encode()).hexdigest()


def grade_batch(paths, out_dir="grades", dist="dist", *, assignment: str | None = None,
                workers: int | None = None, timeout: float = 60.0, progress: bool = True,
                log=print, limits=None) -> list[dict]:
    """Grade every submission under ``paths`` into ``out_dir``; returns the gradebook rows.
    ``limits`` (a ``Limits``: every sandbox limit) wins over ``timeout`` (the submission's only)."""
    out_dir = Path(out_dir)
    limits = limits or make_limits(timeout)
    timeout = limits.submission_timeout
    start = time.perf_counter()
    assignments, problems = load_assignments(Path(dist))
    for p in problems:
        log(f"warning: {p}")
    known = sorted(assignments)
    fingerprint = grader_fingerprint()
    previous = gradebook.read_results(out_dir)
    cached = {r.get("file"): r for r in previous.get("submissions", []) if isinstance(r, dict)}
    previous_feedback = {r.get("feedback") for r in cached.values() if r.get("feedback")}
    settings = {"timeout": timeout, "limits": asdict(limits), "grader": fingerprint, "dist": str(dist)}
    assignments_info = {a.name: {"questions": a.questions, "max_score": a.max_score,
                                 "tests_hash": a.tests_hash, "bundle": str(a.bundle)}
                        for a in assignments.values()}

    submissions = discover(paths)
    rows: list[dict | None] = [None] * len(submissions)
    todo: list[tuple[int, str, bytes, str]] = []  # (row index, assignment, notebook, cache key)
    shas: dict[int, str] = {}
    reused = 0
    for i, sub in enumerate(submissions):
        try:
            loaded = load(sub)
            if loaded.status:
                name, status, reason = choose_assignment(sub, None, known, assignment) if known else (None, None, "")
                a = assignments.get(name) if name and not status else None
                rows[i] = _row(sub, loaded.sha256, a.name if a else None,
                               error_result(a, loaded.reason, loaded.status), None)
                continue
            name, status, reason = choose_assignment(sub, loaded.declared_assignment, known, assignment)
            if not known:
                status, reason = "error", f"no built assignments in {dist}; run `python -m autograder build --out {dist}`"
            if status:
                a = assignments.get(name) if status != "wrong-assignment" else None
                rows[i] = _row(sub, loaded.sha256, name, error_result(a, reason, status), None)
                continue
            a = assignments[name]
            key = _cache_key(loaded.sha256, a, limits, fingerprint)
            old = cached.get(sub.file)
            if old and old.get("cache_key") == key and old.get("status") != "error":
                row = dict(old)
                row["feedback"] = f"{gradebook.FEEDBACK_DIR}/{sub.feedback_name}.md"
                rows[i] = row
                reused += 1
                continue
            todo.append((i, name, loaded.notebook_bytes, key))
            shas[i] = loaded.sha256
        except Exception as exc:  # a bug in our own reading code: still one row
            traceback.print_exc()
            rows[i] = _row(sub, "", None, error_result(None, f"grader error while reading: {type(exc).__name__}: {exc}"), None)

    if reused:
        log(f"{reused} unchanged submission(s) reused from {out_dir / gradebook.RESULTS_FILE}")
    last_checkpoint = time.monotonic()

    def checkpoint(final=False):
        done = [r for r in rows if r is not None]
        gradebook.write_gradebook(out_dir, done, assignments_info, settings=settings,
                                  previous_feedback=previous_feedback, final=final)

    keys = {i: key for i, _, _, key in todo}
    names = {i: name for i, name, _, _ in todo}
    try:
        bar = _progress(len(todo), progress)
        hide = {Path(dist).resolve(), out_dir.resolve(), *(Path(p).resolve() for p in paths)}
        for i, result, seconds in _run_pool(todo, assignments, limits, workers, hide=sorted(map(str, hide))):
            sub = submissions[i]
            keep_key = keys[i] if result["status"] != "error" else None  # errors are retried next run
            rows[i] = _row(sub, shas[i], names[i], result, keep_key, seconds)
            bar.update(1)
            if time.monotonic() - last_checkpoint > CHECKPOINT_SECONDS:
                checkpoint(final=False)
                last_checkpoint = time.monotonic()
        bar.close()
    except KeyboardInterrupt:
        checkpoint(final=False)
        raise
    for i, row in enumerate(rows):  # cannot happen, but a lost row would be worse than a wrong one
        if row is None:
            rows[i] = _row(submissions[i], "", None, error_result(None, "grader error: no result"), None)
    checkpoint(final=True)
    elapsed = time.perf_counter() - start
    log(gradebook.summary(rows))
    log(f"graded {len(todo)}, reused {reused}, in {elapsed:.1f} s; wrote {out_dir / gradebook.CSV_FILE}, "
        f"{out_dir / gradebook.RESULTS_FILE} and {out_dir / gradebook.FEEDBACK_DIR}/")
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


def _run_pool(todo, assignments, limits, workers, hide=()):
    """Yield (index, result, seconds) for every task; threads grade, children do the work."""
    if not todo:
        return
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    names = sorted({name for _, name, _, _ in todo})
    for group in _groups(names, assignments):
        with modules_installed([assignments[n] for n in group]):
            tests = {}
            for n in group:
                try:
                    tests[n] = assignments[n].fresh_tests()  # the core copies them per submission
                except Exception as exc:
                    tests[n] = exc

            def task(i, name, data):
                start = time.perf_counter()
                if isinstance(tests[name], Exception):
                    return i, error_result(assignments[name], f"grader error: cannot load the tests: {tests[name]}"), 0.0
                result = grade_one(assignments[name], data, limits.submission_timeout, tests=tests[name],
                                   hide=hide, limits=limits)
                return i, result, time.perf_counter() - start

            with cf.ThreadPoolExecutor(workers, thread_name_prefix="grade") as pool:
                futures = {pool.submit(task, i, name, data): (i, name)
                           for i, name, data, _ in todo if name in group}
                for fut in cf.as_completed(futures):
                    i, name = futures[fut]
                    try:
                        yield fut.result()
                    except Exception as exc:
                        yield i, error_result(assignments[name], f"grader error: {type(exc).__name__}: {exc}"), 0.0
