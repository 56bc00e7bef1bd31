"""The training loop that the command line, the tests and the studio's worker thread all drive.

The worker thread runs `Trainer.serve(controls)`, which obeys a TrainerControls object (see
bpstudio.training.controls) between steps.
"""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np

from bpstudio.compiled import engine as compiled
from bpstudio.core import Dropout, Sequential
from bpstudio.core.callbacks import CallbackList
from bpstudio.core.model import QUIET
from bpstudio.core.regularizers import L1, L2
from bpstudio.data.datasets import Dataset
from bpstudio.training.controls import (
    Commands,
    TrainerControls,
    TrainingError,
    check_setting_names,
)
from bpstudio.training.history import EPOCH_COLUMNS, HISTORY_ROWS, RunHistory

REGULARIZATIONS = ("none", "l1", "l2")
#: The largest weight a user may type in (an edge edit).
MAX_WEIGHT = 1e6
#: A rollback checkpoint is taken every this many steps (of finite weights only), and the
#: run's first and the KEEP_CHECKPOINTS - 1 latest are kept; networks over BIG_NETWORK
#: parameters keep the first and the latest only (each is a copy of every weight).
CHECKPOINT_EVERY = 50
#: "As many epochs as fit": a chunk of compiled steps is sized by time.
ALL_EPOCHS = 1 << 30
KEEP_CHECKPOINTS = 5
BIG_NETWORK = 1_000_000
#: The engines a trainer can be told to use; "auto" takes the compiled one for networks it
#: supports that are small enough (compiled.WORK_PER_LAYER), once it is compiled.
ENGINES = ("auto", "numpy", "compiled")
#: Why a run in the window starts on NumPy: the compiled engine is not ready yet (the run
#: moves to it when it is).
COMPILING = "compiling (NumPy meanwhile)"
#: How long one chunk of steps takes: controls are obeyed between chunks, well within a
#: frame.
CHUNK_SECONDS = 0.004
#: The longest a compiled chunk may run to end when the window wants its next picture (see
#: Trainer.deadline): each chunk costs the training thread the GIL back and 0.5 ms of
#: bookkeeping; a frame of 4 ms chunks (7 of them) left lesson 2 0.72-0.78 of its headless
#: speed in the window, 3 chunks of up to 12 ms 0.79-0.86 (benchmarks/gui.py).
LONGEST_CHUNK_SECONDS = 0.012
#: While serving a GUI, sleep YIELD_FOR seconds every YIELD_EVERY to hand the GIL over
#: (why, measured: docs/architecture.md).
YIELD_EVERY = 0.010
YIELD_FOR = 0.0001


