"""What the network has learned: for 2-D data its output over the input plane with the data
points on top (Playground's picture); for other classification data a confusion matrix (and,
for the digits, a grid of test images with the network's answers); for other regression data
predicted against actual values."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QHBoxLayout,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from bpstudio.qt import theme
from bpstudio.qt.panels.base import Panel
from bpstudio.viewmodel.snapshots import DOMAIN

GRID_COLUMNS = 8


class OutputPanel(Panel):
    every = 2
    #: The user changed how the plane is shown (show test data, discretize): view() tells.
    view_changed = Signal()

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.stack = QStackedWidget()
        # --- the input plane
        self.plane = pg.PlotWidget()
        self.plane_plot = theme.style_plot(
            self.plane.getPlotItem(), "Network output"
        )  # no axis titles: the plane is x₁ across and x₂ up, as on the canvas
        self.plane_plot.showGrid(x=False, y=False)
        self.plane_plot.setMouseEnabled(x=False, y=False)
        self.plane_plot.hideButtons()
        self.heat = pg.ImageItem()
        self.heat.setColorMap(theme.shading())
        self.heat.setRect(QRectF(-DOMAIN, -DOMAIN, 2 * DOMAIN, 2 * DOMAIN))
        self.plane_plot.addItem(self.heat)
        # More than two classes: each class's region in its colour (an RGB picture).
        self.regions = pg.ImageItem()
        self.regions.setRect(QRectF(-DOMAIN, -DOMAIN, 2 * DOMAIN, 2 * DOMAIN))
        self.regions.hide()
        self.plane_plot.addItem(self.regions)
        self.train_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen(theme.WHITE, width=1))
        self.test_points = pg.ScatterPlotItem(size=8, pen=pg.mkPen(theme.TEXT, width=1.6))
        for points in (self.train_points, self.test_points):
            # Painted into a pixmap kept until the points or the view change: they stay put
            # while training runs, as the picture under them changes (the plane's repaint
            # 2.4-2.6 -> 2.0-2.1 ms median, lesson 2 at 15 a second, measured).
            points.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.plane_plot.addItem(points)
        self.plane_plot.setRange(xRange=(-DOMAIN, DOMAIN), yRange=(-DOMAIN, DOMAIN), padding=0)
        self.stack.addWidget(SquareContainer(self.plane))  # a circle must look like a circle
        # The confusion matrix and the regression scatter are built when first shown: most
        # projects never show them, and their three plots took 50-100 ms of the 0.5-0.7 s it
        # took to build the window (measured).
        self.matrix_view = self.scatter_view = None

        self.show_test = QCheckBox("Test data")
        self.show_test.setToolTip(
            "Draw the test points (black outline) beside the training points (white outline)."
        )
        self.discretize = QCheckBox("Discretize")
        self.discretize.setToolTip(
            "Colour each point of the plane by the class the network "
            "would answer, instead of by its confidence."
        )
        self.confusion = QCheckBox("Confusion matrix")
        self.confusion.setToolTip(
            "Count which class the network gives each test point: rows the true class, "
            "columns the answer; right answers on the diagonal."
        )
        for box in (self.show_test, self.discretize, self.confusion):
            box.toggled.connect(self._on_option_toggled)
            box.toggled.connect(self.view_changed)
        self.summary = theme.StatusLabel(2)
        self._drawn_points = None
        #: The unit whose picture the plane shows instead of the output while the pointer is
        #: on it: (its name on screen, ("unit", dense layer, unit) or ("feature", name)).
        self.pointed = None
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.show_test)
        bar.addWidget(self.discretize)
        bar.addWidget(self.confusion)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)

    def _matrix_page(self) -> QWidget:
        """The confusion matrix, with test images under it for the digits."""
        if self.matrix_view is None:
            self.matrix_view = theme.plot_area()
            self.matrix_plot = theme.style_plot(
                self.matrix_view.addPlot(row=0, col=0),
                "Confusion matrix (test set)",
                x="predicted",
                y="true",
            )
            self.matrix_plot.invertY(True)
            self.matrix_plot.setAspectLocked(True)
            self.matrix = pg.ImageItem()
            self.matrix.setColorMap(pg.ColorMap([0, 1], [theme.WHITE, theme.BLUE]))
            self.matrix_plot.addItem(self.matrix)
            self.matrix_labels: list[pg.TextItem] = []
            # Under the matrix (the panel is about square), and only when there are images.
            self.samples_plot = pg.PlotItem()
            theme.style_plot(self.samples_plot, "")  # the summary says what it shows
            self.samples_plot.setTitle(None)
            self.samples_plot.hideAxis("left")
            self.samples_plot.hideAxis("bottom")
            self.samples_plot.invertY(True)
            self.samples_plot.setAspectLocked(True)
            self.samples = pg.ImageItem()
            self.samples.setColorMap(pg.ColorMap([0, 1], [theme.WHITE, theme.TEXT]))
            self.samples_plot.addItem(self.samples)
            self.sample_labels: list[pg.TextItem] = []
            self._add_page(self.matrix_view)
        return self.matrix_view

    def _scatter_page(self) -> QWidget:
        """Predicted against actual values, for regression data that is not 2-D."""
        if self.scatter_view is None:
            self.scatter_view = pg.PlotWidget()
            self.scatter_plot = theme.style_plot(
                self.scatter_view.getPlotItem(),
                "Predicted against actual (test set)",
                x="actual",
                y="predicted",
            )
            self.diagonal = self.scatter_plot.plot(pen=pg.mkPen(theme.GREY, width=1))
            self.scatter = pg.ScatterPlotItem(size=6, brush=pg.mkBrush(theme.BLUE), pen=None)
            self.scatter_plot.addItem(self.scatter)
            self._add_page(self.scatter_view)
        return self.scatter_view

    def _add_page(self, page: QWidget):
        self.stack.addWidget(page)
        zoom = theme.zoom_factor(self.plane_plot)
        if zoom != 1.0:  # made after View > Zoom: its text as large as every other plot's
            theme.rezoom_plots(page, zoom)

    def plot_items(self):
        page = self.stack.currentWidget()
        if page is self.plane.parent():
            return [self.plane_plot]
        if page is self.matrix_view:
            return [self.matrix_plot] + [self.samples_plot] * self._samples_shown()
        return [self.scatter_plot]

    def view(self) -> dict:
        """How the plane is shown, as the project keeps it."""
        return {
            "show_test_data": self.show_test.isChecked(),
            "discretize": self.discretize.isChecked(),
            "confusion": self.confusion.isChecked(),
        }

    def show_view(self, view: dict | None):
        """Show the plane as a project keeps it (None: as it is)."""
        boxes = (
            (self.show_test, "show_test_data"),
            (self.discretize, "discretize"),
            (self.confusion, "confusion"),
        )
        for box, key in boxes:
            if view is not None and key in view:
                with QSignalBlocker(box):
                    box.setChecked(bool(view[key]))
        self._on_option_toggled(True)

    def _on_option_toggled(self, _on):
        if self.snapshot is not None:
            self._on_snapshot_ready(self.snapshot)

    def show_unit(self, caption: str, key):
        """Picture one unit (or input feature) in the plane until called with key None."""
        self.pointed = (caption, key) if key is not None else None
        self._on_option_toggled(True)

    def _on_snapshot_ready(self, s):
        out = s.output
        if out is None:
            return
        boundary = out.kind == "boundary"
        self.confusion.setVisible(boundary and out.confusion is not None)
        if boundary and out.confusion is not None and self.confusion.isChecked():
            boundary = False  # the 2-D data's confusion matrix instead of its plane
        self.show_test.setVisible(boundary)
        self.discretize.setVisible(boundary and not out.regression)
        if boundary:
            self.stack.setCurrentWidget(self.plane.parent())
            self._draw_plane(out)
        elif out.confusion is not None:
            self.stack.setCurrentWidget(self._matrix_page())
            self._draw_confusion(out)
        else:
            self.stack.setCurrentWidget(self._scatter_page())
            self._draw_scatter(out)
        self.summary.setVisible(bool(self.summary.text()))  # no empty line over the plane

    def _unit_picture(self):
        """The pointed unit's picture from the latest snapshot, scaled to -1…1, or None."""
        if self.pointed is None or self.snapshot is None:
            return None
        key, s = self.pointed[1], self.snapshot
        if key[0] == "feature":
            return (s.feature_grids or {}).get(key[1])
        _, layer, unit = key
        if s.unit_grids is None or layer >= len(s.unit_grids) or unit >= len(s.unit_grids[layer]):
            return None
        grid = s.unit_grids[layer][unit]
        finite = np.abs(grid[np.isfinite(grid)])
        top = float(finite.max()) if finite.size else 0.0
        return grid / top if top > 0 else grid

    def _draw_plane(self, out):
        grid = out.grid
        unit = self._unit_picture()
        if unit is not None:
            levels, picture = (-1, 1), unit
            theme.keyed_title(
                self.plane_plot,
                self.pointed[0],
                (("low", theme.CLASS_COLORS[0]), ("high", theme.CLASS_COLORS[1])),
                mark="■",
            )
        elif out.regression:
            levels, picture = (-1, 1), grid
            theme.keyed_title(
                self.plane_plot,
                "Output",
                (("−1", theme.CLASS_COLORS[0]), ("+1", theme.CLASS_COLORS[1])),
                mark="■",
            )
        elif grid.ndim == 2:
            levels = (0, 1)
            picture = (
                (grid > 0.5).astype(float) * 0.8 + 0.1 if self.discretize.isChecked() else grid
            )
        else:
            levels, picture = None, grid
            if self.discretize.isChecked():
                picture = np.eye(grid.shape[-1])[np.nan_to_num(grid).argmax(axis=-1)]
        if unit is None and not out.regression:
            names = [str(n) for n in (out.class_names or ("0", "1"))]
            theme.keyed_title(
                self.plane_plot,
                "Output",
                tuple((name, theme.class_color(i)) for i, name in enumerate(names)),
                mark="■",
            )
        if levels is None:  # class regions
            self.regions.setImage(theme.regions(picture), autoLevels=False)
            self.regions.setRect(QRectF(-DOMAIN, -DOMAIN, 2 * DOMAIN, 2 * DOMAIN))
        else:
            self.heat.setImage(np.nan_to_num(picture, nan=0.5), levels=levels, autoLevels=False)
            self.heat.setRect(QRectF(-DOMAIN, -DOMAIN, 2 * DOMAIN, 2 * DOMAIN))
        self.regions.setVisible(levels is None)
        self.heat.setVisible(levels is not None)
        # The points change only with the data (or the test toggle), not as training goes.
        points = (id(out.points_train), self.show_test.isChecked())
        if points != self._drawn_points:
            self._drawn_points = points
            self.train_points.setData(
                pos=out.points_train, brush=_point_brushes(out.labels_train, out.regression)
            )
            if self.show_test.isChecked():
                self.test_points.setData(
                    pos=out.points_test, brush=_point_brushes(out.labels_test, out.regression)
                )
            else:
                self.test_points.clear()
        self.summary.setText("")

    def _draw_confusion(self, out):
        m = out.confusion.astype(float)
        rows = m.sum(axis=1, keepdims=True)
        share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
        self.matrix.setImage(share, levels=(0, 1), autoLevels=False)
        k = len(m)
        self.matrix.setRect(-0.5, -0.5, k, k)
        # The classes by name on both axes, and nothing but the matrix in view.
        ticks = [[(i, str(name)) for i, name in enumerate(out.class_names[:k])]]
        self.matrix_plot.getAxis("bottom").setTicks(ticks)
        self.matrix_plot.getAxis("left").setTicks(ticks)
        self.matrix_plot.setRange(xRange=(-0.5, k - 0.5), yRange=(-0.5, k - 0.5), padding=0.02)
        while len(self.matrix_labels) < k * k:
            label = pg.TextItem(anchor=(0.5, 0.5), color=theme.TEXT)
            self.matrix_plot.addItem(label)
            self.matrix_labels.append(label)
        for i, label in enumerate(self.matrix_labels):
            if i < k * k:
                r, c = divmod(i, k)
                label.setText(str(int(m[r, c])) if m[r, c] else "")
                label.setColor("w" if share[r, c] > 0.55 else theme.TEXT)
                label.setPos(c, r)
                label.show()
            else:
                label.hide()
        correct = np.trace(m) / max(m.sum(), 1)
        text = f"Test accuracy <b>{correct:.1%}</b>: right answers on the diagonal"
        text += "; below, test images (red: answered wrong)." if out.samples is not None else "."
        self.summary.setText(text)
        if (out.samples is not None) != self._samples_shown():
            if out.samples is None:
                self.matrix_view.ci.removeItem(self.samples_plot)
            else:
                self.matrix_view.ci.addItem(self.samples_plot, row=1, col=0)
                # The matrix has a title and axes to fit too: it gets more of the height.
                self.matrix_view.ci.layout.setRowStretchFactor(0, 3)
                self.matrix_view.ci.layout.setRowStretchFactor(1, 2)
        if out.samples is not None:
            self._draw_samples(out)

    def _samples_shown(self) -> bool:
        return self.samples_plot.scene() is not None

    def _draw_samples(self, out):
        n = len(out.samples)
        rows = -(-n // GRID_COLUMNS)
        mosaic = np.full((rows * 11, GRID_COLUMNS * 10), np.nan)
        for i, image in enumerate(out.samples):
            r, c = divmod(i, GRID_COLUMNS)
            mosaic[r * 11 + 3 : r * 11 + 11, c * 10 + 1 : c * 10 + 9] = image
        self.samples.setImage(np.nan_to_num(mosaic, nan=0.0), levels=(0, 1), autoLevels=False)
        while len(self.sample_labels) < n:
            label = pg.TextItem(anchor=(0.5, 0.0))
            self.samples_plot.addItem(label)
            self.sample_labels.append(label)
        names = out.class_names
        for i, label in enumerate(self.sample_labels[:n]):
            r, c = divmod(i, GRID_COLUMNS)
            ok = out.sample_pred[i] == out.sample_true[i]
            label.setText(names[out.sample_pred[i]])
            label.setColor(theme.GREEN if ok else theme.RED)
            label.setPos(c * 10 + 5, r * 11 - 0.5)

    def _draw_scatter(self, out):
        self.scatter.setData(out.actual, out.predicted)
        lo = float(min(out.actual.min(), np.nanmin(out.predicted)))
        hi = float(max(out.actual.max(), np.nanmax(out.predicted)))
        self.diagonal.setData([lo, hi], [lo, hi])
        self.summary.setText("On the grey line the prediction is exact.")


class SquareContainer(QWidget):
    """Keeps its one child square and centred."""

    def __init__(self, child, parent=None):
        super().__init__(parent)
        self.child = child
        child.setParent(self)

    def resizeEvent(self, event):
        side = min(self.width(), self.height())
        self.child.setGeometry((self.width() - side) // 2, (self.height() - side) // 2, side, side)


_BRUSHES = [pg.mkBrush(theme.class_color(i)) for i in range(len(theme.CLASS_COLORS))]


def _point_brushes(labels, regression):
    if regression:
        cmap = theme.diverging()
        return [pg.mkBrush(c) for c in cmap.map((np.clip(labels, -1, 1) + 1) / 2, mode="qcolor")]
    return [_BRUSHES[int(v) % len(_BRUSHES)] for v in labels]
