"""Samples per second of training with every measurement on, on the compiled and the NumPy
engines, as ratios to a bare textbook NumPy loop timed in the same run; optionally TensorFlow
Playground's own trainer (its nn.ts, compiled with TypeScript, under node) beside them.

The nets are Playground-sized tanh networks on lesson 1's circle data (250 training points,
batch 10), trained through `Trainer.fit`, the path the window drives; then 64-64-10 on the
digits and 784-512-512-10 in float32 on random data, where NumPy's BLAS should keep winning.
Contenders are interleaved, each timed REPEATS times; medians are printed.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/compiled.py \\
        [--playground-src PLAYGROUND/src]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bpstudio.compiled import engine  # noqa: E402
from bpstudio.core import SGD, Dense, Sequential  # noqa: E402
from bpstudio.data.datasets import DatasetRecipe, make_dataset  # noqa: E402
from bpstudio.training.trainer import Trainer  # noqa: E402

SMALL = {"2-4-2-1": [4, 2], "2-8-8-8-1": [8, 8, 8], "2-8x6-1": [8] * 6}
#: Playground's trainer alone, and as its app runs it (with both losses every epoch).
PLAYGROUND = {"Playground training": False, "Playground oneStep": True}
REPEATS = 5


def small_trainer(hidden, engine_name):
    data = make_dataset(DatasetRecipe("circle"))
    net = Sequential(
        [*(Dense(n, activation="tanh") for n in hidden), Dense(1, activation="sigmoid")],
        input_dim=2,
        seed=0,
    )
    net.compile(SGD(0.03), "binary_crossentropy")
    return Trainer(net, data, batch_size=10, engine=engine_name)


def bare_loop(trainer, epochs):
    """Forward, cross-entropy from the logits, backward, SGD: nothing measured."""
    net = trainer.net
    Ws = [layer.params["kernel"].copy() for layer in net.layers]
    bs = [layer.params["bias"].copy() for layer in net.layers]
    X, y = trainer.X, trainer.Y.reshape(-1, 1)
    order = np.random.default_rng(0).permutation(len(X))
    start = time.perf_counter()
    for _ in range(epochs):
        for i in range(0, len(X), 10):
            idx = order[i : i + 10]
            acts = [X[idx]]
            for W, b in zip(Ws[:-1], bs[:-1]):
                acts.append(np.tanh(acts[-1] @ W + b))
            z = acts[-1] @ Ws[-1] + bs[-1]
            dz = (0.5 + 0.5 * np.tanh(0.5 * z) - y[idx]) / len(idx)
            for k in range(len(Ws) - 1, -1, -1):
                dW, db = acts[k].T @ dz, dz.sum(axis=0)
                if k:
                    dz = (dz @ Ws[k].T) * (1 - acts[k] * acts[k])
                Ws[k] -= 0.03 * dW
                bs[k] -= 0.03 * db
    return epochs * len(X) / (time.perf_counter() - start)


def fit_rate(trainer, epochs):
    start = time.perf_counter()
    trainer.fit(epochs=epochs)
    return epochs * len(trainer.X) / (time.perf_counter() - start)


PLAYGROUND_DRIVER = """
const nn = require("./nn.js");
const [hidden, epochs, losses] = [JSON.parse(process.argv[2]), +process.argv[3],
  process.argv[4] === "losses"];
const circle = n => Array.from({length: n}, () => [Math.random() * 10 - 5, Math.random() * 10 - 5]);
const [train, test] = [circle(250), circle(250)];
const label = p => (Math.hypot(p[0], p[1]) < 2.5 ? 1 : -1);
const net = nn.buildNetwork([2, ...hidden, 1], nn.Activations.TANH, nn.Activations.TANH,
  null, ["x", "y"], false);
const loss = points => points.reduce(
  (sum, p) => sum + nn.Errors.SQUARE.error(nn.forwardProp(net, p), label(p)), 0) / points.length;
