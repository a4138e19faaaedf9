# Freeze manifest for Sprig's MicroPython images: the QEMU firmware and the frozen
# unix port (qemu/build_micropython.sh). Paths are relative to this file.
# Nothing here comes from micropython-lib: Debian's +ds source ships it empty.
package("portable_core", base_path="..")
package("block_backend", base_path="..")
module("sprig_agent.py")
