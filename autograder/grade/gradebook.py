"""Write what the grader found: ``grades.csv``, ``results.json`` and one feedback file per
submission. Every file is written whole to a temporary name and moved into place
(``os.replace``), so a reader never sees half a gradebook, even if grading is interrupted.

Everything a submission controls (its file name, metadata, cell errors, exception messages,
printed output, notes) passes through ``safe_text`` once, where a row is assembled
(``safe_row``): valid UTF-8, bounded length, no terminal escapes or control characters. The
CSV writer also neutralises spreadsheet formulas. A row that still cannot be written (its
feedback file, its CSV line, its JSON) becomes that row's ``error``; ``grades.csv`` and
``results.json`` are always written whole."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import unicodedata
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from autograder.diagnosis import CODE_PATTERN

RESULTS_FILE = "results.json"
CSV_FILE = "grades.csv"
FEEDBACK_DIR = "feedback"

DIAGNOSIS_RE = CODE_PATTERN  # the one pattern of the diagnosis line

# ------------------------------------------------------------------ text a submission controls

# terminal escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), two-character ESC x
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]{0,1000}(?:\x07|\x1b\\)?|[@-Z\\-_])")
# characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"), with
# their full-width forms, which some spreadsheets also accept
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

# length caps (characters) per field of a row; any other string gets DEFAULT_CHARS
FIELD_CHARS = {"file": 400, "reason": 2000, "message": 4000, "error": 2000, "stdout_tail": 4000,
               "traceback": 3000, "code": 60, "diagnosis": 60, "name": 300, "assignment": 100}
DEFAULT_CHARS = 1000
MAX_LIST = {"cell_errors": 50, "tests": 200, "notes": 10}
MAX_QUESTIONS = 100


def safe_text(value, limit: int = DEFAULT_CHARS, *, lines: bool = True, keep: str = "head",
              name: bool = False) -> str:
    """``value`` as text that is safe to store, print and show: valid UTF-8 (lone surrogates such
    as ``"\\udcff"`` replaced), at most about ``limit`` characters (the head, or the tail when
    ``keep="tail"``, with a note saying it was shortened), no terminal escapes or control
    characters (newlines and tabs kept when ``lines``).

    ``name=True`` is for file names: every character that is not printable is written as an
    escape instead (``\\xff`` for a byte that is not UTF-8, ``\\x1b``, ``\\n``; a backslash as
    ``\\\\``), so two different names never look the same, and a name too long keeps its start,
    its end and a short hash of the whole."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value[: 4 * limit + 4]).decode("utf-8", "surrogateescape")
    elif not isinstance(value, str):
        try:
            value = str(value)
        except Exception:  # an object whose __str__ raises
            value = f"<{type(value).__name__} that cannot be shown>"
    if name:
        return _safe_name(value, limit)
    over = len(value) - limit
    if over > 0:  # shorten first: cleaning a huge string costs time, and it only ever removes
        value = value[-limit:] if keep == "tail" else value[:limit]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (from a non-UTF-8 file name, or JSON "\\udcff")
        value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if not value.isprintable():
        value = _printable(_ANSI.sub("", value.replace("\r\n", "\n")), lines)
    if over > 0:
        note = f"[... {over:,} more characters not shown]"
        value = f"{note}\n{value}" if keep == "tail" else f"{value}\n{note}" if lines else f"{value} {note}"
    return value


def _printable(value: str, lines: bool) -> str:
    """Only printable characters (Python's ``str.isprintable``): control characters, the
    bidirectional overrides that make text display in another order than it reads ("Trojan
    source"), zero-width and other format characters go; other spaces become plain spaces;
    newlines and tabs stay when ``lines``, else they become spaces too."""
    out = []
    for ch in value:
        if ch.isprintable() or lines and ch in "\n\t":
            out.append(ch)
        elif ch in "\n\t" or unicodedata.category(ch) == "Zs":
            out.append(" ")
    return "".join(out)


