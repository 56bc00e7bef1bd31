"""The teaching side of the window: the lesson panel, its fixes run as second runs compared
with the first, and the diagnosis banner naming what the rules see."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from bpstudio.qt.panels.runs import LIVE
from tests.qt.test_window import wait_idle


def train_epochs(qtbot, window, n):
    for _ in range(n):
        window.actions["epoch"].trigger()
        wait_idle(qtbot, window)


def test_lesson_panel_shows_the_question_then_the_answer(qtbot, make_window):
    window = make_window()
    assert window.open_lesson(4)
    panel = window.panels["lesson"]
    assert panel.title.text() == "Lesson 4: Dead ReLU units"
    assert "Predict, then run." in panel.question.text()
    assert panel.answer.isHidden() and not panel.answer_button.isHidden()
    qtbot.mouseClick(panel.answer_button, Qt.MouseButton.LeftButton)
    assert not panel.answer.isHidden() and "three in four" in panel.answer.text()
    assert [b.text() for b in panel.fix_buttons] == [
        "Run again: A learning rate ten times lower",
        "Run again: LeakyReLU with He initialization",
    ]
    assert "1%" in panel.fix_buttons[1].toolTip()


def test_the_diagnosis_banner_names_dead_units_and_links_the_lesson(qtbot, make_window):
    window = make_window()
    window.open_lesson(4)
    train_epochs(qtbot, window, 2)
    banner = window.diagnosis
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=5000)
    assert banner.finding.kind == "dead_units"
    text = banner.text.text()
    assert "Dead ReLU units." in text and "units are dead" in text
    assert 'href="4"' in text
    qtbot.mouseClick(banner.hide_button, Qt.MouseButton.LeftButton)
    train_epochs(qtbot, window, 1)
    assert not banner.isVisible()  # hidden until the next run
    window.training.reset()
    assert banner.dismissed == set()


def test_a_fix_runs_second_from_the_same_seed_and_the_runs_compare(qtbot, make_window):
    window = make_window()
    window.open_lesson(2)
    train_epochs(qtbot, window, 3)
    first_weights = window.session.trainer.net.get_weights()
    qtbot.mouseClick(window.panels["lesson"].fix_buttons[0], Qt.MouseButton.LeftButton)
    project = window.project
    assert [r.name for r in project.runs] == ["Run 1: as given"]
    assert project.lesson["number"] == 2  # still the lesson, now with ReLU and He init
    assert project.layers[0]["activation"] == "relu"
    assert project.seed == 0 and window.session.trainer.step_count == 0
    assert window.session.trainer.net.get_weights().keys() == first_weights.keys()
    train_epochs(qtbot, window, 3)
    runs = window.panels["runs"]
    assert runs.checked() == [LIVE, "Run 1: as given"]
    runs.choice.setCurrentIndex(runs.choice.findData("grad_ratio"))
    live, first = (c.getData()[1] for c in runs.curves[:2])  # as given, not log10
    assert np.median(live) > 1e-1 and np.median(first) < 1e-3
    # Unticking a run takes it off the plot.
    runs.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert not runs.curves[1].isVisible()
    # The second run is named after the fix when it is kept.
    project = window.training.capture()
    assert [r.name for r in project.runs] == [
        "Run 1: as given",
        "Run 2: ReLU with He initialization",
    ]


@pytest.mark.parametrize("number", [2, 3, 4, 5])
def test_every_lesson_opens_from_the_menu(make_window, number):
    window = make_window()
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Lessons")
    action = next(a for a in menu.actions() if a.text().startswith(f"{number}."))
    action.trigger()
    assert window.project.lesson["number"] == number
    assert window.panels["lesson"].title.text().startswith(f"Lesson {number}:")


def test_classroom_mode_hides_and_locks_and_travels_in_the_file(
    qtbot, make_window, tmp_path, monkeypatch
):
    from bpstudio.project import load_project, save_project

    window = make_window()
    window.open_lesson(4)
    dialog = window.classroom.make_dialog()
    dialog.hidden["histograms"].setChecked(True)
    dialog.hidden["network"].setChecked(True)
    dialog.locked["settings"].setChecked(True)
    dialog.locked["open"].setChecked(True)
    classroom = dialog.classroom()
    assert classroom == {"hidden": ["network", "histograms"], "locked": ["settings", "open"]}
    window.classroom.set(classroom)
    assert not window.docks["histograms"].isVisible()
    assert not window.docks["histograms"].toggleViewAction().isEnabled()
    assert not window.network_panel.isVisible()
    assert not window.panels["settings"].isEnabled() and window.panels["dataset"].isEnabled()
    opened = []
    monkeypatch.setattr(window.files, "open_path", lambda path: opened.append(path))
    window.actions["lesson_1"].trigger()  # locked: it says why and does nothing
    assert opened == [] and "locked by your teacher" in window.statusBar().currentMessage()
    assert not window.actions["recent"].isEnabled()
    steps = window.session.trainer.step_count
    window.actions["reset"].trigger()  # not locked
    assert window.classroom.allows("reset") and window.session.trainer.step_count == steps
    assert "classroom mode" in window.windowTitle()
    # Saved with the project, and applied when the class opens it.
    path = save_project(window.training.capture(), tmp_path / "class.bpstudio")
    assert load_project(path).classroom == classroom
    window.document.modified = False
    window.open_project(load_project(path), path)
    assert not window.docks["histograms"].isVisible() and not window.panels["settings"].isEnabled()
    # Turning it off brings everything back.
    window.classroom.set(None)
    assert window.docks["histograms"].isVisible() and window.panels["settings"].isEnabled()
    assert window.network_panel.isVisible() and window.actions["recent"].isEnabled()


def test_a_classroom_entry_the_app_does_not_know_is_refused(tmp_path):
    from bpstudio.lessons.catalog import first_network
    from bpstudio.project import ProjectError, load_project, save_project

    project = first_network()
    project.classroom = {"hidden": ["everything"]}
    path = save_project(project, tmp_path / "bad.bpstudio")
    with pytest.raises(ProjectError, match="classroom"):
        load_project(path)


def test_backprop_inspector_steps_through_one_pass(qtbot, make_window):
    window = make_window()
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)
    dialog = window.open_inspector()
    canvas = window.network_panel.canvas
    t = dialog.trace
    # Forward: every unit shows its output; the input column the example's features.
    np.testing.assert_array_equal(canvas.overlay["input"], t.x)
    np.testing.assert_array_equal(canvas.overlay["dense_2"], t.layer("dense_2").a)
    stages = dialog.stages()
    assert [s[0] for s in stages] == ["forward", "backward", "backward", "backward", "update"]
    # Backward, from the output down: after two stages the two top layers show dL/dz.
    qtbot.mouseClick(dialog.next, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.next, Qt.MouseButton.LeftButton)
    assert set(canvas.overlay) == {"dense_2", "dense_1"}
    np.testing.assert_array_equal(canvas.overlay["dense_1"], t.layer("dense_1").dL_dz)
    assert "Backward through Hidden 2" in dialog.stage_text.text()  # as the canvas names it
    # The chain rule for a chosen weight, and that weight stands out on the canvas.
    dialog.layer.setCurrentText("Hidden 2")
    dialog.row.setValue(3)
    dialog.column.setValue(2)
    assert canvas.edges.highlight == ("dense_1", 2, 1)
    g = t.layer("dense_1").dL_dW[2, 1]
    assert f"= {g:.4g}" in dialog.chain.text()
    assert "dense" not in dialog.chain.text()  # Keras names stay off the screen
    # Another example gives another pass.
    dialog.example.setValue(5)
    assert not np.array_equal(dialog.trace.x, t.x)
    # Finite differences agree with backpropagation.
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    assert dialog.check_table.rowCount() == 3
    assert dialog.worst_error < 1e-6 and "agree" in dialog.check_verdict.text()
    assert dialog.check_table.item(0, 0).text() == "Hidden 1"  # per layer, named as on screen
    dialog.close()
    assert canvas.overlay == {}


def test_reset_keeps_the_run_and_starts_from_the_same_weights(qtbot, make_window):
    window = make_window()
    start = window.session.trainer.net.get_weights()
    train_epochs(qtbot, window, 2)
    window.panels["settings"].changed.emit({"learning_rate": 0.3})  # one change
    window.training.reset()
    wait_idle(qtbot, window)
    trainer = window.session.trainer
    assert trainer.step_count == 0
    for key, value in start.items():
        np.testing.assert_array_equal(trainer.net.get_weights()[key], value)
    assert [r.name for r in window.project.runs] == ["Run 1"]
    assert window.project.runs[0].weights is not None
    assert window.panels["runs"].checked() == [LIVE, "Run 1"]
    train_epochs(qtbot, window, 1)
    assert trainer.net.optimizer.learning_rate == 0.3


def test_the_banner_renews_moving_numbers_at_most_once_a_second(qtbot, monkeypatch):
    from bpstudio.analysis.diagnostics import Finding
    from bpstudio.qt import lesson
    from bpstudio.qt.lesson import DiagnosisBanner

    now = [100.0]
    monkeypatch.setattr(lesson.time, "monotonic", lambda: now[0])
    banner = DiagnosisBanner()
    qtbot.addWidget(banner)

    def vanishing(ratio):
        return Finding("vanishing", "dense", f"ratio {ratio}", "use ReLU", 2)

    banner.show_findings([vanishing(0.001)], final=False)
    assert "ratio 0.001" in banner.text.text()
    now[0] += 0.3
    banner.show_findings([vanishing(0.002)], final=False)  # training runs: not yet
    assert "ratio 0.001" in banner.text.text()
    dead = Finding("dead_units", "dense_1", "half dead", "lower the rate", 4)
    banner.show_findings([dead], final=False)  # another finding: at once
    assert "half dead" in banner.text.text()
    now[0] += 0.3
    banner.show_findings([vanishing(0.003)], final=True)  # training stopped: at once
    assert "ratio 0.003" in banner.text.text()
    now[0] += 0.3
    banner.show_findings([vanishing(0.004)], final=False)
    assert "ratio 0.003" in banner.text.text()
    now[0] += 1.0
    banner.show_findings([vanishing(0.005)], final=False)  # a second later: renewed
    assert "ratio 0.005" in banner.text.text()
    # Another finding near its threshold, first on one snapshot and gone on the next: the
    # banner keeps what still holds instead of flickering between the two.
    low = Finding("lr_low", None, "tiny steps", "raise the rate", 1)
    for _ in range(4):  # 0.8 s
        now[0] += 0.1
        banner.show_findings([low, vanishing(0.006)], final=False)
        assert "ratio 0.005" in banner.text.text()
        now[0] += 0.1
        banner.show_findings([vanishing(0.007)], final=False)
        assert "ratio 0.005" in banner.text.text()
    now[0] += 0.3
    banner.show_findings([low, vanishing(0.008)], final=False)  # a second on: its turn
    assert "tiny steps" in banner.text.text() and "1 more" in banner.text.text()


def test_lesson_4_stops_where_its_question_is_and_play_goes_on(qtbot, make_window):
    window = make_window()
    window.open_lesson(4)
    window.actions["play"].trigger()
    qtbot.waitUntil(lambda: not window.session.playing, timeout=30_000)
    wait_idle(qtbot, window)
    assert window.session.trainer.epoch == 20
    assert "Stopped at epoch 20" in window.statusBar().currentMessage()
    assert window.actions["play"].text() == "Play"
    window.actions["play"].trigger()  # goes on; it stops there only once
    qtbot.waitUntil(lambda: window.session.trainer.epoch > 21, timeout=30_000)
    assert window.session.playing
    window.training.pause()
    window.document.modified = False


def test_leaving_classroom_mode_asks_for_the_teachers_password(make_window, monkeypatch):
    from bpstudio.project.classroom import password_entry, password_matches

    window = make_window()
    entry = password_entry("owl")
    assert "owl" not in str(entry) and password_matches(entry, "owl")
    assert not password_matches(entry, "own")
    window.classroom.set({"hidden": ["runs"], "locked": ["open"], "password": entry})
    typed = ["cat"]
    monkeypatch.setattr(window.feedback, "password", lambda *a: typed.pop(0) if typed else None)
    dialogs = []
    monkeypatch.setattr(window.classroom, "make_dialog", lambda: dialogs.append(1))
    window.actions["classroom"].trigger()  # a student trying: refused, nothing opens
    assert dialogs == [] and "Wrong password" in window.statusBar().currentMessage()
    assert window.classroom.may_leave() is False  # cancelled (nothing typed): refused too
    typed.append("owl")
    assert window.classroom.may_leave()
    window.document.modified = False


def test_classroom_mode_leaves_the_users_own_layout_alone(make_window, settings):
    window = make_window()
    window.classroom.set({"hidden": ["runs", "histograms"], "locked": []})
    assert not window.docks["runs"].isVisible()
    window.document.modified = False
    window.close()
    later = make_window()  # an ordinary session on the same settings
    assert later.docks["runs"].isVisible() or later.docks["histograms"].isVisible()
    assert not later.docks["histograms"].isHidden() and not later.docks["runs"].isHidden()


def test_the_colours_lesson_texts_name_are_the_ones_on_screen():
    """ "<colour> inside" / "<colour> outside" in a lesson's text: the class of the points
    there, in the colour the output plane draws that class (theme: class 0 orange, 1 blue)."""
    import re
    from pathlib import Path

    from bpstudio.data.datasets import CLASS_NAMES
    from bpstudio.lessons.catalog import LESSONS
    from bpstudio.qt import theme

    # The classes are named by their colours on screen: each name is its colour's.
    named = dict(zip(CLASS_NAMES, (theme.ORANGE, theme.BLUE, theme.GREEN, theme.PURPLE)))
    named.update(pink=theme.PINK, brown=theme.BROWN)
    assert [named[name] for name in CLASS_NAMES] == list(theme.CLASS_COLORS)
    class_colour = dict(enumerate(CLASS_NAMES))
    texts = []
    for make in LESSONS.values():
        project = make()
        dataset = project.build_dataset()
        lesson = project.lesson or {}
        for text in (project.description, lesson.get("question", ""), lesson.get("answer", "")):
            texts.append((text, dataset))
    tutorials = Path(__file__).resolve().parents[2] / "docs" / "tutorials"
    checked = 0
    for text, dataset in texts:
        for colour, where in re.findall(r"\b(orange|blue),? (inside|outside)\b", text.lower()):
            radius = np.hypot(*dataset.points_train.T)
            near = radius < 1.5 if where == "inside" else radius > 4.0
            majority = int(np.round(np.mean(dataset.y_train[near])))
            assert class_colour[majority] == colour, (text, where)
            checked += 1
    assert checked >= 2  # lesson 1 says where each class is
    tutorial = (tutorials / "lesson-1-first-network.md").read_text().lower()
    assert "blue inside" in tutorial and "orange inside" not in tutorial


@pytest.mark.parametrize("number", [8, 7])  # three softmax classes; ReLU units on XOR
def test_inspector_dead_units_and_gradients_work_on_the_new_lessons(qtbot, make_window, number):
    from bpstudio.lessons import lessons
    from bpstudio.project import load_project

    window = make_window(load_project(lessons()[number - 1].path))
    for _ in range(2):
        window.actions["epoch"].trigger()
        wait_idle(qtbot, window)
    s = window.last_snapshot
    assert len(s.grad_norms) == len(window.session.trainer.net.kernel_layers)
    assert np.all(np.isfinite(s.grad_norms)) and np.all(np.asarray(s.grad_norms) > 0)
    assert len(s.relu_layers) == (1 if number == 7 else 0)
    dialog = window.open_inspector()
    out = dialog.trace.output
    assert out.shape == ((3,) if number == 8 else (1,))
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    assert dialog.worst_error < 1e-6 and "agree" in dialog.check_verdict.text()
    dialog.close()
