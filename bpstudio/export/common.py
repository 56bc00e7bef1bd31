"""What every export target shares: the errors, what an export wrote, how files are written,
and what every generated script says about the network, its inputs and its outputs."""

from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpstudio.core import Sequential
from bpstudio.core.layers import Activation, Dense, Dropout
from bpstudio.data.datasets import Dataset
from bpstudio.project import Project

#: The width the generated scripts are laid out for (ruff format's default).
WIDTH = 88


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


def write_script(kind: str, script, project, net, dataset, out: Path) -> Exported:
    """A script export: `script(project, net, dataset, data_file)` written at `out` (.py),
    and `<out>.npz` beside it with the weights and the data it reads."""
    if out.suffix != ".py":
        raise ExportError(
            f"a {kind} export is a Python script: give a name ending in .py, not {out}"
        )
    data = out.with_suffix(".npz")
    write_npz(data, {**net.get_weights(), **data_arrays(dataset)})
    write_bytes(out, script(project, net, dataset, data.name).encode())
    return Exported(out, (data,))


def data_arrays(dataset: Dataset) -> dict:
    arrays = {
        "X_train": dataset.X_train,
        "y_train": dataset.y_train,
        "X_test": dataset.X_test,
        "y_test": dataset.y_test,
    }
    if dataset.scaling is not None:
        arrays["input_mean"], arrays["input_std"] = dataset.scaling
    return arrays


def write_npz(path: Path, arrays: dict):
    try:
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_bytes(path: Path, data: bytes):
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None


# ------------------------------------------------------------------ what every script says


def describe_inputs(dataset: Dataset) -> list[str]:
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


def describe_outputs(net: Sequential, dataset: Dataset) -> str:
    if dataset.task == "regression":
        return f"Output: {net.output_dim} predicted value{'s' * (net.output_dim > 1)} (linear)."
    if dataset.n_classes == 2:
        return f"Output: the probability of class {dataset.class_names[1]!r} (sigmoid)."
    return f"Output: {net.output_dim} class probabilities (softmax), classes {classes(dataset)}."


def classes(dataset: Dataset) -> str:
    names = dataset.class_names
    return ", ".join(names) if len(names) <= 12 else f"{names[0]} … {names[-1]}"


def wrap(text: str, width: int = WIDTH) -> list[str]:
    return textwrap.wrap(text, width) or [""]


def docstring(project: Project, net: Sequential, dataset: Dataset, framework: str, run: str):
    about = wrap(f'"""{project.name} (Backprop Studio export) as a {framework} model.')
    about.append("")
    about += wrap(
        f"The network: {net.input_dim} inputs -> "
        + " -> ".join(layer_summary(layer) for layer in net.layers)
        + f"; {net.count_params():,} parameters, trained for {net.steps:,} steps."
    )
    about.append("")
    for line in [*describe_inputs(dataset), describe_outputs(net, dataset)]:
        about += wrap(line)
    about += ["", *wrap(run), '"""']
    return about


def script_name(data_file: str) -> str:
    return str(Path(data_file).with_suffix(".py"))


def layer_summary(layer) -> str:
    if isinstance(layer, Dense):
        return f"Dense({layer.units}, {layer.activation.name})"
    if isinstance(layer, Activation):
        return f"Activation({layer.activation.name})"
    if isinstance(layer, Dropout):
        return f"Dropout({layer.rate:g})"
    return "BatchNormalization"


def call(indent: int, head: str, args: list[str], tail: str = "", width: int = WIDTH) -> list[str]:
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


def literal(value) -> str:
    return repr(float(value))


def regularized(net: Sequential):
    """(layer, l1, l2) for each Dense layer with a kernel regularizer."""
    for layer in net.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is not None:
            yield layer, getattr(reg, "l1", 0.0), getattr(reg, "l2", 0.0)


def identifier(name: str) -> str:
    """A Python identifier made from a project's name."""
    cleaned = "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()
    return cleaned or "studio_net"


def float_type(net: Sequential) -> str:
    return "float32" if net.dtype == np.float32 else "float64"


@functools.cache
def _templates():
    import jinja2  # only when a script is written: it is not needed to start the studio

    return jinja2.Environment(
        loader=jinja2.PackageLoader("bpstudio.export", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Python source, not HTML
    )


def render(template: str, **context) -> str:
    """The script `templates/<template>` with `context` filled in. Values that are lists of
    lines (laid out by `call`) are joined; the template shows everything else as written."""
    joined = {k: "\n".join(v) if isinstance(v, list) else v for k, v in context.items()}
    return _templates().get_template(template).render(**joined)
