"""A monkey at the keyboard: thousands of random user actions fired at the real window while
training runs (play, pause, step, reset, network edits, undo/redo, settings, data sets,
lessons, save and load, autosaves that must reopen, hostile files, odd layer names, resets,
dialogs). No exception may escape (pytest-qt fails the test on one
raised in any slot), nothing may deadlock (a watchdog dumps the stacks and fails), and
afterwards the engine's network must be the one the canvas shows.

BPSTUDIO_MONKEY_ACTIONS sets how many actions (default 1500; a nightly run: 10000); the
count survived is printed."""

import collections
import faulthandler
import io
import json
import os
import random
import zipfile

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from bpstudio.data.datasets import FEATURES, DatasetRecipe
from bpstudio.lessons.catalog import first_network
from bpstudio.project import load_project, project_bytes, save_project
from bpstudio.qt.dialogs import CsvImportDialog
from bpstudio.qt.layout import PANEL_NAMES
from tests.qt.test_window import wait_idle

ACTIONS = int(os.environ.get("BPSTUDIO_MONKEY_ACTIONS", "1500"))
ODD_NAMES = ("my layer", "dénse ü", "..", "a/b\\c", "x" * 300, "layer%2F1", "ørsted 層", "-")


def _good_members():
    with zipfile.ZipFile(io.BytesIO(project_bytes(first_network()))) as z:
        return {name: z.read(name) for name in z.namelist()}


