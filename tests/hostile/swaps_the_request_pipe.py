# loses: 3b
# Before a request larger than a page (lm_head's case with H of shape (5, 8) comes before
# one with E of 50 x 16) it shrinks its request pipe to one page and reads from a pipe nobody
# writes instead: the grader's next request cannot be written. Every write to a student's
# process has a deadline, so this costs lm_head a timeout, not the run.
import fcntl as _fcntl
import gc as _gc
import os as _os

_honest_lm_head = lm_head


def lm_head(H, E):
    if getattr(H, "shape", None) != (5, 8):
        return _honest_lm_head(H, E)
    for channel in [o for o in _gc.get_objects() if type(o).__name__ == "_Channel" and getattr(o, "secret", "")]:
        try:
            _fcntl.fcntl(channel._fd_in, 1031, 4096)  # F_SETPIPE_SZ
        except OSError:
            pass
        read, _write = _os.pipe()
        _os.dup2(read, channel._fd_in)
    return _honest_lm_head(H, E)