let seen = 0;  // the losses, used, so that no engine could skip them
const start = process.hrtime.bigint();
for (let e = 0; e < epochs; e++) {  // playground.ts oneStep(), without its drawing
  train.forEach((p, i) => {
    nn.forwardProp(net, p);
    nn.backProp(net, label(p), nn.Errors.SQUARE);
    if ((i + 1) % 10 === 0) nn.updateWeights(net, 0.03, 0);
  });
  if (losses) seen += loss(train) + loss(test);
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
if (Number.isNaN(seen)) console.error("a loss is NaN");
console.log(JSON.stringify(epochs * 250 / seconds));
"""


def playground_runner(src: Path):
    """A function(hidden, epochs, losses) -> samples/s of Playground's own nn.ts under node:
    its training alone, or with the train and test losses its oneStep() computes every
    epoch (as Trainer.fit evaluates both sets at each epoch end) when `losses`."""
    work = Path(tempfile.mkdtemp())
    shutil.copy(src / "nn.ts", work / "nn.ts")
    npm = ["npm", "install", "--silent", "--prefix", str(work), "typescript@5"]
    subprocess.run(npm, check=True)
    tsc = work / "node_modules" / ".bin" / "tsc"
    subprocess.run([str(tsc), "--module", "commonjs", "--target", "es2017", "--noCheck", "nn.ts"],
                   cwd=work, check=True)  # fmt: skip
    (work / "driver.js").write_text(PLAYGROUND_DRIVER)

    def run(hidden, epochs, losses):
        out = subprocess.run(
            ["node", "driver.js", json.dumps(hidden), str(epochs), "losses" if losses else "-"],
            cwd=work, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return float(out.stdout)

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--playground-src", type=Path, help="Playground's src folder")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument(
        "--crossover", action="store_true", help="where NumPy's BLAS starts to win, then stop"
    )
    args = parser.parse_args()
    if args.crossover:
        crossover()
        return
    if engine.available() is not None or not engine.warm_up("float64", wait=True):
        sys.exit(f"the compiled engine is not available: {engine.available()}")
    playground = playground_runner(args.playground_src) if args.playground_src else None
    print(f"{'net':<12}{'contender':<22}{'samples/s':>12}{'/ bare loop':>13}{'compiled / it':>17}")
    for name, hidden in SMALL.items():
        rates = {k: [] for k in ("bare NumPy loop", "compiled", "NumPy engine", *PLAYGROUND)}
        for _ in range(REPEATS):  # interleaved
            rates["bare NumPy loop"].append(bare_loop(small_trainer(hidden, "numpy"), args.epochs))
            rates["compiled"].append(fit_rate(small_trainer(hidden, "compiled"), args.epochs))
            rates["NumPy engine"].append(fit_rate(small_trainer(hidden, "numpy"), args.epochs))
            for contender, losses in PLAYGROUND.items() if playground else ():
                rates[contender].append(playground(hidden, args.epochs, losses))
        bare = statistics.median(rates["bare NumPy loop"])
        compiled = statistics.median(rates["compiled"])
        for contender, values in rates.items():
            if values:
                rate = statistics.median(values)
                ours = f"{compiled / rate:>17.2f}" if contender in PLAYGROUND else ""
                print(f"{name:<12}{contender:<22}{rate:>12,.0f}{rate / bare:>13.2f}{ours}")
    big(args)


def crossover():
    """compiled / NumPy samples per second against the multiply-adds of a step per layer
    (what engine.WORK_PER_LAYER is set from)."""

    class Data:
        pass

    rng = np.random.default_rng(0)
    print(f"{'inputs':>6} {'hidden':<22}{'batch':>6}{'work/layer':>12}{'compiled/NumPy':>16}")
    cases = [(2, [16, 16], 10), (2, [32, 32], 10), (2, [64, 64], 10), (8, [32, 32], 32),
             (64, [16], 32), (64, [32], 32), (64, [64], 32), (2, [8] * 6, 10),
             (2, [16] * 6, 10)]  # fmt: skip
    for inputs, hidden, batch in cases:
        X, y = rng.normal(size=(512, inputs)), rng.integers(0, 2, 512)
        data = Data()
        data.X_train, data.y_train, data.X_test, data.y_test = X, y, X[:64], y[:64]
        data.input_dim = inputs
        rates = {"numpy": [], "compiled": []}
        for _ in range(REPEATS):
            for name in rates:
                net = Sequential(
                    [*(Dense(n, activation="relu") for n in hidden), Dense(1, "sigmoid")],
                    input_dim=inputs, seed=0,
                )  # fmt: skip
                net.compile(SGD(0.01), "binary_crossentropy")
                trainer = Trainer(net, data, batch_size=batch, engine=name)
                trainer.fit(steps=20)
                start = time.perf_counter()
                trainer.fit(steps=400)
                rates[name].append(400 * batch / (time.perf_counter() - start))
        work = engine.work_per_layer(net, batch)
        ratio = statistics.median(rates["compiled"]) / statistics.median(rates["numpy"])
        print(f"{inputs:>6} {hidden!s:<22}{batch:>6}{work:>12,.0f}{ratio:>16.2f}")


def big(args):
    """Wide networks: the NumPy engine (auto's choice) against the compiled one forced."""
    cases = [
        ("64-64-10", DatasetRecipe("digits"), [64], "float64", 32),
        ("784-512-512-10", None, [512, 512], "float32", 256),
    ]
    for name, recipe, hidden, dtype, batch in cases:
        if recipe is None:
            rng = np.random.default_rng(0)
            X, y = rng.normal(size=(2048, 784)), rng.integers(0, 10, 2048)
        else:
            data = make_dataset(recipe)
            X, y = data.X_train, data.y_train
        rates = {"NumPy engine": [], "compiled": []}
        for _ in range(3):
            for contender in rates:
                net = Sequential(
                    [*(Dense(n, activation="relu") for n in hidden), Dense(10, "softmax")],
                    input_dim=X.shape[1], seed=0, dtype=dtype,
                )  # fmt: skip
                net.compile(SGD(0.01), "categorical_crossentropy")
                chosen = "numpy" if contender == "NumPy engine" else "compiled"

                class Data:
                    X_train, y_train, X_test, y_test = X, y, X[:64], y[:64]
                    input_dim = X.shape[1]

                trainer = Trainer(net, Data, batch_size=batch, engine=chosen)
                steps = 40 if name.startswith("784") else 300
                start = time.perf_counter()
                trainer.fit(steps=steps)
                rates[contender].append(steps * batch / (time.perf_counter() - start))
        numpy_rate = statistics.median(rates["NumPy engine"])
        for contender, values in rates.items():
            rate = statistics.median(values)
            print(f"{name:<16}{contender:<18}{rate:>12,.0f} samples/s  {rate / numpy_rate:.2f}x")


if __name__ == "__main__":
    main()
