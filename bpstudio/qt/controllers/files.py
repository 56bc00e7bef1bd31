"""The files controller: new, open, open recent, save and save as, and the question about
unsaved training before any of them throws it away."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu, QMessageBox

from bpstudio._resources import resource_path
from bpstudio.lessons import lessons
from bpstudio.project import SUFFIX, Project, ProjectError, load_project, save_project
from bpstudio.project.playground import link_of, open_link
from bpstudio.qt.controllers.training import TrainingController
from bpstudio.qt.feedback import Feedback
from bpstudio.qt.writer import BackgroundWriter
from bpstudio.viewmodel.document import UNTITLED, Document

MAX_RECENT = 8
FILE_FILTER = f"Backprop Studio projects (*{SUFFIX});;All files (*)"


def shipped_lesson(path) -> bool:
    """True for the lesson files that come with the app: they are read-only (Save asks where
    to save a copy)."""
    return Path(path).resolve().parent == resource_path("lessons").resolve()


def first_lesson() -> Project:
    return load_project(lessons()[0].path)


class FilesController(QObject):
    """open_project(project, path) -> bool shows a project in the window (the window's)."""

    def __init__(
        self,
        document: Document,
        training: TrainingController,
        feedback: Feedback,
        settings: QSettings,
        open_project: Callable[..., bool],
        parent=None,
    ):
        super().__init__(parent)
        self.document = document
        self.training = training
        self.feedback = feedback
        self.settings = settings
        self.open_project = open_project
        self.recent_menu: QMenu | None = None
        self.writer = BackgroundWriter(self)
        document.opened.connect(self._on_opened)
        document.path_changed.connect(self.remember)

    def _on_opened(self, project):
        if self.document.path:
            self.remember(self.document.path)

    # ------------------------------------------------------------------ opening

    def open_path(self, path) -> bool:
        if not self.maybe_save():
            return False
        try:
            project = load_project(path)
        except ProjectError as exc:
            self.feedback.error("The project cannot be opened", str(exc))
            return False
        return self.open_project(project, path)

    def open_dialog(self):
        path = self.feedback.open_file("Open project", self.last_folder(), FILE_FILTER)
        if path:
            self.open_path(path)

    def new_project(self) -> bool:
        if not self.maybe_save():
            return False
        project = first_lesson()
        project.name, project.description, project.lesson = UNTITLED, "", None
        return self.open_project(project)

    def open_playground_dialog(self):
        """Ask for a Playground link (the clipboard's, if it holds one) and open it."""
        clip = QGuiApplication.clipboard().text().strip()
        link = self.feedback.text(
            "Open Playground link",
            "Paste a TensorFlow Playground link (https://playground.tensorflow.org/#…):",
            clip if "#" in clip and "=" in clip and len(clip) < 5000 else "",
        )
        if link and link.strip():
            self.open_playground(link)

    def open_playground(self, link: str) -> bool:
        """Open the project a Playground link describes; what the link held that could not
        be used is said, field by field."""
        if not self.maybe_save():
            return False
        try:
            opened = open_link(link)
        except ProjectError as exc:
            self.feedback.error("The Playground link cannot be opened", str(exc))
            return False
        if not self.open_project(opened.project):
            return False
        if opened.notes:
            self.feedback.error(
                "Parts of the Playground link were not used",
                "The rest of the link is open. Not used:\n• " + "\n• ".join(opened.notes),
            )
        else:
            self.feedback.status("Opened the Playground link: Playground's own setup", 8000)
        return True

    def copy_playground_link(self) -> str | None:
        """Put the Playground link of this project on the clipboard; say what Playground
        cannot show of it. Returns the link."""
        try:
            project = self.training.capture()
        except (ProjectError, TimeoutError) as exc:
            self.feedback.error("No link was made", str(exc))
            return None
        link, misfits = link_of(project)
        QGuiApplication.clipboard().setText(link)
        if misfits:
            self.feedback.error(
                "Playground cannot show all of this project",
                "The link on the clipboard carries the rest. Does not fit:\n• "
                + "\n• ".join(misfits),
            )
        else:
            self.feedback.status("Copied the Playground link of this project", 6000)
        return link

    # ------------------------------------------------------------------ saving

    def save(self, wait=False) -> bool:
        if self.document.path is None:
            return self.save_as(wait)
        return self.save_to(self.document.path, wait)

    def save_as(self, wait=False) -> bool:
        d = self.document
        start = str(d.path or Path(self.last_folder()) / f"{d.project.name}{SUFFIX}")
        path, _ = self.feedback.save_file("Save project", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(SUFFIX):
            path += SUFFIX
        return self.save_to(Path(path), wait)

    def save_to(self, path: Path, wait=True) -> bool:
        """Save the project as it is now to `path`: a copy is taken while training stands
        still, and written in the background (`wait`: before returning, and True only if it
        was written). Changes made meanwhile stay unsaved."""
        path = Path(path)
        try:
            frozen = self.training.capture().frozen()
        except (ProjectError, TimeoutError) as exc:
            self.feedback.error("The project was not saved", str(exc))
            return False
        edits = self.document.edits

        def written(error):
            if error:
                self.feedback.error("The project was not saved", error)
                return
            self.document.saved_to(path, current=self.document.edits == edits)
            self.feedback.status(f"Saved {path}", 4000)

        self.feedback.status(f"Saving {path.name}…")
        self.writer.start(lambda: save_project(frozen, path), written)
        return self.writer.wait() if wait else True

    def maybe_save(self) -> bool:
        """Ask about unsaved training; False if the user cancels. Training pauses while the
        question is open, and goes on if the user cancels."""
        if not self.document.modified or self.training.session is None:
            return True
        return self.training.while_asking(self._ask_to_save)

    def _ask_to_save(self) -> bool:
        answer = self.feedback.question(
            "Save changes?",
            f"“{self.document.project.name}” has training that is not saved.",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save(wait=True)  # what follows (closing, opening) may not wait
        return answer == QMessageBox.StandardButton.Discard

    # ------------------------------------------------------------------ recent files

    def recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember(self, path):
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent() if p != path]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.refresh_recent_menu()

    def refresh_recent_menu(self):
        if self.recent_menu is None:
            return
        self.recent_menu.clear()
        recent = [p for p in self.recent() if Path(p).exists()]
        for p in recent:
            self.recent_menu.addAction(Path(p).name, lambda _=False, q=p: self.open_path(q))
        self.recent_menu.setEnabled(bool(recent))

    def last_folder(self) -> str:
        recent = self.recent()
        return str(Path(recent[0]).parent) if recent else str(Path.home())
