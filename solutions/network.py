"""A feed-forward network composed from the shared blocks, described instead of hand-written.

Each layer is an affine map followed by an activation; the network names every parameter and
every cached quantity, so that one description gives an exercise's forward pass, loss and
backward pass with the same floating-point operations, in the same order, as writing them out.

    net = Network(layers=(Layer("W1", "b1", "relu", pre="z1", post="a1"),
                          Layer("W2", "b2", "softmax", pre="z2", post="a2")),
                  convention="columns", loss="cross_entropy", output_gradient="fused")
    cache = net.forward(params, x)            # {z1, a1, z2, a2}
    grads = net.backward(params, cache, x, y)  # {W1, b1, W2, b2}, each shaped like its parameter

Conventions (as in ``solutions.layers``):
  "columns": x (n_in, batch), W (n_out, n_in), b (n_out, 1), pre = W @ x + b (n_out, batch).
  "rows":    x (batch, n_in), W (n_in, n_out), b (n_out,),   pre = x @ W + b (batch, n_out);
             a weight may be a vector (n_in,), giving a (batch,) output (then b has shape ()).
Softmax and cross-entropy act per example: down the columns, or along the rows.

Output gradient:
  "fused": softmax + cross-entropy, dL/dpre = (output - y) / batch in one step.
  "chain": the loss's own backward, then the output activation's backward.
"""
from dataclasses import dataclass

import numpy as np

from solutions import activations, layers, losses
# not ``softmax``: no global here may share a name with a student's function. ``bc.call`` puts the
# student's other functions into the globals of the function it calls, and a reference such as
# NET.forward is called in a student's place by the tests that try wrong variants against the checks.
from solutions import softmax as column_softmax
from solutions.regularization import l2_gradient, l2_penalty

CONVENTIONS = ("columns", "rows")
OUTPUT_GRADIENTS = ("fused", "chain")

# name: (forward(pre), backward(dh, pre)) for the elementwise activations
ELEMENTWISE = {
    "sigmoid": (activations.sigmoid, activations.sigmoid_backward),
    "relu": (activations.relu, activations.relu_backward),
    "tanh": (activations.tanh, activations.tanh_backward),
    "silu": (activations.silu, activations.silu_backward),
    "leaky_relu": (activations.leaky_relu, activations.leaky_relu_backward),
    "identity": (activations.identity, activations.identity_backward),
}
ACTIVATIONS = (*ELEMENTWISE, "softmax")

# name: (value(output, y) -> float, backward(output, y) -> dL/doutput, acts per example)
LOSSES = {
    "cross_entropy": (losses.cross_entropy, losses.cross_entropy_backward, True),
    "mse": (losses.mean_squared_error, losses.mean_squared_error_backward, False),
    "binary_cross_entropy": (losses.binary_cross_entropy, losses.binary_cross_entropy_backward, False),
}


@dataclass(frozen=True)
class Layer:
    """pre = affine(weight, input, bias); post = activation(pre). All four are names (dict keys)."""
    weight: str
    bias: str
    activation: str
    pre: str
    post: str


