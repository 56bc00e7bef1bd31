"""Layers. Each `forward(X, training)` caches what its `backward(dY)` needs; `backward` fills
`grads[name]` for every `params[name]` and returns dL/dX (or None when no one needs it).

Shapes: X is (batch, inputs), the output is (batch, units). Kernels are (inputs, units).
"""

from __future__ import annotations

import numpy as np

from bpstudio.core import activations, registry
from bpstudio.core._checks import integer, number

#: Largest number of units a layer may have; beyond it the app would run out of memory
#: long before it could teach anything.
MAX_UNITS = 100_000
#: The longest layer name (the project file's limit: a name is written into member names).
MAX_NAME = 100


class Layer:
    #: The name used in configs and for automatic layer names ("dense", "dense_1", ...).
    kind = ""

    def __init__(self, name: str | None = None):
        if name is not None and (
            not isinstance(name, str) or not name or "/" in name or len(name) > MAX_NAME
        ):
            shown = name if not isinstance(name, str) or len(name) <= 40 else name[:40] + "…"
            raise ValueError(
                f"name must be a non-empty string of at most {MAX_NAME} characters, "
                f"without '/'; got {shown!r}"
            )
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        #: Non-trainable arrays that training updates (BN running statistics).
        self.state: dict[str, np.ndarray] = {}
        self.activation: activations.ActivationFunction | None = None
        self.input_dim = self.output_dim = None

    def output_dim_for(self, input_dim: int) -> int:
        return input_dim

    def parameter_count_for(self, input_dim: int) -> int:
        return 0

    def build(self, input_dim: int, rng: np.random.Generator, dtype) -> int:
        self.input_dim = input_dim
        self.output_dim = self.output_dim_for(input_dim)
        return self.output_dim

    def forward(self, X, training: bool):
        raise NotImplementedError

    def backward(self, dY, *, from_logits: bool = False, need_dX: bool = True):
        raise NotImplementedError

    def penalty(self) -> float:
        return 0.0

    def commit(self):
        """Keep what the last training-mode forward pass measured (BN: the batch statistics
        into the running ones). The network calls it only for steps it accepts."""

    def get_config(self) -> dict:
        return {"class": type(self).__name__, "name": self.name}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "class")
        return f"{type(self).__name__}({args})"


class Activated(Layer):
    """Shared by layers that end in an activation: they cache the pre-activation Z and the
    activation A, which the network reads for its measurements (dead units, saturation)."""

    Z = A = None

    def _activate(self, Z):
        self.Z = Z
        self.A = self.activation.forward(Z)
        return self.A

    def pre_activation_gradient(self, dA, from_logits):
        """dL/dZ from dL/dA. With a fused loss the caller already hands over dL/dZ."""
        return dA if from_logits else self.activation.backward(dA, self.Z, self.A)


class Dense(Activated):
    """A fully connected layer: A = activation(X @ kernel + bias)."""

    kind = "dense"

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        name=None,
    ):
        super().__init__(name)
        self.units = integer("units", units, low=1, high=MAX_UNITS)
        self.activation = registry.get("activation", activation)
        if not isinstance(use_bias, bool):
            raise TypeError(f"use_bias must be True or False; got {use_bias!r}")
        self.use_bias = use_bias
        self.kernel_initializer = registry.get("initializer", kernel_initializer)
        self.bias_initializer = registry.get("initializer", bias_initializer)
        self.kernel_regularizer = registry.get("regularizer", kernel_regularizer)

    def output_dim_for(self, input_dim):
        return self.units

    def parameter_count_for(self, input_dim):
        return input_dim * self.units + (self.units if self.use_bias else 0)

    def build(self, input_dim, rng, dtype):
        super().build(input_dim, rng, dtype)
        self.params["kernel"] = self.kernel_initializer((input_dim, self.units), rng, dtype)
        self.grads["kernel"] = np.zeros((input_dim, self.units), dtype)
        if self.use_bias:
            self.params["bias"] = self.bias_initializer((self.units,), rng, dtype)
            self.grads["bias"] = np.zeros(self.units, dtype)
        return self.units

    def forward(self, X, training):
        self.X = X
        Z = X @ self.params["kernel"]
        if self.use_bias:
            Z += self.params["bias"]
        return self._activate(Z)

    def backward(self, dY, *, from_logits=False, need_dX=True):
        dZ = self.pre_activation_gradient(dY, from_logits)
        W = self.params["kernel"]
        np.matmul(self.X.T, dZ, out=self.grads["kernel"])
        if self.kernel_regularizer is not None:
            self.grads["kernel"] += self.kernel_regularizer.gradient(W)
        if self.use_bias:
            np.sum(dZ, axis=0, out=self.grads["bias"])
        return dZ @ W.T if need_dX else None

    def penalty(self):
        if self.kernel_regularizer is None:
            return 0.0
        return self.kernel_regularizer.penalty(self.params["kernel"])

    def get_config(self):
        return {
            "class": "Dense",
            "name": self.name,
            "units": self.units,
            "activation": self.activation.get_config(),
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer.get_config(),
            "bias_initializer": self.bias_initializer.get_config(),
            "kernel_regularizer": (
                None if self.kernel_regularizer is None else self.kernel_regularizer.get_config()
            ),
        }


