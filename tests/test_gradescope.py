"""Gradescope's autograder contract, simulated as root in a temporary folder standing for
/autograder (https://gradescope-autograders.readthedocs.io/en/latest/specs/):

the built bundle is unzipped into <root>/source, its setup.sh runs, run_autograder is copied to
<root>/run_autograder, a submission is put in <root>/submission, run_autograder runs, and
<root>/results/results.json is checked against Gradescope's documented schema (written out
below). A correct notebook (or its Otter export zip) gets full marks; a notebook that imports
the reference, or reads the bundle, gets nothing for that question, both where namespaces work
("root") and where the container refuses them ("root-uid", simulated by dropping CAP_SYS_ADMIN).
"""
import json
import math
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.grade.gradescope import UID_RANGE_START

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "sigmoid_mlp"
EXERCISE = "sigmoid_mlp"
MAX_SCORE = 25.0
BACKWARD = "q5"  # the question the attacks go for (8 points)
TIMINGS = {}

# ------------------------------------------------------------ Gradescope's results.json schema

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
             "tags", "visibility", "extra_data"}


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_schema(results: dict) -> None:
    """Every field as Gradescope's specification documents it; plus what this grader promises
    (a top-level score, stdout for the instructor only, one test per Otter test case)."""
    assert isinstance(results, dict)
    assert set(results) <= TOP_KEYS, set(results) - TOP_KEYS
    assert _number(results["score"]) and results["score"] >= 0
    assert "execution_time" not in results or _number(results["execution_time"])
    assert isinstance(results["output"], str) and results["output"].strip()
    for key in ("output_format", "test_output_format", "test_name_format"):
        assert key not in results or results[key] in FORMATS, (key, results[key])
    assert "visibility" not in results or results["visibility"] in VISIBILITIES
    assert results["stdout_visibility"] in VISIBILITIES
    assert isinstance(results.get("extra_data", {}), dict)
    tests = results["tests"]
    assert isinstance(tests, list) and tests
    for t in tests:
        assert isinstance(t, dict) and set(t) <= TEST_KEYS, set(t) - TEST_KEYS
        assert isinstance(t["name"], str) and t["name"]
        assert _number(t["score"]) and _number(t["max_score"]) and 0 <= t["score"] <= t["max_score"]
        assert t["status"] in {"passed", "failed"}
        assert t["visibility"] in VISIBILITIES
        assert isinstance(t["output"], str)
        assert isinstance(t.get("number", ""), str)
        assert isinstance(t.get("tags", []), list) and all(isinstance(x, str) for x in t.get("tags", []))
        assert "output_format" not in t or t["output_format"] in FORMATS
    assert abs(sum(t["score"] for t in tests) - results["score"]) < 1e-6


def by_question(results: dict) -> dict:
    scores = {}
    for t in results["tests"]:
        q = t["name"].split(":")[0]
        earned, possible = scores.get(q, (0.0, 0.0))
        scores[q] = (earned + t["score"], possible + t["max_score"])
    return scores


# ------------------------------------------------------------ the simulated /autograder

