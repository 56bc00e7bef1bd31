"""Export: the network of a project as a PyTorch script, a Keras script, an ONNX model or
NumPy arrays, one module per target."""

from bpstudio.export.scripts import Exported, ExportError, export_project

__all__ = ["ExportError", "Exported", "export_project"]
