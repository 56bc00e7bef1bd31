"""The command line as users run it: real subprocesses, exit codes and stderr lines."""

import csv
import subprocess
import sys

import numpy as np
import pytest

import bpstudio
from bpstudio.cli import main
from bpstudio.core import activations
from bpstudio.data.datasets import DatasetRecipe
from bpstudio.lessons.catalog import first_network, lessons
from bpstudio.project import Project, load_project, save_project

LESSON = str(lessons()[0].path)


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "bpstudio", *args], capture_output=True, text=True, timeout=300
    )


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"bpstudio {bpstudio.__version__}"


def test_train_reaches_playground_accuracy_and_writes_metrics_and_project(tmp_path):
    out, metrics = tmp_path / "out.bpstudio", tmp_path / "m.csv"
    r = run("train", LESSON, "--epochs", "150", "--metrics", str(metrics), "--out", str(out))
    assert r.returncode == 0, r.stderr
    accuracy = float(r.stdout.strip().rsplit("test accuracy ", 1)[1].split(",")[0])
    from bpstudio.compiled import engine

    if engine.available() is None:  # a small dense network trains compiled
        assert r.stdout.strip().endswith("engine compiled")
    assert accuracy >= 0.95
    rows = list(csv.DictReader(metrics.open()))
    assert len(rows) == 150 and rows[-1]["epoch"] == "149" and rows[-1]["step"] == "3750"
    assert float(rows[-1]["test_accuracy"]) == accuracy
    assert float(rows[-1]["last_step_grad_norm/dense"]) > 0
    assert load_project(out).steps == 3750


def test_train_with_a_seed_is_reproducible(tmp_path):
    a, b = tmp_path / "a.bpstudio", tmp_path / "b.bpstudio"
    for path in (a, b):
        assert (
            run(
                "train", LESSON, "--epochs", "2", "--seed", "7", "--out", str(path), "--quiet"
            ).returncode
            == 0
        )
    wa, wb = load_project(a).weights, load_project(b).weights
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_analyze_prints_the_table_and_warnings(tmp_path):
    project = first_network()
    project.layers = [{"class": "Dense", "units": 8, "activation": "sigmoid"}] * 4 + [
        {"class": "Dense", "units": 1, "activation": "sigmoid", "kernel_initializer": "zeros"}
    ]
    path = save_project(project, tmp_path / "deep.bpstudio")
    r = run("analyze", str(path))
    assert r.returncode == 0
    assert "dense_3" in r.stdout and "(None, 8)" in r.stdout and "total" in r.stdout
    assert "vanishing gradients" in r.stdout and "kernel starts at zero" in r.stdout


