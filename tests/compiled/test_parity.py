"""The compiled engine against the NumPy engine, the reference: on random networks of every
layer (Dense, Activation, Dropout, BatchNormalization), activation, loss (from the logits or
not, class indices or one-hot), optimizer, regularizer and clipping, the weights, the
gradients, the optimizer state, the batch-norm statistics and every logged measurement agree
to 1e-12 (float64); the dead-unit records and the dropout draws are identical."""

import copy

import numpy as np
import pytest

from bpstudio.compiled import engine
from bpstudio.core import Activation, BatchNormalization, Dense, Dropout, Sequential, registry
from bpstudio.core.model import QUIET
from bpstudio.core.optimizers import FLUSH_EVERY

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
    return compiled_case(layers, loss, rng, seed, dtype)


def compiled_case(layers, loss, rng, seed, dtype, one_hot=False):
    """The network of `layers` compiled with `loss` and an optimizer picked by the seed, 37
    rows of random data for it (class indices or one-hot rows) and an order of the rows."""
    net = Sequential(layers, input_dim=int(rng.integers(1, 5)), seed=seed, dtype=dtype,
                     dead_window=3)  # fmt: skip
    net.compile(registry.get("optimizer", OPTIMIZERS[seed % len(OPTIMIZERS)]), loss)
    n, outputs = 37, net.output_dim
    X = rng.normal(size=(n, net.input_dim)) * 2
    if loss == "categorical_crossentropy":
        Y = rng.integers(0, outputs, n)
        if one_hot:
            Y = np.eye(outputs)[Y]
    elif loss == "binary_crossentropy":
        Y = rng.integers(0, 2, (n, 1))
    else:
        Y = rng.normal(size=(n, outputs))
    return net, net.prepare_inputs(X), net.prepare_targets(Y), rng.permutation(n)


def random_layered_case(seed, dtype="float64"):
    """A network of Dense layers with Activation, Dropout and BatchNormalization layers
    between them, ending in a loss with or without its output activation."""
    rng = np.random.default_rng(1000 + seed)
    loss = list(LOSSES)[seed % 3]
    outputs = LOSSES[loss][1]
    # Left out: what makes a gradient exactly zero in exact arithmetic, so that both engines
    # meet only rounding noise, which RMSprop and Adam blow up to full steps: a constant
    # added before batch norm that it cancels (a bias, the beta of an earlier batch norm:
    # Keras leaves the bias out there), and a dropout rate of 1 before batch norm.
    layers = []
    for _ in range(int(rng.integers(1, 4))):
        layers.append(Dense(int(rng.integers(1, 9)), activation=HIDDEN[int(rng.integers(6))],
                            use_bias=bool(rng.integers(0, 4))))  # fmt: skip
        for extra in rng.permutation(3)[: int(rng.integers(0, 3))]:
            if extra == 0:
                layers.append(Activation(HIDDEN[int(rng.integers(len(HIDDEN)))]))
            elif extra == 1:
                layers.append(Dropout(float(rng.choice([0.0, 0.2, 0.5, 1.0]))))
            elif not any(x.kind == "batch_normalization" for x in layers):
                layers.append(BatchNormalization(momentum=float(rng.choice([0.0, 0.9, 0.99]))))
                for earlier in layers:
                    if earlier.kind == "dense":
                        earlier.use_bias = False
                    elif earlier.kind == "dropout" and earlier.rate == 1.0:
                        earlier.rate = 0.5
    # The output: fused with the loss (in the Dense layer or an Activation after it) or not.
    fused_act, outputs = LOSSES[loss]
    out_act = [fused_act, "tanh" if loss != "categorical_crossentropy" else "sigmoid"][seed % 2]
    if seed % 4 < 2:
        layers.append(Dense(outputs, activation=out_act))
    else:
        layers += [Dense(outputs), Activation(out_act)]
    return compiled_case(layers, loss, rng, seed, dtype, one_hot=seed % 4 >= 2)


CASES = [(random_case, seed) for seed in range(48)]
CASES += [(random_layered_case, seed) for seed in range(48)]


