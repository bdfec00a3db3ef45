#!/usr/bin/env bash
# Backprop Lab on Gradescope: install the by-value grader. Gradescope runs this once, as root,
# when it builds the autograder image (tests/test_gradescope.py runs it too). Everything comes
# from the package registries: apt for a Python >= {{python_min}} when the image has none, pip for
# the pinned packages of requirements.txt. The project's own code ships in this folder
# (autograder/) and is never installed into site-packages, so the student's process cannot
# import it. Run twice, it changes nothing (a second run takes about a second).
#
#   BACKPROP_LAB_PYTHON=/path/to/python   install into this interpreter instead (CI's venv)
#   BACKPROP_LAB_VENV=/opt/backprop-lab   where the virtualenv goes (default shown); it must
#                                         stay readable by every user: the notebook runs on it
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON_MIN="{{python_min}}"
VENV="${BACKPROP_LAB_VENV:-/opt/backprop-lab}"

new_enough() {
    "$1" -c "import sys; sys.exit(sys.version_info[:2] < tuple(map(int, '$PYTHON_MIN'.split('.'))))" 2>/dev/null
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "$@"
}

if [ -n "${BACKPROP_LAB_PYTHON:-}" ]; then
    PY="$BACKPROP_LAB_PYTHON"
    new_enough "$PY" || { echo "setup.sh: $PY is older than Python $PYTHON_MIN" >&2; exit 1; }
else
    if ! { [ -x "$VENV/bin/python" ] && new_enough "$VENV/bin/python"; }; then
        BASE=""
        for candidate in python3.13 python3.12 python3.11 python3; do
            if command -v "$candidate" >/dev/null && new_enough "$candidate"; then
                BASE="$(command -v "$candidate")"
                break
            fi
        done
        if [ -z "$BASE" ]; then  # e.g. Ubuntu 22.04 (Python 3.10): its python3.11 package
            apt_install "python$PYTHON_MIN" "python$PYTHON_MIN-venv"
            BASE="$(command -v "python$PYTHON_MIN")"
        fi
        if ! "$BASE" -c "import ensurepip, venv" 2>/dev/null; then  # Debian splits venv out
            apt_install "$(basename "$BASE")-venv"
        fi
        "$BASE" -m venv "$VENV"
    fi
    PY="$VENV/bin/python"
fi

if PYTHONPATH="$SOURCE" "$PY" -m autograder.grade.gradescope requirements-met "$SOURCE/requirements.txt"; then
    echo "requirements.txt: already installed"
else
    echo "requirements.txt: installing with pip"
    "$PY" -m pip install --disable-pip-version-check -q -r "$SOURCE/requirements.txt"
fi
PYTHONPATH="$SOURCE" "$PY" -c "import numpy, otter, nbformat, IPython, autograder.grade.runner"

echo "$PY" > "$SOURCE/python_path"   # run_autograder grades with this interpreter
chmod go= "$SOURCE"               # the tests, the reference and the grader: root only
echo "Backprop Lab grader ready: $("$PY" --version) at $PY"
