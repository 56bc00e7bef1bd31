"""The panels of the window, declared once: PANELS says each one's name, title, where it sits,
how it is made, whether it can be exported and which classroom lock disables it. The docks,
the View menu, the export menu, classroom mode, `bpstudio screenshot --panel` and the
project schema's classroom enums all follow this table (a test checks the schema)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabWidget, QWidget

from bpstudio.qt import theme
from bpstudio.qt.builder import BuilderPanel
from bpstudio.qt.controls import DatasetPanel, SettingsPanel
from bpstudio.qt.lesson import LessonPanel
from bpstudio.qt.panels.base import Panel
from bpstudio.qt.panels.dead_units import DeadUnitsPanel
from bpstudio.qt.panels.gradients import GradientsPanel
from bpstudio.qt.panels.histograms import HistogramsPanel
from bpstudio.qt.panels.loss import LossPanel
from bpstudio.qt.panels.output import OutputPanel
from bpstudio.qt.panels.runs import RunsPanel

Area = Qt.DockWidgetArea
#: Bumped when the panels change, so that a layout saved by an older version (without the new
#: docks) is not restored with them in odd places.
LAYOUT_VERSION = 3


@dataclass(frozen=True)
class PanelSpec:
    name: str
    title: str
    make: Callable[[QObject, dict], QWidget]  # (the snapshot hub, panels made so far) -> it
    area: Qt.DockWidgetArea | None  # None: the middle of the window
    exports: bool = True  # PNG, SVG and CSV from File > Export
    scroll: bool = False  # a form that may be taller than the room left for it
    lock: str | None = None  # the classroom lock that disables it


PANELS = (
    PanelSpec("network", "Network", lambda hub, _: BuilderPanel(hub), None),
    PanelSpec("output", "Output", lambda hub, _: OutputPanel(hub), Area.RightDockWidgetArea),
    PanelSpec("loss", "Loss", lambda hub, _: LossPanel(hub), Area.BottomDockWidgetArea),
    PanelSpec(
        "gradients", "Gradients", lambda hub, _: GradientsPanel(hub), Area.BottomDockWidgetArea
    ),
    PanelSpec(
        "dead_units", "Dead units", lambda hub, _: DeadUnitsPanel(hub), Area.BottomDockWidgetArea
    ),
    PanelSpec(
        "histograms", "Histograms", lambda hub, _: HistogramsPanel(hub), Area.BottomDockWidgetArea
    ),
    PanelSpec("runs", "Compare runs", lambda hub, _: RunsPanel(hub), Area.BottomDockWidgetArea),
    PanelSpec("lesson", "Lesson", lambda *_: LessonPanel(), Area.LeftDockWidgetArea, False),
    PanelSpec(
        "dataset",
        "Data",
        lambda *_: DatasetPanel(),
        Area.LeftDockWidgetArea,
        exports=False,
        scroll=True,
        lock="dataset",
    ),
    PanelSpec(
        "settings",
        "Training",
        lambda *_: SettingsPanel(),
        Area.LeftDockWidgetArea,
        exports=False,
        scroll=True,
        lock="settings",
    ),
    PanelSpec(
        "layer",
        "Layer",
        lambda _, panels: panels["network"].details,
        Area.LeftDockWidgetArea,
        exports=False,
        scroll=True,
    ),
)
#: The panels along the bottom, tabbed: one of them at a time gets the room (a lesson names
#: the one it is about).
FOCUS_PANELS = ("loss", "gradients", "dead_units", "histograms", "runs")
PANEL_NAMES = tuple(spec.name for spec in PANELS)


def make_panels(hub: QObject) -> dict[str, QWidget]:
    """Every panel of the table, by name, fed by `hub`'s snapshots."""
    panels = {}
    for spec in PANELS:
        panel = spec.make(hub, panels)
        panel.setObjectName(f"{spec.name}-panel")
        if isinstance(panel, Panel):
            panel.name, panel.title = spec.name, spec.title
        panels[spec.name] = panel
    return panels


def make_docks(window: QMainWindow, panels: dict[str, QWidget]) -> dict[str, QDockWidget]:
    """A dock for every panel with an area, arranged as a new user first sees them, for a
    1280×720 projector first: lesson, data, training and layer tabbed in a column on the
    left; the network in the middle with the output plane beside it; the loss, gradients,
    dead units, histograms and compare runs tabbed along the bottom, one at a time."""
    window.setCorner(Qt.Corner.TopLeftCorner, Area.LeftDockWidgetArea)
    window.setCorner(Qt.Corner.BottomLeftCorner, Area.LeftDockWidgetArea)
    window.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
    docks = {}
    for spec in PANELS:
        if spec.area is None:
            continue
        widget = panels[spec.name]
        if spec.scroll:
            area = theme.scrolled(widget)
            area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            widget = area
        dock = QDockWidget(spec.title, window)
        dock.setObjectName(f"{spec.name}-dock")
        dock.setWidget(widget)
        window.addDockWidget(spec.area, dock)
        docks[spec.name] = dock
    for group in (FOCUS_PANELS, ("lesson", "dataset", "settings", "layer")):
        for name in group[1:]:
            window.tabifyDockWidget(docks[group[0]], docks[name])
        for name in group:
            _title_only_when_floating(docks[name])
    _title_only_when_floating(docks["output"])  # its plot's title says what it is
    docks["loss"].raise_()
    docks["lesson"].raise_()
    for name, dock in docks.items():
        panel = panels[name]
        if isinstance(panel, Panel):  # raised from behind another tab: draw what it missed
            dock.visibilityChanged.connect(lambda visible, p=panel: visible and p.refresh())
    return docks


def _title_only_when_floating(dock: QDockWidget):
    """A tabbed dock's tab already says its name: its title bar would only take a line of a
    projector's height. Floating, it gets the bar back (to be moved and closed)."""

    # One blank bar, the dock's child for good: a bar made anew each time was left behind,
    # parentless, when the dock floated, and Python deleted it under Qt's feet.
    blank = QWidget(dock)

    def follow(floating):
        dock.setTitleBarWidget(None if floating else blank)
        blank.setVisible(not floating)

    dock.topLevelChanged.connect(follow)
    follow(False)


def arrange(window: QMainWindow, docks: dict[str, QDockWidget], width: int, height: int):
    """Share a `width`×`height` window out: the output plane square and at least 40% of the
    window's height, the left column about a quarter of the width, the bottom panels the
    rest of the height."""
    left = int(min(max(0.23 * width, 320), 420))  # four tabs, none of them cut
    plane = int(0.4 * height) + 4  # the plane's data area, with a few pixels to spare
    window.resizeDocks([docks["lesson"]], [left], Qt.Orientation.Horizontal)
    # The plot is square: its key above and its bottom axis below take 52 pixels, which the
    # left axis does not need; the options take a row above it.
    window.resizeDocks([docks["output"]], [plane + 58], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["output"]], [plane + 86], Qt.Orientation.Vertical)
    # The bottom panels get the rest of the height (less the menu, toolbar and status bar).
    chrome = window.menuBar().sizeHint().height() + window.statusBar().sizeHint().height() + 44
    window.resizeDocks(
        [docks[FOCUS_PANELS[0]]], [height - chrome - plane - 86], Qt.Orientation.Vertical
    )
