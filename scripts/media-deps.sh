#!/usr/bin/env bash
# Installs what oxrtc-media's codec and capture features and its file tests need, from
# Debian: libopus (feature `opus`), libvpx (`vpx`), libdav1d (`av1`), libasound
# (`alsa`, audio capture), nasm
# (openh264's bundled source, feature `h264`, builds faster with it),
# pkg-config, and ffmpeg/ffprobe (a test tool only: the tests check that
# ffmpeg reads what we write and that we read what it writes).
set -euo pipefail
packages=(libopus-dev libvpx-dev libdav1d-dev libasound2-dev nasm pkg-config ffmpeg)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
fi
