"""Behaviour of the Sequential network: the public contract of the spec."""

import math
import subprocess
import sys

import numpy as np
import pytest

from bpstudio.core import (
    L2,
    SGD,
    Activation,
    Adam,
    BatchNormalization,
    Callback,
    Dense,
    Dropout,
    Sequential,
)
from bpstudio.core.callbacks import CallbackList, LambdaCallback


def spec_net(**kw):
    net = Sequential(
        [
            Dense(
                8, activation="relu", kernel_initializer="he_normal", kernel_regularizer=L2(1e-4)
            ),
            BatchNormalization(momentum=0.99, epsilon=1e-3),
            Dropout(0.5),
            Dense(3, activation="softmax"),
        ],
        input_dim=2,
        seed=0,
        dtype="float64",
        **kw,
    )
    net.compile(optimizer=SGD(learning_rate=0.03, momentum=0.0), loss="categorical_crossentropy")
    return net


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 2)) * 0.5 + np.array([[0, 2], [2, -1], [-2, -1]])[y]
    return X, y


def test_parameters_are_live_ordered_and_shaped():
    net = spec_net()
    params = net.parameters()
    assert list(params) == [
        "dense/kernel",
        "dense/bias",
        "batch_normalization/gamma",
        "batch_normalization/beta",
        "dense_1/kernel",
        "dense_1/bias",
    ]
    assert params["dense/kernel"].shape == (2, 8)
    assert "batch_normalization/moving_mean" in net.state()
    assert "batch_normalization/moving_mean" not in params
    X, _ = blobs()
    before = net.predict(X)
    params["dense_1/bias"][:] = [100.0, 0.0, 0.0]  # writing into them changes the network
    assert not np.allclose(net.predict(X), before)
    assert np.all(net.predict(X).argmax(axis=1) == 0)


def test_loss_and_gradients_has_the_same_keys_and_includes_regularization():
    net = spec_net()
    X, y = blobs()
    loss, grads = net.loss_and_gradients(X, y, training=False)
    assert list(grads) == list(net.parameters())
    for k, g in grads.items():
        assert g.shape == net.parameters()[k].shape
    plain = -np.mean(np.log(net.predict(X)[np.arange(len(y)), y]))
    W = net.parameters()["dense/kernel"]
    assert loss == pytest.approx(plain + 1e-4 * np.sum(W * W))


def test_fit_learns_and_reports_history():
    net = spec_net()
    X, y = blobs(300)
    Xv, yv = blobs(100, seed=1)
    seen = []

    class Spy(Callback):
        def on_train_batch_end(self, batch, logs):
            seen.append(batch)

    history = net.fit(X, y, epochs=15, batch_size=10, validation_data=(Xv, yv), callbacks=[Spy()])
    h = history.history
    assert len(h["loss"]) == 15 and len(h["val_accuracy"]) == 15
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] > 0.9
    assert seen[:31] == [*range(30), 0]  # 300 samples / batch 10 = 30 batches per epoch


def test_stop_training_from_a_callback():
    net = spec_net()
    X, y = blobs()

    class Stop(Callback):
        def on_train_batch_end(self, batch, logs):
            if batch == 2:
                self.model.stop_training = True

    net.fit(X, y, epochs=5, batch_size=10, callbacks=[Stop()])
    assert net.steps == 3


def test_a_callback_list_knows_which_hooks_anyone_listens_to():
    class Batches(Callback):
        def on_train_batch_end(self, batch, logs=None): ...

    quiet = CallbackList([Batches(), Callback()], None)
    assert quiet.listening("on_train_batch_end")
    assert not quiet.listening("on_epoch_end")
    told = CallbackList([Batches(), LambdaCallback(on_epoch_end=print)], None)
    assert told.listening("on_epoch_end")
    assert not CallbackList([], None).listening("on_train_begin")


