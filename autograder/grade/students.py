"""The gradebook by student, run after grading when ``grade`` is given a roster, a mapping or a
due date:

    python -m autograder grade submissions/ --roster roster.csv --due 2026-12-01T23:59 \\
        --late-penalty 10%/day --grace 15m --late-cap 50% --keep latest

It reads ``results.json``, matches every file to its student (``autograder.grade.roster``),
applies the late policy and picks the submission that counts (``autograder.grade.policy``),
writes the result back into ``results.json`` (each submission's student fields and the top-level
``students`` object), adds "Your grade" to the feedback of every matched submission, and writes
the exports (``autograder.grade.exports``) next to ``grades.csv``.
"""
from __future__ import annotations

import argparse
import importlib
import json
from datetime import timedelta
from pathlib import Path

# The roster, policy, model and export modules are imported where they are used: ``grade`` builds
# these options and calls ``after_grading`` on every run, most of them without a roster (their
# import cost 0.04-0.1 s of every start-up).
KEEP = ("latest", "best")  # policy.KEEP, without importing the policy to offer the choices
# model.SubmissionResult.STUDENT_KEYS, without importing the model to see that there are none
STUDENT_FIELDS = ("student_ids", "matched_by", "submitted_at", "time_source", "late", "final_score", "counted")


