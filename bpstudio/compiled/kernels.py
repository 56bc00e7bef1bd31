"""The fused training step of a small layered network, compiled by numba: forward, loss,
backward, regularization, clipping, the optimizer update and every measurement the studio
logs, for many steps per call, with no Python between them and the GIL released.

The maths is the NumPy engine's, written as loops (core/ is the reference: the parity tests
compare the two): each formula below names the core function it follows. Numbers are kept
in the network's dtype, as NumPy keeps them.

Buffers, per layer l of n: As[0] holds the batch's input rows and As[l + 1] layer l's output;
Zs[l] what its backward needs (Dense, Activation: the pre-activation; Dropout: the mask;
BatchNormalization: the normalised input), stats[l] a batch-norm layer's batch mean,
variance and 1 / std per unit. Each is flat, its rows packed (row i of a layer's fo values at
i * fo, dbuf's too), so that an activation runs over one stretch of memory, which LLVM
vectorises.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# Layer, activation, loss, optimizer and regularizer codes (engine.py maps names to them).
DENSE, ACTIVATION, DROPOUT, BATCH_NORM = range(4)
NO_ACTIVATION = -1
LINEAR, RELU, LEAKY_RELU, ELU, TANH, SIGMOID, SOFTMAX = range(7)
MSE, BCE, CCE = range(3)
SGD, RMSPROP, ADAM = range(3)
NO_REG, L1, L2, L1_L2 = range(4)
#: Keras' fuzz factor for probabilities that are not logits (core/losses.py _EPSILON).
EPSILON = 1e-7

#: The smallest normal numbers of float32 and float64 (np.finfo(...).tiny).
TINY32, TINY64 = 2.0**-126, 2.0**-1022

#: Kernels of up to this many weights (32 KB of float64, a core's L1 cache) are summed in
#: registers, a column at a time; bigger ones a row at a time, as they are stored.
SMALL_KERNEL = 4096

#: What `train_steps` returns when a step's loss or gradient is not finite.
NON_FINITE = -1
#: The rows of train_steps' `cols` (engine.py LOGGED, in its order): the column of `table`
#: each layer's measurement goes into, -1 for none.
GRAD, WEIGHT, RATIO, MEAN, STD, SATURATED, DEAD, DEAD_BATCH = range(8)


# The kernels are compiled with NumPy's error model: a division by zero gives inf or NaN, as
# in the NumPy engine, instead of Python's check before every division, which kept LLVM from
# vectorising any loop with a division in it (the tanh below among them).
kernel = njit(cache=True, nogil=True, error_model="numpy")
#: For the small helpers called once a value or a row: a call's cost counts.
inline = njit(cache=True, nogil=True, error_model="numpy", inline="always")


@intrinsic
def uncounted(typingctx, arrays):
    """The same arrays (a tuple) with a null meminfo, numba's mark of memory it does not own
    (numba.carray's arrays), whose references it does not count. Only for a kernel's own
    arguments, which the caller keeps alive, and never returned. numba counts the references
    to an array at every call it is passed to and every view of it (a row of As), an atomic
    add and subtract each: over a hundred a step of 2-4-2-1, a quarter of its training time
    (perf). Without them training took 0.77-0.87 of the time (measured)."""
    returned = types.Tuple(tuple(arrays))

    def codegen(context, builder, signature, args):
        values = []
        for i, array_type in enumerate(returned):
            value = builder.extract_value(args[0], i)
            model = context.data_model_manager[array_type]
            for field in ("meminfo", "parent"):
                at = model.get_field_position(field)
                value = builder.insert_value(
                    value, cgutils.get_null_value(value.type.elements[at]), at
                )
            values.append(value)
        return context.make_tuple(builder, returned, values)

    return returned(arrays), codegen


# tanh(x) = x + x^3 P(x^2) / Q(x^2) for |x| <= 0.625 (Cephes' tanh.c, its minimax
# coefficients), 1 - 2 / (exp(2|x|) + 1) beyond, both computed and one chosen, with no branch,
# so that a loop over many values runs 8 at a time (AVX-512) or 4 (AVX2): within 2 ulp of
# np.tanh (libm's math.tanh: 3), 2.5 ns a value in such a loop against 5-9 with branches.
_TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)
# exp(y) = 2^n exp(r), n = round(y / ln 2), |r| <= ln 2 / 2 (ln 2 in two parts, as fdlibm's
# exp.c splits it, so that r is exact); exp(r) by Taylor to r^13 (the next term is below
# 5e-18), 2^n from a table, since tanh needs y = 2|x| in [0, 44] only.
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(13, -1, -1))
_POWERS_OF_TWO = 2.0 ** np.arange(65)


@inline
def _exp_to_44(y):
    """exp(y) for 0 <= y <= 44, without a branch or a call (libm's exp is a call that
    stops vectorising)."""
    n = math.floor(y * (1 / _LN2_HI) + 0.5)
    r = (y - n * _LN2_HI) - n * _LN2_LO
    p = 0.0
    for c in _EXP_TAYLOR:
        p = p * r + c
    return p * _POWERS_OF_TWO[int(n)]


@inline
def tanh(x):
    """tanh(x) with x's sign (so -0.0 and NaN come back as they went in); 1 from |x| = 22,
    where the difference is below half an ulp of 1."""
    a = abs(x)
    z = a * a
    p = (_TANH_P[0] * z + _TANH_P[1]) * z + _TANH_P[2]
    q = ((z + _TANH_Q[0]) * z + _TANH_Q[1]) * z + _TANH_Q[2]
    near = a + a * z * (p / q)
    far = 1.0 - 2.0 / (_exp_to_44(2.0 * (a if a < 22.0 else 22.0)) + 1.0)  # NaN: 22
    t = math.copysign(near if a <= 0.625 else far, x)
    return t if a == a else x


@kernel
def activate(z, a, n, units, code, arg):
    """a = activation(z) (core/activations.py, forward) for the first n values, a layer's rows
    of `units` packed. One loop over all of them for each activation, which LLVM vectorises
    where it can (tanh and sigmoid, whose tanh has no branch for that)."""
    if code == SOFTMAX:
        for row in range(0, n, units):
            shift = z[row]
            for k in range(row + 1, row + units):
                shift = max(shift, z[k])
            total = 0.0
            for k in range(row, row + units):
                a[k] = math.exp(z[k] - shift)
                total += a[k]
            for k in range(row, row + units):
                a[k] /= total
    elif code == TANH:
        for k in range(n):
            a[k] = tanh(z[k])
    elif code == SIGMOID:  # in its tanh form, which never overflows
        for k in range(n):
            a[k] = 0.5 + 0.5 * tanh(0.5 * z[k])
    elif code == RELU:
        for k in range(n):
            a[k] = max(z[k], 0.0)
    elif code == LEAKY_RELU:
        for k in range(n):
            a[k] = z[k] if z[k] > 0 else arg * z[k]
    elif code == ELU:
        for k in range(n):
            a[k] = z[k] if z[k] > 0 else arg * math.expm1(min(z[k], 0.0))
    else:  # LINEAR
        a[:n] = z[:n]


@kernel
def _activation_backward(d, z, a, n, units, code, arg):
    """d (dL/da) becomes dL/dz in place for the first n values (core/activations.py,
    backward); packed as in activate."""
    if code == SOFTMAX:
        for row in range(0, n, units):
            dot = 0.0
            for k in range(row, row + units):
                dot += d[k] * a[k]
            for k in range(row, row + units):
                d[k] = a[k] * (d[k] - dot)
    elif code == TANH:
        for k in range(n):
            d[k] = d[k] * (1 - a[k] * a[k])
    elif code == SIGMOID:
        for k in range(n):
            d[k] = d[k] * a[k] * (1 - a[k])
    elif code == RELU:
        for k in range(n):
            d[k] = d[k] if z[k] > 0 else 0.0
    elif code == LEAKY_RELU:
        for k in range(n):
            d[k] = d[k] if z[k] > 0 else arg * d[k]
    elif code == ELU:
        for k in range(n):
            d[k] = d[k] if z[k] > 0 else d[k] * (a[k] + arg)


@kernel
def _forward(
    rows, training, params, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg,
    layer_a, layer_b, state_at, noise, drawn, Zs, As, stats,
):  # fmt: skip
    """Every layer's output for the `rows` input rows in As[0] (core/layers.py, forward):
    Dense Z = X @ W + b, A = activation(Z); Activation A = activation(X); Dropout (training)
    X * mask, the mask kept where noise[drawn...] >= layer_a (the rate) and scaled by layer_b;
    BatchNormalization gamma * xhat + beta, from the batch's statistics in training (momentum
    layer_a, epsilon layer_b) and the running ones in state otherwise. Returns `drawn` moved
    past the noise used."""
    for layer in range(len(fan_out)):
        fi, fo, code = fan_in[layer], fan_out[layer], kind[layer]
        X, Z, A = As[layer], Zs[layer], As[layer + 1]  # row i at i * fi, i * fo, i * fo
        if code == DENSE:
            # Each Z[i, j] sums over m in order, then adds the bias. A small kernel's sums stay
            # in a register: storing into Z at every step, as the loop below does, made
            # evaluating 2-4-2-1 take 1.45 times as long. A kernel bigger than L1 is read in
            # the order it is stored instead: 784-512-512-10 (forced) trained 4 times slower
            # reading a column at a time (measured). The same sums in the same order either way.
            k, b = at_a[layer], at_b[layer]
            if fi * fo <= SMALL_KERNEL:
                for i in range(rows):
                    z, x = i * fo, i * fi
                    for j in range(fo):
                        total = 0.0
                        for m in range(fi):
                            total += X[x + m] * params[k + m * fo + j]
                        Z[z + j] = total + params[b + j] if b >= 0 else total
            else:
                for i in range(rows):
                    z, x = i * fo, i * fi
                    Z[z : z + fo] = 0.0
                    for m in range(fi):
                        for j in range(fo):
                            Z[z + j] += X[x + m] * params[k + m * fo + j]
                    if b >= 0:
                        for j in range(fo):
                            Z[z + j] += params[b + j]
        elif code == ACTIVATION:
            Z[: rows * fo] = X[: rows * fo]
        elif code == DROPOUT:
            rate, scale = layer_a[layer], layer_b[layer]
            for v in range(rows * fo):
                if not training or rate == 0.0:
                    A[v] = X[v]
                    continue
                keep = 0.0
                if rate < 1.0:
                    keep = scale if noise[drawn] >= rate else 0.0
                    drawn += 1
                Z[v] = keep
                A[v] = X[v] * keep
            continue
        else:  # BATCH_NORM
            gamma, beta, s = at_a[layer], at_b[layer], state_at[layer]
            for j in range(fo):
                if training:
                    mean = 0.0
                    for i in range(rows):
                        mean += X[i * fo + j]
                    mean /= rows
                    var = 0.0
                    for i in range(rows):
                        var += (X[i * fo + j] - mean) * (X[i * fo + j] - mean)
                    var /= rows
                else:
                    mean, var = state[s + j], state[s + fo + j]
                inv_std = 1.0 / math.sqrt(var + layer_b[layer])
                stats[layer, 0, j], stats[layer, 1, j], stats[layer, 2, j] = mean, var, inv_std
                for i in range(rows):
                    v = i * fo + j
                    Z[v] = (X[v] - mean) * inv_std
                    A[v] = params[gamma + j] * Z[v] + params[beta + j]
            continue
        activate(Z, A, rows * fo, fo, act[layer], act_arg[layer])
    return drawn


@kernel
def _infer(
    rows, params, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg, layer_b, state_at,
    Zs, As,
):  # fmt: skip
    """_forward in inference mode with a layer's values stored a unit at a time (unit j of
    row i at j * rows + i), so that every loop runs over the rows, which LLVM vectorises
    (evaluating 250 rows of 2-8-8-8-1 took 50 µs a row at a time, 31 so). The same
    operations in the same order as _forward's, so the same numbers."""
    for layer in range(len(fan_out)):
        fi, fo, code = fan_in[layer], fan_out[layer], kind[layer]
        X, Z, A = As[layer], Zs[layer], As[layer + 1]
        if code == DENSE:  # Z = X @ W + b, each sum over m in order, then the bias
            k, b = at_a[layer], at_b[layer]
            for j in range(fo):
                z = j * rows
                Z[z : z + rows] = 0.0
                for m in range(fi):
                    w, x = params[k + m * fo + j], m * rows
                    for i in range(rows):
                        Z[z + i] += X[x + i] * w
                if b >= 0:
                    bias = params[b + j]
                    for i in range(rows):
                        Z[z + i] += bias
        elif code == ACTIVATION:
            Z[: rows * fo] = X[: rows * fo]
        elif code == DROPOUT:  # nothing dropped in inference
            A[: rows * fo] = X[: rows * fo]
            continue
        else:  # BATCH_NORM, from the running statistics
            gamma, beta, s = at_a[layer], at_b[layer], state_at[layer]
            for j in range(fo):
                mean, var = state[s + j], state[s + fo + j]
                inv_std = 1.0 / math.sqrt(var + layer_b[layer])
                g, shift = params[gamma + j], params[beta + j]
                for v in range(j * rows, (j + 1) * rows):
                    Z[v] = (X[v] - mean) * inv_std
                    A[v] = g * Z[v] + shift
            continue
        if act[layer] == SOFTMAX:  # over a row's units, rows apart
            for i in range(rows):
                shift = Z[i]
                for k in range(1, fo):
                    shift = max(shift, Z[k * rows + i])
                total = 0.0
                for k in range(fo):
                    A[k * rows + i] = math.exp(Z[k * rows + i] - shift)
                    total += A[k * rows + i]
                for k in range(fo):
                    A[k * rows + i] /= total
        else:
            activate(Z, A, rows * fo, fo, act[layer], act_arg[layer])


