"""The CSV import on a corpus of files shaped as people's files are (tests/data/csv,
written by make_corpus.py with how each must be read): encodings, delimiters, decimal commas,
headers or none, missing values, ids, duplicate names, text labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bpstudio.data.csvdata import CsvError, preview, read_csv

CORPUS = Path(__file__).resolve().parent / "csv"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def test_the_corpus_is_big_enough():
    assert len(EXPECTED) >= 40
    assert sorted(p.name for p in CORPUS.iterdir() if p.suffix not in (".py", ".json")) == sorted(
        EXPECTED
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_reads_as_meant(name):
    expected = EXPECTED[name]
    path = CORPUS / name
    if expected["error"]:
        with pytest.raises(CsvError, match=expected["error"]):
            read_csv(path, **expected["read"])
        return
    table = read_csv(path, **expected["read"])
    fmt = table.format
    for key, value in expected["format"].items():
        assert getattr(fmt, key) == value, (key, fmt)
    assert list(table.feature_names) == expected["features"]
    assert table.target == expected["target"] and table.task == expected["task"]
    assert len(table.X) == expected["rows"] and table.dropped == expected["dropped"]
    np.testing.assert_allclose(table.X[0], expected["X_first"])
    assert table.X.sum() == pytest.approx(expected["X_sum"])
    assert list(table.class_names) == expected["classes"]
    if table.task == "regression":
        assert table.y.sum() == pytest.approx(expected["y_sum"])
    # The preview shows the same reading (before the user's choices).
    shown = preview(path, expected["read"].get("header"))
    assert shown.format == fmt and shown.n_rows == expected["rows"] + expected["dropped"]
    assert expected["target"] in shown.names


def test_the_preview_suggests_leaving_an_id_out_and_counts_the_gaps():
    shown = preview(CORPUS / "houses-with-id.csv")
    assert shown.suggested_exclude == ("id",)
    gaps = preview(CORPUS / "houses-missing-r.csv")
    assert gaps.missing[1] == EXPECTED["houses-missing-r.csv"]["dropped"]
    assert all(gaps.numeric)
    text = preview(CORPUS / "iris.data")
    assert text.numeric == (True, True, True, True, False) and not text.format.header
    assert "no header row" in text.format.describe()
    assert (
        "semicolon-separated, decimal comma"
        in preview(CORPUS / "exam-french-cp1252.csv").format.describe()
    )
