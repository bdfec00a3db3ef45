"""Find submission files, read the notebook out of each, and decide which assignment it is for.

Every file found here becomes exactly one gradebook row, whatever it holds: the functions
below never raise for a bad submission, they return the reason it cannot be graded.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import nbformat

SUBMISSION_SUFFIXES = (".ipynb", ".zip")
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # larger notebooks (or zip members) are refused, not read


@dataclass
class Submission:
    path: Path  # the file on disk
    file: str  # how the gradebook names it (path relative to the working directory)
    feedback_name: str  # unique file stem for its feedback file
    root: Path | None = None  # the folder argument it was found under, if any
    missing: bool = False


@dataclass
class LoadedSubmission:
    sha256: str
    notebook_bytes: bytes | None  # the notebook to grade, or None when it cannot be graded
    declared_assignment: str | None  # Otter's nb.metadata.otter.assignment_name
    status: str | None = None  # "invalid" when it cannot be graded
    reason: str = ""


def _skipped_dir(part: str) -> bool:
    return part.startswith(".") or part in ("__MACOSX", "__pycache__")


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        rel = str(path)
    return Path(rel).as_posix() if not rel.startswith("..") else path.resolve().as_posix()


def discover(paths: list[str | os.PathLike]) -> list[Submission]:
    """Submission files named by ``paths``: files as given (any name), and every ``.ipynb`` or
    ``.zip`` under a folder (recursively, skipping hidden folders such as .ipynb_checkpoints).
    A path that does not exist becomes a ``missing`` submission, so it still gets its row."""
    found: list[Submission] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if (f.is_file() and f.suffix.lower() in SUBMISSION_SUFFIXES
                        and not any(_skipped_dir(part) for part in rel.parts[:-1])
                        and not rel.name.startswith(".")):
                    key = f.resolve()
                    if key not in seen:
                        seen.add(key)
                        stem = "__".join(rel.with_suffix("").parts)
                        found.append(Submission(f, _display(f), stem, root=p))
        elif p.exists():
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                found.append(Submission(p, _display(p), p.stem))
        else:
            found.append(Submission(p, _display(p), p.stem, missing=True))
    # feedback file names must be unique within one output folder
    used: dict[str, int] = {}
    for s in found:
        base = re.sub(r"[^\w.-]+", "_", s.feedback_name) or "submission"
        n = used.get(base.lower(), 0) + 1
        used[base.lower()] = n
        s.feedback_name = base if n == 1 else f"{base}-{n}"
    return found


def _notebook_from_zip(data: bytes) -> tuple[bytes | None, str]:
    """The notebook inside an Otter export zip, the way ``otter run`` picks it: the single
    top-level ``.ipynb`` (falling back to a single one in a subfolder)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return None, f"not a valid zip file ({exc})"
    notebooks = [i for i in infos if i.filename.lower().endswith(".ipynb")
                 and not any(_skipped_dir(part) for part in PurePosixPath(i.filename).parts[:-1])]
    top = [i for i in notebooks if "/" not in i.filename.strip("/")]
    chosen = top or notebooks
    if not chosen:
        return None, "the zip holds no notebook (.ipynb); export it with grader.export() or submit the .ipynb"
    if len(chosen) > 1:
        return None, "the zip holds more than one notebook: " + ", ".join(i.filename for i in chosen)
    info = chosen[0]
    if info.file_size > MAX_NOTEBOOK_BYTES:
        return None, f"the notebook in the zip is too large ({info.file_size / 1e6:.0f} MB)"
    try:
        with zf.open(info) as fh:
            content = fh.read(MAX_NOTEBOOK_BYTES + 1)
    except Exception as exc:  # corrupt member, bad CRC, unsupported compression
        return None, f"cannot read {info.filename} from the zip ({type(exc).__name__}: {exc})"
    if len(content) > MAX_NOTEBOOK_BYTES:
        return None, "the notebook in the zip is too large"
    return content, ""