@kernel
def _penalty(params, kind, at_a, fan_in, fan_out, reg, reg_l1, reg_l2):
    """The regularization penalties of every kernel (core/regularizers.py)."""
    loss = 0.0
    for layer in range(len(fan_out)):
        if kind[layer] != DENSE or reg[layer] == NO_REG:
            continue
        k = at_a[layer]
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


@kernel
def _label(Y, Yi, r, outputs, indices):
    """Row r's class: its index, or the first largest column of a one-hot row."""
    if indices:
        return Yi[r]
    best = 0
    for j in range(1, outputs):
        if Y[r, j] > Y[r, best]:
            best = j
    return best


@kernel
def _loss_rows(
    loss_code, fused, indices, Z, A, Y, Yi, order, first, rows, outputs, rs, us, d, per, loss,
    right,
):  # fmt: skip
    """loss and right, plus each row's loss (summed over its outputs) and how many of its
    outputs are right, for the rows whose targets are Y/Yi[order[first + i]], with dL/dA (or
    dL/dZ when fused) of the mean over `per` into d unless d is empty (core/losses.py: value,
    value_from_logits, gradient, accuracy). Output j of row i is at i * rs + j * us in Z, A
    and d (packed rows: rs = outputs, us = 1; evaluate's units: rs = 1, us = rows). One loop
    over the rows for each loss: a call a row, branching on the loss each time, took 15 ns a
    row more (a quarter of evaluating 2-4-2-1)."""
    grad = d.shape[0] > 0
    if loss_code == MSE:
        for i in range(rows):
            r, o = order[first + i], i * rs
            term = 0.0
            for j in range(outputs):
                diff = A[o + j * us] - Y[r, j]
                term += diff * diff
                if grad:
                    d[o + j * us] = (2.0 / per) * diff
            loss += term
        return loss, right
    if loss_code == BCE:
        for i in range(rows):
            r, o = order[first + i], i * rs
            term, hits = 0.0, 0.0
            for j in range(outputs):
                z, y, a = Z[o + j * us], Y[r, j], A[o + j * us]
                if fused:  # max(z, 0) - z*y + log(1 + exp(-|z|)): log(1 + exp(z)) - z*y
                    term += max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
                    if grad:
                        d[o + j * us] = (a - y) / per
                else:
                    p = min(max(a, EPSILON), 1 - EPSILON)
                    term -= y * math.log(p) + (1 - y) * math.log(1 - p)
                    if grad:
                        inside = a > EPSILON and a < 1 - EPSILON  # the clip has no slope outside
                        d[o + j * us] = ((p - y) / (p * (1 - p)) if inside else 0.0) / per
                if (a > 0.5) == (y > 0.5):
                    hits += 1
            loss += term
            right += hits
        return loss, right
    # CCE: class indices or one-hot rows
    for i in range(rows):
        r, o = order[first + i], i * rs
        label = _label(Y, Yi, r, outputs, indices)
        best = 0
        for j in range(1, outputs):
            if A[o + j * us] > A[o + best * us]:
                best = j
        right += 1.0 if best == label else 0.0
        term = 0.0
        if fused:  # log-sum-exp of the logits minus the right ones
            shift = Z[o]
            for j in range(1, outputs):
                shift = max(shift, Z[o + j * us])
            total = 0.0
            for j in range(outputs):
                total += math.exp(Z[o + j * us] - shift)
            lse = shift + math.log(total)
            if indices:
                term = lse - Z[o + label * us]
            else:
                weight, dot = 0.0, 0.0
                for j in range(outputs):
                    weight += Y[r, j]
                    dot += Y[r, j] * Z[o + j * us]
                term = lse * weight - dot
            if grad:
                for j in range(outputs):
                    if indices:
                        d[o + j * us] = (A[o + j * us] - (1.0 if j == label else 0.0)) / per
                    else:
                        d[o + j * us] = (A[o + j * us] * weight - Y[r, j]) / per
        else:
            for j in range(outputs):
                y = (1.0 if j == label else 0.0) if indices else Y[r, j]
                p = min(max(A[o + j * us], EPSILON), 1 - EPSILON)
                if y != 0.0 or not indices:
                    term -= y * math.log(p)
                if grad:
                    inside = A[o + j * us] > EPSILON and A[o + j * us] < 1 - EPSILON
                    d[o + j * us] = -(y if inside else 0.0) / p / per
        loss += term
    return loss, right


