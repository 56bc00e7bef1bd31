"""Datasets: TensorFlow Playground's 2-D sets, two moons, the 8x8 digits and imported CSVs.

A dataset is made from a `DatasetRecipe` (name, size, noise, train ratio, seed, input
features), so a project file stores the recipe, not the points, and the same recipe always
gives the same points. Classification targets are class indices; regression targets are
(n, 1) floats.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from bpstudio._resources import resource_path
from bpstudio.data.csvdata import CsvTable

CLASSIFICATION_2D = ("circle", "xor", "gauss", "spiral", "moons")
REGRESSION_2D = ("plane", "multi_gauss")
DATASETS = (*CLASSIFICATION_2D, *REGRESSION_2D, "digits", "csv")

#: Playground's optional input features, each a function of the raw point (x1, x2).
FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}

MAX_SAMPLES = 100_000


class DatasetError(ValueError):
    """A dataset recipe or data file that cannot be used; the message says why."""


@dataclass(frozen=True)
class DatasetRecipe:
    """Everything needed to make a dataset again. noise is Playground's 0..0.5 (0-50 %)."""

    name: str = "circle"
    n_samples: int = 500
    noise: float = 0.0
    train_ratio: float = 0.5
    seed: int = 0
    features: tuple[str, ...] = ("x1", "x2")

    def __post_init__(self):
        if self.name not in DATASETS:
            raise DatasetError(f"dataset must be one of {', '.join(DATASETS)}; got {self.name!r}")
        if not isinstance(self.n_samples, int) or not 10 <= self.n_samples <= MAX_SAMPLES:
            raise DatasetError(
                f"n_samples must be an integer from 10 to {MAX_SAMPLES:,}; got {self.n_samples!r}"
            )
        for key, low, high in (("noise", 0.0, 0.5), ("train_ratio", 0.1, 0.9)):
            value = getattr(self, key)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (low <= value <= high)
            ):
                raise DatasetError(f"{key} must be a number from {low} to {high}; got {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise DatasetError(f"seed must be a whole number >= 0; got {self.seed!r}")
        features = tuple(self.features)
        object.__setattr__(self, "features", features)
        unknown = [f for f in features if f not in FEATURES]
        if unknown or not features or len(set(features)) != len(features):
            raise DatasetError(
                f"features must be distinct names from {', '.join(FEATURES)}; "
                f"got {list(features)!r}"
            )

    @property
    def is_2d(self) -> bool:
        return self.name in CLASSIFICATION_2D or self.name in REGRESSION_2D

    def to_dict(self) -> dict:
        d = asdict(self)
        d["features"] = list(self.features)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DatasetRecipe:
        if not isinstance(d, dict):
            raise DatasetError("the dataset must be described by an object")
        unknown = set(d) - {"name", "n_samples", "noise", "train_ratio", "seed", "features"}
        if unknown:
            raise DatasetError(f"unknown dataset settings: {', '.join(sorted(unknown))}")
        return cls(**{**d, "features": tuple(d.get("features", ("x1", "x2")))})


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs and targets split into train and test. For 2-D sets, `points_*` keep the raw
    (x1, x2) points for plotting and `transform` maps raw points to network inputs."""

    recipe: DatasetRecipe
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str  # "classification" or "regression"
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...] = ()
    points_train: np.ndarray | None = None
    points_test: np.ndarray | None = None
    #: For imported data: the per-column mean and std used to standardize (None: as is).
    scaling: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def input_dim(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def output_units(self) -> int:
        """1 for regression and two classes (sigmoid), else one per class (softmax)."""
        return 1 if self.task == "regression" or self.n_classes == 2 else self.n_classes

    @property
    def output_activation(self) -> str:
        if self.task == "regression":
            return "linear"
        return "sigmoid" if self.n_classes == 2 else "softmax"

    @property
    def loss(self) -> str:
        if self.task == "regression":
            return "mse"
        return "binary_crossentropy" if self.n_classes == 2 else "categorical_crossentropy"

    def transform(self, points: np.ndarray) -> np.ndarray:
        """Network inputs for raw 2-D points (n, 2), using the recipe's features."""
        return feature_matrix(points, self.recipe.features)


def feature_matrix(points, features) -> np.ndarray:
    x1, x2 = points[:, 0], points[:, 1]
    return np.column_stack([FEATURES[f](x1, x2) for f in features]).astype(np.float64)


# ------------------------------------------------------------------- Playground's generators
# Each returns raw points (n, 2) and labels; noise is 0..0.5, as Playground's slider / 100.


def _circle(n, noise, rng):
    radius = 5.0
    r = np.concatenate(
        [rng.uniform(0, radius * 0.5, n // 2), rng.uniform(radius * 0.7, radius, n - n // 2)]
    )
    angle = rng.uniform(0, 2 * math.pi, n)
    pts = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    # As in Playground, the label comes from the noisy position: noise moves points across.
    labels = (np.hypot(*(pts + jitter).T) < radius * 0.5).astype(np.int64)
    return pts, labels


def _xor(n, noise, rng):
    pts = rng.uniform(-5, 5, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)  # keep points off the axes
    noisy = pts + rng.uniform(-5, 5, (n, 2)) * noise
    return pts, (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.int64)


def _gauss(n, noise, rng):
    variance = 0.5 + 3.5 * (noise / 0.5)  # Playground maps noise 0..0.5 to variance 0.5..4
    half = n // 2
    labels = np.concatenate([np.ones(half, np.int64), np.zeros(n - half, np.int64)])
    centers = np.where(labels[:, None] == 1, 2.0, -2.0)
    return centers + rng.normal(0, math.sqrt(variance), (n, 2)), labels


def _spiral(n, noise, rng):
    pts, labels = [], []
    for label, delta in ((1, 0.0), (0, math.pi)):
        m = n // 2 if label else n - n // 2
        i = np.arange(m)
        r = i / m * 5
        t = 1.75 * i / m * 2 * math.pi + delta
        xy = np.column_stack([r * np.sin(t), r * np.cos(t)])
        pts.append(xy + rng.uniform(-1, 1, (m, 2)) * noise)
        labels.append(np.full(m, label, np.int64))
    return np.concatenate(pts), np.concatenate(labels)


def _moons(n, noise, rng):
    half = n // 2
    t_out, t_in = rng.uniform(0, math.pi, half), rng.uniform(0, math.pi, n - half)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = np.column_stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)])
    pts = (np.concatenate([outer, inner]) - [0.5, 0.25]) * 3.0  # into Playground's -5..5 frame
    pts += rng.normal(0, 1, (n, 2)) * noise * 3.0
    return pts, np.concatenate([np.zeros(half, np.int64), np.ones(n - half, np.int64)])


