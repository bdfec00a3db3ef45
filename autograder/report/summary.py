"""What the class report says, computed from the grader's ``results.json`` (no drawing here).

Counting rules, stated once:
- score distribution: every submission with an assignment and a numeric score, as a percentage
  of its max_score (a crashed or timed-out notebook keeps the points it earned before);
- a question is *passed* by a submission when it earned the question's full points; pass rates
  count every submission that has a result for that question;
- a mistake is counted once per submission and question, however many tests it appeared in; the
  code comes from the test's ``diagnosis`` field or, failing that, from its message
  (``Likely mistake (<code>)``).
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

DIAGNOSIS_RE = re.compile(r"Likely mistake \(([\w-]+)\)")
NOT_GRADED = ("timeout", "crashed", "invalid", "wrong-assignment", "error")


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


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # drop NaN


def test_codes(question: dict) -> set:
    """Diagnosis codes of the failed tests of one question result."""
    codes = set()
    for test in question.get("tests") or []:
        if not isinstance(test, dict) or test.get("passed"):
            continue
        code = test.get("diagnosis")
        if not code:
            match = DIAGNOSIS_RE.search(str(test.get("message") or ""))
            code = match.group(1) if match else None
        if code:
            codes.add(str(code))
    for note in question.get("notes") or []:  # e.g. float32-precision: right, with a note
        if isinstance(note, dict) and note.get("code"):
            codes.add(str(note["code"]))
    return codes


def summarize(results: dict) -> ClassSummary:
    summary = ClassSummary(generated_at=str(results.get("generated_at") or ""))
    for sub in results.get("submissions") or []:
        if not isinstance(sub, dict):
            continue
        summary.submissions += 1
        status = str(sub.get("status") or "error")
        summary.status_counts[status] += 1
        assignment = sub.get("assignment")
        if sub.get("isolation"):
            summary.isolation[str(sub["isolation"])] += 1
        if status != "graded":
            summary.not_graded.append({
                "file": str(sub.get("file") or "?"),
                "assignment": str(assignment or ""),
                "status": status,
                "reason": str(sub.get("reason") or ""),
                "score": _number(sub.get("score")),
                "max_score": _number(sub.get("max_score")),
            })
        if not assignment:
            continue
        score, max_score = _number(sub.get("score")), _number(sub.get("max_score"))
        if score is not None and max_score:
            summary.scores[assignment].append(100.0 * score / max_score)
        for question, result in (sub.get("questions") or {}).items():
            if not isinstance(result, dict):
                continue
            q_score, q_max = _number(result.get("score")), _number(result.get("max_score"))
            counts = summary.pass_counts[assignment][question]
            counts[1] += 1
            if q_max is not None and q_score is not None and q_score >= q_max - 1e-9:
                counts[0] += 1
            for code in test_codes(result):
                summary.mistakes[(assignment, question)][code] += 1
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
