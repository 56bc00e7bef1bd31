"""Export to NumPy: every parameter and statistic by name, plus the project's settings as
JSON under "project.json"."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bpstudio.core import Sequential
from bpstudio.data.datasets import Dataset
from bpstudio.export.common import Exported, write_npz
from bpstudio.project import Project

LABEL = "NumPy arrays"
SUFFIX = ".npz"
DESCRIPTION = "Every weight by name, plus the project's settings"


def export(project: Project, net: Sequential, dataset: Dataset, out: Path) -> Exported:
    arrays = {**net.get_weights(), "project.json": np.array(json.dumps(project.to_json()))}
    write_npz(out, arrays)
    return Exported(out)
