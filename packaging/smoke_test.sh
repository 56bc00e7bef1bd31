#!/usr/bin/env bash
# Prove the Debian package: install it (with its dependencies), run the installed
# `bpstudio screenshot` on a lesson offscreen, check the PNG is a real picture of the window,
# measure startup to the first painted window, then uninstall and check nothing is left.
#
#   bash packaging/smoke_test.sh [dist/bpstudio_VERSION_ARCH.deb]      (as root, or with sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
DEB=${1:-$(ls -t dist/bpstudio_*.deb | head -1)}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

echo "== install $DEB"
$SUDO apt-get install -y -qq "./$DEB" >/dev/null
test "$(command -v bpstudio)" = /usr/bin/bpstudio
test -f /usr/share/applications/bpstudio.desktop
test -f /usr/share/icons/hicolor/256x256/apps/bpstudio.png
bpstudio --version

echo "== the installed app renders a lesson"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
LESSON=$(bpstudio lessons | head -1 | awk '{print $NF}')
case "$LESSON" in /opt/bpstudio/*) ;; *) echo "FAIL: lesson not inside the bundle: $LESSON"; exit 1;; esac
HOME="$WORK" QT_QPA_PLATFORM=offscreen bpstudio screenshot "$LESSON" --out "$WORK/shot.png" \
    --epochs 3 --size 1200x800 2>/dev/null
python3 packaging/check_png.py "$WORK/shot.png" 1200 800
QT_QPA_PLATFORM=offscreen bpstudio export "$LESSON" --to npz --out "$WORK/w.npz" >/dev/null
# The scripts come from templates inside the bundle.
QT_QPA_PLATFORM=offscreen bpstudio export "$LESSON" --to pytorch --out "$WORK/net.py" >/dev/null
grep -q "class StudioNet(nn.Module)" "$WORK/net.py" || { echo "FAIL: no PyTorch script"; exit 1; }
# The compiled engine works from the bundle (numba's cache in the user's folder), twice: the
# second run loads it from that cache.
for run in first second; do
    TRAINED=$(HOME="$WORK" bpstudio train "$LESSON" --epochs 3 --quiet)
    echo "$run run: $TRAINED"
    case "$TRAINED" in *"engine compiled"*) ;; *) echo "FAIL: not on the compiled engine"; exit 1;; esac
done
test -n "$(find "$WORK/.cache/bpstudio/numba" -type f | head -1)" \
    || { echo "FAIL: no numba cache in the user's folder"; exit 1; }

echo "== startup to the first painted window (5 runs)"
times=()
for _ in 1 2 3 4 5; do
    start=$(date +%s.%N)
    painted=$(BPSTUDIO_STARTUP_PROBE=1 QT_QPA_PLATFORM=offscreen HOME="$WORK" bpstudio \
        | awk '/^first-paint/ {print $2}')
    times+=("$(echo "$painted - $start" | bc)")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "startup: median %.2f s (min %.2f, max %.2f) over %d runs\n", a[int((NR+1)/2)], a[1], a[NR], NR}'

echo "== uninstall"
$SUDO apt-get remove -y -qq bpstudio >/dev/null
for path in /opt/bpstudio /usr/bin/bpstudio /usr/share/applications/bpstudio.desktop \
    /usr/share/icons/hicolor/256x256/apps/bpstudio.png; do
    if [ -e "$path" ] || [ -L "$path" ]; then echo "FAIL: $path is left after uninstalling"; exit 1; fi
done
echo "smoke test passed"
