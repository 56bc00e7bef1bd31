#!/usr/bin/env bash
# Build Backprop Studio's PyInstaller one-folder bundle (dist/bpstudio/) and a Debian package
# (dist/bpstudio_VERSION_ARCH.deb) that installs it under /opt/bpstudio with a `bpstudio`
# command, a desktop entry, icons and the .bpstudio file type.
#
#   PYTHON=.venv/bin/python bash packaging/build.sh      (needs: pip install -e ".[dev]")
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VERSION=$("$PYTHON" -c "import bpstudio; print(bpstudio.__version__)")
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
START=$(date +%s.%N)

echo "== PyInstaller bundle (bpstudio $VERSION)"
rm -rf build/pyinstaller dist/bpstudio
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --workpath build/pyinstaller --distpath dist packaging/bpstudio.spec
test -x dist/bpstudio/bpstudio

echo "== Debian package"
PKG=build/deb/bpstudio
rm -rf build/deb
mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin" "$PKG/usr/share/applications" \
    "$PKG/usr/share/mime/packages" "$PKG/usr/share/icons/hicolor/scalable/apps"
cp -a dist/bpstudio "$PKG/opt/bpstudio"
ln -s /opt/bpstudio/bpstudio "$PKG/usr/bin/bpstudio"
cp packaging/linux/bpstudio.desktop "$PKG/usr/share/applications/"
cp packaging/linux/bpstudio-mime.xml "$PKG/usr/share/mime/packages/bpstudio.xml"
cp resources/icons/bpstudio.svg "$PKG/usr/share/icons/hicolor/scalable/apps/bpstudio.svg"
for size in 16 32 48 64 128 256 512; do
    dir="$PKG/usr/share/icons/hicolor/${size}x${size}/apps"
    mkdir -p "$dir"
    cp "resources/icons/bpstudio-$size.png" "$dir/bpstudio.png"
done
SIZE_KB=$(du -sk "$PKG" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE_KB/" \
    packaging/linux/control.in > "$PKG/DEBIAN/control"
DEB="dist/bpstudio_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zzstd --build "$PKG" "$DEB" >/dev/null
END=$(date +%s.%N)
echo "built dist/bpstudio/ ($(du -sh dist/bpstudio | cut -f1)) and $DEB ($(du -h "$DEB" | cut -f1))" \
    "in $(printf '%.1f' "$(echo "$END - $START" | bc)") s"
