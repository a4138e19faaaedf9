#!/usr/bin/env bash
# Install the Debian packages Sprig's build and tests need, only when one is missing.
set -euo pipefail

# gcc-multilib: the 32-bit frozen unix port used to measure heap bounds (bench/).
packages=(qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi xz-utils build-essential git gcc-multilib)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "setup_host: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
fi
echo "setup_host: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
