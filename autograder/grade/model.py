"""What the grader found, as one typed model: grade, gradebook, report and the exports read it.

    results = GradingResults.load("grades")            # results.json -> objects
    for sub in results.submissions:
        sub.status is Status.GRADED, sub.questions["q3"].tests[0].diagnosis, sub.final_score ...
    results.save("grades")                             # objects -> results.json

``from_dict``/``to_dict`` keep ``results.json``'s schema: every key the grader writes maps to a
field, keys this model does not know are kept in ``extra`` and written back, so a round trip
never loses anything; fields added here (the student, the submission time, the late penalty,
the final score) are written only when they are set. The diagnosis code of a failed test is
parsed from its message once, here, when the grader did not record it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from autograder.diagnosis import code_of
from autograder.grade.gradebook import RESULTS_FILE, STATUS_WORDS, _json_default, write_atomic



def parse_diagnosis(message) -> str | None:
    """The ``<code>`` of ``Likely mistake (<code>): ...`` in a failure message, if any."""
    return code_of(str(message or ""))


def _number(value, default: float | None = 0.0) -> float | None:
    """A finite float, else ``default`` (results may hold None, strings or NaN from old runs)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if value == value and abs(value) != float("inf") else default


def _rest(data: dict, known: tuple[str, ...]) -> dict:
    return {k: v for k, v in data.items() if k not in known}


class Status(str, Enum):
    """How grading one submission file ended. Its value is the word in results.json and grades.csv."""
    GRADED = "graded"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    INVALID = "invalid"
    WRONG_ASSIGNMENT = "wrong-assignment"
    ERROR = "error"

    @classmethod
    def parse(cls, value) -> "Status":
        """The status named by ``value``; anything unknown is ``ERROR`` (the grader's fault)."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.ERROR

    @property
    def words(self) -> str:
        """What the status means, in the words the student's feedback uses."""
        return STATUS_WORDS.get(self.value, self.value)


@dataclass
class TestResult:
    """One test of one question."""
    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    points: float = 0.0
    hidden: bool = False
    message: str = ""
    diagnosis: str | None = None  # the mistake's code, for failed tests whose message names one
    extra: dict = field(default_factory=dict)

    KEYS = ("name", "hidden", "passed", "points", "message", "diagnosis")

    @classmethod
    def from_dict(cls, data: dict) -> "TestResult":
        passed = bool(data.get("passed"))
        message = str(data.get("message") or "")
        diagnosis = data.get("diagnosis") or (None if passed else parse_diagnosis(message))
        return cls(name=str(data.get("name") or ""), passed=passed, points=_number(data.get("points")),
                   hidden=bool(data.get("hidden")), message=message,
                   diagnosis=str(diagnosis) if diagnosis else None, extra=_rest(data, cls.KEYS))

    def to_dict(self) -> dict:
        return {"name": self.name, "hidden": self.hidden, "passed": self.passed, "points": self.points,
                "message": self.message, "diagnosis": self.diagnosis, **self.extra}


@dataclass
class Note:
    """A remark on a passing answer (e.g. ``float32-precision``), one per code and question."""
    code: str
    message: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "Note":
        return cls(code=str(data.get("code") or ""), message=str(data.get("message") or ""))

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass
class QuestionResult:
    name: str
    score: float
    max_score: float
    tests: list[TestResult] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    KEYS = ("score", "max_score", "tests", "notes")

    @classmethod
    def from_dict(cls, name: str, data: dict) -> "QuestionResult":
        return cls(name=name, score=_number(data.get("score")), max_score=_number(data.get("max_score")),
                   tests=[TestResult.from_dict(t) for t in data.get("tests") or [] if isinstance(t, dict)],
                   notes=[Note.from_dict(n) for n in data.get("notes") or [] if isinstance(n, dict)],
                   extra=_rest(data, cls.KEYS))

    def to_dict(self) -> dict:
        return {"score": self.score, "max_score": self.max_score, "tests": [t.to_dict() for t in self.tests],
                "notes": [n.to_dict() for n in self.notes], **self.extra}

    @property
    def full_marks(self) -> bool:
        return self.score >= self.max_score - 1e-9

    @property
    def mistakes(self) -> set[str]:
        """Diagnosis codes of the failed tests, and the codes of the notes on passing ones."""
        return {t.diagnosis for t in self.tests if not t.passed and t.diagnosis} | {n.code for n in self.notes if n.code}


