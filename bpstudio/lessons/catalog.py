"""The built-in lessons. Each is a project defined here; the .bpstudio files shipped in
resources/lessons are generated from these definitions with

    python -m bpstudio.lessons

and a test checks that the shipped files are up to date."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from bpstudio._resources import resource_path
from bpstudio.data.datasets import DatasetRecipe
from bpstudio.project import Project, project_bytes


@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str
    title: str

    @property
    def path(self) -> Path:
        return resource_path("lessons", f"{self.number:02d}-{self.slug}.bpstudio")


def _dense(units, activation, init="glorot_uniform"):
    return {"class": "Dense", "units": units, "activation": activation, "kernel_initializer": init}


def first_network() -> Project:
    return Project(
        name="Lesson 1: Your first network",
        description=(
            "Two rings of points, blue inside and orange outside: no straight line separates "
            "them. A small network with two hidden layers (4 and 2 tanh units) learns a "
            "curved boundary. The loss panel shows the training loss (data the network learns "
            "from) and the test loss (data it never sees); when both fall together, the "
            "network has learned the rule and not the points."
        ),
        dataset=DatasetRecipe("circle", n_samples=500, noise=0.0, train_ratio=0.5, seed=0),
        layers=[_dense(4, "tanh"), _dense(2, "tanh"), _dense(1, "sigmoid")],
        optimizer={"name": "sgd", "learning_rate": 0.03, "momentum": 0.0, "nesterov": False},
        loss="binary_crossentropy",
        batch_size=10,
        epochs=100,
        seed=0,
        lesson={
            "number": 1,
            "focus": "loss",
            "compare": "test_loss",
            "question": "Before you press play: how many epochs will the network need to "
            "separate the two rings? 5, 50 or 500?",
            "answer": "About 50 with this learning rate; the boundary appears long before "
            "the loss reaches zero.",
            "fixes": [
                {
                    "name": "A learning rate ten times higher",
                    "explain": "Steps ten times larger: the rings separate in a few epochs. "
                    "Lessons 3 and 4 show what happens when steps are far too large.",
                    "changes": {"optimizer": {"name": "sgd", "learning_rate": 0.3}},
                }
            ],
        },
    )


def _stack(depth, units, activation, init, batch_norm=False):
    layers = []
    for _ in range(depth):
        layers.append(_dense(units, activation, init))
        if batch_norm:
            layers.append({"class": "BatchNormalization"})
    return layers


def vanishing_gradients() -> Project:
    return Project(
        name="Lesson 2: Vanishing gradients",
        description=(
            "Six hidden layers of sigmoid units. Backpropagation multiplies the error by the "
            "slope of every sigmoid it passes on the way back, and a sigmoid's slope is at "
            "most 1/4: after six layers almost nothing is left. Watch the gradient panel: the "
            "bars shrink towards the input, the first layer's gradient is a ten-thousandth of "
            "the last one's, and the loss stays flat at 0.69 (a coin toss)."
        ),
        dataset=DatasetRecipe("circle", n_samples=500),
        layers=[*_stack(6, 8, "sigmoid", "glorot_uniform"), _dense(1, "sigmoid")],
        optimizer={"name": "sgd", "learning_rate": 0.1},
        loss="binary_crossentropy",
        batch_size=10,
        epochs=20,
        lesson={
            "number": 2,
            "focus": "gradients",
            "compare": "grad_ratio",
            "question": "Before you press play: the last layer's gradient is about 0.1. How "
            "big will the first layer's be: 0.1, 0.01 or 0.0001?",
            "answer": "About 0.0001: each sigmoid layer shrinks the error it passes back "
            "by four or more, and there are six of them.",
            "fixes": [
                {
                    "name": "ReLU with He initialization",
                    "explain": "ReLU's slope is 1 wherever a unit is active, so the error "
                    "passes back undiminished; He initialization keeps the signal's size "
                    "from layer to layer.",
                    "changes": {
                        "layers": [*_stack(6, 8, "relu", "he_normal"), _dense(1, "sigmoid")]
                    },
                },
                {
                    "name": "Batch normalization",
                    "explain": "Normalizing each layer keeps the sigmoids in their steep "
                    "middle, where the slope is largest.",
                    "changes": {
                        "layers": [
                            *_stack(6, 8, "sigmoid", "glorot_uniform", batch_norm=True),
                            _dense(1, "sigmoid"),
                        ]
                    },
                },
            ],
        },
    )


_LARGE_INIT = {"name": "random_normal", "stddev": 0.7}


def exploding_gradients() -> Project:
    return Project(
        name="Lesson 3: Exploding gradients",
        description=(
            "Six ReLU layers whose weights start twice as large as they should (normal with "
            "standard deviation 0.7, where He initialization would use 0.35). Each layer "
            "doubles the signal on the way forward and the error on the way back, and a "
            "learning rate of 0.1 turns the huge gradients into huge steps: within a few "
            "steps the loss overflows. Training stops, and the banner offers a way back."
        ),
        dataset=DatasetRecipe("circle", n_samples=500),
        layers=[*_stack(6, 16, "relu", _LARGE_INIT), _dense(1, "sigmoid")],
        optimizer={"name": "sgd", "learning_rate": 0.1},
        loss="binary_crossentropy",
        batch_size=10,
        epochs=20,
        lesson={
            "number": 3,
            "focus": "gradients",
            "compare": "grad_first",
            "question": "Before you press play: the run has 500 steps. How many will it "
            "survive: 5, 50 or all of them?",
            "answer": "About 5: the gradients grow a thousandfold at every step until the "
            "numbers overflow.",
            "fixes": [
                {
                    "name": "A learning rate ten times lower",
                    "explain": "Smaller steps keep the weights from growing faster than "
                    "the loss can pull them back.",
                    "changes": {"optimizer": {"name": "sgd", "learning_rate": 0.01}},
                },
                {
                    "name": "Gradient clipping",
                    "explain": "Clipping scales the gradient down whenever its norm exceeds "
                    "1, so no single step can be huge.",
                    "changes": {
                        "optimizer": {
                            "name": "sgd",
                            "learning_rate": 0.1,
                            "global_clipnorm": 1.0,
                        }
                    },
                },
                {
                    "name": "Batch normalization",
                    "explain": "Normalizing after every layer undoes the doubling, whatever "
                    "the weights' scale.",
                    "changes": {
                        "layers": [
                            *_stack(6, 16, "relu", _LARGE_INIT, batch_norm=True),
                            _dense(1, "sigmoid"),
                        ]
                    },
                },
            ],
        },
    )


def dead_relu() -> Project:
    return Project(
        name="Lesson 4: Dead ReLU units",
        description=(
            "A ReLU unit whose input is negative for every example outputs zero and gets "
            "zero gradient: nothing can bring it back. A learning rate of 3 throws the "
            "weights so far in the first steps that most units end up there. Watch the "
            "dead-units heatmap fill up (crossed cells are dead on every input) while the "
            "accuracy stays at a coin toss."
        ),
        dataset=DatasetRecipe("circle", n_samples=500, noise=0.1),
        layers=[*_stack(3, 8, "relu", "glorot_uniform"), _dense(1, "sigmoid")],
        optimizer={"name": "sgd", "learning_rate": 3.0},
        loss="binary_crossentropy",
        batch_size=10,
        epochs=20,
        lesson={
            "number": 4,
            "focus": "dead_units",
            "compare": "dead",
            "pause_at_epoch": 20,  # the question asks about this moment
            "question": "Before you press play: of the 24 hidden units, how many will still "
            "be alive after 20 epochs: all, half, or a handful? (Training pauses there.)",
            "answer": "A handful: about three in four die within the first epoch.",
            "fixes": [
                {
                    "name": "A learning rate ten times lower",
                    "explain": "Smaller steps do not push units' inputs below zero for good.",
                    "changes": {"optimizer": {"name": "sgd", "learning_rate": 0.3}},
                },
                {
                    "name": "LeakyReLU with He initialization",
                    "explain": "LeakyReLU passes 1% of the gradient below zero, so a unit "
                    "pushed there can still learn its way back; the heatmap marks it "
                    "inactive, yet the loss keeps falling.",
                    "changes": {
                        "layers": [*_stack(3, 8, "leaky_relu", "he_normal"), _dense(1, "sigmoid")]
                    },
                },
            ],
        },
    )


def _dropout_net(rate):
    layers = []
    for _ in range(2):
        layers.append(_dense(64, "relu", "he_normal"))
        if rate:
            layers.append({"class": "Dropout", "rate": rate})
    return [*layers, _dense(1, "sigmoid")]


def dropout() -> Project:
    return Project(
        name="Lesson 5: Dropout regularization",
        description=(
            "Only 50 noisy training points and a network with over 4,000 weights: it can "
            "memorise every point, noise included. Watch the loss panel: the training loss "
            "keeps falling while the test loss turns and rises. That is overfitting. Dropout "
            "switches off a random share of units at every step, so no unit can rely on "
            "another to memorise a point."
        ),
        dataset=DatasetRecipe("xor", n_samples=100, noise=0.5, train_ratio=0.5),
        layers=_dropout_net(0.0),
        optimizer={"name": "adam", "learning_rate": 0.01},
        loss="binary_crossentropy",
        batch_size=10,
        epochs=200,
        lesson={
            "number": 5,
            "focus": "loss",
            "compare": "test_loss",
            "question": "Before you press play: after 200 epochs, will the test loss be "
            "lower, the same, or higher than after 20?",
            "answer": "Higher, several times: the network fits the noise of the training "
            "points, which says nothing about new ones.",
            "fixes": [
                {
                    "name": f"Dropout {rate}",
                    "explain": explain,
                    "changes": {"layers": _dropout_net(rate)},
                }
                for rate, explain in (
                    (0.2, "A little dropout: the gap between train and test shrinks."),
                    (
                        0.5,
                        "Half the units off at every step: the test loss stays close to "
                        "the training loss.",
                    ),
                    (
                        0.9,
                        "Nine in ten off: too much, the network can no longer learn the "
                        "pattern either (underfitting). At 1.0 every unit is off and nothing "
                        "reaches the output at all.",
                    ),
                )
            ],
        },
    )


def hidden_layer() -> Project:
    return Project(
        name="Lesson 6: What a hidden layer adds",
        description=(
            "The rings again, blue inside and orange outside, but no hidden layer: the output "
            "unit weighs x₁ and x₂, adds a bias and squashes the sum. Whatever its weights, "
            "the places where that sum is zero form a straight line, so the output plane can "
            "only be split in two by a line, and no line separates the rings. A hidden layer "
            "lets the network bend that line, but only if its units are nonlinear: linear "
            "units stacked are still one weighted sum."
        ),
        dataset=DatasetRecipe("circle", n_samples=500),
        layers=[_dense(1, "sigmoid")],
        optimizer={"name": "sgd", "learning_rate": 0.1},
        loss="binary_crossentropy",
        batch_size=10,
        epochs=100,
        lesson={
            "number": 6,
            "focus": "loss",
            "compare": "test_accuracy",
            "question": "Before you press play: with no hidden layer, how many test points "
            "will the network get right after 100 epochs: about half, three in four, or "
            "nearly all?",
            "answer": "About half, a coin toss: the best a straight line can do is cut the "
            "rings in two. The loss stays near 0.69.",
            "fixes": [
                {
                    "name": "A hidden layer of 8 linear units",
                    "explain": "Eight units, 33 weights, and still a straight line: a "
                    "weighted sum of weighted sums is a weighted sum. The test accuracy "
                    "stays below two in three.",
                    "changes": {"layers": [_dense(8, "linear"), _dense(1, "sigmoid")]},
                },
                {
                    "name": "A hidden layer of 3 tanh units",
                    "explain": "Three tanh units each draw a soft line; the output unit "
                    "combines them into a closed curve around the blue points. Nearly every "
                    "test point right, with 13 weights. (Input features x₁² and x₂², in the "
                    "Data tab, do it without a hidden layer: a circle is a line in them.)",
                    "changes": {"layers": [_dense(3, "tanh"), _dense(1, "sigmoid")]},
                },
            ],
        },
    )


def _xor_relu():
    return [_dense(3, "relu", "he_normal"), _dense(1, "sigmoid")]


def starting_weights() -> Project:
    return Project(
        name="Lesson 7: Random starting weights",
        description=(
            "The same small network (three ReLU units) on the same XOR data, trained four "
            "times: the only difference is the seed its starting weights are drawn from. "
            "Gradient descent only goes downhill from where it starts, so different starts "
            "can end in different valleys. Run the fixes and compare the runs: some solve "
            "all four quadrants, some get stuck with one quadrant wrong."
        ),
        dataset=DatasetRecipe("xor", n_samples=500),
        layers=_xor_relu(),
        optimizer={"name": "sgd", "learning_rate": 0.1},
        loss="binary_crossentropy",
        batch_size=10,
        epochs=150,
        seed=0,
        lesson={
            "number": 7,
            "focus": "runs",
            "compare": "test_accuracy",
            "question": "Before you press play: you will train this network from four "
            "different random starts (seed 0, then the fixes: 1, 2 and 4). Will all four "
            "end with the same test accuracy?",
            "answer": "No. Seeds 0 and 1 solve the XOR (over 99 % right); seeds 2 and 4 end "
            "near 74 %, one quadrant wrong: their three units started pointing the same way "
            "and learned nearly the same line, so together they carve only three of the four "
            "quadrants. Point at each unit to see its picture. Where training ends depends on "
            "where it starts: try Reset with new weights (Ctrl+Shift+R) a few times.",
            "fixes": [
                {
                    "name": f"Starting weights from seed {seed}",
                    "explain": explain,
                    "changes": {"seed": seed},
                }
                for seed, explain in (
                    (1, "Another start, another boundary, the same success."),
                    (2, "Stuck: the three units' pictures are the same line, one quadrant wrong."),
                    (4, "Stuck again, along another line: three quadrants out of four."),
                )
            ],
        },
    )


def _arms_net(units, activation, init="glorot_uniform", depth=2):
    return [*_stack(depth, units, activation, init), _dense(3, "softmax")]


def softmax_classes() -> Project:
    return Project(
        name="Lesson 8: Three classes: softmax",
        description=(
            "Three spiral arms, orange, blue and green. The output layer has one unit per "
            "class and softmax turns their sums into three probabilities that add up to 1; "
            "the loss is the categorical cross-entropy, -log of the probability given to the "
            "right class. The output plane colours each place by its most likely class, "
            "deeper where the network is surer; tick Confusion matrix to count which class "
            "each test point was given."
        ),
        dataset=DatasetRecipe("arms", n_samples=600, noise=0.1, classes=3),
        layers=_arms_net(12, "tanh"),
        optimizer={"name": "adam", "learning_rate": 0.01},
        loss="categorical_crossentropy",
        batch_size=10,
        epochs=300,
        lesson={
            "number": 8,
            "focus": "loss",
            "compare": "test_accuracy",
            "question": "Before you press play: after 300 epochs, how many test points will "
            "land in the right arm: a third (chance), most, or all?",
            "answer": "Most, about nine in ten. The confusion matrix counts the mistakes off "
            "its diagonal: each arm borders both others, so they are spread over every pair. "
            "The network is least sure of the points it gets wrong: they lie where the plane "
            "is pale.",
            "fixes": [
                {
                    "name": "No hidden layer",
                    "explain": "Softmax alone cuts the plane with straight lines into three "
                    "wedges: about a third of the points right, no better than chance.",
                    "changes": {"layers": [_dense(3, "softmax")]},
                },
                {
                    "name": "Two layers of 16 ReLU units",
                    "explain": "More and sharper units wind each region along its arm: "
                    "about 96 % right over the last 50 epochs. The curve still jumps now and "
                    "then: Adam's steps stay large once the loss is tiny.",
                    "changes": {"layers": _arms_net(16, "relu", "he_normal")},
                },
            ],
        },
    )


#: The spiral challenge's target: the test loss to get under, and the epochs allowed.
CHALLENGE = {"test_loss": 0.2, "epoch": 500}


def spiral_challenge() -> Project:
    return Project(
        name="Lesson 9: The spiral challenge",
        description=(
            "Two interleaved spirals: the hardest of Playground's data sets. The challenge: "
            f"get the test loss under {CHALLENGE['test_loss']} within {CHALLENGE['epoch']} "
            "epochs with the smallest network you can. Training stops by itself at the "
            "target (Training tab, Stop at); the number of parameters is written under every "
            "layer and added up in the Layer tab. Change the layers, press Reset, and play."
        ),
        dataset=DatasetRecipe("spiral", n_samples=500),
        layers=[*_stack(2, 4, "tanh", "glorot_uniform"), _dense(1, "sigmoid")],
        optimizer={"name": "adam", "learning_rate": 0.01},
        loss="binary_crossentropy",
        batch_size=10,
        epochs=CHALLENGE["epoch"],
        stop=dict(CHALLENGE),
        lesson={
            "number": 9,
            "focus": "loss",
            "compare": "test_loss",
            "question": "Before you press play: this network has two layers of 4 tanh units, "
            f"37 parameters. Will it get the test loss under {CHALLENGE['test_loss']} in "
            f"{CHALLENGE['epoch']} epochs?",
            "answer": "No: it stays near 0.5, a boundary too simple to follow the arms. The "
            "fixes show two networks that make it: which is the smaller one, and which the "
            "faster? Then try your own, or the inputs sin(x₁) and sin(x₂) in the Data tab.",
            "fixes": [
                {
                    "name": "2 × 8 tanh (105 params)",
                    "explain": "Two layers of 8 tanh units, twice as many: under the target "
                    "after about 270 epochs.",
                    "changes": {
                        "layers": [*_stack(2, 8, "tanh", "glorot_uniform"), _dense(1, "sigmoid")]
                    },
                },
                {
                    "name": "3 × 8 ReLU (177 params)",
                    "explain": "Three layers of 8 ReLU units: more parameters, but under the "
                    "target five times sooner, in about 50 epochs.",
                    "changes": {
                        "layers": [*_stack(3, 8, "relu", "he_normal"), _dense(1, "sigmoid")]
                    },
                },
            ],
        },
    )


LESSONS = {
    Lesson(1, "first-network", "Your first network"): first_network,
    Lesson(2, "vanishing-gradients", "Vanishing gradients"): vanishing_gradients,
    Lesson(3, "exploding-gradients", "Exploding gradients"): exploding_gradients,
    Lesson(4, "dead-relu", "Dead ReLU units"): dead_relu,
    Lesson(5, "dropout", "Dropout regularization"): dropout,
    Lesson(6, "hidden-layer", "What a hidden layer adds"): hidden_layer,
    Lesson(7, "starting-weights", "Random starting weights"): starting_weights,
    Lesson(8, "softmax", "Three classes: softmax"): softmax_classes,
    Lesson(9, "spiral-challenge", "The spiral challenge"): spiral_challenge,
}


def apply_fix(project: Project, index: int) -> str:
    """Change `project` as the lesson's fix `index` says, keeping its data and seed (so the
    comparison with the first run is fair) and dropping its weights (fresh ones are drawn
    from that seed). Returns the fix's name."""
    fix = project.lesson["fixes"][index]
    for key, value in fix["changes"].items():
        setattr(project, key, copy.deepcopy(value))
    project.weights, project.steps, project.epoch = None, 0, 0
    return fix["name"]


def with_fix(project: Project, index: int) -> Project:
    """A copy of the lesson's project with fix `index` applied and no runs yet."""
    changed = copy.deepcopy(project)
    name = apply_fix(changed, index)
    changed.runs = []
    changed.name = f"{project.name} ({name})"
    return changed


def lessons() -> list[Lesson]:
    return sorted(LESSONS, key=lambda lesson: lesson.number)


def write_lessons():
    for lesson, make in LESSONS.items():
        lesson.path.parent.mkdir(parents=True, exist_ok=True)
        lesson.path.write_bytes(project_bytes(make()))
        print(lesson.path)
