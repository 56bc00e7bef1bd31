"""The classroom controller: a teacher hides panels and locks controls, saved in the project;
what is hidden and what is locked follows the panel and action tables."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDockWidget, QWidget

from bpstudio.qt.actions import ACTIONS, LOCKS
from bpstudio.qt.dialogs import ClassroomDialog
from bpstudio.qt.feedback import Feedback
from bpstudio.qt.layout import PANELS
from bpstudio.viewmodel.document import Document

NOTE = "Locked by your teacher (classroom mode)"


class ClassroomController(QObject):
    def __init__(
        self,
        document: Document,
        panels: dict[str, QWidget],
        docks: dict[str, QDockWidget],
        actions: dict[str, QAction],
        feedback: Feedback,
        parent=None,
    ):
        super().__init__(parent)
        self.document = document
        self.panels = panels
        self.docks = docks
        self.actions = actions
        self.feedback = feedback
        self._hidden: set[str] = set()
        document.opened.connect(self.apply)
        document.classroom_changed.connect(self.apply)

    def make_dialog(self) -> ClassroomDialog:
        """The teacher's choice of what to hide and lock, offering what the tables name."""
        return ClassroomDialog(
            self.document.project.classroom,
            {spec.name: spec.title for spec in PANELS},
            LOCKS,
            self.feedback.parent,
        )

    def dialog(self):
        dialog = self.make_dialog()
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.set(dialog.classroom())

    def set(self, classroom: dict | None):
        """Hide and lock what `classroom` names (None: nothing); kept in the project."""
        self.document.set_classroom(classroom)
        self.feedback.status(
            "Classroom mode is on: save the project to keep it"
            if classroom
            else "Classroom mode is off",
            6000,
        )

    def apply(self, *_):
        classroom = self.document.project.classroom or {}
        hidden, locked = set(classroom.get("hidden", [])), set(classroom.get("locked", []))
        for name, dock in self.docks.items():
            if name in hidden:
                dock.hide()
            elif name in self._hidden:
                dock.show()
            dock.toggleViewAction().setEnabled(name not in hidden)
        self.panels["network"].setVisible("network" not in hidden)
        self._hidden = hidden
        for spec in PANELS:
            if spec.lock is not None:
                self.panels[spec.name].setEnabled(spec.lock not in locked)
                self.panels[spec.name].setToolTip(NOTE if spec.lock in locked else "")
        for spec in ACTIONS:
            if spec.lock is not None:
                self.actions[spec.id].setEnabled(spec.lock not in locked)
        self.panels["network"].set_locked("network" in locked)
