"""Writing files in the background: a save of a big network (hundreds of megabytes to
compress) took the window away for tens of seconds. The caller hands over a frozen copy of
what to write; the writer runs the job on a thread of its own and reports back on the GUI
thread, where `wait()` can also collect it (closing the window waits for its save)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from bpstudio.project import ProjectError
from bpstudio.qt.collector import collect_in_gui_thread


class BackgroundWriter(QObject):
    """One write at a time; `then(error or None)` runs on the GUI thread when it ends."""

    _finished = Signal(int, object)  # the job's number, its error message or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._then: Callable | None = None
        self._error = None
        self._job = 0
        self._finished.connect(self._deliver)

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, job: Callable[[], object], then: Callable[[str | None], None]):
        """Run `job()` (it must only touch what it was given) and then `then(error)`."""
        self.wait()  # the previous write ends first: files are written in order
        collect_in_gui_thread()
        self._job += 1
        number, self._then, self._error = self._job, then, None

        def run():
            error = None
            try:
                job()
            except ProjectError as exc:
                error = str(exc)
            except Exception as exc:  # reported, never lost on a thread
                error = f"{type(exc).__name__}: {exc}"
            self._error = error
            self._finished.emit(number, error)

        # Not a daemon: the interpreter lets a file being written finish before it exits.
        self._thread = threading.Thread(target=run, name=f"bpstudio-write-{number}")
        self._thread.start()

    def wait(self) -> bool:
        """Block until the write under way ends and report it now; True if it succeeded (or
        there was none)."""
        if self._thread is None:
            return True
        self._thread.join()
        error = self._error
        self._deliver(self._job, error)
        return error is None

    def _deliver(self, number, error):
        if self._thread is None or number != self._job:
            return  # already reported by wait(), or an older job's late signal
        self._thread.join()
        self._thread, then, self._then = None, self._then, None
        then(error)
