"""Hand a trained network to another framework: a PyTorch or Keras 3 script (with the weights
and the data in an .npz beside it), an ONNX model in inference mode, or a plain .npz.

The scripts are generated as text that is already formatted (ruff format leaves it alone) and
are meant to be read: each translation between the studio's conventions and the framework's
is commented where it happens."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpstudio.core import Sequential
from bpstudio.core.layers import Activation, BatchNormalization, Dense, Dropout
from bpstudio.data.datasets import Dataset
from bpstudio.project import Project

TARGETS = ("pytorch", "keras", "onnx", "npz")
ONNX_OPSET = 17
ONNX_INPUT, ONNX_OUTPUT = "input", "output"


class ExportError(ValueError):
    """An export that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the main file and the files beside it."""

    path: Path
    extra: tuple[Path, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.path, *self.extra)


def export_project(project: Project, to: str, out) -> Exported:
    """Write `project`'s network as `to` (one of TARGETS) at `out`.

    pytorch/keras: `out` is the script (.py) and `<out>.npz` beside it holds the weights and
    the dataset; onnx: `out` is the model; npz: `out` holds every parameter by name plus the
    project's JSON under "project.json"."""
    if to not in TARGETS:
        raise ExportError(f"export target must be one of {', '.join(TARGETS)}; got {to!r}")
    out = Path(out)
    dataset = project.build_dataset()
    net = project.build_network(dataset)
    if to == "npz":
        arrays = {**net.get_weights(), "project.json": np.array(json.dumps(project.to_json()))}
        _write_npz(out, arrays)
        return Exported(out)
    if to == "onnx":
        model = onnx_model(net, dataset, project.name)
        _write_bytes(out, model.SerializeToString())
        return Exported(out)
    if out.suffix != ".py":
        raise ExportError(f"a {to} export is a Python script: give a name ending in .py, not {out}")
    data = out.with_suffix(".npz")
    script = (pytorch_script if to == "pytorch" else keras_script)(project, net, dataset, data.name)
    _write_npz(data, {**net.get_weights(), **_data_arrays(dataset)})
    _write_bytes(out, script.encode())
    return Exported(out, (data,))


def _data_arrays(dataset: Dataset) -> dict:
    arrays = {
        "X_train": dataset.X_train,
        "y_train": dataset.y_train,
        "X_test": dataset.X_test,
        "y_test": dataset.y_test,
    }
    if dataset.scaling is not None:
        arrays["input_mean"], arrays["input_std"] = dataset.scaling
    return arrays


def _write_npz(path: Path, arrays: dict):
    try:
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_bytes(path: Path, data: bytes):
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None


# ------------------------------------------------------------------ what every script says


def _describe_inputs(dataset: Dataset) -> list[str]:
    names = dataset.feature_names
    shown = ", ".join(names) if len(names) <= 8 else f"{', '.join(names[:4])}, … {names[-1]}"
    lines = [f"Inputs: {len(names)} numbers per example, in this order: {shown}."]
    if dataset.scaling is not None:
        lines.append(
            "They are standardized CSV columns: subtract input_mean and divide by input_std "
            "(both in the .npz) before calling the model; X_train and X_test already are."
        )
    elif dataset.recipe.is_2d and tuple(names) != ("x1", "x2"):
        lines.append("Each is computed from the raw point (x1, x2), as the studio's features are.")
    return lines


def _describe_outputs(net: Sequential, dataset: Dataset) -> str:
    if dataset.task == "regression":
        return f"Output: {net.output_dim} predicted value{'s' * (net.output_dim > 1)} (linear)."
    if dataset.n_classes == 2:
        return f"Output: the probability of class {dataset.class_names[1]!r} (sigmoid)."
    return f"Output: {net.output_dim} class probabilities (softmax), classes {_classes(dataset)}."


def _classes(dataset: Dataset) -> str:
    names = dataset.class_names
    return ", ".join(names) if len(names) <= 12 else f"{names[0]} … {names[-1]}"


def _wrap(text: str, width: int = 88) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


