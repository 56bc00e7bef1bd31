"""The side panels the user works with: the dataset and the training settings. Both only emit
what the user asked for; the window decides what to do with it."""

from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from bpstudio.core import activations
from bpstudio.data.datasets import (
    CLASSIFICATION_2D,
    DEFAULT_CLASSES,
    FEATURES,
    MAX_CLASSES,
    MULTICLASS_2D,
    REGRESSION_2D,
    DatasetRecipe,
)
from bpstudio.qt import theme
from bpstudio.qt.inputs import ComboBox, DoubleSpinBox, SpinBox
from bpstudio.viewmodel.names import feature_label

TWO_D = (*CLASSIFICATION_2D, *REGRESSION_2D)

DATASET_NAMES = {
    "circle": "Circle",
    "xor": "Exclusive or (XOR)",
    "gauss": "Two Gaussian clusters",
    "spiral": "Spiral",
    "moons": "Two moons",
    "blobs": "Gaussian blobs (3+ classes)",
    "arms": "Spiral arms (3+ classes)",
    "plane": "Plane (regression)",
    "multi_gauss": "Gaussian bumps (regression)",
    "digits": "Handwritten digits 8×8",
    "csv": "Imported CSV data",
}
LEARNING_RATES = (
    "0.00001",
    "0.0001",
    "0.001",
    "0.003",
    "0.01",
    "0.03",
    "0.1",
    "0.3",
    "1",
    "3",
    "10",
)
REGULARIZATION_RATES = ("0", "0.0001", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1")
OPTIMIZERS = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam"}
INVALID = f"QComboBox, QDoubleSpinBox {{ border: 2px solid {theme.RED}; }}"
ENGINES = {"auto": "Auto", "numpy": "NumPy", "compiled": "Compiled (numba)"}
#: How many points the window lets the user ask of a 2-D set (files may hold more).
WINDOW_POINTS = (10, 5000)


def _parse_positive(text: str, name: str, allow_zero=False) -> float:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be a {'non-negative' if allow_zero else 'positive'} number; got {text}"
        )
    return value


