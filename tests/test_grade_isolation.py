"""Attacks on the grading core must fail to raise a score; malformed notebooks get a status.

Each attack notebook defines WRONG answers plus the attack; an attack that worked would earn
points. Honest notebooks (correct / wrong) are the controls that show the tests can fail.
Real Otter, nbformat and numpy throughout; short limits keep every test fast.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from otter.test_files.exception_test import ExceptionTestFile

from autograder.grade import sandbox
from autograder.grade.runner import grade_notebook
from autograder.grade.sandbox import REPO_ROOT, UID_BASE, Limits

FIXTURES = Path(__file__).parent / "fixtures" / "grade_core"
Q1 = FIXTURES / "q1_sigmoid.py"
Q2 = FIXTURES / "q2_relu_hidden.py"
TESTS = [ExceptionTestFile.from_file(str(Q1)), ExceptionTestFile.from_file(str(Q2))]
FAST = Limits(submission_timeout=20, cell_timeout=2, call_timeout=2, memory_mb=1024,
              max_processes=16, output_bytes=200_000)
AS_ROOT = os.geteuid() == 0

CORRECT = """
import numpy as np
def sigmoid(a):
    return 1 / (1 + np.exp(-a))
def relu(a):
    return np.maximum(0.0, a)
"""
WRONG = """
import numpy as np
def sigmoid(a):
    return np.zeros_like(a)
def relu(a):
    return np.zeros_like(a)
"""


def notebook(*cells, markdown_first=True):
    nb = nbformat.v4.new_notebook()
    if markdown_first:
        nb.cells.append(nbformat.v4.new_markdown_cell("# Homework"))
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in cells)
    return nbformat.writes(nb).encode()


def grade(*cells, limits=FAST, tests=TESTS):
    return grade_notebook(notebook(*cells), tests, limits)


def scores(result):
    return {q: v["score"] for q, v in result["questions"].items()}


def _ancestors(pid):
    chain = []
    while pid > 1:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            break
        pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        chain.append(pid)
    return chain


def student_processes():
    """Processes of this test run (descendants of this process: an escaped one is adopted by
    the zygote) running as one of the sandbox uids; there must be none after grading. Other
    graders on the machine use the same uids, so their processes are not counted."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid >= UID_BASE and os.getpid() in _ancestors(int(entry)):
                    found.append(int(entry))
            except OSError:
                pass
    return found


# ------------------------------------------------------------------ controls

def test_correct_notebook_gets_full_marks():
    result = grade("import otter\ngrader = otter.Notebook('hw.ipynb')", CORRECT,
                   "grader.check('q1')\ngrader.export()", "%matplotlib inline\n!echo hi\nprint('done')")
    assert result["status"] == "graded", result["reason"]
    assert scores(result) == {"q1": 2.0, "q2": 2.0}
    assert result["score"] == result["max_score"] == 4.0
    assert [e["cell"] for e in result["cell_errors"]] == [4]  # `!echo hi` is refused; the rest of its cell ran
    assert "done" in result["stdout_tail"]


def test_wrong_notebook_gets_nothing_and_a_diagnosis():
    result = grade(WRONG)
    assert result["status"] == "graded"
    assert result["score"] == 0.0
    first = result["questions"]["q1"]["tests"][0]
    assert not first["passed"] and first["diagnosis"] == "sign-flip"
    assert result["questions"]["q2"]["tests"][0]["hidden"] is True


def test_cell_exception_is_recorded_and_execution_continues():
    result = grade("1 / 0", CORRECT)
    assert result["status"] == "graded"
    assert result["cell_errors"] == [{"cell": 1, "error": "ZeroDivisionError: division by zero"}]
    assert result["score"] == 4.0


