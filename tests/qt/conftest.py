import pytest
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from bpstudio.qt import theme


@pytest.fixture(autouse=True)
def no_leaked_windows(qapp):
    """Fail a test that leaves a top-level window open (set up before qtbot, so this runs
    after qtbot has closed the widgets it was given)."""
    theme.configure()
    yield
    QApplication.processEvents()
    # The windows on screen, asked of the platform's live list (QWindow): walking every
    # top-level QWidget touched popups and title bars Qt had deleted meanwhile, and now and
    # then crashed a test's teardown.
    if not any(w.isVisible() for w in QApplication.topLevelWindows()):
        return
    leaked = [w for w in QApplication.topLevelWidgets() if shiboken6.isValid(w) and w.isVisible()]
    for w in leaked:
        w.close()
    assert not leaked, f"top-level windows left open: {leaked}"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings, monkeypatch, tmp_path):
    """A shown studio window on a project (default: the first lesson), ready to use."""
    from bpstudio.qt.window import StudioWindow

    # Closing with unsaved training asks; in tests the answer is "Discard" unless a test
    # says otherwise.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    windows = []

    def make(project=None, path=None):
        window = StudioWindow(project, path, settings=settings, autosave_dir=tmp_path / "autosave")
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.last_snapshot is not None, timeout=5000)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert window.session is None  # the worker was stopped and its thread ended
