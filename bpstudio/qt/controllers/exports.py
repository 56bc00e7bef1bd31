"""The exports controller: the window or a panel as a picture (or a panel's data as CSV), and
the network for another framework (File > Export)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from bpstudio.data.datasets import write_csv
from bpstudio.export import TARGETS, ExportError, export_project
from bpstudio.project import ProjectError
from bpstudio.qt.controllers.training import TrainingController
from bpstudio.qt.feedback import Feedback
from bpstudio.qt.panels.base import PNG_WIDTH, render_png
from bpstudio.viewmodel.document import Document


class ExportsController(QObject):
    """window: the widget pictured by "Window as PNG"; panels: the exportable panels by name;
    folder() is where file choosers start."""

    def __init__(
        self,
        document: Document,
        training: TrainingController,
        window: QWidget,
        panels: dict,
        feedback: Feedback,
        folder: Callable[[], str],
        parent=None,
    ):
        super().__init__(parent)
        self.document = document
        self.training = training
        self.window = window
        self.panels = panels
        self.feedback = feedback
        self.folder = folder

    def export_window(self, path, width=None) -> Path:
        return render_png(self.window, path, width)

    def export_window_dialog(self):
        path, _ = self.feedback.save_file(
            "Save the window as PNG", str(Path(self.folder()) / "studio.png"), "PNG images (*.png)"
        )
        if not path:
            return
        width = self.feedback.width(PNG_WIDTH)
        if width is None:
            return
        try:
            self.export_window(path, width)
        except OSError as exc:
            self.feedback.error("The picture was not saved", str(exc))

    def export_panel_dialog(self, name):
        panel = self.panels[name]
        filters = "PNG images (*.png);;SVG drawings (*.svg)"
        if panel.plot_items():
            filters += ";;CSV data (*.csv)"
        path, chosen = self.feedback.save_file(
            f"Export the {panel.title.lower()} panel",
            str(Path(self.folder()) / f"{name}.png"),
            filters,
        )
        if not path:
            return
        if not Path(path).suffix:
            path += "." + chosen.split("*.")[-1].rstrip(")")
        width = None
        if Path(path).suffix.lower() == ".png":
            width = self.feedback.width(PNG_WIDTH)
            if width is None:
                return
        try:
            panel.export(path, width)
        except (OSError, ValueError) as exc:
            self.feedback.error("The panel was not exported", str(exc))

    def export_data_dialog(self):
        """File > Export > Data as CSV: the training and test examples with their labels."""
        stem = "".join(c if c.isalnum() else "_" for c in self.document.project.name).strip("_")
        path, _ = self.feedback.save_file(
            "Export the data as CSV",
            str(Path(self.folder()) / f"{stem.lower() or 'data'}-data.csv"),
            "CSV data (*.csv)",
        )
        if path:
            self.export_data(path if path.lower().endswith(".csv") else path + ".csv")

    def export_data(self, path) -> int | None:
        """Write the open project's data to `path`; the rows written, or None."""
        try:
            rows = write_csv(self.training.trainer.dataset, path)
        except OSError as exc:
            self.feedback.error("The data was not exported", str(exc))
            return None
        self.feedback.status(f"Exported {rows:,} examples (train and test) to {Path(path).name}")
        return rows

    def export_network_dialog(self, to):
        target = TARGETS[to]
        name = self.document.project.name
        stem = "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()
        path, _ = self.feedback.save_file(
            f"Export the network as {target.LABEL}",
            str(Path(self.folder()) / f"{stem or 'network'}{target.SUFFIX}"),
            f"{target.LABEL} (*{target.SUFFIX})",
        )
        if path:
            self.export_network(to, path)

    def export_network(self, to, path):
        """Export the network as it is now (training pauses while it is copied)."""
        try:
            exported = export_project(self.training.capture(), to, path)
        except (ExportError, ProjectError) as exc:
            self.feedback.error("The network was not exported", str(exc))
            return None
        names = ", ".join(p.name for p in exported.files)
        self.feedback.status(f"Exported the network: {names}")
        return exported
