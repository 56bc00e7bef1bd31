"""Export to Keras 3: a standalone script (templates/keras.py.jinja) with the same model,
the trained weights and the same training. The studio follows Keras' conventions, so little
needs translating: LeakyReLU slopes other than Keras' 0.2 and ELU alphas other than 1 become
layers of their own."""

from __future__ import annotations

from pathlib import Path

from bpstudio.core import Sequential
from bpstudio.core.layers import Activation, BatchNormalization, Dropout
from bpstudio.data.datasets import Dataset
from bpstudio.export.common import (
    Exported,
    call,
    docstring,
    float_type,
    identifier,
    literal,
    render,
    script_name,
    write_script,
)
from bpstudio.project import Project

LABEL = "Keras script"
SUFFIX = ".py"
DESCRIPTION = "A Keras 3 script with the same network and weights"


def export(project: Project, net: Sequential, dataset: Dataset, out: Path) -> Exported:
    """The script at `out` (.py) and `<out>.npz` beside it with the weights and the data."""
    return write_script("keras", script, project, net, dataset, out)


_KERAS_LOSSES = {
    "mse": '"mean_squared_error"',
    "binary_crossentropy": '"binary_crossentropy"',
    "categorical_crossentropy": '"sparse_categorical_crossentropy"',
}


def _keras_layers(net: Sequential) -> list[tuple[str, list[str]]]:
    """(callee, arguments) for each Keras layer, in order."""
    made = [("keras.Input", [f"shape=({net.input_dim},)"])]
    for layer in net.layers:
        name = f'name="{layer.name}"'
        if isinstance(layer, Dropout):
            made.append(("layers.Dropout", [literal(layer.rate), name]))
            continue
        if isinstance(layer, BatchNormalization):
            made.append(
                (
                    "layers.BatchNormalization",
                    [
                        f"momentum={literal(layer.momentum)}",
                        f"epsilon={literal(layer.epsilon)}",
                        name,
                    ],
                )
            )
            continue
        act = layer.activation
        # Keras' "leaky_relu" string means a slope of 0.2 and "elu" an alpha of 1: other
        # values need their own layer after the Dense one.
        apart = None
        if act.name == "leaky_relu":
            apart = ("layers.LeakyReLU", [f"negative_slope={literal(act.negative_slope)}"])
        elif act.name == "elu" and act.alpha != 1.0:
            apart = ("layers.ELU", [f"alpha={literal(act.alpha)}"])
        if isinstance(layer, Activation):
            if apart:
                made.append((apart[0], [*apart[1], name]))
            else:
                made.append(("layers.Activation", [f'"{act.name}"', name]))
            continue
        args = [str(layer.units)]
        if apart is None and act.name != "linear":
            args.append(f'activation="{act.name}"')
        if not layer.use_bias:
            args.append("use_bias=False")
        reg = layer.kernel_regularizer
        if reg is not None:
            l1, l2 = literal(getattr(reg, "l1", 0.0)), literal(getattr(reg, "l2", 0.0))
            args.append(f"kernel_regularizer=keras.regularizers.L1L2(l1={l1}, l2={l2})")
        made.append(("layers.Dense", [*args, name]))
        if apart:
            made.append((apart[0], [*apart[1], f'name="{layer.name}_{act.name}"']))
    return made


def _keras_optimizer(net: Sequential) -> tuple[str, list[str]]:
    opt = net.optimizer
    args = [f"learning_rate={literal(opt.learning_rate)}"]
    if opt.name == "sgd":
        cls = "SGD"
        args += [f"momentum={literal(opt.momentum)}", f"nesterov={opt.nesterov}"]
    elif opt.name == "rmsprop":
        cls = "RMSprop"
        args += [
            f"rho={literal(opt.rho)}",
            f"momentum={literal(opt.momentum)}",
            f"epsilon={literal(opt.epsilon)}",
            f"centered={opt.centered}",
        ]
    else:
        cls = "Adam"
        args += [
            f"beta_1={literal(opt.beta_1)}",
            f"beta_2={literal(opt.beta_2)}",
            f"epsilon={literal(opt.epsilon)}",
        ]
    if opt.global_clipnorm is not None:
        args.append(f"global_clipnorm={literal(opt.global_clipnorm)}")
    return f"keras.optimizers.{cls}", args


def script(project: Project, net: Sequential, dataset: Dataset, data_file: str) -> str:
    """The script's text; it reads `data_file` from beside itself."""
    about = docstring(
        project,
        net,
        dataset,
        "Keras 3",
        f"Run it: python {script_name(data_file)} [--epochs N], with any Keras backend "
        f"(KERAS_BACKEND=tensorflow, jax or torch). It reads {data_file} (weights and data) "
        f"from beside this file, evaluates the network as trained in the studio, then "
        f"trains it further with the same settings. The studio follows Keras' conventions, "
        f"so nothing needs translating.",
    )
    callee, args = _keras_optimizer(net)
    categorical = net.loss.name == "categorical_crossentropy"
    return render(
        "keras.py.jinja",
        docstring=about,
        data_file=data_file,
        epochs=project.epochs,
        batch_size=project.batch_size,
        seed=project.seed,
        float_type=float_type(net),
        layers=[line for c, a in _keras_layers(net) for line in call(12, c, a, ",")],
        name=identifier(project.name),
        one_column=not categorical,
        optimizer=call(8, f"optimizer={callee}", args, ","),
        loss=_KERAS_LOSSES[net.loss.name],
        class_indices=categorical,
        metrics='["accuracy"]' if dataset.task == "classification" else "[]",
    )
