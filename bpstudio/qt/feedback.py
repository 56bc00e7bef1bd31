"""How the controllers talk to the user: errors, status messages, questions and file choosers,
all parented to one widget. Controllers are handed a Feedback, never the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QStatusBar,
    QWidget,
)


class Feedback:
    def __init__(self, parent: QWidget, status_bar: QStatusBar):
        self.parent = parent
        self.status_bar = status_bar

    def status(self, message: str, ms: int = 8000):
        self.status_bar.showMessage(message, ms)

    def error(self, title: str, message: str, detail: str | None = None):
        """A warning box that does not block the event loop (training goes on)."""
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self.parent
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if detail:
            box.setDetailedText(detail)
        box.open()  # window-modal

    def question(self, title: str, text: str, buttons, default):
        return QMessageBox.question(self.parent, title, text, buttons, default)

    def open_file(self, title: str, folder: str, filters: str) -> str:
        return QFileDialog.getOpenFileName(self.parent, title, folder, filters)[0]

    def save_file(self, title: str, start: str, filters: str) -> tuple[str, str]:
        return QFileDialog.getSaveFileName(self.parent, title, start, filters)

    def number(self, title: str, label: str, value: float, low: float, high: float, decimals=4):
        """A number typed by the user; None if cancelled."""
        value, ok = QInputDialog.getDouble(self.parent, title, label, value, low, high, decimals)
        return value if ok else None

    def text(self, title: str, label: str, start: str = "") -> str | None:
        """A line typed or pasted by the user; None if cancelled."""
        text, ok = QInputDialog.getText(self.parent, title, label, QLineEdit.EchoMode.Normal, start)
        return text if ok else None

    def password(self, title: str, label: str) -> str | None:
        """A password typed by the user (not shown); None if cancelled."""
        text, ok = QInputDialog.getText(self.parent, title, label, QLineEdit.EchoMode.Password)
        return text if ok else None

    def width(self, current: int) -> int | None:
        """The width in pixels a PNG should have (for tutorials and slides); None: cancelled."""
        width, ok = QInputDialog.getInt(
            self.parent, "Picture width", "Width of the PNG in pixels:", current, 200, 8000, 10
        )
        return width if ok else None
