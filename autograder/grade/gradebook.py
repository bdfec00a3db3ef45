"""Write what the grader found: ``grades.csv``, ``results.json`` and one feedback file per
submission. Every file is written whole to a temporary name and moved into place
(``os.replace``), so a reader never sees half a gradebook, even if grading is interrupted."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

RESULTS_FILE = "results.json"
CSV_FILE = "grades.csv"
FEEDBACK_DIR = "feedback"

DIAGNOSIS_RE = re.compile(r"Likely mistake \(([\w-]+)\)")

STATUS_WORDS = {
    "graded": "graded",
    "timeout": "stopped: it ran past the time limit",
    "crashed": "stopped: the notebook's process died",
    "invalid": "not gradable",
    "wrong-assignment": "not gradable: another assignment",
    "error": "grader error (not your fault; the instructor will look at it)",
}


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_results(out_dir: Path) -> dict:
    """The previous ``results.json`` in ``out_dir`` (empty if none or unreadable)."""
    try:
        data = json.loads((Path(out_dir) / RESULTS_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("submissions"), list) else {}
    except (OSError, ValueError):
        return {}


def _fmt(x) -> str:
    if x is None:
        return ""
    x = float(x)
    return str(int(x)) if x == int(x) else f"{x:.4g}"


def _question_key(name: str) -> tuple:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else float("inf"), name)


def question_columns(rows: list[dict], assignments: dict) -> list[str]:
    names = set()
    for a in assignments.values():
        names.update(a.get("questions", {}))
    for r in rows:
        names.update(r.get("questions") or {})
    return sorted(names, key=_question_key)


def row_message(row: dict) -> str:
    """One line for the CSV: the reason when not graded, else what lost points."""
    if row.get("status") != "graded":
        return row.get("reason") or row.get("status", "")
    lost = []
    for q, qr in (row.get("questions") or {}).items():
        if float(qr.get("score", 0)) < float(qr.get("max_score", 0)):
            codes = sorted({t.get("diagnosis") for t in qr.get("tests", []) if not t.get("passed") and t.get("diagnosis")})
            lost.append(q + (f" ({', '.join(codes)})" if codes else ""))
    parts = []
    if row.get("cell_errors"):
        parts.append(f"{len(row['cell_errors'])} cell(s) raised errors")
    parts.append("lost points on " + ", ".join(lost) if lost else "full marks")
    notes = sorted({n.get("code") for qr in (row.get("questions") or {}).values()
                    for n in qr.get("notes") or [] if isinstance(n, dict) and n.get("code")})
    if notes:
        parts.append("notes: " + ", ".join(notes))
    return "; ".join(parts)


def csv_text(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "assignment", "status", *columns, "score", "max_score", "message"])
    for r in rows:
        qs = r.get("questions") or {}
        writer.writerow([
            r["file"], r.get("assignment") or "", r["status"],
            *(_fmt(qs[q].get("score")) if q in qs else "" for q in columns),
            _fmt(r.get("score")), _fmt(r.get("max_score")), row_message(r),
        ])
    return buf.getvalue()


def _block(text: str) -> str:
    text = (text or "").rstrip()
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}"


OTTER_SOURCE_LINE = re.compile(r"^Error at line \d+ in test [^\n]*:\n(?:  [^\n]*\n)*")


def _test_message(test: dict, limit: int = 4000) -> str:
    """The check's own message; Otter's echo of the failing test line (often a screenful of
    literals, and for hidden tests their code) is left out."""
    msg = (test.get("message") or "").strip()
    msg = re.sub(r"^❌ Test case failed\n?", "", msg)
    msg = OTTER_SOURCE_LINE.sub("", msg, count=1)
    msg = re.sub(r"^CheckFailure: ", "", msg)
    if len(msg) > limit:
        msg = msg[:limit] + "\n... (message shortened)"
    return msg


def feedback_markdown(row: dict) -> str:
    """What a student reads: the score, then per question the points, what failed and what to
    look at. Hidden tests are named only as hidden; their messages come from the shipped checks,
    which never print hidden expected values."""
    lines = [f"# Feedback for `{Path(row['file']).name}`", ""]
    if row.get("assignment"):
        lines.append(f"Assignment: **{row['assignment']}**  ")
    status = row.get("status", "")
    words = STATUS_WORDS.get(status, status)
    lines.append(f"Status: **{status}**" + (f" ({words})" if words != status else "") + "  ")
    if row.get("max_score"):
        lines.append(f"Score: **{_fmt(row.get('score'))} / {_fmt(row.get('max_score'))}**")
    lines.append("")
    if status != "graded" and row.get("reason"):
        lines += ["## Why it was not graded normally", "", row["reason"], ""]
        if row.get("questions"):
            lines += ["Points below are for what ran before it stopped.", ""]
    if row.get("cell_errors"):
        lines += ["## Cells that raised errors", "",
                  "These cells failed when your notebook ran top to bottom; anything they define is missing.", ""]
        for err in row["cell_errors"][:10]:
            if isinstance(err, dict):
                where = f"cell {err['cell'] + 1}" if isinstance(err.get("cell"), int) else "a cell"
                lines += [f"- {where} of the notebook:", "", _block(str(err.get("error", ""))), ""]
            else:
                lines += [_block(str(err)), ""]
    for q, qr in (row.get("questions") or {}).items():
        score, possible = qr.get("score", 0), qr.get("max_score", 0)
        mark = "✅" if float(score) >= float(possible) else "❌"
        lines += [f"## {q}: {_fmt(score)} / {_fmt(possible)} {mark}", ""]
        tests = qr.get("tests") or []
        failed = [t for t in tests if not t.get("passed")]
        passed = [t for t in tests if t.get("passed")]
        if passed or not failed:
            lines += [f"Passed {len(passed)} of {len(tests)} tests.", ""]
        for t in failed:
            kind = "hidden test" if t.get("hidden") else "test"
            pts = f" ({_fmt(t.get('points'))} points)" if t.get("points") else ""
            lines.append(f"- ❌ {kind} `{t.get('name', '')}`{pts}")
            if t.get("diagnosis"):
                lines.append(f"  - likely mistake: **{t['diagnosis']}**")
            msg = _test_message(t)
            if msg:
                lines += ["", _block(msg), ""]
        for n in qr.get("notes") or []:
            lines += [f"- Note ({n.get('code', '')}): {n.get('message', '')}", ""]
    if status == "graded" and row.get("score") == row.get("max_score") and row.get("max_score"):
        lines += ["Every test passed. Well done.", ""]
    return "\n".join(lines).rstrip() + "\n"


def summary(rows: list[dict]) -> str:
    counts = Counter(r["status"] for r in rows)
    lines = [f"{len(rows)} submission(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
    by_assignment = defaultdict(list)
    for r in rows:
        if r.get("assignment") and r.get("max_score"):
            by_assignment[r["assignment"]].append(r)
    for name in sorted(by_assignment):
        rs = by_assignment[name]
        mean = sum(float(r.get("score") or 0) for r in rs) / len(rs)
        lines.append(f"  {name}: mean {mean:.2f} / {_fmt(rs[0]['max_score'])} over {len(rs)} submission(s)")
    return "\n".join(lines)


def write_gradebook(out_dir: Path, rows: list[dict], assignments: dict, *, settings: dict,
                    previous_feedback: set[str] = frozenset(), final: bool = True) -> None:
    """Write results.json always; grades.csv and feedback files when ``final``."""
    out_dir = Path(out_dir)
    results = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": final,
        "settings": settings,
        "assignments": assignments,
        "submissions": rows,
    }
    if final:
        feedback_dir = out_dir / FEEDBACK_DIR
        current = set()
        for r in rows:
            if r.get("feedback"):
                write_atomic(out_dir / r["feedback"], feedback_markdown(r))
                current.add(r["feedback"])
        for stale in set(previous_feedback) - current:  # feedback of files no longer graded here
            p = out_dir / stale
            if p.parent == feedback_dir and p.suffix == ".md":
                p.unlink(missing_ok=True)
        write_atomic(out_dir / CSV_FILE, csv_text(rows, question_columns(rows, assignments)))
    write_atomic(out_dir / RESULTS_FILE, json.dumps(results, indent=1, default=_json_default))


def _json_default(obj):
    try:
        import numpy as np
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:
        pass
    return str(obj)