def _safe_name(value: str, limit: int) -> str:
    def escape(ch: str) -> str:
        code = ord(ch)
        if ch == "\\":
            return "\\\\"
        if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (os.fsdecode's surrogateescape)
            return f"\\x{code - 0xDC00:02x}"
        if code < 0x100:
            return f"\\x{code:02x}"
        return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"

    text = "".join(escape(ch) if ch == "\\" or _unsafe_in_name(ch) else ch for ch in value)
    if len(text) > limit:
        import hashlib
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        half = (limit - 14) // 2
        text = f"{text[:half]}…[{digest}]…{text[-half:]}"
    return text


def _unsafe_in_name(ch: str) -> bool:
    return not ch.isprintable()  # controls, surrogates, format characters, spaces other than " "


def safe_row(row, key: str = "", depth: int = 0):
    """A copy of ``row`` (a result, or any part of one) in which every string, dict key
    included, went through ``safe_text`` with the cap of its field, every number is finite, and
    lists and nesting are bounded. The one place submission-controlled text is made safe."""
    if isinstance(row, str) or isinstance(row, (bytes, bytearray)):
        if key == "file":
            return safe_text(row, FIELD_CHARS["file"], name=True)
        return safe_text(row, FIELD_CHARS.get(key, DEFAULT_CHARS), keep="tail" if key == "stdout_tail" else "head",
                         lines=key not in ("name", "code", "diagnosis", "assignment", "status"))
    if row is None or isinstance(row, bool) or isinstance(row, int) and abs(row) < 2 ** 53:
        return row
    if isinstance(row, (int, float)):
        try:
            row = float(row)
        except OverflowError:
            return None
        return row if row == row and abs(row) != float("inf") else None
    if depth > 8:
        return safe_text(row, 200)
    if isinstance(row, dict):
        items = list(row.items())
        if key == "questions":
            items = items[:MAX_QUESTIONS]
        return {safe_text(k, 200, lines=False): safe_row(v, str(k), depth + 1) for k, v in items}
    if isinstance(row, (list, tuple)):
        limit = MAX_LIST.get(key, 1000)
        kept = [safe_row(v, key if isinstance(v, str) else "", depth + 1) for v in list(row[:limit])]
        if len(row) > limit:
            kept.append(f"[... {len(row) - limit} more not shown]")
        return kept
    return safe_text(row, FIELD_CHARS.get(key, DEFAULT_CHARS))


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: one starting (after spaces) with a formula
    character gets a leading apostrophe."""
    text = "" if value is None else str(value)
    if text.lstrip(" ").startswith(FORMULA_START):
        return "'" + text
    return text

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
    # a short temporary name: the target's own name may be near the file system's limit
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=path.parent)
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
    try:
        x = float(x)
    except (TypeError, ValueError, OverflowError):
        return ""
    if x != x or abs(x) == float("inf"):
        return ""
    return str(int(x)) if x == int(x) else f"{x:.4g}"


def _number(x) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return x if x == x and abs(x) != float("inf") else 0.0


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
        if not isinstance(qr, dict):
            continue
        if _number(qr.get("score")) < _number(qr.get("max_score")):
            codes = sorted({str(t.get("diagnosis")) for t in qr.get("tests") or []
                            if isinstance(t, dict) and not t.get("passed") and t.get("diagnosis")})
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


def csv_line(row: dict, columns: list[str]) -> list[str]:
    """One CSV row's cells, every one of them safe to open in a spreadsheet."""
    qs = row.get("questions") or {}
    cells = [row.get("file", ""), row.get("assignment") or "", row.get("status", ""),
             *(_fmt(qs[q].get("score")) if isinstance(qs.get(q), dict) else "" for q in columns),
             _fmt(row.get("score")), _fmt(row.get("max_score")), safe_text(row_message(row), 2000, lines=False)]
    return [csv_cell(c) for c in cells]


def csv_text(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in ["file", "assignment", "status", *columns, "score", "max_score", "message"]])
    for r in rows:
        try:
            line = csv_line(r, columns)
        except Exception as exc:  # a row we cannot render still gets its line, saying so
            line = [csv_cell(safe_text(r.get("file", "?") if isinstance(r, dict) else "?", 400, name=True)),
                    "", "error", *("" for _ in columns), "", "",
                    csv_cell(f"grader error while writing this row: {type(exc).__name__}")]
        writer.writerow(line)
    return buf.getvalue()


def _code_span(text: str) -> str:
    """``text`` as Markdown inline code, whatever backticks it holds."""
    text = text.replace("\n", " ")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


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
    msg = OTTER_SOURCE_LINE.sub("", msg, count=1).lstrip("\n")  # its echo may end in a blank line
    msg = re.sub(r"^CheckFailure: ", "", msg)
    if len(msg) > limit:
        msg = msg[:limit] + "\n... (message shortened)"
    return msg