def _header(project: Project, net: Sequential, dataset: Dataset, framework: str, run: str):
    about = _wrap(f'"""{project.name} (Backprop Studio export) as a {framework} model.')
    about.append("")
    about += _wrap(
        f"The network: {net.input_dim} inputs -> "
        + " -> ".join(_layer_summary(layer) for layer in net.layers)
        + f"; {net.count_params():,} parameters, trained for {net.steps:,} steps."
    )
    about.append("")
    for line in [*_describe_inputs(dataset), _describe_outputs(net, dataset)]:
        about += _wrap(line)
    about += ["", *_wrap(run), '"""']
    return about


def _script_name(data_file: str) -> str:
    return str(Path(data_file).with_suffix(".py"))


def _layer_summary(layer) -> str:
    if isinstance(layer, Dense):
        return f"Dense({layer.units}, {layer.activation.name})"
    if isinstance(layer, Activation):
        return f"Activation({layer.activation.name})"
    if isinstance(layer, Dropout):
        return f"Dropout({layer.rate:g})"
    return "BatchNormalization"


def _call(indent: int, head: str, args: list[str], tail: str = "", width: int = 88) -> list[str]:
    """`head(args)tail` laid out as ruff format would: on one line if it fits, else the
    arguments on one line of their own, else one per line with a trailing comma."""
    pad = " " * indent
    one = f"{pad}{head}({', '.join(args)}){tail}"
    if len(one) <= width:
        return [one]
    inner = f"{pad}    {', '.join(args)}"
    if len(inner) <= width:
        return [f"{pad}{head}(", inner, f"{pad}){tail}"]
    return [f"{pad}{head}(", *(f"{pad}    {a}," for a in args), f"{pad}){tail}"]


def _float(value) -> str:
    return repr(float(value))


def _regularized(net: Sequential):
    """(layer, l1, l2) for each Dense layer with a kernel regularizer."""
    for layer in net.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is not None:
            yield layer, getattr(reg, "l1", 0.0), getattr(reg, "l2", 0.0)


