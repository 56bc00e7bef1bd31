"""Import a CSV file as a dataset table, with a clear error for everything that can be wrong.

The imported table is stored inside the project file, so a project mailed to a colleague
carries its data with it.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
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
    format: CsvFormat | None = None  # how the file was read (not saved in a project)
    dropped: int = 0  # rows left out for missing values


#: Cells that mean "no value" (compared without case): what spreadsheets, R, pandas and the
#: UCI repository write for a missing value.
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
DELIMITERS = (",", ";", "\t", "|")
MISSING_CHOICES = ("refuse", "drop")
#: The rule "auto" applies, in the words the import dialog shows.
TASK_RULE = (
    "classification when the target is text, or whole numbers with at most 20 different "
    "values; regression otherwise"
)
PREVIEW_ROWS = 8


@dataclass(frozen=True)
class CsvFormat:
    """How a file was read: found by `sniff`, or chosen by the user in the preview."""

    encoding: str  # "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be" or "cp1252"
    delimiter: str
    decimal: str  # "." or ","
    header: bool  # the first row names the columns

    def describe(self) -> str:
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
        encoding = {"utf-8-sig": "UTF-8 (with BOM)", "cp1252": "Windows-1252 (Latin-1)"}
        return (
            f"{encoding.get(self.encoding, self.encoding.upper())}, "
            f"{names.get(self.delimiter, repr(self.delimiter))}-separated, decimal "
            f"{'comma' if self.decimal == ',' else 'point'}, "
            + ("the first row names the columns" if self.header else "no header row")
        )


@dataclass(frozen=True)
class CsvPreview:
    """What the import dialog shows before anything is read for good."""

    format: CsvFormat
    names: tuple[str, ...]  # the column names, made distinct
    rows: tuple[tuple[str, ...], ...]  # the first PREVIEW_ROWS data rows, as read
    n_rows: int
    numeric: tuple[bool, ...]  # per column: numbers (missing values aside)
    missing: tuple[int, ...]  # per column: how many values are missing
    suggested_exclude: tuple[str, ...]  # columns that look like row numbers or ids


def _missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def _number(cell: str, decimal: str = "."):
    if decimal == ",":
        cell = cell.replace(",", ".")
    try:
        value = float(cell)
    except ValueError:
        return None
    return value


def _decode(raw: bytes, source: str) -> tuple[str, str]:
    """The text of a file and its encoding: a byte-order mark says it (UTF-8, UTF-16); else
    UTF-16 without a mark shows as a NUL in every other byte; else UTF-8 if it decodes;
    else Windows-1252 (the Latin-1 of Excel on Windows), whose few undefined bytes are
    read as Latin-1. Exact rules, not a statistical guess: a file reads the same way every
    time, and the preview says how."""
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        head = raw[:4096]
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > len(head) // 4 and even == 0:
            encoding = "utf-16-le"
        elif even > len(head) // 4 and odd == 0:
            encoding = "utf-16-be"
        elif b"\x00" in raw[:65536]:
            raise CsvError(f"{source}: this is not a text file (it contains NUL bytes)")
        else:
            try:
                return raw.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                encoding = "cp1252"
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        if encoding == "cp1252":
            return raw.decode("latin-1"), encoding
        raise CsvError(
            f"{source}: the file says it is {encoding.upper()} but byte {exc.start} is not; "
            f"save it as UTF-8 CSV"
        ) from None


def column_names(source) -> list[str]:
    """The column names of a CSV file (its header, or "column 1", ... without one)."""
    return list(preview(source).names)


def _text(source) -> tuple[str, str, str]:
    """(text, name, encoding) of a path or a StringIO, with the size and encoding checks."""
    if isinstance(source, io.StringIO):
        name, text, encoding = "the CSV text", source.getvalue(), "utf-8"
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
        text, encoding = _decode(raw, name)
    if not text.strip():
        raise CsvError(f"{name} is empty")
    # Old Mac files end lines with CR alone; the csv module wants \n or \r\n.
    return text.replace("\r\n", "\n").replace("\r", "\n"), name, encoding


def sniff(source, header: bool | None = None) -> tuple[CsvFormat, list, str]:
    """How to read `source`: (its format, its rows as (line, cells), its name). `header`
    None: decided from the file (see _has_header); True or False: as the user says."""
    text, name, encoding = _text(source)
    delimiter = _delimiter(text)
    rows = _rows(text, name, delimiter)
    decimal = _decimal(rows, delimiter)
    if header is None:
        header = _has_header(rows, decimal)
    return CsvFormat(encoding, delimiter, decimal, header), rows, name


def preview(source, header: bool | None = None) -> CsvPreview:
    """The file as the import dialog shows it: format, names, first rows, column kinds."""
    fmt, rows, _ = sniff(source, header)
    names, body = _split_header(rows, fmt.header)
    columns = list(zip(*(cells for _, cells in body))) or [() for _ in names]
    numeric = tuple(_numeric_share(col, fmt.decimal) >= 1.0 for col in columns)
    missing = tuple(sum(_missing(c) for c in col) for col in columns)
    suggested = tuple(
        n for n, col, num in zip(names, columns, numeric) if num and _looks_like_an_id(n, col)
    )
    return CsvPreview(
        fmt,
        tuple(names),
        tuple(tuple(cells) for _, cells in body[:PREVIEW_ROWS]),
        len(body),
        numeric,
        missing,
        suggested,
    )


def read_csv(
    source,
    target=None,
    task="auto",
    standardize=True,
    *,
    header: bool | None = None,
    exclude=(),
    missing="refuse",
) -> CsvTable:
    """Read a CSV file (a path, or text in a StringIO) into a CsvTable.

    The encoding (UTF-8 with or without BOM, UTF-16, Windows-1252), the delimiter (comma,
    semicolon, tab, bar) and the decimal mark are found from the file; `header` None finds
    whether the first row names the columns, True or False says so. target: the column to
    predict, by name or 0-based index (default: the last column); task: "classification",
    "regression" or "auto" (TASK_RULE); exclude: columns not to use (an id, a text column);
    missing: "refuse" a file with missing values (NA, nan, ?, empty…) in the columns used, or
    "drop" those rows (the table says how many in `dropped`); standardize: scale each feature
    to mean 0 and std 1 using the training split's statistics."""
    if task not in TASKS:
        raise CsvError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if missing not in MISSING_CHOICES:
        raise CsvError(f"missing must be one of {', '.join(MISSING_CHOICES)}; got {missing!r}")
    fmt, rows, name = sniff(source, header)
    names, body = _split_header(rows, fmt.header)
    return _table(names, body, name, target, task, standardize, fmt, tuple(exclude), missing)


