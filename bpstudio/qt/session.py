"""The training session: owns the worker thread that drives the Trainer, and the hub that
hands its snapshots to the panels.

The GUI thread talks to the worker only through the TrainerControls object (writes) and the
snapshot_ready signal (immutable snapshots, queued to the GUI thread by Qt)."""

from __future__ import annotations

import atexit
import contextlib
import traceback

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from bpstudio.qt.collector import collect_in_gui_thread
from bpstudio.training.trainer import Trainer, TrainerControls
from bpstudio.viewmodel.snapshots import DrawGate, SnapshotMaker, SnapshotThrottle

#: Seconds per snapshot while training runs on NumPy: the panels move at 20.5 frames a
#: second, and what a frame leaves after the window has drawn it (10-12 ms here) goes to
#: training, which waits while the window draws (both need the GIL).
FRAME = 1 / 20.5
#: Seconds per snapshot, at least, while training runs compiled: the kernel leaves the GIL
#: to the window, so training goes on while it draws. A chunk of compiled steps ends when
#: the next snapshot is due (Trainer.deadline), or within 4 ms once the window has drawn the
#: last: 32-33 frames a second for lessons 1 and 2.
OVERLAP_FRAME = 1 / 34
#: The least training time between two snapshots, however slowly the window draws.
MIN_TRAINING = 0.025
#: Qt's repaint idle time, in ms (set by bpstudio.qt.app.application).
PAINT_IDLE_MS = 1


class _Worker(QObject):
    snapshot_ready = Signal(object)
    crashed = Signal(str)
    finished = Signal()

    def __init__(self, trainer: Trainer, controls: TrainerControls, gate: DrawGate):
        super().__init__()
        self.trainer = trainer
        self.controls = controls
        self.gate = gate

    @Slot()
    def run(self):
        throttle = None
        try:
            maker = SnapshotMaker(self.trainer)
            trainer = self.trainer
            throttle = SnapshotThrottle(
                maker,
                self.snapshot_ready.emit,
                MIN_TRAINING,
                gate=self.gate,
                frame=FRAME,
                overlap=lambda: trainer.engine == "compiled",
                overlap_frame=OVERLAP_FRAME,
            )
            self.trainer.callbacks.callbacks.append(throttle)
            trainer.deadline = throttle.next_due  # compiled chunks end when a frame is due
            throttle.flush()
            self.trainer.serve(self.controls, on_idle=throttle.flush)
        except Exception:  # a bug must reach the user, not kill the thread silently
            self.crashed.emit(traceback.format_exc())
        finally:
            try:
                if throttle is not None:
                    self.trainer.callbacks.callbacks.remove(throttle)
                    self.trainer.deadline = None
                self.controls.mark_at_rest()
            finally:
                self.finished.emit()  # whatever happened, the thread must be able to end