def test_same_seed_same_weights_after_n_steps():
    X, y = blobs()
    a, b, c = spec_net(), spec_net(), Sequential.from_config({**spec_net().get_config(), "seed": 1})
    c.compile(SGD(0.03), "categorical_crossentropy")
    for net in (a, b, c):
        net.fit(X, y, epochs=3, batch_size=10)
    for k, v in a.get_weights().items():
        np.testing.assert_array_equal(v, b.get_weights()[k])
    assert not np.array_equal(a.get_weights()["dense/kernel"], c.get_weights()["dense/kernel"])


def test_predict_is_inference_mode():
    net = spec_net()
    X, _ = blobs()
    np.testing.assert_array_equal(net.predict(X), net.predict(X))  # no dropout noise
    np.testing.assert_allclose(net.predict(X).sum(axis=1), 1.0)


def test_dropout_is_inverted_and_covers_zero_and_one():
    X = np.ones((2000, 50))
    for rate in (0.0, 0.2, 0.5, 0.9):
        layer = Dropout(rate)
        layer.rng = np.random.default_rng(0)
        out = layer.forward(X, training=True)
        assert abs(out.mean() - 1.0) < 0.05  # expectation preserved
        assert abs(np.mean(out == 0) - rate) < 0.01
        np.testing.assert_array_equal(layer.forward(X, training=False), X)
    layer = Dropout(1.0)
    layer.rng = np.random.default_rng(0)
    assert not layer.forward(X, training=True).any()
    assert not layer.backward(X).any()


def test_batch_norm_normalises_in_training_and_tracks_running_statistics():
    net = Sequential([BatchNormalization(momentum=0.5)], input_dim=3)
    net.compile(SGD(1e-9), "mse")
    X = np.random.default_rng(0).normal(5.0, 2.0, size=(500, 3))
    out = net.layers[0].forward(X, training=True)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), np.sqrt(4 / (4 + 1e-3)), rtol=0.05)
    for _ in range(30):
        net.layers[0].forward(X, training=True)
        net.layers[0].commit()  # the network commits the statistics of accepted steps
    np.testing.assert_allclose(net.state()["batch_normalization/moving_mean"], X.mean(0))
    np.testing.assert_allclose(net.state()["batch_normalization/moving_variance"], X.var(0))


def test_measurements_in_logs():
    net = Sequential(
        [Dense(6, activation="relu"), Dense(4, activation="tanh"), Dense(1, activation="sigmoid")],
        input_dim=2,
        seed=0,
        dead_window=3,
    )
    net.compile(SGD(0.1), "binary_crossentropy")
    # Kill units 0 and 1 of the ReLU layer: a large negative bias keeps them at 0 everywhere.
    net.parameters()["dense/bias"][:2] = -1e3
    X = np.random.default_rng(0).normal(size=(32, 2))
    y = (X[:, 0] > 0).astype(float)
    logs = [net.train_on_batch(X, y) for _ in range(4)][-1]
    assert len(logs["grad_norms"]) == 3 and all(g > 0 for g in logs["grad_norms"][1:])
    assert len(logs["update_ratios"]) == 3
    W = net.parameters()["dense_2/kernel"]
    assert logs["update_ratios"][2] == pytest.approx(
        0.1 * logs["grad_norms"][2] / (np.linalg.norm(W + 0.1 * net.layers[2].grads["kernel"])),
        rel=1e-6,
    )
    assert len(logs["activation_mean"]) == 3 and len(logs["saturation"]) == 2
    assert logs["dead_units"][0][:2].all() and logs["dead_fraction"] == [pytest.approx(2 / 6)]
    A = net.layers[1].A
    assert logs["activation_std"][1] == pytest.approx(A.std())


