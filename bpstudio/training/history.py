"""Run history with bounded memory: long runs are kept downsampled, never dropped."""

from __future__ import annotations

import numpy as np

#: The most rows a series keeps; a longer run is kept downsampled (pairs averaged).
HISTORY_ROWS = 4096


def _means(groups) -> np.ndarray:
    """(g, stride, columns) rows -> (g, columns) their means (one way for every group, so
    that rows stored one at a time and a chunk at a time give the same history)."""
    return groups.sum(axis=1) / groups.shape[1]


class Series:
    """Rows of (step, values...) under named columns. When `capacity` rows are stored, pairs of
    rows are averaged into one and from then on every `stride` new rows are averaged before
    being stored, so a run of any length takes at most `capacity` rows."""

    def __init__(self, columns, capacity=HISTORY_ROWS):
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.columns = tuple(columns)
        self.capacity = capacity
        self.stride = 1
        self._steps = np.empty(capacity, np.int64)
        self._values = np.empty((capacity, len(self.columns)))
        self._n = 0
        self._group = None  # the rows of a group being gathered (with a stride)
        self._pending_rows = 0

    def __len__(self):
        return self._n

    def append(self, step: int, values):
        if self.stride == 1 and self._n < self.capacity:  # the common case, quickly
            self._steps[self._n] = step
            self._values[self._n] = values
            self._n += 1
        elif self.stride > 1:
            self._add_pending(step, values, 1)
        else:
            self.extend(np.array([step]), np.asarray(values, float).reshape(1, -1))

    def extend(self, steps, rows):
        """Rows in order: (k,) steps and (k, columns) values. With a stride, each `stride`
        rows are stored as one, their mean under the last one's step; a group may span
        calls. A chunk's rows are averaged a block at a time, not one row a call (that cost
        6 % of lesson 2's compiled training once its history had filled)."""
        steps, rows = np.asarray(steps), np.asarray(rows, float)
        i, k = 0, len(steps)
        while i < k:
            stride = self.stride
            if self._pending_rows:  # complete the group an earlier call began
                take = min(stride - self._pending_rows, k - i)
                self._add_pending(steps[i + take - 1], rows[i : i + take], take)
                i += take
                continue
            groups = min((k - i) // stride, self.capacity - self._n)
            if groups == 0 and k - i >= stride:
                groups = 1  # the series is full: _put halves it first
            if groups == 0:
                self._add_pending(steps[k - 1], rows[i:], k - i)
                break
            end = i + groups * stride
            if stride == 1:  # a row's mean is the row: stored as it is (the sum took half)
                self._put(steps[i:end], rows[i:end])
            else:
                block = rows[i:end].reshape(groups, stride, -1)
                self._put(steps[i + stride - 1 : end : stride], _means(block))
            i = end

    def _add_pending(self, last_step, rows, count: int):
        """`count` rows (the last at `last_step`) into the group being gathered; stored as
        one once it has `stride` rows."""
        group = self._group
        if group is None or len(group) != self.stride:
            group = self._group = np.empty((self.stride, len(self.columns)))
        group[self._pending_rows : self._pending_rows + count] = rows
        self._pending_rows += count
        if self._pending_rows == self.stride:
            self._pending_rows = 0
            self._put(np.array([last_step]), _means(group[None]))

    def _put(self, steps, values):
        """Store rows as they are, halving the series first if it is full."""
        if self._n == self.capacity:
            half = self.capacity // 2
            self._steps[:half] = self._steps[1::2]
            self._values[:half] = (self._values[0::2] + self._values[1::2]) / 2
            self._n = half
            self.stride *= 2
        m = len(steps)
        self._steps[self._n : self._n + m] = steps
        self._values[self._n : self._n + m] = values
        self._n += m

    @property
    def steps(self) -> np.ndarray:
        return self._steps[: self._n]

    @property
    def values(self) -> np.ndarray:
        return self._values[: self._n]

    def column(self, name) -> np.ndarray:
        return self._values[: self._n, self.columns.index(name)]

    def last(self) -> dict | None:
        if not self._n:
            return None
        return dict(zip(self.columns, self._values[self._n - 1].tolist()))

    def truncate(self, step: int):
        """Forget every row after `step` (used by rollback)."""
        self._pending_rows = 0
        self._n = int(np.searchsorted(self._steps[: self._n], step, side="right"))

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}steps": self.steps.copy(), f"{prefix}values": self.values.copy()}

    @classmethod
    def from_arrays(cls, columns, steps, values, capacity=HISTORY_ROWS, stride=1) -> Series:
        series = cls(columns, max(capacity, 2 * ((len(steps) + 1) // 2), 2))
        n = len(steps)
        series._steps[:n] = steps
        series._values[:n] = values
        series._n = n
        series.stride = stride
        return series


def geometric_moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """The moving geometric mean of positive values over `window` points (shorter at the
    start), for drawing noisy per-step norms on a log axis; non-positive or non-finite values
    are left out of the windows they fall in (NaN where a window has none). values: (steps,)
    or (steps, series), each column averaged on its own."""
    return np.exp(_moving_log_mean(values, window, np.log))


def log_moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """log10 of geometric_moving_average(values, window), never leaving the log scale: the
    moving mean of log10 of the values (what a log axis draws; going through exp and back
    took two of the three passes of logarithms and exponentials, most of its time)."""
    return _moving_log_mean(values, window, np.log10)


def _moving_log_mean(values, window: int, log) -> np.ndarray:
    values = np.asarray(values, float)
    if not values.size:
        return values.copy()
    ok = np.isfinite(values) & (values > 0)
    logs = np.where(ok, log(np.where(ok, values, 1.0)), 0.0)
    sums, counts = _trailing_sums(logs, window), _trailing_sums(ok.astype(float), window)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _trailing_sums(x: np.ndarray, window: int) -> np.ndarray:
    """Sums along axis 0 of the last `window` values of x (fewer at the start): a cumulative
    sum less itself `window` places back, in one pass (np.convolve takes `window`
    multiply-adds a value: the gradients panel's seven curves of 4,096 steps took 0.75 ms a
    frame, 0.46 then)."""
    sums = np.cumsum(x, axis=0)
    window = max(int(window), 1)
    sums[window:] = sums[window:] - sums[:-window]
    return sums


EPOCH_COLUMNS = ("loss", "accuracy", "train_loss", "train_accuracy", "test_loss", "test_accuracy")


class RunHistory:
    """What one training run recorded: per-step measurements, per-epoch train/test metrics,
    and markers where a setting changed."""

    def __init__(self, step_cols, capacity=HISTORY_ROWS):
        self.steps = Series(step_cols, capacity)
        self.epochs = Series(EPOCH_COLUMNS, capacity)
        #: (step, description) for every change of a setting during the run.
        self.events: list[tuple[int, str]] = []
