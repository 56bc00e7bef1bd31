"""The classroom controller: a teacher hides panels and locks controls, saved in the project;
what is hidden and what is locked follows the panel and action tables."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDockWidget, QWidget

from bpstudio.project.classroom import password_matches
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
        self.locked: set[str] = set()
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

    def may_leave(self) -> bool:
        """True if classroom mode may be changed: no password was set, or the user typed
        it."""
        entry = (self.document.project.classroom or {}).get("password")
        if not entry:
            return True
        password = self.feedback.password(
            "Classroom mode", "The teacher's password, to change classroom mode:"
        )
        if password is not None and password_matches(entry, password):
            return True
        self.feedback.status("Wrong password: classroom mode stays as the teacher set it")
        return False

    def dialog(self):
        if not self.may_leave():
            return
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

    def allows(self, lock: str | None) -> bool:
        """Whether what `lock` guards may be used now; if not, the status bar says why."""
        if lock is None or lock not in self.locked:
            return True
        self.feedback.status(f"{LOCKS[lock]}: {NOTE.lower()}", 5000)
        return False

    def hides(self, name: str) -> bool:
        """Whether classroom mode hides the panel called `name`."""
        return name in self._hidden

    def show_hidden_docks(self):
        """Show what classroom mode hid (before the window saves the user's own layout)."""
        for name in self._hidden:
            if name in self.docks:
                self.docks[name].show()

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
        self.locked = locked
        for spec in ACTIONS:
            if spec.lock is not None:  # enabled still, so that using it says why it is locked
                action = self.actions[spec.id]
                if spec.submenu:  # its entries are not guarded one by one
                    action.setEnabled(spec.lock not in locked)
                action.setStatusTip(NOTE if spec.lock in locked else spec.tip)
                action.setToolTip(NOTE if spec.lock in locked else spec.tip or spec.text)
        self.panels["network"].set_locked("network" in locked)