def test_gradcheck_passes_and_fails(tmp_path, monkeypatch, capsys):
    r = run("gradcheck", LESSON)
    assert r.returncode == 0 and "passed" in r.stdout
    monkeypatch.setattr(activations.Tanh, "backward", lambda self, dA, Z, A: dA)
    assert main(["gradcheck", LESSON]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_lessons():
    r = run("lessons")
    assert r.returncode == 0 and "1. Your first network" in r.stdout


def test_datasets_lists_every_data_set_as_it_is_made(capsys):
    from bpstudio.data.datasets import DATASETS, DatasetRecipe, make_dataset

    assert main(["datasets"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert set(rows) == set(DATASETS)
    digits = make_dataset(DatasetRecipe("digits"))
    assert rows["digits"][1:4] == ["classification", "64", str(digits.n_classes)]
    assert rows["plane"][1:4] == ["regression", "2", "-"]
    assert rows["arms"][1:5] == ["classification", "2", "3", "(2-6)"]


def test_new_makes_a_project_from_options(tmp_path, capsys):
    from bpstudio.project import load_project

    assert main(["new", str(tmp_path / "deep"), "--data", "digits", "--hidden", "16,8",
                 "--activation", "relu", "--seed", "3"]) == 0  # fmt: skip
    project = load_project(tmp_path / "deep.bpstudio")
    assert [(c["units"], c["activation"]) for c in project.layers] == [
        (16, "relu"),
        (8, "relu"),
        (10, "softmax"),  # the output follows the data: ten digits
    ]
    assert project.loss == "categorical_crossentropy" and project.seed == 3
    assert "2 hidden layers" in capsys.readouterr().out
    trainer = project.make_trainer()
    trainer.fit(steps=2)  # it trains


def test_new_with_classes_makes_a_softmax_project_that_reopens(tmp_path):
    from bpstudio.project import load_project

    assert main(["new", str(tmp_path / "arms"), "--data", "arms", "--classes", "4"]) == 0
    project = load_project(tmp_path / "arms.bpstudio")
    assert project.dataset.classes == 4 and project.layers[-1]["units"] == 4
    assert project.layers[-1]["activation"] == "softmax"
    assert project.make_trainer().dataset.class_names == ("orange", "blue", "green", "purple")


def test_new_from_a_playground_link_says_what_it_could_not_use(tmp_path, capsys):
    from bpstudio.project import load_project

    link = (
        "https://playground.tensorflow.org/#activation=relu&dataset=xor&networkShape=3"
        "&learningRate=0.1&noise=10&wobble=2"
    )
    assert main(["new", str(tmp_path / "pg"), "--from-playground", link]) == 0
    out, err = capsys.readouterr()
    assert "wrote" in out and "xor data, 1 hidden layer," in out
    assert err.strip() == "bpstudio: note: wobble: not a field Playground knows; ignored"
    project = load_project(tmp_path / "pg.bpstudio")
    assert project.dataset.name == "xor" and project.dataset.labels == "signed"
    assert [c["activation"] for c in project.layers] == ["relu", "tanh"]
    assert project.optimizer["learning_rate"] == 0.05
    assert main(["new", str(tmp_path / "s"), "--from-playground", link, "--seed", "9"]) == 0
    assert load_project(tmp_path / "s.bpstudio").dataset.seed == 9


@pytest.mark.parametrize(
    "args,message",
    [
        (["--from-playground", "https://example.com/"], "not a Playground link"),
        (["--from-playground", "#dataset=xor", "--hidden", "3"], "leave out --hidden"),
        (["--data", "circle", "--classes", "3"], "only blobs and arms take a number"),
        (["--data", "blobs", "--classes", "9"], "classes must be from 2 to 6"),
        (["--data", "csv"], "--data must be one of"),
        (["--hidden", "8,x"], "--hidden takes whole numbers"),
        (["--hidden", "0"], "units must be >= 1"),
        (["--activation", "softmax"], "--activation must be one of"),
    ],
)
def test_new_refuses_bad_options_in_one_line(tmp_path, capsys, args, message):
    assert main(["new", str(tmp_path / "x.bpstudio"), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.bpstudio").exists()


def test_export_npz(tmp_path):
    out = tmp_path / "w.npz"
    r = run("export", LESSON, "--to", "npz", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with np.load(out, allow_pickle=False) as f:
        assert "dense/kernel" in f.files and f["dense/kernel"].shape == (2, 4)
        assert '"format_version": 1' in str(f["project.json"])


@pytest.mark.parametrize(
    "args,code,message",
    [
        (("train", "missing.bpstudio"), 1, "missing.bpstudio: no such file"),
        (("train", "README.md"), 1, "README.md: not a readable project file"),
        (("train", LESSON, "--epochs", "-1"), 1, "--epochs must be >= 0"),
        (("export", LESSON, "--to", "pytorch", "--out", "x.txt"), 1, "name ending in .py"),
        (("train", LESSON, "--epochs", "1", "--metrics", "/nonexistent/m.csv"), 1, "cannot write"),
        (("a.bpstudio", "b.bpstudio"), 2, "at most one PROJECT"),
    ],
)
def test_errors_are_one_clear_line(args, code, message):
    r = run(*args)
    assert r.returncode == code
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bpstudio: error: ") and message in lines[0]


def test_diverging_training_says_so(tmp_path):
    # Measured: this regression network with SGD at learning rate 2 overflows at step 270.
    project = Project(
        dataset=DatasetRecipe("plane"),
        loss="mse",
        optimizer={"name": "sgd", "learning_rate": 2.0},
        layers=[
            {"class": "Dense", "units": 8, "activation": "relu"},
            {"class": "Dense", "units": 8, "activation": "relu"},
            {"class": "Dense", "units": 1},
        ],
    )
    path = save_project(project, tmp_path / "boom.bpstudio")
    out = tmp_path / "after.bpstudio"
    r = run("train", str(path), "--epochs", "30", "--quiet", "--out", str(out))
    assert r.returncode == 1
    assert "training stopped: step 270: the loss is inf" in r.stderr
    assert "lower learning rate" in r.stderr
    weights = load_project(out).weights  # saved with the last finite weights
    assert all(np.all(np.isfinite(v)) for v in weights.values())


@pytest.mark.parametrize(
    "to,name,written",
    [
        ("pytorch", "net.py", ["net.py", "net.npz"]),
        ("keras", "k.py", ["k.py", "k.npz"]),
        ("onnx", "net.onnx", ["net.onnx"]),
    ],
)
def test_export_writes_what_it_says(tmp_path, to, name, written):
    if to == "onnx":
        pytest.importorskip("onnx")
    r = run("export", LESSON, "--to", to, "--out", str(tmp_path / name))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [w for f in written for w in ("wrote", str(tmp_path / f))]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)


def test_training_in_two_sittings_equals_training_in_one(tmp_path):
    """bpstudio train 3 epochs, save; train the saved file 3 more: the same weights as 6."""
    dropout = str(lessons()[4].path)  # dropout: its random masks must go on where they were
    half, twice, once = (tmp_path / f"{n}.bpstudio" for n in ("half", "twice", "once"))
    for args in (
        (dropout, "--epochs", "3", "--out", str(half)),
        (str(half), "--epochs", "3", "--out", str(twice)),
        (dropout, "--epochs", "6", "--out", str(once)),
    ):
        r = run("train", *args, "--quiet")
        assert r.returncode == 0, r.stderr
    a, b = load_project(twice), load_project(once)
    assert a.steps == b.steps and a.epoch == b.epoch == 6
    for key, value in b.weights.items():
        np.testing.assert_array_equal(a.weights[key], value, err_msg=key)
