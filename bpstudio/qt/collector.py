"""Python's cycle collector runs in the GUI thread only.

The collector runs in whichever thread happens to allocate when a generation fills up: in
the training thread, a save's thread or the compile's, it freed cycles that held Qt objects
made by the GUI thread (a closed window's panels and the hub that feeds them) and
segfaulted there (CI, the training thread "Garbage-collecting" inside a snapshot). So
automatic collection is switched off and a timer in the GUI thread collects instead, once a
second (pyqtgraph's GarbageCollector, written for this)."""

from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

_collector: GarbageCollector | None = None


def collect_in_gui_thread():
    """From now on, collect cycles on the GUI thread only (once; call it there, before
    another thread runs Python)."""
    global _collector
    app = QApplication.instance()
    if _collector is None and app is not None and QThread.currentThread() is app.thread():
        _collector = GarbageCollector(interval=1.0)


def collecting() -> bool:
    """Whether collection has moved to the GUI thread."""
    return _collector is not None
