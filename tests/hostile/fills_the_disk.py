# loses:
# requires: sandbox
# Writing until the disk is full, in the working folder and in /tmp.
import os as _os

_chunk = b"\0" * (1 << 20)
for _folder in (".", "/tmp", _os.path.expanduser("~")):
    for _i in range(100_000):
        try:
            with open(_os.path.join(_folder, f"fill-{_i}"), "wb") as _handle:
                for _ in range(1024):
                    _handle.write(_chunk)
        except OSError:
            break