class Network:
    """Layers in order, how examples are laid out, the loss and how its gradient enters the output.

    ``l2`` > 0 adds l2 / 2 * sum of squared weights (not biases) to the objective and l2 * W to
    each weight's gradient. The loss's name is kept as ``loss_name`` (``loss`` is the function).
    """

    def __init__(self, layers, convention="columns", loss="cross_entropy", output_gradient="chain", l2=0.0):
        self.layers = tuple(layers)
        self.convention, self.loss_name, self.output_gradient, self.l2 = convention, loss, output_gradient, l2
        if not self.layers:
            raise ValueError("a Network needs at least one layer")
        for name, value, allowed in (("convention", convention, CONVENTIONS), ("loss", loss, tuple(LOSSES)),
                                     ("output_gradient", output_gradient, OUTPUT_GRADIENTS),
                                     *(("activation", layer.activation, ACTIVATIONS) for layer in self.layers)):
            if value not in allowed:
                raise ValueError(f"{name} {value!r}: expected one of {', '.join(allowed)}")
        if output_gradient == "fused" and (self.layers[-1].activation, loss) != ("softmax", "cross_entropy"):
            raise ValueError("output_gradient 'fused' needs a softmax output and the cross_entropy loss")
        # "x", then every cached quantity in the order forward computes it: layer i's pre at 2i + 1, post at 2i + 2
        self._quantities = ("x", *(name for layer in self.layers for name in (layer.pre, layer.post)))

    def with_l2(self, l2):
        """The same network with weight decay ``l2`` (a new Network)."""
        return Network(self.layers, self.convention, self.loss_name, self.output_gradient, l2)

    # ---------------------------------------------------------------- names
    @property
    def param_names(self):
        """(weight, bias) of every layer, in layer order."""
        return tuple(name for layer in self.layers for name in (layer.weight, layer.bias))

    @property
    def weight_names(self):
        """The weights, the parameters ``l2`` applies to."""
        return tuple(layer.weight for layer in self.layers)

    @property
    def output_key(self):
        """The cache key of the network's output."""
        return self.layers[-1].post

    # ---------------------------------------------------------------- forward, loss
    def forward(self, params, x):
        """Returns the cache {pre1, post1, pre2, post2, ...} in layer order."""
        return self.forward_from(params, "x", x)

    def forward_from(self, params, start, value):
        """The forward pass resumed at one quantity: ``start`` ("x", or a cache key of ``forward``)
        set to ``value``, every later quantity computed from it by the same operations as
        ``forward``. Returns {start: value, each later quantity} in layer order ("x" is left out).
        Finite differences over an intermediate quantity nudge it and run the rest.
        """
        if start not in self._quantities:
            raise ValueError(f"forward_from {start!r}: expected one of {', '.join(self._quantities)}")
        position = self._quantities.index(start)
        cache, h = ({} if start == "x" else {start: value}), value
        for i, layer in enumerate(self.layers):
            if position < 2 * i + 1:
                h = cache[layer.pre] = self._affine_forward(params[layer.weight], h, params[layer.bias])
            if position < 2 * i + 2:
                h = cache[layer.post] = self._activation_forward(layer.activation, h)
        return cache

    def loss(self, output, y):
        """The data loss of the network's output against the targets y (shaped like output). Float."""
        return self._loss_functions()[0](output, y)

    def objective(self, params, x, y, cache=None):
        """Data loss plus the l2 penalty on the weights: what ``backward`` differentiates.

        ``cache``: this network's forward pass of (params, x), if already computed.
        """
        cache = self.forward(params, x) if cache is None else cache
        data_loss = self.loss(cache[self.output_key], y)
        return data_loss + l2_penalty(params, self.l2, self.weight_names) if self.l2 else data_loss

    # ---------------------------------------------------------------- backward
    def backward(self, params, cache, x, y):
        """Gradient of ``objective`` for every parameter: {name: array shaped like params[name]}.

        Reads the output from cache[output_key] as given (so a rounded output gives the gradients
        computed from it).
        """
        steps = self.backward_steps(params, cache, x, y)
        return {name: steps["d" + name] for name in self.param_names}

    def backward_steps(self, params, cache, x, y):
        """Every gradient of the backward pass, keyed "d" + cache name and "d" + parameter name.

        With "fused" the output's own gradient is skipped (the pass starts at d<last pre>). Each
        step is one of the block methods below, given the number of its layer (0 the first).
        """
        last = len(self.layers) - 1
        output = cache[self.layers[last].post]
        steps = {}
        if self.output_gradient == "fused":
            dpre = self._fused_backward(output, y)
        else:
            dpost = self._loss_backward(output, y)
            steps["d" + self.layers[last].post] = dpost
            dpre = self._activation_backward(last, dpost, cache[self.layers[last].pre], output)
        decay = self._decay(params)
        for k in range(last, -1, -1):
            layer = self.layers[k]
            steps["d" + layer.pre] = dpre
            below = self.layers[k - 1] if k else None
            h = cache[below.post] if k else x
            dh, dW, db = self._affine_backward(k, dpre, params, h)
            steps["d" + layer.weight] = dW + decay[layer.weight] if layer.weight in decay else dW
            steps["d" + layer.bias] = db + decay[layer.bias] if layer.bias in decay else db
            if below is not None:
                steps["d" + below.post] = dh
                dpre = self._activation_backward(k - 1, dh, cache[below.pre], h)
        return steps

    # ------------------------------------------------- the blocks of the backward pass
    # One method per block, so that a variant of the network can swap one block for a wrong one
    # (solutions.mistakes: the classic mistakes, each a Network with one block changed).
    def _fused_backward(self, output, y):
        """dL/dpre of a softmax output under the cross-entropy: (output - y) / batch."""
        return self._per_example(losses.softmax_cross_entropy_backward)(output, y)

    def _loss_backward(self, output, y):
        """dL/doutput of the data loss."""
        return self._loss_functions()[1](output, y)

    def _activation_backward(self, k, dpost, pre, post):
        """dL/dpre of layer k's activation, from dL/dpost."""
        name = self.layers[k].activation
        if name == "softmax":  # the Jacobian is written in the output
            return self._per_example(column_softmax.softmax_backward)(dpost, post)
        return ELEMENTWISE[name][1](dpost, pre)

    def _affine_backward(self, k, dout, params, h):
        """(dh, dW, db) of layer k's affine map pre = affine(W, h, b), from dout = dL/dpre."""
        W, b = params[self.layers[k].weight], params[self.layers[k].bias]
        if self.convention == "columns":
            return layers.affine_backward(dout, (W, h, b))
        return layers.row_affine_backward(dout, (h, W, b))

    def _decay(self, params):
        """{parameter name: gradient of the l2 penalty} for the parameters the penalty covers."""
        return l2_gradient(params, self.l2, self.weight_names) if self.l2 else {}

    # ---------------------------------------------------------------- parameters
    def init_params(self, rng, sizes, scale=1.0):
        """normal(0, scale) parameters for layer widths ``sizes`` (input first), drawn weight then
        bias, layer by layer. Columns: W (n_out, n_in), b (n_out, 1); rows: W (n_in, n_out), b (n_out,).
        """
        if len(sizes) != len(self.layers) + 1:
            raise ValueError(f"{len(self.layers)} layers need {len(self.layers) + 1} sizes, got {len(sizes)}")
        params = {}
        for layer, n_in, n_out in zip(self.layers, sizes, sizes[1:]):
            columns = self.convention == "columns"
            params[layer.weight] = rng.normal(0, scale, (n_out, n_in) if columns else (n_in, n_out))
            params[layer.bias] = rng.normal(0, scale, (n_out, 1) if columns else (n_out,))
        return params

    @property
    def example_axis(self):
        """The axis of x, y and every cached quantity that runs over the examples: the last in
        columns, the first in rows."""
        return -1 if self.convention == "columns" else 0

    def n_examples(self, array):
        """How many examples ``array`` (x, y or a cached quantity) holds."""
        return np.shape(array)[self.example_axis]

    def examples(self, array, index):
        """The examples ``index`` (an integer array) of x or y: columns or rows, by the convention."""
        return np.take(array, index, axis=self.example_axis)

    # ---------------------------------------------------------------- the blocks, by convention
    def _affine_forward(self, W, h, b):
        if self.convention == "columns":
            return layers.affine_forward(W, h, b)[0]
        return layers.row_affine_forward(h, W, b)[0]

    def _loss_functions(self):
        """(value, backward) of the loss for this convention."""
        value, backward, per_example = LOSSES[self.loss_name]
        return (self._per_example(value), self._per_example(backward)) if per_example else (value, backward)

    def _activation_forward(self, name, pre):
        if name == "softmax":
            return self._per_example(column_softmax.softmax)(pre)
        return ELEMENTWISE[name][0](pre)

    def _per_example(self, function):
        """``function`` (written for examples in columns) for this convention: in rows, its array
        arguments and array result are transposed."""
        if self.convention == "columns":
            return function

        def on_rows(*arrays):
            result = function(*(np.transpose(a) for a in arrays))
            return np.transpose(result) if isinstance(result, np.ndarray) else result
        return on_rows