def numpy_steps(net, X, Y, order, batch, steps):
    logs = []
    with np.errstate(**QUIET):
        for s in range(steps):
            idx = order[s * batch : (s + 1) * batch]
            logs.append(net.train_step(X[idx], Y[idx]))
    return logs


KEYS = ["grad_norms", "weight_norms", "update_ratios", "activation_mean", "activation_std",
        "saturation", "dead_fraction", "dead_fraction_batch"]  # fmt: skip


@pytest.mark.parametrize("make, seed", CASES)
def test_random_networks_train_the_same_on_both_engines(make, seed):
    assert_trains_alike(*make(seed))


@pytest.mark.parametrize("seed", range(3))
def test_kernels_bigger_than_l1_train_the_same(seed):
    # Their sums run in another loop (kernels.SMALL_KERNEL); 72 x 64 weights are beyond it.
    loss = list(LOSSES)[seed]
    out_act, outputs = LOSSES[loss]
    assert 72 * 64 > engine.kernels().SMALL_KERNEL
    layers = [Dense(72, activation="tanh"), Dense(64, activation="relu"),
              Dense(outputs, activation=out_act)]  # fmt: skip
    assert_trains_alike(*compiled_case(layers, loss, np.random.default_rng(seed), seed, "float64"))


@pytest.mark.parametrize("seed", [1, 2, 4, 5, 6, 7])  # the optimizers with a state
def test_both_engines_flush_subnormal_optimizer_state_at_the_same_step(seed):
    layers = [Dense(4, activation="relu"), Dense(1, activation="sigmoid")]
    net, X, Y, order = compiled_case(
        layers, "binary_crossentropy", np.random.default_rng(seed), seed, "float64"
    )
    net.layers[0].params["bias"][0] = -1e6  # a dead unit: its weights' gradients are 0
    numpy_steps(net, X, Y, order, 5, 1)
    tiny = np.finfo(net.dtype).tiny
    for slot in net.optimizer.slots.values():
        slot[...] = tiny / 8  # where the gradient is 0 it would stay subnormal for good
    net.optimizer.iterations = FLUSH_EVERY - 4  # the run crosses a flush step
    start = net.parameter_spans["dense/kernel"][0]
    dead = np.zeros(len(net.flat_params), bool)
    dead[start : start + net.input_dim * 4 : 4] = True  # the dead unit's column of the kernel
    numpy_steps(net, X, Y, order, 5, 3)
    for kind, slot in net.optimizer.slots.items():
        assert (slot[dead] != 0).all(), kind  # not yet: the step before a flush
    twin = copy.deepcopy(net)
    numpy_steps(net, X, Y, order, 5, 5)
    engine.CompiledSteps(twin).run(X, Y, order, 0, 5, 5)
    for kind, slot in net.optimizer.slots.items():
        assert (slot[dead] == 0).all() and (twin.optimizer.slots[kind][dead] == 0).all(), kind
        np.testing.assert_allclose(twin.optimizer.slots[kind], slot, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(twin.flat_params, net.flat_params, rtol=1e-12, atol=1e-15)


def assert_trains_alike(net, X, Y, order):
    twin = copy.deepcopy(net)  # its own arrays: the NumPy engine trains net, compiled twin
    batch, steps = 5, 8  # the last batch is short: 37 rows
    expected = numpy_steps(net, X, Y, order, batch, steps)
    chunk = engine.CompiledSteps(twin).run(X, Y, order, 0, batch, steps)
    assert chunk.done == steps and chunk.failed is None
    classification = net.loss.classification
    for s, want in enumerate(expected):
        got = chunk.logs(s)
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-12, abs=1e-300)
        if classification:
            assert got["accuracy"] == want["accuracy"]
        for key in KEYS:
            # 1e-12 of each value, or, for a value that cancels to nearly nothing, 1e-12 of the
            # size of what it is made of: a mean of activations of size 1 that comes to 3e-14
            # is compared to 1e-12 of the activations (mean and spread), the spread of a layer
            # a dropout rate of 1 made constant (5e-17 or 0) and a first layer's gradient 1e5
            # times smaller than the others to 1e-14 of the largest of their kind. No summation
            # order gets those closer, and NumPy's (BLAS, pairwise) is not one a loop repeats.
            finite = [abs(v) for v in want[key] if np.isfinite(v)]
            atol = 1e-14 * max([*finite, 1.0])
            if key == "activation_mean":
                size = np.abs(want[key]) + np.asarray(want["activation_std"])
                atol = 1e-12 * np.maximum(size, 1e-2)
            a, b = np.asarray(got[key]), np.asarray(want[key])
            far = ~((a == b) | (np.abs(a - b) <= atol + 1e-12 * np.abs(b)))
            assert not far.any(), f"step {s} {key}: {a[far]} != {b[far]}"
    np.testing.assert_allclose(twin.flat_params, net.flat_params, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(twin.flat_grads, net.flat_grads, rtol=1e-12, atol=1e-15)
    for kind, slot in net.optimizer.slots.items():
        np.testing.assert_allclose(twin.optimizer.slots[kind], slot, rtol=1e-12, atol=1e-15)
    assert twin.optimizer.iterations == net.optimizer.iterations and twin.steps == net.steps
    for a, b in zip(twin.meter.last_active, net.meter.last_active):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(twin.dead_units(), net.dead_units()):
        np.testing.assert_array_equal(a, b)
    for key, value in net.state().items():
        np.testing.assert_allclose(twin.state()[key], value, rtol=1e-12, atol=1e-15)
    assert twin.dropout_rng.bit_generator.state == net.dropout_rng.bit_generator.state


@pytest.mark.parametrize("make, seed", CASES[:24] + CASES[48:72])
def test_evaluation_agrees(make, seed):
    net, X, Y, order = make(seed)
    numpy_steps(net, X, Y, order, 5, 3)  # trained a little
    want = net.evaluate(X, Y)
    got = engine.CompiledSteps(net).evaluate(X, Y)
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-12)
    assert got.get("accuracy") == want.get("accuracy")


