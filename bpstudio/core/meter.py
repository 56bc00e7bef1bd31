"""The step meter: what every training step measures for the studio, apart from the step.

Per kernel layer: the gradient norm, the weight norm and the update-to-weight ratio; per
layer with an activation: the mean and spread of its outputs; per tanh/sigmoid layer: the
share of saturated outputs; per ReLU-family layer: the share of dead units (inactive on every
sample of the last `dead_window` batches). The meter owns the names of these measurements:
`columns()` names them for a history, `row(logs)` lists a step's values in that order, and
`group(columns)` reads such names back, so no other module parses them.
"""

from __future__ import annotations

import math

import numpy as np

#: Column prefixes, one per measurement per layer: f"{prefix}/{layer name}".
GRAD_NORM = "grad_norm"
UPDATE_RATIO = "update_ratio"
ACTIVATION_MEAN = "activation_mean"
ACTIVATION_STD = "activation_std"
SATURATION = "saturation"
DEAD_FRACTION = "dead_fraction"


def _norm(v) -> float:
    return math.sqrt(float(v @ v))


class StepMeter:
    """Measures a Sequential's steps. Built by the network once its layers are built; reads
    the network's flat parameter and gradient arrays through 1-D views of each kernel.

    net: the Sequential; dead_window: batches a unit must stay inactive to be called dead."""

    def __init__(self, net, dead_window: int):
        self.net = net
        self.dead_window = dead_window
        self.kernel_spans = [
            net.parameter_spans[f"{layer.name}/kernel"] for layer in net.kernel_layers
        ]
        self.kernel_params = [net.flat_params[a:b] for a, b in self.kernel_spans]
        self.kernel_grads = [net.flat_grads[a:b] for a, b in self.kernel_spans]
        #: The step on which each unit of each ReLU-family layer was last active.
        self.last_active = [np.full(layer.output_dim, -1, np.int64) for layer in net.relu_layers]

    # ---------------------------------------------------------------- names

    def columns(self) -> list[str]:
        """The per-step measurements as history column names, in `row()`'s order."""
        net = self.net
        cols = ["loss"]
        if net.loss.classification:
            cols.append("accuracy")
        for layer in net.kernel_layers:
            cols += [f"{GRAD_NORM}/{layer.name}", f"{UPDATE_RATIO}/{layer.name}"]
        cols += [f"{ACTIVATION_MEAN}/{layer.name}" for layer in net.activation_layers]
        cols += [f"{ACTIVATION_STD}/{layer.name}" for layer in net.activation_layers]
        cols += [f"{SATURATION}/{layer.name}" for layer in net.saturating_layers]
        cols += [f"{DEAD_FRACTION}/{layer.name}" for layer in net.relu_layers]
        return cols

    def row(self, logs) -> list[float]:
        """The values of `columns()` from a step's logs, in the same order."""
        row = [logs["loss"]]
        if self.net.loss.classification:
            row.append(logs["accuracy"])
        for g, u in zip(logs["grad_norms"], logs["update_ratios"]):
            row += [g, u]
        row += logs["activation_mean"]
        row += logs["activation_std"]
        row += logs["saturation"]
        row += logs["dead_fraction"]
        return row

    # ---------------------------------------------------------------- measuring

    def measure(self, logs: dict, step: int, update: np.ndarray):
        """Add the measurements of `step` to its logs. Called after the backward pass and
        before the update is applied to the weights; update: the step's update, flat."""
        logs["grad_norms"] = [_norm(v) for v in self.kernel_grads]
        weight_norms = [_norm(v) for v in self.kernel_params]
        logs["weight_norms"] = weight_norms
        logs["update_ratios"] = [
            _norm(update[a:b]) / w if w else math.inf
            for (a, b), w in zip(self.kernel_spans, weight_norms)
        ]
        means, stds = [], []
        for layer in self.net.activation_layers:
            a = layer.A
            mean = float(a.sum()) / a.size
            means.append(mean)
            # Two passes: E[a²] - mean² loses every digit when the spread is small beside
            # the mean (a saturated layer), and the engines must agree on it to 1e-12.
            d = (a - mean).ravel()
            stds.append(math.sqrt(float(d @ d) / a.size))
        logs["activation_mean"] = means
        logs["activation_std"] = stds
        logs["saturation"] = [
            np.count_nonzero(layer.activation.saturated(layer.A)) / layer.A.size
            for layer in self.net.saturating_layers
        ]
        fraction_batch = []
        for layer, last_active in zip(self.net.relu_layers, self.last_active):
            # For every ReLU-family function the output is > 0 exactly where the input is.
            active = layer.A.max(axis=0) > 0
            last_active[active] = step
            fraction_batch.append(1.0 - np.count_nonzero(active) / active.size)
        dead = self.dead_units(step + 1)
        logs["dead_units"] = dead
        logs["dead_fraction"] = [np.count_nonzero(units) / units.size for units in dead]
        logs["dead_fraction_batch"] = fraction_batch

    def dead_units(self, steps: int) -> list[np.ndarray]:
        """Per ReLU-family layer, the units inactive on every sample of the last
        `dead_window` batches before step `steps` (one batch is too small to call a unit
        dead)."""
        oldest = steps - self.dead_window
        return [last_active < oldest for last_active in self.last_active]


def column(prefix: str, layer: str) -> str:
    """The column name of one measurement of one layer: column(GRAD_NORM, "dense")."""
    return f"{prefix}/{layer}"


def group(columns) -> dict[str, list[tuple[int, str]]]:
    """Read measurement columns back: {prefix: [(column index, layer name), ...]} in the
    network's order, e.g. {"grad_norm": [(2, "dense"), (4, "dense_1")], ...}."""
    grouped: dict[str, list[tuple[int, str]]] = {}
    for i, name in enumerate(columns):
        if "/" in name:
            prefix, layer = name.split("/", 1)
            grouped.setdefault(prefix, []).append((i, layer))
    return grouped