def _plane(n, noise, rng):
    pts = rng.uniform(-6, 6, (n, 2))
    noisy = pts + rng.uniform(-6, 6, (n, 2)) * noise
    return pts, np.clip((noisy[:, 0] + noisy[:, 1]) / 10, -1, 1)  # Playground's x + y, scaled


_BUMPS = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]


def _multi_gauss(n, noise, rng):
    pts = rng.uniform(-6, 6, (n, 2))
    noisy = pts + rng.uniform(-6, 6, (n, 2)) * noise
    label = np.zeros(n)
    for cx, cy, sign in _BUMPS:  # the strongest bump wins, as in Playground
        value = sign * np.clip(1 - np.hypot(noisy[:, 0] - cx, noisy[:, 1] - cy) / 2, 0, 1)
        label = np.where(np.abs(value) > np.abs(label), value, label)
    return pts, label


_GENERATORS = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "moons": _moons,
    "plane": _plane,
    "multi_gauss": _multi_gauss,
}


def _split(n, train_ratio, rng):
    order = rng.permutation(n)
    n_train = min(max(1, round(n * train_ratio)), n - 1)
    return order[:n_train], order[n_train:]


def make_dataset(recipe: DatasetRecipe, table: CsvTable | None = None) -> Dataset:
    """The dataset a recipe describes. `table` is the imported data for recipe name "csv"."""
    data_rng, split_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(recipe.seed).spawn(2)
    )
    if recipe.is_2d:
        pts, y = _GENERATORS[recipe.name](recipe.n_samples, recipe.noise, data_rng)
        train, test = _split(len(pts), recipe.train_ratio, split_rng)
        regression = recipe.name in REGRESSION_2D
        y = y.reshape(-1, 1) if regression else y
        return Dataset(
            recipe,
            feature_matrix(pts[train], recipe.features),
            y[train],
            feature_matrix(pts[test], recipe.features),
            y[test],
            "regression" if regression else "classification",
            recipe.features,
            () if regression else ("orange", "blue"),
            pts[train],
            pts[test],
        )
    if recipe.name == "digits":
        with np.load(resource_path("data", "digits.npz"), allow_pickle=False) as f:
            images, labels = f["images"] / 16.0, f["labels"].astype(np.int64)
        if recipe.noise:
            images = images + data_rng.normal(0, recipe.noise, images.shape)
        train, test = _split(len(images), recipe.train_ratio, split_rng)
        return Dataset(
            recipe,
            images[train],
            labels[train],
            images[test],
            labels[test],
            "classification",
            tuple(f"pixel {i // 8},{i % 8}" for i in range(64)),
            tuple(str(d) for d in range(10)),
        )
    if table is None:
        raise DatasetError("this project uses imported CSV data, but the data is missing")
    train, test = _split(len(table.X), recipe.train_ratio, split_rng)
    X_train, X_test, scaling = table.X[train], table.X[test], None
    if table.standardize:
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # a constant column stays constant
        X_train, X_test, scaling = (X_train - mean) / std, (X_test - mean) / std, (mean, std)
    y = table.y if table.task == "classification" else table.y.reshape(-1, 1)
    return Dataset(
        recipe,
        X_train,
        y[train],
        X_test,
        y[test],
        table.task,
        table.feature_names,
        table.class_names,
        scaling=scaling,
    )
