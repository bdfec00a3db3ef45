"""Who handed in each submission file, and when: the roster, the mapping file, and the names and
metadata that LMS exports carry.

    roster = read_roster("roster.csv")                 # id, name, email (+ Canvas columns)
    mapping = read_mapping("map.csv")                  # file, student_id[, submitted_at]
    who = Identifier(roster, mapping, roots=["submissions/"]).identify(Path(file))

A file is matched by the first of these that names a student:

1. the mapping file (``--mapping``), by path or, when unique, by file name;
2. a Gradescope export: ``submission_metadata.yml`` in a folder above the file, keyed by the
   ``submission_<id>`` folder the file is in (``:submitters:`` with ``:sid:``, ``:name:``,
   ``:email:``; ``:created_at:`` is the submission time; a group counts for every member);
3. a Canvas bulk download name, ``<name>_[LATE_]<user id>_<submission id>_<file>`` (the user id
   against the roster's Canvas id or id, else the name against the roster's names);
4. a roster id or email in the file name or its folders under the graded path (``s123_hw.zip``,
   ``submissions/s123/hw.ipynb``), or in the notebook's metadata (``student_id``, ``sid`` or
   ``email``, at the top or under ``otter``);

and the submission time is the Gradescope ``:created_at:``, the mapping's ``submitted_at``, the
timestamp of an Otter export name (``<notebook>_<YYYY_MM_DDTHH_MM_SS_ffffff>.zip``, also read
from the ``__zip_filename__`` Otter writes into the zip) or else the file's modification time.
Without a roster, students are known only by what these sources say (a Gradescope submitter, a
Canvas user id, a mapping's student id). Readers here raise ``RosterError`` (file and line in the
message) for a roster or mapping that cannot be used; they never raise for a submission file.
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from autograder.grade.model import Student

MAX_METADATA_BYTES = 20 * 1024 * 1024  # notebooks larger than this are not read for metadata
GRADESCOPE_METADATA = "submission_metadata.yml"
CANVAS_NAME = re.compile(r"^(?P<name>[A-Za-z0-9]+?)_(?P<late>LATE_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
OTTER_STAMP = re.compile(r"_?(?P<stamp>\d{4}_\d{2}_\d{2}T\d{2}_\d{2}_\d{2}(?:_\d{1,6})?)")
TEST_STUDENTS = {"student, test", "test student"}  # Canvas's built-in test student


class RosterError(ValueError):
    """A roster or mapping file that cannot be used; the message names the file (and line)."""


# ---------------------------------------------------------------------------------------------
# reading CSV files people make by hand, in Excel, or export from an LMS

def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", str(text).replace("\ufeff", "")).strip().lower()


def _read_table(path: Path) -> list[list[str]]:
    """Rows of a CSV (comma, semicolon or tab; UTF-8 with or without BOM, or Windows-1252)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RosterError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # cp1252 leaves five bytes undefined
        text = data.decode("latin-1")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count) if first else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [[cell.strip() for cell in row] for row in rows]


ROSTER_COLUMNS = {  # field -> accepted headers (compared after _header_key)
    "id": ("id", "student id", "studentid", "sid", "student number", "student no", "matriculation number",
           "sis user id", "user id", "username", "uni"),
    "name": ("name", "student name", "full name", "student", "display name", "sortable name"),
    "first": ("first name", "given name", "first", "forename"),
    "last": ("last name", "family name", "surname", "last"),
    "email": ("email", "e mail", "email address", "e mail address", "mail"),
    "canvas_id": ("canvas id", "canvas user id"),
    "login": ("sis login id", "login id", "login"),
    "section": ("section", "sections"),
}
CANVAS_ASSIGNMENT_COLUMN = re.compile(r"^(?P<name>.*\S)\s*\((?P<id>\d+)\)$")


