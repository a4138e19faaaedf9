#!/usr/bin/env bash
# Fetch MicroPython's source from Debian's source package (pinned) into build/,
# through a private apt configuration: the system's apt sources stay untouched.
# Idempotent: does nothing when the unpacked tree is already there.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
pin="${MICROPYTHON_DEB_VERSION:-1.25.0+ds-1}"
upstream="${pin%%+*}"
src="$build/micropython-src"
stamp="$src/.sprig-source-version"
# Bump when the local adjustments below change: the tree is then unpacked again.
adjust=2
want="$pin adjust=$adjust"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

mkdir -p "$build/apt/parts" "$build/apt/lists/partial" "$build/apt/cache/archives/partial" "$build/downloads"

# Reuse the Debian mirror this machine's apt already uses; only the suite changes.
uri=""
if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources)
fi
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /:\/\//) {print $i; exit}}' /etc/apt/sources.list)
fi
if [ -z "$uri" ]; then
    echo "fetch_micropython: cannot find a Debian mirror in this machine's apt configuration" >&2
    exit 1
fi
printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
    > "$build/apt/parts/trixie.sources"

aptopts=(-o Dir::Etc::SourceList=/dev/null
         -o "Dir::Etc::SourceParts=$build/apt/parts"
         -o "Dir::State::Lists=$build/apt/lists"
         -o "Dir::Cache=$build/apt/cache"
         -o Debug::NoLocking=1
         -o APT::Sandbox::User=root)

echo "fetch_micropython: reading the trixie source lists (private apt configuration)" >&2
apt-get "${aptopts[@]}" -qq update

cd "$build/downloads"
if ! apt-get "${aptopts[@]}" -qq source --download-only "micropython=$pin"; then
    # A mirror keeps only the current revision: take it if its upstream version matches.
    current=$(apt-cache "${aptopts[@]}" showsrc micropython | awk '/^Version:/{print $2; exit}')
    if [ "${current%%+*}" != "$upstream" ]; then
        echo "fetch_micropython: micropython=$pin is gone from the mirror and its current revision ($current) is not upstream $upstream" >&2
        exit 1
    fi
    echo "fetch_micropython: $pin refused, using $current (same upstream $upstream)" >&2
    apt-get "${aptopts[@]}" -qq source --download-only "micropython=$current"
fi

orig=$(ls "$build/downloads"/micropython_"$upstream"*.orig.tar.xz | head -n 1)
rm -rf "$src.tmp"
mkdir -p "$src.tmp"
tar -xJf "$orig" -C "$src.tmp" --strip-components=1
# The +ds tarball ships lib/micropython-lib empty; the build only checks for this file.
mkdir -p "$src.tmp/lib/micropython-lib"
touch "$src.tmp/lib/micropython-lib/README.md"
# Sprig's one adjustment: double-precision floats on the Cortex-M3 firmware (soft
# float either way), so a float hashes the same on the host, the unix port and the
# device. The qemu port hard-codes single precision and its libm.
sed -i 's/MICROPY_FLOAT_IMPL_FLOAT)/MICROPY_FLOAT_IMPL_DOUBLE)/' "$src.tmp/ports/qemu/mpconfigport.h"
sed -i 's/(SRC_LIB_LIBM_C)/(SRC_LIB_LIBM_DBL_C)/; s/(SRC_LIB_LIBM_SQRT_SW_C)/(SRC_LIB_LIBM_DBL_SQRT_SW_C)/' "$src.tmp/ports/qemu/Makefile"
grep -q MICROPY_FLOAT_IMPL_DOUBLE "$src.tmp/ports/qemu/mpconfigport.h"
grep -q SRC_LIB_LIBM_DBL_C "$src.tmp/ports/qemu/Makefile"
echo "$want" > "$src.tmp/.sprig-source-version"
rm -rf "$src"
mv "$src.tmp" "$src"
echo "fetch_micropython: MicroPython $upstream source in $src" >&2