def load(sub: Submission) -> LoadedSubmission:
    """Read a submission file; never raises for bad content."""
    if sub.missing:
        return LoadedSubmission("", None, None, "invalid", f"no such file or folder: {sub.file}")
    try:
        size = sub.path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES * (5 if sub.path.suffix.lower() == ".zip" else 1):
            return LoadedSubmission("", None, None, "invalid", f"file too large to grade ({size / 1e6:.0f} MB)")
        data = sub.path.read_bytes()
    except OSError as exc:
        return LoadedSubmission("", None, None, "invalid", f"cannot read the file ({exc.strerror or exc})")
    sha = hashlib.sha256(data).hexdigest()
    if not data.strip():
        return LoadedSubmission(sha, None, None, "invalid", "the file is empty")
    notebook = data
    if data[:4] == b"PK\x03\x04" or sub.path.suffix.lower() == ".zip":
        notebook, problem = _notebook_from_zip(data)
        if notebook is None:
            return LoadedSubmission(sha, None, None, "invalid", problem)
        if not notebook.strip():
            return LoadedSubmission(sha, None, None, "invalid", "the notebook in the zip is empty")
    try:
        text = notebook.decode("utf-8-sig")
        raw = json.loads(text)
    except UnicodeDecodeError:
        return LoadedSubmission(sha, None, None, "invalid", "not a notebook: the file is not UTF-8 text")
    except json.JSONDecodeError as exc:
        return LoadedSubmission(sha, None, None, "invalid",
                                f"not a notebook: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})")
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return LoadedSubmission(sha, None, None, "invalid", "not a Jupyter notebook: no list of cells")
    try:
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    except Exception as exc:
        return LoadedSubmission(sha, None, None, "invalid", f"not a Jupyter notebook ({type(exc).__name__}: {exc})")
    meta = nb.get("metadata", {}) if isinstance(nb.get("metadata", {}), dict) else {}
    otter_meta = meta.get("otter", {}) if isinstance(meta.get("otter", {}), dict) else {}
    declared = otter_meta.get("assignment_name")
    return LoadedSubmission(sha, notebook, declared if isinstance(declared, str) else None)


def choose_assignment(sub: Submission, declared: str | None, known: list[str],
                      forced: str | None = None) -> tuple[str | None, str | None, str]:
    """Which assignment to grade ``sub`` as: (name, status if it cannot be graded, reason).

    ``--assignment`` wins; else a folder on the submission's path named like an assignment
    (instructors sort submissions by assignment); else the notebook's Otter metadata; else an
    assignment name inside the file name. A notebook whose metadata names a different
    assignment than the one expected is ``wrong-assignment``.
    """
    known_sorted = sorted(known, key=len, reverse=True)
    expected = forced
    if expected is None:
        if sub.root is not None:
            folders = (sub.root.resolve().name, *sub.path.relative_to(sub.root).parts[:-1])
        else:
            folders = (sub.path.resolve().parent.name,)
        for part in reversed(folders):
            if part in known:
                expected = part
                break
    if expected is not None:
        if expected not in known:
            return None, "error", f"assignment '{expected}' is not built (known: {', '.join(sorted(known)) or 'none'})"
        if declared and declared != expected:
            return expected, "wrong-assignment", (
                f"this notebook is for assignment '{declared}', not '{expected}'; "
                f"download the {expected} notebook and submit that")
        return expected, None, ""
    if declared:
        if declared in known:
            return declared, None, ""
        return None, "wrong-assignment", (
            f"this notebook is for assignment '{declared}', which is not one of ours "
            f"({', '.join(sorted(known))})")
    name = sub.path.name.lower()
    for candidate in known_sorted:
        if candidate.lower() in name:
            return candidate, None, ""
    return None, "invalid", ("cannot tell which assignment this notebook is for (no Otter metadata, "
                             "no assignment name in the file name); grade it with --assignment NAME")
