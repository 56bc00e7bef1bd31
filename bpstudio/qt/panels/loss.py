"""Loss and accuracy over training, train against test, with markers where settings changed."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout

from bpstudio.qt import theme
from bpstudio.qt.curves import HistoryCurve
from bpstudio.qt.panels.base import Panel

MAX_MARKERS = 40


class LossPanel(Panel):
    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.graphics = theme.plot_area()
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        self.loss_plot = theme.style_plot(self.graphics.addPlot(row=0, col=0), "Loss", y="loss")
        self.acc_plot = theme.style_plot(
            self.graphics.addPlot(row=0, col=1), "Accuracy", y="accuracy"
        )
        self.acc_plot.setXLink(self.loss_plot)
        self.acc_plot.enableAutoRange(enable=False)
        self.acc_plot.setYRange(0, 1.02, padding=0)
        self.x_range = theme.StickyRange(self.loss_plot, "x", from_zero=True)
        self.y_range = theme.StickyRange(self.loss_plot, "y")
        self._drawn_epochs = None
        self._drawn_events = None
        theme.keyed_title(
            self.loss_plot,
            "Loss by step",
            (("train", theme.TRAIN), ("test", theme.TEST), ("batch", theme.PALE_GREY)),
        )
        self.batch_curve = HistoryCurve(pg.mkPen(theme.PALE_GREY, width=1), "batch loss")
        self.train_curve = HistoryCurve(pg.mkPen(theme.TRAIN, width=2), "train loss")
        self.test_curve = HistoryCurve(pg.mkPen(theme.TEST, width=2), "test loss")
        for curve in (self.batch_curve, self.train_curve, self.test_curve):
            self.loss_plot.addItem(curve)
        theme.keyed_title(
            self.acc_plot, "Accuracy by step", (("train", theme.TRAIN), ("test", theme.TEST))
        )
        self.train_acc = HistoryCurve(pg.mkPen(theme.TRAIN, width=2), "train")
        self.test_acc = HistoryCurve(pg.mkPen(theme.TEST, width=2), "test")
        for curve in (self.train_acc, self.test_acc):
            self.acc_plot.addItem(curve)
        self.markers: list[pg.InfiniteLine] = []
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip(
            "Show the loss on a logarithmic axis, where small late "
            "improvements and sudden jumps are easier to see."
        )
        self.log_scale.toggled.connect(self._on_log_scale_toggled)
        self.summary = theme.StatusLabel(2)
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.log_scale)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        self.stack = theme.PlotStack(self.graphics)
        layout.addWidget(self.stack, 1)

    def plot_items(self):
        return [self.loss_plot, self.acc_plot]

    def _on_log_scale_toggled(self, on):
        self.loss_plot.setLogMode(y=on)
        self.y_range.range = None
        if self.snapshot is not None:
            self._on_snapshot_ready(self.snapshot)

    def _on_snapshot_ready(self, s):
        log = self.log_scale.isChecked()
        steps = s.step_steps
        if len(steps):
            self.stack.show_plots()
        else:
            self.stack.show_message(
                "Nothing trained yet. Press Play (or Step): the loss of every step appears "
                "here, and the train and test loss after every epoch."
            )
        batch = s.step_column("loss") if len(steps) else np.empty(0)
        self.batch_curve.setData(*_positive(steps, batch, log))
        es = s.epoch_steps
        drawn = (len(es), int(es[-1]) if len(es) else -1, log, s.classification)
        if drawn != self._drawn_epochs:  # the epoch curves change only at epoch ends
            self._drawn_epochs = drawn
            self.train_curve.setData(*_positive(es, s.epoch_column("train_loss"), log))
            self.test_curve.setData(*_positive(es, s.epoch_column("test_loss"), log))
            self.acc_plot.setVisible(s.classification)
            if s.classification:
                self.train_acc.setData(es, s.epoch_column("train_accuracy"))
                self.test_acc.setData(es, s.epoch_column("test_accuracy"))
        self.x_range.update(steps if len(steps) else [0, 1], tight=s.final)
        shown = _positive(steps, batch, log)[1]
        self.y_range.update(np.log10(shown) if log else shown)
        if s.events != self._drawn_events:
            self._drawn_events = s.events
            self._place_markers(s.events)
        if len(es):
            train, test = s.epoch_values[-1, 2], s.epoch_values[-1, 4]
            text = f"epoch {s.epoch}: train loss <b>{train:.4g}</b>, test loss <b>{test:.4g}</b>"
            if s.classification:
                text += f", test accuracy <b>{s.epoch_values[-1, 5]:.1%}</b>"
        else:
            text = "The curves appear after the first epoch."
        events = [e for e in s.events if not e[1].startswith("not applied")][-MAX_MARKERS:]
        if events:
            step, what = events[-1]
            text += f"\u2028Marker {len(events)}, step {step:,}: {html.escape(what, quote=False)}"
        self.summary.setText(text)

    def _place_markers(self, events):
        events = [e for e in events if not e[1].startswith("not applied")][-MAX_MARKERS:]
        while len(self.markers) < len(events):
            line = pg.InfiniteLine(
                angle=90,
                pen=pg.mkPen(theme.MID_GREY, width=1, style=Qt.PenStyle.DashLine),
                label="",
                labelOpts={"position": 0.92, "color": theme.MID_GREY, "rotateAxis": (1, 0)},
            )
            self.loss_plot.addItem(line)
            self.markers.append(line)
        for line, (step, text) in zip(self.markers, events):
            line.setPos(step)
            # A number on the line (words there would sit on the curves and be cut at the
            # plot's edge); the words in the summary above and in the tooltip.
            line.label.setFormat(str(self.markers.index(line) + 1))
            line.setToolTip(f"step {step}: {text}")
            line.show()
        for line in self.markers[len(events) :]:
            line.hide()


def _positive(x, y, log):
    """In log mode only positive finite values can be drawn."""
    if not log:
        return x, y
    keep = np.isfinite(y) & (y > 0)
    return x[keep], y[keep]
