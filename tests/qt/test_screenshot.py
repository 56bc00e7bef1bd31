"""`bpstudio screenshot` as users run it: a real picture of the window after N epochs."""

import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from bpstudio.lessons import lessons

LESSON = str(lessons()[0].path)


def run(*args):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "bpstudio", "screenshot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def distinct_colours(image: QImage, step=7) -> int:
    return len(
        {
            image.pixel(x, y)
            for x in range(0, image.width(), step)
            for y in range(0, image.height(), step)
        }
    )


def test_window_and_panel_pictures(tmp_path):
    out = tmp_path / "window.png"
    r = run(LESSON, "--out", str(out), "--epochs", "30", "--size", "1280x800")
    assert r.returncode == 0, r.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)
    assert distinct_colours(image) > 200  # plots, text and the network, not a blank window
    panel = tmp_path / "loss.png"
    assert run(LESSON, "--out", str(panel), "--epochs", "5", "--panel", "loss").returncode == 0
    small = QImage(str(panel))
    assert 0 < small.width() < 1280 and distinct_colours(small, 3) > 20


@pytest.mark.parametrize(
    "args,message",
    [
        (("--size", "big"), "--size must be WIDTHxHEIGHT"),
        (("--panel", "weights"), "--panel must be one of"),
        (("--epochs", "-2"), "--epochs must be >= 0"),
    ],
)
def test_bad_arguments(tmp_path, args, message):
    r = run(LESSON, "--out", str(tmp_path / "x.png"), *args)
    assert r.returncode == 1 and message in r.stderr and not (tmp_path / "x.png").exists()


def test_every_panel_shows_the_trained_state(qtbot, tmp_path):
    # Panels that draw only every few snapshots while training runs must still draw the last
    # one: a tutorial picture once showed dead units from early in the run.
    import numpy as np

    from bpstudio.project import load_project
    from bpstudio.qt.screenshot import render

    path = lessons()[3].path  # dead ReLU units
    seen = {}

    def look(window):
        seen["dead"] = window.panels["dead_units"].summary.plain_text()
        seen["canvas step"] = window.network_panel.canvas.snapshot.step
        seen["weights"] = window.session.trainer.net.flat_params.copy()
        seen["timeline"] = np.array(window.panels["dead_units"].timeline.image)

    render(load_project(path), tmp_path / "l4.png", epochs=20, prepare=look)
    trainer = load_project(path).make_trainer()
    trainer.fit(epochs=20)
    # Trained in parts, to give the dead-units timeline its measurements across the run
    # (one at the end drew a single column): the same weights as in one go.
    np.testing.assert_array_equal(seen["weights"], trainer.net.flat_params)
    timeline = seen["timeline"]  # units x measurements of the first layer
    assert timeline.shape == (8, 240)
    assert np.nanmean(timeline[:, 0]) < np.nanmean(timeline[:, -1])  # its units died on the way
    dead = [int(np.count_nonzero(d)) for d in trainer.net.dead_units()]
    assert dead[-1] == 8  # the lesson's point: a whole layer dies
    expected = " · ".join(
        f"Hidden {i}: {n}/{layer.output_dim} dead"
        for i, (layer, n) in enumerate(zip(trainer.net.relu_layers, dead), start=1)
    )
    assert seen["dead"].startswith(expected)
    assert seen["canvas step"] == trainer.step_count


@pytest.mark.parametrize("panel", ["layer", "dataset", "histograms"])
def test_a_panel_behind_a_tab_is_pictured_in_front_at_its_full_size(tmp_path, panel):
    from PySide6.QtGui import QImage

    from bpstudio.lessons import lessons
    from bpstudio.project import load_project
    from bpstudio.qt.screenshot import render

    out = render(load_project(lessons()[3].path), tmp_path / f"{panel}.png", panel=panel)
    image = QImage(str(out))
    assert image.width() >= 300 and image.height() >= 200, (image.width(), image.height())


def test_a_project_saved_mid_epoch_is_pictured_at_the_epoch_asked_for(tmp_path):
    import numpy as np

    from bpstudio.project import load_project, save_project
    from bpstudio.qt.screenshot import render

    project = load_project(lessons()[3].path)  # ReLU units: trained in parts for the timeline
    trainer = project.make_trainer()
    trainer.fit(steps=11)  # 25 steps an epoch
    project.capture(trainer)
    path = save_project(project, tmp_path / "mid.bpstudio")
    seen = {}

    def look(window):
        trained = window.session.trainer
        seen["at"] = (trained.epoch, trained.step_count)
        seen["weights"] = trained.net.flat_params.copy()

    render(load_project(path), tmp_path / "mid.png", epochs=30, prepare=look)
    headless = load_project(path).make_trainer()
    headless.fit(epochs=30)
    assert seen["at"] == (headless.epoch, headless.step_count) == (30, 750)
    np.testing.assert_array_equal(seen["weights"], headless.net.flat_params)
