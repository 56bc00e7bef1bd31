"""The window at the sizes teachers use (a 1280×720 projector, a 1366×768 laptop, a 1920×1080
desktop), for every lesson and a new project, trained a little: the real window is rendered
offscreen and every visible widget is walked. The output plane is big, no plot is a
thumbnail, no text is cut or elided, the canvas text reads at 9 pt or more and the texts
under its columns stay apart."""

from __future__ import annotations

import itertools
import tempfile

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QScrollArea,
    QTabBar,
    QWidget,
)

from bpstudio.lessons import lessons
from bpstudio.lessons.catalog import with_fix
from bpstudio.project import Project, load_project
from bpstudio.qt import theme
from bpstudio.viewmodel.layout import MINIMUM_SIZE, SIZES
from bpstudio.viewmodel.snapshots import SnapshotMaker

#: Lesson 3 with its batch-norm fix: bars between its columns, which write nothing under them.
PROJECTS = [f"lesson {x.number}" for x in lessons()] + ["new project", "lesson 3 batch norm"]
#: Other pictures of the output panel: a confusion matrix with test images, one without, a
#: regression plane and predicted against actual values.
DATA = ["digits", "csv", "plane", "csv regression", "playground", "blobs"]


def project_on(data) -> Project:
    from pathlib import Path

    from bpstudio.data.csvdata import read_csv
    from bpstudio.data.datasets import DatasetRecipe

    csv = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "data" / "exam-results.csv"
    if data == "playground":  # Playground's own setup: a tanh output on -1/+1 labels
        from bpstudio.project.playground import open_link

        return open_link("#dataset=spiral&networkShape=8,8,8,8,8,8&showTestData=true").project
    table = None
    if data == "csv":
        table = read_csv(csv, target="result")
    elif data == "csv regression":  # three numbers, the third a noisy sum of the others
        rng = np.random.default_rng(0)
        x = rng.normal(size=(200, 2))
        rows = np.column_stack([x, x.sum(axis=1) + 0.1 * rng.normal(size=200)])
        path = Path(tempfile.mkdtemp()) / "sums.csv"
        path.write_text("a,b,total\n" + "\n".join(",".join(f"{v:.4f}" for v in r) for r in rows))
        table = read_csv(path, target="total")
    project = Project(
        name=f"{data} data",
        dataset=DatasetRecipe(data.split()[0], n_samples=300, classes=6 * (data == "blobs")),
        table=table,
        layers=[
            {"class": "Dense", "units": 8, "activation": "relu"},
            {"class": "Dense", "units": 1},
        ],
    )
    project.fit_output_to(project.build_dataset())
    return project


def project_named(name) -> Project:
    if name in DATA:
        return project_on(name)
    if name == "new project":  # what File > New makes
        from bpstudio.qt.controllers.files import UNTITLED, first_lesson

        project = first_lesson()
        project.name, project.description, project.lesson = UNTITLED, "", None
        return project
    number = int(name.split()[1])
    project = load_project(next(x.path for x in lessons() if x.number == number))
    return with_fix(project, 2) if name.endswith("batch norm") else project


def seen(widget: QWidget) -> bool:
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def on_top(widget: QWidget, window) -> bool:
    """Whether `widget` is the one drawn at its middle: the main window keeps tab bars it no
    longer uses, visible but under the ones it does."""
    middle = widget.mapTo(window, widget.rect().center())
    top = window.childAt(middle)
    return top is not None and (top is widget or widget.isAncestorOf(top))


