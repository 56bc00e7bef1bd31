"""The fused training step of a small dense network, compiled by numba: forward, loss,
backward, regularization, clipping, the optimizer update and every measurement the studio
logs, for many steps per call, with no Python between them and the GIL released.

The maths is the NumPy engine's, written as loops (core/ is the reference: the parity tests
compare the two): each formula below names the core function it follows. Numbers are kept
in the network's dtype, as NumPy keeps them.
"""

from __future__ import annotations

import math

from numba import njit

# Activation, loss, optimizer and regularizer codes (engine.py maps names to them).
LINEAR, RELU, LEAKY_RELU, ELU, TANH, SIGMOID, SOFTMAX = range(7)
MSE, BCE_FUSED, CCE_FUSED = range(3)
SGD, RMSPROP, ADAM = range(3)
NO_REG, L1, L2, L1_L2 = range(4)

#: What `train_steps` returns when a step's loss or gradient is not finite.
NON_FINITE = -1


@njit(cache=True, nogil=True)
def _activate(Z, A, rows, units, code, arg):
    """A = activation(Z) for the first rows x units (core/activations.py, forward)."""
    for i in range(rows):
        if code == SOFTMAX:
            shift = Z[i, 0]
            for j in range(1, units):
                shift = max(shift, Z[i, j])
            total = 0.0
            for j in range(units):
                A[i, j] = math.exp(Z[i, j] - shift)
                total += A[i, j]
            for j in range(units):
                A[i, j] /= total
            continue
        for j in range(units):
            z = Z[i, j]
            if code == LINEAR:
                A[i, j] = z
            elif code == RELU:
                A[i, j] = max(z, 0.0)
            elif code == LEAKY_RELU:
                A[i, j] = z if z > 0 else arg * z
            elif code == ELU:
                A[i, j] = z if z > 0 else arg * math.expm1(min(z, 0.0))
            elif code == TANH:
                A[i, j] = math.tanh(z)
            else:  # SIGMOID, in its tanh form that never overflows
                A[i, j] = 0.5 + 0.5 * math.tanh(0.5 * z)


@njit(cache=True, nogil=True)
def _activation_backward(dA, Z, A, rows, units, code, arg):
    """dA becomes dL/dZ in place (core/activations.py, backward)."""
    for i in range(rows):
        if code == SOFTMAX:
            dot = 0.0
            for j in range(units):
                dot += dA[i, j] * A[i, j]
            for j in range(units):
                dA[i, j] = A[i, j] * (dA[i, j] - dot)
            continue
        for j in range(units):
            if code == RELU:
                dA[i, j] = dA[i, j] if Z[i, j] > 0 else 0.0
            elif code == LEAKY_RELU:
                if not Z[i, j] > 0:
                    dA[i, j] = arg * dA[i, j]
            elif code == ELU:
                if not Z[i, j] > 0:
                    dA[i, j] = dA[i, j] * (A[i, j] + arg)
            elif code == TANH:
                dA[i, j] = dA[i, j] * (1 - A[i, j] * A[i, j])
            elif code == SIGMOID:
                dA[i, j] = dA[i, j] * A[i, j] * (1 - A[i, j])


@njit(cache=True, nogil=True)
def _forward(
    X, order, first, rows, params, kernel_at, bias_at, fan_in, fan_out, act, act_arg, Zs, As
):
    """Zs, As of every layer for rows order[first:first + rows] of X (core/layers.py
    Dense.forward: Z = X @ W + b, A = activation(Z))."""
    for layer in range(len(fan_out)):
        k, b, fi, fo = kernel_at[layer], bias_at[layer], fan_in[layer], fan_out[layer]
        for i in range(rows):
            r = order[first + i]
            for j in range(fo):
                z = 0.0
                for m in range(fi):
                    x = X[r, m] if layer == 0 else As[layer - 1, i, m]
                    z += x * params[k + m * fo + j]
                if b >= 0:
                    z += params[b + j]
                Zs[layer, i, j] = z
        _activate(Zs[layer], As[layer], rows, fo, act[layer], act_arg[layer])


