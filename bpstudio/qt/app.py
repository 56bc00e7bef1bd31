"""Starting the studio: the QApplication, the window, and a clean exit."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

import bpstudio
from bpstudio._resources import resource_path
from bpstudio.project import ProjectError, load_project
from bpstudio.qt import theme
from bpstudio.qt.collector import collect_in_gui_thread
from bpstudio.qt.session import PAINT_IDLE_MS

_NOISE = ("This plugin does not support propagateSizeHints()",)


def _on_qt_message(kind, context, message):
    # The offscreen platform warns about window hints it cannot apply; nothing is wrong.
    if message in _NOISE:
        return
    if kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
        print(f"Qt: {message}", file=sys.stderr)


def application() -> QApplication:
    # Repaint 1 ms after the panels ask, not 5: the training thread waits for each repaint
    # of a snapshot (see SnapshotHub) and would sit idle meanwhile.
    os.environ.setdefault("QT_QPA_UPDATE_IDLE_TIME", str(PAINT_IDLE_MS))
    qInstallMessageHandler(_on_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Backprop Studio")
    app.setOrganizationName("BackpropStudio")
    app.setApplicationVersion(bpstudio.__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons", "bpstudio.svg"))))
    theme.configure()
    collect_in_gui_thread()
    keep_freed_memory()
    _one_blas_thread()
    _compile_meanwhile()
    return app


#: glibc's mallopt parameters: hand freed memory back to the system only beyond this much
#: free at the top of the heap, and take arrays up to this size from the heap.
TRIM_THRESHOLD, MMAP_THRESHOLD = 32 << 20, 4 << 20


def keep_freed_memory() -> bool:
    """Keep freed memory for the next arrays (glibc only; returns whether it applied).
    glibc hands back what is free at the top of its heap once it passes 128 KB, and the next
    array of that size faults its pages in again, one by one: the snapshots' pictures (the
    output over 3,600 points, then the test set, then the units' grids) took 550-640 page
    faults and 2.8-3.0 ms each time for lesson 2, 0 faults and 1.6-2.2 ms with these
    thresholds (both measured in one run)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # another C library (musl has no such tuning)
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    )


def _compile_meanwhile():
    """The window never waits for the compiled engine: runs start on NumPy until it is
    compiled (or loaded from numba's cache, about 0.3 s) in the background, once the window
    is up (importing numba takes the GIL for a quarter of a second)."""
    from bpstudio.compiled import engine

    engine.set_waiting(False)
    if engine.available() is None:
        QTimer.singleShot(COMPILE_AFTER_MS, lambda: engine.warm_up("float64"))


#: When the window starts the compiled engine's compile, after the first paint.
COMPILE_AFTER_MS = 1000


def _one_blas_thread():
    """Training in the window uses one BLAS thread: the other core is the window's. Measured
    on 2 cores (benchmarks/blas_threads.py): with the machine otherwise idle two threads train
    big networks 1.5-1.7x faster and small ones no faster; with one core kept busy (a spinning
    process, as the window's thread is while it draws) two threads fell to 0.3-0.6x of one
    on big networks. The command line keeps BLAS's own choice."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class _FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print(f"first-paint {time.time():.4f}", flush=True)
            obj.removeEventFilter(self)
            obj.document.modified = False
            QTimer.singleShot(0, obj.close)
        return False


def run_studio(path=None, on_ready=None, settings: QSettings | None = None) -> int:
    """Open the studio on `path` (or the first lesson) and run until it is closed.

    on_ready(window) is called once the window is shown (for scripted runs and tests)."""
    from bpstudio.qt.window import StudioWindow

    project = None
    if path is not None:
        try:
            project = load_project(path)
        except ProjectError as exc:
            print(f"bpstudio: error: {exc}", file=sys.stderr)
            return 1
    app = application()
    window = StudioWindow(project, path, settings=settings)
    window.show()
    # Ctrl+C in the terminal and a polite kill: keep the work in the autosave and leave,
    # without a question nobody may be there to answer.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, window.close_on_signal))
    heartbeat = QTimer()  # lets the interpreter run signal handlers while Qt waits
    heartbeat.start(200)
    heartbeat.timeout.connect(lambda: None)
    if on_ready is not None:
        QTimer.singleShot(0, lambda: on_ready(window))
    if not os.environ.get("BPSTUDIO_STARTUP_PROBE"):
        # Work a crashed session left behind is offered once the window is up.
        QTimer.singleShot(0, window.autosaves.offer_recovery)
    else:
        # For measuring startup (packaging/smoke_test.sh): say when the window is first
        # painted, as a Unix time, and leave.
        probe = _FirstPaint(window)
        window.installEventFilter(probe)
    code = app.exec()
    heartbeat.stop()
    window.deleteLater()
    return code
