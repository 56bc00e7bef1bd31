"""The compiled engine: the fused step of kernels.py driven for a `Sequential`, sharing its
flat parameters, gradients, optimizer state and dead-unit record, so that the NumPy engine
and this one can take turns on the same network.

`unsupported(net)` says why a network must train on the NumPy engine (None: it need not);
`CompiledSteps(net).run(...)` trains many mini-batches in one call and returns their logs in
the form `Sequential.train_step` gives them. numba is imported only when a kernel is first
needed: `available()` says whether it can be.
"""

from __future__ import annotations

import importlib.util
import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from bpstudio.core.optimizers import FLUSH_EVERY

#: The compiled step is chosen while a step's multiply-adds per layer stay below this:
#: beyond, NumPy's BLAS wins. Measured (benchmarks/compiled.py --crossover, two runs):
#: compiled/NumPy 14-16x at 491 per layer (2-8x6-1, batch 10), 3.8-4.2x at 3,733,
#: 1.15-1.86x at 14,000-16,640, 0.99-1.03x at 33,280 (64-32-1, batch 32), 0.57-0.69x at
#: 66,560 (float32 alike: 1.14-1.75x, 1.05x, 0.55x). In the window the compiled engine
#: also leaves the GIL to the drawing: lesson 5 (2-64-64-1, 14,293) trained 1,180-1,420
#: epochs a second there against 570-670 on NumPy, headless the two alike
#: (benchmarks/gui.py).
WORK_PER_LAYER = 24_000
#: Rows pushed through at once by evaluate (its buffers are rows x widest layer per layer).
EVALUATE_ROWS = 512

LAYERS = {"Dense": 0, "Activation": 1, "Dropout": 2, "BatchNormalization": 3}
ACTIVATIONS = {"linear": 0, "relu": 1, "leaky_relu": 2, "elu": 3, "tanh": 4, "sigmoid": 5,
               "softmax": 6}  # fmt: skip
LOSSES = {"mse": 0, "binary_crossentropy": 1, "categorical_crossentropy": 2}
OPTIMIZERS = {"sgd": 0, "rmsprop": 1, "adam": 2}
REGULARIZERS = {None: 0, "l1": 1, "l2": 2, "l1_l2": 3}
#: What the kernel measures for each layer, as Sequential.train_step's logs name it, in the
#: order of the rows of its `cols` (kernels.py GRAD ... DEAD_BATCH).
LOGGED = ("grad_norms", "weight_norms", "update_ratios", "activation_mean", "activation_std",
          "saturation", "dead_fraction", "dead_fraction_batch")  # fmt: skip

_lock = threading.Lock()
_kernels = None
_missing: str | None = None
_ready: set[str] = set()  # the dtypes whose kernels are compiled (or loaded from the cache)
_warming: dict[str, threading.Thread] = {}
#: Whether a run that could use the compiled engine waits for its compile (headless: the
#: command line, tests, screenshots) or starts on NumPy meanwhile (the window: set_waiting).
_waiting = True


def set_waiting(wait: bool):
    """Let runs wait for the compile (True) or start on NumPy until it is done (False)."""
    global _waiting
    _waiting = wait


def waiting() -> bool:
    return _waiting


def available() -> str | None:
    """None if the compiled engine can run here (as far as is known without importing numba,
    a quarter of a second: that happens in the compiling thread), else why not."""
    global _missing
    if _missing is None and importlib.util.find_spec("numba") is None:
        _missing = "numba is not installed"
    return _missing


def kernels():
    """The compiled kernels module (compiled or loaded from numba's cache on first use)."""
    global _kernels
    with _lock:
        if _kernels is None:
            from bpstudio.compiled import kernels as module

            _kernels = module
    return _kernels


def work_per_layer(net, batch_size: int) -> float:
    """The multiply-adds of one training step's forward pass, per Dense layer (the layers
    that have any: a Dropout or batch-norm layer between them does not make a step cheaper)."""
    macs = sum(layer.params["kernel"].size for layer in net.kernel_layers)
    return macs * batch_size / max(len(net.kernel_layers), 1)


def ready(dtype) -> bool:
    """Whether the kernels for `dtype` are compiled and can run without waiting."""
    return np.dtype(dtype).name in _ready


