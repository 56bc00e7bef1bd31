import io

import numpy as np
import pytest

from bpstudio.data.csvdata import CsvError, read_csv
from bpstudio.data.datasets import (
    CLASS_NAMES,
    CLASSIFICATION_2D,
    FEATURES,
    MULTICLASS_2D,
    REGRESSION_2D,
    DatasetError,
    DatasetRecipe,
    make_dataset,
)


@pytest.mark.parametrize("name", [*CLASSIFICATION_2D, *REGRESSION_2D])
def test_2d_sets_are_seeded_split_and_noisy(name):
    recipe = DatasetRecipe(name, n_samples=400, noise=0.2, train_ratio=0.7, seed=3)
    a, b = make_dataset(recipe), make_dataset(recipe)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert len(a.X_train) == 280 and len(a.X_test) == 120
    c = make_dataset(DatasetRecipe(name, n_samples=400, noise=0.2, train_ratio=0.7, seed=4))
    assert not np.array_equal(a.X_train, c.X_train)
    clean = make_dataset(DatasetRecipe(name, n_samples=400, noise=0.0, seed=3))
    assert np.abs(a.points_train).max() < 12 and np.abs(clean.points_train).max() <= 6.5
    if name in MULTICLASS_2D:  # three classes unless told
        assert set(np.unique(a.y_train)) == {0, 1, 2} and a.loss == "categorical_crossentropy"
        assert a.output_units == 3 and a.output_activation == "softmax"
    elif name in CLASSIFICATION_2D:
        assert set(np.unique(a.y_train)) == {0, 1} and a.loss == "binary_crossentropy"
    else:
        # Playground's plane is (x1 + x2) / 10, unclipped; its bumps stay within ±1.
        top = (12 + 2 * 6 * 0.2) / 10 if name == "plane" else 1
        assert a.y_train.shape == (280, 1) and np.abs(a.y_train).max() <= top and a.loss == "mse"


def test_circle_labels_follow_the_radius_without_noise():
    d = make_dataset(DatasetRecipe("circle", noise=0.0))
    r = np.hypot(*d.points_train.T)
    assert np.all((r < 2.5) == (d.y_train == 1))


def test_xor_labels_follow_the_quadrant():
    d = make_dataset(DatasetRecipe("xor"))
    x, y = d.points_train.T
    assert np.all((x * y >= 0) == (d.y_train == 1))


def test_input_features():
    d = make_dataset(DatasetRecipe("gauss", features=tuple(FEATURES)))
    assert d.input_dim == 7
    x1, x2 = d.points_train.T
    np.testing.assert_allclose(d.X_train[:, 4], x1 * x2)
    np.testing.assert_allclose(d.X_train[:, 6], np.sin(x2))
    np.testing.assert_allclose(d.transform(d.points_test), d.X_test)


def test_digits():
    d = make_dataset(DatasetRecipe("digits", train_ratio=0.8))
    assert len(d.X_train) + len(d.X_test) == 1797
    assert d.input_dim == 64 and d.n_classes == 10 and d.output_units == 10
    assert 0 <= d.X_train.min() and d.X_train.max() <= 1
    assert d.loss == "categorical_crossentropy"


