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
        self.x = self.y = np.empty(0)
        self._data_rect = QRectF()
        self._padded = None

    # What a PlotItem and pyqtgraph's CSV exporter ask a data item.
    def implements(self, interface=None):
        return ["plotData"] if interface is None else interface == "plotData"

    def name(self):
        return self._name

    def getData(self):
        return self.x, self.y

    def getOriginalDataset(self):
        return self.x, self.y

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        values = (self.x if ax == 0 else self.y)[np.isfinite(self.y)]
        return (None, None) if not values.size else (values.min(), values.max())

    def setData(self, x, y):
        """x: (n,) increasing; y: (n,), non-finite values leave gaps."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        self.prepareGeometryChange()
        self.x, self.y = x, y
        finite = y[np.isfinite(y)]
        if len(x) and finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            self._data_rect = QRectF(float(x[0]), lo, float(x[-1] - x[0]), hi - lo)
        else:
            self._data_rect = QRectF()
        self._padded = None
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
        view = self.viewRect()
        to_pixels = painter.transform()  # data to the painter's pixels: a scale and a shift
        if len(self.x) < 2 or view is None or to_pixels.m11() <= 0:
            return
        bins = max(1, int(view.width() * to_pixels.m11() / PIXELS_PER_PAIR))
        x, y = peak_reduce(self.x, self.y, view.left(), view.right(), bins)
        if len(x) < 2:
            return
        # Drawn in pixels, with a pen as wide as the cosmetic one in pixels: lines in data
        # units through the painter's scaling took twice as long to stroke (measured).
        x = x * to_pixels.m11() + to_pixels.dx()
        y = y * to_pixels.m22() + to_pixels.dy()
        pen = QPen(self.pen)
        pen.setCosmetic(False)
        painter.save()
        try:
            painter.setTransform(QTransform())
            # Plain: antialiased segments would darken where they overlap.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(pen)
            # Kept in a name while drawn: drawargs() hands Qt a pointer into its memory.
            segments = arrayToLineSegments(x, y, "finite", True)
            painter.drawLines(*segments.drawargs())
        finally:
            painter.restore()


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
