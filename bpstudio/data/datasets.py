"""Datasets: TensorFlow Playground's 2-D sets, two moons, Gaussian blobs and spiral arms with
3-6 classes, the 8x8 digits and imported CSVs.

A dataset is made from a `DatasetRecipe` (name, size, noise, train ratio, seed, input
features, classes), so a project file stores the recipe, not the points, and the same recipe
always gives the same points. Classification targets are class indices, or -1/+1 in a column
for Playground's setup (`labels="signed"`: one tanh unit and squared error); regression targets
are (n, 1) floats.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from bpstudio._resources import resource_path
from bpstudio.data.csvdata import CsvTable

#: The 2-D sets with a number of classes of the user's choosing (2 to MAX_CLASSES).
MULTICLASS_2D = ("blobs", "arms")
CLASSIFICATION_2D = ("circle", "xor", "gauss", "spiral", "moons", *MULTICLASS_2D)
REGRESSION_2D = ("plane", "multi_gauss")
DATASETS = (*CLASSIFICATION_2D, *REGRESSION_2D, "digits", "csv")
#: The classes of the 2-D sets, named by their colours on screen (the first two are
#: Playground's orange and blue).
CLASS_NAMES = ("orange", "blue", "green", "purple", "pink", "brown")
MAX_CLASSES = len(CLASS_NAMES)
#: How the 2-D sets that take a number of classes make them when none is given.
DEFAULT_CLASSES = 3
#: How class labels become targets: class indices, or -1/+1 (two classes, one tanh unit,
#: squared error: TensorFlow Playground's own setup).
LABELS = ("index", "signed")

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
#: The input plane the 2-D sets are drawn on runs from -PLANE_EDGE to PLANE_EDGE.
PLANE_EDGE = 6.0


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
    #: The number of classes of a set in MULTICLASS_2D (0: DEFAULT_CLASSES); the others
    #: have their own number and take 0.
    classes: int = 0
    labels: str = "index"

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
        classes = self.classes
        if not isinstance(classes, int) or isinstance(classes, bool):
            raise DatasetError(f"classes must be a whole number; got {classes!r}")
        if self.name in MULTICLASS_2D:
            if classes == 0:
                object.__setattr__(self, "classes", DEFAULT_CLASSES)
            elif not 2 <= classes <= MAX_CLASSES:
                raise DatasetError(
                    f"classes must be from 2 to {MAX_CLASSES} for {self.name}; got {classes!r}"
                )
        elif classes:
            raise DatasetError(
                f"only {' and '.join(MULTICLASS_2D)} take a number of classes; "
                f"{self.name} has its own"
            )
        if self.labels not in LABELS:
            raise DatasetError(f"labels must be one of {', '.join(LABELS)}; got {self.labels!r}")
        if self.labels == "signed" and not (
            self.name in CLASSIFICATION_2D and self.n_classes_made == 2
        ):
            raise DatasetError("labels -1/+1 are for two-class 2-D data only")

    @property
    def is_2d(self) -> bool:
        return self.name in CLASSIFICATION_2D or self.name in REGRESSION_2D

    @property
    def n_classes_made(self) -> int:
        """How many classes a 2-D classification set has (0 for the others)."""
        if self.name in MULTICLASS_2D:
            return self.classes
        return 2 if self.name in CLASSIFICATION_2D else 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["features"] = list(self.features)
        # Written only when they say something: files and run identities from before stay
        # the same.
        if not d["classes"]:
            del d["classes"]
        if d["labels"] == "index":
            del d["labels"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DatasetRecipe:
        if not isinstance(d, dict):
            raise DatasetError("the dataset must be described by an object")
        unknown = set(d) - {f.name for f in fields(cls)}
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
    #: For imported data of two columns, drawn on the input plane: plane units per input unit.
    plane_scale: float = 1.0

    @property
    def input_dim(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def signed(self) -> bool:
        """Two classes as -1/+1 for one tanh unit and squared error (Playground's setup)."""
        return self.recipe.labels == "signed"

    @property
    def output_units(self) -> int:
        """1 for regression and two classes (sigmoid), else one per class (softmax)."""
        return 1 if self.task == "regression" or self.n_classes == 2 else self.n_classes

    @property
    def output_activation(self) -> str:
        if self.task == "regression":
            return "linear"
        if self.signed:
            return "tanh"
        return "sigmoid" if self.n_classes == 2 else "softmax"

    @property
    def loss(self) -> str:
        if self.task == "regression" or self.signed:
            return "mse"
        return "binary_crossentropy" if self.n_classes == 2 else "categorical_crossentropy"

    def class_indices(self, y) -> np.ndarray:
        """Class indices (n,) of classification targets as this dataset stores them."""
        y = np.asarray(y).reshape(len(y), -1)[:, 0] if np.ndim(y) > 1 else np.asarray(y)
        return (y > 0).astype(np.int64) if self.signed else y.astype(np.int64)

    def predicted_classes(self, A) -> np.ndarray:
        """The class each row of network outputs A (n, outputs) stands for."""
        if A.shape[1] > 1:
            return A.argmax(axis=1)
        return (A[:, 0] > (0.0 if self.signed else 0.5)).astype(np.int64)

    def transform(self, points: np.ndarray) -> np.ndarray:
        """Network inputs for raw 2-D points (n, 2): the recipe's features, or for imported
        data of two columns the points scaled back from the plane."""
        if self.recipe.name == "csv":
            return np.asarray(points, np.float64) / self.plane_scale
        return feature_matrix(points, self.recipe.features)


def write_csv(dataset: Dataset, path) -> int:
    """Write the training and test examples to a CSV file: a `split` column (train or test),
    the inputs as the network sees them (imported data as it was in its file, before
    standardizing) and the target (a class by its name); returns the rows written. Import CSV
    reads it back (leave out `split`)."""
    import csv

    rows = 0
    target = "class" if dataset.task == "classification" else "target"
    names = [*dataset.feature_names, target]
    if len(set(names)) < len(names):
        target = f"{target} (target)"
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["split", *dataset.feature_names, target])
        for split, X, y in (
            ("train", dataset.X_train, dataset.y_train),
            ("test", dataset.X_test, dataset.y_test),
        ):
            if dataset.scaling is not None:
                mean, std = dataset.scaling
                X = X * std + mean
            if dataset.task == "classification":
                labels = [dataset.class_names[i] for i in dataset.class_indices(y)]
            else:
                labels = [repr(float(v)) for v in np.asarray(y).ravel()]
            for x, label in zip(X, labels):
                out.writerow([split, *(repr(float(v)) for v in x), label])
                rows += 1
    return rows


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
    # Playground's label: x + y scaled by 1/10, not clipped (corners reach beyond ±1).
    return pts, (noisy[:, 0] + noisy[:, 1]) / 10