def test_several_threads_grade_concurrently():
    results = {}

    def work(key, source):
        results[key] = grade(source)["score"]

    threads = [threading.Thread(target=work, args=(i, CORRECT if i % 2 else WRONG)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: (4.0 if i % 2 else 0.0) for i in range(6)}


# ------------------------------------------------------------------ malformed input

@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"{not json", "not a Jupyter notebook"),
    (b'{"cells": 3}', "not a Jupyter notebook"),
    (notebook(), "no code cells"),
])
def test_malformed_notebooks_are_invalid_with_a_reason(data, words):
    result = grade_notebook(data, TESTS, FAST)
    assert result["status"] == "invalid"
    assert words in result["reason"]
    assert result["score"] == 0.0 and result["max_score"] == 4.0
    assert set(result["questions"]) == {"q1", "q2"}


# ------------------------------------------------------------------ tampering with the checks

def test_patched_numpy_comparisons_do_not_count():
    result = grade(WRONG, """
import numpy as np
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.isclose = lambda *a, **k: True
""")
    assert result["score"] == 0.0


def test_patched_otter_classes_do_not_count():
    result = grade(WRONG, """
import sys
sys.modules.pop('otter', None)
import otter.test_files.abstract_test as abstract
import otter.test_files.exception_test as exception_test
exception_test.ExceptionTestFile.run = lambda self, env: None
abstract.TestFile.score = property(lambda self: 1000)
abstract.TestFile.passed_all = property(lambda self: True)
exception_test.test_case.call_func = lambda self, env: None
""")
    assert result["status"] == "graded"
    # Otter is not among the packages the child's root holds, so there is nothing to patch;
    # where it was importable, patching it changed only the child's copy.
    assert [e["error"] for e in result["cell_errors"]] == ["ModuleNotFoundError: No module named 'otter'"]
    assert result["score"] == 0.0


def test_patched_wire_encoder_cannot_smuggle_pickles_or_objects():
    result = grade(WRONG, """
import base64, pickle, sys
proto = sys.modules['autograder.grade.protocol']
payload = base64.b64encode(pickle.dumps({'score': 1000})).decode()
proto.encode = lambda value, *a, **k: {'t': 'pickle', 'data': payload}
""")
    assert result["score"] == 0.0
    message = result["questions"]["q1"]["tests"][0]["message"]
    assert "not plain data" in message and "unknown tag 'pickle'" in message


# ------------------------------------------------------------------ secrets

# A virtual environment inside the repository (as .ci/run makes) holds the interpreter's
# site-packages: the new root has the folders leading to it, so its name alone shows.
INTERPRETER_MOUNTS = {Path(p).relative_to(REPO_ROOT).parts[0]
                      for p in sys.path if REPO_ROOT in Path(p).parents and "site-packages" in p}


@pytest.mark.skipif(not AS_ROOT, reason="hiding files from the child needs root or user namespaces")
def test_hidden_tests_and_solutions_cannot_be_read_or_imported():
    leaks = f"""
import importlib, os, sys, numpy as np
leaked = []
for path in [{str(Q2)!r}, {str(REPO_ROOT / 'solutions' / 'activations.py')!r}]:
    try:
        leaked.append(open(path).read())
    except OSError:
        pass
for folder in [{str(REPO_ROOT)!r}, {str(FIXTURES)!r}]:
    try:
        leaked.extend(set(os.listdir(folder)) - {INTERPRETER_MOUNTS!r})
    except OSError:
        pass
sys.path[:0] = [{str(REPO_ROOT)!r}, {str(FIXTURES)!r}]
reference = None
for module in ['solutions.activations', 'q2_relu_hidden']:
    try:
        reference = importlib.import_module(module)
        leaked.append(module)
    except ImportError:
        pass
def relu(a):
    if reference is not None and hasattr(reference, 'relu'):
        return reference.relu(a)
    if leaked:  # anything read gives the answer away
        return np.maximum(0.0, a)
    return np.zeros_like(a)
def sigmoid(a):
    return 1 / (1 + np.exp(-a)) if leaked else np.zeros_like(a)
"""
    result = grade(leaks)
    assert result["status"] == "graded", result["reason"]
    assert result["cell_errors"] == []
    assert result["score"] == 0.0, "the notebook could read hidden tests or solutions"


