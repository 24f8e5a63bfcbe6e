# loses: 3b
# requires: sandbox
# jobs: 1
# A key in the uid's user keyring and in the session keyring, and a POSIX message queue,
# outlive the process that made them. Nothing may pass from one session to the next in a
# slot (the next student's, or this student's own after a crash), nor from run to run:
# when a later session finds one, an answer turns wrong and 3e is lost.
import ctypes as _ctypes
import os as _os
import platform as _platform

_libc = _ctypes.CDLL(None, use_errno=True)
_ADD_KEY, _KEYCTL = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(_platform.machine(), (None, None))
_USER_KEYRING, _SESSION_KEYRING, _KEYCTL_SEARCH = -4, -3, 10
_found = []
if _KEYCTL is not None:
    for _ring in (_USER_KEYRING, _SESSION_KEYRING):
        if _libc.syscall(_KEYCTL, _KEYCTL_SEARCH, _ring, b"user", b"grade-planted", 0) > 0:
            _found.append(f"key in {_ring}")
_queue = _libc.mq_open(b"/grade-planted", _os.O_RDWR, 0o600, None)
if _queue >= 0:
    _found.append("message queue")
if _found:
    LARGEST_COMPONENT = "found " + ", ".join(_found)
if _ADD_KEY is not None:
    for _ring in (_USER_KEYRING, _SESSION_KEYRING):
        _libc.syscall(_ADD_KEY, b"user", b"grade-planted", b"secret", 6, _ring)
_libc.mq_open(b"/grade-planted", _os.O_RDWR | _os.O_CREAT, 0o666, None)


def lm_head(H, E):  # the function that restarts the process: a second session, same student
    import os

    os._exit(3)
