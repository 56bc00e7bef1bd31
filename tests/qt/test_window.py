"""The real studio window, driven as a user drives it, checking what the panels received."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from bpstudio.data.datasets import DatasetRecipe
from bpstudio.project import Project, load_project
from bpstudio.qt.panels.gradients import FLOOR


def wait_idle(qtbot, window, timeout=5000):
    """Wait until the worker is at rest and its final snapshot has been drawn (not one made
    at the same step before it: the one after a chunk's last step comes before the epoch it
    closes is booked)."""
    controls = window.session.controls
    qtbot.waitUntil(controls.at_rest, timeout=timeout)
    trainer = window.session.trainer
    qtbot.waitUntil(
        lambda: (
            window.last_snapshot is not None
            and window.last_snapshot.final
            and window.last_snapshot.step == trainer.step_count
        ),
        timeout=timeout,
    )


def dense(units, activation, **kw):
    return {"class": "Dense", "units": units, "activation": activation, **kw}


def test_opens_on_the_first_lesson(qtbot, make_window):
    window = make_window()
    assert window.docks["loss"].visibleRegion().isEmpty() is False  # the lesson's focus
    window.show_panel("gradients")
    qtbot.waitUntil(lambda: window.panels["gradients"].shown is not None)
    # No step yet: no gradient bars (a bar on the floor would read as a vanishing gradient).
    assert not window.panels["gradients"].bars.opts["height"].any()
    assert not window.panels["gradients"].bars.isVisible()  # not even their outlines
    assert "Lesson 1" in window.windowTitle() or "Lesson 1" in window.description.text()
    assert window.last_snapshot.step == 0
    assert "Predict, then run" in window.panels["lesson"].question.text()


def test_step_and_step_epoch_and_what_the_panels_received(qtbot, make_window):
    window = make_window()
    trainer = window.session.trainer
    window.actions["step"].trigger()
    wait_idle(qtbot, window)
    assert trainer.step_count == 1
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    assert trainer.epoch == 1 and trainer.step_count == 25
    s = window.last_snapshot
    # The loss panel plots the epoch's test loss the trainer computed.
    x, y = window.panels["loss"].test_curve.getData()
    assert list(x) == [25] and y[0] == pytest.approx(trainer.history.epochs.last()["test_loss"])
    x, y = window.panels["loss"].batch_curve.getData()
    assert len(x) == 25 and y[-1] == pytest.approx(trainer.history.steps.last()["loss"])
    # The gradient bars are the last step's gradient norms on a log scale.
    window.show_panel("gradients")
    qtbot.waitUntil(lambda: window.panels["gradients"].shown is s)
    heights = window.panels["gradients"].bars.opts["height"]
    np.testing.assert_allclose(heights + FLOOR, np.log10(s.grad_norms))
    assert window.panels["gradients"].bars.isVisible()
    # The output plane shows the network's prediction over the grid.
    image = window.panels["output"].heat.image
    assert image.shape == (60, 60)
    np.testing.assert_allclose(image, s.output.grid)
    heat = window.panels["output"].heat  # and it covers the input plane, -6..6 on both axes
    placed = heat.mapRectToParent(heat.boundingRect())
    assert (placed.left(), placed.top(), placed.width(), placed.height()) == (-6, -6, 12, 12)
    assert "Epoch <b>1</b>" in window.info.text() and "Step <b>25</b>" in window.info.text()


def test_play_pause_and_reset(qtbot, make_window):
    window = make_window()
    trainer = window.session.trainer
    start = trainer.net.get_weights()
    window.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.last_snapshot.step > 200, timeout=10000)
    assert window.actions["play"].text() == "Pause"
    window.actions["play"].trigger()
    wait_idle(qtbot, window)
    paused = trainer.step_count
    qtbot.wait(300)
    assert trainer.step_count == paused and window.actions["play"].text() == "Play"
    assert window.last_snapshot.steps_per_second >= 0
    window.actions["reset"].trigger()
    qtbot.waitUntil(lambda: window.last_snapshot.step == 0, timeout=5000)
    for key, value in start.items():
        np.testing.assert_array_equal(trainer.net.get_weights()[key], value)


def test_learning_rate_changed_mid_run_takes_effect_and_leaves_a_marker(qtbot, make_window):
    window = make_window()
    trainer = window.session.trainer
    window.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.last_snapshot.step > 50, timeout=10000)
    box = window.panels["settings"].learning_rate
    box.setCurrentText("0.1")
    box.lineEdit().editingFinished.emit()
    qtbot.waitUntil(lambda: trainer.net.optimizer.learning_rate == 0.1, timeout=5000)
    window.actions["play"].trigger()
    wait_idle(qtbot, window)
    step, text = [e for e in trainer.history.events if "learning_rate" in e[1]][-1]
    assert text == "learning_rate 0.03 → 0.1" and 50 < step <= trainer.step_count
    marker = window.panels["loss"].markers[0]
    assert marker.isVisible() and marker.value() == step
    assert "learning rate <b>0.1</b>" in window.info.text()


def test_a_bad_typed_value_is_refused_and_changes_nothing(qtbot, make_window):
    window = make_window()
    box = window.panels["settings"].learning_rate
    for bad in ("abc", "-1", "0", "1e9", "nan"):
        box.setCurrentText(bad)
        box.lineEdit().editingFinished.emit()
        assert window.statusBar().currentMessage(), bad
    qtbot.wait(100)
    assert window.session.trainer.net.optimizer.learning_rate == 0.03
    assert "c5221f" in box.styleSheet()


def test_save_and_load_round_trip(qtbot, make_window, tmp_path):
    window = make_window()
    window.actions["epoch"].trigger()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    weights = window.session.trainer.net.get_weights()
    path = tmp_path / "mine.bpstudio"
    assert window.files.save_to(path)
    assert not window.document.modified and window.windowTitle().startswith("mine.bpstudio")
    assert str(path.resolve()) in window.files.recent()
    saved = load_project(path)
    assert saved.steps == 50 and len(saved.runs) == 1
    window.actions["reset"].trigger()
    qtbot.waitUntil(lambda: window.last_snapshot.step == 0, timeout=5000)
    assert window.files.open_path(path)
    qtbot.waitUntil(lambda: getattr(window.last_snapshot, "step", None) == 50, timeout=5000)
    for key, value in weights.items():
        np.testing.assert_array_equal(window.session.trainer.net.get_weights()[key], value)


def test_a_damaged_file_is_reported_and_the_open_project_stays(
    qtbot, make_window, tmp_path, monkeypatch
):
    window = make_window()
    shown = []
    monkeypatch.setattr(
        window.feedback, "error", lambda title, message, detail=None: shown.append(message)
    )
    bad = tmp_path / "bad.bpstudio"
    bad.write_bytes(b"not a zip")
    session = window.session
    assert not window.files.open_path(bad)
    assert "bad.bpstudio: not a readable project file" in shown[0]
    assert window.session is session


def test_exploding_run_shows_the_banner_and_rolls_back(qtbot, make_window):
    project = Project(
        name="boom",
        dataset=DatasetRecipe("plane"),
        loss="mse",
        optimizer={"name": "sgd", "learning_rate": 2.0},
        layers=[dense(8, "relu"), dense(8, "relu"), dense(1, "linear")],
    )
    window = make_window(project)
    window.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.failure_banner.isVisible(), timeout=15000)
    text = window.failure_banner.text.text()
    assert "Training stopped at step 270" in text and "Output" in text  # the layer's name
    assert "lower learning rate" in text
    assert window.actions["play"].text() == "Play"
    window.failure_banner.rollback_lower_button.click()
    qtbot.waitUntil(lambda: window.last_snapshot.failure is None, timeout=5000)
    wait_idle(qtbot, window)
    assert not window.failure_banner.isVisible()
    assert window.session.trainer.step_count == 250
    assert window.session.trainer.net.optimizer.learning_rate == pytest.approx(0.2)


def test_dead_units_panel_shows_what_the_trainer_measured(qtbot, make_window):
    project = Project(
        name="relu",
        dataset=DatasetRecipe("circle"),
        optimizer={"name": "sgd", "learning_rate": 0.3},
        layers=[dense(8, "relu"), dense(6, "relu"), dense(1, "sigmoid")],
    )
    window = make_window(project)
    window.show_panel("dead_units")
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    s = window.last_snapshot
    qtbot.waitUntil(lambda: window.panels["dead_units"].shown is s)
    assert s.relu_layers == ("dense", "dense_1")
    image = window.panels["dead_units"].map.image
    np.testing.assert_allclose(image[:8, 0], s.inactive[0])
    np.testing.assert_allclose(image[:6, 1], s.inactive[1])
    assert np.isnan(image[6:, 1]).all()
    dead = [int(np.count_nonzero(v >= 1)) for v in s.inactive]
    assert f"Hidden 1: <b>{dead[0]}/8</b> dead" in window.panels["dead_units"].summary.text()


def test_switching_the_data_rebuilds_the_output_layer(qtbot, make_window):
    window = make_window()
    panel = window.panels["dataset"]
    panel.choice.setCurrentIndex(panel.choice.findData("digits"))
    qtbot.waitUntil(
        lambda: getattr(getattr(window.last_snapshot, "output", None), "kind", "") == "confusion",
        timeout=10000,
    )
    assert window.project.dataset.name == "digits"
    assert window.session.trainer.net.output_dim == 10
    assert "softmax" in window.statusBar().currentMessage()
    assert window.panels["output"].matrix.image.shape == (10, 10)


def test_multiclass_data_from_the_data_panel_draws_each_class_region(qtbot, make_window):
    window = make_window()
    panel = window.panels["dataset"]
    assert not panel.classes.isVisibleTo(panel)  # two-class data has no class count
    panel.choice.setCurrentIndex(panel.choice.findData("blobs"))
    qtbot.waitUntil(lambda: window.session.trainer.net.output_dim == 3, timeout=10000)
    assert panel.classes.isVisibleTo(panel) and panel.classes.value() == 3
    panel.classes.setValue(5)
    panel.points.setValue(1000)
    qtbot.waitUntil(lambda: window.session.trainer.net.output_dim == 5, timeout=10000)
    recipe = window.project.dataset
    assert (recipe.classes, recipe.n_samples) == (5, 1000)
    assert window.project.loss == "categorical_crossentropy"
    for _ in range(3):
        window.actions["epoch"].trigger()
        wait_idle(qtbot, window)
    out = window.last_snapshot.output
    assert out.kind == "boundary" and out.grid.shape == (60, 60, 5)
    np.testing.assert_allclose(out.grid.sum(axis=2), 1.0)  # softmax: the classes share it
    qtbot.waitUntil(lambda: window.panels["output"].regions.image is not None)
    output = window.panels["output"]
    picture = output.regions.image
    assert output.regions.isVisible() and not output.heat.isVisible()
    # Each place is tinted towards the colour of the class the network answers there.
    from bpstudio.qt import theme

    top = out.grid.argmax(axis=2)
    for k in range(5):
        if (top == k).any():
            rgb = np.array(theme.color(theme.class_color(k)).getRgb()[:3])
            pixels = picture[top == k].astype(float)
            tint = 255 - pixels  # how far from white, channel by channel
            assert np.corrcoef(tint.mean(axis=0), 255 - rgb)[0, 1] > 0.9
    title = output.plane_plot.titleLabel.text
    for name in ("orange", "blue", "green", "purple", "pink"):
        assert name in title
    # Back to two classes: one sigmoid unit again, the heat map instead of the regions.
    # The same data counted: the confusion matrix instead of the plane.
    output.confusion.setChecked(True)
    assert output.stack.currentWidget() is output.matrix_view
    np.testing.assert_array_equal(
        out.confusion.sum(axis=1), np.bincount(window.session.trainer.dataset.y_test, minlength=5)
    )
    assert output.matrix.image.shape == (5, 5) and window.project.view["confusion"] is True
    output.confusion.setChecked(False)
    assert output.stack.currentWidget() is output.plane.parent()
    panel.choice.setCurrentIndex(panel.choice.findData("circle"))
    qtbot.waitUntil(lambda: window.session.trainer.net.output_dim == 1, timeout=10000)
    assert window.project.dataset.classes == 0


def test_panels_export_png_svg_csv_and_the_window_png(qtbot, make_window, tmp_path):
    window = make_window()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    for suffix in ("png", "svg", "csv"):
        path = window.panels["loss"].export(tmp_path / f"loss.{suffix}")
        assert path.stat().st_size > 100
    rows = (tmp_path / "loss.csv").read_text().splitlines()
    assert len(rows) > 20 and any(c.isdigit() for c in rows[1])
    network = window.network_panel.export(tmp_path / "network.png", width=400)
    from PySide6.QtGui import QImage

    assert QImage(str(network)).width() == 400
    svg = window.network_panel.export(tmp_path / "network.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "Backprop Studio: Network" in svg
    assert "<path" in svg or "<polyline" in svg  # the edges, as vectors
    with pytest.raises(ValueError, match="no plotted data"):
        window.network_panel.export(tmp_path / "network.csv")
    shot = window.exports.export_window(tmp_path / "window.png")
    assert QImage(str(shot)).width() == 1600  # the default, for slides and tutorials


def sharpness(image) -> float:
    """The mean jump in brightness between neighbouring pixels: blur lowers it."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_Grayscale8)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(height, stride)[:, :width]
    return float(np.abs(np.diff(pixels.astype(float), axis=1)).mean())


