"""The set-up cell: the first code cell of every built notebook, before Otter's init cell.

A template, not a module to import (importing it runs the cell in the current folder).
``autograder.builder.standalone`` drops this docstring and fills in NOTEBOOK, OTTER_GRADER and
COURSE_FILES; everything below is what a student reads.
"""
# Set-up: run this cell first. It lets this notebook work on its own (on Colab, on a JupyterHub,
# alone in a folder). The course's helper files travel inside the notebook (in its metadata):
# this cell writes each one next to the notebook when it is missing or differs from the course's
# copy (the course's copy wins: it is the one this notebook's checks were written for), and
# installs otter-grader if it is not installed.
NOTEBOOK = "exercise.ipynb"
OTTER_GRADER = "otter-grader"
# file name: sha256 of the course's copy
COURSE_FILES = {}


def set_up():
    import base64, hashlib, importlib, json, os, subprocess, sys, zlib

    try:
        import otter
    except ImportError:  # on Colab, for example
        print(f"installing {OTTER_GRADER} ...")
        pip = subprocess.run([sys.executable, "-m", "pip", "install", OTTER_GRADER],
                             capture_output=True, text=True)
        if pip.returncode != 0:
            raise RuntimeError(f"pip could not install {OTTER_GRADER}:\n{pip.stdout[-2000:]}{pip.stderr[-2000:]}")
        importlib.invalidate_caches()

    def sha256(data):
        return hashlib.sha256(data).hexdigest()

    def course_copy_needed(name):
        if not os.path.isfile(name):
            return True
        with open(name, "rb") as f:
            return sha256(f.read()) != COURSE_FILES[name]

    to_write = [name for name in COURSE_FILES if course_copy_needed(name)]
    if "google.colab" in sys.modules:  # on Colab the notebook is not a file: ask Colab for it
        from google.colab import _message
        notebook = _message.blocking_request("get_ipynb", timeout_sec=60)["ipynb"]
        # Otter on Colab reads the tests from tests/ and the notebook's settings from a file
        os.makedirs("tests", exist_ok=True)
        for question, test in notebook["metadata"]["otter"]["tests"].items():
            with open(os.path.join("tests", question + ".py"), "w", encoding="utf-8") as f:
                f.write(test)
        with open(NOTEBOOK, "w", encoding="utf-8") as f:
            json.dump(notebook, f)
    elif not to_write:
        return  # every file is in place
    elif os.path.isfile(NOTEBOOK):
        with open(NOTEBOOK, encoding="utf-8") as f:
            notebook = json.load(f)
    else:
        missing = [name for name in to_write if not os.path.isfile(name)]
        if missing:
            raise FileNotFoundError(f"{NOTEBOOK} is not in this folder, so this cell cannot write "
                                    f"{', '.join(missing)}: keep the notebook's name as it was handed out")
        print(f"note: {NOTEBOOK} is not in this folder; kept the local {', '.join(to_write)}")
        return
    for name in to_write:
        data = zlib.decompress(base64.b64decode(notebook["metadata"]["backprop_lab"]["files"][name]))
        if sha256(data) != COURSE_FILES[name]:
            raise ValueError(f"the copy of {name} inside this notebook is damaged: download the notebook again")
        with open(name, "wb") as f:
            f.write(data)
        print(f"wrote {name}")


set_up()
del set_up
