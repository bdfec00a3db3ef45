"""The grade that counts: the late policy, and which submission counts per student.

    policy = LatePolicy(due=parse_time("2026-12-01T23:59"), rate=parse_rate("10%/day"),
                        grace=parse_duration("15m"), cap=parse_percent("50%"))
    section = grade_students(results, identities, roster, policy, keep="latest")

Rules, stated once (the README repeats them for instructors):
- A submission is late when it was handed in more than ``grace`` after ``due``. It then loses
  ``rate`` for every started day (or hour) after ``due``: ``10%/day`` is 10% of the assignment's
  points per day, ``2/day`` two points per day; the total is at most ``cap`` percent of the
  points and never more than the score (a late submission scores at least 0).
- The time is the one the submission carries (see ``autograder.grade.roster``). A Canvas download
  follows Canvas's own marker, which knows each student's extensions: no ``LATE`` in the name is
  on time; ``LATE`` with a file time that does not show it (unzipping can reset times) is charged
  one day (or hour).
- Per student and assignment, ``latest`` counts the submission handed in last, ``best`` the one
  with the highest final (penalised) score, the later one on a tie. A grader error (status
  ``error``, the grader's fault) never counts while the student has another submission.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from autograder.grade.model import (GradingResults, LatePenalty, Status, Student, StudentGrade,
                                    StudentSection, SubmissionResult)
from autograder.grade.roster import Identity, Roster

UNITS = {"day": timedelta(days=1), "hour": timedelta(hours=1), "week": timedelta(weeks=1)}
UNIT_WORDS = {"d": "day", "day": "day", "days": "day", "h": "hour", "hr": "hour", "hour": "hour",
              "hours": "hour", "w": "week", "week": "week", "weeks": "week"}
KEEP = ("latest", "best")


@dataclass(frozen=True)
class LateRate:
    amount: float
    percent: bool  # True: percent of the assignment's points; False: points
    unit: str  # "day", "hour" or "week"

    def __str__(self):
        return f"{_fmt(self.amount)}{'%' if self.percent else ' points'}/{self.unit}"


def parse_rate(text: str) -> LateRate:
    """``10%/day``, ``2/day``, ``2 points per day``, ``1%/hour``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%|pts?|points?)?\s*(?:/|per)\s*([a-z]+)\s*", str(text).lower())
    if not match or match.group(3) not in UNIT_WORDS:
        raise ValueError(f"not a late penalty: {text!r} (use e.g. 10%/day, 5%/hour or 2/day for points)")
    return LateRate(float(match.group(1)), match.group(2) == "%", UNIT_WORDS[match.group(3)])


def parse_duration(text: str) -> timedelta:
    """``15m``, ``1h30m``, ``2d``, ``90s``, ``0``."""
    s = str(text).strip().lower().replace(" ", "")
    if s in ("0", ""):
        return timedelta(0)
    parts = re.findall(r"(\d+(?:\.\d+)?)(d|days?|h|hours?|hr|m|min|mins|minutes?|s|sec|seconds?)", s)
    if not parts or "".join(a + b for a, b in parts) != s:
        raise ValueError(f"not a duration: {text!r} (use e.g. 15m, 1h30m or 2d)")
    seconds = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return timedelta(seconds=sum(float(n) * seconds[unit[0]] for n, unit in parts))


def parse_percent(text: str) -> float:
    """``50%`` or ``50``: a percentage between 0 and 100."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*", str(text))
    if not match or not 0 <= float(match.group(1)) <= 100:
        raise ValueError(f"not a percentage between 0 and 100: {text!r}")
    return float(match.group(1))


def _fmt(x: float) -> str:
    return str(int(x)) if float(x) == int(x) else f"{x:.4g}"


def _duration_words(delta: timedelta) -> str:
    minutes = int(round(delta.total_seconds() / 60))
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    return " ".join(words) or "less than a minute"


@dataclass(frozen=True)
class LatePolicy:
    due: datetime | None = None
    rate: LateRate | None = None
    grace: timedelta = timedelta(0)
    cap: float = 100.0  # the most a late submission can lose, in percent of the assignment's points

    def describe(self) -> dict:
        return {"due": self.due.isoformat() if self.due else None, "late_penalty": str(self.rate) if self.rate else None,
                "grace": _duration_words(self.grace) if self.grace else "none", "cap": f"{_fmt(self.cap)}%"}

    def assess(self, submitted_at: datetime | None, score: float | None, max_score: float | None,
               canvas_late: bool | None = None) -> LatePenalty | None:
        """What lateness costs a submission with this ``score`` out of ``max_score``."""
        if self.due is None:
            if canvas_late:
                return LatePenalty(True, explanation="Canvas marks it LATE; no due date was given, so no penalty.")
            return None
        due_at = f"{self.due:%Y-%m-%d %H:%M %Z}".rstrip()
        due = f"due {due_at}"
        delay = submitted_at - self.due if submitted_at is not None else None
        if canvas_late is False:
            return LatePenalty(False, explanation=f"On time (Canvas does not mark it late; {due}).")
        if canvas_late and (delay is None or delay <= self.grace):
            units, minutes = 1, None
            how = f"Canvas marks it LATE ({due}) but its file time does not say by how much: charged one {self.unit}"
        elif delay is None:
            return LatePenalty(False, explanation="No submission time is known: no late penalty.")
        elif delay <= self.grace:
            within = f", within the {_duration_words(self.grace)} grace period" if delay > timedelta(0) else ""
            return LatePenalty(False, minutes_late=max(0.0, delay.total_seconds() / 60),
                               explanation=f"On time (submitted {submitted_at:%Y-%m-%d %H:%M}, {due}{within}).")
        else:
            units = math.ceil(delay / UNITS[self.unit])
            minutes = delay.total_seconds() / 60
            how = (f"Submitted {submitted_at:%Y-%m-%d %H:%M}, {_duration_words(delay)} after the due date "
                   f"({due_at}): {units} {self.unit}{'s' if units != 1 else ''} late")
        if self.rate is None or not max_score:
            return LatePenalty(True, minutes, units, self.unit, 0.0, how + "; no late penalty is set.")
        per = self.rate.amount * (max_score / 100 if self.rate.percent else 1)
        points = per * units
        capped = min(points, self.cap / 100 * max_score)
        lost = round(min(capped, max(score or 0.0, 0.0)), 4)
        why = f"{how} x {self.rate} = -{_fmt(points)} points"
        if capped < points:
            why += f", capped at {_fmt(self.cap)}% of {_fmt(max_score)} = -{_fmt(capped)}"
        if lost < capped - 1e-9:
            why += f" (the score cannot go below 0: -{_fmt(lost)})"
        return LatePenalty(True, minutes, units, self.unit, lost, why + ".")

    @property
    def unit(self) -> str:
        return self.rate.unit if self.rate else "day"


def _when(sub: SubmissionResult) -> str:
    return sub.submitted_at or ""


def choose(subs: list[SubmissionResult], keep: str) -> SubmissionResult:
    """The submission that counts among one student's submissions for one assignment."""
    pool = [s for s in subs if s.status is not Status.ERROR] or subs
    if keep == "best":
        return max(pool, key=lambda s: (s.final_score if s.final_score is not None else -math.inf, _when(s), s.file))
    return max(pool, key=lambda s: (_when(s), s.file))


