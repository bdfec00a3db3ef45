"""Grades against fair ranges: the two figures of issue 8, and whether public checks predict the grade.

(a) the share of corpus notebooks whose every question lands within its fair range;
(b) the points lost BELOW the fair ranges, as a share of all points of all corpus notebooks.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

EPS = 1e-9


@dataclass(frozen=True)
class QuestionGrade:
    case: object  # corpus.Case
    question: str
    score: float
    max_score: float

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 1.0

    @property
    def fair(self) -> tuple[float, float]:
        return self.case.fair_range(self.question)

    @property
    def in_range(self) -> bool:
        lo, hi = self.fair
        return lo - EPS <= self.fraction <= hi + EPS

    @property
    def points_below(self) -> float:
        """Points the grader withheld below the least a fair instructor would give."""
        return max(0.0, self.fair[0] * self.max_score - self.score)

    def line(self) -> str:
        lo, hi = self.fair
        side = "below" if self.fraction < lo else "above"
        return (f"{self.case.id} {self.question}: {self.score:g}/{self.max_score:g} = {self.fraction:.2f}, "
                f"{side} fair [{lo:.2f}, {hi:.2f}] ({self.case.why})")


@dataclass
class Figures:
    notebooks: int
    in_range: int
    points: float
    points_below: float
    out_of_range: list[QuestionGrade]

    @property
    def share_in_range(self) -> float:
        return self.in_range / self.notebooks if self.notebooks else 1.0

    @property
    def share_below(self) -> float:
        return self.points_below / self.points if self.points else 0.0

    def line(self, label: str) -> str:
        return (f"{label}: {self.in_range}/{self.notebooks} notebooks in range = {self.share_in_range:.1%} "
                f"(target >= 95%); {self.points_below:g} of {self.points:g} points lost below the fair "
                f"ranges = {self.share_below:.1%} (target <= 2%)")


def question_grades(case, row: dict) -> list[QuestionGrade]:
    """One grade per question of the row (the grader lists every question of the assignment)."""
    grades = [QuestionGrade(case, q, float(qr["score"]), float(qr["max_score"]))
              for q, qr in row["questions"].items()]
    unknown = set(case.fair) - {g.question for g in grades}
    if unknown:
        raise ValueError(f"{case.id}: fair ranges for questions the assignment does not have: {sorted(unknown)}")
    return sorted(grades, key=lambda g: int(g.question[1:]))


def figures(graded: dict[str, list[QuestionGrade]]) -> Figures:
    """``graded``: {case id: its question grades}."""
    notebooks = len(graded)
    in_range = sum(all(g.in_range for g in grades) for grades in graded.values())
    every = [g for grades in graded.values() for g in grades]
    return Figures(notebooks, in_range, sum(g.max_score for g in every), sum(g.points_below for g in every),
                   [g for g in every if not g.in_range])


def grouped(graded: dict[str, list[QuestionGrade]], label) -> dict[str, Figures]:
    """Figures per group; ``label(case)`` names a case's group (its exercise, its kind, ...)."""
    groups = defaultdict(dict)
    for case_id, grades in graded.items():
        groups[label(grades[0].case)][case_id] = grades
    return {name: figures(group) for name, group in sorted(groups.items())}


def prediction_violations(grades: list[QuestionGrade], checks: dict[str, dict]) -> list[str]:
    """Questions whose public checks all pass (``grader.check``) but that lose points at grading."""
    out = []
    for g in grades:
        if checks.get(g.question, {}).get("passed") and g.score < g.max_score - EPS:
            out.append(f"{g.case.id} {g.question}: grader.check passes, graded {g.score:g}/{g.max_score:g}")
    return out
