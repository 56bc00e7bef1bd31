"""The Sequential network: a stack of layers trained by backpropagation.

The public step API, which the trainer drives: `prepare_inputs` / `prepare_targets` (checked
arrays in the network's dtype), `forward`, `compute_loss`, `backward`, `train_step` (one
textbook step: forward, loss, backward, update), and `fused` (whether the loss is computed
from the output layer's logits). What each step measures for the studio is the StepMeter's
business (bpstudio.core.meter).
"""

from __future__ import annotations

import math

import numpy as np

from bpstudio.core import registry
from bpstudio.core._checks import choice, integer
from bpstudio.core.callbacks import CallbackList, History
from bpstudio.core.layers import MAX_UNITS, Activated, Dropout, Layer
from bpstudio.core.meter import StepMeter

#: Overflow is part of what the studio teaches (exploding gradients); it is detected and
#: reported by the training step, so NumPy's warnings about it are noise.
QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}

#: Largest number of trainable parameters a network may have (about 160 MB in float64).
MAX_PARAMETERS = 20_000_000
#: The most numbers one layer's output may hold in inference (32 MB in float64).
CHUNK_VALUES = 2**22
#: Most layers a network may have (a project file holds at most this many).
MAX_LAYERS = 64
DTYPES = ("float64", "float32")
#: Batches a unit must stay inactive in to be called dead (one batch is too small to tell).
DEAD_WINDOW = 20


def name_layers(layers):
    """Give every unnamed layer a name, as Keras does: its kind, then kind_1, kind_2, ...
    (skipping names already taken); the names must be unique."""
    taken = {layer.name for layer in layers if layer.name}
    if len(taken) != sum(1 for layer in layers if layer.name):
        raise ValueError("layer names must be unique")
    counts: dict[str, int] = {}
    for layer in layers:
        if layer.name:
            continue
        while True:
            n = counts.get(layer.kind, 0)
            counts[layer.kind] = n + 1
            name = layer.kind if n == 0 else f"{layer.kind}_{n}"
            if name not in taken:
                break
        layer.name = name
        taken.add(name)


