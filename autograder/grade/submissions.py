"""Find submission files, read the notebook out of each, and decide which assignment it is for.

Every file found here becomes exactly one gradebook row, whatever it holds: the functions
below never raise for a bad submission, they return the reason it cannot be graded.

- ``discover`` walks the folders without following symbolic links: a link named like a
  submission gets a row that refuses it (it could point at the master notebook or at a
  classmate's file); files skipped on purpose (hidden ones, other suffixes, links with other
  names) are counted, not lost silently. Each submission gets a short, safe, unique stem for
  its feedback file.
- ``load`` runs in a grading thread, not the main one, and is bounded: the file's size, the zip's
  member count and decompressed size, the notebook's cells and source lines, and the time spent
  (``ReadLimits``). Over a limit, the submission is ``invalid`` with a reason a person can read.
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SUBMISSION_SUFFIXES = (".ipynb", ".zip")
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # larger notebooks (or zip members) are refused, not read
FEEDBACK_STEM_CHARS = 80


@dataclass(frozen=True)
class ReadLimits:
    """What reading one submission may cost (an honest notebook is far below every one)."""
    notebook_bytes: int = MAX_NOTEBOOK_BYTES   # the notebook, in the file or in the zip
    zip_bytes: int = 5 * MAX_NOTEBOOK_BYTES    # an export zip (it may hold a PDF too)
    zip_members: int = 1000                    # files in an export zip
    cells: int = 5000                          # cells of the notebook (honest ones: under 200)
    source_lines: int = 50_000                 # lines of code over all cells
    seconds: float = 10.0                      # reading, unzipping and parsing together


@dataclass
class Submission:
    path: Path  # the file on disk
    file: str  # how the gradebook names it (path relative to the working directory)
    feedback_name: str  # unique file stem for its feedback file
    root: Path | None = None  # the folder argument it was found under, if any
    missing: bool = False
    refused: str | None = None  # why it is not read at all (a symbolic link), if so


@dataclass
class LoadedSubmission:
    sha256: str
    notebook_bytes: bytes | None  # the notebook to grade, or None when it cannot be graded
    declared_assignment: str | None  # Otter's nb.metadata.otter.assignment_name
    status: str | None = None  # "invalid" when it cannot be graded
    reason: str = ""


class Unreadable(Exception):
    """The submission cannot be graded; the message says why (status ``invalid``)."""


def _skipped_dir(part: str) -> bool:
    return part.startswith(".") or part in ("__MACOSX", "__pycache__")


def _display(path: Path) -> str:
    """The path as the gradebook shows it: relative to the working directory when below it
    (never resolving links), else absolute. The gradebook makes it safe to show."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        rel = absolute
    return Path(rel).as_posix() if not rel.startswith("..") else Path(absolute).as_posix()


def discover(paths: list[str | os.PathLike], skipped: Counter | None = None) -> list[Submission]:
    """Submission files named by ``paths``: files as given (any name), and every ``.ipynb`` or
    ``.zip`` under a folder (recursively, skipping hidden folders such as .ipynb_checkpoints).
    A path that does not exist becomes a ``missing`` submission, so it still gets its row; a
    symbolic link named like a submission (or given as a path) becomes a ``refused`` one.
    ``skipped`` (if given) counts what was left out on purpose, by reason."""
    skipped = skipped if skipped is not None else Counter()
    found: list[Submission] = []
    seen: set[str] = set()

    def add(path: Path, stem: str, root: Path | None, **kw):
        key = os.path.abspath(path)  # the same path named twice: one row (links are never resolved)
        if key not in seen:
            seen.add(key)
            found.append(Submission(path, _display(path), stem, root=root, **kw))

    def walk(folder: Path, root: Path, rel: tuple[str, ...]):
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            add(folder, "__".join(rel) or folder.name, root,
                refused=f"cannot list this folder ({exc.strerror or exc})")
            return
        for entry in entries:
            path = Path(entry.path)
            parts = (*rel, entry.name)
            try:
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            except OSError:
                is_link = is_dir = False
            if _skipped_dir(entry.name) if is_dir else entry.name.startswith("."):
                skipped["hidden files and folders"] += 1
                continue
            if is_dir:
                walk(path, root, parts)
                continue
            if path.suffix.lower() not in SUBMISSION_SUFFIXES:
                skipped["symbolic links (not followed)" if is_link else "files with other suffixes"] += 1
                continue
            stem = "__".join((*rel, path.stem))
            add(path, stem, root, refused=_link_refusal(path) if is_link else None)

    for raw in paths:
        p = Path(raw)
        try:
            mode = os.lstat(p).st_mode
        except OSError:
            add(p, p.stem, None, missing=True)
            continue
        if stat.S_ISLNK(mode):
            add(p, p.stem, None, refused=_link_refusal(p))
        elif stat.S_ISDIR(mode):
            walk(p, p, ())
        else:
            add(p, p.stem, None)
    _unique_feedback_names(found)
    return found


