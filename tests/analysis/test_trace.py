"""The backprop trace of one example agrees with the network's own gradients, and the
chain rule it writes out holds with its numbers."""

import itertools

import numpy as np
import pytest

from bpstudio.analysis.trace import chain_rule, trace
from bpstudio.lessons.catalog import dropout, first_network, softmax_classes


def playground_link():
    from bpstudio.project.playground import open_link

    return open_link("#activation=relu&dataset=xor&networkShape=4,3&regularization=L2").project


@pytest.mark.parametrize("make", [first_network, dropout, softmax_classes, playground_link])
def test_trace_matches_the_networks_gradients(make):
    project = make()
    trainer = project.make_trainer()
    trainer.fit(1)
    net = trainer.net
    x, y = trainer.X[3], trainer.Y[3]
    t = trace(net, x, y)
    _, grads = net.loss_and_gradients(x[None], np.atleast_1d(y), training=False)
    dense = [lt for lt in t.layers if lt.kind == "Dense"]
    for lt in dense:
        np.testing.assert_allclose(lt.dL_dW, grads[f"{lt.name}/kernel"], rtol=1e-10)
        np.testing.assert_allclose(lt.dL_db, grads[f"{lt.name}/bias"], rtol=1e-10)
    # The error a hidden Dense layer receives is the next Dense layer's dL/dz sent back
    # through its weights.
    for below, above in itertools.pairwise(dense):
        if t.layers.index(above) == t.layers.index(below) + 1:
            np.testing.assert_allclose(below.dL_da, above.kernel @ above.dL_dz, rtol=1e-10)
    assert t.output.shape == (net.output_dim,)
    if net.output_dim > 1:  # softmax: the classes share 1
        assert t.output.sum() == pytest.approx(1.0)
    elif net.loss.name == "mse":  # Playground's tanh unit
        assert -1 < t.output[0] < 1
    else:
        assert 0 < t.output[0] < 1
    assert t.loss == pytest.approx(net.evaluate(x[None], np.atleast_1d(y))["loss"])


def test_chain_rule_is_written_with_its_numbers():
    project = first_network()
    trainer = project.make_trainer()
    trainer.fit(1)
    t = trace(trainer.net, trainer.X[0], trainer.Y[0])
    lt = t.layer("dense_1")
    lines = chain_rule(t, "dense_1", 2, 1, 0.03)
    g = lt.dL_dW[2, 1]
    assert f"= {g:.4g}" in lines[2]
    assert g == pytest.approx(lt.dL_dz[1] * lt.inputs[2])
    assert "tanh′(z2)" in lines[4]
    assert lines[-1].endswith(f"= {lt.kernel[2, 1] - 0.03 * g:.4g}")
    out = chain_rule(t, "dense_2", 0, 0, 0.03)
    assert "a1 − y" in out[3] and "sigmoid and cross-entropy together" in out[3]
    with pytest.raises(ValueError, match="there is no layer"):
        chain_rule(t, "dense_9", 0, 0, 0.1)


def test_a_network_that_overflows_is_traced_without_warnings():
    import warnings

    from bpstudio.core import Dense, Sequential

    net = Sequential([Dense(4, activation="relu"), Dense(1)], input_dim=2, seed=0)
    net.compile(optimizer="sgd", loss="mse")
    net.parameters()["dense/kernel"][...] = 1e300  # values that overflow on the way
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = trace(net, [3.0, 4.0], [1.0])
        lines = chain_rule(t, "dense", 0, 0, 0.1)
    assert not np.isfinite(t.loss) and lines  # the square of the output overflowed
