"""View > Zoom, presentation mode and the Help menu, as a user drives them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from bpstudio.qt.controllers.view import PRESENTATION_ZOOM


def shown_docks(window) -> set[str]:
    return {name for name, dock in window.docks.items() if not dock.isHidden()}


def test_zoom_scales_text_plots_and_canvas_and_is_remembered(qtbot, make_window, settings):
    window = make_window()
    base = window.font().pointSizeF()
    canvas = window.network_panel.canvas
    smallest = canvas.smallest_text_pt()
    title = window.panels["loss"].loss_plot.titleLabel.text
    window.actions["zoom_in"].trigger()
    window.actions["zoom_in"].trigger()
    QApplication.processEvents()
    assert window.zoom > 1.3
    assert window.font().pointSizeF() > 1.3 * base
    assert window.panels["lesson"].font().pointSizeF() > 1.3 * base  # every panel follows
    assert canvas.smallest_text_pt() > 1.25 * smallest
    assert window.panels["loss"].loss_plot.titleLabel.text != title  # drawn larger
    assert "font-size:14" in window.panels["loss"].loss_plot.titleLabel.text
    window.document.modified = False
    window.close()
    again = make_window()  # remembered
    assert again.zoom > 1.3
    again.actions["zoom_reset"].trigger()
    assert again.zoom == 1.0 and again.font().pointSizeF() == base
    for _ in range(20):  # never past its limits
        again.actions["zoom_out"].trigger()
    assert again.zoom >= 0.7
    keys = [k.toString() for k in again.actions["zoom_in"].shortcuts()]
    assert "Ctrl+=" in keys and again.actions["zoom_reset"].shortcut().toString() == "Ctrl+0"
    again.document.modified = False


def test_a_plot_made_after_zooming_is_zoomed_like_the_rest(qtbot, make_window):
    window = make_window()
    window.actions["zoom_in"].trigger()
    window.actions["zoom_in"].trigger()
    panel = window.panels["dataset"]
    panel.choice.setCurrentIndex(panel.choice.findData("digits"))  # the confusion matrix, new
    output = window.panels["output"]
    qtbot.waitUntil(lambda: output.matrix_view is not None, timeout=10000)

    def tick_pt(plot):
        return plot.getAxis("bottom").style["tickFont"].pointSizeF()

    assert tick_pt(output.matrix_plot) == tick_pt(window.panels["loss"].loss_plot)
    assert tick_pt(output.matrix_plot) > 1.3 * QApplication.font().pointSizeF()
    window.document.modified = False


def test_presentation_mode_shows_only_what_the_class_needs(qtbot, make_window, settings):
    window = make_window()
    window.open_lesson(2)  # its focus: the gradients
    before = shown_docks(window)
    window.actions["presentation"].trigger()
    assert window.view.presenting and window.isFullScreen()
    assert shown_docks(window) == {"lesson", "output", "gradients"}
    assert window.network_panel.isVisible()
    assert window.zoom >= PRESENTATION_ZOOM
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # Esc leaves, as F11 does
    assert not window.view.presenting and not window.isFullScreen()
    assert shown_docks(window) == before and window.zoom == 1.0
    window.actions["presentation"].trigger()
    window.document.modified = False
    window.close()  # closed while presenting: it opens presenting
    again = make_window()
    assert again.view.presenting and again.isFullScreen()
    again.actions["presentation"].trigger()
    assert shown_docks(again) == before  # the user's own arrangement was kept, not the show's
    again.document.modified = False


def test_help_lists_the_shortcuts_and_opens_the_shipped_tutorials(qtbot, make_window, monkeypatch):
    from bpstudio.qt.dialogs import ShortcutsDialog

    window = make_window()
    shown = []
    monkeypatch.setattr(ShortcutsDialog, "exec", lambda self: shown.append(self))
    window.actions["shortcuts"].trigger()
    table = shown[0].table
    rows = {table.item(r, 1).text(): table.item(r, 2).text() for r in range(table.rowCount())}
    assert "Space" in rows["Play"] and rows["Zoom in"].startswith("Ctrl+")
    assert rows["Keyboard shortcuts"] == "F1"
    assert window.actions["tutorials"].isEnabled()
    dialog = window.show_tutorials()
    qtbot.addWidget(dialog)
    text = dialog.browser.toPlainText()
    assert "Getting started" in text or "getting started" in text.lower()
    # A link to one tutorial opens it here, with its pictures, and Back returns.
    dialog.browser.setSource(dialog.browser.source().resolved("lesson-1-first-network.md"))
    assert "Lesson 1" in dialog.browser.toPlainText()
    assert dialog.back.isEnabled()
    dialog.close()
    window.document.modified = False


def test_each_lesson_opens_with_its_focus_panel_in_front(qtbot, make_window):
    from bpstudio.lessons import lessons

    window = make_window()
    window.docks["histograms"].hide()  # the user's own arrangement
    for lesson in lessons():
        window.open_lesson(lesson.number)
        QApplication.processEvents()
        focus = load_focus(lesson)
        assert focus in ("loss", "gradients", "dead_units", "runs")
        dock = window.docks[focus]
        assert dock.isVisible() and not dock.visibleRegion().isEmpty(), lesson.title
        assert dock.height() >= 200  # room to read it
        assert window.docks["histograms"].isHidden()  # not undone by a lesson
    window.document.modified = False


def load_focus(lesson) -> str:
    from bpstudio.project import load_project

    return load_project(lesson.path).lesson["focus"]


def test_a_tabbed_dock_has_its_title_bar_only_while_floating(qtbot, make_window):
    window = make_window()
    dock = window.docks["gradients"]
    blank = dock.titleBarWidget()
    assert blank is not None and blank.parent() is dock  # its tab says the name
    for _ in range(3):  # to and fro: the same blank bar, never left parentless
        dock.setFloating(True)
        assert dock.titleBarWidget() is None  # Qt's own bar, to move and close it
        dock.setFloating(False)
        assert dock.titleBarWidget() is blank
    QApplication.processEvents()
    assert blank.parent() is dock and blank.isWindow() is False