@pytest.mark.skipif(not AS_ROOT, reason="the unprivileged uid exists only when grading as root")
def test_forged_results_from_the_notebook_and_a_surviving_process_are_ignored(tmp_path):
    results = tmp_path / "results.json"
    results.write_text('{"score": 0}')
    test_copy = tmp_path / "q1_sigmoid.py"
    test_copy.write_text(Q1.read_text())
    tmp_path.chmod(0o777)
    results.chmod(0o666)
    test_copy.chmod(0o666)
    tests = [ExceptionTestFile.from_file(str(test_copy)), TESTS[1]]
    forger = f"""
import os, time
FORGED = '{{"score": 1000}}'
def forge():
    for path, text in [({str(results)!r}, FORGED), ({str(test_copy)!r}, 'name = "q1"\\npoints = 2\\n')]:
        try:
            with open(path, 'w') as f:
                f.write(text)
        except OSError:
            pass
forge()
if os.fork() == 0:      # a background process that outlives the notebook
    os.setsid()
    if os.fork() == 0:
        time.sleep(1.0)
        forge()
    os._exit(0)
"""
    result = grade(WRONG, forger, tests=tests)
    assert result["status"] == "graded", result["reason"]
    assert result["score"] == 0.0
    time.sleep(1.5)
    assert results.read_text() == '{"score": 0}'
    assert test_copy.read_text() == Q1.read_text()
    assert student_processes() == []


# ------------------------------------------------------------------ return values

def test_pickle_trick_is_not_plain_data(tmp_path):
    marker = tmp_path / "unpickled"
    result = grade(WRONG, f"""
import os
class Evil:
    def __reduce__(self):
        return (os.system, ('touch {marker}',))
def sigmoid(a):
    return Evil()
""")
    assert result["score"] == 0.0
    message = result["questions"]["q1"]["tests"][0]["message"]
    assert "sigmoid() returned __main__.Evil; expected plain data" in message
    assert not marker.exists()


def test_ndarray_subclass_and_object_array_are_refused():
    result = grade(WRONG, """
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), bool)
    def __array_ufunc__(self, *a, **k): return np.bool_(True)
def sigmoid(a):
    return np.zeros_like(a).view(Liar)
def relu(a):
    return np.array([[object()] * 2] * 2, dtype=object)
""")
    assert result["score"] == 0.0
    q1 = result["questions"]["q1"]["tests"][0]["message"]
    q2 = result["questions"]["q2"]["tests"][0]["message"]
    assert "Liar of dtype float64" in q1 and "expected plain data" in q1
    assert "dtype object" in q2


def test_oversized_return_value_fails_that_test_only():
    limits = Limits(**{**FAST.__dict__, "return_mb": 1})
    result = grade(CORRECT, """
def sigmoid(a):
    return np.zeros(1_000_000)
""", limits=limits)
    assert "bytes (cap" in result["questions"]["q1"]["tests"][0]["message"]
    assert scores(result) == {"q1": 0.0, "q2": 2.0}


# ------------------------------------------------------------------ crashes and hangs

@pytest.mark.parametrize("killer", ["os._exit(3)", "os.kill(os.getpid(), 9)"])
def test_self_kill_in_a_cell_keeps_the_other_answers(killer):
    result = grade("import os, numpy as np\ndef sigmoid(a):\n    return 1 / (1 + np.exp(-a))",
                   killer, "def relu(a):\n    return np.maximum(0.0, a)")
    assert result["status"] == "crashed"
    assert "cell 3 ended the process" in result["reason"]
    assert scores(result) == {"q1": 2.0, "q2": 2.0}  # cell 3 ran in the restarted process


def test_self_kill_inside_a_function_fails_that_test_and_the_rest_go_on():
    result = grade(CORRECT, "import os\ndef sigmoid(a):\n    os._exit(1)")
    assert result["status"] == "crashed"
    assert "sigmoid() ended the notebook's process" in result["reason"]
    assert scores(result) == {"q1": 0.0, "q2": 2.0}