def warm_up(dtype, wait=False) -> bool:
    """Compile the kernels for `dtype` (numba's cache makes it quick after the first time)
    in a background thread, once; with `wait`, until done. Returns ready(dtype)."""
    name = np.dtype(dtype).name
    if available() is not None:
        return False
    with _lock:
        thread = _warming.get(name)
        if thread is None and name not in _ready:
            thread = _warming[name] = threading.Thread(
                target=_compile, args=(name,), name=f"compile {name}", daemon=True
            )
            thread.start()
    if wait and thread is not None:
        thread.join()
    return name in _ready


def _compile(dtype: str):
    """Train a tiny network one step and evaluate it: the kernels are compiled for the
    argument types of every run (tests/compiled/test_warm_up.py: no run compiles again)."""
    from bpstudio.core import SGD, Dense, Sequential

    global _missing
    try:
        net = Sequential([Dense(2, activation="tanh"), Dense(1)], input_dim=2, dtype=dtype)
        net.compile(SGD(0.01), "mse")
        X = net.prepare_inputs(np.zeros((2, 2)))
        Y = net.prepare_targets(np.zeros((2, 1)))
        with np.errstate(all="ignore"):
            steps = CompiledSteps(net)
            steps.run(X, Y, np.arange(2), 0, 2, 1)
            steps.evaluate(X, Y)
        _ready.add(dtype)
    except Exception as exc:  # numba broken or missing a piece: say so, train on NumPy
        _missing = f"the compiled engine could not be built ({type(exc).__name__}: {exc})"


def unsupported(net) -> str | None:
    """Why `net` cannot train on the compiled engine, or None."""
    if not net.measure:
        return "the measurements are off"
    if not net.flat_params.size:
        return "a network without weights trains on NumPy"
    for layer in net.layers:
        if type(layer).__name__ not in LAYERS:
            return f"{type(layer).__name__} layers train on NumPy"
        act = layer.activation
        if act is not None and act.name not in ACTIVATIONS:
            return f"the {act.name} activation trains on NumPy"
        if _regularizer(layer) not in REGULARIZERS:
            return f"the {layer.kernel_regularizer.name} regularizer trains on NumPy"
    if net.loss.name not in LOSSES:
        return f"the {net.loss.name} loss trains on NumPy"
    if net.optimizer.name not in OPTIMIZERS:
        return f"the {net.optimizer.name} optimizer trains on NumPy"
    return None


def signature(net) -> tuple:
    """What a CompiledSteps is built from: build another when it changes."""
    return (
        id(net),
        id(net.optimizer),
        *(id(getattr(x, "kernel_regularizer", None)) for x in net.layers),
        *(getattr(x, "rate", None) for x in net.layers),
    )


