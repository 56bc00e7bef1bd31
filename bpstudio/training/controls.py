"""The controls: thread-safe requests from the GUI thread to the training thread.

The studio's GUI thread never calls the trainer: it writes to a `TrainerControls` object
(play, pause, step, stop, new hyperparameters), which the worker thread reads between steps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

HYPERPARAMETERS = (
    "learning_rate",
    "momentum",
    "nesterov",
    "regularization",
    "regularization_rate",
    "dropout",
    "batch_size",
    "global_clipnorm",
)


class TrainingError(ValueError):
    """A setting the trainer cannot apply; the message says why."""


def check_setting_names(changes):
    unknown = set(changes) - set(HYPERPARAMETERS)
    if unknown:
        raise TrainingError(
            f"unknown setting {sorted(unknown)[0]!r}; the settings are {', '.join(HYPERPARAMETERS)}"
        )


@dataclass
class StopCondition:
    """When playing training pauses by itself: at the end of epoch `epoch`, or at the end of
    the first epoch whose test loss is below `test_loss` (again after a reset). None: never."""

    epoch: int | None = None
    test_loss: float | None = None
    loss_met: bool = field(default=False, compare=False)

    def __post_init__(self):
        if self.epoch is not None and (
            not isinstance(self.epoch, int) or isinstance(self.epoch, bool) or self.epoch < 1
        ):
            raise TrainingError(
                f"the epoch to stop at must be a whole number >= 1; got {self.epoch!r}"
            )
        if self.test_loss is not None and (
            isinstance(self.test_loss, bool)
            or not isinstance(self.test_loss, (int, float))
            or not 0 < self.test_loss < float("inf")
        ):
            raise TrainingError(
                f"the test loss to stop under must be a positive number; got {self.test_loss!r}"
            )

    def to_dict(self) -> dict:
        return {
            k: v for k, v in (("epoch", self.epoch), ("test_loss", self.test_loss)) if v is not None
        }

    def reached(self, epoch: int, test_loss: float) -> str | None:
        """Why training stops at the end of `epoch` with this test loss, or None."""
        if self.epoch is not None and epoch == self.epoch:
            return f"stopped at epoch {epoch}, as set"
        if self.test_loss is not None and not self.loss_met and test_loss < self.test_loss:
            self.loss_met = True
            return f"stopped: test loss {test_loss:.4g} is below {self.test_loss:g}, as set"
        return None


@dataclass
class Commands:
    """What the controls asked for since the worker last looked."""

    stop: bool = False
    playing: bool = False
    batches: int = 0
    epochs: int = 0
    reset: bool = False
    reset_seed: int | None = None  # with reset: draw the new weights from this seed
    rollback: bool = False
    changes: dict = field(default_factory=dict)
    #: (layer, row, column, value) to set; row None: the bias of unit `column`.
    weights: list = field(default_factory=list)


class TrainerControls:
    """Thread-safe requests from the GUI thread to the training thread. A queued Qt slot on a
    worker busy in its loop would never run, which is why these are plain locked fields.

    The worker counts as busy from the moment it takes a command until it rests again with
    nothing to do; `wait_until_at_rest` lets another thread wait for that moment."""

    def __init__(self):
        self._cond = threading.Condition()
        self._c = Commands()
        self._delay = 0.0
        self._at_rest = True  # the worker waits with nothing to do; it leaves the trainer be
        #: Pause (once) when training reaches this epoch: a lesson's question is about it.
        self.pause_at_epoch: int | None = None
        #: Pause when this is reached (the user's stop condition).
        self.stop_condition = StopCondition()
        #: Counts the requests; the worker takes them only when this has moved (a lock and a
        #: new Commands on every step cost 3 % of the training speed, measured).
        self.version = 0

    def _set(self, **kw):
        with self._cond:
            for key, value in kw.items():
                setattr(self._c, key, value)
            self._notify()

    def _notify(self):
        self.version += 1
        self._cond.notify_all()

    def play(self):
        self._set(playing=True)

    def pause(self):
        self._set(playing=False)

    def pause_at(self, epoch: int | None):
        """Pause once when training reaches `epoch` (None: never)."""
        with self._cond:
            self.pause_at_epoch = epoch
            self._notify()

    def stop_when(self, condition: StopCondition):
        """Pause whenever `condition` is reached (StopCondition(): never)."""
        with self._cond:
            self.stop_condition = condition
            self._notify()

    def stop(self):
        self._set(stop=True, playing=False)

    def reset(self, seed: int | None = None):
        """Start a new run: from the same initial weights, or from those `seed` draws."""
        self._set(reset=True, reset_seed=seed, playing=False)

    def rollback(self):
        self._set(rollback=True, playing=False)

    def step_batch(self, n=1):
        with self._cond:
            self._c.batches += n
            self._notify()

    def step_epoch(self):
        with self._cond:
            self._c.epochs += 1
            self._notify()

    def set_delay(self, seconds: float):
        """Pause this long after every step while playing (the speed control); 0: full speed."""
        if not (isinstance(seconds, (int, float)) and 0 <= seconds <= 10):
            raise TrainingError(f"delay must be from 0 to 10 seconds; got {seconds!r}")
        with self._cond:
            self._delay = float(seconds)
            self._notify()

    @property
    def delay(self) -> float:
        return self._delay  # read on every step: one float, no lock needed

    def set_weight(self, layer: str, row: int | None, column: int, value: float):
        """Queue one kernel entry (row None: a bias) to set, as Playground's edge editing does."""
        with self._cond:
            self._c.weights.append((layer, row, column, value))
            self._notify()

    def change(self, **changes):
        """Queue new hyperparameters; they take effect before the next step."""
        check_setting_names(changes)
        with self._cond:
            self._c.changes.update(changes)
            self._notify()

    @property
    def playing(self) -> bool:
        with self._cond:
            return self._c.playing

    def _pending(self) -> bool:
        c = self._c
        return bool(
            c.stop
            or c.playing
            or c.batches
            or c.epochs
            or c.reset
            or c.rollback
            or c.changes
            or c.weights
        )

    def take(self) -> Commands:
        """For the worker: the pending one-shot commands (cleared) and the play state. If
        there is anything to do, the worker counts as busy until it rests again."""
        with self._cond:
            c = self._c
            taken = Commands(
                c.stop,
                c.playing,
                c.batches,
                c.epochs,
                c.reset,
                c.reset_seed,
                c.rollback,
                c.changes,
                c.weights,
            )
            if self._pending():
                self._at_rest = False
            c.batches = c.epochs = 0
            c.reset = c.rollback = False
            c.reset_seed = None
            c.changes, c.weights = {}, []
            return taken

    def wait(self, timeout: float):
        """For the worker: sleep (busy) until a control changes or `timeout` seconds pass."""
        with self._cond:
            self._cond.wait(timeout)

    def rest(self, timeout: float):
        """For the worker: rest, with nothing to do, until a control changes or `timeout`
        seconds pass."""
        with self._cond:
            if self._pending():
                return
            self._at_rest = True
            self._cond.notify_all()
            self._cond.wait(timeout)

    def mark_at_rest(self):
        """For the worker, when it ends: nothing will touch the trainer any more."""
        with self._cond:
            self._at_rest = True
            self._cond.notify_all()

    def _resting(self) -> bool:
        return self._at_rest and not self._pending()

    def at_rest(self) -> bool:
        """True when no command is pending and the worker is resting."""
        with self._cond:
            return self._resting()

    def wait_until_at_rest(self, timeout: float) -> bool:
        """Wait until at_rest(); False if `timeout` seconds pass first."""
        with self._cond:
            return self._cond.wait_for(self._resting, timeout)
