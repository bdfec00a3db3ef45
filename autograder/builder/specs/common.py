"""Test bodies shared by the exercise specs (the comparison logic itself lives in checks.py)."""
import textwrap

from autograder.builder.notebooks import Test, lit

HIDDEN_SEED = 20240601  # hidden inputs are drawn from this seed; the values never reach a student


def hidden_reference_test(exercise, function, cases, *, name=None, needs=None, batch=None, points=2,
                          atol=None, rtol=None, setup=""):
    """A hidden test: the student's ``function`` against ``solutions.networks.<exercise>`` on
    ``cases`` (Python source of a list of argument tuples, using ``rng``, ``ref`` and ``bc``).
    ``batch``: source of a lambda giving the batch size from the arguments (for diagnosis)."""
    options = ""
    if batch:
        options += f", batch_size_of={batch}"
    if atol is not None:
        options += f", atol={atol!r}"
    if rtol is not None:
        options += f", rtol={rtol!r}"
    body = f"""\
from solutions.networks import {exercise} as ref
rng = np.random.default_rng({HIDDEN_SEED})
{textwrap.dedent(setup).strip()}
cases = {cases}
bc.check_against_reference({exercise!r}, {function!r}, {function}, ref.{function}, cases{options})
"""
    return Test(name or f"test_{function}_hidden", tuple(needs or (function,)), body, points=points, hidden=True)


def public_values_test(name, function, args, expected, *, needs=None, points=1, variants=None, batch_size=None,
                       label=None, extra=""):
    """A public test: ``function(*args)`` against the reference's values on public inputs (literals)."""
    arg_names = [f"arg{i}" for i in range(len(args))]
    assign = "\n".join(f"{n} = {lit(a)}" for n, a in zip(arg_names, args))
    label = label or f"{function}({', '.join(_arg_label(a) for a in args)})"
    options = ""
    if variants:
        options += f", variants={lit(variants)}"
    if batch_size:
        options += f", batch_size={batch_size}"
    body = f"""\
{assign}
received = bc.call({function}, {function!r}, {', '.join(arg_names)})
bc.check_public({label!r}, received, {lit(expected)}{options})
{textwrap.dedent(extra).strip()}
"""
    return Test(name, tuple(needs or (function,)), body, points=points)


def public_structure_test(name, function, args, example, *, needs=None, points=1, label=None):
    """A public test: what ``function(*args)`` returns has the reference's structure, shapes, dtypes."""
    arg_names = [f"arg{i}" for i in range(len(args))]
    assign = "\n".join(f"{n} = {lit(a)}" for n, a in zip(arg_names, args))
    label = label or f"{function}(...)"
    body = f"""\
{assign}
received = bc.call({function}, {function!r}, {', '.join(arg_names)})
bc.check_interface({label!r}, received, {lit(example)})
"""
    return Test(name, tuple(needs or (function,)), body, points=points)


def _arg_label(value):
    import numpy as np
    if isinstance(value, dict):
        return "params"
    if isinstance(value, np.ndarray):
        return "array" + str(value.shape)
    return repr(value)


def inputs_unchanged_test(name, function, args, arg_names, *, points=1, label=None):
    """A public test: ``function(*args)`` leaves its arguments as they were (the question asks for
    new arrays). It costs this test's points only; the value tests do not see in-place changes."""
    assign = "\n".join(f"{n} = {lit(a)}" for n, a in zip(arg_names, args))
    body = f"""\
{assign}
bc.check_inputs_unchanged({function}, {function!r}, {', '.join(arg_names)}, names={list(arg_names)!r})
"""
    return Test(name, (function,), body, points=points)
