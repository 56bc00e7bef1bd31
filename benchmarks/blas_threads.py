"""Training steps per second with one BLAS thread against two (or more), interleaved, for the
network sizes the studio meets: is a second thread worth taking from the window?

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/blas_threads.py
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from bpstudio.core import SGD, Dense, Sequential

NETS = {  # name: (input, hidden widths, outputs, batch, dtype)
    "2-8-8-8-1, batch 10": (2, (8, 8, 8), 1, 10, "float64"),
    "64-64-10, batch 32": (64, (64,), 10, 32, "float64"),
    "784-512-512-10, batch 64": (784, (512, 512), 10, 64, "float64"),
    "784-512-512-10 float32, batch 64": (784, (512, 512), 10, 64, "float32"),
    "784-2000-2000-10, batch 128": (784, (2000, 2000), 10, 128, "float64"),
}


def rate(net, X, Y, seconds=0.6) -> float:
    for _ in range(3):
        net.train_on_batch(X, Y)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        net.train_on_batch(X, Y)
        steps += 1
    return steps / (time.perf_counter() - start)


def main():
    cores = os.cpu_count() or 1
    most = max(info["num_threads"] for info in threadpool_info()) if threadpool_info() else 1
    print(f"{cores} cores; BLAS: {[i['internal_api'] for i in threadpool_info()]}, up to {most}")
    rng = np.random.default_rng(0)
    for name, (inputs, hidden, outputs, batch, dtype) in NETS.items():
        layers = [Dense(h, activation="relu") for h in hidden]
        net = Sequential([*layers, Dense(outputs)], input_dim=inputs, seed=0, dtype=dtype)
        net.compile(optimizer=SGD(learning_rate=1e-3), loss="mse")
        X = rng.normal(size=(batch, inputs))
        Y = rng.normal(size=(batch, outputs))
        runs = {1: [], most: []}
        for _ in range(5):  # interleaved, so that the machine's state hits both alike
            for threads in runs:
                with threadpool_limits(threads, user_api="blas"):
                    runs[threads].append(rate(net, X, Y))
        one, many = (statistics.median(runs[t]) for t in (1, most))
        print(
            f"{name:<36} 1 thread {one:>9,.0f} steps/s   {most} threads {many:>9,.0f}"
            f"   ratio {many / one:.2f}"
        )


if __name__ == "__main__":
    main()