def processes_of(uid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from autograder.builder import build
    out = tmp_path_factory.mktemp("gradescope-dist")
    return build([EXERCISE], out, progress=False)[EXERCISE]["bundle"]


def readable_python(folder: Path):
    """An interpreter every user can read, with this venv's packages but not its editable install of
    this project (as on Gradescope): a venv of the system Python whose site-packages points at ours.
    None if the system has no Python of our version (then "root-uid" cannot be simulated here)."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    system = next((p for p in (Path("/usr/bin") / version, Path("/usr/local/bin") / version) if p.exists()), None)
    if system is None:
        return None
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(folder)], check=True)
    import site
    ours = [p for p in site.getsitepackages() if "site-packages" in p]
    (folder / "lib" / version / "site-packages" / "deps.pth").write_text("\n".join(ours) + "\n")
    python = folder / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import sys, numpy, otter; print(sys.prefix, sys.base_prefix)"],
                           capture_output=True, text=True)
    if probe.returncode != 0 or _closed_ancestors(probe.stdout.split()):
        return None
    return python


def _closed_ancestors(paths):
    """Folders above ``paths`` that other users cannot traverse (e.g. /root holding pyenv): an
    interpreter there cannot run as the notebook's unprivileged uid without a new root."""
    closed = set()
    for path in paths:
        for folder in reversed(Path(path).parents):
            try:
                if not folder.stat().st_mode & 0o001:
                    closed.add(str(folder))
                    break
            except OSError:
                break
    return closed


def install(bundle: Path, python: Path, label: str) -> Path:
    """Gradescope's image build: unzip into <root>/source, run setup.sh, copy run_autograder."""
    root = Path(tempfile.mkdtemp(prefix="autograder-", dir="/tmp"))
    try:
        return _install(bundle, python, label, root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _install(bundle: Path, python: Path, label: str, root: Path) -> Path:
    root.chmod(0o755)  # like /autograder: what keeps the student out is ours to do
    for sub in ("source", "submission", "results"):
        (root / sub).mkdir()
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):  # zipfile does not restore modes; Gradescope does
        (root / "source" / name).chmod(0o755)
    env = {**os.environ, "BACKPROP_LAB_PYTHON": str(python)}
    for attempt in ("first", "again"):
        start = time.perf_counter()
        done = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source", env=env,
                              capture_output=True, text=True, timeout=600)
        TIMINGS[f"setup.sh, {label} ({attempt})"] = time.perf_counter() - start
        assert done.returncode == 0, done.stdout + done.stderr
    assert "requirements.txt: already installed" in done.stdout, "the second setup.sh ran pip again"
    assert (root / "source" / "python_path").read_text().strip() == str(python)
    assert stat.S_IMODE((root / "source").stat().st_mode) & 0o077 == 0, "setup.sh left the bundle readable"
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return root


@pytest.fixture(scope="module")
def gradescope(bundle, terminal_summary):
    root = install(bundle, Path(sys.executable), "this venv")
    yield root
    shutil.rmtree(root, ignore_errors=True)
    terminal_summary("Gradescope simulation (issue 10)", [f"{k}: {v:.1f} s" for k, v in TIMINGS.items()])


@pytest.fixture(scope="module")
def gradescope_readable(bundle):
    folder = Path(tempfile.mkdtemp(prefix="readable-venv-", dir="/tmp"))
    folder.chmod(0o755)
    python = readable_python(folder)
    if python is None:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip("no system Python of this version that an unprivileged user can read")
    root = install(bundle, python, "system Python venv")
    yield root
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


