"""TensorFlow Playground links: every field of its state maps, bad fields are named and the
rest loads, a project goes back to a link (or says what does not fit), and the projects train
as Playground's own trainer does (tests/project/playground_reference.json, measured by
benchmarks/playground_reference.py with Playground's nn.ts and dataset.ts under node)."""

import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from bpstudio.project import ProjectError, load_project, save_project
from bpstudio.project.playground import (
    FIELDS,
    HIDDEN_CONTROLS,
    SITE,
    link_of,
    open_link,
    read_state,
    seed_of,
)

REFERENCE = json.loads((Path(__file__).parent / "playground_reference.json").read_text())
DEFAULT = (
    "https://playground.tensorflow.org/#activation=tanh&batchSize=10&dataset=circle"
    "&regDataset=reg-plane&learningRate=0.03&regularizationRate=0&noise=0&networkShape=4,2"
    "&seed=0.59121&showTestData=false&discretize=false&percTrainData=50&x=true&y=true"
    "&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false"
    "&sinY=false&collectStats=false&problem=classification&initZero=false&hideText=false"
)
#: Every field away from its default, and every control hidden.
EVERYTHING = (
    "#activation=relu&regularization=L1&batchSize=7&dataset=spiral&regDataset=reg-gauss"
    "&learningRate=0.3&regularizationRate=0.001&noise=35&networkShape=8,6,3&seed=0.01234"
    "&showTestData=true&discretize=true&percTrainData=70&x=false&y=true&xTimesY=true"
    "&xSquared=true&ySquared=false&cosX=false&sinX=true&cosY=false&sinY=true"
    "&collectStats=true&problem=classification&initZero=true&hideText=true&tutorial=dp-reg"
    + "".join(f"&{n}_hide=true" for names in HIDDEN_CONTROLS.values() for n in names)
)


def fields(link):
    return dict(unquote(e).split("=", 1) for e in link.split("#", 1)[1].split("&") if e)


def test_a_default_link_is_playgrounds_own_setup():
    opened = open_link(DEFAULT)
    assert opened.notes == []
    p = opened.project
    r = p.dataset
    assert (r.name, r.n_samples, r.noise, r.train_ratio, r.seed) == ("circle", 500, 0, 0.5, 59121)
    assert r.labels == "signed" and r.features == ("x1", "x2")
    assert [(c["units"], c["activation"]) for c in p.layers] == [
        (4, "tanh"),
        (2, "tanh"),
        (1, "tanh"),
    ]
    for c in p.layers:  # Playground's initialization on every layer
        assert c["kernel_initializer"] == {"name": "random_uniform", "minval": -0.5, "maxval": 0.5}
        assert c["bias_initializer"] == {"name": "constant", "value": 0.1}
        assert "kernel_regularizer" not in c
    # Half the squared error's gradient: half the learning rate gives the same steps.
    assert p.loss == "mse" and p.optimizer == {"name": "sgd", "learning_rate": 0.015}
    assert p.batch_size == 10 and p.classroom is None
    assert p.view == {"show_test_data": False, "discretize": False}
    params = p.build_network().parameters()
    assert np.all(np.abs(params["dense/kernel"]) <= 0.5) and np.all(params["dense/bias"] == 0.1)


def test_every_field_maps():
    opened = open_link(EVERYTHING)
    p, r = opened.project, opened.project.dataset
    assert (r.name, r.noise, r.train_ratio, r.seed) == ("spiral", 0.35, 0.7, 1234)
    assert r.features == ("x2", "x1^2", "x1*x2", "sin(x1)", "sin(x2)")
    assert [(c["units"], c["activation"]) for c in p.layers] == [
        (8, "relu"), (6, "relu"), (3, "relu"), (1, "tanh")
    ]  # fmt: skip
    for c in p.layers:
        assert c["kernel_initializer"] == "zeros" and c["bias_initializer"] == "zeros"
        assert c["kernel_regularizer"] == {"name": "l1", "l1": 0.002}  # Playground's |w| rate x2
    assert p.optimizer["learning_rate"] == 0.15 and p.batch_size == 7
    assert p.view == {"show_test_data": True, "discretize": True}
    assert sorted(p.classroom["locked"]) == sorted(HIDDEN_CONTROLS)
    assert "dp-reg" in p.description
    assert opened.notes == []
    # Regression takes its own data set, 1,200 points and a linear output unit.
    reg = open_link("#problem=regression&regDataset=reg-gauss&regularization=L2"
                    "&regularizationRate=0.01").project  # fmt: skip
    assert (reg.dataset.name, reg.dataset.n_samples, reg.dataset.labels) == (
        "multi_gauss",
        1200,
        "index",
    )
    assert reg.layers[-1]["activation"] == "linear"
    assert reg.layers[0]["kernel_regularizer"] == {"name": "l2", "l2": 0.01}
    # Every field of Playground's table was in the link.
    assert set(FIELDS) <= set(fields(EVERYTHING))