def grade_students(results: GradingResults, identities: dict[int, Identity], roster: Roster | None,
                   policy: LatePolicy, keep: str = "latest") -> StudentSection:
    """Fill each submission's student fields and build the gradebook by student.

    ``identities`` maps the index of a submission in ``results.submissions`` to who handed it in.
    Every student of the roster gets a grade per assignment graded (``missing`` without a file);
    files no student owns are listed in ``unmatched`` with the reason."""
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {', '.join(KEEP)}, not {keep!r}")
    assignments = sorted({s.assignment for s in results.submissions if s.assignment})
    only = assignments[0] if len(assignments) == 1 else None
    groups: dict[tuple[str, str], list[SubmissionResult]] = {}
    students: dict[str, Student] = {s.id: s for s in roster.students} if roster else {}
    unmatched = []
    for i, sub in enumerate(results.submissions):
        sub.clear_student_fields()
        who = identities.get(i)
        if who is None or not who.students:
            unmatched.append({"file": sub.file, "reason": who.problem if who else "not found on disk"})
            continue
        sub.student_ids = [s.id for s in who.students]
        sub.matched_by = who.matched_by
        sub.submitted_at = who.submitted_at.isoformat(timespec="seconds") if who.submitted_at else None
        sub.time_source = who.time_source if who.submitted_at else None
        max_score = sub.max_score or (results.assignments.get(sub.assignment or only or "", {}) or {}).get("max_score")
        sub.late = policy.assess(who.submitted_at, sub.score, max_score, who.canvas_late)
        if sub.score is not None:
            sub.final_score = round(sub.score - (sub.late.points if sub.late else 0.0), 4)
        assignment = sub.assignment or only
        if assignment is None:
            unmatched.append({"file": sub.file, "reason": f"handed in by {', '.join(sub.student_ids)}, but for no "
                                                          f"assignment we know ({sub.status.value}: {sub.reason})"})
            continue
        for s in who.students:
            students.setdefault(s.id, s)
            groups.setdefault((assignment, s.id), []).append(sub)
    for sub in results.submissions:
        if sub.student_ids is not None:
            sub.counted = False
    order = list(students) if roster else sorted(students, key=lambda k: (students[k].name.lower(), k))
    grades = []
    for assignment in assignments:
        possible = (results.assignments.get(assignment) or {}).get("max_score")
        for sid in order:
            subs = groups.get((assignment, sid), [])
            if not subs:
                grades.append(StudentGrade(students[sid], assignment, "missing", max_score=possible,
                                           note="no submission"))
                continue
            chosen = choose(subs, keep)
            chosen.counted = True
            note = f"{len(subs)} submissions; the {keep} counts" if len(subs) > 1 else ""
            if chosen.late and chosen.late.late:
                note = "; ".join(filter(None, [note, chosen.late.explanation]))
            grades.append(StudentGrade(
                students[sid], assignment, chosen.status.value, file=chosen.file, score=chosen.score,
                max_score=chosen.max_score if chosen.max_score is not None else possible,
                late_penalty=chosen.late.points if chosen.late else 0.0, final_score=chosen.final_score,
                submitted_at=chosen.submitted_at, submissions=len(subs), note=note))
    return StudentSection(policy={**policy.describe(), "keep": keep, "roster": roster.source if roster else None},
                          grades=grades, unmatched=unmatched)
