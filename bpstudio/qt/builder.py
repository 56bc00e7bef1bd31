"""The visual network builder: a palette of layer kinds to drag onto the canvas (or click to
add after the selected layer), the canvas itself, a layer inspector for the selected layer,
and the live analysis (shape, parameters, warnings) of the network as it is now.

Every edit becomes a new list of layer configs (training/editing.py) sent with
`edit_requested(layers, description)`; the window turns it into an undoable command and
rebuilds only what changed."""

from __future__ import annotations

import html

from PySide6.QtCore import QByteArray, QMimeData, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from bpstudio.analysis.rules import analyze
from bpstudio.core import activations, initializers
from bpstudio.core.layers import MAX_UNITS
from bpstudio.data.datasets import FEATURES
from bpstudio.project import editing
from bpstudio.qt.canvas import KIND_LABELS, LAYER_MIME, Column, NetworkCanvas
from bpstudio.qt.inputs import ComboBox, DoubleSpinBox, SpinBox
from bpstudio.qt.panels.base import Panel
from bpstudio.viewmodel.names import feature_label, layer_labels, renamed

#: What each palette button adds, in a sentence.
KIND_TIPS = {
    "Dense": "Add a dense layer: every unit weighs all of its inputs.",
    "Activation": "Add an activation function on its own.",
    "Dropout": "Add dropout: drops a share of its inputs at random while training.",
    "BatchNormalization": "Add batch normalization: rescales each unit over the batch.",
}
ACTIVATION_CHOICES = activations.HIDDEN_NAMES
REGULARIZERS = {"": "None", "l1": "L1", "l2": "L2", "l1_l2": "L1 + L2"}


class PaletteButton(QToolButton):
    """Drag it onto the canvas to insert a layer there; click it to add one after the
    selected layer."""

    def __init__(self, kind, parent=None):
        super().__init__(parent)
        self.kind = kind
        self.setText(f"+ {KIND_LABELS[kind]}")
        self.setToolTip(KIND_TIPS[kind] + " Drag it onto the network, or click.")
        self._press = None

    def mousePressEvent(self, event):
        self._press = event.position()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self._press is not None and (event.position() - self._press).manhattanLength() > 8:
            self._press = None
            self.setDown(False)
            data = QMimeData()
            data.setData(LAYER_MIME, QByteArray(self.kind.encode()))
            drag = QDrag(self)
            drag.setMimeData(data)
            drag.exec(Qt.DropAction.CopyAction)
            return
        super().mouseMoveEvent(event)


class FixedTextButton(QToolButton):
    """A button for an action whose text changes ("Undo dense_1: activation"): it keeps a
    short text of its own and shows the action's in its tooltip, so that the window does not
    grow wider with every edit."""

    def follow(self, action, text: str):
        self.action = action
        self.setText(text)
        self.clicked.connect(action.trigger)
        action.changed.connect(self._on_action_changed)
        self._on_action_changed()

    def _on_action_changed(self):
        self.setEnabled(self.action.isEnabled())
        self.setToolTip(f"{self.action.text()} ({self.action.shortcut().toString()})")


