"""Reference numerics for Backprop Lab: the one source of truth for every number.

Small composable pieces, each forward beside its derivative:

- ``solutions.activations``: sigmoid, ReLU, tanh, SiLU and their backward passes
- ``solutions.softmax``: column-wise softmax and its Jacobian-vector product
- ``solutions.losses``: cross-entropy, binary cross-entropy (clipped), mean squared error
- ``solutions.layers``: affine layers, column (``W @ x + b``) and row (``x @ W + b``) convention
- ``solutions.optim``: SGD and momentum updates
- ``solutions.gradcheck``: the one central finite-difference checker

``solutions.networks`` assembles the five worked networks from these pieces.
"""