# ------------------------------------------------------------------ PyTorch


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
        return "nn.LeakyReLU", [f"negative_slope={_float(act.negative_slope)}"]
    if act.name == "elu":
        return "nn.ELU", [f"alpha={_float(act.alpha)}"]
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
            modules.append((layer.name, ("nn.Dropout", [f"p={_float(layer.rate)}"]), note))
            continue
        elif isinstance(layer, BatchNormalization):
            modules.append(
                (
                    layer.name,
                    (
                        "nn.BatchNorm1d",
                        [
                            str(dim),
                            f"eps={_float(layer.epsilon)}",
                            f"momentum={_float(round(1 - layer.momentum, 12))}",
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
    args = ["model.parameters()", f"lr={_float(opt.learning_rate)}"]
    if opt.name == "sgd":
        return [
            "    # PyTorch's momentum buffer holds v = momentum*v + g and steps by -lr*v;",
            "    # Keras and the studio keep v = momentum*v - lr*g and step by v: the same.",
            *_call(
                4,
                "optimizer = torch.optim.SGD",
                [*args, f"momentum={_float(opt.momentum)}", f"nesterov={opt.nesterov}"],
            ),
        ]
    if opt.name == "rmsprop":
        return [
            "    # The studio (like Keras) adds epsilon inside the square root, PyTorch",
            "    # outside it: a difference only where the average of g² is near epsilon.",
            *_call(
                4,
                "optimizer = torch.optim.RMSprop",
                [
                    *args,
                    f"alpha={_float(opt.rho)}",
                    f"eps={_float(opt.epsilon)}",
                    f"momentum={_float(opt.momentum)}",
                    f"centered={opt.centered}",
                ],
            ),
        ]
    return [
        "    # Keras and the studio add epsilon after the bias correction of v, PyTorch",
        "    # before it: the steps differ slightly, and only in the first iterations.",
        *_call(
            4,
            "optimizer = torch.optim.Adam",
            [
                *args,
                f"betas=({_float(opt.beta_1)}, {_float(opt.beta_2)})",
                f"eps={_float(opt.epsilon)}",
            ],
        ),
    ]


def pytorch_script(project: Project, net: Sequential, dataset: Dataset, data_file: str) -> str:
    """A standalone script defining `StudioNet(nn.Module)`, loading the trained weights from
    `data_file` (beside the script) and training further with the same settings."""
    fused = net.fused
    modules = _torch_modules(net)
    output = None
    if fused:
        output = modules.pop()
    float_type = "float32" if net.dtype == np.float32 else "float64"
    lines = _header(
        project,
        net,
        dataset,
        "PyTorch",
        f"Run it: python {_script_name(data_file)} [--epochs N]. It needs torch and numpy, reads "
        f"{data_file} (weights and data) from beside this file, prints the test loss of the "
        f"network as trained in the studio, then trains it further with the same settings.",
    )
    lines += [
        "",
        "import argparse",
        "from collections import OrderedDict",
        "from pathlib import Path",
        "",
        "import numpy as np",
        "import torch",
        "from torch import nn",
        "",
        f'DATA = Path(__file__).with_name("{data_file}")',
        f"EPOCHS = {project.epochs}",
        f"BATCH_SIZE = {project.batch_size}",
        f"SEED = {project.seed}",
        f"torch.set_default_dtype(torch.{float_type})  # the studio trained in {float_type}",
        "",
        "",
        "class StudioNet(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.layers = nn.Sequential(",
        "            OrderedDict(",
        "                [",
    ]
    for name, (callee, args), note in modules:
        if note:
            lines += [f"                    # {line}" for line in note.split("\n")]
        one = f'                    ("{name}", {callee}({", ".join(args)})),'
        if len(one) <= 88:
            lines.append(one)
        else:
            lines += [
                "                    (",
                f'                        "{name}",',
                *_call(24, callee, args, ","),
                "                    ),",
            ]
    lines += ["                ]", "            )", "        )"]
    if fused:
        lines += [
            "        # The output activation sits apart: the loss takes the logits before it,",
            "        # as the studio's does, which is exact where sigmoid/softmax saturate.",
            f"        self.output = {output[1][0]}({', '.join(output[1][1])})",
            "",
            "    def logits(self, x):",
            "        return self.layers(x)",
            "",
            "    def forward(self, x):",
            "        return self.output(self.layers(x))",
        ]
    else:
        lines += ["", "    def forward(self, x):", "        return self.layers(x)"]
    lines += [
        "",
        "",
        "def load_studio_weights(model, path=DATA):",
        '    """Copy the weights trained in the studio into `model`."""',
        "    w = np.load(path)",
        "    layers = model.layers",
        "    with torch.no_grad():",
    ]
    lines.append(
        "        # The studio keeps a kernel as (inputs, units), nn.Linear as (units, inputs)."
    )
    for layer in net.layers:
        for torch_name, key in _TORCH_NAMES.get(type(layer), ()):
            if key in layer.params or key in layer.state:
                source = f'w["{layer.name}/{key}"]' + (".T" if key == "kernel" else "")
                lines += _call(
                    8, f"layers.{layer.name}.{torch_name}.copy_", [f"torch.from_numpy({source})"]
                )
    loss, loss_note = _torch_loss(net)
    logits = "model.logits" if fused else "model"
    if net.loss.name == "mse" or net.loss.name == "binary_crossentropy":
        target = "torch.from_numpy(y).to(x.dtype).reshape(len(y), -1)"
    else:
        target = "torch.from_numpy(y).long()"
    lines += [
        "",
        "",
        "def load_data(path=DATA):",
        '    """(X_train, y_train, X_test, y_test) as tensors the loss accepts."""',
        "    w = np.load(path)",
        "    data = []",
        '    for x, y in ((w["X_train"], w["y_train"]), (w["X_test"], w["y_test"])):',
        "        x = torch.from_numpy(x).to(torch.get_default_dtype())",
        f"        data += [x, {target}]",
        "    return data",
        "",
        "",
        f"loss_fn = {loss}  # {loss_note}",
        "",
        "",
    ]
    regs = list(_regularized(net))
    if regs:
        lines += [
            "def penalty(model):",
            '    """Kernel regularization, as the studio (and Keras) add it to the loss:',
            '    l1 * sum|W| + l2 * sum W². (Not weight_decay, which means something else.)"""',
            "    layers = model.layers",
            "    return (",
        ]
        terms = []
        for layer, l1, l2 in regs:
            w = f"layers.{layer.name}.weight"
            if l1:
                terms.append(f"{_float(l1)} * {w}.abs().sum()")
            if l2:
                terms.append(f"{_float(l2)} * {w}.pow(2).sum()")
        one = f"    return {' + '.join(terms)}"
        if len(one) <= 88:
            lines[-1] = one
        else:
            lines += ["        " + terms[0], *(f"        + {t}" for t in terms[1:]), "    )"]
        lines += ["", ""]
    plus = " + penalty(model)" if regs else ""
    lines.append("def loss_of(model, x, y):")
    if not fused and net.loss.name == "categorical_crossentropy":
        lines += [
            "    # clamp as the studio does (1e-7) so that log(0) never happens",
            "    log_p = torch.log(model(x).clamp(1e-7, 1 - 1e-7))",
            f"    return loss_fn(log_p, y){plus}",
        ]
    else:
        lines.append(f"    return loss_fn({logits}(x), y){plus}")
    accuracy = _torch_accuracy(net, dataset)
    lines += [
        "",
        "",
        "def evaluate(model, x, y):",
        "    model.eval()  # dropout off, batch norm uses its running statistics",
        "    with torch.no_grad():",
        "        loss = loss_of(model, x, y).item()",
    ]
    if accuracy:
        lines += [
            f"        hits = {accuracy}",
            '    return f"loss {loss:.4f}, accuracy {hits.double().mean().item():.3f}"',
        ]
    else:
        lines += ['    return f"loss {loss:.4f}"']
    clip = net.optimizer.global_clipnorm
    lines += [
        "",
        "",
        "def train(model, epochs=EPOCHS):",
        "    x_train, y_train, x_test, y_test = load_data()",
        '    print("as trained in the studio: test", evaluate(model, x_test, y_test))',
    ]
    lines += _torch_optimizer(net)
    lines += [
        "    generator = torch.Generator().manual_seed(SEED)",
        "    for epoch in range(1, epochs + 1):",
        "        model.train()",
        "        order = torch.randperm(len(x_train), generator=generator)",
        "        for batch in order.split(BATCH_SIZE):",
        "            optimizer.zero_grad()",
        "            loss = loss_of(model, x_train[batch], y_train[batch])",
        "            loss.backward()",
    ]
    if clip is not None:
        lines += [
            "            # the studio clips the norm of all gradients together (global_clipnorm)",
            f"            nn.utils.clip_grad_norm_(model.parameters(), max_norm={_float(clip)})",
        ]
    lines += [
        "            optimizer.step()",
        '        print(f"epoch {epoch}: test", evaluate(model, x_test, y_test))',
        "",
        "",
        'if __name__ == "__main__":',
        "    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])",
        '    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs to train")',
        "    model = StudioNet()",
        "    load_studio_weights(model)",
        "    train(model, parser.parse_args().epochs)",
    ]
    return "\n".join(lines) + "\n"


def _torch_accuracy(net: Sequential, dataset: Dataset) -> str | None:
    if dataset.task != "classification":
        return None
    if net.output_dim == 1:
        return "(model(x) > 0.5) == (y > 0.5)"
    return "model(x).argmax(1) == y"


# ------------------------------------------------------------------ Keras


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
            made.append(("layers.Dropout", [_float(layer.rate), name]))
            continue
        if isinstance(layer, BatchNormalization):
            made.append(
                (
                    "layers.BatchNormalization",
                    [
                        f"momentum={_float(layer.momentum)}",
                        f"epsilon={_float(layer.epsilon)}",
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
            apart = ("layers.LeakyReLU", [f"negative_slope={_float(act.negative_slope)}"])
        elif act.name == "elu" and act.alpha != 1.0:
            apart = ("layers.ELU", [f"alpha={_float(act.alpha)}"])
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
            l1, l2 = _float(getattr(reg, "l1", 0.0)), _float(getattr(reg, "l2", 0.0))
            args.append(f"kernel_regularizer=keras.regularizers.L1L2(l1={l1}, l2={l2})")
        made.append(("layers.Dense", [*args, name]))
        if apart:
            made.append((apart[0], [*apart[1], f'name="{layer.name}_{act.name}"']))
    return made


def _keras_optimizer(net: Sequential) -> tuple[str, list[str]]:
    opt = net.optimizer
    args = [f"learning_rate={_float(opt.learning_rate)}"]
    if opt.name == "sgd":
        cls = "SGD"
        args += [f"momentum={_float(opt.momentum)}", f"nesterov={opt.nesterov}"]
    elif opt.name == "rmsprop":
        cls = "RMSprop"
        args += [
            f"rho={_float(opt.rho)}",
            f"momentum={_float(opt.momentum)}",
            f"epsilon={_float(opt.epsilon)}",
            f"centered={opt.centered}",
        ]
    else:
        cls = "Adam"
        args += [
            f"beta_1={_float(opt.beta_1)}",
            f"beta_2={_float(opt.beta_2)}",
            f"epsilon={_float(opt.epsilon)}",
        ]
    if opt.global_clipnorm is not None:
        args.append(f"global_clipnorm={_float(opt.global_clipnorm)}")
    return f"keras.optimizers.{cls}", args


def keras_script(project: Project, net: Sequential, dataset: Dataset, data_file: str) -> str:
    """A standalone Keras 3 script: the same model, the trained weights, the same training."""
    float_type = "float32" if net.dtype == np.float32 else "float64"
    lines = _header(
        project,
        net,
        dataset,
        "Keras 3",
        f"Run it: python {_script_name(data_file)} [--epochs N], with any Keras backend "
        f"(KERAS_BACKEND=tensorflow, jax or torch). It reads {data_file} (weights and data) "
        f"from beside this file, evaluates the network as trained in the studio, then "
        f"trains it further with the same settings. The studio follows Keras' conventions, "
        f"so nothing needs translating.",
    )
    lines += [
        "",
        "import argparse",
        "from pathlib import Path",
        "",
        "import keras",
        "import numpy as np",
        "from keras import layers",
        "",
        f'DATA = Path(__file__).with_name("{data_file}")',
        f"EPOCHS = {project.epochs}",
        f"BATCH_SIZE = {project.batch_size}",
        f"SEED = {project.seed}",
        f'keras.config.set_floatx("{float_type}")  # the studio trained in {float_type}',
        "",
        "",
        "def build_model():",
        "    return keras.Sequential(",
        "        [",
    ]
    for callee, args in _keras_layers(net):
        lines += _call(12, callee, args, ",")
    lines += [
        "        ],",
        f'        name="{_identifier(project.name)}",',
        "    )",
        "",
        "",
        "def load_studio_weights(model, path=DATA):",
        '    """Copy the weights trained in the studio into `model`, layer by layer."""',
        "    w = np.load(path)",
    ]
    lines += [
        "    for layer in model.layers:",
        "        # Keras names and orders them as the studio does: kernel, bias;",
        "        # gamma, beta, moving_mean, moving_variance.",
        '        names = [f"{layer.name}/{v.name}" for v in layer.weights]',
        "        if names:",
        "            layer.set_weights([w[name] for name in names])",
    ]
    loss_line = f"        loss={_KERAS_LOSSES[net.loss.name]},"
    if net.loss.name == "categorical_crossentropy":
        loss_line += "  # the targets are class indices"
    metrics = '["accuracy"]' if dataset.task == "classification" else "[]"
    column = net.loss.name != "categorical_crossentropy"
    callee, args = _keras_optimizer(net)
    lines += [
        "",
        "",
        "def load_data(path=DATA):",
        '    """(x_train, y_train, x_test, y_test) as NumPy arrays."""',
        "    w = np.load(path)",
        '    data = [w["X_train"], w["y_train"], w["X_test"], w["y_test"]]',
    ]
    if column:
        lines.append("    data[1::2] = [y.reshape(len(y), -1) for y in data[1::2]]  # one column")
    lines += [
        "    return data",
        "",
        "",
        "def main(epochs=EPOCHS):",
        "    keras.utils.set_random_seed(SEED)",
        "    model = build_model()",
        "    load_studio_weights(model)",
        "    model.compile(",
        *_call(8, f"optimizer={callee}", args, ","),
        loss_line,
        f"        metrics={metrics},",
        "    )",
        "    x_train, y_train, x_test, y_test = load_data()",
        "    test = model.evaluate(x_test, y_test, verbose=0, return_dict=True)",
        '    print("as trained in the studio: test", test)',
        "    model.fit(",
        "        x_train,",
        "        y_train,",
        "        batch_size=BATCH_SIZE,",
        "        epochs=epochs,",
        "        validation_data=(x_test, y_test),",
        "    )",
        "    return model",
        "",
        "",
        'if __name__ == "__main__":',
        "    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])",
        '    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs to train")',
        "    main(parser.parse_args().epochs)",
    ]
    return "\n".join(lines) + "\n"


def _identifier(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()
    return cleaned or "studio_net"


# ------------------------------------------------------------------ ONNX


def onnx_model(net: Sequential, dataset: Dataset | None = None, name: str = "bpstudio"):
    """The network in inference mode as an ONNX ModelProto (float32): input "input" of shape
    (batch, input_dim), output "output" of shape (batch, output_dim). Dropout is left out (it
    is the identity at inference); batch norm uses its running statistics."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ExportError(
            "export to ONNX needs the onnx package: pip install 'bpstudio[onnx]'"
        ) from None
    nodes, inits, x = [], [], ONNX_INPUT

    def constant(key, array):
        inits.append(numpy_helper.from_array(np.asarray(array, np.float32), key))
        return key

    def node(op, inputs, out, **attrs):
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    for layer in net.layers:
        p = layer.params
        if isinstance(layer, Dense):
            kernel = constant(f"{layer.name}/kernel", p["kernel"])
            if layer.use_bias:
                x = node("Gemm", [x, kernel, constant(f"{layer.name}/bias", p["bias"])], layer.name)
            else:
                x = node("MatMul", [x, kernel], layer.name)
        elif isinstance(layer, BatchNormalization):
            x = node(
                "BatchNormalization",
                [x]
                + [
                    constant(f"{layer.name}/{key}", array)
                    for key, array in (
                        ("gamma", p["gamma"]),
                        ("beta", p["beta"]),
                        ("moving_mean", layer.state["moving_mean"]),
                        ("moving_variance", layer.state["moving_variance"]),
                    )
                ],
                layer.name,
                epsilon=float(layer.epsilon),
            )
        if isinstance(layer, (Dense, Activation)):
            x = _onnx_activation(layer, x, node)
    if not nodes:
        raise ExportError("the network has no layers to export")
    nodes[-1].output[0] = ONNX_OUTPUT
    graph = helper.make_graph(
        nodes,
        _identifier(name),
        [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, ["batch", net.input_dim])],
        [helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT, ["batch", net.output_dim])],
        inits,
    )
    model = helper.make_model(
        graph,
        producer_name="bpstudio",
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        doc_string="Exported by Backprop Studio in inference mode.",
    )
    model.ir_version = 8  # read by onnxruntime 1.14 and newer
    if dataset is not None:
        helper.set_model_props(
            model,
            {
                "inputs": ", ".join(dataset.feature_names),
                "outputs": _describe_outputs(net, dataset),
                "classes": ", ".join(dataset.class_names),
            },
        )
    onnx.checker.check_model(model)
    return model


def _onnx_activation(layer, x, node):
    act = layer.activation
    out = f"{layer.name}_{act.name}" if isinstance(layer, Dense) else f"{layer.name}_out"
    if act.name == "linear":
        return x if isinstance(layer, Dense) else node("Identity", [x], out)
    if act.name == "leaky_relu":
        return node("LeakyRelu", [x], out, alpha=float(act.negative_slope))
    if act.name == "elu":
        return node("Elu", [x], out, alpha=float(act.alpha))
    op = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softmax": "Softmax"}[act.name]
    return node(op, [x], out, **({"axis": -1} if op == "Softmax" else {}))