def _zip(members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _json_edit(edit):
    def make(rng):
        members = _good_members()
        doc = json.loads(members["project.json"])
        edit(doc, rng)
        return _zip({**members, "project.json": json.dumps(doc).encode()})

    return make


HOSTILE = (
    lambda rng: rng.randbytes(rng.randint(0, 3000)),
    lambda rng: project_bytes(first_network())[: rng.randint(0, 2000)],
    _json_edit(lambda doc, rng: doc.setdefault("lesson", {}).update(question=5)),
    _json_edit(lambda doc, rng: doc["training"].update(batch_size=10**6)),
    _json_edit(lambda doc, rng: doc["network"]["layers"][0].update(units=-3)),
    _json_edit(lambda doc, rng: doc.update(format_version=99)),
    lambda rng: _zip({**_good_members(), "project.json": b"[" * 800 + b"]" * 800}),
    lambda rng: b"a,b\n1,2\n",  # a CSV named .bpstudio
)
SEED = 20261124
DATASETS = ("circle", "xor", "gauss", "spiral", "moons", "plane", "multi_gauss")
KINDS = ("Dense", "Activation", "Dropout", "BatchNormalization")


class Monkey:
    def __init__(self, window, rng, tmp_path):
        self.window, self.rng, self.tmp = window, rng, tmp_path
        self.errors = []

    # --- training
    def play_pause(self):
        self.window.training.toggle_play()

    def step(self):
        self.window.training.step_batch()

    def epoch(self):
        self.window.training.step_epoch()

    def reset(self):
        self.window.training.reset()

    def rollback(self):
        if self.window.failure_banner.isVisible():
            self.window.failure_banner.rollback_lower_button.click()

    def speed(self):
        self.window.speed.setValue(self.rng.randint(0, self.window.speed.maximum()))

    # --- the network
    def edit(self):
        canvas = self.window.network_panel.canvas
        layers = self.window.network_panel.layers
        index = self.rng.randrange(len(layers) + 1)
        action = self.rng.choice(["units", "remove", "move", "insert"])
        if action == "units":
            arg = self.rng.randint(0, 20)
        elif action == "move":
            arg = self.rng.choice([-1, 1])
        elif action == "insert":
            arg = self.rng.choice(KINDS)
        else:
            arg = None
        canvas.edit_requested.emit(action, min(index, len(layers) - 1), arg)

    def inspector_change(self):
        builder = self.window.network_panel
        index = self.rng.randrange(len(builder.layers))
        builder.canvas.select(index)
        change = self.rng.choice(
            [
                {"activation": self.rng.choice(["relu", "tanh", "sigmoid", "leaky_relu", "elu"])},
                {"rate": self.rng.choice([0.0, 0.3, 0.9, 1.0, 1.5])},
                {"kernel_initializer": self.rng.choice(["zeros", "he_normal", "glorot_uniform"])},
                {"use_bias": self.rng.choice([True, False])},
                {"momentum": self.rng.choice([0.5, 0.99, 2.0])},
                {"units": self.rng.choice([0, 1, 3, 33])},
            ]
        )
        builder.inspector.changed.emit(index, change)

    def undo(self):
        self.window.actions["undo"].trigger()

    def redo(self):
        self.window.actions["redo"].trigger()

    def feature(self):
        self.window.network_panel.canvas.feature_toggled.emit(self.rng.choice(list(FEATURES)))

    def weight(self):
        segments = [s for s in self.window.network_panel.canvas.edges.segments if s[3] is not None]
        if segments:
            layer, _, _, kernel, _ = self.rng.choice(segments)
            r, c = self.rng.randrange(kernel.shape[0]), self.rng.randrange(kernel.shape[1])
            self.window.network_panel.canvas.weight_clicked.emit(layer, r, c, float(kernel[r, c]))

    # --- settings and data
    def setting(self):
        change = self.rng.choice(
            [
                {"learning_rate": self.rng.choice([1e-4, 0.03, 0.3, 3.0, 100.0])},
                {"batch_size": self.rng.choice([1, 10, 64, 10_000])},
                {"dropout_rate": self.rng.choice([0.0, 0.5, 0.95])},
                {"regularization": self.rng.choice([None, "l1", "l2"])},
                {"momentum": self.rng.choice([0.0, 0.9])},
                {"global_clipnorm": self.rng.choice([None, 1.0])},
            ]
        )
        self.window.training.change_settings(change)

    def optimizer(self):
        self.window.edits.change_optimizer(self.rng.choice(["sgd", "adam", "rmsprop"]))

    def dataset(self):
        recipe = DatasetRecipe(
            self.rng.choice(DATASETS),
            n_samples=self.rng.choice([50, 200]),
            noise=self.rng.choice([0.0, 0.3]),
            seed=self.rng.randint(0, 5),
        )
        self.window.edits.change_recipe(recipe)

    def lesson(self):
        self.window.open_lesson(self.rng.randint(1, 5))

    def fix(self):
        fixes = (self.window.project.lesson or {}).get("fixes", [])
        if fixes:
            self.window.edits.run_fix(self.rng.randrange(len(fixes)))

    # --- files and dialogs
    def save_and_load(self):
        path = self.tmp / "monkey.bpstudio"
        save_project(self.window.training.capture(), path)
        self.window.document.modified = False
        self.window.open_project(load_project(path), path)

    def inspector(self):
        dialog = self.window.open_inspector()
        dialog.show_stage(self.rng.randint(0, 6))
        dialog.close()

    def classroom(self):
        hidden = self.rng.sample(sorted(PANEL_NAMES), self.rng.randint(0, 2))
        locked = self.rng.sample(
            ["dataset", "settings", "network", "reset"], self.rng.randint(0, 2)
        )
        self.window.classroom.set(
            {"hidden": hidden, "locked": locked} if hidden or locked else None
        )

    def csv_dialog(self):
        path = self.tmp / "bad.csv"
        path.write_text(self.rng.choice(["a,b\n1,x\n", "", "a;b\n1;2\n", "a,b\n1,2\n3\n"]))
        dialog = CsvImportDialog(path, self.window)
        dialog.accept()  # refused with a message in the dialog, or read
        dialog.close()

    def autosave(self):
        self.window.autosaves.autosave()

    def autosave_reopens(self):
        """Whatever the window autosaves, reopens."""
        if self.window.autosaves.autosave(force=True, wait=True):
            load_project(self.window.autosaves.autosaver.path)

    def reset_new(self):
        self.window.training.reset_new_weights()

    def odd_name(self):
        """A layer renamed to a name the file format must carry whole."""
        layers = [dict(c) for c in self.window.network_panel.layers]
        index = self.rng.randrange(len(layers))
        layers[index]["name"] = self.rng.choice(ODD_NAMES)
        self.window.network_panel.edit_requested.emit(layers, "Rename a layer")

    def hostile_file(self):
        """A file the studio must refuse with one message, the open project untouched."""
        path = self.tmp / f"hostile-{self.rng.randrange(10**6)}.bpstudio"
        path.write_bytes(self.rng.choice(HOSTILE)(self.rng))
        before = self.window.project
        if not self.window.files.open_path(path):
            assert self.window.project is before


def test_thousands_of_random_actions(qtbot, make_window, tmp_path, monkeypatch):
    rng = random.Random(SEED)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *a, **k: (rng.uniform(-2, 2), True))
    window = make_window()
    monkey = Monkey(window, rng, tmp_path)
    monkeypatch.setattr(window.feedback, "error", lambda *a, **k: monkey.errors.append(a))
    names = [n for n in dir(Monkey) if not n.startswith("_")]
    counts = collections.Counter()
    # A deadlock fails loudly, with stacks (a nightly run of 10,000 actions gets more time).
    faulthandler.dump_traceback_later(max(240, ACTIONS // 5), exit=True)
    try:
        for i in range(ACTIONS):
            name = rng.choice(names)
            getattr(monkey, name)()
            counts[name] += 1
            if i % 3 == 0:
                qtbot.wait(1)  # let training and drawing run between actions
    finally:
        faulthandler.cancel_dump_traceback_later()
    # Afterwards: pause, and the engine's network is the one on the canvas.
    with window.training.paused():
        pass
    wait_idle(qtbot, window, timeout=10_000)
    net = window.session.trainer.net
    builder = window.network_panel
    assert [c["name"] for c in builder.layers] == [layer.name for layer in net.layers]
    drawn = [c for c in builder.canvas.columns if c.index >= 0]
    assert [c.units for c in drawn] == [layer.output_dim for layer in net.layers]
    assert [c.title for c in drawn] == [layer.name for layer in net.layers]
    assert builder.canvas.columns[0].outputs == net.input_dim
    project = window.training.capture()
    assert [c["name"] for c in project.layers] == [layer.name for layer in net.layers]
    print(
        f"\nmonkey: {sum(counts.values())} actions survived "
        f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
        f"{len(monkey.errors)} error messages shown, e.g. "
        f"{monkey.errors[0][1] if monkey.errors else 'none'}"
    )
    # Error messages are for the user's mistakes (a bad edit, a file that cannot be read),
    # never for an error inside the studio.
    inside = [e for e in monkey.errors if "error in Backprop Studio" in str(e[0])]
    assert not inside, inside[0]
    window.document.modified = False


@pytest.mark.parametrize("seed", [1, 2])
def test_short_monkey_runs_with_other_seeds(qtbot, make_window, tmp_path, monkeypatch, seed):
    """A few hundred actions from other seeds, so that one lucky sequence proves nothing."""
    rng = random.Random(seed)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *a, **k: (0.5, True))
    window = make_window()
    monkey = Monkey(window, rng, tmp_path)
    monkeypatch.setattr(window.feedback, "error", lambda *a, **k: monkey.errors.append(a))
    names = [n for n in dir(Monkey) if not n.startswith("_")]
    for i in range(300):
        getattr(monkey, rng.choice(names))()
        if i % 3 == 0:
            qtbot.wait(1)
    window.session.pause()
    wait_idle(qtbot, window, timeout=10_000)
    net = window.session.trainer.net
    assert [c["name"] for c in window.network_panel.layers] == [x.name for x in net.layers]
    assert not [e for e in monkey.errors if "error in Backprop Studio" in str(e[0])]
    window.document.modified = False