@pytest.mark.parametrize("name", MULTICLASS_2D)
@pytest.mark.parametrize("k", range(2, len(CLASS_NAMES) + 1))
def test_multiclass_sets_make_k_balanced_classes_named_by_colour(name, k):
    d = make_dataset(DatasetRecipe(name, n_samples=600, classes=k, noise=0.1))
    y = np.concatenate([d.y_train, d.y_test])
    assert np.bincount(y).tolist() == [600 // k + (i < 600 % k) for i in range(k)]
    assert d.class_names == CLASS_NAMES[:k] and d.n_classes == k
    assert d.output_units == (1 if k == 2 else k)
    # Each class sits in its own place: a point's nearest class centre is mostly its own.
    pts = np.concatenate([d.points_train, d.points_test])
    if name == "blobs":
        centres = np.array([pts[y == c].mean(axis=0) for c in range(k)])
        nearest = np.linalg.norm(pts[:, None] - centres[None], axis=2).argmin(axis=1)
        assert np.mean(nearest == y) > 0.9
    else:  # each arm winds from the middle out, turned 1/k of a circle from the last
        angle = np.arctan2(pts[:, 0], pts[:, 1])
        far = np.hypot(*pts.T) > 1
        first = [
            np.median(np.mod(angle[far & (y == c)] - angle[far & (y == 0)].mean(), 7))
            for c in range(k)
        ]
        assert len(set(np.round(first, 3))) == k


def test_multiclass_recipe_round_trips_and_old_recipes_write_nothing_new():
    r = DatasetRecipe("arms", classes=5, noise=0.2)
    assert r.to_dict()["classes"] == 5 and DatasetRecipe.from_dict(r.to_dict()) == r
    assert DatasetRecipe("blobs").classes == 3
    assert set(DatasetRecipe("circle").to_dict()) == {
        "name",
        "n_samples",
        "noise",
        "train_ratio",
        "seed",
        "features",
    }


def test_signed_labels_are_playgrounds_minus_and_plus_one():
    plain = make_dataset(DatasetRecipe("circle", seed=2))
    signed = make_dataset(DatasetRecipe("circle", seed=2, labels="signed"))
    np.testing.assert_array_equal(signed.X_train, plain.X_train)
    np.testing.assert_array_equal(signed.y_train.ravel(), 2.0 * plain.y_train - 1)
    assert (signed.output_units, signed.output_activation, signed.loss) == (1, "tanh", "mse")
    np.testing.assert_array_equal(signed.class_indices(signed.y_test), plain.y_test)
    A = np.array([[-0.2], [0.1], [0.7]])
    assert signed.predicted_classes(A).tolist() == [0, 1, 1]
    assert plain.predicted_classes(A).tolist() == [0, 0, 1]


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"name": "circle", "classes": 3}, "only blobs and arms"),
        ({"name": "blobs", "classes": 7}, "classes must be from 2 to 6"),
        ({"name": "arms", "classes": 1}, "classes must be from 2 to 6"),
        ({"name": "blobs", "classes": 3.0}, "whole number"),
        ({"name": "blobs", "labels": "signed"}, "two-class 2-D data"),
        ({"name": "plane", "labels": "signed"}, "two-class 2-D data"),
        ({"labels": "onehot"}, "labels must be one of"),
        ({"name": "mnist"}, "dataset must be one of"),
        ({"noise": 0.9}, "noise"),
        ({"train_ratio": 1.0}, "train_ratio"),
        ({"n_samples": 5}, "n_samples"),
        ({"features": ("x3",)}, "features"),
        ({"features": ()}, "features"),
    ],
)
def test_bad_recipes(kw, match):
    with pytest.raises(DatasetError, match=match):
        DatasetRecipe(**kw)


def csv_text(text, **kw):
    return read_csv(io.StringIO(text), **kw)


def test_csv_classification_with_text_labels_and_standardization():
    text = "height,weight,kind\n" + "".join(
        f"{h},{w},{k}\n"
        for h, w, k in [
            (1, 10, "a"),
            (2, 20, "b"),
            (3, 30, "a"),
            (4, 40, "b"),
            (5, 50, "c"),
            (6, 60, "c"),
        ]
    )
    table = csv_text(text)
    assert table.task == "classification" and table.class_names == ("a", "b", "c")
    assert table.feature_names == ("height", "weight")
    d = make_dataset(DatasetRecipe("csv", train_ratio=0.5), table)
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(d.X_train.std(axis=0), 1)
    assert d.loss == "categorical_crossentropy"


def test_csv_regression_semicolons_no_header_and_chosen_target():
    rows = "\n".join(f"{i};{i * 0.5};{i * 1.37}" for i in range(30))
    table = csv_text(rows, target=0, task="regression", standardize=False)
    assert table.task == "regression" and table.target == "column 1"
    assert table.feature_names == ("column 2", "column 3")
    d = make_dataset(DatasetRecipe("csv"), table)
    assert d.y_train.shape[1] == 1 and d.loss == "mse"


def test_csv_auto_task_picks_regression_for_many_values():
    rows = "x,y\n" + "\n".join(f"{i},{i * 0.37}" for i in range(40))
    assert csv_text(rows).task == "regression"


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "is empty"),
        ("   \n\n", "is empty"),
        ("a,b\n1,2\n3,4\n", "at least 4 are needed"),
        ("a,b,c\n1,2,0\n3,4\n5,6,1\n7,8,0\n9,9,1\n", r"line 3: 2 fields, but line 1 has 3"),
        ("a,b,c\n1,x,0\n3,4,1\n5,6,0\n7,8,1\n", r"line 2, column 'b': 'x' is not a number"),
        ("a,b,c\n1,,0\n3,4,1\n5,6,0\n7,8,1\n", r"line 2, column 'b': the value is missing"),
        (
            "a,b,c\n1,nan,0\n3,4,1\n5,6,0\n7,8,1\n",
            r"line 2, column 'b': the value is missing \(1 of 4 rows",
        ),
        ("a,b,c\n1,inf,0\n3,4,1\n5,6,0\n7,8,1\n", "'inf' is not a finite number"),
        ("a,b,c\n1,1e300,0\n3,4,1\n5,6,0\n7,8,1\n", "too large"),
        ("a,b,c\n1,2,x\n3,4,x\n5,6,x\n7,8,x\n", "only one class"),
        ("a,b,c\n1,2,\n3,4,1\n5,6,0\n7,8,1\n", r"line 2, column 'c': the value is missing"),
        ("onlyone\n1\n2\n3\n4\n", "needs at least one input column"),
    ],
)
def test_csv_errors_say_what_and_where(text, match):
    with pytest.raises(CsvError, match=match):
        csv_text(text)


