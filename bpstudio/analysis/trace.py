"""One backpropagation pass for one training example, recorded layer by layer so that it can
be stepped through and read aloud: the forward value at every unit, the error signal dL/dz at
every unit on the way back, dL/dw on every edge, and the chain-rule product for one weight
with its numbers. No Qt; the studio's backprop inspector shows it on the canvas.

The pass runs in inference mode (no dropout, batch norm on its running statistics) on a float64
copy of the network, so the network being trained is not touched."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpstudio.core import Sequential
from bpstudio.core.layers import Activated, Dense
from bpstudio.core.model import QUIET


@dataclass(frozen=True)
class LayerTrace:
    name: str
    kind: str  # the layer class
    activation: str | None
    inputs: np.ndarray  # (inputs,) what the layer received
    z: np.ndarray | None  # (units,) pre-activation, for layers with an activation
    a: np.ndarray  # (units,) what the layer passed on
    dL_da: np.ndarray  # (units,) the error arriving from above
    dL_dz: np.ndarray | None  # (units,) the error at the pre-activation
    dL_dW: np.ndarray | None  # (inputs, units) for Dense layers: the data's part only
    dL_db: np.ndarray | None
    kernel: np.ndarray | None  # (inputs, units) the weights used


@dataclass(frozen=True)
class Trace:
    x: np.ndarray
    y: np.ndarray
    loss: float
    output: np.ndarray
    fused: bool  # the last activation's slope cancels with the loss: dL/dz = a - y
    loss_name: str
    layers: tuple[LayerTrace, ...]

    def layer(self, name) -> LayerTrace:
        return next(t for t in self.layers if t.name == name)


def trace(net: Sequential, x, y) -> Trace:
    """Forward and backward for one example: x (inputs,), y its target as the loss takes it
    (a class index, a 0/1 label or the regression values). A network whose values overflow
    gives inf and nan where they do, as training would, without warnings."""
    with np.errstate(**QUIET):
        return _trace(net, x, y)


def _trace(net: Sequential, x, y) -> Trace:
    net = net.clone(dtype="float64")
    X = np.asarray(x, np.float64).reshape(1, -1)
    Y = net.prepare_targets(np.asarray(y).reshape(1, -1) if np.ndim(y) else np.asarray([y]))
    inputs, h = [], X
    for layer in net.layers:
        inputs.append(h)
        h = layer.forward(h, training=False)
    A = h
    loss, dZ_fused = net.compute_loss(A, Y)
    fused = net.fused
    d = dZ_fused if fused else net.loss.gradient(A, Y)
    dA_out = net.loss.gradient(A, Y)  # shown at the output even when the loss is fused
    records = []
    last = len(net.layers) - 1
    for i in range(last, -1, -1):
        layer = net.layers[i]
        from_logits = fused and i == last
        dz = None
        if isinstance(layer, Activated):
            dz = layer.pre_activation_gradient(d, from_logits)
        d_in = layer.backward(d, from_logits=from_logits, need_dX=True)
        dW = db = kernel = None
        if isinstance(layer, Dense):
            kernel = layer.params["kernel"].copy()
            dW = inputs[i].T @ dz  # without the regularizer's share
            db = dz[0].copy() if layer.use_bias else None
        records.append(
            LayerTrace(
                name=layer.name,
                kind=type(layer).__name__,
                activation=layer.activation.name if layer.activation else None,
                inputs=inputs[i][0].copy(),
                z=None if getattr(layer, "Z", None) is None else layer.Z[0].copy(),
                a=(A if i == last else inputs[i + 1])[0].copy(),
                dL_da=(dA_out if from_logits else d)[0].copy(),
                dL_dz=None if dz is None else dz[0].copy(),
                dL_dW=dW,
                dL_db=db,
                kernel=kernel,
            )
        )
        d = d_in
    return Trace(
        x=X[0],
        y=np.asarray(Y).ravel(),
        loss=float(loss),
        output=A[0].copy(),
        fused=fused,
        loss_name=net.loss.name,
        layers=tuple(reversed(records)),
    )


def chain_rule(t: Trace, layer: str, row: int, column: int, learning_rate: float) -> list[str]:
    """The chain rule for the weight from unit `row` of the layer below into unit `column`
    of Dense layer `layer`, written out with this example's numbers, then its SGD update."""
    names = [lt.name for lt in t.layers]
    if layer not in names:
        raise ValueError(f"there is no layer {layer!r}")
    i = names.index(layer)
    lt = t.layers[i]
    if lt.kind != "Dense":
        raise ValueError(f"{layer} has no weights of its own")
    a_in, dz = float(lt.inputs[row]), float(lt.dL_dz[column])
    w, g = float(lt.kernel[row, column]), float(lt.dL_dW[row, column])
    j = column + 1
    lines = [
        f"Weight w from unit {row + 1} below into unit {j} of {layer}: w = {w:.4g}",
        f"z{j} = Σ (input × weight) + bias, so ∂z{j}/∂w = the input through w = {a_in:.4g}",
        f"∂L/∂w = ∂L/∂z{j} × ∂z{j}/∂w = {dz:.4g} × {a_in:.4g} = {g:.4g}",
    ]
    if i == len(t.layers) - 1 and t.fused:
        a = float(lt.a[column])
        if t.loss_name == "categorical_crossentropy":
            is_true = int(column == int(t.y[0]))
            lines.append(
                f"∂L/∂z{j} = a{j} − [class {j - 1} is the true one] = {a:.4g} − {is_true} "
                f"= {dz:.4g} (softmax and cross-entropy together)"
            )
        else:
            y = float(t.y[column])
            lines.append(
                f"∂L/∂z{j} = a{j} − y = {a:.4g} − {y:g} = {dz:.4g} "
                f"({lt.activation} and cross-entropy together)"
            )
    else:
        da = float(lt.dL_da[column])
        slope = dz / da if da else float("nan")
        source = (
            "the loss's slope at the output"
            if i == len(t.layers) - 1
            else "Σ over the next layer's units of (its ∂L/∂z × the weight into it)"
        )
        lines.append(f"∂L/∂a{j} = {source} = {da:.4g}")
        if lt.activation and lt.activation != "linear":
            lines.append(
                f"∂L/∂z{j} = ∂L/∂a{j} × {lt.activation}′(z{j}) = {da:.4g} × {slope:.4g} = {dz:.4g}"
            )
        else:
            lines.append(f"∂L/∂z{j} = ∂L/∂a{j} = {dz:.4g} (linear: slope 1)")
    new = w - learning_rate * g
    lines.append(
        f"Update (plain SGD): w ← w − η × ∂L/∂w = {w:.4g} − {learning_rate:g} × {g:.4g} = {new:.4g}"
    )
    return lines
