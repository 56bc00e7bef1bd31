"""The edits controller: every change that rebuilds the trainer (the network's layers and
input features, undoable; the data, CSV import, the optimizer, a lesson's fix) and the edit of
one weight."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QMessageBox

from bpstudio.analysis.cost import estimate
from bpstudio.data.datasets import DatasetRecipe
from bpstudio.lessons import apply_fix
from bpstudio.project import ProjectError
from bpstudio.project.editing import (
    EditError,
    describe_reset,
    name_layers,
    rebuild,
    set_hidden_activation,
    switch_optimizer,
)
from bpstudio.qt.builder import BuilderPanel
from bpstudio.qt.controllers.training import TrainingController
from bpstudio.qt.dialogs import CsvImportDialog
from bpstudio.qt.feedback import Feedback
from bpstudio.training.trainer import MAX_WEIGHT
from bpstudio.viewmodel.document import Document
from bpstudio.viewmodel.names import label_of


class EditsController(QObject):
    """open_project(project, path, keep_undo=...) -> bool shows the rebuilt project (the
    window's); autosave(force=True) keeps each structural change at once; folder() is where
    file choosers start.

    Signals: fix_started(measure) when a lesson's fix starts its second run (the measure the
    lesson compares the runs on); data_refused() when new data could not be used."""

    fix_started = Signal(str)
    data_refused = Signal()

    def __init__(
        self,
        document: Document,
        training: TrainingController,
        builder: BuilderPanel,
        feedback: Feedback,
        open_project: Callable[..., bool],
        autosave: Callable[..., bool],
        folder: Callable[[], str],
        parent=None,
    ):
        super().__init__(parent)
        self.document = document
        self.training = training
        self.builder = builder
        self.feedback = feedback
        self.open_project = open_project
        self.autosave = autosave
        self.folder = folder
        self.undo_stack = QUndoStack(self)
        builder.edit_requested.connect(self.edit_network)
        builder.features_requested.connect(self.edit_features)
        builder.weight_requested.connect(self.edit_weight)
        builder.bias_requested.connect(self.edit_bias)
        builder.rejected.connect(self.feedback.status)

    def bind_undo_actions(self, undo: QAction, redo: QAction):
        """Undo/Redo actions that say what they would undo and are enabled only then."""
        for action, can, text, word in (
            (undo, self.undo_stack.canUndoChanged, self.undo_stack.undoTextChanged, "Undo"),
            (redo, self.undo_stack.canRedoChanged, self.undo_stack.redoTextChanged, "Redo"),
        ):
            action.setEnabled(False)
            can.connect(action.setEnabled)
            text.connect(lambda t, a=action, w=word: a.setText(f"&{w} {t}" if t else f"&{w}"))
        self.builder.set_undo_actions(undo, redo)

    # ------------------------------------------------------------------ the network

    def edit_network(self, layers, description):
        self._push_structure(layers, None, description)

    def edit_features(self, features, description):
        self._push_structure(None, features, description)

    def _push_structure(self, layers, features, description):
        before = (copy.deepcopy(self.builder.layers), tuple(self.document.project.dataset.features))
        after = (
            before[0] if layers is None else layers,
            before[1] if features is None else tuple(features),
        )
        self.undo_stack.push(StructureCommand(self, before, after, description))

    def set_structure(self, layers, features, description) -> bool:
        """Rebuild the network with `layers` and input `features`, keeping every trained
        weight that still fits; training pauses and the status bar says what started again."""
        reset = []

        def change(project):
            reset.extend(rebuild(project, layers, features))

        try:
            done = self.restructure(change, description, keep_undo=True)
        except EditError as exc:
            self.feedback.status(f"{description}: {exc}")
            return False
        if done:
            layers = self.document.project.layers
            shown = [label_of(layers, name) for name in reset]
            self.feedback.status(f"{description}: {describe_reset(shown)}", 10000)
        return done

    def edit_weight(self, layer, row, column, weight):
        what = f"the weight from unit {row + 1} to unit {column + 1}"
        self._ask_for_weight("Change a weight", what, layer, row, column, weight)

    def edit_bias(self, layer, unit, bias):
        self._ask_for_weight(
            "Change a bias", f"the bias of unit {unit + 1}", layer, None, unit, bias
        )

    def _ask_for_weight(self, title, what, layer, row, column, value):
        """Ask for a new value of one weight (row None: a bias) while training waits."""
        shown = label_of(name_layers(self.document.project.layers), layer)
        value = self.training.while_asking(
            lambda: self.feedback.number(title, f"{shown}: {what}", value, -MAX_WEIGHT, MAX_WEIGHT),
            always_resume=True,
        )
        if value is not None:
            self.training.set_weight(layer, row, column, value)

    # ------------------------------------------------------------------ what needs a new trainer

    def restructure(self, change, message, keep_undo=False) -> bool:
        """Apply a change that needs a new trainer (data, optimizer, network), keeping the
        project's other settings; on a problem nothing changes."""
        try:
            project = copy.copy(self.training.capture())
        except TimeoutError as exc:
            self.feedback.error("The change was not made", str(exc))
            return False
        project.runs = list(project.runs)
        project.progress = project.progress_arrays = None  # a new trainer starts its epoch
        change(project)
        if project.weights is None:  # a new start: the counters too
            project.steps = project.epoch = 0
            project.current_run = None
        try:
            dataset = project.build_dataset()
            note = project.fit_output_to(dataset)
            if not self._cost_accepted(project, dataset):
                return False
            project.build_network()
        except ProjectError as exc:
            self.feedback.error("The change was not made", str(exc))
            self.data_refused.emit()
            return False
        if not self.open_project(project, self.document.path, keep_undo=keep_undo):
            return False
        notes = [n for n in (note, project.note) if n]
        project.note = None
        self.document.modified = True
        self.autosave(force=True)  # every structural change is kept at once
        self.feedback.status("; ".join([message, *notes]))
        return True

    def _cost_accepted(self, project, dataset) -> bool:
        """A network whose training would take gigabytes or seconds a step is built only if
        the user says so, after being told what it costs."""
        cost = estimate(
            project.layers,
            dataset.X_train.shape[1],
            project.batch_size,
            project.optimizer.get("name", "sgd"),
            project.dtype,
        )
        if not cost.huge or cost.parameters == self.training.trainer.net.count_params():
            return True
        answer = self.feedback.question(
            "A very large network",
            f"This network has {cost.describe()} on a small computer. The window stays "
            f"usable, but training will be slow. Build it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            self.feedback.status(f"Not built: {cost.describe()}", 10000)
            return False
        return True

    def import_csv(self):
        path = self.feedback.open_file(
            "Import CSV data", self.folder(), "CSV files (*.csv *.txt);;All files (*)"
        )
        if not path:
            return
        dialog = CsvImportDialog(path, self.feedback.parent)
        if dialog.exec() == CsvImportDialog.DialogCode.Accepted:
            table = dialog.table
            if self.use_table(table, Path(path).name) and table.dropped:
                self.feedback.status(
                    f"Imported {len(table.X):,} rows of {Path(path).name}; {table.dropped:,} "
                    f"with a missing value were left out",
                    10000,
                )

    def use_table(self, table, name, ask=True) -> bool:
        """Train on imported data from now on; the output layer follows its task. A trained
        network starts again, so the user is asked first; Undo brings it back."""
        if ask and self.training.trainer.step_count:
            if not self.training.while_asking(lambda: self._confirm_new_data(name)):
                return False

        def change(project):
            project.table = table
            recipe = project.dataset
            project.dataset = DatasetRecipe("csv", train_ratio=recipe.train_ratio, seed=recipe.seed)
            project.weights = None  # new data, new start

        return self._push_data_change(change, f"Import {name}")

    def change_recipe(self, recipe) -> bool:
        """New data (undoable); the network starts again."""

        def change(project):
            project.dataset = recipe
            if recipe.name != "csv":
                project.table = None
            project.weights = None  # new data, new start

        return self._push_data_change(change, "New data; the network starts again")

    def _confirm_new_data(self, name) -> bool:
        answer = self.feedback.question(
            "Replace the trained network?",
            f"Training on {name} starts the network again from new weights. The run so far "
            f"is kept in Compare runs, and Edit > Undo brings the network back.",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Ok,
        )
        return answer == QMessageBox.StandardButton.Ok

    def _push_data_change(self, change, text) -> bool:
        """Make `change` as an undoable command; undo restores the data and the trained
        network as they were."""
        try:
            before = DataState.of(self.training.capture())
        except TimeoutError as exc:
            self.feedback.error("The change was not made", str(exc))
            return False
        made = []
        self.undo_stack.push(DataCommand(self, before, change, text, made))  # runs redo()
        return made == [True]

    def set_hidden_activation(self, name):
        """Every hidden Dense layer takes activation `name` (one undoable edit)."""
        try:
            layers = set_hidden_activation(self.document.project.layers, name)
        except EditError as exc:
            self.feedback.status(str(exc))
            return
        if layers != name_layers(self.document.project.layers):
            self.edit_network(layers, f"Every hidden layer: {name}")

    def change_optimizer(self, name):
        def change(project):
            project.optimizer = switch_optimizer(project.optimizer, name)

        self.restructure(change, f"Optimizer: {name}; a new run starts from the current weights")

    def run_fix(self, index):
        """Keep the current run and start a second one with the lesson's fix `index`, from
        the same seed, to compare with the first in the Compare runs panel."""
        document = self.document
        name = document.project.lesson["fixes"][index]["name"]
        if document.run_name is None:
            document.run_name = "as given"
        if self.restructure(lambda project: apply_fix(project, index), f"Second run: {name}"):
            document.run_name = name
            self.fix_started.emit(document.project.lesson.get("compare", "test_loss"))


@dataclass(frozen=True)
class DataState:
    """What a change of data replaces: the data, the network fitted to it and its weights."""

    dataset: DatasetRecipe
    table: object
    layers: list
    loss: str
    weights: dict | None
    steps: int
    epoch: int
    current_run: int | None

    @classmethod
    def of(cls, project) -> DataState:
        weights = None if project.weights is None else dict(project.weights)
        return cls(
            project.dataset,
            project.table,
            copy.deepcopy(project.layers),
            project.loss,
            weights,
            project.steps,
            project.epoch,
            project.current_run,
        )

    def restore(self, project):
        for name in self.__dataclass_fields__:
            setattr(project, name, copy.deepcopy(getattr(self, name)))


class DataCommand(QUndoCommand):
    """New data for the network, undoable: undo brings back the data and the trained
    network as they were (the runs made meanwhile are kept)."""

    def __init__(self, edits: EditsController, before: DataState, change, text, made: list):
        super().__init__(text)
        self.edits, self.before, self.change, self.made = edits, before, change, made

    def redo(self):
        done = self.edits.restructure(self.change, self.text(), keep_undo=True)
        self.made.append(done)
        if not done:
            self.setObsolete(True)  # it could not be made: the stack drops it

    def undo(self):
        self.edits.restructure(self.before.restore, f"Undo: {self.text()}", keep_undo=True)


class StructureCommand(QUndoCommand):
    """One edit of the network (layers and input features), undoable."""

    def __init__(self, edits: EditsController, before, after, text):
        super().__init__(text)
        self.edits, self.before, self.after = edits, before, after

    def redo(self):
        if not self.edits.set_structure(*self.after, self.text()):
            self.setObsolete(True)  # it could not be made: drop it from the stack

    def undo(self):
        self.edits.set_structure(*self.before, f"Undo: {self.text()}")
