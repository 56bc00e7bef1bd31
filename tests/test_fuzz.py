"""Every loader and every typed value, fuzzed with hypothesis: project files (random bytes,
mutated zips, mutated JSON, hostile member names), CSV files (random text, huge numbers,
NaN/inf, unicode, empty, ragged) and the numbers typed into the window's fields. The only
acceptable outcomes are a clear error of the loader's own kind, or a result that works.

Run with `--hypothesis-show-statistics` to see how many cases each test ran;
BPSTUDIO_FUZZ_EXAMPLES sets how many each test tries (default 300)."""

import io
import json
import math
import os
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpstudio.data.csvdata import CsvError, read_csv
from bpstudio.data.datasets import DatasetError, DatasetRecipe
from bpstudio.lessons.catalog import dropout, first_network
from bpstudio.project import ProjectError, load_project, project_bytes

FUZZ = settings(
    max_examples=int(os.environ.get("BPSTUDIO_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _trained_bytes():
    project = dropout()
    trainer = project.make_trainer()
    trainer.fit(steps=30)
    project.capture(trainer)
    return project_bytes(project)


GOOD = _trained_bytes()
with zipfile.ZipFile(io.BytesIO(GOOD)) as _z:
    MEMBERS = {name: _z.read(name) for name in _z.namelist()}
DOC = json.loads(MEMBERS["project.json"])


def load_bytes(tmp_path, data: bytes):
    path = tmp_path / "fuzzed.bpstudio"
    path.write_bytes(data)
    try:
        project = load_project(path)
    except ProjectError as exc:
        assert str(exc).startswith("fuzzed.bpstudio:"), exc  # says which file
        assert "\n" not in str(exc) and len(str(exc)) < 600
        return None
    # Whatever loads must also work: build it and take a step.
    trainer = project.make_trainer()
    trainer.fit(steps=1)
    return project


def zip_of(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(tmp_path, data):
    assert load_bytes(tmp_path, data) is None


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    cut=st.one_of(st.none(), st.integers(0, len(GOOD))),
)
def test_mutated_zip_bytes(tmp_path, edits, cut):
    data = bytearray(GOOD)
    for pos, value in edits:
        data[pos] = value
    load_bytes(tmp_path, bytes(data[:cut]))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e308, -1e308, 1e-308, 0, -1, 2**63, 10**9])
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(DOC) if p]


@FUZZ
@given(path=st.sampled_from(PATHS), value=JSON_VALUES, delete=st.booleans())
def test_mutated_project_json(tmp_path, path, value, delete):
    doc = json.loads(json.dumps(DOC))
    node = doc
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    members = {**MEMBERS, "project.json": json.dumps(doc).encode()}
    load_bytes(tmp_path, zip_of(members))


@FUZZ
@given(
    names=st.lists(
        st.sampled_from(
            [
                "project.json",
                "weights.npz",
                "history.npz",
                "runs.npz",
                "data.npz",
                "../../etc/passwd",
                "/abs.npz",
                "weights.npz/../x",
                "ok.txt",
            ]
        ),
        min_size=1,
        max_size=5,
    ),
    payload=st.binary(max_size=256),
)
def test_hostile_members(tmp_path, names, payload):
    members = {name: MEMBERS.get(name, payload) for name in names}
    if "weights.npz" in members and payload:
        members["weights.npz"] = payload  # garbage where arrays should be
    assert load_bytes(tmp_path, zip_of(members)) is None or set(members) <= set(MEMBERS)


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e400", "", " ", "yes", "no", "１２", "½"]),
    st.text(max_size=6),
)


@FUZZ
@given(
    header=st.lists(st.text(min_size=0, max_size=8), min_size=0, max_size=5),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=6), max_size=25),
    task=st.sampled_from(["auto", "classification", "regression"]),
    standardize=st.booleans(),
)
def test_csv_tables(tmp_path, header, rows, task, standardize):
    text = "\n".join(",".join(r) for r in [header, *rows])
    path = tmp_path / "fuzzed.csv"
    path.write_text(text, encoding="utf-8")
    try:
        table = read_csv(path, task=task, standardize=standardize)
    except CsvError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 600
        return
    assert table.X.ndim == 2 and len(table.X) == len(table.y) >= 1
    assert np.isfinite(table.X).all()


@FUZZ
@given(data=st.binary(max_size=2048))
def test_csv_random_bytes(tmp_path, data):
    path = tmp_path / "fuzzed.csv"
    path.write_bytes(data)
    try:
        table = read_csv(path)
    except CsvError:
        return
    assert np.isfinite(table.X).all()


@FUZZ
@given(
    name=st.sampled_from(["circle", "xor", "spiral", "digits", "nope", 3]),
    n=st.one_of(st.integers(-5, 200_000), st.floats(), st.text(max_size=3)),
    noise=st.one_of(st.floats(), st.integers(-2, 2), st.text(max_size=3), st.none()),
    ratio=st.one_of(st.floats(), st.integers(-2, 2)),
    seed=st.one_of(st.integers(-5, 10**6), st.floats(), st.booleans()),
)
def test_dataset_recipe_values(name, n, noise, ratio, seed):
    try:
        DatasetRecipe(name, n_samples=n, noise=noise, train_ratio=ratio, seed=seed)
    except DatasetError as exc:
        assert str(exc)


