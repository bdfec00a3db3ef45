"""The jail against copies of the course and against other submissions, through the batch
grader and the built bundles: what a hostile student would try on a real grading machine.

Copies of the course lie where they do on such machines: a second clone under /tmp, an old
dist/ in /var/tmp, a bundle zip in /dev/shm, the project installed from a wheel into another
virtualenv, the repository itself, and a classmate's notebook in the same folder. An attack
notebook lists, reads and imports all of them (and walks its whole root) and uses anything it
finds to answer; it must score nothing while honest notebooks (numpy, scipy, matplotlib)
score full. A writer and a reader submission must not pass data, in one batch or a later run,
and nothing may be left on the host.
"""
import ast
import re
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from autograder.grade import sandbox
from autograder.grade.batch import grade_batch
from autograder.grade.sandbox import REPO_ROOT

EXERCISE = "relu_softmax"
CORRECT = REPO_ROOT / "examples" / EXERCISE / "correct.ipynb"
AS_ROOT = os.geteuid() == 0
MODES = ["root", "userns"] if AS_ROOT else ["userns"]
WORLD_WRITABLE = [p for p in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock") if os.path.isdir(p)]

pytestmark = pytest.mark.skipif(not CORRECT.exists(), reason="examples/ not generated")


def student_functions():
    """The functions a student writes for EXERCISE (the model answers of its description)."""
    from autograder.checks import _student_functions, reference_form
    return sorted(_student_functions(reference_form(EXERCISE)))


def write_notebook(path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["otter"] = {"assignment_name": EXERCISE}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def correct_code():
    return "\n".join(c.source for c in nbformat.read(CORRECT, as_version=4).cells if c.cell_type == "code")


def wrong_stubs():
    return "\n".join(f"def {name}(*args, **kwargs):\n    return None" for name in student_functions())


def open_folder(under, prefix):
    """A new folder anyone may read (pytest's own are 0700, which would hide them from the
    sandbox's uid by permissions alone: the jail must hide them whatever their mode)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=under))
    folder.chmod(0o755)
    return folder


@pytest.fixture
def public_tmp():
    folder = open_folder("/tmp", "backprop-test-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mode(request, monkeypatch):
    monkeypatch.setattr(sandbox, "preferred_mode", lambda: request.param)
    return request.param


def batch(folder, out, dist):
    rows = grade_batch([folder], out_dir=out, dist=dist, assignment=EXERCISE, workers=2, progress=False,
                       log=lambda *args: None)
    return {Path(r["file"]).name: r for r in rows}


# ------------------------------------------------------------------ copies of the course

@pytest.fixture(scope="module")
def copies(dist, tmp_path_factory):
    """Copies of the course in several places and install modes; removed afterwards."""
    built, _ = dist
    places = [open_folder("/tmp", "backprop-clone-"), open_folder("/var/tmp", "backprop-old-"),
              open_folder("/dev/shm" if os.path.isdir("/dev/shm") else "/tmp", "backprop-bundle-"),
              open_folder("/tmp", "backprop-venv-")]
    clone = places[0] / "backprop-lab"
    shutil.copytree(REPO_ROOT, clone, ignore=shutil.ignore_patterns(
        ".venv", ".git", "dist", "grades", "build", "__pycache__", "*.egg-info"))
    old_dist = places[1] / "dist"
    shutil.copytree(built, old_dist)
    published = places[3] / "dist"  # the session's build, readable: what the grader itself grades with
    shutil.copytree(built, published)
    bundle = places[2] / f"{EXERCISE}-autograder.zip"
    shutil.copy(next((built / EXERCISE / "autograder").glob("*.zip")), bundle)

    venv = places[3] / "venv"  # the project installed from a wheel, in another virtualenv
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    venv_site = next(venv.glob("lib/python3*/site-packages"))
    wheels = places[3] / "wheels"
    built_wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(clone)],
                                 capture_output=True, text=True)
    installed = built_wheel.returncode == 0 and subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(venv_site),
         *map(str, wheels.glob("*.whl"))], capture_output=True).returncode == 0
    for place in places:
        subprocess.run(["chmod", "-R", "a+rX", str(place)], check=True)
    yield {"folders": [str(REPO_ROOT), str(clone), str(old_dist), str(published), str(venv_site)],
           "bundles": [str(bundle), *map(str, published.glob("*/autograder/*.zip"))],
           "dist": published, "venv": venv if installed else None, "venv_site": str(venv_site),
           "wheel_problem": built_wheel.stderr[-500:]}
    for place in places:
        shutil.rmtree(place, ignore_errors=True)


def attack(copies, classmate):
    """Lists, reads and imports every copy, walks its whole root, and answers with anything found."""
    return f"""
import importlib, json, os, sys, zipfile
FOLDERS = {copies["folders"]!r}
BUNDLES = {copies["bundles"]!r}
CLASSMATE = {str(classmate)!r}
FUNCTIONS = {student_functions()!r}
found, answers = [], {{}}

def forget(prefix):
    for name in [m for m in sys.modules if m == prefix or m.startswith(prefix + '.')]:
        del sys.modules[name]

for place in FOLDERS + BUNDLES + [CLASSMATE]:
    # a folder on the way to the interpreter's site-packages (a virtualenv inside the
    # repository) exists, holding only that way: anything else listed is a leak
    way = {{p[len(place) + 1:].split('/')[0] for p in sys.path if p.startswith(place + '/')}}
    try:
        if set(os.listdir(place)) - way:
            found.append('listed ' + place)
    except OSError:
        pass
    try:
        with open(place, 'rb') as f:
            data = f.read()
        found.append('read ' + place)
        if place == CLASSMATE:
            for cell in json.loads(data)['cells']:
                if cell['cell_type'] == 'code':
                    exec(''.join(cell['source']), answers)
    except Exception:
        pass
for place in FOLDERS + [b + '/files' for b in BUNDLES] + BUNDLES:
    sys.path.insert(0, place)
    for module in ['solutions.networks.{EXERCISE}', 'autograder.checks', 'tests.q1']:
        forget(module.split('.')[0])
        try:
            reference = importlib.import_module(module)
            found.append('imported ' + module + ' from ' + place)
            answers.update(vars(reference))
        except Exception:
            pass
    sys.path.remove(place)
for top, dirs, files in os.walk('/'):
    if top.startswith('/proc') or top.startswith('/tmp/submission'):
        continue
    for name in dirs + files:
        if name in ('solutions', 'autograder', 'dist') or name.endswith('.ipynb') or (name.endswith('.zip') and 'autograder' in name):
            found.append('walked to ' + os.path.join(top, name))
print('FOUND', found)
for name in FUNCTIONS:
    if name in answers:
        globals()[name] = answers[name]
"""


def assert_attack_failed(rows, attack_name):
    row = rows[attack_name]
    assert row["status"] == "graded", row["reason"]
    assert "FOUND []" in row["stdout_tail"], row["stdout_tail"][-3000:]
    assert row["score"] == 0.0


def assert_honest_full(rows, *names):
    for name in names:
        assert rows[name]["status"] == "graded", rows[name]["reason"]
        assert rows[name]["score"] == rows[name]["max_score"] > 0, (name, rows[name]["stdout_tail"][-2000:])


HONEST_PLOTTING = """
import numpy as np
import scipy.special
import matplotlib.pyplot as plt
z = np.linspace(-4, 4, 41)
plt.plot(z, relu(z), label='relu')
plt.plot(z, scipy.special.expit(z), label='sigmoid')
plt.legend()
plt.savefig('activations.png')
"""


def write_submissions(public_tmp, copies):
    """The attack, the classmate it targets, and an honest notebook that plots: the folder of them."""
    subs = public_tmp / "submissions"
    subs.mkdir()
    classmate = subs / "b_classmate.ipynb"
    shutil.copy(CORRECT, classmate)
    write_notebook(subs / "a_attack.ipynb", wrong_stubs(), attack(copies, classmate))
    write_notebook(subs / "c_honest_plots.ipynb", correct_code(), HONEST_PLOTTING)
    return subs


@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_no_copy_of_the_course_is_visible_and_honest_notebooks_grade_full(copies, public_tmp, tmp_path, mode):
    subs = write_submissions(public_tmp, copies)
    rows = batch(subs, tmp_path / "grades", copies["dist"])
    assert_attack_failed(rows, "a_attack.ipynb")
    assert_honest_full(rows, "b_classmate.ipynb", "c_honest_plots.ipynb")


@pytest.mark.skipif(not AS_ROOT, reason="grading from another virtualenv is checked as root")
def test_no_copy_is_visible_when_the_grader_is_a_wheel_in_a_virtualenv_with_system_site_packages(
        copies, public_tmp, tmp_path):
    if copies["venv"] is None:
        pytest.skip(f"could not build and install the wheel: {copies['wheel_problem']}")
    subs = write_submissions(public_tmp, copies)
    here_site = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "otter").is_dir())
    done = subprocess.run([str(copies["venv"] / "bin" / "python"), str(Path(__file__).parent / "batch_from_elsewhere.py"),
                           str(subs), str(tmp_path / "grades"), str(copies["dist"]), EXERCISE, here_site],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    graded = json.loads(done.stdout.strip().splitlines()[-1])
    assert graded["autograder"].startswith(copies["venv_site"])  # the wheel's copy, not the repository's
    assert not graded["numpy"].startswith(here_site)              # numpy from the system site-packages
    rows = {Path(r["file"]).name: r for r in graded["rows"]}
    assert_attack_failed(rows, "a_attack.ipynb")
    assert_honest_full(rows, "b_classmate.ipynb", "c_honest_plots.ipynb")


# ------------------------------------------------------------------ submissions passing data

def writer(token):
    """Writes the right answers, under a name only the reader knows, wherever it can, now and
    from a daemon that tries to outlive the run."""
    return f"""
import os, time
TOKEN = {token!r}
ANSWERS = {correct_code()!r}
def write_everywhere():
    wrote = []
    folders = ['/tmp', '/tmp/submission', '/var/tmp', '/dev/shm', '/run/lock', '/run', '/', os.path.expanduser('~')]
    for top, dirs, files in os.walk('/'):
        if not top.startswith('/proc'):
            folders.append(top)
    for folder in dict.fromkeys(folders):
        try:
            with open(os.path.join(folder, TOKEN), 'w') as f:
                f.write(ANSWERS)
            wrote.append(folder)
        except OSError:
            pass
    return wrote
print('WROTE', write_everywhere())
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(1.5)
        write_everywhere()
    os._exit(0)
"""


def reader(token):
    """Looks for the writer's file everywhere it can see and runs whatever it finds."""
    return f"""
import os
TOKEN = {token!r}
seen = []
for top, dirs, files in os.walk('/'):
    if top.startswith('/proc'):
        continue
    for name in files:
        if TOKEN in name:
            seen.append(os.path.join(top, name))
            exec(open(os.path.join(top, name)).read())
print('SEEN', seen)
"""


def host_entries(token):
    """Entries of the host's world-writable folders (three levels) whose name holds `token`."""
    found = []
    for folder in WORLD_WRITABLE:
        for top, dirs, files in os.walk(folder):
            if top.count("/") - folder.count("/") >= 3:
                dirs[:] = []
            found += [os.path.join(top, n) for n in dirs + files if token in n]
    return found


@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_a_writer_and_a_reader_cannot_pass_data_and_nothing_is_left_on_the_host(dist, tmp_path, mode):
    token = f"backprop-drop-{uuid.uuid4().hex}"
    assert host_entries(token) == []
    first, later = tmp_path / "first", tmp_path / "later"
    write_notebook(first / "a_writer.ipynb", wrong_stubs(), writer(token))
    write_notebook(first / "b_reader.ipynb", wrong_stubs(), reader(token))
    write_notebook(later / "c_reader.ipynb", wrong_stubs(), reader(token))
    rows = batch(first, tmp_path / "grades-first", dist[0])
    time.sleep(2)  # the writer's daemon would have written again by now
    rows.update(batch(later, tmp_path / "grades-later", dist[0]))

    wrote = re.search(r"WROTE (\[.*?\])", rows["a_writer.ipynb"]["stdout_tail"])
    assert wrote, rows["a_writer.ipynb"]["stdout_tail"][-2000:]
    wrote = ast.literal_eval(wrote.group(1))
    assert {"/tmp", "/tmp/submission"} <= set(wrote)
    # its private /tmp only (a virtualenv under the host's /tmp has its mount points there: in
    # userns mode the notebook runs as their owner, still inside its own tmpfs)
    assert all(w == "/tmp" or w.startswith("/tmp/") for w in wrote), wrote
    for name in ("b_reader.ipynb", "c_reader.ipynb"):
        assert rows[name]["status"] == "graded", rows[name]["reason"]
        assert "SEEN []" in rows[name]["stdout_tail"], rows[name]["stdout_tail"][-2000:]
        assert rows[name]["score"] == 0.0
    assert host_entries(token) == []
    parent = sandbox.cgroups._parent
    assert parent is None or list(parent.glob("s*")) == []  # every run's cgroup is gone