@kernel
def _gather(X, order, first, rows, into):
    """into's rows (of X's columns, packed) = X[order[first + i]] for the batch's rows
    (NumPy's X[idx])."""
    cols = X.shape[1]
    for i in range(rows):
        r = order[first + i]
        for m in range(cols):
            into[i * cols + m] = X[r, m]


@kernel
def _gather_columns(X, order, first, rows, into):
    """into = X[order[first:first + rows]] a column at a time (column m's rows at m * rows),
    as _infer takes it."""
    for m in range(X.shape[1]):
        for i in range(rows):
            into[m * rows + i] = X[order[first + i], m]


@inline
def _flush_subnormal(slot, tiny):
    """Optimizer.flush_subnormal for one slot (core/optimizers.py FLUSH_EVERY: why)."""
    for p in range(len(slot)):
        if abs(slot[p]) < tiny:
            slot[p] = 0.0


@kernel
def train_steps(
    X, Y, Yi, order, start, batch_size, steps,  # data: Y (n, outputs) floats, Yi class indices
    params, grads, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg, layer_a, layer_b,
    state_at, reg, reg_l1, reg_l2, noise, drawn, row0,
    loss_code, fused, indices, opt_code, lr, opt_a, opt_b, opt_c, opt_flag, clipnorm, iterations,
    flush_every, slot1, slot2, slot3, last_active, relu_of, first_step, dead_window, table,
    cols, acc_col, Zs, As, stats, dbuf, dnext, update,
):  # fmt: skip
    """Train `steps` mini-batches: batch s is rows order[start + s * batch_size ...] of X/Y.
    Writes step s's logs into row row0 + s of `table` (the loss in column 0, the accuracy in
    acc_col, each layer's measurements where `cols` says) and returns the steps done; stops
    before updating on a step whose loss or gradient is not finite (returning NON_FINITE - s
    for step s, the weights as they were before it).

    Layers: kind; at_a/at_b: where a Dense layer's kernel and bias (-1: none) or a batch-norm
    layer's gamma and beta start in the flat params, state_at where its running mean and
    variance start in `state`; fan_in/fan_out; act code and argument (NO_ACTIVATION: none);
    layer_a/layer_b (Dropout: rate and scale; BatchNormalization: momentum and epsilon); reg
    code and rates. noise: the dropout draws, in the order the NumPy engine draws them,
    these steps' from noise[drawn]. Loss: loss_code, whether it is fused with the output
    activation (from the logits), the targets as class indices in Yi (indices) or rows of
    Y. Optimizer: opt_code, lr, its arguments (SGD: momentum, -, -, nesterov; RMSprop: rho,
    momentum, epsilon, centered; Adam: beta_1, beta_2, epsilon, -), clipnorm (0: none),
    iterations so far, every how many steps its state is flushed of subnormal numbers, its
    state in slot1..3. relu_of[layer]: the row of last_active for that layer's units (-1:
    none)."""
    X, Y, Yi, order, params, grads, state, kind, at_a, at_b, fan_in, fan_out = uncounted(
        (X, Y, Yi, order, params, grads, state, kind, at_a, at_b, fan_in, fan_out)
    )
    act, act_arg, layer_a, layer_b, state_at, reg, reg_l1, reg_l2, noise = uncounted(
        (act, act_arg, layer_a, layer_b, state_at, reg, reg_l1, reg_l2, noise)
    )
    slot1, slot2, slot3, last_active, relu_of, table, cols = uncounted(
        (slot1, slot2, slot3, last_active, relu_of, table, cols)
    )
    Zs, As, stats, dbuf, dnext, update = uncounted((Zs, As, stats, dbuf, dnext, update))
    n_layers = len(fan_out)
    n_total = len(order)
    last = n_layers - 1
    outputs = fan_out[last]
    for s in range(steps):
        first = start + s * batch_size
        rows = min(batch_size, n_total - first)
        step = first_step + s
        _gather(X, order, first, rows, As[0])
        drawn = _forward(
            rows, True, params, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg,
            layer_a, layer_b, state_at, noise, drawn, Zs, As, stats,
        )  # fmt: skip
        # ---- the loss and its gradient (core/losses.py): dL/dZ when fused, else dL/dA
        if loss_code == CCE:
            per = rows
        else:
            per = rows * outputs
        loss, correct = _loss_rows(
            loss_code, fused, indices, Zs[last], As[n_layers], Y, Yi, order, first, rows,
            outputs, outputs, 1, dbuf, per, 0.0, 0.0,
        )  # fmt: skip
        loss /= per
        correct /= per
        loss += _penalty(params, kind, at_a, fan_in, fan_out, reg, reg_l1, reg_l2)
        # ---- backward (core/layers.py, backward); D holds dL/d(output) of the layer, its
        # row i at i * fo (and inputs' at i * fi)
        for layer in range(last, -1, -1):
            fi, fo, code = fan_in[layer], fan_out[layer], kind[layer]
            inputs, Z, D = As[layer], Zs[layer], dbuf
            if act[layer] != NO_ACTIVATION and not (fused and layer == last):
                _activation_backward(D, Z, As[layer + 1], rows * fo, fo, act[layer], act_arg[layer])
            if code == DENSE:
                # dW sums over the rows i in order, in a register for a small kernel, in place
                # in the order it is stored for a big one (see _forward).
                k, b = at_a[layer], at_b[layer]
                if fi * fo <= SMALL_KERNEL:
                    for m in range(fi):
                        for j in range(fo):
                            g = 0.0
                            for i in range(rows):
                                g += inputs[i * fi + m] * D[i * fo + j]
                            grads[k + m * fo + j] = g
                else:
                    grads[k : k + fi * fo] = 0.0
                    for i in range(rows):
                        for m in range(fi):
                            x = inputs[i * fi + m]
                            for j in range(fo):
                                grads[k + m * fo + j] += x * D[i * fo + j]
                for m in range(fi):
                    for j in range(fo):
                        g = grads[k + m * fo + j]
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
                            g += D[i * fo + j]
                        grads[b + j] = g
                if layer > 0:  # dL/dX = dZ @ W.T, into dbuf as the layer below's D
                    for i in range(rows):
                        for m in range(fi):
                            d = 0.0
                            for j in range(fo):
                                d += D[i * fo + j] * params[k + m * fo + j]
                            dnext[i * fi + m] = d
                    D[: rows * fi] = dnext[: rows * fi]
            elif code == DROPOUT:
                if layer_a[layer] != 0.0:
                    for v in range(rows * fo):
                        D[v] = D[v] * Z[v]
            elif code == BATCH_NORM:
                gamma, beta = at_a[layer], at_b[layer]
                xhat = Z
                for j in range(fo):
                    g_gamma, g_beta, sum_dx, sum_dx_xhat = 0.0, 0.0, 0.0, 0.0
                    for v in range(j, rows * fo, fo):
                        g_gamma += D[v] * xhat[v]
                        g_beta += D[v]
                        dxhat = D[v] * params[gamma + j]
                        sum_dx += dxhat
                        sum_dx_xhat += dxhat * xhat[v]
                    grads[gamma + j] = g_gamma
                    grads[beta + j] = g_beta
                    if layer > 0:  # the batch's mean and variance depend on every sample
                        inv_n = stats[layer, 2, j] / rows
                        for v in range(j, rows * fo, fo):
                            dxhat = D[v] * params[gamma + j]
                            D[v] = inv_n * (rows * dxhat - sum_dx - xhat[v] * sum_dx_xhat)
        # ---- the whole gradient's norm: the finite check and clipping (core/model.py)
        total = 0.0
        for p in range(len(grads)):
            total += grads[p] * grads[p]
        total = math.sqrt(total)
        if not (math.isfinite(loss) and math.isfinite(total)):
            return NON_FINITE - s
        for layer in range(n_layers):  # the step is accepted: batch-norm statistics kept
            if kind[layer] == BATCH_NORM:
                momentum, s0, fo = layer_a[layer], state_at[layer], fan_out[layer]
                for j in range(fo):
                    state[s0 + j] = state[s0 + j] * momentum + (1 - momentum) * stats[layer, 0, j]
                    state[s0 + fo + j] = (
                        state[s0 + fo + j] * momentum + (1 - momentum) * stats[layer, 1, j]
                    )
        scale = 1.0
        clipped = clipnorm > 0 and total > clipnorm
        if clipped:
            scale = clipnorm / total
        iterations += 1
        # ---- the optimizer's update (core/optimizers.py), from the clipped gradient
        if iterations % flush_every == 0:
            tiny = TINY32 if slot1.itemsize == 4 else TINY64
            _flush_subnormal(slot1, tiny)
            _flush_subnormal(slot2, tiny)
            _flush_subnormal(slot3, tiny)
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
        row = table[row0 + s]
        row[0] = loss
        row[acc_col] = correct
        for layer in range(n_layers):
            if kind[layer] == DENSE:
                k, size = at_a[layer], fan_in[layer] * fan_out[layer]
                g2, w2, u2 = 0.0, 0.0, 0.0
                for m in range(size):
                    g2 += grads[k + m] * grads[k + m]
                    w2 += params[k + m] * params[k + m]
                    u2 += update[k + m] * update[k + m]
                w = math.sqrt(w2)
                row[cols[GRAD, layer]] = math.sqrt(g2)
                row[cols[WEIGHT, layer]] = w
                row[cols[RATIO, layer]] = math.sqrt(u2) / w if w2 else math.inf
            if act[layer] == NO_ACTIVATION:
                continue
            fo = fan_out[layer]
            A = As[layer + 1]
            total_a, saturated = 0.0, 0.0
            for v in range(rows * fo):
                a = A[v]
                total_a += a
                if act[layer] == TANH and abs(a) > 0.99:
                    saturated += 1
                elif act[layer] == SIGMOID and abs(a - 0.5) > 0.49:
                    saturated += 1
            mean = total_a / (rows * fo)
            spread = 0.0  # two passes, as the meter (core/meter.py) measures it
            for v in range(rows * fo):
                spread += (A[v] - mean) * (A[v] - mean)
            row[cols[MEAN, layer]] = mean
            row[cols[STD, layer]] = math.sqrt(spread / (rows * fo))
            if cols[SATURATED, layer] >= 0:
                row[cols[SATURATED, layer]] = saturated / (rows * fo)
            u = relu_of[layer]
            if u >= 0:
                alive, dead = 0, 0
                for j in range(fo):
                    top = A[j]
                    for v in range(j + fo, rows * fo, fo):
                        top = max(top, A[v])
                    if top > 0:
                        last_active[u, j] = step
                        alive += 1
                    if last_active[u, j] < step + 1 - dead_window:
                        dead += 1
                row[cols[DEAD_BATCH, layer]] = 1.0 - alive / fo
                row[cols[DEAD, layer]] = dead / fo
        for p in range(len(params)):
            params[p] += update[p]
    return steps


