"""Class report from a graded folder: ``backprop-lab report DIR``.

Reads ``DIR/results.json`` (written by ``python -m autograder grade``) and writes
``DIR/report/index.html`` with its figures beside it as PNG files:

- ``score_distribution.png``: scores as a % of each assignment's points, stacked by assignment;
- ``pass_rates.png``: per assignment and question, the share of submissions with full points;
- ``mistakes.png``: how many submissions got each diagnosed mistake, per question (heatmap);

plus headline numbers, a table per assignment, the mistakes with what students were told, and
every submission that did not grade with its status and reason. The page has no scripts and
no external resources: it opens from ``file://``. ``python -m autograder.report.screenshot DIR``
renders it with headless Chromium to check it displays.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from autograder.report.summary import load

log = logging.getLogger(__name__)
REPORT_DIR = "report"
CAPTIONS = {
    "score_distribution.png": "Score distribution: each submission's score as a percentage of its "
                              "assignment's points (stacked by assignment).",
    "pass_rates.png": "Pass rate per question: the share of submissions that earned the question's full "
                      "points (labels: passed / submissions with a result for it).",
    "mistakes.png": "Diagnosed mistakes: the number of submissions whose failing tests on a question "
                    "matched a known mistake (counted once per submission and question).",
}


def write_report(grades_dir) -> Path:
    """Write the report for ``grades_dir``; returns the path of ``index.html``."""
    from autograder.report.figures import draw_all
    from autograder.report.page import render

    grades_dir = Path(grades_dir)
    summary = load(grades_dir)
    out = grades_dir / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    draw_all(summary, out)
    html = render(summary, CAPTIONS)
    index = out / "index.html"
    fd, tmp = tempfile.mkstemp(prefix=".index.", suffix=".tmp", dir=out)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(html)
    os.replace(tmp, index)
    return index


def main(args) -> int:
    index = write_report(args.grades_dir)
    log.info("report: %s (figures: %s)", index, ", ".join(sorted(CAPTIONS)))
    return 0
