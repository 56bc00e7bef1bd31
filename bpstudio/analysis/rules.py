"""Analysis of a network before training: output shape and parameters per layer, and warnings
about what is likely to go wrong (as MATLAB's analyzeNetwork does, but about training)."""

from __future__ import annotations

from dataclasses import dataclass

from bpstudio.core import Dropout, Sequential
from bpstudio.core.initializers import RandomNormal, RandomUniform, VarianceScaling, Zeros


@dataclass(frozen=True)
class Warning_:
    layer: str | None  # None: about the whole network
    message: str


def analyze(net: Sequential) -> tuple[list[dict], list[Warning_]]:
    """Rows of net.summary_rows() and the warnings that apply."""
    rows = net.summary_rows()
    warnings: list[Warning_] = []
    hidden = net.activation_layers[:-1]
    squashing = [layer for layer in hidden if layer.activation.name in ("sigmoid", "tanh")]
    sigmoids = [layer for layer in hidden if layer.activation.name == "sigmoid"]
    if len(sigmoids) >= 3 or len(squashing) >= 5:
        warnings.append(
            Warning_(
                None,
                f"{len(squashing)} hidden layers use sigmoid/tanh: "
                "gradients shrink at every one of them on the way back, so the "
                "first layers will barely learn (vanishing gradients). Try "
                "ReLU, He initialization or batch normalization.",
            )
        )
    if hidden and all(layer.activation.name == "linear" for layer in hidden):
        warnings.append(
            Warning_(
                None,
                "every hidden layer is linear: together they are one "
                "linear map, so the hidden layers add nothing. Give them a "
                "non-linear activation (ReLU, tanh).",
            )
        )
    for layer in net.kernel_layers:
        init = layer.kernel_initializer
        fan_in = layer.input_dim
        std = None
        if isinstance(init, RandomNormal):
            std = init.stddev
        elif isinstance(init, RandomUniform):
            std = (init.maxval - init.minval) / 12**0.5
        if isinstance(init, Zeros):
            warnings.append(
                Warning_(
                    layer.name,
                    "the kernel starts at zero: every unit of "
                    "the layer computes the same thing and gets the same "
                    "gradient, so they never become different. Use a random "
                    "initializer (glorot_uniform, he_normal).",
                )
            )
        elif std is not None and std * fan_in**0.5 > 2.5:
            warnings.append(
                Warning_(
                    layer.name,
                    f"the initial weights are large (std {std:g} "
                    f"with {fan_in} inputs): signals and gradients grow from "
                    f"layer to layer and may explode. Try a smaller scale or "
                    f"he_normal / glorot_uniform.",
                )
            )
        elif isinstance(init, VarianceScaling) and init.scale > 10:
            warnings.append(
                Warning_(
                    layer.name, "the initializer's scale is very large: gradients may explode."
                )
            )
    for layer in net.layers:
        if isinstance(layer, Dropout) and layer.rate >= 1.0:
            warnings.append(
                Warning_(
                    layer.name,
                    "dropout rate 1.0 drops every unit: nothing passes and nothing can be learned.",
                )
            )
        elif isinstance(layer, Dropout) and layer.rate >= 0.8:
            warnings.append(
                Warning_(
                    layer.name,
                    f"dropout rate {layer.rate:g} keeps only "
                    f"{1 - layer.rate:.0%} of the units: training will be "
                    f"very noisy and slow.",
                )
            )
    opt = net.optimizer
    if opt is not None:
        relu = any(layer.activation.name == "relu" for layer in hidden)
        if opt.name == "sgd" and opt.learning_rate >= 1.0:
            warnings.append(
                Warning_(
                    None,
                    f"learning rate {opt.learning_rate:g} is high for "
                    f"SGD: the loss may jump around or blow up.",
                )
            )
        elif relu and opt.name == "sgd" and opt.learning_rate >= 0.3:
            warnings.append(
                Warning_(
                    None,
                    f"learning rate {opt.learning_rate:g} with ReLU: "
                    f"large steps can push units to where they never fire "
                    f"again (dead ReLU units).",
                )
            )
        if opt.name == "adam" and opt.learning_rate >= 0.1:
            warnings.append(
                Warning_(
                    None,
                    f"learning rate {opt.learning_rate:g} is very high for Adam (0.001 is usual).",
                )
            )
    if net.loss is not None:
        out = net.layers[-1].activation
        name = out.name if out else None
        if net.loss.name == "categorical_crossentropy" and name != "softmax":
            warnings.append(
                Warning_(
                    net.layers[-1].name,
                    "categorical cross-entropy expects "
                    "probabilities: end the network with softmax.",
                )
            )
        if net.loss.name == "binary_crossentropy" and name != "sigmoid":
            warnings.append(
                Warning_(
                    net.layers[-1].name,
                    "binary cross-entropy expects probabilities: end the network with sigmoid.",
                )
            )
    return rows, warnings