@kernel
def evaluate(
    X, Y, Yi, params, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg, layer_a,
    layer_b, state_at, reg, reg_l1, reg_l2, loss_code, fused, indices, order, Zs, As, stats,
):  # fmt: skip
    """The mean loss (penalties included) and accuracy of all rows of X in inference mode
    (core/model.py Sequential.evaluate), through buffers of as many rows at a time as the
    widest layer's fit in a row of Zs, a unit's values for those rows side by side (_infer)."""
    X, Y, Yi, params, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg = uncounted(
        (X, Y, Yi, params, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg)
    )
    layer_a, layer_b, state_at, reg, reg_l1, reg_l2, order, Zs, As, stats = uncounted(
        (layer_a, layer_b, state_at, reg, reg_l1, reg_l2, order, Zs, As, stats)
    )
    n_layers = len(fan_out)
    last = n_layers - 1
    outputs = fan_out[last]
    block = Zs.shape[1] // max(fan_in.max(), fan_out.max())
    n = len(X)
    if n == 0:  # as NumPy: nothing to average, no penalty, no accuracy
        return 0.0, math.nan
    nothing = Zs[0, :0]  # no gradient, no dropout noise
    loss = 0.0
    correct = 0.0
    for first in range(0, n, block):
        rows = min(block, n - first)
        _gather_columns(X, order, first, rows, As[0])
        _infer(
            rows, params, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg, layer_b,
            state_at, Zs, As,
        )  # fmt: skip
        loss, correct = _loss_rows(
            loss_code, fused, indices, Zs[last], As[n_layers], Y, Yi, order, first, rows,
            outputs, 1, rows, nothing, 1.0, loss, correct,
        )  # fmt: skip
    per = n if loss_code == CCE else n * outputs
    loss /= max(per, 1)
    correct /= max(per, 1)
    loss += _penalty(params, kind, at_a, fan_in, fan_out, reg, reg_l1, reg_l2)
    return loss, correct