def _delimiter(text: str) -> str:
    """The candidate that splits the first lines into the same number (two or more) of
    fields most consistently; ties go to more fields, then to the order of DELIMITERS."""
    lines = [line for line in text.split("\n", 200)[:200] if line.strip()]
    best, best_score = ",", None
    for delimiter in DELIMITERS:
        try:
            reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
            counts = [len(cells) for cells in reader]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    return best


def _decimal(rows, delimiter: str) -> str:
    """A decimal comma where numbers like 3,14 outnumber numbers like 3.14 (possible only
    when the comma does not separate the fields)."""
    if delimiter == ",":
        return "."
    comma = point = 0
    for _, cells in rows[:200]:
        for cell in cells:
            comma += bool(_COMMA_NUMBER.match(cell))
            point += bool(_POINT_NUMBER.match(cell))
    return "," if comma > point else "."


_COMMA_NUMBER = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")
_POINT_NUMBER = re.compile(r"^[+-]?\d*\.\d+([eE][+-]?\d+)?$")


def _rows(text, name, delimiter):
    # (a space after the delimiter, before a quote, is not part of the field)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
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
    # A delimiter at the end of every line (some exports write one) is not a column.
    while len(rows[0][1]) > 1 and all(len(c) == len(rows[0][1]) and c[-1] == "" for _, c in rows):
        rows = [(line, cells[:-1]) for line, cells in rows]
    for line, cells in rows:
        if len(cells) != len(rows[0][1]):
            raise CsvError(
                f"{name}, line {line}: {len(cells)} fields, but line {rows[0][0]} "
                f"has {len(rows[0][1])}; every row needs the same number of fields"
            )
    return rows


def _has_header(rows, decimal) -> bool:
    """The first row names the columns if, in a column of numbers, it holds a word; or if
    every column holds words and the first row's repeat nowhere below. A first row of numbers
    (years, say) is read as data: the preview's header switch says otherwise."""
    first, body = rows[0][1], [cells for _, cells in rows[1:]]
    if not body:
        return False
    columns = list(zip(*body))
    for cell, column in zip(first, columns):
        if _numeric_share(column, decimal) >= 0.9 and not _missing(cell):
            if _number(cell, decimal) is None:
                return True
    if all(_number(c, decimal) is None for c in first):
        return all(cell not in column for cell, column in zip(first, columns))
    return False


