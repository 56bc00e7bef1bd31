"""Where the shipped resources (sample data, lessons, icons) are.

In a wheel or an installer they sit inside the package (bpstudio/resources); in a source
checkout or an editable install they sit beside it, at the repository root."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(*parts: str) -> Path:
    packaged = Path(str(resources.files("bpstudio"))) / "resources"
    root = packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "resources"
    return root.joinpath(*parts)


def tutorials_path() -> Path:
    """The tutorials (Markdown and pictures): shipped inside the package, or docs/tutorials in
    a source checkout."""
    packaged = resource_path("tutorials")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "docs" / "tutorials"
