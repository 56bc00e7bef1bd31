"""One way to turn a name, a config dict or an instance into an object, for every kind the
core has: activations, initializers, regularizers, losses, optimizers and layers.

Each module files its classes with `add(kind, base, classes)`; `get(kind, spec)` resolves a
spec as Keras' `get(identifier)` does:

    get("activation", "relu")                                   # a name
    get("activation", {"name": "leaky_relu", "negative_slope": 0.1})   # a config
    get("layer", {"class": "Dense", "units": 4})                # layers name their class
    get("optimizer", Adam())                                    # an instance, as it is

A bad spec raises a ValueError naming the kind and every allowed name."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass
class Kind:
    """module: where the classes live (imported on first use, so that a name resolves
    whoever imported what); label: the word messages use ("activation"); key: the config
    entry that names the class; none_allowed: whether None is a valid spec; when_none: the
    name None stands for, or None if None is itself the answer (no regularizer)."""

    module: str
    label: str
    key: str = "name"
    none_allowed: bool = False
    when_none: str | None = None
    classes: dict = field(default_factory=dict)
    base: type | None = None


KINDS = {
    "activation": Kind("activations", "activation", none_allowed=True, when_none="linear"),
    "initializer": Kind("initializers", "initializer"),
    "regularizer": Kind("regularizers", "kernel_regularizer", none_allowed=True),
    "loss": Kind("losses", "loss"),
    "optimizer": Kind("optimizers", "optimizer"),
    "layer": Kind("layers", "layer class", key="class"),
}


def _entry(kind: str) -> Kind:
    entry = KINDS[kind]
    if not entry.classes:
        importlib.import_module(f"bpstudio.core.{entry.module}")  # it calls add()
    return entry


def add(kind: str, base: type, classes):
    """File `classes` under `kind` by their `name` (layers: their class name); instances of
    `base` are passed through as they are."""
    entry = KINDS[kind]
    entry.base = base
    for cls in classes:
        entry.classes[cls.__name__ if entry.key == "class" else cls.name] = cls


def names(kind: str) -> tuple[str, ...]:
    """Every name `kind` knows, in the order the classes were registered."""
    return tuple(_entry(kind).classes)


def get_class(kind: str, name: str) -> type:
    """The class filed under `name`."""
    return _entry(kind).classes[name]


def get(kind: str, spec):
    """An object of `kind` from a name, a config dict, an instance, or None where the kind
    allows it (an activation: linear; a regularizer: none)."""
    entry = _entry(kind)
    allowed = ", ".join(entry.classes)
    if spec is None and entry.none_allowed:
        return None if entry.when_none is None else entry.classes[entry.when_none]()
    if entry.base is not None and isinstance(spec, entry.base):
        return spec
    if isinstance(spec, str) and spec in entry.classes:
        return entry.classes[spec]()
    if isinstance(spec, dict):
        config = dict(spec)
        name = config.pop(entry.key, None)
        cls = entry.classes.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(f"{entry.label} must be one of {allowed}; got {name!r}")
        try:
            return cls(**config)
        except TypeError as exc:
            raise ValueError(f"{entry.label} {name!r}: {exc}") from None
    raise ValueError(f"{entry.label} must be one of {allowed}; got {spec!r}")
