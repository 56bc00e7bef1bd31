"""The project file (*.bpstudio): one zip a user can mail to a colleague.

Members: project.json (settings; see resources/project.schema.json and
docs/project-format.md), and optional NumPy members weights.npz (current weights),
history.npz (the runs' recorded series), runs.npz (each run's final weights) and data.npz
(imported CSV data). Written deterministically (fixed timestamps and order) and atomically;
read without pickle, with every member's name and size checked before anything is
decompressed.
"""

from __future__ import annotations

import io
import json
import lzma
import os
import re
import stat
import tempfile
import urllib.parse
import zipfile
import zlib
from pathlib import Path

import jsonschema
import numpy as np

from bpstudio._resources import resource_path
from bpstudio.core.model import DEAD_WINDOW
from bpstudio.data.csvdata import CsvTable
from bpstudio.data.datasets import DatasetError, DatasetRecipe
from bpstudio.project.model import FORMAT_VERSION, Project, ProjectError, RunRecord
from bpstudio.training.history import EPOCH_COLUMNS, RunHistory, Series

SUFFIX = ".bpstudio"
#: The members a project may have, with the most each may hold once decompressed.
MEMBER_LIMITS = {
    "project.json": 4 * 2**20,
    "weights.npz": 200 * 2**20,
    "history.npz": 200 * 2**20,
    "runs.npz": 400 * 2**20,
    "data.npz": 200 * 2**20,
    "progress.npz": 400 * 2**20,
}
MAX_ARRAYS = 2000
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: Array names as stored: percent-encoded (any layer name round-trips), "/" between parts.
_ARRAY_NAME = re.compile(r"^[A-Za-z0-9_%\-][A-Za-z0-9_.%\-/]{0,1000}$")


# ---------------------------------------------------------------------- writing


def npz_bytes(arrays: dict) -> bytes:
    """An .npz written deterministically (fixed timestamps, given order), never pickled."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{_stored(name)}.npy", date_time=_ZIP_TIME)
            with z.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _stored(name: str) -> str:
    """An array name as a member name: every character but letters, digits, "_", "-" and
    the "/" between parts percent-encoded ("." too, so that no name holds "..")."""
    return urllib.parse.quote(name, safe="/").replace(".", "%2E")


def project_bytes(project: Project) -> bytes:
    """The complete .bpstudio file for a project."""
    members = {
        "project.json": json.dumps(project.to_json(), indent=1, ensure_ascii=False).encode("utf-8")
    }
    if project.weights is not None:
        members["weights.npz"] = npz_bytes(project.weights)
    if project.runs:
        arrays = {}
        for run in project.runs:
            arrays.update(run.history.steps.to_arrays(f"run{run.id}/step_"))
            arrays.update(run.history.epochs.to_arrays(f"run{run.id}/epoch_"))
        members["history.npz"] = npz_bytes(arrays)
        final = {
            f"run{run.id}/{name}": array
            for run in project.runs
            if run.weights is not None
            for name, array in run.weights.items()
        }
        if final:
            members["runs.npz"] = npz_bytes(final)
    if project.progress is not None and project.weights is not None:
        members["progress.npz"] = npz_bytes(project.progress_arrays or {})
    if project.table is not None:
        members["data.npz"] = npz_bytes({"X": project.table.X, "y": project.table.y})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def save_project(project: Project, path) -> Path:
    """Write atomically: to a temporary file beside `path`, then replace. On any failure the
    previous file is untouched and a ProjectError says what went wrong."""
    path = Path(path)
    write_atomically(path, project_bytes(project))
    return path


def write_atomically(path: Path, data: bytes):
    """Write `data` to a temporary file beside `path`, flush it to disk, then replace `path`
    with it: `path` is the old file or the new one, never half of either."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        if hasattr(os, "fchmod"):  # mkstemp makes it private (0600): give it the usual mode
            os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        reason = exc.strerror or str(exc)
        raise ProjectError(
            f"could not save {path.name}: {reason}; the previous file is untouched"
        ) from None
    except BaseException:  # interrupted mid-write: no half file left behind
        _remove(tmp)
        raise


