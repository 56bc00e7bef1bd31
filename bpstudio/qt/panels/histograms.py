"""Histograms of one layer: its activations on a sample of inputs (saturated tanh/sigmoid
units pile up at the ends) and its weights now against at the start of the run."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from bpstudio.core import meter
from bpstudio.core.meter import SATURATION
from bpstudio.qt import theme
from bpstudio.qt.inputs import ComboBox
from bpstudio.qt.panels.base import Panel


class HistogramsPanel(Panel):
    every = 3

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.graphics = theme.plot_area()
        self.act_plot = theme.style_plot(
            self.graphics.addPlot(row=0, col=0), "Activations", x="output value", y="count"
        )
        self.weight_plot = theme.style_plot(
            self.graphics.addPlot(row=0, col=1), "Weights", x="weight", y="count"
        )
        self.act_curve = self.act_plot.plot(
            stepMode="center",
            fillLevel=0,
            brush=theme.rgba(theme.TRAIN, 110),
            pen=pg.mkPen(theme.TRAIN, width=1.5),
        )
        theme.keyed_title(
            self.weight_plot, "Weights", (("at the start", theme.GREY), ("now", theme.TEST))
        )
        self.start_curve = self.weight_plot.plot(
            stepMode="center",
            fillLevel=0,
            brush=theme.rgba(theme.GREY, 90),
            pen=pg.mkPen(theme.GREY, width=1.5),
            name="at the start",
        )
        self.now_curve = self.weight_plot.plot(
            stepMode="center", fillLevel=None, pen=pg.mkPen(theme.TEST, width=2), name="now"
        )
        self.act_x = theme.StickyRange(self.act_plot, "x")
        self.act_y = theme.StickyRange(self.act_plot, "y", from_zero=True)
        self.weight_x = theme.StickyRange(self.weight_plot, "x")
        self.weight_y = theme.StickyRange(self.weight_plot, "y", from_zero=True)
        self.layer_choice = ComboBox()
        self.layer_choice.setToolTip("The layer whose activations and weights are shown.")
        self.layer_choice.currentTextChanged.connect(self._on_layer_chosen)
        self.summary = theme.StatusLabel(1)
        top = QHBoxLayout()
        top.addWidget(QLabel("Layer:"))
        top.addWidget(self.layer_choice)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        self._layers: tuple = ()

    def plot_items(self):
        return [self.act_plot, self.weight_plot]

    def _on_layer_chosen(self, _name):
        for sticky in (self.act_x, self.act_y, self.weight_x, self.weight_y):
            sticky.range = None
        if self.snapshot is not None:
            self._on_snapshot_ready(self.snapshot)

    def _on_snapshot_ready(self, s):
        if s.activation_layers != self._layers:
            self._layers = s.activation_layers
            self.layer_choice.blockSignals(True)
            self.layer_choice.clear()
            for layer in s.activation_layers:
                self.layer_choice.addItem(s.label(layer), layer)
            self.layer_choice.blockSignals(False)
        name = self.layer_choice.currentData()
        if name not in s.activation_layers:
            return
        counts, edges = s.activation_hist[s.activation_layers.index(name)]
        self.act_curve.setData(edges, counts)
        self.act_x.update(edges)
        self.act_y.update(counts)
        text = ""
        column = meter.column(SATURATION, name)
        if column in s.step_columns and len(s.step_steps):
            share = s.step_column(column)[-1]
            text = f"saturated: <b>{share:.0%}</b> of outputs within 1% of their limits"
        if name in s.kernel_layers:
            now, start, wedges = s.weight_hist[s.kernel_layers.index(name)]
            self.now_curve.setData(wedges, now)
            self.start_curve.setData(wedges, start)
            self.weight_x.update(wedges)
            self.weight_y.update(np.concatenate([now, start]))
            self.weight_plot.setVisible(True)
        else:
            self.weight_plot.setVisible(False)
        self.summary.setText(text)
