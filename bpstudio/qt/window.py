"""The studio's main window, a composition root: it makes the document, the panels (from the
panel table), the controllers, the actions, menus and toolbar (from the action table), and
wires them together. What happens when the user does something lives in the controllers
(bpstudio.qt.controllers); what the window shows lives in the panels."""

from __future__ import annotations

import html

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

import bpstudio
from bpstudio._resources import resource_path, tutorials_path
from bpstudio.lessons import lessons
from bpstudio.project import Project
from bpstudio.project.editing import hidden_activation
from bpstudio.qt import theme
from bpstudio.qt.actions import ACTIONS, make_actions, make_menus, resolver
from bpstudio.qt.controllers.autosave import AutosaveController
from bpstudio.qt.controllers.classroom import ClassroomController
from bpstudio.qt.controllers.edits import EditsController
from bpstudio.qt.controllers.exports import ExportsController
from bpstudio.qt.controllers.files import FilesController, first_lesson, shipped_lesson
from bpstudio.qt.controllers.training import SPEEDS, TrainingController
from bpstudio.qt.controllers.view import ViewController
from bpstudio.qt.dialogs import ShortcutsDialog, TutorialsDialog
from bpstudio.qt.feedback import Feedback
from bpstudio.qt.inspector import BackpropInspectorDialog
from bpstudio.qt.layout import LAYOUT_VERSION, arrange, make_docks, make_panels
from bpstudio.qt.lesson import DiagnosisBanner, FailureBanner
from bpstudio.qt.session import SnapshotHub
from bpstudio.viewmodel.document import Document
from bpstudio.viewmodel.layout import MINIMUM_SIZE, WINDOW_SIZE, size_class


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
        self.inspector = None
        self.document = Document()
        self.hub = SnapshotHub(self)
        self.feedback = Feedback(self, self.statusBar())
        self.panels = make_panels(self.hub)
        self.network_panel = self.panels["network"]
        self._build_central()
        self.docks = make_docks(self, self.panels)

        # The controllers, each handed what it works with.
        self.training = TrainingController(self.document, self.hub, self.feedback, self)
        self.files = FilesController(
            self.document, self.training, self.feedback, self.settings, self.open_project, self
        )
        self.edits = EditsController(
            self.document,
            self.training,
            self.network_panel,
            self.feedback,
            self.open_project,
            lambda force=False: self.autosaves.autosave(force),
            self.files.last_folder,
            self,
        )
        self.autosaves = AutosaveController(
            self.document,
            self.training,
            self.edits.undo_stack,
            self.feedback,
            self.open_project,
            autosave_dir,
            self,
        )
        self.view = ViewController(self, self.docks, self.network_panel.canvas, self.settings)
        self.exports = ExportsController(
            self.document, self.training, self, self.panels, self.feedback, self.files.last_folder
        )
        objects = {
            "window": self,
            "files": self.files,
            "edits": self.edits,
            "training": self.training,
            "exports": self.exports,
            "view": self.view,
            "builder": self.network_panel,
            "classroom": None,  # made below, once the actions it locks exist
        }
        self.actions = make_actions(
            self,
            resolver(objects),
            self.network_panel.canvas,
            lambda lock: self.classroom.allows(lock),
        )
        self.menus = make_menus(self.menuBar(), self.actions)
        self.classroom = objects["classroom"] = ClassroomController(
            self.document, self.panels, self.docks, self.actions, self.feedback, self
        )
        self.files.recent_menu = self.menus["File/recent"]
        self.files.refresh_recent_menu()
        view = self.menus["View"]
        view.insertActions(view.actions()[0], [d.toggleViewAction() for d in self.docks.values()])
        self.edits.bind_undo_actions(self.actions["undo"], self.actions["redo"])
        self._build_toolbar()
        self._connect()
        self.statusBar().showMessage("Ready", 3000)
        self.setMinimumSize(*MINIMUM_SIZE)
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._arranged = False  # the default arrangement is made for the size first shown
        self._restore_layout()
        self.open_project(project if project is not None else first_lesson(), path)

    # ------------------------------------------------------------------ building

    def _build_central(self):
        self.failure_banner = FailureBanner()
        self.diagnosis = DiagnosisBanner()
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.RichText)
        self.description.setContentsMargins(6, 4, 6, 4)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        for widget in (self.failure_banner, self.diagnosis, self.description):
            layout.addWidget(widget)
        for banner in (self.failure_banner, self.diagnosis):
            banner.rename = self.network_panel.on_screen
        layout.addWidget(self.network_panel, 1)
        self.setCentralWidget(central)

    def _build_toolbar(self):
        tools = QToolBar("Training")
        tools.setObjectName("training-toolbar")
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tools.setIconSize(QSize(18, 18))  # the height goes to the panels
        tools.addActions([self.actions[spec.id] for spec in ACTIONS if spec.toolbar])
        tools.addSeparator()
        tools.addWidget(QLabel(" Speed "))
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(len(SPEEDS) - 1)
        self.speed.setFixedWidth(110)
        self.speed.setToolTip("Slow training down to watch single steps; right: full speed.")
        tools.addWidget(self.speed)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(
            self.speed_label.fontMetrics().horizontalAdvance("0.05 s a step ")
        )
        self._on_speed_changed(self.speed.value())
        tools.addWidget(self.speed_label)
        tools.addSeparator()
        self.info = theme.StatusLabel(1)
        self.info.setMinimumWidth(320)
        self.info.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.info.setObjectName("info-strip")
        self.info.setStyleSheet("#info-strip { font-size: 11pt; padding-left: 8px; }")
        tools.addWidget(self.info)
        self.addToolBar(tools)

    def _connect(self):
        panels, training, edits, document = self.panels, self.training, self.edits, self.document
        self.hub.snapshot_ready.connect(self._on_snapshot_ready)
        self.speed.valueChanged.connect(training.set_speed)
        self.speed.valueChanged.connect(self._on_speed_changed)
        training.playing_changed.connect(self._on_playing_changed)
        training.restarted.connect(self._on_restarted)
        self.failure_banner.rollback_requested.connect(training.rollback)
        self.diagnosis.lesson_requested.connect(self.open_lesson)
        panels["lesson"].fix_requested.connect(edits.run_fix)
        panels["dataset"].recipe_changed.connect(edits.change_recipe)
        panels["dataset"].import_requested.connect(edits.import_csv)
        panels["settings"].changed.connect(training.change_settings)
        panels["settings"].optimizer_changed.connect(edits.change_optimizer)
        panels["settings"].rejected.connect(self.feedback.status)
        panels["settings"].seed_requested.connect(self._on_seed_requested)
        panels["settings"].activation_requested.connect(edits.set_hidden_activation)
        panels["settings"].stop_changed.connect(training.set_stop)
        panels["settings"].engine_requested.connect(training.set_engine)
        edits.fix_started.connect(self._on_fix_started)
        self.network_panel.canvas.unit_pointed.connect(panels["output"].show_unit)
        panels["output"].view_changed.connect(self._on_view_changed)
        self.network_panel.canvas.layer_selected.connect(
            lambda index: index is not None and self.docks["layer"].raise_()
        )
        edits.data_refused.connect(self._show_recipe)
        document.opened.connect(self._on_opened)
        document.path_changed.connect(self._update_title)
        document.path_changed.connect(self._show_description)
        document.classroom_changed.connect(self._update_title)

    # ------------------------------------------------------------------ projects

    @property
    def project(self) -> Project:
        return self.document.project

    @property
    def session(self):
        return self.training.session

    @property
    def last_snapshot(self):
        return self.training.last_snapshot

    def open_project(self, project: Project, path=None, keep_undo=False) -> bool:
        """Show a project: a new training session (paused) and every panel on it. On a
        problem the current project stays open and the error is shown."""
        if self.inspector is not None:  # it follows the network of the session it had
            self.inspector.close()
            self.inspector = None
        if not self.training.start(project):
            return False
        if path is not None and shipped_lesson(path):
            path = None  # a shipped lesson is read-only: Save asks where to keep a copy
        if not keep_undo:
            self.edits.undo_stack.clear()
        self.document.open(project, path)
        return True

    def open_lesson(self, number) -> bool:
        return any(self.files.open_path(x.path) for x in lessons() if x.number == number)

    def _on_opened(self, project):
        trainer = self.training.trainer
        self._show_recipe()
        self.panels["settings"].show_settings(
            trainer.hyperparameters(), trainer.net.optimizer.name, len(trainer.X)
        )
        self.panels["settings"].show_seed(trainer.net.seed)
        self.panels["settings"].show_hidden_activation(hidden_activation(project.layers))
        self.panels["settings"].show_stop(project.stop)
        self._show_description()
        self.panels["output"].show_view(project.view)
        self.failure_banner.hide()
        self.diagnosis.reset()
        self.panels["lesson"].show_project(project)
        if project.lesson:
            self.docks["lesson"].raise_()
            self.show_panel(project.lesson.get("focus", ""))  # what the lesson is about
        self.panels["runs"].set_runs(
            [r for r in project.runs if r.history is not trainer.history], project.data_identity()
        )
        self.network_panel.show_network(
            project.layers, trainer.net, trainer.dataset, _output_note(trainer.dataset)
        )
        self._update_title()
        if project.note:
            self.feedback.status(f"{project.name}: {project.note}", 10000)

    def _on_view_changed(self):
        """How the plane is shown is the project's (saved, reopened), not a change to undo."""
        self.document.project.view = self.panels["output"].view()

    def _show_description(self, *_):
        """The project's name and description over the network (a lesson says its own in
        the lesson panel, and the room is the canvas's)."""
        project = self.document.project
        self.description.setVisible(not project.lesson)
        text = f"<b>{html.escape(project.name, quote=False)}</b>"
        if project.description:
            text += f" — {html.escape(project.description, quote=False)}"
        self.description.setText(text)

    def _show_recipe(self):
        project = self.document.project
        self.panels["dataset"].show_recipe(project.dataset, project.table is not None)

    def _update_title(self, *_):
        self.setWindowTitle(f"{self.document.title} — Backprop Studio")

    # ------------------------------------------------------------------ training

    def _on_snapshot_ready(self, s):
        minutes, seconds = divmod(int(s.elapsed), 60)
        self.info.setText(
            f"Epoch <b>{s.epoch}</b> · Step <b>{s.step:,}</b> · "
            f"<b>{s.steps_per_second:,.0f}</b> steps/s · learning rate "
            f"<b>{s.hyperparameters['learning_rate']:g}</b> · {minutes:02d}:{seconds:02d} · "
            f"{s.engine}"
        )
        if self.session is not None:
            trainer = self.session.trainer
            self.panels["settings"].show_settings(
                s.hyperparameters, trainer.net.optimizer.name, len(trainer.X)
            )
            self.panels["settings"].show_engine(trainer.engine_choice, s.engine, s.engine_note)
        self.failure_banner.show_failure(s.failure)
        self.diagnosis.show_findings(s.findings, final=s.final)
        if s.events and s.events[-1][1].startswith("not applied"):
            self.feedback.status(s.events[-1][1], 6000)

    def _on_speed_changed(self, position):
        delay = SPEEDS[position]
        self.speed_label.setText(f" {delay:g} s a step" if delay else " full speed")

    def _on_playing_changed(self, playing):
        action = self.actions["play"]
        action.setText("Pause" if playing else "Play")
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        action.setIcon(self.style().standardIcon(icon))

    def _on_seed_requested(self, seed):
        if seed is None:
            self.training.reset_new_weights()
        else:
            self.training.reset(seed)

    def _on_restarted(self):
        project = self.document.project
        self.panels["settings"].show_seed(project.seed)
        self.panels["runs"].set_runs(list(project.runs), project.data_identity())
        self.failure_banner.hide()
        self.diagnosis.reset()

    def _on_fix_started(self, measure):
        self.panels["runs"].show_measure(measure)
        self.show_panel("runs")

    def show_panel(self, name: str):
        """Bring the panel called `name` in front (its dock shown and its tab raised)."""
        if name in self.docks and not self.classroom.hides(name):
            self.docks[name].show()
            self.docks[name].raise_()

    def open_inspector(self):
        """The backprop inspector for the network as it is now (training pauses)."""
        if self.inspector is not None:
            self.inspector.close()
        self.inspector = BackpropInspectorDialog(self.training, self.network_panel.canvas, self)
        self.inspector.show()
        return self.inspector

    # ------------------------------------------------------------------ window state

    def reset_layout(self):
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()
        arrange(self, self.docks, self.width(), self.height())

    def _restore_layout(self):
        """The remembered geometry, clamped to the screen the window opens on, and the
        user's arrangement of the panels for this size of screen (a projector's layout is
        not a desktop's)."""
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*WINDOW_SIZE)
        screen = self.screen().availableGeometry()
        size = self.size().boundedTo(screen.size()).expandedTo(self.minimumSize())
        self.resize(size)
        frame = self.frameGeometry()
        if not screen.contains(frame):
            self.move(
                min(max(frame.x(), screen.x()), screen.right() - frame.width() + 1),
                min(max(frame.y(), screen.y()), screen.bottom() - frame.height() + 1),
            )
        state = self.settings.value(f"window/state/{size_class(self.width(), self.height())}")
        # An older layout (another LAYOUT_VERSION) is refused: the default one is made.
        self._arranged = state is not None and self.restoreState(state, LAYOUT_VERSION)

    def showEvent(self, event):
        super().showEvent(event)
        if not self._arranged:
            self._arranged = True
            arrange(self, self.docks, self.width(), self.height())
        if not getattr(self, "_shown_once", False):
            self._shown_once = True
            if self.view.remembered_presentation():
                self.view.enter_presentation()

    def show_shortcuts(self):
        ShortcutsDialog(self.actions, [(spec.id, spec.menu) for spec in ACTIONS], self).exec()

    def show_tutorials(self):
        folder = tutorials_path()
        if not (folder / "README.md").is_file():
            self.feedback.error("No tutorials", f"The tutorials are not in {folder}.")
            return None
        dialog = TutorialsDialog(folder, self)
        dialog.show()
        return dialog

    def about(self):
        QMessageBox.about(
            self,
            "About Backprop Studio",
            f"<b>Backprop Studio {bpstudio.__version__}</b><p>Build neural "
            f"networks and watch backpropagation train them: the loss, the "
            f"gradient of every layer, dead units and what the network has "
            f"learned.</p>",
        )

    def close_on_signal(self):
        """SIGTERM or SIGINT: unsaved work goes to the autosave (offered at the next start)
        and the window closes without asking."""
        self._signalled = True
        self.close()

    def closeEvent(self, event):
        # A value being typed (or wheeled) into a box is taken now, before the question
        # about saving, not by a focus change after training has stopped.
        focus = QApplication.focusWidget()
        if focus is not None and self.isAncestorOf(focus):
            focus.clearFocus()
        signalled = getattr(self, "_signalled", False)
        keep_autosave = (
            signalled and self.document.modified and self.autosaves.autosave(True, wait=True)
        )
        if not signalled and not self.files.maybe_save():
            event.ignore()
            return
        self.view.leave_presentation(closing=True)  # the user's own layout is what is kept
        self.classroom.show_hidden_docks()  # nor the class's
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue(
            f"window/state/{size_class(self.width(), self.height())}",
            self.saveState(LAYOUT_VERSION),
        )
        if self.inspector is not None:
            self.inspector.close()
            self.inspector = None
        self.training.stop()
        self.autosaves.close(keep=keep_autosave)
        event.accept()


def _output_note(dataset) -> str:
    what = {
        "sigmoid": "two classes",
        "tanh": "two classes as −1/+1, as in Playground",
        "softmax": f"{dataset.n_classes} classes",
        "linear": "a regression",
    }[dataset.output_activation]
    return (
        f"Its size and activation follow the task: {dataset.output_activation} for {what}, "
        f"with {dataset.loss.replace('_', ' ')} loss."
    )
