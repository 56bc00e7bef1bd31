"""The cost of a network, estimated from its layer configs before it is built."""

import numpy as np
import pytest

from bpstudio.analysis.cost import ASK_BYTES, estimate
from bpstudio.core import Sequential, registry
from bpstudio.lessons.catalog import LESSONS


def built(layers, input_dim):
    return Sequential([registry.get("layer", dict(c)) for c in layers], input_dim=input_dim, seed=0)


@pytest.mark.parametrize("seed", range(8))
def test_the_parameter_count_is_the_built_networks(seed):
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(rng.integers(1, 6)):
        kind = rng.choice(["Dense", "Dense", "BatchNormalization", "Dropout", "Activation"])
        if kind == "Dense":
            layers.append(
                {
                    "class": "Dense",
                    "units": int(rng.integers(1, 40)),
                    "use_bias": bool(rng.random() < 0.7),
                }
            )
        elif kind == "Dropout":
            layers.append({"class": "Dropout", "rate": 0.3})
        elif kind == "Activation":
            layers.append({"class": "Activation", "activation": "relu"})
        else:
            layers.append({"class": "BatchNormalization"})
    layers.append({"class": "Dense", "units": 3})
    net = built(layers, input_dim=int(rng.integers(1, 20)))
    assert estimate(layers, net.input_dim, 10).parameters == net.count_params()


def test_every_lesson_is_cheap_and_a_huge_network_is_said_to_be():
    for make in LESSONS.values():
        project = make()
        cost = estimate(project.layers, 2, project.batch_size, project.optimizer["name"])
        assert not cost.huge and cost.memory < 50 * 2**20
    wide = [{"class": "Dense", "units": 4096}, {"class": "Dense", "units": 4096},
            {"class": "Dense", "units": 10}]  # fmt: skip
    cost = estimate(wide, 64, 32, "adam")
    assert cost.parameters == 64 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 10 + 10
    assert cost.huge and cost.memory > ASK_BYTES
    assert "17,088,522 parameters" in cost.describe() and "GB of memory" in cost.describe()
    assert estimate(wide, 64, 32, "adam", "float32").memory < cost.memory
    # A batch of many examples through wide layers costs time: a second or more a step.
    assert estimate(wide, 64, 4096, "sgd").seconds_per_step > 1
