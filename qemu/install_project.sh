#!/usr/bin/env bash
# pip install -e .[test] into $PYTHON, only when pyproject.toml changed, an import
# fails, or the installed project is another checkout.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
python="${PYTHON:-python3}"
stamp="$top/build/stamps/pip-install"
mkdir -p "$top/build/stamps"
key="$(command -v "$python") $(sha256sum "$top/pyproject.toml" | cut -c1-16)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] \
    && (cd /tmp && "$python" -c "
import sys, host_tools, portable_core, block_backend, cbor2, dulwich, serial, pytest, hypothesis
sys.exit(not host_tools.__file__.startswith(sys.argv[1] + '/'))" "$top") 2>/dev/null; then
    exit 0
fi
echo "install_project: pip install -e .[test]" >&2
"$python" -m pip install -q --disable-pip-version-check -e "$top[test]"
echo "$key" > "$stamp"
