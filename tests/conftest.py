import os

# Qt must never need a screen in tests; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from bpstudio.compiled import engine


@pytest.fixture(autouse=True)
def runs_wait_for_the_compiled_engine(monkeypatch):
    """Every run here waits for the compiled engine where it would use it, as the command
    line does: which engine a run takes must not depend on how fast the compile was (the
    window's start on NumPy meanwhile is tested on its own, with this undone)."""
    monkeypatch.setattr(engine, "_waiting", True)
    monkeypatch.setattr(engine, "set_waiting", lambda wait: None)