@kernel
def _finite(values):
    for v in values:
        if not math.isfinite(v):
            return False
    return True


@kernel
def train_epochs(
    X, Y, Yi, X_test, Y_test, Yi_test, orders, start, batch_size, steps, max_ends,
    stop_below, classification, sums, epoch_logs, epoch_ends,
    every, ring_params, ring_slots, ring_state, ring_at, ring_sums, order_e, Zs_e, As_e, stats_e,
    params, grads, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg, layer_a, layer_b,
    state_at, reg, reg_l1, reg_l2, noise,
    loss_code, fused, indices, opt_code, lr, opt_a, opt_b, opt_c, opt_flag, clipnorm, iterations,
    flush_every, slot1, slot2, slot3, last_active, relu_of, first_step, dead_window, table,
    cols, acc_col, Zs, As, stats, dbuf, dnext, update,
):  # fmt: skip
    """train_steps across epoch ends, with the trainer's bookkeeping of each (Trainer
    _advance, _end_epoch, _checkpoint): up to `steps` steps from row `start` of orders[0],
    epoch e + 1 in orders[e + 1], stopping after `max_ends` epoch ends or after one whose
    test loss is below `stop_below`.

    sums: the epoch's loss and accuracy sums and steps (in and out, added one by one as the
    trainer adds them). Each epoch end e: epoch_logs[e] = loss, accuracy, train loss and
    accuracy, test loss and accuracy (inference mode, through order_e, Zs_e, As_e, stats_e);
    epoch_ends[e] = the steps done at its end. Every `every` steps (counted from the first),
    when the weights and statistics are finite, a checkpoint: params, the optimizer's slots
    and the statistics into row (k % rows) of ring_params, ring_slots, ring_state, with the
    steps done in ring_at and the sums in ring_sums. Returns (steps done or NON_FINITE - s
    for a failed step s, epoch ends, checkpoints)."""
    n = X.shape[0]
    per_row = 0  # dropout draws a row of a batch takes
    for layer in range(len(fan_out)):
        if kind[layer] == DROPOUT and 0.0 < layer_a[layer] < 1.0:
            per_row += fan_in[layer]
    # Counters passed on to train_steps start as np.int64: a plain 0 is a literal to numba,
    # which compiles the callee once for it and once for int64 (6 s more, measured).
    done, drawn = np.int64(0), np.int64(0)
    ends, saved = 0, 0
    pos = start
    while done < steps:
        left = (n - pos + batch_size - 1) // batch_size
        to_checkpoint = every - (first_step + done) % every
        k = min(steps - done, left, to_checkpoint)
        result = train_steps(
            X, Y, Yi, orders[ends], pos, batch_size, k,
            params, grads, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg, layer_a,
            layer_b, state_at, reg, reg_l1, reg_l2, noise, drawn, done,
            loss_code, fused, indices, opt_code, lr, opt_a, opt_b, opt_c, opt_flag, clipnorm,
            iterations + done, flush_every, slot1, slot2, slot3, last_active, relu_of,
            first_step + done, dead_window, table, cols, acc_col, Zs, As, stats, dbuf, dnext,
            update,
        )  # fmt: skip
        if result < 0:
            return NON_FINITE - (done + NON_FINITE - result), ends, saved
        rows = min(k * batch_size, n - pos)
        drawn += rows * per_row
        for s in range(done, done + k):
            sums[0] += table[s, 0]
            sums[1] += table[s, acc_col] if classification else math.nan
            sums[2] += 1
        pos += rows
        done += k
        ended = pos >= n
        if ended:
            epoch_logs[ends, 0] = sums[0] / sums[2]
            epoch_logs[ends, 1] = sums[1] / sums[2]
            train = evaluate(
                X, Y, Yi, params, state, kind, at_a, at_b, fan_in, fan_out, act, act_arg,
                layer_a, layer_b, state_at, reg, reg_l1, reg_l2, loss_code, fused, indices,
                order_e, Zs_e, As_e, stats_e,
            )  # fmt: skip
            test = evaluate(
                X_test, Y_test, Yi_test, params, state, kind, at_a, at_b, fan_in, fan_out, act,
                act_arg, layer_a, layer_b, state_at, reg, reg_l1, reg_l2, loss_code, fused,
                indices, order_e, Zs_e, As_e, stats_e,
            )  # fmt: skip
            epoch_logs[ends, 2], epoch_logs[ends, 4] = train[0], test[0]
            none = math.nan
            epoch_logs[ends, 3] = train[1] if classification and n else none
            epoch_logs[ends, 5] = test[1] if classification and X_test.shape[0] else none
            epoch_ends[ends] = done
            ends += 1
            pos = 0
            sums[0], sums[1], sums[2] = 0.0, 0.0, 0.0
        if (first_step + done) % every == 0 and _finite(params) and _finite(state):
            row = saved % ring_params.shape[0]
            ring_params[row] = params
            for j, slot in enumerate((slot1, slot2, slot3)):
                ring_slots[row, j, : len(slot)] = slot
            ring_state[row] = state
            ring_at[row] = done
            ring_sums[row] = sums
            saved += 1
        if ended and (ends >= max_ends or epoch_logs[ends - 1, 4] < stop_below):
            break
    return done, ends, saved