def test_dead_units_need_the_whole_window():
    net = Sequential([Dense(3, activation="relu"), Dense(1)], input_dim=1, dead_window=3)
    net.compile(SGD(1e-12), "mse")
    net.parameters()["dense/kernel"][:] = [[1.0, -1.0, 1.0]]
    net.parameters()["dense/bias"][:] = 0
    pos, neg = np.ones((4, 1)), -np.ones((4, 1))
    # Unit 0 fires only on positive inputs, unit 1 only on negative ones.
    logs = net.train_on_batch(pos, np.zeros(4))
    assert logs["dead_fraction_batch"] == [pytest.approx(1 / 3)]
    assert logs["dead_units"][0].tolist() == [False, False, False]  # one batch proves nothing
    for _ in range(2):
        logs = net.train_on_batch(neg, np.zeros(4))
    assert logs["dead_fraction_batch"] == [pytest.approx(2 / 3)]
    assert logs["dead_units"][0].tolist() == [False, False, False]  # seen alive within 3 batches
    logs = net.train_on_batch(neg, np.zeros(4))
    assert logs["dead_units"][0].tolist() == [True, False, True]


def test_non_finite_is_caught_on_its_step_and_no_update_is_made():
    net = Sequential(
        [Dense(4, activation="relu"), Dense(4, activation="relu"), Dense(1)], input_dim=2, seed=0
    )
    net.compile(SGD(0.01), "mse")
    X = np.random.default_rng(0).normal(size=(8, 2))
    net.train_on_batch(X, np.zeros(8))
    net.parameters()["dense_1/kernel"][:] = 1e308  # overflows in the second layer
    before = net.get_weights()
    logs = net.train_on_batch(X, np.zeros(8))
    report = logs["non_finite"]
    assert report["step"] == 1 and report["layer"] == "dense_1"
    assert report["where"] == "activations"
    for k, v in net.get_weights().items():
        np.testing.assert_array_equal(v, before[k])
    assert net.steps == 1
    history = net.fit(X, np.zeros(8), epochs=3, batch_size=4)
    assert net.stop_training and history.history.get("loss", []) == []