def _checked(module, name):
    """An argparse ``type``: ``autograder.grade.<module>.<name>``, imported when the option is given,
    reporting the parser's own message (file and line for a roster)."""
    def convert(text):
        from autograder.grade.roster import RosterError
        parse = getattr(importlib.import_module(f"autograder.grade.{module}"), name)
        try:
            return parse(text)
        except (ValueError, RosterError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = name
    return convert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the roster, late-policy and export options to the ``grade`` command."""
    group = parser.add_argument_group(
        "students and deadlines",
        "match submissions to students, apply a late policy, and write canvas_gradebook.csv and "
        "scores_<assignment>.csv next to grades.csv")
    group.add_argument("--roster", type=_checked("roster", "read_roster"), metavar="CSV",
                       help="the class list: id, name, email (header variants, a BOM, or a Canvas gradebook export "
                            "are fine); students without a submission are listed as missing")
    group.add_argument("--mapping", type=_checked("roster", "read_mapping"), metavar="CSV",
                       help="file,student_id[,submitted_at] rows for files whose name does not say whose they are")
    group.add_argument("--due", type=_checked("roster", "parse_time"), metavar="WHEN",
                       help="due date and time, e.g. 2026-12-01T23:59 (this machine's time zone) or with an offset, "
                            "2026-12-01T23:59-08:00")
    group.add_argument("--late-penalty", type=_checked("policy", "parse_rate"), metavar="RATE",
                       help="what each started day (or hour) late costs: 10%%/day of the points, 5%%/hour, "
                            "or 2/day in points (default: none)")
    group.add_argument("--grace", type=_checked("policy", "parse_duration"), default=timedelta(0), metavar="DURATION",
                       help="no penalty this long after the due date, e.g. 15m or 1h (default: none)")
    group.add_argument("--late-cap", type=_checked("policy", "parse_percent"), default=100.0, metavar="PERCENT",
                       help="the most lateness can cost, in percent of the points (default: 100%%)")
    group.add_argument("--keep", choices=KEEP, default="latest",
                       help="which submission counts when a student handed in several (default: latest)")
    group.add_argument("--canvas-assignment", action="append", default=[], metavar="[NAME=]ID",
                       help="the Canvas assignment id of an assignment (repeat per assignment; NAME may be left "
                            "out when one assignment is graded); without it the Canvas file adds a new column")


def wanted(args) -> bool:
    return any(getattr(args, key, None) is not None for key in ("roster", "mapping", "due", "late_penalty"))


def identify_all(results: GradingResults, roster: Roster | None, mapping: Mapping | None,
                 roots=()) -> dict[int, Identity]:
    """Who handed in each submission of ``results`` (by index); files not on disk are left out."""
    from autograder.grade.roster import Identifier
    identifier = Identifier(roster, mapping, roots)
    found = {}
    for i, sub in enumerate(results.submissions):
        path = _path_of(sub, roots)
        if path is not None:
            found[i] = identifier.identify(path)
    return found


def _path_of(sub: SubmissionResult, roots) -> Path | None:
    path = Path(sub.file)
    if path.exists():
        return path
    for root in roots:
        candidate = Path(root) / sub.file
        if candidate.exists():
            return candidate
    return None


def _parse_canvas_ids(values: list[str], assignments: list[str]) -> dict[str, str]:
    ids = {}
    for value in values:
        name, sep, ident = value.partition("=")
        if not sep:
            if len(assignments) != 1:
                raise ValueError(f"--canvas-assignment {value}: say which assignment (NAME=ID); graded: "
                                 f"{', '.join(assignments)}")
            name, ident = assignments[0], value
        ids[name.strip()] = ident.strip()
    return ids


def your_grade_markdown(sub: SubmissionResult, section: StudentSection) -> str:
    """The feedback's closing section for a matched submission: whose, when, late, final score."""
    names = {g.student.id: g.student for g in section.grades}
    who = ", ".join(f"{names[i].name} ({i})" if i in names and names[i].name else i for i in sub.student_ids or [])
    lines = ["## Your grade", "", f"Handed in by: {who}  "]
    if sub.submitted_at:
        lines.append(f"Submitted: {sub.submitted_at.replace('T', ' ')} (from the {sub.time_source})  ")
    if sub.late is not None:
        lines.append(f"Lateness: {sub.late.explanation}  ")
    if sub.counted is False:
        lines.append("This submission does **not** count: another submission of yours does "
                     f"(the {section.policy.get('keep', 'latest')} one).  ")
    if sub.final_score is not None and sub.max_score:
        penalty = f" after a late penalty of {sub.late.points:g}" if sub.late and sub.late.points else ""
        lines.append(f"Final score{penalty}: **{sub.final_score:g} / {sub.max_score:g}**")
    return "\n".join(lines).rstrip() + "\n"


def summary(section: StudentSection, roster: Roster | None) -> str:
    lines = []
    if roster is not None:
        lines.append(f"roster: {len(roster)} student(s) from {roster.source}")
    for assignment in section.assignments():
        grades = section.for_assignment(assignment)
        handed = [g for g in grades if not g.missing]
        late = [g for g in handed if g.late_penalty]
        missing = [g.student for g in grades if g.missing]
        line = f"  {assignment}: {len(handed)} student(s) with a submission"
        if late:
            line += f", {len(late)} late (-{sum(g.late_penalty for g in late):g} points in all)"
        if missing:
            line += f"; no submission from {len(missing)}: " + ", ".join(
                f"{s.name} ({s.id})" if s.name else s.id for s in missing[:20]) + (" ..." if len(missing) > 20 else "")
        lines.append(line)
    if section.unmatched:
        lines.append(f"  {len(section.unmatched)} file(s) matched to no student:")
        lines += [f"    {u['file']}: {u['reason']}" for u in section.unmatched[:50]]
    return "\n".join(lines)


def _student_fields_in(out: Path) -> bool:
    """Whether ``out``'s results.json may hold what a run with a roster wrote (the top-level
    ``students``, or a submission's ``student_ids``, ``late`` or other student field): then a run
    without one clears it through the model. False only when plainly nothing is there."""
    from autograder.grade.gradebook import RESULTS_FILE
    try:
        results = json.loads((out / RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # unreadable: what the model would make of it, without it
    if not isinstance(results, dict):
        return True
    if results.get("students") is not None:
        return True
    submissions = results.get("submissions")
    return not isinstance(submissions, list) or any(
        not isinstance(sub, dict) or any(sub.get(f) is not None for f in STUDENT_FIELDS) for sub in submissions)


def after_grading(args, log=print) -> int:
    """The gradebook by student for ``args.out``; a no-op without ``--roster``/``--mapping``/``--due``
    (except that student fields a previous run left in results.json are cleared). Returns an exit code."""
    out = Path(args.out)
    if not wanted(args) and not _student_fields_in(out):
        return 0  # nothing to add and nothing to clear: the model is not even loaded
    from autograder.grade.exports import canvas_columns, write_exports
    from autograder.grade.gradebook import feedback_markdown, write_atomic
    from autograder.grade.model import GradingResults
    from autograder.grade.policy import LatePolicy, grade_students
    try:
        results = GradingResults.load(out)
    except (OSError, ValueError) as exc:
        if not wanted(args):
            return 0
        log(f"gradebook by student: cannot read the results ({exc})")
        return 1
    if not wanted(args):
        if results.students is not None or any(s.student_ids is not None or s.late for s in results.submissions):
            results.students = None
            for sub in results.submissions:
                sub.clear_student_fields()
            results.save(out)
        return 0
    if getattr(args, "late_penalty", None) is not None and args.due is None:
        log("warning: --late-penalty has no effect without --due")
    policy = LatePolicy(due=args.due, rate=args.late_penalty, grace=args.grace, cap=args.late_cap)
    identities = identify_all(results, args.roster, args.mapping, roots=args.paths)
    section = grade_students(results, identities, args.roster, policy, keep=args.keep)
    try:
        ids = _parse_canvas_ids(getattr(args, "canvas_assignment", []) or [], section.assignments())
    except ValueError as exc:
        log(f"warning: {exc}")
        ids = {}
    results.students = section
    results.save(out)
    for sub in results.submissions:
        if sub.student_ids and sub.feedback:
            write_atomic(out / sub.feedback, feedback_markdown(sub.to_dict()).rstrip() + "\n\n"
                         + your_grade_markdown(sub, section))
    columns = canvas_columns(section.assignments(), ids, args.roster.canvas_columns if args.roster else [])
    written = write_exports(out, section, columns)
    log(summary(section, args.roster))
    log("wrote " + ", ".join(str(p) for p in written))
    return 0