def test_a_png_is_drawn_again_at_its_width_not_a_grab_scaled_up(qtbot, make_window, tmp_path):
    from PySide6.QtCore import Qt as QtCore_Qt
    from PySide6.QtGui import QImage

    window = make_window()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    panel = window.panels["loss"]
    width = 2 * panel.width()
    drawn = QImage(str(panel.export(tmp_path / "loss.png", width=width)))
    assert drawn.width() == width and drawn.height() == 2 * panel.height()
    scaled = (
        panel.grab()
        .toImage()
        .scaledToWidth(width, QtCore_Qt.TransformationMode.SmoothTransformation)
    )
    # Text and lines drawn at twice the pixels have edges as sharp as on screen; a grab
    # scaled up has them smeared over two pixels.
    assert sharpness(drawn) > 1.15 * sharpness(scaled)


def test_file_export_hands_over_the_network_as_trained(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    weights = window.session.trainer.net.get_weights()
    exported = window.exports.export_network("npz", tmp_path / "net.npz")
    with np.load(exported.path, allow_pickle=False) as f:
        for key, value in weights.items():
            np.testing.assert_array_equal(f[key], value)
    assert "net.npz" in window.statusBar().currentMessage()
    shown = []
    monkeypatch.setattr(
        window.feedback, "error", lambda title, message, detail=None: shown.append(message)
    )
    assert window.exports.export_network("pytorch", tmp_path / "net.txt") is None
    assert "ending in .py" in shown[0]
    labels = [a.text() for k, a in window.actions.items() if k.startswith("export_network_")]
    assert labels == [
        "Network as PyTorch script…",
        "Network as Keras script…",
        "Network as ONNX model…",
        "Network as NumPy arrays…",
    ]


def test_layout_and_recent_files_are_remembered(qtbot, make_window, settings, tmp_path):
    window = make_window()
    window.docks["histograms"].hide()
    window.close()
    again = make_window()
    assert not again.docks["histograms"].isVisible()
    again.reset_layout()
    assert again.docks["histograms"].isVisible()


def test_the_arrangement_is_remembered_per_size_of_screen(qtbot, make_window, settings):
    from bpstudio.viewmodel.layout import size_class

    window = make_window()
    key = f"window/state/{size_class(window.width(), window.height())}"
    window.docks["histograms"].hide()
    window.document.modified = False
    window.close()
    again = make_window()  # the user's own arrangement, and the lesson does not undo it
    assert not again.docks["histograms"].toggleViewAction().isChecked()
    assert settings.value("window/state/large") is None  # another size keeps its own
    again.document.modified = False
    again.close()
    settings.setValue(key, window.saveState(1))  # as version 1 saved it
    third = make_window()
    # An older version's layout is not restored: the default one is made.
    assert third.docks["histograms"].toggleViewAction().isChecked()


def test_keyboard_shortcuts(qtbot, make_window):
    window = make_window()
    qtbot.keyClick(window, Qt.Key.Key_F6)
    wait_idle(qtbot, window)
    assert window.session.trainer.step_count == 1
    qtbot.keyClick(window, Qt.Key.Key_F7)
    wait_idle(qtbot, window)
    assert window.session.trainer.step_count == 25


def test_export_dialogs_ask_for_the_width_of_a_png(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtGui import QImage

    window = make_window()
    monkeypatch.setattr(
        "bpstudio.qt.feedback.QFileDialog.getSaveFileName",
        lambda *a, **k: (str(tmp_path / "shot.png"), "PNG images (*.png)"),
    )
    offered = []

    def ask(parent, title, label, value, *rest):
        offered.append(value)
        return 640, True

    monkeypatch.setattr("bpstudio.qt.feedback.QInputDialog.getInt", ask)
    window.exports.export_window_dialog()
    assert offered == [1600]  # the width offered
    assert QImage(str(tmp_path / "shot.png")).width() == 640
    window.exports.export_panel_dialog("loss")
    assert QImage(str(tmp_path / "shot.png")).width() == 640


def test_csv_data_replaces_the_dataset_and_the_output_follows(qtbot, make_window):
    from pathlib import Path

    from bpstudio.data.csvdata import read_csv

    csv = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "data" / "exam-results.csv"
    window = make_window()
    assert window.edits.use_table(read_csv(csv, target="result"), csv.name)
    assert window.project.dataset.name == "csv"
    assert window.session.trainer.net.input_dim == 3
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    assert window.last_snapshot.output.kind == "confusion"
    assert window.last_snapshot.output.class_names == ("fail", "pass")
    inputs = window.network_panel.canvas.columns[0]
    assert inputs.labels == ("hours_studied", "hours_slept", "practice_tests")


def test_a_failed_save_says_so_and_keeps_the_work_unsaved(
    qtbot, make_window, tmp_path, monkeypatch
):
    import os

    window = make_window()
    path = tmp_path / "mine.bpstudio"
    assert window.files.save_to(path)
    before = path.read_bytes()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    window.document.modified = True
    shown = []
    monkeypatch.setattr(
        window.feedback, "error", lambda title, message, detail=None: shown.append(message)
    )

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert not window.files.save(wait=True)
    assert "No space left on device; the previous file is untouched" in shown[0]
    assert window.document.modified and path.read_bytes() == before


def test_resizing_a_relu_layer_restarts_its_dead_unit_timeline(qtbot, make_window):
    project = Project(
        dataset=DatasetRecipe("circle", n_samples=100),
        layers=[dense(4, "relu"), dense(1, "sigmoid")],
        optimizer={"name": "sgd", "learning_rate": 0.1},
    )
    window = make_window(project)
    window.show_panel("dead_units")
    window.actions["step"].trigger()
    wait_idle(qtbot, window)
    window.network_panel.canvas.button_clicked(0, "+")  # 4 -> 5 units, same layer name
    window.actions["step"].trigger()
    wait_idle(qtbot, window)
    assert window.panels["dead_units"].timeline.image.shape[0] == 5


def test_live_text_repaints_only_itself(qtbot, make_window):
    # The status texts change on every frame; a relayout of the window on each one cost
    # 15 ms a frame, and rich-text QLabels painted twice.
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtGui import QGuiApplication

    window = make_window()
    qtbot.wait(200)  # let the new window settle
    label = window.panels["loss"].summary
    events = []

    class Spy(QObject):
        def eventFilter(self, obj, event):
            if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Paint):
                events.append((obj, event.type()))
            return False

    spy = Spy()
    watched = [label, window.panels["loss"], window, window.info]
    for widget in watched:
        widget.installEventFilter(spy)
    for i in range(5):
        label.setText(f"epoch {i}: train loss <b>{0.5 / (i + 1):.4g}</b>")
        window.info.setText(f"Step <b>{i}</b>")
        qtbot.wait(20)
    for widget in watched:
        widget.removeEventFilter(spy)
    assert not [e for e in events if e[1] == QEvent.Type.LayoutRequest]
    painted = [obj for obj, kind in events if kind == QEvent.Type.Paint]
    assert window.panels["loss"] not in painted  # nothing behind the text is painted again
    assert painted.count(label) == 5 and painted.count(window.info) == 5
    label.setText(label.text())  # the same text again: nothing to paint
    assert label.text() == "epoch 4: train loss <b>0.1</b>"
    label.actions()[0].trigger()
    assert QGuiApplication.clipboard().text() == "epoch 4: train loss 0.1"


def test_a_cut_off_status_text_shows_whole_in_its_tooltip(qtbot):
    from bpstudio.qt.theme import StatusLabel

    label = StatusLabel(1)
    qtbot.addWidget(label)
    label.resize(120, label.height())
    label.show()
    label.setText("Orange: class 0 / <b>negative</b> · Blue: class 1 / positive")
    label.grab()  # laid out when painted
    assert label.toolTip() == "Orange: class 0 / negative · Blue: class 1 / positive"
    label.resize(900, label.height())
    label.grab()
    assert label.toolTip() == ""


def test_status_text_markup_becomes_plain_text_and_styled_ranges(qtbot):
    from bpstudio.qt.theme import styled_runs

    plain, runs = styled_runs("a &lt;b&gt; <b>1</b> 🙂 <i>it</i> <b>two</b>")
    assert plain == "a <b> 1 🙂 it two"
    # Qt counts UTF-16 code units: the emoji before "it" and "two" is two of them.
    spans = [(r.start, r.length, r.format.fontWeight() > 400, r.format.fontItalic()) for r in runs]
    assert spans == [(6, 1, True, False), (11, 2, False, True), (14, 3, True, False)]


def test_the_tables_drive_the_schema_menus_and_screenshot_panels():
    """Panels and actions are declared once; the project schema's classroom enums, the
    screenshot command's panels and the menus follow the tables."""
    import json

    from bpstudio._resources import resource_path
    from bpstudio.qt.actions import ACTIONS, LOCKS
    from bpstudio.qt.layout import PANEL_NAMES, PANELS
    from bpstudio.qt.screenshot import PANELS as SCREENSHOT_PANELS

    schema = json.loads(resource_path("project.schema.json").read_text())
    classroom = schema["properties"]["classroom"]["properties"]
    assert classroom["hidden"]["items"]["enum"] == list(PANEL_NAMES)
    assert classroom["locked"]["items"]["enum"] == list(LOCKS)
    assert SCREENSHOT_PANELS == PANEL_NAMES
    assert {spec.lock for spec in (*ACTIONS, *PANELS)} - {None} <= set(LOCKS)
    assert len({spec.id for spec in ACTIONS}) == len(ACTIONS)


def test_every_action_of_the_table_is_in_a_menu_and_calls_something(make_window):
    from bpstudio.qt.actions import ACTIONS

    window = make_window()
    in_menus = {
        a.objectName() for menu in window.menus.values() for a in menu.actions() if a.objectName()
    }
    assert {spec.id for spec in ACTIONS} <= in_menus
    toolbar = [a.objectName() for a in window.findChild(QToolBar).actions() if a.objectName()]
    assert toolbar == [spec.id for spec in ACTIONS if spec.toolbar]


def test_training_pauses_while_save_changes_is_asked_and_goes_on_if_cancelled(
    qtbot, make_window, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    window = make_window()
    window.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.session.trainer.step_count > 20, timeout=5000)
    seen = []

    def answer(*args):
        seen.append((window.session.playing, window.actions["play"].text()))
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert not window.files.new_project() and seen == [(False, "Play")]
    assert window.session.playing and window.actions["play"].text() == "Pause"
    assert window.project.name.startswith("Lesson 1")  # nothing was thrown away
    window.training.pause()
    window.document.modified = False


def test_the_speed_slider_says_its_value(make_window):
    window = make_window()
    assert window.speed_label.text().strip() == "full speed"
    window.speed.setValue(0)
    assert window.speed_label.text().strip() == "0.5 s a step"
    assert window.session.controls.delay == 0.5


def test_nesterov_is_a_control_and_switching_optimizer_keeps_the_settings(qtbot, make_window):
    window = make_window()
    panel = window.panels["settings"]
    panel.momentum.setValue(0.5)
    panel.nesterov.setChecked(True)
    panel.clip.setChecked(True)
    panel.clip_value.setValue(2.0)
    window.actions["step"].trigger()
    wait_idle(qtbot, window)
    opt = window.session.trainer.net.optimizer
    assert (opt.name, opt.momentum, opt.nesterov, opt.global_clipnorm) == ("sgd", 0.5, True, 2.0)
    panel.optimizer.setCurrentIndex(panel.optimizer.findData("rmsprop"))
    wait_idle(qtbot, window)
    opt = window.session.trainer.net.optimizer
    assert (opt.name, opt.momentum, opt.global_clipnorm) == ("rmsprop", 0.5, 2.0)
    assert not panel.nesterov.isEnabled() and panel.clip.isChecked()
    window.document.modified = False


def test_a_run_saved_and_reopened_in_the_window_goes_on_exactly(qtbot, make_window, tmp_path):
    from bpstudio.lessons.catalog import dropout

    window = make_window(dropout())
    window.session.controls.step_batch(23)
    qtbot.waitUntil(lambda: window.session.trainer.step_count == 23, timeout=10_000)
    wait_idle(qtbot, window)
    assert window.files.save_to(tmp_path / "half.bpstudio")
    assert window.files.open_path(tmp_path / "half.bpstudio")
    window.session.controls.step_batch(31)
    qtbot.waitUntil(lambda: window.session.trainer.step_count == 54, timeout=10_000)
    wait_idle(qtbot, window)
    straight = dropout().make_trainer()
    straight.fit(steps=54)
    resumed = window.session.trainer.net.get_weights()
    for key, value in straight.net.get_weights().items():
        np.testing.assert_array_equal(resumed[key], value, err_msg=key)
    window.document.modified = False


def test_a_trained_project_reopens_as_it_was_shown(qtbot, make_window, tmp_path):
    from bpstudio.lessons.catalog import dead_relu

    window = make_window(dead_relu())
    for _ in range(3):
        window.actions["epoch"].trigger()
        wait_idle(qtbot, window)

    def shown():
        s = window.last_snapshot
        for name in ("loss", "gradients"):  # tabbed together: each drawn when it is raised
            window.show_panel(name)
            qtbot.waitUntil(lambda n=name: window.panels[n].shown is s)
        return {
            "loss": [np.asarray(a) for a in window.panels["loss"].train_curve.getData()],
            "test": [np.asarray(a) for a in window.panels["loss"].test_curve.getData()],
            "gradients": [np.asarray(c.getData()[1]) for c in window.panels["gradients"].curves],
            "dead": [np.asarray(d) for d in s.dead],
            "past runs": len(window.panels["runs"].runs),
            "header": window.description.text().split("</b>")[0],
        }

    before = shown()
    assert before["past runs"] == 0 and before["dead"] and any(d.any() for d in before["dead"])
    path = tmp_path / "trained.bpstudio"
    assert window.files.save_to(path)
    assert window.files.open_path(path)
    qtbot.waitUntil(lambda: window.last_snapshot is not None, timeout=5000)
    wait_idle(qtbot, window)
    after = shown()
    for key in ("loss", "test", "gradients", "dead"):
        assert len(after[key]) == len(before[key]) and len(after[key][0]), key
        for a, b in zip(after[key], before[key]):
            np.testing.assert_array_equal(a, b, err_msg=key)
    assert after["past runs"] == 0  # the run goes on; it is not listed twice
    assert "trained.bpstudio" in window.windowTitle()
    assert after["header"] == before["header"]
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    assert len(window.training.capture().runs) == 1
    window.document.modified = False


def test_a_new_project_saved_takes_the_files_name_everywhere(make_window, tmp_path):
    window = make_window()
    assert window.files.new_project()
    assert "Untitled" in window.description.text() and "Untitled" in window.windowTitle()
    assert window.files.save_to(tmp_path / "my rings.bpstudio")
    assert "my rings" in window.description.text() and "Untitled" not in window.description.text()
    assert window.windowTitle().startswith("my rings.bpstudio")


def test_runs_on_other_data_are_listed_apart_and_not_overlaid(qtbot, make_window):
    window = make_window()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    window.edits.change_recipe(DatasetRecipe("xor"))
    wait_idle(qtbot, window)
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    window.training.reset()  # the xor run joins the past runs
    wait_idle(qtbot, window)
    runs = window.panels["runs"]
    assert [r.data["name"] for r in runs.runs] == ["xor"]
    assert [r.data["name"] for r in runs.apart] == ["circle"]
    texts = [runs.list.item(i).text() for i in range(runs.list.count())]
    assert texts[-1].endswith("(other data)") and texts[-1] not in runs.checked()
    window.document.modified = False


def test_reset_from_the_same_or_new_weights_and_the_seed_is_editable(qtbot, make_window):
    from bpstudio.lessons.catalog import first_network

    window = make_window()
    net = window.session.trainer.net
    first = net.get_weights()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    window.actions["reset"].trigger()  # the same starting weights: a fair comparison
    wait_idle(qtbot, window)
    for key, value in first.items():
        np.testing.assert_array_equal(net.get_weights()[key], value)
    window.actions["reset_new"].trigger()  # new random weights, as Playground's reset
    wait_idle(qtbot, window)
    seed = window.panels["settings"].seed.value()
    assert seed == net.seed == window.project.seed
    assert not np.array_equal(net.get_weights()["dense/kernel"], first["dense/kernel"])
    settings = window.panels["settings"]
    settings.seed.setValue(1234)  # typed by the user
    settings.seed.editingFinished.emit()
    wait_idle(qtbot, window)
    expected = first_network()
    expected.seed = 1234
    for key, value in expected.build_network().get_weights().items():
        np.testing.assert_array_equal(net.get_weights()[key], value, err_msg=key)
    assert window.training.capture().seed == 1234 and len(window.project.runs) >= 1
    window.document.modified = False


def test_csv_import_asks_before_replacing_a_trained_network_and_can_be_undone(
    qtbot, make_window, monkeypatch
):
    from pathlib import Path

    from PySide6.QtWidgets import QMessageBox

    from bpstudio.data.csvdata import read_csv

    csv = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "data" / "exam-results.csv"
    table = read_csv(csv, target="result")
    window = make_window()
    for _ in range(3):
        window.actions["epoch"].trigger()
        wait_idle(qtbot, window)
    trained = window.session.trainer.net.get_weights()
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Ok]
    asked = []

    def answer(parent, title, text, *args):
        asked.append(title)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert not window.edits.use_table(table, csv.name)  # cancelled: nothing changes
    assert window.project.dataset.name == "circle" and window.session.trainer.epoch == 3
    assert window.edits.use_table(table, csv.name)
    assert asked == ["Replace the trained network?"] * 2
    assert window.project.dataset.name == "csv"
    qtbot.waitUntil(lambda: window.last_snapshot is not None, timeout=5000)
    assert window.session.trainer.epoch == 0 and window.last_snapshot.epoch == 0  # counters
    window.actions["undo"].trigger()  # the circle data and the trained network come back
    wait_idle(qtbot, window)
    assert window.project.dataset.name == "circle" and window.session.trainer.epoch == 3
    for key, value in trained.items():
        np.testing.assert_array_equal(window.session.trainer.net.get_weights()[key], value)
    window.actions["redo"].trigger()
    wait_idle(qtbot, window)
    assert window.project.dataset.name == "csv"
    window.document.modified = False


