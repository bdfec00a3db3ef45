"""Grade submissions: ``backprop-lab grade PATHS... [--out DIR] [--assignment NAME]``.

The core (``sandbox``, ``protocol``, ``runner``) grades one notebook by value in a sandboxed
child process; ``batch`` grades a folder of them into ``gradebook`` outputs. Importing this
package stays cheap: the submission's process may import it too.
"""
import logging
from pathlib import Path

log = logging.getLogger(__name__)
MAX_LISTED = 5  # rows named in the closing explanation; the rest are counted


def main(args) -> int:
    """The ``grade`` command: 0 when every submission got a row and none is an ``error``, else 1,
    with the reasons logged last; 2 when the grader refused to grade (unisolated without
    ``--allow-unisolated``)."""
    from autograder.__main__ import EXIT_FAILED, EXIT_OK, EXIT_USAGE, limits_from
    from autograder.grade.assignments import load_assignments
    from autograder.grade.batch import GradingRefused, discard_isolation_probe, grade_batch, start_isolation_probe

    start_isolation_probe()  # the sandbox's zygote starts while the assignments are read
    built, problems = load_assignments(Path(args.dist))
    if not built:
        discard_isolation_probe()
        for problem in problems:
            log.warning("%s", problem)
        log.error("nothing graded: nothing is built in %s; run `backprop-lab build --out %s` first",
                  args.dist, args.dist)
        return EXIT_FAILED
    limits = limits_from(args)
    try:
        rows = grade_batch(args.paths, out_dir=args.out, dist=args.dist, assignment=args.assignment,
                           workers=args.workers, timeout=limits.submission_timeout, limits=limits,
                           progress=log.isEnabledFor(logging.INFO), log=log.info,
                           allow_unisolated=getattr(args, "allow_unisolated", False),
                           loaded=(built, problems))
    except GradingRefused as refused:
        log.error("grade: refused: %s", refused)
        return EXIT_USAGE
    reasons = run_problems(args.paths, rows)
    if rows is not None:
        from autograder.grade.students import after_grading  # roster, late policy, LMS exports
        status = after_grading(args)
        if status:
            reasons.append("the gradebook by student could not be written (see above)")
    for reason in reasons:
        log.error("%s", reason)
    return EXIT_FAILED if reasons else EXIT_OK


def run_problems(paths, rows) -> list[str]:
    """Why a grading run did not do its job (empty when it did): nothing found to grade, paths
    that do not exist, rows with status ``error``."""
    reasons = []
    if not rows:
        reasons.append("nothing graded: no notebook (.ipynb) or Otter export (.zip) under "
                       + ", ".join(map(str, paths)))
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        reasons.append(f"{len(missing)} path(s) do not exist: {', '.join(missing)}")
    errors = [r for r in rows or () if str(_field(r, "status")) == "error"]
    if errors:
        named = "; ".join(f"{_field(r, 'file')}: {_field(r, 'reason')}" for r in errors[:MAX_LISTED])
        more = f"; and {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else ""
        reasons.append(f"{len(errors)} submission(s) with status error (a grader problem, not the "
                       f"student's; rerun grades them again): {named}{more}")
    return reasons


def _field(row, name):
    """A row's field, whether rows are dicts or result objects (a status enum reads as its value)."""
    value = row.get(name) if isinstance(row, dict) else getattr(row, name, None)
    return getattr(value, "value", value)
