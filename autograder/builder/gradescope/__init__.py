"""The autograder bundle, made to grade by value on Gradescope.

``make_bundle(otter_zip, student_dir, out)`` turns Otter Assign's zip into one that is at once

- what ``otter run`` reads: Otter's ``otter_config.json``, ``tests/`` and ``files/``, unchanged
  (``files/solutions/`` included: under ``otter run`` the notebook can import the reference;
  see the README, "Grading on Gradescope");
- what Gradescope runs: this folder's ``setup.sh`` (pip and apt only; Otter's conda installer,
  ``environment.yml`` and ``run_otter.py`` are left out) and ``run_autograder`` (runs
  ``python -m autograder.grade.gradescope run``), ``requirements.txt`` (the project's
  dependencies pinned to the versions this build ran with), ``gradescope.json`` (exercise,
  visibility of hidden tests, time limit), the grader's code (``autograder/__init__.py``,
  ``checks.py``, ``diagnosis.py``, ``grade/``; never the specs, whose cells hold the solutions),
  and the built assignment as ``python -m autograder grade --dist`` reads it:
  ``<exercise>/autograder/<exercise>-autograder.zip`` (tests and files) and
  ``<exercise>/student/`` (the support files the notebook's process gets).

``python -m autograder.builder.gradescope BUNDLE --hidden-visibility after_published`` changes
the visibility of hidden tests in a built bundle.
"""
from __future__ import annotations

import argparse
import io
import json
import re
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from autograder.grade.gradescope import DEFAULT_TIMEOUT, HIDDEN_VISIBILITIES, SETTINGS_FILE

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent.parent  # autograder/
SCRIPTS = ("setup.sh", "run_autograder")
GRADER_CODE = ("__init__.py", "checks.py", "diagnosis.py", "grade/*.py")
OTTER_ONLY = {"setup.sh", "run_autograder", "run_otter.py", "environment.yml", "requirements.txt"}
PROJECT = "backprop-lab"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # our entries' timestamp, so that they do not vary by build


def requirements() -> str:
    """The project's dependencies (no extras), each pinned to the version installed here."""
    lines = [f"# {PROJECT}'s dependencies, pinned to the versions this bundle was built and tested with"]
    for spec in metadata.requires(PROJECT) or []:
        if ";" in spec:  # extras ("pytest; extra == 'test'") and other markers: not for grading
            continue
        match = re.match(r"\s*([A-Za-z0-9._-]+)(\[[^\]]*\])?", spec)
        name, extras = match.group(1), match.group(2) or ""
        try:
            lines.append(f"{name}{extras}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(spec.strip())
    return "\n".join(lines) + "\n"


def python_min() -> str:
    """The oldest Python the project supports (``Requires-Python: >=3.11`` -> ``3.11``)."""
    found = re.search(r">=\s*(\d+\.\d+)", metadata.metadata(PROJECT).get("Requires-Python") or "")
    return found.group(1) if found else f"{sys.version_info[0]}.{sys.version_info[1]}"


def default_hidden_visibility(otter_config: dict) -> str:
    """Otter's own mapping of the assignment's ``show_hidden``: false -> hidden."""
    return "after_published" if otter_config.get("show_hidden") else "hidden"


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    zf.writestr(info, data)


def make_bundle(otter_zip: Path, student_dir: Path, out: Path, *, hidden_visibility: str | None = None,
                timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Write the Gradescope-ready bundle for ``otter_zip`` (Otter Assign's) to ``out``."""
    otter_zip, out = Path(otter_zip), Path(out)
    with zipfile.ZipFile(otter_zip) as source:
        kept = [(info, source.read(info)) for info in source.infolist() if info.filename not in OTTER_ONLY]
    config = json.loads(dict((i.filename, d) for i, d in kept).get("otter_config.json", b"{}"))
    exercise = config.get("assignment_name") or otter_zip.name.split("-autograder")[0]
    visibility = hidden_visibility or default_hidden_visibility(config)
    if visibility not in HIDDEN_VISIBILITIES:
        raise ValueError(f"hidden_visibility {visibility!r}: choose one of {HIDDEN_VISIBILITIES}")

    tests_and_files = io.BytesIO()  # the assignment as the batch grader reads it
    with zipfile.ZipFile(tests_and_files, "w", zipfile.ZIP_DEFLATED) as inner:
        for info, data in kept:
            inner.writestr(info, data)

    settings = {"exercise": exercise, "hidden_visibility": visibility, "timeout": timeout}
    setup = (HERE / "setup.sh").read_text(encoding="utf-8").replace("{{python_min}}", python_min())
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in kept:
            zf.writestr(info, data)
        _add(zf, "setup.sh", setup.encode(), executable=True)
        _add(zf, "run_autograder", (HERE / "run_autograder").read_bytes(), executable=True)
        _add(zf, "requirements.txt", requirements().encode())
        _add(zf, SETTINGS_FILE, (json.dumps(settings, indent=1) + "\n").encode())
        for pattern in GRADER_CODE:
            for path in sorted(PACKAGE.glob(pattern)):
                _add(zf, f"autograder/{path.relative_to(PACKAGE).as_posix()}", path.read_bytes())
        _add(zf, f"{exercise}/autograder/{exercise}-autograder.zip", tests_and_files.getvalue())
        for path in sorted(Path(student_dir).rglob("*")):
            rel = path.relative_to(student_dir)
            if path.is_file() and path.suffix != ".ipynb" and not any(p.startswith(".") for p in rel.parts):
                _add(zf, f"{exercise}/student/{rel.as_posix()}", path.read_bytes())
    tmp.replace(out)
    return out


def configure(bundle: Path, *, hidden_visibility: str | None = None, timeout: float | None = None) -> dict:
    """Change the settings of a built bundle in place; returns the new settings."""
    bundle = Path(bundle)
    with zipfile.ZipFile(bundle) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    settings = json.loads(dict((i.filename, d) for i, d in entries)[SETTINGS_FILE])
    if hidden_visibility is not None:
        if hidden_visibility not in HIDDEN_VISIBILITIES:
            raise ValueError(f"hidden_visibility {hidden_visibility!r}: choose one of {HIDDEN_VISIBILITIES}")
        settings["hidden_visibility"] = hidden_visibility
    if timeout is not None:
        settings["timeout"] = float(timeout)
    tmp = bundle.with_name(bundle.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            if info.filename == SETTINGS_FILE:
                _add(zf, SETTINGS_FILE, (json.dumps(settings, indent=1) + "\n").encode())
            else:
                zf.writestr(info, data)
    tmp.replace(bundle)
    return settings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.builder.gradescope",
                                     description="Change the settings of a built Gradescope bundle.")
    parser.add_argument("bundle", type=Path, help="dist/<exercise>/autograder/<exercise>-autograder_*.zip")
    parser.add_argument("--hidden-visibility", choices=HIDDEN_VISIBILITIES,
                        help="when students see the hidden tests' results (default at build: hidden)")
    parser.add_argument("--timeout", type=float, help="wall-clock seconds for one submission")
    args = parser.parse_args(argv)
    print(json.dumps(configure(args.bundle, hidden_visibility=args.hidden_visibility, timeout=args.timeout)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
