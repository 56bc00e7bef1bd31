#!/usr/bin/env bash
# Backprop Studio for macOS: an .app bundle from the same PyInstaller spec, and a .dmg.
# Run on a Mac (Python 3.11 from python.org or Homebrew; Xcode command line tools):
#
#   python3 -m venv .venv && .venv/bin/pip install -e ".[dev]"
#   bash packaging/macos/build_dmg.sh
#
# It writes dist/Backprop Studio.app and dist/BackpropStudio-VERSION.dmg. To sign and
# notarize for other Macs, set CODESIGN_IDENTITY (a "Developer ID Application" identity) and
# NOTARY_PROFILE (made with `xcrun notarytool store-credentials`).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
VERSION=$("$PYTHON" -c "import bpstudio; print(bpstudio.__version__)")

# 1. The one-folder bundle, as on Linux.
"$PYTHON" -m PyInstaller --noconfirm --clean --workpath build/pyinstaller --distpath dist \
    packaging/bpstudio.spec

# 2. An .icns icon from the committed PNGs.
ICONSET=build/bpstudio.iconset
rm -rf "$ICONSET" && mkdir -p "$ICONSET"
for size in 16 32 128 256 512; do
    cp "resources/icons/bpstudio-$size.png" "$ICONSET/icon_${size}x${size}.png"
done
cp resources/icons/bpstudio-32.png "$ICONSET/icon_16x16@2x.png"
cp resources/icons/bpstudio-64.png "$ICONSET/icon_32x32@2x.png"
cp resources/icons/bpstudio-256.png "$ICONSET/icon_128x128@2x.png"
cp resources/icons/bpstudio-512.png "$ICONSET/icon_256x256@2x.png"
iconutil -c icns "$ICONSET" -o build/bpstudio.icns

# 3. The .app: the bundle in Contents/MacOS, an Info.plist, the icon.
APP="dist/Backprop Studio.app"
rm -rf "$APP"
mkdir -p "$APP/Contents/MacOS" "$APP/Contents/Resources"
cp -R dist/bpstudio/. "$APP/Contents/MacOS/"
cp build/bpstudio.icns "$APP/Contents/Resources/"
sed "s/@VERSION@/$VERSION/g" packaging/macos/Info.plist > "$APP/Contents/Info.plist"
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --deep --force --options runtime --sign "$CODESIGN_IDENTITY" "$APP"
fi

# 4. The disk image, with a link to /Applications to drag onto.
STAGE=build/dmg
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
DMG="dist/BackpropStudio-$VERSION.dmg"
hdiutil create -volname "Backprop Studio" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
if [ -n "${NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
fi
echo "wrote $APP and $DMG"