class LayerInspector(QGroupBox):
    """The selected layer's settings. Each change is sent as `changed(index, changes)`."""

    changed = Signal(int, dict)
    refused = Signal(str)  # a value that is not one, and why

    def __init__(self, parent=None):
        super().__init__("Layer", parent)
        self.index = None
        self._updating = False
        self.form = QFormLayout(self)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.units = SpinBox()
        self.units.setRange(1, MAX_UNITS)
        self.units.setToolTip("How many units the layer has (+ and − on the canvas too).")
        self.activation = ComboBox()
        self.activation.addItems(ACTIVATION_CHOICES)
        self.activation.setToolTip("The function each unit applies to its weighted sum.")
        self.initializer = ComboBox()
        self.initializer.addItems(initializers.NAMES)
        self.initializer.setToolTip(
            "How the weights start: glorot for tanh/sigmoid, he for ReLU; zeros makes every "
            "unit the same."
        )
        self.init_scale = QLineEdit()
        self.init_scale.setToolTip(
            "How large the starting weights are: the standard deviation of random_normal, "
            "the limit of random_uniform (from −limit to +limit), the scale of glorot, he, "
            "lecun and variance_scaling (he's is 2), the value of constant. Too large: "
            "exploding gradients and saturated units; too small: vanishing ones."
        )
        self.use_bias = QCheckBox("Use a bias")
        self.use_bias.setToolTip("Add a learned constant to each unit's sum.")
        self.regularizer = ComboBox()
        for key, label in REGULARIZERS.items():
            self.regularizer.addItem(label, key)
        self.regularizer.setToolTip("A penalty on large weights, added to the loss.")
        self.strength = QLineEdit()
        self.strength.setToolTip("How strong the penalty is (for example 0.001).")
        self.rate = DoubleSpinBox()
        self.rate.setRange(0.0, 1.0)
        self.rate.setSingleStep(0.05)
        self.rate.setToolTip("The share of inputs dropped at each training step (0 to 1).")
        self.momentum = DoubleSpinBox()
        self.momentum.setRange(0.0, 1.0)
        self.momentum.setDecimals(3)
        self.momentum.setSingleStep(0.01)
        self.momentum.setToolTip("How slowly the running mean and variance follow the batches.")
        self.epsilon = QLineEdit()
        self.epsilon.setToolTip("Added to the variance so that it is never divided by zero.")
        self.form.addRow(self.note)
        for label, widget in (
            ("Units", self.units),
            ("Activation", self.activation),
            ("Initializer", self.initializer),
            ("Init scale", self.init_scale),
            ("", self.use_bias),
            ("Regularizer", self.regularizer),
            ("Strength", self.strength),
            ("Dropout rate", self.rate),
            ("Momentum", self.momentum),
            ("Epsilon", self.epsilon),
        ):
            self.form.addRow(label, widget)
        self.units.editingFinished.connect(lambda: self._emit(units=self.units.value()))
        self.activation.activated.connect(
            lambda: self._emit(activation=self.activation.currentText())
        )
        self.initializer.activated.connect(
            lambda: self._emit(kernel_initializer=self.initializer.currentText())
        )
        self.init_scale.editingFinished.connect(self._emit_scale)
        self.use_bias.toggled.connect(lambda on: self._emit(use_bias=on))
        self.regularizer.activated.connect(self._emit_regularizer)
        self.strength.editingFinished.connect(self._emit_regularizer)
        self.rate.editingFinished.connect(lambda: self._emit(rate=round(self.rate.value(), 4)))
        self.momentum.editingFinished.connect(
            lambda: self._emit(momentum=round(self.momentum.value(), 6))
        )
        self.epsilon.editingFinished.connect(self._emit_epsilon)
        self.show_layer(None, None, False)

    def _emit(self, **changes):
        if not self._updating and self.index is not None:
            self.changed.emit(self.index, changes)

    def _emit_regularizer(self):
        key = self.regularizer.currentData()
        if not key:
            self._emit(kernel_regularizer=None)
            return
        try:
            value = float(self.strength.text().replace(",", "."))
        except ValueError:
            value = 0.01
        args = {"l1": {"l1": value}, "l2": {"l2": value}, "l1_l2": {"l1": value, "l2": value}}
        self._emit(kernel_regularizer={"name": key, **args[key]})

    def _emit_scale(self):
        spec = (self._config or {}).get("kernel_initializer", "glorot_uniform")
        shown = editing.initializer_scale(spec)
        text = self.init_scale.text().strip().replace(",", ".")
        if shown is None or text == f"{shown[1]:g}":
            return
        try:
            value = float(text)
        except ValueError:
            self.refused.emit(f"Init scale: {text!r} is not a number")
            return
        self._emit(kernel_initializer=editing.with_scale(spec, value))

    def _emit_epsilon(self):
        try:
            self._emit(epsilon=float(self.epsilon.text().replace(",", ".")))
        except ValueError:
            self._emit(epsilon=self.epsilon.text())  # refused with a message by the builder

    def show_layer(self, index, config, is_output, output_note="", label=""):
        """Show layer `index` (None: nothing selected)."""
        self._updating = True
        self.index = index
        self._config = config
        kind = config.get("class") if config else None
        self.setTitle(f"Layer: {label or config.get('name', '')}" if config else "Layer")
        rows = {
            "Dense": {self.units, self.activation, self.initializer, self.init_scale}
            | {self.use_bias}
            | {self.regularizer, self.strength},
            "Activation": {self.activation},
            "Dropout": {self.rate},
            "BatchNormalization": {self.momentum, self.epsilon},
        }.get(kind, set())
        for widget in (
            self.units,
            self.activation,
            self.initializer,
            self.init_scale,
            self.use_bias,
            self.regularizer,
            self.strength,
            self.rate,
            self.momentum,
            self.epsilon,
        ):
            self.form.setRowVisible(widget, widget in rows)
        if config is None:
            self.note.setText("Click a layer on the canvas to see and change its settings.")
        elif is_output:
            self.note.setText(f"The output layer. {output_note}")
        else:
            self.note.setText(editing_hint(kind))
        if kind == "Dense":
            self.units.setValue(int(config.get("units", 1)))
            self.units.setEnabled(not is_output)
            act = _name(config.get("activation", "linear"))
            self.activation.clear()
            self.activation.addItems(ACTIVATION_CHOICES if not is_output else (act,))
            self.activation.setCurrentText(act)
            self.activation.setEnabled(not is_output)
            spec = config.get("kernel_initializer", "glorot_uniform")
            self.initializer.setCurrentText(_name(spec))
            shown = editing.initializer_scale(spec)
            self.init_scale.setText(f"{shown[1]:g}" if shown else "")
            self.init_scale.setEnabled(shown is not None)
            self.init_scale.setPlaceholderText("" if shown else "none")
            self.use_bias.setChecked(bool(config.get("use_bias", True)))
            reg = config.get("kernel_regularizer")
            self.regularizer.setCurrentIndex(
                max(self.regularizer.findData(_name(reg) if reg else ""), 0)
            )
            strength = 0.0
            if isinstance(reg, dict):
                strength = reg.get("l2", reg.get("l1", 0.0))
            self.strength.setText(f"{strength:g}" if reg else "")
        elif kind == "Activation":
            self.activation.clear()
            self.activation.addItems(ACTIVATION_CHOICES)
            self.activation.setEnabled(True)
            self.activation.setCurrentText(_name(config.get("activation", "relu")))
        elif kind == "Dropout":
            self.rate.setValue(float(config.get("rate", 0.0)))
        elif kind == "BatchNormalization":
            self.momentum.setValue(float(config.get("momentum", 0.99)))
            self.epsilon.setText(f"{config.get('epsilon', 0.001):g}")
        self._updating = False


