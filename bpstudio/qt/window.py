"""The studio's main window: the network in the middle, dockable panels around it, a toolbar
to play, pause and step, and the File, Lessons, View and Help menus."""

from __future__ import annotations

import copy
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import (
    QObject,
    QSettings,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QIcon, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSlider,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

import bpstudio
from bpstudio._resources import resource_path
from bpstudio.data.datasets import DatasetRecipe
from bpstudio.export import TARGETS, ExportError, export_project
from bpstudio.lessons import apply_fix, lessons
from bpstudio.project import (
    SUFFIX,
    Project,
    ProjectError,
    load_project,
    save_project,
)
from bpstudio.project.autosave import DEFAULT_INTERVAL, Autosaver, recoverable
from bpstudio.project.editing import EditError, describe_reset, rebuild
from bpstudio.qt import theme
from bpstudio.qt.builder import BuilderPanel
from bpstudio.qt.controls import DatasetPanel, SettingsPanel
from bpstudio.qt.dialogs import ClassroomDialog, CsvImportDialog
from bpstudio.qt.inspector import BackpropInspectorDialog
from bpstudio.qt.lesson import DiagnosisBanner, LessonPanel
from bpstudio.qt.panels.base import Panel
from bpstudio.qt.panels.dead_units import DeadUnitsPanel
from bpstudio.qt.panels.gradients import GradientsPanel
from bpstudio.qt.panels.histograms import HistogramsPanel
from bpstudio.qt.panels.loss import LossPanel
from bpstudio.qt.panels.output import OutputPanel
from bpstudio.qt.panels.runs import RunsPanel
from bpstudio.qt.session import TrainingSession
from bpstudio.training.trainer import TrainingError

MAX_RECENT = 8
#: Qt's repaint idle time, in ms (set by bpstudio.qt.app.application).
PAINT_IDLE_MS = 1
#: Bumped when the panels change, so that a layout saved by an older version (without the new
#: docks) is not restored with them in odd places.
LAYOUT_VERSION = 2
#: Seconds to wait after each step at each position of the speed slider (last: full speed).
SPEEDS = (0.5, 0.2, 0.05, 0.01, 0.0)
#: File > Export > Network as …: target -> (label, file suffix, tooltip).
NETWORK_EXPORTS = {to: (m.LABEL, m.SUFFIX, m.DESCRIPTION) for to, m in TARGETS.items()}
FILE_FILTER = f"Backprop Studio projects (*{SUFFIX});;All files (*)"


class SnapshotHub(QObject):
    """Re-emits the snapshots of whichever session is current, dropping the ones the GUI had
    no time to draw (only the newest matters), and emits `drawn` once what it delivered has
    been painted, so that the trainer, which waits for it (see DrawGate), holds still while
    the GUI thread works.

    Qt repaints on an idle timer after the panels ask, gathering all their requests into one
    repaint; application() sets that timer to 1 ms (QT_QPA_UPDATE_IDLE_TIME; 5 by default),
    so a 2 ms timer started after delivery fires once that repaint is done. (With the idle
    timer at 0, every request was painted on its own: 6-7 repaints a snapshot, measured.)"""

    snapshot_ready = Signal(object)
    #: What was delivered has been painted: the trainer may go on.
    drawn = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._latest = None
        self._scheduled = False
        self.received = 0
        self.draw_count = 0

    def offer(self, snapshot):
        self.received += 1
        self._latest = snapshot
        if not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._deliver)

    def _deliver(self):
        self._scheduled = False
        snapshot, self._latest = self._latest, None
        if snapshot is not None:
            self.draw_count += 1
            self.snapshot_ready.emit(snapshot)
        QTimer.singleShot(PAINT_IDLE_MS + 1, self.drawn.emit)


