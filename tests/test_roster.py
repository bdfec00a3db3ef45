"""The gradebook by student: roster and mapping files, matching submission files to students (Canvas,
Gradescope, Otter exports, mapping), latest or best, the late policy, the Canvas and per-assignment
exports, and the typed result model; one end-to-end run grades real example notebooks from a Canvas
bulk download to the Canvas import file."""
import csv
import io
import json
import os
import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder.grade.exports import CANVAS_FILE, canvas_columns, canvas_csv, scores_csv, scores_file
from autograder.grade.model import (GradingResults, QuestionResult, Status, StudentGrade, SubmissionResult,
                                    TestResult)
from autograder.grade.policy import (LatePolicy, grade_students, parse_duration, parse_percent, parse_rate)
from autograder.grade.roster import (Identifier, RosterError, otter_timestamp, parse_time, read_mapping,
                                     read_roster)
from autograder.grade.students import identify_all

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "relu_mse_training"
UTC = timezone.utc
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def notebook(**metadata) -> str:
    return json.dumps({"cells": [], "metadata": metadata, "nbformat": 4, "nbformat_minor": 5})


def write(path: Path, content: str | bytes = NOTEBOOK, mtime: datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def results_for(files: dict[Path, float | tuple], assignment="relu_mse_training") -> GradingResults:
    """Results as the grader writes them: each file graded with the given score out of 22
    (or (score, status))."""
    subs = []
    for path, value in files.items():
        score, status = value if isinstance(value, tuple) else (value, "graded")
        subs.append(SubmissionResult(file=str(path), status=Status(status), assignment=assignment, score=score,
                                     max_score=22.0, feedback=f"feedback/{Path(path).stem}.md"))
    return GradingResults(submissions=subs, assignments={assignment: {"questions": {"q1": 22.0}, "max_score": 22.0}})


def by_student(section, assignment="relu_mse_training"):
    return {g.student.id: g for g in section.for_assignment(assignment)}


@pytest.fixture
def roster_file(tmp_path):
    return write(tmp_path / "roster.csv", "id,name,email\ns1001,Jane Doe,jane@example.edu\n"
                                          "s1002,Richard Roe,richard@example.edu\ns1003,Ann Smith,ann@example.edu\n")


# ------------------------------------------------------------------ roster and mapping files

def test_roster_tolerates_header_variants_a_bom_and_semicolons(tmp_path):
    path = write(tmp_path / "r.csv", "\ufeffStudent ID;Full Name;E-Mail Address\r\n s1;Jane Doe ;j@x.edu\r\n\r\n"
                                     "s2;Richard Roe;r@x.edu\r\n".encode("utf-8"))
    roster = read_roster(path)
    assert [(s.id, s.name, s.email) for s in roster.students] == [("s1", "Jane Doe", "j@x.edu"),
                                                                   ("s2", "Richard Roe", "r@x.edu")]
    split = write(tmp_path / "split.csv", "SID,First name,Last name,Email\n7,Émile,Zola,e@x.fr\n".encode("cp1252"))
    assert read_roster(split).students[0].name == "Émile Zola"


def test_a_canvas_gradebook_export_is_a_roster(tmp_path):
    path = write(tmp_path / "canvas.csv",
                 'Student,ID,SIS User ID,SIS Login ID,Section,relu_mse_training (4711),Current Score\n'
                 '    Points Possible,,,,,22.00,(read only)\n'
                 '"Doe, Jane",101,s1001,jdoe,Section A,,\n'
                 '"Roe, Richard",102,s1002,rroe,Section B,,\n'
                 '"Student, Test",999,,,Section A,,\n')
    roster = read_roster(path)
    assert [(s.id, s.canvas_id, s.login, s.section) for s in roster.students] == [
        ("s1001", "101", "jdoe", "Section A"), ("s1002", "102", "rroe", "Section B")]
    assert roster.canvas_columns == ["relu_mse_training (4711)"]
    assert canvas_columns(["relu_mse_training"], {}, roster.canvas_columns) == {
        "relu_mse_training": "relu_mse_training (4711)"}
    assert canvas_columns(["relu_mse_training"], {"relu_mse_training": "55"}) == {
        "relu_mse_training": "relu_mse_training (55)"}
    assert canvas_columns(["relu_mse_training"], {"relu_mse_training": "4711"}, ["Backprop 3 (4711)"]) == {
        "relu_mse_training": "Backprop 3 (4711)"}
    assert canvas_columns(["relu_mse_training"]) == {"relu_mse_training": "relu_mse_training"}


@pytest.mark.parametrize("content, where, words", [
    ("name,email\nJane,j@x\n", ":1:", "no student id column"),
    ("id,name\ns1,Jane\ns1,Jane again\n", ":3:", "already on line 2"),
    ("id,name\n,Nobody\n", ":2:", "no student id"),
    ("id,name\n", "", "lists no students"),
    ("", "", "empty"),
])
def test_unusable_rosters_say_where(tmp_path, content, where, words):
    with pytest.raises(RosterError, match=words) as err:
        read_roster(write(tmp_path / "bad.csv", content))
    assert f"bad.csv{where}" in str(err.value)


def test_mapping_file_by_path_or_name_with_or_without_header(tmp_path, roster_file):
    subs = tmp_path / "subs"
    a, b = write(subs / "a" / "hw.ipynb"), write(subs / "b.ipynb")
    with_header = read_mapping(write(tmp_path / "map.csv", "Filename;SID;Submitted at\n"
                                                           "subs/a/hw.ipynb;s1001;2026-12-02 10:00 +01:00\n"
                                                           "b.ipynb;richard@example.edu;\n"))
    who = Identifier(read_roster(roster_file), with_header, roots=[subs])
    first, second = who.identify(a), who.identify(b)
    assert [s.id for s in first.students] == ["s1001"] and first.matched_by == "mapping"
    assert first.submitted_at == datetime(2026, 12, 2, 9, 0, tzinfo=UTC) and first.time_source == "mapping file"
    assert [s.id for s in second.students] == ["s1002"] and second.time_source == "file time"
    bare = read_mapping(write(tmp_path / "bare.csv", "b.ipynb,s9999\n"))
    assert bare.entries[0].student == "s9999"
    problem = Identifier(read_roster(roster_file), bare).identify(b).problem
    assert "bare.csv:1" in problem and "not on the roster" in problem
    with pytest.raises(RosterError, match="bare2.csv:2"):
        read_mapping(write(tmp_path / "bare2.csv", "b.ipynb,s1\nonly-a-file\n"))


# ------------------------------------------------------------------ matching export formats

def test_canvas_bulk_download_names(tmp_path):
    roster = read_roster(write(tmp_path / "r.csv", 'Student,ID,SIS User ID\n"Doe, Jane",101,s1001\n'
                                                   '"Roe, Richard",102,s1002\n"Smith, Ann",103,s1003\n'))
    subs = tmp_path / "submissions"
    late_time = DUE + timedelta(hours=30)
    files = {
        write(subs / "doejane_101_5001_relu_mse_training.ipynb", mtime=DUE - timedelta(hours=1)): 20.0,
        write(subs / "roerichard_LATE_102_5002_relu_mse_training-1.ipynb", mtime=late_time): 20.0,
        write(subs / "smithann_LATE_777_5003_relu_mse_training.ipynb", mtime=DUE): 20.0,  # id unknown, name known
        write(subs / "nobody_999_5004_relu_mse_training.ipynb"): 20.0,
    }
    results = results_for(files)
    ids = identify_all(results, roster, None, roots=[subs])
    section = grade_students(results, ids, roster, LatePolicy(DUE, parse_rate("10%/day")))
    grades = by_student(section)
    assert grades["s1001"].final_score == 20 and grades["s1001"].late_penalty == 0
    assert grades["s1002"].late_penalty == pytest.approx(4.4)  # 30 hours: 2 started days x 10% of 22
    # Canvas says LATE but the file time does not show it: one day is charged, and said so
    assert grades["s1003"].late_penalty == pytest.approx(2.2) and "charged one day" in grades["s1003"].note
    assert section.unmatched == [{"file": str(subs / "nobody_999_5004_relu_mse_training.ipynb"),
                                  "reason": "Canvas user 999 (nobody) is not on the roster"}]
    assert {s.matched_by for s in results.submissions if s.student_ids} == {"canvas"}


def test_canvas_names_without_a_roster_name_the_canvas_user(tmp_path):
    f = write(tmp_path / "doejane_101_5001_hw.ipynb")
    who = Identifier().identify(f)
    assert [(s.id, s.canvas_id, s.name) for s in who.students] == [("101", "101", "doejane")]
    assert who.canvas_late is False


GRADESCOPE_METADATA = """\
submission_300000001:
  :submitters:
  - :name: Jane Doe
    :sid: s1001
    :email: jane@example.edu
  :created_at: 2026-12-01 15:10:00.123456789 -08:00
  :score: 17.0
  :status: processed
  :results:
    score: 17.0
    output: |-
      ok
  :history: []
submission_300000002:
  :submitters:
  - :name: Richard Roe
    :sid: s1002
    :email: richard@example.edu
  - :name: Ann Smith
    :sid: ''
    :email: ann@example.edu
  :created_at: 2026-12-02 01:30:00.000000000 Z
submission_300000003:
  :submitters:
  - :name: Someone Else
    :sid: x9
    :email: someone@example.edu
  :created_at: 2026-12-01 10:00:00.000000000 Z
"""


def test_gradescope_export_folder(tmp_path, roster_file):
    export = tmp_path / "assignment_4711_export"
    write(export / "submission_metadata.yml", GRADESCOPE_METADATA)
    files = {write(export / "submission_300000001" / "relu_mse_training.ipynb"): 17.0,
             write(export / "submission_300000002" / "work" / "relu_mse_training.ipynb"): 21.0,
             write(export / "submission_300000003" / "relu_mse_training.ipynb"): 5.0}
    roster = read_roster(roster_file)
    results = results_for(files)
    ids = identify_all(results, roster, None, roots=[tmp_path])
    first = ids[0]
    assert first.matched_by == "gradescope" and first.time_source == "Gradescope"
    assert first.submitted_at == datetime(2026, 12, 1, 23, 10, 0, 123456, tzinfo=UTC)
    section = grade_students(results, ids, roster, LatePolicy(DUE, parse_rate("10%/day"), parse_duration("15m")))
    grades = by_student(section)
    assert grades["s1001"].final_score == 17  # 15:10 -08:00 is 23:10 UTC: on time
    # a group submission counts for every member (Ann is found by email); 1 h 31 min late = 1 day
    assert grades["s1002"].final_score == pytest.approx(18.8) == grades["s1003"].final_score
    assert results.submissions[1].student_ids == ["s1002", "s1003"]
    assert "not on the roster" in section.unmatched[0]["reason"] and "x9" in section.unmatched[0]["reason"]
    # a submission_metadata.yml a student uploaded (claiming another's name and an early time) is ignored
    write(export / "submission_300000003" / "submission_metadata.yml",
          "relu_mse_training.ipynb:\n  :submitters:\n  - :sid: s1001\n  :created_at: 2026-11-01 10:00:00 Z\n")
    planted = identify_all(results, roster, None)[2]
    assert not planted.students and "x9" in planted.problem
    # without a roster, the export's submitters are the students
    alone = grade_students(results, identify_all(results, None, None), None, LatePolicy())
    assert {g.student.id for g in alone.grades} == {"s1001", "s1002", "ann@example.edu", "x9"}


def test_otter_export_zips(tmp_path, roster_file):
    def export(path, inner_name, **metadata):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("relu_mse_training.ipynb", notebook(**metadata))
            zf.writestr("__zip_filename__", inner_name)
        return path

    subs = tmp_path / "exports"
    subs.mkdir()
    by_name = export(subs / "s1001_relu_mse_training_2026_12_02T08_30_00_123456.zip", "x.zip")
    by_metadata = export(subs / "relu_mse_training_2026_12_01T20_00_00_000000.zip", "x.zip",
                         otter={"assignment_name": "relu_mse_training", "student_id": "s1002"})
    renamed = export(subs / "upload.zip", "relu_mse_training_2026_11_30T09_15_00_000000.zip", email="ann@example.edu")
    unknown = export(subs / "relu_mse_training_2026_12_01T20_00_00_000001.zip", "x.zip")
    who = Identifier(read_roster(roster_file), None, roots=[subs])
    first, second, third, fourth = map(who.identify, (by_name, by_metadata, renamed, unknown))
    assert [s.id for s in first.students] == ["s1001"] and first.matched_by == "file name"
    assert first.submitted_at == datetime(2026, 12, 2, 8, 30, 0, 123456).astimezone()
    assert first.time_source == "Otter export name"
    assert [s.id for s in second.students] == ["s1002"] and second.matched_by == "notebook metadata"
    assert [s.id for s in third.students] == ["s1003"]
    assert third.submitted_at == datetime(2026, 11, 30, 9, 15).astimezone()
    assert not fourth.students and "no student found" in fourth.problem
    assert otter_timestamp("hw_2026_13_01T00_00_00_000000.zip") is None  # month 13: not a time


def test_student_folders_and_ambiguous_names(tmp_path, roster_file):
    roster = read_roster(roster_file)
    subs = tmp_path / "subs"
    in_folder = write(subs / "s1002" / "relu_mse_training.ipynb")
    both = write(subs / "s1001_and_s1003.ipynb")
    who = Identifier(roster, None, roots=[subs])
    assert [s.id for s in who.identify(in_folder).students] == ["s1002"]
    assert "several students" in who.identify(both).problem


# ------------------------------------------------------------------ which submission counts

def test_latest_or_best_and_missing_students(tmp_path, roster_file):
    roster = read_roster(roster_file)
    subs = tmp_path / "subs"
    mapping = read_mapping(write(tmp_path / "map.csv", "file,student_id,submitted_at\n"
                                                       "first.ipynb,s1001,2026-12-01T10:00Z\n"
                                                       "second.ipynb,s1001,2026-12-01T20:00Z\n"
                                                       "broken_grader.ipynb,s1001,2026-12-01T22:00Z\n"
                                                       "late_best.ipynb,s1002,2026-12-03T12:00Z\n"
                                                       "early.ipynb,s1002,2026-12-01T12:00Z\n"))
    files = {write(subs / "first.ipynb"): 20.0, write(subs / "second.ipynb"): 12.0,
             write(subs / "broken_grader.ipynb"): (0.0, "error"),
             write(subs / "late_best.ipynb"): 22.0, write(subs / "early.ipynb"): 15.0,
             write(subs / "stray.ipynb"): 3.0}
    policy = LatePolicy(DUE, parse_rate("10%/day"))
    results = results_for(files)
    latest = by_student(grade_students(results, identify_all(results, roster, mapping, [subs]), roster, policy))
    assert latest["s1001"].file.endswith("second.ipynb") and latest["s1001"].final_score == 12
    assert latest["s1001"].submissions == 3 and "the latest counts" in latest["s1001"].note
    assert latest["s1002"].file.endswith("late_best.ipynb") and latest["s1002"].final_score == pytest.approx(17.6)
    assert latest["s1003"].missing and latest["s1003"].status == "missing" and latest["s1003"].final_score is None
    counted = {Path(s.file).name: s.counted for s in results.submissions}
    assert counted == {"first.ipynb": False, "second.ipynb": True, "broken_grader.ipynb": False,
                       "late_best.ipynb": True, "early.ipynb": False, "stray.ipynb": None}

    section = grade_students(results, identify_all(results, roster, mapping, [subs]), roster, policy, keep="best")
    best = by_student(section)
    assert best["s1001"].file.endswith("first.ipynb") and best["s1001"].final_score == 20
    assert best["s1002"].file.endswith("late_best.ipynb")  # 22 - 4.4 late still beats 15
    assert [Path(u["file"]).name for u in section.unmatched] == ["stray.ipynb"]
    assert [s.id for s in section.missing("relu_mse_training")] == ["s1003"]


# ------------------------------------------------------------------ the late policy

@pytest.mark.parametrize("submitted, lost, late", [
    (DUE - timedelta(hours=3), 0.0, False),  # on time
    (DUE + timedelta(minutes=14), 0.0, False),  # within the 15 minutes of grace
    (DUE + timedelta(minutes=16), 2.2, True),  # past the grace: a started day
    (DUE + timedelta(hours=23), 2.2, True),  # 1 day late
    (DUE + timedelta(days=1, minutes=1), 4.4, True),  # into the second day
    (DUE + timedelta(days=9), 11.0, True),  # 9 days would be 90%: capped at 50% of 22
])
def test_late_policy(submitted, lost, late):
    policy = LatePolicy(DUE, parse_rate("10%/day"), parse_duration("15m"), parse_percent("50%"))
    penalty = policy.assess(submitted, 20.0, 22.0)
    assert penalty.late is late and penalty.points == pytest.approx(lost)
    if lost == 11.0:
        assert "capped at 50% of 22" in penalty.explanation


def test_late_policy_in_points_per_hour_never_below_zero_and_canvas_markers():
    policy = LatePolicy(DUE, parse_rate("2 points per hour"))
    assert policy.assess(DUE + timedelta(minutes=90), 20.0, 22.0).points == 4  # 2 started hours
    tiny = policy.assess(DUE + timedelta(hours=5), 3.0, 22.0)
    assert tiny.points == 3 and "cannot go below 0" in tiny.explanation
    assert policy.assess(DUE + timedelta(days=3), 20.0, 22.0, canvas_late=False).late is False  # Canvas knows extensions
    assert LatePolicy().assess(DUE, 20.0, 22.0) is None
    assert LatePolicy().assess(DUE, 20.0, 22.0, canvas_late=True).points == 0


@pytest.mark.parametrize("parse, text", [(parse_rate, "10%"), (parse_rate, "ten%/day"), (parse_rate, "5%/fortnight"),
                                         (parse_duration, "15 parsecs"), (parse_duration, "m15"),
                                         (parse_percent, "150%"), (parse_time, "tomorrow")])
def test_policy_options_refuse_nonsense(parse, text):
    with pytest.raises(ValueError):
        parse(text)


def test_policy_option_forms():
    assert parse_rate("5%/h").unit == "hour" and parse_rate("2/day").percent is False
    assert parse_duration("1h30m") == timedelta(minutes=90) and parse_duration("0") == timedelta(0)
    assert parse_time("2026-12-01T23:59-08:00") == datetime(2026, 12, 2, 7, 59, tzinfo=UTC)
    assert parse_time("2026-12-01 23:59:00.123456789 Z") == datetime(2026, 12, 1, 23, 59, 0, 123456, tzinfo=UTC)


def test_command_line_reports_bad_options(capsys, tmp_path):
    from autograder.__main__ import main

    assert main(["grade", "x", "--late-penalty", "lots"]) == 2  # a usage error: exit code 2
    assert "not a late penalty" in capsys.readouterr().err
    assert main(["grade", "x", "--roster", str(write(tmp_path / "r.csv", "name\nJane\n"))]) == 2
    assert "r.csv:1: no student id column" in capsys.readouterr().err


# ------------------------------------------------------------------ exports and the model

def test_exports_parse_back(tmp_path, roster_file):
    roster = read_roster(roster_file)
    mapping = read_mapping(write(tmp_path / "map.csv", "jane.ipynb,s1001,2026-12-01T20:00Z\n"
                                                       "richard.ipynb,s1002,2026-12-02T20:00Z\n"))
    files = {write(tmp_path / "jane.ipynb"): 21.5, write(tmp_path / "richard.ipynb"): 18.0}
    results = results_for(files)
    section = grade_students(results, identify_all(results, roster, mapping), roster,
                             LatePolicy(DUE, parse_rate("10%/day")))
    rows = list(csv.reader(io.StringIO(canvas_csv(section, {"relu_mse_training": "Backprop 3 (4711)"}))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Backprop 3 (4711)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "22"]
    assert rows[2:] == [["Jane Doe", "", "s1001", "", "", "21.5"], ["Richard Roe", "", "s1002", "", "", "15.8"],
                        ["Ann Smith", "", "s1003", "", "", ""]]
    plain = list(csv.DictReader(io.StringIO(scores_csv(section.for_assignment("relu_mse_training")))))
    assert [r["id"] for r in plain] == ["s1001", "s1002", "s1003"]
    richard = plain[1]
    assert (richard["name"], richard["email"], richard["score"], richard["max"], richard["late_penalty"],
            richard["final"], richard["status"]) == ("Richard Roe", "richard@example.edu", "18", "22", "2.2",
                                                     "15.8", "graded")
    assert richard["submission_file"].endswith("richard.ipynb") and "1 day late" in richard["note"]
    assert plain[2]["status"] == "missing" and plain[2]["final"] == "" and plain[2]["submission_file"] == ""
    assert scores_file("relu mse/training") == "scores_relu_mse_training.csv"


def test_model_parses_the_diagnosis_once_and_keeps_unknown_keys():
    raw = {"file": "a.ipynb", "status": "graded", "score": 3, "max_score": 7, "future_key": [1],
           "questions": {"q1": {"score": 3, "max_score": 7, "tests": [
               {"name": "t", "passed": False, "points": 4, "hidden": True,
                "message": "x\nLikely mistake (transposed): look at the shapes"}]}}}
    sub = SubmissionResult.from_dict(raw)
    assert sub.questions["q1"].tests[0].diagnosis == "transposed" and sub.mistakes == {"transposed"}
    again = sub.to_dict()
    assert again["future_key"] == [1] and again["questions"]["q1"]["tests"][0]["diagnosis"] == "transposed"
    assert "student_ids" not in again and "late" not in again  # student fields only when set
    assert SubmissionResult.from_dict({"status": "weird"}).status is Status.ERROR
    assert isinstance(QuestionResult.from_dict("q", {}).tests, list) and TestResult.__test__ is False
    grade = StudentGrade.from_dict({"student": {"id": "s1"}, "assignment": "a"})
    assert grade.missing and StudentGrade.from_dict(grade.to_dict()) == grade


# ------------------------------------------------------------------ end to end, with real grading

@pytest.fixture(scope="session")
def relu_dist(tmp_path_factory):
    """relu_mse_training built once (the example submissions are for it)."""
    from autograder.builder import build

    out = tmp_path_factory.mktemp("roster_dist")
    build(["relu_mse_training"], out, progress=False)
    return out


def test_canvas_bulk_download_to_canvas_import(tmp_path, relu_dist, monkeypatch):
    """An instructor's run: Canvas's gradebook export as the roster, Canvas's bulk download of the
    example notebooks, a due date with grace and a penalty; the Canvas file is ready to import."""
    from autograder.__main__ import main
    from autograder.report.page import render
    from autograder.report.summary import summarize

    monkeypatch.chdir(tmp_path)
    roster = write(tmp_path / "gradebook_export.csv",
                   "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Backprop: ReLU MSE training (4711)\n"
                   "    Points Possible,,,,,22.00\n"
                   '"Lovelace, Ada",201,s1001,ada,Lab 1,\n"Turing, Alan",202,s1002,alan,Lab 1,\n'
                   '"Hopper, Grace",203,s1003,grace,Lab 2,\n"Noether, Emmy",204,s1004,emmy,Lab 2,\n')
    download = tmp_path / "submissions"
    download.mkdir()
    for source, name, when in [
            ("correct.ipynb", "lovelaceada_201_9001_relu_mse_training.ipynb", DUE - timedelta(days=1)),
            ("partly_wrong.ipynb", "turingalan_LATE_202_9002_relu_mse_training.ipynb", DUE + timedelta(hours=20)),
            ("broken_syntax.ipynb", "hopper_grace_relu.ipynb", DUE)]:  # not a Canvas name: unmatched
        shutil.copy(EXAMPLES / source, download / name)
        os.utime(download / name, (when.timestamp(), when.timestamp()))
    out = tmp_path / "grades"
    code = main(["grade", str(download), "--dist", str(relu_dist), "--out", str(out), "--workers", "2",
                 "--roster", str(roster), "--due", "2026-12-01T23:59+00:00", "--late-penalty", "10%/day",
                 "--grace", "15m", "--canvas-assignment", "4711"])
    assert code == 0

    rows = list(csv.reader((out / CANVAS_FILE).open(encoding="utf-8")))
    # the column of the exported gradebook with that id, so Canvas updates that assignment
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Backprop: ReLU MSE training (4711)"]
    assert rows[1][0] == "Points Possible" and rows[1][5] == "22"
    table = {row[2]: row for row in rows[2:]}
    assert table["s1001"] == ["Lovelace, Ada", "201", "s1001", "ada", "Lab 1", "22"]
    results = json.loads((out / "results.json").read_text())
    partly = next(s for s in results["submissions"] if "turingalan" in s["file"])
    assert partly["status"] == "graded" and partly["score"] < 22 and partly["late"]["units"] == 1
    assert float(table["s1002"][5]) == pytest.approx(partly["score"] - 2.2)
    assert table["s1003"][5] == "" and table["s1004"][5] == ""  # unmatched file, no submission
    students = results["students"]
    assert [Path(u["file"]).name for u in students["unmatched"]] == ["hopper_grace_relu.ipynb"]
    assert students["policy"]["late_penalty"] == "10%/day" and students["policy"]["keep"] == "latest"
    plain = {r["id"]: r for r in csv.DictReader((out / scores_file("relu_mse_training")).open())}
    assert plain["s1004"]["status"] == "missing" and plain["s1002"]["late_penalty"] == "2.2"
    feedback = (out / partly["feedback"]).read_text()
    assert "## Your grade" in feedback and "1 day late" in feedback and "Turing, Alan (s1002)" in feedback

    # one model for all: results.json round-trips through it, and the report reads it
    assert GradingResults.from_dict(results).to_dict() == results
    summary = summarize(results)
    assert summary.submissions == 3 and [s.id for s in summary.students.missing("relu_mse_training")] == [
        "s1003", "s1004"]
    page = render(summary, {})
    assert "Noether, Emmy (s1004)" in page and "hopper_grace_relu.ipynb" in page
    # a rerun without the roster leaves no student fields behind
    assert main(["grade", str(download), "--dist", str(relu_dist), "--out", str(out)]) == 0
    again = json.loads((out / "results.json").read_text())
    assert "students" not in again and not any("student_ids" in s for s in again["submissions"])
