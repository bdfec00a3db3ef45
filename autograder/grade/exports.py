"""Grades by student, in files an LMS or a spreadsheet imports, written next to ``grades.csv``:

- ``canvas_gradebook.csv``: Canvas's gradebook import format: ``Student``, ``ID`` (Canvas's user
  id), ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment headed
  ``<name> (<Canvas assignment id>)`` (Canvas matches the column to the assignment by that id; a
  header without an id makes Canvas create a new assignment), and a ``Points Possible`` row as in
  Canvas's own export. The score is the final one (after any late penalty); a student without a
  submission, or whose submission the grader could not grade through its own fault, is left
  blank, so the import leaves that cell as it is.
- ``scores_<assignment>.csv``: one row per student: id, name, email, score, max, late_penalty,
  final, submission_file, status (the counted submission's, or ``missing``), submitted_at, note.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from autograder.grade.gradebook import write_atomic
from autograder.grade.model import Status, StudentGrade, StudentSection

CANVAS_FILE = "canvas_gradebook.csv"
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "Points Possible"
SCORES_COLUMNS = ("id", "name", "email", "score", "max", "late_penalty", "final", "submission_file", "status",
                  "submitted_at", "note")
CANVAS_HEADER = re.compile(r"^(?P<name>.*\S)\s*\((?P<id>\d+)\)$")


def scores_file(assignment: str) -> str:
    safe = re.sub(r"[^\w.-]+", "_", assignment)
    return f"scores_{safe}.csv"


def _num(x) -> str:
    if x is None:
        return ""
    x = round(float(x), 2)
    return str(int(x)) if x == int(x) else f"{x:g}"


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def canvas_columns(assignments: list[str], given: dict[str, str] | None = None,
                   known_headers: list[str] = ()) -> dict[str, str]:
    """The Canvas column header for each assignment: from ``given`` (``{assignment: id or header}``,
    the ``--canvas-assignment`` option; an id keeps the header a Canvas export used as the roster
    has for it), else that export's column whose name matches the assignment's (ignoring case,
    spaces and punctuation), else the bare name (Canvas then creates a new assignment)."""
    given = given or {}
    out = {}
    for name in assignments:
        value = given.get(name, "")
        if value.isdigit():
            same = [h for h in known_headers if (m := CANVAS_HEADER.match(h)) and m["id"] == value]
            out[name] = same[0] if same else f"{name} ({value})"
        elif value:
            out[name] = value
        else:
            hits = [h for h in known_headers if (m := CANVAS_HEADER.match(h)) and _squash(m["name"]) == _squash(name)]
            out[name] = hits[0] if len(hits) == 1 else name
    return out


def _canvas_score(grade: StudentGrade | None) -> str:
    if grade is None or grade.missing or grade.status == Status.ERROR.value:
        return ""
    return _num(grade.final_score if grade.final_score is not None else grade.score)


def canvas_csv(section: StudentSection, columns: dict[str, str]) -> str:
    """The Canvas gradebook import file for every assignment in ``section`` (in ``columns`` order)."""
    assignments = list(columns)
    table: dict[str, dict[str, StudentGrade]] = {}
    students = {}
    for g in section.grades:
        students.setdefault(g.student.id, g.student)
        table.setdefault(g.student.id, {})[g.assignment] = g
    points = {}
    for g in section.grades:
        if g.max_score is not None:
            points.setdefault(g.assignment, g.max_score)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*CANVAS_STUDENT_COLUMNS, *(columns[a] for a in assignments)])
    writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", *(_num(points.get(a)) for a in assignments)])
    for sid, student in students.items():
        writer.writerow([student.name, student.canvas_id, student.id, student.login, student.section,
                         *(_canvas_score(table[sid].get(a)) for a in assignments)])
    return buf.getvalue()


def scores_csv(grades: list[StudentGrade]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SCORES_COLUMNS)
    for g in grades:
        writer.writerow([g.student.id, g.student.name, g.student.email, _num(g.score), _num(g.max_score),
                         _num(g.late_penalty) if not g.missing else "", _num(g.final_score), g.file or "",
                         g.status, g.submitted_at or "", g.note])
    return buf.getvalue()


def write_exports(out_dir, section: StudentSection, columns: dict[str, str]) -> list[Path]:
    """Write the Canvas file and one scores file per assignment; returns their paths."""
    out_dir = Path(out_dir)
    written = [out_dir / CANVAS_FILE]
    write_atomic(written[0], canvas_csv(section, columns))
    for assignment in section.assignments():
        path = out_dir / scores_file(assignment)
        write_atomic(path, scores_csv(section.for_assignment(assignment)))
        written.append(path)
    return written
