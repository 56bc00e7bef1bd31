"""Optimizers with Keras 3's update rules and argument names.

The network keeps all its parameters in one flat array (each layer's kernel and bias are views
into it), so an optimizer works on flat arrays: `compute_update(g)` returns the step to add to
the parameters for the gradient g, and keeps its own state (momentum, moments) beside it.
"""

from __future__ import annotations

import math

import numpy as np

from bpstudio.core import registry
from bpstudio.core._checks import number

#: Every FLUSH_EVERY-th step starts by setting the optimizer's subnormal state values (below
#: the dtype's smallest normal number) to zero. A parameter whose gradient is always 0 (a
#: dead unit's) has its momentum or moment shrink step by step into the subnormal numbers,
#: where x * 0.9 rounds back to x: it stayed there for good, and arithmetic on subnormal
#: numbers is many times slower. Lesson 5 trained at half its speed after 8,000 steps (both
#: engines, measured); hardware that flushes them (FTZ) does the same as this, every step.
FLUSH_EVERY = 100


class Optimizer:
    name = ""

    def __init__(self, learning_rate, global_clipnorm=None):
        self.learning_rate = learning_rate
        self.global_clipnorm = global_clipnorm
        self.iterations = 0
        self.slots: dict[str, np.ndarray] = {}

    # Validated on every assignment, since the trainer changes these while training runs.
    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = number("learning_rate", value, low=0.0, low_open=True)

    @property
    def global_clipnorm(self):
        return self._global_clipnorm

    @global_clipnorm.setter
    def global_clipnorm(self, value):
        self._global_clipnorm = (
            None if value is None else number("global_clipnorm", value, low=0.0, low_open=True)
        )

    def slot(self, kind, like):
        """The state array `kind` (momentum, moments), made as zeros like `like` if needed."""
        slot = self.slots.get(kind)
        if slot is None or slot.shape != like.shape:
            slot = self.slots[kind] = np.zeros_like(like)
        return slot

    def compute_update(self, g, grad_norm=None):
        """The step to add to the flat parameters for the flat gradient g. grad_norm: the norm
        of g, if the caller knows it (saves a pass for clipping)."""
        if self.global_clipnorm is not None:
            total = math.sqrt(float(g @ g)) if grad_norm is None else grad_norm
            if total > self.global_clipnorm:
                g = g * (self.global_clipnorm / total)
        self.iterations += 1
        if self.iterations % FLUSH_EVERY == 0:
            self.flush_subnormal()
        return self._update(g)

    def flush_subnormal(self):
        """Set every subnormal value of the state (momentum, moments) to zero."""
        for slot in self.slots.values():
            np.copyto(slot, 0, where=np.abs(slot) < np.finfo(slot.dtype).tiny)

    def apply(self, params: dict, grads: dict) -> None:
        """Update a dict of arrays in place (for use outside a network)."""
        keys = list(params)
        flat = np.concatenate([np.ravel(grads[k]) for k in keys])
        update = self.compute_update(flat)
        offset = 0
        for k in keys:
            size = params[k].size
            params[k] += update[offset : offset + size].reshape(params[k].shape)
            offset += size

    def _update(self, g):
        raise NotImplementedError

    def reset(self):
        """Forget momentum and step counts (used when the network is re-initialised)."""
        self.iterations = 0
        self.slots.clear()

    def get_config(self) -> dict:
        config = {"name": self.name, "learning_rate": self.learning_rate}
        if self.global_clipnorm is not None:
            config["global_clipnorm"] = self.global_clipnorm
        return config


class SGD(Optimizer):
    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, global_clipnorm=None):
        super().__init__(learning_rate, global_clipnorm)
        self.momentum = momentum
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov must be True or False; got {nesterov!r}")
        self.nesterov = nesterov

    @property
    def momentum(self):
        return self._momentum

    @momentum.setter
    def momentum(self, value):
        self._momentum = number("momentum", value, low=0.0, high=1.0, high_open=True)

    def _update(self, g):
        step = g * -self.learning_rate
        if self.momentum == 0.0:
            return step
        v = self.slot("momentum", g)
        v *= self.momentum
        v += step
        return step + self.momentum * v if self.nesterov else v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    name = "rmsprop"

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        global_clipnorm=None,
    ):
        super().__init__(learning_rate, global_clipnorm)
        self.rho = number("rho", rho, low=0.0, high=1.0, high_open=True)
        self.momentum = number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.epsilon = number("epsilon", epsilon, low=0.0, low_open=True)
        if not isinstance(centered, bool):
            raise TypeError(f"centered must be True or False; got {centered!r}")
        self.centered = centered

    def _update(self, g):
        velocity = self.slot("velocity", g)
        velocity *= self.rho
        velocity += (1 - self.rho) * g * g
        denominator = velocity + self.epsilon
        if self.centered:
            average = self.slot("average_gradient", g)
            average *= self.rho
            average += (1 - self.rho) * g
            denominator -= average * average
        increment = self.learning_rate * g / np.sqrt(denominator)
        if self.momentum > 0:
            m = self.slot("momentum", g)
            m *= self.momentum
            m += increment
            return -m
        return -increment

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adam(Optimizer):
    name = "adam"

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, global_clipnorm=None
    ):
        super().__init__(learning_rate, global_clipnorm)
        self.beta_1 = number("beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = number("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = number("epsilon", epsilon, low=0.0, low_open=True)

    def _update(self, g):
        t = self.iterations  # already counts this step
        alpha = self.learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        m = self.slot("m", g)
        v = self.slot("v", g)
        m += (g - m) * (1 - self.beta_1)
        v += (g * g - v) * (1 - self.beta_2)
        return (-alpha) * m / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


registry.add("optimizer", Optimizer, (SGD, RMSprop, Adam))
#: Every name it may be given by, in order.
NAMES = registry.names("optimizer")
