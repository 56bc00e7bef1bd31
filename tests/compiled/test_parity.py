"""The compiled engine against the NumPy engine, the reference: on random dense networks with
every activation, loss, optimizer, regularizer, clipping and both dtypes, the weights, the
gradients, the optimizer state and every logged measurement agree to 1e-12 (float64), and
the dead-unit records are identical."""

import copy

import numpy as np
import pytest

from bpstudio.compiled import engine
from bpstudio.core import Dense, Sequential, registry
from bpstudio.core.model import QUIET

pytestmark = pytest.mark.skipif(
    not engine.warm_up("float64", wait=True), reason="the compiled engine is not here"
)

HIDDEN = ["linear", "relu", "leaky_relu", "elu", "tanh", "sigmoid",
          {"name": "leaky_relu", "negative_slope": 0.2}, {"name": "elu", "alpha": 0.5}]  # fmt: skip
OPTIMIZERS = [
    {"name": "sgd", "learning_rate": 0.1},
    {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
    {"name": "sgd", "learning_rate": 0.05, "momentum": 0.8, "nesterov": True},
    {"name": "sgd", "learning_rate": 0.5, "global_clipnorm": 0.3},
    {"name": "rmsprop", "learning_rate": 0.01},
    {"name": "rmsprop", "learning_rate": 0.01, "momentum": 0.5, "centered": True},
    {"name": "adam", "learning_rate": 0.01},
    {"name": "adam", "learning_rate": 0.02, "global_clipnorm": 1.0},
]
LOSSES = {"mse": ("tanh", 2), "binary_crossentropy": ("sigmoid", 1),
          "categorical_crossentropy": ("softmax", 3)}  # fmt: skip
REGULARIZERS = [None, {"name": "l1", "l1": 0.01}, {"name": "l2", "l2": 0.02},
                {"name": "l1_l2", "l1": 0.01, "l2": 0.01}]  # fmt: skip


def random_case(seed, dtype="float64"):
    rng = np.random.default_rng(seed)
    loss = list(LOSSES)[seed % 3]
    out_act, outputs = LOSSES[loss]
    depth = int(rng.integers(1, 4))
    reg = REGULARIZERS[seed % len(REGULARIZERS)]
    layers = [
        Dense(int(rng.integers(1, 9)), activation=HIDDEN[int(rng.integers(len(HIDDEN)))],
              kernel_regularizer=reg, use_bias=bool(rng.integers(0, 4)))
        for _ in range(depth)
    ] + [Dense(outputs, activation=out_act, kernel_regularizer=reg)]  # fmt: skip
    net = Sequential(layers, input_dim=int(rng.integers(1, 5)), seed=seed, dtype=dtype,
                     dead_window=3)  # fmt: skip
    net.compile(registry.get("optimizer", OPTIMIZERS[seed % len(OPTIMIZERS)]), loss)
    n = 37
    X = rng.normal(size=(n, net.input_dim)) * 2
    if loss == "categorical_crossentropy":
        Y = rng.integers(0, outputs, n)
    elif loss == "binary_crossentropy":
        Y = rng.integers(0, 2, (n, 1))
    else:
        Y = rng.normal(size=(n, outputs))
    return net, net.prepare_inputs(X), net.prepare_targets(Y), rng.permutation(n)


def numpy_steps(net, X, Y, order, batch, steps):
    logs = []
    with np.errstate(**QUIET):
        for s in range(steps):
            idx = order[s * batch : (s + 1) * batch]
            logs.append(net.train_step(X[idx], Y[idx]))
    return logs


KEYS = ["grad_norms", "weight_norms", "update_ratios", "activation_mean", "activation_std",
        "saturation", "dead_fraction", "dead_fraction_batch"]  # fmt: skip


@pytest.mark.parametrize("seed", range(48))
def test_random_networks_train_the_same_on_both_engines(seed):
    net, X, Y, order = random_case(seed)
    twin = copy.deepcopy(net)
    batch, steps = 5, 8  # the last batch is short: 37 rows
    expected = numpy_steps(net, X, Y, order, batch, steps)
    chunk = engine.CompiledSteps(twin).run(X, Y, order, 0, batch, steps)
    assert chunk.done == steps and chunk.failed is None
    classification = net.loss.classification
    for s, want in enumerate(expected):
        got = chunk.logs(s, classification)
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-12, abs=1e-300)
        if classification:
            assert got["accuracy"] == want["accuracy"]
        for key in KEYS:
            # A mean of activations of size ~1 that cancels to 3e-6 is compared to 1e-12 of
            # the activations' size, not of itself: no summation order gets it closer.
            atol = 1e-14 if key == "activation_mean" else 1e-300
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=atol, err_msg=key)
    np.testing.assert_allclose(twin.flat_params, net.flat_params, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(twin.flat_grads, net.flat_grads, rtol=1e-12, atol=1e-15)
    for kind, slot in net.optimizer.slots.items():
        np.testing.assert_allclose(twin.optimizer.slots[kind], slot, rtol=1e-12, atol=1e-15)
    assert twin.optimizer.iterations == net.optimizer.iterations and twin.steps == net.steps
    for a, b in zip(twin.meter.last_active, net.meter.last_active):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(twin.dead_units(), net.dead_units()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(24))
def test_evaluation_agrees(seed):
    net, X, Y, order = random_case(seed)
    numpy_steps(net, X, Y, order, 5, 3)  # trained a little
    want = net.evaluate(X, Y)
    got = engine.CompiledSteps(net).evaluate(X, Y)
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-12)
    assert got.get("accuracy") == want.get("accuracy")