def test_file_new_clears_the_plots_and_at_rest_they_fit_the_run(qtbot, make_window):
    window = make_window()
    for _ in range(5):
        window.actions["epoch"].trigger()
        wait_idle(qtbot, window)
    loss = window.panels["loss"]
    last = window.session.trainer.step_count - 1
    # At rest the step axes fit the run (while it trains they stay still ahead of it).
    assert last <= loss.loss_plot.viewRange()[0][1] <= 1.05 * last
    window.show_panel("gradients")  # drawn once shown
    assert last <= window.panels["gradients"].curves_plot.viewRange()[0][1] <= 1.05 * last
    window.show_panel("loss")
    assert window.files.new_project()
    qtbot.waitUntil(lambda: window.last_snapshot is not None, timeout=5000)
    wait_idle(qtbot, window)
    assert loss.loss_plot.viewRange()[0][1] <= 1.5
    gradients = window.panels["gradients"]
    window.show_panel("gradients")  # (behind a tab it is redrawn once shown)
    assert gradients.curves_plot.viewRange()[0][1] <= 1.5
    runs = window.panels["runs"]
    assert runs.runs == [] and runs.plot.viewRange()[0][1] <= 1.5
    for curve in (loss.train_curve, *gradients.curves):
        x = curve.getData()[0]
        assert x is None or len(x) == 0