@pytest.mark.parametrize(
    "entry,named",
    [
        ("activation=swish", "activation=swish: not one of relu, tanh, sigmoid, linear; kept relu"),
        ("learningRate=fast", "learningRate=fast: not a number; kept 0.03"),
        ("learningRate=0", "learningRate=0: a learning rate of 0 learns nothing"),
        ("batchSize=2.5", "batchSize=2.5: must be a whole number"),
        ("noise=80", "noise=80: must be a number from 0 to 50"),
        ("percTrainData=5", "percTrainData=5"),
        ("networkShape=4,x", "networkShape=4,x: layer sizes must be whole numbers"),
        ("dataset=moons", "dataset=moons: not one of circle, xor, gauss, spiral"),
        ("frobnicate=1", "frobnicate: not a field Playground knows"),
        ("cosX=true", "cosX: Playground's page offers no such input"),
        ("playButton_hide=true", "playButton_hide: the studio cannot hide this"),
        ("noise_hide=true", "noise_hide: classroom mode locks dataset, problem"),
        ("x=false&y=false", "no input is on"),
    ],
)
def test_a_bad_or_unknown_field_is_named_and_the_rest_loads(entry, named):
    opened = open_link(f"{SITE}#activation=relu&{entry}&networkShape=5&learningRate=0.1")
    assert any(named in note for note in opened.notes), opened.notes
    p = opened.project  # the good fields around it still loaded
    assert p.layers[0]["units"] == 5 and p.optimizer["learning_rate"] == 0.05
    assert p.layers[0]["activation"] == "relu"


@pytest.mark.parametrize(
    "text,message",
    [
        ("https://playground.tensorflow.org/", "not a Playground link"),
        ("hello", "not a Playground link"),
        ("#" + "x=true&" * 3000, "a few hundred characters"),
        ("#networkShape=100000", "layer sizes must be whole numbers"),
    ],
)
def test_what_is_not_a_link_gets_one_line(text, message):
    try:
        opened = open_link(text)
    except ProjectError as exc:
        assert message in str(exc)
    else:
        assert any(message in n for n in opened.notes)


REGRESSION = (
    "#problem=regression&regDataset=reg-plane&networkShape=3&regularization=L2"
    "&regularizationRate=0.3&seed=0.5"
)


@pytest.mark.parametrize("link", [DEFAULT, EVERYTHING.replace("&tutorial=dp-reg", ""), REGRESSION])
def test_round_trip_project_link_project(link, tmp_path):
    project = open_link(link).project
    again, misfits = link_of(project)
    assert misfits == []
    back = open_link(again)
    assert back.notes == []
    for key in ("dataset", "layers", "optimizer", "loss", "batch_size", "seed", "view"):
        assert getattr(back.project, key) == getattr(project, key), key
    assert (back.project.classroom or {}).get("locked") == (project.classroom or {}).get("locked")
    # Every field the link gave comes back with the same meaning.
    state, hidden, _ = read_state(link)
    state2, hidden2, _ = read_state(again)
    for name in set(FIELDS) - {"collectStats", "hideText", "tutorial", "seed"}:
        if name == "activation" and not state["networkShape"]:
            continue  # no hidden layer: nothing to carry it
        if name == {"classification": "regDataset", "regression": "dataset"}[state["problem"]]:
            continue  # the other problem's data set: not used
        assert state2[name] == state[name], name
    assert seed_of(state2["seed"]) == seed_of(state["seed"])
    assert {k for k, v in hidden2.items() if v} == {k for k, v in hidden.items() if v}
    # And the project saves and reopens as it was.
    save_project(project, tmp_path / "p.bpstudio")
    reopened = load_project(tmp_path / "p.bpstudio")
    assert (reopened.dataset, reopened.layers, reopened.view, reopened.classroom) == (
        project.dataset,
        project.layers,
        project.view,
        project.classroom,
    )


def test_a_project_playground_cannot_show_says_what_does_not_fit():
    project = open_link(DEFAULT).project
    project.dataset = replace(project.dataset, n_samples=800)
    project.layers = [
        {"class": "Dense", "units": 12, "activation": "relu", "kernel_initializer": "he_normal"},
        {"class": "Dropout", "rate": 0.2},
        {"class": "Dense", "units": 4, "activation": "tanh"},
        {"class": "Dense", "units": 1, "activation": "tanh"},
    ]
    project.optimizer = {"name": "adam", "learning_rate": 0.001}
    project.dtype = "float32"
    link, misfits = link_of(project)
    said = " | ".join(misfits)
    for words in ("points: Playground always draws 500", "no Dropout layers",
                  "one activation for every hidden layer", "at most 6 hidden layers of 8 units",
                  "initialization", "plain SGD only", "float64"):  # fmt: skip
        assert words in said, (words, said)
    assert link.startswith(SITE + "#") and "networkShape=12,4" in link
    blobs = open_link(DEFAULT).project
    blobs.dataset = replace(blobs.dataset, name="blobs", labels="index", classes=3)
    assert any("no blobs data" in m for m in link_of(blobs)[1])


def playground_test_loss(project, epochs):
    """The test loss as Playground shows it (half the mean squared error, no penalty)."""
    trainer = project.make_trainer()
    losses, done = [], 0
    for epoch in epochs:
        trainer.fit(epochs=epoch - done)
        done = epoch
        A = trainer.net.predict(trainer.X_test)
        losses.append(float(np.mean((A - trainer.Y_test) ** 2)) / 2)
    return losses


@pytest.mark.parametrize("name", list(REFERENCE["links"]))
def test_links_train_as_playgrounds_own_trainer_does(name):
    """The median test loss of our runs (5 seeds) after 25 and 100 epochs lies within
    Playground's middle half of 40 runs, widened by half its width (both sides draw their
    own random points and weights: runs differ, their spread is the yardstick)."""
    entry = REFERENCE["links"][name]
    epochs = [e for e in REFERENCE["epochs"] if e <= 100]
    runs = []
    for seed in range(5):
        project = open_link(entry["link"]).project
        project.dataset, project.seed = replace(project.dataset, seed=seed), seed
        runs.append(playground_test_loss(project, epochs))
    ours = np.median(runs, axis=0)
    for epoch, median, (q1, _, q3) in zip(epochs, ours, entry["test_loss"]):
        slack = 0.5 * (q3 - q1) + 0.003
        assert q1 - slack <= median <= q3 + slack, (name, epoch, median, (q1, q3))
