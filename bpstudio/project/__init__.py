"""The project: the model of an open piece of work (data recipe, network, training settings,
runs), its file format, network editing and autosave. Above training; never Qt."""

from bpstudio.project.fileformat import (
    SUFFIX,
    load_project,
    project_bytes,
    project_from_members,
    save_project,
    write_atomically,
)
from bpstudio.project.model import FORMAT_VERSION, Project, ProjectError, RunRecord

__all__ = [
    "FORMAT_VERSION",
    "SUFFIX",
    "Project",
    "ProjectError",
    "RunRecord",
    "load_project",
    "project_bytes",
    "project_from_members",
    "save_project",
    "write_atomically",
]
