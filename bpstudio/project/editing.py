"""Edits of a network's layer list, as the visual builder makes them, and the carrying over of
trained weights to the edited network. Pure functions on lists of layer configs (the dicts of
`Layer.get_config()`); no Qt.

Every edit returns a new list and leaves its argument alone, so an undo stack can keep the
lists before and after. Layers keep their names through edits, which is how `carry_weights`
knows which trained arrays still fit."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np

from bpstudio.core import Sequential, registry
from bpstudio.core.layers import MAX_UNITS
from bpstudio.core.model import name_layers as name_built_layers
from bpstudio.project.model import ProjectError

KINDS = ("Dense", "Activation", "Dropout", "BatchNormalization")

#: A new layer of each kind, as the palette inserts it.
NEW_LAYER = {
    "Dense": {
        "class": "Dense",
        "units": 4,
        "activation": "relu",
        "kernel_initializer": "he_normal",
    },
    "Activation": {"class": "Activation", "activation": "relu"},
    "Dropout": {"class": "Dropout", "rate": 0.2},
    "BatchNormalization": {"class": "BatchNormalization", "momentum": 0.99, "epsilon": 0.001},
}


class EditError(ValueError):
    """An edit that would leave the network unusable; the message says why."""


def name_layers(layers: list[dict]) -> list[dict]:
    """The layers with every name filled in, as Sequential names them (kind, kind_1, ...)."""
    layers = copy.deepcopy(layers)
    built = [registry.get("layer", config) for config in layers]
    name_built_layers(built)  # the network's own naming
    for config, layer in zip(layers, built):
        config["name"] = layer.name
    return layers


def _output_index(layers) -> int:
    dense = [i for i, c in enumerate(layers) if c.get("class") == "Dense"]
    if not dense:
        raise EditError("the network needs a Dense output layer")
    return dense[-1]


def insert_layer(layers: list[dict], index: int, kind: str) -> list[dict]:
    """A new layer of `kind` at `index` (0: first), before the output layer at the latest."""
    if kind not in NEW_LAYER:
        raise EditError(f"layer kind must be one of {', '.join(KINDS)}; got {kind!r}")
    index = max(0, min(index, _output_index(layers)))
    new = [*layers[:index], copy.deepcopy(NEW_LAYER[kind]), *layers[index:]]
    return name_layers(new)


def remove_layer(layers: list[dict], index: int) -> list[dict]:
    if index == _output_index(layers):
        raise EditError("the output layer cannot be removed: it is fixed by the task")
    if not 0 <= index < len(layers):
        raise EditError(f"there is no layer {index}")
    return name_layers([c for i, c in enumerate(layers) if i != index])


def move_layer(layers: list[dict], index: int, offset: int) -> list[dict]:
    """Move a hidden layer `offset` places (-1: towards the input); the output stays last."""
    target = index + offset
    out = _output_index(layers)
    if index == out or not 0 <= target < out or not 0 <= index < len(layers):
        raise EditError("only hidden layers move, and only between the input and the output")
    moved = list(layers)
    moved.insert(target, moved.pop(index))
    return name_layers(moved)


def update_layer(layers: list[dict], index: int, **changes) -> list[dict]:
    """The layer at `index` with `changes` to its config; checked by building it."""
    if not 0 <= index < len(layers):
        raise EditError(f"there is no layer {index}")
    config = {**copy.deepcopy(layers[index]), **changes}
    try:
        registry.get("layer", config)
    except (ValueError, TypeError) as exc:
        raise EditError(str(exc)) from None
    return name_layers([*layers[:index], config, *layers[index + 1 :]])


def hidden_activation(layers: list[dict]) -> str | None:
    """The activation every hidden Dense layer has, or None (they differ, or there are none)."""
    out = _output_index(layers)
    names = {
        _activation_name(c.get("activation", "linear"))
        for i, c in enumerate(layers)
        if c.get("class") == "Dense" and i != out
    }
    return names.pop() if len(names) == 1 else None


def set_hidden_activation(layers: list[dict], activation: str) -> list[dict]:
    """Every hidden Dense layer with `activation` (Playground's one Activation control); the
    output layer keeps the task's."""
    out = _output_index(layers)
    hidden = [i for i, c in enumerate(layers) if c.get("class") == "Dense" and i != out]
    if not hidden:
        raise EditError("there is no hidden layer to give an activation")
    for i in hidden:
        layers = update_layer(layers, i, activation=activation)
    return layers


def initializer_scale(spec) -> tuple[str, float] | None:
    """What sets the size of the weights an initializer draws, and its value: ("stddev",
    0.05) for random_normal, ("limit", 0.05) for random_uniform (from -limit to limit),
    ("scale", 2.0) for variance scaling (he_normal's is 2), ("value", 0.1) for constant;
    None for zeros and ones."""
    init = registry.get("initializer", spec)
    for attribute, shown in (("stddev", "stddev"), ("scale", "scale"), ("value", "value")):
        if hasattr(init, attribute):
            return shown, float(getattr(init, attribute))
    if hasattr(init, "maxval"):
        return "limit", float(max(abs(init.minval), abs(init.maxval)))
    return None


def with_scale(spec, value: float):
    """The initializer `spec` drawing weights of size `value` (see initializer_scale). A
    named variance scaling (he_normal…) becomes variance_scaling with its mode and
    distribution, as in Keras."""
    init = registry.get("initializer", spec)
    config = init.get_config()
    if hasattr(init, "maxval"):
        return {**config, "minval": -value, "maxval": value}
    if hasattr(init, "mode"):  # a name (he_normal) has a fixed scale: spell it out
        return {
            "name": "variance_scaling",
            "scale": value,
            "mode": init.mode,
            "distribution": init.distribution,
        }
    shown = initializer_scale(spec)
    if shown is None:
        raise EditError(f"{config} has no scale: its weights are all {config}")
    return {**config, shown[0]: value}


def _activation_name(spec) -> str:
    return spec["name"] if isinstance(spec, dict) else str(spec)


def set_units(layers: list[dict], index: int, units: int) -> list[dict]:
    config = layers[index]
    if config.get("class") != "Dense":
        raise EditError(f"{config.get('name', 'this layer')} has no units of its own")
    if index == _output_index(layers):
        raise EditError("the output layer's units are fixed by the task")
    if not 1 <= units <= MAX_UNITS:
        raise EditError(f"a layer has 1 to {MAX_UNITS:,} units; got {units}")
    return update_layer(layers, index, units=units)


def carry_weights(weights: dict | None, net: Sequential) -> tuple[dict, list[str]]:
    """Weights for `net` (freshly built): every array of `weights` whose name and shape still
    fit, and `net`'s fresh arrays elsewhere. Also returns the names of the layers that start
    again, in order."""
    fresh = net.get_weights()
    weights = weights or {}
    merged, reset = {}, []
    for key, array in fresh.items():
        old = weights.get(key)
        if old is not None and np.shape(old) == array.shape:
            merged[key] = np.array(old, dtype=array.dtype)
        else:
            merged[key] = array
            layer = key.split("/")[0]
            if layer not in reset:
                reset.append(layer)
    return merged, reset


def describe_reset(reset: list[str]) -> str:
    if not reset:
        return "every layer keeps its trained weights"
    return f"starting again: {', '.join(reset)}; the other layers keep their trained weights"


def rebuild(project, layers: list[dict], features=None) -> list[str]:
    """Give `project` new layers (and input features), keeping every trained array that
    still fits; returns the names of the layers that start again. Raises EditError (and
    changes nothing) if the network cannot be built."""
    before = (project.layers, project.dataset, project.weights, project.progress)
    old = project.weights
    project.layers = copy.deepcopy(layers)
    if features is not None and tuple(features) != tuple(project.dataset.features):
        project.dataset = replace(project.dataset, features=tuple(features))
    project.weights = None
    project.progress = None  # it was for the old network
    try:
        net = project.build_network()
    except ProjectError as exc:
        project.layers, project.dataset, project.weights, project.progress = before
        raise EditError(str(exc)) from None
    project.weights, reset = carry_weights(old, net)
    return reset


#: What each optimizer takes from another's settings when the user switches to it.
_CARRIED = {
    "sgd": ("learning_rate", "global_clipnorm", "momentum", "nesterov"),
    "rmsprop": ("learning_rate", "global_clipnorm", "momentum"),
    "adam": ("learning_rate", "global_clipnorm"),
}


def switch_optimizer(config: dict, name: str) -> dict:
    """The config of optimizer `name`, keeping every setting of `config` (another optimizer's
    config) that it takes too: learning rate, clipping, momentum and Nesterov."""
    if name not in _CARRIED:
        raise EditError(f"optimizer must be one of {', '.join(_CARRIED)}; got {name!r}")
    return {"name": name, **{k: config[k] for k in _CARRIED[name] if k in config}}