class Activation(Activated):
    """Applies an activation function on its own: A = activation(X)."""

    kind = "activation"

    def __init__(self, activation, name=None):
        super().__init__(name)
        self.activation = registry.get("activation", activation)

    def forward(self, X, training):
        return self._activate(X)

    def backward(self, dY, *, from_logits=False, need_dX=True):
        return self.pre_activation_gradient(dY, from_logits)

    def get_config(self):
        return {
            "class": "Activation",
            "name": self.name,
            "activation": self.activation.get_config(),
        }


class Dropout(Layer):
    """Inverted dropout: in training each input is zeroed with probability `rate` and the
    survivors are scaled by 1 / (1 - rate), so inference needs no rescaling. rate=0 keeps
    everything; rate=1 drops everything (the output and its gradient are all zeros)."""

    kind = "dropout"

    def __init__(self, rate, name=None):
        super().__init__(name)
        self.rate = number("rate", rate, low=0.0, high=1.0)
        self.rng: np.random.Generator | None = None
        self.mask = None

    def forward(self, X, training):
        if not training or self.rate == 0.0:
            self.mask = None
            return X
        if self.rate == 1.0:
            self.mask = np.zeros_like(X)
        else:
            keep = self.rng.random(X.shape, dtype=X.dtype) >= self.rate
            self.mask = keep * X.dtype.type(1.0 / (1.0 - self.rate))
        return X * self.mask

    def backward(self, dY, *, from_logits=False, need_dX=True):
        return dY if self.mask is None else dY * self.mask

    def get_config(self):
        return {"class": "Dropout", "name": self.name, "rate": self.rate}


class BatchNormalization(Layer):
    """Normalises each unit over the batch, then scales by gamma and shifts by beta.

    Training uses the batch's mean and (biased) variance and updates the running statistics
    as Keras does: moving = moving * momentum + batch * (1 - momentum), when the step is
    accepted (commit(): a step rejected as non-finite leaves them as they were). Inference
    uses the running statistics."""

    kind = "batch_normalization"

    def __init__(self, momentum=0.99, epsilon=1e-3, name=None):
        super().__init__(name)
        self.momentum = number("momentum", momentum, low=0.0, high=1.0)
        self.epsilon = number("epsilon", epsilon, low=0.0, low_open=True)
        self.pending = None  # (mean, variance) of the last training batch, until commit()

    def parameter_count_for(self, input_dim):
        return 2 * input_dim

    def build(self, input_dim, rng, dtype):
        super().build(input_dim, rng, dtype)
        self.params["gamma"] = np.ones(input_dim, dtype)
        self.params["beta"] = np.zeros(input_dim, dtype)
        self.grads["gamma"] = np.zeros(input_dim, dtype)
        self.grads["beta"] = np.zeros(input_dim, dtype)
        self.state["moving_mean"] = np.zeros(input_dim, dtype)
        self.state["moving_variance"] = np.ones(input_dim, dtype)
        return input_dim

    def forward(self, X, training):
        self.training = training
        self.pending = None
        if training:
            mean = X.mean(axis=0)
            centered = X - mean
            var = np.mean(centered * centered, axis=0)
            self.pending = (mean, var)
        else:
            centered = X - self.state["moving_mean"]
            var = self.state["moving_variance"]
        self.inv_std = 1.0 / np.sqrt(var + self.epsilon)
        self.xhat = centered * self.inv_std
        return self.params["gamma"] * self.xhat + self.params["beta"]

    def commit(self):
        if self.pending is None:
            return
        mean, var = self.pending
        m = self.momentum
        self.state["moving_mean"] *= m
        self.state["moving_mean"] += (1 - m) * mean
        self.state["moving_variance"] *= m
        self.state["moving_variance"] += (1 - m) * var
        self.pending = None

    def backward(self, dY, *, from_logits=False, need_dX=True):
        xhat = self.xhat
        np.sum(dY * xhat, axis=0, out=self.grads["gamma"])
        np.sum(dY, axis=0, out=self.grads["beta"])
        if not need_dX:
            return None
        dxhat = dY * self.params["gamma"]
        if not self.training:
            return dxhat * self.inv_std
        # The batch mean and variance depend on every sample, hence the two correction terms.
        n = len(dY)
        return (self.inv_std / n) * (
            n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)
        )

    def get_config(self):
        return {
            "class": "BatchNormalization",
            "name": self.name,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
        }


registry.add("layer", Layer, (Dense, Activation, Dropout, BatchNormalization))