@njit(cache=True, nogil=True)
def _penalty(params, kernel_at, fan_in, fan_out, reg, reg_l1, reg_l2):
    """The regularization penalties of every kernel (core/regularizers.py)."""
    loss = 0.0
    for layer in range(len(fan_out)):
        if reg[layer] == NO_REG:
            continue
        k = kernel_at[layer]
        absolute, square = 0.0, 0.0
        for m in range(fan_in[layer] * fan_out[layer]):
            w = params[k + m]
            absolute += abs(w)
            square += w * w
        if reg[layer] == L1 or reg[layer] == L1_L2:
            loss += reg_l1[layer] * absolute
        if reg[layer] == L2 or reg[layer] == L1_L2:
            loss += reg_l2[layer] * square
    return loss


@njit(cache=True, nogil=True)
def _cross_entropy(Z, A, i, label, outputs):
    """Row i's categorical cross-entropy from the logits, log-sum-exp minus the right
    class's logit (core/losses.py value_from_logits), and 1 if its largest output is the
    right class (accuracy), else 0."""
    shift = Z[i, 0]
    best = 0
    for j in range(1, outputs):
        shift = max(shift, Z[i, j])
        if A[i, j] > A[i, best]:
            best = j
    total = 0.0
    for j in range(outputs):
        total += math.exp(Z[i, j] - shift)
    return shift + math.log(total) - Z[i, label], 1.0 if best == label else 0.0