def test_training_pauses_while_a_weight_is_typed_in(qtbot, make_window, monkeypatch):
    window = make_window()
    window.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.session.trainer.step_count > 10, timeout=5000)
    seen = []

    def typed(*args):
        seen.append(window.session.playing)
        return 0.25

    monkeypatch.setattr(window.feedback, "number", typed)
    window.network_panel.canvas.weight_clicked.emit("dense", 0, 0, 0.1)
    assert seen == [False] and window.session.playing  # paused while asked, then on again
    window.training.pause()
    window.document.modified = False


def test_a_shipped_lesson_is_never_saved_over(make_window, monkeypatch, tmp_path):
    from bpstudio.lessons import lessons

    shipped = lessons()[0].path
    before = shipped.read_bytes()
    window = make_window(load_project(shipped), shipped)  # as `bpstudio <lesson file>` does
    assert window.document.path is None
    asked = []
    monkeypatch.setattr(
        window.feedback, "save_file", lambda *a: asked.append(a) or (str(tmp_path / "mine"), "")
    )
    window.document.modified = True
    assert window.files.save(wait=True)  # Save asks where to keep a copy
    assert asked and (tmp_path / "mine.bpstudio").exists() and shipped.read_bytes() == before


def test_a_batch_size_larger_than_the_training_set_is_clamped_with_a_message(qtbot, make_window):
    import io

    from bpstudio.data.csvdata import read_csv

    rows = "\n".join(f"{i},{i % 3},{i % 2}" for i in range(8))
    table = read_csv(io.StringIO("a,b,label\n" + rows), target="label")
    window = make_window()
    assert window.edits.use_table(table, "tiny.csv", ask=False)
    n_train = len(window.session.trainer.X)
    assert window.session.trainer.batch_size == n_train < 10
    assert f"it is {n_train} now" in window.statusBar().currentMessage()
    window.actions["epoch"].trigger()  # and it trains
    wait_idle(qtbot, window)
    assert window.session.trainer.epoch == 1
    window.document.modified = False