@dataclass
class Roster:
    students: list[Student]
    source: str = ""
    # assignment column headers of a Canvas gradebook export used as the roster: "Name (id)"
    canvas_columns: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._by_id = {s.id.lower(): s for s in self.students}
        self._by_canvas = {s.canvas_id: s for s in self.students if s.canvas_id}
        self._by_email = {s.email.lower(): s for s in self.students if s.email}
        keys: dict[str, list[Student]] = {}
        for s in self.students:
            for key in name_keys(s.name):
                keys.setdefault(key, []).append(s)
        self._by_name_key = {k: v[0] for k, v in keys.items() if len(v) == 1}

    def __len__(self):
        return len(self.students)

    def find(self, key: str) -> Student | None:
        """The student whose id, email or Canvas id is ``key``."""
        key = str(key).strip()
        return self._by_id.get(key.lower()) or self._by_email.get(key.lower()) or self._by_canvas.get(key)

    def by_canvas_user(self, user_id: str, name_key: str) -> Student | None:
        return (self._by_canvas.get(user_id) or self._by_id.get(user_id.lower())
                or self._by_name_key.get(name_key.lower()))

    def in_text(self, tokens: set[str], text: str) -> list[Student]:
        """Students whose id is one of ``tokens`` or whose email occurs in ``text`` (lowercase)."""
        found = {s.id: s for t in tokens if (s := self._by_id.get(t))}
        found.update({s.id: s for e, s in self._by_email.items() if e in text})
        return list(found.values())


def name_keys(name: str) -> set[str]:
    """How Canvas writes a name into file names: lowercase letters and digits of the sortable
    name ("Doe, Jane" -> "doejane"); both orders, since a roster may say "Jane Doe"."""
    name = str(name).strip()
    if not name:
        return set()
    if "," in name:
        last, _, first = name.partition(",")
        parts = [last, first]
    else:
        words = name.split()
        parts = [words[-1], " ".join(words[:-1])] if len(words) > 1 else words
    squash = lambda text: re.sub(r"[^0-9a-z]", "", text.lower())  # noqa: E731
    return {squash("".join(parts)), squash("".join(reversed(parts)))} - {""}


def read_roster(path) -> Roster:
    """Read a roster: one row per student with an id, and a name and email when known.

    Headers are matched loosely (``Student ID``, ``SID``, ``E-mail``, ``First name`` +
    ``Last name``, ...); a Canvas gradebook export works as it is (``Student``, ``ID`` = Canvas id,
    ``SIS User ID`` = id, ``SIS Login ID``, ``Section``; its ``Points Possible`` row and the test
    student are skipped, and its assignment columns are remembered for the Canvas export)."""
    path = Path(path)
    rows = _read_table(path)
    header_at = next((i for i, row in enumerate(rows) if any(row)), None)
    if header_at is None:
        raise RosterError(f"{path}: the roster is empty")
    header = [_header_key(h) for h in rows[header_at]]
    columns: dict[str, int] = {}
    for name, accepted in ROSTER_COLUMNS.items():
        for i, h in enumerate(header):
            if h in accepted and i not in columns.values():
                columns[name] = i
                break
    if "sis user id" in header:  # a Canvas export: "ID" is Canvas's own id, "SIS User ID" the student's
        columns["id"] = header.index("sis user id")
        if "id" in header:
            columns["canvas_id"] = header.index("id")
    if "id" not in columns:
        raise RosterError(f"{path}:{header_at + 1}: no student id column (found: {', '.join(rows[header_at])}); "
                          f"name it id, student id, sid or SIS User ID")
    canvas_columns = [h for h in rows[header_at] if CANVAS_ASSIGNMENT_COLUMN.match(h)]
    cell = lambda row, key: row[columns[key]] if key in columns and columns[key] < len(row) else ""  # noqa: E731
    students, seen = [], {}
    for line, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        if not any(row):
            continue
        name = cell(row, "name") or " ".join(p for p in (cell(row, "first"), cell(row, "last")) if p)
        sid = cell(row, "id") or cell(row, "canvas_id")
        if not sid:
            if name.strip().lower() in ("points possible", "manual posting", "muted") or name.lower() in TEST_STUDENTS:
                continue
            raise RosterError(f"{path}:{line}: no student id for {name or 'this row'!r}")
        if name.lower() in TEST_STUDENTS and not cell(row, "id"):
            continue
        if sid.lower() in seen:
            raise RosterError(f"{path}:{line}: student id {sid!r} already on line {seen[sid.lower()]}")
        seen[sid.lower()] = line
        students.append(Student(id=sid, name=name, email=cell(row, "email"), canvas_id=cell(row, "canvas_id"),
                                login=cell(row, "login"), section=cell(row, "section")))
    if not students:
        raise RosterError(f"{path}: the roster lists no students")
    return Roster(students, str(path), canvas_columns)


# ---------------------------------------------------------------------------------------------
# the mapping file

