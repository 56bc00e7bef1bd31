"""Dead units: for every ReLU-family layer, the share of inputs on which each unit is inactive
(output <= 0); a unit inactive on every input is dead and gets no gradient. Below, one layer's
units over time, to watch them die or come back."""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from bpstudio.qt import theme
from bpstudio.qt.inputs import ComboBox
from bpstudio.qt.panels.base import Panel
from bpstudio.qt.panels.gradients import LayerAxis

#: Measurements kept for the units x time picture: about 24 s, as the snapshots measure the
#: units at most 10 times a second (snapshots.SLOW_EVERY).
TIMELINE = 240


class DeadUnitsPanel(Panel):
    every = 3

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        # Drawn like the network: one column per layer, its units from top to bottom.
        self.graphics = theme.plot_area()
        self.layer_axis = LayerAxis()
        self.map_plot = self.graphics.addPlot(row=0, col=0, axisItems={"bottom": self.layer_axis})
        theme.style_plot(self.map_plot, "Inactive share per unit", y="unit")
        self.map_plot.invertY(True)
        self.map = pg.ImageItem()
        self.map.setColorMap(theme.dead_map())
        self.map_plot.addItem(self.map)
        self.dead_marks = pg.ScatterPlotItem(
            symbol="x", size=9, pen=pg.mkPen(theme.WHITE, width=2), brush=None
        )
        self.map_plot.addItem(self.dead_marks)
        bar = pg.ColorBarItem(
            values=(0, 1),
            colorMap=theme.dead_map(),
            width=12,
            interactive=False,
            label="inactive share",
        )
        bar.setImageItem(self.map, insert_in=self.map_plot)
        self.time_plot = theme.style_plot(
            self.graphics.addPlot(row=0, col=1),
            "One layer over time",
            x="measurements (newest right)",
            y="unit",
        )
        self.time_plot.invertY(True)
        self.graphics.ci.layout.setColumnStretchFactor(0, 2)
        self.graphics.ci.layout.setColumnStretchFactor(1, 3)
        self.timeline = pg.ImageItem()
        self.timeline.setColorMap(theme.dead_map())
        self.time_plot.addItem(self.timeline)
        self.layer_choice = ComboBox()
        self.layer_choice.setToolTip("The layer whose units are drawn over time below.")
        self.layer_choice.currentTextChanged.connect(self._on_layer_chosen)
        self.summary = theme.StatusLabel(2)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        self.layer_label = QLabel("Layer over time:")
        top.addWidget(self.layer_label)
        top.addWidget(self.layer_choice)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        self.stack = theme.PlotStack(self.graphics)
        layout.addWidget(self.stack, 1)
        layout.addStretch(0)
        self._history: dict[str, deque] = {}
        self._layers: tuple = ()
        self._recorded = None  # the last measurement put on the timeline
        self._height = None
        self._timeline_units = None
        for plot in (self.map_plot, self.time_plot):
            plot.enableAutoRange(enable=False)

    def plot_items(self):
        return [self.map_plot, self.time_plot]

    def _record(self, s):
        if s.inactive is self._recorded:
            return  # the snapshots between two measurements carry the last one
        self._recorded = s.inactive
        if s.relu_layers != self._layers:
            self._layers = s.relu_layers
            self._history = {name: deque(maxlen=TIMELINE) for name in s.relu_layers}
            self.layer_choice.blockSignals(True)
            self.layer_choice.clear()
            for layer in s.relu_layers:
                self.layer_choice.addItem(s.label(layer), layer)
            self.layer_choice.blockSignals(False)
        for name, inactive in zip(s.relu_layers, s.inactive):
            history = self._history[name]
            if history and len(history[-1]) != len(inactive):
                history.clear()  # the layer was resized: its timeline starts again
            history.append(inactive)

    def _on_layer_chosen(self, _name):
        self._timeline_units = None
        if self.snapshot is not None:
            self._on_snapshot_ready(self.snapshot)

    def _on_snapshot_ready(self, s):
        for widget in (self.layer_label, self.layer_choice):
            widget.setVisible(bool(s.relu_layers))
        if not s.relu_layers:
            # Not this network's problem: a sentence instead of empty axes (the panel is a
            # tab, so it takes no room from the others).
            self.summary.setText("")
            self.stack.show_message(
                "No ReLU-family layer (ReLU, LeakyReLU, ELU) in this network, so no unit can "
                "die: tanh and sigmoid units always pass some gradient, however small."
            )
            return
        self.stack.show_plots()
        height = max(len(a) for a in s.inactive)
        grid = np.full((height, len(s.inactive)), np.nan)  # units x layers
        for col, values in enumerate(s.inactive):
            grid[: len(values), col] = values
        self.map.setImage(grid, levels=(0, 1), autoLevels=False)
        self.map.setRect(-0.5, -0.5, len(s.inactive), height)
        labels = tuple(s.label(n) for n in s.relu_layers)
        if self.layer_axis.names != labels or self._height != height:
            self.layer_axis.names = labels
            self._height = height
            self.map_plot.setXRange(-0.5, len(s.inactive) - 0.5, padding=0.05)
            self.map_plot.setYRange(-0.5, height - 0.5, padding=0.02)
            self.time_plot.setXRange(-0.5, TIMELINE - 0.5, padding=0)
        # Dead is what the trainer measures (inactive on every sample of the last batches),
        # the same count the diagnosis banner gives; the colours show the share of inputs
        # each unit is inactive on.
        cols, rows = [], []
        for col, dead in enumerate(s.dead):
            units = np.flatnonzero(dead)
            cols += [col] * len(units)
            rows += units.tolist()
        if height <= 64:
            self.dead_marks.setData(cols, rows)
        else:
            self.dead_marks.clear()
        parts = [
            f"{s.label(name)}: <b>{int(np.count_nonzero(dead))}/{len(dead)}</b> dead"
            for name, dead in zip(s.relu_layers, s.dead)
        ]
        self.summary.setText(" · ".join(parts) + " (dead: inactive on every recent input)")
        name = self.layer_choice.currentData()
        history = self._history.get(name)
        if history:
            picture = np.array(history).T  # units x time
            self.timeline.setImage(picture, levels=(0, 1), autoLevels=False)
            self.timeline.setRect(-0.5, -0.5, picture.shape[1], picture.shape[0])
            if self._timeline_units != picture.shape[0]:
                self._timeline_units = picture.shape[0]
                self.time_plot.setYRange(-0.5, picture.shape[0] - 0.5, padding=0.02)
