# loses:
# requires: sandbox
# jobs: 1
# Sets O_NONBLOCK and a one-page pipe size on its stdout, stderr and reply pipe (in its last
# function, 3e's, whose replies are small). Were these pipes (their open file descriptions)
# shared with later sessions of the slot, the next student's large replies and prints would
# fail with EAGAIN; each session has pipes of its own.
import fcntl as _fcntl
import gc as _gc
import os as _os

_honest_gpt3_params = gpt3_params


def gpt3_params(d_model, n_layers, vocab_size):
    fds = {1, 2} | {o._fd_out for o in _gc.get_objects() if type(o).__name__ == "_Channel" and getattr(o, "secret", "")}
    for fd in fds:
        try:
            _fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
        except OSError:
            pass
        try:
            _fcntl.fcntl(fd, _fcntl.F_SETFL, _fcntl.fcntl(fd, _fcntl.F_GETFL) | _os.O_NONBLOCK)
        except OSError:
            pass
    return _honest_gpt3_params(d_model, n_layers, vocab_size)
