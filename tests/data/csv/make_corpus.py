"""Writes the CSV corpus the import is tested on: files shaped as people's files are (Excel on
Windows in Europe and the US, UTF-16 "Unicode text", the UCI repository's headerless
iris.data, R and pandas exports with NA, old Mac line endings, trailing delimiters, id
columns, numbers as column names…) and, in expected.json, how each must be read: what the
generator wrote, not what the reader says.

    python tests/data/csv/make_corpus.py        # rewrites the files and expected.json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(7)


def iris():
    names = ("setosa", "versicolor", "virginica")
    rows = []
    for k in range(30):
        kind = names[k % 3]
        base = (5.0 + k % 3, 3.0 + 0.2 * (k % 3), 1.5 + 2 * (k % 3), 0.2 + 0.8 * (k % 3))
        rows.append([round(v + 0.1 * rng.normal(), 2) for v in base] + [kind])
    header = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    return header, rows


def exam():
    rows = []
    for _ in range(24):
        hours, sleep = round(rng.uniform(0, 10), 1), round(rng.uniform(4, 9), 1)
        rows.append([hours, sleep, int(rng.integers(0, 5)), "pass" if hours > 5 else "fail"])
    return ["hours_studied", "hours_slept", "practice_tests", "result"], rows


def houses():
    rows = []
    for _ in range(30):
        area, rooms, age = (
            round(rng.uniform(40, 200), 1),
            int(rng.integers(1, 7)),
            int(rng.integers(0, 80)),
        )
        rows.append([area, rooms, age, round(1500 * area - 300 * age + rng.normal(0, 5000), 2)])
    return ["area_m2", "rooms", "age", "price"], rows


def binary():
    rows = [[round(rng.normal(), 3), round(rng.normal(), 3), k % 2] for k in range(20)]
    return ["x", "y", "label"], rows


#: name -> (header, rows, target, how to read it: read_csv's keywords, and what changes).
BASES = {
    "iris": (*iris(), "species", {}),
    "exam": (*exam(), "result", {}),
    "houses": (*houses(), "price", {}),
    "binary": (*binary(), "label", {}),
}


def with_id(header, rows):
    return ["id", *header], [[k + 1, *r] for k, r in enumerate(rows)]


def with_gaps(rows, column, every, token):
    return [
        [token if (k % every == 3 and j == column) else v for j, v in enumerate(r)]
        for k, r in enumerate(rows)
    ]


def cell(value, decimal):
    text = str(value)
    if isinstance(value, float) and decimal == ",":
        text = text.replace(".", ",")
    return text


def write(
    name,
    header,
    rows,
    *,
    delimiter=",",
    decimal=".",
    encoding="utf-8",
    newline="\n",
    has_header=True,
    trailing=False,
    quote=False,
    spaces=False,
    blank_lines=False,
):
    lines = []
    table = ([header] if has_header else []) + rows
    for r in table:
        cells = [cell(v, decimal) for v in r]
        if quote:
            cells = [f'"{c}"' for c in cells]
        sep = delimiter + (" " if spaces else "")
        lines.append(sep.join(cells) + (delimiter if trailing else ""))
        if blank_lines and len(lines) % 7 == 0:
            lines.append("")
    text = newline.join(lines) + newline
    (HERE / name).write_bytes(text.encode(encoding))


def main():
    expected = {}

    def add(
        file,
        base,
        *,
        read=None,
        fmt=None,
        header=None,
        rows=None,
        target=None,
        task=None,
        dropped=0,
        error=None,
        columns=None,
        **shape,
    ):
        h, r, t, _ = BASES[base]
        header = header or h
        rows = rows if rows is not None else r
        write(file, header, rows, **shape)
        fmt = {
            "delimiter": shape.get("delimiter", ","),
            "decimal": shape.get("decimal", "."),
            "header": shape.get("has_header", True),
            **(fmt or {}),
        }
        target = target or t
        ti = header.index(target)
        excluded = (read or {}).get("exclude", ())
        used = [i for i, c in enumerate(header) if i != ti and c not in excluded]
        kept = [
            row
            for row in rows
            if not any(str(row[i]) in ("NA", "", "?", "nan") for i in [*used, ti])
        ]
        values = [[float(row[i]) for i in used] for row in kept] if not error else []
        labels = [row[ti] for row in kept]
        if task is None:
            numeric = all(not isinstance(v, str) for v in labels)
            whole = numeric and all(float(v).is_integer() for v in labels)
            task = (
                "classification"
                if not numeric or (whole and len(set(labels)) <= 20)
                else ("regression")
            )
        entry = {"read": read or {}, "format": fmt, "error": error}
        if not error:
            entry.update(
                {
                    "features": columns or [header[i] for i in used],
                    "target": target,
                    "task": task,
                    "rows": len(kept),
                    "dropped": dropped,
                    "X_sum": round(float(np.sum(values)), 6),
                    "X_first": values[0],
                    "classes": sorted(
                        {str(v) if isinstance(v, str) else str(int(v)) for v in labels}
                    )
                    if task == "classification"
                    else [],
                }
            )
            if task == "regression":
                entry["y_sum"] = round(float(sum(labels)), 6)
        expected[file] = entry

    for base in BASES:
        add(f"{base}-comma.csv", base)
        add(f"{base}-crlf.csv", base, newline="\r\n")
        add(f"{base}-cr-only.csv", base, newline="\r")
        add(f"{base}-bom.csv", base, encoding="utf-8-sig", fmt={"encoding": "utf-8-sig"})
        add(
            f"{base}-excel-europe.csv",
            base,
            delimiter=";",
            decimal=",",
            encoding="cp1252",
            fmt={"encoding": "utf-8"},
        )  # no byte above 127: it reads as UTF-8 too
        add(
            f"{base}-unicode-text.txt",
            base,
            delimiter="\t",
            encoding="utf-16",
            newline="\r\n",
            fmt={"encoding": "utf-16"},
        )
        add(f"{base}-trailing.csv", base, trailing=True)
        add(f"{base}-quoted-spaced.csv", base, quote=True, spaces=True, blank_lines=True)
    # Headerless, as the UCI repository ships iris.data: text labels in the last column.
    h, r, _, _ = BASES["iris"]
    add(
        "iris.data",
        "iris",
        has_header=False,
        header=[f"column {i}" for i in range(1, 6)],
        target="column 5",
        fmt={"header": False},
    )
    add(
        "houses-no-header-tab.tsv",
        "houses",
        delimiter="\t",
        has_header=False,
        header=[f"column {i}" for i in range(1, 5)],
        target="column 4",
        fmt={"header": False},
    )
    add("binary-pipes.csv", "binary", delimiter="|")
    # Windows-1252 with accented class names, semicolons and decimal commas.
    h, r, _, _ = BASES["exam"]
    accented = [[*row[:3], {"pass": "réussi", "fail": "échoué"}[row[3]]] for row in r]
    add(
        "exam-french-cp1252.csv",
        "exam",
        rows=accented,
        delimiter=";",
        decimal=",",
        encoding="cp1252",
        fmt={"encoding": "cp1252"},
    )
    add("exam-latin1.csv", "exam", rows=accented, encoding="latin-1", fmt={"encoding": "cp1252"})
    add(
        "exam-utf16-no-bom.csv",
        "exam",
        rows=accented,
        encoding="utf-16-le",
        fmt={"encoding": "utf-16-le"},
    )
    # An id column, found and left out by the user.
    h, r, _, _ = BASES["houses"]
    hid, rid = with_id(h, r)
    add("houses-with-id.csv", "houses", header=hid, rows=rid, read={"exclude": ["id"]})
    # Missing values as R, pandas and UCI write them: refused with the count, or dropped.
    for token, label in (("NA", "r"), ("", "empty"), ("?", "uci"), ("nan", "pandas")):
        gaps = with_gaps(r, 1, 5, token)
        add(
            f"houses-missing-{label}.csv",
            "houses",
            rows=gaps,
            read={"missing": "drop"},
            dropped=sum(1 for k in range(len(r)) if k % 5 == 3),
        )
    add(
        "houses-missing-refused.csv",
        "houses",
        rows=with_gaps(r, 1, 5, "NA"),
        error="rows have a missing value",
    )
    # A regression target with one NA: dropped, still a regression (not 30 classes).
    target_gap = [[*row[:3], "NA" if k == 4 else row[3]] for k, row in enumerate(r)]
    add("houses-target-na.csv", "houses", rows=target_gap, read={"missing": "drop"}, dropped=1)
    # Duplicate names: made distinct, the target is the first "score".
    h, r, _, _ = BASES["binary"]
    add(
        "binary-duplicate-names.csv",
        "binary",
        header=["x", "x", "label"],
        columns=["x", "x (2)"],
        fmt={},
    )
    # Numbers as column names (years): read as data unless the user says there is a header.
    years = ["2019", "2020", "2021"]
    add(
        "binary-years-header.csv",
        "binary",
        header=years,
        target="2021",
        read={"header": True},
        columns=["2019", "2020"],
    )
    # A text column that is not an input: refused, then left out.
    named = [[f"person {k}", *row] for k, row in enumerate(r)]
    add(
        "binary-name-column.csv",
        "binary",
        header=["name", *h],
        rows=named,
        error="'person 0' is not a number; leave the column out",
    )
    add(
        "binary-name-column-excluded.csv",
        "binary",
        header=["name", *h],
        rows=named,
        read={"exclude": ["name"]},
    )
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(expected)} files")


if __name__ == "__main__":
    main()
