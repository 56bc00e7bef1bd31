"""Autosave and crash recovery. No Qt: the window decides when to save and whether to offer a
recovery; this module writes the files and finds the ones a crashed session left.

Each open window autosaves to `<folder>/<token>.bpstudio` (atomically, as every save) with a
small `<token>.json` beside it: the process id, when, and the project's own file. A clean exit
removes both. At the next start, files whose process is no longer running are what a crash
(or kill -9, or a power cut) left behind, and can be recovered."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from bpstudio.project.fileformat import load_project, project_bytes, write_atomically
from bpstudio.project.model import Project, ProjectError

DEFAULT_INTERVAL = 60.0  # seconds between autosaves while something changes


@dataclass(frozen=True)
class Recovery:
    """An autosave left by a session that did not end cleanly."""

    path: Path  # the autosaved project
    meta: Path  # its sidecar
    name: str
    original: str | None  # the project's own file, if it had one
    saved_at: float  # Unix time
    steps: int

    def load(self) -> Project:
        return load_project(self.path)

    def discard(self):
        for path in (self.path, self.meta):
            path.unlink(missing_ok=True)


class Autosaver:
    """Autosaves for one window, under a token unique to this process and window."""

    def __init__(self, folder, token: str | None = None):
        self.folder = Path(folder)
        self.token = token or f"{os.getpid()}-{int(time.time() * 1000)}"
        self.path = self.folder / f"{self.token}.bpstudio"
        self.meta = self.folder / f"{self.token}.json"
        self.saved_at: float | None = None

    def save(self, project: Project, original=None, data: bytes | None = None):
        """Write the project (or `data`, its project_bytes() made earlier) and its sidecar;
        raises ProjectError on failure (the previous autosave stays)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot autosave in {self.folder}: {exc.strerror}") from None
        write_atomically(self.path, project_bytes(project) if data is None else data)
        self.saved_at = time.time()
        meta = {
            "pid": os.getpid(),
            "name": project.name,
            "original": None if original is None else str(original),
            "saved_at": self.saved_at,
            "steps": int(project.steps),
        }
        write_atomically(self.meta, json.dumps(meta).encode())

    def discard(self):
        """The session ended cleanly: nothing to recover."""
        for path in (self.path, self.meta):
            path.unlink(missing_ok=True)


def recoverable(folder) -> list[Recovery]:
    """Autosaves whose process is gone, newest first."""
    found = []
    for meta_path in sorted(Path(folder).glob("*.json")):
        try:
            meta = json.loads(meta_path.read_text())
            pid = int(meta["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or half written
        project_path = meta_path.with_suffix(".bpstudio")
        if _alive(pid) or not project_path.is_file():
            continue
        found.append(
            Recovery(
                project_path,
                meta_path,
                str(meta.get("name", project_path.stem)),
                meta.get("original"),
                float(meta.get("saved_at", project_path.stat().st_mtime)),
                int(meta.get("steps", 0)),
            )
        )
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
