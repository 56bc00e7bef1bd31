import io
import json
import os
import stat
import zipfile

import numpy as np
import pytest

from bpstudio.data.csvdata import read_csv
from bpstudio.data.datasets import DatasetRecipe
from bpstudio.lessons.catalog import first_network
from bpstudio.project.fileformat import (
    MEMBER_LIMITS,
    Project,
    ProjectError,
    load_project,
    npz_bytes,
    project_bytes,
    save_project,
)


def trained(tmp_path):
    project = first_network()
    t = project.make_trainer()
    t.fit(epochs=3)
    t.set_hyperparameters(learning_rate=0.1)
    t.fit(epochs=1)
    project.capture(t)
    path = save_project(project, tmp_path / "p.bpstudio")
    return project, t, path


def test_round_trip_is_identical_and_keeps_everything(tmp_path):
    _, t, path = trained(tmp_path)
    loaded = load_project(path)
    second = save_project(loaded, tmp_path / "q.bpstudio")
    with zipfile.ZipFile(path) as a, zipfile.ZipFile(second) as b:
        assert a.namelist() == b.namelist()
        assert a.namelist() == [
            "project.json",
            "weights.npz",
            "history.npz",
            "runs.npz",
            "progress.npz",
        ]
        for name in a.namelist():
            assert a.read(name) == b.read(name)
    net = loaded.build_network()
    for k, v in t.net.get_weights().items():
        np.testing.assert_array_equal(net.get_weights()[k], v)
    run = loaded.runs[0]
    np.testing.assert_array_equal(run.history.steps.values, t.history.steps.values)
    assert run.history.events == t.history.events
    assert net.optimizer.learning_rate == 0.1 and loaded.steps == 100
    # Each run keeps where it ended.
    for k, v in t.net.get_weights().items():
        np.testing.assert_array_equal(run.weights[k], v)


def test_training_continues_where_it_was_saved(tmp_path):
    _, t, path = trained(tmp_path)
    t.fit(steps=10)
    resumed = load_project(path).make_trainer()
    resumed.fit(steps=10)
    assert resumed.step_count == t.step_count


def test_csv_data_travels_inside_the_project(tmp_path):
    text = "a,b,label\n" + "".join(f"{i},{i % 3},{'yes' if i % 2 else 'no'}\n" for i in range(20))
    table = read_csv(io.StringIO(text))
    project = Project(
        dataset=DatasetRecipe("csv", train_ratio=0.5),
        table=table,
        layers=[{"class": "Dense", "units": 1, "activation": "sigmoid"}],
    )
    path = save_project(project, tmp_path / "csv.bpstudio")
    loaded = load_project(path)
    np.testing.assert_array_equal(loaded.table.X, table.X)
    assert loaded.table.class_names == ("no", "yes")
    assert loaded.build_dataset().input_dim == 2