def run_autograder(root: Path, files: dict, *, refuse_namespaces=False, label=None) -> dict:
    """Put ``files`` in <root>/submission, run <root>/run_autograder as Gradescope does, read results.json."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "submission").mkdir()
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    (root / "submission_metadata.json").write_text(json.dumps({"previous_submissions": [{"results": "secret"}]}))
    (root / "results" / "results.json").unlink(missing_ok=True)
    command = [str(root / "run_autograder")]
    if refuse_namespaces:  # as in a container without CAP_SYS_ADMIN: unshare and mount fail
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is needed to drop CAP_SYS_ADMIN")
        command = ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKPROP_LAB_", "AUTOGRADER_"))}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    if label:
        TIMINGS[label] = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"results.json holds {c}"))
    check_schema(results)
    uid = (results["extra_data"].get("isolation") or {}).get("uid")
    assert uid and processes_of(uid) == [], f"a process of the student's outlived the run: {results['extra_data']}"
    return results


# ------------------------------------------------------------ submissions

def notebook_bytes(name="correct", extra_cell=None) -> bytes:
    nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    if extra_cell:
        nb.cells.append(nbformat.v4.new_code_cell(extra_cell))
    return nbformat.writes(nb).encode()


def export_zip(notebook: bytes) -> bytes:
    """An Otter export as grader.export() writes it: the notebook and __zip_filename__."""
    path = Path(tempfile.mkdtemp()) / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{EXERCISE}.ipynb", notebook)
        zf.writestr("__zip_filename__", f"{EXERCISE}_2026_01_01T00_00_00.zip")
    data = path.read_bytes()
    shutil.rmtree(path.parent)
    return data


IMPORTS_THE_REFERENCE = '''
def backward(*args, **kwargs):
    raise NotImplementedError("the reference could not be imported")
from solutions.networks import sigmoid_mlp
backward = sigmoid_mlp.backward
'''


def reads_the_bundle(root: Path) -> str:
    """The correct backward survives only if the notebook could read or import anything of the
    bundle or of Gradescope's folder; it also leaves a daemon behind."""
    source = root / "source"
    paths = [source / "tests" / f"{BACKWARD}.py", source / "files" / "solutions" / "course" / EXERCISE / "exercise.py",
             source / EXERCISE / "autograder" / f"{EXERCISE}-autograder.zip", source / "gradescope.json",
             root / "submission_metadata.json"]
    folders = [source, source / "tests", root / "results", root / "submission"]
    return f'''
import os, subprocess, sys
_honest_backward = backward
if os.fork() == 0:  # a daemon left behind (no `sleep` binary needed: the allow-list root has none)
    os.setsid()
    import time
    time.sleep(600)
    os._exit(0)
leaked = []
for path in {[str(p) for p in paths]!r}:
    try:
        open(path, "rb").read(1)
        leaked.append(path)
    except OSError:
        pass
for folder in {[str(p) for p in folders]!r}:
    try:
        os.listdir(folder)
        leaked.append(folder)
    except OSError:
        pass
sys.path[:0] = [{str(source / "files")!r}, {str(source)!r}]
try:
    from solutions.networks import sigmoid_mlp as reference
    leaked.append("import")
except Exception:
    pass
def backward(params, cache, x, y):
    if leaked:
        return _honest_backward(params, cache, x, y)
    raise RuntimeError("nothing leaked")
'''


def assert_lost_only_backward(results):
    scores = by_question(results)
    assert scores[BACKWARD][0] == 0, f"the attack earned points on {BACKWARD}: {scores[BACKWARD]}"
    assert all(earned == possible for q, (earned, possible) in scores.items() if q != BACKWARD), scores
    assert results["score"] == MAX_SCORE - scores[BACKWARD][1]


# ------------------------------------------------------------ tests

def test_setup_sh_installs_from_the_package_registries_only(gradescope):
    text = (gradescope / "source" / "setup.sh").read_text()
    for word in ("http://", "https://", "wget", "curl", "conda", "mamba", "miniforge"):
        assert word not in text, f"setup.sh mentions {word!r}"
    assert "pip install" in text and "apt-get install" in text
    lines = (gradescope / "source" / "requirements.txt").read_text().splitlines()
    requirements = [line for line in lines if line.strip() and not line.startswith("#")]
    assert any(r.startswith("otter-grader==") for r in requirements)
    assert all("==" in r for r in requirements), "requirements.txt should pin what the build was tested with"
    assert not (gradescope / "source" / "environment.yml").exists()


def test_correct_notebook_gets_full_marks(gradescope):
    results = run_autograder(gradescope, {f"{EXERCISE}.ipynb": notebook_bytes()}, label="run_autograder (one notebook)")
    assert results["score"] == MAX_SCORE
    assert all(t["status"] == "passed" for t in results["tests"])
    extra = results["extra_data"]
    assert extra["status"] == "graded" and extra["max_score"] == MAX_SCORE
    assert extra["isolation"]["mode"] == "root" and extra["isolation"]["network"] == "none"
    assert "Isolation: **root**" in results["output"]
    assert results["stdout_visibility"] == "hidden"
    public = [t for t in results["tests"] if "public" in t["tags"]]
    hidden = [t for t in results["tests"] if "hidden" in t["tags"]]
    assert public and hidden and len(public) + len(hidden) == len(results["tests"])
    assert {t["visibility"] for t in public} == {"visible"}
    assert {t["visibility"] for t in hidden} == {"hidden"}  # the default
    for path in ("source", "submission", "results", "submission_metadata.json"):
        assert stat.S_IMODE((gradescope / path).stat().st_mode) & 0o077 == 0, f"{path} readable by others"