@pytest.mark.parametrize("make, seed", CASES[::6])
def test_evaluation_agrees_over_many_blocks_of_rows(make, seed):
    """More rows than the compiled evaluation takes at once (EVALUATE_ROWS), the last block
    short: each block's rows are laid out a unit at a time."""
    net, X, Y, order = make(seed)
    numpy_steps(net, X, Y, order, 5, 3)
    reps = -(-(2 * engine.EVALUATE_ROWS + 77) // len(X))
    noise = np.random.default_rng(seed).normal(scale=0.1, size=(reps * len(X), X.shape[1]))
    X, Y = np.tile(X, (reps, 1)) + noise.astype(X.dtype), np.tile(Y, (reps,) + (1,) * (Y.ndim - 1))
    assert len(X) > 2 * engine.EVALUATE_ROWS and len(X) % engine.EVALUATE_ROWS
    want = net.evaluate(X, Y)
    got = engine.CompiledSteps(net).evaluate(X, Y)
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-12)
    assert got.get("accuracy") == want.get("accuracy")


@pytest.mark.parametrize("seed", range(0, 48, 3))
def test_float32_networks_train_alike_and_draw_the_same_dropout_masks(seed):
    if not engine.warm_up("float32", wait=True):
        pytest.skip("the compiled engine is not here")
    net, X, Y, order = random_layered_case(seed, dtype="float32")
    twin = copy.deepcopy(net)
    numpy_steps(net, X, Y, order, 5, 8)
    chunk = engine.CompiledSteps(twin).run(X, Y, order, 0, 5, 8)
    assert chunk.done == 8 and twin.flat_params.dtype == np.float32
    # float32 rounds each operation to 6e-8; a mask drawn differently would differ by O(1).
    np.testing.assert_allclose(twin.flat_params, net.flat_params, rtol=1e-3, atol=1e-4)
    assert twin.dropout_rng.bit_generator.state == net.dropout_rng.bit_generator.state
