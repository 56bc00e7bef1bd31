"""View > Zoom and presentation mode: the whole window's text, plots and network drawn larger
for the back of a room, and a full-screen view of only what a class needs to see. Both are
remembered between sessions."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDockWidget, QMainWindow

from bpstudio.qt import theme
from bpstudio.qt.layout import FOCUS_PANELS, LAYOUT_VERSION, arrange

STEP = 1.15
ZOOMS = (0.7, 2.5)  # the smallest and largest zoom
#: In presentation mode text is at least this much larger than normal.
PRESENTATION_ZOOM = 1.3
#: What presentation mode shows (besides the network, which is always there).
SHOWN = ("lesson", "output")


class ViewController(QObject):
    """Zooms `window` (a QMainWindow with a `zoom` attribute the plots read) and takes it in
    and out of presentation mode."""

    def __init__(self, window: QMainWindow, docks: dict[str, QDockWidget], canvas, settings):
        super().__init__(window)
        self.window, self.docks, self.canvas = window, docks, canvas
        self.settings: QSettings = settings
        self.base_pt = window.font().pointSizeF()
        self.user_zoom = _clamp(float(settings.value("view/zoom", 1.0) or 1.0))
        self.presenting = False
        self._before = None  # (state, geometry, maximized) to go back to
        self.leave_key = QShortcut(QKeySequence("Esc"), window)
        self.leave_key.setEnabled(False)
        self.leave_key.activated.connect(self.toggle_presentation)
        window.zoom = 1.0
        self.apply(self.user_zoom)

    # ------------------------------------------------------------------ zoom

    def zoom_in(self):
        self._set_user_zoom(self.user_zoom * STEP)

    def zoom_out(self):
        self._set_user_zoom(self.user_zoom / STEP)

    def zoom_reset(self):
        self._set_user_zoom(1.0)

    def _set_user_zoom(self, zoom):
        self.user_zoom = _clamp(zoom)
        self.settings.setValue("view/zoom", self.user_zoom)
        self.apply(self._shown_zoom())

    def _shown_zoom(self) -> float:
        return max(self.user_zoom, PRESENTATION_ZOOM) if self.presenting else self.user_zoom

    def apply(self, zoom: float):
        """Draw the window's text, plots and network `zoom` times their normal size."""
        if abs(zoom - self.window.zoom) < 1e-9:
            return
        self.window.zoom = zoom
        font = self.window.font()
        font.setPointSizeF(round(self.base_pt * zoom, 2))
        self.window.setFont(font)
        theme.rezoom_plots(self.window, zoom)
        if self.canvas.columns:
            self.canvas.set_network(self.canvas.columns)  # its text grows, and its room

    # ------------------------------------------------------------------ presentation

    def toggle_presentation(self):
        if self.presenting:
            self.leave_presentation()
        else:
            self.enter_presentation()

    def enter_presentation(self, focus: str | None = None):
        """Full screen, larger text, and only the lesson, the network, the output and the
        focus panel (the lesson's, or the bottom panel in front now)."""
        if self.presenting:
            return
        w = self.window
        self._before = (w.saveState(LAYOUT_VERSION), w.saveGeometry(), w.isMaximized())
        focus = focus or self._front_focus()
        for name, dock in self.docks.items():
            if name in SHOWN or name == focus:
                dock.show()
                dock.raise_()
            else:
                dock.hide()
        self.presenting = True
        self.leave_key.setEnabled(True)
        self.settings.setValue("view/presentation", True)
        w.showFullScreen()
        self.apply(self._shown_zoom())
        # Shared out again for the whole screen, once the window has its new size.
        QTimer.singleShot(100, self._arrange)

    def _arrange(self):
        if self.presenting:
            arrange(self.window, self.docks, self.window.width(), self.window.height())

    def leave_presentation(self, closing=False):
        """Back to the window as it was. `closing`: the window closes in presentation mode,
        and opens in it next time."""
        if not self.presenting:
            return
        self.presenting = False
        self.leave_key.setEnabled(False)
        if not closing:
            self.settings.setValue("view/presentation", False)
        state, geometry, maximized = self._before
        w = self.window
        w.showMaximized() if maximized else w.showNormal()
        w.restoreGeometry(geometry)
        w.restoreState(state, LAYOUT_VERSION)
        self.apply(self._shown_zoom())

    def remembered_presentation(self) -> bool:
        return str(self.settings.value("view/presentation", False)).lower() == "true"

    def _front_focus(self) -> str:
        for name in FOCUS_PANELS:
            dock = self.docks[name]
            if dock.isVisible() and not dock.visibleRegion().isEmpty():
                return name
        return FOCUS_PANELS[0]


def _clamp(zoom: float) -> float:
    return min(max(zoom, ZOOMS[0]), ZOOMS[1])
