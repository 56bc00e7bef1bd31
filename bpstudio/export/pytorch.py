"""Export to PyTorch: a standalone script (templates/pytorch.py.jinja) defining
`StudioNet(nn.Module)` in the studio's layer order and names, loading the trained weights and
the data from an .npz beside it, and training further with the same settings."""

from __future__ import annotations

from pathlib import Path

from bpstudio.core import Sequential
from bpstudio.core.layers import Activation, BatchNormalization, Dense, Dropout
from bpstudio.data.datasets import Dataset
from bpstudio.export.common import (
    WIDTH,
    Exported,
    call,
    docstring,
    float_type,
    literal,
    regularized,
    render,
    script_name,
    write_script,
)
from bpstudio.project import Project

LABEL = "PyTorch script"
SUFFIX = ".py"
DESCRIPTION = "A PyTorch script with the same network and weights"


def export(project: Project, net: Sequential, dataset: Dataset, out: Path) -> Exported:
    """The script at `out` (.py) and `<out>.npz` beside it with the weights and the data."""
    return write_script("pytorch", script, project, net, dataset, out)


_TORCH_ACTIVATIONS = {
    "relu": ("nn.ReLU", []),
    "tanh": ("nn.Tanh", []),
    "sigmoid": ("nn.Sigmoid", []),
    "softmax": ("nn.Softmax", ["dim=1"]),
}


#: PyTorch's name for each studio parameter or statistic, by layer class.
_TORCH_NAMES = {
    Dense: (("weight", "kernel"), ("bias", "bias")),
    BatchNormalization: (
        ("weight", "gamma"),
        ("bias", "beta"),
        ("running_mean", "moving_mean"),
        ("running_var", "moving_variance"),
    ),
}


def _torch_activation(act) -> tuple[str, list[str]] | None:
    if act.name == "linear":
        return None
    if act.name == "leaky_relu":
        return "nn.LeakyReLU", [f"negative_slope={literal(act.negative_slope)}"]
    if act.name == "elu":
        return "nn.ELU", [f"alpha={literal(act.alpha)}"]
    return _TORCH_ACTIVATIONS[act.name]


def _torch_modules(net: Sequential) -> list[tuple[str, str, str]]:
    """(name, constructor, comment) for each PyTorch module, in order."""
    modules, dim = [], net.input_dim
    for layer in net.layers:
        if isinstance(layer, Dense):
            bias = [] if layer.use_bias else ["bias=False"]
            modules.append((layer.name, ("nn.Linear", [str(dim), str(layer.units), *bias]), ""))
            dim = layer.units
        elif isinstance(layer, Dropout):
            note = "inverted dropout, as in the studio" if layer.rate < 1 else "drops everything"
            modules.append((layer.name, ("nn.Dropout", [f"p={literal(layer.rate)}"]), note))
            continue
        elif isinstance(layer, BatchNormalization):
            modules.append(
                (
                    layer.name,
                    (
                        "nn.BatchNorm1d",
                        [
                            str(dim),
                            f"eps={literal(layer.epsilon)}",
                            f"momentum={literal(round(1 - layer.momentum, 12))}",
                        ],
                    ),
                    f"studio momentum {layer.momentum:g} is PyTorch's {1 - layer.momentum:.12g};\n"
                    "PyTorch's running_var takes the unbiased batch variance",
                )
            )
            continue
        act = getattr(layer, "activation", None)
        made = _torch_activation(act) if act is not None else None
        if made is not None:
            name = layer.name if isinstance(layer, Activation) else f"{layer.name}_{act.name}"
            modules.append((name, made, ""))
    return modules


def _torch_loss(net: Sequential) -> tuple[str, str]:
    """The loss module and a comment on it."""
    name = net.loss.name
    if name == "mse":
        return "nn.MSELoss()", "mean over examples and outputs, as in the studio"
    if name == "binary_crossentropy":
        if net.fused:
            return "nn.BCEWithLogitsLoss()", "takes logits: the sigmoid is inside the loss"
        return "nn.BCELoss()", "takes probabilities"
    if net.fused:
        return "nn.CrossEntropyLoss()", "takes logits and class indices: softmax is inside"
    return "nn.NLLLoss()", "takes log-probabilities and class indices"


