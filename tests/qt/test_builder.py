"""The visual builder, driven as a user drives it: buttons on the canvas, the palette, the
inspector, undo/redo and shortcuts, feature toggles, weight edits, and what was kept."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from bpstudio.data.datasets import DatasetRecipe
from bpstudio.project import Project, editing
from bpstudio.qt import theme
from bpstudio.qt.canvas import RADIUS
from tests.qt.test_window import wait_idle


def train_epoch(qtbot, window):
    window.actions["epoch"].trigger()
    wait_idle(qtbot, window)


def units(window):
    return [c.get("units") for c in window.project.layers]


def test_adding_a_unit_keeps_what_it_can_and_says_what_started_again(qtbot, make_window):
    window = make_window()
    train_epoch(qtbot, window)
    trained = window.session.trainer.net.get_weights()
    window.network_panel.canvas.button_clicked(0, "+")  # "+" above the first hidden layer
    assert units(window) == [5, 2, 1]
    message = window.statusBar().currentMessage()
    assert "Hidden 1: 5 units" in message and "starting again: Hidden 1, Hidden 2" in message
    weights = window.session.trainer.net.get_weights()
    np.testing.assert_array_equal(weights["dense_2/kernel"], trained["dense_2/kernel"])
    assert weights["dense/kernel"].shape == (2, 5)
    # The first run is kept for comparison; the edit starts a new one.
    assert [r.name for r in window.project.runs] == ["Run 1"]
    # Undo and redo, from the Edit menu's actions.
    window.actions["undo"].trigger()
    assert units(window) == [4, 2, 1]
    window.actions["redo"].trigger()
    assert units(window) == [5, 2, 1]
    assert window.edits.undo_stack.undoText() == "Hidden 1: 5 units"


def dense_item_tip(canvas) -> str:
    return next(item for item in canvas.items if item.col.title == "dense").toolTip()


def test_palette_inspector_and_shortcuts(qtbot, make_window):
    window = make_window()
    builder = window.network_panel
    builder.canvas.select(0)
    assert builder.inspector.units.value() == 4 and builder.inspector.title() == "Layer: Hidden 1"
    # The palette adds after the selected layer.
    dropout = next(b for b in builder.palette_buttons if b.kind == "Dropout")
    qtbot.mouseClick(dropout, Qt.MouseButton.LeftButton)
    assert [c["class"] for c in window.project.layers] == ["Dense", "Dropout", "Dense", "Dense"]
    # The inspector changes the selected layer.
    builder.canvas.select(1)
    builder.inspector.rate.setValue(0.35)
    builder.inspector.rate.editingFinished.emit()
    assert window.project.layers[1]["rate"] == 0.35
    builder.canvas.select(0)
    builder.inspector.activation.setCurrentText("relu")
    builder.inspector.activation.activated.emit(0)
    assert window.project.layers[0]["activation"] == "relu"
    # The output layer's size and activation follow the task, and say so.
    builder.canvas.select(3)
    assert not builder.inspector.units.isEnabled()
    assert "sigmoid for two classes" in builder.inspector.note.text()
    # Delete, + and - work on the selected layer while the canvas has the focus.
    builder.canvas.setFocus()
    builder.canvas.select(1)
    qtbot.keyClick(builder.canvas, Qt.Key.Key_Delete)
    assert [c["class"] for c in window.project.layers] == ["Dense", "Dense", "Dense"]
    builder.canvas.select(1)
    qtbot.keyClick(builder.canvas, Qt.Key.Key_Plus)
    qtbot.keyClick(builder.canvas, Qt.Key.Key_Plus)
    qtbot.keyClick(builder.canvas, Qt.Key.Key_Minus)
    assert units(window)[1] == 3
    assert window.edits.undo_stack.count() == 7  # one command per edit


def test_the_layer_tab_sets_the_initializers_scale(make_window):
    window = make_window()
    builder = window.network_panel
    builder.canvas.select(0)
    inspector = builder.inspector
    spec = window.project.layers[0].get("kernel_initializer", "glorot_uniform")
    assert inspector.init_scale.text() == f"{editing.initializer_scale(spec)[1]:g}"
    inspector.initializer.setCurrentText("random_normal")
    inspector.initializer.activated.emit(inspector.initializer.currentIndex())
    assert inspector.init_scale.text() == "0.05"  # Keras's stddev
    inspector.init_scale.setText("1.5")
    inspector.init_scale.editingFinished.emit()
    assert window.project.layers[0]["kernel_initializer"]["stddev"] == 1.5
    kernel = window.session.trainer.net.layers[0].params["kernel"]
    assert 0.5 < kernel.std() < 3  # drawn again at the new size (8 weights)
    inspector.init_scale.setText("big")
    inspector.init_scale.editingFinished.emit()
    assert "Init scale: 'big' is not a number" in window.statusBar().currentMessage()
    inspector.init_scale.setText("-1")
    inspector.init_scale.editingFinished.emit()
    assert "stddev" in window.statusBar().currentMessage()
    assert window.project.layers[0]["kernel_initializer"]["stddev"] == 1.5
    inspector.initializer.setCurrentText("zeros")
    inspector.initializer.activated.emit(inspector.initializer.currentIndex())
    assert not inspector.init_scale.isEnabled()


def test_a_refused_edit_says_why_and_changes_nothing(make_window):
    window = make_window()
    builder = window.network_panel
    before = list(window.project.layers)
    builder.canvas.button_clicked(2, "x")  # the output layer has no delete button; try anyway
    assert window.project.layers == before
    assert "output layer cannot be removed" in window.statusBar().currentMessage()
    builder.canvas.select(0)
    builder.inspector.epsilon.setText("abc")
    builder.inspector.changed.emit(0, {"units": 0})
    assert window.project.layers == before
    assert window.edits.undo_stack.count() == 0


def test_drops_from_the_palette_land_where_they_are_dropped(make_window):
    window = make_window()
    canvas = window.network_panel.canvas
    columns = {c.title: c for c in canvas.columns}
    between = (columns["dense"].x + columns["dense_1"].x) / 2
    assert canvas.drop_index(between) == 1
    assert canvas.drop_index(columns["input"].x + 1) == 0
    canvas.edit_requested.emit("insert", canvas.drop_index(between), "BatchNormalization")
    assert [c["class"] for c in window.project.layers][1] == "BatchNormalization"


def test_input_features_toggle_like_playground(make_window):
    window = make_window()
    canvas = window.network_panel.canvas
    inputs = canvas.columns[0]
    assert inputs.labels[:3] == ("x1", "x2", "x1^2") and inputs.disabled[:3] == (False, False, True)
    canvas.feature_toggled.emit("x1^2")
    assert window.project.dataset.features == ("x1", "x2", "x1^2")
    assert window.session.trainer.net.input_dim == 3
    canvas.feature_toggled.emit("x1")
    canvas.feature_toggled.emit("x2")
    canvas.feature_toggled.emit("x1^2")  # the last one cannot go
    assert window.project.dataset.features == ("x1^2",)
    assert "at least one input feature" in window.statusBar().currentMessage()


def test_hover_shows_a_units_picture_and_an_edge_can_be_edited(qtbot, make_window, monkeypatch):
    window = make_window()
    train_epoch(qtbot, window)
    canvas = window.network_panel.canvas
    dense = next(c for c in canvas.columns if c.title == "dense")
    canvas.unit_hovered(dense, 2)
    assert canvas.preview.isVisible() and canvas.preview.pixmap is not None
    assert (
        canvas.preview.caption.startswith("Hidden 1, unit 3") and "∂L/∂w" in canvas.preview.caption
    )
    # The edge from input x2 to dense unit 4, found where it is drawn.
    a = canvas.columns[0].sources[1]
    b = dense.positions[3]
    middle = (a + QPointF(11, 0) + b - QPointF(11, 0)) / 2
    layer, row, column, weight = canvas.edges.edge_at(middle)
    assert (layer, row, column) == ("dense", 1, 3)
    kernel = window.session.trainer.net.layers[0].params["kernel"]
    assert weight == pytest.approx(kernel[1, 3])
    monkeypatch.setattr("bpstudio.qt.feedback.QInputDialog.getDouble", lambda *a, **k: (0.5, True))
    canvas.weight_clicked.emit(layer, row, column, weight)
    qtbot.waitUntil(lambda: kernel[1, 3] == 0.5, timeout=3000)
    # The edit makes no step, so the snapshot from before it still matches the step count:
    # wait for the one the worker publishes after the edit, which carries its marker.
    qtbot.waitUntil(
        lambda: [e[1] for e in window.last_snapshot.events[-1:]] == ["dense weight [1, 3] = 0.5"],
        timeout=5000,
    )
    # A unit's bias: said on its hover card, changed by double-clicking the unit.
    bias = window.session.trainer.net.layers[0].params["bias"]
    canvas.unit_hovered(dense, 2)
    assert f"bias {bias[2]:.3g}" in canvas.preview.caption
    assert "double-click a unit to set its bias" in dense_item_tip(canvas)
    asked = []

    def number(parent, title, label, value, *a, **k):
        asked.append((title, label, value))
        return -0.75, True

    monkeypatch.setattr("bpstudio.qt.feedback.QInputDialog.getDouble", number)
    qtbot.mouseDClick(
        canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(dense.positions[2])
    )
    qtbot.waitUntil(lambda: bias[2] == -0.75, timeout=3000)
    assert asked[0][:2] == ("Change a bias", "Hidden 1: the bias of unit 3")
    qtbot.waitUntil(
        lambda: [e[1] for e in window.last_snapshot.events[-1:]] == ["dense bias [2] = -0.75"],
        timeout=5000,
    )


def test_editing_while_training_pauses_and_keeps_trained_layers(qtbot, make_window):
    window = make_window()
    window.training.toggle_play()
    qtbot.waitUntil(lambda: window.session.trainer.step_count > 30, timeout=5000)
    window.network_panel.canvas.edit_requested.emit("insert", 2, "Dropout")
    assert not window.session.playing
    trained = window.project.runs[-1].history.steps.steps[-1]
    assert trained > 30
    assert "every layer keeps its trained weights" in window.statusBar().currentMessage()


def test_classroom_lock_keeps_the_network_as_it_is(make_window):
    window = make_window()
    window.classroom.set({"hidden": [], "locked": ["network"]})
    before = list(window.project.layers)
    window.network_panel.canvas.button_clicked(0, "+")
    window.network_panel.add_after_selection("Dense")
    assert window.project.layers == before


def test_a_wide_network_is_drawn_summarised(qtbot, make_window):
    project = Project(
        dataset=DatasetRecipe("digits", n_samples=10),
        layers=[
            {"class": "Dense", "units": 512, "activation": "relu"},
            {"class": "Dense", "units": 512, "activation": "relu"},
            {"class": "Dense", "units": 10, "activation": "softmax"},
        ],
        loss="categorical_crossentropy",
    )
    window = make_window(project)
    canvas = window.network_panel.canvas
    bands = [c.title for c in canvas.columns if c.band is not None]
    assert bands == ["input", "dense", "dense_1"]
    assert len(canvas.columns[-1].positions) == 10
    # 512 x 512 weights, drawn as 6 x 6 aggregated lines.
    window.actions["step"].trigger()
    wait_idle(qtbot, window)
    assert window.last_snapshot.weights is None  # too many to copy every snapshot
    assert [b.shape for b in window.last_snapshot.weight_blocks] == [(6, 6), (6, 6), (6, 6)]
    canvas.grab()  # paints without error


def test_block_means_summarise_a_kernel():
    from bpstudio.viewmodel.snapshots import block_means

    kernel = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(block_means(kernel), kernel)  # small: every weight
    big = np.ones((784, 512))
    big[:130] = -1.0  # the first block of rows: 784 / 6, rounded down
    means = block_means(big)
    assert means.shape == (6, 6)
    assert means[0, 0] == -1 and means[1, 0] == 1


def image_array(image):
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3)


def test_every_unit_and_input_shows_its_picture_and_the_plane_shows_the_pointed_one(
    qtbot, make_window
):
    from bpstudio.viewmodel.snapshots import UNIT_GRID

    window = make_window()
    train_epoch(qtbot, window)
    canvas, output = window.network_panel.canvas, window.panels["output"]
    s = window.last_snapshot
    # A picture for each of the 7 input features and each unit of every Dense layer.
    assert [len(canvas.pictures[c.title]) for c in canvas.columns] == [7, 4, 2, 1]
    hidden = [image_array(im) for im in canvas.pictures["dense"]]
    assert all(p.shape == (UNIT_GRID, UNIT_GRID, 3) for p in hidden)
    assert not all(np.array_equal(hidden[0], p) for p in hidden[1:])  # each its own
    assert hidden[0].std() > 0  # a picture, not a flat colour
    # The pointer on unit 3 of the first hidden layer: its picture fills the output plane.
    dense = next(c for c in canvas.columns if c.title == "dense")
    canvas.unit_hovered(dense, 2)
    grid = s.unit_grids[0][2]
    expected = grid / np.abs(grid).max()
    np.testing.assert_allclose(output.heat.image, expected)
    assert "Hidden 1, unit 3" in output.plane_plot.titleLabel.text
    # On an input feature: the feature's own picture (x1 grows to the right).
    canvas.unit_hovered(canvas.columns[0], 0)
    np.testing.assert_allclose(output.heat.image, s.feature_grids["x1"])
    assert output.heat.image[0, -1] > output.heat.image[0, 0]
    assert "x₁" in output.plane_plot.titleLabel.text
    # The pointer leaves: the network's output again.
    canvas.unit_hovered(canvas.columns[0], None)
    np.testing.assert_allclose(output.heat.image, np.nan_to_num(s.output.grid, nan=0.5))
    assert "Output" in output.plane_plot.titleLabel.text


def test_a_wide_layer_shows_its_first_pictures_and_how_many_more(qtbot, make_window):
    from bpstudio.qt.canvas import MAX_DRAWN_UNITS

    project = Project(
        dataset=DatasetRecipe("circle"),
        layers=[
            {"class": "Dense", "units": 40, "activation": "relu"},
            {"class": "Dense", "units": 1, "activation": "sigmoid"},
        ],
    )
    window = make_window(project)
    train_epoch(qtbot, window)
    canvas = window.network_panel.canvas
    wide = next(item for item in canvas.items if item.col.title == "dense")
    assert wide.col.band is not None
    assert len(canvas.pictures["dense"]) == MAX_DRAWN_UNITS
    shown, more = wide.pictured()
    assert 0 < shown <= MAX_DRAWN_UNITS and more == 40 - shown
    canvas.grab()  # painted: the count is written where it fits
    assert f"+{more} more" not in canvas.elided


def test_a_network_too_big_for_a_small_computer_is_built_only_if_the_user_says_so(
    qtbot, make_window, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr("bpstudio.analysis.cost.ASK_BYTES", 200_000)  # "huge", for the test
    window = make_window()
    answers, asked = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes], []

    def question(title, text, *rest):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(window.feedback, "question", question)
    builder = window.network_panel
    builder.canvas.select(0)
    builder.inspector.changed.emit(0, {"units": 3000})
    assert "parameters: about" in asked[0] and "of memory" in asked[0]
    assert window.project.layers[0]["units"] == 4  # not built
    assert "Not built" in window.statusBar().currentMessage()
    builder.inspector.changed.emit(0, {"units": 3000})
    assert window.project.layers[0]["units"] == 3000  # built, as the user said
    builder.inspector.changed.emit(0, {"units": 4})  # a small one asks nothing
    assert len(asked) == 2 and window.project.layers[0]["units"] == 4
    window.document.modified = False


def test_edges_are_drawn_in_their_weights_colour_and_strength(qtbot, make_window):
    """Blue for a positive weight, orange for a negative one, the weak ones paler, in every
    layer (their lines are drawn together, a pen per strength and sign); the edge the
    inspector points at in the text colour, on top."""
    window = make_window()
    canvas = window.network_panel.canvas
    segments = [seg for seg in canvas.edges.segments if seg[3] is not None]
    assert len(segments) >= 2

    def colour(image, a, b, r, c):
        p, q = a.sources[r] + QPointF(RADIUS, 0), b.positions[c] - QPointF(RADIUS, 0)
        # A fifth of the way along, away from where edges cross.
        point = canvas.mapFromScene(p + (q - p) / 5)
        found = image.pixelColor(point.x(), point.y())
        return found.red(), found.green(), found.blue()

    image = canvas.viewport().grab().toImage()
    for _, a, b, kernel, _ in segments:
        big = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
        small = np.unravel_index(np.argmin(np.abs(kernel)), kernel.shape)
        red, _, blue = colour(image, a, b, *big)
        assert (blue > red) == (kernel[big] > 0), (colour(image, a, b, *big), kernel[big])
        assert sum(colour(image, a, b, *small)) > sum(colour(image, a, b, *big))  # paler
    layer, a, b, kernel, _ = segments[1]
    big = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    canvas.set_overlay(None, highlight=(layer, *map(int, big)))
    image = canvas.viewport().grab().toImage()
    assert colour(image, a, b, *big) == QColor(theme.TEXT).getRgb()[:3]


def test_a_snapshot_repaints_only_what_it_changes(qtbot, make_window, monkeypatch):
    """The columns and the edges paint from a kept pixmap until what they draw changes; a
    changed bias or weight is painted at once."""
    import dataclasses

    from bpstudio.qt.canvas import ColumnItem, EdgesItem

    window = make_window()
    train_epoch(qtbot, window)
    canvas, s = window.network_panel.canvas, window.last_snapshot
    painted = []  # (Qt calls `paint` past a patch of the class; these it calls from Python)
    for cls, name in ((ColumnItem, "_paint_units"), (EdgesItem, "_paint_lines")):
        paint = getattr(cls, name)
        monkeypatch.setattr(
            cls, name, lambda self, *a, paint=paint: painted.append(self) or paint(self, *a)
        )

    def show(snapshot):
        painted.clear()
        canvas.show_snapshot(snapshot)
        return canvas.viewport().grab().toImage()

    show(s)
    show(s)
    assert painted == []  # the same snapshot again: nothing painted anew
    dense = next(item for item in canvas.items if item.col.title == "dense")
    kernel, bias = s.weights[0]
    frame = dense.col.positions[0] + QPointF(RADIUS - 1, 0)  # on the first unit's frame
    point = canvas.mapFromScene(frame)
    before = show(s).pixelColor(point)
    flipped = np.where(np.arange(len(bias)) == 0, -np.sign(bias[0]) * 0.9, bias)
    image = show(dataclasses.replace(s, weights=((kernel, flipped), *s.weights[1:])))
    assert painted == [dense]  # the edges under it blitted
    assert image.pixelColor(point) != before
    turned = kernel.copy()
    turned[0, 0] = -turned[0, 0]
    show(dataclasses.replace(s, weights=((turned, flipped), *s.weights[1:])))
    assert canvas.edges in painted and dense not in painted


def test_edges_are_smooth_at_rest_and_in_exports_but_not_while_training_runs(
    qtbot, make_window, tmp_path
):
    """Wide antialiased lines are the canvas's dearest part: the edges of a moving picture
    are drawn without antialiasing (so in fewer colours: no blended pixels at their sides);
    the picture at rest and every export are smooth."""
    import dataclasses

    from PySide6.QtGui import QImage

    window = make_window()
    train_epoch(qtbot, window)
    canvas, s = window.network_panel.canvas, window.last_snapshot
    assert s.final

    def show(snapshot):
        canvas.show_snapshot(snapshot)
        image = canvas.viewport().grab().toImage()
        window.network_panel.export(tmp_path / "network.png")
        exported = QImage(str(tmp_path / "network.png"))
        return colours(image), image, exported

    def colours(image):
        return {image.pixel(x, y) for x in range(image.width()) for y in range(image.height())}

    moving, moving_image, moving_export = show(dataclasses.replace(s, final=False))
    rest, rest_image, rest_export = show(s)  # no weight changed: drawn again all the same
    assert moving_image != rest_image
    assert len(moving) < len(rest)
    assert moving_export == rest_export  # exported while moving: smooth all the same


def test_heat_images_colour_each_grid_by_its_own_range():
    """Each grid scaled to its own range (or -1…1 fixed), computed for many grids at once as
    one at a time: its least value at the orange end, its largest at the blue end, what is not
    a number in the middle, the grid's last row at the top."""
    from bpstudio.qt.canvas import heat_image, heat_images

    rng = np.random.default_rng(0)
    grids = rng.normal(size=(5, 6, 7)) * 3
    grids[1] = 0.7  # one value everywhere: all at the low end
    grids[2, 2, 3] = np.nan
    grids[3] = np.nan  # nothing finite at all: the middle
    grids[4, 0, 0], grids[4, 1, 1] = np.inf, -np.inf

    def rgb(image, row, col):  # grid[row, col]'s pixel
        c = image.pixelColor(col, image.height() - 1 - row)
        return c.red(), c.green(), c.blue()

    def pixels(image):
        return [[image.pixel(x, y) for x in range(image.width())] for y in range(image.height())]

    for fixed in (False, True):
        together = heat_images(grids, fixed)
        for grid, image in zip(grids, together):
            alone = heat_image(grid, fixed)
            assert pixels(alone) == pixels(image)
            assert (image.width(), image.height()) == (7, 6)
    ends = heat_images(np.array([[[-1.0, 1.0]]]), fixed=True)[0]
    orange, blue = rgb(ends, 0, 0), rgb(ends, 0, 1)
    assert orange != blue
    images = heat_images(grids)
    g = grids[0]
    (r0, c0), (r1, c1) = (
        np.unravel_index(g.argmin(), g.shape),
        np.unravel_index(g.argmax(), g.shape),
    )
    assert rgb(images[0], r0, c0) == orange and rgb(images[0], r1, c1) == blue
    assert {rgb(images[1], r, c) for r in range(6) for c in range(7)} == {orange}
    middle = rgb(images[3], 0, 0)
    assert middle not in (orange, blue) and rgb(images[2], 2, 3) == middle
    assert {rgb(images[3], r, c) for r in range(6) for c in range(7)} == {middle}
    # Infinities are beyond the ends: the finite values keep their own range.
    assert rgb(images[4], 0, 0) == blue and rgb(images[4], 1, 1) == orange