@dataclass
class LatePenalty:
    """What the late policy did to one submission."""
    late: bool
    minutes_late: float | None = None  # None when only a "late" marker is known, not the time
    units: int = 0  # days (or hours) charged
    unit: str = "day"
    points: float = 0.0  # deducted from the score
    explanation: str = ""  # one sentence a student can check

    @classmethod
    def from_dict(cls, data: dict) -> "LatePenalty":
        return cls(late=bool(data.get("late")), minutes_late=_number(data.get("minutes_late"), None),
                   units=int(_number(data.get("units")) or 0), unit=str(data.get("unit") or "day"),
                   points=_number(data.get("points")), explanation=str(data.get("explanation") or ""))

    def to_dict(self) -> dict:
        return {"late": self.late, "minutes_late": self.minutes_late, "units": self.units, "unit": self.unit,
                "points": self.points, "explanation": self.explanation}


@dataclass
class SubmissionResult:
    """One submission file: how grading ended, the points per question, and (when the grade was
    run with a roster or a due date) whose it is, when it was handed in and what counts."""
    file: str
    status: Status
    assignment: str | None = None
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    questions: dict[str, QuestionResult] = field(default_factory=dict)
    cell_errors: list = field(default_factory=list)
    stdout_tail: str = ""
    feedback: str | None = None  # path of the feedback file, relative to the output folder
    sha256: str = ""
    cache_key: str | None = None
    seconds: float | None = None
    # set by the gradebook by student (autograder.grade.students); written only when set
    student_ids: list[str] | None = None
    matched_by: str | None = None  # "mapping", "gradescope", "canvas", "file name", "notebook metadata"
    submitted_at: str | None = None  # ISO 8601 with offset
    time_source: str | None = None
    late: LatePenalty | None = None
    final_score: float | None = None  # score minus the late penalty
    counted: bool | None = None  # the submission that counts for its student(s) and assignment
    extra: dict = field(default_factory=dict)

    GRADER_KEYS = ("file", "sha256", "assignment", "status", "reason", "score", "max_score", "questions",
                   "cell_errors", "stdout_tail", "feedback", "cache_key", "seconds")
    STUDENT_KEYS = ("student_ids", "matched_by", "submitted_at", "time_source", "late", "final_score", "counted")

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        questions = data.get("questions") if isinstance(data.get("questions"), dict) else {}
        late = data.get("late")
        ids = data.get("student_ids")
        return cls(
            file=str(data.get("file") or "?"), status=Status.parse(data.get("status")),
            assignment=data.get("assignment") or None, reason=str(data.get("reason") or ""),
            score=_number(data.get("score"), None), max_score=_number(data.get("max_score"), None),
            questions={q: QuestionResult.from_dict(q, r) for q, r in questions.items() if isinstance(r, dict)},
            cell_errors=list(data.get("cell_errors") or []), stdout_tail=str(data.get("stdout_tail") or ""),
            feedback=data.get("feedback"), sha256=str(data.get("sha256") or ""), cache_key=data.get("cache_key"),
            seconds=_number(data.get("seconds"), None),
            student_ids=[str(i) for i in ids] if isinstance(ids, list) else None,
            matched_by=data.get("matched_by"), submitted_at=data.get("submitted_at"),
            time_source=data.get("time_source"),
            late=LatePenalty.from_dict(late) if isinstance(late, dict) else None,
            final_score=_number(data.get("final_score"), None),
            counted=data.get("counted") if isinstance(data.get("counted"), bool) else None,
            extra=_rest(data, cls.GRADER_KEYS + cls.STUDENT_KEYS))

    def to_dict(self) -> dict:
        out = {"file": self.file, "sha256": self.sha256, "assignment": self.assignment, "status": self.status.value,
               "reason": self.reason, "score": self.score, "max_score": self.max_score,
               "questions": {q: r.to_dict() for q, r in self.questions.items()}, "cell_errors": self.cell_errors,
               "stdout_tail": self.stdout_tail, "feedback": self.feedback, "cache_key": self.cache_key,
               "seconds": self.seconds}
        out.update(self.extra)
        for key in self.STUDENT_KEYS:
            value = getattr(self, key)
            if value is not None:
                out[key] = value.to_dict() if isinstance(value, LatePenalty) else value
        return out

    def clear_student_fields(self) -> None:
        for key in self.STUDENT_KEYS:
            setattr(self, key, None)

    @property
    def mistakes(self) -> set[str]:
        return set().union(*(q.mistakes for q in self.questions.values())) if self.questions else set()


@dataclass
class Student:
    """A student of the course, as the roster names them."""
    id: str  # the institution's student id (Canvas: SIS User ID)
    name: str = ""
    email: str = ""
    canvas_id: str = ""  # Canvas's own user id (the "ID" column of a Canvas gradebook)
    login: str = ""  # Canvas: SIS Login ID
    section: str = ""

    KEYS = ("id", "name", "email", "canvas_id", "login", "section")

    @classmethod
    def from_dict(cls, data: dict) -> "Student":
        return cls(**{k: str(data.get(k) or "") for k in cls.KEYS})

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.KEYS}