class TrainingSession(QObject):
    """Runs one trainer in a background QThread. Create, connect, then start()."""

    snapshot_ready = Signal(object)
    crashed = Signal(str)
    finished = Signal()

    def __init__(self, trainer: Trainer, parent=None):
        super().__init__(parent)
        self.trainer = trainer
        self.controls = TrainerControls()
        self._thread = QThread()
        self._thread.setObjectName("bpstudio-training")
        self.gate = DrawGate()
        self._worker = _Worker(trainer, self.controls, self.gate)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.snapshot_ready.connect(self.snapshot_ready)
        self._worker.crashed.connect(self.crashed)
        # Direct: the GUI thread may be blocked in stop()'s wait(), so a queued call to quit()
        # would never run. QThread.quit is thread-safe.
        self._worker.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self.finished)
        self._started = False

    def start(self):
        collect_in_gui_thread()  # before the worker runs Python
        self._started = True
        self._thread.start()

    @property
    def playing(self) -> bool:
        return self.controls.playing

    def play(self):
        self.controls.play()

    def pause(self):
        self.controls.pause()

    def step_batch(self):
        self.controls.step_batch()

    def step_epoch(self):
        self.controls.step_epoch()

    def reset(self, seed: int | None = None):
        self.controls.reset(seed)

    def rollback(self):
        self.controls.rollback()

    def change(self, **changes):
        self.controls.change(**changes)

    def set_weight(self, layer: str, row: int | None, column: int, value: float):
        self.controls.set_weight(layer, row, column, value)

    def set_delay(self, seconds: float):
        self.controls.set_delay(seconds)

    def release(self):
        """The GUI thread is done: training goes on."""
        self.gate.open()

    @contextlib.contextmanager
    def paused(self, timeout: float = 5.0):
        """Pause and wait until the worker is idle; inside, the trainer may be read or changed
        from the GUI thread. Raises TimeoutError if the worker does not come to rest."""
        self.controls.pause()
        self.gate.suspend()
        try:
            if (
                self._started
                and self._thread.isRunning()
                and not self.controls.wait_until_at_rest(timeout)
            ):
                raise TimeoutError("the training thread did not pause")
            yield self.trainer
        finally:
            self.gate.suspend(False)

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Stop the worker and wait for its thread to end. True if it ended."""
        self.controls.stop()
        self.gate.suspend()
        if not self._started:
            return True
        return self._thread.wait(timeout_ms)

    @property
    def running(self) -> bool:
        """Whether the worker's thread is running."""
        return self._thread.isRunning()

    def dispose(self):
        """Stopped: delete this session once its thread has ended, now if it has. A thread
        busy with what it cannot leave halfway (a forced compiled engine waiting for its
        compile) is kept until it ends, out of its parent's hands: a QThread destroyed while
        it runs aborts the process."""
        if self._started and not self._thread.isFinished():
            self.setParent(None)
            _ending.add(self)
            self.finished.connect(self._ended)
            if not self._thread.isFinished():
                return
        self._ended()

    def _ended(self):
        _ending.discard(self)
        self.deleteLater()


#: Sessions stopped while their thread was still busy (see TrainingSession.dispose).
_ending: set[TrainingSession] = set()


def ending() -> frozenset:
    """The sessions stopped whose threads have not ended yet."""
    return frozenset(_ending)


@atexit.register
def wait_for_ending():
    """Before the interpreter exits: the threads of stopped sessions end first."""
    for session in list(_ending):
        session._thread.wait()


class SnapshotHub(QObject):
    """Re-emits the snapshots of whichever session is current, dropping the ones the GUI had
    no time to draw (only the newest matters), and emits `drawn` once what it delivered has
    been painted, so that the trainer, which waits for it (see DrawGate), holds still while
    the GUI thread works.

    `drawn` comes PAINT_IDLE_MS + 1 ms after delivery, once Qt's gathered repaint is done
    (why 1 ms, measured: docs/architecture.md).

    While training runs the panels draw in event-loop turns of their own (`defer`), one
    after the other, each followed by its paint: a frame drawn in one turn (5 ms median,
    13 ms at worst for lesson 2) and painted in the next kept a timer, a click or a key
    waiting 17-28 ms."""

    snapshot_ready = Signal(object)
    #: What was delivered has been painted: the trainer may go on.
    drawn = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._latest = None
        self._scheduled = False
        self._deferred: list = []
        self._draining = False
        self.received = 0
        self.draw_count = 0

    def offer(self, snapshot):
        self.received += 1
        self._latest = snapshot
        if not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self, self._deliver)

    def _deliver(self):
        self._scheduled = False
        snapshot, self._latest = self._latest, None
        if snapshot is not None:
            self.draw_count += 1
            self.snapshot_ready.emit(snapshot)
        if not self._draining:  # else `drawn` comes once the deferred draws are done
            QTimer.singleShot(PAINT_IDLE_MS + 1, self, self.drawn.emit)

    def defer(self, draw):
        """Call `draw()` in a turn of the event loop of its own, after the current one; once
        every deferred draw is done (and painted), `drawn` is emitted. A draw deferred
        again before its turn comes runs once."""
        if draw not in self._deferred:
            self._deferred.append(draw)
        if not self._draining:
            self._draining = True
            QTimer.singleShot(0, self, self._draw_next)

    def _draw_next(self):
        try:
            if self._deferred:
                self._deferred.pop(0)()
        finally:  # a draw that failed (reported by Qt) must not stop the others
            if self._deferred:
                QTimer.singleShot(0, self, self._draw_next)
            else:
                self._draining = False
                QTimer.singleShot(PAINT_IDLE_MS + 1, self, self.drawn.emit)
