#!/usr/bin/env bash
# Build MicroPython from the source fetched by fetch_micropython.sh:
#   build/bin/mpy-cross            the bytecode compiler
#   build/bin/micropython          the unix port (code imported from .py files)
#   build/bin/micropython-frozen   the unix port, 32-bit like the boards Sprig targets, with
#                                  Sprig frozen in (heap measurements, bench/)
#   build/firmware/firmware.elf    the mps2-an385 (Cortex-M3) QEMU firmware, Sprig frozen in
#   build/firmware/firmware-<N>k.elf  the same firmware with an N KiB heap (SPRIG_SMALL_HEAPS)
# Each product is rebuilt only when its inputs changed: the MicroPython source, the
# freeze manifest, the frozen Python, or this script. A second run does nothing.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src="$top/build/micropython-src"
bin="$top/build/bin"
fw="$top/build/firmware"
stamps="$top/build/stamps"
manifest="$top/firmware/manifest.py"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
mkdir -p "$bin" "$fw" "$stamps"
# One build at a time: tests and developers may call this script concurrently.
exec 9>"$stamps/.lock"
flock 9

if [ ! -f "$src/.sprig-source-version" ]; then
    echo "build_micropython: no MicroPython source in $src (run qemu/fetch_micropython.sh)" >&2
    exit 1
fi

# The source tree sits inside Sprig's checkout: stop git there, so MicroPython's
# version header says v1.25.0 instead of describing Sprig's own commits.
export GIT_CEILING_DIRECTORIES="$top/build"

# put_product SRC DST: copy a built binary into place by rename, so a running copy
# (a benchmark, a test) keeps its old file instead of "text file busy".
put_product() {
    cp "$1" "$2.tmp"
    mv -f "$2.tmp" "$2"
}

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

source_id=$(cat "$src/.sprig-source-version")
script_id=$(sha256sum < "$0" | cut -c1-16)
# Every Python file the manifest freezes, plus the manifest itself.
frozen_files=$(cd "$top" && find portable_core block_backend firmware -name '*.py' -type f | LC_ALL=C sort)
frozen_id=$(cd "$top" && hash_of $frozen_files)

# build_if_changed NAME KEY COMMAND...: run COMMAND unless the stamp NAME holds KEY.
build_if_changed() {
    local name=$1 key=$2
    shift 2
    if [ -f "$stamps/$name" ] && [ "$(cat "$stamps/$name")" = "$key" ]; then
        return 0
    fi
    echo "build_micropython: building $name" >&2
    local log="$stamps/$name.log"
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "build_micropython: building $name failed (whole log: $log)" >&2
        exit 1
    fi
    echo "$key" > "$stamps/$name"
}

build_mpy_cross() {
    make -C "$src/mpy-cross" -j"$jobs"
    put_product "$src/mpy-cross/build/mpy-cross" "$bin/mpy-cross"
}

unix_flags=(MICROPY_PY_FFI=0 MICROPY_PY_BTREE=0 MICROPY_PY_SSL=0)

build_unix() {
    make -C "$src/ports/unix" -j"$jobs" "${unix_flags[@]}" FROZEN_MANIFEST=
    put_product "$src/ports/unix/build-standard/micropython" "$bin/micropython"
}

build_unix_frozen() {
    make -C "$src/ports/unix" -j"$jobs" "${unix_flags[@]}" FROZEN_MANIFEST="$manifest" \
        BUILD=build-frozen32 MICROPY_FORCE_32BIT=1
    put_product "$src/ports/unix/build-frozen32/micropython" "$bin/micropython-frozen"
}

# build_firmware HEAP_BYTES OUT: the QEMU firmware with Sprig frozen in.
build_firmware() {
    local heap=$1 out=$2
    make -C "$src/ports/qemu" -j"$jobs" BOARD=MPS2_AN385 FROZEN_MANIFEST="$manifest" \
        MICROPY_HEAP_SIZE="$heap" BUILD="build-sprig-$heap"
    put_product "$src/ports/qemu/build-sprig-$heap/firmware.elf" "$out"
}

build_if_changed mpy-cross "$source_id $script_id" build_mpy_cross
build_if_changed unix "$source_id $script_id" build_unix
build_if_changed unix-frozen "$source_id $script_id $frozen_id" build_unix_frozen
build_if_changed firmware "$source_id $script_id $frozen_id" build_firmware 143360 "$fw/firmware.elf"
for kib in ${SPRIG_SMALL_HEAPS:-}; do
    build_if_changed "firmware-${kib}k" "$source_id $script_id $frozen_id" \
        build_firmware $((kib * 1024)) "$fw/firmware-${kib}k.elf"
done
exit 0
