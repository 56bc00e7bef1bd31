"""Gradient magnitude per layer: a curve per layer over time (log axis) and a bar per layer
for the latest step, input on the left, so vanishing (bars shrinking towards the input) and
exploding (growing) gradients show at a glance."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QVBoxLayout

from bpstudio.analysis.diagnostics import MIN_STEPS
from bpstudio.core import meter
from bpstudio.core.meter import GRAD_NORM
from bpstudio.qt import theme
from bpstudio.qt.curves import HistoryCurve
from bpstudio.qt.panels.base import Panel
from bpstudio.training.history import log_moving_average
from bpstudio.viewmodel.names import short_label

FLOOR = -12  # bars start at 1e-12
SMOOTHING = 25  # steps in the moving average of the curves


class PowerOfTenAxis(pg.AxisItem):
    """Labels an axis of log10 values as powers of ten, at whole decades only."""

    def tickValues(self, minVal, maxVal, size):
        lo, hi = int(np.ceil(minVal)), int(np.floor(maxVal))
        step = max(1, (hi - lo) // 6 + 1)
        return [(step, list(range(lo, hi + 1, step)))]

    def tickStrings(self, values, scale, spacing):
        return [_power(v) for v in values]


def _power(v) -> str:
    v = round(float(v))
    return {0: "1", 1: "10", -1: "0.1", -2: "0.01"}.get(v, f"1e{v}")


class LayerAxis(pg.AxisItem):
    def __init__(self):
        super().__init__("bottom")
        self.names: tuple = ()

    def tickStrings(self, values, scale, spacing):
        # Layer names where there is room for them, else short ("H3"), else their place from
        # the input (1, 2…).
        room = self.width() / max(len(self.names), 1) - 6
        metrics = QFontMetricsF(self.style["tickFont"] or QFont())
        for names in (self.names, tuple(map(short_label, self.names))):
            if all(metrics.horizontalAdvance(n) <= room for n in names):
                break
        else:
            names = tuple(str(i + 1) for i in range(len(self.names)))
        return [
            names[int(v)] if abs(v - round(v)) < 1e-6 and 0 <= int(v) < len(names) else ""
            for v in values
        ]


class GradientsPanel(Panel):
    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.graphics = theme.plot_area()
        self.curves_plot = theme.style_plot(
            self.graphics.addPlot(row=0, col=0, axisItems={"left": PowerOfTenAxis("left")}),
            f"Gradient norm per layer (mean of {SMOOTHING} steps)",
            x="step",
            y="‖∂L/∂W‖",
        )
        self.layer_axis = LayerAxis()
        self.bars_plot = self.graphics.addPlot(
            row=0, col=1, axisItems={"bottom": self.layer_axis, "left": PowerOfTenAxis("left")}
        )
        theme.style_plot(self.bars_plot, "Now: input → output", y="‖∂L/∂W‖")
        self.bars_plot.setMouseEnabled(x=False, y=True)
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, y0=FLOOR)
        self.bars_plot.addItem(self.bars)
        self.curves: list[HistoryCurve] = []
        self.x_range = theme.StickyRange(self.curves_plot, "x", from_zero=True)
        self._y_range = None
        self.ratio = theme.StatusLabel(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.ratio)
        self.stack = theme.PlotStack(self.graphics)
        layout.addWidget(self.stack, 1)

    def plot_items(self):
        return [self.curves_plot, self.bars_plot]

    def _layers_changed(self, names, labels):
        for curve in self.curves:
            self.curves_plot.removeItem(curve)
        colors = theme.layer_colors(len(names))
        self.curves = []
        for name, color in zip(names, colors):
            curve = HistoryCurve(pg.mkPen(color, width=2), name)
            self.curves_plot.addItem(curve)
            self.curves.append(curve)
        self.bars.setOpts(brushes=[pg.mkBrush(c) for c in colors])
        self._names = names
        self.layer_axis.names = labels
        self.bars_plot.setXRange(-0.6, len(names) - 0.4, padding=0)

    def _on_snapshot_ready(self, s):
        if len(s.step_steps):
            self.stack.show_plots()
        else:
            self.stack.show_message(
                "No step yet: the size of every layer's gradient appears here from the first "
                "step, the input's side on the left."
            )
        names = s.kernel_layers
        if names != getattr(self, "_names", None):
            self._layers_changed(names, tuple(s.label(n) for n in names))
        steps = s.step_steps
        floor = 10.0**FLOOR  # a gradient of exactly 0 is drawn on the floor of the axis
        columns = [s.step_columns.index(meter.column(GRAD_NORM, name)) for name in names]
        raw = s.step_values[:, columns] if len(steps) else np.empty((0, len(names)))
        curves = log_moving_average(np.maximum(raw, floor), SMOOTHING)
        drawn = []
        for curve, y in zip(self.curves, curves.T):
            keep = np.isfinite(y)
            curve.setData(steps[keep], y[keep])
            drawn.append(y[keep])
        norms = s.grad_norms
        finite = np.isfinite(norms)
        heights = np.log10(np.maximum(np.where(finite, norms, floor), floor))
        # No step yet (or no finite gradient): no bar, rather than one on the floor that
        # would read as a vanishing gradient.
        self.bars.setOpts(
            x=np.arange(len(names)), height=np.where(finite, heights - FLOOR, 0.0), y0=FLOOR
        )
        self.bars.setVisible(bool(finite.any()))  # bars of height 0 still draw their outline
        values = np.concatenate([heights[finite], *drawn])
        if values.size:
            # Whole decades, at least two, so the powers of ten label the axis.
            top = np.ceil(float(values.max()) + 0.1)
            low = max(min(np.floor(float(values.min()) - 0.1), top - 2), FLOOR)
            if (low, top) != self._y_range:  # whole decades: this changes rarely
                self._y_range = (low, top)
                self.bars_plot.setYRange(low - 0.1, top + 0.1, padding=0)
                self.curves_plot.setYRange(low - 0.1, top + 0.1, padding=0)
        self.x_range.update(steps if len(steps) else [0, 1], tight=s.final)
        self.ratio.setText(_flow_text(s.flow))


def _flow_text(flow) -> str:
    """The panel's sentence, from the verdict the diagnosis banner uses too."""
    if flow is None or flow.verdict == "unknown":
        return "The bars show the size of each layer's gradient on the latest step."
    if flow.verdict == "early":
        return (
            f"The bars show each layer's gradient on the latest step; a verdict after "
            f"{MIN_STEPS} steps ({flow.steps} so far)."
        )
    if flow.verdict == "exploding" and flow.ratio is None:
        if flow.grew is not None:
            layer, before, now = flow.grew
            seen = f"The gradient of {layer} grew {now / before:,.0f} times"
        else:
            seen = f"Gradients as large as <b>{flow.largest:.1e}</b>"
        return (
            f"{seen}: <b>exploding gradients</b>. "
            "Lower the learning rate, clip the gradients or add batch normalization."
        )
    if flow.verdict == "zero":
        return (
            "No layer gets any gradient: the network has stopped learning (are all its "
            "ReLU units dead?)."
        )
    text = (
        f"First layer / last layer gradient over the last {flow.steps} steps: "
        f"<b>{flow.ratio:.2g}</b>. "
    )
    return (
        text
        + {
            "vanishing": "The first layer barely learns: <b>vanishing gradients</b>.",
            "exploding": "The first layer's gradient is far larger: <b>exploding gradients</b>.",
            "healthy": "Every layer gets a useful share of the gradient.",
        }[flow.verdict]
    )
