"""Boot Sprig's MicroPython firmware on QEMU's mps2-an385 board and talk to its console.

``QemuDevice`` starts ``qemu-system-arm`` with the firmware, the console UART on a
pipe, optionally UART1 on a TCP port, the PSRAM at 0x21000000 filled from a flash
image, and QEMU's monitor on a unix socket (to save the flash or cut the power).
Code runs on the device through MicroPython's raw REPL, as mpremote does on boards.

Every started QEMU is killed when its device is closed, when the Python process
exits, or when the harness asks (``kill_all``): no emulator is ever left behind.
"""

import atexit
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FIRMWARE = os.path.join(TOP, "build", "firmware", "firmware.elf")
PSRAM_BASE = 0x21000000

RAW_REPL_BANNER = b"raw REPL; CTRL-B to exit\r\n>"

_live = set()


class EmulatorError(RuntimeError):
    """QEMU or the firmware is missing, or the device did not answer as expected."""


class DeviceTimeout(EmulatorError):
    """The device did not finish within the allowed time; ``output`` holds what it said."""

    def __init__(self, message, output=b""):
        EmulatorError.__init__(self, message)
        self.output = output


def qemu_binary():
    """Return the path of qemu-system-arm (``$SPRIG_QEMU`` overrides); EmulatorError if absent."""
    name = os.environ.get("SPRIG_QEMU", "qemu-system-arm")
    path = shutil.which(name)
    if path is None:
        raise EmulatorError(
            "QEMU not found (%s): run `make setup`, which installs Debian's qemu-system-arm" % name
        )
    return path


def firmware_path():
    """Return the firmware ELF (``$SPRIG_FIRMWARE`` overrides); EmulatorError if absent."""
    path = os.environ.get("SPRIG_FIRMWARE", DEFAULT_FIRMWARE)
    if not os.path.isfile(path):
        raise EmulatorError(
            "MicroPython firmware not found at %s: run `make setup` to build it" % path
        )
    return path


def kill_all():
    """Kill every QEMU this process started and has not closed yet."""
    for device in list(_live):
        device.kill()


atexit.register(kill_all)