def feedback_markdown(row: dict) -> str:
    """What a student reads: the score, then per question the points, what failed and what to
    look at. Hidden tests are named only as hidden; their messages come from the shipped checks,
    which never print hidden expected values."""
    lines = [f"# Feedback for {_code_span(PurePosixPath(str(row.get('file', ''))).name)}", ""]
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
        if not isinstance(qr, dict):
            continue
        score, possible = qr.get("score") or 0, qr.get("max_score") or 0
        mark = "✅" if _fmt(score) and float(score) >= float(possible) else "❌"
        lines += [f"## {q}: {_fmt(score)} / {_fmt(possible)} {mark}", ""]
        tests = [t for t in qr.get("tests") or [] if isinstance(t, dict)]
        failed = [t for t in tests if not t.get("passed")]
        passed = [t for t in tests if t.get("passed")]
        if passed or not failed:
            lines += [f"Passed {len(passed)} of {len(tests)} tests.", ""]
        for t in failed:
            kind = "hidden test" if t.get("hidden") else "test"
            pts = (f" ({_fmt(t.get('points'))} point{'' if t.get('points') == 1 else 's'})"
                   if t.get("points") else "")
            lines.append(f"- ❌ {kind} {_code_span(str(t.get('name', '')))}{pts}")
            if t.get("diagnosis"):
                lines.append(f"  - likely mistake: **{t['diagnosis']}**")
            msg = _test_message(t)
            if msg:
                lines += ["", _block(msg), ""]
        for n in [n for n in qr.get("notes") or [] if isinstance(n, dict)]:
            lines += [f"- Note ({n.get('code', '')}): {n.get('message', '')}", ""]
    if status == "graded" and row.get("score") == row.get("max_score") and row.get("max_score"):
        lines += ["Every test passed. Well done.", ""]
    return "\n".join(lines).rstrip() + "\n"


ISOLATION_WORDS = {
    "root": "root (own uid, no network, private filesystem view)",
    "userns": "userns (namespaces under the grader's uid)",
    "plain": "plain (NOT ISOLATED: the notebook could read the grader's files and use the network)",
}


def summary(rows: list[dict], skipped: dict | None = None) -> str:
    """The lines printed at the end of a batch: statuses, isolation, what was skipped, means."""
    counts = Counter(str(r.get("status")) for r in rows)
    lines = [f"{len(rows)} submission(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
    modes = Counter(str(r["isolation"]) for r in rows if r.get("isolation"))
    if modes:
        lines.append("  isolation: " + "; ".join(f"{n} ran {ISOLATION_WORDS.get(m, m)}"
                                                  for m, n in sorted(modes.items())))
    if skipped:
        lines.append("  skipped on purpose (no row): " + ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())))
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
                    previous_feedback: set[str] = frozenset(), final: bool = True,
                    skipped: dict | None = None) -> None:
    """Write results.json always; grades.csv and feedback files when ``final``. ``skipped``:
    files found but skipped on purpose, counted by why (hidden files, other suffixes)."""
    out_dir = Path(out_dir)
    results = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": final,
        "settings": safe_row(settings),
        "assignments": safe_row(assignments),
        "skipped": safe_row(dict(skipped or {})),
        "submissions": rows,
    }
    if final:
        feedback_dir = out_dir / FEEDBACK_DIR
        current = set()
        for r in rows:
            if r.get("feedback"):
                current.add(r["feedback"])
                try:
                    write_atomic(out_dir / r["feedback"], feedback_markdown(r))
                except Exception as exc:  # this row's problem, never the batch's
                    row_error(r, f"the grader could not write the feedback file "
                                 f"({type(exc).__name__}: {safe_text(exc, 300, lines=False)})")
        for stale in set(previous_feedback) - current:  # feedback of files no longer graded here
            p = out_dir / str(stale)
            if p.parent == feedback_dir and p.suffix == ".md":
                try:
                    p.unlink(missing_ok=True)
                except OSError:
                    pass
        write_atomic(out_dir / CSV_FILE, csv_text(rows, question_columns(rows, assignments)))
    results["submissions"] = [_json_ready(r) for r in rows]
    # indented when final (a person may read it); a checkpoint, rewritten every few seconds while a
    # batch grades, is compact: json's indenting encoder is pure Python, 5x slower
    write_atomic(out_dir / RESULTS_FILE, json.dumps(results, indent=1 if final else None, ensure_ascii=False,
                                                    allow_nan=False, default=_json_default))


def row_error(row: dict, reason: str) -> None:
    """Turn ``row`` into an ``error`` row (kept points stay; errors are regraded next run)."""
    row["status"] = "error"
    row["reason"] = (f"{row['reason']}; " if row.get("reason") else "") + reason
    row["cache_key"] = None


def _json_ready(row):
    """``row`` if it serialises as strict JSON, else the row reduced to what does, with a reason."""
    try:
        json.dumps(row, ensure_ascii=False, allow_nan=False, default=_json_default).encode("utf-8")
        return row
    except Exception as exc:
        file = row.get("file", "?") if isinstance(row, dict) else "?"
        return {"file": safe_text(file, FIELD_CHARS["file"], name=True), "status": "error",
                "reason": f"grader error while writing this row: {type(exc).__name__}",
                "score": None, "max_score": None, "questions": {}, "cell_errors": [], "cache_key": None}


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
