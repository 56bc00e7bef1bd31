"""What a network will cost before it is built: its parameters, the memory training it takes
and about how long one step lasts, so that the editor asks before making a huge one (typing
100,000 units into lesson 1 once took a minute and 5.9 GB for a single step)."""

from __future__ import annotations

from dataclasses import dataclass

#: Floating-point operations a second a NumPy training step of a big network manages, rounded
#: down: measured on this 2-core machine (float64, median of 7 steps) 3.1e10 for
#: 784-512-512-10 at batch 64, 1.45e10 for 64-3000-3000-10 at batch 10, 3.2e10 for
#: 784-2000-2000-10 at batch 32. (Small networks are slower per operation, but never huge.)
FLOPS = 1e10
#: Copies of the weights training keeps: the weights and their gradients, the run's first and
#: latest rollback checkpoints, the final weights of the run, a copy being saved.
WEIGHT_COPIES = 7
SLOTS = {"sgd": 1, "rmsprop": 2, "adam": 2}  # the optimizer's own arrays, at most
#: Numbers kept per unit and example while a batch trains (Z, A and their gradients).
PER_UNIT = 4
#: Above either, the editor asks before building the network.
ASK_BYTES = 2**30
ASK_SECONDS = 1.0


@dataclass(frozen=True)
class Cost:
    parameters: int
    memory: int  # bytes, about
    seconds_per_step: float  # about, on a small machine

    @property
    def huge(self) -> bool:
        return self.memory > ASK_BYTES or self.seconds_per_step > ASK_SECONDS

    def describe(self) -> str:
        return (
            f"{self.parameters:,} parameters: about {_size(self.memory)} of memory and "
            f"{_duration(self.seconds_per_step)} a training step"
        )


def estimate(layers: list[dict], input_dim: int, batch_size: int, optimizer="sgd", dtype="float64"):
    """The Cost of training a network of these layer configs on `input_dim` inputs."""
    width, parameters, multiply_adds, units, state = int(input_dim), 0, 0, 0, 0
    for config in layers:
        kind = config.get("class")
        if kind == "Dense":
            out = int(config.get("units", 1))
            parameters += width * out + (out if config.get("use_bias", True) else 0)
            multiply_adds += width * out
            width = out
        elif kind == "BatchNormalization":
            parameters += 2 * width  # gamma and beta
            state += 2 * width  # the running mean and variance
        units += width
    size = 4 if dtype == "float32" else 8
    copies = WEIGHT_COPIES + SLOTS.get(str(optimizer).lower(), 2)
    memory = (parameters * copies + state * 3 + PER_UNIT * max(batch_size, 1) * units) * size
    # Forward 2, backward 4 operations per multiply-add and example; the measurements (norms,
    # update ratios) read every weight a few times more.
    flops = 6 * multiply_adds * max(batch_size, 1) + 10 * parameters
    return Cost(parameters, memory, flops / FLOPS)


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _duration(seconds: float) -> str:
    if seconds < 0.001:
        return "under a millisecond"
    if seconds < 1:
        return f"{seconds * 1000:,.0f} ms"
    return f"{seconds:,.1f} s"