class QemuDevice:
    """One emulated mps2-an385 board running Sprig's firmware.

    ``flash_image``: a file loaded into PSRAM at boot (the device's flash).
    ``uart1_port``: a TCP port for UART1 (binary-safe link for the sync protocol).
    Use as a context manager, or call ``close()``.
    """

    def __init__(self, firmware=None, flash_image=None, uart1_port=None, extra_args=()):
        self.qemu = qemu_binary()
        self.firmware = firmware or firmware_path()
        if not os.path.isfile(self.firmware):
            raise EmulatorError("MicroPython firmware not found at %s" % self.firmware)
        self.flash_image = flash_image
        self.uart1_port = uart1_port
        self.extra_args = list(extra_args)
        self.proc = None
        self._tmpdir = tempfile.mkdtemp(prefix="sprig-qemu-")
        self.monitor_path = os.path.join(self._tmpdir, "monitor.sock")
        self._buf = b""

    # -- life cycle -------------------------------------------------------------

    def command(self):
        """Return the qemu-system-arm command line for this device."""
        cmd = [
            self.qemu,
            "-machine", "mps2-an385",
            "-display", "none",
            "-semihosting",
            "-monitor", "unix:%s,server,nowait" % self.monitor_path,
            "-serial", "stdio",
        ]
        if self.uart1_port is not None:
            cmd += ["-serial", "tcp:127.0.0.1:%d,server,nowait" % self.uart1_port]
        if self.flash_image is not None:
            cmd += [
                "-device",
                "loader,file=%s,addr=0x%08x,force-raw=on" % (self.flash_image, PSRAM_BASE),
            ]
        cmd += ["-kernel", self.firmware] + self.extra_args
        return cmd

    def start(self, timeout=20.0):
        """Boot the board and wait for the REPL prompt; return the boot banner (bytes).

        Starting a board that is already running is an error: it would leave the
        first QEMU behind."""
        if self.alive():
            raise EmulatorError("this device is already running (pid %d)" % self.proc.pid)
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _live.add(self)
        try:
            return self.read_until(b">>> ", timeout)
        except Exception:
            self.kill()
            raise

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def pid(self):
        """The QEMU process id (None before start)."""
        return None if self.proc is None else self.proc.pid

    def alive(self):
        """Return True while QEMU runs."""
        return self.proc is not None and self.proc.poll() is None

    def close(self, timeout=5.0):
        """Shut the board down cleanly (``machine.reset()`` exits QEMU), else kill it."""
        if self.alive():
            try:
                self._write(b"\x03\x03\x02\r")  # interrupt, leave raw REPL
                self._write(b"import machine; machine.reset()\r")
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self):
        """Kill QEMU now (the whole process group) and reap it."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        _live.discard(self)
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    # -- console ---------------------------------------------------------------

    def _write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_until(self, marker, timeout, on_data=None):
        """Read console output up to and including ``marker``; return it (bytes).

        ``on_data(chunk)`` sees output as it arrives. Raises DeviceTimeout (with the
        output so far) when ``timeout`` seconds pass, EmulatorError if QEMU exits.
        """
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while marker not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                out, self._buf = self._buf, b""
                raise DeviceTimeout("device timed out after %.0f s" % timeout, out)
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                out, self._buf = self._buf, b""
                raise EmulatorError(
                    "QEMU exited (status %s); output:\n%s"
                    % (self.proc.wait(), out.decode("utf-8", "replace"))
                )
            if on_data is not None:
                on_data(chunk)
            self._buf += chunk
        i = self._buf.index(marker) + len(marker)
        out, self._buf = self._buf[:i], self._buf[i:]
        return out

    def drain(self, timeout=0.2):
        """Return whatever console output arrives within ``timeout`` seconds."""
        try:
            self.read_until(b"\x00\x00never\x00\x00", timeout)
        except DeviceTimeout as exc:
            return exc.output
        return b""

    def enter_raw_repl(self, timeout=10.0):
        """Switch the console to MicroPython's raw REPL."""
        self._write(b"\r\x03\x03")
        self._write(b"\r\x01")
        self.read_until(RAW_REPL_BANNER, timeout)

    def exec_raw_start(self, code, timeout=10.0):
        """Send ``code`` to the raw REPL and return once the device accepted it; its
        output then arrives through ``read_until`` (ending in ``\x04...\x04>``)."""
        if isinstance(code, str):
            code = code.encode("utf-8")
        self._write(code + b"\x04")
        head = self.read_until(b"OK", timeout)
        if not head.endswith(b"OK"):
            raise EmulatorError("raw REPL did not accept the code: %r" % head)

    def exec_raw(self, code, timeout=60.0, on_data=None):
        """Run ``code`` (str or bytes) in the raw REPL; return ``(stdout, stderr)`` bytes.

        The console must be in the raw REPL (``enter_raw_repl``); it stays there.
        """
        self.exec_raw_start(code, timeout)
        out = self.read_until(b"\x04", timeout, on_data)[:-1]
        err = self.read_until(b"\x04", timeout)[:-1]
        self.read_until(b">", timeout)
        return out, err

    def run(self, code, timeout=60.0):
        """Run ``code`` on the device; return its stdout (str); EmulatorError on an exception."""
        if not self._in_raw:
            self.enter_raw_repl()
            self._in_raw = True
        out, err = self.exec_raw(code, timeout)
        if err:
            raise EmulatorError("device raised:\n" + err.decode("utf-8", "replace"))
        return out.decode("utf-8", "replace")

    _in_raw = False

    # -- monitor -----------------------------------------------------------------

    def monitor(self, command, timeout=10.0):
        """Send one command to QEMU's monitor and return its reply (str)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.monitor_path)
            reply = b""
            while not reply.endswith(b"(qemu) "):
                reply += sock.recv(4096)
            sock.sendall(command.encode() + b"\n")
            reply = b""
            while not reply.endswith(b"(qemu) "):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
            return reply.decode("utf-8", "replace")
        finally:
            sock.close()

    def save_memory(self, path, size, base=PSRAM_BASE):
        """Freeze the CPU and write ``size`` bytes of memory at ``base`` to ``path``.

        Stopping at an arbitrary moment is a power cut: the file holds exactly what
        the flash held then. The board stays frozen; ``kill()`` it afterwards.
        """
        self.monitor("stop")
        self.monitor('pmemsave 0x%x %d "%s"' % (base, size, path))
        deadline = time.monotonic() + 10
        while not (os.path.exists(path) and os.path.getsize(path) == size):
            if time.monotonic() > deadline:
                raise EmulatorError("QEMU did not save memory to %s" % path)
            time.sleep(0.01)
