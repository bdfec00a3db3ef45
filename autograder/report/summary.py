"""What the class report says, computed from the grader's ``results.json`` (no drawing here).

Counting rules, stated once:
- score distribution: every submission with an assignment and a numeric score, as a percentage
  of its max_score (a crashed or timed-out notebook keeps the points it earned before);
- a question is *passed* by a submission when it earned the question's full points; pass rates
  count every submission that has a result for that question;
- a mistake is counted once per submission and question, however many tests it appeared in; the
  code comes from the test's ``diagnosis`` field or, failing that, from its message
  (``Likely mistake (<code>)``), parsed once by the result model (``autograder.grade.model``);
- students (when grading had a roster or a due date): per assignment, who handed nothing in,
  how many submissions were late and what lateness cost, and the files matched to no student.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grade.model import GradingResults, Status, StudentSection

NOT_GRADED = tuple(s.value for s in Status if s is not Status.GRADED)


def question_order(name: str):
    digits = "".join(ch for ch in str(name) if ch.isdigit())
    return (int(digits) if digits else float("inf"), str(name))


@dataclass
class ClassSummary:
    generated_at: str = ""
    submissions: int = 0
    status_counts: Counter = field(default_factory=Counter)
    # assignment -> list of score percentages
    scores: dict = field(default_factory=lambda: defaultdict(list))
    # assignment -> question -> [passed, attempted]
    pass_counts: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(lambda: [0, 0])))
    # (assignment, question) -> Counter(code -> submissions)
    mistakes: dict = field(default_factory=lambda: defaultdict(Counter))
    # rows of submissions that did not grade: dicts with file, assignment, status, reason
    not_graded: list = field(default_factory=list)
    # the gradebook by student, when grading had a roster or a due date
    students: StudentSection | None = None

    # sandbox isolation mode ("root", "userns", "plain") -> submissions whose notebook ran in it
    isolation: Counter = field(default_factory=Counter)

    @property
    def unisolated(self) -> int:
        """Submissions whose notebook ran without isolation (mode "plain")."""
        return sum(n for mode, n in self.isolation.items() if mode not in ("root", "userns"))

    @property
    def graded(self) -> int:
        return self.status_counts.get("graded", 0)

    @property
    def assignments(self) -> list:
        names = set(self.scores) | set(self.pass_counts)
        return sorted(names)

    def questions(self, assignment) -> list:
        return sorted(self.pass_counts.get(assignment, {}), key=question_order)

    def pass_rate(self, assignment, question):
        passed, attempted = self.pass_counts[assignment][question]
        return passed / attempted if attempted else None

    def all_scores(self) -> list:
        return [s for values in self.scores.values() for s in values]

    def mistake_codes(self) -> list:
        """Codes by how often they occurred, most frequent first."""
        total = Counter()
        for counter in self.mistakes.values():
            total.update(counter)
        return [code for code, _ in sorted(total.items(), key=lambda item: (-item[1], item[0]))]

    def mistake_rows(self) -> list:
        """(assignment, question) pairs with at least one diagnosed mistake, in course order."""
        return sorted((key for key, counter in self.mistakes.items() if sum(counter.values())),
                      key=lambda key: (key[0], question_order(key[1])))

    def total_mistakes(self) -> int:
        return sum(sum(counter.values()) for counter in self.mistakes.values())


def summarize(results: dict | GradingResults) -> ClassSummary:
    """The counts above, from results.json's content (or the model read from it)."""
    if not isinstance(results, GradingResults):
        results = GradingResults.from_dict(results)
    summary = ClassSummary(generated_at=results.generated_at, students=results.students)
    for sub in results.submissions:
        summary.submissions += 1
        summary.status_counts[sub.status.value] += 1
        if sub.extra.get("isolation"):
            summary.isolation[str(sub.extra["isolation"])] += 1
        if sub.status is not Status.GRADED:
            summary.not_graded.append({"file": sub.file, "assignment": sub.assignment or "", "status": sub.status.value,
                                       "reason": sub.reason, "score": sub.score, "max_score": sub.max_score})
        if not sub.assignment:
            continue
        if sub.score is not None and sub.max_score:
            summary.scores[sub.assignment].append(100.0 * sub.score / sub.max_score)
        for name, question in sub.questions.items():
            counts = summary.pass_counts[sub.assignment][name]
            counts[1] += 1
            counts[0] += question.full_marks
            for code in question.mistakes:  # failed tests' diagnoses, and notes such as float32-precision
                summary.mistakes[(sub.assignment, name)][code] += 1
    summary.not_graded.sort(key=lambda row: (row["status"], row["file"]))
    return summary


def load(grades_dir) -> ClassSummary:
    path = Path(grades_dir) / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"report: no results.json in {grades_dir} (run `python -m autograder grade` first)")
    except ValueError as error:
        raise SystemExit(f"report: {path} is not valid JSON ({error})")
    if not isinstance(results, dict):
        raise SystemExit(f"report: {path} does not hold a results object")
    return summarize(results)