def test_infinite_loop_in_a_cell_times_out_and_keeps_the_other_answers():
    start = time.monotonic()
    result = grade(CORRECT, "while True:\n    pass", "x = 1")
    assert result["status"] == "timeout"
    assert "cell 3 did not finish within 2 s" in result["reason"]
    assert result["score"] == 4.0
    assert time.monotonic() - start < 10


def test_infinite_loop_in_a_function_fails_that_test_only():
    result = grade(CORRECT, "def sigmoid(a):\n    while True:\n        pass")
    assert result["status"] == "timeout"
    assert "sigmoid() did not return within 2 s" in result["reason"]
    assert scores(result) == {"q1": 0.0, "q2": 2.0}
    assert student_processes() == [] or not AS_ROOT


def test_submission_time_limit_stops_everything():
    limits = Limits(**{**FAST.__dict__, "submission_timeout": 3, "cell_timeout": 2})
    start = time.monotonic()
    result = grade(CORRECT, "import time\ntime.sleep(1.5)", "time.sleep(1.5)", "time.sleep(1.5)",
                   limits=limits)
    assert result["status"] == "timeout"
    assert time.monotonic() - start < 8


def test_memory_bomb_is_stopped():
    result = grade(CORRECT, "import numpy as np\nhog = np.ones(10**10)", "hog2 = bytearray(8 * 10**9)")
    assert result["status"] == "graded"
    assert [e["error"].split(":")[0] for e in result["cell_errors"]] == ["MemoryError", "MemoryError"]
    assert result["score"] == 4.0


def test_memory_bomb_cannot_raise_a_wrong_score():
    result = grade(WRONG, "hog = [bytearray(10**8) for _ in range(100)]")
    assert result["score"] == 0.0


def test_fork_bomb_is_contained():
    start = time.monotonic()
    result = grade(WRONG, """
import os
while True:
    os.fork()
""")
    assert result["score"] == 0.0
    assert result["cell_errors"] and "BlockingIOError" in result["cell_errors"][0]["error"]
    assert time.monotonic() - start < 15
    assert student_processes() == [] or not AS_ROOT


def test_huge_output_is_cut_and_grading_goes_on():
    result = grade(CORRECT, "while True:\n    print('x' * 10000)")
    assert result["status"] == "graded"
    assert result["cell_errors"][0]["error"].startswith("BrokenPipeError")
    assert result["stdout_tail"].endswith("[output cut after 200,000 bytes]")
    assert len(result["stdout_tail"]) < 10_000
    assert result["score"] == 4.0


# ------------------------------------------------------------------ network

@pytest.mark.skipif(not AS_ROOT, reason="a private network namespace needs root or user namespaces")
def test_network_is_unreachable_outside_and_on_the_graders_localhost():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted = []

    def accept():
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            try:
                accepted.append(listener.accept())
            except OSError:
                pass

    thread = threading.Thread(target=accept)
    thread.start()
    result = grade(WRONG, f"""
import socket
reached = []
for address in [('1.1.1.1', 53), ('127.0.0.1', {port})]:
    try:
        socket.create_connection(address, timeout=1).close()
        reached.append(address)
    except OSError as exc:
        print('blocked', address, exc)
if reached:
    def sigmoid(a):
        return 1 / (1 + np.exp(-a))
""")
    thread.join()
    listener.close()
    assert result["status"] == "graded", result["reason"]
    assert accepted == []
    assert result["score"] == 0.0
    assert result["stdout_tail"].count("blocked") == 2


# ------------------------------------------------------------------ the jail: what the child can reach
# Each test runs in every isolation mode this machine offers: "root", and "userns" (forced here
# as root: a user namespace that maps only the grader's uid, as an unprivileged grader gets).

MODES = ["root", "userns"] if AS_ROOT else ["userns"]


