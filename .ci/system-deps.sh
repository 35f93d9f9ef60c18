#!/usr/bin/env sh
# Checks the Debian shared libraries Qt needs, and dbus-daemon for the Bluetooth tests. As
# root with apt-get it installs what is missing; otherwise it stops and names the packages.
#   .ci/system-deps.sh headless   what the test suite needs (offscreen Qt)
#   .ci/system-deps.sh gui        the same plus the X11 (xcb) platform plugin's libraries
set -eu
mode=${1:-headless}

# soname:package pairs for the offscreen platform (QtGui, QtWidgets, fonts) and for
# QtMultimedia, which plays the alarm tones (it loads libpulse even with no sound server).
base="libEGL.so.1:libegl1 libGL.so.1:libgl1 libOpenGL.so.0:libopengl0
libfontconfig.so.1:libfontconfig1 libfreetype.so.6:libfreetype6 libxkbcommon.so.0:libxkbcommon0
libglib-2.0.so.0:libglib2.0-0 libdbus-1.so.3:libdbus-1-3 libX11.so.6:libx11-6 libxcb.so.1:libxcb1
libpulse.so.0:libpulse0"
# The xcb platform plugin, for a window on an X11 desktop.
gui="libX11-xcb.so.1:libx11-xcb1 libxkbcommon-x11.so.0:libxkbcommon-x11-0
libxcb-cursor.so.0:libxcb-cursor0 libxcb-icccm.so.4:libxcb-icccm4 libxcb-image.so.0:libxcb-image0
libxcb-keysyms.so.1:libxcb-keysyms1 libxcb-randr.so.0:libxcb-randr0
libxcb-render-util.so.0:libxcb-render-util0 libxcb-shape.so.0:libxcb-shape0
libxcb-xkb.so.1:libxcb-xkb1 libxcb-util.so.1:libxcb-util1"

pairs=$base
[ "$mode" = gui ] && pairs="$base $gui"

# Programs (not libraries): the Bluetooth tests run bleak against a fake BlueZ on a private
# D-Bus, which needs dbus-daemon.
programs="dbus-daemon:dbus"

[ "$(uname -s)" = Linux ] || exit 0
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
known=$("$ldconfig" -p 2>/dev/null || true)

missing=""
for pair in $pairs; do
    so=${pair%%:*}
    pkg=${pair#*:}
    printf '%s\n' "$known" | grep -q "[[:space:]]$so " || missing="$missing $pkg"
done
if [ "$mode" = headless ]; then
    for pair in $programs; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
    done
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing the Debian packages Qt and the tests need:$missing"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
    exit 0
fi
echo "Qt and the tests need these Debian packages, which are missing:$missing" >&2
echo "Install them with: sudo apt-get install$missing" >&2
exit 1