@njit(cache=True, nogil=True)
def train_steps(
    X, Y, Yi, order, start, batch_size, steps,  # data: Y (n, outputs) floats, Yi class indices
    params, grads, kernel_at, bias_at, fan_in, fan_out, act, act_arg, reg, reg_l1, reg_l2,
    loss_code, opt_code, lr, opt_a, opt_b, opt_c, opt_flag, clipnorm, iterations,
    slot1, slot2, slot3, last_active, relu_of, first_step, dead_window,
    out_loss, out_accuracy, out_grad, out_weight, out_ratio, out_mean, out_std, out_saturation,
    out_dead, out_dead_batch, Zs, As, dbuf, dnext, update,
):  # fmt: skip
    """Train `steps` mini-batches: batch s is rows order[start + s * batch_size ...] of X/Y.
    Writes step s's logs into row s of the out_* arrays and returns the steps done; stops
    before updating on a step whose loss or gradient is not finite (returning NON_FINITE - s
    for step s, the weights as they were before it).

    Layers: kernel_at/bias_at (-1: no bias) into the flat params, fan_in/fan_out, act code
    and argument, reg code and rates. Optimizer: opt_code with lr and its arguments (SGD:
    momentum, -, -, nesterov; RMSprop: rho, momentum, epsilon, centered; Adam: beta_1,
    beta_2, epsilon, -), clipnorm (0: none), iterations so far, its state in slot1..3.
    relu_of[layer]: the row of last_active for that layer's units (-1: not ReLU-family)."""
    n_layers = len(fan_out)
    n_total = len(order)
    outputs = fan_out[n_layers - 1]
    for s in range(steps):
        first = start + s * batch_size
        rows = min(batch_size, n_total - first)
        step = first_step + s
        _forward(
            X, order, first, rows, params, kernel_at, bias_at, fan_in, fan_out, act, act_arg, Zs, As
        )
        # ---- loss and dL/d(output) (core/losses.py)
        last = n_layers - 1
        loss = 0.0
        correct = 0.0
        if loss_code == MSE:
            size = rows * outputs
            for i in range(rows):
                r = order[first + i]
                for j in range(outputs):
                    d = As[last, i, j] - Y[r, j]
                    loss += d * d
                    dbuf[i, j] = (2.0 / size) * d
            loss /= size
            _activation_backward(dbuf, Zs[last], As[last], rows, outputs, act[last], act_arg[last])
        elif loss_code == BCE_FUSED:  # with the sigmoid: from the logits
            size = rows * outputs
            for i in range(rows):
                r = order[first + i]
                for j in range(outputs):
                    z, y, a = Zs[last, i, j], Y[r, j], As[last, i, j]
                    loss += max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
                    dbuf[i, j] = (a - y) / size
                    if (a > 0.5) == (y > 0.5):
                        correct += 1
            loss /= size
            correct /= size
        else:  # CCE_FUSED, class indices, with the softmax
            for i in range(rows):
                r = order[first + i]
                term, right = _cross_entropy(Zs[last], As[last], i, Yi[r], outputs)
                loss += term
                for j in range(outputs):
                    dbuf[i, j] = As[last, i, j]
                dbuf[i, Yi[r]] -= 1
                for j in range(outputs):
                    dbuf[i, j] /= rows
                correct += right
            loss /= rows
            correct /= rows
        loss += _penalty(params, kernel_at, fan_in, fan_out, reg, reg_l1, reg_l2)
        # ---- backward (core/layers.py Dense.backward); dbuf holds dL/dZ of layer layer
        for layer in range(n_layers - 1, -1, -1):
            k, b, fi, fo = kernel_at[layer], bias_at[layer], fan_in[layer], fan_out[layer]
            for m in range(fi):
                for j in range(fo):
                    g = 0.0
                    if layer == 0:
                        for i in range(rows):
                            g += X[order[first + i], m] * dbuf[i, j]
                    else:
                        for i in range(rows):
                            g += As[layer - 1, i, m] * dbuf[i, j]
                    w = params[k + m * fo + j]
                    if reg[layer] == L1 or reg[layer] == L1_L2:
                        g += reg_l1[layer] * (1.0 if w > 0 else (-1.0 if w < 0 else 0.0))
                    if reg[layer] == L2 or reg[layer] == L1_L2:
                        g += (2 * reg_l2[layer]) * w
                    grads[k + m * fo + j] = g
            if b >= 0:
                for j in range(fo):
                    g = 0.0
                    for i in range(rows):
                        g += dbuf[i, j]
                    grads[b + j] = g
            if layer > 0:  # dL/dA of the layer below (dZ @ W.T), then through its activation
                for i in range(rows):
                    for m in range(fi):
                        d = 0.0
                        for j in range(fo):
                            d += dbuf[i, j] * params[k + m * fo + j]
                        dnext[i, m] = d
                for i in range(rows):
                    for m in range(fi):
                        dbuf[i, m] = dnext[i, m]
                _activation_backward(
                    dbuf, Zs[layer - 1], As[layer - 1], rows, fi, act[layer - 1], act_arg[layer - 1]
                )
        # ---- the whole gradient's norm: the finite check and clipping (core/model.py)
        total = 0.0
        for p in range(len(grads)):
            total += grads[p] * grads[p]
        total = math.sqrt(total)
        if not (math.isfinite(loss) and math.isfinite(total)):
            return NON_FINITE - s
        scale = 1.0
        clipped = clipnorm > 0 and total > clipnorm
        if clipped:
            scale = clipnorm / total
        iterations += 1
        # ---- the optimizer's update (core/optimizers.py), from the clipped gradient
        if opt_code == ADAM:
            t = iterations
            alpha = lr * math.sqrt(1 - opt_b**t) / (1 - opt_a**t)
        for p in range(len(grads)):
            g = grads[p] * scale if clipped else grads[p]
            if opt_code == SGD:
                u = g * -lr
                if opt_a != 0.0:
                    slot1[p] = slot1[p] * opt_a + u
                    u = u + opt_a * slot1[p] if opt_flag else slot1[p]
            elif opt_code == RMSPROP:
                slot1[p] = slot1[p] * opt_a + (1 - opt_a) * g * g
                denominator = slot1[p] + opt_c
                if opt_flag:
                    slot2[p] = slot2[p] * opt_a + (1 - opt_a) * g
                    denominator -= slot2[p] * slot2[p]
                u = lr * g / math.sqrt(denominator)
                if opt_b > 0:
                    slot3[p] = slot3[p] * opt_b + u
                    u = -slot3[p]
                else:
                    u = -u
            else:
                slot1[p] += (g - slot1[p]) * (1 - opt_a)
                slot2[p] += (g * g - slot2[p]) * (1 - opt_b)
                u = (-alpha) * slot1[p] / (math.sqrt(slot2[p]) + opt_c)
            update[p] = u
        # ---- the measurements (core/meter.py StepMeter.measure), before the update
        out_loss[s] = loss
        out_accuracy[s] = correct
        for layer in range(n_layers):
            k, size = kernel_at[layer], fan_in[layer] * fan_out[layer]
            g2, w2, u2 = 0.0, 0.0, 0.0
            for m in range(size):
                g2 += grads[k + m] * grads[k + m]
                w2 += params[k + m] * params[k + m]
                u2 += update[k + m] * update[k + m]
            out_grad[s, layer] = math.sqrt(g2)
            out_weight[s, layer] = math.sqrt(w2)
            out_ratio[s, layer] = math.sqrt(u2) / out_weight[s, layer] if w2 else math.inf
            fo = fan_out[layer]
            total_a, saturated = 0.0, 0.0
            for i in range(rows):
                for j in range(fo):
                    a = As[layer, i, j]
                    total_a += a
                    if act[layer] == TANH and abs(a) > 0.99:
                        saturated += 1
                    elif act[layer] == SIGMOID and abs(a - 0.5) > 0.49:
                        saturated += 1
            mean = total_a / (rows * fo)
            spread = 0.0  # two passes, as the meter (core/meter.py) measures it
            for i in range(rows):
                for j in range(fo):
                    spread += (As[layer, i, j] - mean) * (As[layer, i, j] - mean)
            out_mean[s, layer] = mean
            out_std[s, layer] = math.sqrt(spread / (rows * fo))
            out_saturation[s, layer] = saturated / (rows * fo)
            u = relu_of[layer]
            if u >= 0:
                alive, dead = 0, 0
                for j in range(fo):
                    top = As[layer, 0, j]
                    for i in range(1, rows):
                        top = max(top, As[layer, i, j])
                    if top > 0:
                        last_active[u, j] = step
                        alive += 1
                    if last_active[u, j] < step + 1 - dead_window:
                        dead += 1
                out_dead_batch[s, layer] = 1.0 - alive / fo
                out_dead[s, layer] = dead / fo
        for p in range(len(params)):
            params[p] += update[p]
    return steps


