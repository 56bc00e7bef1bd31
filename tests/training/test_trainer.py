import math
import threading
import time

import numpy as np
import pytest

from bpstudio.core import SGD, Adam, Dense, Dropout, Sequential
from bpstudio.data.datasets import DatasetRecipe, make_dataset
from bpstudio.lessons.catalog import first_network
from bpstudio.training.history import Series
from bpstudio.training.trainer import Trainer, TrainerControls, TrainingError


def playground_trainer(lr=0.03, seed=0, **kw):
    d = make_dataset(DatasetRecipe("circle"))
    net = Sequential(
        [Dense(4, activation="tanh"), Dense(2, activation="tanh"), Dense(1, activation="sigmoid")],
        input_dim=2,
        seed=seed,
    )
    net.compile(SGD(lr), "binary_crossentropy")
    return Trainer(net, d, batch_size=10, **kw)


def test_playground_default_reaches_95_percent():
    t = playground_trainer()
    t.fit(epochs=150)
    assert t.history.epochs.last()["test_accuracy"] >= 0.95


def test_digits_64_64_10_relu_reaches_95_percent():
    d = make_dataset(DatasetRecipe("digits", train_ratio=0.8, seed=0))
    net = Sequential(
        [
            Dense(64, activation="relu", kernel_initializer="he_normal"),
            Dense(64, activation="relu", kernel_initializer="he_normal"),
            Dense(10, activation="softmax"),
        ],
        input_dim=64,
        seed=0,
    )
    net.compile(Adam(0.001), "categorical_crossentropy")
    t = Trainer(net, d, batch_size=32)
    t.fit(epochs=30)
    assert t.history.epochs.last()["test_accuracy"] >= 0.95


def test_same_seed_same_project_identical_weights_after_n_steps():
    a, b = first_network().make_trainer(), first_network().make_trainer()
    a.fit(steps=333)
    b.fit(steps=333)
    for k, v in a.net.get_weights().items():
        np.testing.assert_array_equal(v, b.net.get_weights()[k])


def test_step_and_epoch_counting():
    t = playground_trainer()
    logs = t.step()
    assert t.step_count == 1 and t.batch == 1 and "grad_norms" in logs
    t.run_epoch()
    assert t.epoch == 1 and t.step_count == 25 and len(t.history.epochs) == 1
    assert len(t.history.steps) == 25


def test_hyperparameters_change_between_steps_with_a_marker():
    t = playground_trainer()
    t.fit(steps=5)
    before = t.net.get_weights()["dense/kernel"]
    t.set_hyperparameters(learning_rate=0.3, batch_size=25)
    assert t.net.optimizer.learning_rate == 0.3 and t.batch_size == 25
    assert t.history.events[-1] == (5, "learning_rate 0.03 → 0.3, batch_size 10 → 25")
    t.step()  # the next step uses the new settings: 25 samples and lr 0.3
    assert t.position == 50 + 25
    assert not np.array_equal(before, t.net.get_weights()["dense/kernel"])


def test_regularization_and_dropout_changes():
    d = make_dataset(DatasetRecipe("circle"))
    net = Sequential(
        [Dense(8, activation="relu"), Dropout(0.0), Dense(1, activation="sigmoid")], input_dim=2
    )
    net.compile(SGD(0.03), "binary_crossentropy")
    t = Trainer(net, d)
    plain = t.evaluate()["loss"]
    t.set_hyperparameters(regularization="l2", regularization_rate=0.1, dropout=0.5)
    assert t.evaluate()["loss"] > plain
    assert net.layers[1].rate == 0.5
    t.set_hyperparameters(regularization="none")
    assert t.evaluate()["loss"] == pytest.approx(plain)


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"learning_rate": -1}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10_000}, "batch_size"),
        ({"dropout": 0.5}, "no Dropout layer"),
        ({"regularization": "l3"}, "regularization must be one of"),
        ({"speed": 2}, "unknown setting"),
    ],
)
def test_bad_hyperparameters_change_nothing(changes, match):
    t = playground_trainer()
    before = t.hyperparameters()
    with pytest.raises(TrainingError, match=match):
        t.set_hyperparameters(**{"learning_rate": 0.5, **changes})
    assert t.hyperparameters() == before and not t.history.events


def test_momentum_only_where_the_optimizer_has_it():
    d = make_dataset(DatasetRecipe("circle"))
    net = Sequential([Dense(1, activation="sigmoid")], input_dim=2)
    net.compile(Adam(), "binary_crossentropy")
    with pytest.raises(TrainingError, match="no momentum"):
        Trainer(net, d).set_hyperparameters(momentum=0.9)


def exploding_trainer():
    d = make_dataset(DatasetRecipe("plane"))
    net = Sequential(
        [Dense(8, activation="relu"), Dense(8, activation="relu"), Dense(1)], input_dim=2, seed=0
    )
    net.compile(SGD(2.0), "mse")  # diverges: the loss overflows near step 270
    return Trainer(net, d, batch_size=10)


