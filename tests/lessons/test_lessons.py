"""Each lesson reproduces its phenomenon and its cure with numbers, and the diagnosis rules
name the phenomenon on the broken run and stay silent on the cure."""

import numpy as np
import pytest

from bpstudio.analysis.diagnostics import activation_names, diagnose
from bpstudio.lessons.catalog import LESSONS, lessons, with_fix

MAKERS = {lesson.number: make for lesson, make in LESSONS.items()}


def run(project, epochs=None):
    trainer = project.make_trainer()
    trainer.fit(project.epochs if epochs is None else epochs)
    return trainer


def variants(number):
    """{name: trainer} for the lesson's broken run and each of its fixes, run to the end."""
    project = MAKERS[number]()
    runs = {"broken": run(project)}
    for i, fix in enumerate(project.lesson["fixes"]):
        runs[fix["name"]] = run(with_fix(project, i))
    return runs


def grad_ratio(trainer, last=50):
    """Median first-to-last layer gradient-norm ratio over the last steps."""
    steps = trainer.history.steps
    grads = [steps.column(c)[-last:] for c in steps.columns if c.startswith("grad_norm/")]
    return float(np.median(grads[0] / grads[-1]))


def dead_fraction(trainer):
    steps = trainer.history.steps
    dead = [steps.column(c)[-1] for c in steps.columns if c.startswith("dead_fraction/")]
    return float(np.mean(dead))


def final(trainer, key):
    return trainer.history.epochs.last()[key]


def findings(trainer):
    return [f.kind for f in diagnose(trainer.history, activation_names(trainer.net))]


def test_every_lesson_is_listed_with_a_question_an_answer_and_fixes():
    assert [lesson.number for lesson in lessons()] == [1, 2, 3, 4, 5]
    for lesson in lessons():
        project = MAKERS[lesson.number]()
        assert project.lesson["number"] == lesson.number
        assert project.lesson["question"].startswith("Before you press play")
        assert project.lesson["answer"] and project.lesson["fixes"]
        for i in range(len(project.lesson["fixes"])):
            fixed = with_fix(project, i)
            assert fixed.seed == project.seed and fixed.dataset == project.dataset
            assert fixed.weights is None and fixed.runs == []


def test_first_network_learns_the_circle_and_faster_with_a_larger_step():
    runs = variants(1)
    assert final(runs["broken"], "test_accuracy") > 0.95
    faster = runs["A learning rate ten times higher"]
    after_10 = [t.history.epochs.column("test_loss")[9] for t in (runs["broken"], faster)]
    assert after_10[1] < after_10[0] / 2
    assert findings(runs["broken"]) == [] and findings(faster) == []


def test_vanishing_gradients_with_sigmoid_and_their_cure():
    runs = variants(2)
    broken = runs["broken"]
    assert grad_ratio(broken) < 1e-3
    assert final(broken, "test_accuracy") < 0.6  # it learns nothing
    assert grad_ratio(runs["ReLU with He initialization"]) > 1e-1
    assert grad_ratio(runs["Batch normalization"]) > 1e-1
    assert final(runs["ReLU with He initialization"], "test_accuracy") > 0.95
    assert findings(broken) == ["vanishing"]
    for name in ("ReLU with He initialization", "Batch normalization"):
        assert findings(runs[name]) == [], name


def test_exploding_gradients_overflow_and_three_cures():
    runs = variants(3)
    broken = runs["broken"]
    assert broken.failure is not None and broken.step_count < 10
    assert "exploded" in broken.failure["message"] or "not finite" in broken.failure["message"]
    for name in ("A learning rate ten times lower", "Gradient clipping", "Batch normalization"):
        cured = runs[name]
        assert cured.failure is None and cured.step_count == 500, name
        assert final(cured, "test_accuracy") > 0.9, name
        assert findings(cured) == [], name
    assert findings(broken) == ["non_finite"]
    finding = diagnose(broken.history)[0]
    assert f"Step {broken.step_count}" in finding.message and finding.lesson == 3