def in_scroll_area(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def cut_texts(window) -> list[str]:
    """Every text on screen that does not fit where it is drawn."""
    problems = []
    for widget in window.findChildren(QWidget):
        if not seen(widget):
            continue
        name = f"{type(widget).__name__} {widget.objectName()!r}"
        if isinstance(widget, QLabel) and widget.text():
            if widget.wordWrap():
                if not in_scroll_area(widget) and widget.heightForWidth(widget.width()) > (
                    widget.height() + 1
                ):
                    problems.append(f"{name}: {widget.text()[:60]!r} wraps past its height")
            elif widget.minimumSizeHint().width() > widget.width() + 1:
                problems.append(f"{name}: {widget.text()[:60]!r} is wider than its label")
        elif isinstance(widget, QAbstractButton) and widget.text():
            if widget.sizeHint().width() > widget.width() + 1:
                problems.append(f"{name}: {widget.text()!r} is cut")
        elif isinstance(widget, QComboBox):
            text = widget.fontMetrics().horizontalAdvance(widget.currentText())
            if text + 24 > widget.width():
                problems.append(f"{name}: {widget.currentText()!r} is cut")
        elif isinstance(widget, theme.StatusLabel):
            widget.grab()  # laid out as it is painted
            if widget.cut:
                problems.append(f"{name}: {widget.plain_text()[:60]!r} is cut")
        elif isinstance(widget, QScrollArea) and widget.horizontalScrollBar().isVisible():
            problems.append(f"{name}: scrolls sideways (something in it is too wide)")
        elif isinstance(widget, QTabBar) and on_top(widget, window):
            for i in range(widget.count()):
                text = widget.fontMetrics().horizontalAdvance(widget.tabText(i))
                if text > widget.tabRect(i).width() - 8:
                    problems.append(f"tab {widget.tabText(i)!r} is cut")
    canvas = window.network_panel.canvas
    problems += [f"canvas: {text!r} elided" for text in sorted(canvas.elided)]
    for panel, plot in plots_seen(window):  # a plot's title and key, drawn by pyqtgraph
        title = plot.titleLabel
        if theme.title_width(plot) > plot.vb.width() + 1:
            problems.append(f"{panel}: the title {title.text[:60]!r} is wider than its plot")
    return problems


def plots_seen(window) -> list[tuple[str, pg.PlotItem]]:
    found = []
    for name, panel in window.panels.items():
        if not seen(panel) or not hasattr(panel, "plot_items"):
            continue
        for plot in panel.plot_items():
            view = plot.getViewWidget()
            if plot.isVisible() and view is not None and seen(view.viewport()):
                found.append((name, plot))
    return found


def crowded_texts(canvas) -> list[str]:
    """Texts on the same line under neighbouring canvas columns less than half an em apart
    (from the back of a room two such texts read as one)."""
    metrics = QFontMetricsF(canvas.text_font())
    em = metrics.horizontalAdvance("M")
    columns = [item for item in canvas.items if item.col.has_units]
    problems = []
    for a, b in itertools.pairwise(columns):
        left, right = dict(a.written_below()), dict(b.written_below())
        for row in left.keys() & right.keys():
            widths = min(metrics.horizontalAdvance(left[row]), a.col.room) + min(
                metrics.horizontalAdvance(right[row]), b.col.room
            )
            gap = b.col.x - a.col.x - widths / 2
            if gap < em / 2:
                problems.append(f"{left[row]!r}, {right[row]!r}: {gap:.1f} apart (em {em:.1f})")
    return problems


def trained_window(make_window, qtbot, name, size):
    window = make_window(project_named(name))
    window.resize(*size)
    QApplication.processEvents()
    window.reset_layout()
    # Train a few epochs here, as `bpstudio screenshot` does, and show the result.
    window.session.stop()
    trainer = window.session.trainer
    trainer.fit(epochs=3)
    window.hub.offer(SnapshotMaker(trainer, timed=False).make(final=True))
    for _ in range(3):
        QApplication.processEvents()
    return window


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("name", PROJECTS + DATA)
def test_everything_is_big_enough_and_nothing_is_cut(qtbot, make_window, name, size):
    window = trained_window(make_window, qtbot, name, size)
    assert (window.width(), window.height()) == size
    # The output plane: its data area's shorter side at least 40% of the window's.
    output = window.panels["output"]
    if output.stack.currentWidget() is output.plane.parent():
        area = output.plane_plot.vb.size()
        assert min(area.width(), area.height()) >= 0.4 * min(size), area
    # No plot's data area under 160×110 pixels.
    plots = plots_seen(window)
    assert plots, "no plot is visible"
    for panel, plot in plots:
        area = plot.vb.size()
        assert area.width() >= 160 and area.height() >= 110, (panel, area)
    problems = cut_texts(window)
    assert not problems, "\n".join(problems)
    canvas = window.network_panel.canvas
    assert canvas.smallest_text_pt() >= 9.0 - 1e-6
    crowded = crowded_texts(canvas)
    assert not crowded, "\n".join(crowded)
    # A bar's text is inside it, none below.
    assert not any(item.written_below() for item in canvas.items if item.col.bar)
    window.document.modified = False


def test_nothing_the_user_does_raises_the_minimum_size(qtbot, make_window):
    window = make_window()
    builder = window.network_panel
    for _ in range(3):  # edits whose undo texts are long
        builder.canvas.select(0)
        builder.inspector.changed.emit(0, {"activation": "leaky_relu"})
        builder.inspector.changed.emit(0, {"activation": "tanh"})
        builder.add_after_selection("BatchNormalization")
    QApplication.processEvents()
    assert "Batch norm" in window.edits.undo_stack.undoText()
    hint = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert hint.width() <= MINIMUM_SIZE[0] and hint.height() <= MINIMUM_SIZE[1], hint
    window.document.modified = False


def test_the_window_opens_inside_the_screen(qtbot, make_window, settings):
    window = make_window()
    window.move(5000, 5000)
    window.resize(4000, 3000)
    window.document.modified = False
    window.close()
    again = make_window()  # the remembered geometry, clamped to the screen
    screen = again.screen().availableGeometry()
    size = again.size()
    assert size.width() <= max(screen.width(), MINIMUM_SIZE[0])
    assert size.height() <= max(screen.height(), MINIMUM_SIZE[1])
    assert screen.intersects(again.frameGeometry())
    again.document.modified = False


def test_a_settings_file_of_another_machine_still_opens(qtbot, tmp_path):
    # Remembered geometry that cannot be restored: the default size, clamped.
    from bpstudio.qt.window import StudioWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("window/geometry", b"not a geometry")
    window = StudioWindow(settings=settings, autosave_dir=tmp_path / "autosave")
    qtbot.addWidget(window)
    assert window.width() >= MINIMUM_SIZE[0] and window.height() >= MINIMUM_SIZE[1]
    window.document.modified = False
    window.close()


@pytest.mark.parametrize("tab", ["lesson", "dataset", "settings", "layer"])
@pytest.mark.parametrize("focus", ["loss", "gradients", "dead_units", "histograms", "runs"])
@pytest.mark.parametrize("name", ["lesson 3", "lesson 4"])  # the deepest, and dead units
def test_every_tab_reads_whole_on_a_projector(qtbot, make_window, name, tab, focus):
    """(The panel's own width: a panel wider than its dock is drawn cut at the dock's edge,
    which no widget inside it knows.)"""
    window = trained_window(make_window, qtbot, name, (1280, 720))
    window.network_panel.canvas.select(0)  # the layer tab has a layer to show
    window.show_panel(tab)
    window.show_panel(focus)
    for _ in range(3):
        QApplication.processEvents()
    problems = cut_texts(window)
    assert not problems, "\n".join(problems)
    dock = window.docks[tab]
    assert window.panels[tab].minimumSizeHint().width() <= dock.widget().width(), tab
    for panel, plot in plots_seen(window):
        area = plot.vb.size()
        assert area.width() >= 160 and area.height() >= 110, (panel, area)
    window.document.modified = False