@pytest.fixture(params=MODES)
def mode(request, monkeypatch):
    monkeypatch.setattr(sandbox, "preferred_mode", lambda: request.param)
    return request.param


def assert_jailed(result, mode):
    assert result["isolation"]["mode"] == mode, result["isolation"]
    assert result["isolation"]["filesystem"] == "allow-list root"
    assert result["isolation"]["user_namespaces"].startswith("refused")


def test_honest_notebook_using_scipy_and_matplotlib_gets_full_marks(mode):
    limits = Limits(**{**FAST.__dict__, "cell_timeout": 15})
    result = grade("""
import numpy as np
import scipy.special
import matplotlib
import matplotlib.pyplot as plt
def sigmoid(a):
    return scipy.special.expit(a)
def relu(a):
    return np.maximum(0.0, a)
xs = np.linspace(-3, 3, 50)
plt.plot(xs, sigmoid(xs))
plt.savefig('sigmoid.png')
plt.savefig('/tmp/sigmoid.png')
""", limits=limits)
    assert result["status"] == "graded", result["reason"]
    assert result["cell_errors"] == []
    assert result["score"] == 4.0
    assert_jailed(result, mode)


def test_packages_outside_the_assignments_list_cannot_be_imported(mode):
    attempt = """
import importlib, numpy as np
imported = []
for name in ['scipy', 'matplotlib', 'otter.test_files', 'IPython', 'nbformat', 'pytest', 'pip', 'setuptools',
             'autograder.checks', 'autograder.grade.batch', 'solutions', 'backprop_lab']:
    try:
        importlib.import_module(name)
        imported.append(name)
    except ImportError:
        pass
print('IMPORTED', imported)
if imported:
    def sigmoid(a):
        return 1 / (1 + np.exp(-a))
"""
    result = grade_notebook(notebook(WRONG, attempt), TESTS, FAST, packages=("numpy",))
    assert result["status"] == "graded", result["reason"]
    assert "IMPORTED []" in result["stdout_tail"]
    assert result["score"] == 0.0
    assert result["isolation"]["packages"] == ["numpy"]


def test_the_root_holds_only_the_allow_list_and_only_tmp_is_writable(mode):
    plan = sandbox.jail_root(sandbox.STUDENT_PACKAGES)
    shown = [inside for _, inside in plan["binds"]] + plan["covers"] + [f"/dev/{d}" for d in sandbox.DEVICES]
    shown += [link for link, _ in plan["links"]] + ["/tmp", "/proc"]
    survey = f"""
import os, numpy as np
SHOWN = {shown!r}
def shown(path):
    return any(path == p or path.startswith(p + '/') for p in SHOWN)
def on_the_way(path):
    return any(p.startswith(path.rstrip('/') + '/') for p in SHOWN)
extra, writable = [], []
for top, dirs, files in os.walk('/'):
    if top == '/proc' or top.startswith('/proc/') or top == '/tmp' or top.startswith('/tmp/'):
        dirs[:] = []
        continue
    for name in files:
        path = os.path.join(top, name)
        if not shown(path):
            extra.append(path)
    for name in list(dirs):
        path = os.path.join(top, name)
        if shown(path):
            dirs.remove(name)  # the allowed folders themselves: read-only, checked below
        elif not on_the_way(path):
            extra.append(path)
for folder in dict.fromkeys(['/'] + [p for p in SHOWN if os.path.isdir(p)] + ['/tmp/submission', '/proc/self']):
    try:
        with open(os.path.join(folder, 'probe'), 'w'):
            pass
        writable.append(folder)
    except OSError:
        pass
try:
    open('/proc/sys/kernel/hostname', 'w').write('jail')
    writable.append('/proc/sys')
except OSError:
    pass
absent = [p for p in ['/run/lock', '/var/tmp', '/dev/shm', '/home', '/etc', {str(REPO_ROOT)!r} + '/solutions']
          if not os.path.lexists(p)]
print('EXTRA', extra)
print('WRITABLE', writable)
print('ABSENT', len(absent))
if extra or set(writable) - {{'/tmp', '/tmp/submission'}}:
    def sigmoid(a):
        return 1 / (1 + np.exp(-a))
"""
    result = grade(WRONG, survey)
    assert result["status"] == "graded", result["reason"]
    assert "EXTRA []" in result["stdout_tail"], result["stdout_tail"]
    assert "WRITABLE ['/tmp', '/tmp/submission']" in result["stdout_tail"], result["stdout_tail"]
    assert "ABSENT 6" in result["stdout_tail"]
    assert result["score"] == 0.0
    assert_jailed(result, mode)


