"""Curves over a run's history that are cheap to feed and to paint 30 times a second."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.PlotCurveItem import arrayToLineSegments
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter, QPen, QTransform

#: Pixels of the view per reduced pair of points (the lowest and the highest): a 2-pixel pen
#: shows no more.
PIXELS_PER_PAIR = 2


class HistoryCurve(pg.GraphicsObject):
    """One curve of thousands of points in a plot. It keeps every point given (the CSV export
    writes them all) and paints those in view, reduced to the lowest and highest value per
    two pixels, as separate line segments in pixels (a wide polyline's joins took five times
    as long to stroke, lines in data units through the painter's scaling twice, measured).

    pyqtgraph's PlotDataItem with peak downsampling draws the same, but does its clipping and
    reduction in setData, at about 0.4 ms of its own work a call: the gradients panel feeds
    seven curves 30 times a second. Here setData only keeps the arrays, and the reduction
    (tens of microseconds) runs when the curve is painted, at the resolution it is painted
    at (a PNG export at 1600 pixels gets a finer curve than the screen)."""

    def __init__(self, pen, name: str | None = None):
        super().__init__()
        self.pen = pen
        self._name = name
        self._log = False
        self.x = self.y = self._shown = np.empty(0)
        self._data_rect = QRectF()
        self._padded = None
        self._kept = None  # (view and transform, the segments drawn for them)

    # What a PlotItem and pyqtgraph's CSV exporter ask a data item.
    def implements(self, interface=None):
        return ["plotData"] if interface is None else interface == "plotData"

    def name(self):
        return self._name

    def getData(self):
        """The points as given (not log10 of them in log mode)."""
        return self.x, self.y

    def getOriginalDataset(self):
        return self.x, self.y

    def setLogMode(self, x_mode: bool, y_mode: bool):
        """As PlotItem.setLogMode asks its data items: draw log10 of y (values that are not
        positive leave gaps). A log x axis is not drawn by these curves."""
        if x_mode:
            raise ValueError("a HistoryCurve draws no log x axis")
        if bool(y_mode) != self._log:
            self._log = bool(y_mode)
            self.setData(self.x, self.y)

    def setAlpha(self, alpha: float, auto: bool):
        """As the plot's Alpha menu asks."""
        self.setOpacity(alpha)

    def setPen(self, pen):
        self.pen = pen
        self._padded = None
        self.update()

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        """In the view's units (log10 of y in log mode), as the ViewBox asks."""
        finite = np.isfinite(self._shown)
        values = (self.x if ax == 0 else self._shown)[finite]
        return (None, None) if not values.size else (values.min(), values.max())

    def pixelPadding(self) -> float:
        """Pixels the pen draws beyond the data (a ViewBox ranging itself leaves them)."""
        return self.pen.widthF() * 0.7072

    def setData(self, x, y):
        """x: (n,) increasing; y: (n,), non-finite values leave gaps."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        self.prepareGeometryChange()
        self.x, self.y = x, y
        if self._log:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), np.nan)
        self._shown = y
        finite = y[np.isfinite(y)]
        if len(x) and finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            self._data_rect = QRectF(float(x[0]), lo, float(x[-1] - x[0]), hi - lo)
        else:
            self._data_rect = QRectF()
        self._padded = self._kept = None
        self.informViewBoundsChanged()  # a plot that ranges itself on its data looks again
        self.update()

    def boundingRect(self):
        if self._padded is None:
            # The data's bounds and the pen's width around them, in data units.
            view = self.getViewBox()
            px, py = view.viewPixelSize() if view is not None else (0.0, 0.0)
            width = self.pen.widthF() or 1.0
            self._padded = self._data_rect.adjusted(
                -px * width, -py * width, px * width, py * width
            )
        return self._padded

    def viewTransformChanged(self):
        super().viewTransformChanged()  # forgets the view's rectangle it keeps
        # The pen's padding is in pixels: a zoom changes it in data units.
        self.prepareGeometryChange()
        self._padded = None

    def paint(self, painter, option, widget=None):
        to_pixels = painter.transform()  # data to the painter's pixels: a scale and a shift
        segments = self._segments(to_pixels)
        if segments is None:
            return
        # Drawn in pixels, with a pen as wide as the cosmetic one in pixels: lines in data
        # units through the painter's scaling took twice as long to stroke (measured).
        pen = QPen(self.pen)
        pen.setCosmetic(False)
        painter.save()
        try:
            painter.setTransform(QTransform())
            # Plain: antialiased segments would darken where they overlap.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(pen)
            painter.drawLines(*segments.drawargs())
        finally:
            painter.restore()

    def _segments(self, to_pixels):
        """The line segments to draw, in pixels, for the view and transform now: kept while
        neither they nor the data change (a plot repaints all its curves when one of them
        changes; the loss panel's epoch curves, unchanged, took 0.5 ms each to reduce again).
        Also kept in a name while drawn: drawargs() hands Qt a pointer into its memory."""
        view = self.viewRect()
        if len(self.x) < 2 or view is None or to_pixels.m11() <= 0:
            return None
        key = (QRectF(view), QTransform(to_pixels))
        if self._kept is not None and self._kept[0] == key:
            return self._kept[1]
        bins = max(1, int(view.width() * to_pixels.m11() / PIXELS_PER_PAIR))
        x, y = peak_reduce(self.x, self._shown, view.left(), view.right(), bins)
        if len(x) < 2:
            return None
        x = x * to_pixels.m11() + to_pixels.dx()
        y = y * to_pixels.m22() + to_pixels.dy()
        segments = arrayToLineSegments(x, y, "finite", True)
        self._kept = (key, segments)
        return segments


def peak_reduce(x, y, lo: float, hi: float, bins: int):
    """The points of a curve that a view from x = lo to hi shows, reduced for a line `bins`
    pairs of pixels wide: in each of `bins` equal spans of x, the lowest and the highest y
    (NaN ignored), at the span's first x. The points just outside the view are kept, so the
    line runs to its edges. Fewer than two points a span are returned as they are.

    x: (n,) increasing; y: (n,). Returns (m,), (m,)."""
    start = max(int(np.searchsorted(x, lo, "right")) - 1, 0)
    stop = min(int(np.searchsorted(x, hi, "left")) + 1, len(x))
    x, y = x[start:stop], y[start:stop]
    if len(x) <= 2 * bins or hi <= lo:
        return x, y
    span = np.clip(np.floor((x - lo) * (bins / (hi - lo))), -1, bins)
    firsts = np.flatnonzero(np.diff(span, prepend=span[0] - 1))
    with np.errstate(invalid="ignore"):  # a span of NaN only stays NaN: a gap
        low = np.fmin.reduceat(y, firsts)
        high = np.fmax.reduceat(y, firsts)
    return np.repeat(x[firsts], 2), np.column_stack([low, high]).ravel()
