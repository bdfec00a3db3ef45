"""The report's three figures, drawn with matplotlib's Agg backend and saved as PNG.

Each function takes a ``ClassSummary`` and a path, draws one figure, saves it, and returns the
path. An empty class still gets a figure that says so, so the page never has a broken image.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

DPI = 110
COLORS = ["#3b6ea5", "#e08a2c", "#4f9a58", "#c44e52", "#8172b3", "#937860", "#da8bc3"]


def _empty(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color="#555", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def score_distribution(summary, path):
    """Stacked histogram of score percentages, one colour per assignment."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    assignments = [a for a in summary.assignments if summary.scores.get(a)]
    if not assignments:
        _empty(ax, "No scored submissions")
        return _save(fig, path)
    bins = np.linspace(0, 100, 11)
    data = [summary.scores[a] for a in assignments]
    ax.hist(data, bins=bins, stacked=True, label=assignments, color=COLORS[:len(assignments)] if
            len(assignments) <= len(COLORS) else None, edgecolor="white")
    ax.set_xlim(0, 100)
    ax.set_xticks(bins)
    ax.set_xlabel("score (% of the assignment's points)")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Score distribution")
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, path)


def pass_rates(summary, path):
    """One horizontal bar per question, grouped by assignment: the share that earned full points."""
    rows = [(a, q) for a in summary.assignments for q in summary.questions(a)]
    fig, ax = plt.subplots(figsize=(8, max(2.4, 0.32 * len(rows) + 1.2)))
    if not rows:
        _empty(ax, "No question results")
        return _save(fig, path)
    rates = [summary.pass_rate(a, q) or 0.0 for a, q in rows]
    colors = [COLORS[summary.assignments.index(a) % len(COLORS)] for a, _ in rows]
    y = np.arange(len(rows))[::-1]
    ax.barh(y, [100 * r for r in rates], color=colors, height=0.7)
    for yi, (a, q), rate in zip(y, rows, rates):
        passed, attempted = summary.pass_counts[a][q]
        ax.text(min(100 * rate + 1, 92), yi, f"{passed}/{attempted}", va="center", fontsize=7, color="#222")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{a} · {q}" for a, q in rows], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of submissions with full points on the question")
    ax.set_title("Pass rate per question")
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, path)


def mistakes_heatmap(summary, path):
    """Rows: assignment · question; columns: mistake codes; cells: submissions with that mistake."""
    rows, codes = summary.mistake_rows(), summary.mistake_codes()
    fig, ax = plt.subplots(figsize=(max(6, 0.75 * len(codes) + 3.5), max(2.4, 0.38 * len(rows) + 1.8)))
    if not rows:
        _empty(ax, "No diagnosed mistakes")
        return _save(fig, path)
    counts = np.array([[summary.mistakes[row].get(code, 0) for code in codes] for row in rows])
    image = ax.imshow(counts, cmap="Oranges", aspect="auto", vmin=0, vmax=max(1, counts.max()))
    for i in range(len(rows)):
        for j in range(len(codes)):
            if counts[i, j]:
                dark = counts[i, j] > 0.6 * counts.max()
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if dark else "#222")
    ax.set_xticks(range(len(codes)))
    ax.set_xticklabels(codes, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{a} · {q}" for a, q in rows], fontsize=8)
    ax.set_title("Diagnosed mistakes (submissions per question)")
    colorbar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colorbar.ax.tick_params(labelsize=7)
    colorbar.ax.yaxis.get_major_locator().set_params(integer=True)
    return _save(fig, path)


FIGURES = {
    "score_distribution.png": score_distribution,
    "pass_rates.png": pass_rates,
    "mistakes.png": mistakes_heatmap,
}


def draw_all(summary, folder):
    """Draw every figure into ``folder``; returns {file name: path}."""
    return {name: draw(summary, folder / name) for name, draw in FIGURES.items()}