class StudioWindow(QMainWindow):
    def __init__(
        self,
        project: Project | None = None,
        path=None,
        settings: QSettings | None = None,
        autosave_dir=None,
    ):
        super().__init__()
        self.settings = (
            settings if settings is not None else QSettings("BackpropStudio", "bpstudio")
        )
        self.setWindowIcon(QIcon(str(resource_path("icons", "bpstudio.svg"))))
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.hub = SnapshotHub(self)
        self.session: TrainingSession | None = None
        self.project: Project | None = None
        self.path: Path | None = None
        self._edits = 0  # changes made, for autosave to notice the ones that train nothing
        self.modified = False
        self.last_snapshot = None
        self.run_name = None
        self.inspector = None
        self._classroom_hidden: set[str] = set()
        self.network_locked = False
        self.autosaver = Autosaver(autosave_dir or default_autosave_dir())
        self._autosaved_state = None
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        seconds = float(os.environ.get("BPSTUDIO_AUTOSAVE_SECONDS", DEFAULT_INTERVAL))
        self.autosave_timer.start(int(seconds * 1000))
        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self.hub.snapshot_ready.connect(self._on_snapshot_ready)
        self.hub.drawn.connect(self._on_snapshot_drawn)
        self.statusBar().showMessage("Ready", 3000)
        self.resize(1600, 1000)
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._restore_layout()
        self.open_project(project if project is not None else _first_lesson(), path)

    # ------------------------------------------------------------------ building

    def _build_central(self):
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        self.banner.setStyleSheet(
            "#banner { background: #fce8e6; border: 1px solid #c5221f; border-radius: 4px; }"
        )
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.rollback_button = QPushButton("Roll back")
        self.rollback_button.setToolTip(
            "Go back to the last weights saved before training broke down."
        )
        self.rollback_lower_button = QPushButton("Roll back, learning rate ÷10")
        self.rollback_lower_button.setToolTip(
            "Go back and continue with a learning rate ten times smaller."
        )
        self.rollback_button.clicked.connect(self._on_rollback_clicked)
        self.rollback_lower_button.clicked.connect(self._on_rollback_lower_clicked)
        row = QHBoxLayout(self.banner)
        row.addWidget(self.banner_text, 1)
        row.addWidget(self.rollback_button)
        row.addWidget(self.rollback_lower_button)
        self.banner.hide()
        self.diagnosis = DiagnosisBanner()
        self.diagnosis.lesson_requested.connect(self.open_lesson)
        self.network_panel = BuilderPanel(self.hub)
        self.network_panel.edit_requested.connect(self.edit_network)
        self.network_panel.features_requested.connect(self.edit_features)
        self.network_panel.weight_requested.connect(self.edit_weight)
        self.network_panel.rejected.connect(self._show_error_in_status)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.RichText)
        self.description.setContentsMargins(6, 4, 6, 4)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.diagnosis)
        layout.addWidget(self.description)
        layout.addWidget(self.network_panel, 1)
        self.setCentralWidget(central)

    def _dock(self, title, widget, area, name, scroll=False):
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{name}-dock")
        if scroll:  # a form that may be taller than the room left for it
            area_widget = theme.scrolled(widget)
            area_widget.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            area_widget.setMinimumWidth(widget.sizeHint().width() + 16)
            widget = area_widget
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self):
        self.dataset_panel = DatasetPanel()
        self.settings_panel = SettingsPanel()
        self.output_panel = OutputPanel(self.hub)
        self.loss_panel = LossPanel(self.hub)
        self.gradients_panel = GradientsPanel(self.hub)
        self.dead_panel = DeadUnitsPanel(self.hub)
        self.histograms_panel = HistogramsPanel(self.hub)
        self.runs_panel = RunsPanel(self.hub)
        self.lesson_panel = LessonPanel()
        self.lesson_panel.fix_requested.connect(self.run_fix)
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.docks = {
            "dataset": self._dock("Data", self.dataset_panel, left, "dataset", scroll=True),
            "settings": self._dock(
                "Training settings", self.settings_panel, left, "settings", scroll=True
            ),
            "output": self._dock("Output", self.output_panel, right, "output"),
            "loss": self._dock("Loss", self.loss_panel, right, "loss"),
            "gradients": self._dock("Gradients", self.gradients_panel, bottom, "gradients"),
            "dead_units": self._dock("Dead units", self.dead_panel, bottom, "dead_units"),
            "histograms": self._dock("Histograms", self.histograms_panel, bottom, "histograms"),
            "runs": self._dock("Compare runs", self.runs_panel, bottom, "runs"),
            "lesson": self._dock("Lesson", self.lesson_panel, left, "lesson"),
        }
        self.splitDockWidget(self.docks["output"], self.docks["loss"], Qt.Orientation.Vertical)
        self.splitDockWidget(
            self.docks["gradients"], self.docks["dead_units"], Qt.Orientation.Horizontal
        )
        self.splitDockWidget(
            self.docks["dead_units"], self.docks["histograms"], Qt.Orientation.Horizontal
        )
        self.tabifyDockWidget(self.docks["histograms"], self.docks["runs"])
        self.tabifyDockWidget(self.docks["dataset"], self.docks["lesson"])
        self.docks["histograms"].raise_()
        self.docks["dataset"].raise_()
        self.resizeDocks([self.docks["dataset"]], [300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["output"]], [540], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["gradients"]], [300], Qt.Orientation.Vertical)
        self.resizeDocks(
            [self.docks["gradients"], self.docks["dead_units"], self.docks["histograms"]],
            [620, 480, 500],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks(
            [self.docks["output"], self.docks["loss"]], [330, 370], Qt.Orientation.Vertical
        )
        for dock in self.docks.values():
            widget = dock.widget()
            if isinstance(widget, Panel):  # raised from behind another tab
                dock.visibilityChanged.connect(
                    lambda visible, panel=widget: visible and panel.refresh()
                )
        self.panels = {
            "network": self.network_panel,
            "output": self.output_panel,
            "loss": self.loss_panel,
            "gradients": self.gradients_panel,
            "dead_units": self.dead_panel,
            "histograms": self.histograms_panel,
            "runs": self.runs_panel,
        }
        self.dataset_panel.recipe_changed.connect(self._on_recipe_changed)
        self.dataset_panel.import_requested.connect(self.import_csv)
        self.settings_panel.changed.connect(self._on_settings_changed)
        self.settings_panel.optimizer_changed.connect(self._on_optimizer_changed)
        self.settings_panel.rejected.connect(self._show_error_in_status)

    def _action(self, text, slot, shortcut=None, tip="", icon=None, checkable=False):
        action = QAction(text, self)
        if shortcut:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        shortcut_text = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({shortcut_text})" if tip and shortcut_text else tip or text)
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        return action

    def _panel_action(self, text, slot, keys, tip):
        """An action whose shortcut works while the network panel has the focus, so that
        "+" and "-" still type into the number fields elsewhere."""
        action = self._action(text, slot, keys, tip)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.network_panel.canvas.addAction(action)
        return action

    def _build_actions(self):
        sp = QStyle.StandardPixmap
        self.play_action = self._action(
            "Play", self.toggle_play, ["Space", "F5"], "Start or pause training", sp.SP_MediaPlay
        )
        self.step_action = self._action(
            "Step",
            self.step_batch,
            ["F6", "Ctrl+Right"],
            "Train on one mini-batch",
            sp.SP_MediaSeekForward,
        )
        self.epoch_action = self._action(
            "Step epoch",
            self.step_epoch,
            ["F7", "Ctrl+Shift+Right"],
            "Train to the end of the epoch",
            sp.SP_MediaSkipForward,
        )
        self.reset_action = self._action(
            "Reset",
            self.reset,
            "Ctrl+R",
            "Draw the initial weights again and start a new run",
            sp.SP_BrowserReload,
        )
        self.new_action = self._action(
            "&New",
            self.new_project,
            QKeySequence.StandardKey.New,
            "A new project with a small network on the circle data",
        )
        self.open_action = self._action(
            "&Open…", self.open_dialog, QKeySequence.StandardKey.Open, "Open a project file"
        )
        self.save_action = self._action(
            "&Save",
            self.save,
            QKeySequence.StandardKey.Save,
            "Save the project with its weights and runs",
        )
        self.save_as_action = self._action(
            "Save &As…",
            self.save_as,
            QKeySequence.StandardKey.SaveAs,
            "Save the project under a new name",
        )
        self.import_action = self._action(
            "Import CSV data…", self.import_csv, None, "Train on your own data from a CSV file"
        )
        self.export_window_action = self._action(
            "Window as PNG…", self.export_window_dialog, None, "Save a picture of the whole window"
        )
        self.export_panel_actions = {
            name: self._action(
                f"{panel.title} panel…",
                lambda _=False, n=name: self.export_panel_dialog(n),
                None,
                f"Save the {panel.title.lower()} panel as PNG, SVG or CSV",
            )
            for name, panel in self.panels.items()
        }
        self.export_network_actions = {
            to: self._action(
                f"Network as {label}…",
                lambda _=False, t=to: self.export_network_dialog(t),
                None,
                tip,
            )
            for to, (label, _, tip) in NETWORK_EXPORTS.items()
        }
        self.inspector_action = self._action(
            "Backprop inspector…",
            self.open_inspector,
            ["Ctrl+I"],
            "Follow one example through one backpropagation pass, step by step",
        )
        self.undo_stack = QUndoStack(self)
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
        self.undo_action.setToolTip("Undo the last change to the network (Ctrl+Z)")
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setToolTip("Redo the change undone last (Ctrl+Shift+Z)")
        self.network_panel.set_undo_actions(self.undo_action, self.redo_action)
        builder = self.network_panel
        self.delete_layer_action = self._panel_action(
            "Delete layer", builder.delete_selected, ["Delete"], "Delete the selected layer"
        )
        self.more_units_action = self._panel_action(
            "Add a unit", lambda: builder.resize_selected(1), ["+", "="], "One unit more"
        )
        self.fewer_units_action = self._panel_action(
            "Remove a unit", lambda: builder.resize_selected(-1), ["-"], "One unit fewer"
        )
        self.quit_action = self._action(
            "&Quit", self.close, QKeySequence.StandardKey.Quit, "Close Backprop Studio"
        )

    def _build_menus(self):
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addActions([self.new_action, self.open_action])
        self.recent_menu = file.addMenu("Open &Recent")
        file.addSeparator()
        file.addActions([self.save_action, self.save_as_action])
        file.addSeparator()
        file.addAction(self.import_action)
        export = file.addMenu("&Export")
        export.addAction(self.export_window_action)
        export.addSeparator()
        export.addActions(list(self.export_panel_actions.values()))
        export.addSeparator()
        export.addActions(list(self.export_network_actions.values()))
        file.addSeparator()
        file.addAction(self.quit_action)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.undo_action, self.redo_action])
        edit.addSeparator()
        edit.addActions([self.delete_layer_action, self.more_units_action, self.fewer_units_action])
        train = bar.addMenu("&Training")
        train.addActions([self.play_action, self.step_action, self.epoch_action, self.reset_action])
        train.addSeparator()
        train.addAction(self.inspector_action)
        lesson_menu = bar.addMenu("&Lessons")
        self.lesson_actions = [
            lesson_menu.addAction(
                f"{lesson.number}. {lesson.title}", lambda _=False, p=lesson.path: self.open_path(p)
            )
            for lesson in lessons()
        ]
        lesson_menu.addSeparator()
        self.classroom_action = lesson_menu.addAction("Classroom mode…", self.classroom_dialog)
        self.classroom_action.setToolTip(
            "Hide panels and lock controls for a class; saved with the project"
        )
        view = bar.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction("Reset layout", self.reset_layout)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction("About Backprop Studio", self.about)
        self._refresh_recent_menu()

    def _build_toolbar(self):
        tools = QToolBar("Training")
        tools.setObjectName("training-toolbar")
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tools.addActions([self.play_action, self.step_action, self.epoch_action, self.reset_action])
        tools.addSeparator()
        tools.addWidget(QLabel(" Speed "))
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(len(SPEEDS) - 1)
        self.speed.setFixedWidth(110)
        self.speed.setToolTip("Slow training down to watch single steps; right: full speed.")
        self.speed.valueChanged.connect(self._on_speed_changed)
        tools.addWidget(self.speed)
        tools.addSeparator()
        self.info = theme.StatusLabel(1)
        self.info.setMinimumWidth(560)
        self.info.setObjectName("info-strip")
        self.info.setStyleSheet("#info-strip { font-size: 11pt; padding-left: 8px; }")
        tools.addWidget(self.info)
        self.addToolBar(tools)

    # ------------------------------------------------------------------ projects

    def open_project(self, project: Project, path=None, keep_undo=False) -> bool:
        """Show a project: build its trainer and start a session (paused). On a problem the
        current project stays open and the error is shown."""
        try:
            trainer = project.make_trainer()
        except ProjectError as exc:
            self._show_error("The project cannot be opened", str(exc))
            return False
        self._stop_session()
        self.project = project
        self.path = Path(path) if path else None
        self.modified = False
        self.run_name = None  # what the run that starts now will be called, if not "Run N"
        if not keep_undo:
            self.undo_stack.clear()
        self.session = TrainingSession(trainer, parent=self)
        self.session.snapshot_ready.connect(self.hub.offer)
        self.session.crashed.connect(self._on_worker_crashed)
        self.session.set_delay(SPEEDS[self.speed.value()])
        self.session.start()
        self.dataset_panel.show_recipe(project.dataset, project.table is not None)
        self.settings_panel.show_settings(
            trainer.hyperparameters(), trainer.net.optimizer.name, len(trainer.X)
        )
        text = f"<b>{_html(project.name)}</b>"
        if project.description and not project.lesson:  # a lesson's text is in its panel
            text += f" — {_html(project.description)}"
        question = (project.lesson or {}).get("question")
        if question:
            text += f"<br><i>Predict, then run:</i> {_html(question)}"
        self.description.setText(text)
        self.banner.hide()
        self.diagnosis.reset()
        self.lesson_panel.show_project(project)
        if project.lesson:
            self.docks["lesson"].raise_()
        self.runs_panel.set_runs([r for r in project.runs if r.history is not trainer.history])
        self.network_panel.show_network(
            project.layers, trainer.net, trainer.dataset, _output_note(trainer.dataset)
        )
        self._apply_classroom()
        self.update_play_action(False)
        self._update_title()
        if self.path:
            self._remember_recent(self.path)
        return True

    def open_path(self, path) -> bool:
        if not self._maybe_save():
            return False
        try:
            project = load_project(path)
        except ProjectError as exc:
            self._show_error("The project cannot be opened", str(exc))
            return False
        lesson_dir = resource_path("lessons")
        is_lesson = Path(path).resolve().parent == lesson_dir.resolve()
        return self.open_project(project, None if is_lesson else path)

    def open_dialog(self):
        path, _ = QFileDialog.getOpenFileName(
            self, "Open project", self._last_folder(), FILE_FILTER
        )
        if path:
            self.open_path(path)

    def new_project(self):
        if self._maybe_save():
            project = _first_lesson()
            project.name, project.description, project.lesson = "Untitled", "", None
            self.open_project(project)

    def capture(self) -> Project:
        """The open project with the trainer's current state, read while training is paused."""
        with self.session.paused() as trainer:
            self.project.capture(trainer, self.run_name)
        self.update_play_action(False)
        return self.project

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._save_to(self.path)

    def save_as(self) -> bool:
        start = str(self.path or Path(self._last_folder()) / f"{self.project.name}{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(SUFFIX):
            path += SUFFIX
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            save_project(self.capture(), path)
        except (ProjectError, TimeoutError) as exc:
            self._show_error("The project was not saved", str(exc))
            return False
        self.path = path
        self.modified = False
        self._remember_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _maybe_save(self) -> bool:
        """Ask about unsaved training; False if the user cancels."""
        if not self.modified or self.session is None:
            return True
        answer = QMessageBox.question(
            self,
            "Save changes?",
            f"“{self.project.name}” has training that is not saved.",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def import_csv(self):
        path, _ = QFileDialog.getOpenFileName(
            self, "Import CSV data", self._last_folder(), "CSV files (*.csv *.txt);;All files (*)"
        )
        if not path:
            return
        dialog = CsvImportDialog(path, self)
        if dialog.exec() == CsvImportDialog.DialogCode.Accepted:
            self.use_table(dialog.table, Path(path).name)

    def use_table(self, table, name) -> bool:
        """Train on imported data from now on; the output layer follows its task."""

        def change(project):
            project.table = table
            recipe = project.dataset
            project.dataset = DatasetRecipe("csv", train_ratio=recipe.train_ratio, seed=recipe.seed)
            project.weights = None  # new data, new start

        return self._restructure(change, f"Imported {name}")

    # ------------------------------------------------------------------ network edits

    def edit_network(self, layers, description):
        self._push_structure(layers, None, description)

    def edit_features(self, features, description):
        self._push_structure(None, features, description)

    def _push_structure(self, layers, features, description):
        before = (copy.deepcopy(self.network_panel.layers), tuple(self.project.dataset.features))
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
            done = self._restructure(change, description, keep_undo=True)
        except EditError as exc:
            self._show_error_in_status(f"{description}: {exc}")
            return False
        if done:
            self.statusBar().showMessage(f"{description}: {describe_reset(reset)}", 10000)
        return done

    def edit_weight(self, layer, row, column, weight):
        value, ok = QInputDialog.getDouble(
            self,
            "Change a weight",
            f"{layer}: the weight from unit {row + 1} to unit {column + 1}",
            weight,
            -1e6,
            1e6,
            4,
        )
        if ok:
            self.session.set_weight(layer, row, column, value)
            self.modified = True

    def open_inspector(self):
        """The backprop inspector for the network as it is now (training pauses)."""
        if self.inspector is not None:
            self.inspector.close()
        self.inspector = BackpropInspectorDialog(self)
        self.inspector.show()
        return self.inspector

    def open_lesson(self, number):
        for lesson in lessons():
            if lesson.number == number:
                return self.open_path(lesson.path)
        return False

    def run_fix(self, index):
        """Keep the current run and start a second one with the lesson's fix `index`, from
        the same seed, to compare with the first in the Compare runs panel."""
        name = self.project.lesson["fixes"][index]["name"]
        if self.run_name is None:
            self.run_name = "as given"
        if self._restructure(lambda project: apply_fix(project, index), f"Second run: {name}"):
            self.run_name = name
            self.runs_panel.show_measure(self.project.lesson.get("compare", "test_loss"))
            self.docks["runs"].raise_()

    def _restructure(self, change, message, keep_undo=False):
        """Apply a change that needs a new trainer (data, optimizer, network), keeping the
        project's other settings; on a problem nothing changes."""
        try:
            project = copy.copy(self.capture())
        except TimeoutError as exc:
            self._show_error("The change was not made", str(exc))
            return
        project.runs = list(project.runs)
        change(project)
        try:
            note = project.fit_output_to(project.build_dataset())
            project.build_network()
        except ProjectError as exc:
            self._show_error("The change was not made", str(exc))
            self.dataset_panel.show_recipe(self.project.dataset, self.project.table is not None)
            return
        path = self.path
        if self.open_project(project, path, keep_undo=keep_undo):
            self.modified = True
            self.autosave(force=True)  # every structural change is kept at once
            self.statusBar().showMessage(message + (f"; {note}" if note else ""), 8000)
            return True
        return False

    # ------------------------------------------------------------------ training controls

    def toggle_play(self):
        if self.session.playing:
            self.session.pause()
            self.update_play_action(False)
        elif self.last_snapshot is not None and self.last_snapshot.failure:
            self.statusBar().showMessage("Training broke down: roll back or reset first", 5000)
        else:
            self.session.play()
            self.modified = True
            self.update_play_action(True)

    def step_batch(self):
        self.session.step_batch()
        self.modified = True

    def step_epoch(self):
        self.session.step_epoch()
        self.modified = True

    def reset(self):
        """Start again from the same initial weights with the current settings; the run so
        far is kept for Compare runs (change one setting, Reset: a fair comparison)."""
        try:
            project = self.capture()
        except TimeoutError as exc:
            self._show_error("Training was not reset", str(exc))
            return
        self.session.reset()
        self.runs_panel.set_runs(list(project.runs))
        self.banner.hide()
        self.diagnosis.reset()
        self.update_play_action(False)

    def _on_rollback_clicked(self):
        self.session.rollback()
        self.banner.hide()

    def _on_rollback_lower_clicked(self):
        lr = self.last_snapshot.hyperparameters["learning_rate"] if self.last_snapshot else None
        self.session.rollback()
        if lr:
            self.session.change(learning_rate=lr / 10)
        self.banner.hide()

    def _on_speed_changed(self, position):
        self.session.set_delay(SPEEDS[position])

    def _on_settings_changed(self, changes):
        try:
            self.session.change(**changes)
        except TrainingError as exc:
            self._show_error_in_status(str(exc))
            return
        self.modified = True

    def _on_optimizer_changed(self, name):
        def change(project):
            lr = project.optimizer.get("learning_rate", 0.01)
            project.optimizer = {"name": name, "learning_rate": lr}

        self._restructure(change, f"Optimizer: {name}; a new run starts from the current weights")

    def _on_recipe_changed(self, recipe):
        def change(project):
            project.dataset = recipe
            if recipe.name != "csv":
                project.table = None
            project.weights = None  # new data, new start

        self._restructure(change, "New data; the network starts again")

    # ------------------------------------------------------------------ snapshots

    def _on_snapshot_ready(self, s):
        self.last_snapshot = s
        minutes, seconds = divmod(int(s.elapsed), 60)
        self.info.setText(
            f"Epoch <b>{s.epoch}</b> · Step <b>{s.step:,}</b> · "
            f"<b>{s.steps_per_second:,.0f}</b> steps/s · learning rate "
            f"<b>{s.hyperparameters['learning_rate']:g}</b> · {minutes:02d}:{seconds:02d}"
        )
        if self.session is not None:
            self.update_play_action(self.session.playing)
            trainer = self.session.trainer
            self.settings_panel.show_settings(
                s.hyperparameters, trainer.net.optimizer.name, len(trainer.X)
            )
        if s.failure:
            f = s.failure
            self.banner_text.setText(
                f"<b>Training stopped at step {f['step']}</b>: {_html(f['what'])} "
                f"(first seen in layer <b>{f['layer']}</b>). The weights or gradients "
                f"overflowed: try a lower learning rate, gradient clipping or batch "
                f"normalization."
            )
            self.rollback_button.setText(f"Roll back to step {f['rollback_step']}")
            self.banner.show()
        elif self.banner.isVisible():
            self.banner.hide()
        self.diagnosis.show_findings(s.findings, final=s.final)
        if s.events and s.events[-1][1].startswith("not applied"):
            self.statusBar().showMessage(s.events[-1][1], 6000)

    def _on_snapshot_drawn(self):
        if self.session is not None:
            self.session.release()

    def update_play_action(self, playing):
        if self.play_action.text() == ("Pause" if playing else "Play"):
            return  # a new icon relays the toolbar out, and snapshots call this 20 times a second
        sp = QStyle.StandardPixmap
        self.play_action.setText("Pause" if playing else "Play")
        self.play_action.setIcon(
            self.style().standardIcon(sp.SP_MediaPause if playing else sp.SP_MediaPlay)
        )

    def _on_worker_crashed(self, trace):
        print(trace, file=sys.stderr)
        self._show_error(
            "Training stopped because of an error in Backprop Studio",
            trace.strip().splitlines()[-1],
            detail=trace,
        )

    # ------------------------------------------------------------------ export

    def export_window(self, path, width=None):
        pixmap = self.grab()
        if width and width != pixmap.width():
            pixmap = pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        if not pixmap.save(str(path)):
            raise OSError(f"could not write {path}")
        return Path(path)

    def export_window_dialog(self):
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save the window as PNG",
            str(Path(self._last_folder()) / "studio.png"),
            "PNG images (*.png)",
        )
        if not path:
            return
        width = self._ask_width(self.width())
        if width is None:
            return
        try:
            self.export_window(path, width)
        except OSError as exc:
            self._show_error("The picture was not saved", str(exc))

    def _ask_width(self, current):
        """The width in pixels a PNG should have (for tutorials and slides); None: cancelled."""
        width, ok = QInputDialog.getInt(
            self, "Picture width", "Width of the PNG in pixels:", current, 200, 8000, 10
        )
        return width if ok else None

    def export_panel_dialog(self, name):
        panel = self.panels[name]
        filters = "PNG images (*.png);;SVG drawings (*.svg)"
        if panel.plot_items():
            filters += ";;CSV data (*.csv)"
        path, chosen = QFileDialog.getSaveFileName(
            self,
            f"Export the {panel.title.lower()} panel",
            str(Path(self._last_folder()) / f"{name}.png"),
            filters,
        )
        if not path:
            return
        if not Path(path).suffix:
            path += "." + chosen.split("*.")[-1].rstrip(")")
        width = None
        if Path(path).suffix.lower() == ".png":
            width = self._ask_width(panel.width())
            if width is None:
                return
        try:
            panel.export(path, width)
        except (OSError, ValueError) as exc:
            self._show_error("The panel was not exported", str(exc))

    def export_network_dialog(self, to):
        label, suffix, _ = NETWORK_EXPORTS[to]
        stem = "".join(c if c.isalnum() else "_" for c in self.project.name).strip("_").lower()
        path, _ = QFileDialog.getSaveFileName(
            self,
            f"Export the network as {label}",
            str(Path(self._last_folder()) / f"{stem or 'network'}{suffix}"),
            f"{label} (*{suffix})",
        )
        if path:
            self.export_network(to, path)

    def export_network(self, to, path):
        """Export the network as it is now (training pauses while it is copied)."""
        try:
            exported = export_project(self.capture(), to, path)
        except (ExportError, ProjectError) as exc:
            self._show_error("The network was not exported", str(exc))
            return None
        names = ", ".join(p.name for p in exported.files)
        self.statusBar().showMessage(f"Exported the network: {names}", 8000)
        return exported

    # ------------------------------------------------------------------ window state

    def reset_layout(self):
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()

    def _restore_layout(self):
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)  # an older layout is ignored

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember_recent(self, path):
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self._recent() if p != path]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._refresh_recent_menu()

    def _refresh_recent_menu(self):
        self.recent_menu.clear()
        recent = [p for p in self._recent() if Path(p).exists()]
        for p in recent:
            self.recent_menu.addAction(Path(p).name, lambda _=False, q=p: self.open_path(q))
        self.recent_menu.setEnabled(bool(recent))

    def _last_folder(self) -> str:
        recent = self._recent()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def _update_title(self):
        name = self.path.name if self.path else self.project.name
        mode = " (classroom mode)" if self.project.classroom else ""
        self.setWindowTitle(f"{name}{mode} — Backprop Studio")

    # ------------------------------------------------------------------ autosave

    @property
    def modified(self) -> bool:
        """True when the project has changes that are not saved to its file."""
        return self._modified

    @modified.setter
    def modified(self, value: bool):
        self._modified = bool(value)
        if value:
            self._edits += 1

    def _autosave_state(self):
        trainer = self.session.trainer
        return (
            id(self.project),
            trainer.run_number,
            trainer.step_count,
            self.undo_stack.index(),
            self._edits,
        )

    def autosave(self, force=False) -> bool:
        """Save the open project to the autosave folder (atomically) if anything changed
        since the last autosave; training goes on. True if it saved."""
        if self.session is None:
            return False
        if not force and self._autosave_state() == self._autosaved_state:
            return False
        playing = self.session.playing
        try:
            project = self.capture()
            if playing:
                self.session.play()
                self.update_play_action(True)
            self.autosaver.save(project, self.path)
        except (TimeoutError, ProjectError) as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc}", 8000)
            return False
        self._autosaved_state = self._autosave_state()
        return True

    def offer_recovery(self) -> bool:
        """If a session ended without closing (a crash, kill -9, a power cut), offer its
        autosave. True if a project was recovered."""
        found = [r for r in recoverable(self.autosaver.folder) if r.path != self.autosaver.path]
        if not found:
            return False
        latest = found[0]
        when = time.strftime("%H:%M on %d %b", time.localtime(latest.saved_at))
        more = f" ({len(found) - 1} older autosaves are kept too.)" if len(found) > 1 else ""
        answer = QMessageBox.question(
            self,
            "Recover unsaved work?",
            f"Backprop Studio did not close properly last time. “{latest.name}” was autosaved "
            f"at {when}, after {latest.steps:,} training steps.\n\nRecover it?{more}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            latest.discard()
            return False
        try:
            project = latest.load()
        except ProjectError as exc:
            self._show_error("The autosave cannot be read", str(exc))
            return False
        original = (
            latest.original if latest.original and Path(latest.original).parent.is_dir() else None
        )
        if not self.open_project(project, original):
            return False
        self.modified = True  # recovered work is not saved yet
        latest.discard()
        self.statusBar().showMessage(f"Recovered “{latest.name}” from the autosave", 8000)
        return True

    # ------------------------------------------------------------------ classroom mode

    def classroom_dialog(self):
        dialog = ClassroomDialog(self.project.classroom, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.set_classroom(dialog.classroom())

    def set_classroom(self, classroom):
        """Hide and lock what `classroom` names (None: nothing); kept in the project."""
        self.project.classroom = classroom
        self.modified = True
        self._apply_classroom()
        self.statusBar().showMessage(
            "Classroom mode is on: save the project to keep it"
            if classroom
            else "Classroom mode is off",
            6000,
        )

    def _apply_classroom(self):
        classroom = self.project.classroom or {}
        hidden, locked = set(classroom.get("hidden", [])), set(classroom.get("locked", []))
        note = "Locked by your teacher (classroom mode)"
        for name, dock in self.docks.items():
            toggle = dock.toggleViewAction()
            if name in hidden:
                dock.hide()
            elif name in self._classroom_hidden:
                dock.show()
            toggle.setEnabled(name not in hidden)
        self.network_panel.setVisible("network" not in hidden)
        self._classroom_hidden = hidden
        for key, widget in (("dataset", self.dataset_panel), ("settings", self.settings_panel)):
            widget.setEnabled(key not in locked)
            widget.setToolTip(note if key in locked else "")
        self.reset_action.setEnabled("reset" not in locked)
        opening = [self.new_action, self.open_action, *self.lesson_actions]
        for action in opening:
            action.setEnabled("open" not in locked)
        self.recent_menu.setEnabled("open" not in locked)
        self.network_locked = "network" in locked
        self.network_panel.set_locked(self.network_locked)
        self._update_title()

    def about(self):
        QMessageBox.about(
            self,
            "About Backprop Studio",
            f"<b>Backprop Studio {bpstudio.__version__}</b><p>Build neural "
            f"networks and watch backpropagation train them: the loss, the "
            f"gradient of every layer, dead units and what the network has "
            f"learned.</p>",
        )

    def _show_error(self, title, message, detail=None):
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if detail:
            box.setDetailedText(detail)
        box.open()  # window-modal, without blocking the event loop (training goes on)

    def _show_error_in_status(self, message):
        self.statusBar().showMessage(message, 8000)

    def _stop_session(self):
        if self.inspector is not None:  # it follows the network of this session
            self.inspector.close()
            self.inspector = None
        if self.session is not None:
            self.session.snapshot_ready.disconnect(self.hub.offer)
            self.session.stop()
            self.session.deleteLater()
            self.session = None
            self.last_snapshot = None

    def closeEvent(self, event):
        if not self._maybe_save():
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.autosave_timer.stop()
        self._stop_session()
        self.autosaver.discard()  # a clean exit: nothing to recover
        event.accept()


class StructureCommand(QUndoCommand):
    """One edit of the network (layers and input features), undoable."""

    def __init__(self, window, before, after, text):
        super().__init__(text)
        self.window, self.before, self.after = window, before, after

    def redo(self):
        if not self.window.set_structure(*self.after, self.text()):
            self.setObsolete(True)  # it could not be made: drop it from the stack

    def undo(self):
        self.window.set_structure(*self.before, f"Undo: {self.text()}")


def _output_note(dataset) -> str:
    what = {
        "sigmoid": "two classes",
        "softmax": f"{dataset.n_classes} classes",
        "linear": "a regression",
    }[dataset.output_activation]
    return (
        f"Its size and activation follow the task: {dataset.output_activation} for {what}, "
        f"with {dataset.loss.replace('_', ' ')} loss."
    )


def default_autosave_dir() -> Path:
    """Where autosaves go: the platform's folder for application data."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".bpstudio") / "autosave"


def _first_lesson() -> Project:
    return load_project(lessons()[0].path)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