def _split_header(rows, header: bool):
    if not header:
        return [f"column {i + 1}" for i in range(len(rows[0][1]))], rows
    names = [c or f"column {i + 1}" for i, c in enumerate(rows[0][1])]
    return _distinct(names), rows[1:]


def _distinct(names: list[str]) -> list[str]:
    """Names made distinct: a second "price" becomes "price (2)"."""
    out, seen = [], set()
    for name in names:
        new, k = name, 2
        while new in seen:
            new, k = f"{name} ({k})", k + 1
        seen.add(new)
        out.append(new)
    return out


def _numeric_share(cells, decimal) -> float:
    values = [c for c in cells if not _missing(c)]
    if not values:
        return 0.0
    return sum(_number(c, decimal) is not None for c in values) / len(values)


def _looks_like_an_id(name: str, cells) -> bool:
    """A row number or id: named so, or the whole numbers 0…n-1 or 1…n in order."""
    if name.strip().lower() in ("id", "index", "row", "#", "no", "nr", "number"):
        return True
    try:
        values = [int(c) for c in cells]
    except ValueError:
        return False
    return len(values) >= 4 and values in (
        list(range(len(values))),
        list(range(1, len(values) + 1)),
    )


def _table(header, body, name, target, task, standardize, fmt, exclude, missing):
    if len(header) < 2:
        raise CsvError(
            f"{name} has one column; it needs at least one input column and a target column"
        )
    t = _target_index(header, target, name)
    unknown = [c for c in exclude if c not in header]
    if unknown:
        raise CsvError(f"{name}: there is no column {unknown[0]!r} to leave out")
    used = [i for i in range(len(header)) if i == t or header[i] not in exclude]
    if len(used) < 2:
        raise CsvError(f"{name}: every input column is left out; keep at least one")
    # Rows with a missing value in a column used: refused with the count, or left out.
    gaps = [(line, header[i]) for line, cells in body for i in used if _missing(cells[i])]
    dropped = 0
    if gaps:
        rows_with_gaps = {line for line, _ in gaps}
        if missing == "refuse":
            line, column = gaps[0]
            raise CsvError(
                f"{name}, line {line}, column {column!r}: the value is missing "
                f"({len(rows_with_gaps)} of {len(body)} rows have a missing value; leave "
                f"those rows out, or the column)"
            )
        body = [(line, cells) for line, cells in body if line not in rows_with_gaps]
        dropped = len(rows_with_gaps)
    if len(body) < 4:
        raise CsvError(
            f"{name} has {len(body)} data rows"
            + (f" after leaving out {dropped} with missing values" if dropped else "")
            + "; at least 4 are needed to train and test"
        )
    columns = list(zip(*(cells for _, cells in body)))
    lines = [line for line, _ in body]
    features = [header[i] for i in used if i != t]
    X = np.empty((len(body), len(features)))
    for j, i in enumerate(i for i in used if i != t):
        X[:, j] = _numeric_column(columns[i], header[i], lines, name, fmt.decimal, True)
    raw_target = columns[t]
    numbers = [_number(c, fmt.decimal) for c in raw_target]
    numeric = all(v is not None and math.isfinite(v) for v in numbers)
    if task == "auto":
        whole = numeric and all(float(v).is_integer() for v in numbers)
        task = (
            "classification"
            if not numeric or (whole and len(set(numbers)) <= 20)
            else ("regression")
        )
    common = {"standardize": standardize, "source": name, "format": fmt, "dropped": dropped}
    if task == "regression":
        y = _numeric_column(raw_target, header[t], lines, name, fmt.decimal, False)
        return CsvTable(X, y, tuple(features), header[t], task, (), **common)
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
    return CsvTable(X, y, tuple(features), header[t], "classification", tuple(labels), **common)


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


def _numeric_column(cells, column, lines, name, decimal=".", feature=True):
    out = np.empty(len(cells))
    for k, (cell, line) in enumerate(zip(cells, lines)):
        where = f"{name}, line {line}, column {column!r}"
        value = _number(cell, decimal)
        if value is None:
            hint = "; leave the column out if it is not an input" if feature else ""
            raise CsvError(f"{where}: {cell[:40]!r} is not a number{hint}")
        if not math.isfinite(value):
            raise CsvError(f"{where}: {cell[:40]!r} is not a finite number")
        if abs(value) > MAX_ABS_VALUE:
            raise CsvError(f"{where}: {cell[:40]!r} is too large (the limit is ±1e15)")
        out[k] = value
    return out
