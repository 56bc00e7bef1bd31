"""`bpstudio screenshot`: render the real window, or one panel, to PNG after N epochs,
offscreen, the same way every time (fixed seed, size, layout and theme)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bpstudio.qt.layout import PANEL_NAMES
from bpstudio.viewmodel.layout import SCREENSHOT_SIZE

#: What `bpstudio screenshot --panel` can picture: every panel of the window's table.
PANELS = PANEL_NAMES


def render(
    project, out, epochs=0, size=SCREENSHOT_SIZE, panel=None, quiet=True, fix=None, prepare=None
):
    """Train `project` for `epochs` epochs headless, then save a PNG of the window (or a
    panel) at `size`. With `fix` (a lesson's fix, counted from 1), train the lesson as given,
    then run again with that fix for as long, and show the two runs compared. `prepare`
    (window) -> widget or None runs last, to set the scene (select a layer, open a dialog);
    a widget it returns is what is pictured. Returns the path written."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from tqdm import tqdm

    from bpstudio.core.callbacks import Callback
    from bpstudio.qt.app import application
    from bpstudio.qt.panels.base import Panel
    from bpstudio.qt.panels.dead_units import TIMELINE
    from bpstudio.qt.window import StudioWindow
    from bpstudio.viewmodel.snapshots import SnapshotMaker

    app = application()
    from bpstudio.compiled import engine

    engine.set_waiting(True)  # as on the command line: the same command, the same picture
    with tempfile.TemporaryDirectory() as folder:
        # A fresh settings file: the user's own window layout must not change the picture.
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window = StudioWindow(project, settings=settings, autosave_dir=Path(folder) / "autosave")
        window.resize(*size)
        window.show()
        bar = tqdm(
            total=epochs * (2 if fix else 1), unit="epoch", file=sys.stderr, disable=quiet or None
        )

        class Progress(Callback):
            def on_epoch_end(self, epoch, logs=None):
                bar.update(1)

        def train_here():
            # Train in this thread, after the worker has ended and its queued snapshots have
            # been delivered, so that none of them can arrive after the one rendered here.
            window.session.stop()
            for _ in range(3):
                app.processEvents()
            trainer = window.session.trainer
            trainer.callbacks.callbacks.append(Progress())
            maker = SnapshotMaker(
                trainer, clock=lambda: 0.0, timed=False
            )  # no clock in the picture
            if epochs and trainer.net.relu_layers:
                # The dead-units timeline gets its measurements across the run, as a window
                # watching it would have (one at the end drew a single column of 240).
                end = trainer.epoch + epochs
                total = epochs * -(-len(trainer.X) // trainer.batch_size)
                for i in range(1, TIMELINE):
                    steps = total * i // TIMELINE - total * (i - 1) // TIMELINE
                    if not steps:
                        continue
                    # Never past the epoch asked for (a project saved mid-epoch is short of
                    # `total` steps to it).
                    trainer.fit(epochs=end - trainer.epoch, steps=steps)
                    if trainer.epoch >= end or trainer.failure is not None:
                        break
                    snapshot = maker.make(final=True)  # final: all its measurements anew
                    for panel in window.panels.values():
                        if isinstance(panel, Panel):
                            panel.record(snapshot)
                trainer.fit(epochs=end - trainer.epoch)
            elif epochs:
                trainer.fit(epochs=epochs)
            window.hub.offer(maker.make(final=True))  # final: every panel draws it
            for _ in range(3):
                app.processEvents()

        train_here()
        if fix:
            window.edits.run_fix(fix - 1)
            train_here()
            window.docks["runs"].raise_()
            for _ in range(3):
                app.processEvents()
        bar.close()
        widget = window
        if panel:  # in front (a tab behind another is not laid out), with its scroll area
            window.show_panel(panel)
            for _ in range(3):
                app.processEvents()
            widget = window.docks[panel].widget() if panel in window.docks else window.panels[panel]
        if prepare is not None:
            widget = prepare(window) or widget
            for _ in range(3):
                app.processEvents()
        pixmap = widget.grab()
        window.document.modified = False
        window.close()
        app.processEvents()
        if not pixmap.save(str(out), "PNG"):
            raise OSError(f"cannot write {out}")
    return Path(out)
