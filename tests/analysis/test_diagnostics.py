"""The gradient-flow judgement against medians taken column by column with np.median, the
reference, on a real run whose history is given non-finite values and a growing layer."""

import math

import numpy as np

from bpstudio.analysis.diagnostics import (
    CONVERGED,
    GROWTH,
    SATURATED,
    UPDATE_LOW,
    WINDOW,
    diagnose,
    gradient_flow_of,
)
from bpstudio.core import meter
from bpstudio.core.meter import GRAD_NORM, SATURATION, UPDATE_RATIO
from bpstudio.lessons.catalog import LESSONS, lessons


def finite_median(values):
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else math.nan


def lesson_2_run(measurement, layers):
    """Lesson 2 trained 60 steps: the trainer, its `layers` attribute's layer names and the
    history columns of `measurement` for each."""
    lesson = next(x for x in lessons() if x.slug == "vanishing-gradients")
    trainer = LESSONS[lesson]().make_trainer(engine="numpy")
    trainer.fit(steps=60)
    columns = trainer.history.steps.columns
    names = [layer.name for layer in getattr(trainer.net, layers)]
    return trainer, names, [columns.index(meter.column(measurement, name)) for name in names]


def test_the_fastest_growing_layer_is_found_by_its_finite_medians():
    trainer, names, index = lesson_2_run(GRAD_NORM, "kernel_layers")
    values = trainer.history.steps.values
    rng = np.random.default_rng(1)
    values[-5:, index[2]] = values[:10, index[2]].max() * GROWTH * 3 * rng.uniform(1, 2, 5)
    values[-5:, index[4]] = values[:10, index[4]].max() * GROWTH * 2 * rng.uniform(1, 2, 5)
    values[[0, 3], index[2]] = [np.nan, np.inf]  # left out of the medians
    values[-2, index[4]] = -np.inf
    values[:10, index[0]] = np.nan  # a layer with no finite start is not judged
    flow = gradient_flow_of(trainer.history)
    expected = None
    for name, i in zip(names, index):
        before, after = finite_median(values[:10, i]), finite_median(values[-5:, i])
        if before > 0 and after > max(GROWTH * before, 100.0):
            if expected is None or after / before > expected[2] / expected[1]:
                expected = (name, before, after)
    assert expected is not None and expected[0] in (names[2], names[4])
    assert flow.verdict == "exploding" and flow.grew == expected


def test_a_saturated_layer_is_found_by_the_median_of_its_finite_shares():
    trainer, names, index = lesson_2_run(SATURATION, "activation_layers")
    steps = trainer.history.steps
    recent = steps.values[-WINDOW:]
    recent[:, index] = 0.0
    shares = np.linspace(0.5, 1.0, len(recent))
    recent[:, index[3]] = shares
    recent[::7, index[3]] = np.nan  # left out of the median
    found = [f for f in diagnose(trainer.history) if f.kind == "saturation"]
    expected = finite_median(steps.values[-WINDOW:, index[3]])
    assert expected >= SATURATED and [f.layer for f in found] == [names[3]]
    assert f"{expected:.0%} of {names[3]}'s outputs" in found[0].message


def test_tiny_steps_on_a_loss_that_stopped_moving_call_for_a_higher_rate_unless_it_is_done():
    trainer, _, index = lesson_2_run(UPDATE_RATIO, "kernel_layers")
    steps = trainer.history.steps
    recent = steps.values[-WINDOW:]
    recent[:, index] = UPDATE_LOW / 3
    loss = steps.columns.index("loss")
    recent[:, loss] = 0.69  # stuck where it started
    assert "lr_low" in {f.kind for f in diagnose(trainer.history)}
    recent[:, loss] = CONVERGED / 10  # nothing left to learn: small steps are no fault
    assert "lr_low" not in {f.kind for f in diagnose(trainer.history)}