def _name(spec) -> str:
    return spec["name"] if isinstance(spec, dict) else str(spec)


def editing_hint(kind) -> str:
    return {
        "Dense": "Every unit weighs all inputs, adds a bias and applies the activation.",
        "Activation": "Applies its function to each input, with no weights of its own.",
        "Dropout": "In training, drops each input with this probability; at test time, none.",
        "BatchNormalization": "Normalizes each unit over the batch; learns a scale and shift.",
    }.get(kind, "")


class BuilderPanel(Panel):
    """The network: palette, canvas, inspector and analysis."""

    every = 3

    edit_requested = Signal(object, str)  # new layer list, description
    features_requested = Signal(object, str)  # new input features, description
    weight_requested = Signal(str, int, int, float)
    bias_requested = Signal(str, int, float)  # layer, unit, bias
    rejected = Signal(str)  # an edit that cannot be made, and why

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.layers: list[dict] = []
        self.features: tuple = ()
        self.output_note = ""
        self.locked = False
        self.palette_buttons = [PaletteButton(kind) for kind in editing.KINDS]
        for button in self.palette_buttons:
            button.clicked.connect(lambda _=False, b=button: self.add_after_selection(b.kind))
        self.undo_button = FixedTextButton()
        self.redo_button = FixedTextButton()
        self.fit_button = QToolButton()
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip("Show the whole network (Ctrl+wheel zooms, drag pans)")
        self.canvas = NetworkCanvas()
        self.fit_button.clicked.connect(self.canvas.fit)
        self.inspector = LayerInspector()
        self.analysis = QLabel()
        self.analysis.setWordWrap(True)
        self.analysis.setTextFormat(Qt.TextFormat.RichText)
        self.analysis.setAlignment(Qt.AlignmentFlag.AlignTop)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for button in self.palette_buttons:
            bar.addWidget(button)
        bar.addStretch(1)
        for button in (self.undo_button, self.redo_button, self.fit_button):
            bar.addWidget(button)
        # The selected layer's settings over the analysis: the window docks them beside the
        # lesson and settings, so that the canvas keeps its height on a projector.
        self.details = QWidget()
        self.details.setObjectName("layer-details")
        details = QVBoxLayout(self.details)
        details.setContentsMargins(0, 0, 0, 0)
        details.addWidget(self.inspector)
        details.addWidget(self.analysis)
        details.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        self.canvas.edit_requested.connect(self._on_canvas_edit)
        self.canvas.layer_selected.connect(self._on_selected)
        self.canvas.feature_toggled.connect(self._on_feature_toggled)
        self.canvas.weight_clicked.connect(self.weight_requested)
        self.canvas.bias_clicked.connect(self.bias_requested)
        self.inspector.changed.connect(self._on_inspector_changed)
        self.inspector.refused.connect(self.rejected)

    def set_undo_actions(self, undo, redo):
        self.undo_button.follow(undo, "Undo")
        self.redo_button.follow(redo, "Redo")

    # ---------------------------------------------------------------- showing

    def show_network(self, layers, net, dataset, output_note):
        """Show the open project's network: `layers` (its configs), `net` (built from them),
        `dataset` (for the input features)."""
        self.layers = editing.name_layers(layers)
        self.features = tuple(dataset.feature_names)
        self.output_note = output_note
        rows, warnings = analyze(net)
        labels = layer_labels(self.layers)
        columns = [self._input_column(dataset)]
        output = len(self.layers) - 1 - [c.get("class") for c in self.layers][::-1].index("Dense")
        for i, (config, row) in enumerate(zip(self.layers, rows)):
            kind = config["class"]
            columns.append(
                Column(
                    index=i,
                    kind=kind,
                    title=row["name"],
                    label=labels[i],
                    units=row["output_shape"][1],
                    lines=_column_lines(config, row),
                    extra=(f"{row['parameters']:,} params",) if kind == "Dense" else (),
                    removable=i != output,
                    resizable=kind == "Dense" and i != output,
                )
            )
        if self.canvas.selected is not None and self.canvas.selected >= len(self.layers):
            self.canvas.selected = None
        self.canvas.set_network(columns)
        total = sum(row["parameters"] for row in rows)
        text = f"<b>{total:,} parameters</b> in {len(rows)} layers. {html.escape(output_note)}"
        if warnings:
            # The same warning for several layers is said once, naming them all.
            grouped: dict[str, list] = {}
            for w in warnings:
                grouped.setdefault(w.message, []).append(w.layer)
            items = "".join(
                f"<li>{_who(names)}{html.escape(message)}</li>"
                for message, names in grouped.items()
            )
            text += f"<br><b>Before you train:</b><ul style='margin-left: -20px'>{items}</ul>"
        else:
            text += "<br>No warnings: nothing in this network is likely to stop it learning."
        self.analysis.setText(text)
        self._on_selected(self.canvas.selected)

    def on_screen(self, text: str) -> str:
        """`text` with the layers' Keras names ("dense_1/kernel") as the screen names them
        ("Hidden 2 weights")."""
        names = (c.get("name") for c in self.layers)
        return renamed(text, dict(zip(names, layer_labels(self.layers))))

    def _input_column(self, dataset):
        names = tuple(dataset.feature_names)
        if dataset.recipe.is_2d:
            all_names = tuple(FEATURES)
            return Column(
                index=-1,
                kind="input",
                title="input",
                label="Input",
                units=len(all_names),
                lines=(f"{len(names)} of {len(all_names)}", "features"),
                labels=all_names,
                captions=tuple(feature_label(f) for f in all_names),
                toggles=True,
                disabled=tuple(f not in names for f in all_names),
            )
        shown = names if len(names) <= 16 else ()
        return Column(
            -1,
            "input",
            "input",
            len(names),
            (f"{len(names)} features",),
            label="Input",
            labels=shown,
            captions=tuple(feature_label(f) for f in shown),
        )

    def _on_snapshot_ready(self, snapshot):
        self.canvas.show_snapshot(snapshot)

    def set_locked(self, locked):
        """Classroom mode: the network can be looked at but not edited."""
        self.locked = locked
        self.canvas.locked = locked
        for button in self.palette_buttons:
            button.setEnabled(not locked)
        self.inspector.setEnabled(not locked)

    # ---------------------------------------------------------------- edits

    def _is_output(self, index) -> bool:
        dense = [i for i, c in enumerate(self.layers) if c.get("class") == "Dense"]
        return bool(dense) and index == dense[-1]

    def _on_selected(self, index):
        config = self.layers[index] if index is not None and index < len(self.layers) else None
        label = layer_labels(self.layers)[index] if config is not None else ""
        self.inspector.show_layer(index, config, self._is_output(index), self.output_note, label)

    def request(self, make, description):
        """Make the edited layer list and send it; a refused edit says why."""
        if self.locked:
            self.rejected.emit("The network is locked (classroom mode)")
            return
        try:
            layers = make(self.layers)
        except editing.EditError as exc:
            self.rejected.emit(str(exc))
            return
        self.edit_requested.emit(layers, description)

    def _on_canvas_edit(self, action, index, arg):
        name = layer_labels(self.layers)[index] if 0 <= index < len(self.layers) else ""
        if action == "units":
            self.request(lambda ls: editing.set_units(ls, index, arg), f"{name}: {arg} units")
        elif action == "remove":
            self.request(lambda ls: editing.remove_layer(ls, index), f"Delete {name}")
        elif action == "move":
            self.request(lambda ls: editing.move_layer(ls, index, arg), f"Move {name}")
        elif action == "insert":
            self.request(
                lambda ls: editing.insert_layer(ls, index, arg), f"Insert {KIND_LABELS[arg]}"
            )

    def add_after_selection(self, kind):
        selected = self.canvas.selected
        index = len(self.layers) if selected is None else selected + 1
        self._on_canvas_edit("insert", index, kind)

    def delete_selected(self):
        if self.canvas.selected is not None:
            self._on_canvas_edit("remove", self.canvas.selected, None)

    def resize_selected(self, delta):
        index = self.canvas.selected
        if index is not None and self.layers[index].get("class") == "Dense":
            units = max(1, int(self.layers[index]["units"]) + delta)
            self._on_canvas_edit("units", index, units)

    def _on_inspector_changed(self, index, changes):
        name = layer_labels(self.layers)[index]
        if changes == {key: self.layers[index].get(key) for key in changes}:
            return  # nothing changed
        what = ", ".join(changes)
        self.request(lambda ls: editing.update_layer(ls, index, **changes), f"{name}: {what}")

    def _on_feature_toggled(self, feature):
        if self.locked:
            self.rejected.emit("The network is locked (classroom mode)")
            return
        on = feature in self.features
        features = tuple(f for f in FEATURES if (f in self.features) != (f == feature))
        if not features:
            self.rejected.emit("The network needs at least one input feature")
            return
        self.features_requested.emit(features, f"{'Drop' if on else 'Use'} input {feature}")


def _who(names) -> str:
    names = [n for n in names if n]
    return f"<b>{html.escape(', '.join(names))}</b>: " if names else ""


def _column_lines(config, row) -> tuple[str, ...]:
    """The text under a column, in short lines (it must read at 9 pt when zoomed out)."""
    kind = config["class"]
    params = f"{row['parameters']:,} params"
    if kind == "Dense":
        units = row["output_shape"][1]
        activation = _name(config.get("activation", "linear"))
        return (f"{units} unit{'s' * (units != 1)}", activation)  # params: an extra line
    # A bar's one line is written inside it, along it.
    if kind == "Activation":
        return (f"{_name(config.get('activation'))} · {params}",)
    if kind == "Dropout":
        return (f"Dropout {float(config.get('rate', 0)):g}",)
    return (f"Batch norm · {params}",)
