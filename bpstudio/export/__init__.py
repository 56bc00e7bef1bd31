"""Export: the network of a project as a PyTorch script, a Keras script, an ONNX model or
NumPy arrays, one module per target. Each target module has LABEL, SUFFIX, DESCRIPTION and
`export(project, net, dataset, out) -> Exported`; the scripts come from templates/."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from bpstudio.export import keras, npz, onnx, pytorch
from bpstudio.export.common import Exported, ExportError
from bpstudio.project import Project

#: Every target by name, in the order menus list them.
TARGETS: dict[str, ModuleType] = {"pytorch": pytorch, "keras": keras, "onnx": onnx, "npz": npz}


def export_project(project: Project, to: str, out) -> Exported:
    """Write `project`'s network as `to` (one of TARGETS) at `out`.

    pytorch/keras: `out` is the script (.py) and `<out>.npz` beside it holds the weights and
    the dataset; onnx: `out` is the model; npz: `out` holds every parameter by name plus the
    project's JSON under "project.json"."""
    if to not in TARGETS:
        raise ExportError(f"export target must be one of {', '.join(TARGETS)}; got {to!r}")
    dataset = project.build_dataset()
    net = project.build_network(dataset)
    return TARGETS[to].export(project, net, dataset, Path(out))


__all__ = ["TARGETS", "ExportError", "Exported", "export_project"]
