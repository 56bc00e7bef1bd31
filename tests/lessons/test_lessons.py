"""Each lesson reproduces its phenomenon and its cure with numbers, and the diagnosis rules
name the phenomenon on the broken run and stay silent on the cure."""

import sys

import numpy as np
import pytest

from bpstudio.analysis.diagnostics import activation_names, diagnose
from bpstudio.lessons.catalog import LESSONS, lessons, with_fix

MAKERS = {lesson.number: make for lesson, make in LESSONS.items()}
#: The engine the lessons train on: every claim must hold on both (the window takes the
#: compiled one for the small dense networks, NumPy for the rest).
ENGINE = "numpy"


@pytest.fixture(autouse=True, params=["numpy", "compiled"])
def engine(request, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", request.param)
    return request.param


def trainer_of(project):
    return project.make_trainer(engine=ENGINE)


def run(project, epochs=None):
    trainer = trainer_of(project)
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
    assert [lesson.number for lesson in lessons()] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    for lesson in lessons():
        project = MAKERS[lesson.number]()
        assert project.lesson["number"] == lesson.number
        assert project.lesson["question"].startswith("Before you press play")
        assert project.lesson["answer"] and project.lesson["fixes"]
        for i in range(len(project.lesson["fixes"])):
            fixed = with_fix(project, i)
            assert fixed.dataset == project.dataset  # runs compare on the same data
            # The same starting weights, except where other starts are the lesson (7).
            assert (fixed.seed == project.seed) != (lesson.number == 7)
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


WRONG_NAMES = {"vanishing", "exploding", "dead_units", "non_finite"}


def test_no_hidden_layer_cannot_separate_the_rings_and_a_nonlinear_one_can():
    runs = variants(6)
    for name in ("broken", "A hidden layer of 8 linear units"):
        assert final(runs[name], "test_accuracy") < 0.67, name  # a straight line
        assert final(runs[name], "test_loss") > 0.65, name
    assert final(runs["broken"], "test_accuracy") < 0.6  # about half
    tanh = runs["A hidden layer of 3 tanh units"]
    assert final(tanh, "test_accuracy") > 0.95 and tanh.net.count_params() == 13
    assert runs["A hidden layer of 8 linear units"].net.count_params() == 33
    # Linear units stacked are one weighted sum: the answer over the plane is cut by a line.
    linear = runs["A hidden layer of 8 linear units"].net
    W = np.eye(2)
    for layer in linear.layers:
        W = W @ layer.params["kernel"]
    points = np.random.default_rng(0).uniform(-6, 6, (500, 2))
    z = points @ W[:, 0]
    answer = linear.predict(points)[:, 0] > 0.5
    assert np.all(answer[np.argsort(z)] == np.sort(answer)) or np.all(
        answer[np.argsort(-z)] == np.sort(answer)
    )  # sorted along the one direction W, the answers switch once
    for trainer in runs.values():
        assert not WRONG_NAMES & set(findings(trainer))


def test_the_same_network_from_other_starting_weights_ends_elsewhere():
    runs = variants(7)
    solved = [runs["broken"], runs["Starting weights from seed 1"]]
    stuck = [runs["Starting weights from seed 2"], runs["Starting weights from seed 4"]]
    for trainer in solved:
        assert final(trainer, "test_accuracy") > 0.99

    def spread(trainer):
        """The smallest cosine between two hidden units' weight vectors."""
        W = trainer.net.layers[0].params["kernel"].T
        W = W / np.linalg.norm(W, axis=1, keepdims=True)
        return (W @ W.T).min()

    for trainer in stuck:
        assert 0.65 < final(trainer, "test_accuracy") < 0.8
        # One quadrant wrong, the others right: three quadrants of four.
        ds = trainer.dataset
        wrong = ds.predicted_classes(trainer.net.predict(trainer.X_test)) != ds.y_test
        quadrant = (ds.points_test[:, 0] > 0) * 2 + (ds.points_test[:, 1] > 0)
        share = [wrong[quadrant == q].mean() for q in range(4)]
        assert sorted(share)[-1] > 0.9 and sorted(share)[-2] < 0.05, share
        assert spread(trainer) > 0.8  # the three units point the same way
        assert dead_fraction(trainer) == 0  # alive, only alike
    for trainer in solved:
        assert spread(trainer) < 0.5  # units pointing different ways
    assert [t.net.seed for t in (*solved, *stuck)] == [0, 1, 2, 4]
    data = [t.dataset.X_train for t in runs.values()]
    assert all(np.array_equal(data[0], x) for x in data)  # only the start differs


def test_softmax_over_three_arms_and_where_its_mistakes_are():
    runs = variants(8)
    broken = runs["broken"]

    def late(trainer):  # the median over the last 50 epochs: the curves jump
        return float(np.median(trainer.history.epochs.column("test_accuracy")[-50:]))

    assert 0.8 < late(broken) < 0.95  # most, about nine in ten
    ds = broken.dataset
    probabilities = broken.net.predict(broken.X_test)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)  # softmax: they share 1
    wrong = ds.predicted_classes(probabilities) != ds.y_test
    # Spread over every pair of arms: each borders both others.
    k = ds.n_classes
    confusion = np.bincount(ds.y_test * k + probabilities.argmax(axis=1), minlength=k * k)
    confusion = confusion.reshape(k, k)
    pairs = [confusion[i, j] + confusion[j, i] for i in range(k) for j in range(i + 1, k)]
    assert min(pairs) > 0 and max(pairs) < 0.6 * sum(pairs)
    # The network is least sure where it is wrong: pale places on the plane.
    sure = probabilities.max(axis=1)
    assert sure[wrong].mean() < sure[~wrong].mean() - 0.1
    assert late(runs["No hidden layer"]) < 0.5  # three wedges
    assert late(runs["Two layers of 16 ReLU units"]) > 0.93  # about 96 %