_BUMPS = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]


def _multi_gauss(n, noise, rng):
    pts = rng.uniform(-6, 6, (n, 2))
    noisy = pts + rng.uniform(-6, 6, (n, 2)) * noise
    label = np.zeros(n)
    for cx, cy, sign in _BUMPS:  # the strongest bump wins, as in Playground
        value = sign * np.clip(1 - np.hypot(noisy[:, 0] - cx, noisy[:, 1] - cy) / 2, 0, 1)
        label = np.where(np.abs(value) > np.abs(label), value, label)
    return pts, label


def _blobs(n, noise, rng, k):
    """k round clusters on a circle of radius 3; noise widens them as it does `gauss`'s."""
    variance = 0.3 + 1.7 * (noise / 0.5)
    labels = np.arange(n) % k
    angle = 2 * math.pi * labels / k + math.pi / 2
    centers = 3.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    return centers + rng.normal(0, math.sqrt(variance), (n, 2)), labels.astype(np.int64)


def _arms(n, noise, rng, k):
    """k arms winding out from the middle, each as one of Playground's spiral arms."""
    labels = np.arange(n) % k
    i = np.arange(n) // k
    m = -(-n // k)
    r = i / m * 5
    t = 1.75 * i / m * 2 * math.pi + 2 * math.pi * labels / k
    pts = np.column_stack([r * np.sin(t), r * np.cos(t)])
    return pts + rng.uniform(-1, 1, (n, 2)) * noise, labels.astype(np.int64)


_GENERATORS = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "moons": _moons,
    "plane": _plane,
    "multi_gauss": _multi_gauss,
    "blobs": _blobs,
    "arms": _arms,
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
        extra = (recipe.classes,) if recipe.name in MULTICLASS_2D else ()
        pts, y = _GENERATORS[recipe.name](recipe.n_samples, recipe.noise, data_rng, *extra)
        train, test = _split(len(pts), recipe.train_ratio, split_rng)
        regression = recipe.name in REGRESSION_2D
        if recipe.labels == "signed":
            y = (2.0 * y - 1.0).reshape(-1, 1)
        y = y.reshape(-1, 1) if regression else y
        return Dataset(
            recipe,
            feature_matrix(pts[train], recipe.features),
            y[train],
            feature_matrix(pts[test], recipe.features),
            y[test],
            "regression" if regression else "classification",
            recipe.features,
            () if regression else CLASS_NAMES[: recipe.n_classes_made],
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
    plane = {}
    if X_train.shape[1] == 2:  # drawn on the input plane, as the 2-D sets are
        top = max(float(np.abs(X_train).max()), float(np.abs(X_test).max(initial=0.0)))
        scale = PLANE_EDGE / (1.1 * top) if 0 < top < math.inf else 1.0
        plane = {"points_train": X_train * scale, "points_test": X_test * scale}
        plane["plane_scale"] = scale
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
        **plane,
    )
