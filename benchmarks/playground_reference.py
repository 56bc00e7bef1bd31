"""What TensorFlow Playground's own trainer does with a few links: the reference that
tests/project/test_playground.py compares our projects with.

Playground's `nn.ts` and `dataset.ts` (from a checkout, `--src DIR/src`) are compiled with
TypeScript from the npm registry and driven under node as Playground's page drives them:
its data generator, its shuffle and split, `buildNetwork`, then per epoch every training point
forward and backward with an update every batch, and the test loss as Playground shows it
(mean of half the squared error). Math.random is not seeded, so each run differs; the
medians and quartiles of RUNS runs are written to --out.

    python benchmarks/playground_reference.py --src /path/to/playground/src \\
        --out tests/project/playground_reference.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bpstudio.project.playground import FEATURES, read_state  # noqa: E402

#: The links: Playground's defaults, and the setups the course's exercises ask about.
LINKS = {
    "default circle": "#activation=tanh&dataset=circle&networkShape=4,2&learningRate=0.03",
    "linear circle": "#activation=linear&dataset=circle&networkShape=&learningRate=0.03",
    "circle with squares": (
        "#dataset=circle&networkShape=&xSquared=true&ySquared=true&learningRate=0.03"
    ),
    "xor with x1x2": "#dataset=xor&networkShape=&x=false&y=false&xTimesY=true&learningRate=0.03",
    "relu xor": "#activation=relu&dataset=xor&networkShape=8,8&learningRate=0.03&noise=10",
    "spiral small": "#activation=tanh&dataset=spiral&networkShape=4&learningRate=0.03",
    "gauss l2": (
        "#dataset=gauss&networkShape=4&regularization=L2&regularizationRate=0.03&noise=25"
        "&batchSize=5"
    ),
    "regression plane": "#problem=regression&regDataset=reg-plane&networkShape=2&learningRate=0.01",
}
EPOCHS = (25, 100, 300)
RUNS = 40

D3_SHIM = """
// The one part of d3 v3 dataset.ts uses: a linear scale, with clamp.
exports.scale = { linear: function () {
  var d = [0, 1], r = [0, 1], clamp = false;
  function s(x) { var t = (x - d[0]) / (d[1] - d[0]);
    if (clamp) t = Math.max(0, Math.min(1, t)); return r[0] + t * (r[1] - r[0]); }
  s.domain = function (v) { d = v; return s; };
  s.range = function (v) { r = v; return s; };
  s.clamp = function (v) { clamp = v; return s; };
  return s; } };
"""

DRIVER = """
const nn = require("./nn.js"), dataset = require("./dataset.js");
const jobs = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
const INPUTS = {x: (x, y) => x, y: (x, y) => y, xSquared: (x, y) => x * x,
  ySquared: (x, y) => y * y, xTimesY: (x, y) => x * y, sinX: (x, y) => Math.sin(x),
  sinY: (x, y) => Math.sin(y)};
const GEN = {circle: dataset.classifyCircleData, xor: dataset.classifyXORData,
  gauss: dataset.classifyTwoGaussData, spiral: dataset.classifySpiralData,
  "reg-plane": dataset.regressPlane, "reg-gauss": dataset.regressGaussian};
const ACT = {relu: nn.Activations.RELU, tanh: nn.Activations.TANH,
  sigmoid: nn.Activations.SIGMOID, linear: nn.Activations.LINEAR};
const REG = {L1: nn.RegularizationFunction.L1, L2: nn.RegularizationFunction.L2};
const out = {};
for (const [name, s] of Object.entries(jobs.links)) {
  const ids = Object.keys(INPUTS).filter(k => s[k]);
  const input = p => ids.map(k => INPUTS[k](p.x, p.y));
  const regression = s.problem === "regression";
  const losses = jobs.epochs.map(() => []);
  for (let run = 0; run < jobs.runs; run++) {
    const data = GEN[regression ? s.regDataset : s.dataset](
      regression ? 1200 : 500, s.noise / 100);
    dataset.shuffle(data);
    const split = Math.floor(data.length * s.percTrainData / 100);
    const train = data.slice(0, split), test = data.slice(split);
    const net = nn.buildNetwork([ids.length, ...s.networkShape, 1], ACT[s.activation],
      regression ? nn.Activations.LINEAR : nn.Activations.TANH,
      s.regularization ? REG[s.regularization] : null, ids, s.initZero);
    const loss = points => points.reduce((sum, p) =>
      sum + nn.Errors.SQUARE.error(nn.forwardProp(net, input(p)), p.label), 0) / points.length;
    for (let epoch = 1; epoch <= jobs.epochs[jobs.epochs.length - 1]; epoch++) {
      train.forEach((p, i) => {
        nn.forwardProp(net, input(p));
        nn.backProp(net, p.label, nn.Errors.SQUARE);
        if ((i + 1) % s.batchSize === 0) {
          nn.updateWeights(net, s.learningRate, s.regularizationRate);
        }
      });
      const at = jobs.epochs.indexOf(epoch);
      if (at >= 0) losses[at].push(loss(test));
    }
  }
  out[name] = losses;
}
console.log(JSON.stringify(out));
"""


def quartiles(values):
    v = sorted(values)

    def at(q):
        i = q * (len(v) - 1)
        lo = int(i)
        return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (i - lo)

    return [round(at(0.25), 5), round(at(0.5), 5), round(at(0.75), 5)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", required=True, type=Path, help="Playground's src folder")
    parser.add_argument("--out", type=Path, help="write the reference JSON here")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("nn.ts", "dataset.ts"):
            shutil.copy(args.src / name, work / name)
        subprocess.run(["npm", "install", "--silent", "--prefix", tmp, "typescript@5"], check=True)
        (work / "node_modules" / "d3").mkdir()
        (work / "node_modules" / "d3" / "index.js").write_text(D3_SHIM)
        (work / "shim.d.ts").write_text('declare module "d3";\n')
        tsc = work / "node_modules" / ".bin" / "tsc"
        subprocess.run(
            [str(tsc), "--module", "commonjs", "--target", "es2017", "--noImplicitAny", "false",
             "--skipLibCheck", "--noCheck", "nn.ts", "dataset.ts", "shim.d.ts"],
            cwd=tmp, check=True,
        )  # fmt: skip
        states = {}
        for name, link in LINKS.items():
            state, _, notes = read_state(link)
            assert not notes, notes
            states[name] = state
        (work / "driver.js").write_text(DRIVER)
        (work / "jobs.json").write_text(
            json.dumps({"links": states, "epochs": EPOCHS, "runs": args.runs})
        )
        done = subprocess.run(
            ["node", "driver.js", "jobs.json"], cwd=tmp, check=True, capture_output=True, text=True
        )
    losses = json.loads(done.stdout)
    reference = {
        "what": "TensorFlow Playground's test loss (mean half squared error) after each "
        "epoch count: [lower quartile, median, upper quartile] of `runs` runs",
        "command": "python benchmarks/playground_reference.py --src PLAYGROUND/src --out ...",
        "features": list(FEATURES),
        "runs": args.runs,
        "epochs": list(EPOCHS),
        "links": {
            name: {"link": LINKS[name], "test_loss": [quartiles(v) for v in losses[name]]}
            for name in LINKS
        },
    }
    text = json.dumps(reference, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    for name, entry in reference["links"].items():
        medians = (f"{e}: {q[1]:.3f}" for e, q in zip(EPOCHS, entry["test_loss"]))
        print(f"{name:<22}", "  ".join(medians))


if __name__ == "__main__":
    main()
