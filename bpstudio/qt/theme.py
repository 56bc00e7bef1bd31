"""Colours and plot defaults, chosen for a projector: light background, strong contrast,
Playground's orange (negative, class 0) and blue (positive, class 1)."""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QGuiApplication,
    QIcon,
    QPainter,
    QPixmap,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QWidget,
)

# Every colour of the studio is named here (Google's greys and accents, Playground's data
# colours); the rest of the code uses these names.
ORANGE = "#f59322"  # negative values, class 0
BLUE = "#0877bd"  # positive values, class 1
TRAIN = "#1a73e8"
TEST = "#e8710a"
RED = "#c5221f"  # errors, non-finite values
GREEN = "#188038"  # right answers
AMBER = "#f9ab00"  # warnings
PURPLE = "#a142f4"
CYAN = "#12b5cb"
BRIGHT_RED = "#d93025"
WHITE = "#ffffff"
TEXT = "#202124"
DARK_GREY = "#3c4043"  # text on light fills
MID_GREY = "#5f6368"  # outlines, markers
GREY = "#9aa0a6"
LIGHT_GREY = "#bdc1c6"  # faded text
PALE_GREY = "#c8cdd2"  # noisy per-batch curves behind their average
LINE_GREY = "#dadce0"  # faded outlines, card borders
FILL_GREY = "#e8eaed"
BACKGROUND_GREY = "#f1f3f4"
# Pale tints behind text and shapes.
TINT_BLUE = "#e8f0fe"
TINT_GREEN = "#e6f4ea"
TINT_RED = "#fce8e6"
TINT_AMBER = "#fef7e0"
TINT_SELECTED = "#d2e3fc"
PINK = "#e52592"
BROWN = "#8d6e63"
#: The colour of each class, in the order of data.datasets.CLASS_NAMES (which names them by
#: these colours); two-class data and low/high values use the first two, Playground's.
CLASS_COLORS = (ORANGE, BLUE, GREEN, PURPLE, PINK, BROWN)
MIDDLE = "#f5f5f5"  # between the two, in the output plane
#: One colour per run in Compare runs, in order.
RUN_COLORS = (TRAIN, TEST, GREEN, PURPLE, BRIGHT_RED, CYAN, AMBER, MID_GREY)
FONT_PT = 10


def color(name: str, alpha: int = 255) -> QColor:
    """A QColor of one of the colours above, with an alpha (0-255)."""
    c = QColor(name)
    c.setAlpha(alpha)
    return c


