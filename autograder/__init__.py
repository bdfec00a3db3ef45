"""Backprop Lab tooling: build assignments, grade submissions, report to the instructor.

Run as ``python -m autograder build|grade|report|demo``.
"""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS_DIR = REPO_ROOT / "assignments"
EXERCISES = (
    "sigmoid_mlp",
    "relu_softmax",
    "relu_mse_training",
    "silu_momentum",
    "tanh_softmax_batch",
)
