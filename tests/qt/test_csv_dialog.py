"""The CSV import dialog: a preview of how the file was read, and the user's choices."""

from __future__ import annotations

from pathlib import Path

from bpstudio.qt.dialogs import CsvImportDialog

CORPUS = Path(__file__).resolve().parents[1] / "data" / "csv"


def dialog_for(qtbot, name) -> CsvImportDialog:
    dialog = CsvImportDialog(CORPUS / name)
    qtbot.addWidget(dialog)
    return dialog


def test_a_headerless_file_with_text_labels(qtbot):
    dialog = dialog_for(qtbot, "iris.data")
    assert not dialog.header.isChecked() and "no header row" in dialog.format.text()
    assert dialog.target.currentText() == "column 5"  # the last column, the labels
    assert dialog.table_view.rowCount() == 8 and dialog.table_view.columnCount() == 5
    assert dialog.table_view.item(0, 4).text() == "setosa"  # the first sample is data
    dialog.accept()
    assert dialog.table.class_names == ("setosa", "versicolor", "virginica")
    assert len(dialog.table.X) == 30


def test_an_id_column_starts_unticked_and_is_left_out(qtbot):
    dialog = dialog_for(qtbot, "houses-with-id.csv")
    assert dialog.excluded() == ["id"]
    dialog.accept()
    assert dialog.table.feature_names == ("area_m2", "rooms", "age")
    assert dialog.table.task == "regression"


def test_missing_values_are_counted_and_the_choice_is_the_users(qtbot):
    dialog = dialog_for(qtbot, "houses-missing-r.csv")
    assert "6 missing" in dialog.table_view.horizontalHeaderItem(1).text()
    assert dialog.missing.currentData() == "drop"  # offered, as there are gaps
    dialog.missing.setCurrentIndex(dialog.missing.findData("refuse"))
    dialog.accept()
    assert dialog.table is None and "6 of 30 rows have a missing value" in dialog.error.text()
    dialog.missing.setCurrentIndex(dialog.missing.findData("drop"))
    dialog.accept()
    assert dialog.table.dropped == 6 and len(dialog.table.X) == 24


def test_numbers_as_names_need_the_header_switch(qtbot):
    dialog = dialog_for(qtbot, "binary-years-header.csv")
    assert not dialog.header.isChecked()  # a row of numbers reads as data at first
    dialog.header.setChecked(True)
    assert [dialog.target.itemText(i) for i in range(3)] == ["2019", "2020", "2021"]
    assert dialog.target.currentText() == "2021"
    dialog.accept()
    assert dialog.table.feature_names == ("2019", "2020") and len(dialog.table.X) == 20


def test_the_preview_says_how_a_european_excel_file_was_read(qtbot):
    dialog = dialog_for(qtbot, "exam-french-cp1252.csv")
    text = dialog.format.text()
    assert "Windows-1252" in text and "semicolon" in text and "decimal comma" in text
    dialog.accept()
    assert dialog.table.class_names == ("réussi", "échoué")


def test_a_text_column_is_unticked_and_a_refused_file_says_why(qtbot):
    dialog = dialog_for(qtbot, "binary-name-column.csv")
    assert dialog.excluded() == ["name"]  # text is not an input
    dialog.set_included("name", True)
    dialog.accept()
    assert dialog.table is None and "leave the column out" in dialog.error.text()
    dialog.set_included("name", False)
    dialog.accept()
    assert dialog.table.feature_names == ("x", "y")
