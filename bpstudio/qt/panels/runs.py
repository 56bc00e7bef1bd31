"""Runs side by side: the project's earlier runs and the live one overlaid on one plot, for
the measure the user picks (loss, gradient norms, dead units). Runs of different networks are
compared by position (first layer, last layer), since their layer names may differ."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QVBoxLayout

from bpstudio.core import meter
from bpstudio.core.meter import DEAD_FRACTION, GRAD_NORM
from bpstudio.qt import theme
from bpstudio.qt.curves import HistoryCurve
from bpstudio.qt.inputs import ComboBox
from bpstudio.qt.panels.base import Panel
from bpstudio.training.history import geometric_moving_average

#: measure -> (label, per epoch?, log axis?)
MEASURES = {
    "test_loss": ("Test loss (per epoch)", True, False),
    "train_loss": ("Training loss (per epoch)", True, False),
    "test_accuracy": ("Test accuracy (per epoch)", True, False),
    "grad_first": ("Gradient norm of the first layer", False, True),
    "grad_last": ("Gradient norm of the last layer", False, True),
    "grad_ratio": ("First-to-last layer gradient ratio", False, True),
    "dead": ("Dead ReLU units (share of all)", False, False),
}
PALETTE = theme.RUN_COLORS
LIVE = "This run (live)"


def measure(columns, steps, values, epoch_steps, epoch_values, epoch_columns, key):
    """(x, y) of `key` for one run's recorded arrays; empty where the run lacks it."""
    empty = np.empty(0), np.empty(0)
    per_epoch = MEASURES[key][1]
    if per_epoch:
        if not len(epoch_steps) or key not in epoch_columns:
            return empty
        return epoch_steps, epoch_values[:, list(epoch_columns).index(key)]
    if not len(steps):
        return empty
    groups = meter.group(columns)
    grads = [i for i, _ in groups.get(GRAD_NORM, [])]
    dead = [i for i, _ in groups.get(DEAD_FRACTION, [])]
    window = max(1, len(steps) // 100)
    with np.errstate(divide="ignore", invalid="ignore"):
        if key == "grad_first" and grads:
            y = geometric_moving_average(values[:, grads[0]], window)
        elif key == "grad_last" and grads:
            y = geometric_moving_average(values[:, grads[-1]], window)
        elif key == "grad_ratio" and len(grads) >= 2:
            y = geometric_moving_average(values[:, grads[0]] / values[:, grads[-1]], window)
        elif key == "dead" and dead:
            y = values[:, dead].mean(axis=1)
        else:
            return empty
    return steps, y


class RunsPanel(Panel):
    every = 4

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.choice = ComboBox()
        for key, (label, _, _) in MEASURES.items():
            self.choice.addItem(label, key)
        self.choice.setToolTip("What to compare between the runs")
        self.choice.currentIndexChanged.connect(self._redraw)
        self.list = QListWidget()
        self.list.setMaximumWidth(200)
        self.list.setWordWrap(True)  # a run's name is read whole, never cut
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.list.setToolTip("Tick the runs to overlay. Every run of the project is kept.")
        self.list.itemChanged.connect(self._redraw)
        self.graphics = theme.plot_area()
        self.plot = theme.style_plot(self.graphics.addPlot(), "Runs", x="step")
        self.curves: list[HistoryCurve] = []
        self.runs: list = []  # RunRecord of earlier runs on the same data
        self.apart: list = []  # ... and on other data: listed, never overlaid
        top = QHBoxLayout()
        top.addWidget(self.choice, 1)
        body = QHBoxLayout()
        body.addWidget(self.list)
        self.stack = theme.PlotStack(self.graphics)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        self.set_runs([])

    def plot_items(self):
        return [self.plot]

    def set_runs(self, runs, data: dict | None = None):
        """The project's earlier runs (RunRecord), shown besides the live one. Runs trained on
        other data than `data` (the live run's) are listed apart and not overlaid: their
        curves measure something else."""
        runs = list(runs)
        self.runs = [r for r in runs if data is None or r.data in (None, data)]
        self.apart = [r for r in runs if r not in self.runs]
        self.list.blockSignals(True)
        self.list.clear()
        for i, name in enumerate([LIVE, *(_name(r) for r in self.runs)]):
            # The list is the plot's key: each run beside its curve's colour.
            item = QListWidgetItem(theme.swatch(PALETTE[i % len(PALETTE)]), name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.list.addItem(item)
        for r in self.apart:
            item = QListWidgetItem(f"{_name(r)} (other data)")
            item.setFlags(Qt.ItemFlag.NoItemFlags)  # shown, greyed, never drawn
            item.setToolTip(
                f"Trained on {r.data.get('name', 'other')} data: not comparable with this run"
            )
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._redraw()

    def show_measure(self, key):
        """Compare the runs on `key` (one of MEASURES)."""
        index = self.choice.findData(key)
        if index >= 0:
            self.choice.setCurrentIndex(index)

    def checked(self) -> list[str]:
        return [
            self.list.item(i).text()
            for i in range(self.list.count())
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _series(self):
        """(name, arrays) for every run, the live one first."""
        s = self.snapshot
        if s is not None:
            yield (
                LIVE,
                (
                    s.step_columns,
                    s.step_steps,
                    s.step_values,
                    s.epoch_steps,
                    s.epoch_values,
                    s.epoch_columns,
                ),
            )
        for r in self.runs:
            h = r.history
            yield (
                _name(r),
                (
                    h.steps.columns,
                    h.steps.steps,
                    h.steps.values,
                    h.epochs.steps,
                    h.epochs.values,
                    h.epochs.columns,
                ),
            )

    def _on_snapshot_ready(self, snapshot):
        self._redraw()

    def _redraw(self, *_):
        key = self.choice.currentData()
        label, _, log = MEASURES[key]
        theme.keyed_title(self.plot, label)
        self.plot.setLogMode(y=log)
        checked = set(self.checked())
        drawn = 0
        for i, (name, arrays) in enumerate(self._series()):
            if name not in checked:
                continue
            x, y = measure(*arrays, key)
            if log:
                keep = np.isfinite(y) & (y > 0)
                x, y = x[keep], y[keep]
            if drawn == len(self.curves):
                self.curves.append(HistoryCurve(pg.mkPen(theme.TEXT)))
                self.plot.addItem(self.curves[-1])
            curve = self.curves[drawn]
            width = 2.5 if name == LIVE else 1.8
            curve.setPen(pg.mkPen(PALETTE[i % len(PALETTE)], width=width))
            curve.setData(x, y)
            curve.show()
            drawn += 1
        for curve in self.curves[drawn:]:
            curve.setData([], [])
            curve.hide()
        if any(len(c.getData()[0] if c.getData()[0] is not None else ()) for c in self.curves):
            self.stack.show_plots()
        else:
            self.stack.show_message(
                "Nothing to compare yet. Train, then press Reset or run one of the lesson's "
                "fixes: every run is kept here, to overlay with the others."
            )


def _name(run) -> str:
    return run.name or f"Run {run.id + 1}"