@dataclass(frozen=True)
class MappingEntry:
    file: str
    student: str
    submitted_at: datetime | None
    line: int


@dataclass
class Mapping:
    entries: list[MappingEntry]
    source: str = ""
    base: Path = Path(".")

    def __post_init__(self):
        self._by_path = {}
        by_name: dict[str, list[MappingEntry]] = {}
        for e in self.entries:
            for candidate in (self.base / e.file, Path(e.file)):
                try:
                    self._by_path.setdefault(candidate.resolve(), e)
                except OSError:
                    pass
            by_name.setdefault(PurePosixPath(e.file.replace("\\", "/")).name.lower(), []).append(e)
        self._by_name = {k: v[0] for k, v in by_name.items() if len(v) == 1}

    def find(self, path: Path) -> MappingEntry | None:
        try:
            entry = self._by_path.get(path.resolve())
        except OSError:
            entry = None
        return entry or self._by_name.get(path.name.lower())


MAPPING_COLUMNS = {
    "file": ("file", "filename", "file name", "path", "submission", "submission file", "notebook"),
    "student": ("student id", "student", "id", "sid", "email", "student email", "studentid"),
    "submitted_at": ("submitted at", "submitted", "submission time", "time", "timestamp", "date"),
}


def read_mapping(path) -> Mapping:
    """Read ``file,student_id[,submitted_at]`` rows (a header row is optional). ``file`` is a path
    relative to the mapping file's folder or the working folder, or just the file's name; the
    student is a roster id or email."""
    path = Path(path)
    rows = [row for row in _read_table(path) if any(row)]
    if not rows:
        raise RosterError(f"{path}: the mapping file is empty")
    header = [_header_key(h) for h in rows[0]]
    columns = {}
    for name, accepted in MAPPING_COLUMNS.items():
        for i, h in enumerate(header):
            if h in accepted and i not in columns.values():
                columns[name] = i
                break
    if "file" in columns and "student" in columns:
        body, first_line = rows[1:], 2
    else:
        columns, body, first_line = {"file": 0, "student": 1, "submitted_at": 2}, rows, 1
    entries = []
    for line, row in enumerate(body, start=first_line):
        get = lambda key: row[columns[key]] if key in columns and columns[key] < len(row) else ""  # noqa: E731
        if not get("file") or not get("student"):
            raise RosterError(f"{path}:{line}: expected file,student_id; got {','.join(row)!r}")
        when = None
        if get("submitted_at"):
            try:
                when = parse_time(get("submitted_at"))
            except ValueError as exc:
                raise RosterError(f"{path}:{line}: {exc}") from None
        entries.append(MappingEntry(get("file"), get("student"), when, line))
    return Mapping(entries, str(path), path.parent)


# ---------------------------------------------------------------------------------------------
# times

def parse_time(text: str, *, assume_utc: bool = False) -> datetime:
    """An aware datetime from ISO 8601 or the forms exports write (``2026-12-01 23:59:05.123456000
    -08:00``, ``... Z``); without an offset, the grading machine's local time (or UTC)."""
    raw = str(text).strip()
    s = re.sub(r"^(\d{4}-\d{2}-\d{2})[ T]", r"\1T", raw)
    s = re.sub(r"(\.\d{6})\d+", r"\1", s)  # nanoseconds -> microseconds
    s = re.sub(r"\s*(Z|UTC|[+-]\d{2}:?\d{2})$", r"\1", s)
    s = re.sub(r"(Z|UTC)$", "+00:00", s)
    try:
        when = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"not a date and time: {raw!r} (use e.g. 2026-12-01T23:59 or 2026-12-01 23:59:00 -08:00)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc) if assume_utc else when.astimezone()
    return when


def otter_timestamp(name: str) -> datetime | None:
    """The time in an Otter export name ``<notebook>_%Y_%m_%dT%H_%M_%S_%f.zip`` (local time)."""
    match = None
    for match in OTTER_STAMP.finditer(name):
        pass
    if match is None:
        return None
    parts = match.group("stamp").replace("T", "_").split("_")
    try:
        micro = int(parts[6].ljust(6, "0")) if len(parts) > 6 else 0
        return datetime(*map(int, parts[:6]), micro).astimezone()
    except (ValueError, OverflowError):
        return None


def file_time(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).astimezone()
    except (OSError, ValueError, OverflowError):
        return None


