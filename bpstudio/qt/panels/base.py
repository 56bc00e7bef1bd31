"""What every panel shares: the snapshot subscription and export to PNG, SVG or CSV."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters as exporters
import shiboken6
from PySide6.QtCore import QObject, QPoint
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QWidget


class Panel(QWidget):
    """A dockable view fed by snapshots. Subclasses build their items in __init__ and
    implement `_on_snapshot_ready(snapshot)`; the window's panel table (bpstudio.qt.layout)
    gives each its `name` and `title`."""

    title = ""
    name = ""
    #: While training runs, draw every `every`-th snapshot (the ones published when training
    #: comes to rest are always drawn): slow-changing pictures need not cost every frame.
    every = 1

    def __init__(self, source: QObject, parent=None):
        super().__init__(parent)
        self.snapshot = None
        self.shown = None
        self._received = 0
        #: Runs a draw in an event-loop turn of its own (the SnapshotHub's), if the source
        #: offers it: while training runs, the panels draw one by one.
        self._defer = getattr(source, "defer", None)
        source.snapshot_ready.connect(self._receive)

    def _receive(self, snapshot):
        self.snapshot = snapshot
        self._record(snapshot)
        # A panel hidden behind another tab is redrawn when it is shown, not on every snapshot.
        # (A dock tabbed away stays "visible" to Qt; what shows is its visible region.)
        self._stale = not self.isVisible() or self.visibleRegion().isEmpty()
        self._received += 1
        if snapshot.final or self._defer is None:
            if not self._stale:
                self._draw(snapshot)  # at rest: at once, so what is shown is complete
        elif not self._stale and self._received % self.every == 0:
            self._defer(self._draw_latest)

    def _draw_latest(self):
        """A deferred draw: the newest snapshot, unless it is drawn already."""
        if shiboken6.isValid(self) and self.shown is not self.snapshot:
            self._draw(self.snapshot)

    def showEvent(self, event):
        super().showEvent(event)
        self.refresh()

    def refresh(self):
        """Draw the latest snapshot if it arrived while the panel could not be seen."""
        if getattr(self, "_stale", False) and self.snapshot is not None:
            self._stale = False
            self._draw(self.snapshot)

    def _draw(self, snapshot):
        self._on_snapshot_ready(snapshot)
        #: The snapshot the panel shows now (it skips some while training runs).
        self.shown = snapshot

    def record(self, snapshot):
        """Put `snapshot` on the panel's timeline, if it keeps one, without drawing it: for a
        run trained where no window watched it (`bpstudio screenshot`)."""
        self._record(snapshot)

    def _record(self, snapshot):
        """Called for every snapshot, visible or not (for panels that keep a timeline)."""

    def _on_snapshot_ready(self, snapshot):
        raise NotImplementedError

    # ------------------------------------------------------------------ export

    def plot_items(self) -> list[pg.PlotItem]:
        """The plots whose data can be exported as CSV."""
        return []

    def export(self, path, width: int | None = None):
        """Save the panel: .png (at `width` pixels if given), .svg or .csv (the plots' data)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".png":
            return render_png(self, path, width)
        if suffix == ".svg":
            # Qt renders the panel as it is shown, as vectors. (pyqtgraph's SVG exporter
            # failed on these scenes: "not enough values to unpack" in its polyline code.)
            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(self.size())
            generator.setViewBox(self.rect())
            generator.setTitle(f"Backprop Studio: {self.title}")
            painter = QPainter(generator)
            try:
                with uncached(self):
                    self.render(painter, QPoint(0, 0))
            finally:
                painter.end()
            return path
        if suffix == ".csv":
            plots = self.plot_items()
            if not plots:
                raise ValueError(f"the {self.title} panel has no plotted data to export as CSV")
            exporters.CSVExporter(plots[0]).export(str(path))
            for i, plot in enumerate(plots[1:], start=2):
                exporters.CSVExporter(plot).export(str(path.with_stem(f"{path.stem}-{i}")))
        else:
            raise ValueError(f"export as .png, .svg or .csv; got {path.name}")
        return path


#: The width of an exported PNG unless the user asks for another (a slide, a tutorial page).
PNG_WIDTH = 1600


def render_png(widget: QWidget, path, width: int | None = None) -> Path:
    """`widget` drawn again at `width` pixels (PNG_WIDTH if not given): every text, line and
    picture painted at that resolution, as a screen of that density would show the same
    layout, not a screen grab scaled up (blurry)."""
    width = width or PNG_WIDTH
    scale = width / max(widget.width(), 1)
    image = QImage(
        round(widget.width() * scale), round(widget.height() * scale), QImage.Format.Format_RGB32
    )
    image.setDevicePixelRatio(scale)
    image.fill(widget.palette().window().color())
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        with uncached(widget):
            widget.render(painter, QPoint(0, 0))
    finally:
        painter.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return Path(path)


@contextlib.contextmanager
def uncached(widget: QWidget):
    """The graphics items in `widget` that paint from a pixmap kept at the screen's
    resolution (the network canvas's) paint themselves meanwhile: an export is drawn at its
    own resolution, or as vectors."""
    cached = [
        (item, item.cacheMode())
        for view in widget.findChildren(QGraphicsView)
        if view.scene() is not None
        for item in view.scene().items()
        if item.cacheMode() != QGraphicsItem.CacheMode.NoCache
    ]
    for item, _ in cached:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        yield
    finally:
        for item, mode in cached:
            item.setCacheMode(mode)