def _batch_rows(n: int, start: int, batch_size: int, steps: int) -> np.ndarray:
    """The rows of each of `steps` batches from row `start` of an epoch of n rows, on
    through the epochs after it (each epoch's last batch may be short)."""
    first = n - start - batch_size * np.arange(-(-(n - start) // batch_size))
    epoch = n - batch_size * np.arange(-(-n // batch_size))
    more = max(0, -(-(steps - len(first)) // len(epoch)))
    rows = np.concatenate([first, np.tile(epoch, more)])[:steps]
    return np.minimum(rows, batch_size)


def _epoch_orders(rng, n: int, epochs: int, out=None) -> np.ndarray:
    """The orders of the next `epochs` epochs of n rows, (epochs, n), as the NumPy engine
    draws them from `rng` (a permutation(n) an epoch: the same numbers, tested by the
    engines' equal runs), in one call: a call an epoch gave the GIL away each time, and a
    chunk in the window waited up to 5 ms to get it back (62 epochs a chunk in lesson 1).
    Shuffled in place in `out` if given: 2.0 µs an epoch against 3.7 for a new array (188
    epochs of 250 rows)."""
    if out is None:
        out = np.empty((epochs, n), np.int64)
    out[...] = np.arange(n)
    return rng.permuted(out, axis=1, out=out)


def _log_table(net) -> tuple:
    """Where the kernel writes each step's logs in its table (a row a step): the loss, the
    accuracy and the history's columns first, in StepMeter.columns() order, so that the
    rows the history keeps are a view of the table (put together from an array per
    measurement they took over a quarter of a chunk's booking); then the rest of the logs,
    and anything else the kernel measures. Returns (cols: LOGGED x layers, the accuracy's
    column, how many columns are the history's, ((log key, its columns), ...), how many
    columns in all)."""
    layers = net.layers
    # The layers each measurement is about, as the network lists them: the kernel writes
    # them for the same layers (every Dense layer, every activated one, every ReLU one).
    measured = dict(
        zip(
            LOGGED,
            [net.kernel_layers] * 3
            + [net.activation_layers] * 2
            + [net.saturating_layers]
            + [net.relu_layers] * 2,
        )
    )
    cols = np.full((len(LOGGED), len(layers)), -1, np.int64)
    free = 2 if net.loss.classification else 1

    def place(key, chosen):
        nonlocal free
        for x in chosen:
            cols[LOGGED.index(key), layers.index(x)] = free
            free += 1

    for x in net.kernel_layers:
        place("grad_norms", [x])
        place("update_ratios", [x])
    for key in ("activation_mean", "activation_std", "saturation", "dead_fraction"):
        place(key, measured[key])
    history = free
    accuracy = 1 if net.loss.classification else history
    free += not net.loss.classification
    place("weight_norms", measured["weight_norms"])
    place("dead_fraction_batch", measured["dead_fraction_batch"])
    logged = tuple(
        (key, cols[r, [layers.index(x) for x in measured[key]]]) for r, key in enumerate(LOGGED)
    )
    return cols, accuracy, history, logged, free


def _regularizer(layer):
    reg = getattr(layer, "kernel_regularizer", None)
    return None if reg is None else reg.name


@dataclass
class Chunk:
    """The logs of the steps a call trained, one row per step; `failed`: the step (counted
    from the chunk's first) whose loss or gradient was not finite, else None."""

    done: int
    failed: int | None
    #: (done, columns): each step's logs, the loss first, then (classification) the
    #: accuracy, the history's columns (the first `history`), the rest where `logged` says.
    table: np.ndarray
    history: int
    logged: tuple  # ((log key, its columns in table), ...), as CompiledSteps.logged
    classification: bool
    seconds: float  # the kernel's time, without the Python around it
    #: Each epoch that ended: its logs (loss, accuracy, train loss, train accuracy, test
    #: loss, test accuracy), the steps done at its end, and the order of the epoch after it.
    epochs: np.ndarray
    epoch_ends: np.ndarray
    orders: list
    #: The epoch's loss and accuracy sums and steps at the end of the chunk.
    sums: list
    #: Checkpoints taken, oldest first: {"at": steps done, "params", "slots" (by name),
    #: "state" (flat), "sums"}; the newest `keep` of them.
    checkpoints: list

    def rows(self) -> np.ndarray:
        """Every step's measurements as history rows, in StepMeter.columns() order: loss,
        accuracy, (grad norm, update ratio) per kernel layer, activation means, stds,
        saturations, dead fractions (a view)."""
        return self.table[:, : self.history]

    def logs(self, s: int) -> dict:
        """Step s's logs as Sequential.train_step gives them (without dead_units)."""
        row = self.table[s]
        logs = {"loss": float(row[0])}
        if self.classification:
            logs["accuracy"] = float(row[1])
        for key, columns in self.logged:
            logs[key] = row[columns].tolist()
        return logs


class CompiledSteps:
    """The compiled step for one network (build another when its signature() changes)."""

    def __init__(self, net):
        reason = unsupported(net)
        if reason is not None:
            raise ValueError(reason)
        self.net = net
        layers = net.layers
        spans = net.parameter_spans
        dtype = net.dtype

        def start(layer, key):
            span = spans.get(f"{layer.name}/{key}")
            return -1 if span is None else span[0]

        first, second = ("kernel", "bias"), ("gamma", "beta")
        keys = [second if type(x).__name__ == "BatchNormalization" else first for x in layers]
        self.kind = np.array([LAYERS[type(x).__name__] for x in layers], np.int64)
        self.at_a = np.array([start(x, k[0]) for x, k in zip(layers, keys)], np.int64)
        self.at_b = np.array([start(x, k[1]) for x, k in zip(layers, keys)], np.int64)
        self.fan_in = np.array([x.input_dim for x in layers], np.int64)
        self.fan_out = np.array([x.output_dim for x in layers], np.int64)
        acts = [x.activation for x in layers]
        self.act = np.array([-1 if a is None else ACTIVATIONS[a.name] for a in acts], np.int64)
        self.act_arg = np.array(
            [getattr(a, "negative_slope", getattr(a, "alpha", 0.0)) for a in acts], np.float64
        )
        # Dropout: the rate as the network's dtype compares it, and the survivors' scale;
        # BatchNormalization: momentum and epsilon.
        self.layer_a = np.zeros(len(layers))
        self.layer_b = np.zeros(len(layers))
        for i, x in enumerate(layers):
            if hasattr(x, "rate"):
                self.layer_a[i] = dtype.type(x.rate)
                self.layer_b[i] = dtype.type(1.0 / (1.0 - x.rate)) if x.rate < 1 else 0.0
            elif hasattr(x, "momentum"):
                self.layer_a[i], self.layer_b[i] = x.momentum, x.epsilon
        self.dropped = [x for x in layers if 0.0 < getattr(x, "rate", 0.0) < 1.0]
        self.normalized = [x for x in layers if "moving_mean" in x.state]
        self.state_at = np.full(len(layers), -1, np.int64)
        for i, x in enumerate(self.normalized):
            self.state_at[layers.index(x)] = 2 * sum(y.output_dim for y in self.normalized[:i])
        regs = [getattr(x, "kernel_regularizer", None) for x in layers]
        self.reg = np.array([REGULARIZERS[_regularizer(x)] for x in layers], np.int64)
        self.reg_l1 = np.array([getattr(r, "l1", 0.0) for r in regs], np.float64)
        self.reg_l2 = np.array([getattr(r, "l2", 0.0) for r in regs], np.float64)
        self.loss_code = LOSSES[net.loss.name]
        self.relu_of = np.full(len(layers), -1, np.int64)
        for i, layer in enumerate(net.relu_layers):
            self.relu_of[layers.index(layer)] = i
        self.cols, self.acc_col, self.history, self.logged, self.logs_width = _log_table(net)
        self.width = int(max(self.fan_out.max(), net.input_dim))
        self._evaluating: dict[int, tuple] = {}  # evaluate's working arrays by rows

    def _layers(self) -> tuple:
        """The layer arguments every kernel takes, in their order."""
        return (
            self.kind, self.at_a, self.at_b, self.fan_in, self.fan_out, self.act,
            self.act_arg, self.layer_a, self.layer_b, self.state_at, self.reg, self.reg_l1,
            self.reg_l2,
        )  # fmt: skip

    def _state(self) -> np.ndarray:
        """The batch-norm running statistics, flat: each layer's mean, then its variance."""
        parts = [x.state[k] for x in self.normalized for k in ("moving_mean", "moving_variance")]
        return np.concatenate(parts) if parts else np.zeros(1, self.net.dtype)

    def _targets(self, Y) -> tuple:
        """Y as the kernels take it: (floats, class indices, whether indices)."""
        if Y.ndim == 1:
            indices = np.ascontiguousarray(Y, np.int64)
            return np.zeros((1, 1), self.net.dtype), indices, True
        return np.ascontiguousarray(Y), np.zeros(1, np.int64), False

    def evaluate(self, X, Y) -> dict:
        """{"loss", "accuracy" (classification)} of all of X in inference mode, as
        Sequential.evaluate gives them."""
        net = self.net
        X = np.ascontiguousarray(X)
        Yf, Yi, indices = self._targets(Y)
        loss, accuracy = kernels().evaluate(
            X, Yf, Yi, net.flat_params, self._state(), *self._layers(), self.loss_code,
            net.fused, indices, *self._evaluating_work(len(X)),
        )  # fmt: skip
        result = {"loss": float(loss)}
        if net.loss.classification and len(X):
            result["accuracy"] = float(accuracy)
        return result

    def _evaluating_work(self, rows: int) -> tuple:
        """evaluate's working arrays for sets of up to `rows` rows (kept: the same two sets
        are evaluated every epoch): the row order, Zs, As, stats."""
        work = self._evaluating.get(rows)
        if work is None:
            block, n = max(1, min(rows, EVALUATE_ROWS)), len(self.net.layers)
            dtype = self.net.dtype
            work = self._evaluating[rows] = (
                np.arange(rows, dtype=np.int64),
                np.zeros((n, block * self.width), dtype),
                np.zeros((n + 1, block * self.width), dtype),
                np.zeros((n, 3, self.width)),
            )
        return work

    def run(
        self,
        X,
        Y,
        order,
        start: int,
        batch_size: int,
        steps: int,
        test=None,
        max_ends: int = 1,
        stop_below: float = -math.inf,
        sums=(0.0, 0.0, 0),
        every: int = 1 << 62,
        keep: int = 5,
    ) -> Chunk:
        """Train `steps` mini-batches from row `start` of `order` (X and Y as prepare_inputs
        and prepare_targets give them), on through at most `max_ends` epoch ends, as the
        trainer does: each epoch end evaluates X, Y and test = (X_test, Y_test) and draws
        the next epoch's order from the network's shuffle generator; it stops after an epoch
        whose test loss is below `stop_below`. sums: the epoch's loss and accuracy sums and
        steps so far. Every `every` steps (counted from the network's first) a checkpoint of
        finite weights, the newest `keep` kept."""
        net, opt = self.net, self.net.optimizer
        dtype = net.dtype
        n = len(order)
        first_left = -(-(n - start) // batch_size)
        per_epoch = -(-n // batch_size)
        steps = max(0, min(steps, first_left + (max(max_ends, 1) - 1) * per_epoch))
        ends = 0 if steps < first_left else 1 + (steps - first_left) // per_epoch
        ends = min(ends, max(max_ends, 1))
        X = np.ascontiguousarray(X)
        Yf, Yi, indices = self._targets(Y)
        X_test, Y_test = test if test is not None else (X[:0], Y[:0])
        X_test = np.ascontiguousarray(X_test)
        Yf_test, Yi_test, _ = self._targets(Y_test)
        code = OPTIMIZERS[opt.name]
        grads = net.flat_grads
        empty = np.zeros(0, dtype)
        a = b = c = 0.0
        flag = False
        names = [None, None, None]  # the optimizer's slots passed as slot1..3
        if code == 0:
            a, flag = opt.momentum, opt.nesterov
            if opt.momentum:
                names[0] = "momentum"
        elif code == 1:
            a, b, c, flag = opt.rho, opt.momentum, opt.epsilon, opt.centered
            names[0] = "velocity"
            if opt.centered:
                names[1] = "average_gradient"
            if opt.momentum > 0:
                names[2] = "momentum"
        else:
            a, b, c = opt.beta_1, opt.beta_2, opt.epsilon
            names[:2] = "m", "v"
        slots = [empty if name is None else opt.slot(name, grads) for name in names]
        relu_units = [len(x) for x in net.meter.last_active]
        last_active = np.full((max(len(relu_units), 1), max(relu_units, default=1)), -1, np.int64)
        for i, record in enumerate(net.meter.last_active):
            last_active[i, : len(record)] = record
        # What the NumPy engine draws from the network's generators, drawn here ahead in its
        # order so that both draw alike: the next epochs' orders (one at each epoch end) and
        # the dropout masks' uniform numbers (each step, each Dropout layer, batch x units).
        shuffle_rng, dropout_rng = net.shuffle_rng, net.dropout_rng
        shuffled = shuffle_rng.bit_generator.state if ends else None
        orders = np.empty((ends + 1, n), np.int64)
        orders[0] = order
        _epoch_orders(shuffle_rng, n, ends, out=orders[1:])
        per_row = sum(x.input_dim for x in self.dropped)
        rows = None
        if per_row:
            rows = _batch_rows(n, start, batch_size, steps)
            dropped = dropout_rng.bit_generator.state
            noise = dropout_rng.random(int(rows.sum()) * per_row, dtype=dtype)
        else:
            noise = empty
        state = self._state()
        # Each step's logs, a row a step (a fresh array: the chunk keeps a view of it).
        # Every array is contiguous, as in the warm-up's call: numba compiles anew for a
        # layout.
        table = np.zeros((max(steps, 1), self.logs_width))
        epoch_logs = np.zeros((max(ends, 1), 6))
        epoch_ends = np.zeros(max(ends, 1), np.int64)
        total = np.array([sums[0], sums[1], float(sums[2])])
        ring = self._ring(keep, len(state))
        As, Zs, stats, dbuf, dnext, update = self._buffers(batch_size)
        clip = opt.global_clipnorm or 0.0
        started = time.perf_counter()
        done, ended, saved = kernels().train_epochs(
            X, Yf, Yi, X_test, Yf_test, Yi_test, orders, start, batch_size, steps,
            max(max_ends, 1), float(stop_below), net.loss.classification, total, epoch_logs,
            epoch_ends, every, *ring, *self._evaluating_work(max(len(X), len(X_test))),
            net.flat_params, grads, state, *self._layers(), noise,
            self.loss_code, net.fused, indices, code, float(opt.learning_rate), float(a),
            float(b), float(c), bool(flag), float(clip), opt.iterations, FLUSH_EVERY,
            slots[0], slots[1], slots[2], last_active, self.relu_of, net.steps,
            net.meter.dead_window, table, self.cols, self.acc_col,
            Zs, As, stats, dbuf, dnext, update,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        failed = None
        if done < 0:
            failed = done = -(done - kernels().NON_FINITE)
        if ended < ends:  # the generators as if only what was used had been drawn
            shuffle_rng.bit_generator.state = shuffled
            _epoch_orders(shuffle_rng, n, ended)
        if per_row and done < steps:
            dropout_rng.bit_generator.state = dropped
            dropout_rng.random(int(rows[:done].sum()) * per_row, dtype=dtype)
        for i, record in enumerate(net.meter.last_active):
            record[...] = last_active[i, : len(record)]
        self._write_state(state)
        opt.iterations += done
        net.steps += done
        kept = min(saved, keep)
        checkpoints = [
            {
                "at": int(ring[3][r]),
                "params": ring[0][r].copy(),  # copies: the ring is used again
                "slots": {name: ring[1][r, j].copy() for j, name in enumerate(names) if name},
                "state": ring[2][r].copy(),
                "sums": ring[4][r].tolist(),
            }
            for r in ((saved - kept + i) % keep for i in range(kept))
        ]
        return Chunk(
            done,
            failed,
            table[:done],
            self.history,
            self.logged,
            net.loss.classification,
            seconds,
            epoch_logs[:ended],
            epoch_ends[:ended],
            list(orders[1 : ended + 1]),
            total.tolist(),
            checkpoints,
        )

    def split_state(self, flat) -> dict:
        """Flat batch-norm statistics (as _state gives them) keyed as net.state()."""
        result, at = {}, 0
        for x in self.normalized:
            for key in ("moving_mean", "moving_variance"):
                result[f"{x.name}/{key}"] = flat[at : at + x.output_dim].copy()
                at += x.output_dim
        return result

    def _write_state(self, flat):
        """Flat batch-norm statistics back into the layers."""
        if not self.normalized:
            return
        live = self.net.state()
        for key, value in self.split_state(flat).items():
            live[key][...] = value

    def _ring(self, keep: int, state: int) -> tuple:
        """The checkpoint ring the kernel writes into (kept between calls): `keep` rows of
        params, slots (3), batch-norm statistics, the step and the epoch's sums."""
        ring = getattr(self, "_checkpoints", None)
        if ring is None or len(ring[3]) != keep:
            size, dtype = len(self.net.flat_params), self.net.dtype
            ring = self._checkpoints = (
                np.zeros((keep, size), dtype),
                np.zeros((keep, 3, size), dtype),
                np.zeros((keep, state), dtype),
                np.zeros(keep, np.int64),
                np.zeros((keep, 3)),
            )
        return ring

    def _buffers(self, batch_size: int) -> tuple:
        """The kernel's working arrays for batches of `batch_size` (kept between calls):
        As (input and every layer's output), Zs, stats, dbuf, dnext, update; a layer's rows
        are packed in them (kernels.py)."""
        buffers = getattr(self, "_work", None)
        size = batch_size * self.width
        if buffers is None or buffers[0].shape[1] != size:
            dtype, n = self.net.dtype, len(self.net.layers)
            As = np.zeros((n + 1, size), dtype)
            dbuf = np.zeros(size, dtype)
            buffers = self._work = (
                As,
                np.zeros((n, size), dtype),
                np.zeros((n, 3, self.width)),
                dbuf,
                np.zeros_like(dbuf),
                np.zeros(len(self.net.flat_params), dtype),
            )
        return buffers
