"""Hostile project files get one line, never a traceback: a corrupt LZMA member, an encrypted
member inside an .npz, an .npy header claiming terabytes, JSON nested 1,000 deep, an integer
of 5,000 digits."""

import io
import json
import re
import struct
import zipfile

import pytest

from bpstudio.lessons.catalog import first_network
from bpstudio.project import ProjectError, load_project, project_bytes


@pytest.fixture(scope="module")
def members():
    project = first_network()
    trainer = project.make_trainer()
    trainer.fit(steps=5)
    project.capture(trainer)
    with zipfile.ZipFile(io.BytesIO(project_bytes(project))) as z:
        return {name: z.read(name) for name in z.namelist()}


def zipped(members, lzma=()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            method = zipfile.ZIP_LZMA if name in lzma else zipfile.ZIP_DEFLATED
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


def corrupt_lzma(members) -> bytes:
    raw = bytearray(zipped(members, lzma=("weights.npz",)))
    at = raw.find(b"weights.npz") + 60
    raw[at : at + 40] = b"\x00" * 40
    return bytes(raw)


def huge_npy_header(members) -> bytes:
    npz = zipfile.ZipFile(io.BytesIO(members["weights.npz"]))
    arrays = {name: npz.read(name) for name in npz.namelist()}
    first = next(iter(arrays))
    data = arrays[first]
    length = struct.unpack("<H", data[8:10])[0]
    header = data[10 : 10 + length].decode("latin1")
    header = re.sub(r"'shape': \([^)]*\)", "'shape': (4000000, 4000000)", header)
    arrays[first] = data[:10] + header.ljust(length)[:length].encode("latin1") + data[10 + length :]
    return zipped({**members, "weights.npz": zipped(arrays)})


def deep_json(members) -> bytes:
    text = members["project.json"].decode()
    deep = '{"a": ' * 1000 + "1" + "}" * 1000
    text = text.replace('"description"', f'"deep": {deep}, "description"', 1)
    return zipped({**members, "project.json": text.encode()})


def counter_of_309_digits(members) -> bytes:
    """An integer that passes the schema and overflowed Adam's arithmetic at the first step
    (found by the fuzz tests)."""
    text = members["project.json"].decode()
    text = re.sub(r'"steps": \d+', '"steps": ' + "9" * 309, text, count=1)
    return zipped({**members, "project.json": text.encode()})


def big_int(members) -> bytes:
    text = members["project.json"].decode()
    text = re.sub(r'"seed": \d+', '"seed": ' + "9" * 5000, text, count=1)
    return zipped({**members, "project.json": text.encode()})


def encrypted_npz_member(members) -> bytes:
    npz = bytearray(members["weights.npz"])
    npz[npz.find(b"PK\x03\x04") + 6] |= 1  # the "encrypted" flag, local header
    npz[npz.find(b"PK\x01\x02") + 8] |= 1  # and central directory
    return zipped({**members, "weights.npz": bytes(npz)})


@pytest.mark.parametrize(
    "make",
    [
        corrupt_lzma,
        huge_npy_header,
        deep_json,
        counter_of_309_digits,
        big_int,
        encrypted_npz_member,
    ],
)
def test_a_hostile_file_gets_one_line(members, tmp_path, make):
    path = tmp_path / f"{make.__name__}.bpstudio"
    path.write_bytes(make(members))
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    message = str(caught.value)
    assert message.startswith(path.name) and "\n" not in message and len(message) <= 300


def test_json_nested_too_deep_is_refused_before_the_schema_recurses_into_it(members, tmp_path):
    # (JSON a few hundred levels deep loaded, then the schema check's messages recursed out
    # of the stack under hypothesis: found by tests/test_fuzz.py)
    doc = json.loads(members["project.json"])
    doc["description"] = "__DEEP__"
    text = json.dumps(doc).replace('"__DEEP__"', "[" * 600 + "1" + "]" * 600)
    path = tmp_path / "deep.bpstudio"
    path.write_bytes(zipped({**members, "project.json": text.encode()}))
    with pytest.raises(ProjectError, match="project.json is nested 601 levels deep; a project is"):
        load_project(path)