class Trainer:
    """Runs mini-batch training of `net` on `dataset`, one step, one epoch or many at a time.

    Records every step's measurements and every epoch's train/test metrics in `history`,
    takes hyperparameter changes between steps without a reset, and stops on the first
    non-finite loss, activation or gradient (see `failure` and `rollback`)."""

    def __init__(
        self,
        net: Sequential,
        dataset: Dataset,
        batch_size=10,
        callbacks=(),
        history_capacity=HISTORY_ROWS,
        engine="auto",
    ):
        if engine not in ENGINES:
            raise TrainingError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
        if net.loss is None:
            raise TrainingError("compile the network before training it")
        if net.input_dim != dataset.input_dim:
            raise TrainingError(
                f"the network takes {net.input_dim} inputs but the dataset "
                f"has {dataset.input_dim} features"
            )
        self.net = net
        self.dataset = dataset
        self.X = net.prepare_inputs(dataset.X_train)
        self.Y = net.prepare_targets(dataset.y_train)
        self.X_test = net.prepare_inputs(dataset.X_test)
        self.Y_test = net.prepare_targets(dataset.y_test)
        self.callbacks = CallbackList(callbacks, net)
        self.history_capacity = history_capacity
        self.batch_size = self._check_batch_size(batch_size)
        self.engine_choice = engine
        self._compiled = None  # the compiled step of this network and settings, when in use
        self._compiled_for = None
        self._seconds_per_step = 0.0
        self._chunk_overhead = 0.0  # a compiled chunk's seconds outside its kernel
        #: None, or a callable giving the time.monotonic() by which the next chunk should
        #: end (the window's next picture is due then): compiled chunks run up to it, up to
        #: LONGEST_CHUNK_SECONDS, instead of CHUNK_SECONDS.
        self.deadline = None
        self.last_logs: dict = {}  # the logs of the latest step
        #: Why this run trains on NumPy (None: compiled); decided when a run starts, so that
        #: a run does not change engine halfway (the two agree to 1e-12 a step, but a long
        #: run amplifies any difference: the same seed must give the same run). Only a run in
        #: the window, which never waits for the compile, moves to it once it is ready.
        self.numpy_reason: str | None = "chosen"
        #: Counts the runs (resets) of this trainer, so observers can tell a new run began.
        self.run_number = -1
        self._new_run()

    # ------------------------------------------------------------------ state

    def _new_run(self):
        self.numpy_reason = self._choose_engine()
        self.history = RunHistory(self.net.meter.columns(), self.history_capacity)
        self.epoch = 0
        self.batch = 0
        self._pos = 0
        self._order = self.net.shuffle_rng.permutation(len(self.X))
        self._epoch_sums = [0.0, 0.0, 0]
        self.failure: dict | None = None
        self._start_checkpoints()
        self.run_number += 1
        self._seconds = 0.0  # trained this run, up to the last stop of the clock
        self._clock_since = None  # when the clock started, while training runs

    def training_time(self) -> float:
        """Seconds spent training in this run (wall clock while steps run: fit, play, step),
        not counting the time it stood still."""
        running = time.monotonic() - self._clock_since if self._clock_since is not None else 0.0
        return self._seconds + running

    def _clock(self, running: bool):
        if running and self._clock_since is None:
            self._clock_since = time.monotonic()
        elif not running and self._clock_since is not None:
            self._seconds += time.monotonic() - self._clock_since
            self._clock_since = None

    @property
    def position(self) -> int:
        """How many training samples of the current epoch have been used."""
        return self._pos

    @property
    def step_count(self) -> int:
        """Steps (optimizer updates) made in this run."""
        return self.net.steps

    def _checkpoint(self):
        return {
            "net": self.net.checkpoint(),
            "epoch": self.epoch,
            "batch": self.batch,
            "pos": self._pos,
            "order": self._order.copy(),
            "sums": list(self._epoch_sums),
            "events": len(self.history.events),
        }

    def progress(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Where training stands beyond the weights and the epoch, so that a saved run goes on
        exactly as if never interrupted: (facts for JSON, arrays). The facts: the batch and the
        position in the epoch, the optimizer's iterations and the random generators' states;
        the arrays: the epoch's shuffled order and sums so far, the optimizer's slots and when
        each ReLU unit was last active."""
        net = self.net
        meta = {
            "batch": self.batch,
            "position": self._pos,
            "iterations": net.optimizer.iterations,
            "rng": {
                "shuffle": net.shuffle_rng.bit_generator.state,
                "dropout": net.dropout_rng.bit_generator.state,
            },
        }
        arrays = {
            "order": self._order.copy(),
            "epoch_sums": np.array(self._epoch_sums, np.float64),
            **{f"slot/{k}": v.copy() for k, v in net.optimizer.slots.items()},
            **{
                f"active/{layer.name}": a.copy()
                for layer, a in zip(net.relu_layers, net.meter.last_active)
            },
        }
        return meta, arrays

    def resume(self, meta: dict, arrays: dict):
        """Go on from a progress() of a trainer of the same network, data and settings.
        Raises TrainingError, changing nothing, if it does not fit."""
        net = self.net
        try:
            order, n = np.asarray(arrays["order"]), len(self.X)
            # The shape first: an order of 84 million empty rows (found by fuzzing) took all
            # the memory when its rows were made into lists.
            if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
                raise ValueError("the shuffled order is not one of the training examples")
            position = int(meta["position"])
            if not 0 <= position <= n:
                raise ValueError(f"position {position} is outside the epoch")
            sums = np.asarray(arrays["epoch_sums"], np.float64)
            if sums.shape != (3,):
                raise ValueError("the epoch's sums must be three numbers")
            slots = {k[5:]: np.asarray(v) for k, v in arrays.items() if k.startswith("slot/")}
            for key, slot in slots.items():
                if slot.shape != net.flat_params.shape:
                    raise ValueError(f"optimizer slot {key!r} does not fit the network")
            active = [np.asarray(arrays[f"active/{x.name}"]) for x in net.relu_layers]
            if [a.shape for a in active] != [a.shape for a in net.meter.last_active]:
                raise ValueError("the dead-unit record does not fit the network")
            shuffle = np.random.default_rng()
            shuffle.bit_generator.state = meta["rng"]["shuffle"]
            dropout = np.random.default_rng()
            dropout.bit_generator.state = meta["rng"]["dropout"]
            iterations, batch = int(meta["iterations"]), int(meta["batch"])
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise TrainingError(f"the saved training progress does not fit: {exc}") from None
        self._order, self._pos, self.batch = order.astype(np.intp), position, batch
        self._epoch_sums = [float(sums[0]), float(sums[1]), int(sums[2])]
        net.optimizer.slots = {k: v.astype(net.dtype) for k, v in slots.items()}
        net.optimizer.iterations = iterations
        net.shuffle_rng.bit_generator.state = shuffle.bit_generator.state
        net.dropout_rng.bit_generator.state = dropout.bit_generator.state
        for record, saved in zip(net.meter.last_active, active):
            record[...] = saved
        self._start_checkpoints()

    def continue_history(self, history: RunHistory):
        """Record into `history` (a saved run's, of this network) from now on, so that its
        curves go on where they stopped. A history of other measurements is left alone."""
        if history.steps.columns == self.history.steps.columns:
            step = self.net.steps
            if len(history.steps.steps) and history.steps.steps[-1] > step:
                # Saved at its last good state after breaking down later: the curves go
                # back to it, as a rollback's do.
                history.steps.truncate(step - 1)
                history.epochs.truncate(step)
                history.events.append((step, "rolled back"))
            self.history = history
            self._start_checkpoints()

    def probe_activity(self):
        """Weights without a record of which units were active (an older file): run the
        training data through once and count every unit it activates as active now, so that
        only units dead on every example are called dead."""
        net = self.net
        with np.errstate(**QUIET):
            for start in range(0, len(self.X), 4096):
                net.forward(self.X[start : start + 4096], training=False)
                for layer, last_active in zip(net.relu_layers, net.meter.last_active):
                    last_active[layer.A.max(axis=0) > 0] = net.steps - 1

    def reset(self, seed: int | None = None):
        """Start a new run from the initial weights the seed draws: the same ones again (a
        fair comparison after changing a setting), or those of a new `seed`."""
        self.net.initialize(seed)
        self._new_run()

    def _rollback_target(self) -> int:
        """Which checkpoint a rollback goes to: the latest, unless training already went
        back there and broke down again before the next one: then the one before."""
        last = len(self._checkpoints) - 1
        return last - 1 if last > 0 and self._rolled_back_to is self._checkpoints[-1] else last

    @property
    def rollback_step(self) -> int:
        """The step rollback() would go back to."""
        return self._checkpoints[self._rollback_target()]["net"]["steps"]

    def _restore(self, cp):
        """The weights, optimizer and place in the epoch of checkpoint `cp`."""
        self.net.restore(cp["net"])
        self.epoch, self.batch, self._pos = cp["epoch"], cp["batch"], cp["pos"]
        self._order = cp["order"].copy()
        self._epoch_sums = list(cp["sums"])

    @contextlib.contextmanager
    def at_last_good_state(self):
        """Inside, the trainer stands where a rollback would take it (the history left as it
        is): what a project saved after training broke down keeps, so that it reopens at a
        state that trains. After, everything is as it was. Yields the step."""
        now = self._checkpoint()
        self._restore(self._checkpoints[self._rollback_target()])
        try:
            yield self.net.steps
        finally:
            self._restore(now)

    def rollback(self) -> int:
        """Return to the last checkpoint taken before training failed, or to the one before
        it if training broke down again after going back there; returns the step it went
        back to."""
        del self._checkpoints[self._rollback_target() + 1 :]
        cp = self._rolled_back_to = self._checkpoints[-1]
        self._restore(cp)
        step = self.net.steps
        self.history.steps.truncate(step - 1)
        self.history.epochs.truncate(step)
        del self.history.events[cp["events"] :]
        self.history.events.append((step, "rolled back"))
        self.failure = None
        return step

    # ------------------------------------------------------------------ hyperparameters

    def _check_batch_size(self, value):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not (1 <= value <= len(self.X))
        ):
            raise TrainingError(
                f"batch_size must be a whole number from 1 to {len(self.X)} "
                f"(the training set size); got {value!r}"
            )
        return int(value)

    def hyperparameters(self) -> dict:
        opt = self.net.optimizer
        regs = [layer.kernel_regularizer for layer in self.net.kernel_layers]
        kind, rate = "none", 0.0
        for reg in regs:
            if isinstance(reg, L2):
                kind, rate = "l2", reg.l2
            elif isinstance(reg, L1):
                kind, rate = "l1", reg.l1
        drop = [layer.rate for layer in self.net.layers if isinstance(layer, Dropout)]
        return {
            "learning_rate": opt.learning_rate,
            "momentum": getattr(opt, "momentum", None),
            "nesterov": getattr(opt, "nesterov", None),
            "regularization": kind,
            "regularization_rate": rate,
            "dropout": drop[0] if drop else None,
            "batch_size": self.batch_size,
            "global_clipnorm": opt.global_clipnorm,
        }

    def set_weight(self, layer: str, row: int | None, column: int, value: float):
        """Set one entry of a layer's kernel (row None: the bias of unit `column`), leaving a
        marker in the history."""
        found = [x for x in self.net.kernel_layers if x.name == layer]
        if not found:
            raise TrainingError(f"there is no layer {layer!r} with a kernel")
        if row is None:
            bias = found[0].params.get("bias")
            if bias is None or not 0 <= column < len(bias):
                raise TrainingError(f"{layer} has no bias [{column}]")
        kernel = found[0].params["kernel"]
        if row is not None and not (0 <= row < kernel.shape[0] and 0 <= column < kernel.shape[1]):
            raise TrainingError(f"{layer} has no weight [{row}, {column}]")
        if not (
            isinstance(value, (int, float)) and math.isfinite(value) and abs(value) <= MAX_WEIGHT
        ):
            raise TrainingError(
                f"a weight must be a finite number up to {MAX_WEIGHT:g} in size; got {value!r}"
            )
        if row is None:
            bias[column] = value
            self.history.events.append((self.net.steps, f"{layer} bias [{column}] = {value:g}"))
            return
        kernel[row, column] = value
        self.history.events.append(
            (self.net.steps, f"{layer} weight [{row}, {column}] = {value:g}")
        )

    def set_hyperparameters(self, **changes) -> list[str]:
        """Apply new settings at once (between steps), leaving a marker in the history.
        Returns a description of each change; raises TrainingError and changes nothing if any
        value is bad."""
        check_setting_names(changes)
        opt = self.net.optimizer
        current = self.hyperparameters()
        new = {**current, **changes}
        # Validate everything first, so a bad value changes nothing.
        try:
            type(opt)(learning_rate=new["learning_rate"])
            if "momentum" in changes and current["momentum"] is None:
                raise TrainingError(f"the {opt.name} optimizer has no momentum setting")
            if new["global_clipnorm"] is not None:
                type(opt)(learning_rate=1.0, global_clipnorm=new["global_clipnorm"])
            if new["momentum"] is not None:
                type(opt)(learning_rate=1.0, momentum=new["momentum"])
            if "nesterov" in changes and current["nesterov"] is None:
                raise TrainingError(f"the {opt.name} optimizer has no Nesterov setting")
            if new["nesterov"] is not None:
                type(opt)(learning_rate=1.0, nesterov=new["nesterov"])
            if new["regularization"] not in REGULARIZATIONS:
                raise TrainingError(
                    f"regularization must be one of "
                    f"{', '.join(REGULARIZATIONS)}; got {new['regularization']!r}"
                )
            if new["regularization"] != "none":
                (L1 if new["regularization"] == "l1" else L2)(new["regularization_rate"])
            if "dropout" in changes:
                if current["dropout"] is None:
                    raise TrainingError("the network has no Dropout layer to change")
                Dropout(new["dropout"])
            batch_size = self._check_batch_size(new["batch_size"])
        except (ValueError, TypeError) as exc:
            raise TrainingError(str(exc)) from None
        opt.learning_rate = new["learning_rate"]
        opt.global_clipnorm = new["global_clipnorm"]
        if new["momentum"] is not None:
            opt.momentum = new["momentum"]
        if new["nesterov"] is not None:
            opt.nesterov = new["nesterov"]
        if "regularization" in changes or "regularization_rate" in changes:
            reg = None
            if new["regularization"] == "l1":
                reg = L1(new["regularization_rate"])
            elif new["regularization"] == "l2":
                reg = L2(new["regularization_rate"])
            self.net.set_kernel_regularizer(reg)
        if new["dropout"] is not None:
            for layer in self.net.layers:
                if isinstance(layer, Dropout):
                    layer.rate = float(new["dropout"])
        self.batch_size = batch_size
        described = [
            f"{key} {current[key]} → {new[key]}" for key in changes if new[key] != current[key]
        ]
        if described:
            self.history.events.append((self.net.steps, ", ".join(described)))
        return described

    # ------------------------------------------------------------------ engines

    def why_numpy(self) -> str | None:
        """Why this run trains on the NumPy engine (None: it trains compiled)."""
        return self.numpy_reason

    def _choose_engine(self) -> str | None:
        """The engine of a run about to start: why NumPy, or None for compiled. "auto"
        waits for the compile only where compiled.waiting() (not in the window)."""
        if self.engine_choice == "numpy":
            return "chosen"
        missing = compiled.available()
        if missing is not None:
            return missing
        reason = compiled.unsupported(self.net)
        if reason is not None:
            return reason
        if self.engine_choice == "auto":
            if compiled.work_per_layer(self.net, self.batch_size) > compiled.WORK_PER_LAYER:
                return "a network this size trains faster on NumPy's BLAS"
        wait = compiled.waiting() or self.engine_choice == "compiled"
        dtype = self.net.dtype
        if not (compiled.warm_up(dtype, wait=True) if wait else compiled.ready(dtype)):
            return compiled.available() or COMPILING
        return None

    @property
    def engine(self) -> str:
        """The engine this run trains on: "compiled" or "numpy"."""
        return "numpy" if self.numpy_reason is not None else "compiled"

    def set_engine(self, engine: str):
        """Train on `engine` ("auto", "numpy", "compiled") from the next run on."""
        if engine not in ENGINES:
            raise TrainingError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
        self.engine_choice = engine

    def _compiled_steps(self):
        """The compiled step for the network as it is now, or None to step on NumPy."""
        if self.why_numpy() is not None:
            return None
        net = self.net
        key = compiled.signature(net)
        if self._compiled_for != key:
            self._compiled, self._compiled_for = compiled.CompiledSteps(net), key
        return self._compiled

    def run_steps(self, most: int, epochs: int = 1, stop_below: float | None = None) -> int:
        """Up to `most` steps at once, their logs recorded after them: one call into the
        compiled engine when it is in use, which goes on through at most `epochs` epoch ends
        (and, given `stop_below`, not past an epoch whose test loss is below it), else a
        loop of NumPy steps, which stops at the epoch's end and at the next checkpoint.
        Returns the steps made."""
        if self.failure is not None:
            raise TrainingError(
                f"training stopped: {self.failure['message']}; roll back or reset first"
            )
        if self.numpy_reason == COMPILING and compiled.ready(self.net.dtype):
            # Only in the window, which never waits: the run moves to the engine now ready.
            self.numpy_reason = self._choose_engine()
        if not all(c.chunkable for c in self.callbacks.callbacks):
            most = 1
        net = self.net
        steps = self._compiled_steps()
        if steps is None:
            left_in_epoch = -(-(len(self._order) - self._pos) // self.batch_size)
            to_checkpoint = CHECKPOINT_EVERY - net.steps % CHECKPOINT_EVERY
            return self._numpy_steps(max(1, min(most, left_in_epoch, to_checkpoint)))
        started = time.perf_counter()
        with np.errstate(**QUIET):
            chunk = steps.run(
                self.X,
                self.Y,
                self._order,
                self._pos,
                self.batch_size,
                max(1, most),
                test=(self.X_test, self.Y_test),
                max_ends=max(1, epochs),
                stop_below=-math.inf if stop_below is None else stop_below,
                sums=self._epoch_sums,
                every=CHECKPOINT_EVERY,
                keep=KEEP_CHECKPOINTS,
            )
        if chunk.done:
            # Chunks are sized by the kernel's pace and the Python around it apart: paced by
            # their sum, the first chunk (4 steps and 0.1 ms of Python) made the next one half
            # its size (fit(40) of 2-4-2-1 took three chunks, now two).
            self._seconds_per_step = chunk.seconds / chunk.done
            self._chunk_overhead = time.perf_counter() - started - chunk.seconds
            self._book_chunk(chunk)
        if chunk.failed is not None:  # NumPy says where it broke down, as it always has
            return chunk.done + self._numpy_steps(1)
        return chunk.done

    def _book_chunk(self, chunk):
        """Book a chunk of compiled steps as the NumPy engine books its steps one by one:
        the rows and the epochs that ended (logs from the kernel) into the history, each a
        block at once; the callbacks (on_epoch_end for each epoch, on_train_batch_end once,
        after the chunk's last step, before the end of the epoch it closes), the place in
        the epoch, the checkpoints. (Booked an epoch at a time, the 14 epochs of a chunk of
        lesson 2 took 0.07 ms, a third of it telling callbacks that do nothing then.)"""
        net = self.net
        done, first = chunk.done, net.steps - chunk.done
        self.history.steps.extend(np.arange(first, net.steps), chunk.rows())
        logs = self.last_logs = chunk.logs(done - 1)
        start = (self.epoch, self.batch, self._pos, self._order)
        bounds = chunk.epoch_ends.tolist()
        if bounds:
            self.history.epochs.extend(first + chunk.epoch_ends, chunk.epochs)
            self._pos, self._order = 0, chunk.orders[-1]
        told = self.callbacks.listening("on_epoch_end")
        at = 0
        for end, values in zip(bounds, chunk.epochs):
            if end == done:
                self.callbacks.on_train_batch_end(self.batch + end - at - 1, logs)
            if told:
                self.callbacks.on_epoch_end(self.epoch, dict(zip(EPOCH_COLUMNS, values.tolist())))
            self.epoch += 1
            self.batch = 0
            at = end
        if at < done:
            self._pos = min(self._pos + (done - at) * self.batch_size, len(self._order))
            self.callbacks.on_train_batch_end(self.batch + done - at - 1, logs)
            self.batch += done - at
        self._epoch_sums = [chunk.sums[0], chunk.sums[1], int(chunk.sums[2])]
        for cp in chunk.checkpoints:
            ended = sum(1 for end in bounds if end <= cp["at"])
            epoch, batch, pos, order = start
            if ended:
                since = cp["at"] - bounds[ended - 1]
                batch, pos, order = since, since * self.batch_size, chunk.orders[ended - 1]
            else:
                batch, pos = batch + cp["at"], pos + cp["at"] * self.batch_size
            self._keep_checkpoint(
                {
                    "net": {
                        "params": cp["params"],
                        "state": self._compiled.split_state(cp["state"]),
                        "slots": cp["slots"],
                        "iterations": net.optimizer.iterations - done + cp["at"],
                        "steps": first + cp["at"],
                    },
                    "epoch": epoch + ended,
                    "batch": batch,
                    "pos": pos,
                    "order": order.copy(),
                    "sums": [cp["sums"][0], cp["sums"][1], int(cp["sums"][2])],
                    "events": len(self.history.events),
                }
            )

    def _numpy_steps(self, n: int) -> int:
        """Up to n steps on the NumPy engine, fewer if one fails. Returns the steps made."""
        net = self.net
        started = time.perf_counter()
        values, losses, accuracies, logs, used = [], [], [], None, 0
        with np.errstate(**QUIET):
            for _ in range(n):
                at = self._pos + used
                idx = self._order[at : at + self.batch_size]
                step_logs = net.train_step(self.X[idx], self.Y[idx])
                if "non_finite" in step_logs:
                    break
                logs, used = step_logs, used + len(idx)
                losses.append(logs["loss"])
                accuracies.append(logs.get("accuracy", math.nan))
                if "grad_norms" in logs:  # measured (the meter can be off)
                    values.append(net.meter.row(logs))
        done = len(losses)
        if done:
            self._seconds_per_step = (time.perf_counter() - started) / done
            self._chunk_overhead = 0.0
            self._book(done, np.array(values), used, losses, accuracies, logs)
        if "non_finite" in step_logs:
            self.last_logs = step_logs
            self.failure = step_logs["non_finite"]
            self.history.events.append(
                (self.failure["step"], "stopped: " + self.failure["message"])
            )
            self.callbacks.on_train_batch_end(self.batch, step_logs)
            return done + 1
        return done

    def chunk_size(self) -> int:
        """How many steps fit in CHUNK_SECONDS (or up to the deadline, less the Python
        around a chunk), by the last chunk's pace."""
        if self._seconds_per_step <= 0:
            return 1
        seconds = CHUNK_SECONDS
        if self.deadline is not None and self.engine == "compiled":
            left = self.deadline() - time.monotonic() - self._chunk_overhead
            if left > seconds:
                seconds = min(left, LONGEST_CHUNK_SECONDS)
        return max(1, int(seconds / self._seconds_per_step))

    # ------------------------------------------------------------------ training

    def step(self) -> dict:
        """One optimizer step on the next mini-batch, on this run's engine. Returns the
        step's logs."""
        self.run_steps(1)
        return self.last_logs

    def _book(self, steps, values, rows, losses, accuracies, logs):
        """Book `steps` steps just made on `rows` training examples: their measurements
        (values, one row a step, if measured) into the history at once, then _advance."""
        first = self.net.steps - steps
        if len(values):
            self.history.steps.extend(np.arange(first, self.net.steps), values)
        self.last_logs = logs
        self._advance(self.net.steps - 1, rows, steps, losses, accuracies, logs)

    def _advance(self, last, rows, steps, losses, accuracies, logs):
        """Book `steps` steps made, the last one `last`, on `rows` training examples: the
        epoch's sums (added one by one, as always), the callbacks (with the last step's
        logs), the place in the epoch; the epoch's end and the checkpoints when they come."""
        self._pos += rows
        sums = self._epoch_sums
        sums[0] = sum(losses, sums[0])
        sums[1] = sum(accuracies, sums[1])
        sums[2] += steps
        self.callbacks.on_train_batch_end(self.batch + steps - 1, logs)
        self.batch += steps
        if self._pos >= len(self.X):
            self._end_epoch()
        if (last + 1) % CHECKPOINT_EVERY == 0 and self._finite():
            self._keep_checkpoint(self._checkpoint())

    def _keep_checkpoint(self, checkpoint):
        """Keep a new checkpoint: the first of the run, the newest few, this one."""
        first, *recent = self._checkpoints
        keep = KEEP_CHECKPOINTS if self.net.count_params() <= BIG_NETWORK else 2
        recent = recent[max(len(recent) - (keep - 2), 0) :]  # room for the new one
        self._checkpoints = [first, *recent, checkpoint]

    def _start_checkpoints(self):
        """Checkpoints start again here (a new run, a resumed one, a history continued)."""
        self._checkpoints = [self._checkpoint()]
        self._rolled_back_to = None

    def _finite(self) -> bool:
        """The weights and the batch-norm statistics are finite: a state to come back to."""
        net = self.net
        return bool(np.all(np.isfinite(net.flat_params))) and all(
            np.all(np.isfinite(v)) for v in net.state().values()
        )

    def _end_epoch(self):
        net = self.net
        total, acc, n = self._epoch_sums
        train = self.evaluate(self.X, self.Y)
        test = self.evaluate(self.X_test, self.Y_test)
        values = [
            total / n,
            acc / n,
            train["loss"],
            train.get("accuracy", math.nan),
            test["loss"],
            test.get("accuracy", math.nan),
        ]
        self._close_epoch(net.steps, values, net.shuffle_rng.permutation(len(self.X)))

    def _close_epoch(self, step, values, order):
        """The epoch ended at `step` with these logs (EPOCH_COLUMNS); the next one takes
        `order`."""
        logs = dict(zip(EPOCH_COLUMNS, values))
        self.history.epochs.append(step, values)
        self.callbacks.on_epoch_end(self.epoch, logs)
        self.epoch += 1
        self.batch = 0
        self._pos = 0
        self._order = order
        self._epoch_sums = [0.0, 0.0, 0]

    def evaluate(self, X=None, Y=None) -> dict:
        """Loss (and accuracy) in inference mode; the test set unless given."""
        if X is None:
            X, Y = self.X_test, self.Y_test
        steps = self._compiled_steps()
        with np.errstate(**QUIET):
            return self.net.evaluate(X, Y) if steps is None else steps.evaluate(X, Y)

    def run_epoch(self) -> dict | None:
        """Train to the end of the current epoch; returns the last step's logs."""
        logs, epoch = None, self.epoch
        while self.epoch == epoch and self.failure is None and not self.net.stop_training:
            logs = self.step()
        return logs

    def fit(self, epochs=None, steps=None) -> RunHistory:
        """Train for a number of epochs or steps (whichever comes first), or until a callback
        sets net.stop_training, or until training fails."""
        if epochs is None and steps is None:
            raise TrainingError("give epochs or steps")
        end_epoch = None if epochs is None else self.epoch + epochs
        end_step = None if steps is None else self.net.steps + steps
        self.net.stop_training = False
        self.callbacks.on_train_begin({})
        self._clock(True)
        while self.failure is None and not self.net.stop_training:
            if end_epoch is not None and self.epoch >= end_epoch:
                break
            if end_step is not None and self.net.steps >= end_step:
                break
            left = math.inf if end_step is None else end_step - self.net.steps
            epochs = ALL_EPOCHS if end_epoch is None else end_epoch - self.epoch
            self.run_steps(int(min(left, max(self.chunk_size(), 1) * 4)), epochs)
        self._clock(False)
        self.callbacks.on_train_end({})
        return self.history

    def _epochs_allowed(self, controls, epoch_target, playing) -> tuple[int, float | None]:
        """How many epoch ends a chunk may pass, and the test loss it must stop below (or
        None), so that it stops where the controls would have stopped it: the epoch asked
        for, the lesson's pause, the user's stop condition."""
        epochs, below = ALL_EPOCHS, None
        targets = [epoch_target, controls.pause_at_epoch]
        condition = controls.stop_condition
        if playing:
            targets.append(condition.epoch)
            if condition.test_loss is not None and not condition.loss_met:
                below = condition.test_loss
        for target in targets:
            if target is not None and target > self.epoch:
                epochs = min(epochs, target - self.epoch)
        return epochs, below

    def serve(self, controls: TrainerControls, on_idle=None):
        """The worker thread's loop: obey the controls until asked to stop, one chunk of
        steps (a few milliseconds; one step when asked for steps or slowed down) per
        iteration so that pause and stop take effect within a frame.

        `on_idle()` is called each time training comes to rest (paused, a requested step
        done, a reset, a failure), so the caller can publish the final state."""
        working = False
        batches, epoch_target = 0, None
        last_yield = time.monotonic()
        seen = steady = None
        while True:
            if steady is None or controls.version != seen:
                seen = controls.version  # read first: a request made during take() is not lost
                c = controls.take()
                steady = Commands(stop=c.stop, playing=c.playing)
            else:
                c = steady  # nothing new: play on without the lock
            if c.stop:
                return
            changed = c.reset or c.rollback or bool(c.changes) or bool(c.weights)
            if c.reset:
                self.reset(c.reset_seed)
                controls.stop_condition.loss_met = False  # a new run may stop again
                batches, epoch_target = 0, None
            if c.rollback and self.failure is not None:
                self.rollback()
            if c.changes:
                try:
                    self.set_hyperparameters(**c.changes)
                except TrainingError as exc:
                    self.history.events.append((self.net.steps, f"not applied: {exc}"))
            for edit in c.weights:
                try:
                    self.set_weight(*edit)
                except TrainingError as exc:
                    self.history.events.append((self.net.steps, f"not applied: {exc}"))
            batches += c.batches
            if c.epochs:
                epoch_target = (self.epoch if epoch_target is None else epoch_target) + c.epochs
            if epoch_target is not None and self.epoch >= epoch_target:
                epoch_target = None
            if self.failure is None and (c.playing or batches or epoch_target is not None):
                most = 1  # one step when asked for steps, or slowed down
                if not c.playing and batches and epoch_target is None:
                    batches -= 1
                elif not controls.delay:
                    most = self.chunk_size()  # as many as fit in a few ms
                self._clock(True)
                epoch = self.epoch
                self.run_steps(most, *self._epochs_allowed(controls, epoch_target, c.playing))
                working = True
                stop = (
                    controls.stop_condition.reached(
                        self.epoch, self.history.epochs.last()["test_loss"]
                    )
                    if self.epoch != epoch and c.playing and self.failure is None
                    else None
                )
                if self.failure is not None:
                    controls.pause()
                    batches, epoch_target = 0, None
                elif controls.pause_at_epoch is not None and self.epoch >= controls.pause_at_epoch:
                    controls.pause_at(None)  # once: Play goes on from here
                    controls.pause()
                    self.history.events.append(
                        (self.net.steps, f"paused at epoch {self.epoch}, as the lesson asks")
                    )
                    batches, epoch_target = 0, None
                elif stop is not None:
                    controls.pause()
                    self.history.events.append((self.net.steps, stop))
                    batches, epoch_target = 0, None
                elif c.playing and controls.delay:
                    controls.wait(controls.delay)
                elif self.engine == "numpy" and time.monotonic() - last_yield >= YIELD_EVERY:
                    time.sleep(YIELD_FOR)  # (compiled chunks leave the GIL as they run)
                    last_yield = time.monotonic()
                continue
            batches, epoch_target = 0, None
            self._clock(False)
            if working or changed:
                working = False
                if on_idle:
                    on_idle()
            controls.rest(0.5)
