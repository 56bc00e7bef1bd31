"""Finite-difference checks in float64 for every layer, activation, loss and regularizer,
and for random networks mixing them, in training and inference mode."""

import numpy as np
import pytest

from bpstudio.core import (
    L1,
    L1L2,
    L2,
    SGD,
    Activation,
    BatchNormalization,
    Dense,
    Dropout,
    Sequential,
    activations,
    gradcheck,
    losses,
    registry,
)

TOL = 1e-6
ACTIVATIONS = ["linear", "relu", "leaky_relu", "elu", "tanh", "sigmoid"]


def data(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d))


@pytest.mark.parametrize(
    "name",
    [
        *ACTIVATIONS,
        "softmax",
        {"name": "leaky_relu", "negative_slope": 0.2},
        {"name": "elu", "alpha": 0.5},
    ],
)
def test_activation_backward_matches_finite_differences(name):
    act = registry.get("activation", name)
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(5, 4)) * 2
    dA = rng.normal(size=Z.shape)
    analytic = act.backward(dA, Z, act.forward(Z))
    numeric = np.zeros_like(Z)
    eps = 1e-6
    for i in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[i] += eps
        Zm[i] -= eps
        numeric[i] = np.sum(dA * (act.forward(Zp) - act.forward(Zm))) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("loss_name", losses.NAMES)
@pytest.mark.parametrize("targets", ["indices", "dense"])
def test_loss_gradient_on_probabilities_matches_finite_differences(loss_name, targets):
    loss = registry.get("loss", loss_name)
    rng = np.random.default_rng(2)
    A = rng.uniform(0.05, 0.95, size=(6, 3))
    if loss_name == "categorical_crossentropy":
        A /= A.sum(axis=1, keepdims=True)
        Y = rng.integers(0, 3, 6) if targets == "indices" else np.eye(3)[rng.integers(0, 3, 6)]
    else:
        Y = rng.integers(0, 2, (6, 3)).astype(float)
    analytic = loss.gradient(A, Y)
    numeric = np.zeros_like(A)
    for i in np.ndindex(A.shape):
        Ap, Am = A.copy(), A.copy()
        Ap[i] += 1e-6
        Am[i] -= 1e-6
        numeric[i] = (loss.value(Ap, Y) - loss.value(Am, Y)) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "loss_name,act", [("categorical_crossentropy", "softmax"), ("binary_crossentropy", "sigmoid")]
)
def test_logits_path_agrees_with_probability_path(loss_name, act):
    loss, f = registry.get("loss", loss_name), registry.get("activation", act)
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(7, 3))
    Y = rng.integers(0, 3, 7) if act == "softmax" else rng.integers(0, 2, (7, 3)).astype(float)
    value, _ = loss.value_from_logits(Z, f.forward(Z), Y)
    assert value == pytest.approx(loss.value(f.forward(Z), Y), rel=1e-9)


def test_logits_path_is_stable_for_huge_logits():
    loss = registry.get("loss", "categorical_crossentropy")
    Z = np.array([[1000.0, -1000.0, 0.0]])
    softmax = registry.get("activation", "softmax")
    value, dZ = loss.value_from_logits(Z, softmax.forward(Z), np.array([1]))
    assert value == pytest.approx(2000.0)
    assert np.all(np.isfinite(dZ))


def check(net, X, Y, training):
    result = gradcheck(net, X, Y, training=training)
    assert result.max_error < TOL, result.errors
    assert result.checked_entries == net.count_params()
    return result


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense_with_each_activation(act, training):
    net = Sequential([Dense(5, activation=act), Dense(2)], input_dim=3, seed=4)
    net.compile(SGD(), "mse")
    check(net, data(), data(12, 2, 9), training)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_layer(act, training):
    net = Sequential([Dense(5), Activation(act), Dense(2)], input_dim=3, seed=5)
    net.compile(SGD(), "mse")
    check(net, data(), data(12, 2, 9), training)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("rate", [0.0, 0.3, 0.9, 1.0])
def test_dropout(rate, training):
    net = Sequential([Dense(6, activation="tanh"), Dropout(rate), Dense(2)], input_dim=3, seed=6)
    net.compile(SGD(), "mse")
    check(net, data(), data(12, 2, 9), training)


@pytest.mark.parametrize("training", [True, False])
def test_batch_normalization(training):
    net = Sequential(
        [Dense(6), BatchNormalization(momentum=0.9, epsilon=1e-3), Activation("tanh"), Dense(2)],
        input_dim=3,
        seed=7,
    )
    net.compile(SGD(), "mse")
    if not training:  # give the running statistics something other than their start values
        for _ in range(5):
            net.train_on_batch(data(seed=11), data(12, 2, 12))
    check(net, data(), data(12, 2, 9), training)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("reg", [L1(0.01), L2(0.05), L1L2(0.01, 0.02)])
