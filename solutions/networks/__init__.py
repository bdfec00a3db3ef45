"""Each exercise's reference, by name: ``from solutions.networks import relu_softmax as ref``.

The references are not written here: each is ``ref`` in the exercise's description,
``<course>/<name>/exercise.py``, composed from this package's building blocks (``solutions.network``
puts layers together). This module only finds them (``solutions.exercises``).
"""


def __getattr__(name):
    from solutions import exercises
    if not name.startswith("_"):
        try:
            return exercises.reference(name)
        except LookupError:
            pass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r} (no exercise {name!r})")
