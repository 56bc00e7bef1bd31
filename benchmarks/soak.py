"""A long headless run: a million training steps of the first lesson's network, with memory
(RSS), speed and the history's size printed every 100,000 steps, so that growth or slowdown
shows. Run with the BLAS tuning variables unset:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/soak.py [--steps 1000000]
"""

from __future__ import annotations

import argparse
import time


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None):
    from bpstudio.lessons.catalog import first_network
    from bpstudio.viewmodel.snapshots import SnapshotMaker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000)
    args = parser.parse_args(argv)
    trainer = first_network().make_trainer()
    maker = SnapshotMaker(trainer)  # as the window makes them, every 25 ms of training
    print(f"{'steps':>10} {'steps/s':>9} {'RSS MB':>8} {'step rows':>10} {'stride':>7}")
    done, rates = 0, []
    while done < args.steps:
        start = time.perf_counter()
        target = done + args.every
        last_snapshot = start
        while trainer.step_count < target:
            trainer.fit(steps=min(500, target - trainer.step_count))
            if time.perf_counter() - last_snapshot > 0.025:
                maker.make()
                last_snapshot = time.perf_counter()
        done = trainer.step_count
        rate = args.every / (time.perf_counter() - start)
        rates.append(rate)
        history = trainer.history.steps
        print(f"{done:>10,} {rate:>9,.0f} {rss_mb():>8.1f} {len(history):>10,} {history.stride:>7}")
    print(
        f"first {args.every:,} steps {rates[0]:,.0f} steps/s, last {rates[-1]:,.0f} steps/s "
        f"({rates[-1] / rates[0]:.2f} of the first)"
    )


if __name__ == "__main__":
    main()