@dataclass
class StudentGrade:
    """One student's grade on one assignment: the submission that counts (latest or best), or none."""
    student: Student
    assignment: str
    status: str  # the counted submission's Status value, or "missing"
    file: str | None = None
    score: float | None = None
    max_score: float | None = None
    late_penalty: float = 0.0
    final_score: float | None = None
    submitted_at: str | None = None
    submissions: int = 0  # files matched to this student for this assignment
    note: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "StudentGrade":
        return cls(student=Student.from_dict(data.get("student") or {}), assignment=str(data.get("assignment") or ""),
                   status=str(data.get("status") or "missing"), file=data.get("file"),
                   score=_number(data.get("score"), None), max_score=_number(data.get("max_score"), None),
                   late_penalty=_number(data.get("late_penalty")), final_score=_number(data.get("final_score"), None),
                   submitted_at=data.get("submitted_at"), submissions=int(_number(data.get("submissions")) or 0),
                   note=str(data.get("note") or ""))

    def to_dict(self) -> dict:
        return {"student": self.student.to_dict(), "assignment": self.assignment, "status": self.status,
                "file": self.file, "score": self.score, "max_score": self.max_score,
                "late_penalty": self.late_penalty, "final_score": self.final_score,
                "submitted_at": self.submitted_at, "submissions": self.submissions, "note": self.note}

    @property
    def missing(self) -> bool:
        return self.file is None


@dataclass
class StudentSection:
    """The gradebook by student: results.json's ``students`` object."""
    policy: dict = field(default_factory=dict)  # roster, due, late penalty, grace, cap, keep, as given
    grades: list[StudentGrade] = field(default_factory=list)  # per assignment, in roster order
    unmatched: list[dict] = field(default_factory=list)  # {"file", "reason"}: files no student owns

    @classmethod
    def from_dict(cls, data: dict) -> "StudentSection":
        return cls(policy=dict(data.get("policy") or {}),
                   grades=[StudentGrade.from_dict(g) for g in data.get("grades") or [] if isinstance(g, dict)],
                   unmatched=[dict(u) for u in data.get("unmatched") or [] if isinstance(u, dict)])

    def to_dict(self) -> dict:
        return {"policy": self.policy, "grades": [g.to_dict() for g in self.grades], "unmatched": self.unmatched}

    def assignments(self) -> list[str]:
        return sorted({g.assignment for g in self.grades})

    def for_assignment(self, assignment: str) -> list[StudentGrade]:
        return [g for g in self.grades if g.assignment == assignment]

    def missing(self, assignment: str) -> list[Student]:
        return [g.student for g in self.for_assignment(assignment) if g.missing]


@dataclass
class GradingResults:
    """The whole of results.json."""
    submissions: list[SubmissionResult] = field(default_factory=list)
    assignments: dict = field(default_factory=dict)  # name -> {"questions", "max_score", "tests_hash", "bundle"}
    settings: dict = field(default_factory=dict)
    generated_at: str = ""
    complete: bool = True
    students: StudentSection | None = None
    extra: dict = field(default_factory=dict)

    KEYS = ("generated_at", "complete", "settings", "assignments", "submissions", "students")

    @classmethod
    def from_dict(cls, data: dict) -> "GradingResults":
        students = data.get("students")
        return cls(
            submissions=[SubmissionResult.from_dict(s) for s in data.get("submissions") or [] if isinstance(s, dict)],
            assignments=dict(data.get("assignments") or {}), settings=dict(data.get("settings") or {}),
            generated_at=str(data.get("generated_at") or ""), complete=bool(data.get("complete", True)),
            students=StudentSection.from_dict(students) if isinstance(students, dict) else None,
            extra=_rest(data, cls.KEYS))

    def to_dict(self) -> dict:
        out = {"generated_at": self.generated_at, "complete": self.complete, "settings": self.settings,
               "assignments": self.assignments, "submissions": [s.to_dict() for s in self.submissions], **self.extra}
        if self.students is not None:
            out["students"] = self.students.to_dict()
        return out

    @classmethod
    def load(cls, out_dir) -> "GradingResults":
        """Read ``out_dir/results.json``; raises ``OSError``/``ValueError`` when it is missing or not results."""
        data = json.loads((Path(out_dir) / RESULTS_FILE).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("submissions"), list):
            raise ValueError(f"{Path(out_dir) / RESULTS_FILE} does not hold grading results")
        return cls.from_dict(data)

    def save(self, out_dir) -> None:
        """Write ``out_dir/results.json`` atomically, as the gradebook writes it."""
        write_atomic(Path(out_dir) / RESULTS_FILE, json.dumps(self.to_dict(), indent=1, default=_json_default))