# ---------------------------------------------------------------------------------------------
# identifying a file

@dataclass
class Identity:
    """Who handed in one file, how we know, and when it was handed in."""
    students: list[Student] = field(default_factory=list)
    matched_by: str | None = None
    submitted_at: datetime | None = None
    time_source: str | None = None
    canvas_late: bool | None = None  # Canvas's LATE marker (None: not a Canvas file)
    problem: str = ""  # why no student, when there is none


class _GradescopeExport:
    """One ``submission_metadata.yml``: submission folder -> (submitters, created_at)."""

    def __init__(self, path: Path):
        import yaml

        class Loader(yaml.SafeLoader):  # timestamps stay text: parse_time reads them with their offset
            pass
        Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))
        self.path = path
        self.problem = ""
        self.submissions: dict[str, dict] = {}
        try:
            data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=Loader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            self.problem = f"cannot read {path} ({type(exc).__name__}: {exc})"
            return
        if isinstance(data, dict):
            self.submissions = {str(k): v for k, v in data.items() if isinstance(v, dict)}

    @staticmethod
    def field(record: dict, name: str):
        return record.get(f":{name}", record.get(name))  # Ruby symbol keys, or plain ones

    def submitters(self, record: dict) -> list[Student]:
        out = []
        for person in self.field(record, "submitters") or []:
            if isinstance(person, dict):
                sid, email = str(self.field(person, "sid") or ""), str(self.field(person, "email") or "")
                out.append(Student(id=sid or email, name=str(self.field(person, "name") or ""), email=email))
        return out


class Identifier:
    """Matches submission files to students (see the module docstring for the order)."""

    def __init__(self, roster: Roster | None = None, mapping: Mapping | None = None, roots=()):
        self.roster = roster
        self.mapping = mapping
        self.roots = [Path(r).resolve() for r in roots if Path(r).is_dir()]
        self._exports: dict[Path, _GradescopeExport | None] = {}

    # -- helpers
    def _known(self, found: list[Student], source: str) -> tuple[list[Student], str]:
        """Roster entries for students an export names; without a roster, the export's own data."""
        if self.roster is None:
            return [s for s in found if s.id], ""
        known, unknown = [], []
        for s in found:
            hit = self.roster.find(s.id) or (self.roster.find(s.email) if s.email else None)
            (known if hit else unknown).append(hit or s)
        if unknown and not known:
            who = ", ".join(f"{s.name} ({s.id})" if s.name else s.id for s in unknown)
            return [], f"{source} names {who}, who is not on the roster"
        return known, ""

    def _gradescope(self, path: Path) -> tuple[_GradescopeExport, dict] | None:
        """The record of the export folder above ``path``. The topmost ``submission_metadata.yml``
        is the export's own: one a student uploaded lies inside their submission folder, below it."""
        found = None
        for folder in path.resolve().parents:
            if folder not in self._exports:
                meta = folder / GRADESCOPE_METADATA
                self._exports[folder] = _GradescopeExport(meta) if meta.is_file() else None
            if self._exports[folder] is not None:
                found = folder
        if found is None:
            return None
        export = self._exports[found]
        record = export.submissions.get(path.resolve().relative_to(found).parts[0])
        return (export, record) if record is not None else None

    def _relative_parts(self, path: Path) -> list[str]:
        resolved = path.resolve()
        for root in self.roots:
            if resolved.is_relative_to(root):
                return list(resolved.relative_to(root).parts)
        return [path.name]

    # -- the sources, in order
    def identify(self, path: Path) -> Identity:
        path = Path(path)
        who = Identity()
        entry = self.mapping.find(path) if self.mapping else None
        if entry is not None:
            student = self.roster.find(entry.student) if self.roster else Student(id=entry.student)
            if student is None:
                return Identity(problem=f"{self.mapping.source}:{entry.line} names {entry.student!r}, "
                                        f"who is not on the roster")
            who = Identity([student], "mapping")
            if entry.submitted_at:
                who.submitted_at, who.time_source = entry.submitted_at, "mapping file"
        if not who.students:
            found = self._gradescope(path)
            if found is not None:
                export, record = found
                students, problem = self._known(export.submitters(record), f"{export.path.name}")
                if problem:
                    return Identity(problem=problem)
                who = Identity(students, "gradescope")
                created = export.field(record, "created_at")
                if created:
                    try:
                        who.submitted_at, who.time_source = parse_time(str(created), assume_utc=True), "Gradescope"
                    except ValueError:
                        pass
        canvas = CANVAS_NAME.match(path.name)
        if canvas and OTTER_STAMP.search(path.name[:canvas.start("file")]):
            canvas = None  # "hw1_2026_12_01T..." is an Otter export name, not a Canvas one
        problem = ""
        if canvas:
            who.canvas_late = bool(canvas.group("late"))
            if not who.students:
                uid, key = canvas.group("user"), canvas.group("name")
                if self.roster is None:
                    who.students, who.matched_by = [Student(id=uid, name=key, canvas_id=uid)], "canvas"
                elif (hit := self.roster.by_canvas_user(uid, key)) is not None:
                    who.students, who.matched_by = [hit], "canvas"
                else:
                    problem = f"Canvas user {uid} ({key}) is not on the roster"
        if not who.students and self.roster is not None:
            parts = self._relative_parts(path)
            text = "/".join(parts).lower()
            stemless = OTTER_STAMP.sub("", "/".join(parts[:-1] + [Path(parts[-1]).stem]))
            tokens = {t.lower() for t in re.split(r"[^0-9A-Za-z]+", stemless) if t}
            hits = self.roster.in_text(tokens, text)
            if len(hits) > 1:
                return Identity(problem="the file name names several students: " + ", ".join(s.id for s in hits))
            if hits:
                who.students, who.matched_by = hits, "file name"
        inside = _zip_inside(path) if path.suffix.lower() == ".zip" else None
        if not who.students:
            meta_ids = _notebook_student(path, inside)
            if meta_ids:
                if self.roster is None:
                    who.students = [Student(id=meta_ids[0])]
                else:
                    hits = [s for i in meta_ids if (s := self.roster.find(i))]
                    if not hits:
                        return Identity(problem=f"the notebook's metadata names {meta_ids[0]!r}, who is not on the roster")
                    who.students = hits[:1]
                who.matched_by = "notebook metadata"
        if not who.students:
            return Identity(canvas_late=who.canvas_late, problem=problem or (
                "no student found: not in the mapping file, no Gradescope metadata, not a Canvas download "
                "name, and no roster id or email in its name or notebook metadata"))
        if who.submitted_at is None:
            stamp = otter_timestamp(path.name) or (otter_timestamp(inside["zip_filename"]) if inside else None)
            if stamp is not None:
                who.submitted_at, who.time_source = stamp, "Otter export name"
            elif (mtime := file_time(path)) is not None:
                who.submitted_at, who.time_source = mtime, "file time"
        return who


