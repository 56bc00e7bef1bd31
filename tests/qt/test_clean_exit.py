"""Closing the window while training runs must end the process with exit code 0, every time.

(A prototype on PySide6 6.12.0 with pyqtgraph 0.14.0 crashed at interpreter exit after this;
the pinned versions must not.) Each run is the real app in a fresh interpreter: start it,
press Play, close the window after a while, answer "Discard" to the unsaved-training question
as a user would, and check the exit code."""

import os
import subprocess
import sys

import pytest

RUNS = 12

SCRIPT = r"""
import sys
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from bpstudio.qt.app import run_studio

delay = int(sys.argv[1])

def answer_discard():
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.isVisible():
            widget.button(QMessageBox.StandardButton.Discard).click()

def ready(window):
    if sys.argv[3] == "present":  # closed in presentation mode, zoomed in
        window.view.enter_presentation()
        window.view.zoom_in()
    window.actions["play"].trigger()

    def close():
        assert window.session.playing, "training was not running when the window closed"
        from bpstudio.compiled import engine
        print("compiled engine ready:", engine.ready("float64"), flush=True)
        QTimer.singleShot(100, answer_discard)
        window.close()

    QTimer.singleShot(delay, close)

code = run_studio(None, on_ready=ready,
                  settings=QSettings(sys.argv[2], QSettings.Format.IniFormat))
print("event loop returned", code, flush=True)
sys.exit(code)
"""


def close_mid_training(tmp_path, delay, mode, **env):
    """Run the studio, close it `delay` ms after Play; check it ended cleanly. Returns what
    it printed."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(delay), str(tmp_path / "settings.ini"), mode],
        capture_output=True,
        text=True,
        timeout=60,
        # A data folder of its own: no autosave of another session can ask to be recovered.
        env={
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_DATA_HOME": str(tmp_path / "data"),
            **env,
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "event loop returned 0" in result.stdout
    assert "Fatal" not in result.stderr and "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.parametrize("run", range(RUNS))
def test_closing_mid_training_exits_cleanly(run, tmp_path):
    delay = 300 + 97 * run  # close at a different moment of training each time
    close_mid_training(tmp_path, delay, "present" if run % 2 else "window")


@pytest.mark.parametrize("delay", [1500, 2500])
def test_closing_while_the_engine_compiles_for_the_first_time_exits_cleanly(delay, tmp_path):
    """With an empty numba cache (a user's first start) the compile, begun a second after
    the window showed, takes about 15 s in a thread of its own; closing meanwhile must not
    wait for it or crash at exit."""
    printed = close_mid_training(tmp_path, delay, "window", NUMBA_CACHE_DIR=str(tmp_path / "nb"))
    if "ready: True" in printed:  # a machine fast enough to compile in time: nothing shown
        pytest.skip("the compile ended before the window closed")
