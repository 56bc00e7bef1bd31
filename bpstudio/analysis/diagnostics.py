"""Rules that name what a run's measurements show. No Qt: the studio only displays them.

`diagnose(history)` reads the per-step and per-epoch series a Trainer records and returns the
findings that hold now: vanishing or exploding gradients, dead ReLU units, saturated
tanh/sigmoid units, overfitting, a learning rate too high or too low. Each finding says what
it saw, in numbers, in which layer, what to try, and which lesson shows it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bpstudio.core import meter
from bpstudio.core.meter import (
    ACTIVATION_MEAN,
    DEAD_FRACTION,
    GRAD_NORM,
    SATURATION,
    UPDATE_RATIO,
)
from bpstudio.training.history import RunHistory

#: First-to-last layer gradient ratios outside [VANISHING, EXPLODING] are called out.
VANISHING = 1e-3
EXPLODING = 1e3
HUGE_GRADIENT = 1e4  # a gradient norm this large is exploding, whatever the ratio
#: Steps looked at by the rules over the recent past, and the fewest they need.
WINDOW = 50
MIN_STEPS = 20
DEAD = 0.5  # share of a layer's units dead
SATURATED = 0.6  # share of a hidden layer's outputs within 1% of the limits
GROWTH = 1e3  # gradient growth since the start of the run
UPDATE_HIGH = 0.1  # each step changes the weights by more than 10%
UPDATE_LOW = 1e-6
#: A training loss below this has little left to learn: its steps are small because its
#: gradients are, not because the learning rate is (lesson 5, its training loss at 0.000,
#: was told to raise the learning rate ten times).
CONVERGED = 1e-3
OVERFIT = 1.5  # test loss this many times its best, and at least OVERFIT_RISE above it
OVERFIT_RISE = 0.1
STOPPED = "stopped: "
OVERFIT_EPOCHS = 5


@dataclass(frozen=True)
class Finding:
    kind: str  # vanishing, exploding, non_finite, dead_units, saturation, overfitting, ...
    layer: str | None  # None: about the whole network
    message: str  # what was seen, with its numbers
    advice: str  # what to try
    lesson: int | None = None  # the lesson that shows it

    @property
    def title(self) -> str:
        return TITLES[self.kind]


TITLES = {
    "non_finite": "Training overflowed",
    "exploding": "Exploding gradients",
    "vanishing": "Vanishing gradients",
    "dead_units": "Dead ReLU units",
    "saturation": "Saturated units",
    "overfitting": "Overfitting",
    "lr_high": "Learning rate too high",
    "lr_low": "Learning rate too low",
}


@dataclass(frozen=True)
class Flow:
    """How the gradient flows back through the network, judged once for every place that
    shows it (the gradients panel's sentence and the vanishing/exploding findings).

    ratio: the first kernel layer's gradient norm over the last one's, the median over the
    last `steps` steps (None: not measured); verdict: "early" (fewer than MIN_STEPS steps),
    "vanishing", "exploding", "zero" (no layer gets any gradient), "healthy" or "unknown"."""

    ratio: float | None
    verdict: str
    steps: int
    largest: float = math.nan  # the largest recent gradient norm
    grew: tuple | None = None  # (layer, norm at the start, norm now) of the fastest growth


def gradient_flow_of(history: RunHistory) -> Flow:
    """The gradient flow of the run over its last WINDOW steps."""
    steps = history.steps
    named = meter.group(steps.columns).get(GRAD_NORM, [])
    grads = [i for i, _ in named]
    if not len(steps) or not grads:
        return Flow(None, "unknown", 0)
    recent = steps.values[-WINDOW:][:, grads]
    with np.errstate(all="ignore"):
        largest = _median(np.nanmax(np.where(np.isfinite(recent), recent, np.nan)[-5:], axis=1))
    if len(steps) < MIN_STEPS:
        return Flow(None, "early", len(steps), largest)
    grew = _growth(named, steps.values[: min(10, len(steps))], steps.values[-5:])
    if largest > HUGE_GRADIENT or grew is not None:
        return Flow(None, "exploding", len(recent), largest, grew)
    if len(grads) < 2:
        return Flow(None, "unknown", len(recent), largest)
    if not np.any(recent):
        return Flow(0.0, "zero", len(recent), largest)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = _median(recent[:, 0] / recent[:, -1])
    if not math.isfinite(ratio):
        return Flow(None, "unknown", len(recent), largest)
    if ratio > EXPLODING:
        verdict = "exploding"
    elif ratio < VANISHING and len(grads) >= 3:  # vanishing is about depth
        verdict = "vanishing"
    else:
        verdict = "healthy"
    return Flow(ratio, verdict, len(recent), largest)


def _growth(named, start, now):
    """(layer, norm at the start, norm now) of the layer whose gradient grew the most, if
    one grew more than GROWTH times (and past 100)."""
    worst = None
    columns = [i for i, _ in named]
    befores, afters = _medians(start[:, columns]).tolist(), _medians(now[:, columns]).tolist()
    for (_, layer), before, after in zip(named, befores, afters):
        if before > 0 and after > max(GROWTH * before, 100.0):
            if worst is None or after / before > worst[2] / worst[1]:
                worst = (layer, before, after)
    return worst


def diagnose(
    history: RunHistory, activations: dict | None = None, flow: Flow | None = None
) -> list[Finding]:
    """The findings that hold for the run so far, the most urgent first. `activations` maps
    layer names to activation names (see `activation_names`); without it every ReLU-family
    layer is taken for plain ReLU. `flow`: gradient_flow_of(history), if already known."""
    findings = _non_finite(history)
    if findings:  # what the run showed before it overflowed is beside the point now
        return findings
    steps = history.steps
    if len(steps) >= MIN_STEPS:
        columns = meter.group(steps.columns)
        recent = steps.values[-WINDOW:]
        start = steps.values[: min(10, len(steps))]
        flow = gradient_flow_of(history) if flow is None else flow
        findings += _exploding(flow)
        findings += _vanishing(columns, flow)
        dead = _dead_units(columns, recent, start, activations or {})
        findings += dead
        findings += _saturation(columns, recent)
        if not dead:  # a dead network does not move either, whatever the learning rate
            findings += _learning_rate(columns, recent, steps.columns)
    findings += _overfitting(history)
    return findings


def activation_names(net) -> dict[str, str]:
    """{layer name: activation name} for the layers of `net` that have an activation."""
    return {layer.name: layer.activation.name for layer in net.activation_layers}


def _median(values) -> float:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else math.nan


def _medians(block) -> np.ndarray:
    """_median of each column of `block` (rows, columns), in one pass: a call per layer
    (0.02 ms each, 28 a snapshot) was most of the time snapshots spent judging the run."""
    finite = np.isfinite(block)
    ordered = np.sort(np.where(finite, block, np.nan), axis=0)  # NaN last
    n = finite.sum(axis=0)
    columns = np.arange(block.shape[1])
    low, high = np.maximum((n - 1) // 2, 0), np.maximum(n // 2, 0)
    a, b = ordered[low, columns], ordered[high, columns]
    with np.errstate(invalid="ignore", over="ignore"):
        middle = np.where(low == high, a, (a + b) / 2)  # a + a overflows near 1e308
    return np.where(n > 0, middle, np.nan)


def _non_finite(history) -> list[Finding]:
    # The trainer stops on a non-finite value and says so in an event; a rollback after it
    # ends the matter.
    if not history.events or not history.events[-1][1].startswith(STOPPED):
        return []
    what = history.events[-1][1].removeprefix(STOPPED)
    return [
        Finding(
            "non_finite",
            None,
            what[0].upper() + what[1:].rstrip(".") + ".",
            "Roll back to the last finite weights, then lower the learning rate, clip the "
            "gradients or add batch normalization.",
            3,
        )
    ]


def _exploding(flow: Flow) -> list[Finding]:
    if flow.verdict != "exploding":
        return []
    if flow.grew is not None:
        layer, before, now = flow.grew
        seen = (
            f"The gradient of {layer} grew from {before:.2g} to {now:.2g} "
            f"({now / before:,.0f} times) since the run began."
        )
    else:
        layer, seen = None, f"The gradients are as large as {flow.largest:.1e}."
    return [
        Finding(
            "exploding",
            layer,
            seen,
            "Lower the learning rate, clip the gradients (clipping 1.0), or add batch "
            "normalization; check that the initial weights are not too large.",
            3,
        )
    ]


def _vanishing(columns, flow: Flow) -> list[Finding]:
    if flow.verdict != "vanishing":
        return []
    first_name = columns[GRAD_NORM][0][1]
    return [
        Finding(
            "vanishing",
            first_name,
            f"For the last {flow.steps} steps the gradient reaching {first_name} was "
            f"{flow.ratio:.1e} of the output layer's: the first layers barely learn.",
            "Use ReLU with He initialization, or add batch normalization; fewer "
            "sigmoid/tanh layers also help.",
            2,
        )
    ]


def _dead_units(columns, recent, start, activations) -> list[Finding]:
    # LeakyReLU and ELU units below zero still pass a gradient and can come back: only
    # plain ReLU units are dead for good.
    layers = [
        (float(recent[-1, i]), float(start[0, i]), layer)
        for i, layer in columns.get(DEAD_FRACTION, [])
        if activations.get(layer, "relu") == "relu"
    ]
    dead = [entry for entry in layers if entry[0] >= DEAD and entry[0] >= entry[1] + 0.25]
    if not dead:
        return []
    now, before, layer = max(dead)
    return [
        Finding(
            "dead_units",
            layer,
            f"{now:.0%} of {layer}'s units are dead (inactive on every input of the last "
            f"batches), up from {before:.0%} at the start; they get no gradient any more.",
            "Lower the learning rate, or use LeakyReLU with He initialization.",
            4,
        )
    ]


def _saturation(columns, recent) -> list[Finding]:
    # An output layer close to 0 or 1 is a confident prediction, not a problem.
    output = columns[ACTIVATION_MEAN][-1][1] if columns.get(ACTIVATION_MEAN) else None
    named = columns.get(SATURATION, [])
    shares = _medians(recent[:, [i for i, _ in named]]).tolist() if named else []
    for (_, layer), share in zip(named, shares):
        if layer == output:
            continue
        if share >= SATURATED:
            return [
                Finding(
                    "saturation",
                    layer,
                    f"{share:.0%} of {layer}'s outputs sit within 1% of the limits of its "
                    f"activation, where its slope is almost zero.",
                    "Start from smaller weights (Glorot initialization), lower the learning "
                    "rate, add batch normalization, or use ReLU.",
                    2,
                )
            ]
    return []


def _learning_rate(columns, recent, names) -> list[Finding]:
    ratios = [i for i, _ in columns.get(UPDATE_RATIO, [])]
    if not ratios:
        return []
    update = _median(recent[:, ratios])
    loss = recent[:, names.index("loss")]
    if update > UPDATE_HIGH:
        return [
            Finding(
                "lr_high",
                None,
                f"Every step changes the weights by {update:.0%} of their size (around 0.1% "
                f"is usual); the loss jumps instead of falling.",
                "Lower the learning rate ten times, or clip the gradients.",
                3,
            )
        ]
    head, tail = _median(loss[: len(loss) // 2]), _median(loss[len(loss) // 2 :])
    if 0 < update < UPDATE_LOW and tail > 0.99 * head and tail > CONVERGED:
        return [
            Finding(
                "lr_low",
                None,
                f"Every step changes the weights by only {update:.1e} of their size and "
                f"the loss has stopped moving.",
                "Raise the learning rate ten times.",
                1,
            )
        ]
    return []


def _overfitting(history) -> list[Finding]:
    epochs = history.epochs
    if len(epochs) < 2 * OVERFIT_EPOCHS:
        return []
    test, train = epochs.column("test_loss"), epochs.column("train_loss")
    if not (np.isfinite(test).all() and np.isfinite(train).all()):
        return []
    best = int(np.argmin(test))
    since = len(test) - 1 - best
    rising = test[-1] >= OVERFIT * test[best] and test[-1] >= test[best] + OVERFIT_RISE
    if since < OVERFIT_EPOCHS or not rising or train[-1] >= train[best]:
        return []
    return [
        Finding(
            "overfitting",
            None,
            f"The test loss rose from {test[best]:.3f} (epoch {best + 1}) to {test[-1]:.3f} "
            f"while the training loss fell from {train[best]:.3f} to {train[-1]:.3f}: the "
            f"network is memorising the training points.",
            "Add dropout (0.2–0.5) or L2 regularization, use more data, or stop at the "
            "epoch where the test loss was lowest.",
            5,
        )
    ]