def _mode_for(path: Path) -> int:
    """The mode a file written at `path` gets: the one it has, or what the umask allows."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove(tmp):
    if tmp is not None and os.path.exists(tmp):
        os.unlink(tmp)


# ---------------------------------------------------------------------- reading


def _schema():
    return json.loads(resource_path("project.schema.json").read_text("utf-8"))


def _check_members(z: zipfile.ZipFile, label: str) -> dict:
    infos = z.infolist()
    if len(infos) > len(MEMBER_LIMITS):
        raise ProjectError(
            f"{label}: {len(infos)} members; a project has at most {len(MEMBER_LIMITS)}"
        )
    members = {}
    for info in infos:
        if info.filename not in MEMBER_LIMITS:
            raise ProjectError(
                f"{label}: unexpected member {info.filename[:80]!r}; a project "
                f"holds only {', '.join(MEMBER_LIMITS)}"
            )
        if info.file_size > MEMBER_LIMITS[info.filename]:
            raise ProjectError(
                f"{label}: member {info.filename} would be "
                f"{info.file_size / 2**20:.0f} MB; the limit is "
                f"{MEMBER_LIMITS[info.filename] // 2**20} MB"
            )
        members[info.filename] = info
    if "project.json" not in members:
        raise ProjectError(f"{label}: project.json is missing; this is not a project file")
    return members


def _read_npz(data: bytes, label: str) -> dict[str, np.ndarray]:
    """Arrays from .npz bytes: names checked, each header read and its size checked before
    the data is, and no pickle."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ProjectError(f"{label}: not a NumPy .npz archive ({exc})") from None
    if len(infos) > MAX_ARRAYS:
        raise ProjectError(f"{label}: {len(infos)} arrays; the limit is {MAX_ARRAYS}")
    arrays = {}
    for info in infos:
        name = info.filename[:-4] if info.filename.endswith(".npy") else None
        if name is None or not _ARRAY_NAME.match(name) or ".." in name:
            raise ProjectError(f"{label}: bad array name {info.filename[:80]!r}")
        name = urllib.parse.unquote(name)
        try:
            with z.open(info) as f:
                version = np.lib.format.read_magic(f)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(f)
            if dtype.hasobject or dtype.kind not in "biuf":
                raise ProjectError(
                    f"{label}: array {name!r} has type {dtype}; only numbers are allowed"
                )
            if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > info.file_size:
                raise ProjectError(
                    f"{label}: array {name!r} claims shape {shape} but its "
                    f"member is only {info.file_size} bytes"
                )
            with z.open(info) as f:
                arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
        except ProjectError:
            raise
        except (KeyError, *_DAMAGED) as exc:
            raise ProjectError(f"{label}: array {name!r} cannot be read ({exc})") from None
    return arrays


#: What a damaged zip or .npz member raises while it is read: a broken or unsupported
#: compression (deflate, LZMA), an encrypted member, a truncated file.
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    ValueError,
    OSError,
    NotImplementedError,
    RuntimeError,
)


def load_project(path) -> Project:
    """Read and check a .bpstudio file. Raises ProjectError saying what is wrong and where;
    nothing else is touched."""
    path = Path(path)
    label = path.name
    try:
        with zipfile.ZipFile(path) as z:
            members = _check_members(z, label)
            raw = {name: z.read(info) for name, info in members.items()}
    except ProjectError:
        raise
    except FileNotFoundError:
        raise ProjectError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise ProjectError(f"{label}: is a folder, not a project file") from None
    except OSError as exc:
        raise ProjectError(f"{label}: cannot read it ({exc.strerror or exc})") from None
    except _DAMAGED as exc:
        raise ProjectError(
            f"{label}: not a readable project file (damaged or not a zip: {exc})"
        ) from None
    return project_from_members(raw, label)


#: How deep project.json may nest (the lessons: 6 to 8 levels; JSON nested 900 deep loaded,
#: and the schema check then failed with a RecursionError).
MAX_JSON_DEPTH = 32


#: The largest whole number project.json may hold (steps, seeds, counters; the random
#: generators' 128-bit states aside): a float still holds it exactly.
MAX_JSON_INT = 2**53


def _shape(doc) -> tuple[int, str | None]:
    """How deeply `doc` nests lists and objects, and where (if anywhere) it holds a whole
    number beyond MAX_JSON_INT; found without recursion."""
    deepest, huge, stack = 0, None, [(doc, 1, "the top level")]
    while stack:
        node, level, where = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, level)
            stack.extend(
                (v, level + 1, f"{where}/{k}".removeprefix("the top level/"))
                for k, v in node.items()
            )
        elif isinstance(node, list):
            deepest = max(deepest, level)
            stack.extend(
                (v, level + 1, f"{where}/{i}".removeprefix("the top level/"))
                for i, v in enumerate(node)
            )
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_JSON_INT:
            if "rng/" not in where:  # a random generator's state is 128-bit by design
                huge = huge or where
    return deepest, huge


