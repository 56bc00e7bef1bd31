"""Analysis of a network before training: output shape and parameters per layer, and warnings
about what is likely to go wrong (as MATLAB's analyzeNetwork does, but about training).

The warnings are a table of rules, RULES, each a function of the network that yields what
it finds; its thresholds are named below."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bpstudio.core import BatchNormalization, Dropout, Sequential
from bpstudio.core.initializers import RandomNormal, RandomUniform, VarianceScaling, Zeros

#: Hidden sigmoid layers, or sigmoid/tanh layers, from which gradients vanish.
DEEP_SIGMOID = 3
DEEP_SQUASHING = 5
#: An initial weight spread std * sqrt(fan_in) above this makes signals grow layer by layer.
LARGE_INIT = 2.5
#: A variance-scaling initializer's scale above this is asking for explosions.
HUGE_SCALE = 10.0
#: Dropout rates from which training is mostly noise.
DROPOUT_HIGH = 0.8
#: Learning rates from which a step is too big: plain SGD, SGD with ReLU (dead units), Adam.
SGD_LR_HIGH = 1.0
#: (lesson 4: 75 % of the units died at 3, 4 % at 0.3)
RELU_SGD_LR_HIGH = 0.5
ADAM_LR_HIGH = 0.1


@dataclass(frozen=True)
class Warning_:
    rule: str  # the name of the rule that found it
    layer: str | None  # None: about the whole network
    message: str


@dataclass(frozen=True)
class Rule:
    name: str
    check: Callable[[Sequential], Iterator[tuple[str | None, str]]]  # -> (layer, message)


def _hidden(net):
    return net.activation_layers[:-1]


def _deep_squashing(net):
    if any(isinstance(x, BatchNormalization) for x in net.layers):
        return  # batch normalization keeps them out of their flat ends: the cure
    squashing = [x for x in _hidden(net) if x.activation.name in ("sigmoid", "tanh")]
    sigmoids = [x for x in squashing if x.activation.name == "sigmoid"]
    if len(sigmoids) >= DEEP_SIGMOID or len(squashing) >= DEEP_SQUASHING:
        yield (
            None,
            f"{len(squashing)} hidden layers use sigmoid/tanh: gradients shrink at every one "
            "of them on the way back, so the first layers will barely learn (vanishing "
            "gradients). Try ReLU, He initialization or batch normalization.",
        )


def _linear_stack(net):
    hidden = _hidden(net)
    if hidden and all(x.activation.name == "linear" for x in hidden):
        yield (
            None,
            "every hidden layer is linear: together they are one linear map, so the hidden "
            "layers add nothing. Give them a non-linear activation (ReLU, tanh).",
        )


def _zero_kernel(net):
    for layer in net.kernel_layers:
        if isinstance(layer.kernel_initializer, Zeros):
            yield (
                layer.name,
                "the kernel starts at zero: every unit of the layer computes the same thing "
                "and gets the same gradient, so they never become different. Use a random "
                "initializer (glorot_uniform, he_normal).",
            )


def _initial_spread(init) -> float | None:
    if isinstance(init, RandomNormal):
        return init.stddev
    if isinstance(init, RandomUniform):
        return (init.maxval - init.minval) / 12**0.5
    return None


def _large_init(net):
    for layer in net.kernel_layers:
        std, fan_in = _initial_spread(layer.kernel_initializer), layer.input_dim
        if std is not None and std * fan_in**0.5 > LARGE_INIT:
            yield (
                layer.name,
                f"the initial weights are large (std {std:g} with {fan_in} inputs): signals "
                f"and gradients grow from layer to layer and may explode. Try a smaller scale "
                f"or he_normal / glorot_uniform.",
            )


def _huge_scale(net):
    for layer in net.kernel_layers:
        init = layer.kernel_initializer
        if isinstance(init, VarianceScaling) and init.scale > HUGE_SCALE:
            yield layer.name, "the initializer's scale is very large: gradients may explode."


def _dropout_all(net):
    for layer in net.layers:
        if isinstance(layer, Dropout) and layer.rate >= 1.0:
            yield (
                layer.name,
                "dropout rate 1.0 drops every unit: nothing passes and nothing can be learned.",
            )


def _dropout_high(net):
    for layer in net.layers:
        if isinstance(layer, Dropout) and DROPOUT_HIGH <= layer.rate < 1.0:
            yield (
                layer.name,
                f"dropout rate {layer.rate:g} keeps only {1 - layer.rate:.0%} of the units: "
                f"training will be very noisy and slow.",
            )


def _relu(net) -> bool:
    return any(x.activation.name == "relu" for x in _hidden(net))


def _sgd_lr_high(net):
    opt = net.optimizer
    high = opt is not None and opt.name == "sgd" and opt.learning_rate >= SGD_LR_HIGH
    if high and not _relu(net):  # with ReLU, relu_lr_high says more
        yield (
            None,
            f"learning rate {opt.learning_rate:g} is high for SGD: the loss may jump around "
            f"or blow up.",
        )


def _relu_lr_high(net):
    opt = net.optimizer
    if (
        _relu(net)
        and opt is not None
        and opt.name == "sgd"
        and opt.learning_rate >= RELU_SGD_LR_HIGH
    ):
        yield (
            None,
            f"learning rate {opt.learning_rate:g} with ReLU: large steps can push units to "
            f"where they never fire again (dead ReLU units).",
        )


def _adam_lr_high(net):
    opt = net.optimizer
    if opt is not None and opt.name == "adam" and opt.learning_rate >= ADAM_LR_HIGH:
        yield (
            None,
            f"learning rate {opt.learning_rate:g} is very high for Adam (0.001 is usual).",
        )


def _output_for(loss, activation, what):
    def check(net):
        out = net.layers[-1].activation
        if net.loss is not None and net.loss.name == loss and (out and out.name) != activation:
            yield (
                net.layers[-1].name,
                f"{what} expects probabilities: end the network with {activation}.",
            )

    return check


RULES = (
    Rule("deep_squashing", _deep_squashing),
    Rule("linear_stack", _linear_stack),
    Rule("zero_kernel", _zero_kernel),
    Rule("large_init", _large_init),
    Rule("huge_scale", _huge_scale),
    Rule("dropout_all", _dropout_all),
    Rule("dropout_high", _dropout_high),
    Rule("sgd_lr_high", _sgd_lr_high),
    Rule("relu_lr_high", _relu_lr_high),
    Rule("adam_lr_high", _adam_lr_high),
    Rule(
        "softmax_for_categorical",
        _output_for("categorical_crossentropy", "softmax", "categorical cross-entropy"),
    ),
    Rule(
        "sigmoid_for_binary",
        _output_for("binary_crossentropy", "sigmoid", "binary cross-entropy"),
    ),
)


def analyze(net: Sequential) -> tuple[list[dict], list[Warning_]]:
    """Rows of net.summary_rows() and the warnings of every rule that applies."""
    warnings = [
        Warning_(rule.name, layer, message) for rule in RULES for layer, message in rule.check(net)
    ]
    return net.summary_rows(), warnings
