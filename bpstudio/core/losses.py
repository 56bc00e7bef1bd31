"""Losses, each the mean over the batch, with their gradients.

`value(A, Y)` and `gradient(A, Y)` work on the network's output A: (batch, outputs).
When the output layer's activation matches the loss (softmax with categorical crossentropy,
sigmoid with binary crossentropy) the network uses `value_from_logits(Z, A, Y)` instead,
which is numerically stable (log-sum-exp) and has the simple gradient (A - Y) / batch.
"""

from __future__ import annotations

import numpy as np

from bpstudio.core import registry

_EPSILON = 1e-7  # Keras' fuzz factor for probabilities that are not logits.
_ROWS: dict[int, np.ndarray] = {}


def _rows(n):
    """np.arange(n), cached: batches repeat their size on every step."""
    rows = _ROWS.get(n)
    if rows is None:
        rows = _ROWS[n] = np.arange(n)
    return rows


class Loss:
    name = ""
    #: The output activation whose logits this loss can take directly.
    fused_activation: str | None = None
    classification = False

    def prepare_targets(self, Y, outputs: int):
        """Targets as the loss wants them, with a clear error when they cannot fit."""
        Y = np.asarray(Y)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if Y.ndim != 2 or Y.shape[1] != outputs:
            raise ValueError(
                f"targets must have shape (batch, {outputs}) for a network with {outputs} "
                f"outputs; got {np.asarray(Y).shape}"
            )
        if Y.dtype.kind not in "biuf":
            raise ValueError(f"targets must be numbers; got {Y.dtype} values")
        if Y.size and not np.all(np.isfinite(Y)):
            raise ValueError("targets must be finite numbers (no NaN or infinity)")
        return Y

    def get_config(self):
        return self.name


class MeanSquaredError(Loss):
    name = "mse"

    def value(self, A, Y):
        D = A - Y
        return float(np.vdot(D, D)) / D.size

    def gradient(self, A, Y):
        return (2.0 / A.size) * (A - Y)

    def accuracy(self, A, Y):
        return None


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"
    fused_activation = "sigmoid"
    classification = True

    def value(self, A, Y):
        P = np.clip(A, _EPSILON, 1 - _EPSILON)
        return float(-np.mean(Y * np.log(P) + (1 - Y) * np.log(1 - P)))

    def prepare_targets(self, Y, outputs: int):
        """Labels 0 and 1 (or probabilities between them), one column per output."""
        Y = super().prepare_targets(Y, outputs)
        if Y.size and (Y.min() < 0 or Y.max() > 1):
            raise ValueError(
                f"binary_crossentropy targets must lie between 0 and 1 (class labels 0 and "
                f"1); got values from {Y.min():g} to {Y.max():g}"
            )
        return Y

    def gradient(self, A, Y):
        P = np.clip(A, _EPSILON, 1 - _EPSILON)
        inside = (A > _EPSILON) & (A < 1 - _EPSILON)  # the clip has no slope outside
        return inside * (P - Y) / (P * (1 - P)) / A.size

    def value_from_logits(self, Z, A, Y, normalizer=None):
        # max(z, 0) - z*y + log(1 + exp(-|z|)) is log(1 + exp(z)) - z*y without overflow.
        loss = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
        return float(loss.mean()), (A - Y) / A.size

    def accuracy(self, A, Y):
        return float(np.mean((A > 0.5) == (Y > 0.5)))


class CategoricalCrossentropy(Loss):
    name = "categorical_crossentropy"
    fused_activation = "softmax"
    classification = True

    def prepare_targets(self, Y, outputs: int):
        """Class indices (batch,) stay indices; one-hot rows (batch, classes) stay one-hot."""
        Y = np.asarray(Y)
        if Y.ndim == 1 or (Y.ndim == 2 and Y.shape[1] == 1 and outputs > 1):
            idx = Y.reshape(-1)
            if idx.size and not np.issubdtype(idx.dtype, np.integer):
                if not np.all(np.mod(idx, 1) == 0):
                    raise ValueError("class-index targets must be whole numbers")
                idx = idx.astype(np.intp)
            if idx.size and (idx.min() < 0 or idx.max() >= outputs):
                raise ValueError(
                    f"class-index targets must lie in 0..{outputs - 1}; "
                    f"got values from {idx.min()} to {idx.max()}"
                )
            return idx.astype(np.intp, copy=False)
        return super().prepare_targets(Y, outputs)

    @staticmethod
    def _true_columns(Y, A):
        if Y.ndim == 1:
            onehot = np.zeros_like(A)
            onehot[_rows(len(Y)), Y] = 1
            return onehot
        return Y

    def value(self, A, Y):
        P = np.clip(A, _EPSILON, 1 - _EPSILON)
        if Y.ndim == 1:
            return float(-np.mean(np.log(P[_rows(len(Y)), Y])))
        return float(-np.mean(np.sum(Y * np.log(P), axis=1)))

    def gradient(self, A, Y):
        P = np.clip(A, _EPSILON, 1 - _EPSILON)
        inside = (A > _EPSILON) & (A < 1 - _EPSILON)
        return -(inside * self._true_columns(Y, A)) / P / len(A)

    def value_from_logits(self, Z, A, Y, normalizer=None):
        """normalizer: (shift, total) from the softmax that made A, saving a second exp."""
        if normalizer is None:
            shift = Z.max(axis=1, keepdims=True)
            normalizer = shift, np.exp(Z - shift).sum(axis=1, keepdims=True)
        shift, total = normalizer
        lse = (shift + np.log(total)).ravel()
        n = len(Z)
        if Y.ndim == 1:
            rows = _rows(n)
            loss = float(np.mean(lse - Z[rows, Y]))
            dZ = A.copy()
            dZ[rows, Y] -= 1
        else:
            loss = float(np.mean(lse * Y.sum(axis=1) - (Y * Z).sum(axis=1)))
            dZ = A * Y.sum(axis=1, keepdims=True) - Y
        dZ /= n
        return loss, dZ

    def accuracy(self, A, Y):
        labels = Y if Y.ndim == 1 else Y.argmax(axis=1)
        return np.count_nonzero(A.argmax(axis=1) == labels) / len(A)


registry.add("loss", Loss, (MeanSquaredError, BinaryCrossentropy, CategoricalCrossentropy))
#: Every name it may be given by, in order.
NAMES = registry.names("loss")
