"""Import a CSV file as a dataset table, with a clear error for everything that can be wrong.

The imported table is stored inside the project file, so a project mailed to a colleague
carries its data with it.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass

import numpy as np

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 1_000
MAX_CLASSES = 100
#: Largest magnitude accepted in a cell; beyond it standardization and training overflow.
MAX_ABS_VALUE = 1e15
TASKS = ("auto", "classification", "regression")


class CsvError(ValueError):
    """The CSV cannot be used; the message says what and where."""


@dataclass(frozen=True, eq=False)
class CsvTable:
    X: np.ndarray  # (rows, features) float64
    y: np.ndarray  # (rows,) class indices (int64) or values (float64)
    feature_names: tuple[str, ...]
    target: str
    task: str  # "classification" or "regression"
    class_names: tuple[str, ...] = ()
    standardize: bool = True
    source: str = ""


def _number(cell: str):
    try:
        value = float(cell)
    except ValueError:
        return None
    return value


def _decode(raw: bytes, source: str) -> str:
    if b"\x00" in raw[:65536]:
        raise CsvError(f"{source}: this is not a text file (it contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(
            f"{source}: the file is not UTF-8 text (byte {exc.start} is "
            f"{raw[exc.start : exc.start + 1]!r}); save it as UTF-8 CSV"
        ) from None


def column_names(source) -> list[str]:
    """The column names of a CSV file (its header, or "column 1", ... without one)."""
    return _header(_rows(*_text(source)))[0]


def _text(source) -> tuple[str, str]:
    """(text, name) of a path or a StringIO, with the size and encoding checks."""
    if isinstance(source, io.StringIO):
        name, text = "the CSV text", source.getvalue()
        if len(text) > MAX_BYTES:
            raise CsvError(f"{name} is too large; the limit is {MAX_BYTES // 2**20} MB")
    else:
        name = os.path.basename(str(source))
        try:
            size = os.path.getsize(source)
            if size > MAX_BYTES:
                raise CsvError(
                    f"{name} is {size / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB"
                )
            with open(source, "rb") as f:
                raw = f.read(MAX_BYTES + 1)
        except OSError as exc:
            raise CsvError(f"cannot read {name}: {exc.strerror or exc}") from None
        text = _decode(raw, name)
    if not text.strip():
        raise CsvError(f"{name} is empty")
    return text, name


def read_csv(source, target=None, task="auto", standardize=True) -> CsvTable:
    """Read a CSV file (a path, or text in a StringIO) into a CsvTable.

    target: the column to predict, by name or 0-based index (default: the last column);
    task: "classification", "regression" or "auto" (classification when the target is text,
    or whole numbers with at most 20 distinct values); standardize: scale each feature to
    mean 0 and std 1 using the training split's statistics."""
    if task not in TASKS:
        raise CsvError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    text, name = _text(source)
    rows = _rows(text, name)
    header, body = _header(rows)
    return _table(header, body, name, target, task, standardize)


def _rows(text, name):
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = []
    try:
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue  # blank lines are allowed and ignored
            if len(rows) > MAX_ROWS:
                raise CsvError(f"{name} has more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,}")
            if len(cells) > MAX_COLUMNS:
                raise CsvError(
                    f"{name}, line {reader.line_num}: {len(cells):,} columns; the "
                    f"limit is {MAX_COLUMNS:,}"
                )
            rows.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise CsvError(f"{name}, line {reader.line_num}: {exc}") from None
    if not rows:
        raise CsvError(f"{name} holds no values, only empty lines and fields")
    for line, cells in rows:
        if len(cells) != len(rows[0][1]):
            raise CsvError(
                f"{name}, line {line}: {len(cells)} fields, but line {rows[0][0]} "
                f"has {len(rows[0][1])}; every row needs the same number of fields"
            )
    return rows


def _header(rows):
    first = rows[0][1]
    if all(_number(c) is not None for c in first):
        return [f"column {i + 1}" for i in range(len(first))], rows
    names = [c or f"column {i + 1}" for i, c in enumerate(first)]
    return names, rows[1:]


def _table(header, body, name, target, task, standardize):
    if len(header) < 2:
        raise CsvError(
            f"{name} has one column; it needs at least one input column and a target column"
        )
    if len(body) < 4:
        raise CsvError(f"{name} has {len(body)} data rows; at least 4 are needed to train and test")
    t = _target_index(header, target, name)
    columns = list(zip(*(cells for _, cells in body)))
    lines = [line for line, _ in body]
    X = np.empty((len(body), len(header) - 1))
    features = [h for i, h in enumerate(header) if i != t]
    for j, i in enumerate(i for i in range(len(header)) if i != t):
        X[:, j] = _numeric_column(columns[i], header[i], lines, name)
    raw_target = columns[t]
    for cell, line in zip(raw_target, lines):
        if cell == "":
            raise CsvError(f"{name}, line {line}, column {header[t]!r}: the target is missing")
    numbers = [_number(c) for c in raw_target]
    numeric = all(v is not None and math.isfinite(v) for v in numbers)
    if task == "auto":
        whole = numeric and all(float(v).is_integer() for v in numbers)
        task = (
            "classification"
            if not numeric or (whole and len(set(numbers)) <= 20)
            else ("regression")
        )
    if task == "regression":
        y = _numeric_column(raw_target, header[t], lines, name)
        return CsvTable(X, y, tuple(features), header[t], task, (), standardize, name)
    if numeric:
        classes = sorted(set(numbers))
        labels = [_format_class(v) for v in classes]
        index = {v: i for i, v in enumerate(classes)}
        y = np.array([index[v] for v in numbers], dtype=np.int64)
    else:
        labels = sorted(set(raw_target))
        index = {v: i for i, v in enumerate(labels)}
        y = np.array([index[v] for v in raw_target], dtype=np.int64)
    if len(labels) < 2:
        raise CsvError(
            f"{name}: the target column {header[t]!r} has only one class "
            f"({labels[0]!r}); classification needs at least two"
        )
    if len(labels) > MAX_CLASSES:
        raise CsvError(
            f"{name}: the target column {header[t]!r} has {len(labels)} classes; "
            f"the limit is {MAX_CLASSES} (is it a regression target?)"
        )
    return CsvTable(
        X, y, tuple(features), header[t], "classification", tuple(labels), standardize, name
    )


def _format_class(v):
    return str(int(v)) if float(v).is_integer() else repr(v)


def _target_index(header, target, name):
    if target is None:
        return len(header) - 1
    if isinstance(target, int) and not isinstance(target, bool):
        if not -len(header) <= target < len(header):
            raise CsvError(
                f"{name}: target column {target} does not exist; there are {len(header)} columns"
            )
        return target % len(header)
    if target not in header:
        raise CsvError(
            f"{name}: there is no column {target!r}; the columns are {', '.join(map(repr, header))}"
        )
    return header.index(target)


def _numeric_column(cells, column, lines, name):
    out = np.empty(len(cells))
    for k, (cell, line) in enumerate(zip(cells, lines)):
        where = f"{name}, line {line}, column {column!r}"
        if cell == "":
            raise CsvError(f"{where}: the value is missing")
        value = _number(cell)
        if value is None:
            raise CsvError(f"{where}: {cell[:40]!r} is not a number")
        if not math.isfinite(value):
            raise CsvError(f"{where}: {cell[:40]!r} is not a finite number")
        if abs(value) > MAX_ABS_VALUE:
            raise CsvError(f"{where}: {cell[:40]!r} is too large (the limit is ±1e15)")
        out[k] = value
    return out
