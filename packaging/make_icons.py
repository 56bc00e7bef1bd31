"""Render resources/icons/bpstudio.svg to the PNG sizes Linux desktops use and to the .ico
(Windows) and .icns-ready PNGs (macOS) the installers need. The results are committed, so a
build does not need to run this; run it again after changing the SVG:

    QT_QPA_PLATFORM=offscreen python packaging/make_icons.py
"""

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "bpstudio.svg"))
    if not renderer.isValid():
        print("the SVG icon cannot be read", file=sys.stderr)
        return 1
    for size in SIZES:
        path = ICONS / f"bpstudio-{size}.png"
        if not render(renderer, size).save(str(path)):
            print(f"cannot write {path}", file=sys.stderr)
            return 1
    if not render(renderer, 256).save(str(ICONS / "bpstudio.ico"), "ICO"):
        print("this Qt has no ICO writer; bpstudio.ico not written", file=sys.stderr)
        return 1
    print(f"wrote {len(SIZES)} PNGs and bpstudio.ico in {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
