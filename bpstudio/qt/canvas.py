"""The network drawn as Playground draws it, on a QGraphicsView: the input features, then each
layer as a column (Dense layers as units, the others as a labelled bar), edges coloured by the
sign of their weight (blue positive, orange negative) and thickened by its size, biases as the
units' fill, dead units crossed out. Wide layers are drawn as a band with their unit count and
their edges aggregated into blocks, so a 784-512-512-10 network draws as quickly as a small
one.

The canvas only shows and asks: clicks on its buttons, its context menus and drops from the
palette become signals carrying what the user asked for; the builder decides what to do."""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QFontMetricsF,
    QImage,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsScene,
    QGraphicsView,
    QMenu,
)

from bpstudio.qt import theme
from bpstudio.viewmodel.snapshots import BLOCKS, block_means

MAX_DRAWN_UNITS = 16
UNIT_GAP = 36.0
RADIUS = 13.0  # half the side of a unit's square (its picture of the input plane)
#: An edge's strength is drawn in this many steps of tint and width (per sign).
EDGE_LEVELS = 16
COLUMN_GAP = 124.0
BAR_GAP = 80.0
TEXT_WIDTH = 118.0
#: No text on the canvas is drawn smaller than this, however far the network is zoomed out
#: to fit: the text grows in the scene instead, and the columns move apart to make room.
MIN_TEXT_PT = 9.0
LAYER_MIME = "application/x-bpstudio-layer"
KIND_LABELS = {
    "Dense": "Dense",
    "Activation": "Activation",
    "Dropout": "Dropout",
    "BatchNormalization": "Batch norm",
}


@dataclass
class Column:
    """One drawn column: the input (index -1) or a layer (its index in the layer list)."""

    index: int
    kind: str
    title: str  # the layer's name (Keras's: "dense_1"), which snapshots and signals use
    units: int
    lines: tuple[str, ...]  # the text under the column
    extra: tuple[str, ...] = ()  # more lines under it, written only where they fit whole
    label: str = ""  # what the screen calls it: "Hidden 1"
    x: float = 0.0
    positions: list = field(default_factory=list)  # unit centres; empty for bands and bars
    band: QRectF | None = None
    bar: QRectF | None = None
    removable: bool = False
    resizable: bool = False
    labels: tuple = ()  # input feature names, by unit
    toggles: bool = False  # clicking an input feature turns it on or off (2-D data)
    room: float = 118.0  # the width its text may take without running into its neighbours
    pitch: float = math.inf  # from its centre to the nearest column with text under it
    disabled: tuple = ()  # input features not in use (2-D data), drawn faded
    text_width: float = 0.0  # its widest text at the canvas's own font size
    captions: tuple = ()  # the input features as shown (x₁), by unit

    @property
    def shown(self) -> str:
        return self.label or self.title

    @property
    def below(self) -> tuple[str, ...]:
        """The lines written under the column (a bar says its name and setting inside it)."""
        return (*self.lines, *self.extra) if self.has_units else ()

    @property
    def heading(self) -> str:
        """The name written over the column (a bar's is inside it)."""
        return self.shown if self.has_units else ""

    @property
    def has_units(self) -> bool:
        return self.kind in ("input", "Dense")

    @property
    def sources(self) -> list:
        """The centres of the units that feed the next layer (input features in use)."""
        return [p for k, p in enumerate(self.positions) if not (self.disabled and self.disabled[k])]

    @property
    def outputs(self) -> int:
        return self.units - sum(self.disabled)

    def unit_at(self, point: QPointF) -> int | None:
        for k, p in enumerate(self.positions):
            if (p - point).manhattanLength() <= 1.4 * RADIUS:
                return k
        return None


def layout(
    columns: list[Column],
    height: float,
    top: float,
    scale=1.0,
    label_width=0.0,
    gap=UNIT_GAP,
    caption_gap=0.0,
):
    """Place the columns left to right and their units top to bottom, with room for their
    text drawn `scale` times the canvas's font size; returns the width."""
    # Room on the left for the input features' names.
    x = max(60.0, label_width * scale + RADIUS + 16)
    middle = top + height / 2
    for i, col in enumerate(columns):
        if i:
            least = COLUMN_GAP if col.has_units and columns[i - 1].has_units else BAR_GAP
            needed = (col.text_width + columns[i - 1].text_width) / 2 * scale + 14
            x += max(least, needed)
        col.x = x
        col.positions, col.band, col.bar = [], None, None
        if not col.has_units:
            col.bar = QRectF(x - 13, top + 10, 26, height - 20)
        elif col.units > MAX_DRAWN_UNITS and not col.toggles:
            col.band = QRectF(x - 16, top, 32, height)
        else:
            n = col.units
            step = max(gap, caption_gap) if col.captions else gap  # room for each name
            y0 = middle - step * (n - 1) / 2
            col.positions = [QPointF(x, y0 + k * step) for k in range(n)]
    for i, col in enumerate(columns):
        gaps = [abs(col.x - columns[j].x) for j in (i - 1, i + 1) if 0 <= j < len(columns)]
        col.room = max(min([TEXT_WIDTH, *(g - 6 for g in gaps)]), col.text_width * scale + 4)
    written = [col for col in columns if col.has_units]  # (a bar writes inside itself)
    for i, col in enumerate(written):
        col.pitch = min(
            (abs(col.x - written[j].x) for j in (i - 1, i + 1) if 0 <= j < len(written)),
            default=math.inf,
        )
    return x + max(70.0, columns[-1].text_width * scale / 2 + 10) if columns else x


