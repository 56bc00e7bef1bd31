"""The autosave controller: keeps the open project in the autosave folder while it changes,
and offers what a session that did not close left behind."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMessageBox

from bpstudio.project import ProjectError
from bpstudio.project.autosave import DEFAULT_INTERVAL, Autosaver, recoverable
from bpstudio.qt.controllers.training import TrainingController
from bpstudio.qt.feedback import Feedback
from bpstudio.qt.writer import BackgroundWriter
from bpstudio.viewmodel.document import Document


def default_autosave_dir() -> Path:
    """Where autosaves go: the platform's folder for application data."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".bpstudio") / "autosave"


class AutosaveController(QObject):
    """Saves atomically every BPSTUDIO_AUTOSAVE_SECONDS (default 60) while something changed,
    and at once when asked (after every structural change). open_project(project, path)
    -> bool shows a recovered project (the window's)."""

    def __init__(
        self,
        document: Document,
        training: TrainingController,
        undo_stack: QUndoStack,
        feedback: Feedback,
        open_project: Callable[..., bool],
        folder=None,
        parent=None,
    ):
        super().__init__(parent)
        self.document = document
        self.training = training
        self.undo_stack = undo_stack
        self.feedback = feedback
        self.open_project = open_project
        self.autosaver = Autosaver(folder or default_autosave_dir())
        self._saved_state = None
        self.writer = BackgroundWriter(self)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.autosave)
        seconds = float(os.environ.get("BPSTUDIO_AUTOSAVE_SECONDS", DEFAULT_INTERVAL))
        self.timer.start(int(seconds * 1000))

    def _state(self):
        trainer = self.training.trainer
        return (
            id(self.document.project),
            trainer.run_number,
            trainer.step_count,
            self.undo_stack.index(),
            self.document.edits,
        )

    def autosave(self, force=False, wait=False) -> bool:
        """Save the open project to the autosave folder (atomically) if anything changed
        since the last autosave: a copy is taken while training stands still, then training
        goes on and the copy is written in the background (`wait`: before returning). True
        if it saved (or started to)."""
        if self.training.session is None:
            return False
        if not force and self._state() == self._saved_state:
            return False
        playing = self.training.session.playing
        try:
            # Copied while training stands still: the current run's history is the live
            # one, and a file made while it grows would not match its own metadata.
            frozen = self.training.capture().frozen()
        except (TimeoutError, ProjectError) as exc:
            self.feedback.status(f"Autosave failed: {exc}")
            return False
        finally:
            if playing and self.training.session is not None:
                self.training.resume()
        original = self.document.path
        state = self._state()

        def written(error):
            if error:
                self.feedback.status(f"Autosave failed: {error}")
            else:
                self._saved_state = state

        self.writer.start(lambda: self.autosaver.save(frozen, original), written)
        return self.writer.wait() if wait else True

    def offer_recovery(self) -> bool:
        """If a session ended without closing (a crash, kill -9, a power cut), offer its
        autosave. True if a project was recovered."""
        found = [r for r in recoverable(self.autosaver.folder) if r.path != self.autosaver.path]
        if not found:
            return False
        latest = found[0]
        when = time.strftime("%H:%M on %d %b", time.localtime(latest.saved_at))
        more = f" ({len(found) - 1} older autosaves are kept too.)" if len(found) > 1 else ""
        answer = self.feedback.question(
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
            self.feedback.error("The autosave cannot be read", str(exc))
            return False
        original = (
            latest.original if latest.original and Path(latest.original).parent.is_dir() else None
        )
        if not self.open_project(project, original):
            return False
        self.document.modified = True  # recovered work is not saved yet
        # Kept again at once, before the old autosave goes: a second crash right after a
        # recovery must not lose it.
        self.autosave(force=True, wait=True)
        latest.discard()
        self.feedback.status(f"Recovered “{latest.name}” from the autosave")
        return True

    def close(self, keep=False):
        """The window closes: a clean exit leaves nothing to recover; with `keep` (unsaved
        work on a SIGTERM) the autosave stays for the next start to offer."""
        self.timer.stop()
        self.writer.wait()  # a write under way ends first (or it would come back after)
        if not keep:
            self.autosaver.discard()