def test_the_wheel_changes_no_combo_or_spin_box_without_focus(qtbot, make_window):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox

    window = make_window()
    window.network_panel.canvas.select(0)
    window.show_panel("layer")
    inspector = window.network_panel.inspector
    combo, spin = inspector.activation, inspector.units
    qtbot.waitUntil(combo.isVisible)
    before = (combo.currentText(), spin.value(), window.edits.undo_stack.count())

    def wheel(widget):
        event = QWheelEvent(
            QPointF(5, 5),
            QPointF(widget.mapToGlobal(QPoint(5, 5))),
            QPoint(0, 0),
            QPoint(0, -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(widget, event)
        return event

    for widget in (combo, spin, spin.lineEdit()):
        wheel(widget)
    assert (combo.currentText(), spin.value(), window.edits.undo_stack.count()) == before
    # Every other one in the window too. Each leaves the event unaccepted, which is what makes
    # Qt hand a real wheel event on to its parents: the scroll area around it scrolls.
    boxes = window.findChildren(QComboBox) + window.findChildren(QAbstractSpinBox)
    # (The window gives one the focus; a disabled one gets no input at all.)
    boxes = [box for box in boxes if box.isEnabled() and not box.hasFocus()]
    assert len(boxes) > 20
    shown = [(box.currentIndex() if isinstance(box, QComboBox) else box.text()) for box in boxes]
    assert not any(wheel(box).isAccepted() for box in boxes)
    assert shown == [(b.currentIndex() if isinstance(b, QComboBox) else b.text()) for b in boxes]
    spin.setFocus()  # with the focus, the wheel is the user's way to change it
    qtbot.waitUntil(spin.hasFocus)
    assert wheel(spin).isAccepted()
    assert spin.value() == before[1] - 1


def test_an_empty_plot_says_why_instead_of_drawing_axes(qtbot, make_window):
    window = make_window()  # lesson 1: tanh units, nothing trained
    loss, gradients, dead = (window.panels[n] for n in ("loss", "gradients", "dead_units"))
    for name in ("gradients", "dead_units", "runs", "loss"):
        window.show_panel(name)
        qtbot.waitUntil(lambda n=name: window.panels[n].shown is window.last_snapshot)
    assert loss.stack.empty and "Press Play" in loss.stack.message.text()
    assert gradients.stack.empty and window.panels["runs"].stack.empty
    assert dead.stack.empty and "No ReLU-family layer" in dead.stack.message.text()
    assert not dead.layer_choice.isVisible()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: loss.shown is window.last_snapshot)
    assert not loss.stack.empty and loss.graphics.isVisible()
    assert dead.stack.empty  # still no ReLU: still the sentence


def test_saving_writes_in_the_background_and_keeps_what_changed_meanwhile(
    qtbot, make_window, monkeypatch, tmp_path
):
    import threading

    from bpstudio.qt.controllers import files

    window = make_window()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    release, writing = threading.Event(), threading.Event()
    real = files.save_project

    def held(project, path):  # a big file's compression, held until the test says
        writing.set()
        assert release.wait(10)
        return real(project, path)

    monkeypatch.setattr(files, "save_project", held)
    path = tmp_path / "bg.bpstudio"
    window.document.modified = True
    assert window.files.save_to(path, wait=False)  # returns while the file is written
    assert writing.wait(10) and not path.exists()
    assert window.files.writer.busy
    window.actions["step"].trigger()  # the window works meanwhile: a step trains
    qtbot.waitUntil(lambda: window.session.trainer.step_count == 26, timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: not window.files.writer.busy, timeout=10_000)
    assert load_project(path).steps == 25  # the copy taken when Save was pressed
    assert window.document.path == path
    assert window.document.modified  # the step made meanwhile is not in the file
    assert "Saved" in window.statusBar().currentMessage()
    window.document.modified = False


def test_the_window_trains_on_one_blas_thread(make_window):
    from threadpoolctl import threadpool_info

    from bpstudio.qt.app import application

    application()
    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    assert blas and all(info["num_threads"] == 1 for info in blas)


def test_a_crowded_layer_axis_writes_short_names_then_numbers(qapp):
    from bpstudio.qt.panels.gradients import LayerAxis

    axis = LayerAxis()
    axis.names = ("Hidden 1", "Hidden 2", "Output")
    for width, expected in ((600, ["Hidden 1", "Hidden 2", "Output"]), (120, ["H1", "H2", "Out"]),
                            (45, ["1", "2", "3"])):  # fmt: skip
        axis.resize(width, 30)
        assert axis.tickStrings([0, 1, 2], 1, 1) == expected, width


def test_open_a_playground_link_and_copy_it_back(qtbot, make_window, monkeypatch, tmp_path):
    from PySide6.QtGui import QGuiApplication

    window = make_window()
    shown = []
    monkeypatch.setattr(
        window.feedback, "error", lambda title, message, detail=None: shown.append(message)
    )
    link = (
        "https://playground.tensorflow.org/#activation=relu&dataset=xor&networkShape=6,3"
        "&learningRate=0.1&showTestData=true&discretize=true&noise=15&wobble=1"
        "&learningRate_hide=true&regularization_hide=true&regularizationRate_hide=true"
        "&batchSize_hide=true"
    )
    QGuiApplication.clipboard().setText(link)
    asked = []

    def paste(title, label, start=""):
        asked.append(start)
        return start

    monkeypatch.setattr(window.feedback, "text", paste)
    window.actions["open_playground"].trigger()
    assert asked == [link]  # the clipboard's link, ready to open
    qtbot.waitUntil(lambda: window.project.dataset.name == "xor")
    assert len(shown) == 1 and "wobble: not a field Playground knows" in shown[0]
    trainer = window.session.trainer
    assert [layer.units for layer in trainer.net.kernel_layers] == [6, 3, 1]
    assert trainer.net.loss.name == "mse" and trainer.dataset.signed
    output = window.panels["output"]
    assert output.show_test.isChecked() and output.discretize.isChecked()
    assert not window.classroom.allows("settings") and window.classroom.allows("dataset")
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    assert window.last_snapshot.output.grid.min() >= 0  # tanh drawn as 0…1
    # The user unticks test data: saved with the project and reopened so.
    output.show_test.setChecked(False)
    assert window.files.save_to(tmp_path / "pg.bpstudio")
    assert load_project(tmp_path / "pg.bpstudio").view == {
        "show_test_data": False,
        "discretize": True,
        "confusion": False,
    }
    shown.clear()
    window.actions["copy_playground"].trigger()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("https://playground.tensorflow.org/#") and shown == []
    for field in ("activation=relu", "dataset=xor", "networkShape=6,3", "learningRate=0.1",
                  "showTestData=false", "discretize=true", "noise=15",
                  "batchSize_hide=true"):  # fmt: skip
        assert field in copied.split("#")[1].split("&"), field
    # A setup Playground cannot show: the link is still copied, and the misfit is said.
    window.edits.change_optimizer("adam")
    qtbot.waitUntil(lambda: window.project.optimizer["name"] == "adam")
    window.actions["copy_playground"].trigger()
    assert any("plain SGD only" in m for m in shown)


def test_training_tab_sets_every_hidden_activation_and_a_stop_condition(
    qtbot, make_window, tmp_path
):
    window = make_window()
    settings = window.panels["settings"]
    assert settings.activation.currentText() == "tanh"  # lesson 1: two tanh layers
    settings.activation.setCurrentText("relu")
    settings.activation.activated.emit(settings.activation.currentIndex())
    qtbot.waitUntil(lambda: window.project.layers[0]["activation"] == "relu")
    kinds = [(c.get("activation")) for c in window.project.layers]
    assert kinds == ["relu", "relu", "sigmoid"]  # the output keeps the task's
    assert [a.name for a in (window.session.trainer.net.layers[0].activation,)] == ["relu"]
    window.edits.undo_stack.undo()
    qtbot.waitUntil(lambda: window.project.layers[0]["activation"] == "tanh")
    assert settings.activation.currentText() == "tanh"
    # Stop at epoch 2: Play pauses there by itself and says why.
    settings.stop_epoch.setValue(2)
    assert window.project.stop == {"epoch": 2}
    settings.stop_loss.setText("abc")
    settings.stop_loss.editingFinished.emit()
    assert "not a number" in window.statusBar().currentMessage()
    assert window.project.stop == {"epoch": 2}  # the bad value changed nothing
    settings.stop_loss.setText("0.01")
    settings.stop_loss.editingFinished.emit()
    assert window.project.stop == {"epoch": 2, "test_loss": 0.01}
    said = []
    status = window.feedback.status
    window.feedback.status = lambda message, ms=8000: (said.append(message), status(message, ms))
    window.actions["play"].trigger()
    qtbot.waitUntil(lambda: not window.session.playing and window.session.trainer.epoch == 2,
                    timeout=20000)  # fmt: skip
    wait_idle(qtbot, window)
    assert window.session.trainer.history.events[-1][1] == "stopped at epoch 2, as set"
    qtbot.waitUntil(lambda: any("stopped at epoch 2, as set" in m for m in said))
    assert window.files.save_to(tmp_path / "stop.bpstudio")
    assert load_project(tmp_path / "stop.bpstudio").stop == {"epoch": 2, "test_loss": 0.01}
    later = make_window(load_project(tmp_path / "stop.bpstudio"))
    assert later.panels["settings"].stop_epoch.value() == 2
    assert later.panels["settings"].stop_loss.text() == "0.01"


def test_export_data_as_csv(make_window, monkeypatch, tmp_path):
    window = make_window()
    out = tmp_path / "lesson-data"
    monkeypatch.setattr(
        "bpstudio.qt.feedback.QFileDialog.getSaveFileName", lambda *a, **k: (str(out), "")
    )
    window.actions["export_data"].trigger()
    rows = (tmp_path / "lesson-data.csv").read_text().splitlines()
    dataset = window.session.trainer.dataset
    assert rows[0] == "split,x1,x2,class"
    assert len(rows) - 1 == len(dataset.X_train) + len(dataset.X_test)
    assert {r.split(",")[-1] for r in rows[1:]} == {"orange", "blue"}
    assert "Exported 500 examples" in window.statusBar().currentMessage()


def test_the_window_starts_on_numpy_while_compiling_and_says_which_engine(
    qtbot, make_window, monkeypatch
):
    from bpstudio.compiled import engine

    if engine.available() is not None:
        pytest.skip("numba is not here: everything trains on NumPy")
    monkeypatch.setattr(engine, "_waiting", False)  # as in the window: no run waits
    monkeypatch.setattr(engine, "_ready", set())  # not compiled yet
    window = make_window()
    trainer = window.session.trainer
    assert trainer.why_numpy().startswith("compiling")
    assert window.info.plain_text().endswith("NumPy")
    monkeypatch.setattr(engine, "_ready", {"float64"})  # the compile is done
    window.actions["step"].trigger()  # the run moves to the engine now ready
    wait_idle(qtbot, window)
    assert trainer.engine == "compiled" and window.info.plain_text().endswith("compiled")
    # Forced to NumPy from the Training tab: from the next Reset.
    settings = window.panels["settings"]
    settings.engine.setCurrentIndex(settings.engine.findData("numpy"))
    settings.engine.activated.emit(settings.engine.currentIndex())
    assert "next Reset" in window.statusBar().currentMessage()
    assert trainer.engine == "compiled"
    window.actions["reset"].trigger()
    qtbot.waitUntil(lambda: window.session.trainer.engine == "numpy")
    wait_idle(qtbot, window)
    assert "chosen" in settings.engine.toolTip()