def rgba(name: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """(r, g, b, a) of one of the colours above, for pyqtgraph brushes."""
    c = QColor(name)
    return c.red(), c.green(), c.blue(), alpha


def configure():
    """Global pyqtgraph options; call once before any plot is made."""
    pg.setConfigOptions(
        background="w", foreground=TEXT, antialias=True, imageAxisOrder="row-major", useOpenGL=False
    )


def layer_colors(n: int) -> list[QColor]:
    """n distinguishable colours running from the input side (purple) to the output (green)."""
    cmap = pg.colormap.get("viridis")
    return [cmap.map(0.1 + 0.75 * i / max(n - 1, 1), mode="qcolor") for i in range(n)]


def diverging() -> pg.ColorMap:
    """Orange for 0 (or negative), white in the middle, blue for 1 (or positive)."""
    return pg.ColorMap([0.0, 0.5, 1.0], [CLASS_COLORS[0], MIDDLE, CLASS_COLORS[1]])


def shading() -> pg.ColorMap:
    """The output plane's background: the class colours mixed with white, light enough that
    the points (in the full colours) stay visible on their own class's region."""
    light = [mix(c, 0.45) for c in (CLASS_COLORS[0], MIDDLE, CLASS_COLORS[1])]
    return pg.ColorMap([0.0, 0.5, 1.0], light)


def class_color(index: int) -> str:
    """The colour of class `index`; data with more classes than colours repeats them."""
    return CLASS_COLORS[index % len(CLASS_COLORS)]


def regions(probabilities: np.ndarray) -> np.ndarray:
    """An RGB picture (rows, columns, 3) of class probabilities (rows, columns, classes): each
    place in the colour of the class the network answers there, pale where it is unsure
    (the top probability near 1/classes) and deep where it is sure, as light as `shading`'s
    ends at most, so points in full colour stay visible."""
    k = probabilities.shape[-1]
    p = np.nan_to_num(probabilities, nan=1.0 / k)
    top = p.argmax(axis=-1)
    sure = np.clip((p.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    colours = np.array([QColor(class_color(i)).getRgb()[:3] for i in range(k)], float)
    amount = 0.45 * sure[..., None]
    return (255 + (colours[top] - 255) * amount).astype(np.uint8)


def mix(color: str, amount: float) -> tuple[int, int, int]:
    """`color` mixed with white: amount 1 is the colour itself, 0 is white."""
    c = QColor(color)
    return tuple(int(255 + (v - 255) * amount) for v in (c.red(), c.green(), c.blue()))


def dead_map() -> pg.ColorMap:
    """White for a unit active on every input, dark red for one active on none."""
    return pg.ColorMap([0.0, 0.6, 1.0], [(255, 255, 255), (253, 174, 97), (165, 0, 38)])


def keyed_title(plot: pg.PlotItem, title: str, entries=(), mark="━━"):
    """The plot's title with its key beside it: a swatch in each curve's colour and its name
    (a legend inside the plot would sit on the curves). `entries`: (name, colour)."""
    plot.bp_title = (title, tuple(entries), mark)  # to be drawn again at another zoom
    size = round((FONT_PT + 1) * zoom_factor(plot), 1)

    def html(title, gap):
        key = "".join(
            f"{gap}<span style='color:{color}; font-weight:bold'>{mark}</span>&nbsp;{name}"
            for name, color in entries
        )
        return f"<span style='font-size:{size}pt'>{title}</span>{key}"

    plot.setTitle(html(title, "&nbsp;&nbsp;"))
    room = plot.vb.width() - 8  # the title sits over the data area, not the axes
    # Many entries (six classes) on a narrow plot: the key alone, closer together. (Only
    # then: a plot drawn before it is laid out would lose a short title for nothing.)
    if len(entries) > MANY_ENTRIES and room > 0 and title_width(plot) > room:
        plot.setTitle(html("", "&nbsp;"))


#: Keys longer than this may drop their plot's title to fit (the output plane's classes).
MANY_ENTRIES = 3


def title_width(plot: pg.PlotItem) -> float:
    """How wide the plot's title is drawn, in pixels."""
    return plot.titleLabel.item.document().idealWidth()


def zoom_factor(item) -> float:
    """How much larger than normal the window around a plot draws its text (View > Zoom)."""
    view = item.getViewWidget() if hasattr(item, "getViewWidget") else None
    return getattr(view.window(), "zoom", 1.0) if view is not None else ZOOM[0]


#: The zoom of text in plots made before they are in a window (the window's own zoom after).
ZOOM = [1.0]


def rezoom_plots(root: QWidget, zoom: float):
    """Draw every plot under `root` with text `zoom` times its normal size: titles, axis
    labels and tick numbers."""
    ZOOM[0] = zoom
    views = root.findChildren(pg.GraphicsView)
    if isinstance(root, pg.GraphicsView):
        views.append(root)
    for view in views:
        font = QFont(root.font())
        view.scene().setFont(font)
        for item in view.scene().items():
            if not isinstance(item, pg.PlotItem):
                continue
            if hasattr(item, "bp_title"):
                keyed_title(item, *item.bp_title)
            for side in ("left", "bottom", "right"):
                axis = item.getAxis(side)
                axis.setStyle(tickFont=font)
                if axis.labelText:
                    axis.setLabel(axis.labelText, **{"font-size": f"{font.pointSizeF():.1f}pt"})


def swatch(color: str, size: int = 14) -> QIcon:
    """A square of `color`: the key of a curve in a list."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


def plot_area() -> pg.GraphicsLayoutWidget:
    """A canvas for plots with thin margins (pyqtgraph's own 9 pixels a side, twice over,
    were a fifth of a plot's height on a projector)."""
    area = pg.GraphicsLayoutWidget()
    area.ci.setContentsMargins(2, 2, 4, 2)
    area.ci.layout.setSpacing(4)
    return area


class PlotStack(QStackedWidget):
    """Plots, or in their place a short sentence while they have nothing to show (empty
    axes running 0 to 1 would look like a measurement)."""

    def __init__(self, plots: QWidget, parent=None):
        super().__init__(parent)
        self.plots = plots
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setObjectName("empty-plot")
        self.message.setStyleSheet(f"#empty-plot {{ color: {DARK_GREY}; background: white; }}")
        self.addWidget(plots)
        self.addWidget(self.message)

    def show_message(self, text: str):
        self.message.setText(text)
        self.setCurrentWidget(self.message)

    def show_plots(self):
        self.setCurrentWidget(self.plots)

    @property
    def empty(self) -> bool:
        return self.currentWidget() is self.message


def style_plot(plot: pg.PlotItem, title: str, x: str = "", y: str = ""):
    keyed_title(plot, title)
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)
    # Axes and titles are redrawn only when they change, not on every frame (an axis costs
    # about a millisecond to draw, and there are a dozen).
    for item in (*(a["item"] for a in plot.axes.values()), plot.titleLabel):
        item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    plot.showGrid(x=True, y=True, alpha=0.15)
    if x:
        plot.setLabel("bottom", x)
    if y:
        plot.setLabel("left", y)
    plot.setMenuEnabled(True)
    # Of pyqtgraph's plot options, the grid and the curves' alpha: its transforms (FFT, log,
    # derivative…), downsampling, averaging and point modes redraw a curve as something the
    # panel's title, axes and texts do not describe (a log axis of the gradients' log10).
    for action in plot.ctrlMenu.actions():
        if action.text() not in PLOT_OPTIONS:
            plot.ctrlMenu.removeAction(action)
    return plot


#: The submenus of a plot's "Plot Options" kept in its context menu.
PLOT_OPTIONS = ("Alpha", "Grid")


def nice_ceil(x: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7.5 times a power of ten that is >= x."""
    if not x > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 1.5, 2, 3, 5, 7.5, 10) if m * power >= x)


class StickyRange:
    """Keeps one axis of a plot still until the data leaves it (or shrinks to a quarter of
    it), so the axis is not redrawn on every frame as autorange would; `tight` (training at
    rest) fits it to the data instead: a run of 500 steps took two thirds of an axis to 750."""

    def __init__(self, plot: pg.PlotItem, axis: str, from_zero=False):
        self.plot, self.axis, self.from_zero = plot, axis, from_zero
        self.range = None
        plot.enableAutoRange(axis=axis, enable=False)

    def update(self, values, tight=False):
        values = np.asarray(values, float)
        values = values[np.isfinite(values)]
        if not values.size:  # nothing yet (a new project or run): no axes of the old one
            if self.range is not None:
                self.range = None
                (self.plot.setXRange if self.axis == "x" else self.plot.setYRange)(0, 1)
            return
        lo, hi = float(values.min()), float(values.max())
        if self.from_zero:
            lo = min(lo, 0.0)
        if self.range is not None and not tight:
            r0, r1 = self.range
            inside = r0 <= lo and hi <= r1
            if inside and (hi - lo) >= (r1 - r0) / 4:
                return
        if tight and hi > lo:
            new = (lo, hi + (hi - lo) * 0.02)
        elif self.from_zero:
            new = (lo, nice_ceil(hi * 1.05) if hi > 0 else 1.0)
        else:
            pad = (hi - lo) * 0.15 or max(abs(hi) * 0.1, 1e-3)
            new = (lo - pad, hi + pad)
        self.range = new
        if self.axis == "x":
            self.plot.setXRange(*new, padding=0)
        else:
            self.plot.setYRange(*new, padding=0)


class StatusLabel(QWidget):
    """A line (or a few lines) of text with <b> and <i> in it that changes on every frame
    without moving or repainting anything else.

    It keeps its size, lays its text out with a QTextLayout only when it is painted, and paints
    only itself, opaque (why not a QLabel, measured: docs/architecture.md). The same text set
    again does nothing. Its text is copied from its context menu."""

    MARGIN = 2

    def __init__(self, lines: int = 1, parent=None):
        super().__init__(parent)
        self._lines = lines
        self._text = ""
        self._plain, self._formats = "", []
        self._layout = None  # laid out again when the text or the width changes
        self.cut = False  # the text did not fit when last laid out
        self._alignment = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * lines + 4)
        copy = QAction("Copy text", self)
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(self._plain))
        self.addAction(copy)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def text(self) -> str:
        return self._text

    def plain_text(self) -> str:
        return self._plain

    def setText(self, text: str):
        if text != self._text:
            self._text = text
            self._plain, self._formats = styled_runs(text)
            self._layout = None
            self.update()

    def setAlignment(self, alignment):
        self._alignment = alignment
        self.update()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._layout = None

    def _laid_out(self) -> tuple[QTextLayout, float]:
        if self._layout is None:
            layout = QTextLayout(self._plain, self.font())
            layout.setFormats(self._formats)
            option = QTextOption()
            option.setWrapMode(
                QTextOption.WrapMode.WordWrap if self._lines > 1 else QTextOption.WrapMode.NoWrap
            )
            layout.setTextOption(option)
            width = max(self.width() - 2 * self.MARGIN, 1)
            height = needed = 0.0
            layout.beginLayout()
            while (line := layout.createLine()).isValid():
                line.setLineWidth(width)
                line.setPosition(QPointF(0, height))
                height += line.height()
                needed = max(needed, line.naturalTextWidth())
            layout.endLayout()
            self._layout = (layout, height)
            # Cut off by the panel's edge or its last line: the whole text on hovering.
            cut = needed > width or height > self.height() + 0.5
            self.cut = cut
            tip = self._plain if cut else ""
            if tip != self.toolTip():  # the info strip is laid out on every frame
                self.setToolTip(tip)
        return self._layout

    def paintEvent(self, event):
        layout, height = self._laid_out()
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        painter.setPen(self.palette().windowText().color())
        top = self.MARGIN
        if self._alignment & Qt.AlignmentFlag.AlignVCenter:
            top = (self.height() - height) / 2
        layout.draw(painter, QPointF(self.MARGIN, top))
        painter.end()


_TAGS = re.compile(r"<(/?)([bi])>")


def styled_runs(text: str) -> tuple[str, list]:
    """The plain text of `text` (with <b>, <i> and HTML entities) and its bold and italic
    ranges, for a QTextLayout."""
    plain, formats = [], []
    bold = italic = False
    position = length = 0

    def add(piece):
        nonlocal length
        piece = html.unescape(piece)
        size = len(piece.encode("utf-16-le")) // 2  # Qt counts UTF-16 code units
        if piece and (bold or italic):
            style = QTextCharFormat()
            if bold:
                style.setFontWeight(QFont.Weight.Bold)
            style.setFontItalic(italic)
            run = QTextLayout.FormatRange()
            run.start, run.length, run.format = length, size, style
            formats.append(run)
        plain.append(piece)
        length += size

    for match in _TAGS.finditer(text):
        add(text[position : match.start()])
        on = match.group(1) == ""
        if match.group(2) == "b":
            bold = on
        else:
            italic = on
        position = match.end()
    add(text[position:])
    return "".join(plain), formats


def scrolled(widget) -> QScrollArea:
    """`widget` in a frameless scroll area that resizes it: for forms and texts that may be
    taller than the room a dock or splitter leaves them."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area
