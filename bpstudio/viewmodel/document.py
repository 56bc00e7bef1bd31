"""The open document: which project is open, where it is saved, whether it has changes that
are not saved, and what the run now training will be called. No Qt: the window's views and
controllers subscribe to its events (napari's ViewerModel is the model here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bpstudio.project import Project

#: The name of a project nobody has named yet.
UNTITLED = "Untitled"


class Event:
    """A list of callbacks called with the event's arguments, in the order they connected."""

    def __init__(self):
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable):
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable):
        self._callbacks.remove(callback)

    def emit(self, *args):
        for callback in list(self._callbacks):
            callback(*args)


class Document:
    """Events: opened(project) when a project is shown; modified_changed(modified);
    path_changed(path) when it is saved somewhere new; classroom_changed(classroom)."""

    def __init__(self):
        self.project: Project | None = None
        self.path: Path | None = None
        self._modified = False
        #: What the run that trains now will be called, if not "Run N" (a lesson's fix).
        self.run_name: str | None = None
        #: Changes made since opening, for autosave to notice the ones that train nothing.
        self.edits = 0
        self.opened = Event()
        self.modified_changed = Event()
        self.path_changed = Event()
        self.classroom_changed = Event()

    def open(self, project: Project, path=None):
        self.project = project
        self.path = Path(path) if path else None
        self.run_name = None
        self._modified = False
        self.opened.emit(project)
        self.modified_changed.emit(False)

    @property
    def modified(self) -> bool:
        """True when the project has changes that are not saved to its file."""
        return self._modified

    @modified.setter
    def modified(self, value: bool):
        value = bool(value)
        if value:
            self.edits += 1
        changed = value != self._modified
        self._modified = value
        if changed:
            self.modified_changed.emit(value)

    def saved_to(self, path, current=True):
        """The project was written to `path`: it has no unsaved changes now, unless it
        changed while the file was written (`current` False). A project never named takes
        the file's name, so that the window and the file say the same."""
        self.path = Path(path)
        if self.project.name == UNTITLED:
            self.project.name = self.path.stem
        if current:
            self.modified = False
        self.path_changed.emit(self.path)

    def set_classroom(self, classroom: dict | None):
        """Hide and lock what `classroom` names (None: nothing); kept in the project."""
        self.project.classroom = classroom
        self.modified = True
        self.classroom_changed.emit(classroom)

    @property
    def title(self) -> str:
        """What the title bar says: the file's name, or the project's while it has none."""
        name = self.path.name if self.path else self.project.name
        mode = " (classroom mode)" if self.project.classroom else ""
        return f"{name}{mode}"
