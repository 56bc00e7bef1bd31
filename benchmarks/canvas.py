"""The network canvas with a big network (784-512-512-10, as for MNIST) against a small one:
how long drawing the structure, feeding a training snapshot and panning take.

Prints medians of several runs, in milliseconds. Run with the BLAS tuning variables unset:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/canvas.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPEATS = 15


def big_project():
    from bpstudio.data.csvdata import read_csv
    from bpstudio.data.datasets import DatasetRecipe
    from bpstudio.project import Project

    rng = np.random.default_rng(0)
    X = rng.random((300, 784))
    y = rng.integers(0, 10, 300)
    lines = [",".join([*(f"p{i}" for i in range(784)), "digit"])]
    lines += [",".join([*(f"{v:.3f}" for v in row), str(label)]) for row, label in zip(X, y)]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("\n".join(lines))
    table = read_csv(f.name, target="digit", task="classification")
    os.unlink(f.name)
    return Project(
        dataset=DatasetRecipe("csv", n_samples=300),
        table=table,
        layers=[
            {"class": "Dense", "units": 512, "activation": "relu"},
            {"class": "Dense", "units": 512, "activation": "relu"},
            {"class": "Dense", "units": 10, "activation": "softmax"},
        ],
        loss="categorical_crossentropy",
        batch_size=32,
    )


def measure(window, app, label):
    from bpstudio.viewmodel.snapshots import SnapshotMaker

    window.session.stop()
    app.processEvents()
    trainer = window.session.trainer
    trainer.fit(1)
    maker = SnapshotMaker(trainer)
    builder = window.network_panel
    canvas = builder.canvas
    view = canvas.viewport()

    def timed(fn):
        times = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)

    def structure():
        builder.show_network(window.project.layers, trainer.net, trainer.dataset, "output note")
        view.grab()

    snapshot = maker.make()

    def feed():
        canvas.show_snapshot(snapshot)
        view.grab()

    def pan():
        canvas.horizontalScrollBar().setValue(canvas.horizontalScrollBar().value() + 7)
        canvas.scale(1.001, 1.001)
        view.grab()

    print(
        f"{label:<22} structure {timed(structure):7.1f} ms   snapshot+paint "
        f"{timed(feed):7.1f} ms   pan+paint {timed(pan):7.1f} ms   "
        f"weights copied: {'yes' if snapshot.weights is not None else 'no (too many)'}"
    )


def main():
    from PySide6.QtCore import QSettings

    from bpstudio.lessons.catalog import first_network
    from bpstudio.qt.app import application
    from bpstudio.qt.window import StudioWindow
    from bpstudio.viewmodel.layout import WINDOW_SIZE

    app = application()
    for label, project in (
        ("2-4-2-1 (lesson 1)", first_network()),
        ("784-512-512-10", big_project()),
    ):
        settings = QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat)
        window = StudioWindow(project, settings=settings)
        window.resize(*WINDOW_SIZE)
        window.show()
        app.processEvents()
        measure(window, app, label)
        window.document.modified = False
        window.close()
        app.processEvents()


if __name__ == "__main__":
    main()
