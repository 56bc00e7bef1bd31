"""Dialogs: importing a CSV file, preparing classroom mode, the keyboard shortcuts and the
tutorials."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QUrl
from PySide6.QtGui import QKeySequence, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
)

from bpstudio.data.csvdata import TASK_RULE, CsvError, preview, read_csv
from bpstudio.project.classroom import password_entry
from bpstudio.qt import theme
from bpstudio.qt.inputs import ComboBox


class CsvImportDialog(QDialog):
    """A preview of the file as it was read (encoding, delimiter, decimal mark, header, the
    first rows), and the choices: the target column, the columns to leave out, what to do
    with missing values, the task (with the rule "decide" applies). The file is read for good
    when OK is pressed; any problem is shown here without closing the dialog or changing the
    project."""

    def __init__(self, path, parent=None):
        super().__init__(parent)
        self.path = Path(path)
        self.table = None
        self.shown = None  # the CsvPreview on screen
        self.setWindowTitle(f"Import {self.path.name}")
        self.format = QLabel()
        self.format.setWordWrap(True)
        self.header = QCheckBox("The first row names the columns")
        self.header.setToolTip(
            "Found from the file; untick it for a file without names, tick it when the "
            "names are numbers (years, say)."
        )
        self.table_view = QTableWidget()
        self.table_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_view.setToolTip("The first rows, as they were read.")
        self.columns = QListWidget()
        self.columns.setFlow(QListWidget.Flow.LeftToRight)
        self.columns.setWrapping(True)
        self.columns.setMaximumHeight(64)
        self.columns.setToolTip(
            "The columns used. Untick one to leave it out (an id, a name): it is not an input."
        )
        self.target = ComboBox()
        self.target.setToolTip("The column the network should learn to predict.")
        self.missing = ComboBox()
        self.missing.addItem("Refuse the file (say where)", "refuse")
        self.missing.addItem("Leave out the rows with a missing value", "drop")
        self.missing.setToolTip("Missing values: empty cells, NA, N/A, nan, null, none, ? or -.")
        self.task = ComboBox()
        self.task.addItem("Decide from the data", "auto")
        self.task.addItem("Classification (categories)", "classification")
        self.task.addItem("Regression (numbers)", "regression")
        self.rule = QLabel(f"Decided: {TASK_RULE}.")
        self.rule.setWordWrap(True)
        self.standardize = QCheckBox("Standardize the inputs (mean 0, std 1)")
        self.standardize.setChecked(True)
        self.standardize.setToolTip(
            "Scale every input column to the same range, which "
            "helps training when columns have different units."
        )
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.RED};")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Predict column", self.target)
        form.addRow("Use columns", self.columns)
        form.addRow("Missing values", self.missing)
        form.addRow("Task", self.task)
        form.addRow("", self.rule)
        form.addRow(self.standardize)
        layout = QVBoxLayout(self)
        layout.addWidget(self.format)
        layout.addWidget(self.header)
        layout.addWidget(self.table_view, 1)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._read(None)
        self.header.toggled.connect(self._read)
        self.columns.itemChanged.connect(lambda _: self.error.clear())
        self.target.currentIndexChanged.connect(self._mark_target)
        self.resize(720, 520)

    def _read(self, header):
        """Read the file's preview again (first with the header as found, then as chosen)."""
        try:
            shown = preview(self.path, header)
        except CsvError as exc:
            self.shown = None
            self._show(str(exc))
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return
        self.shown = shown
        self.error.clear()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        self.format.setText(
            f"<b>Read as</b> {shown.format.describe()}; {shown.n_rows:,} rows of data."
        )
        with QSignalBlocker(self.header):
            self.header.setChecked(shown.format.header)
        with QSignalBlocker(self.table_view):
            table = self.table_view
            table.clear()
            table.setColumnCount(len(shown.names))
            table.setRowCount(len(shown.rows))
            for c, name in enumerate(shown.names):
                kind = "numbers" if shown.numeric[c] else "text"
                gaps = f", {shown.missing[c]} missing" if shown.missing[c] else ""
                table.setHorizontalHeaderItem(c, QTableWidgetItem(f"{name}\n({kind}{gaps})"))
                for r, row in enumerate(shown.rows):
                    table.setItem(r, c, QTableWidgetItem(row[c]))
            table.resizeColumnsToContents()
        with QSignalBlocker(self.columns):
            self.columns.clear()
            for c, name in enumerate(shown.names):
                item = QListWidgetItem(name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                # An id or a text column is not an input: unticked at first.
                used = name not in shown.suggested_exclude and shown.numeric[c]
                item.setCheckState(Qt.CheckState.Checked if used else Qt.CheckState.Unchecked)
                self.columns.addItem(item)
        current = self.target.currentText()
        self.target.clear()
        self.target.addItems(shown.names)
        index = self.target.findText(current)
        self.target.setCurrentIndex(index if index >= 0 else len(shown.names) - 1)
        self._mark_target()
        if any(shown.missing):
            self.missing.setCurrentIndex(self.missing.findData("drop"))

    def _mark_target(self, *_):
        """The target is not an input, and is not left out: its box says so and is fixed."""
        if self.shown is None:
            return
        target = self.target.currentText()
        with QSignalBlocker(self.columns):
            for c, name in enumerate(self.shown.names):
                item = self.columns.item(c)
                enabled = item.flags() | Qt.ItemFlag.ItemIsEnabled
                if name == target:
                    item.setText(f"{name} (predicted)")
                    item.setFlags(enabled & ~Qt.ItemFlag.ItemIsEnabled)
                else:
                    item.setText(name)
                    item.setFlags(enabled)

    def excluded(self) -> list[str]:
        """The columns whose box is unticked in the preview."""
        if self.shown is None:
            return []
        out = []
        for c, name in enumerate(self.shown.names):
            item = self.columns.item(c)
            if item.checkState() != Qt.CheckState.Checked and name != self.target.currentText():
                out.append(name)
        return out

    def set_included(self, name: str, used: bool):
        """Tick or untick a column (as a click on its box does)."""
        c = list(self.shown.names).index(name)
        state = Qt.CheckState.Checked if used else Qt.CheckState.Unchecked
        self.columns.item(c).setCheckState(state)

    def _show(self, message):
        self.error.setText(message)

    def accept(self):
        try:
            self.table = read_csv(
                self.path,
                target=self.target.currentText(),
                task=self.task.currentData(),
                standardize=self.standardize.isChecked(),
                header=self.header.isChecked(),
                exclude=self.excluded(),
                missing=self.missing.currentData(),
            )
        except CsvError as exc:
            self._show(str(exc))
            return
        super().accept()


#: Classroom mode's choices: panel or control name -> what the teacher sees.
class ClassroomDialog(QDialog):
    """A teacher hides panels and locks controls; saved with the project, so the class opens
    exactly the lesson prepared. panels and locks: {key: what the teacher reads}."""

    def __init__(self, classroom: dict | None, panels: dict, locks: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Classroom mode")
        classroom = classroom or {}
        intro = QLabel(
            "Choose what your class sees and can change. The choice is saved in the project: "
            "save it and hand the file to the class."
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        self.hidden = self._boxes(layout, "Hide these panels", panels, classroom.get("hidden", []))
        self.locked = self._boxes(layout, "Lock these controls", locks, classroom.get("locked", []))
        self.password_entry = classroom.get("password")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(
            "kept as it is" if self.password_entry else "none: anyone can leave classroom mode"
        )
        self.password.setToolTip(
            "Leaving classroom mode will ask for it. Only a salted hash is saved in the project."
        )
        layout.addWidget(QLabel("<b>Password to leave classroom mode</b> (optional)"))
        layout.addWidget(self.password)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _boxes(self, layout, title, choices, checked):
        label = QLabel(f"<b>{title}</b>")
        layout.addWidget(label)
        boxes = {}
        for key, text in choices.items():
            box = QCheckBox(text)
            box.setChecked(key in checked)
            layout.addWidget(box)
            boxes[key] = box
        return boxes

    def classroom(self) -> dict | None:
        """The choice as the project stores it; None when nothing is hidden or locked."""
        hidden = [k for k, box in self.hidden.items() if box.isChecked()]
        locked = [k for k, box in self.locked.items() if box.isChecked()]
        if not (hidden or locked):
            return None
        chosen = {"hidden": hidden, "locked": locked}
        if self.password.text():
            chosen["password"] = password_entry(self.password.text())
        elif self.password_entry:
            chosen["password"] = self.password_entry
        return chosen


class ShortcutsDialog(QDialog):
    """Every action that has a keyboard shortcut, by menu, with its keys."""

    def __init__(self, actions, menus, parent=None):
        """actions: the window's QActions by id; menus: (id, menu name) in table order."""
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = []
        for action_id, menu in menus:
            action = actions.get(action_id)
            if action is None or not action.shortcuts():
                continue
            keys = ", ".join(
                k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()
            )
            rows.append((menu.split("/")[0], action.text().replace("&", ""), keys))
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 520)


class TutorialsDialog(QDialog):
    """The tutorials shipped with the app, read here (Markdown with their pictures): no
    browser and no network needed."""

    def __init__(self, folder: Path, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Tutorials — Backprop Studio")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)  # links out of the tutorials: the browser
        self.browser.setSearchPaths([str(folder)])
        start = folder / "README.md"
        self.browser.setSource(
            QUrl.fromLocalFile(str(start)), QTextDocument.ResourceType.MarkdownResource
        )
        back = QDialogButtonBox()
        self.back = back.addButton("Back", QDialogButtonBox.ButtonRole.ActionRole)
        self.back.clicked.connect(self.browser.backward)
        self.browser.backwardAvailable.connect(self.back.setEnabled)
        self.back.setEnabled(False)
        close = back.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(back)
        self.resize(900, 700)
