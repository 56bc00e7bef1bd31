"""The README's Python examples run as written (in a scratch folder beside the resources)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path, monkeypatch):
    (tmp_path / "resources").symlink_to(ROOT / "resources")
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"README.md block {index + 1}", "exec"), {})


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2