def _link_refusal(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return (f"a symbolic link (to {target}), refused: links are never followed, since one could point "
            f"at a master notebook or a classmate's file; submit the file itself")


def _unique_feedback_names(found: list[Submission]) -> None:
    """Short, safe (ASCII letters, digits, ``._-``, not hidden) and unique stems, case-insensitively:
    ``a.ipynb``, ``a-2.ipynb`` and ``a.zip`` in one folder get ``a``, ``a-2`` and ``a-3``."""
    used: set[str] = set()
    for s in found:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", s.feedback_name).lstrip(".-")[:FEEDBACK_STEM_CHARS] or "submission"
        name, n = base, 1
        while name.lower() in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name.lower())
        s.feedback_name = name


# ------------------------------------------------------------------ reading one submission

def _check_time(deadline: float, limits: ReadLimits) -> None:
    if time.monotonic() > deadline:
        raise Unreadable(f"reading the submission took longer than {limits.seconds:g} s")


def _read_file(path: Path, limit: int) -> bytes:
    """The file's bytes, opened without following a link and without blocking on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Unreadable(_link_refusal(path)) from None
        raise Unreadable(f"cannot read the file ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else
                    "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "not a regular file")
            raise Unreadable(f"not a notebook: {kind}, not a regular file")
        size = os.fstat(fd).st_size
        if size > limit:
            raise Unreadable(f"file too large to grade ({size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB)")
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise Unreadable(f"cannot read the file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise Unreadable(f"file too large to grade (over {limit / 1e6:.0f} MB)")
    return data


def _zip_member_count(data: bytes) -> int | None:
    """Members an archive declares in its end record, read before the central directory is parsed."""
    try:
        end = zipfile._EndRecData(io.BytesIO(data))  # stable since Python 2; a cheap, bounded read
        return None if end is None else int(end[zipfile._ECD_ENTRIES_TOTAL])
    except Exception:
        return None


def _notebook_from_zip(data: bytes, limits: ReadLimits = ReadLimits()) -> tuple[bytes | None, str]:
    """The notebook inside an Otter export zip, the way ``otter run`` picks it: the single
    top-level ``.ipynb`` (falling back to a single one in a subfolder)."""
    count = _zip_member_count(data)
    if count is not None and count > limits.zip_members:
        return None, f"the zip holds {count:,} files (more than {limits.zip_members:,}); submit the notebook"
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except Exception as exc:  # BadZipFile, bad member names (UnicodeDecodeError), truncated records
        return None, f"not a valid zip file ({type(exc).__name__}: {str(exc)[:200]})"
    if len(infos) > limits.zip_members:
        return None, f"the zip holds {len(infos):,} files (more than {limits.zip_members:,}); submit the notebook"
    notebooks = [i for i in infos if i.filename.lower().endswith(".ipynb")
                 and not any(_skipped_dir(part) for part in PurePosixPath(i.filename).parts[:-1])
                 and not PurePosixPath(i.filename).name.startswith(".")]
    top = [i for i in notebooks if "/" not in i.filename.strip("/")]
    chosen = top or notebooks
    if not chosen:
        return None, "the zip holds no notebook (.ipynb); export it with grader.export() or submit the .ipynb"
    if len(chosen) > 1:
        names = ", ".join(i.filename for i in chosen[:5]) + (f" and {len(chosen) - 5} more" if len(chosen) > 5 else "")
        return None, "the zip holds more than one notebook: " + names
    info = chosen[0]
    if info.file_size > limits.notebook_bytes:
        return None, f"the notebook in the zip is too large ({info.file_size / 1e6:.0f} MB)"
    try:
        with zf.open(info) as fh:
            content = fh.read(limits.notebook_bytes + 1)  # bounded whatever the header claims
    except Exception as exc:  # corrupt member, bad CRC, encrypted, unsupported compression
        return None, f"cannot read {info.filename} from the zip ({type(exc).__name__}: {str(exc)[:200]})"
    if len(content) > limits.notebook_bytes:
        return None, (f"the notebook in the zip is too large: it expands to more than "
                      f"{limits.notebook_bytes / 1e6:.0f} MB")
    return content, ""


NOT_UTF8 = "the file is not UTF-8 text"


def notebook_json(notebook: bytes) -> tuple[str, object]:
    """(text, parsed JSON) of a notebook file's bytes (a UTF-8 byte-order mark allowed). Raises
    ValueError saying why they are not: ``NOT_UTF8``, or where the JSON breaks."""
    try:
        text = notebook.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(NOT_UTF8) from None
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # nesting too deep, a number too long to convert
        raise ValueError(f"JSON the grader cannot read ({type(exc).__name__})") from None


def parse_notebook(notebook: bytes, limits: ReadLimits = ReadLimits(),
                   deadline: float | None = None) -> str | None:
    """Check ``notebook`` is a Jupyter notebook within ``limits``; return the assignment name its
    Otter metadata declares (or None). Raises ``Unreadable`` saying what is wrong. Checks the
    structure the grader relies on, at a cost bounded by the limits (no schema validation)."""
    deadline = deadline if deadline is not None else time.monotonic() + limits.seconds
    try:
        _, raw = notebook_json(notebook)
    except ValueError as exc:
        raise Unreadable(f"not a notebook: {exc}") from None
    _check_time(deadline, limits)
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise Unreadable("not a Jupyter notebook: no list of cells")
    cells = raw["cells"]
    if len(cells) > limits.cells:
        raise Unreadable(f"the notebook has {len(cells):,} cells, more than the {limits.cells:,} the grader reads")
    lines = 0
    for n, cell in enumerate(cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise Unreadable(f"not a Jupyter notebook: cell {n + 1} has no cell type")
        source = cell.get("source", "")
        if isinstance(source, list):
            if not all(isinstance(part, str) for part in source):
                raise Unreadable(f"not a Jupyter notebook: the source of cell {n + 1} is not text")
            source = "".join(source)
        elif not isinstance(source, str):
            raise Unreadable(f"not a Jupyter notebook: the source of cell {n + 1} is not text")
        if cell["cell_type"] == "code":
            lines += source.count("\n") + 1
            if lines > limits.source_lines:
                raise Unreadable(f"the notebook has more than {limits.source_lines:,} lines of code")
        if n % 256 == 0:
            _check_time(deadline, limits)
    meta = raw.get("metadata")
    otter = meta.get("otter") if isinstance(meta, dict) else None
    declared = otter.get("assignment_name") if isinstance(otter, dict) else None
    return declared if isinstance(declared, str) and 0 < len(declared) <= 100 else None


def load(sub: Submission, limits: ReadLimits = ReadLimits()) -> LoadedSubmission:
    """Read a submission file within ``limits``; never raises for bad content."""
    if sub.missing:
        return LoadedSubmission("", None, None, "invalid", f"no such file or folder: {sub.file}")
    if sub.refused:
        return LoadedSubmission("", None, None, "invalid", sub.refused)
    deadline = time.monotonic() + limits.seconds
    sha = ""
    try:
        is_zip = sub.path.suffix.lower() == ".zip"
        data = _read_file(sub.path, limits.zip_bytes if is_zip else limits.notebook_bytes)
        sha = hashlib.sha256(data).hexdigest()
        if not data.strip():
            raise Unreadable("the file is empty")
        notebook = data
        if data[:4] == b"PK\x03\x04" or is_zip:
            notebook, problem = _notebook_from_zip(data, limits)
            if notebook is None:
                raise Unreadable(problem)
            if not notebook.strip():
                raise Unreadable("the notebook in the zip is empty")
        _check_time(deadline, limits)
        declared = parse_notebook(notebook, limits, deadline)
    except Unreadable as exc:
        return LoadedSubmission(sha, None, None, "invalid", str(exc))
    except MemoryError:
        return LoadedSubmission(sha, None, None, "invalid", "the grader ran out of memory reading this file")
    return LoadedSubmission(sha, notebook, declared)


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
            folders = (Path(os.path.abspath(sub.root)).name, *sub.path.relative_to(sub.root).parts[:-1])
        else:
            folders = (Path(os.path.abspath(sub.path)).parent.name,)
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
