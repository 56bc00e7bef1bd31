"""Which engine a run trains on, and that training in chunks of compiled steps records the
same run as stepping one by one on NumPy (weights, history, epochs, failures)."""

import time

import numpy as np
import pytest

from bpstudio.compiled import engine as compiled
from bpstudio.core.callbacks import Callback, LambdaCallback
from bpstudio.lessons.catalog import (
    dead_relu,
    dropout,
    exploding_gradients,
    first_network,
    with_fix,
)
from bpstudio.training.history import EPOCH_COLUMNS
from bpstudio.training.trainer import CHUNK_SECONDS, LONGEST_CHUNK_SECONDS

needs_numba = pytest.mark.skipif(
    not compiled.warm_up("float64", wait=True), reason="the compiled engine is not here"
)


@needs_numba
def test_auto_takes_the_compiled_engine_for_small_dense_networks_only():
    assert first_network().make_trainer().engine == "compiled"
    small = first_network()
    small.layers.insert(1, {"class": "Dropout", "rate": 0.2})
    assert small.make_trainer().engine == "compiled"  # Dropout layers
    # Lesson 5 (64-64 ReLU, 14,300 multiply-adds per Dense layer) trains on NumPy, with
    # Dropout layers between or not: its runs compare alike.
    assert dropout().make_trainer().engine == with_fix(dropout(), 1).make_trainer().engine
    assert with_fix(exploding_gradients(), 2).make_trainer().engine == "compiled"  # batch norm
    unmeasured = first_network().make_trainer()
    unmeasured.net.measure = False
    unmeasured.reset()
    assert unmeasured.engine == "numpy" and unmeasured.why_numpy() == "the measurements are off"
    wide = first_network()
    dense = {"class": "Dense", "units": 100, "activation": "relu"}
    wide.layers = [dense, dense, wide.layers[-1]]  # 34,000 multiply-adds per layer
    trainer = wide.make_trainer()
    assert trainer.engine == "numpy" and "faster on NumPy" in trainer.why_numpy()
    assert wide.make_trainer(engine="compiled").engine == "compiled"  # forced
    trainer = first_network().make_trainer(engine="numpy")
    assert trainer.engine == "numpy" and trainer.why_numpy() == "chosen"
    trainer.set_engine("auto")  # from the next run
    assert trainer.engine == "numpy"
    trainer.reset()
    assert trainer.engine == "compiled"


def test_without_the_compiled_engine_numpy_trains_and_says_why(monkeypatch):
    monkeypatch.setattr(compiled, "available", lambda: "numba could not be imported (test)")
    trainer = first_network().make_trainer()
    assert trainer.engine == "numpy" and trainer.why_numpy().startswith("numba could not")
    trainer.fit(epochs=1)
    assert trainer.epoch == 1