def test_exploding_run_stops_on_the_step_with_the_layer_and_rolls_back():
    t = exploding_trainer()
    t.fit(epochs=50)
    failure = t.failure
    assert failure is not None and failure["layer"] in [layer.name for layer in t.net.layers]
    assert failure["step"] == t.step_count  # no update was made on the failing step
    with pytest.raises(TrainingError, match="roll back or reset"):
        t.step()
    step = t.rollback()
    assert step % 50 == 0 and step <= failure["step"]
    assert all(np.all(np.isfinite(v)) for v in t.net.get_weights().values())
    assert len(t.history.steps) == 0 or t.history.steps.steps[-1] < step
    t.set_hyperparameters(learning_rate=0.001)
    t.fit(steps=100)
    assert t.failure is None and math.isfinite(t.history.steps.last()["loss"])


def test_reset_draws_the_same_initial_weights_again():
    t = playground_trainer()
    start = t.net.get_weights()
    t.fit(steps=30)
    t.reset()
    assert t.step_count == 0 and len(t.history.steps) == 0
    for k, v in start.items():
        np.testing.assert_array_equal(v, t.net.get_weights()[k])


def test_controls_drive_the_trainer_in_another_thread():
    t = playground_trainer()
    controls = TrainerControls()
    idle = threading.Event()
    worker = threading.Thread(target=t.serve, args=(controls, idle.set))
    worker.start()
    try:
        controls.step_batch()
        assert idle.wait(5)
        assert t.step_count == 1
        idle.clear()
        controls.step_epoch()
        assert idle.wait(5)
        assert t.epoch == 1 and t.step_count == 25
        idle.clear()
        controls.play()
        time.sleep(0.2)
        controls.change(learning_rate=0.1)
        time.sleep(0.1)
        controls.pause()
        assert idle.wait(5)
        paused_at = t.step_count
        assert paused_at > 25 and t.net.optimizer.learning_rate == 0.1
        assert any("learning_rate 0.03 → 0.1" in text for _, text in t.history.events)
        time.sleep(0.2)
        assert t.step_count == paused_at  # paused means paused
        idle.clear()
        controls.reset()
        assert idle.wait(5)
        assert t.step_count == 0
    finally:
        controls.stop()
        worker.join(5)
    assert not worker.is_alive()


def test_set_weight_sets_a_kernel_entry_or_with_row_none_a_bias():
    t = playground_trainer()
    layer = t.net.kernel_layers[0]
    t.set_weight(layer.name, None, 1, 0.3)
    t.set_weight(layer.name, 0, 1, -0.2)
    assert layer.params["bias"][1] == 0.3 and layer.params["kernel"][0, 1] == -0.2
    assert [text for _, text in t.history.events[-2:]] == [
        f"{layer.name} bias [1] = 0.3",
        f"{layer.name} weight [0, 1] = -0.2",
    ]
    with pytest.raises(TrainingError, match="has no bias"):
        t.set_weight(layer.name, None, 99, 0.1)
    with pytest.raises(TrainingError, match="finite number"):
        t.set_weight(layer.name, None, 0, float("nan"))


def test_requests_made_while_playing_at_full_speed_are_all_seen():
    # The worker takes requests only when `version` moves, so every request must move it.
    t = playground_trainer()
    controls = TrainerControls()
    layer = t.net.kernel_layers[0].name
    requests = [
        controls.play,
        lambda: controls.change(learning_rate=0.1),
        lambda: controls.set_delay(0.0),
        lambda: controls.set_weight(layer, 0, 0, 0.5),
        controls.step_batch,
        controls.step_epoch,
        controls.pause,
        controls.rollback,
        controls.reset,
        controls.stop,
    ]
    for request in requests:
        before = controls.version
        request()
        assert controls.version > before
    controls = TrainerControls()
    worker = threading.Thread(target=t.serve, args=(controls,))
    controls.play()
    worker.start()
    try:
        time.sleep(0.1)
        controls.set_weight(layer, 0, 0, 0.5)
        controls.change(learning_rate=0.2)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and t.net.optimizer.learning_rate != 0.2:
            time.sleep(0.01)
        assert t.net.optimizer.learning_rate == 0.2
        assert any(text == f"{layer} weight [0, 0] = 0.5" for _, text in t.history.events)
    finally:
        controls.stop()
        worker.join(5)
    assert not worker.is_alive()


def test_series_memory_is_bounded_and_keeps_the_whole_run():
    s = Series(["v"], capacity=8)
    for step in range(1000):
        s.append(step, [float(step)])
    assert len(s) <= 8 and s.stride >= 128
    assert s.steps[0] < 150 and s.steps[-1] > 850
    assert np.all(np.diff(s.steps) > 0)
    np.testing.assert_allclose(s.values[:, 0], s.steps - (s.stride - 1) / 2, atol=s.stride)