def _zip_inside(path: Path) -> dict | None:
    """``__zip_filename__`` and the notebook's metadata from an Otter export zip (never raises)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i for i in zf.infolist() if not i.is_dir()]
            out = {"zip_filename": "", "metadata": {}}
            for info in names:
                if info.filename == "__zip_filename__" and info.file_size < 4096:
                    out["zip_filename"] = zf.read(info).decode("utf-8", "replace").strip()
            notebooks = [i for i in names if i.filename.lower().endswith(".ipynb") and "/" not in i.filename.strip("/")]
            if len(notebooks) == 1 and notebooks[0].file_size <= MAX_METADATA_BYTES:
                out["metadata"] = _metadata(zf.read(notebooks[0]))
            return out
    except Exception:  # a broken zip is the grader's business (an invalid row), not ours
        return None


def _metadata(data: bytes) -> dict:
    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return {}
    meta = nb.get("metadata") if isinstance(nb, dict) else None
    return meta if isinstance(meta, dict) else {}


def _notebook_student(path: Path, inside: dict | None) -> list[str]:
    """Student ids or emails a notebook's metadata carries (``student_id``, ``sid``, ``email``)."""
    if inside is not None:
        meta = inside["metadata"]
    elif path.suffix.lower() == ".ipynb":
        try:
            if path.stat().st_size > MAX_METADATA_BYTES:
                return []
            meta = _metadata(path.read_bytes())
        except OSError:
            return []
    else:
        return []
    found = []
    for where in (meta, meta.get("otter") if isinstance(meta.get("otter"), dict) else {}):
        for key in ("student_id", "sid", "email"):
            value = where.get(key)
            if isinstance(value, (str, int)) and str(value).strip():
                found.append(str(value).strip())
    return found
