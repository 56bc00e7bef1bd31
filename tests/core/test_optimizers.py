"""Each optimizer's update against Keras 3's formulas written out by hand."""

import math

import numpy as np
import pytest

from bpstudio.core import SGD, Adam, RMSprop, registry
from bpstudio.core.optimizers import FLUSH_EVERY


def run(opt, grads):
    W = {"w": np.array([1.0, -2.0, 0.5])}
    for g in grads:
        opt.apply(W, {"w": np.asarray(g, float)})
    return W["w"]


GRADS = [[0.1, -0.3, 2.0], [0.2, 0.1, -1.0], [-0.5, 0.4, 0.3]]


def test_sgd_plain_momentum_nesterov():
    w = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(run(SGD(0.1), GRADS), w - 0.1 * np.sum(GRADS, axis=0))
    for nesterov in (False, True):
        m, ref = np.zeros(3), w.copy()
        for g in np.asarray(GRADS):
            m = -0.1 * g + 0.9 * m
            ref = ref + (-0.1 * g + 0.9 * m if nesterov else m)
        np.testing.assert_allclose(run(SGD(0.1, momentum=0.9, nesterov=nesterov), GRADS), ref)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop(centered, momentum):
    ref = np.array([1.0, -2.0, 0.5])
    vel, avg, mom = np.zeros(3), np.zeros(3), np.zeros(3)
    for g in np.asarray(GRADS):
        vel = 0.9 * vel + 0.1 * g * g
        den = vel + 1e-7
        if centered:
            avg = 0.9 * avg + 0.1 * g
            den = den - avg * avg
        inc = 0.01 * g / np.sqrt(den)
        if momentum:
            mom = momentum * mom + inc
            ref = ref - mom
        else:
            ref = ref - inc
    got = run(RMSprop(0.01, momentum=momentum, centered=centered), GRADS)
    np.testing.assert_allclose(got, ref)


def test_adam():
    ref = np.array([1.0, -2.0, 0.5])
    m, v = np.zeros(3), np.zeros(3)
    for t, g in enumerate(np.asarray(GRADS), start=1):
        alpha = 0.01 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        m += (g - m) * 0.1
        v += (g * g - v) * 0.001
        ref = ref - alpha * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(run(Adam(0.01), GRADS), ref)


@pytest.mark.parametrize("cls", [SGD, RMSprop, Adam])
def test_global_clipnorm_scales_all_gradients_together(cls):
    big = {"a": np.array([30.0, 40.0]), "b": np.array([0.0])}  # global norm 50
    clipped = {"a": big["a"] / 50, "b": big["b"]}
    W1 = {"a": np.zeros(2), "b": np.zeros(1)}
    W2 = {"a": np.zeros(2), "b": np.zeros(1)}
    cls(0.1, global_clipnorm=1.0).apply(W1, big)
    cls(0.1).apply(W2, clipped)
    np.testing.assert_allclose(W1["a"], W2["a"])


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "fast"])
def test_bad_learning_rate_names_the_argument(bad):
    with pytest.raises((ValueError, TypeError), match="learning_rate"):
        SGD(learning_rate=bad)


def test_config_round_trip():
    for opt in (
        SGD(0.2, momentum=0.5, nesterov=True, global_clipnorm=2.0),
        RMSprop(0.01),
        Adam(0.003, beta_1=0.8),
    ):
        assert registry.get("optimizer", opt.get_config()).get_config() == opt.get_config()
    with pytest.raises(ValueError, match="optimizer must be one of"):
        registry.get("optimizer", {"name": "lbfgs"})


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(0.1, momentum=0.9),
        lambda: RMSprop(0.01, momentum=0.5, centered=True),
        lambda: Adam(0.01),
    ],
    ids=["sgd", "rmsprop", "adam"],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_state_stuck_among_the_subnormal_numbers_is_flushed_every_flush_every_steps(make, dtype):
    opt = make()
    # A parameter whose gradient is always 0 (a dead unit's): its momentum shrinks by a factor
    # each step, but among the subnormal numbers x * 0.9 rounds back to x, and there it stays.
    tiny = np.finfo(dtype).tiny
    g = np.array([0.0, 0.0, 0.5], dtype)
    opt.compute_update(g)
    for slot in opt.slots.values():
        slot[:2] = [tiny / 2**20, 1e10 * tiny]  # subnormal; normal, however small
    while opt.iterations < FLUSH_EVERY - 1:
        opt.compute_update(g)
    stuck = [slot[0] for slot in opt.slots.values() if slot[0] != 0]
    assert stuck and all(0 < abs(v) < tiny for v in stuck)  # still there after 98 steps
    before = {kind: slot.copy() for kind, slot in opt.slots.items()}
    opt.compute_update(g)  # the FLUSH_EVERY-th step starts with the flush
    for kind, slot in opt.slots.items():
        assert slot[0] == 0
        if before[kind][1] != 0:  # a normal number is left alone (and decays as ever)
            assert 0 < abs(slot[1]) <= abs(before[kind][1])
        assert slot.dtype == np.dtype(dtype)
