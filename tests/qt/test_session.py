"""The training session's thread: a session stopped while its worker is busy with what it
cannot leave halfway (a forced compiled engine waiting for its compile) is kept until the
thread ends and deleted then; destroying a running QThread aborts the process."""

import threading

import shiboken6
from PySide6.QtCore import QObject

from bpstudio.core import Callback
from bpstudio.lessons.catalog import LESSONS, lessons
from bpstudio.qt import session as sessions
from bpstudio.qt.session import TrainingSession


class Busy(Callback):
    """Holds the worker in a step until released."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    def on_train_batch_end(self, batch, logs=None):
        self.entered.set()
        self.release.wait()


def test_a_session_stopped_while_busy_is_deleted_once_its_thread_ends(qtbot):
    busy = Busy()
    trainer = LESSONS[lessons()[0]]().make_trainer(callbacks=[busy], engine="numpy")
    parent = QObject()
    session = TrainingSession(trainer, parent=parent)
    session.start()
    session.step_batch()
    assert busy.entered.wait(10)
    assert not session.stop(timeout_ms=50)  # the worker is held in its step
    session.dispose()
    parent.deleteLater()  # the window going away must not take the running thread along
    qtbot.wait(50)
    assert shiboken6.isValid(session) and session in sessions.ending()
    assert session.running
    busy.release.set()
    qtbot.waitUntil(lambda: not shiboken6.isValid(session), timeout=10_000)
    assert not sessions.ending()


def test_a_session_at_rest_is_deleted_at_once(qtbot):
    trainer = LESSONS[lessons()[0]]().make_trainer(engine="numpy")
    session = TrainingSession(trainer)
    session.start()
    assert session.stop()
    session.dispose()
    assert session not in sessions.ending()
    qtbot.waitUntil(lambda: not shiboken6.isValid(session), timeout=5000)
