"""Network edits as the builder makes them, and trained weights carried over the edit."""

import numpy as np
import pytest

from bpstudio.lessons.catalog import first_network
from bpstudio.project import editing


@pytest.fixture
def layers():
    return editing.name_layers(first_network().layers)


def test_names_are_the_networks_own_and_survive_edits(layers):
    assert [c["name"] for c in layers] == ["dense", "dense_1", "dense_2"]
    inserted = editing.insert_layer(layers, 1, "Dropout")
    assert [c["name"] for c in inserted] == ["dense", "dropout", "dense_1", "dense_2"]
    again = editing.insert_layer(inserted, 0, "Dense")
    assert [c["name"] for c in again] == ["dense_3", "dense", "dropout", "dense_1", "dense_2"]
    assert layers == editing.name_layers(first_network().layers)  # arguments untouched


def test_the_output_layer_is_fixed_by_the_task(layers):
    with pytest.raises(editing.EditError, match="output layer cannot be removed"):
        editing.remove_layer(layers, 2)
    with pytest.raises(editing.EditError, match="fixed by the task"):
        editing.set_units(layers, 2, 3)
    with pytest.raises(editing.EditError, match="only hidden layers move"):
        editing.move_layer(layers, 1, 1)
    # A layer inserted after the output goes before it.
    assert editing.insert_layer(layers, 9, "Dropout")[-1]["name"] == "dense_2"


def test_edits_are_checked_by_building_the_layer(layers):
    with pytest.raises(editing.EditError, match="rate"):
        editing.update_layer(layers, 0, activation="relu", rate=2)
    with pytest.raises(editing.EditError, match="1 to"):
        editing.set_units(layers, 0, 0)
    moved = editing.move_layer(editing.insert_layer(layers, 0, "Dropout"), 0, 1)
    assert [c["class"] for c in moved] == ["Dense", "Dropout", "Dense", "Dense"]


def test_rebuild_keeps_the_weights_of_untouched_layers():
    project = first_network()
    trainer = project.make_trainer()
    trainer.fit(2)
    project.capture(trainer)
    trained = dict(project.weights)
    layers = editing.set_units(editing.name_layers(project.layers), 1, 3)
    reset = editing.rebuild(project, layers)
    # dense_1 changed shape, and so did the kernel of dense_2 that reads it.
    assert reset == ["dense_1", "dense_2"]
    np.testing.assert_array_equal(project.weights["dense/kernel"], trained["dense/kernel"])
    assert project.weights["dense_1/kernel"].shape == (4, 3)
    # A dropout layer changes no shape: every layer keeps its weights.
    assert editing.rebuild(project, editing.insert_layer(layers, 1, "Dropout")) == []
    # A new input feature changes the first kernel only.
    before = dict(project.weights)
    reset = editing.rebuild(project, project.layers, ("x1", "x2", "x1^2"))
    assert reset == ["dense"] and project.dataset.features == ("x1", "x2", "x1^2")
    np.testing.assert_array_equal(project.weights["dense_2/kernel"], before["dense_2/kernel"])
    project.build_network()  # and the result builds


def test_a_rebuild_that_cannot_be_built_changes_nothing():
    project = first_network()
    layers = editing.name_layers(project.layers)
    layers[0]["units"] = 10**9
    before = (project.layers, project.dataset)
    with pytest.raises(editing.EditError):
        editing.rebuild(project, layers)
    assert (project.layers, project.dataset) == before


def test_switching_optimizer_keeps_every_setting_the_new_one_takes():
    from bpstudio.core import registry

    sgd = {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True,
           "global_clipnorm": 1.5}  # fmt: skip
    rms = editing.switch_optimizer(sgd, "rmsprop")
    assert rms == {"name": "rmsprop", "learning_rate": 0.1, "global_clipnorm": 1.5, "momentum": 0.9}
    adam = editing.switch_optimizer(rms, "adam")
    assert adam == {"name": "adam", "learning_rate": 0.1, "global_clipnorm": 1.5}
    assert editing.switch_optimizer(sgd, "sgd") == sgd
    for config in (rms, adam):
        registry.get("optimizer", config)  # each is a valid optimizer


def test_one_activation_for_every_hidden_layer_and_the_output_keeps_its_own():
    layers = [
        {"class": "Dense", "units": 4, "activation": "tanh"},
        {"class": "Dropout", "rate": 0.1},
        {"class": "Dense", "units": 3, "activation": {"name": "leaky_relu", "negative_slope": 0.2}},
        {"class": "Dense", "units": 1, "activation": "sigmoid"},
    ]
    assert editing.hidden_activation(layers) is None  # they differ
    relu = editing.set_hidden_activation(layers, "relu")
    assert [c.get("activation") for c in relu] == ["relu", None, "relu", "sigmoid"]
    assert editing.hidden_activation(relu) == "relu"
    with pytest.raises(editing.EditError, match="activation"):
        editing.set_hidden_activation(layers, "swish")
    with pytest.raises(editing.EditError, match="no hidden layer"):
        editing.set_hidden_activation([layers[-1]], "relu")


@pytest.mark.parametrize(
    "spec,shown,scaled",
    [
        ({"name": "random_normal", "mean": 0.0, "stddev": 0.05}, ("stddev", 0.05),
         {"name": "random_normal", "mean": 0.0, "stddev": 0.5}),
        ({"name": "random_uniform", "minval": -0.5, "maxval": 0.5}, ("limit", 0.5),
         {"name": "random_uniform", "minval": -0.5, "maxval": 0.5}),
        ("he_normal", ("scale", 2.0),
         {"name": "variance_scaling", "scale": 0.5, "mode": "fan_in",
          "distribution": "truncated_normal"}),
        ("glorot_uniform", ("scale", 1.0),
         {"name": "variance_scaling", "scale": 0.5, "mode": "fan_avg", "distribution": "uniform"}),
        ({"name": "constant", "value": 0.1}, ("value", 0.1), {"name": "constant", "value": 0.5}),
        ("zeros", None, None),
    ],
)  # fmt: skip
def test_an_initializers_scale_is_read_and_set(spec, shown, scaled):
    assert editing.initializer_scale(spec) == shown
    if scaled is None:
        with pytest.raises(editing.EditError, match="no scale"):
            editing.with_scale(spec, 0.5)
        return
    value = 0.5
    assert editing.with_scale(spec, value) == scaled
    assert editing.initializer_scale(scaled)[1] == value
    # The weights drawn are that size: he_normal at scale 0.5 has a quarter of its variance.
    from bpstudio.core import registry

    rng = np.random.default_rng(0)
    before = registry.get("initializer", spec)((400, 400), rng, "float64").std()
    after = registry.get("initializer", scaled)((400, 400), rng, "float64").std()
    ratio = {"stddev": 10.0, "limit": 1.0, "scale": (value / shown[1]) ** 0.5}.get(shown[0])
    if ratio is not None:
        assert after / before == pytest.approx(ratio, rel=0.03)