class Sequential:
    """A stack of layers. Built at once, since `input_dim` is known.

    layers: list of Layer; input_dim: number of input features; seed: fixes the initial
    weights, the dropout masks and the shuffling; dtype: "float64" (default) or "float32";
    dead_window: how many recent batches a unit must stay inactive in to be called dead."""

    def __init__(self, layers, input_dim, seed=0, dtype="float64", dead_window=DEAD_WINDOW):
        if not isinstance(layers, (list, tuple)) or not layers:
            raise ValueError("layers must be a non-empty list of layers")
        if len(layers) > MAX_LAYERS:
            raise ValueError(f"a network has at most {MAX_LAYERS} layers; got {len(layers)}")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layers[{i}] must be a layer (Dense, Activation, Dropout, "
                    f"BatchNormalization); got {type(layer).__name__}"
                )
        self.input_dim = integer("input_dim", input_dim, low=1, high=MAX_UNITS)
        self.seed = integer("seed", seed, low=0, high=2**63 - 1)
        try:
            dtype_name = np.dtype(dtype).name
        except TypeError:
            dtype_name = repr(dtype)
        self.dtype = np.dtype(choice("dtype", dtype_name, DTYPES))
        self.dead_window = integer("dead_window", dead_window, low=1)
        self.layers = list(layers)
        name_layers(self.layers)
        self._check_structure()
        self.optimizer = None
        self.loss = None
        self.measure = True
        self.stop_training = False
        self.steps = 0
        self.initialize()

    # ---------------------------------------------------------------- building

    def _check_structure(self):
        dim, total = self.input_dim, 0
        for i, layer in enumerate(self.layers):
            act = layer.activation
            if act is not None and act.name == "softmax" and i != len(self.layers) - 1:
                raise ValueError(
                    f"softmax is for the output layer only; layer {layer.name!r} is not last"
                )
            total += layer.parameter_count_for(dim)
            dim = layer.output_dim_for(dim)
        if total > MAX_PARAMETERS:
            raise ValueError(
                f"the network would have {total:,} parameters; the limit is {MAX_PARAMETERS:,}"
            )

    def initialize(self, seed=None):
        """(Re)draw every initial weight from the seed and reset all training state."""
        if seed is not None:
            self.seed = integer("seed", seed, low=0, high=2**63 - 1)
        init_seq, dropout_seq, shuffle_seq = np.random.SeedSequence(self.seed).spawn(3)
        init_rng = np.random.default_rng(init_seq)
        self.dropout_rng = np.random.default_rng(dropout_seq)
        self.shuffle_rng = np.random.default_rng(shuffle_seq)
        dim = self.input_dim
        for layer in self.layers:
            layer.params.clear()
            layer.grads.clear()
            layer.state.clear()
            dim = layer.build(dim, init_rng, self.dtype)
            if isinstance(layer, Dropout):
                layer.rng = self.dropout_rng
        self.output_dim = dim
        self.steps = 0
        if self.optimizer is not None:
            self.optimizer.reset()
        self._flatten()
        self._index_layers()

    def _flatten(self):
        """Move every parameter into one flat array, and every gradient into another, leaving
        each layer's params/grads as views. The optimizer step, the global gradient norm, the
        per-layer norms and a checkpoint then cost one NumPy call each, whatever the depth."""
        entries = [(layer, key) for layer in self.layers for key in layer.params]
        sizes = [layer.params[key].size for layer, key in entries]
        self.flat_params = np.empty(sum(sizes), self.dtype)
        self.flat_grads = np.zeros(sum(sizes), self.dtype)
        #: Where each parameter lies in the flat arrays: {"dense/kernel": (start, stop)}.
        self.parameter_spans: dict[str, tuple[int, int]] = {}
        offset = 0
        for (layer, key), size in zip(entries, sizes):
            shape = layer.params[key].shape
            self.flat_params[offset : offset + size] = layer.params[key].ravel()
            layer.params[key] = self.flat_params[offset : offset + size].reshape(shape)
            layer.grads[key] = self.flat_grads[offset : offset + size].reshape(shape)
            self.parameter_spans[f"{layer.name}/{key}"] = (offset, offset + size)
            offset += size

    def _index_layers(self):
        """Which layers each measurement is about, in layer order; then the meter."""
        acts = [layer for layer in self.layers if isinstance(layer, Activated)]
        self.kernel_layers = [layer for layer in self.layers if "kernel" in layer.params]
        self.activation_layers = acts
        self.saturating_layers = [layer for layer in acts if layer.activation.saturating]
        self.relu_layers = [layer for layer in acts if layer.activation.relu_family]
        self.regularized_layers = [
            layer for layer in self.kernel_layers if layer.kernel_regularizer
        ]
        self.meter = StepMeter(self, self.dead_window)

    def compile(self, optimizer="sgd", loss="mse"):
        """Choose the optimizer (instance, name or config dict) and the loss (name)."""
        self.optimizer = registry.get("optimizer", optimizer)
        self.loss = registry.get("loss", loss)
        last = self.layers[-1]
        if self.loss.name == "categorical_crossentropy" and self.output_dim < 2:
            raise ValueError(
                "loss 'categorical_crossentropy' needs at least 2 outputs; "
                "use 'binary_crossentropy' with 1 sigmoid output"
            )
        #: The loss is computed from the output layer's logits (sigmoid with binary, softmax
        #: with categorical cross-entropy): stabler, and its gradient is simply A - Y.
        self.fused = (
            last.activation is not None and last.activation.name == self.loss.fused_activation
        )
        return self

    # ---------------------------------------------------------------- parameters

    def parameters(self) -> dict[str, np.ndarray]:
        """The live trainable arrays by name ("dense/kernel"), in layer order."""
        return {
            f"{layer.name}/{key}": value
            for layer in self.layers
            for key, value in layer.params.items()
        }

    def gradients(self) -> dict[str, np.ndarray]:
        """The live gradient arrays of the last backward pass, keyed as parameters()."""
        return {
            f"{layer.name}/{key}": value
            for layer in self.layers
            for key, value in layer.grads.items()
        }

    def state(self) -> dict[str, np.ndarray]:
        """The live non-trainable arrays (BN running statistics) by name."""
        return {
            f"{layer.name}/{key}": value
            for layer in self.layers
            for key, value in layer.state.items()
        }

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and state array, by name."""
        return {k: v.copy() for k, v in {**self.parameters(), **self.state()}.items()}

    def set_weights(self, weights: dict):
        """Write arrays (as from get_weights) into the network; names and shapes must match."""
        live = {**self.parameters(), **self.state()}
        missing = sorted(set(live) - set(weights))
        unknown = sorted(set(weights) - set(live))
        if missing or unknown:
            raise ValueError(
                f"weights do not fit this network: missing {missing or 'none'}, "
                f"unknown {unknown or 'none'}"
            )
        for key, array in weights.items():
            array = np.asarray(array)
            if array.shape != live[key].shape:
                raise ValueError(
                    f"weight {key!r} has shape {array.shape}; the network needs {live[key].shape}"
                )
            live[key][...] = array

    def count_params(self) -> int:
        """The trainable parameters: all of them live in flat_params (see _flatten)."""
        return int(self.flat_params.size)

    # ---------------------------------------------------------------- forward / backward

    def prepare_inputs(self, X) -> np.ndarray:
        """X as an array of the network's dtype, checked: (batch, input_dim)."""
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            raise ValueError(f"inputs must have shape (batch, {self.input_dim}); got {X.shape}")
        return X

    def prepare_targets(self, Y) -> np.ndarray:
        """Y in the form the loss takes: class indices stay integers (batch,); everything
        else takes the network's dtype, (batch, outputs)."""
        self._require_compiled()
        Y = self.loss.prepare_targets(np.asarray(Y), self.output_dim)
        return Y if Y.ndim == 1 else Y.astype(self.dtype, copy=False)

    def forward(self, X, training: bool) -> np.ndarray:
        """The output A for inputs X: (batch, input_dim) -> (batch, output_dim); each layer
        caches what its backward needs. No argument checks (see prepare_inputs)."""
        for layer in self.layers:
            X = layer.forward(X, training)
        return X

    def compute_loss(self, A, Y) -> tuple[float, np.ndarray | None]:
        """The mean loss of output A against targets Y, regularization included, and, when
        the loss is fused with the output activation, dL/dZ of the output layer (else None)."""
        if self.fused:
            last = self.layers[-1]
            normalizer = getattr(last.activation, "normalizer", None)
            loss, dZ = self.loss.value_from_logits(last.Z, A, Y, normalizer)
        else:
            loss, dZ = self.loss.value(A, Y), None
        for layer in self.regularized_layers:
            loss += layer.penalty()
        return loss, dZ

    def backward(self, d):
        """Backpropagate d (dL/dA of the output, or dL/dZ when fused) through every layer,
        filling every layer's grads."""
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            d = self.layers[i].backward(d, from_logits=self.fused and i == last, need_dX=i > 0)

    def forward_backward(self, X, Y, training=True) -> tuple[float, np.ndarray]:
        """One forward and backward pass; fills every layer's grads. Returns (loss, A)."""
        A = self.forward(X, training)
        loss, dZ = self.compute_loss(A, Y)
        self.backward(dZ if self.fused else self.loss.gradient(A, Y))
        return loss, A

    def _require_compiled(self):
        if self.loss is None:
            raise RuntimeError("call compile(optimizer=..., loss=...) before training")

    def loss_and_gradients(self, X, Y, training=True):
        """The mean loss over the batch (regularization included) and copies of its gradient
        for every parameter, keyed as parameters()."""
        X, Y = self.prepare_inputs(X), self.prepare_targets(Y)
        with np.errstate(**QUIET):
            loss, _ = self.forward_backward(X, Y, training)
        self.commit()  # as a training-mode pass in Keras does
        return loss, {k: g.copy() for k, g in self.gradients().items()}

    def commit(self):
        """Keep what the last training-mode pass measured (BN running statistics)."""
        for layer in self.layers:
            layer.commit()

    def chunk_rows(self, most=4096) -> int:
        """How many rows to push through at once in inference: at most `most`, fewer for a
        wide network, so that no layer's output takes more than CHUNK_VALUES numbers (a
        100,000-unit layer over the 3,600 points of the output plane took 5.9 GB at once)."""
        widest = max([self.input_dim or 1] + [layer.output_dim for layer in self.layers])
        return max(1, min(most, CHUNK_VALUES // max(widest, 1)))

    def predict(self, X, batch_size=4096):
        """Outputs in inference mode (no dropout, BN running statistics). X: (n, input_dim)."""
        batch_size = self.chunk_rows(batch_size)
        X = self.prepare_inputs(X)
        with np.errstate(**QUIET):
            return np.concatenate(
                [
                    self.forward(X[i : i + batch_size], training=False)
                    for i in range(0, max(len(X), 1), batch_size)
                ]
            )

    def evaluate(self, X, Y, batch_size=4096) -> dict:
        """{"loss": ..., "accuracy": ...} in inference mode; accuracy only for classification."""
        batch_size = self.chunk_rows(batch_size)
        X, Y = self.prepare_inputs(X), self.prepare_targets(Y)
        total, n, outs = 0.0, len(X), []
        with np.errstate(**QUIET):
            for i in range(0, n, batch_size):
                A = self.forward(X[i : i + batch_size], training=False)
                loss, _ = self.compute_loss(A, Y[i : i + batch_size])
                total += loss * len(A)
                outs.append(A.copy())
        result = {"loss": total / max(n, 1)}
        if self.loss.classification and n:
            result["accuracy"] = self.loss.accuracy(np.concatenate(outs), Y)
        return result

    # ---------------------------------------------------------------- training

    def train_on_batch(self, X, Y) -> dict:
        """One optimizer step on a batch. Returns the logs of the step:

        loss, accuracy (classification), grad_norms / weight_norms / update_ratios (one per
        layer with a kernel), activation_mean / activation_std (one per layer with an
        activation), saturation (one per tanh/sigmoid layer), dead_fraction (units inactive on
        every sample of the last `dead_window` batches), dead_fraction_batch and dead_units
        (one per ReLU-family layer). If the loss or a gradient is not finite, no update is
        made and logs["non_finite"] says on which step and in which layer it appeared."""
        X, Y = self.prepare_inputs(X), self.prepare_targets(Y)
        with np.errstate(**QUIET):
            return self.train_step(X, Y)

    def train_step(self, X, Y) -> dict:
        """train_on_batch without the argument checks (X, Y as prepare_inputs/targets give
        them); the caller sets np.errstate(**QUIET). The textbook step: forward, loss,
        backward, one optimizer update; the meter measures it (unless `measure` is off)."""
        loss, A = self.forward_backward(X, Y, training=True)
        step = self.steps
        logs = {"loss": loss}
        if self.loss.classification:
            logs["accuracy"] = self.loss.accuracy(A, Y)
        g = self.flat_grads
        grad_norm = math.sqrt(float(g @ g)) if self.measure else None
        if not (math.isfinite(loss) and (grad_norm is None or math.isfinite(grad_norm))):
            logs["non_finite"] = self._locate_non_finite(step, loss)
            return logs  # rejected: no update, and the BN statistics stay as they were
        self.commit()
        if not g.size:  # a network without parameters has nothing to update
            self.steps = step + 1
            return logs
        update = self.optimizer.compute_update(g, grad_norm)
        if self.measure:
            self.meter.measure(logs, step, update)
        self.flat_params += update
        self.steps = step + 1
        return logs

    def dead_units(self) -> list[np.ndarray]:
        """Per ReLU-family layer, the units inactive on every sample of the last `dead_window`
        training batches (one batch is too small to call a unit dead)."""
        return self.meter.dead_units(self.steps)

    def set_kernel_regularizer(self, regularizer):
        """Give every kernel the same regularizer (None: none), as the studio's setting does."""
        for layer in self.kernel_layers:
            layer.kernel_regularizer = regularizer
        self.regularized_layers = [] if regularizer is None else list(self.kernel_layers)

    def checkpoint(self) -> dict:
        """Copies of everything a rollback needs: weights, BN statistics, optimizer state."""
        return {
            "params": self.flat_params.copy(),
            "state": {k: v.copy() for k, v in self.state().items()},
            "slots": {k: v.copy() for k, v in self.optimizer.slots.items()},
            "iterations": self.optimizer.iterations,
            "steps": self.steps,
        }

    def restore(self, checkpoint: dict):
        """Return to a checkpoint() taken from this network."""
        self.flat_params[...] = checkpoint["params"]
        for k, v in self.state().items():
            v[...] = checkpoint["state"][k]
        self.optimizer.slots = {k: v.copy() for k, v in checkpoint["slots"].items()}
        self.optimizer.iterations = checkpoint["iterations"]
        self.steps = checkpoint["steps"]

    def _locate_non_finite(self, step, loss) -> dict:
        """Where a non-finite value first appeared: the first layer whose output is not
        finite, else the loss, else the first layer (from the input) whose gradient is not."""

        def report(layer, where, what):
            return {
                "step": step,
                "layer": layer,
                "where": where,
                "what": what,
                "message": f"step {step}: {what}",
            }

        for layer in self.layers:
            out = layer.A if isinstance(layer, Activated) else None
            if out is not None and not np.all(np.isfinite(out)):
                return report(
                    layer.name,
                    "activations",
                    f"the activations of layer "
                    f"{layer.name!r} are not finite (overflow in the forward pass)",
                )
        if not math.isfinite(loss):
            return report(self.layers[-1].name, "loss", f"the loss is {loss}")
        for layer in self.layers:
            for key, g in layer.grads.items():
                if not np.all(np.isfinite(g)):
                    return report(
                        layer.name, "gradients", f"the gradient of {layer.name}/{key} is not finite"
                    )
        # Every value is finite but the gradient's norm overflowed: name the largest one.
        largest = [
            (float(np.max(np.abs(g))), f"{layer.name}/{key}", layer.name)
            for layer in self.layers
            for key, g in layer.grads.items()
            if g.size
        ]
        if largest:
            size, name, layer = max(largest)
            return report(
                layer,
                "gradients",
                f"the gradients exploded: their norm overflows (up to {size:.1e} in {name})",
            )
        return report(None, "unknown", "a non-finite value appeared")

    def fit(
        self, X, Y, epochs=1, batch_size=32, validation_data=None, callbacks=None, shuffle=True
    ) -> History:
        """Train for `epochs` passes over (X, Y) in mini-batches, Keras style. Returns a
        History whose .history holds loss, accuracy, val_loss, val_accuracy per epoch."""
        epochs = integer("epochs", epochs, low=0)
        batch_size = integer("batch_size", batch_size, low=1)
        X, Y = self.prepare_inputs(X), self.prepare_targets(Y)
        if len(X) != len(Y):
            raise ValueError(f"X and Y must have the same length; got {len(X)} and {len(Y)}")
        if len(X) == 0:
            raise ValueError("there is nothing to train on: X is empty")
        with np.errstate(**QUIET):
            return self._fit(X, Y, epochs, batch_size, validation_data, callbacks, shuffle)

    def _fit(self, X, Y, epochs, batch_size, validation_data, callbacks, shuffle):
        history = History()
        cbs = CallbackList([history, *(callbacks or [])], self)
        self.stop_training = False
        cbs.on_train_begin({})
        for epoch in range(epochs):
            cbs.on_epoch_begin(epoch, {})
            order = self.shuffle_rng.permutation(len(X)) if shuffle else np.arange(len(X))
            sums: dict[str, float] = {}
            batches = 0
            for batch, start in enumerate(range(0, len(X), batch_size)):
                idx = order[start : start + batch_size]
                cbs.on_train_batch_begin(batch, {})
                logs = self.train_step(X[idx], Y[idx])
                cbs.on_train_batch_end(batch, logs)
                if "non_finite" in logs:
                    history.non_finite = logs["non_finite"]
                    self.stop_training = True
                    break
                batches += 1
                for key in ("loss", "accuracy"):
                    if key in logs:
                        sums[key] = sums.get(key, 0.0) + logs[key]
                if self.stop_training:
                    break
            epoch_logs = {k: v / batches for k, v in sums.items()} if batches else {}
            if validation_data is not None and batches:
                val = self.evaluate(*validation_data)
                epoch_logs.update({f"val_{k}": v for k, v in val.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end({})
        return history

    # ---------------------------------------------------------------- configuration

    def get_config(self) -> dict:
        return {
            "input_dim": self.input_dim,
            "seed": self.seed,
            "dtype": str(self.dtype),
            "dead_window": self.dead_window,
            "layers": [layer.get_config() for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        if not isinstance(config, dict):
            raise ValueError("a network must be described by an object")
        unknown = set(config) - {"input_dim", "seed", "dtype", "layers", "dead_window"}
        if unknown:
            raise ValueError(f"unknown network settings: {', '.join(sorted(unknown))}")
        layer_configs = config.get("layers")
        if not isinstance(layer_configs, list):
            raise ValueError("network.layers must be a list")
        built = []
        for i, layer_config in enumerate(layer_configs):
            try:
                built.append(registry.get("layer", layer_config))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"layers[{i}]: {exc}") from None
        return cls(
            built,
            input_dim=config.get("input_dim"),
            seed=config.get("seed", 0),
            dtype=config.get("dtype", "float64"),
            dead_window=config.get("dead_window", DEAD_WINDOW),
        )

    def clone(self, dtype=None) -> Sequential:
        """A new network with the same layers, compile settings and current weights."""
        config = self.get_config()
        if dtype is not None:
            config["dtype"] = dtype
        net = Sequential.from_config(config)
        if self.loss is not None:
            net.compile(self.optimizer.get_config(), self.loss.name)
        net.set_weights(self.get_weights())
        net.measure = self.measure
        return net

    def summary_rows(self) -> list[dict]:
        """One row per layer: name, class, output shape, parameter count, activation."""
        rows, dim = [], self.input_dim
        for layer in self.layers:
            count = layer.parameter_count_for(dim)
            dim = layer.output_dim_for(dim)
            rows.append(
                {
                    "name": layer.name,
                    "class": type(layer).__name__,
                    "output_shape": (None, dim),
                    "parameters": count,
                    "activation": layer.activation.name if layer.activation else None,
                }
            )
        return rows

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], input_dim={self.input_dim}, seed={self.seed})"
