"""The backprop inspector: pick one training example and step through one backpropagation
pass on the canvas, forward values first, then the error signal dL/dz layer by layer from the
output back, then the update; the chain rule for a chosen weight is written out with its
numbers. "Check gradients" runs the finite-difference check on the network as it is now."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from bpstudio.analysis.trace import chain_rule, trace
from bpstudio.core.gradcheck import gradcheck
from bpstudio.qt.inputs import ComboBox, SpinBox
from bpstudio.viewmodel.names import renamed

GRADCHECK_SAMPLES = 16
GRADCHECK_TOLERANCE = 1e-6


class BackpropInspectorDialog(QDialog):
    """training: the TrainingController whose network it follows (paused while it reads);
    canvas: the network canvas it writes its numbers on."""

    def __init__(self, training, canvas, parent=None):
        super().__init__(parent)
        self.training = training
        self.canvas = canvas
        self.setWindowTitle("Backprop inspector")
        self.setModal(False)
        self.trace = None
        self.stage = 0
        trainer = training.trainer
        self.example = SpinBox()
        self.example.setRange(1, len(trainer.X))
        self.example.setToolTip("Which training example to follow through one pass")
        self.example.valueChanged.connect(self.recompute)
        self.example_text = QLabel()
        self.example_text.setWordWrap(True)
        self.back = QPushButton("◀ Back")
        self.next = QPushButton("Next ▶")
        self.back.setToolTip("The previous stage of the pass")
        self.next.setToolTip("The next stage: forward, then each layer backwards, then update")
        self.back.clicked.connect(lambda: self.show_stage(self.stage - 1))
        self.next.clicked.connect(lambda: self.show_stage(self.stage + 1))
        self.stage_text = QLabel()
        self.stage_text.setWordWrap(True)
        self.stage_text.setStyleSheet("font-weight: bold;")
        self.layer = ComboBox()
        self.layer.setToolTip("The layer whose weight the chain rule is written for")
        self.row = SpinBox()
        self.row.setToolTip("The unit below the weight (where it comes from)")
        self.column = SpinBox()
        self.column.setToolTip("The unit the weight goes into")
        for widget in (self.layer, self.row, self.column):
            signal = widget.currentIndexChanged if widget is self.layer else widget.valueChanged
            signal.connect(self.show_chain_rule)
        self.chain = QLabel()
        self.chain.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.chain.setFont(mono)
        self.chain.setWordWrap(True)
        self.check_button = QPushButton("Check gradients")
        self.check_button.setToolTip(
            "Compare backpropagation's gradients with finite differences of the loss, for "
            f"{GRADCHECK_SAMPLES} training examples"
        )
        self.check_button.clicked.connect(self.check_gradients)
        self.check_table = QTableWidget(0, 3)
        self.check_table.setHorizontalHeaderLabels(["Layer", "Training mode", "Inference mode"])
        self.check_table.verticalHeader().hide()
        self.check_verdict = QLabel()
        self.check_verdict.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(QLabel("Training example"))
        top.addWidget(self.example)
        top.addStretch(1)
        top.addWidget(self.back)
        top.addWidget(self.next)
        weight = QHBoxLayout()
        weight.addWidget(QLabel("Chain rule for the weight in"))
        weight.addWidget(self.layer)
        weight.addWidget(QLabel("from unit"))
        weight.addWidget(self.row)
        weight.addWidget(QLabel("to unit"))
        weight.addWidget(self.column)
        weight.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.example_text)
        layout.addWidget(self.stage_text)
        layout.addLayout(weight)
        layout.addWidget(self.chain)
        layout.addWidget(self.check_button)
        layout.addWidget(self.check_table)
        layout.addWidget(self.check_verdict)
        self.resize(640, 560)
        self.recompute()

    def stages(self) -> list:
        """("forward", None), then ("backward", layer trace) from the output down, then
        ("update", None)."""
        backward = [lt for lt in reversed(self.trace.layers) if lt.dL_dz is not None]
        return [("forward", None), *(("backward", lt) for lt in backward), ("update", None)]

    def recompute(self):
        """Follow the chosen example through the network as it is now."""
        index = self.example.value() - 1
        try:
            with self.training.paused() as trainer:
                x, y = trainer.X[index], trainer.Y[index]
                self.trace = trace(trainer.net, x, y)
                self.learning_rate = trainer.net.optimizer.learning_rate
        except TimeoutError as exc:
            self.stage_text.setText(str(exc))
            return
        t = self.trace
        shown = ", ".join(f"{v:.3g}" for v in t.x[:8]) + (" …" if len(t.x) > 8 else "")
        self.example_text.setText(
            f"Input ({shown}), target {', '.join(f'{v:g}' for v in t.y)}; "
            f"the network outputs {', '.join(f'{v:.3g}' for v in t.output)}; "
            f"loss {t.loss:.4g}."
        )
        dense = [lt for lt in t.layers if lt.kind == "Dense"]
        current = self.layer.currentData()
        self.layer.blockSignals(True)
        self.layer.clear()
        for lt in dense:
            self.layer.addItem(self.on_screen(lt.name), lt.name)
        if current in [lt.name for lt in dense]:
            self.layer.setCurrentIndex(self.layer.findData(current))
        self.layer.blockSignals(False)
        self.show_stage(min(self.stage, len(self.stages()) - 1))
        self.show_chain_rule()

    def show_stage(self, stage):
        stages = self.stages()
        self.stage = max(0, min(stage, len(stages) - 1))
        self.back.setEnabled(self.stage > 0)
        self.next.setEnabled(self.stage < len(stages) - 1)
        kind, current = stages[self.stage]
        t = self.trace
        values = {}
        if kind == "forward":
            values = {"input": t.x}
            values.update({lt.name: lt.a for lt in t.layers if lt.kind == "Dense"})
            text = (
                "Forward pass: each unit's output a = activation(Σ input × weight + bias), "
                "from the input to the output."
            )
        elif kind == "backward":
            done = [lt for _, lt in stages[1 : self.stage + 1]]
            values = {lt.name: lt.dL_dz for lt in done if lt.kind == "Dense"}
            text = (
                f"Backward through {self.on_screen(current.name)} "
                f"({self.stage} of {len(stages) - 2}): "
                f"the error signal ∂L/∂z at each of its units. Each is the error arriving "
                f"from above times the slope of {current.activation or 'the layer'}."
            )
        else:
            values = {lt.name: lt.dL_db for lt in t.layers if lt.dL_db is not None}
            text = (
                f"Update: every weight moves by −η × ∂L/∂w (η = {self.learning_rate:g}); "
                f"shown: ∂L/∂b for each unit's bias."
            )
        self.stage_text.setText(text)
        self.canvas.set_overlay(values, self._highlight())

    def on_screen(self, text: str) -> str:
        """`text` with the layers named as the canvas names them ("Hidden 1")."""
        return renamed(text, {col.title: col.shown for col in self.canvas.columns})

    def _layer_trace(self):
        name = self.layer.currentData()
        return self.trace.layer(name) if name else None

    def _highlight(self):
        lt = self._layer_trace()
        if lt is None:
            return None
        return (lt.name, self.row.value() - 1, self.column.value() - 1)

    def show_chain_rule(self):
        lt = self._layer_trace()
        if lt is None or self.trace is None:
            return
        rows, cols = lt.kernel.shape
        for spin, n in ((self.row, rows), (self.column, cols)):
            spin.blockSignals(True)
            spin.setRange(1, n)
            spin.blockSignals(False)
        lines = chain_rule(
            self.trace, lt.name, self.row.value() - 1, self.column.value() - 1, self.learning_rate
        )
        self.chain.setText(self.on_screen("\n".join(lines)))
        self.canvas.set_overlay(self.canvas.overlay, self._highlight())

    def check_gradients(self):
        with self.training.paused() as trainer:
            n = min(GRADCHECK_SAMPLES, len(trainer.X))
            X, Y = trainer.X[:n], trainer.Y[:n]
            results = [gradcheck(trainer.net, X, Y, training=mode) for mode in (True, False)]
        layers = list(results[0].layer_errors)
        self.check_table.setRowCount(len(layers))
        worst = 0.0
        for row, layer in enumerate(layers):
            errors = [r.layer_errors[layer] for r in results]
            worst = max(worst, *errors)
            self.check_table.setItem(row, 0, QTableWidgetItem(self.on_screen(layer)))
            for col, error in enumerate(errors, start=1):
                self.check_table.setItem(row, col, QTableWidgetItem(f"{error:.2e}"))
        verdict = "agree" if worst <= GRADCHECK_TOLERANCE else "DISAGREE"
        self.check_verdict.setText(
            f"Largest relative error {worst:.2e}: backpropagation and finite differences "
            f"{verdict} (tolerance {GRADCHECK_TOLERANCE:g}, {n} examples, float64)."
        )
        self.worst_error = worst

    def closeEvent(self, event):
        self.canvas.set_overlay(None)
        super().closeEvent(event)
