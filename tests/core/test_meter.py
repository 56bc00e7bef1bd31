"""The step meter owns the measurement names: columns, rows and groups agree."""

import numpy as np

from bpstudio.core import SGD, Activation, Dense, Dropout, Sequential, meter


def test_columns_rows_and_groups_agree():
    net = Sequential(
        [Dense(4, "relu"), Dense(3, "tanh"), Dropout(0.1), Activation("sigmoid"), Dense(2)],
        input_dim=2,
        seed=1,
    ).compile(SGD(0.1), "mse")
    rng = np.random.default_rng(0)
    logs = net.train_on_batch(rng.normal(size=(8, 2)), rng.normal(size=(8, 2)))
    columns = net.meter.columns()
    row = net.meter.row(logs)
    assert len(row) == len(columns) and columns[0] == "loss" and row[0] == logs["loss"]
    groups = meter.group(columns)
    assert [layer for _, layer in groups[meter.GRAD_NORM]] == ["dense", "dense_1", "dense_2"]
    assert [layer for _, layer in groups[meter.SATURATION]] == ["dense_1", "activation"]
    assert [layer for _, layer in groups[meter.DEAD_FRACTION]] == ["dense"]
    for (i, _), value in zip(groups[meter.GRAD_NORM], logs["grad_norms"]):
        assert row[i] == value
    assert columns[groups[meter.GRAD_NORM][1][0]] == meter.column(meter.GRAD_NORM, "dense_1")


def test_the_update_ratio_is_measured_against_the_weights_before_the_update():
    net = Sequential([Dense(3, "linear"), Dense(1)], input_dim=2, seed=0).compile(SGD(0.5), "mse")
    X, Y = np.ones((4, 2)), np.zeros((4, 1))
    kernel_before = net.layers[0].params["kernel"].copy()
    logs = net.train_on_batch(X, Y)
    change = net.layers[0].params["kernel"] - kernel_before
    expected = np.linalg.norm(change) / np.linalg.norm(kernel_before)
    assert np.isclose(logs["update_ratios"][0], expected, rtol=1e-12)
    assert np.isclose(logs["weight_norms"][0], np.linalg.norm(kernel_before), rtol=1e-12)