def until_target(project, target):
    """Train epoch by epoch until the stop condition the window uses is reached; returns
    (trainer, the epoch it stopped at or None)."""
    from bpstudio.training import StopCondition

    stop, trainer = StopCondition(**target), trainer_of(project)
    for epoch in range(1, target["epoch"] + 1):
        trainer.run_epoch()
        if stop.reached(epoch, trainer.history.epochs.last()["test_loss"]):
            return trainer, epoch if epoch < target["epoch"] or final(
                trainer, "test_loss"
            ) < target["test_loss"] else None
    return trainer, None


def test_the_spiral_challenge_and_two_networks_that_meet_it():
    from bpstudio.lessons.catalog import CHALLENGE

    project = MAKERS[9]()
    assert project.stop == CHALLENGE  # the window stops at the target by itself
    broken, epoch = until_target(project, CHALLENGE)
    assert epoch is None and broken.net.count_params() == 37
    assert broken.history.epochs.column("test_loss").min() > 0.4  # stays near 0.5
    tanh, tanh_epoch = until_target(with_fix(project, 0), CHALLENGE)
    relu, relu_epoch = until_target(with_fix(project, 1), CHALLENGE)
    assert (tanh.net.count_params(), relu.net.count_params()) == (105, 177)
    assert tanh_epoch is not None and relu_epoch is not None
    assert 200 < tanh_epoch < 350 and relu_epoch < 100  # about 270 and about 50
    assert relu_epoch * 4 < tanh_epoch  # more parameters, far sooner


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

    trainer = trainer_of(dead_relu())
    trainer.fit(steps=300)
    assert "dead_units" in findings(trainer)  # what the run showed before it broke
    trainer.net.layers[-1].params["bias"][...] = np.inf  # the output is no longer finite
    trainer.fit(steps=5)
    assert trainer.failure is not None
    assert findings(trainer) == ["non_finite"]
