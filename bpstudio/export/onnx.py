"""Export to ONNX (the optional extra bpstudio[onnx]): the network in inference mode, opset
17, float32; Dropout left out (the identity at inference), batch norm on its running
statistics; metadata naming the input features, what the output means and the classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bpstudio.core import Sequential
from bpstudio.core.layers import Activation, BatchNormalization, Dense
from bpstudio.data.datasets import Dataset
from bpstudio.export.common import (
    Exported,
    ExportError,
    describe_outputs,
    identifier,
    write_bytes,
)
from bpstudio.project import Project

LABEL = "ONNX model"
SUFFIX = ".onnx"
DESCRIPTION = "The network for inference in any ONNX runtime"
ONNX_OPSET = 17
ONNX_INPUT, ONNX_OUTPUT = "input", "output"


def export(project: Project, net: Sequential, dataset: Dataset, out: Path) -> Exported:
    write_bytes(out, onnx_model(net, dataset, project.name).SerializeToString())
    return Exported(out)


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
        identifier(name),
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
                "outputs": describe_outputs(net, dataset),
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