class DatasetPanel(QWidget):
    """Choose the data: set, noise, train/test split, input features, regenerate, import."""

    recipe_changed = Signal(object)  # DatasetRecipe
    import_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._updating = False
        self.choice = ComboBox()
        for key, label in DATASET_NAMES.items():
            self.choice.addItem(label, key)
        # Its longest name must not widen the left column past a projector's (the list
        # shows every name whole).
        self.choice.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.choice.setMinimumContentsLength(14)
        self.choice.setToolTip(
            "The data the network learns from. The 2-D sets are "
            "TensorFlow Playground's; the digits are real 8×8 images."
        )
        self.noise = QSlider(Qt.Orientation.Horizontal)
        self.noise.setRange(0, 50)
        self.noise.setToolTip(
            "How much the points are scattered across the true boundary (0–50 %, as in Playground)."
        )
        self.noise_label = QLabel()
        self.ratio = QSlider(Qt.Orientation.Horizontal)
        self.ratio.setRange(10, 90)
        self.ratio.setToolTip(
            "The share of the data used for training; the rest is the test "
            "set the network never learns from."
        )
        self.ratio_label = QLabel()
        self.points = SpinBox()
        self.points.setRange(*WINDOW_POINTS)
        self.points.setSingleStep(100)
        self.points.setKeyboardTracking(False)  # a change when the typing is done
        self.points.setToolTip(
            f"How many points the data set has, training and test together "
            f"({WINDOW_POINTS[0]}–{WINDOW_POINTS[1]:,})."
        )
        self.classes = SpinBox()
        self.classes.setRange(2, MAX_CLASSES)
        self.classes.setKeyboardTracking(False)
        self.classes.setToolTip(
            "How many classes the blobs or the spiral arms have; the output layer gets one "
            "softmax unit per class."
        )
        self.regenerate = QPushButton("Regenerate")
        self.regenerate.setToolTip("Draw new points with the same settings (a new data seed).")
        self.import_button = QPushButton("Import CSV…")
        self.import_button.setToolTip("Train on your own data from a CSV file.")
        self.features = {}
        grid = QGridLayout()
        for i, name in enumerate(FEATURES):
            box = QCheckBox(feature_label(name))  # x₁², as the canvas writes them
            box.setToolTip(f"Feed {feature_label(name)} to the network as an input.")
            box.toggled.connect(self._emit)
            self.features[name] = box
            grid.addWidget(box, i // 3, i % 3)  # three a row: the left column is narrow
        self.features_box = QWidget()
        self.features_box.setLayout(grid)
        form = QFormLayout()
        form.addRow("Data", self.choice)
        noise_row = QHBoxLayout()
        noise_row.addWidget(self.noise, 1)
        noise_row.addWidget(self.noise_label)
        form.addRow("Noise", noise_row)
        ratio_row = QHBoxLayout()
        ratio_row.addWidget(self.ratio, 1)
        ratio_row.addWidget(self.ratio_label)
        form.addRow("Training share", ratio_row)
        form.addRow("Points", self.points)
        form.addRow("Classes", self.classes)
        self.form = form
        # Over the whole width: beside a label they widened the left column past a projector's.
        form.addRow(QLabel("Inputs"))
        form.addRow(self.features_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.regenerate)
        buttons.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.choice.currentIndexChanged.connect(self._emit)
        self.noise.valueChanged.connect(self._on_slider_moved)
        self.ratio.valueChanged.connect(self._on_slider_moved)
        self.points.valueChanged.connect(self._emit)
        self.classes.valueChanged.connect(self._emit)
        self.noise.sliderReleased.connect(self._emit)
        self.ratio.sliderReleased.connect(self._emit)
        self.regenerate.clicked.connect(self._on_regenerate_clicked)
        self.import_button.clicked.connect(self.import_requested)
        self._recipe = DatasetRecipe()

    def show_recipe(self, recipe: DatasetRecipe, has_table: bool):
        """Show a recipe without echoing it back as a change."""
        self._updating = True
        self._recipe = recipe
        index = self.choice.findData("csv")
        self.choice.model().item(index).setEnabled(has_table)
        self.choice.setCurrentIndex(self.choice.findData(recipe.name))
        self.noise.setValue(round(recipe.noise * 100))
        self.ratio.setValue(round(recipe.train_ratio * 100))
        for name, box in self.features.items():
            box.setChecked(name in recipe.features)
        self.features_box.setEnabled(recipe.is_2d)
        self.noise.setEnabled(recipe.name != "csv")
        self.points.setValue(min(max(recipe.n_samples, WINDOW_POINTS[0]), WINDOW_POINTS[1]))
        self.points.setEnabled(recipe.is_2d)
        self.form.setRowVisible(self.points, recipe.is_2d)
        self.classes.setValue(recipe.classes or DEFAULT_CLASSES)
        self.form.setRowVisible(self.classes, recipe.name in MULTICLASS_2D)
        self._on_slider_moved()
        self._updating = False

    def _on_slider_moved(self, *_):
        self.noise_label.setText(f"{self.noise.value()} %")
        self.ratio_label.setText(f"{self.ratio.value()} %")
        if not self._updating and not (self.noise.isSliderDown() or self.ratio.isSliderDown()):
            self._emit()

    def _on_regenerate_clicked(self):
        self._emit(seed=self._recipe.seed + 1)

    def _emit(self, *_, seed=None):
        if self._updating:
            return
        features = tuple(n for n, box in self.features.items() if box.isChecked())
        if not features:
            self.features["x1"].setChecked(True)  # at least one input; re-emits
            return
        name, old = self.choice.currentData(), self._recipe
        # A file's larger set stays as it is until the user asks for another size.
        keep = old.n_samples > WINDOW_POINTS[1] and self.points.value() == WINDOW_POINTS[1]
        multiclass = name in MULTICLASS_2D
        recipe = DatasetRecipe(
            name,
            self.points.value() if name in TWO_D and not keep else old.n_samples,
            self.noise.value() / 100,
            self.ratio.value() / 100,
            old.seed if seed is None else seed,
            features,
            self.classes.value() if multiclass else 0,
            # Playground's -1/+1 labels stay while the data has two classes.
            old.labels if name in CLASSIFICATION_2D and not multiclass else "index",
        )
        if recipe != self._recipe:
            self._recipe = recipe
            self.recipe_changed.emit(recipe)


class SettingsPanel(QWidget):
    """The training settings: optimizer, learning rate, momentum, regularization, dropout,
    batch size and clipping. Live settings are emitted as `changed(dict)`; a new optimizer as
    `optimizer_changed(name)`; a value that cannot be used as `rejected(message)`."""

    changed = Signal(dict)
    optimizer_changed = Signal(str)
    rejected = Signal(str)
    #: Start again from the weights this seed draws (None: a new random one).
    seed_requested = Signal(object)
    #: Every hidden Dense layer to take this activation.
    activation_requested = Signal(str)
    #: When training pauses by itself: {"epoch": N, "test_loss": x} (either, or neither).
    stop_changed = Signal(dict)
    #: The engine to train on from the next run: "auto", "numpy" or "compiled".
    engine_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._updating = False
        self._current: dict = {}
        self.optimizer = ComboBox()
        for key, label in OPTIMIZERS.items():
            self.optimizer.addItem(label, key)
        self.optimizer.setToolTip(
            "How the gradient turns into a step: plain SGD, or RMSprop "
            "and Adam, which scale each weight's step by its history."
        )
        self.learning_rate = ComboBox()
        self.learning_rate.setEditable(True)
        self.learning_rate.addItems(LEARNING_RATES)
        self.learning_rate.setToolTip(
            "How far each step moves the weights. Too high: the "
            "loss jumps or explodes; too low: nothing happens. Type "
            "any positive number."
        )
        self.momentum = DoubleSpinBox()
        self.momentum.setRange(0.0, 0.99)
        self.momentum.setSingleStep(0.05)
        self.momentum.setDecimals(2)
        self.momentum.setToolTip(
            "How much of the previous step is kept in the next one (0 = none)."
        )
        self.nesterov = QCheckBox("Nesterov")
        self.nesterov.setToolTip(
            "Look ahead: take the gradient where the momentum is about to carry the weights "
            "(SGD only)."
        )
        self.regularization = ComboBox()
        self.regularization.addItem("None", "none")
        self.regularization.addItem("L1", "l1")
        self.regularization.addItem("L2", "l2")
        self.regularization.setToolTip(
            "A penalty on large weights added to the loss: L2 "
            "shrinks them all, L1 pushes small ones to zero."
        )
        self.regularization_rate = ComboBox()
        self.regularization_rate.setEditable(True)
        self.regularization_rate.addItems(REGULARIZATION_RATES)
        self.regularization_rate.setToolTip("The strength of the penalty.")
        self.dropout = DoubleSpinBox()
        self.dropout.setRange(0.0, 1.0)
        self.dropout.setSingleStep(0.05)
        self.dropout.setToolTip(
            "The share of units each Dropout layer switches off on every "
            "training step (0 = none, 1 = all). Needs a Dropout layer."
        )
        self.batch_size = SpinBox()
        self.batch_size.setRange(1, 100_000)
        self.batch_size.setToolTip("How many examples each step averages its gradient over.")
        self.clip = QCheckBox("Clip gradient norm at")
        self.clip.setToolTip(
            "Scale the whole gradient down whenever its norm is above this "
            "value: a cure for exploding gradients."
        )
        self.clip_value = DoubleSpinBox()
        self.clip_value.setRange(0.01, 1000.0)
        self.clip_value.setValue(1.0)
        self.seed = SpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip(
            "The number the initial weights, the dropout masks and the shuffling are drawn "
            "from. Type another and press Enter to start again from other weights."
        )
        self.new_seed = QPushButton("New")
        self.new_seed.setToolTip("Start again from new random weights (a new seed)")
        self.activation = ComboBox()
        self.activation.addItems(activations.HIDDEN_NAMES)
        self.activation.setToolTip(
            "The activation of every hidden layer at once, as Playground's Activation "
            "(each layer's own is in the Layer tab). Undo takes it back."
        )
        self.stop_epoch = SpinBox()
        self.stop_epoch.setRange(0, 1_000_000)
        self.stop_epoch.setSpecialValueText("no epoch")
        self.stop_epoch.setPrefix("epoch ")
        self.stop_epoch.setKeyboardTracking(False)
        self.stop_epoch.setToolTip("Training pauses by itself at the end of this epoch.")
        self.stop_loss = QLineEdit()
        self.stop_loss.setPlaceholderText("test loss <")
        self.stop_loss.setToolTip(
            "Training pauses by itself when the test loss first falls below this number "
            "(and again after a Reset), for example 0.1. Empty: never."
        )
        self.engine = ComboBox()
        for key, label in ENGINES.items():
            self.engine.addItem(label, key)
        form = QFormLayout(self)
        form.addRow("Activation", self.activation)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.learning_rate)
        momentum_row = QHBoxLayout()
        momentum_row.addWidget(self.momentum, 1)
        momentum_row.addWidget(self.nesterov)
        form.addRow("Momentum", momentum_row)
        form.addRow("Regularization", self.regularization)
        form.addRow("Strength", self.regularization_rate)
        form.addRow("Dropout rate", self.dropout)
        form.addRow("Batch size", self.batch_size)
        clip_row = QHBoxLayout()
        clip_row.addWidget(self.clip)
        clip_row.addWidget(self.clip_value)
        form.addRow(clip_row)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        form.addRow("Weight seed", seed_row)
        stop_row = QHBoxLayout()
        stop_row.addWidget(self.stop_epoch, 1)
        stop_row.addWidget(self.stop_loss, 1)
        form.addRow("Stop at", stop_row)
        form.addRow("Engine", self.engine)
        self.engine.activated.connect(lambda: self.engine_requested.emit(self.engine.currentData()))
        self.activation.activated.connect(
            lambda: self.activation_requested.emit(self.activation.currentText())
        )
        self.stop_epoch.valueChanged.connect(self._on_stop_edited)
        self.stop_loss.editingFinished.connect(self._on_stop_edited)
        self.seed.editingFinished.connect(self._on_seed_edited)
        self.new_seed.clicked.connect(lambda: self.seed_requested.emit(None))
        self.optimizer.currentIndexChanged.connect(self._on_optimizer_chosen)
        self.learning_rate.lineEdit().editingFinished.connect(self._on_learning_rate_edited)
        self.learning_rate.activated.connect(self._on_learning_rate_edited)
        self.momentum.valueChanged.connect(lambda v: self._emit(momentum=round(v, 4)))
        self.nesterov.toggled.connect(lambda on: self._emit(nesterov=on))
        self.regularization.currentIndexChanged.connect(self._on_regularization_edited)
        self.regularization_rate.lineEdit().editingFinished.connect(self._on_regularization_edited)
        self.regularization_rate.activated.connect(self._on_regularization_edited)
        self.dropout.valueChanged.connect(lambda v: self._emit(dropout=round(v, 4)))
        self.batch_size.valueChanged.connect(lambda v: self._emit(batch_size=v))
        self.clip.toggled.connect(self._on_clip_edited)
        self.clip_value.valueChanged.connect(self._on_clip_edited)

    def show_settings(self, settings: dict, optimizer: str, n_train: int):
        """Show the trainer's settings without echoing them back as changes."""
        if settings == self._current and optimizer == self.optimizer.currentData():
            return
        self._updating = True
        self._current = dict(settings)
        self.optimizer.setCurrentIndex(self.optimizer.findData(optimizer))
        self.learning_rate.setCurrentText(f"{settings['learning_rate']:g}")
        self.learning_rate.setStyleSheet("")
        has_momentum = settings["momentum"] is not None
        self.momentum.setEnabled(has_momentum)
        self.momentum.setValue(settings["momentum"] or 0.0)
        self.nesterov.setEnabled(settings.get("nesterov") is not None)
        self.nesterov.setChecked(bool(settings.get("nesterov")))
        self.regularization.setCurrentIndex(
            self.regularization.findData(settings["regularization"])
        )
        self.regularization_rate.setCurrentText(f"{settings['regularization_rate']:g}")
        self.regularization_rate.setStyleSheet("")
        self.dropout.setEnabled(settings["dropout"] is not None)
        self.dropout.setValue(settings["dropout"] or 0.0)
        self.batch_size.setMaximum(max(n_train, 1))
        self.batch_size.setValue(settings["batch_size"])
        self.clip.setChecked(settings["global_clipnorm"] is not None)
        if settings["global_clipnorm"] is not None:
            self.clip_value.setValue(settings["global_clipnorm"])
        self._updating = False

    def show_engine(self, choice: str, engine: str, note: str):
        """Show the engine chosen and the one the run trains on, with why."""
        with QSignalBlocker(self.engine):
            self.engine.setCurrentIndex(self.engine.findData(choice))
        tip = (
            "Which engine trains: compiled (numba; many steps per call, a core left to the "
            "window) or NumPy (every network; faster for wide layers). Auto picks. A change "
            f"takes effect at the next Reset. This run: {engine}"
        )
        tip += f" ({note})." if note else "."
        if tip != self.engine.toolTip():
            self.engine.setToolTip(tip)

    def show_hidden_activation(self, name: str | None):
        """Show the activation the hidden layers share (None: they differ, or there are
        none)."""
        with QSignalBlocker(self.activation):
            if name is None:
                self.activation.setCurrentIndex(-1)
                self.activation.setPlaceholderText("mixed")
            else:
                self.activation.setCurrentText(name)

    def show_stop(self, stop: dict | None):
        stop = stop or {}
        with QSignalBlocker(self.stop_epoch):
            self.stop_epoch.setValue(int(stop.get("epoch") or 0))
        loss = stop.get("test_loss")
        self.stop_loss.setText("" if loss is None else f"{loss:g}")
        self.stop_loss.setStyleSheet("")
        self._stop = {k: v for k, v in stop.items() if v is not None}

    def _stop_value(self) -> dict:
        """The stop condition as typed; raises ValueError for a loss that is not a number."""
        stop = {}
        if self.stop_epoch.value():
            stop["epoch"] = self.stop_epoch.value()
        if self.stop_loss.text().strip():
            stop["test_loss"] = _parse_positive(self.stop_loss.text().strip(), "test loss")
        return stop

    def _on_stop_edited(self, *_):
        try:
            stop = self._stop_value()
        except ValueError as exc:
            self.stop_loss.setStyleSheet(f"QLineEdit {{ border: 2px solid {theme.RED}; }}")
            self.rejected.emit(str(exc))
            return
        self.stop_loss.setStyleSheet("")
        if stop != getattr(self, "_stop", None):
            self._stop = stop
            self.stop_changed.emit(stop)

    def show_seed(self, seed: int):
        with QSignalBlocker(self.seed):
            self.seed.setValue(seed)
        self._seed = seed

    def _on_seed_edited(self):
        if self.seed.value() != getattr(self, "_seed", None):
            self._seed = self.seed.value()
            self.seed_requested.emit(self._seed)

    def _emit(self, **changes):
        if self._updating:
            return
        changes = {k: v for k, v in changes.items() if self._current.get(k) != v}
        if changes:
            self._current.update(changes)
            self.changed.emit(changes)

    def _on_optimizer_chosen(self, _index):
        if not self._updating:
            self.optimizer_changed.emit(self.optimizer.currentData())

    def _on_learning_rate_edited(self, *_):
        if self._updating:
            return
        try:
            value = _parse_positive(self.learning_rate.currentText(), "learning rate")
            if value > 100:
                raise ValueError(f"learning rate must be at most 100; got {value:g}")
        except ValueError as exc:
            self.learning_rate.setStyleSheet(INVALID)
            self.learning_rate.setToolTip(str(exc))
            self.rejected.emit(str(exc))
            return
        self.learning_rate.setStyleSheet("")
        self._emit(learning_rate=value)

    def _on_regularization_edited(self, *_):
        if self._updating:
            return
        try:
            rate = _parse_positive(
                self.regularization_rate.currentText(), "regularization strength", allow_zero=True
            )
        except ValueError as exc:
            self.regularization_rate.setStyleSheet(INVALID)
            self.rejected.emit(str(exc))
            return
        self.regularization_rate.setStyleSheet("")
        self._emit(regularization=self.regularization.currentData(), regularization_rate=rate)

    def _on_clip_edited(self, *_):
        self._emit(global_clipnorm=self.clip_value.value() if self.clip.isChecked() else None)
