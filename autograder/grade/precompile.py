"""Test files compiled in a helper process while the grader starts.

Compiling every built assignment's test files (large literal inputs and expected values) costs
about 0.1 s of a grading run's start-up, all of it on the grader's main thread, and a thread would
not help (compiling holds the interpreter lock). ``start(dist)``, called first thing by ``grade``,
runs the same interpreter in a helper process (``-I -S``: no site, nothing but the standard library)
that reads each bundle's ``tests/*.py`` and compiles them with the grader's flags; the code objects
come back with ``marshal`` (the format of .pyc files, for this very interpreter). ``take(dist)``
waits for them (a few seconds at most) and ``assignments._compiled`` uses one only for the very
file name and source it is asked to compile (keyed by the source's sha256); anything else, a helper
that failed or was started for another folder, is compiled in the grader as before.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

# Test files are compiled with the future statement of ``assignments`` (compile() used to inherit it).
FLAGS = __import__("__future__").annotations.compiler_flag
WAIT_SECONDS = 5.0

_started: dict = {}  # {"dist": resolved path, "process": Popen}

_HELPER = """
import hashlib, marshal, sys, zipfile
from pathlib import Path
out = {}
for exercise in sorted(Path(sys.argv[1]).iterdir()):
    folder = exercise / "autograder"
    bundles = sorted(folder.glob("*.zip")) if folder.is_dir() else []
    if not bundles:
        continue
    bundle = max(bundles, key=lambda b: (b.stat().st_mtime, b.name))
    try:
        with zipfile.ZipFile(bundle) as zf:
            for name in zf.namelist():
                if name.startswith("tests/") and name.endswith(".py") and name.count("/") == 1:
                    source = zf.read(name).decode("utf-8")
                    key = (name, hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest())
                    out[key] = compile(source, name, "exec", flags=int(sys.argv[2]), dont_inherit=True)
    except Exception:
        continue
sys.stdout.buffer.write(marshal.dumps(out))
"""


def key(filename: str, source: str) -> tuple[str, str]:
    return filename, hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def start(dist) -> None:
    """Start compiling the test files of the bundles under ``dist`` (once per process)."""
    import subprocess
    if _started or not Path(dist).is_dir():
        return
    try:
        process = subprocess.Popen([sys.executable, "-I", "-S", "-c", _HELPER, str(Path(dist).resolve()), str(FLAGS)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return
    _started.update(dist=Path(dist).resolve(), process=process)


def take(dist) -> dict:
    """{(file name, sha256 of source): code} from the helper started for ``dist``, else {}."""
    import marshal
    process = _started.get("process")
    if process is None:
        return {}
    same = _started.get("dist") == Path(dist).resolve()
    _started.clear()
    try:
        if same:
            out, _ = process.communicate(timeout=WAIT_SECONDS)
            if process.returncode == 0:
                found = marshal.loads(out)
                return found if isinstance(found, dict) else {}
    except Exception:  # noqa: BLE001 - the grader compiles them itself
        pass
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return {}