def test_csv_unknown_target_lists_the_columns():
    with pytest.raises(CsvError, match="there is no column 'z'; the columns are 'a', 'b'"):
        csv_text("a,b\n1,0\n2,1\n3,0\n4,1\n", target="z")


def test_csv_files_binary_huge_and_not_utf8(tmp_path, monkeypatch):
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\x00\x00garbage")
    with pytest.raises(CsvError, match="not a text file"):
        read_csv(binary)
    broken = tmp_path / "broken-utf16.csv"
    broken.write_bytes(b"\xff\xfea\x00,\x00b\x00\n\x00\x00\xd8")  # a lone surrogate
    with pytest.raises(CsvError, match="says it is UTF-16 but byte"):
        read_csv(broken)
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "1,0\n" * 100)
    monkeypatch.setattr("bpstudio.data.csvdata.MAX_BYTES", 100)
    with pytest.raises(CsvError, match="the limit is"):
        read_csv(big)
    with pytest.raises(CsvError, match="cannot read"):
        read_csv(tmp_path / "missing.csv")


def test_two_column_csv_is_drawn_on_the_input_plane():
    rows = "\n".join(
        f"{x},{y},{'abc'[i % 3]}"
        for i, (x, y) in enumerate(np.random.default_rng(0).normal(size=(90, 2)) * 40)
    )
    table = csv_text("a,b,kind\n" + rows)
    d = make_dataset(DatasetRecipe("csv"), table)
    assert d.n_classes == 3 and d.output_activation == "softmax"
    edge = max(np.abs(d.points_train).max(), np.abs(d.points_test).max())
    assert 5 < edge < 6  # the data fills the plane, inside its edge
    np.testing.assert_allclose(d.transform(d.points_train), d.X_train)


def test_csv_missing_table_for_a_csv_recipe():
    with pytest.raises(DatasetError, match="data is missing"):
        make_dataset(DatasetRecipe("csv"))


@pytest.mark.parametrize(
    "recipe",
    [DatasetRecipe("arms", classes=4, n_samples=80), DatasetRecipe("plane", n_samples=40),
     DatasetRecipe("circle", labels="signed", features=("x1", "x1^2"), n_samples=30)],
)  # fmt: skip
def test_write_csv_reads_back_as_the_same_examples(recipe, tmp_path):
    from bpstudio.data.datasets import write_csv

    d = make_dataset(recipe)
    path = tmp_path / "data.csv"
    assert write_csv(d, path) == len(d.X_train) + len(d.X_test)
    target = "class" if d.task == "classification" else "target"
    table = read_csv(path, target=target, task=d.task, standardize=False, exclude=("split",))
    X = np.concatenate([d.X_train, d.X_test])
    np.testing.assert_array_equal(table.X, X)  # repr: every digit kept
    if d.task == "classification":
        names = np.array(table.class_names)[table.y]
        wanted = np.array(d.class_names)[np.concatenate([d.class_indices(d.y_train),
                                                         d.class_indices(d.y_test)])]  # fmt: skip
        assert names.tolist() == wanted.tolist()
    else:
        np.testing.assert_array_equal(table.y, np.concatenate([d.y_train, d.y_test]).ravel())
    splits = [line.split(",")[0] for line in path.read_text().splitlines()[1:]]
    assert splits.count("train") == len(d.X_train) and splits.count("test") == len(d.X_test)


def test_write_csv_writes_imported_data_as_it_was_in_its_file(tmp_path):
    from bpstudio.data.datasets import write_csv

    table = csv_text("a,b,kind\n1,10,x\n2,20,y\n3,30,x\n4,40,y\n5,50,x\n6,60,y\n")
    d = make_dataset(DatasetRecipe("csv"), table)
    assert d.scaling is not None  # standardized for the network
    write_csv(d, tmp_path / "out.csv")
    again = read_csv(tmp_path / "out.csv", target="class", standardize=False, exclude=("split",))
    assert sorted(again.X[:, 1].tolist()) == [10, 20, 30, 40, 50, 60]