def test_regularizers(reg, training):
    net = Sequential(
        [Dense(5, activation="tanh", kernel_regularizer=reg), Dense(2, kernel_regularizer=reg)],
        input_dim=3,
        seed=8,
    )
    net.compile(SGD(), "mse")
    loss, _ = net.loss_and_gradients(data(), data(12, 2, 9), training=training)
    plain = sum(np.mean((net.predict(data()) - data(12, 2, 9)) ** 2) for _ in [0])
    assert loss > plain  # the penalty is part of the loss
    check(net, data(), data(12, 2, 9), training)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "loss,out_act,outputs",
    [
        ("mse", "linear", 2),
        ("mse", "sigmoid", 2),
        ("binary_crossentropy", "sigmoid", 1),
        ("binary_crossentropy", "sigmoid", 3),
        ("categorical_crossentropy", "softmax", 3),
    ],
)
def test_losses_through_networks(loss, out_act, outputs, training):
    net = Sequential(
        [Dense(5, activation="elu"), Dense(outputs, activation=out_act)], input_dim=3, seed=9
    )
    net.compile(SGD(), loss)
    rng = np.random.default_rng(10)
    if loss == "categorical_crossentropy":
        Y = rng.integers(0, outputs, 12)
    elif loss == "binary_crossentropy":
        Y = rng.integers(0, 2, (12, outputs)).astype(float)
    else:
        Y = rng.normal(size=(12, outputs))
    check(net, data(), Y, training)


def test_categorical_crossentropy_one_hot_equals_indices():
    net = Sequential([Dense(4, activation="relu"), Dense(3, activation="softmax")], input_dim=3)
    net.compile(SGD(), "categorical_crossentropy")
    y = np.random.default_rng(0).integers(0, 3, 12)
    l1, g1 = net.loss_and_gradients(data(), y)
    l2, g2 = net.loss_and_gradients(data(), np.eye(3)[y])
    assert l1 == pytest.approx(l2)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k])


LAYER_CHOICES = ["dense", "activation", "dropout", "bn"]


@pytest.mark.parametrize("seed", range(12))
def test_random_networks_mixing_every_kind(seed):
    rng = np.random.default_rng(100 + seed)
    layers = []
    for _ in range(rng.integers(2, 6)):
        kind = rng.choice(LAYER_CHOICES)
        if kind == "dense":
            layers.append(
                Dense(
                    int(rng.integers(2, 7)),
                    activation=rng.choice(ACTIVATIONS),
                    kernel_initializer=rng.choice(["glorot_uniform", "he_normal", "lecun_normal"]),
                    kernel_regularizer=[None, L2(0.01), L1(0.01)][seed % 3],
                    # Dropout can zero a whole row, leaving Z = bias: a zero bias
                    # would sit exactly on the ReLU kink, where no derivative exists.
                    bias_initializer={"name": "random_normal", "stddev": 0.5},
                )
            )
        elif kind == "activation":
            layers.append(Activation(rng.choice(ACTIVATIONS)))
        elif kind == "dropout":
            layers.append(Dropout(float(rng.uniform(0, 0.8))))
        else:
            layers.append(BatchNormalization(momentum=0.9))
    loss = ["mse", "binary_crossentropy", "categorical_crossentropy"][seed % 3]
    outputs = 1 if loss == "binary_crossentropy" else 3
    out_act = {
        "mse": "linear",
        "binary_crossentropy": "sigmoid",
        "categorical_crossentropy": "softmax",
    }[loss]
    layers.append(Dense(outputs, activation=out_act))
    net = Sequential(layers, input_dim=4, seed=seed)
    net.compile(SGD(), loss)
    X = rng.normal(size=(10, 4))
    if loss == "categorical_crossentropy":
        Y = rng.integers(0, 3, 10)
    elif loss == "binary_crossentropy":
        Y = rng.integers(0, 2, 10)
    else:
        Y = rng.normal(size=(10, 3))
    for training in (True, False):
        check(net, X, Y, training)


def test_gradcheck_catches_a_wrong_gradient(monkeypatch):
    """The check must be able to fail: break tanh's derivative and watch it report."""
    net = Sequential([Dense(4, activation="tanh"), Dense(1)], input_dim=3, seed=1)
    net.compile(SGD(), "mse")
    monkeypatch.setattr(activations.Tanh, "backward", lambda self, dA, Z, A: dA * (1 - A))
    result = gradcheck(net, data(), data(12, 1, 3))
    assert result.layer_errors["dense"] > 1e-2
    assert not result.passed()


def test_gradcheck_works_on_float32_networks_and_leaves_them_untouched():
    net = Sequential([Dense(4, activation="sigmoid"), Dense(2)], input_dim=3, dtype="float32")
    net.compile(SGD(), "mse")
    before = net.get_weights()
    assert gradcheck(net, data(), data(12, 2, 1)).max_error < TOL
    for k, v in net.get_weights().items():
        np.testing.assert_array_equal(v, before[k])
