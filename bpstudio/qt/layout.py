"""The panels of the window, declared once: PANELS says each one's name, title, where it sits,
how it is made, whether it can be exported and which classroom lock disables it. The docks,
the View menu, the export menu, classroom mode, `bpstudio screenshot --panel` and the
project schema's classroom enums all follow this table (a test checks the schema)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

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
LAYOUT_VERSION = 2


@dataclass(frozen=True)
class PanelSpec:
    name: str
    title: str
    make: Callable[[QObject], QWidget]  # (the snapshot hub) -> the panel
    area: Qt.DockWidgetArea | None  # None: the middle of the window
    exports: bool = True  # PNG, SVG and CSV from File > Export
    scroll: bool = False  # a form that may be taller than the room left for it
    lock: str | None = None  # the classroom lock that disables it


PANELS = (
    PanelSpec("network", "Network", BuilderPanel, None),
    PanelSpec("output", "Output", OutputPanel, Area.RightDockWidgetArea),
    PanelSpec("loss", "Loss", LossPanel, Area.RightDockWidgetArea),
    PanelSpec("gradients", "Gradients", GradientsPanel, Area.BottomDockWidgetArea),
    PanelSpec("dead_units", "Dead units", DeadUnitsPanel, Area.BottomDockWidgetArea),
    PanelSpec("histograms", "Histograms", HistogramsPanel, Area.BottomDockWidgetArea),
    PanelSpec("runs", "Compare runs", RunsPanel, Area.BottomDockWidgetArea),
    PanelSpec(
        "dataset",
        "Data",
        lambda hub: DatasetPanel(),
        Area.LeftDockWidgetArea,
        exports=False,
        scroll=True,
        lock="dataset",
    ),
    PanelSpec(
        "settings",
        "Training settings",
        lambda hub: SettingsPanel(),
        Area.LeftDockWidgetArea,
        exports=False,
        scroll=True,
        lock="settings",
    ),
    PanelSpec("lesson", "Lesson", lambda hub: LessonPanel(), Area.LeftDockWidgetArea, False),
)
PANEL_NAMES = tuple(spec.name for spec in PANELS)


def make_panels(hub: QObject) -> dict[str, QWidget]:
    """Every panel of the table, by name, fed by `hub`'s snapshots."""
    panels = {}
    for spec in PANELS:
        panel = spec.make(hub)
        panel.setObjectName(f"{spec.name}-panel")
        if isinstance(panel, Panel):
            panel.name, panel.title = spec.name, spec.title
        panels[spec.name] = panel
    return panels


def make_docks(window: QMainWindow, panels: dict[str, QWidget]) -> dict[str, QDockWidget]:
    """A dock for every panel with an area, in the window, arranged as a new user first sees
    them: data and lesson tabbed on the left, output over loss on the right, gradients, dead
    units and histograms/compare runs along the bottom."""
    docks = {}
    for spec in PANELS:
        if spec.area is None:
            continue
        widget = panels[spec.name]
        if spec.scroll:
            area = theme.scrolled(widget)
            area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            area.setMinimumWidth(widget.sizeHint().width() + 16)
            widget = area
        dock = QDockWidget(spec.title, window)
        dock.setObjectName(f"{spec.name}-dock")
        dock.setWidget(widget)
        window.addDockWidget(spec.area, dock)
        docks[spec.name] = dock
    window.splitDockWidget(docks["output"], docks["loss"], Qt.Orientation.Vertical)
    window.splitDockWidget(docks["gradients"], docks["dead_units"], Qt.Orientation.Horizontal)
    window.splitDockWidget(docks["dead_units"], docks["histograms"], Qt.Orientation.Horizontal)
    window.tabifyDockWidget(docks["histograms"], docks["runs"])
    window.tabifyDockWidget(docks["dataset"], docks["lesson"])
    docks["histograms"].raise_()
    docks["dataset"].raise_()
    window.resizeDocks([docks["dataset"]], [300], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["output"]], [540], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["gradients"]], [300], Qt.Orientation.Vertical)
    window.resizeDocks(
        [docks["gradients"], docks["dead_units"], docks["histograms"]],
        [620, 480, 500],
        Qt.Orientation.Horizontal,
    )
    window.resizeDocks([docks["output"], docks["loss"]], [330, 370], Qt.Orientation.Vertical)
    for name, dock in docks.items():
        panel = panels[name]
        if isinstance(panel, Panel):  # raised from behind another tab: draw what it missed
            dock.visibilityChanged.connect(lambda visible, p=panel: visible and p.refresh())
    return docks
