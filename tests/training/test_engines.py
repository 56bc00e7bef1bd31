"""Which engine a run trains on, and that training in chunks of compiled steps records the
same run as stepping one by one on NumPy (weights, history, epochs, failures)."""

import numpy as np
import pytest

from bpstudio.compiled import engine as compiled
from bpstudio.lessons.catalog import (
    dead_relu,
    dropout,
    exploding_gradients,
    first_network,
    with_fix,
)

needs_numba = pytest.mark.skipif(
    not compiled.warm_up("float64", wait=True), reason="the compiled engine is not here"
)


@needs_numba
def test_auto_takes_the_compiled_engine_for_small_dense_networks_only():
    assert first_network().make_trainer().engine == "compiled"
    trainer = with_fix(dropout(), 0).make_trainer()  # Dropout layers
    assert trainer.engine == "numpy" and "Dropout" in trainer.why_numpy()
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
@pytest.mark.parametrize("make", [first_network, dead_relu])
def test_chunks_of_compiled_steps_record_the_same_run(make):
    runs = {}
    for name in ("numpy", "compiled"):
        trainer = make().make_trainer(engine=name)
        trainer.fit(epochs=6)
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
