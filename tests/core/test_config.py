"""get_config / from_config round-trip every constructor argument, for every class of every
kind the registry knows, built with values that differ from the defaults."""

import inspect

import pytest

from bpstudio.core import Dense, Dropout, Sequential, registry

#: A value unlike the default for every constructor argument of the core's classes.
NON_DEFAULT = {
    "learning_rate": 0.123,
    "momentum": 0.7,
    "nesterov": True,
    "global_clipnorm": 2.5,
    "rho": 0.8,
    "epsilon": 1e-5,
    "centered": True,
    "beta_1": 0.8,
    "beta_2": 0.99,
    "mean": 0.3,
    "value": 0.1,
    "stddev": 0.7,
    "minval": -0.2,
    "maxval": 0.4,
    "scale": 1.7,
    "mode": "fan_out",
    "distribution": "uniform",
    "negative_slope": 0.2,
    "alpha": 0.5,
    "l1": 0.03,
    "l2": 0.02,
    "units": 7,
    "activation": {"name": "leaky_relu", "negative_slope": 0.3},
    "use_bias": False,
    "kernel_initializer": "he_uniform",
    "bias_initializer": {"name": "random_normal", "mean": 0.0, "stddev": 0.1},
    "kernel_regularizer": {"name": "l2", "l2": 0.001},
    "name": "custom",
    "rate": 0.3,
}


def described(value):
    """A comparable form of an attribute: objects by their config."""
    return value.get_config() if hasattr(value, "get_config") else value


def every_class():
    return [
        pytest.param(kind, registry.get_class(kind, name), id=f"{kind}-{name}")
        for kind in registry.KINDS
        for name in registry.names(kind)
    ]


@pytest.mark.parametrize(("kind", "cls"), every_class())
def test_every_argument_round_trips(kind, cls):
    params = [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    kwargs = {p.name: NON_DEFAULT[p.name] for p in params}
    assert all(kwargs[p.name] != p.default for p in params)
    built = cls(**kwargs)
    config = built.get_config()
    again = registry.get(kind, config)
    assert type(again) is cls
    assert again.get_config() == config
    for p in params:
        assert described(getattr(again, p.name)) == described(getattr(built, p.name)), p.name


def test_a_network_round_trips_with_every_setting():
    net = Sequential(
        [Dense(5, activation="relu", name="hidden"), Dropout(0.25), Dense(1)],
        input_dim=3,
        seed=42,
        dtype="float32",
        dead_window=5,
    )
    again = Sequential.from_config(net.get_config())
    for attribute in ("input_dim", "seed", "dtype", "dead_window"):
        assert getattr(again, attribute) == getattr(net, attribute)
    assert again.get_config() == net.get_config()
    net.compile("sgd", "mse")
    clone = net.clone()
    assert clone.dead_window == 5
    assert clone.meter.dead_window == 5


def test_a_bad_spec_names_the_kind_and_the_choices():
    with pytest.raises(
        ValueError, match="optimizer must be one of sgd, rmsprop, adam; got 'lbfgs'"
    ):
        registry.get("optimizer", "lbfgs")
    with pytest.raises(ValueError, match="layer class must be one of Dense"):
        registry.get("layer", {"class": "Conv2D"})
    assert registry.get("regularizer", None) is None
    assert registry.get("activation", None).name == "linear"
