"""Closing the window while training runs must end the process with exit code 0, every time.

(A prototype on PySide6 6.12.0 with pyqtgraph 0.14.0 crashed at interpreter exit after this;
the pinned versions must not.) Each run is the real app in a fresh interpreter: start it,
press Play, close the window after a while, answer "Discard" to the unsaved-training question
as a user would, and check the exit code."""

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
        QTimer.singleShot(100, answer_discard)
        window.close()

    QTimer.singleShot(delay, close)

code = run_studio(None, on_ready=ready,
                  settings=QSettings(sys.argv[2], QSettings.Format.IniFormat))
print("event loop returned", code, flush=True)
sys.exit(code)
"""


@pytest.mark.parametrize("run", range(RUNS))
def test_closing_mid_training_exits_cleanly(run, tmp_path):
    delay = 300 + 97 * run  # close at a different moment of training each time
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(delay),
            str(tmp_path / "settings.ini"),
            "present" if run % 2 else "window",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        # A data folder of its own: no autosave of another session can ask to be recovered.
        env={
            **__import__("os").environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_DATA_HOME": str(tmp_path / "data"),
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "event loop returned 0" in result.stdout
    assert "Fatal" not in result.stderr and "Traceback" not in result.stderr
