"""Weight initializers, named and parametrised as in Keras 3.

Each initializer is called as `init(shape, rng, dtype)` with shape (fan_in, fan_out) for a
kernel or (units,) for a bias, and draws from the generator it is given so that a network's
seed fixes every initial weight.
"""

from __future__ import annotations

import math

import numpy as np

from bpstudio.core import registry
from bpstudio.core._checks import choice, number

# Truncating a unit normal at +-2 sigma leaves a standard deviation of 0.8796...; dividing by it
# makes the *truncated* distribution have the standard deviation asked for (as Keras does).
_TRUNCATED_STD = 0.87962566103423978


def _truncated_normal(rng, shape, stddev, dtype):
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return (out * stddev).astype(dtype, copy=False)


def _fans(shape):
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


class Initializer:
    name = ""

    def __call__(self, shape, rng, dtype):
        raise NotImplementedError

    def get_config(self):
        return self.name


class Zeros(Initializer):
    name = "zeros"

    def __call__(self, shape, rng, dtype):
        return np.zeros(shape, dtype=dtype)


class Ones(Initializer):
    name = "ones"

    def __call__(self, shape, rng, dtype):
        return np.ones(shape, dtype=dtype)


class Constant(Initializer):
    """Every value `value` (TensorFlow Playground starts every bias at 0.1)."""

    name = "constant"

    def __init__(self, value=0.0):
        self.value = number("value", value)

    def __call__(self, shape, rng, dtype):
        return np.full(shape, self.value, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "value": self.value}


class RandomNormal(Initializer):
    name = "random_normal"

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean = number("mean", mean)
        self.stddev = number("stddev", stddev, low=0.0)

    def __call__(self, shape, rng, dtype):
        return rng.normal(self.mean, self.stddev, shape).astype(dtype, copy=False)

    def get_config(self):
        return {"name": self.name, "mean": self.mean, "stddev": self.stddev}


class RandomUniform(Initializer):
    name = "random_uniform"

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval = number("minval", minval)
        self.maxval = number("maxval", maxval)
        if self.maxval < self.minval:
            raise ValueError(f"maxval must be >= minval; got {minval} and {maxval}")

    def __call__(self, shape, rng, dtype):
        return rng.uniform(self.minval, self.maxval, shape).astype(dtype, copy=False)

    def get_config(self):
        return {"name": self.name, "minval": self.minval, "maxval": self.maxval}


class VarianceScaling(Initializer):
    """Draws with variance scale / n, n being fan_in, fan_out or their mean."""

    name = "variance_scaling"

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        self.scale = number("scale", scale, low=0.0, low_open=True)
        self.mode = choice("mode", mode, ("fan_in", "fan_out", "fan_avg"))
        self.distribution = choice(
            "distribution", distribution, ("truncated_normal", "untruncated_normal", "uniform")
        )

    def __call__(self, shape, rng, dtype):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return _truncated_normal(rng, shape, math.sqrt(variance) / _TRUNCATED_STD, dtype)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(variance), shape).astype(dtype, copy=False)
        limit = math.sqrt(3.0 * variance)
        return rng.uniform(-limit, limit, shape).astype(dtype, copy=False)

    def get_config(self):
        return {
            "name": self.name,
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
        }


def _named_scaling(name, scale, mode, distribution):
    class Named(VarianceScaling):
        def __init__(self):
            super().__init__(scale, mode, distribution)

        def get_config(self):
            return name

    Named.name = name
    Named.__name__ = Named.__qualname__ = "".join(p.title() for p in name.split("_"))
    return Named


GlorotNormal = _named_scaling("glorot_normal", 1.0, "fan_avg", "truncated_normal")
GlorotUniform = _named_scaling("glorot_uniform", 1.0, "fan_avg", "uniform")
HeNormal = _named_scaling("he_normal", 2.0, "fan_in", "truncated_normal")
HeUniform = _named_scaling("he_uniform", 2.0, "fan_in", "uniform")
LecunNormal = _named_scaling("lecun_normal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _named_scaling("lecun_uniform", 1.0, "fan_in", "uniform")

registry.add(
    "initializer",
    Initializer,
    (
        Zeros,
        Ones,
        Constant,
        RandomNormal,
        RandomUniform,
        VarianceScaling,
        GlorotNormal,
        GlorotUniform,
        HeNormal,
        HeUniform,
        LecunNormal,
        LecunUniform,
    ),
)
#: Every name it may be given by, in order.
NAMES = registry.names("initializer")