def test_a_series_stores_rows_a_chunk_at_a_time_as_it_stores_them_one_by_one():
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(5000, 3))
    one, chunked = Series("abc", capacity=16), Series("abc", capacity=16)
    for step, row in enumerate(rows):
        one.append(step, row)
    at = 0
    while at < len(rows):
        k = int(rng.integers(1, 300))
        chunked.extend(np.arange(at, min(at + k, len(rows))), rows[at : at + k])
        at += k
    assert chunked.stride == one.stride == 512
    np.testing.assert_array_equal(chunked.steps, one.steps)
    np.testing.assert_array_equal(chunked.values, one.values)
    # Each stored row is the mean of the rows it stands for, under the last one's step.
    stride, first = one.stride, one.steps[-1] - one.stride + 1
    np.testing.assert_allclose(one.values[-1], rows[first : first + stride].mean(axis=0))


def test_geometric_moving_average():
    from bpstudio.training.history import geometric_moving_average, log_moving_average

    assert geometric_moving_average(np.empty(0), 5).size == 0
    assert log_moving_average(np.empty(0), 5).size == 0
    y = geometric_moving_average(np.array([1.0, 100.0, 0.0, np.nan, 1e4]), 2)
    np.testing.assert_allclose(y, [1.0, 10.0, 100.0, np.nan, 1e4])
    # Columns are averaged each on its own, as if one at a time.
    rng = np.random.default_rng(0)
    columns = np.exp(rng.normal(size=(300, 4)) * 5)
    columns[rng.random(columns.shape) < 0.1] = np.nan
    columns[rng.random(columns.shape) < 0.1] = 0.0
    together = geometric_moving_average(columns, 25)
    for j in range(columns.shape[1]):
        np.testing.assert_array_equal(together[:, j], geometric_moving_average(columns[:, j], 25))
    # A window's mean is the geometric mean of its positive, finite values.
    kept = columns[250:275, 2][np.isfinite(columns[250:275, 2]) & (columns[250:275, 2] > 0)]
    np.testing.assert_allclose(together[274, 2], np.exp(np.log(kept).mean()), rtol=1e-12)
    # On the log scale, as the gradients panel draws it.
    logs = log_moving_average(columns, 25)
    np.testing.assert_allclose(logs, np.log10(together), rtol=1e-12, atol=1e-14)
    assert np.array_equal(np.isnan(logs), np.isnan(together))


def test_the_clock_counts_training_time_only_and_restarts_with_the_run():
    t = playground_trainer()
    assert t.training_time() == 0.0
    t.fit(steps=200)
    trained = t.training_time()
    assert trained > 0
    time.sleep(0.05)  # standing still does not count
    assert t.training_time() == trained
    t.reset()
    assert t.training_time() == 0.0


def test_a_rollback_that_breaks_down_again_steps_further_back():
    t = playground_trainer()
    t.fit(steps=175)  # checkpoints at 0, 50, 100, 150
    assert t.rollback_step == 150
    assert t.rollback() == 150
    # Broke down again before the next checkpoint: going back there would loop forever.
    assert t.rollback_step == 100 and t.rollback() == 100
    assert t.rollback() == 50 and t.rollback() == 0 and t.rollback() == 0  # the start stays
    t.fit(steps=60)  # a new checkpoint at 50 again, and the next rollback goes there
    assert t.rollback() == 50


def serve_until_paused(t, controls, timeout=30):
    """Play in a worker thread until the trainer pauses by itself; the worker is stopped."""
    worker = threading.Thread(target=t.serve, args=(controls,))
    controls.play()
    worker.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and controls.playing:
            time.sleep(0.01)
    finally:
        controls.stop()
        worker.join(5)


def test_a_stop_condition_pauses_at_its_epoch_or_under_its_test_loss():
    from bpstudio.training import StopCondition

    t, controls = playground_trainer(), TrainerControls()
    controls.stop_when(StopCondition(epoch=3))
    serve_until_paused(t, controls)
    assert t.epoch == 3 and t.history.events[-1][1] == "stopped at epoch 3, as set"
    # Under a test loss: at the end of the first epoch below it, not before.
    t, controls = playground_trainer(lr=0.3), TrainerControls()
    controls.stop_when(StopCondition(test_loss=0.3))
    serve_until_paused(t, controls)
    test_loss = t.history.epochs.column("test_loss")
    assert test_loss[-1] < 0.3 and (test_loss[:-1] >= 0.3).all()
    assert t.history.events[-1][1].startswith(f"stopped: test loss {test_loss[-1]:.4g} is below")
    for bad, words in (({"epoch": 0}, "whole number >= 1"), ({"test_loss": -1}, "positive")):
        with pytest.raises(TrainingError, match=words):
            StopCondition(**bad)
