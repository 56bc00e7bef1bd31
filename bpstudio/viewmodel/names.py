"""What the window calls things. Layers are "Input", "Hidden 1…n" and "Output" on screen,
renumbered after every edit; the Keras names ("dense_1") stay in the API, the project file and
the exports. Input features read as a mathematician writes them."""

from __future__ import annotations

import re

FEATURE_LABELS = {
    "x1": "x₁",
    "x2": "x₂",
    "x1^2": "x₁²",
    "x2^2": "x₂²",
    "x1*x2": "x₁x₂",
    "sin(x1)": "sin(x₁)",
    "sin(x2)": "sin(x₂)",
}
KIND_NAMES = {
    "Activation": "Activation",
    "Dropout": "Dropout",
    "BatchNormalization": "Batch norm",
}


def feature_label(name: str) -> str:
    """A 2-D data set's feature as written on screen; a CSV column's name as it is."""
    return FEATURE_LABELS.get(name, name)


def layer_labels(layers: list[dict]) -> list[str]:
    """The on-screen name of each layer config: the last Dense layer is "Output", the Dense
    layers before it "Hidden 1", "Hidden 2"…, the others by their kind ("Dropout", or
    "Dropout 1", "Dropout 2"… when there are several)."""
    kinds = [config.get("class") for config in layers]
    dense = [i for i, kind in enumerate(kinds) if kind == "Dense"]
    labels = []
    for i, kind in enumerate(kinds):
        if dense and i == dense[-1]:
            labels.append("Output")
        elif kind == "Dense":
            labels.append(f"Hidden {dense.index(i) + 1}")
        else:
            label = KIND_NAMES.get(kind, str(kind))
            if kinds.count(kind) > 1:
                label += f" {kinds[:i].count(kind) + 1}"
            labels.append(label)
    return labels


SHORT = {"Hidden": "H", "Output": "Out", "Activation": "Act", "Dropout": "Drop", "Batch norm": "BN"}


def short_label(label: str) -> str:
    """A layer's name on screen, short, for an axis with little room: "Hidden 3" -> "H3",
    "Output" -> "Out"."""
    for word, short in SHORT.items():
        if label.startswith(word):
            return short + label[len(word) :].strip()
    return label


def label_of(layers: list[dict], name: str) -> str:
    """The on-screen name of the layer called `name` (its Keras name), or `name` itself."""
    names = [config.get("name") for config in layers]
    return layer_labels(layers)[names.index(name)] if name in names else name


def renamed(text: str, labels: dict[str, str]) -> str:
    """`text` with the layers' Keras names (keys of `labels`) written as the screen names them;
    "dense_1/kernel" becomes "Hidden 2 weights"."""
    labels = {name: label for name, label in labels.items() if name}
    if not labels:
        return text
    names = "|".join(map(re.escape, sorted(labels, key=len, reverse=True)))
    parts = {"/kernel": " weights", "/bias": " bias"}
    return re.sub(
        rf"(?<!\w)({names})(/kernel|/bias)?(?!\w)",
        lambda m: labels[m.group(1)] + parts.get(m.group(2), ""),
        text,
    )
