"""The ledgers of documented numbers: load them, recompute them, summarise them.

One ledger per worked notebook, ``assignments/<exercise>/documented_numbers.json``
(schema in ``autograder/DESIGN.md``). Every number the notebook prints has an
entry with a status:

- ``reproduced``: our reference gives the printed value within ``atol``;
- ``convention``: ``transform(ours)`` gives it (the seed prints transposed, rounded, ...);
- ``seed error``: the printed value is wrong; ``correct`` holds the right one;
- ``not reproducible``: e.g. an unseeded random start.

Run ``python -m solutions.ledger`` for the per-seed counts.
"""
import json
from collections import Counter

import numpy as np

STATUSES = ("reproduced", "convention", "seed error", "not reproducible")


def ledger_paths():
    """Every ledger file, sorted by exercise name."""
    from solutions.exercises import course_dir
    return sorted(course_dir().glob("*/documented_numbers.json"))


def load_ledger(path):
    with open(path) as f:
        return json.load(f)


def network_module(ledger):
    """The reference a ledger documents: ``ref`` of its exercise's description."""
    from solutions.exercises import reference
    return reference(ledger["exercise"])


def apply_transform(transform, value, printed_shape):
    """Our value as the seed prints it: ``transpose``, ``reshape``, ``squeeze``, ``round:N`` or ``none``."""
    value = np.asarray(value, dtype=float)
    if transform in (None, "none"):
        return value
    if transform == "transpose":
        return value.T
    if transform == "reshape":
        return value.reshape(printed_shape)
    if transform == "squeeze":
        return np.squeeze(value)
    if transform.startswith("round:"):
        return np.round(value, int(transform.split(":")[1])).reshape(printed_shape)
    raise ValueError(f"unknown transform {transform!r}")


def agrees(ours, printed, atol):
    """Same shape and every number within ``atol`` (absolute)."""
    ours, printed = np.asarray(ours, dtype=float), np.asarray(printed, dtype=float)
    return ours.shape == printed.shape and bool(np.all(np.abs(ours - printed) <= atol))


def status_counts(ledger):
    return Counter(entry["status"] for entry in ledger["entries"])


def summary_lines():
    """One line per seed: how many entries, how many reproduced, and the rest by status."""
    lines = []
    for path in ledger_paths():
        ledger = load_ledger(path)
        counts = status_counts(ledger)
        rest = ", ".join(f"{counts[s]} {s}" for s in STATUSES[1:] if counts[s])
        ours = ledger.get("our_run", {}).get("entries", [])
        lines.append(
            f"{ledger['seed']} ({ledger['exercise']}): {sum(counts.values())} entries, "
            f"{counts['reproduced']} reproduced" + (f", {rest}" if rest else "")
            + (f"; plus {len(ours)} numbers of our own seeded run, recomputed" if ours else "")
        )
    return lines


if __name__ == "__main__":
    print("\n".join(summary_lines()))