@njit(cache=True, nogil=True)
def evaluate(
    X, Y, Yi, params, kernel_at, bias_at, fan_in, fan_out, act, act_arg, reg, reg_l1, reg_l2,
    loss_code, order, Zs, As,
):  # fmt: skip
    """The mean loss (penalties included) and accuracy of all rows of X in inference mode
    (core/model.py Sequential.evaluate), through buffers of Zs.shape[1] rows at a time."""
    n_layers = len(fan_out)
    outputs = fan_out[n_layers - 1]
    last = n_layers - 1
    block = Zs.shape[1]
    n = len(X)
    loss = 0.0
    correct = 0.0
    for first in range(0, n, block):
        rows = min(block, n - first)
        _forward(
            X, order, first, rows, params, kernel_at, bias_at, fan_in, fan_out, act, act_arg, Zs, As
        )
        for i in range(rows):
            r = first + i
            if loss_code == MSE:
                for j in range(outputs):
                    d = As[last, i, j] - Y[r, j]
                    loss += d * d
            elif loss_code == BCE_FUSED:
                for j in range(outputs):
                    z, y = Zs[last, i, j], Y[r, j]
                    loss += max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
                    if (As[last, i, j] > 0.5) == (y > 0.5):
                        correct += 1
            else:
                term, right = _cross_entropy(Zs[last], As[last], i, Yi[r], outputs)
                loss += term
                correct += right
    per = n if loss_code == CCE_FUSED else n * outputs
    loss /= max(per, 1)
    correct /= max(per, 1)
    loss += _penalty(params, kernel_at, fan_in, fan_out, reg, reg_l1, reg_l2)
    return loss, correct
