"""Regenerate every screenshot of the tutorials from the real app, offscreen, the same way
every time (fixed seeds, window size, layout and theme):

    python docs/tutorials/make_screenshots.py                  # all of them
    python docs/tutorials/make_screenshots.py --only getting-started --out /tmp/shots

Each picture is one entry of SHOTS: the tutorial it belongs to, the project, how long to
train, what to show, and an optional `prepare(window)` that sets the scene (select a layer,
open a dialog) and may return the widget to picture."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
SIZE = (1280, 720)  # a classroom projector: every picture must read there
EXAM_CSV = HERE / "data" / "exam-results.csv"


@dataclass
class Shot:
    tutorial: str
    name: str
    project: str  # a lesson number ("1".."5") or "exam" (the CSV tutorial's project)
    epochs: int = 0
    panel: str | None = None
    fix: int | None = None
    prepare: object = None
    size: tuple = SIZE


def _select_first_layer(window):
    window.network_panel.canvas.select(0)


def _hover_unit(window):
    canvas = window.network_panel.canvas
    canvas.select(0)
    dense = next(col for col in canvas.columns if col.title == "dense")
    canvas.items[1].hover_unit = 1
    canvas.unit_hovered(dense, 1)


def _inspector(window):
    dialog = window.open_inspector()
    dialog.show_stage(2)
    dialog.layer.setCurrentText("Hidden 2")
    dialog.row.setValue(3)
    dialog.column.setValue(2)
    dialog.check_gradients()
    dialog.resize(700, 600)
    return dialog


def _csv_dialog(window):
    from bpstudio.qt.dialogs import CsvImportDialog

    dialog = CsvImportDialog(EXAM_CSV, window)
    dialog.resize(720, 520)
    dialog.show()
    return dialog


def _edit(window):
    """A unit more in the first layer and a dropout layer after it, as a user would add them."""
    builder = window.network_panel
    builder.canvas.button_clicked(0, "+")
    builder.canvas.select(0)
    builder.add_after_selection("Dropout")
    builder.canvas.select(1)
    return window.network_panel


def _answer(window):
    window.panels["lesson"].show_answer()


def _confusion(window):
    window.panels["output"].confusion.setChecked(True)


def _point_at_unit(window):
    """Point at the first hidden unit: its picture fills the output plane."""
    canvas = window.network_panel.canvas
    dense = next(col for col in canvas.columns if col.title == "dense")
    canvas.unit_hovered(dense, 0)


def _parameters(window):
    window.network_panel.canvas.select(0)
    window.show_panel("layer")


SHOTS = [
    Shot("getting-started", "gs-1-first-look", "1"),
    Shot("getting-started", "gs-2-network", "1", epochs=60, panel="network", prepare=_hover_unit),
    Shot("getting-started", "gs-3-edited", "1", epochs=30, panel="network", prepare=_edit),
    Shot("getting-started", "gs-4-inspector", "1", epochs=60, prepare=_inspector),
    Shot("lesson-1-first-network", "l1-1-trained", "1", epochs=60),
    Shot("lesson-1-first-network", "l1-2-output", "1", epochs=60, panel="output"),
    Shot("lesson-1-first-network", "l1-3-faster", "1", epochs=20, fix=1),
    Shot("csv-data", "csv-1-import", "1", prepare=_csv_dialog),
    Shot("csv-data", "csv-2-trained", "exam", epochs=60),
    Shot(
        "csv-data", "csv-3-network", "exam", epochs=60, panel="network", prepare=_select_first_layer
    ),
    Shot("lesson-2-vanishing-gradients", "l2-1-broken", "2", epochs=20),
    Shot("lesson-2-vanishing-gradients", "l2-2-gradients", "2", epochs=20, panel="gradients"),
    Shot("lesson-2-vanishing-gradients", "l2-3-relu", "2", epochs=20, fix=1),
    Shot("lesson-3-exploding-gradients", "l3-1-broken", "3", epochs=20),
    Shot("lesson-3-exploding-gradients", "l3-2-batchnorm", "3", epochs=20, fix=3),
    Shot("lesson-4-dead-relu", "l4-1-broken", "4", epochs=20, prepare=_answer),
    Shot("lesson-4-dead-relu", "l4-2-dead-units", "4", epochs=20, panel="dead_units"),
    Shot("lesson-4-dead-relu", "l4-3-lower-rate", "4", epochs=20, fix=1),
    Shot("lesson-5-dropout", "l5-1-overfitting", "5", epochs=200),
    Shot("lesson-5-dropout", "l5-2-dropout", "5", epochs=200, fix=2),
    Shot("lesson-6-hidden-layer", "l6-1-line", "6", epochs=100, prepare=_answer),
    Shot("lesson-6-hidden-layer", "l6-2-tanh", "6", epochs=100, fix=2),
    Shot("lesson-7-starting-weights", "l7-1-seed-0", "7", epochs=150),
    Shot("lesson-7-starting-weights", "l7-2-seed-2", "7", epochs=150, fix=2),
    Shot(
        "lesson-7-starting-weights",
        "l7-3-same-line",
        "7",
        epochs=150,
        fix=2,
        prepare=_point_at_unit,
    ),
    Shot("lesson-8-softmax", "l8-1-regions", "8", epochs=300),
    Shot("lesson-8-softmax", "l8-2-confusion", "8", epochs=300, prepare=_confusion),
    Shot("lesson-8-softmax", "l8-3-relu", "8", epochs=300, fix=2),
    Shot("lesson-9-spiral-challenge", "l9-1-stuck", "9", epochs=500, prepare=_parameters),
    Shot("lesson-9-spiral-challenge", "l9-2-relu", "9", epochs=60, fix=2),
]
TUTORIALS = sorted({shot.tutorial for shot in SHOTS})


def project_for(key):
    from bpstudio.lessons import lessons
    from bpstudio.project import load_project

    if key != "exam":
        return load_project(lessons()[int(key) - 1].path)
    from bpstudio.data.csvdata import read_csv
    from bpstudio.data.datasets import DatasetRecipe
    from bpstudio.project import Project

    project = Project(
        name="Exam results",
        description="Who passes the exam, from hours studied, hours slept and practice tests.",
        dataset=DatasetRecipe("csv", train_ratio=0.7),
        table=read_csv(EXAM_CSV, target="result"),
        layers=[
            {"class": "Dense", "units": 6, "activation": "relu", "kernel_initializer": "he_normal"},
            {"class": "Dense", "units": 1, "activation": "sigmoid"},
        ],
        optimizer={"name": "adam", "learning_rate": 0.01},
        batch_size=16,
    )
    project.fit_output_to(project.build_dataset())
    return project


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=TUTORIALS, help="one tutorial's pictures only")
    parser.add_argument("--out", type=Path, default=HERE / "images", help="where to write them")
    args = parser.parse_args(argv)
    from bpstudio.qt.screenshot import render

    args.out.mkdir(parents=True, exist_ok=True)
    shots = [s for s in SHOTS if args.only in (None, s.tutorial)]
    start = time.monotonic()
    for i, shot in enumerate(shots, 1):
        path = args.out / f"{shot.name}.png"
        render(
            project_for(shot.project),
            path,
            shot.epochs,
            shot.size,
            shot.panel,
            fix=shot.fix,
            prepare=shot.prepare,
        )
        print(f"[{i}/{len(shots)}] {path}", flush=True)
    print(f"{len(shots)} pictures in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