def test_dead_relu_units_at_a_high_learning_rate_and_their_cure():
    runs = variants(4)
    broken = runs["broken"]
    assert dead_fraction(broken) > 0.5
    assert final(broken, "test_accuracy") < 0.6
    lower = runs["A learning rate ten times lower"]
    assert dead_fraction(lower) < 0.1
    assert final(lower, "test_accuracy") > 0.9
    # LeakyReLU units below zero are inactive but not dead: they still learn.
    assert final(runs["LeakyReLU with He initialization"], "test_accuracy") > 0.9
    assert findings(broken) == ["dead_units"]
    finding = diagnose(broken.history, activation_names(broken.net))[0]
    assert finding.message.startswith("100% of dense_2's units are dead")
    for name in ("A learning rate ten times lower", "LeakyReLU with He initialization"):
        assert findings(runs[name]) == [], name


def test_dropout_closes_the_gap_between_train_and_test():
    runs = variants(5)
    gaps = {name: final(t, "test_loss") - final(t, "train_loss") for name, t in runs.items()}
    assert gaps["broken"] > gaps["Dropout 0.2"] > gaps["Dropout 0.5"] > gaps["Dropout 0.9"]
    test_loss = runs["broken"].history.epochs.column("test_loss")
    assert test_loss[-1] > 2 * test_loss.min()  # the test loss turned and rose
    # 0.9 is too much: the network can no longer fit even the training points.
    assert final(runs["Dropout 0.9"], "train_loss") > 0.6
    assert findings(runs["broken"]) == ["overfitting"]
    assert findings(runs["Dropout 0.2"]) == ["overfitting"]  # not enough dropout
    assert findings(runs["Dropout 0.5"]) == []
    message = diagnose(runs["broken"].history)[0].message
    assert message.startswith("The test loss rose from")


@pytest.mark.parametrize("kind", ["lr_high", "saturation"])
def test_the_other_rules_fire_on_runs_made_to_show_them(kind):
    project = MAKERS[1]()
    if kind == "lr_high":
        project.optimizer = {"name": "sgd", "learning_rate": 3.0}
    else:
        big = {"name": "random_normal", "stddev": 5.0}
        project.layers = [
            {"class": "Dense", "units": 8, "activation": "tanh", "kernel_initializer": big},
            {"class": "Dense", "units": 8, "activation": "tanh", "kernel_initializer": big},
            {"class": "Dense", "units": 1, "activation": "sigmoid"},
        ]
    trainer = run(project, epochs=3)
    assert kind in findings(trainer)


def test_gradient_flow_names_what_the_bars_show():
    from bpstudio.analysis.diagnostics import MIN_STEPS, gradient_flow_of
    from bpstudio.training.history import RunHistory

    def flow(rows):
        history = RunHistory(["loss", "grad_norm/a", "grad_norm/b", "grad_norm/c"])
        for step, norms in enumerate(rows):
            history.steps.append(step, [0.5, *norms])
        return gradient_flow_of(history)

    assert flow([(1e-5, 0.1, 0.1)] * 3).verdict == "early"  # one noisy step is no verdict
    vanishing = flow([(1e-5, 0.1, 0.1)] * MIN_STEPS)
    assert vanishing.verdict == "vanishing" and vanishing.ratio == pytest.approx(1e-4)
    # The median over the window, not the latest step: one step like a healthy one does not
    # change the verdict (the panel once said "healthy" beside a vanishing banner).
    noisy = flow([(1e-5, 0.1, 0.1)] * MIN_STEPS + [(0.2, 0.1, 0.1)])
    assert noisy.verdict == "vanishing"
    assert flow([(0.2, 0.1, 0.1)] * MIN_STEPS).verdict == "healthy"
    # Huge everywhere, even if the output layer's is the largest: exploding, not vanishing.
    assert flow([(1e60, 1e65, 1e70)] * MIN_STEPS).verdict == "exploding"
    assert flow([(0.0, 0.0, 0.0)] * MIN_STEPS).verdict == "zero"
    assert flow([(float("nan"), 1.0, 1.0)] * MIN_STEPS).verdict == "unknown"


def test_a_non_finite_stop_is_the_only_finding_of_its_step():
    from bpstudio.lessons.catalog import dead_relu

    trainer = dead_relu().make_trainer()
    trainer.fit(steps=300)
    assert "dead_units" in findings(trainer)  # what the run showed before it broke
    trainer.net.layers[-1].params["bias"][...] = np.inf  # the output is no longer finite
    trainer.fit(steps=5)
    assert trainer.failure is not None
    assert findings(trainer) == ["non_finite"]
