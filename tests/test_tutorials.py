"""The tutorials' pictures come from a script; CI regenerates one tutorial to prove it works,
and every picture the tutorials show exists."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / "docs" / "tutorials"


def test_every_picture_a_tutorial_shows_is_made_by_the_script():
    sys.path.insert(0, str(TUTORIALS))
    try:
        import make_screenshots
    finally:
        sys.path.remove(str(TUTORIALS))
    made = {f"images/{shot.name}.png" for shot in make_screenshots.SHOTS}
    shown = set()
    for page in TUTORIALS.glob("*.md"):
        shown |= set(re.findall(r"\]\((images/[^)]+\.png)\)", page.read_text()))
    assert shown <= made, f"pictures no script makes: {sorted(shown - made)}"
    assert all((TUTORIALS / name).is_file() for name in shown)
    assert {s.tutorial for s in make_screenshots.SHOTS} == {
        p.stem for p in TUTORIALS.glob("*.md") if p.stem != "README"
    }


def test_one_tutorial_regenerates(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            str(TUTORIALS / "make_screenshots.py"),
            *("--only", "lesson-4-dead-relu", "--out", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    from PySide6.QtGui import QImage

    pictures = sorted(tmp_path.glob("*.png"))
    assert [p.name for p in pictures] == [
        "l4-1-broken.png",
        "l4-2-dead-units.png",
        "l4-3-lower-rate.png",
    ]
    window = QImage(str(pictures[0]))
    assert (window.width(), window.height()) == (1280, 720)
