"""The training session's thread: a session stopped while its worker is busy with what it
cannot leave halfway (a forced compiled engine waiting for its compile) is kept until the
thread ends and deleted then; destroying a running QThread aborts the process. The hub that
hands snapshots to the panels: while training runs, each panel draws in a turn of its own."""

import gc
import threading

import shiboken6
from PySide6.QtCore import QObject, QTimer

from bpstudio.core import Callback
from bpstudio.lessons.catalog import LESSONS, lessons
from bpstudio.qt import session as sessions
from bpstudio.qt.collector import collecting
from bpstudio.qt.panels.loss import LossPanel
from bpstudio.qt.session import SnapshotHub, TrainingSession
from bpstudio.viewmodel.snapshots import SnapshotMaker


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


def test_the_hub_runs_deferred_draws_a_turn_each_and_then_says_drawn(qtbot):
    hub = SnapshotHub()
    ran, drawn = [], []
    hub.drawn.connect(lambda: drawn.append(list(ran)))

    def first():
        ran.append("first")
        QTimer.singleShot(0, lambda: ran.append("between"))  # an event after this turn

    def second():
        ran.append("second")

    hub.snapshot_ready.connect(lambda s: (hub.defer(first), hub.defer(second), hub.defer(first)))
    hub.offer("a snapshot")
    qtbot.waitUntil(lambda: bool(drawn), timeout=5000)
    # Deferred again before its turn: once. Other events run between two draws.
    assert drawn == [["first", "between", "second"]]


def test_a_panel_draws_live_snapshots_in_a_turn_of_its_own_and_the_final_one_at_once(qtbot):
    trainer = LESSONS[lessons()[0]]().make_trainer(engine="numpy")
    hub = SnapshotHub()
    panel = LossPanel(hub)
    qtbot.addWidget(panel)
    panel.show()
    maker = SnapshotMaker(trainer)
    trainer.fit(steps=3)
    live = maker.make()
    hub.snapshot_ready.emit(live)
    assert panel.shown is None and panel.snapshot is live
    qtbot.waitUntil(lambda: panel.shown is live, timeout=5000)
    trainer.fit(steps=1)
    final = maker.make(final=True)
    hub.snapshot_ready.emit(final)
    assert panel.shown is final


def test_cycles_are_collected_on_the_gui_thread_only(qtbot):
    """Another thread collecting freed Qt objects made by the GUI thread crashed (CI)."""
    trainer = LESSONS[lessons()[0]]().make_trainer(engine="numpy")
    session = TrainingSession(trainer)
    session.start()
    try:
        assert collecting() and not gc.isenabled()
        where = []

        class Cycle:
            def __del__(self):
                where.append(threading.current_thread() is threading.main_thread())

        for _ in range(3):
            cycle = Cycle()
            cycle.me = cycle
        del cycle
        # Another thread allocates (and keeps) enough to fill the youngest generation many
        # times over: an automatic collection would run there.
        kept = []
        allocating = threading.Thread(target=lambda: kept.extend([] for _ in range(100_000)))
        allocating.start()
        allocating.join()
        qtbot.waitUntil(lambda: len(where) == 3, timeout=10_000)  # the timer, once a second
        assert all(where)
    finally:
        session.stop()
        session.dispose()