def test_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    *_, path = trained(tmp_path)
    before = path.read_bytes()

    def broken(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(
        ProjectError, match="No space left on device; the previous file is untouched"
    ):
        save_project(first_network(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(
    "target,error,message",
    [
        ("replace", PermissionError(13, "Permission denied"), "Permission denied"),
        ("fdopen", OSError(28, "No space left on device"), "No space left on device"),
        ("replace", KeyboardInterrupt(), None),
    ],
)
def test_a_failed_save_leaves_the_previous_file_and_no_litter(
    tmp_path, monkeypatch, target, error, message
):
    *_, path = trained(tmp_path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(os, target, broken)
    if message is None:
        with pytest.raises(KeyboardInterrupt):
            save_project(first_network(), path)
    else:
        with pytest.raises(ProjectError, match=f"{message}; the previous file is untouched"):
            save_project(first_network(), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.bpstudio"]


def test_save_into_a_missing_folder_says_so(tmp_path):
    with pytest.raises(ProjectError, match="could not save"):
        save_project(first_network(), tmp_path / "nope" / "x.bpstudio")


def zip_with(tmp_path, members, name="bad.bpstudio"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        for member, data in members.items():
            z.writestr(member, data)
    return path


def good_members():
    with zipfile.ZipFile(io.BytesIO(project_bytes(first_network()))) as z:
        return {n: z.read(n) for n in z.namelist()}


def doc_with(**changes):
    doc = json.loads(good_members()["project.json"])
    for path, value in changes.items():
        node = doc
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        node[keys[-1]] = value
    return json.dumps(doc)


@pytest.mark.parametrize(
    "members,match",
    [
        ({"readme.txt": "hi"}, "unexpected member"),
        ({"weights.npz": b"x"}, "project.json is missing"),
        ({"project.json": "{not json"}, "not valid JSON"),
        ({"project.json": b"\xff\xfe"}, "not valid JSON"),
        ({"project.json": "[]"}, "project.json at the top level"),
        ({"project.json": doc_with(format_version=99)}, "format_version 99 is not supported"),
        ({"project.json": doc_with(seed="zero")}, "at seed: 'zero' is not of type 'integer'"),
        ({"project.json": doc_with(network__layers__0__units=-3)}, "network/layers/0/units"),
        ({"project.json": doc_with(network__layers__0__units=10**9)}, "network/layers/0/units"),
        ({"project.json": doc_with(dataset__name="mnist")}, "dataset/name"),
        (
            {"project.json": doc_with(network__layers__0__activation="swish")},
            "network: layers\\[0\\]: activation must be one of",
        ),
        (
            {"project.json": doc_with(network__layers__2__units=3)},
            "output layer has 3 units, but the circle dataset needs 1",
        ),
        (
            {
                "project.json": doc_with(
                    training__optimizer={"name": "sgd", "learning_rate": 0.1, "warp": 9}
                )
            },
            "training: optimizer",
        ),
        (
            {"project.json": doc_with(training__loss="categorical_crossentropy")},
            "at least 2 outputs",
        ),
        ({"project.json": doc_with(extra=1)}, "Additional properties"),
    ],
)
def test_corrupt_projects_give_a_project_error(tmp_path, members, match):
    with pytest.raises(ProjectError, match=match):
        load_project(zip_with(tmp_path, members))


def test_truncated_and_non_zip_files(tmp_path):
    data = project_bytes(first_network())
    for n in (0, 10, len(data) // 2, len(data) - 5):
        path = tmp_path / f"t{n}.bpstudio"
        path.write_bytes(data[:n])
        with pytest.raises(ProjectError, match=f"t{n}.bpstudio"):
            load_project(path)
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "missing.bpstudio")
    with pytest.raises(ProjectError, match="is a folder"):
        load_project(tmp_path)


def npz_member(arrays):
    return npz_bytes(arrays)


def test_weights_that_do_not_fit(tmp_path):
    m = good_members()
    m["weights.npz"] = npz_member({"dense/kernel": np.zeros((5, 5))})
    with pytest.raises(ProjectError, match="weights.npz: weights do not fit this network"):
        load_project(zip_with(tmp_path, m))


def test_pickled_and_lying_arrays_are_refused(tmp_path):
    m = good_members()
    buf = io.BytesIO()
    np.savez(buf, evil=np.array([{"a": 1}], dtype=object))
    m["weights.npz"] = buf.getvalue()
    with pytest.raises(ProjectError, match="only numbers are allowed"):
        load_project(zip_with(tmp_path, m, "pickle.bpstudio"))
    # A header that claims a huge shape for a few bytes of data.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("dense/kernel.npy", header.getvalue() + b"\0" * 16)
    m["weights.npz"] = inner.getvalue()
    with pytest.raises(ProjectError, match="claims shape"):
        load_project(zip_with(tmp_path, m, "liar.bpstudio"))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("../../etc/passwd.npy", b"")
    m["weights.npz"] = inner.getvalue()
    with pytest.raises(ProjectError, match="bad array name"):
        load_project(zip_with(tmp_path, m, "traversal.bpstudio"))


def test_absurd_declared_sizes_are_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setitem(MEMBER_LIMITS, "project.json", 100)
    with pytest.raises(ProjectError, match="member project.json would be"):
        load_project(zip_with(tmp_path, good_members()))


def test_the_shipped_lessons_are_generated_from_the_code():
    from bpstudio.lessons.catalog import LESSONS

    for lesson, make in LESSONS.items():
        assert lesson.path.read_bytes() == project_bytes(make()), (
            f"{lesson.path.name} is stale: run python -m bpstudio.lessons"
        )


def test_saved_files_follow_the_umask_and_keep_their_mode(tmp_path):
    project = first_network()
    old = os.umask(0o022)
    try:
        path = save_project(project, tmp_path / "shared.bpstudio")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # a colleague can read it
        os.umask(0o077)
        path.chmod(0o664)
        save_project(project, path)  # saving again keeps the mode the file has
        assert stat.S_IMODE(path.stat().st_mode) == 0o664
    finally:
        os.umask(old)


@pytest.mark.parametrize(
    "name",
    ["my layer", "couche é", "a..b", "x%2E", "日本", "-dash", "ü" * 100],  # the longest
)
def test_any_layer_name_round_trips(tmp_path, name):
    project = first_network()
    project.layers = [dict(project.layers[0], name=name), *project.layers[1:]]
    trainer = project.make_trainer()
    trainer.fit(steps=3)
    project.capture(trainer)
    path = save_project(project, tmp_path / "named.bpstudio")
    again = load_project(path)
    assert again.layers[0]["name"] == name
    np.testing.assert_array_equal(
        again.weights[f"{name}/kernel"], project.weights[f"{name}/kernel"]
    )
    assert again.runs[0].history.steps.columns == project.runs[0].history.steps.columns


def test_a_long_project_name_round_trips(tmp_path):
    project = first_network()
    project.name = "n" * 255  # as long as a file name can be
    assert load_project(save_project(project, tmp_path / "long.bpstudio")).name == project.name


def test_runs_are_bounded_and_every_saved_project_reopens(tmp_path):
    from bpstudio.project.model import MAX_RUNS

    project = first_network()
    trainer = project.make_trainer()
    for _ in range(MAX_RUNS + 3):
        trainer.fit(steps=2)
        project.capture(trainer)
        trainer.reset()
    assert len(project.runs) == MAX_RUNS and "was dropped" in project.note
    again = load_project(save_project(project, tmp_path / "many.bpstudio"))
    assert [r.id for r in again.runs] == [r.id for r in project.runs]


def test_a_network_over_the_layer_limit_is_refused_when_it_is_made():
    from bpstudio.core import Dense, Sequential
    from bpstudio.core.model import MAX_LAYERS

    with pytest.raises(ValueError, match=f"at most {MAX_LAYERS} layers"):
        Sequential([Dense(2) for _ in range(MAX_LAYERS + 1)], input_dim=2)


@pytest.mark.parametrize(
    "lesson",
    [
        {"question": 5},
        {"fixes": [{"name": "x", "changes": {"runs": 5}}]},
        {"fixes": "not a list"},
        {"surprise": True},
    ],
)
def test_a_lesson_entry_the_app_cannot_show_is_refused_at_load(tmp_path, lesson):
    project = first_network()
    project.lesson = lesson
    path = save_project(project, tmp_path / "odd.bpstudio")
    with pytest.raises(ProjectError, match="odd.bpstudio: project.json at lesson"):
        load_project(path)