def project_from_members(raw: dict[str, bytes], label: str) -> Project:
    try:
        doc = json.loads(raw["project.json"].decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, absurd nesting or numbers
        raise ProjectError(f"{label}: project.json is not valid JSON ({exc})") from None
    depth, huge = _shape(doc)
    if depth > MAX_JSON_DEPTH:  # the schema's checks and messages recurse as deep
        raise ProjectError(
            f"{label}: project.json is nested {depth} levels deep; a project is at most "
            f"{MAX_JSON_DEPTH}"
        )
    if huge is not None:  # a counter of 300 digits overflowed Adam's float arithmetic
        raise ProjectError(
            f"{label}: project.json at {huge}: a whole number of more than 15 digits; "
            f"the largest a project holds is {MAX_JSON_INT:,}"
        )
    if isinstance(doc, dict) and doc.get("format_version") not in (None, FORMAT_VERSION):
        raise ProjectError(
            f"{label}: format_version {doc.get('format_version')!r} is not "
            f"supported; this version of Backprop Studio reads version "
            f"{FORMAT_VERSION} (is the file from a newer version?)"
        )
    errors = sorted(
        jsonschema.Draft202012Validator(_schema()).iter_errors(doc),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "the top level"
        raise ProjectError(f"{label}: project.json at {where}: {_short(e.message)}")
    arrays = {
        name: _read_npz(raw[name], f"{label}: {name}")
        for name in ("weights.npz", "history.npz", "runs.npz", "data.npz", "progress.npz")
        if name in raw
    }
    try:
        return _project_from(doc, arrays, label)
    except (ValueError, TypeError, KeyError) as exc:
        raise ProjectError(f"{label}: {exc}") from None


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:200] + "…"


def _project_from(doc: dict, arrays: dict, label: str) -> Project:
    d = dict(doc["dataset"])
    csv = d.pop("csv", None)
    try:
        recipe = DatasetRecipe.from_dict(d)
    except DatasetError as exc:
        raise ProjectError(f"{label}: project.json at dataset: {exc}") from None
    table = None
    if recipe.name == "csv":
        data = arrays.get("data.npz")
        if csv is None or data is None or set(data) != {"X", "y"}:
            raise ProjectError(
                f"{label}: the dataset is imported CSV data, but data.npz or dataset/csv is missing"
            )
        X, y = data["X"], data["y"]
        if X.ndim != 2 or y.shape != (len(X),) or X.shape[1] != len(csv["feature_names"]):
            raise ProjectError(f"{label}: data.npz does not match dataset/csv")
        if csv["task"] == "classification":
            n = len(csv.get("class_names", []))
            if y.dtype.kind not in "iu" or (len(y) and (y.min() < 0 or y.max() >= n)):
                raise ProjectError(f"{label}: data.npz: class labels must be 0..{n - 1}")
        table = CsvTable(
            X.astype(np.float64),
            y,
            tuple(csv["feature_names"]),
            csv["target"],
            csv["task"],
            tuple(csv.get("class_names", ())),
            csv["standardize"],
            csv.get("source", ""),
        )
    network, training = doc["network"], doc["training"]
    state = doc.get("state", {})
    project = Project(
        dataset=recipe,
        layers=network["layers"],
        optimizer=training["optimizer"],
        loss=training["loss"],
        batch_size=training["batch_size"],
        epochs=training.get("epochs", 100),
        stop=training.get("stop"),
        seed=doc["seed"],
        name=doc["name"],
        description=doc.get("description", ""),
        dtype=network.get("dtype", "float64"),
        dead_window=network.get("dead_window", DEAD_WINDOW),
        table=table,
        weights=arrays.get("weights.npz"),
        steps=state.get("steps", 0),
        epoch=state.get("epoch", 0),
        progress=state.get("progress"),
        current_run=state.get("current_run"),
        progress_arrays=arrays.get("progress.npz"),
        lesson=doc.get("lesson"),
        classroom=doc.get("classroom"),
        view=doc.get("view"),
    )
    history = arrays.get("history.npz", {})
    final = arrays.get("runs.npz", {})
    for meta in doc.get("runs", []):
        run = _run_from(meta, history, label)
        prefix = f"run{run.id}/"
        weights = {k[len(prefix) :]: v for k, v in final.items() if k.startswith(prefix)}
        run.weights = weights or None
        project.runs.append(run)
    # Build once now, so that anything that does not fit together is found at load time (with
    # saved progress, the trainer too: it must fit the network and the data).
    try:
        project.make_trainer() if project.progress is not None else project.build_network()
    except ProjectError as exc:
        raise ProjectError(f"{label}: {exc}") from None
    return project


def _run_from(meta, history, label) -> RunRecord:
    rid = meta["id"]
    run = RunHistory(meta["step_columns"])
    for kind, columns, stride in (
        ("step", meta["step_columns"], meta.get("stride", 1)),
        ("epoch", EPOCH_COLUMNS, meta.get("epoch_stride", 1)),
    ):
        steps = history.get(f"run{rid}/{kind}_steps")
        values = history.get(f"run{rid}/{kind}_values")
        if steps is None or values is None:
            raise ProjectError(f"{label}: history.npz has no {kind} series for run {rid}")
        if steps.ndim != 1 or values.shape != (len(steps), len(columns)):
            raise ProjectError(
                f"{label}: history.npz: run {rid}'s {kind} series has shape "
                f"{values.shape}, expected ({len(steps)}, {len(columns)})"
            )
        series = Series.from_arrays(columns, steps, values, stride=stride)
        if kind == "step":
            run.steps = series
        else:
            run.epochs = series
    run.events = [(int(s), str(t)) for s, t in meta.get("events", [])]
    return RunRecord(
        rid, run, meta.get("name", ""), meta.get("settings", {}), data=meta.get("data")
    )