def _torch_optimizer(net: Sequential) -> list[str]:
    opt = net.optimizer
    args = ["model.parameters()", f"lr={literal(opt.learning_rate)}"]
    if opt.name == "sgd":
        return [
            "    # PyTorch's momentum buffer holds v = momentum*v + g and steps by -lr*v;",
            "    # Keras and the studio keep v = momentum*v - lr*g and step by v: the same.",
            *call(
                4,
                "optimizer = torch.optim.SGD",
                [*args, f"momentum={literal(opt.momentum)}", f"nesterov={opt.nesterov}"],
            ),
        ]
    if opt.name == "rmsprop":
        return [
            "    # The studio (like Keras) adds epsilon inside the square root, PyTorch",
            "    # outside it: a difference only where the average of g² is near epsilon.",
            *call(
                4,
                "optimizer = torch.optim.RMSprop",
                [
                    *args,
                    f"alpha={literal(opt.rho)}",
                    f"eps={literal(opt.epsilon)}",
                    f"momentum={literal(opt.momentum)}",
                    f"centered={opt.centered}",
                ],
            ),
        ]
    return [
        "    # Keras and the studio add epsilon after the bias correction of v, PyTorch",
        "    # before it: the steps differ slightly, and only in the first iterations.",
        *call(
            4,
            "optimizer = torch.optim.Adam",
            [
                *args,
                f"betas=({literal(opt.beta_1)}, {literal(opt.beta_2)})",
                f"eps={literal(opt.epsilon)}",
            ],
        ),
    ]


def _torch_accuracy(net: Sequential, dataset: Dataset) -> str | None:
    if dataset.task != "classification":
        return None
    if net.output_dim == 1:
        return "(model(x) > 0.5) == (y > 0.5)"
    return "model(x).argmax(1) == y"


def _module_lines(modules) -> list[str]:
    lines = []
    for name, (callee, args), note in modules:
        lines += [f"                    # {line}" for line in note.split("\n") if note]
        one = f'                    ("{name}", {callee}({", ".join(args)})),'
        if len(one) <= WIDTH:
            lines.append(one)
        else:
            lines += [
                "                    (",
                f'                        "{name}",',
                *call(24, callee, args, ","),
                "                    ),",
            ]
    return lines


def _weight_copies(net: Sequential) -> list[str]:
    lines = []
    for layer in net.layers:
        for torch_name, key in _TORCH_NAMES.get(type(layer), ()):
            if key in layer.params or key in layer.state:
                source = f'w["{layer.name}/{key}"]' + (".T" if key == "kernel" else "")
                lines += call(
                    8, f"layers.{layer.name}.{torch_name}.copy_", [f"torch.from_numpy({source})"]
                )
    return lines


def _penalty_lines(net: Sequential) -> list[str]:
    terms = []
    for layer, l1, l2 in regularized(net):
        w = f"layers.{layer.name}.weight"
        if l1:
            terms.append(f"{literal(l1)} * {w}.abs().sum()")
        if l2:
            terms.append(f"{literal(l2)} * {w}.pow(2).sum()")
    if not terms:
        return []
    one = f"    return {' + '.join(terms)}"
    if len(one) <= WIDTH:
        return [one]
    return ["    return (", "        " + terms[0], *(f"        + {t}" for t in terms[1:]), "    )"]


def script(project: Project, net: Sequential, dataset: Dataset, data_file: str) -> str:
    """The script's text; it reads `data_file` from beside itself."""
    modules = _torch_modules(net)
    output = modules.pop()[1] if net.fused else None
    loss, loss_note = _torch_loss(net)
    if net.loss.name in ("mse", "binary_crossentropy"):
        target = "torch.from_numpy(y).to(x.dtype).reshape(len(y), -1)"
    else:
        target = "torch.from_numpy(y).long()"
    penalty = _penalty_lines(net)
    clip = net.optimizer.global_clipnorm
    about = docstring(
        project,
        net,
        dataset,
        "PyTorch",
        f"Run it: python {script_name(data_file)} [--epochs N]. It needs torch and numpy, reads "
        f"{data_file} (weights and data) from beside this file, prints the test loss of the "
        f"network as trained in the studio, then trains it further with the same settings.",
    )
    return render(
        "pytorch.py.jinja",
        docstring=about,
        data_file=data_file,
        epochs=project.epochs,
        batch_size=project.batch_size,
        seed=project.seed,
        float_type=float_type(net),
        modules=_module_lines(modules),
        output=f"{output[0]}({', '.join(output[1])})" if output else None,
        copies=_weight_copies(net),
        target=target,
        loss=loss,
        loss_note=loss_note,
        penalty=penalty,
        plus_penalty=" + penalty(model)" if penalty else "",
        log_probabilities=not net.fused and net.loss.name == "categorical_crossentropy",
        logits="model.logits" if net.fused else "model",
        accuracy=_torch_accuracy(net, dataset),
        optimizer=_torch_optimizer(net),
        clipnorm=literal(clip) if clip is not None else None,
    )
