"""Every ledger entry is checked against the reference and against finite differences.

- ``reproduced``: our value equals the printed one within the printed precision.
- ``convention``: our value, transformed as the entry says, equals the printed one.
- ``seed error``: the printed value disagrees with central finite differences,
  while ours and the entry's ``correct`` value agree with them.
- every printed gradient (a quantity with a finite-difference value) is checked.
- an entry with an ``exact`` field (the exact loss's gradient, where the seed printed another):
  ``exact`` agrees with finite differences of the loss, and the printed value does too exactly
  when ``gradient_of_loss`` says so.
- an entry the seed did not print (our own run) names its ``source`` instead of a ``cell``.
"""
import functools

import numpy as np
import pytest

from solutions.gradcheck import rel_error
from solutions.ledger import (
    STATUSES, agrees, apply_transform, ledger_paths, load_ledger, network_module,
)

LEDGERS = {path.parent.name: load_ledger(path) for path in ledger_paths()}
FD_TOLERANCE = 1e-6


@functools.cache
def ours(exercise):
    return network_module(LEDGERS[exercise]).documented_values()


@functools.cache
def finite_differences(exercise):
    return network_module(LEDGERS[exercise]).finite_difference_values()


def all_entries(ledger):
    """The seed's printed numbers plus, where the seed is not reproducible, our own run's."""
    return ledger["entries"] + ledger.get("our_run", {}).get("entries", [])


def entries(*statuses):
    return [
        pytest.param(exercise, entry, id=f"{exercise}:{entry['id']}")
        for exercise, ledger in LEDGERS.items()
        for entry in all_entries(ledger)
        if entry["status"] in statuses
    ]


def test_every_worked_notebook_has_a_ledger():
    """An exercise from a worked notebook (its description names a SEED_FILE) has a ledger, and
    every ledger belongs to one, for that seed."""
    from solutions import exercises
    worked = {name: exercises.load(name).SEED_FILE for name in exercises.names()
              if hasattr(exercises.load(name), "SEED_FILE")}
    assert worked, "no exercise from a worked notebook"
    assert {name: ledger["seed"] for name, ledger in LEDGERS.items()} == worked


@pytest.mark.parametrize("exercise", sorted(LEDGERS))
def test_ledger_entries_are_well_formed(exercise):
    ledger = LEDGERS[exercise]
    ids = [entry["id"] for entry in all_entries(ledger)]
    assert len(ids) == len(set(ids)), "entry ids must be unique"
    for entry in all_entries(ledger):
        assert entry["status"] in STATUSES, entry["id"]
        assert "printed" in entry and ("cell" in entry) != ("source" in entry), entry["id"]
        if "exact" in entry:
            assert isinstance(entry.get("gradient_of_loss"), bool), entry["id"]
        if entry["status"] == "seed error":
            assert "correct" in entry and entry.get("why"), entry["id"]
        if entry["status"] == "not reproducible":
            assert entry.get("why"), entry["id"]
        if entry["status"] in ("reproduced", "convention", "seed error"):
            assert entry["quantity"] in ours(exercise), f"{entry['id']}: no value for {entry['quantity']!r}"


@pytest.mark.parametrize("exercise,entry", entries("reproduced"))
def test_reproduced_entry_matches_reference(exercise, entry):
    value = ours(exercise)[entry["quantity"]]
    assert agrees(value, entry["printed"], entry["atol"]), (
        f"{entry['id']}: ours {np.asarray(value).tolist()} vs printed {entry['printed']}"
    )


@pytest.mark.parametrize("exercise,entry", entries("convention"))
def test_convention_entry_matches_after_transform(exercise, entry):
    printed = np.asarray(entry["printed"], dtype=float)
    value = apply_transform(entry.get("transform"), ours(exercise)[entry["quantity"]], printed.shape)
    assert agrees(value, printed, entry["atol"]), f"{entry['id']}: {value.tolist()} vs {printed.tolist()}"


@pytest.mark.parametrize("exercise,entry", entries("seed error"))
def test_seed_error_disagrees_with_finite_differences_and_ours_agrees(exercise, entry):
    quantity = entry["quantity"]
    value = np.asarray(ours(exercise)[quantity], dtype=float)
    correct = np.asarray(entry["correct"], dtype=float)
    assert agrees(correct, apply_transform(entry.get("transform"), value, correct.shape), entry["atol"])
    fd = finite_differences(exercise).get(quantity)
    if fd is None:  # a printed forward value that is wrong: no gradient to check
        pytest.skip(f"{entry['id']} is not a gradient")
    printed = np.asarray(entry["printed"], dtype=float)
    fd_as_printed = apply_transform(entry.get("transform"), fd, printed.shape)
    assert not agrees(printed, fd_as_printed, entry["atol"]), "the printed value agrees with finite differences"
    assert rel_error(value, fd) < FD_TOLERANCE


def test_numbers_of_our_own_run_do_not_claim_a_cell_of_the_worked_example():
    our_run = LEDGERS["relu_mse_training"]["our_run"]
    for entry in our_run["entries"]:
        assert "cell" not in entry and our_run["rng"] in entry["source"], entry["id"]


@pytest.mark.parametrize("exercise,entry", [p for p in entries("reproduced", "convention") if "exact" in p.values[1]])
def test_printed_gradient_is_of_the_loss_only_where_the_ledger_says(exercise, entry):
    """relu_softmax prints dz3, dW3, db3 from rounded probabilities: they disagree with finite
    differences of the exact loss (gradient_of_loss false), while the `exact` values agree."""
    fd = network_module(LEDGERS[exercise]).exact_finite_difference_values()[entry["quantity"]]
    printed = np.asarray(entry["printed"], dtype=float)
    fd_as_printed = apply_transform(entry.get("transform"), fd, printed.shape)
    assert rel_error(np.asarray(entry["exact"], dtype=float), fd_as_printed) < FD_TOLERANCE
    assert agrees(printed, fd_as_printed, entry["atol"]) == entry["gradient_of_loss"], \
        f"{entry['id']}: printed {printed.tolist()} vs finite differences of the loss {fd_as_printed.tolist()}"


def test_relu_softmax_prints_gradients_of_the_rounded_probabilities_not_of_the_loss():
    not_of_loss = {e["quantity"] for e in LEDGERS["relu_softmax"]["entries"] if e.get("gradient_of_loss") is False}
    assert not_of_loss == {"dz3", "dW3", "db3"}


@pytest.mark.parametrize("exercise", sorted(LEDGERS))
def test_every_gradient_quantity_matches_finite_differences(exercise):
    fd = finite_differences(exercise)
    assert fd, "no finite-difference values"
    for quantity, numeric in fd.items():
        error = rel_error(ours(exercise)[quantity], numeric)
        assert error < FD_TOLERANCE, f"{quantity}: rel_error {error:.2e}"