@pytest.fixture(scope="module")
def settings_panel(qapp):
    from bpstudio.qt.controls import SettingsPanel

    panel = SettingsPanel()
    panel.show_settings(first_network().make_trainer().hyperparameters(), "sgd", 250)
    return panel


TYPED = st.one_of(
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from(["0", "-0", "1e-400", "1e400", "0,01", "3e", "", "  0.1 ", "٣", "1_000"]),
)


@FUZZ
@given(text=TYPED, field=st.sampled_from(["learning_rate", "regularization_rate"]))
def test_typed_values_in_the_settings(settings_panel, text, field):
    accepted, refused = [], []
    settings_panel.changed.connect(accepted.append)
    settings_panel.rejected.connect(refused.append)
    try:
        box = getattr(settings_panel, field)
        box.setEditText(text)
        box.lineEdit().editingFinished.emit()
    finally:
        settings_panel.changed.disconnect(accepted.append)
        settings_panel.rejected.disconnect(refused.append)
    assert len(refused) + len(accepted) <= 1
    for message in refused:
        assert message and "\n" not in message
    for change in accepted:
        for value in change.values():
            if isinstance(value, float):
                assert math.isfinite(value) and value >= 0
        # and the trainer takes it without complaint
        first_network().make_trainer().set_hyperparameters(**change)


# --- structure-aware mutations: the zip's own fields, the .npz inside it, JSON's depth

COMPRESSIONS = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]


def raw_zip(entries) -> bytes:
    """A zip of (ZipInfo, data) written as given: compression, flags and names included."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as z:
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        for info, data in entries:
            z.writestr(info, data)
    return buf.getvalue()


@FUZZ
@given(
    member=st.sampled_from(sorted(MEMBERS)),
    compression=st.sampled_from(COMPRESSIONS),
    flags=st.integers(0, 0xFFFF),
    rename=st.one_of(st.none(), st.text(min_size=1, max_size=40)),
    duplicate=st.booleans(),
    drop=st.booleans(),
    declared=st.one_of(st.none(), st.integers(0, 2**40)),
)
def test_zip_level_mutations(
    tmp_path, member, compression, flags, rename, duplicate, drop, declared
):
    """One member of a good file given another compression, any flag bits (encrypted, data
    descriptor…), another name, a twin, or none at all; or a size it does not have."""
    entries = []
    for name, data in MEMBERS.items():
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        if name == member:
            if drop:
                continue
            info.compress_type = compression
            if rename is not None:
                info.filename = rename
        entries.append((info, data))
        if name == member and duplicate:
            entries.append((zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data))
    data = raw_zip(entries)
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # the flags and a declared size, patched in
        offsets = [(i.header_offset, i.filename) for i in z.infolist()]
    patched = bytearray(data)
    for offset, name in offsets:
        if name == member:
            patched[offset + 6 : offset + 8] = flags.to_bytes(2, "little")
            if declared is not None:
                patched[offset + 22 : offset + 26] = (declared % 2**32).to_bytes(4, "little")
    load_bytes(tmp_path, bytes(patched))


NPY_DTYPES = ["<f8", "<f4", ">f8", "<i8", "|u1", "|O", "<c16", "|V8", "<U3", "|b1", "bogus"]


@FUZZ
@given(
    member=st.sampled_from([m for m in sorted(MEMBERS) if m.endswith(".npz")]),
    dtype=st.sampled_from(NPY_DTYPES),
    shape=st.lists(st.integers(0, 2**45), max_size=4),
    fortran=st.booleans(),
    cut=st.one_of(st.none(), st.integers(0, 4096)),
    which=st.integers(0, 1000),
)
def test_npz_level_mutations(tmp_path, member, dtype, shape, fortran, cut, which):
    """An array inside an .npz member with another dtype (objects, which need pickle,
    included), another shape (up to terabytes), another order, or cut short."""
    with zipfile.ZipFile(io.BytesIO(MEMBERS[member])) as z:
        arrays = {name: z.read(name) for name in z.namelist()}
    name = sorted(arrays)[which % len(arrays)]
    raw = arrays[name]
    header_len = int.from_bytes(raw[8:10], "little")
    header = (
        f"{{'descr': '{dtype}', 'fortran_order': {fortran}, 'shape': {tuple(shape)!r}, }}"
    ).encode("latin1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    body = raw[10 + header_len :]
    npy = raw[:8] + len(header).to_bytes(2, "little") + header + body
    arrays[name] = npy if cut is None else npy[:cut]
    load_bytes(tmp_path, zip_of({**MEMBERS, member: zip_of(arrays)}))


@FUZZ
@given(
    path=st.sampled_from(PATHS),
    depth=st.integers(1, 5000),
    kind=st.sampled_from(["list", "dict", "int"]),
)
def test_json_depth_and_size(tmp_path, path, depth, kind):
    """A value of the project JSON replaced by lists or objects nested up to 5,000 deep, or
    by an integer of up to 5,000 digits."""
    if kind == "int":
        text = "9" * depth
    elif kind == "list":
        text = "[" * depth + "1" + "]" * depth
    else:
        text = '{"a": ' * depth + "1" + "}" * depth
    marker = "__DEEP__"
    doc = json.loads(json.dumps(DOC))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker
    raw = json.dumps(doc).replace(f'"{marker}"', text, 1).encode()
    load_bytes(tmp_path, zip_of({**MEMBERS, "project.json": raw}))
