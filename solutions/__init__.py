"""Reference numerics for Backprop Lab: the one source of truth for every number.

Small composable pieces, each forward beside its derivative:

- ``solutions.activations``: sigmoid, ReLU, leaky ReLU, tanh, SiLU and their backward passes
- ``solutions.softmax``: column-wise softmax and its Jacobian-vector product
- ``solutions.losses``: cross-entropy, binary cross-entropy (clipped), mean squared error
- ``solutions.layers``: affine layers, column (``W @ x + b``) and row (``x @ W + b``) convention
- ``solutions.regularization``: L2 weight decay, penalty beside gradient
- ``solutions.optim``: SGD, momentum and Adam updates
- ``solutions.gradcheck``: the one central finite-difference checker

Put together:

- ``solutions.network``: a feed-forward ``Network`` described by its layers, convention and loss
- ``solutions.training``: optimizers with state (SGD, Momentum, Adam), mini-batches, a training loop
- ``solutions.describe``: the vocabulary of an exercise's description
- ``solutions.exercises``: finds the descriptions, ``<course>/<name>/exercise.py``; each one's
  ``ref`` (also ``from solutions.networks import <name>``) is that exercise's reference
"""
