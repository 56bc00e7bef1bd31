"""The training controller: one training session per open project, and what the toolbar and
the settings ask of it (play, pause, step, reset, roll back, speed, new settings)."""

from __future__ import annotations

import contextlib
import sys

import numpy as np
from PySide6.QtCore import QObject, Signal

from bpstudio.project import Project, ProjectError
from bpstudio.qt.feedback import Feedback
from bpstudio.qt.session import SnapshotHub, TrainingSession
from bpstudio.training.controls import StopCondition
from bpstudio.training.trainer import TrainingError
from bpstudio.viewmodel.document import Document

#: Seconds to wait after each step at each position of the speed slider (last: full speed).
SPEEDS = (0.5, 0.2, 0.05, 0.01, 0.0)


class TrainingController(QObject):
    """Signals: playing_changed(bool) when training starts or stops; restarted() after a
    Reset (the run so far is kept for Compare runs)."""

    playing_changed = Signal(bool)
    restarted = Signal()

    def __init__(self, document: Document, hub: SnapshotHub, feedback: Feedback, parent=None):
        super().__init__(parent)
        self.document = document
        self.hub = hub
        self.feedback = feedback
        self.session: TrainingSession | None = None
        self.last_snapshot = None
        self.delay = SPEEDS[-1]
        self._playing = False
        hub.snapshot_ready.connect(self._on_snapshot_ready)
        hub.drawn.connect(self._on_snapshot_drawn)

    # ------------------------------------------------------------------ the session

    def start(self, project: Project) -> bool:
        """A new session (paused) for `project`, replacing the current one; on a problem the
        current one goes on and the error is shown."""
        try:
            trainer = project.make_trainer()
        except ProjectError as exc:
            self.feedback.error("The project cannot be opened", str(exc))
            return False
        self.stop()
        self.session = TrainingSession(trainer, parent=self)
        self.session.snapshot_ready.connect(self.hub.offer)
        self.session.crashed.connect(self._on_worker_crashed)
        self.session.set_delay(self.delay)
        try:
            self.session.controls.stop_when(StopCondition(**(project.stop or {})))
        except (TrainingError, TypeError) as exc:
            self.feedback.status(f"The stop condition was left out: {exc}")
        pause_at = (project.lesson or {}).get("pause_at_epoch")
        if isinstance(pause_at, int) and trainer.epoch < pause_at:
            self.session.controls.pause_at(pause_at)
        self.session.start()
        self._show_playing(False)
        return True

    def stop(self):
        if self.session is not None:
            self.session.snapshot_ready.disconnect(self.hub.offer)
            self.session.stop()
            self.session.dispose()
            self.session = None
            self.last_snapshot = None

    @property
    def trainer(self):
        return self.session.trainer

    @contextlib.contextmanager
    def paused(self):
        """Training paused and the worker at rest: the trainer may be read or changed here.
        Raises TimeoutError if the worker does not come to rest."""
        with self.session.paused() as trainer:
            yield trainer
        self._show_playing(False)

    def capture(self) -> Project:
        """The open project with the trainer's current state, read while training is paused."""
        project = self.document.project
        with self.paused() as trainer:
            project.capture(trainer, self.document.run_name)
        if project.note:  # the oldest run was dropped
            self.feedback.status(project.note)
            project.note = None
        return project

    # ------------------------------------------------------------------ what the user asks

    def toggle_play(self):
        if self.session.playing:
            self.pause()
        elif self.last_snapshot is not None and self.last_snapshot.failure:
            self.feedback.status("Training broke down: roll back or reset first", 5000)
        else:
            self.session.play()
            self.document.modified = True
            self._show_playing(True)

    def pause(self):
        self.session.pause()
        self._show_playing(False)

    def while_asking(self, ask, always_resume=False):
        """Training pauses while `ask()` (a modal question) is open, and goes on after it if
        it answers None or False (cancelled), or whatever it answers with `always_resume`;
        returns the answer."""
        playing = self.session is not None and self.session.playing
        if playing:
            self.pause()
        answer = ask()
        if playing and (always_resume or answer in (None, False)):
            self.resume()
        return answer

    def resume(self):
        """Play again (after autosave or a save paused training while it copied)."""
        self.session.play()
        self._show_playing(True)

    def step_batch(self):
        self.session.step_batch()
        self.document.modified = True

    def step_epoch(self):
        self.session.step_epoch()
        self.document.modified = True

    def reset(self, seed: int | None = None):
        """Start again with the current settings, from the same initial weights (change one
        setting, Reset: a fair comparison) or from those a new `seed` draws; the run so far
        is kept for Compare runs."""
        try:
            self.capture()
        except TimeoutError as exc:
            self.feedback.error("Training was not reset", str(exc))
            return
        self.session.reset(seed)
        if seed is not None:
            self.document.project.seed = seed
            self.document.modified = True
        self.restarted.emit()

    def reset_new_weights(self):
        """Reset from new random initial weights (as TensorFlow Playground's reset does)."""
        self.reset(int(np.random.default_rng().integers(0, 2**31)))

    def rollback(self, lower_rate=False):
        """Back to the last weights saved before training broke down; with `lower_rate`, go on
        with a learning rate ten times smaller."""
        s = self.last_snapshot
        lr = s.hyperparameters["learning_rate"] if s is not None else None
        self.session.rollback()
        if lower_rate and lr:
            self.session.change(learning_rate=lr / 10)

    def set_speed(self, position: int):
        self.delay = SPEEDS[position]
        self.session.set_delay(self.delay)

    def change_settings(self, changes: dict):
        try:
            self.session.change(**changes)
        except TrainingError as exc:
            self.feedback.status(str(exc))
            return
        self.document.modified = True

    def set_engine(self, engine: str):
        """Train on `engine` from the next run (Reset) on."""
        try:
            with self.paused() as trainer:
                trainer.set_engine(engine)
        except (TrainingError, TimeoutError) as exc:
            self.feedback.status(str(exc))
            return
        self.feedback.status(f"Engine: {engine}, from the next Reset (Ctrl+R)", 8000)

    def set_stop(self, stop: dict):
        """Pause by itself at epoch stop["epoch"] or under test loss stop["test_loss"]."""
        try:
            condition = StopCondition(**stop)
        except TrainingError as exc:
            self.feedback.status(str(exc))
            return
        self.session.controls.stop_when(condition)
        self.document.project.stop = condition.to_dict() or None
        self.document.modified = True

    def set_weight(self, layer: str, row: int | None, column: int, value: float):
        self.session.set_weight(layer, row, column, value)
        self.document.modified = True

    # ------------------------------------------------------------------ from the worker

    def _on_snapshot_ready(self, snapshot):
        self.last_snapshot = snapshot
        if self.session is not None:
            self._show_playing(self.session.playing)
        last = snapshot.events[-1][1] if snapshot.final and snapshot.events else ""
        if last.startswith("stopped"):
            self.feedback.status(f"Training {last} (Training tab): press Play to go on", 15000)
        if "as the lesson asks" in last:
            self.feedback.status(
                f"Stopped at epoch {snapshot.epoch}, where the lesson's question is: "
                f"check your answer, then press Play to go on",
                15000,
            )

    def _on_snapshot_drawn(self):
        if self.session is not None:
            self.session.release()

    def _show_playing(self, playing: bool):
        if playing != self._playing:
            self._playing = playing
            self.playing_changed.emit(playing)

    def _on_worker_crashed(self, trace):
        print(trace, file=sys.stderr)
        self.feedback.error(
            "Training stopped because of an error in Backprop Studio",
            trace.strip().splitlines()[-1],
            detail=trace,
        )
