"""TensorFlow Playground links: a project from a link's state, and a link from a project.

A Playground link keeps its whole setup in the URL's fragment, `#name=value&name=value`, one
field per entry of Playground's state table (`src/state.ts`); a field `<control>_hide=true`
hides a control. `FIELDS` below is that table as we read it: each field's kind and
Playground's own default. A project made from a link reproduces Playground's setup, so the
same link trains comparably:

- classification targets are -1/+1 for one tanh output unit and squared error
  (`labels="signed"`); regression has one linear unit;
- weights start uniform in -0.5…0.5 and biases at 0.1 (`initZero`: all at 0);
- Playground's loss is half the squared error, so its gradient is half of `mse`'s: the
  learning rate here is half the link's (the same steps), an L1 rate twice the link's and an
  L2 rate the link's (Playground's L2 is w²/2), on the kernels only, as Playground's;
- 500 points (1,200 for regression), as Playground draws.

What cannot be carried over is said, field by field, and the rest still loads.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from bpstudio.data.datasets import DatasetError, DatasetRecipe
from bpstudio.project.model import Project, ProjectError

SITE = "https://playground.tensorflow.org/"
#: How many points Playground draws for each problem.
POINTS = {"classification": 500, "regression": 1200}
#: The longest link read (Playground's are a few hundred characters).
MAX_LINK = 10_000

#: Playground's state table: field -> (kind, Playground's default). Kinds: "choice" (a name
#: from a list), "number", "bool", "shape" (comma-separated numbers), "string".
FIELDS = {
    "activation": ("choice", "tanh"),
    "regularization": ("choice", None),
    "batchSize": ("number", 10),
    "dataset": ("choice", "circle"),
    "regDataset": ("choice", "reg-plane"),
    "learningRate": ("number", 0.03),
    "regularizationRate": ("number", 0),
    "noise": ("number", 0),
    "networkShape": ("shape", [4, 2]),
    "seed": ("string", None),
    "showTestData": ("bool", False),
    "discretize": ("bool", False),
    "percTrainData": ("number", 50),
    "x": ("bool", True),
    "y": ("bool", True),
    "xTimesY": ("bool", False),
    "xSquared": ("bool", False),
    "ySquared": ("bool", False),
    "cosX": ("bool", False),
    "sinX": ("bool", False),
    "cosY": ("bool", False),
    "sinY": ("bool", False),
    "collectStats": ("bool", False),
    "tutorial": ("string", None),
    "problem": ("choice", "classification"),
    "initZero": ("bool", False),
    "hideText": ("bool", False),
}
CHOICES = {
    "activation": ("relu", "tanh", "sigmoid", "linear"),
    "regularization": ("none", "L1", "L2"),
    "dataset": ("circle", "xor", "gauss", "spiral"),
    "regDataset": ("reg-plane", "reg-gauss"),
    "problem": ("classification", "regression"),
}
#: Playground's data sets by our names.
DATASETS = {"circle": "circle", "xor": "xor", "gauss": "gauss", "spiral": "spiral"}
REG_DATASETS = {"reg-plane": "plane", "reg-gauss": "multi_gauss"}
#: Playground's input features (its page's order) by our names.
FEATURES = {
    "x": "x1",
    "y": "x2",
    "xSquared": "x1^2",
    "ySquared": "x2^2",
    "xTimesY": "x1*x2",
    "sinX": "sin(x1)",
    "sinY": "sin(x2)",
}
#: Fields that change nothing here: Playground's analytics and its page's article.
NO_EFFECT = ("collectStats", "hideText", "tutorial")
#: The controls a link can hide, grouped by the classroom lock that covers them here.
HIDDEN_CONTROLS = {
    "dataset": ("dataset", "problem", "percTrainData", "noise"),
    "settings": ("learningRate", "regularization", "regularizationRate", "batchSize"),
    "network": ("numHiddenLayers", "activation"),
    "reset": ("resetButton",),
}
#: Hidable controls the studio always shows.
ALWAYS_SHOWN = ("playButton", "stepButton", "showTestData", "discretize")
#: Playground's initialization: weights uniform in -0.5…0.5, biases 0.1; or all zero.
WEIGHTS = {"name": "random_uniform", "minval": -0.5, "maxval": 0.5}
BIASES = {"name": "constant", "value": 0.1}
#: How large Playground's page draws a network.
PAGE_LAYERS, PAGE_UNITS = 6, 8


@dataclass
class Opened:
    """A project made from a link, and what of the link could not be used (one line each,
    naming the field)."""

    project: Project
    notes: list[str]


def fragment(link: str) -> str:
    """The state part of a link: what follows '#' (or the text itself if it has none)."""
    text = link.strip()
    if len(text) > MAX_LINK:
        raise ProjectError(f"a Playground link is a few hundred characters; this is {len(text):,}")
    if "#" in text:
        return text.split("#", 1)[1]
    if text.startswith(("http://", "https://")) or "=" not in text:
        raise ProjectError("not a Playground link: it has no '#activation=…&…' part")
    return text


def read_state(link: str) -> tuple[dict, dict, list[str]]:
    """Playground's state from a link, read as Playground reads it: (fields, hidden
    controls, notes). Fields not in the link take Playground's defaults; a value Playground
    could not use keeps the default, with a note naming the field."""
    state = {name: default for name, (_, default) in FIELDS.items()}
    hidden, notes = {}, []
    for entry in fragment(link).split("&"):
        if not entry:
            continue
        name, _, raw = entry.partition("=")
        name, value = unquote(name), unquote(raw)
        if name.endswith("_hide"):
            hidden[name[: -len("_hide")]] = value == "true"
            continue
        if name not in FIELDS:
            notes.append(f"{name}: not a field Playground knows; ignored")
            continue
        kind = FIELDS[name][0]
        if not value.strip() and kind != "shape":
            continue  # Playground skips empty values
        try:
            state[name] = _parse(name, kind, value)
        except ValueError as exc:
            notes.append(f"{name}={value[:40]}: {exc}; kept {_shown(state[name])}")
    return state, hidden, notes


def _parse(name, kind, value):
    if kind == "choice":
        if value not in CHOICES[name]:
            raise ValueError(f"not one of {', '.join(CHOICES[name])}")
        return None if value == "none" else value
    if kind == "bool":
        return value != "false"  # as Playground: anything else is true
    if kind == "shape":
        parts = [p for p in value.split(",")] if value.strip() else []
        if not all(re.fullmatch(r"\s*\d+\s*", p) and 0 < int(p) <= 10_000 for p in parts):
            raise ValueError("layer sizes must be whole numbers from 1 to 10,000")
        return [int(p) for p in parts]
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            raise ValueError("not a number") from None
        low, high, whole = {
            "batchSize": (1, 100_000, True),
            "learningRate": (0, 1e6, False),
            "regularizationRate": (0, 1e6, False),
            "noise": (0, 50, False),
            "percTrainData": (10, 90, False),
        }[name]
        if not (math.isfinite(number) and low <= number <= high) or (
            whole and number != int(number)
        ):
            raise ValueError(f"must be a {'whole ' if whole else ''}number from {low} to {high:g}")
        if name == "learningRate" and number == 0:
            raise ValueError("a learning rate of 0 learns nothing")
        return int(number) if whole else number
    return value  # string


def _shown(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "(no hidden layers)"
    return "none" if value is None else str(value)


def seed_of(text: str | None) -> int:
    """Our seed for Playground's: its '0.12345' seeds give 12345; whole numbers stay; any
    other text a number made from it (the points cannot be Playground's own: its random
    generator is not NumPy's)."""
    if text is None:
        return 0
    text = text.strip()
    if re.fullmatch(r"0\.\d{1,9}", text):
        return int(text[2:].ljust(5, "0"))
    if re.fullmatch(r"\d{1,15}", text):
        return int(text)
    return sum((i + 1) * ord(c) for i, c in enumerate(text)) % 100_000


def seed_text(seed: int) -> str:
    return f"0.{seed:05d}" if seed < 100_000 else str(seed)


def open_link(link: str) -> Opened:
    """The project a Playground link describes, and notes on what it could not use."""
    state, hidden, notes = read_state(link)
    regression = state["problem"] == "regression"
    features = tuple(ours for theirs, ours in FEATURES.items() if state[theirs])
    for name in ("cosX", "cosY"):
        if state[name]:
            notes.append(f"{name}: Playground's page offers no such input (it ignores it too)")
    if not features:
        notes.append("x, y, …: no input is on (the network would see nothing); x₁ and x₂ used")
        features = ("x1", "x2")
    try:
        recipe = DatasetRecipe(
            REG_DATASETS[state["regDataset"]] if regression else DATASETS[state["dataset"]],
            n_samples=POINTS[state["problem"]],
            noise=state["noise"] / 100,
            train_ratio=state["percTrainData"] / 100,
            seed=seed_of(state["seed"]),
            features=features,
            labels="index" if regression else "signed",
        )
    except DatasetError as exc:  # every value was checked above: a bug if it happens
        raise ProjectError(f"Playground link: {exc}") from None
    init = ("zeros", "zeros") if state["initZero"] else (WEIGHTS, BIASES)
    rate = state["regularizationRate"]
    regularizer = {
        None: None,
        "L1": {"name": "l1", "l1": 2 * rate},
        "L2": {"name": "l2", "l2": rate},
    }[state["regularization"]]

    def dense(units, activation):
        layer = {
            "class": "Dense",
            "units": units,
            "activation": activation,
            "kernel_initializer": init[0],
            "bias_initializer": init[1],
        }
        if regularizer is not None:
            layer["kernel_regularizer"] = regularizer
        return layer

    layers = [dense(n, state["activation"]) for n in state["networkShape"]]
    layers.append(dense(1, "linear" if regression else "tanh"))
    data = state["regDataset"] if regression else state["dataset"]
    description = (
        f"Opened from a TensorFlow Playground link: {data} data, "
        f"{len(layers) - 1} hidden layer{'s' * (len(layers) != 2)}. The learning rate here is "
        f"half the link's {_shown(state['learningRate'])}: Playground's loss is half the "
        f"squared error, so these are the same steps, and the loss reads twice Playground's."
    )
    if state["tutorial"]:
        description += f" Playground tutorial: {state['tutorial']}."
    locks = []
    for lock, names in HIDDEN_CONTROLS.items():
        some = [n for n in names if hidden.get(n)]
        if some:
            locks.append(lock)
        if some and len(some) < len(names):
            notes.append(
                f"{some[0]}_hide: classroom mode locks {', '.join(names)} together; all locked"
            )
    for name in ALWAYS_SHOWN:
        if hidden.get(name):
            notes.append(f"{name}_hide: the studio cannot hide this; it stays")
    for name in hidden.keys() - {n for names in HIDDEN_CONTROLS.values() for n in names}:
        if name not in ALWAYS_SHOWN:
            notes.append(f"{name}_hide: not a control Playground can hide; ignored")
    project = Project(
        dataset=recipe,
        layers=layers,
        optimizer={"name": "sgd", "learning_rate": state["learningRate"] / 2},
        loss="mse",
        batch_size=state["batchSize"],
        seed=recipe.seed,
        name=f"Playground {data}",
        description=description,
        classroom={"hidden": [], "locked": locks} if locks else None,
        view={"show_test_data": state["showTestData"], "discretize": state["discretize"]},
    )
    try:
        project.build_network()  # sizes Playground allows but the studio does not, say so now
    except ProjectError as exc:
        raise ProjectError(f"Playground link: {exc}") from None
    return Opened(project, notes)


def link_of(project: Project) -> tuple[str, list[str]]:
    """The Playground link closest to `project`, and what of it Playground cannot represent
    (one line each; empty: the link is the whole setup)."""
    state = {name: default for name, (_, default) in FIELDS.items()}
    misfits = []
    recipe = project.dataset
    if recipe.name in DATASETS.values():
        state["problem"], state["dataset"] = "classification", recipe.name
    elif recipe.name in REG_DATASETS.values():
        state["problem"] = "regression"
        state["regDataset"] = {v: k for k, v in REG_DATASETS.items()}[recipe.name]
    else:
        misfits.append(f"data: Playground has no {recipe.name} data")
    if recipe.is_2d and recipe.n_samples != POINTS[state["problem"]]:
        misfits.append(
            f"points: Playground always draws {POINTS[state['problem']]:,} for "
            f"{state['problem']}; this project has {recipe.n_samples:,}"
        )
    state["noise"] = _number(recipe.noise * 100)
    state["percTrainData"] = _number(recipe.train_ratio * 100)
    state["seed"] = seed_text(recipe.seed)
    for theirs, ours in FEATURES.items():
        state[theirs] = ours in recipe.features
    signed = recipe.labels == "signed"
    if state["problem"] == "classification" and not signed:
        misfits.append(
            "output: Playground has one tanh unit with squared error, not "
            f"{project.layers[-1].get('activation', 'linear')} with {project.loss}"
        )
    # The network: Dense layers of one activation, Playground's initialization and one
    # regularizer on every kernel.
    dense = [c for c in project.layers if c.get("class") == "Dense"]
    others = sorted({c.get("class") for c in project.layers} - {"Dense"})
    if others:
        misfits.append(f"layers: Playground has no {', '.join(others)} layers")
    hidden = dense[:-1]
    state["networkShape"] = [c["units"] for c in hidden]
    activations = {_name(c.get("activation", "linear")) for c in hidden}
    if len(activations) > 1 or not activations <= set(CHOICES["activation"]):
        misfits.append(
            f"activation: Playground has one activation for every hidden layer, one of "
            f"{', '.join(CHOICES['activation'])}; this network has {', '.join(sorted(activations))}"
        )
    if activations:
        state["activation"] = sorted(activations)[0]
    if len(hidden) > PAGE_LAYERS or any(c["units"] > PAGE_UNITS for c in hidden):
        misfits.append(
            f"size: Playground's page draws at most {PAGE_LAYERS} hidden layers of "
            f"{PAGE_UNITS} units (the link still trains there)"
        )
    inits = {(_key(c.get("kernel_initializer")), _key(c.get("bias_initializer"))) for c in dense}
    if inits == {("zeros", "zeros")}:
        state["initZero"] = True
    elif inits != {(_key(WEIGHTS), _key(BIASES))}:
        misfits.append(
            "initialization: Playground draws weights from -0.5…0.5 and starts biases at 0.1 "
            "(or everything at 0)"
        )
    if any(not c.get("use_bias", True) for c in dense):
        misfits.append("biases: every unit has one in Playground")
    regularizers = {_key(c.get("kernel_regularizer")) for c in dense}
    if any(c.get("bias_regularizer") or c.get("activity_regularizer") for c in dense):
        misfits.append("regularization: Playground regularizes the weights only")
    mse = project.loss == "mse"
    if len(regularizers) > 1:
        misfits.append("regularization: Playground has one regularizer for every weight")
    elif regularizers != {None}:
        config = next(c.get("kernel_regularizer") for c in dense)
        name = _name(config)
        if name == "l2" and mse:
            state["regularization"], state["regularizationRate"] = "L2", config["l2"]
        elif name == "l1" and mse:
            state["regularization"], state["regularizationRate"] = "L1", config["l1"] / 2
        else:
            misfits.append(f"regularization: Playground has no {name} for this loss")
    optimizer = project.optimizer
    if _name(optimizer) != "sgd" or any(
        optimizer.get(k) for k in ("momentum", "nesterov", "global_clipnorm")
    ):
        misfits.append("optimizer: Playground has plain SGD only")
    rate = optimizer.get("learning_rate", 0.01)
    state["learningRate"] = _number(rate * 2 if mse else rate)
    state["batchSize"] = project.batch_size
    if project.dtype != "float64":
        misfits.append(f"dtype: Playground computes in float64, not {project.dtype}")
    view = project.view or {}
    state["showTestData"] = bool(view.get("show_test_data", False))
    state["discretize"] = bool(view.get("discretize", False))
    fields = []
    for name, (kind, _) in FIELDS.items():
        value = state[name]
        if name in NO_EFFECT or value is None:
            continue
        if kind == "shape":
            value = ",".join(map(str, value))
        elif kind == "bool":
            value = "true" if value else "false"
        fields.append(f"{name}={quote(str(value), safe='.,-')}")
    locked = (project.classroom or {}).get("locked", [])
    for lock in HIDDEN_CONTROLS:
        if lock in locked:
            fields += [f"{name}_hide=true" for name in HIDDEN_CONTROLS[lock]]
    if "open" in locked:
        misfits.append("classroom: Playground cannot lock opening other projects")
    return f"{SITE}#{'&'.join(fields)}", misfits


def _number(value: float):
    """A number as Playground would write it: whole numbers without a point."""
    value = round(value, 12)
    return int(value) if value == int(value) else value


def _name(spec) -> str | None:
    return spec.get("name") if isinstance(spec, dict) else spec


def _key(spec):
    """A comparable form of an initializer or regularizer config."""
    if isinstance(spec, dict):
        return tuple(sorted(spec.items()))
    return spec
