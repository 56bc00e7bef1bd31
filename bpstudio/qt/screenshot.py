"""`bpstudio screenshot`: render the real window, or one panel, to PNG after N epochs,
offscreen, the same way every time (fixed seed, size, layout and theme)."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from bpstudio.cli import CliError

PANELS = (
    "network",
    "output",
    "loss",
    "gradients",
    "dead_units",
    "histograms",
    "runs",
    "dataset",
    "settings",
    "lesson",
)


def _size(text):
    m = re.fullmatch(r"(\d{3,5})x(\d{3,5})", text or "")
    if not m or not (320 <= int(m[1]) <= 8000 and 240 <= int(m[2]) <= 8000):
        raise CliError(f"--size must be WIDTHxHEIGHT between 320x240 and 8000x8000; got {text!r}")
    return int(m[1]), int(m[2])


def render(
    project, out, epochs=0, size=(1600, 1000), panel=None, quiet=True, fix=None, prepare=None
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
    from bpstudio.qt.window import StudioWindow
    from bpstudio.training.snapshots import SnapshotMaker

    app = application()
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
            if epochs:
                trainer.fit(epochs=epochs)
            maker = SnapshotMaker(trainer, clock=lambda: 0.0)  # no wall-clock in the picture
            window.hub.offer(maker.make(final=True))  # final: every panel draws it
            for _ in range(3):
                app.processEvents()

        train_here()
        if fix:
            window.run_fix(fix - 1)
            train_here()
            window.docks["runs"].raise_()
            for _ in range(3):
                app.processEvents()
        bar.close()
        widget = window
        if panel in ("dataset", "settings", "lesson"):
            widget = window.docks[panel].widget()
        elif panel:
            widget = window.panels[panel]
        if prepare is not None:
            widget = prepare(window) or widget
            for _ in range(3):
                app.processEvents()
        pixmap = widget.grab()
        window.modified = False
        window.close()
        app.processEvents()
        if not pixmap.save(str(out), "PNG"):
            raise CliError(f"cannot write {out}")
    return Path(out)


def screenshot(args) -> int:
    from bpstudio.cli import _load

    size = _size(args.size)
    if args.epochs < 0:
        raise CliError(f"--epochs must be >= 0; got {args.epochs}")
    if args.panel and args.panel not in PANELS:
        raise CliError(f"--panel must be one of {', '.join(PANELS)}; got {args.panel!r}")
    project = _load(args.project)
    fixes = (project.lesson or {}).get("fixes", [])
    if args.fix is not None and not 1 <= args.fix <= len(fixes):
        raise CliError(
            f"--fix must be one of the project's {len(fixes)} lesson fixes (1..{len(fixes)}); "
            f"got {args.fix}"
            if fixes
            else "--fix needs a lesson project; this project has no fixes"
        )
    out = render(project, args.out, args.epochs, size, args.panel, quiet=False, fix=args.fix)
    print(f"wrote {out}")
    return 0
