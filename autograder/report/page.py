"""The report's HTML page: one self-contained file (inline CSS, no scripts, no web fonts) that
shows the PNG figures saved beside it, so it opens from ``file://`` with no server.

Everything that comes from a submission (file names, reasons) is HTML-escaped.
"""
from __future__ import annotations

import statistics
from html import escape

from autograder.diagnosis import MESSAGES

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #1d2330; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 10px; }
.sub { color: #5b6475; margin: 0 0 20px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: white; border: 1px solid #dde1e8; border-radius: 8px; padding: 12px 16px; min-width: 150px; }
.card .n { font-size: 26px; font-weight: 650; } .card .l { color: #5b6475; font-size: 13px; }
.card.bad .n { color: #b3261e; }
figure { background: white; border: 1px solid #dde1e8; border-radius: 8px; margin: 0 0 16px; padding: 10px; }
figure img { max-width: 100%; display: block; margin: 0 auto; }
figcaption { color: #5b6475; font-size: 13px; margin-top: 6px; }
table { border-collapse: collapse; background: white; width: 100%; font-size: 14px; }
th, td { border: 1px solid #dde1e8; padding: 6px 9px; text-align: left; vertical-align: top; }
th { background: #eef1f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 13px; } .status { font-weight: 600; } .none { color: #5b6475; font-style: italic; }
.reason { white-space: pre-wrap; word-break: break-word; max-width: 640px; }
.warning { color: #b3261e; font-weight: 600; }
"""

ISOLATION_WORDS = {
    "root": "root (own unprivileged uid, no network, private view of the files)",
    "userns": "user namespaces (no network, private view of the files, the grader's uid)",
    "plain": "NOT ISOLATED (the notebook could read the grader's files and use the network)",
}


def _pct(value):
    return "–" if value is None else f"{value:.0f}%"


def _card(number, label, bad=False):
    return (f'<div class="card{" bad" if bad else ""}"><div class="n">{escape(str(number))}</div>'
            f'<div class="l">{escape(label)}</div></div>')


def _headline(summary):
    scores = summary.all_scores()
    not_graded = summary.submissions - summary.graded
    cards = [
        _card(summary.submissions, "submissions"),
        _card(summary.graded, "graded"),
        _card(not_graded, "did not grade", bad=not_graded > 0),
        _card(_pct(statistics.mean(scores)) if scores else "–", "mean score"),
        _card(_pct(statistics.median(scores)) if scores else "–", "median score"),
        _card(sum(1 for s in scores if s >= 100 - 1e-9), "full marks"),
        _card(summary.total_mistakes(), "diagnosed mistakes"),
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _isolation(summary):
    """Where the notebooks ran: the sandbox's isolation mode, per number of submissions."""
    if not summary.isolation:
        return ""
    parts = ", ".join(f"{n} in {escape(ISOLATION_WORDS.get(mode, mode))}"
                      for mode, n in sorted(summary.isolation.items()))
    css = "sub warning" if summary.unisolated else "sub"
    return f'<p class="{css}">Sandbox: {parts}.</p>'


def _assignment_table(summary):
    if not summary.assignments:
        return '<p class="none">No submission could be matched to an assignment.</p>'
    rows = []
    for a in summary.assignments:
        scores = summary.scores.get(a, [])
        rates = [(summary.pass_rate(a, q), q) for q in summary.questions(a)]
        rates = [(r, q) for r, q in rates if r is not None]
        hardest = min(rates)[1] if rates else None
        mistakes = sum(sum(c.values()) for (assignment, _), c in summary.mistakes.items() if assignment == a)
        rows.append(
            f"<tr><td><code>{escape(a)}</code></td><td class=num>{len(scores)}</td>"
            f"<td class=num>{_pct(statistics.mean(scores)) if scores else '–'}</td>"
            f"<td>{escape(hardest) + f' ({_pct(100 * min(rates)[0])} passed)' if hardest else '–'}</td>"
            f"<td class=num>{mistakes}</td></tr>")
    return ("<table><tr><th>assignment</th><th>scored submissions</th><th>mean score</th>"
            "<th>hardest question</th><th>diagnosed mistakes</th></tr>" + "".join(rows) + "</table>")


def _mistake_table(summary):
    codes = summary.mistake_codes()
    if not codes:
        return '<p class="none">No failing test matched a known mistake.</p>'
    rows = []
    for code in codes:
        places = sorted(((c[code], a, q) for (a, q), c in summary.mistakes.items() if c.get(code)),
                        key=lambda item: (-item[0], item[1], item[2]))
        total = sum(n for n, _, _ in places)
        where = ", ".join(f"{escape(a)} · {escape(q)} ({n})" for n, a, q in places[:4])
        meaning = MESSAGES.get(code, "")
        rows.append(f"<tr><td><code>{escape(code)}</code></td><td class=num>{total}</td><td>{where}</td>"
                    f"<td>{escape(meaning[:1].upper() + meaning[1:])}</td></tr>")
    return ("<table><tr><th>mistake</th><th>times</th><th>where (most often first)</th>"
            "<th>what the student is told</th></tr>" + "".join(rows) + "</table>")


def _not_graded_table(summary):
    if not summary.not_graded:
        return '<p class="none">Every submission was graded.</p>'
    rows = []
    for row in summary.not_graded:
        points = ("–" if row["score"] is None else
                  f"{row['score']:g}" + (f" / {row['max_score']:g}" if row["max_score"] else ""))
        rows.append(f"<tr><td><code>{escape(row['file'])}</code></td><td>{escape(row['assignment'] or '–')}</td>"
                    f"<td class=status>{escape(row['status'])}</td><td class=num>{points}</td>"
                    f"<td class=reason>{escape(row['reason'])}</td></tr>")
    return ("<table><tr><th>file</th><th>assignment</th><th>status</th><th>points kept</th><th>reason</th></tr>"
            + "".join(rows) + "</table>")


def _students_section(summary):
    """Who handed nothing in, lateness, and unmatched files: only when grading had a roster or a due date."""
    section = summary.students
    if section is None:
        return ""
    rows = []
    for a in section.assignments():
        grades = section.for_assignment(a)
        late = [g for g in grades if g.late_penalty]
        missing = [g.student for g in grades if g.missing]
        names = ", ".join(escape(f"{s.name} ({s.id})" if s.name else s.id) for s in missing) or "–"
        rows.append(f"<tr><td><code>{escape(a)}</code></td><td class=num>{len(grades) - len(missing)}</td>"
                    f"<td class=num>{len(late)}</td><td class=num>{sum(g.late_penalty for g in late):g}</td>"
                    f"<td>{names}</td></tr>")
    table = ("<table><tr><th>assignment</th><th>students with a submission</th><th>late</th>"
             "<th>points lost to lateness</th><th>no submission</th></tr>" + "".join(rows) + "</table>")
    unmatched = "".join(f"<tr><td><code>{escape(str(u.get('file', '')))}</code></td>"
                        f"<td class=reason>{escape(str(u.get('reason', '')))}</td></tr>" for u in section.unmatched)
    if unmatched:
        table += ("<h3>Files matched to no student</h3><table><tr><th>file</th><th>why</th></tr>"
                  + unmatched + "</table>")
    return "<h2>Students</h2>\n" + table


def render(summary, figures, title="Backprop Lab: class report"):
    """The page as a string; ``figures`` maps PNG file names (relative to the page) to captions."""
    status = ", ".join(f"{n} {escape(s)}" for s, n in sorted(summary.status_counts.items())) or "none"
    figure_html = "".join(
        f'<figure><img src="{escape(name)}" alt="{escape(caption)}"><figcaption>{escape(caption)}</figcaption></figure>'
        for name, caption in figures.items())
    generated = f" Graded at {escape(summary.generated_at)}." if summary.generated_at else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><main>
<h1>{escape(title)}</h1>
<p class="sub">{summary.submissions} submission(s): {status}.{generated}</p>
{_isolation(summary)}
{_headline(summary)}
<h2>Assignments</h2>
{_assignment_table(summary)}
{_students_section(summary)}
<h2>Figures</h2>
{figure_html}
<h2>Diagnosed mistakes</h2>
{_mistake_table(summary)}
<h2>Submissions that did not grade</h2>
{_not_graded_table(summary)}
</main></body></html>
"""