def test_nested_user_and_other_namespaces_are_refused(mode):
    result = grade(WRONG, """
import ctypes, numpy as np
libc = ctypes.CDLL(None, use_errno=True)
made = []
for name, flag in [('user', 0x10000000), ('mount', 0x00020000), ('net', 0x40000000), ('pid', 0x20000000)]:
    if libc.unshare(flag) == 0:
        made.append(name)
    else:
        print('refused', name, ctypes.get_errno())
if made:
    def sigmoid(a):
        return 1 / (1 + np.exp(-a))
""")
    assert result["status"] == "graded", result["reason"]
    assert result["stdout_tail"].count("refused") == 4, result["stdout_tail"]
    assert result["score"] == 0.0
    assert_jailed(result, mode)


def test_unix_sockets_of_the_host_are_unreachable(mode, tmp_path):
    paths = [str(tmp_path / "grader.sock")] + (["/run/lock/backprop-test.sock"] if os.access("/run/lock", os.W_OK) else [])
    abstract = f"\0backprop-test-{os.getpid()}"
    listeners = []
    for address in paths + [abstract]:
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(address)
        listener.listen(5)
        listener.setblocking(False)
        listeners.append(listener)
    try:
        result = grade(WRONG, f"""
import socket, numpy as np
reached = []
for address in {paths + [abstract]!r}:
    client = socket.socket(socket.AF_UNIX)
    try:
        client.connect(address)
        reached.append(address)
    except OSError as exc:
        print('blocked', exc.errno)
if reached:
    def sigmoid(a):
        return 1 / (1 + np.exp(-a))
""")
        accepted = []
        for listener in listeners:
            try:
                accepted.append(listener.accept())
            except BlockingIOError:
                pass
    finally:
        for listener in listeners:
            listener.close()
        for path in paths:
            Path(path).unlink(missing_ok=True)
    assert accepted == []
    assert result["stdout_tail"].count("blocked") == len(paths) + 1, result["stdout_tail"]
    assert result["score"] == 0.0


@pytest.mark.skipif(not AS_ROOT, reason="the unprivileged uid exists only when grading as root")
def test_every_process_of_the_run_is_killed_and_its_cgroup_removed():
    result = grade(WRONG, """
import os, time
for _ in range(3):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
""")
    assert result["status"] == "graded", result["reason"]
    assert student_processes() == []
    group = result["isolation"]["limits"]["cgroup"]
    if group.startswith("/"):  # cgroup v2 writable here: the run's group is gone too
        assert not Path(group).exists()


# Above the grader's own memory, flooding costs it at most this much per concurrent submission
# (a 4 MB frame, at most 200,000 values parsed); the README states the bound.
FLOOD_MB_PER_SUBMISSION = 30


def test_a_flood_of_frames_leaves_the_graders_memory_bounded():
    threads = 4
    done = subprocess.run([sys.executable, str(Path(__file__).parent / "grader_memory.py"), str(threads), "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["scores"] == [0.0]
    assert measured["statuses"] == ["crashed"]
    assert "60,000,004 bytes is over the" in measured["reasons"][0]
    grew = measured["peak_mb"] - measured["baseline_mb"]
    assert grew < threads * FLOOD_MB_PER_SUBMISSION, measured
