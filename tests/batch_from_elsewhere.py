"""Grade a folder with the batch grader of whichever `autograder` this interpreter imports.

    OTHER_PYTHON tests/batch_from_elsewhere.py SUBMISSIONS OUT DIST ASSIGNMENT [EXTRA_SITE]

A test runs it with another virtualenv's interpreter (one where the project is installed
from a wheel) to grade as that install would. EXTRA_SITE is appended to sys.path last (the
test's own site-packages, for Otter and nbformat; numpy and scipy then come from the
interpreter's system site-packages). Prints one JSON line: where `autograder` and numpy were
imported from, and the gradebook rows.
"""
import json
import sys

if len(sys.argv) > 5:
    sys.path.append(sys.argv[5])

import numpy  # noqa: E402

import autograder  # noqa: E402
from autograder.grade.batch import grade_batch  # noqa: E402

rows = grade_batch([sys.argv[1]], out_dir=sys.argv[2], dist=sys.argv[3], assignment=sys.argv[4],
                   workers=2, progress=False, log=lambda *args: None)
print(json.dumps({"autograder": autograder.__file__, "numpy": numpy.__file__,
                  "rows": [{key: row.get(key) for key in ("file", "status", "reason", "score", "max_score", "stdout_tail")}
                           for row in rows]}))