def test_exploding_gradient_found_in_the_gradients_when_forward_is_finite():
    net = Sequential([Dense(2), Dense(1)], input_dim=1, seed=0)
    net.compile(SGD(0.01), "mse")
    net.parameters()["dense_1/kernel"][:] = 1e300
    net.parameters()["dense/kernel"][:] = 1e-300
    logs = net.train_on_batch(np.ones((2, 1)), np.full(2, 1e10))
    assert logs["non_finite"]["where"] in ("gradients", "loss")


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: Dense(0), "units"),
        (lambda: Dense(4, activation="swish"), "activation must be one of"),
        (lambda: Dense(4, kernel_initializer="magic"), "initializer must be one of"),
        (lambda: Dropout(1.5), "rate"),
        (lambda: BatchNormalization(momentum=2), "momentum"),
        (lambda: BatchNormalization(epsilon=0), "epsilon"),
        (lambda: Sequential([Dense(2)], input_dim=0), "input_dim"),
        (lambda: Sequential([Dense(2)], input_dim=2, dtype="int8"), "dtype"),
        (lambda: Sequential([Dense(2, activation="softmax"), Dense(2)], input_dim=2), "softmax"),
        (lambda: Sequential([Dense(100_000), Dense(100_000)], input_dim=2), "parameters"),
        (
            lambda: Sequential([Dense(1)], input_dim=2).compile(SGD(), "hinge"),
            "loss must be one of",
        ),
        (
            lambda: Sequential([Dense(1)], input_dim=2).compile(SGD(), "categorical_crossentropy"),
            "at least 2 outputs",
        ),
    ],
)
def test_bad_arguments_name_the_argument(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_data_gets_a_clear_error():
    net = spec_net()
    with pytest.raises(ValueError, match=r"inputs must have shape \(batch, 2\)"):
        net.predict(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"class-index targets must lie in 0\.\.2"):
        net.train_on_batch(np.ones((3, 2)), np.array([0, 1, 7]))


def test_float32_on_request():
    net = Sequential(
        [Dense(4, activation="relu"), Dense(2, activation="softmax")], input_dim=3, dtype="float32"
    )
    net.compile(Adam(0.01), "categorical_crossentropy")
    X = np.random.default_rng(0).normal(size=(16, 3))
    net.train_on_batch(X, np.arange(16) % 2)
    assert all(v.dtype == np.float32 for v in net.parameters().values())
    assert net.predict(X).dtype == np.float32


def test_config_round_trip_rebuilds_the_same_network():
    net = spec_net()
    clone = Sequential.from_config(net.get_config())
    assert clone.get_config() == net.get_config()
    for k, v in clone.get_weights().items():
        np.testing.assert_array_equal(v, net.get_weights()[k])


def test_activation_layer_and_leaky_relu_measured_as_relu_family():
    net = Sequential(
        [Dense(3), Activation({"name": "leaky_relu", "negative_slope": 0.1}), Dense(1)], input_dim=2
    )
    net.compile(SGD(0.1), "mse")
    logs = net.train_on_batch(np.ones((4, 2)), np.zeros(4))
    assert len(logs["dead_fraction"]) == 1
    assert math.isfinite(logs["loss"])


def test_importing_core_and_training_does_not_load_qt():
    code = (
        "import sys, bpstudio.core, bpstudio.training, bpstudio.cli; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'pyqtgraph')]; print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fit_says_when_it_stopped_on_a_non_finite_value():
    net = Sequential([Dense(4, "relu"), Dense(1)], input_dim=2, seed=0)
    net.compile(SGD(learning_rate=1e30), "mse")
    X = np.random.default_rng(0).normal(size=(64, 2)) * 100
    history = net.fit(X, X[:, :1] * 1e10, epochs=50, batch_size=8)
    assert history.non_finite is not None and "step" in history.non_finite
    assert len(history.epoch) < 50
    fine = Sequential([Dense(1)], input_dim=2).compile(SGD(0.01), "mse")
    assert fine.fit(X, X[:, :1], epochs=2).non_finite is None


@pytest.mark.parametrize(
    ("loss", "outputs", "targets", "message"),
    [
        ("binary_crossentropy", 1, [0, 2, 1], "between 0 and 1"),
        ("binary_crossentropy", 1, [-1, 0, 1], "between 0 and 1"),
        ("categorical_crossentropy", 3, [0, 3, 1], "0..2"),
        ("mse", 1, [0.0, float("nan"), 1.0], "finite"),
        ("mse", 1, ["a", "b", "c"], "numbers"),
    ],
)
def test_targets_are_checked_for_their_loss(loss, outputs, targets, message):
    net = Sequential([Dense(outputs)], input_dim=2).compile(SGD(0.1), loss)
    with pytest.raises(ValueError, match=message):
        net.train_on_batch(np.zeros((3, 2)), np.array(targets))


def test_a_step_rejected_as_non_finite_leaves_the_batch_norm_statistics_alone():
    net = Sequential([Dense(3), BatchNormalization(), Dense(1)], input_dim=2, seed=0)
    net.compile(SGD(0.01), "mse")
    X = np.random.default_rng(0).normal(size=(16, 2))
    net.train_on_batch(X, X[:, :1])
    before = {k: v.copy() for k, v in net.state().items()}
    net.layers[-1].params["bias"][...] = np.nan  # the loss is not finite: rejected
    logs = net.train_on_batch(X * 3, X[:, :1])
    assert "non_finite" in logs
    for key, value in before.items():
        np.testing.assert_array_equal(net.state()[key], value, err_msg=key)


def test_a_wide_network_predicts_in_chunks_that_stay_small():
    from bpstudio.core.model import CHUNK_VALUES

    net = Sequential([Dense(50_000, activation="tanh"), Dense(1)], input_dim=2, seed=0)
    assert net.chunk_rows() == CHUNK_VALUES // 50_000
    X = np.random.default_rng(0).normal(size=(300, 2))
    chunked = net.predict(X)
    whole = net.forward(net.prepare_inputs(X), training=False)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)
    assert Sequential([Dense(8), Dense(1)], input_dim=2).chunk_rows() == 4096


def test_a_layer_name_is_at_most_what_a_project_file_holds():
    from bpstudio.core.layers import MAX_NAME

    Dense(4, name="n" * MAX_NAME)
    with pytest.raises(ValueError, match=f"at most {MAX_NAME} characters"):
        Dense(4, name="n" * (MAX_NAME + 1))
