"""The grader's peak memory while submissions flood it with frames (a script the tests run).

    python tests/grader_memory.py THREADS ROUNDS

Warms up (zygote, imports, one honest notebook), resets the process's peak RSS (VmHWM, via
/proc/self/clear_refs), grades THREADS flooding notebooks at a time, ROUNDS times, and prints
one JSON line: {"baseline_mb", "peak_mb", "statuses", "scores"}. Run in its own process so that
nothing else the test session did counts in the peak.
"""
import json
import sys
import threading
from pathlib import Path

import nbformat
from otter.test_files.exception_test import ExceptionTestFile

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.grade.runner import grade_notebook  # noqa: E402
from autograder.grade.sandbox import Limits  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "grade_core"
LIMITS = Limits(submission_timeout=30, cell_timeout=5, call_timeout=5, memory_mb=1024, max_processes=16)

# The first call takes the channel (fd 3) over: from then on every request of the grader is
# answered with a raw frame, bypassing the child's encoder and its caps: two frames just under
# both caps (4 MB, 199,990 values, each a one-key dict: the most objects a frame may make),
# then the 60 MB of `{}` (refused at its header, never read: the child is killed and
# restarted, up to the restart limit). What a hostile notebook can make cost the grader most.
FLOOD = r'''
import os, socket, struct
channel = socket.socket(fileno=os.dup(3))

def parsable():
    items = b",".join([b'{"a":1}'] * 99_990)
    return b'{"kind":"value","value":[' + items + b'],"pad":"' + b"x" * (4 * 2**20 - len(items) - 60) + b'"}'

def huge():
    return b"[" + b"{}," * 20_000_000 + b"{}]"

def read_request():
    (length,) = struct.unpack(">I", channel.recv(4, socket.MSG_WAITALL))
    channel.recv(length, socket.MSG_WAITALL)

def take_over(*args):
    for count in range(10**6):
        body = huge() if count % 3 == 2 else parsable()
        channel.sendall(struct.pack(">I", len(body)) + body)
        read_request()

sigmoid = relu = take_over
'''

HONEST = "import numpy as np\ndef sigmoid(a):\n    return 1 / (1 + np.exp(-a))\ndef relu(a):\n    return np.maximum(0.0, a)\n"


def notebook(source):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nbformat.writes(nb).encode()


def rss_mb(field):
    status = Path("/proc/self/status").read_text()
    return int(status.split(field + ":")[1].split()[0]) / 1024


def main(threads, rounds):
    tests = [ExceptionTestFile.from_file(str(FIXTURES / name)) for name in ("q1_sigmoid.py", "q2_relu_hidden.py")]
    grade_notebook(notebook(HONEST), tests, LIMITS)
    baseline = rss_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    results = []

    def work():
        fresh = [ExceptionTestFile.from_file(str(FIXTURES / name)) for name in ("q1_sigmoid.py", "q2_relu_hidden.py")]
        results.append(grade_notebook(notebook(FLOOD), fresh, LIMITS))

    for _ in range(rounds):
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    print(json.dumps({"baseline_mb": round(baseline, 1), "peak_mb": round(rss_mb("VmHWM"), 1),
                      "statuses": sorted({r["status"] for r in results}),
                      "scores": sorted({r["score"] for r in results}),
                      "reasons": sorted({r["reason"][:200] for r in results})}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
