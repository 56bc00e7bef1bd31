"""Immutable pictures of a training run for the studio's panels, made in the worker thread.

A snapshot holds copies (never views) of everything the panels draw, so the GUI thread can
read it while training goes on. `SnapshotThrottle` makes one per frame of the window (or after
every `interval` seconds of training), never one per step: one per step starved the GUI in a
prototype."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from bpstudio.analysis.diagnostics import Flow, activation_names, diagnose, gradient_flow_of
from bpstudio.core import Dense, meter
from bpstudio.core.callbacks import Callback
from bpstudio.core.meter import GRAD_NORM
from bpstudio.data.datasets import FEATURES, PLANE_EDGE
from bpstudio.training.history import EPOCH_COLUMNS
from bpstudio.viewmodel.names import layer_labels

#: The 2-D data sets live in [-6, 6] x [-6, 6], as in TensorFlow Playground.
DOMAIN = PLANE_EDGE
GRID = 60
UNIT_GRID = 24  # the resolution of each unit's own picture of the input plane
BLOCKS = 6  # a network too big to copy sends each kernel as at most BLOCKS x BLOCKS means
PROBE_SAMPLES = 512
HIST_BINS = 30
#: Networks with more parameters than this are drawn without their individual weights.
MAX_DRAWN_WEIGHTS = 20_000
#: While training runs, the slow parts of a snapshot (what the network outputs over the input
#: plane, each unit's own picture, the histograms, the dead-unit probe) are
#: made again at most every SLOW_EVERY seconds; the snapshots in between carry the last ones.
#: The panels that show them draw every 2-4 frames anyway, and for a 2-64-64-1 network they
#: cost 3 ms a snapshot, 6 % of the training time (measured).
SLOW_EVERY = 0.1


@dataclass(frozen=True, eq=False)
class OutputView:
    """What the network has learned, in the form that suits the data."""

    kind: str  # "boundary" (2-D data), "confusion" (classification), "scatter" (regression)
    #: The output over the input plane, row = x2: (GRID, GRID) for one output unit (two
    #: classes as 0…1, or a regression's value), (GRID, GRID, classes) probabilities for more.
    grid: np.ndarray | None = None
    points_train: np.ndarray | None = None
    points_test: np.ndarray | None = None
    labels_train: np.ndarray | None = None  # class indices, or regression targets
    labels_test: np.ndarray | None = None
    confusion: np.ndarray | None = None  # (classes, classes): rows true, columns predicted
    class_names: tuple = ()
    samples: np.ndarray | None = None  # digits: (k, 8, 8) test images
    sample_true: np.ndarray | None = None
    sample_pred: np.ndarray | None = None
    predicted: np.ndarray | None = None  # regression: predicted test values
    actual: np.ndarray | None = None
    regression: bool = False


@dataclass(frozen=True, eq=False)
class Snapshot:
    step: int
    epoch: int
    batch: int
    elapsed: float  # seconds this run has trained (not counting pauses)
    steps_per_second: float
    hyperparameters: dict
    layer_names: tuple[str, ...]
    layer_kinds: tuple[str, ...]  # class names: "Dense", "Dropout", ...
    layer_activations: tuple  # activation name per layer, None where it has none
    layer_units: tuple[int, ...]  # input features first, then each layer's output units
    step_columns: tuple[str, ...]
    step_steps: np.ndarray
    step_values: np.ndarray
    epoch_steps: np.ndarray
    epoch_values: np.ndarray
    events: tuple
    kernel_layers: tuple[str, ...]
    grad_norms: np.ndarray  # the last step's, one per kernel layer
    relu_layers: tuple[str, ...]
    inactive: tuple  # per ReLU-family layer: share of probe inputs on which each unit is <= 0
    dead: tuple  # per ReLU-family layer: units inactive over the recent window of batches
    activation_layers: tuple[str, ...]
    activation_hist: tuple  # per activation layer: (counts, edges)
    weight_hist: tuple  # per kernel layer: (counts now, counts at the start, edges)
    weights: tuple | None  # per Dense layer: (kernel, bias) copies, for small networks
    output: OutputView | None
    classification: bool
    failure: dict | None = None
    feature_names: tuple = ()
    epoch_columns: tuple = EPOCH_COLUMNS
    findings: tuple = ()  # diagnostics.Finding: what the rules see in the run so far
    flow: Flow | None = None  # how the gradient flows back, as the findings judge it
    #: For drawn networks: per Dense layer, each unit's output over the input plane
    #: (units, UNIT_GRID, UNIT_GRID) (2-D data only, else None) and the norm of each unit's
    #: kernel-gradient column on the last step.
    unit_grids: tuple | None = None
    unit_grads: tuple | None = None
    #: 2-D data: every input feature over the input plane, {name: (UNIT_GRID, UNIT_GRID)}
    #: (the same arrays in every snapshot: they never change).
    feature_grids: dict | None = None
    #: Each layer's name on screen ("Hidden 1") by its name in the network ("dense").
    labels: dict | None = None
    #: Published when training came to rest (paused, a step done): every view must show it.
    final: bool = False
    #: For networks too big to copy: per Dense layer, the kernel's mean over each of
    #: min(BLOCKS, inputs) x min(BLOCKS, units) blocks (see block_means).
    weight_blocks: tuple | None = None
    #: The engine this run trains on ("compiled" or "NumPy"), and why NumPy if it is.
    engine: str = "NumPy"
    engine_note: str = ""

    def label(self, name: str) -> str:
        """What the screen calls the layer named `name`."""
        return (self.labels or {}).get(name, name)

    def step_column(self, name) -> np.ndarray:
        return self.step_values[:, self.step_columns.index(name)]

    def epoch_column(self, name) -> np.ndarray:
        return self.epoch_values[:, self.epoch_columns.index(name)]


class SnapshotMaker:
    """Makes snapshots of one trainer. Create it in the thread that runs the trainer."""

    def __init__(self, trainer, clock=time.monotonic, timed=True):
        """clock: for the steps per second; timed=False shows no training time (pictures
        made for tutorials must not depend on the machine's speed)."""
        self.trainer = trainer
        self.clock = clock
        self.timed = timed
        ds = trainer.dataset
        rng = np.random.default_rng(0)
        # Fewer samples through a very wide network: the probe's activations stay small.
        n = min(PROBE_SAMPLES, len(trainer.X), max(32, trainer.net.chunk_rows()))
        self.probe = trainer.X[np.sort(rng.choice(len(trainer.X), n, replace=False))]
        self.grid_inputs = self.unit_grid_inputs = self.feature_grids = None
        if ds.points_train is not None:
            axis = np.linspace(-DOMAIN, DOMAIN, GRID)
            gx, gy = np.meshgrid(axis, axis)
            self.grid_inputs = ds.transform(np.column_stack([gx.ravel(), gy.ravel()]))
            axis = np.linspace(-DOMAIN, DOMAIN, UNIT_GRID)
            gx, gy = np.meshgrid(axis, axis)
            self.unit_grid_inputs = ds.transform(np.column_stack([gx.ravel(), gy.ravel()]))
            # Each feature scaled to -1…1 over the plane, as its picture is drawn.
            self.feature_grids = {}
            for name, feature in FEATURES.items():
                grid = feature(gx, gy)
                top = np.abs(grid).max()
                grid = grid / top if top > 0 else grid
                grid.setflags(write=False)
                self.feature_grids[name] = grid
        self.restart()

    def restart(self):
        """Call after a reset: the weight histograms compare with the new start, and the
        rate is measured anew."""
        self._run_number = self.trainer.run_number
        self._start_kernels = [
            layer.params["kernel"].copy() for layer in self.trainer.net.kernel_layers
        ]
        self._rate_mark = (self.clock(), self.trainer.step_count)
        self.steps_per_second = 0.0  # a new run has no speed yet
        self._activations = activation_names(self.trainer.net)
        self._slow, self._slow_at = None, -math.inf

    def _rate(self, now, steps):
        t0, s0 = self._rate_mark
        if now - t0 >= 0.5:
            self.steps_per_second = (steps - s0) / (now - t0)
            self._rate_mark = (now, steps)
        elif steps == s0 and now - t0 >= 0.25:
            self.steps_per_second = 0.0
        return self.steps_per_second

    def make(self, final=False) -> Snapshot:
        """A snapshot of the trainer now; `final` when training has come to rest."""
        t = self.trainer
        net = t.net
        if t.run_number != self._run_number:
            self.restart()
        now = self.clock()
        if final or now - self._slow_at >= SLOW_EVERY:
            self._slow, self._slow_at = self._slow_parts(), now
        slow = self._slow
        last = t.history.steps.last() or {}
        grad_norms = np.array(
            [last.get(meter.column(GRAD_NORM, layer.name), math.nan) for layer in net.kernel_layers]
        )
        dead = tuple(net.dead_units())
        flow = gradient_flow_of(t.history)
        weights = unit_grads = blocks = None
        if net.count_params() > MAX_DRAWN_WEIGHTS:
            kernels = [layer.params["kernel"] for layer in net.layers if isinstance(layer, Dense)]
            blocks = tuple(block_means(kernel) for kernel in kernels)
        else:
            dense = [layer for layer in net.layers if isinstance(layer, Dense)]
            weights = tuple(
                (
                    layer.params["kernel"].copy(),
                    layer.params["bias"].copy() if layer.use_bias else None,
                )
                for layer in dense
            )
            with np.errstate(all="ignore"):  # an exploding run's gradients overflow here
                unit_grads = tuple(
                    np.sqrt((layer.grads["kernel"] ** 2).sum(axis=0)) for layer in dense
                )
        return Snapshot(
            step=net.steps,
            epoch=t.epoch,
            batch=t.batch,
            elapsed=t.training_time() if self.timed else 0.0,
            steps_per_second=self._rate(now, net.steps),
            engine="compiled" if t.numpy_reason is None else "NumPy",
            engine_note=t.numpy_reason or "",
            hyperparameters=dict(t.hyperparameters()),
            layer_names=tuple(layer.name for layer in net.layers),
            layer_kinds=tuple(type(layer).__name__ for layer in net.layers),
            layer_activations=tuple(
                layer.activation.name if layer.activation else None for layer in net.layers
            ),
            layer_units=(net.input_dim, *(layer.output_dim for layer in net.layers)),
            step_columns=t.history.steps.columns,
            step_steps=t.history.steps.steps.copy(),
            step_values=t.history.steps.values.copy(),
            epoch_steps=t.history.epochs.steps.copy(),
            epoch_values=t.history.epochs.values.copy(),
            events=tuple(t.history.events),
            kernel_layers=tuple(layer.name for layer in net.kernel_layers),
            grad_norms=grad_norms,
            relu_layers=tuple(layer.name for layer in net.relu_layers),
            inactive=slow["inactive"],
            dead=dead,
            activation_layers=tuple(layer.name for layer in net.activation_layers),
            activation_hist=slow["activation_hist"],
            weight_hist=slow["weight_hist"],
            weights=weights,
            output=slow["output"],
            classification=net.loss.classification,
            failure=None if t.failure is None else {**t.failure, "rollback_step": t.rollback_step},
            feature_names=tuple(t.dataset.feature_names),
            # Judged on every snapshot, from the same history as the curves and dead units
            # beside them, so that no two texts on screen disagree (0.1-0.3 ms).
            findings=tuple(diagnose(t.history, self._activations, flow)),
            flow=flow,
            unit_grids=slow["unit_grids"],
            feature_grids=self.feature_grids,
            labels=self._labels(),
            unit_grads=unit_grads,
            weight_blocks=blocks,
            final=final,
        )

    def _slow_parts(self) -> dict:
        t = self.trainer
        net = t.net
        with np.errstate(all="ignore"):
            self._probe_forward()
            parts = {
                "inactive": tuple(np.mean(layer.A <= 0, axis=0) for layer in net.relu_layers),
                "activation_hist": tuple(
                    _histogram(layer.A, layer.activation.name) for layer in net.activation_layers
                ),
                "weight_hist": tuple(
                    _weight_histogram(layer.params["kernel"], start)
                    for layer, start in zip(net.kernel_layers, self._start_kernels)
                ),
                "output": self._output(),
                "unit_grids": None,
            }
            if self.grid_inputs is not None and net.count_params() <= MAX_DRAWN_WEIGHTS:
                dense = [layer for layer in net.layers if isinstance(layer, Dense)]
                net.forward(self.unit_grid_inputs, training=False)
                shape = (-1, UNIT_GRID, UNIT_GRID)
                parts["unit_grids"] = tuple(layer.A.T.reshape(shape).copy() for layer in dense)
        return parts

    def _labels(self) -> dict:
        layers = self.trainer.net.layers
        key = tuple((layer.name, type(layer).__name__) for layer in layers)
        if getattr(self, "_labels_for", None) != key:  # the network changed: name them again
            self._labels_for = key
            configs = [layer.get_config() for layer in layers]
            self._label_map = dict(zip((c["name"] for c in configs), layer_labels(configs)))
        return self._label_map

    def _probe_forward(self):
        self.trainer.net.forward(self.probe, training=False)

    def _output(self) -> OutputView | None:
        t = self.trainer
        ds, net = t.dataset, t.net
        regression = ds.task == "regression"
        confusion = None
        if ds.task == "classification":  # rows the true class, columns the answer
            true, pred = ds.class_indices(ds.y_test), ds.predicted_classes(net.predict(t.X_test))
            k = ds.n_classes
            confusion = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
        if self.grid_inputs is not None:
            out = net.predict(self.grid_inputs)
            out = out[:, 0] if out.shape[1] == 1 else out
            if ds.signed:
                out = (out + 1) / 2  # tanh's -1…1 drawn as the sigmoid's 0…1
            labels = (
                (np.asarray(ds.y_train).ravel(), np.asarray(ds.y_test).ravel())
                if regression
                else (ds.class_indices(ds.y_train), ds.class_indices(ds.y_test))
            )
            return OutputView(
                "boundary",
                grid=out.reshape(GRID, GRID, *out.shape[1:]),
                points_train=ds.points_train,
                points_test=ds.points_test,
                labels_train=labels[0],
                labels_test=labels[1],
                class_names=ds.class_names,
                regression=regression,
                confusion=confusion,
            )
        if ds.task == "classification":
            samples = None
            if ds.recipe.name == "digits":
                samples = ds.X_test[:24].reshape(-1, 8, 8)
            return OutputView(
                "confusion",
                confusion=confusion,
                class_names=ds.class_names,
                samples=samples,
                sample_true=true[:24],
                sample_pred=pred[:24],
            )
        return OutputView(
            "scatter",
            predicted=net.predict(t.X_test)[:, 0],
            actual=np.asarray(ds.y_test).ravel(),
            regression=True,
        )


def block_means(kernel: np.ndarray) -> np.ndarray:
    """The mean weight of each block when the kernel's rows and columns are split into at
    most BLOCKS nearly equal runs each."""
    rows, cols = (min(BLOCKS, n) for n in kernel.shape)
    row_starts = np.linspace(0, kernel.shape[0], rows + 1).astype(int)
    col_starts = np.linspace(0, kernel.shape[1], cols + 1).astype(int)
    with np.errstate(all="ignore"):
        sums = np.add.reduceat(kernel, row_starts[:-1], axis=0)
        sums = np.add.reduceat(sums, col_starts[:-1], axis=1)
    return sums / np.outer(np.diff(row_starts), np.diff(col_starts))


def _histogram(A, activation):
    if activation in ("tanh", "sigmoid"):
        edges = np.linspace(-1 if activation == "tanh" else 0, 1, HIST_BINS + 1)
    else:
        finite = A[np.isfinite(A)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, HIST_BINS + 1)
    counts, _ = np.histogram(np.clip(A, edges[0], edges[-1]), edges)
    return counts, edges


def _weight_histogram(W, start):
    finite = np.concatenate([W[np.isfinite(W)].ravel(), start.ravel()])
    bound = float(np.abs(finite).max()) if finite.size else 1.0
    bound = bound if bound > 0 else 1.0
    # A few weights in many bins make a comb, not a histogram.
    bins = int(np.clip(2 * np.sqrt(W.size), 6, HIST_BINS))
    edges = np.linspace(-bound, bound, bins + 1)
    now, _ = np.histogram(np.clip(W, -bound, bound), edges)
    then, _ = np.histogram(start, edges)
    return now, then, edges


class DrawGate:
    """Lets the GUI thread hold the training thread still, without the GIL, while it draws
    (why, measured: docs/architecture.md). The training thread closes the gate when it
    publishes a snapshot and waits there (at most `timeout` seconds, so a stuck GUI cannot stop
    training) until the GUI, done drawing, opens it."""

    def __init__(self, timeout=0.25):
        self.timeout = timeout
        self._open = threading.Event()
        self._open.set()
        self._suspended = False

    def suspend(self, suspended=True):
        """While suspended the gate never closes: for when the GUI thread itself waits for
        the training thread (pausing it, stopping it) and so cannot open it."""
        self._suspended = suspended
        if suspended:
            self._open.set()

    def close(self):
        if not self._suspended:
            self._open.clear()

    def open(self):
        self._open.set()

    def is_open(self) -> bool:
        return self._open.is_set()

    def pass_through(self):
        """For the training thread: wait while the gate is closed."""
        if not self._open.is_set():
            self._open.wait(self.timeout)


class SnapshotThrottle(Callback):
    """A trainer callback that hands a snapshot to `publish` after every `interval` seconds of
    training. Given a DrawGate it closes it on publishing and waits there until the GUI, done
    drawing, opens it.

    Given `frame` (seconds), it keeps to one snapshot per frame instead: the training time
    before the next snapshot is what is left of a frame once the last snapshots were made and
    drawn (smoothed), never less than `interval`. So the picture moves at the same pace on a
    fast machine and a slow one, and all the rest of the time goes to training.

    While `overlap()` is true, training does not wait for the drawing: the trainer's steps
    run without the GIL (the compiled engine), so the GUI draws while they go on. Then a
    snapshot goes out every `overlap_frame` seconds once the GUI has drawn the last one (it
    opens the gate), or after the gate's timeout if it never says so."""

    #: Weight of the newest drawing time in the smoothed one.
    SMOOTHING = 0.2
    #: Called once per chunk of compiled steps, after its last one: that is when to picture.
    chunkable = True

    def __init__(
        self,
        maker: SnapshotMaker,
        publish,
        interval=1 / 25,
        clock=time.monotonic,
        gate: DrawGate | None = None,
        frame: float | None = None,
        overlap=None,
        overlap_frame: float = 1 / 30,
    ):
        self.maker = maker
        self.overlap = overlap
        self.overlap_frame = overlap_frame
        self.publish = publish
        self.interval = interval
        self.clock = clock
        self.gate = gate
        self.frame = frame
        self.training_time = interval  # before the next snapshot
        self.drawing_time = None  # making and drawing one snapshot, smoothed
        self._last = -math.inf

    def on_train_batch_end(self, batch, logs=None):
        now = self.clock()
        if self.overlap is not None and self.overlap():
            since = now - self._last
            drawn = self.gate is None or self.gate.is_open()
            if since >= self.overlap_frame and (drawn or since >= self.gate.timeout):
                if self.gate is not None:
                    self.gate.close()  # opened by the GUI once drawn; nobody waits on it
                self.publish(self.maker.make())
                self._last = now
            return
        if now - self._last >= self.training_time:
            if self.gate is not None:
                self.gate.close()
            self.publish(self.maker.make())
            if self.gate is not None:
                self.gate.pass_through()
            # Count the training time from the end of drawing.
            self._last = self.clock()
            if self.frame is not None:
                spent, drawing = self._last - now, self.drawing_time
                drawing = spent if drawing is None else drawing + self.SMOOTHING * (spent - drawing)
                self.drawing_time = drawing
                self.training_time = max(self.interval, self.frame - drawing)

    def next_due(self) -> float:
        """When the next snapshot is due while training overlaps drawing (on the throttle's
        clock); a chunk of training may run until then."""
        return self._last + self.overlap_frame

    def flush(self):
        """Publish now (when training comes to rest)."""
        self._last = self.clock()
        self.publish(self.maker.make(final=True))