class ColumnItem(QGraphicsObject):
    """One column with its title, units (or band, or bar), text and buttons."""

    def __init__(self, canvas, col: Column, height: float):
        super().__init__()
        self.canvas, self.col, self.height = canvas, col, height
        self.setAcceptHoverEvents(True)
        self.setToolTip(_column_tip(col))
        # Painted into a pixmap kept until update(): a frame that changes only the edges or
        # another column blits this one instead of painting it again (each column's paint
        # took 0.7 ms, eight of them in every repaint of lesson 2's canvas, measured).
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.selected = False
        self.bias = None
        self.dead = None
        self.hover_unit = None
        #: Each unit's frame colour from its bias, (r, g, b) or None, the dead marks and the
        #: pictures as last painted (see set_live).
        self.bias_colors: tuple = ()
        self._marks = self._pictures = None

    def set_live(self, bias, dead):
        """Take a snapshot's biases and dead units (and the canvas's pictures); repaint only
        if what is drawn changed: the frames' colours, the dead marks, the pictures."""
        self.bias, self.dead = bias, dead
        colors = tuple(
            theme.mix(theme.BLUE if b > 0 else theme.ORANGE, 0.35 + 0.65 * min(abs(b), 1.0))
            if math.isfinite(b)
            else None
            for b in ([] if bias is None else bias.tolist())
        )
        marks = None if dead is None else np.asarray(dead, bool).tobytes()
        pictures = self.canvas.pictures.get(self.col.title)
        if (colors, marks) != (self.bias_colors, self._marks) or pictures is not self._pictures:
            self.bias_colors, self._marks, self._pictures = colors, marks, pictures
            self.update()

    def boundingRect(self):
        col = self.col
        half = max(70.0, col.room / 2 + 4)
        left = 0 if col.kind == "input" else col.x - half
        bottom = self.canvas.top + self.height + 12 + len(col.below) * self.canvas.line_height()
        return QRectF(left, 0, col.x + half - left, bottom)

    def buttons(self) -> dict[str, QRectF]:
        """The clickable controls above the column: add/remove units, remove the layer."""
        x, y = self.col.x, self.canvas.top - 30
        found = {}
        if self.col.resizable:
            found["+"] = QRectF(x - 30, y, 18, 18)
            found["-"] = QRectF(x - 9, y, 18, 18)
        if self.col.removable:
            found["x"] = QRectF(x + 12, y, 18, 18)
        return found

    def paint(self, painter: QPainter, option, widget=None):
        col, canvas = self.col, self.canvas
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.selected:
            painter.setPen(QPen(QColor(theme.TRAIN), 2, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(self.boundingRect().adjusted(6, 2, -6, -2), 8, 8)
        painter.setFont(canvas.text_font(bold=True))
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(
            QRectF(col.x - col.room / 2, 2, col.room, canvas.line_height() + 4),
            Qt.AlignmentFlag.AlignCenter,
            canvas.fitted(painter, col.heading, col.room),
        )
        painter.setFont(self.canvas.font())
        for name, rect in self.buttons().items():
            painter.setPen(QPen(QColor(theme.MID_GREY), 1))
            painter.setBrush(QColor(theme.BACKGROUND_GREY))
            painter.drawEllipse(rect)
            painter.drawText(
                rect, Qt.AlignmentFlag.AlignCenter, {"+": "+", "-": "−", "x": "×"}[name]
            )
        painter.setFont(canvas.text_font())
        if col.bar is not None:
            self._paint_bar(painter)
        elif col.band is not None:
            self._paint_band(painter)
        else:
            self._paint_units(painter)
        painter.setPen(QColor(theme.DARK_GREY))
        line = canvas.line_height()
        for row, text in self.written_below():
            rect = QRectF(
                col.x - col.room / 2, canvas.top + self.height + 6 + line * row, col.room, line
            )
            painter.drawText(
                rect, Qt.AlignmentFlag.AlignCenter, canvas.fitted(painter, text, col.room)
            )

    def written_below(self) -> list[tuple[int, str]]:
        """The lines written under the column, with their rows: its lines, and the extra
        lines (the parameter counts) if every column's fit whole (none where some would
        be missing: counts are read side by side; see NetworkCanvas.extras_shown)."""
        below = self.col.below  # (a bar writes its lines inside itself)
        if not self.canvas.extras_shown:
            below = below[: len(self.col.lines)]
        return list(enumerate(below))

    def _paint_bar(self, painter):
        col = self.col
        painter.setPen(QPen(QColor(theme.MID_GREY), 1.2))
        painter.setBrush(
            QColor(
                {"Dropout": theme.TINT_RED, "BatchNormalization": theme.TINT_GREEN}.get(
                    col.kind, theme.TINT_BLUE
                )
            )
        )
        painter.drawRoundedRect(col.bar, 10, 10)
        painter.save()
        painter.translate(col.bar.center())
        painter.rotate(-90)
        painter.setPen(QColor(theme.TEXT))
        length = col.bar.height()
        painter.drawText(
            QRectF(-length / 2, -14, length, 28),
            Qt.AlignmentFlag.AlignCenter,
            self.canvas.fitted(painter, col.lines[0], length),
        )
        painter.restore()

    def _paint_band(self, painter):
        col = self.col
        painter.setBrush(QColor(theme.FILL_GREY))
        painter.setPen(QPen(QColor(theme.GREY), 1.5))
        painter.drawRoundedRect(col.band, 10, 10)
        if self.dead is not None and len(self.dead):
            # The share of dead units, as a red fill rising from the bottom.
            share = float(np.mean(self.dead))
            fill = QRectF(col.band)
            fill.setTop(col.band.bottom() - share * col.band.height())
            red = QColor(theme.RED)
            red.setAlphaF(0.35)
            painter.fillRect(fill, red)
        pictures = self.canvas.pictures.get(col.title)
        if pictures:
            # The first units' pictures down the band, and how many more there are.
            shown, more = self.pictured()
            gap, line = self.canvas.unit_gap, self.canvas.line_height()
            for k, image in enumerate(pictures[:shown]):
                y = col.band.top() + 6 + k * gap
                painter.drawImage(QRectF(col.x - RADIUS, y, 2 * RADIUS, 2 * RADIUS), image)
            painter.setPen(QColor(theme.TEXT))
            room = max(col.room, 60.0)
            painter.drawText(
                QRectF(col.x - room / 2, col.band.bottom() - line - 2, room, line),
                Qt.AlignmentFlag.AlignCenter,
                self.canvas.fitted(painter, f"+{more:,} more", room),
            )
            return
        painter.save()
        painter.translate(col.band.center())
        painter.rotate(-90)
        painter.setPen(QColor(theme.TEXT))
        text = f"{col.units:,} units"
        if self.dead is not None and len(self.dead):
            text += f" · {int(np.sum(self.dead))} dead"
        length = col.band.height()
        painter.drawText(
            QRectF(-length / 2, -12, length, 24),
            Qt.AlignmentFlag.AlignCenter,
            self.canvas.fitted(painter, text, length),
        )
        painter.restore()

    def pictured(self) -> tuple[int, int]:
        """A band's pictures: how many of its first units are drawn, and how many more."""
        col = self.col
        gap, line = self.canvas.unit_gap, self.canvas.line_height()
        room = int((col.band.height() - line - 8) // gap) if col.band is not None else 0
        shown = min(room, len(self.canvas.pictures.get(col.title) or ()))
        return shown, col.units - shown

    def _paint_units(self, painter):
        col = self.col
        pictures = self.canvas.pictures.get(col.title)
        for k, p in enumerate(col.positions):
            faded = k < len(col.disabled) and col.disabled[k]
            square = QRectF(p.x() - RADIUS, p.y() - RADIUS, 2 * RADIUS, 2 * RADIUS)
            edge = QColor(theme.LINE_GREY if faded else theme.MID_GREY)
            width = 1.2
            if k < len(self.bias_colors) and self.bias_colors[k] is not None:
                # The bias as the frame's colour and strength (the fill is the picture).
                edge, width = QColor(*self.bias_colors[k]), 2.5
            if k == self.hover_unit:
                edge, width = QColor(theme.TRAIN), 3.0
            if pictures is not None and k < len(pictures) and pictures[k] is not None:
                painter.drawImage(square, pictures[k])
                if faded:
                    painter.fillRect(square, theme.color(theme.WHITE, 190))
                painter.setBrush(Qt.BrushStyle.NoBrush)
            else:
                painter.setBrush(
                    QColor(
                        theme.TINT_SELECTED
                        if col.kind == "input" and not faded
                        else theme.BACKGROUND_GREY
                    )
                )
            painter.setPen(QPen(edge, width))
            painter.drawRoundedRect(square, 3, 3)
            if self.dead is not None and k < len(self.dead) and self.dead[k]:
                painter.setPen(QPen(QColor(theme.RED), 2.5))
                d = RADIUS * 0.8
                painter.drawLine(p + QPointF(-d, -d), p + QPointF(d, d))
                painter.drawLine(p + QPointF(-d, d), p + QPointF(d, -d))
            if k < len(col.captions):
                painter.setPen(QColor(theme.LIGHT_GREY if faded else theme.TEXT))
                room = p.x() - RADIUS - 8
                painter.drawText(
                    QRectF(2, p.y() - RADIUS - 2, room, 2 * RADIUS + 4),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    self.canvas.fitted(painter, col.captions[k], room),
                )
        values = self.canvas.overlay.get(col.title)
        if values is not None:
            self._paint_values(painter, values)

    def _paint_values(self, painter, values):
        """The inspector's number for each unit, on a small card above it."""
        painter.setFont(self.canvas.text_font())
        height = self.canvas.line_height()
        for p, v in zip(self.col.sources, values):
            text = f"{float(v):.3g}"
            width = painter.fontMetrics().horizontalAdvance(text) + 8
            rect = QRectF(p.x() - width / 2, p.y() - RADIUS - height - 1, width, height)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.color(theme.WHITE, 230))
            painter.drawRoundedRect(rect, 3, 3)
            painter.setPen(QColor(theme.TEXT))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    # ---------------------------------------------------------------- mouse

    def mousePressEvent(self, event):
        pos = event.pos()
        for name, rect in self.buttons().items():
            if rect.contains(pos):
                self.canvas.button_clicked(self.col.index, name)
                event.accept()
                return
        unit = self.col.unit_at(pos)
        if self.col.kind == "input" and unit is not None and self.col.toggles:
            self.canvas.feature_toggled.emit(self.col.labels[unit])
        elif self.col.index >= 0:
            self.canvas.select(self.col.index)
        event.accept()

    def mouseDoubleClickEvent(self, event):
        unit = self.col.unit_at(event.pos())
        if self.col.kind == "Dense" and unit is not None and self.bias is not None:
            if not self.canvas.locked:
                self.canvas.bias_clicked.emit(self.col.title, unit, float(self.bias[unit]))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def hoverMoveEvent(self, event):
        unit = self.col.unit_at(event.pos())
        if unit != self.hover_unit:
            self.hover_unit = unit
            self.update()
            self.canvas.unit_hovered(self.col, unit)

    def hoverLeaveEvent(self, event):
        if self.hover_unit is not None:
            self.hover_unit = None
            self.update()
        self.canvas.unit_hovered(self.col, None)

    def contextMenuEvent(self, event):
        if self.col.index >= 0 or self.col.kind == "input":
            self.canvas.context_menu(self.col, event.screenPos())
            event.accept()


class EdgesItem(QGraphicsItem):
    """Every edge, drawn in one paint call: one line per weight between drawn units, one
    line per block of weights between bands."""

    def __init__(self, canvas):
        super().__init__()
        self.canvas = canvas
        #: (layer name, column a, column b, kernel or None, block means or None)
        self.segments: list = []
        self.rect = QRectF()
        self.highlight = None  # (layer name, row, column)
        self._drawn_lines: dict = {}
        self._levels_of: dict = {}  # layer name -> (kernel, its levels)
        self._look = None
        self.setZValue(-1)
        # As the columns (see ColumnItem): repainted only when a line's strength step or
        # sign changes; a frame that changes only a column blits the edges under it.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def boundingRect(self):
        return self.rect

    @property
    def moving(self) -> bool:
        """Whether the canvas shows training as it runs (not at rest). Then the edges are
        drawn on screen without antialiasing: wide antialiased lines cost 3.4 ms a repaint of
        lesson 2's 344 edges, the canvas's largest part (0.8 ms without, measured); at rest,
        and in every export, smooth."""
        s = self.canvas.snapshot
        return s is not None and not s.final

    def refresh(self):
        """Repaint if the edges as drawn changed (their strength steps and signs, the
        highlighted one's width), or always when a segment is drawn as blocks."""
        look = [self.highlight, self.moving]
        for layer, a, b, kernel, _ in self.segments:
            if kernel is None or not (a.sources and b.positions):
                look = None  # blocks (a big network) or grey lines: drawn every time
                break
            keys, scale = self._levels(layer, kernel)
            look.append(keys.tobytes())
            if self.highlight is not None and self.highlight[0] == layer:
                look.append(float(kernel[self.highlight[1:]]) / (scale or 1.0))
        if look is None or look != self._look:
            self._look = look
            self.update()

    def forget(self):
        """The canvas was laid out again: the next refresh repaints."""
        self._look = None
        self.update()

    def _levels(self, layer, kernel) -> tuple[np.ndarray, float]:
        """Each weight's strength step and sign as one key, step * 2 + (w > 0), -1 where it
        is not finite; and the layer's largest |w| (kept for the kernel last given)."""
        kept = self._levels_of.get(layer)
        if kept is not None and kept[0] is kernel:
            return kept[1]
        finite = np.isfinite(kernel)
        magnitude = np.abs(np.where(finite, kernel, 0.0))
        scale = float(magnitude.max()) if magnitude.size else 0.0
        # The strength in EDGE_LEVELS steps (see _paint_lines).
        levels = np.rint(np.minimum(magnitude / (scale or 1.0), 1.0) * (EDGE_LEVELS - 1))
        keys = np.where(finite, levels.astype(np.int64) * 2 + (kernel > 0), -1)
        self._levels_of[layer] = (kernel, (keys, scale))
        return keys, scale

    def paint(self, painter: QPainter, option, widget=None):
        # (An export draws the items anew, uncached: smooth then, moving or not.)
        cached = self.cacheMode() != QGraphicsItem.CacheMode.NoCache
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, not (self.moving and cached))
        lined = []
        for layer, a, b, kernel, blocks in self.segments:
            if a.sources and b.positions:
                lined.append((layer, self._lines(a, b), kernel))
            else:
                self._paint_blocks(painter, a, b, kernel, blocks)
        self._paint_lines(painter, lined)

    def _paint_lines(self, painter, lined):
        """lined: (layer, its lines, its kernel or None) for the segments drawn as lines."""
        grey = [lines.ravel() for _, lines, kernel in lined if kernel is None]
        if grey:
            painter.setPen(QPen(QColor(theme.LINE_GREY), 1))
            painter.drawLines(np.concatenate(grey).tolist())
        # Each weight's strength in EDGE_LEVELS steps and its sign: one pen and one drawLines
        # call for each, over every layer (their edges never cross), the strongest last (on
        # top). A pen and a call per edge took 8.5 ms a paint for the 344 edges of lesson 2's
        # network; per layer as well, 2.7 ms (about 11 microseconds a call, measured).
        keyed = []
        for layer, lines, kernel in lined:
            if kernel is not None:
                keys = self._levels(layer, kernel)[0]
                rows, cols = np.nonzero(keys >= 0)
                keyed.append((keys[rows, cols], lines[rows, cols]))
        if keyed:
            keys = np.concatenate([k for k, _ in keyed])
            lines = np.concatenate([lines for _, lines in keyed])
            order = np.argsort(keys, kind="stable")
            for group in np.split(order, np.flatnonzero(np.diff(keys[order])) + 1):
                if group.size:
                    key = int(keys[group[0]])
                    painter.setPen(_edge_pen(key % 2 == 1, key // 2))
                    painter.drawLines(lines[group].tolist())
        for layer, lines, kernel in lined:
            if self.highlight is None or self.highlight[0] != layer or kernel is None:
                continue
            r, c = self.highlight[1:]
            if r < lines.shape[0] and c < lines.shape[1] and np.isfinite(kernel[r, c]):
                scale = self._levels(layer, kernel)[1]
                strength = min(abs(float(kernel[r, c])) / (scale or 1.0), 1.0)
                painter.setPen(QPen(QColor(theme.TEXT), 2.6 + 4.4 * strength))
                painter.drawLine(lines[r, c])  # drawn again, on top of all

    def _lines(self, a, b) -> np.ndarray:
        """The lines from each of a's sources to each of b's units, (sources, units) QLineF,
        kept while the columns stay where they are."""
        starts = [(p.x() + RADIUS, p.y()) for p in a.sources]
        ends = [(p.x() - RADIUS, p.y()) for p in b.positions]
        key = (tuple(starts), tuple(ends))
        lines = self._drawn_lines.get(key)
        if lines is None:
            lines = np.empty((len(starts), len(ends)), object)
            for r, (x0, y0) in enumerate(starts):
                for c, (x1, y1) in enumerate(ends):
                    lines[r, c] = QLineF(x0, y0, x1, y1)
            if len(self._drawn_lines) > 64:  # a relaid canvas: the old places go
                self._drawn_lines.clear()
            self._drawn_lines[key] = lines
        return lines

    def _paint_blocks(self, painter, a, b, kernel, blocks):
        ya, yb = _anchors(a), _anchors(b)
        means = blocks if kernel is None else block_means(kernel)
        if means is not None and means.shape != (len(ya), len(yb)):
            means = None
        if means is not None:
            finite = np.abs(means[np.isfinite(means)])
            top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        xa = a.x + (16 if a.band is not None else RADIUS)
        xb = b.x - (16 if b.band is not None else RADIUS)
        for r, y0 in enumerate(ya):
            for c, y1 in enumerate(yb):
                color = QColor(theme.GREY)
                width = 1.0
                if means is not None and np.isfinite(means[r, c]):
                    v = means[r, c]
                    strength = min(abs(v) / top, 1.0)
                    # Opaque, lightened towards white: translucent wide lines repaint slowly.
                    color = _tint(theme.BLUE if v > 0 else theme.ORANGE, 0.15 + 0.6 * strength)
                    width = 0.8 + 3 * strength
                painter.setPen(QPen(color, width))
                painter.drawLine(QPointF(xa, y0), QPointF(xb, y1))

    def edge_at(self, point: QPointF, tolerance=4.0):
        """(layer, row, column, weight) of the drawn edge nearest `point`, if close enough."""
        best = None
        for layer, a, b, kernel, _ in self.segments:
            if kernel is None or not a.sources or not b.positions:
                continue
            if not (a.x + RADIUS <= point.x() <= b.x - RADIUS):
                continue
            pa = np.array([[p.x() + RADIUS, p.y()] for p in a.sources])
            pb = np.array([[p.x() - RADIUS, p.y()] for p in b.positions])
            # The y of every edge at this x, and how far the point is from each.
            t = (point.x() - pa[0, 0]) / (pb[0, 0] - pa[0, 0])
            ys = pa[:, 1][:, None] * (1 - t) + pb[:, 1][None, :] * t
            dist = np.abs(ys - point.y())
            r, c = np.unravel_index(np.argmin(dist), dist.shape)
            if dist[r, c] <= tolerance and (best is None or dist[r, c] < best[0]):
                best = (dist[r, c], layer, int(r), int(c), float(kernel[r, c]))
        return None if best is None else best[1:]


@functools.cache
def _edge_pen(positive: bool, level: int) -> QPen:
    """The pen of an edge whose strength (|w| / the layer's largest) is level / (EDGE_LEVELS -
    1): blue for a positive weight, orange for a negative one, opaque tints (translucent
    antialiased lines cost 0.06 ms each), wider and stronger as the weight grows."""
    strength = level / (EDGE_LEVELS - 1)
    color = _tint(theme.BLUE if positive else theme.ORANGE, 0.2 + 0.8 * strength)
    return QPen(color, 0.6 + 4.4 * strength)


def _tint(color: str, amount: float) -> QColor:
    """`color` mixed with white: amount 1 is the colour itself, 0 is white."""
    return QColor(*theme.mix(color, amount))


def _made_for(made, grids, titles) -> bool:
    """Whether pictures made for `made` = (grids, titles) are those of these grids (the same
    object) and titles."""
    return made is not None and made[0] is grids and made[1] == titles


def _anchors(col: Column) -> list[float]:
    """Where a column's blocks of units sit (as block_means splits a kernel)."""
    if col.sources:
        ys = np.array([p.y() for p in col.sources])
        starts = np.linspace(0, len(ys), min(BLOCKS, len(ys)) + 1).astype(int)
        return [float(ys[a:b].mean()) for a, b in itertools.pairwise(starts)]
    rect = col.band
    return list(np.linspace(rect.top() + 20, rect.bottom() - 20, BLOCKS))


def _column_tip(col: Column) -> str:
    tips = {
        "input": "The input features. For 2-D data, click a feature to use it or not.",
        "Dense": "A dense layer: every unit sums all its inputs, each times a weight, plus a "
        "bias, then applies the activation. Click to inspect; + and − change its units; "
        "double-click a unit to set its bias.",
        "Activation": "An activation on its own: applies the function to each input.",
        "Dropout": "Dropout: in training, drops each input with this probability.",
        "BatchNormalization": "Batch normalization: scales each unit to mean 0, variance 1 "
        "over the batch, then by a learned gamma and beta.",
    }
    return tips.get(col.kind, "")


_LUT = None


def heat_image(grid: np.ndarray, fixed=False) -> QImage:
    """A unit's output over the input plane, orange (low) to blue (high), row 0 at the top:
    scaled to its own range, or (`fixed`) with −1…1 as the ends, as Playground draws them."""
    return heat_images(grid[None], fixed)[0]


def heat_images(grids: np.ndarray, fixed=False) -> list[QImage]:
    """heat_image of each of grids (units, rows, columns), computed together: a layer's
    pictures one at a time took 2.8 ms of lesson 2's canvas update, 10 times a second."""
    global _LUT
    if _LUT is None:
        _LUT = np.ascontiguousarray(
            theme.diverging().getLookupTable(nPts=256, alpha=False).astype(np.uint8)
        )
    grids = np.asarray(grids, float)
    if fixed:
        lo, hi = np.full(len(grids), -1.0), np.full(len(grids), 1.0)
    else:
        finite = np.isfinite(grids)
        lo = np.where(finite, grids, np.inf).min(axis=(1, 2))
        hi = np.where(finite, grids, -np.inf).max(axis=(1, 2))
        none = ~finite.any(axis=(1, 2))
        lo[none], hi[none] = 0.0, 1.0
    flat = hi <= lo  # one value everywhere: drawn at the low end
    span = np.where(flat, 1.0, hi - lo)
    with np.errstate(invalid="ignore", over="ignore"):
        t = np.clip((grids - lo[:, None, None]) / span[:, None, None], 0, 1)
    t = np.where(flat[:, None, None], 0.0, t)
    t = np.nan_to_num(t[:, ::-1], nan=0.5)
    rgb = np.ascontiguousarray(_LUT[(t * 255).astype(int)])
    h, w = rgb.shape[1:3]
    return [QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy() for image in rgb]


def heat_pixmap(grid: np.ndarray, size: int = 120) -> QPixmap:
    return QPixmap.fromImage(heat_image(grid)).scaled(size, size)


class UnitPreview(QGraphicsItem):
    """What a hovered unit computes: its output over the input plane, and its gradient."""

    def __init__(self):
        super().__init__()
        self.pixmap = None
        self.caption = ""
        self.setZValue(10)
        self.hide()

    def boundingRect(self):
        return QRectF(0, 0, 132, 182)

    def paint(self, painter, option, widget=None):
        painter.setBrush(QBrush(theme.color(theme.WHITE, 235)))
        painter.setPen(QPen(QColor(theme.LINE_GREY)))
        painter.drawRoundedRect(self.boundingRect(), 6, 6)
        if self.pixmap is not None:
            painter.drawPixmap(6, 6, self.pixmap)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(
            QRectF(4, 128, 124, 52),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            self.caption,
        )


class NetworkCanvas(QGraphicsView):
    """The drawn network. Signals carry requests; `show_snapshot` feeds it while training."""

    edit_requested = Signal(str, int, object)  # action, layer index, argument
    feature_toggled = Signal(str)
    layer_selected = Signal(int)
    weight_clicked = Signal(str, int, int, float)  # layer, row, column, weight
    bias_clicked = Signal(str, int, float)  # layer, unit, bias
    #: The pointer is on a unit: (its name on screen, ("unit", dense layer, unit) or
    #: ("feature", name)); ("", None) when it leaves.
    unit_pointed = Signal(str, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(QColor(theme.WHITE))
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.columns: list[Column] = []
        self.items: list[ColumnItem] = []
        self.edges = EdgesItem(self)
        self.preview = UnitPreview()
        self.selected: int | None = None
        self.snapshot = None
        #: The backprop inspector's numbers: column title -> one value per drawn unit
        #: (per input feature in use for the input column).
        self.overlay: dict[str, np.ndarray] = {}
        self.zoom = 1.0
        self.locked = False
        self.top = 58.0  # where the units start, below the titles and buttons
        self.text_scale = 1.0  # the scene's text is this times the font, to read at MIN_TEXT_PT
        self.unit_gap = UNIT_GAP
        self.caption_gap = 0.0  # the input features' names need a line each
        #: Column title -> one QImage per drawn unit: what it computes over the input plane.
        self.pictures: dict[str, list[QImage]] = {}
        #: The input features' pictures by name, and by column as `pictures` has them, made
        #: once for the snapshots' feature grids; the units' likewise (see _make_pictures).
        self.feature_images: dict[str, QImage] = {}
        self.feature_pictures: dict[str, list[QImage]] = {}
        self.unit_pictures: dict[str, list[QImage]] = {}
        self._features_for = self._units_for = None
        #: Texts that did not fit where they are drawn (a test looks for none).
        self.elided: set[str] = set()
        #: Whether the columns' extra lines (the parameter counts) are written (set_network).
        self.extras_shown = True

    # ---------------------------------------------------------------- text

    def text_font(self, bold=False) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * self.text_scale)
        font.setBold(bold)
        return font

    def line_height(self) -> float:
        return QFontMetricsF(self.text_font()).height() + 2

    def smallest_text_pt(self) -> float:
        """The size, in points on the screen, of the smallest text the canvas draws."""
        return self.font().pointSizeF() * self.text_scale * self.zoom

    def _extras_fit(self) -> bool:
        """Whether every column's extra lines fit whole, an em clear of the same line under
        its neighbours (6 units apart, lesson 2's "72 params72 params" read as one run of
        text at 1280x720), as laid out now."""
        metrics = QFontMetrics(self.text_font())  # as the painter measures the text it draws
        em = metrics.horizontalAdvance("M")
        return all(
            metrics.horizontalAdvance(text) <= min(col.room, col.pitch - em)
            for col in self.columns
            for text in (col.below[len(col.lines) :] if col.has_units else ())
        )

    def fitted(self, painter, text: str, room: float) -> str:
        """`text` if it fits in `room`, else elided (and noted in `elided`)."""
        metrics = painter.fontMetrics()
        if metrics.horizontalAdvance(text) <= room + 0.5:
            return text
        self.elided.add(text)
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(room))

    # ---------------------------------------------------------------- structure

    def set_network(self, columns: list[Column]):
        """Draw a new structure (after an edit or on opening a project)."""
        scene = self.scene()
        for item in self.items:
            scene.removeItem(item)
        if self.edges.scene() is None:
            scene.addItem(self.edges)
            scene.addItem(self.preview)
        self.columns = columns
        self.elided = set()
        self._measure()
        drawn = [c.units for c in columns if c.has_units]
        tallest = max([min(u, MAX_DRAWN_UNITS) for u in drawn] + [4])
        captioned = max((c.units for c in columns if c.captions), default=0)
        # Lay out, see how far the view must zoom out to show it all, and grow the text (and
        # the room between columns) until it reads at MIN_TEXT_PT at that zoom. Tall columns
        # pack their units closer, but never closer than the input features' names.
        self.text_scale = 1.0
        for _ in range(8):
            self.unit_gap = max(2 * RADIUS + 4, min(UNIT_GAP, 400.0 / tallest))
            self.caption_gap = self.line_height()
            height = max(self.unit_gap * tallest, self.caption_gap * captioned, 240.0)
            rect = self._layout(height)
            # (aiming a little above, so that the last small change of zoom stays above it)
            aim = MIN_TEXT_PT * 1.02 * getattr(self.window(), "zoom", 1.0)
            scale = max(1.0, aim / (self.font().pointSizeF() * self._fit_zoom(rect)))
            if abs(scale - self.text_scale) < 0.01:
                break
            self.text_scale = scale
        else:
            rect = self._layout(height)  # at the last scale tried (the view will scroll)
        self.extras_shown = self._extras_fit()  # decided once a layout, for every column
        self.items = [ColumnItem(self, col, height) for col in columns]
        for item in self.items:
            item.selected = item.col.index == self.selected
            scene.addItem(item)
        self._set_segments()
        scene.setSceneRect(rect)
        self.edges.rect = scene.sceneRect()
        self.edges.prepareGeometryChange()
        self.edges.forget()
        self._laid_out_for = self.viewport().size()
        self.fit()
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    def _set_segments(self, s=None):
        """Pair every Dense column with the unit-bearing column before it, with its weights
        from snapshot `s` (all of them, or block means for a big network)."""
        weights = s.weights if s is not None else None
        blocks = s.weight_blocks if s is not None else None
        segments, previous, dense = [], None, 0
        for col in self.columns:
            if not col.has_units:
                continue
            if previous is not None and col.kind == "Dense":
                kernel = means = None
                if weights is not None and dense < len(weights):
                    kernel = weights[dense][0]
                    if kernel.shape != (previous.outputs, col.units):
                        kernel = None
                if blocks is not None and dense < len(blocks):
                    means = blocks[dense]
                segments.append((col.title, previous, col, kernel, means))
                dense += 1
            previous = col
        self.edges.segments = segments

    def _measure(self):
        """Each column's widest text at the canvas's own font size."""
        bold = QFont(self.font())
        bold.setBold(True)
        title, body = QFontMetricsF(bold), QFontMetricsF(self.font())
        for col in self.columns:
            needed = col.lines if col.has_units else ()  # the extra lines give way
            col.text_width = max(
                [title.horizontalAdvance(col.heading)]
                + [body.horizontalAdvance(line) for line in needed]
            )
        self._label_width = max(
            (body.horizontalAdvance(c) for col in self.columns for c in col.captions), default=0.0
        )

    def _layout(self, height) -> QRectF:
        self.top = self.line_height() + 40
        width = layout(
            self.columns,
            height,
            self.top,
            self.text_scale,
            self._label_width,
            self.unit_gap,
            self.caption_gap,
        )
        lines = max((len(c.below) for c in self.columns), default=0)
        return QRectF(0, -6, width, self.top + height + 16 + lines * self.line_height())

    def _fit_zoom(self, rect: QRectF) -> float:
        view = self.viewport()
        scale = min(view.width() / rect.width(), view.height() / rect.height())
        return min(max(scale, 0.2), 1.4)

    def fit(self):
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.resetTransform()
        self.zoom = self._fit_zoom(rect)
        self.scale(self.zoom, self.zoom)
        self.centerOn(rect.center())

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self.columns and self.viewport().size() != getattr(self, "_laid_out_for", None):
            self.set_network(self.columns)  # the text's size follows the room it has
        else:
            self.fit()

    def wheelEvent(self, event):
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            factor = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
            self.zoom *= factor
            self.scale(factor, factor)
        else:
            super().wheelEvent(event)

    # ---------------------------------------------------------------- live

    def show_snapshot(self, s):
        self.snapshot = s
        weights = s.weights
        self._set_segments(s)
        self._make_pictures(s)
        dense = 0
        relu = dict(zip(s.relu_layers, s.dead))
        biases, deads = {}, {}
        for item in self.items:
            col = item.col
            if col.kind == "Dense" and weights is not None and dense < len(weights):
                bias = weights[dense][1]
                biases[item] = bias if bias is not None and len(bias) == col.units else None
                dense += 1
            deads[item] = dead = relu.get(col.title)
            if col.kind == "Activation" and dead is not None:
                # An activation layer's dead units belong to the column of units before it.
                for other in reversed(self.items[: self.items.index(item)]):
                    if other.col.has_units:
                        deads[other] = dead if len(dead) == other.col.units else None
                        break
        for item in self.items:
            item.set_live(biases.get(item), deads[item])
        self.edges.refresh()

    def _make_pictures(self, s):
        """Each drawn unit's output over the input plane, as an image (2-D data only). The
        same grids come in every snapshot until the trainer makes new ones (10 a second, the
        features' never): their images and lists are made once, and a column whose pictures
        are the same list is not painted again for them."""
        inputs = tuple(c.title for c in self.columns if c.kind == "input" and c.toggles)
        dense = tuple(c.title for c in self.columns if c.kind == "Dense")
        if s.feature_grids is None:
            self._features_for, self.feature_pictures = None, {}
        elif not _made_for(self._features_for, s.feature_grids, inputs):
            self._features_for = (s.feature_grids, inputs)
            self.feature_images = {
                name: heat_image(grid, fixed=True) for name, grid in s.feature_grids.items()
            }
            self.feature_pictures = {
                col.title: [self.feature_images.get(name) for name in col.labels]
                for col in self.columns
                if col.title in inputs  # the 2-D data sets' features
            }
        if s.unit_grids is None:
            self._units_for, self.unit_pictures = None, {}
        elif not _made_for(self._units_for, s.unit_grids, dense):
            self._units_for = (s.unit_grids, dense)
            self.unit_pictures = {
                title: heat_images(grids[:MAX_DRAWN_UNITS])
                for title, grids in zip(dense, s.unit_grids)
            }
        self.pictures = {**self.feature_pictures, **self.unit_pictures}

    def set_overlay(self, values: dict | None, highlight=None):
        """Write `values` beside the units (None: clear) and emphasise one edge, given as
        (layer, row, column)."""
        self.overlay = dict(values or {})
        self.edges.highlight = highlight
        for item in self.items:
            item.update()
        self.edges.update()

    # ---------------------------------------------------------------- requests

    def select(self, index):
        self.selected = index
        for item in self.items:
            item.selected = item.col.index == index
            item.update()
        self.layer_selected.emit(index)

    def button_clicked(self, index, name):
        if self.locked:
            return
        col = next(c for c in self.columns if c.index == index)
        if name == "+":
            self.edit_requested.emit("units", index, col.units + 1)
        elif name == "-":
            self.edit_requested.emit("units", index, max(col.units - 1, 1))
        else:
            self.edit_requested.emit("remove", index, None)

    def context_menu(self, col: Column, screen_pos):
        menu = QMenu(self)
        if col.index >= 0:
            menu.addAction("Inspect", lambda: self.select(col.index))
            menu.addSeparator()
        for kind, label in KIND_LABELS.items():
            action = menu.addAction(
                f"Insert {label} after",
                lambda k=kind: self.edit_requested.emit("insert", col.index + 1, k),
            )
            action.setEnabled(not self.locked)
        if col.index >= 0:
            menu.addSeparator()
            for text, action_name, arg, allowed in (
                ("Move towards the input", "move", -1, col.removable),
                ("Move towards the output", "move", 1, col.removable),
                ("Delete", "remove", None, col.removable),
            ):
                action = menu.addAction(
                    text, lambda n=action_name, a=arg: self.edit_requested.emit(n, col.index, a)
                )
                action.setEnabled(allowed and not self.locked)
        menu.exec(screen_pos)

    def unit_hovered(self, col: Column, unit):
        s = self.snapshot
        if unit is not None and col.kind == "input" and col.labels:
            self.unit_pointed.emit(col.captions[unit], ("feature", col.labels[unit]))
        if unit is None or col.kind != "Dense" or s is None:
            self.preview.hide()
            if unit is None:
                self.unit_pointed.emit("", None)
            return
        dense = [c for c in self.columns if c.kind == "Dense"].index(col)
        caption = f"{col.shown}, unit {unit + 1}"
        self.unit_pointed.emit(caption, ("unit", dense, unit))
        if s.unit_grads is not None and dense < len(s.unit_grads):
            grads = s.unit_grads[dense]
            if unit < len(grads):
                caption += f"\n‖∂L/∂w‖ = {grads[unit]:.2e}"
        item = next((i for i in self.items if i.col is col), None)
        if item is not None and item.bias is not None and unit < len(item.bias):
            caption += f"\nbias {item.bias[unit]:.3g}"  # double-click the unit to set it
        pixmap = None
        if s.unit_grids is not None and dense < len(s.unit_grids):
            grids = s.unit_grids[dense]
            if unit < len(grids):
                pixmap = heat_pixmap(grids[unit])
        self.preview.pixmap = pixmap
        self.preview.caption = caption
        p = col.positions[unit]
        self.preview.setPos(p.x() + 18, max(p.y() - 83, 0))
        self.preview.update()
        self.preview.show()

    def mouseMoveEvent(self, event):
        super().mouseMoveEvent(event)
        found = self.edges.edge_at(self.mapToScene(event.position().toPoint()))
        highlight = None if found is None else found[:3]
        if highlight != self.edges.highlight:
            self.edges.highlight = highlight
            self.edges.update()
            if found is None:
                self.setToolTip("")
            else:
                layer, r, c, w = found
                shown = next((col.shown for col in self.columns if col.title == layer), layer)
                self.setToolTip(
                    f"{shown}: weight from unit {r + 1} to unit {c + 1} = {w:.4g}. "
                    f"Click to change it."
                )

    def mousePressEvent(self, event):
        found = self.edges.edge_at(self.mapToScene(event.position().toPoint()))
        if found is not None and event.button() == Qt.MouseButton.LeftButton:
            if not self.locked:
                self.weight_clicked.emit(*found)
            event.accept()
            return
        super().mousePressEvent(event)

    # ---------------------------------------------------------------- drops

    def dragEnterEvent(self, event):
        if event.mimeData().hasFormat(LAYER_MIME) and not self.locked:
            event.acceptProposedAction()

    def dragMoveEvent(self, event):
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()

    def drop_index(self, scene_x: float) -> int:
        """Where a layer dropped at `scene_x` goes: before the first column to its right."""
        for col in self.columns:
            if col.index >= 0 and col.x > scene_x:
                return col.index
        return len([c for c in self.columns if c.index >= 0])

    def dropEvent(self, event):
        kind = bytes(event.mimeData().data(LAYER_MIME)).decode()
        x = self.mapToScene(event.position().toPoint()).x()
        self.edit_requested.emit("insert", self.drop_index(x), kind)
        event.acceptProposedAction()