def test_export_zip_gets_full_marks(gradescope):
    results = run_autograder(gradescope, {f"{EXERCISE}_2026_01_01T00_00_00.zip": export_zip(notebook_bytes())})
    assert results["score"] == MAX_SCORE, results["output"]
    assert results["extra_data"]["graded_file"].endswith(".zip")


def test_importing_the_reference_gets_nothing_for_that_question(gradescope):
    results = run_autograder(gradescope, {f"{EXERCISE}.ipynb": notebook_bytes(extra_cell=IMPORTS_THE_REFERENCE)})
    assert_lost_only_backward(results)
    assert "ModuleNotFoundError" in results["output"]


def test_reading_the_bundle_gets_nothing_for_that_question(gradescope):
    results = run_autograder(gradescope, {f"{EXERCISE}.ipynb": notebook_bytes(extra_cell=reads_the_bundle(gradescope))})
    assert_lost_only_backward(results)


@pytest.mark.parametrize("files", [{}, {"truncated.ipynb": (EXAMPLES.parent / "malformed" / "truncated.ipynb").read_bytes()}],
                         ids=["nothing submitted", "truncated notebook"])
def test_a_submission_that_cannot_be_graded_still_gets_results(gradescope, files):
    results = run_autograder(gradescope, files)
    assert results["score"] == 0 and results["extra_data"]["status"] == "invalid"
    assert results["extra_data"]["reason"] and results["extra_data"]["reason"] in results["output"]
    assert sum(t["max_score"] for t in results["tests"]) == MAX_SCORE


def test_wrong_answers_get_the_diagnosis_and_hidden_tests_keep_their_secret(gradescope):
    settings_file = gradescope / "source" / "gradescope.json"
    settings = json.loads(settings_file.read_text())
    settings_file.write_text(json.dumps({**settings, "hidden_visibility": "after_published"}))
    try:
        results = run_autograder(gradescope, {f"{EXERCISE}.ipynb": notebook_bytes("partly_wrong")})
    finally:
        settings_file.write_text(json.dumps(settings))
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert failed and 0 < results["score"] < MAX_SCORE
    assert all(t["score"] == 0 for t in failed)
    assert any("Likely mistake (" in t["output"] for t in failed if t["visibility"] == "visible")
    assert {t["visibility"] for t in results["tests"] if "hidden" in t["tags"]} == {"after_published"}
    public_score = sum(t["score"] for t in results["tests"] if t["visibility"] == "visible")
    assert f"Public tests: {public_score:g} /" in results["output"]
    assert f"{results['score']:g} / {MAX_SCORE:g}" not in results["output"], "the total gives hidden results away"


def test_configure_changes_the_visibility_of_a_built_bundle(bundle, tmp_path):
    from autograder.builder.gradescope import configure
    copy = tmp_path / bundle.name
    shutil.copy2(bundle, copy)
    assert configure(copy, hidden_visibility="after_published")["hidden_visibility"] == "after_published"
    with zipfile.ZipFile(copy) as zf:
        assert json.loads(zf.read("gradescope.json"))["hidden_visibility"] == "after_published"
        assert zf.testzip() is None
    with pytest.raises(ValueError):
        configure(copy, hidden_visibility="visible")


def test_where_namespaces_are_refused_the_notebook_runs_as_an_unprivileged_user(gradescope_readable):
    root = gradescope_readable
    results = run_autograder(root, {f"{EXERCISE}.ipynb": notebook_bytes()}, refuse_namespaces=True)
    assert results["score"] == MAX_SCORE, results["output"]
    extra = results["extra_data"]
    assert extra["isolation"]["mode"] == "root-uid" and extra["isolation"]["uid"] >= UID_RANGE_START
    assert any(r.startswith("root:") for r in extra["refused_modes"])
    assert "Isolation: **root-uid**" in results["output"]
    for cell in (IMPORTS_THE_REFERENCE, reads_the_bundle(root)):
        results = run_autograder(root, {f"{EXERCISE}.ipynb": notebook_bytes(extra_cell=cell)}, refuse_namespaces=True)
        assert results["extra_data"]["isolation"]["mode"] == "root-uid"
        assert_lost_only_backward(results)
