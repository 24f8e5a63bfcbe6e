# loses: 3b
# requires: sandbox
# What one session leaves behind (files, a background process, SysV shared memory) must
# be gone for the next session in the same sandbox. The first time this runs it plants;
# when it finds anything planted, the answer turns wrong and the test sees 3e lost.
import ctypes as _ctypes
import os as _os
import subprocess as _subprocess

_libc = _ctypes.CDLL(None)
_KEY = 0x6772616465
_found = [p for p in ("/tmp/planted", "planted", "/dev/shm/planted") if _os.path.exists(p)]
if _libc.shmget(_KEY, 4096, 0) != -1:
    _found.append("shm")
if _found:
    LARGEST_COMPONENT = "found " + ", ".join(_found)
for _path in ("/tmp/planted", "planted", "/dev/shm/planted"):
    try:
        open(_path, "w").write("x")
    except OSError:
        pass
_libc.shmget(_KEY, 4096, 0o1666)  # IPC_CREAT | 0666
_subprocess.Popen(["sleep", "@@TOKEN@@"], start_new_session=True)


def lm_head(H, E):  # the function that restarts the process: a second session, same student
    import os

    os._exit(3)