@needs_numba
@pytest.mark.parametrize(
    "make, epochs",
    [
        (first_network, 6),
        (dead_relu, 6),
        (lambda: with_fix(dropout(), 1), 6),  # dropout 0.5, Adam
        # Batch norm after six ReLU layers at a learning rate of 0.1 amplifies rounding a
        # thousandfold an epoch (the engines differ by 8e-12 after one, 3e-9 after two).
        (lambda: with_fix(exploding_gradients(), 2), 1),
    ],
    ids=["lesson 1", "lesson 4", "lesson 5 dropout", "lesson 3 batch norm"],
)
def test_chunks_of_compiled_steps_record_the_same_run(make, epochs):
    runs = {}
    for name in ("numpy", "compiled"):
        trainer = make().make_trainer(engine=name)
        trainer.fit(epochs=epochs)
        runs[name] = trainer
    a, b = runs["numpy"], runs["compiled"]
    assert b.engine == "compiled" and b.chunk_size() > 1  # it did train in chunks
    np.testing.assert_allclose(b.net.flat_params, a.net.flat_params, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(b.history.steps.steps, a.history.steps.steps)
    np.testing.assert_allclose(b.history.steps.values, a.history.steps.values, rtol=1e-9,
                               atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(b.history.epochs.values, a.history.epochs.values, rtol=1e-9)
    assert (b.epoch, b.batch, b.position) == (a.epoch, a.batch, a.position)
    assert b.rollback_step == a.rollback_step  # the same checkpoints
    for x, y in zip(b.net.dead_units(), a.net.dead_units()):
        np.testing.assert_array_equal(x, y)


@needs_numba
def test_a_run_that_breaks_down_stops_at_the_same_step_on_both_engines():
    failures = {}
    for name in ("numpy", "compiled"):
        trainer = exploding_gradients().make_trainer(engine=name)
        trainer.fit(epochs=2)
        failures[name] = trainer.failure
        assert trainer.history.events[-1][1].startswith("stopped: ")
    assert failures["compiled"]["step"] == failures["numpy"]["step"]
    assert failures["compiled"]["layer"] == failures["numpy"]["layer"]
    assert failures["compiled"]["message"] == failures["numpy"]["message"]


@needs_numba
def test_a_failed_step_with_dropout_draws_its_masks_as_numpy_does():
    """The compiled engine draws a chunk's dropout masks ahead; when a step fails it is taken
    again on NumPy, which must draw the masks NumPy would have drawn."""
    trainers = {}
    for name in ("numpy", "compiled"):
        project = exploding_gradients()
        project.layers.insert(1, {"class": "Dropout", "rate": 0.3})
        trainer = trainers[name] = project.make_trainer(engine=name)
        trainer.fit(epochs=2)
        assert trainer.failure is not None and trainer.engine == name
    a, b = trainers["numpy"], trainers["compiled"]
    assert b.failure["step"] == a.failure["step"] > 1
    assert b.net.dropout_rng.bit_generator.state == a.net.dropout_rng.bit_generator.state
    np.testing.assert_allclose(b.net.flat_params, a.net.flat_params, rtol=1e-9)


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
def test_chunks_record_what_single_steps_record(engine):
    """fit() trains in chunks on either engine; step() one at a time: the same run."""
    if engine == "compiled" and not compiled.warm_up("float64", wait=True):
        pytest.skip("the compiled engine is not here")
    calls = {"chunked": 0, "single": 0}

    class Count(Callback):
        chunkable = True

        def __init__(self, name):
            self.name = name

        def on_train_batch_end(self, batch, logs=None):
            calls[self.name] += 1

    chunked = with_fix(dropout(), 1).make_trainer([Count("chunked")], engine=engine)
    chunked.fit(epochs=3)
    assert chunked.engine == engine
    single = with_fix(dropout(), 1).make_trainer([Count("single")], engine=engine)
    while single.epoch < 3:
        single.step()
    assert calls["single"] == single.net.steps == 15  # 50 examples, batches of 10
    # Chunks of at least 4 steps (fit's least), ended by each epoch's end: two an epoch at
    # most, whatever the machine's pace (here: 4 then 1, then one an epoch).
    assert calls["chunked"] <= 6
    np.testing.assert_array_equal(single.net.flat_params, chunked.net.flat_params)
    np.testing.assert_array_equal(single.history.steps.values, chunked.history.steps.values)
    np.testing.assert_array_equal(single.history.epochs.values, chunked.history.epochs.values)
    assert (single.epoch, single.batch, single.net.steps) == (
        chunked.epoch,
        chunked.batch,
        chunked.net.steps,
    )


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
def test_chunks_tell_every_epoch_end_as_single_steps_do(engine):
    """A chunk books its epochs at once, yet each epoch-end callback, a subclass's or a
    LambdaCallback's, hears of every epoch in turn with its logs, as single steps tell them."""
    if engine == "compiled" and not compiled.warm_up("float64", wait=True):
        pytest.skip("the compiled engine is not here")
    heard = {"chunked": [], "single": []}

    class Epochs(Callback):
        chunkable = True

        def __init__(self, name):
            self.name = name

        def on_epoch_end(self, epoch, logs=None):
            heard[self.name].append((epoch, logs))

    lambdas = []
    told = LambdaCallback(on_epoch_end=lambda epoch, logs: lambdas.append(epoch))
    told.chunkable = True
    chunked = first_network().make_trainer([Epochs("chunked"), told], engine=engine)
    chunked.fit(epochs=7)
    assert len(chunked.history.epochs) == 7  # several epochs a chunk: 25 steps each
    single = first_network().make_trainer([Epochs("single")], engine=engine)
    while single.epoch < 7:
        single.step()
    assert [e for e, _ in heard["chunked"]] == lambdas == list(range(7))
    for (_, a), (_, b) in zip(heard["chunked"], heard["single"], strict=True):
        assert a.keys() == set(EPOCH_COLUMNS)
        np.testing.assert_array_equal(list(a.values()), list(b.values()))
    np.testing.assert_array_equal(single.history.epochs.values, chunked.history.epochs.values)
    np.testing.assert_array_equal(single.history.epochs.steps, chunked.history.epochs.steps)
    assert (single.epoch, single.batch) == (chunked.epoch, chunked.batch)


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
def test_a_rollback_returns_to_the_checkpoint_whole(engine):
    """Compiled chunks run through epoch ends and checkpoints inside the kernel: a rollback
    after a breakdown returns to the state the run had at that checkpoint, every part."""
    if engine == "compiled" and not compiled.warm_up("float64", wait=True):
        pytest.skip("the compiled engine is not here")
    project = with_fix(exploding_gradients(), 1)  # clipped: it trains
    reference = project.make_trainer(engine=engine)
    reference.fit(steps=150)  # the state at the checkpoint of step 150
    trainer = project.make_trainer(engine=engine)
    trainer.fit(epochs=7)  # 175 steps, in chunks of several epochs on the compiled engine
    trainer.set_hyperparameters(learning_rate=1e6, global_clipnorm=None)
    trainer.fit(epochs=2)
    assert trainer.failure is not None and trainer.failure["step"] > 175
    assert trainer.rollback() == 150
    np.testing.assert_array_equal(trainer.net.flat_params, reference.net.flat_params)
    assert trainer.epoch == reference.epoch
    (meta, arrays), (want_meta, want) = trainer.progress(), reference.progress()
    for key in ("batch", "position", "iterations"):
        assert meta[key] == want_meta[key], key
    for key, value in want.items():  # the order, the epoch's sums, the optimizer's slots
        if not key.startswith("active/"):  # (when units were last active is not rolled back)
            np.testing.assert_array_equal(arrays[key], value, err_msg=key)
    assert len(trainer.history.epochs) == len(reference.history.epochs) == 6


@needs_numba
def test_a_compiled_chunk_stops_where_the_controls_would():
    """One call may train many epochs; it stops at the epoch asked for and after the first
    epoch whose test loss is below the stop condition's."""
    trainer = first_network().make_trainer(engine="compiled")
    trainer.run_steps(10_000, epochs=3)
    assert trainer.epoch == 3 and trainer.batch == 0 and trainer.net.steps == 75
    reference = first_network().make_trainer(engine="numpy")
    reference.fit(epochs=40)
    losses = reference.history.epochs.column("test_loss")
    ranked = np.sort(losses)
    below = float(ranked[20] + ranked[21]) / 2  # met first somewhere in the middle
    first = int(np.argmax(losses < below)) + 1
    trainer = first_network().make_trainer(engine="compiled")
    trainer.run_steps(100_000, epochs=40, stop_below=below)
    assert trainer.epoch == first
    # The orders drawn ahead for the epochs it did not train are given back: the shuffle
    # generator is where the NumPy engine leaves it after those epochs.
    stopped = first_network().make_trainer(engine="numpy")
    stopped.fit(epochs=first)
    state = stopped.net.shuffle_rng.bit_generator.state
    assert trainer.net.shuffle_rng.bit_generator.state == state


@needs_numba
def test_compiled_chunks_run_up_to_the_deadline_numpy_chunks_do_not():
    """The window's next picture is due at `deadline()`: compiled chunks run until then (up
    to LONGEST_CHUNK_SECONDS) instead of CHUNK_SECONDS, so that a frame takes 3 chunks."""
    project = first_network()
    for engine, longer in (("compiled", True), ("numpy", False)):
        trainer = project.make_trainer(engine=engine)
        trainer.fit(epochs=1)  # the pace of a chunk is known
        base = trainer.chunk_size()
        trainer.deadline = lambda: time.monotonic() + 1.0
        far = trainer.chunk_size()
        trainer.deadline = lambda: time.monotonic() - 1.0  # due already: the GUI is late
        assert trainer.chunk_size() == base
        if longer:
            ratio = LONGEST_CHUNK_SECONDS / CHUNK_SECONDS
            assert base > 10 and ratio * base - 1 <= far <= ratio * (base + 1)
        else:
            assert far == base
