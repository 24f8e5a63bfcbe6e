# loses:
# requires: memory-cap
# Eight processes, each under the per-process address-space cap, together touch 5 GB: what a
# slot's processes hold together is capped too (its control group), so the machine never
# comes near its OOM killer, which might pick the grader. Were six of them to hold their
# share at once, 3e turns wrong.
import os as _os
import select as _select
import time as _time


def _hoard(children: int = 8, size: int = 600 << 20) -> int:
    read, write = _os.pipe()
    kids = []
    for _ in range(children):
        pid = _os.fork()
        if pid == 0:
            try:
                _os.close(read)
                block = bytearray(size)
                block[::4096] = b"\x01" * len(range(0, size, 4096))  # touch every page
                _os.write(write, b"x")
                _time.sleep(30)
            finally:
                _os._exit(0)
        kids.append(pid)
    _os.close(write)
    held, dead, deadline = 0, 0, _time.monotonic() + 20
    while held + dead < children and _time.monotonic() < deadline:
        ready, _, _ = _select.select([read], [], [], 0.2)
        if ready:
            held += len(_os.read(read, 64))
        try:
            while _os.waitpid(-1, _os.WNOHANG)[0] > 0:  # killed by the cap before holding its share
                dead += 1
        except ChildProcessError:
            break
    for pid in kids:
        try:
            _os.kill(pid, 9)
            _os.waitpid(pid, 0)
        except OSError:
            pass
    return held


_held = _hoard()
if _held >= 6:
    LARGEST_COMPONENT = f"{_held} processes held 600 MB each"
