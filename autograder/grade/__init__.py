"""Grade submissions: ``python -m autograder grade PATHS... [--out DIR] [--assignment NAME]``.

The core (``sandbox``, ``protocol``, ``runner``) grades one notebook by value in a sandboxed
child process; ``batch`` grades a folder of them into ``gradebook`` outputs. Importing this
package stays cheap: the submission's process may import it too.
"""


def main(args) -> int:
    """Exit 0 whatever the submissions hold; non-zero only for the grader's own problems (2:
    it refused to grade, e.g. unisolated without ``--allow-unisolated``)."""
    import sys

    from autograder.grade.batch import GradingRefused, grade_batch

    try:
        rows = grade_batch(args.paths, out_dir=args.out, dist=args.dist, assignment=args.assignment,
                           workers=args.workers, timeout=args.timeout,
                           allow_unisolated=getattr(args, "allow_unisolated", False))
    except GradingRefused as refused:
        print(f"grade: refused: {refused}", file=sys.stderr)
        return 2
    if rows is None:
        return 1
    from autograder.grade.students import after_grading  # roster, late policy, LMS exports
    return after_grading(args)
