"""Grade submissions: ``python -m autograder grade PATHS... [--out DIR] [--assignment NAME]``.

The core (``sandbox``, ``protocol``, ``runner``) grades one notebook by value in a sandboxed
child process; ``batch`` grades a folder of them into ``gradebook`` outputs. Importing this
package stays cheap: the submission's process may import it too.
"""


def main(args) -> int:
    from autograder.grade.batch import grade_batch

    rows = grade_batch(args.paths, out_dir=args.out, dist=args.dist, assignment=args.assignment,
                       workers=args.workers, timeout=args.timeout)
    return 0 if rows is not None else 1
